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
#define T(x)	(x), sizeof(x) - 1

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
	{"13-char id (issue 13)", "(0354776034724BP00HSO)", "(0354776034724AP01HSO)",
	    "0354776034724"},
	{"15-digit IMEI as the classic id: answered with it",
	    "(357593060760397BP05357593060760397170304A6015.7466N01101.8460E001.6094455"
	    "91.04801000000L00000000)", "(357593060760397AP05)", "357593060760397"},
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

/* ---- decoder ------------------------------------------------------------ */

#define NREC 8
struct recs {
	int		 n;
	struct tk_record r[NREC];
};

static int
keep_rec(void *arg, struct tk_record *r)
{
	struct recs *g = arg;
	if (g->n < NREC)
		g->r[g->n] = *r;
	g->n++;
	return 0;
}

static int
decode(const char *f, size_t n, struct recs *g, char *err, char *warn)
{
	struct tk_session s;
	struct tk_record scratch;
	tk_session_init(&s, TK_D_TK103);
	g->n = 0;
	int rc = tk_decode(&s, (const uint8_t *)f, n, TK_TIME_NONE, &scratch, keep_rec, g,
	    err, 200, warn, 200);
	tk_session_free(&s);
	return rc;
}

/* Compare "key=value;..." with the record's attributes. */
static void
check_attrs(const struct tk_record *r, const char *want)
{
	char buf[512], *save = NULL;
	if (want == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", want);
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		assert_non_null(eq);
		*eq = '\0';
		const char *v = eq + 1;
		const struct tk_attr *a = tk_rec_get(r, kv);
		char got[256];
		if (strcmp(v, "(none)") == 0) {
			if (a != NULL)
				print_message("attribute %s present\n", kv);
			assert_null(a);
			continue;
		}
		if (a == NULL)
			print_message("attribute %s missing\n", kv);
		assert_non_null(a);
		switch (a->type) {
		case TK_V_BOOL:
			snprintf(got, sizeof(got), "%s", a->v.i ? "true" : "false");
			break;
		case TK_V_INT:
			snprintf(got, sizeof(got), "%lld", (long long)a->v.i);
			break;
		case TK_V_NUM:
			tk_fmt_num(got, a->v.d, a->prec);
			break;
		default:
			tk_strlcpyn(got, sizeof(got), r->sbuf + a->v.off, a->len);
			break;
		}
		if (strcmp(got, v) != 0)
			print_message("attribute %s: want %s, got %s\n", kv, v, got);
		assert_string_equal(got, v);
	}
}

struct dec_case {
	const char	*legend;
	const char	*frame;
	int		 nrec;		/* records emitted */
	int		 idx;		/* the record checked */
	enum tk_rtype	 type;
	const char	*id;
	const char	*time;		/* fixTime, NULL = none */
	bool		 valid;
	double		 lat, lon, kn, course;	/* checked for positions */
	const char	*alarm;
	const char	*attrs;		/* key=value;... ("(none)": absent) */
};

