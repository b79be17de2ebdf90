/*
 * test_gps103.c: the gps103 (Coban) dialect: the frame scanner (also over
 * split input through the framer), the replies a server owes, frame ids,
 * decoding of real vectors to exact values, photo reassembly and its caps,
 * and hostile input.  Every table row says what it exercises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tk103.h"
#include "tk_test.h"

#define S(x)	(const uint8_t *)(x), sizeof(x) - 1

/* ---- scanner --------------------------------------------------------- */

struct scan_case {
	const char	*legend;
	const char	*in;
	bool		 eof;
	int		 frame;		/* expected tk_scan result */
	size_t		 skip, len;
	bool		 junk;
};

static const struct scan_case scan_cases[] = {
	{"';' ends a frame and stays in it", "imei:1,tracker,;rest", false, 1, 0, 16, false},
	{"\"\\r\\n\" ends a frame, both bytes kept", "imei:1,x,\r\nimei", false, 1, 0, 11, false},
	{"bare '\\n' ends a frame", "imei:1,x,\nimei", false, 1, 0, 10, false},
	{"'*' ends the alternative format", "imei:1,a,---,*imei", false, 1, 0, 14, false},
	{"the first delimiter wins", "imei:1,a;b*\n", false, 1, 0, 9, false},
	{"leading CR/LF/space skipped silently", "\n\r \r\nimei:1,x;", false, 1, 5, 9, false},
	{"no delimiter yet: need more", "imei:1,tracker,1302", false, 0, 0, 0, false},
	{"white space only: dropped", "\r\n\r\n", false, 0, 4, 0, false},
	{"bare heartbeat datagram at eof", "359586015829802", true, 1, 0, 15, false},
	{"heartbeat with ';'", "359586015829802;", false, 1, 0, 16, false},
	{"login", "##,imei:359586015829802,A;", false, 1, 0, 26, false},
	{"glued heartbeat + data is one frame", "359769031878322imei:359769031878322,tracker,;",
	    false, 1, 0, 45, false},
	{"junk before imei: is skipped and reported", "\x01\x02zzimei:1,x;", false, 1, 4, 9, true},
	{"junk before a glued heartbeat keeps the digits", "zz123imei:1,x;", false, 1, 2, 12, true},
	{"a junk segment is dropped, the next frame found", "garbage;imei:1,x;", false, 1, 8, 9, true},
	{"junk only, terminated: dropped as junk", "\xff\xfe;", false, 0, 3, 0, true},
	{"junk only at eof: dropped as junk", "hello", true, 0, 5, 0, true},
	{"empty buffer", "", false, 0, 0, 0, false},
};

static void
test_scan_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++) {
		const struct scan_case *c = &scan_cases[i];
		struct tk_scan_out o;
		enum tk_scan s = tk_scan(TK_D_GPS103, (const uint8_t *)c->in, strlen(c->in),
		    c->eof, &o);
		print_message("scan: %s\n", c->legend);
		assert_int_equal(s, c->frame);
		assert_int_equal(o.skip, c->skip);
		assert_int_equal(o.len, c->len);
		assert_int_equal(o.junk, c->junk);
	}
}

static void
test_scan_too_long(void **state)
{
	/* 40000 bytes without a delimiter: the first 32 KiB are junk */
	size_t n = 40000;
	uint8_t *p = malloc(n);
	struct tk_scan_out o;
	(void)state;
	assert_non_null(p);
	memcpy(p, "imei:", 5);
	memset(p + 5, 'a', n - 5);
	assert_int_equal(tk_scan(TK_D_GPS103, p, n, false, &o), TK_SCAN_MORE);
	assert_int_equal(o.skip, 32768);
	assert_true(o.junk);
	free(p);
}

/* ---- the framer over split input ------------------------------------- */

struct frames {
	char	 buf[4096];
	size_t	 len;
	int	 n, junk;
};

static int
on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct frames *fr = arg;
	(void)off;
	assert_int_equal(d, TK_D_GPS103);
	assert_true(fr->len + n + 1 < sizeof(fr->buf));
	memcpy(fr->buf + fr->len, f, n);
	fr->len += n;
	fr->buf[fr->len++] = '|';
	fr->n++;
	return 0;
}

static void
on_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct frames *fr = arg;
	(void)j;
	(void)off;
	fr->junk += (int)n;
}

