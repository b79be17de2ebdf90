/*
 * test_tk103.c: the tk103 dialect: the frame scanner (whole, split at every
 * chunk size, glued, after junk, with $...$ free text, over-long garbage),
 * the replies and device ids, and the decoder (exact field values for real
 * vectors, and hostile input).  Every table row carries a legend naming
 * what it exercises.
 */
#include <math.h>
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

#define S(x)	(const uint8_t *)(x), sizeof(x) - 1

/* ---- scanner ---------------------------------------------------------- */

struct scan_case {
	const char	*legend;
	const char	*in;
	bool		 eof;
	int		 want;		/* TK_SCAN_FRAME / TK_SCAN_MORE */
	size_t		 skip, len;
	bool		 junk;
};

static const struct scan_case scan_cases[] = {
	{"plain heartbeat", "(087073005534BP00HSO)", false, TK_SCAN_FRAME, 0, 21, false},
	{"CR/LF before the frame is not junk", "\r\n(087073005534BP00HSO)\r\n", false,
	    TK_SCAN_FRAME, 2, 21, false},
	{"garbage before the frame is junk", "xx(087073005534BP00HSO)", false,
	    TK_SCAN_FRAME, 2, 21, true},
	{"glued frames: the first one only", "(1BP00HSO)(2BP00HSO)", false,
	    TK_SCAN_FRAME, 0, 10, false},
	{"')' inside $...$ does not end the frame", "(8647,ZC03,1,2,$a)b$)", false,
	    TK_SCAN_FRAME, 0, 21, false},
	{"odd '$' count: no end yet", "(8647,ZC03,1,2,$a)b)", false, TK_SCAN_MORE, 0, 0, false},
	{"incomplete frame: wait", "(087073005534BP00", false, TK_SCAN_MORE, 0, 0, false},
	{"incomplete frame at eof: returned", "(087073005534BP00\r\n", true,
	    TK_SCAN_FRAME, 0, 17, false},
	{"no '(' at all: drop everything", "garbage$)", false, TK_SCAN_MORE, 9, 0, true},
	{"whitespace only: dropped silently", "\r\n  ", false, TK_SCAN_MORE, 4, 0, false},
	{"empty input", "", false, TK_SCAN_MORE, 0, 0, false},
	{"truncated frame then a new one: resync at the second '('",
	    "(0870730BR00(087073005534BP00HSO)", false, TK_SCAN_FRAME, 12, 21, true},
	{"'(' inside $...$ does not restart", "(1,ZC03,1,2,$(x$)", false,
	    TK_SCAN_FRAME, 0, 17, false},
};

static void
test_scan_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++) {
		const struct scan_case *t = &scan_cases[i];
		struct tk_scan_out o;
		enum tk_scan s = tk_scan(TK_D_TK103, (const uint8_t *)t->in, strlen(t->in),
		    t->eof, &o);
		print_message("scan: %s\n", t->legend);
		assert_int_equal(s, t->want);
		assert_int_equal(o.skip, t->skip);
		if (s == TK_SCAN_FRAME)
			assert_int_equal(o.len, t->len);
		assert_int_equal(o.junk, t->junk);
	}
}

/* An unterminated frame longer than 1024 bytes is given up up to the next '('. */
static void
test_scan_giveup(void **state)
{
	static uint8_t buf[2048];
	struct tk_scan_out o;
	(void)state;
	memset(buf, 'x', sizeof(buf));
	buf[0] = '(';
	/* 1100 bytes of an unterminated frame: nothing after it */
	assert_int_equal(tk_scan(TK_D_TK103, buf, 1100, false, &o), TK_SCAN_MORE);
	assert_int_equal(o.skip, 1100);
	assert_true(o.junk);
	/* same with a complete frame after it: found in the same call */
	memcpy(buf + 1100, "(087073005534BP00HSO)", 21);
	assert_int_equal(tk_scan(TK_D_TK103, buf, 1121, false, &o), TK_SCAN_FRAME);
	assert_int_equal(o.skip, 1100);
	assert_int_equal(o.len, 21);
	/* under the limit it waits */
	assert_int_equal(tk_scan(TK_D_TK103, buf, 1000, false, &o), TK_SCAN_MORE);
	assert_int_equal(o.skip, 0);
}

/* ---- framer over split input ------------------------------------------ */

struct fcol {
	char	 frames[16][512];
	size_t	 flen[16];
	int	 n;
	size_t	 junk;
};

static int
on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct fcol *c = arg;
	(void)d;
	(void)off;
	if (c->n < 16 && n < 512) {
		memcpy(c->frames[c->n], f, n);
		c->flen[c->n] = n;
	}
	c->n++;
	return 0;
}

static void
on_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct fcol *c = arg;
	(void)j;
	(void)off;
	c->junk += n;
}

static const char stream[] =
    "garbage%@#*^$-+<>?$)))$$--"
    "(087073005534BP00HSO)"
    "(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)\r\n"
    "(864555555555555,ZC03,191117,234207,$a)b\r\nc$)"
    "(027046434858BZ00,{460,0,20949,58711}\n{460,0,20494,54003}\n,01000000)";
static const char *const stream_frames[] = {
	"(087073005534BP00HSO)",
	"(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)",
	"(864555555555555,ZC03,191117,234207,$a)b\r\nc$)",
	"(027046434858BZ00,{460,0,20949,58711}\n{460,0,20494,54003}\n,01000000)",
};