static const struct dec_case dec_cases[] = {
	{"classic BR00, exact values of Traccar's test (south/east, odometer hex)",
	    "(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)",
	    1, 0, TK_R_POSITION, "088047365460", "2015-10-24T05:51:48.000Z", true,
	    -25.922552, 28.922215, 4.7 / 1.852, 276.17, "",
	    "charge=true;ignition=true;fuel=0;odometer=39587"},
	{"space-padded lon/speed/course, west",
	    "(027023361470BR00200617A4000.5775N 8415.4076W 46.0173725 87.3101000000L00000000)",
	    1, 0, TK_R_POSITION, "027023361470", "2020-06-17T17:37:25.000Z", true,
	    40.009625, -84.256793, 46.0 / 1.852, 87.31, "", "odometer=0"},
	{"6-char course 87.580 then status 01100166 (in2, fuel hex 0x166)",
	    "(019358704260BR00180725A2300.0957N07235.2748E032.412092187.58001100166L000D9779)",
	    1, 0, TK_R_POSITION, "019358704260", "2018-07-25T12:09:21.000Z", true,
	    23.001595, 72.587913, 32.4 / 1.852, 87.58, "",
	    "in2=true;panic=(none);fuel=358;odometer=890745"},
	{"11-char id, V fix is a position with valid=false",
	    "(01602009983BR00160830V1855.7022S4817.8731W000.0002729000.0010000000L00000000)",
	    1, 0, TK_R_POSITION, "01602009983", "2016-08-30T00:27:29.000Z", false,
	    -18.92837, -48.297885, 0, 0, "", "charge=false"},
	{"temperature trailer +017.7 -> temp1 (Traccar never reads it)",
	    "(088046338039BR00160727A3354.7768N03540.7258E000.0140832068.4700000000L00BEB0D4+017.7)",
	    1, 0, TK_R_POSITION, "088046338039", "2016-07-27T14:08:32.000Z", true,
	    33.912947, 35.678763, 0, 68.47, "", "temp1=17.7;odometer=12497108"},
	{"comma before the status",
	    "(087073803649BR00170221A6142.0334N02712.2197E000.3203149000.00,00000000L00000000)",
	    1, 0, TK_R_POSITION, "087073803649", "2017-02-21T20:31:49.000Z", true,
	    61.700557, 27.203662, 0.3 / 1.852, 0, "", "fuel=0;ignition=false"},
	{"status bits: hs3 (char 4 bit 0)",
	    "(088048003342BR00150917A1352.9801N10030.9050E000.0103224000.0000010000L000003F9)",
	    1, 0, TK_R_POSITION, "088048003342", "2015-09-17T10:32:24.000Z", true,
	    13.883002, 100.515083, 0, 0, "", "hs3=true;hs1=(none);door=(none);odometer=1017"},
	{"status bits: every one set (F in chars 3-5)",
	    "(012345678901BR00130520A3439.9629S05826.3504W000.1175622323.8711FFFABCL000450AC)",
	    1, 0, TK_R_POSITION, "012345678901", "2013-05-20T17:56:22.000Z", true,
	    -34.666048, -58.439173, 0.1 / 1.852, 323.87, "",
	    "charge=false;ignition=true;in2=true;panic=true;out2=true;blocked=true;hs1=true;"
	    "hs2=true;hs3=true;door=true;ls1=true;ls2=true;ls3=true;fuel=2748"},
	{"BP05 classic: a login then the position after the 15-digit IMEI",
	    "(088047365460BP05354188047365460150929A3258.1754S02755.4323E009.4193927301.9000000000L00000000)",
	    2, 1, TK_R_POSITION, "088047365460", "2015-09-29T19:39:27.000Z", true,
	    -32.96959, 27.923872, 9.4 / 1.852, 301.9, "", NULL},
	{"BP05 classic: the login record", "(088047365460BP05354188047365460150929A3258.1754S"
	    "02755.4323E009.4193927301.9000000000L00000000)",
	    2, 0, TK_R_LOGIN, "088047365460", NULL, false, 0, 0, 0, 0, "", NULL},
	{"BO01 digit 2: sos alarm",
	    "(013666666666BO012110925A1234.5678N01234.5678W000.0025948118.7200000000L000024DE)",
	    1, 0, TK_R_POSITION, "013666666666", "2011-09-25T02:59:48.000Z", true,
	    12.57613, -12.57613, 0, 118.72, "sos", "odometer=9438"},
	{"hour 25: the position is kept, the time left out (warning)",
	    "(088047365460BR00151024A2555.3531S02855.3329E004.7255148276.1701000000L00009AA3)",
	    1, 0, TK_R_POSITION, "088047365460", NULL, true,
	    -25.922552, 28.922215, 4.7 / 1.852, 276.17, "", NULL},
	{"BO01 month 18: kept without a fix time",
	    "(013612345678BO012061830A2934.0133N10627.2544E040.0080331309.6200000000L000770AD)",
	    1, 0, TK_R_POSITION, "013612345678", NULL, true,
	    29.566888, 106.45424, 40.0 / 1.852, 309.62, "sos", NULL},
	{"BQ81 alarm type 1: overspeed",
	    "(012345678901BQ81,ALARM,1,80,130520A3439.9629S05826.3504W080.0175622323.8700000000L000450AC)",
	    1, 0, TK_R_POSITION, "012345678901", "2013-05-20T17:56:22.000Z", true,
	    -34.666048, -58.439173, 80.0 / 1.852, 323.87, "overspeed", NULL},
	{"comma BP05: login + position (DDMMYY), no status",
	    "(352606090042050,BP05,240414,A,4527.3513N,00909.9758E,4.80,112825,155.49)",
	    2, 1, TK_R_POSITION, "352606090042050", "2014-04-24T11:28:25.000Z", true,
	    45.455855, 9.166263, 4.8 / 1.852, 155.49, "", NULL},
	{"comma DW3B with altitude and satellites",
	    "(864555555555555,DW3B,131117,A,5544.02870N,01315.08194E,1.597,223707,291.65,-0.10,4)",
	    1, 0, TK_R_POSITION, "864555555555555", "2017-11-13T22:37:07.000Z", true,
	    55.733812, 13.251366, 1.597 / 1.852, 291.65, "", "sat=4"},
	{"comma ZC11: movement, V fix",
	    "(864768011069660,ZC11,250517,V,0000.0000N,00000.0000E,000.0,114725,000.0,0.00,11)",
	    1, 0, TK_R_POSITION, "864768011069660", "2017-05-25T11:47:25.000Z", false,
	    0, 0, 0, 0, "movement", "sat=11"},
	{"comma ZC15: ignition on",
	    "(013632651491,ZC15,040613,A,2234.0297N,11405.9101E,000.0,040137,178.48)",
	    1, 0, TK_R_POSITION, "013632651491", "2013-06-04T04:01:37.000Z", true,
	    22.567162, 114.098502, 0, 178.48, "", "ignition=true"},
	{"comma BP05 with status and odometer fields",
	    "(013632782450,BP05,101201,A,2234.0297N,11405.9101E,000.0,040137,178.48,00000000,L000003F9)",
	    2, 1, TK_R_POSITION, "013632782450", "2001-12-10T04:01:37.000Z", true,
	    22.567162, 114.098502, 0, 178.48, "", "charge=true;odometer=1017"},
	{"ZC20 battery: level 6 = 100%, 4.21 V, power 11.2 V",
	    "(013632651491,ZC20,040613,040137,6,421,112,0)",
	    1, 0, TK_R_EVENT, "013632651491", NULL, false, 0, 0, 0, 0, "",
	    "batteryLevel=100;battery=4.21;power=11.2"},
	{"ZC20 n/a values (65535, 255) left out",
	    "(864768010159785,ZC20,291015,030413,3,362,65535,255)",
	    1, 0, TK_R_EVENT, "864768010159785", NULL, false, 0, 0, 0, 0, "",
	    "batteryLevel=20;battery=3.62;power=(none)"},
	{"ZC03 result with ')' and CR/LF inside $...$",
	    "(8647555555555,ZC03,191117,234421,$)Notice:\r\nserial)$)",
	    1, 0, TK_R_REPLY, "8647555555555", NULL, false, 0, 0, 0, 0, "",
	    "result=)Notice:\r\nserial)"},
	{"BV00 VIN", "(027023361470BV005J6RW2H53HL066029)",
	    1, 0, TK_R_EVENT, "027023361470", NULL, false, 0, 0, 0, 0, "", "vin=5J6RW2H53HL066029"},
	{"BV00 answer that is no VIN: a reply", "(027023361470BV001)",
	    1, 0, TK_R_REPLY, "027023361470", NULL, false, 0, 0, 0, 0, "", "result=1"},
	{"BP00 heartbeat", "(087073005534BP00HSO)",
	    1, 0, TK_R_HEARTBEAT, "087073005534", NULL, false, 0, 0, 0, 0, "", NULL},
	{"BS50 BMS: cell voltages and batteryTemp2 = 26",
	    "(352602014867BS500064FF0EF10FF10FF00FF20FF30FF20FF20FF40FF20FF40FF40FF20FF30FF20F"
	    "0000000000000000000000000000000000000000000000001663000000010004000000000000000002"
	    "444444420000000000A00FA000000000000000200000000315E2000000)",
	    1, 0, TK_R_EVENT, "352602014867", NULL, false, 0, 0, 0, 0, "",
	    "batteryCell1=3.839;batteryCell2=4.081;batteryTemp2=26;batteryCell16=(none)"},
	{"BS51 BMS pairs: totals, min/max, temperatures",
	    "(007030201454BS5190:02150000753001DC,91:0EE8060EDC0A01DC,92:42014201DC0A01DC,"
	    "93:00010127000037C8,94:0E01000002000000,96:0142000000000000)",
	    1, 0, TK_R_EVENT, "007030201454", NULL, false, 0, 0, 0, 0, "",
	    "battery=53.3;batteryLevel=47.6;batteryCellMax=3.816;batteryTempMax=26;"
	    "batteryCapacity=14280;batteryTemp1=26"},
	{"13-char id; date 000000 and V: no position, an event with the status",
	    "(0354776034724BR00000000V0000.0000N00000.0000E000.0000000000.0001000000L00000000)",
	    1, 0, TK_R_EVENT, "0354776034724", NULL, false, 0, 0, 0, 0, "",
	    "charge=true;ignition=true;odometer=0"},
	{"date 000007 and V (Traccar's row): an event, not a position at 0,0",
	    "(087072009461BR00000007V0000.0000N00000.0000E000.00014039900000000L00000000)",
	    1, 0, TK_R_EVENT, "087072009461", NULL, false, 0, 0, 0, 0, "",
	    "charge=true;ignition=false"},
	{"BO01 without date and fix: an event keeps the alarm",
	    "(013666666666BO012000000V0000.0000N00000.0000E000.0000000000.0000000000L00000000)",
	    1, 0, TK_R_EVENT, "013666666666", NULL, false, 0, 0, 0, 0, "sos", NULL},
	{"comma form, date 000000 and V: an event keeps the movement alarm",
	    "(864768011069660,ZC11,000000,V,0000.0000N,00000.0000E,000.0,000000,000.0,0.00,0)",
	    1, 0, TK_R_EVENT, "864768011069660", NULL, false, 0, 0, 0, 0, "movement", NULL},
	{"15-digit id, BP02 answer with a position block: a position and its result",
	    "(357593060760397BP02,G,2,170304A6015.7466N01101.8460E001.609445591.048,7)",
	    1, 0, TK_R_POSITION, "357593060760397", "2017-03-04T09:44:55.000Z", true,
	    60.262443, 11.030767, 1.6 / 1.852, 91.048, "", "result=G,2"},
	{"15-digit id, BP05 login and position",
	    "(357593060760397BP05357593060760397170304A6015.7466N01101.8460E001.6094455"
	    "91.04801000000L00000000)",
	    2, 1, TK_R_POSITION, "357593060760397", "2017-03-04T09:44:55.000Z", true,
	    60.262443, 11.030767, 1.6 / 1.852, 91.048, "", "ignition=true"},
	{"UDP datagram without parentheses",
	    "088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3",
	    1, 0, TK_R_POSITION, "088047365460", "2015-10-24T05:51:48.000Z", true,
	    -25.922552, 28.922215, 4.7 / 1.852, 276.17, "", NULL},
};

