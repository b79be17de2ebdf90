/*
 * fuzz_hex.c: tk_hex_decode and tk-decode's hex input path (a frame per
 * line: trailing CR/space/tab stripped, hex decoded, the datagram framed
 * and every frame decoded, one session across lines).
 *
 * Checks: what decodes is half as long as the text and encodes back to
 * the same digits (lowercased); what does not decode is odd, too long or
 * has a non-hex digit.
 */
#include <ctype.h>

#include "fuzz_common.h"

static struct fz_out hex_out;
static struct tk_session hex_sess;

static int
hex_on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	(void)arg;
	(void)off;
	hex_sess.dialect = d;
	fz_decode(&hex_sess, f, n, &hex_out);
	return 0;
}

static void
check_hex(const char *s, size_t n)
{
	static uint8_t bin[8192];
	static char back[16384];
	size_t cap = n / 2 < sizeof(bin) ? n / 2 + (n & 1) : sizeof(bin);
	long r = tk_hex_decode(s, n, bin, cap);
	int allhex = 1;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			allhex = 0;
	if (r < 0) {
		FZ_CHECK(n % 2 == 1 || !allhex || n / 2 > cap);
		return;
	}
	FZ_CHECK(allhex && n % 2 == 0 && (size_t)r == n / 2);
	tk_hex_encode(bin, (size_t)r, back);
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(back[i] == tolower((unsigned char)s[i]));
	/* a capacity one short must fail, not overflow */
	if (r > 0) {
		uint8_t *small = malloc((size_t)r - 1 ? (size_t)r - 1 : 1);
		FZ_CHECK(small != NULL);
		FZ_CHECK(tk_hex_decode(s, n, small, (size_t)r - 1) < 0);
		free(small);
	}
}

static void
fz_hex_check(const uint8_t *data, size_t size)
{
	static uint8_t scratch[65536];
	struct tk_framer_cb cb = {hex_on_frame, NULL, NULL};

	if (size < 1)
		return;
	/* first byte: a forced dialect (tk-decode -P) or none */
	enum tk_dialect forced = data[0] % 8 < TK_D__COUNT && tk_dialect_decodable(
	    (enum tk_dialect)(data[0] % 8)) ? (enum tk_dialect)(data[0] % 8) : TK_D_UNKNOWN;
	data++;
	size--;
	char *in = malloc(size ? size : 1);
	FZ_CHECK(in != NULL);
	memcpy(in, data, size);
	check_hex(in, size);

	tk_session_init(&hex_sess, forced);
	const char *p = in;
	size_t left = size;
	while (left > 0) {
		const char *nl = memchr(p, '\n', left);
		size_t n = nl ? (size_t)(nl - p) : left;
		size_t ln = n;
		while (ln && (p[ln - 1] == '\r' || p[ln - 1] == ' ' || p[ln - 1] == '\t'))
			ln--;
		if (ln) {
			check_hex(p, ln);
			long bl = tk_hex_decode(p, ln, scratch, sizeof(scratch));
			if (bl >= 0) {
				struct tk_framer fr;
				tk_framer_init(&fr, forced, 0);
				tk_framer_feed(&fr, scratch, (size_t)bl, &cb);
				tk_framer_finish(&fr, &cb);
			}
		}
		if (nl == NULL)
			break;
		p += n + 1;
		left -= n + 1;
	}
	tk_session_free(&hex_sess);
	free(in);
}

#ifndef FZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_hex_check(data, size);
	return 0;
}
#endif