static void
test_framer_chunks(void **state)
{
	(void)state;
	size_t n = sizeof(stream) - 1;
	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct tk_framer fr;
		struct fcol c;
		struct tk_framer_cb cb = {on_frame, on_junk, &c};
		memset(&c, 0, sizeof(c));
		tk_framer_init(&fr, TK_D_TK103, 0);
		for (size_t at = 0; at < n; at += chunk) {
			size_t k = n - at < chunk ? n - at : chunk;
			assert_int_equal(tk_framer_feed(&fr, (const uint8_t *)stream + at, k, &cb),
			    TK_FEED_OK);
		}
		assert_int_equal(tk_framer_finish(&fr, &cb), TK_FEED_OK);
		if (c.n != 4)
			print_message("chunk %zu: %d frames\n", chunk, c.n);
		assert_int_equal(c.n, 4);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(c.flen[i], strlen(stream_frames[i]));
			assert_memory_equal(c.frames[i], stream_frames[i], c.flen[i]);
		}
		assert_int_equal(c.junk, 26);	/* the garbage; CR/LF is not junk */
	}
}

/* Over-long garbage without '(' never grows the buffer past the maximum. */
static void
test_framer_garbage(void **state)
{
	static uint8_t junkbuf[100000];
	struct tk_framer fr;
	struct fcol c;
	struct tk_framer_cb cb = {on_frame, on_junk, &c};
	(void)state;
	memset(&c, 0, sizeof(c));
	memset(junkbuf, 'z', sizeof(junkbuf));
	tk_framer_init(&fr, TK_D_TK103, 0);
	for (size_t at = 0; at < sizeof(junkbuf); at += 1000) {
		enum tk_feed rc = tk_framer_feed(&fr, junkbuf + at, 1000, &cb);
		assert_true(rc == TK_FEED_OK || rc == TK_FEED_OVERFLOW);
		assert_true(tk_framer_pending(&fr) <= tk_frame_max(TK_D_TK103));
	}
	/* an endless frame: '(' then garbage */
	junkbuf[0] = '(';
	for (size_t at = 0; at < sizeof(junkbuf); at += 700) {
		size_t k = sizeof(junkbuf) - at < 700 ? sizeof(junkbuf) - at : 700;
		enum tk_feed rc = tk_framer_feed(&fr, junkbuf + at, k, &cb);
		assert_true(rc == TK_FEED_OK || rc == TK_FEED_OVERFLOW);
		assert_true(tk_framer_pending(&fr) <= tk_frame_max(TK_D_TK103));
	}
	assert_int_equal(tk_framer_feed(&fr, S("(087073005534BP00HSO)"), &cb), TK_FEED_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.flen[0], 21);
	tk_framer_finish(&fr, &cb);
	assert_int_equal(c.junk, 2 * sizeof(junkbuf));
}

/* ---- replies and ids --------------------------------------------------- */

struct reply_case {
	const char	*legend;
	const char	*frame;
	const char	*reply;		/* "" = none */
	const char	*id;
};

static const struct reply_case reply_cases[] = {
	{"BP00 handshake", "(027044702512BP00HSO)", "(027044702512AP01HSO)", "027044702512"},
	{"BP00 with IMEI and extra", "(027044702512BP00027044702512HSO01A4)",
	    "(027044702512AP01HSO)", "027044702512"},
	{"BP05 classic login", "(088047365460BP05354188047365460150929A3258.1754S02755.4323E"
	    "009.4193927301.9000000000L00000000)", "(088047365460AP05)", "088047365460"},
	{"BO01 alarm acknowledged with its digit",
	    "(013666666666BO012110925A1234.5678N01234.5678W000.0025948118.7200000000L000024DE)",
	    "(013666666666AS012)", "013666666666"},
	{"BR00 position: no reply",
	    "(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)",
	    "", "088047365460"},
	{"11-char id found by pattern", "(01602009983BR00160830V1855.7022S4817.8731W"
	    "000.0002729000.0010000000L00000000)", "", "01602009983"},
	{"11-char id BP00 answered with the same id", "(01602009983BP00HSO)",
	    "(01602009983AP01HSO)", "01602009983"},
	{"alphanumeric id", "(BALLESTEROS3BP00HSO)", "(BALLESTEROS3AP01HSO)", "BALLESTEROS3"},
	{"comma-form login: no reply (as Traccar)",
	    "(352606090042050,BP05,240414,A,4527.3513N,00909.9758E,4.80,112825,155.49)",
	    "", "352606090042050"},
	{"comma-form event", "(013632651491,ZC20,040613,040137,6,421,112,0)", "", "013632651491"},
	{"UDP datagram without parentheses", "027044702512BP00HSO", "(027044702512AP01HSO)",
	    "027044702512"},
	{"no id", "()", "", ""},
	{"garbage", "(hello world)", "", ""},
	{"BO01 without its digit: no reply", "(013666666666BO01)", "", "013666666666"},
};

static void
test_reply_id(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *t = &reply_cases[i];
		uint8_t out[TK_REPLY_MAX];
		char id[TK_ID_MAX];
		print_message("reply/id: %s\n", t->legend);
		size_t n = tk_reply(TK_D_TK103, (const uint8_t *)t->frame, strlen(t->frame),
		    out, sizeof(out));
		assert_int_equal(n, strlen(t->reply));
		assert_memory_equal(out, t->reply, n);
		size_t k = tk_frame_id(TK_D_TK103, (const uint8_t *)t->frame, strlen(t->frame),
		    id, sizeof(id));
		assert_int_equal(k, strlen(t->id));
		assert_string_equal(id, t->id);
	}
	/* a too-small reply buffer gives no reply rather than a cut one */
	uint8_t small[10];
	assert_int_equal(tk_reply(TK_D_TK103, S("(027044702512BP00HSO)"), small, sizeof(small)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_scan_giveup),
		cmocka_unit_test(test_framer_chunks),
		cmocka_unit_test(test_framer_garbage),
		cmocka_unit_test(test_reply_id),
	};
	return cmocka_run_group_tests_name("tk103", tests, NULL, NULL);
}