static void
test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *t = &dec_cases[i];
		static struct recs g;
		char err[200], warn[200], buf[32];
		print_message("decode: %s\n", t->legend);
		int rc = decode(t->frame, strlen(t->frame), &g, err, warn);
		if (rc < 0)
			print_message("rejected: %s\n", err);
		assert_int_equal(rc, t->nrec);
		assert_int_equal(g.n, t->nrec);
		const struct tk_record *r = &g.r[t->idx];
		assert_int_equal(r->type, t->type);
		assert_string_equal(r->id, t->id);
		if (t->time) {
			tk_fmt_time(buf, r->fix_time);
			assert_string_equal(buf, t->time);
		} else
			assert_true(r->fix_time == TK_TIME_NONE);
		if (t->type == TK_R_POSITION) {
			assert_true(r->has_pos);
			assert_int_equal(r->valid, t->valid);
			assert_true(fabs(r->lat - t->lat) < 1e-6);
			assert_true(fabs(r->lon - t->lon) < 1e-6);
			assert_true(r->has_speed && fabs(r->speed - t->kn) < 1e-9);
			assert_true(r->has_course && fabs(r->course - t->course) < 1e-9);
		} else
			assert_false(r->has_pos);
		assert_string_equal(r->alarm, t->alarm);
		check_attrs(r, t->attrs);
	}
}