static void
test_framer_chunks(void **state)
{
	/* \n\r line ends, a login, a heartbeat, glued data, junk, a final frame
	 * without a delimiter (flushed at the end) */
	static const char in[] =
	    "##,imei:359586015829802,A;\n\r"
	    "359586015829802;\n\r"
	    "359769031878322imei:359769031878322,tracker,1602160718,2,F,221811.000,A,"
	    "1655.2193,S,14546.6722,E,0.00,,\r\n"
	    "\x01\x02garbage\n"
	    "imei:861359038609986,Equipo 1,---,------,----,214812,241018,14,0,"
	    "-33.42317,-70.61930,000,000,0000,99.9,00,0,1,---,*"
	    "imei:359586015829802,tracker,000000000,13554900601,L,";
	static const char want[] =
	    "##,imei:359586015829802,A;|"
	    "359586015829802;|"
	    "359769031878322imei:359769031878322,tracker,1602160718,2,F,221811.000,A,"
	    "1655.2193,S,14546.6722,E,0.00,,\r\n|"
	    "imei:861359038609986,Equipo 1,---,------,----,214812,241018,14,0,"
	    "-33.42317,-70.61930,000,000,0000,99.9,00,0,1,---,*|"
	    "imei:359586015829802,tracker,000000000,13554900601,L,|";
	size_t n = sizeof(in) - 1;
	(void)state;

	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct tk_framer fw;
		static struct frames got;
		struct tk_framer_cb cb = {on_frame, on_junk, &got};
		memset(&got, 0, sizeof(got));
		tk_framer_init(&fw, TK_D_GPS103, 0);
		for (size_t at = 0; at < n; at += chunk) {
			size_t k = n - at < chunk ? n - at : chunk;
			assert_int_equal(tk_framer_feed(&fw, (const uint8_t *)in + at, k, &cb),
			    TK_FEED_OK);
		}
		tk_framer_finish(&fw, &cb);
		got.buf[got.len] = '\0';
		if (strcmp(got.buf, want) != 0)
			print_message("chunk %zu: got %s\n", chunk, got.buf);
		assert_string_equal(got.buf, want);
		assert_int_equal(got.n, 5);
		assert_int_equal(got.junk, 10);	/* "\x01\x02garbage\n" */
	}
}

/* ---- replies and ids ------------------------------------------------- */

struct reply_case {
	const char	*legend;
	const char	*in;
	const char	*reply;		/* exact bytes, "" for none */
	const char	*id;
};

static const struct reply_case reply_cases[] = {
	{"login gets LOAD", "##,imei:359586015829802,A;", "LOAD", "359586015829802"},
	{"login without terminator", "##,imei:359586015829802,A", "LOAD", "359586015829802"},
	{"bare-IMEI heartbeat gets ON", "359586015829802;", "ON", "359586015829802"},
	{"heartbeat datagram without delimiter", "359586015829802", "ON", "359586015829802"},
	{"heartbeat with CR LF", "359586015829802\r\n", "ON", "359586015829802"},
	{"glued heartbeat + data: ON", "359769031878322imei:359769031878322,tracker,1602160718,"
	    "2,F,221811.000,A,1655.2193,S,14546.6722,E,0.00,,", "ON", "359769031878322"},
	{"SOS gets the E acknowledgement", "imei:359586015829802,help me,0809231429,13554900601,"
	    "F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;", "**,imei:359586015829802,E;",
	    "359586015829802"},
	{"glued heartbeat + SOS: ON then E", "359586015829802imei:359586015829802,help me,,,L,;",
	    "ON**,imei:359586015829802,E;", "359586015829802"},
	{"short login variant without ##", "imei:359586015829802,A;", "LOAD", "359586015829802"},
	{"short data line: no LOAD (Traccar's 30-char quirk not copied)",
	    "imei:123451234512345,L,*", "", "123451234512345"},
	{"routine position: no reply", "imei:868683023212255,tracker,190205084503,,F,064459.000,"
	    "A,4915.1221,N,01634.5655,E,3.91,83.95;", "", "868683023212255"},
	{"'help me' must match exactly", "imei:1,help me2,;", "", "1"},
	{"short digit run is not a heartbeat", "12;", "", ""},
	{"digits then junk: nothing", "359586015829802abc;", "", ""},
	{"an IMEI of 25 digits is refused", "imei:1234567890123456789012345,help me,;", "", ""},
	{"empty frame", "", "", ""},
	{"garbage", "\xff\x00;", "", ""},
};

static void
test_reply_id(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		uint8_t out[TK_REPLY_MAX];
		char id[TK_ID_MAX];
		size_t n = strlen(c->in);
		if (c->in[0] == '\xff')
			n = 3;
		print_message("reply: %s\n", c->legend);
		size_t rl = tk_reply(TK_D_GPS103, (const uint8_t *)c->in, n, out, sizeof(out));
		assert_int_equal(rl, strlen(c->reply));
		assert_memory_equal(out, c->reply, rl);
		size_t il = tk_frame_id(TK_D_GPS103, (const uint8_t *)c->in, n, id, sizeof(id));
		assert_int_equal(il, strlen(c->id));
		assert_string_equal(id, c->id);
	}
}

static void
test_reply_small_cap(void **state)
{
	uint8_t out[8];
	(void)state;
	/* the SOS ack does not fit in 8 bytes: nothing is written */
	assert_int_equal(tk_reply(TK_D_GPS103, S("imei:359586015829802,help me,;"), out, 8), 0);
	assert_int_equal(tk_reply(TK_D_GPS103, S("##,imei:359586015829802,A;"), out, 4), 4);
	assert_memory_equal(out, "LOAD", 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_scan_too_long),
		cmocka_unit_test(test_framer_chunks),
		cmocka_unit_test(test_reply_id),
		cmocka_unit_test(test_reply_small_cap),
	};
	return cmocka_run_group_tests_name("gps103", tests, NULL, NULL);
}
