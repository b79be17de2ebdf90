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

/* Each delimiter at every offset of a frame, after filler bytes of every
 * kind but the delimiters (the scanner looks eight bytes at a time; '\n'
 * and '*' differ in one bit, as do '\v' and '+'). */
static void
test_scan_delimiter_offsets(void **state)
{
	static const char delims[] = ";*\n";
	static const char filler[] = "0123456789abcXYZ,.:-+ \v\x8a\xaa\xff";
	uint8_t buf[64];
	struct tk_scan_out o;
	(void)state;
	for (size_t d = 0; d < 3; d++) {
		for (size_t len = 0; len < 40; len++) {
			memcpy(buf, "imei:", 5);
			for (size_t k = 0; k < len; k++)
				buf[5 + k] = (uint8_t)filler[(k * 7 + len) % (sizeof(filler) - 1)];
			buf[5 + len] = (uint8_t)delims[d];
			memcpy(buf + 6 + len, "imei:", 5);
			assert_int_equal(tk_scan(TK_D_GPS103, buf, 11 + len, false, &o),
			    TK_SCAN_FRAME);
			assert_int_equal(o.skip, 0);
			assert_int_equal(o.len, 6 + len);
		}
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

/* ---- decoding -------------------------------------------------------- */

#define MAXREC 8

struct got {
	int		 n;
	struct tk_record r[MAXREC];
};

static int
collect(void *arg, struct tk_record *r)
{
	struct got *g = arg;
	if (g->n < MAXREC)
		g->r[g->n] = *r;
	g->n++;
	return 0;
}

/* Decode one frame in a fresh session (or the given one). */
static int
decode_in(struct tk_session *s, const void *f, size_t n, struct got *g, char *err)
{
	static struct tk_record scratch;
	char warn[200];
	g->n = 0;
	return tk_decode(s, f, n, TK_TIME_NONE, &scratch, collect, g, err, 200,
	    warn, sizeof(warn));
}

static int
decode1(const char *f, struct got *g, char *err)
{
	struct tk_session s;
	tk_session_init(&s, TK_D_GPS103);
	int rc = decode_in(&s, f, strlen(f), g, err);
	tk_session_free(&s);
	return rc;
}

/* The value of attribute key as text ("" when missing). */
static const char *
attr(const struct tk_record *r, const char *key)
{
	static char b[256];
	const struct tk_attr *a = tk_rec_get(r, key);
	if (a == NULL)
		return "";
	switch (a->type) {
	case TK_V_INT:
		snprintf(b, sizeof(b), "%lld", (long long)a->v.i);
		break;
	case TK_V_BOOL:
		snprintf(b, sizeof(b), "%s", a->v.i ? "true" : "false");
		break;
	case TK_V_NUM:
		tk_fmt_num(b, a->v.d, a->prec);
		break;
	default:
		tk_strlcpyn(b, sizeof(b), r->sbuf + a->v.off, a->len);
		break;
	}
	return b;
}

struct dec_case {
	const char	*legend;
	const char	*in;
	int		 nrec;		/* records emitted */
	int		 at;		/* the record checked */
	enum tk_rtype	 type;
	const char	*id;
	const char	*time;		/* fix time, NULL: none */
	bool		 valid;
	double		 lat, lon;	/* when a position */
	double		 speed;		/* knots; < 0: none */
	const char	*alarm;
	const char	*attrs;		/* "k=v;k=v", exact text */
	unsigned	 ncell;
};

static const struct dec_case dec_cases[] = {
	{"offset rule (docs/protocol/gps103.md, The regular sentence): local 02:59 vs UTC 23:59 -> +3 h, the day before",
	    "imei:123456789012345,tracker,151027025958,,F,235957.000,A,2234.4026,N,"
	    "11354.3277,E,0.00,;", 1, 0, TK_R_POSITION, "123456789012345",
	    "2015-10-26T23:59:57.000Z", true, 22.573377, 113.905462, 0, "", "", 0},
	{"offset -8 h wraps forward: local 05:56 vs UTC 21:56 on the previous day",
	    "imei:866989771979791,tracker,140527055653,,F,215653.00,A,5050.33113,N,"
	    "00336.98783,E,0.066,0", 1, 0, TK_R_POSITION, "866989771979791",
	    "2014-05-26T21:56:53.000Z", true, 50.838852, 3.616464, 0.066, "", "", 0},
	{"YY/MM/DD hh:mm local time, southern hemisphere, ms kept",
	    "imei:359710040656622,tracker,13/02/27 23:40,,F,125952.000,A,3450.9430,S,"
	    "13828.6753,E,0.00,0", 1, 0, TK_R_POSITION, "359710040656622",
	    "2013-02-27T12:59:52.000Z", true, -34.84905, 138.477922, 0, "", "", 0},
	{"hemisphere before the number; rubbish UTC time: the local time as is",
	    "imei:353552045403597,tracker,150420050648,53.0,F,0.0,A,N,5306.64155,E,"
	    "00700.77848,0.0,,1.0,;", 1, 0, TK_R_POSITION, "353552045403597",
	    "2015-04-20T05:06:48.000Z", true, 53.110693, 7.012975, 0, "", "", 0},
	{"missing longitude hemisphere: positive, then speed and course",
	    "imei:012497000208821,tracker,1301072224,,F,142411.077,A,2227.0739,S,"
	    "06855.2912,,0,0,", 1, 0, TK_R_POSITION, "012497000208821",
	    "2013-01-07T14:24:11.077Z", true, -22.451232, 68.92152, 0, "", "", 0},
	{"speed in knots passed through, ACC/door/fuel1/temp fields",
	    "imei:864180034124375,tracker,190116192753,,F,172750.000,A,3649.2186,N,"
	    "00235.8411,W,12.5,90,,1,0,51.93%,,+22;", 1, 0, TK_R_POSITION,
	    "864180034124375", "2019-01-16T17:27:50.000Z", true, 36.82031, -2.597352, 12.5,
	    "", "ignition=true;door=false;fuel1=51.93;temp1=22", 0},
	{"help me -> sos", "imei:359586015829802,help me,0809231429,13554900601,F,"
	    "062947.294,A,2234.4026,N,11354.3277,E,0.00,", 1, 0, TK_R_POSITION,
	    "359586015829802", "2008-09-23T06:29:47.294Z", true, 22.573377, 113.905462, 0,
	    "sos", "", 0},
	{"T:+28.0 -> temperature alarm and temp1", "imei:353451044508750,T:+28.0,0809231929,,F,"
	    "055403.000,A,2233.1870,N,11354.3067,E,0.00,,;", 1, 0, TK_R_POSITION,
	    "353451044508750", "2008-09-24T05:54:03.000Z", true, 22.553117, 113.905112, 0,
	    "temperature", "temp1=28", 0},
	{"oil 51.67 -> fuelLeak and fuel", "imei:353451044508750,oil 51.67,0809231929,,F,"
	    "055403.000,A,2233.1870,N,11354.3067,E,0.00,,;", 1, 0, TK_R_POSITION,
	    "353451044508750", "2008-09-24T05:54:03.000Z", true, 22.553117, 113.905112, 0,
	    "fuelLeak", "fuel=51.67", 0},
	{"DTC -> fault, the code as dtcs", "imei:353451044508750,DTC,0809231929,,F,055403.000,"
	    "A,2233.1870,N,11354.3067,E,0.00,30.1,,1,0,10.5%,P0021,;", 1, 0, TK_R_POSITION,
	    "353451044508750", "2008-09-24T05:54:03.000Z", true, 22.553117, 113.905112, 0,
	    "fault", "dtcs=P0021;fuel1=10.5;ignition=true", 0},
	{"acc off beats an ACC field of 1", "imei:865328023776874,acc off,150619152221,,F,"
	    "072218.000,A,5439.8489,N,02518.5945,E,0.00,,,1,1,0.0,0.0,23.0,;", 1, 0,
	    TK_R_POSITION, "865328023776874", "2015-06-19T07:22:18.000Z", true, 54.664148,
	    25.309908, 0, "", "ignition=false;door=true;temp1=23", 0},
	{"rfid -> driverUniqueId", "imei:868683020235846,rfid,160202091347,49121185,F,"
	    "011344.000,A,0447.7273,N,07538.9934,W,0.00,0,,0,0,0.00%,,", 1, 0, TK_R_POSITION,
	    "868683020235846", "2016-02-02T01:13:44.000Z", true, 4.795455, -75.64989, 0, "",
	    "driverUniqueId=49121185", 0},
	{"unknown keyword -> event", "imei:359710041641581,acc alarm,1402231159,,F,065907.000,"
	    "A,2456.2591,N,06708.8335,E,7.53,76.10,,1,0,0.03%,,", 1, 0, TK_R_POSITION,
	    "359710041641581", "2014-02-23T06:59:07.000Z", true, 24.937652, 67.147225, 7.53,
	    "", "event=acc alarm;fuel1=0.03", 0},
	{"invalid fix (V) still a position", "imei:1,tracker,1301251602,,F,080251.000,V,"
	    "3223.5832,N,11058.9449,W,,", 1, 0, TK_R_POSITION, "1",
	    "2013-01-25T08:02:51.000Z", false, 32.393053, -110.982415, -1, "", "", 0},
	{"L with LBS: event with a cell (hex LAC/CID, no MCC), ac alarm -> powerCut",
	    "imei:864895030279986,ac alarm,180404174252,,L,,,296a,,51f7,,,", 1, 0, TK_R_EVENT,
	    "864895030279986", NULL, false, 0, 0, -1, "powerCut", "", 1},
	{"L without data: an event", "imei:359586015829802,tracker,000000000,13554900601,L,;",
	    1, 0, TK_R_EVENT, "359586015829802", NULL, false, 0, 0, -1, "", "", 0},
	{"OBD: an event with the engine figures", "imei:359710049090138,OBD,160629022949,51442,"
	    "0.00,15.88,5632,122,40.39%,95,0.00%,2101,13.80,P0137,,P0430,;", 1, 0, TK_R_EVENT,
	    "359710049090138", NULL, false, 0, 0, -1, "",
	    "odometer=51442;fuelConsumption=15.88;hours=20275200000;obdSpeed=122;"
	    "engineLoad=40.39;coolantTemp=95;throttle=0;rpm=2101;battery=13.8;"
	    "dtcs=P0137 P0430", 0},
	{"OBD with a bare + coolant: no coolantTemp", "imei:865328021049167,OBD,141118115036,"
	    ",,0.0,,000,0.0%,+,0.0%,00000,,,,,", 1, 0, TK_R_EVENT, "865328021049167", NULL,
	    false, 0, 0, -1, "", "coolantTemp=", 0},
	{"alternative '*' format: decimal degrees, km/h -> knots",
	    "imei:861359038609986,Equipo 1,---,------,----,214734,241018,26,1,-33.42317,"
	    "-70.61930,067,229,0674,1.00,08,0,1,---,*", 1, 0, TK_R_POSITION, "861359038609986",
	    "2018-10-24T21:47:34.000Z", true, -33.42317, -70.6193, 67 / 1.852, "",
	    "rssi=26;hdop=1;sat=8;ignition=false;charge=true;event=", 0},
	{"login: a login record naming the device", "##,imei:359586015829802,A;", 1, 0,
	    TK_R_LOGIN, "359586015829802", NULL, false, 0, 0, -1, "", "", 0},
	{"short login without ##: a login too (as it gets LOAD)", "imei:359586015829802,A;", 1, 0,
	    TK_R_LOGIN, "359586015829802", NULL, false, 0, 0, -1, "", "", 0},
	{"bare-IMEI heartbeat", "359586015829802", 1, 0, TK_R_HEARTBEAT, "359586015829802",
	    NULL, false, 0, 0, -1, "", "", 0},
	{"glued heartbeat then data: heartbeat first",
	    "359769031878322imei:359769031878322,tracker,1602160718,2,F,221811.000,A,"
	    "1655.2193,S,14546.6722,E,0.00,,", 2, 0, TK_R_HEARTBEAT, "359769031878322", NULL,
	    false, 0, 0, -1, "", "", 0},
	{"glued heartbeat then data: then the position",
	    "359769031878322imei:359769031878322,tracker,1602160718,2,F,221811.000,A,"
	    "1655.2193,S,14546.6722,E,0.00,,", 2, 1, TK_R_POSITION, "359769031878322",
	    "2016-02-15T22:18:11.000Z", true, -16.920322, 145.77787, 0, "", "", 0},
	{"short line echoing command letter L (Traccar: null): a reply",
	    "imei:123451234512345,L,*", 1, 0, TK_R_REPLY, "123451234512345", NULL, false, 0, 0,
	    -1, "", "result=L;event=", 0},
	{"acknowledgement keyword jt without a fix: a reply", "imei:1,jt,000000000,,L,;", 1, 0,
	    TK_R_REPLY, "1", NULL, false, 0, 0, -1, "", "result=jt;event=", 0},
	{"acknowledgement with a fix: a position with event (as Traccar)",
	    "imei:1,qt,1301251602,,F,080251.000,A,3223.5832,N,11058.9449,W,,", 1, 0,
	    TK_R_POSITION, "1", "2013-01-25T08:02:51.000Z", true, 32.393053, -110.982415, -1,
	    "", "event=qt;result=", 0},
	{"a short line with an unknown keyword: an event", "imei:1,xyz;", 1, 0, TK_R_EVENT, "1",
	    NULL, false, 0, 0, -1, "", "event=xyz", 0},
};

static void
test_decode_table(void **state)
{
	static struct got g;
	char err[200];
	(void)state;
	for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *c = &dec_cases[i];
		print_message("decode: %s\n", c->legend);
		int rc = decode1(c->in, &g, err);
		if (rc < 0)
			print_message("  rejected: %s\n", err);
		assert_int_equal(rc, c->nrec);
		assert_int_equal(g.n, c->nrec);
		const struct tk_record *r = &g.r[c->at];
		assert_int_equal(r->type, c->type);
		assert_string_equal(r->id, c->id);
		if (c->time) {
			char t[32];
			tk_fmt_time(t, r->fix_time);
			assert_string_equal(t, c->time);
			assert_true(r->has_pos);
			assert_int_equal(r->valid, c->valid);
			assert_true(fabs(r->lat - c->lat) < 1e-6);
			assert_true(fabs(r->lon - c->lon) < 1e-6);
		} else {
			assert_false(r->has_pos);
		}
		if (c->speed >= 0) {
			assert_true(r->has_speed);
			assert_true(fabs(r->speed - c->speed) < 1e-9);
		} else {
			assert_false(r->has_speed);
		}
		assert_string_equal(r->alarm, c->alarm);
		assert_int_equal(r->ncell, c->ncell);
		if (c->ncell) {
			assert_false(r->cell[0].has_mcc);
			assert_int_equal(r->cell[0].lac, 0x296a);
			assert_int_equal(r->cell[0].cid, 0x51f7);
		}
		char kv[512];
		snprintf(kv, sizeof(kv), "%s", c->attrs);
		for (char *save, *t = strtok_r(kv, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(t, '=');
			assert_non_null(eq);
			*eq = '\0';
			assert_string_equal(attr(r, t), eq + 1);
		}
	}
}

/* The local date/time field (3) in its usual 12-digit form, decoded by a
 * fast path that keeps the last date's midnight: each row against the
 * fix time it must give (NULL: a position without a time; "reject": the
 * frame is rejected).  Dates alternate so that the kept midnight is both
 * reused and replaced. */
static void
test_local_time_forms(void **state)
{
	static const struct {
		const char	*legend;
		const char	*local, *utc;
		const char	*want;
	} rows[] = {
		{"local +3 h: the day before in UTC", "151027025958", "235957.000",
		    "2015-10-26T23:59:57.000Z"},
		{"the same date again (kept midnight)", "151027030000", "000000.000",
		    "2015-10-27T00:00:00.000Z"},
		{"another date", "200229120000", "120000.000", "2020-02-29T12:00:00.000Z"},
		{"back to the first date", "151027120000", "093000.500",
		    "2015-10-27T09:30:00.500Z"},
		{"all zeros: no time", "000000000000", "120000.000", NULL},
		{"month 13: no calendar date, no time", "151327120000", "120000.000", NULL},
		{"February 30: no time", "210230120000", "120000.000", NULL},
		{"hour 24: rejected", "151027245958", "235957.000", "reject"},
		{"minute 60: rejected", "151027026058", "235957.000", "reject"},
		{"second 61: rejected", "151027025961", "235957.000", "reject"},
		{"a letter among the digits: rejected", "15102702595x", "235957.000", "reject"},
		{"no UTC time: the local time as is", "151027025958", "31.0",
		    "2015-10-27T02:59:58.000Z"},
	};
	static struct got g;
	char err[200], f[200];
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		print_message("local time: %s\n", rows[i].legend);
		snprintf(f, sizeof(f), "imei:123456789012345,tracker,%s,,F,%s,A,2234.4026,N,"
		    "11354.3277,E,0.00,;", rows[i].local, rows[i].utc);
		int rc = decode1(f, &g, err);
		if (rows[i].want && strcmp(rows[i].want, "reject") == 0) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 1);
		assert_true(g.r[0].has_pos);
		if (rows[i].want == NULL) {
			assert_true(g.r[0].fix_time == TK_TIME_NONE);
		} else {
			char t[32];
			tk_fmt_time(t, g.r[0].fix_time);
			assert_string_equal(t, rows[i].want);
		}
	}
	/* IMEI lengths at the limit: 21 digits pass (as digits() counts), 22 not */
	assert_int_equal(decode1("imei:123456789012345678901,tracker,,,L,;", &g, err), 1);
	assert_string_equal(g.r[0].id, "123456789012345678901");
	assert_int_equal(decode1("imei:1234567890123456789012,tracker,,,L,;", &g, err), -1);
}