/* Cell lists and WiFi. */
static void
test_decode_network(void **state)
{
	static struct recs g;
	char err[200], warn[200];
	(void)state;
	/* legend: BZ00 brace list with raw \n, three towers, then ,odometer */
	assert_int_equal(decode(T("(027046434858BZ00,{460,0,20949,58711}\n{460,0,20494,54003}\n"
	    "{460,0,20951,19569}\n,01000000)"), &g, err, warn), 1);
	assert_int_equal(g.r[0].ncell, 3);
	assert_int_equal(g.r[0].cell[0].mcc, 460);
	assert_int_equal(g.r[0].cell[2].lac, 20951);
	assert_int_equal(g.r[0].cell[2].cid, 19569);
	/* legend: BZ00 comma form, hex lac/cid (either case) */
	assert_int_equal(decode(T("(088047194605BZ00,510,010,36e6,932c,43,36e6,766b,36)"),
	    &g, err, warn), 1);
	assert_int_equal(g.r[0].ncell, 2);
	assert_int_equal(g.r[0].cell[0].mnc, 10);
	assert_int_equal(g.r[0].cell[0].lac, 0x36e6);
	assert_int_equal(g.r[0].cell[0].cid, 0x932c);
	assert_int_equal(g.r[0].cell[1].cid, 0x766b);
	/* legend: DW51 LBS + 2 WiFi, movement, device time */
	assert_int_equal(decode(T("(864555555555555,DW51,200,1,3215,43370,2,58:F3:BB:3B:AA:82*-65*1,"
	    "1C:6A:BB:AA:81:95*-78*11,151117,154419)"), &g, err, warn), 1);
	assert_int_equal(g.r[0].type, TK_R_EVENT);
	assert_string_equal(g.r[0].alarm, "movement");
	assert_int_equal(g.r[0].ncell, 1);
	assert_int_equal(g.r[0].cell[0].cid, 43370);
	assert_int_equal(g.r[0].nwifi, 2);
	assert_int_equal(g.r[0].wifi[1].mac[0], 0x1c);
	assert_int_equal(g.r[0].wifi[1].rssi, -78);
	assert_int_equal(g.r[0].wifi[1].channel, 11);
	char buf[32];
	tk_fmt_time(buf, g.r[0].device_time);
	assert_string_equal(buf, "2017-11-15T15:44:19.000Z");
	/* legend: the count of access points must match the fields */
	assert_int_equal(decode(T("(864555555555555,DW51,200,1,3215,43370,3,58:F3:BB:3B:AA:82*-65*1,"
	    "151117,154419)"), &g, err, warn), -1);
	assert_non_null(strstr(err, "LBS/WiFi"));
}

