/*
 * test_h02.c: the h02 dialect (docs/protocol/h02.md): classification of
 * the text and binary forms, the scanner (glued, split, interleaved,
 * junk, the binary lengths), replies at a fixed time, frame ids, and
 * decoding to exact values (status bits, coordinate shapes, cells,
 * command answers, a missing date).  Every table row says what it
 * exercises.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"
#include "tk_h02.h"
#include "tk_test.h"

#define S(x)	(const uint8_t *)(x), sizeof(x) - 1

/* binary records from h02.tsv (Traccar's tests): 32, 45 and 42 bytes */
static const char B32[] = "2441060116601245431311165035313006004318210e000000fffffbffff0024";
static const char B45[] = "24410600082621532131081504419390060740418306000000fffffbfdff0015"
    "060000002c02dc0c000000001f";
static const char B42[] = "2435248308419329301047591808172627335900074412294E024138FEFFFFFFFF"
    "01120064BA73005ECC";

static size_t
unhex(const char *h, uint8_t *out, size_t cap)
{
	long n = tk_hex_decode(h, strlen(h), out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

/* ---- classification ------------------------------------------------- */

static void
test_classify(void **state)
{
	static const struct {
		const char *legend, *in;
		bool eof;
		enum tk_class want;
	} cases[] = {
		{"text V1", "*HQ,4210051415,V1,", false, TK_CLASS_OK},
		{"maker tag TH, empty id", "*TH,,V1,173212", false, TK_CLASS_OK},
		{"lower-case hq", "*hq,356327080425330,VP1,A", false, TK_CLASS_OK},
		{"heartbeat ends at '#'", "*HQ,135790246811220,HTBT#", false, TK_CLASS_OK},
		{"type cut by the read: more", "*HQ,4210051415,V", false, TK_CLASS_MORE},
		{"'*' without the shape is not h02", "*HQ;4210051415,V1,", true, TK_CLASS_UNKNOWN},
		{"an id of punctuation is not h02", "*HQ,(1),V1,", true, TK_CLASS_UNKNOWN},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tk_dialect d = TK_D_UNKNOWN;
		size_t skip;
		enum tk_class c = tk_classify((const uint8_t *)cases[i].in, strlen(cases[i].in),
		    cases[i].eof, &d, &skip);
		if (c != cases[i].want || (c == TK_CLASS_OK && d != TK_D_H02))
			fail_msg("%s: got class %d dialect %s", cases[i].legend, c,
			    tk_dialect_name(d));
	}
	/* binary: '$' + BCD id + time + date; NMEA and Meiligao are not */
	uint8_t b[64];
	size_t n = unhex(B32, b, sizeof(b));
	enum tk_dialect d;
	size_t skip;
	assert_int_equal(tk_classify(b, n, false, &d, &skip), TK_CLASS_OK);
	assert_int_equal(d, TK_D_H02);
	assert_int_equal(tk_classify(b, 8, false, &d, &skip), TK_CLASS_MORE);
	n = unhex(B42, b, sizeof(b));
	assert_int_equal(tk_classify(b, n, false, &d, &skip), TK_CLASS_OK);
	assert_int_equal(d, TK_D_H02);
	d = TK_D_UNKNOWN;
	tk_classify(S("$GPRMC,120000.000,A,5000.0000,N"), true, &d, &skip);
	assert_int_not_equal(d, TK_D_H02);
	n = unhex(B32, b, sizeof(b));
	b[6] = 0x25;	/* hour 25: no time */
	assert_int_equal(tk_classify(b, n, true, &d, &skip), TK_CLASS_UNKNOWN);
}

/* ---- scanner ---------------------------------------------------------- */

static void
test_scan_text(void **state)
{
	static const struct {
		const char *legend, *in;
		bool eof;
		int frame;
		size_t skip, len;
		bool junk;
	} cases[] = {
		{"one sentence", "*HQ,1,V1,A#", false, 1, 0, 11, false},
		{"CR LF after '#' is not part of it", "*HQ,1,V1#\r\n", false, 1, 0, 9, false},
		{"leading CR/LF skipped silently", "\r\n*HQ,1,V1#", false, 1, 2, 9, false},
		{"no '#' yet: more", "*HQ,1,V1,120000", false, 0, 0, 0, false},
		{"no '#' at eof: the rest", "*HQ,1,V1,120000", true, 1, 0, 15, false},
		{"junk before '*' dropped", "garbage*HQ,1,V1#", false, 0, 7, 0, true},
		{"a sentence cut by a new one is junk", "*HQ,1,V1,12*HQ,2,V1#", false, 0, 11, 0, true},
		{"a '*' inside a sentence that starts none", "*HQ,1,SMS,a*b#", false, 1, 0, 14, false},
		{"'*' cut by the read inside a sentence: more", "*HQ,1,V1,1*H", false, 0, 0, 0, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tk_scan_out o;
		enum tk_scan s = tk_scan(TK_D_H02, (const uint8_t *)cases[i].in,
		    strlen(cases[i].in), cases[i].eof, &o);
		if ((s == TK_SCAN_FRAME) != (cases[i].frame == 1) || o.skip != cases[i].skip ||
		    (s == TK_SCAN_FRAME && o.len != cases[i].len) || o.junk != cases[i].junk)
			fail_msg("%s: got %d skip %zu len %zu junk %d", cases[i].legend, s,
			    o.skip, o.len, o.junk);
	}
}

/* A stream of both forms, glued, with junk and CR LF, in every chunking. */
static void
test_stream(void **state)
{
	uint8_t in[1024];
	size_t n = 0, lens[8], nl = 0;
	(void)state;
#define ADD_TXT(t) do { memcpy(in + n, t, sizeof(t) - 1); n += sizeof(t) - 1; \
	lens[nl++] = sizeof(t) - 1; } while (0)
#define ADD_BIN(h) do { size_t l = unhex(h, in + n, sizeof(in) - n); n += l; \
	lens[nl++] = l; } while (0)
	ADD_BIN(B32);
	ADD_TXT("*HQ,4210051415,V1,164549,A,0956.3869,N,08406.7068,W,000.00,000,221215,FFFFFBFF#");
	ADD_BIN(B45);
	ADD_BIN(B45);
	memcpy(in + n, "\r\n", 2);	/* CR LF between records: silent */
	n += 2;
	ADD_BIN(B32);
	ADD_TXT("*HQ,135790246811220,HTBT#");
	memcpy(in + n, "zz", 2);	/* junk: reported */
	n += 2;
	ADD_BIN(B42);
	for (size_t k = 0; k <= 50; k += (k < 5 ? 1 : 9)) {
		/* classified from the first bytes, and the dialect forced */
		for (int forced = 0; forced < 2; forced++) {
			struct tkt_frames g;
			assert_int_equal(tkt_feed(forced ? TK_D_H02 : TK_D_UNKNOWN, in, n, k, &g), 0);
			if (g.n != (int)nl)
				fail_msg("chunks of %zu: %d frames, want %zu", k, g.n, nl);
			for (size_t i = 0; i < nl; i++)
				if (g.len[i] != lens[i])
					fail_msg("chunks of %zu: frame %zu is %zu bytes, want %zu", k,
					    i, g.len[i], lens[i]);
			assert_int_equal(g.junk, 2);
			/* tkt_feed counts frames of another dialect than it was given */
			assert_int_equal(g.wrong, forced ? 0 : (int)nl);
		}
	}
}

/* A 45-byte record alone in a datagram, and a 37-byte one before text. */
static void
test_binary_lengths(void **state)
{
	uint8_t b[128];
	struct tk_scan_out o;
	(void)state;
	size_t n = unhex(B45, b, sizeof(b));
	assert_int_equal(tk_scan(TK_D_H02, b, n, false, &o), TK_SCAN_MORE);
	assert_int_equal(tk_scan(TK_D_H02, b, n, true, &o), TK_SCAN_FRAME);
	assert_int_equal(o.len, 45);
	n = unhex(B32, b, sizeof(b));
	memset(b + 32, 0, 5);	/* 37 bytes: 5 more after the 32 */
	memcpy(b + 37, "*HQ,1,V1#", 9);
	assert_int_equal(tk_scan(TK_D_H02, b, 46, false, &o), TK_SCAN_FRAME);
	assert_int_equal(o.len, 37);
	/* no start after any length and plenty of bytes: Traccar's 32 */
	memset(b + 32, 0, 60);
	assert_int_equal(tk_scan(TK_D_H02, b, 92, false, &o), TK_SCAN_FRAME);
	assert_int_equal(o.len, 32);
}

/* ---- ids and replies ------------------------------------------------- */

static void
test_id_reply(void **state)
{
	char id[TK_ID_MAX];
	uint8_t out[TK_REPLY_MAX], b[64];
	int64_t t;
	(void)state;
	assert_int_equal(tk_time_utc(2024, 1, 2, 3, 4, 5, 0, &t), 0);
	static const struct {
		const char *legend, *in, *id, *reply;
	} cases[] = {
		{"V1: V4 answer with the time", "*HQ,4210051415,V1,164549,A#", "4210051415",
		    "*HQ,4210051415,V4,V1,20240102030405#"},
		{"NBR: V4 answer", "*HQ,7401004662,NBR,160453,234#", "7401004662",
		    "*HQ,7401004662,V4,NBR,20240102030405#"},
		{"the device's maker tag is kept", "*TH,2020916012,V1,050316#", "2020916012",
		    "*TH,2020916012,V4,V1,20240102030405#"},
		{"HTBT: echoed up to the type", "*HQ,135790246811220,HTBT,55#", "135790246811220",
		    "*HQ,135790246811220,HTBT#"},
		{"V0: echoed", "*HQ,4109198974,V0#", "4109198974", "*HQ,4109198974,V0#"},
		{"V2 and others: nothing", "*HQ,4210051415,V2,1#", "4210051415", ""},
		{"a V4 from the device: nothing", "*HQ,1,V4,S20,DONE#", "1", ""},
		{"empty id: no id, no answer", "*HQ,,V1,173212#", "", ""},
		{"not a sentence", "HQ,1,V1#", "", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *f = (const uint8_t *)cases[i].in;
		size_t n = strlen(cases[i].in);
		size_t il = tk_frame_id(TK_D_H02, f, n, id, sizeof(id));
		if (il != strlen(cases[i].id) || strcmp(id, cases[i].id) != 0)
			fail_msg("%s: id '%s'", cases[i].legend, id);
		size_t rl = tk_h02_reply_at(f, n, t, out, sizeof(out));
		if (rl != strlen(cases[i].reply) || memcmp(out, cases[i].reply, rl) != 0)
			fail_msg("%s: reply '%.*s'", cases[i].legend, (int)rl, (const char *)out);
	}
	/* the live reply: the same shape at the clock's time */
	size_t rl = tk_reply(TK_D_H02, S("*HQ,1,V1,1#"), out, sizeof(out));
	assert_int_equal(rl, strlen("*HQ,1,V4,V1,") + 15);
	assert_memory_equal(out, "*HQ,1,V4,V1,20", 14);
	/* too small a buffer: nothing, never a cut reply */
	assert_int_equal(tk_h02_reply_at(S("*HQ,1,V1,1#"), t, out, 10), 0);
	/* binary ids: 10 BCD digits, or the IMEI of the 8-byte form */
	size_t n = unhex(B32, b, sizeof(b));
	assert_int_equal(tk_frame_id(TK_D_H02, b, n, id, sizeof(id)), 10);
	assert_string_equal(id, "4106011660");
	assert_int_equal(tk_h02_reply_at(b, n, t, out, sizeof(out)), 0);
	n = unhex(B42, b, sizeof(b));
	assert_int_equal(tk_frame_id(TK_D_H02, b, n, id, sizeof(id)), 15);
	assert_string_equal(id, "352483084193293");
}

/* ---- decoding --------------------------------------------------------- */

#define MAXREC 8
struct got {
	int n;
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

static int
dec(const uint8_t *f, size_t n, int64_t recv, struct got *g, char *err)
{
	struct tk_session s;
	static struct tk_record scratch;
	char warn[200];
	tk_session_init(&s, TK_D_H02);
	g->n = 0;
	int rc = tk_decode(&s, f, n, recv, &scratch, collect, g, err, 200, warn, sizeof(warn));
	tk_session_free(&s);
	return rc;
}

static const char *
str(const struct tk_record *r, const char *key)
{
	static char buf[256];
	const struct tk_attr *a = tk_rec_get(r, key);
	if (a == NULL || a->type != TK_V_STR)
		return "(none)";
	tk_strlcpyn(buf, sizeof(buf), r->sbuf + a->v.off, a->len);
	return buf;
}

static int64_t
ival(const struct tk_record *r, const char *key)
{
	const struct tk_attr *a = tk_rec_get(r, key);
	return a ? a->v.i : -999;
}

static void
test_decode_text(void **state)
{
	static struct got g;
	char err[200];
	(void)state;
	/* status bits: bit 1 clear -> sos; bit 10 set -> ignition */
	assert_int_equal(dec(S("*HQ,4210051415,V1,164549,A,0956.3869,N,08406.7068,W,"
	    "000.00,000,221215,FFFFFFFD#"), TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_POSITION);
	assert_string_equal(g.r[0].alarm, "sos");
	assert_int_equal(ival(&g.r[0], "ignition"), 1);
	assert_int_equal(ival(&g.r[0], "status"), 0xFFFFFFFDu);
	/* first match wins: vibration (bit 0) over powerCut (bit 19) */
	assert_int_equal(dec(S("*HQ,1,V1,164549,A,0956.3869,N,08406.7068,W,0,0,221215,FFF7FFFE#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_string_equal(g.r[0].alarm, "vibration");
	/* 3-digit degrees without a leading zero, and 0 degrees */
	assert_int_equal(dec(S("*HQ,1,V8,213945,A,3542.2043,N,38.6508,W,0.00,170,221025,"
	    "FBFFF9FF#"), TK_TIME_NONE, &g, err), 1);
	assert_true(fabs(g.r[0].lon + 0.64418) < 1e-5);
	/* dotless degrees+minutes, and an optional battery before the date */
	assert_int_equal(dec(S("*HQ,1,V1,101010,A,37573392,S,145037022,E,1.5,047,4,080918,"
	    "FFFFFBFF#"), TK_TIME_NONE, &g, err), 1);
	assert_true(fabs(g.r[0].lat + (37 + 57.3392 / 60)) < 1e-6);
	assert_true(fabs(g.r[0].lon - (145 + 3.7022 / 60)) < 1e-6);
	char t[32];
	tk_fmt_time(t, g.r[0].fix_time);
	assert_string_equal(t, "2018-09-08T10:10:10.000Z");
	/* validity B and a digit are not a valid fix */
	assert_int_equal(dec(S("*HQ,1,V1,101010,B,5000.0000,N,01000.0000,E,0,0,080918#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_false(g.r[0].valid);
	/* no date: the server time when known, else none */
	assert_int_equal(dec(S("*HQ,1,V1,,V,4605.75732,N,01430.73863,E,0.00,0,,FFFFFFEF#"),
	    1500000000000, &g, err), 1);
	assert_int_equal(g.r[0].fix_time, 1500000000000);
	assert_int_equal(dec(S("*HQ,1,V1,,V,4605.75732,N,01430.73863,E,0.00,0,,FFFFFFEF#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_true(g.r[0].fix_time == TK_TIME_NONE);
	/* hemisphere 0: no location, an event (Traccar drops the frame) */
	assert_int_equal(dec(S("*HQ,1,V1,000000,V,0.0000,0,0.0000,0,0.00,0.00,000000,ffffffff#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_EVENT);
	assert_false(g.r[0].has_pos);
	/* a command answer: result is everything before the position */
	assert_int_equal(dec(S("*TH,2020916012,V4,S20,DONE,130305,050316,A,2212.8745,N,"
	    "11346.6574,E,14.28,028,220902,FFFFFBFF#"), TK_TIME_NONE, &g, err), 1);
	assert_string_equal(str(&g.r[0], "result"), "S20,DONE,130305");
	assert_true(fabs(g.r[0].speed - 14.28) < 1e-9);
	/* ... and without a position: a reply record */
	assert_int_equal(dec(S("*HQ,1,V4,S20,DONE,130305#"), TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_REPLY);
	assert_string_equal(str(&g.r[0], "result"), "S20,DONE,130305");
	/* NBR cells are decimal, RSSI may be negative */
	assert_int_equal(dec(S("*HQ,7401004662,NBR,160453,234,10,0,2,21580,27766,-67,"
	    "21581,27767,-60,291019,FFFFFBFF,6#"), TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].ncell, 2);
	assert_int_equal(g.r[0].cell[1].lac, 21581);
	assert_int_equal(g.r[0].cell[1].rssi, -60);
	assert_int_equal(g.r[0].cell[0].mcc, 234);
	/* V3: MCC and MNC glued */
	assert_int_equal(dec(S("*HQ,353111080001055,V3,044855,28403,01,001450,011473,158,-62,"
	    "0292,0,X,030817,FFFFFBFF#"), TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].cell[0].mcc, 284);
	assert_int_equal(g.r[0].cell[0].mnc, 3);
	assert_int_equal(ival(&g.r[0], "battery"), 0x292);
	/* LINK */
	assert_int_equal(dec(S("*HQ,1700086468,LINK,180902,15,0,84,0,0,240517,FFFFFBFF#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_int_equal(ival(&g.r[0], "batteryLevel"), 84);
	assert_int_equal(ival(&g.r[0], "rssi"), 15);
	/* heartbeats */
	assert_int_equal(dec(S("*HQ,135790246811220,HTBT,61#\r\n"), TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_HEARTBEAT);
	assert_int_equal(ival(&g.r[0], "batteryLevel"), 61);
	/* other types: an event naming the type, never a position */
	assert_int_equal(dec(S("*HQ,8401016597,BASE,152609,0,0,0,0,211014,FFFFFFFF#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_int_equal(g.r[0].type, TK_R_EVENT);
	assert_string_equal(str(&g.r[0], "type"), "BASE");
	/* hostile: a bad id, too many fields, nonsense coordinates */
	assert_int_equal(dec(S("*HQ,4210\x1b[2J,V1#"), TK_TIME_NONE, &g, err), -1);
	assert_non_null(strstr(err, "device id"));
	char big[1200] = "*HQ,1,V1";
	for (int i = 0; i < 300; i++)
		strcat(big, ",");
	strcat(big, "#");
	assert_int_equal(dec((const uint8_t *)big, strlen(big), TK_TIME_NONE, &g, err), -1);
	assert_int_equal(dec(S("*HQ,1,V1,101010,A,9999.9999,N,99999.9999,E,0,0,080918#"),
	    TK_TIME_NONE, &g, err), 1);
	assert_false(g.r[0].has_pos);
}

static void
test_decode_binary(void **state)
{
	static struct got g;
	char err[200];
	uint8_t b[64];
	(void)state;
	/* worked example of the reference: valid, north, west, sos */
	size_t n = unhex(B45, b, sizeof(b));
	assert_int_equal(dec(b, n, TK_TIME_NONE, &g, err), 1);
	assert_true(g.r[0].valid);
	assert_true(fabs(g.r[0].lat - 4.69898) < 1e-5);
	assert_true(fabs(g.r[0].lon + 74.06971) < 1e-5);
	assert_string_equal(g.r[0].alarm, "sos");
	assert_int_equal(ival(&g.r[0], "batteryLevel"), 100);
	/* the 8-byte id form: IMEI, time at +3 */
	n = unhex(B42, b, sizeof(b));
	assert_int_equal(dec(b, n, TK_TIME_NONE, &g, err), 1);
	assert_string_equal(g.r[0].id, "352483084193293");
	char t[32];
	tk_fmt_time(t, g.r[0].fix_time);
	assert_string_equal(t, "2017-08-18T10:47:59.000Z");
	/* speed and course share a byte: 014 knots, course 028 */
	n = unhex("2410307310010503162209022212874500113466574C014028fffffbffff0000", b,
	    sizeof(b));
	assert_int_equal(dec(b, n, TK_TIME_NONE, &g, err), 1);
	assert_true(g.r[0].speed == 14 && g.r[0].course == 28);
	assert_false(g.r[0].valid);
	/* too short, and coordinates that are not BCD */
	n = unhex(B32, b, sizeof(b));
	assert_int_equal(dec(b, 20, TK_TIME_NONE, &g, err), -1);
	b[13] = 0xAB;
	assert_int_equal(dec(b, n, TK_TIME_NONE, &g, err), -1);
	assert_non_null(strstr(err, "BCD"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_scan_text),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_binary_lengths),
		cmocka_unit_test(test_id_reply),
		cmocka_unit_test(test_decode_text),
		cmocka_unit_test(test_decode_binary),
	};
	return cmocka_run_group_tests_name("h02", tests, NULL, NULL);
}