static void
test_session_id(void **state)
{
	struct tk_session s;
	static struct got g;
	char err[200];
	(void)state;
	tk_session_init(&s, TK_D_GPS103);
	assert_int_equal(decode_in(&s, S("##,imei:359586015829802,A;"), &g, err), 1);
	assert_string_equal(s.id, "359586015829802");
	assert_int_equal(decode_in(&s, S("imei:111111111111111,tracker,000000000,,L,;"), &g,
	    err), 1);
	assert_string_equal(s.id, "111111111111111");
	assert_string_equal(g.r[0].id, "111111111111111");
	tk_session_free(&s);
}

/* ---- hostile input --------------------------------------------------- */

struct bad_case {
	const char	*legend;
	const char	*in;
	size_t		 n;		/* 0: strlen */
};

static const struct bad_case bad_cases[] = {
	{"empty frame", "", 0},
	{"white space only", "\r\n ", 0},
	{"not gps103", "hello world;", 0},
	{"digits then junk", "359586015829802abc", 0},
	{"too few digits for a heartbeat id", "12;", 0},
	{"digit run too long for an id", "1234567890123456789012345678901234567890;", 0},
	{"imei: without digits", "imei:,tracker,;", 0},
	{"imei: with letters", "imei:12ab,tracker,;", 0},
	{"login without imei", "##,imei:,A;", 0},
	{"field 5 neither F nor L", "imei:1,tracker,1301251602,,X,080251.000,A,1,N,1,E,;", 0},
	{"F without coordinates", "imei:1,tracker,1301251602,,F,080251.000,A,;", 0},
	{"huge latitude", "imei:1,tracker,1301251602,,F,080251.000,A,"
	    "99999999999999999999999.5,N,11058.9449,W,;", 0},
	{"latitude of 95 degrees", "imei:1,tracker,1301251602,,F,080251.000,A,9500.0000,N,"
	    "11058.9449,W,;", 0},
	{"minutes of 75", "imei:1,tracker,1301251602,,F,080251.000,A,3275.0000,N,"
	    "11058.9449,W,;", 0},
	{"bad local date", "imei:1,tracker,13x1251602,,F,080251.000,A,3223.5832,N,"
	    "11058.9449,W,;", 0},
	{"alternative format with a bad date", "imei:1,n,---,---,---,214734,991399,26,1,"
	    "-33.4,-70.6,067,229,0674,1.00,08,0,1,---,*", 0},
	{"alternative format with a latitude of 133", "imei:1,n,---,---,---,214734,241018,26,1,"
	    "-133.4,-70.6,067,229,0674,1.00,08,0,1,---,*", 0},
};