/* Hostile input: never a crash, a reject with a reason. */
static const struct {
	const char	*legend;
	const char	*frame;
} hostile[] = {
	{"0-length", ""},
	{"only parentheses", "()"},
	{"only '('", "("},
	{"id only", "(087073005534)"},
	{"truncated BR00 after the date", "(088047365460BR00151024)"},
	{"truncated BR00 inside the latitude", "(088047365460BR00151024A2555.35"},
	{"truncated BR00 after the longitude", "(088047365460BR00151024A2555.3531S02855.3329E004)"},
	{"non-digits in the date", "(088047365460BR0015X024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)"},
	{"non-digits in the latitude", "(088047365460BR00151024A25x5.3531S02855.3329E004.7055148276.1701000000L00009AA3)"},
	{"latitude over 90", "(088047365460BR00151024A9555.3531S02855.3329E004.7055148276.1701000000L00009AA3)"},
	{"61 minutes", "(088047365460BR00151024A2561.3531S02855.3329E004.7055148276.1701000000L00009AA3)"},
	{"huge speed digits", "(088047365460BR00151024A2555.3531S02855.3329E99999255148276.1701000000L00009AA3)"},
	{"huge IMEI run before the date", "(088047365460BP0599999999999999999999999999999999151024A2555.3531S02855.3329E)"},
	{"comma position missing fields", "(352606090042050,BP05,240414,A,4527.3513N)"},
	{"comma position bad hemisphere", "(352606090042050,ZC11,240414,A,4527.3513X,00909.9758E,4.80,112825,155.49)"},
	{"ZC20 with letters", "(013632651491,ZC20,040613,040137,x,421,112,0)"},
	{"ZC20 with a huge number", "(013632651491,ZC20,040613,040137,6,99999999999999999999999,112,0)"},
	{"BZ00 brace without '}'", "(027046434858BZ00,{460,0,20949,58711\n)"},
	{"BZ00 brace with a huge cid", "(027046434858BZ00,{460,0,20949,999999999999999999999999})"},
	{"BS50 odd hex", "(352602014867BS500064F)"},
	{"BS50 too short", "(352602014867BS500064FF0E)"},
	{"BS51 without pairs", "(007030201454BS51hello)"},
	{"DW5x bad MAC", "(864555555555555,DW51,200,1,3215,43370,1,58:F3:BB:3B:AA*-65*1,151117,154419)"},
	{"DW5x huge count", "(864555555555555,DW51,200,1,3215,43370,99999,151117,154419)"},
	{"binary bytes", "(\x01\x02\x03\xff\xfe)"},
};

