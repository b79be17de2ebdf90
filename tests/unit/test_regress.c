/*
 * test_regress.c: every input a fuzz harness found a bug with, replayed
 * through the same checks as the harness (tests/fuzz/).  The inputs are
 * tests/data/regress/<harness>-<name>; index.tsv lists each with a
 * one-line note: harness<TAB>file<TAB>note.  Run under SANITIZE=1 too
 * (CI does): some of these were UBSan findings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "tk103.h"
#include "tk_test.h"

/* a failed harness check is a test failure, not an abort */
#define FZ_CHECK(cond) do { if (!(cond)) \
	fail_msg("%s: check failed: %s (%s:%d)", cur, #cond, __FILE__, __LINE__); } while (0)
#define FZ_NO_MAIN
static const char *cur = "";

#include "../fuzz/fuzz_common.h"
#include "../fuzz/fuzz_framer.h"
#include "../fuzz/fuzz_hex.c"
#include "../fuzz/fuzz_frameline.c"
#include "../fuzz/fuzz_cmd.c"

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("%s: cannot open", path);
	size_t cap = 1 << 16, len = 0;
	uint8_t *b = malloc(cap);
	assert_non_null(b);
	size_t r;
	while ((r = fread(b + len, 1, cap - len, f)) > 0) {
		len += r;
		if (len == cap) {
			cap *= 2;
			b = realloc(b, cap);
			assert_non_null(b);
		}
	}
	fclose(f);
	*n = len;
	return b;
}

static void
rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];
	if (d) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void
replay(const char *harness, const uint8_t *b, size_t n)
{
	static const struct {
		const char *name;
		enum tk_dialect d;
	} dec[] = {
		{"decode_xexun", TK_D_XEXUN}, {"decode_tk103", TK_D_TK103},
		{"decode_xexun2", TK_D_XEXUN2},
		{"framer_xexun", TK_D_XEXUN}, {"framer_tk103", TK_D_TK103},
		{"framer_gps103", TK_D_GPS103}, {"framer_xexun2", TK_D_XEXUN2},
		{"decode_h02", TK_D_H02}, {"framer_h02", TK_D_H02},
	};
	for (size_t i = 0; i < sizeof(dec) / sizeof(dec[0]); i++) {
		if (strcmp(harness, dec[i].name) != 0)
			continue;
		if (strncmp(harness, "decode_", 7) == 0)
			fz_decode_frames(dec[i].d, NULL, b, n);
		else
			fz_framer_check(dec[i].d, b, n);
		return;
	}
	if (strcmp(harness, "decode_gps103") == 0) {
		char dir[] = "/tmp/tk-regress-XXXXXX";
		assert_non_null(mkdtemp(dir));
		if (n >= 1)
			fz_decode_frames(TK_D_GPS103, (b[0] & 1) ? dir : NULL, b + 1, n - 1);
		rmtree(dir);
	} else if (strcmp(harness, "hex") == 0)
		fz_hex_check(b, n);
	else if (strcmp(harness, "frameline") == 0)
		fz_frameline_check(b, n);
	else if (strcmp(harness, "cmd") == 0)
		fz_cmd_check(b, n);
	else
		fail_msg("unknown harness %s", harness);
}

static void
test_regress(void **state)
{
	char line[1024], path[512];
	unsigned count = 0;
	(void)state;
	FILE *f = fopen(tkt_data("regress/index.tsv"), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *h = strtok(line, "\t"), *file = strtok(NULL, "\t\n");
		assert_non_null(h);
		assert_non_null(file);
		snprintf(path, sizeof(path), "regress/%s", file);
		size_t n;
		uint8_t *b = slurp(tkt_data(path), &n);
		cur = file;
		replay(h, b, n);
		free(b);
		count++;
	}
	fclose(f);
	assert_true(count > 0);
	print_message("%u regression inputs replayed\n", count);
}

static int
stop_first(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	(void)d;
	(void)f;
	(void)n;
	(void)off;
	(*(int *)arg)++;
	return 1;
}

/*
 * A frame callback that stops (tk-listen closing a session) in the middle
 * of a read larger than the framer's buffer: what is left must not be
 * copied into the max-sized buffer (a heap overflow while the framer was
 * being reworked; ASan in SANITIZE=1).
 */
static void
test_stop_in_large_read(void **state)
{
	static uint8_t in[20000];
	const char fr[] = "(087073005534BP00HSO)";
	size_t n = 0;
	int nf = 0;
	(void)state;
	while (n + sizeof(fr) - 1 <= sizeof(in)) {
		memcpy(in + n, fr, sizeof(fr) - 1);
		n += sizeof(fr) - 1;
	}
	struct tk_framer f;
	struct tk_framer_cb cb = {stop_first, NULL, &nf};
	tk_framer_init(&f, TK_D_TK103, 0);
	assert_int_equal(tk_framer_feed(&f, in, n, &cb), TK_FEED_STOPPED);
	assert_int_equal(nf, 1);
	assert_true(tk_framer_pending(&f) <= tk_frame_max(TK_D_TK103));
	tk_framer_free(&f);
	/* unclassified too */
	nf = 0;
	tk_framer_init(&f, TK_D_UNKNOWN, 0);
	assert_int_equal(tk_framer_feed(&f, in, n, &cb), TK_FEED_STOPPED);
	assert_int_equal(nf, 1);
	tk_framer_free(&f);
}

/* fuzz_stream: a one-byte frame "-" (a trailing unterminated xexun frame)
 * was written as DATA "-", which reads back as no data at all */
static void
test_dash_frame(void **state)
{
	static char line[512];
	uint8_t back[16];
	struct tk_buf b = {line, 0, sizeof(line)};
	struct tk_fline l = {0}, p;
	char e[100];
	(void)state;
	l.kind = TK_F_FRAME;
	memcpy(l.transport, "tcp", 4);
	memcpy(l.peer, "127.0.0.1:1", 12);
	l.data = (const uint8_t *)"-";
	l.len = 1;
	assert_int_equal(tk_fline_write(&b, &l), 0);
	assert_int_equal(tk_fline_parse(line, b.len, &p, back, sizeof(back), e, sizeof(e)), 0);
	assert_int_equal(p.len, 1);
	assert_int_equal(p.data[0], '-');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regress),
		cmocka_unit_test(test_stop_in_large_read),
		cmocka_unit_test(test_dash_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