static void
test_hostile(void **state)
{
	static struct got g;
	char err[200];
	struct tk_session s;
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		print_message("hostile: %s\n", c->legend);
		tk_session_init(&s, TK_D_GPS103);
		err[0] = '\0';
		int rc = decode_in(&s, c->in, c->n ? c->n : strlen(c->in), &g, err);
		tk_session_free(&s);
		assert_int_equal(rc, -1);
		assert_true(err[0] != '\0');
		for (int k = 0; k < g.n && k < MAXREC; k++)
			assert_false(g.r[k].has_pos);
	}
}

/* Every prefix of real sentences, and every single-byte corruption of one:
 * no crash, and a rejection always says why. */
static void
test_truncated_and_mangled(void **state)
{
	static const char *const in[] = {
		"imei:359586015829802,help me,0809231429,13554900601,F,062947.294,A,"
		"2234.4026,N,11354.3277,E,0.00,;",
		"imei:861359038609986,Equipo 1,---,------,----,214734,241018,26,1,-33.42317,"
		"-70.61930,067,229,0674,1.00,08,0,1,---,*",
		"imei:359710049090138,OBD,160629022949,51442,0.00,15.88,5632,122,40.39%,95,"
		"0.00%,2101,13.80,,,,;",
		"359769031878322imei:359769031878322,tracker,1602160718,2,F,221811.000,A,"
		"1655.2193,S,14546.6722,E,0.00,,",
		"imei:864895030279986,ac alarm,180404174252,,L,,,296a,,51f7,,,",
		"imei:1,vr,0000abcdffd8ffd90000;",
	};
	static const char subst[] = "\0,;*9:.-A+ \xff";
	static struct got g;
	char err[200];
	uint8_t buf[512];
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		size_t n = strlen(in[i]);
		for (size_t k = 0; k <= n; k++) {
			struct tk_session s;
			tk_session_init(&s, TK_D_GPS103);
			/* a heap copy of exactly k bytes: ASan catches overreads */
			uint8_t *p = malloc(k ? k : 1);
			assert_non_null(p);
			memcpy(p, in[i], k);
			err[0] = '\0';
			int rc = decode_in(&s, p, k, &g, err);
			if (rc < 0)
				assert_true(err[0] != '\0');
			free(p);
			tk_session_free(&s);
		}
		for (size_t k = 0; k < n; k++)
			for (size_t j = 0; j < sizeof(subst) - 1; j++) {
				struct tk_session s;
				tk_session_init(&s, TK_D_GPS103);
				memcpy(buf, in[i], n);
				buf[k] = (uint8_t)subst[j];
				err[0] = '\0';
				int rc = decode_in(&s, buf, n, &g, err);
				if (rc < 0)
					assert_true(err[0] != '\0');
				tk_session_free(&s);
			}
	}
}