static void
test_decode_hostile(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		static struct recs g;
		char err[200], warn[200];
		print_message("hostile: %s\n", hostile[i].legend);
		int rc = decode(hostile[i].frame, strlen(hostile[i].frame), &g, err, warn);
		assert_int_equal(rc, -1);
		assert_true(err[0] != '\0');
		for (int k = 0; k < g.n && k < NREC; k++)
			assert_true(g.r[k].type != TK_R_POSITION);
	}
}

/* Every prefix of real frames: no overread (ASan), never a position
 * with out-of-range values. */
static void
test_decode_prefixes(void **state)
{
	static const char *const frames[] = {
		"(088047365460BP05354188047365460150929A3258.1754S02755.4323E009.4193927301.9000000000L00000000)",
		"(864555555555555,DW51,200,1,3215,43370,2,58:F3:BB:3B:AA:82*-65*1,1C:6A:BB:AA:81:95*-78*1,151117,154419)",
		"(007030201454BS5190:02150000753001DC,91:0EE8060EDC0A01DC,92:42014201DC0A01DC)",
		"(027046434858BZ00,{460,0,20949,58711}\n{460,0,20494,54003}\n,01000000)",
		"(864555555555555,ZC03,191117,234207,$Notice: Device version: 1.0$)",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		size_t n = strlen(frames[i]);
		for (size_t k = 0; k <= n; k++) {
			static struct recs g;
			char err[200], warn[200];
			char *copy = malloc(k ? k : 1);	/* exact size: ASan sees overreads */
			assert_non_null(copy);
			memcpy(copy, frames[i], k);
			(void)decode(copy, k, &g, err, warn);
			for (int j = 0; j < g.n && j < NREC; j++)
				if (g.r[j].has_pos)
					assert_true(fabs(g.r[j].lat) <= 90 && fabs(g.r[j].lon) <= 180);
			free(copy);
		}
	}
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
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_network),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_decode_prefixes),
	};
	return cmocka_run_group_tests_name("tk103", tests, NULL, NULL);
}
