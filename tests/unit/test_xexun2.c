/*
 * test_xexun2.c: the xexun2 dialect (protocol.md section 5): FA AF framing
 * over split, glued and garbage input, byte stuffing both ways, the ACK,
 * the device id, and the decoder's exact values and hostile-input rejects.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"
#include "tk_test.h"

static size_t
hex(const char *s, uint8_t *out, size_t cap)
{
	long n = tk_hex_decode(s, strlen(s), out, cap);
	assert_true(n >= 0);
	return (size_t)n;
}

/* ---- framing ------------------------------------------------------- */

#define MAXF 8

struct frames {
	int	 n;
	size_t	 len[MAXF];
	uint8_t	 f[MAXF][1024];
	size_t	 junk;
};

static int
got_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct frames *g = arg;
	(void)off;
	assert_int_equal(d, TK_D_XEXUN2);
	if (g->n < MAXF && n <= sizeof(g->f[0])) {
		memcpy(g->f[g->n], f, n);
		g->len[g->n] = n;
	}
	g->n++;
	return 0;
}

static void
got_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct frames *g = arg;
	(void)j;
	(void)off;
	g->junk += n;
}

static void
feed(const uint8_t *s, size_t n, size_t k, struct frames *g)
{
	struct tk_framer fr;
	struct tk_framer_cb cb = {got_frame, got_junk, g};

	memset(g, 0, sizeof(*g));
	tk_framer_init(&fr, TK_D_XEXUN2, 0);
	if (k == 0)
		k = n;
	for (size_t off = 0; off < n; off += k) {
		size_t m = n - off < k ? n - off : k;
		assert_int_equal(tk_framer_feed(&fr, s + off, m, &cb), TK_FEED_OK);
	}
	tk_framer_finish(&fr, &cb);
}

/* The worked example of protocol.md 5.3 (one GPS float record). */
#define POS7 "FAAF0014000086220505123456700016F86F0100130065F0B2C200000002010A" \
	"c63daae045679dd0FAAF"
#define ESC "FAAF123456FBBF01123456FBBF02123456FAAF"

struct scan_case {
	const char	*legend;
	const char	*in;		/* hex */
	int		 nframes;
	const char	*frame[3];	/* hex, raw (escaped) */
	bool		 junk;
};

static const struct scan_case scans[] = {
	{"one position frame", POS7, 1, {POS7}, false},
	{"escaped flags inside the frame do not end it", ESC, 1, {ESC}, false},
	{"two frames glued", POS7 ESC, 2, {POS7, ESC}, false},
	{"garbage before, between and after", "0102FA" POS7 "AFAF" ESC "FA",
	    2, {POS7, ESC}, true},
	{"truncated frame at the end: junk, not a frame", POS7 "FAAF0014", 1, {POS7}, true},
};

static void
test_scan_table(void **state)
{
	static struct frames g;
	uint8_t in[512], want[512];
	(void)state;
	for (size_t t = 0; t < sizeof(scans) / sizeof(scans[0]); t++) {
		const struct scan_case *c = &scans[t];
		size_t n = hex(c->in, in, sizeof(in));
		for (size_t k = 0; k <= n; k++) {
			feed(in, n, k, &g);
			if (g.n != c->nframes)
				fail_msg("%s (chunk %zu): %d frames, want %d", c->legend, k,
				    g.n, c->nframes);
			for (int i = 0; i < c->nframes; i++) {
				size_t wl = hex(c->frame[i], want, sizeof(want));
				if (g.len[i] != wl || memcmp(g.f[i], want, wl) != 0)
					fail_msg("%s (chunk %zu): frame %d differs", c->legend, k, i);
			}
			if ((g.junk > 0) != c->junk)
				fail_msg("%s (chunk %zu): junk %zu", c->legend, k, g.junk);
		}
	}
}

static void
test_stuffing(void **state)
{
	uint8_t in[64], out[64], back[64], want[64];
	(void)state;
	size_t n = hex(ESC, in, sizeof(in));
	size_t m = tk_xexun2_unescape(in, n, out, sizeof(out));
	size_t wl = hex("FAAF123456FAAF123456FBBF123456FAAF", want, sizeof(want));
	assert_int_equal(m, wl);
	assert_memory_equal(out, want, wl);
	/* escaping gives the raw frame back */
	size_t e = tk_xexun2_escape(out, m, back, sizeof(back));
	assert_int_equal(e, n);
	assert_memory_equal(back, in, n);
	/* too small an output buffer */
	assert_int_equal(tk_xexun2_unescape(in, n, out, n - 1), 0);
	assert_int_equal(tk_xexun2_escape(out, m, back, n - 1), 0);
	/* an escape cut short at the end is copied as it is */
	n = hex("FAAF01FBBF", in, sizeof(in));
	assert_int_equal(tk_xexun2_unescape(in, n, out, sizeof(out)), n);
	assert_memory_equal(out, in, n);
	/* checksum: ~1 */
	uint8_t one = 1;
	assert_int_equal(tk_xexun2_checksum(&one, 1), 0xFFFE);
}

static void
test_reply_id(void **state)
{
	uint8_t f[128], out[TK_REPLY_MAX], want[64];
	char id[TK_ID_MAX];
	(void)state;
	size_t n = hex(POS7, f, sizeof(f));
	size_t wl = hex("FAAF0014000086220505123456700001FFFE01FAAF", want, sizeof(want));
	assert_int_equal(tk_reply(TK_D_XEXUN2, f, n, out, sizeof(out)), wl);
	assert_memory_equal(out, want, wl);
	assert_int_equal(tk_frame_id(TK_D_XEXUN2, f, n, id, sizeof(id)), 15);
	assert_string_equal(id, "862205051234567");
	/* a command frame (type 0x0007) is not acknowledged */
	n = hex("FAAF0007000112345678901234500004FEBC6F663D31FAAF", f, sizeof(f));
	assert_int_equal(tk_reply(TK_D_XEXUN2, f, n, out, sizeof(out)), 0);
	assert_int_equal(tk_frame_id(TK_D_XEXUN2, f, n, id, sizeof(id)), 15);
	assert_string_equal(id, "123456789012345");
	/* another type is acknowledged with its own type and index */
	n = hex("FAAF0099BEEF8622050512345670000100FF00FAAF", f, sizeof(f));
	wl = hex("FAAF0099BEEF86220505123456700001FFFE01FAAF", want, sizeof(want));
	assert_int_equal(tk_reply(TK_D_XEXUN2, f, n, out, sizeof(out)), wl);
	assert_memory_equal(out, want, wl);
	/* an index that needs escaping is escaped in the ACK */
	n = hex("FAAF0014FBBF018622050512345670000100FF00FAAF", f, sizeof(f));
	wl = hex("FAAF0014FBBF0186220505123456700001FFFE01FAAF", want, sizeof(want));
	assert_int_equal(tk_reply(TK_D_XEXUN2, f, n, out, sizeof(out)), wl);
	assert_memory_equal(out, want, wl);
	/* too short for a header: no reply, no id */
	n = hex("FAAF0014FAAF", f, sizeof(f));
	assert_int_equal(tk_reply(TK_D_XEXUN2, f, n, out, sizeof(out)), 0);
	assert_int_equal(tk_frame_id(TK_D_XEXUN2, f, n, id, sizeof(id)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_reply_id),
	};
	return cmocka_run_group_tests_name("xexun2", tests, NULL, NULL);
}