/* ---- photos ---------------------------------------------------------- */

static char tmpdir[64];

static int
mk_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tk-gps103-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
rm_tmp(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char p[512];
	(void)state;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	return 0;
}

/* A "vr" chunk: index (LE), 2 skipped bytes, data, 2 dropped bytes. */
static size_t
vr(char *out, size_t cap, const char *imei, unsigned index, const uint8_t *d, size_t n)
{
	size_t k = (size_t)snprintf(out, cap, "imei:%s,vr,%02x%02xeeee", imei, index & 0xff,
	    index >> 8);
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(out + k, cap - k, "%02x", d[i]);
	k += (size_t)snprintf(out + k, cap - k, "7777;");
	return k;
}

static void
test_photo(void **state)
{
	static const uint8_t jpeg[] = {
		0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01,
		0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xd9
	};
	static struct got g;
	struct tk_session s;
	char err[200], buf[256], path[512];
	(void)state;

	tk_session_init(&s, TK_D_GPS103);
	s.photo_dir = tmpdir;
	/* the announcement is itself a position */
	assert_int_equal(decode_in(&s, S("imei:864180034124375,vt02,190116192753,,F,"
	    "172750.000,A,3649.2186,N,00235.8411,W,0.00,0,,0,0,51.93%,,+22;"), &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_POSITION);
	assert_null(tk_rec_get(&g.r[0], "event"));
	size_t n = vr(buf, sizeof(buf), "864180034124375", 0, jpeg, 12);
	assert_int_equal(decode_in(&s, buf, n, &g, err), 0);	/* not complete yet */
	n = vr(buf, sizeof(buf), "864180034124375", 1, jpeg + 12, sizeof(jpeg) - 12);
	assert_int_equal(decode_in(&s, buf, n, &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_PHOTO);
	assert_string_equal(g.r[0].id, "864180034124375");
	assert_string_equal(attr(&g.r[0], "imageSize"), "22");
	assert_string_equal(attr(&g.r[0], "image"), "864180034124375-20190116172750.jpg");
	snprintf(path, sizeof(path), "%s/%s", tmpdir, attr(&g.r[0], "image"));
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	uint8_t back[64];
	size_t got = fread(back, 1, sizeof(back), f);
	fclose(f);
	assert_int_equal(got, sizeof(jpeg));
	assert_memory_equal(back, jpeg, sizeof(jpeg));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	/* the same photo again: a new name, never an overwrite */
	decode_in(&s, S("imei:864180034124375,vt01,190116192753,,F,172750.000,A,3649.2186,N,"
	    "00235.8411,W,0.00,0,;"), &g, err);
	n = vr(buf, sizeof(buf), "864180034124375", 0, jpeg, sizeof(jpeg));
	assert_int_equal(decode_in(&s, buf, n, &g, err), 1);
	assert_string_equal(attr(&g.r[0], "image"), "864180034124375-20190116172750-1.jpg");

	/* no directory: the record says the size only */
	s.photo_dir = NULL;
	decode_in(&s, S("imei:1,vt01,190116192753,,F,172750.000,A,3649.2186,N,00235.8411,W,;"),
	    &g, err);
	n = vr(buf, sizeof(buf), "1", 0, jpeg, sizeof(jpeg));
	assert_int_equal(decode_in(&s, buf, n, &g, err), 1);
	assert_string_equal(attr(&g.r[0], "image"), "");
	assert_string_equal(attr(&g.r[0], "imageSize"), "22");

	/* a chunk without an announcement is ignored, not rejected */
	assert_int_equal(decode_in(&s, buf, n, &g, err), 0);
	/* a bad chunk is rejected with a reason */
	decode_in(&s, S("imei:1,vt01,190116192753,,F,172750.000,A,3649.2186,N,00235.8411,W,;"),
	    &g, err);
	assert_int_equal(decode_in(&s, S("imei:1,vr,00zz;"), &g, err), -1);
	assert_non_null(strstr(err, "photo chunk"));
	assert_int_equal(decode_in(&s, S("imei:1,vr,0000eeeeXYff7777;"), &g, err), -1);
	tk_session_free(&s);
}

static void
test_photo_caps(void **state)
{
	static struct got g;
	static char big[40000];
	static uint8_t data[16000];
	struct tk_session s;
	char err[200];
	int rc = 0;
	(void)state;

	tk_session_init(&s, TK_D_GPS103);
	/* too many packets announced: refused, chunks then ignored */
	assert_int_equal(decode_in(&s, S("imei:1,vt5000,190116192753,,F,172750.000,A,"
	    "3649.2186,N,00235.8411,W,;"), &g, err), 1);
	size_t n = vr(big, sizeof(big), "1", 0, data, 10);
	assert_int_equal(decode_in(&s, big, n, &g, err), 0);
	assert_int_equal(g.n, 0);
	/* too big: 1000 packets of 16000 bytes pass 1 MiB and are dropped */
	decode_in(&s, S("imei:1,vt1000,190116192753,,F,172750.000,A,3649.2186,N,"
	    "00235.8411,W,;"), &g, err);
	memset(data, 0xab, sizeof(data));
	unsigned k;
	for (k = 0; k < 1000; k++) {
		n = vr(big, sizeof(big), "1", k, data, sizeof(data));
		rc = decode_in(&s, big, n, &g, err);
		if (rc != 0)
			break;
	}
	assert_int_equal(rc, -1);
	assert_int_equal(k, (1u << 20) / sizeof(data));
	assert_non_null(strstr(err, "larger than"));
	/* and the rest of that photo is ignored */
	assert_int_equal(decode_in(&s, big, n, &g, err), 0);
	tk_session_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_scan_delimiter_offsets),
		cmocka_unit_test(test_scan_too_long),
		cmocka_unit_test(test_framer_chunks),
		cmocka_unit_test(test_reply_id),
		cmocka_unit_test(test_reply_small_cap),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_local_time_forms),
		cmocka_unit_test(test_session_id),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_truncated_and_mangled),
		cmocka_unit_test_setup_teardown(test_photo, mk_tmp, rm_tmp),
		cmocka_unit_test(test_photo_caps),
	};
	return cmocka_run_group_tests_name("gps103", tests, NULL, NULL);
}
