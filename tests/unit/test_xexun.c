/*
 * test_xexun.c: the xexun dialect (docs/protocol/xexun.md): the structural
 * frame scanner (split input at every chunk size, glued messages, CRC
 * bytes that look like delimiters, garbage), the device id, no reply, and
 * the decoder's exact values, checksums and keyword mapping.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "tk103.h"
#include "tk_test.h"

/* ---- frames through the streaming framer --------------------------- */

/* Feed through the framer in chunks of k (0: all at once). */
static void
feed(const uint8_t *s, size_t n, size_t k, struct tkt_frames *g)
{
	assert_int_equal(tkt_feed(TK_D_XEXUN, s, n, k, g), 0);
	assert_int_equal(g->wrong, 0);
}

/* A short-trailer message whose binary CRC-16/XMODEM (LE) is 0A 80: an LF. */
#define CRC_LF_MSG "151012145900,+31652454927,GPRMC,205935.000,A,5140.4350,N," \
	"00501.0686,E,2.10,0.00,121015,00,0000.0,A*73,F,,imei:359587014718392,126\x0a\x80"
/* ... whose CRC is 2C 87: a comma first. */
#define CRC_COMMA_MSG "151012145900,+31652454927,GPRMC,205935.000,A,5140.4350,N," \
	"00501.0686,E,1.64,0.00,121015,00,0000.0,A*73,F,,imei:359587014718392,126\x2c\x87"
/* ... whose CRC is 38 E8: a digit first, glued to LEN. */
#define CRC_DIGIT_MSG "151012145900,+31652454927,GPRMC,205935.000,A,5140.4350,N," \
	"00501.0686,E,0.13,0.00,121015,00,0000.0,A*72,F,,imei:359587014718392,126\x38\xe8"
#define EXT_MSG "150615123731,+33647384611,GPRMC,103731.636,A,4545.5266,N," \
	"00448.8259,E,21.12,276.01,150615,,,A*57,L,, imei:013949002026675,04," \
	"3522.9,F:3.72V,0,142,21744,208,01,0702,9C8C"
#define NOFIX_MSG ",+48606717068,,L,, imei:012207005047292,,,F:4.28V,1,52,11565,247,01,000E,1FC5"
#define SPLIT_MSG "111111120009,+436763737552,GPRMC,120009.590,A,4639.6774,N," \
	"01418.5737,E,0.00,0.00,111111,,,A*68\r\n,F,, imei:359853000144328,04,481.2," \
	"F:4.15V,0,139,2689,232,03,2725,0576"
/* The unit has no fix: GPRMC without a position (LEN 119 and CRC verify;
 * a capture quoted in issue 13). */
#define RMC_NOFIX_MSG "150205112037,+66961544651,GPRMC,.000,A,,,,,0.00,0.00,,,,A*55,L,," \
	"imei:865328028306149,,,F:4.10V/ADC1=0.66V/ADC2=0.00V,0,119,16374,520,01,5DE8," \
	"0399,0.00km"
/* A serial of binary bytes (no comma, no line end) before the first comma,
 * without GPRMC and with it; LEN and CRC cover the binary bytes too. */
#define BIN_NOFIX_MSG "\x15\x02\x05\x11\x23\x37,+66961544651,,L,, imei:865328028306149,,," \
	"F:4.10V/ADC1=0.66V/ADC2=0.00V,0,80,28949,520,01,5DE8,0399,0.00km"
#define BIN_FIX_MSG "\x15\x02\x05\x11\x23\x37,+66961544651,GPRMC,093341.000,A,1344.5716,N," \
	"10033.6648,E,0.00,0.00,240215,,,A*68,F,,imei:865328028306149,05,106.4," \
	"F:4.01V/ADC1=0.20V/ADC2=0.00V,0,153,38356,520,01,5DE8,0399,6.21km"
#define BASIC_MSG "GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,imei:351525010943661,"

struct scan_case {
	const char	*legend;
	const char	*in;
	size_t		 inlen;
	int		 nframes;
	const char	*frame[4];	/* expected frames, NULL: not compared */
	size_t		 flen[4];
	bool		 junk;		/* some junk is reported */
};

#define S(x) x, sizeof(x) - 1

static const struct scan_case scans[] = {
	{"short trailer, CRC low byte is LF, then CRLF",
	    S(CRC_LF_MSG "\r\n"), 1, {CRC_LF_MSG}, {sizeof(CRC_LF_MSG) - 1}, false},
	{"short trailer, CRC low byte is a comma",
	    S(CRC_COMMA_MSG "\r\n"), 1, {CRC_COMMA_MSG}, {sizeof(CRC_COMMA_MSG) - 1}, false},
	{"short trailer, CRC low byte is a digit after LEN",
	    S(CRC_DIGIT_MSG "\r\n"), 1, {CRC_DIGIT_MSG}, {sizeof(CRC_DIGIT_MSG) - 1}, false},
	{"two short messages glued without a line end",
	    S(CRC_LF_MSG CRC_COMMA_MSG), 2, {CRC_LF_MSG, CRC_COMMA_MSG},
	    {sizeof(CRC_LF_MSG) - 1, sizeof(CRC_COMMA_MSG) - 1}, false},
	{"extended trailer, LF CR line ends (stray CR starts the next line)",
	    S(EXT_MSG "\n\r" NOFIX_MSG "\n\r"), 2, {EXT_MSG, NOFIX_MSG},
	    {sizeof(EXT_MSG) - 1, sizeof(NOFIX_MSG) - 1}, false},
	{"CRLF inside the message after *hh",
	    S(SPLIT_MSG "\n\r"), 1, {SPLIT_MSG}, {sizeof(SPLIT_MSG) - 1}, false},
	{"basic frame, unterminated at the end of the stream",
	    S(BASIC_MSG), 1, {BASIC_MSG}, {sizeof(BASIC_MSG) - 1}, false},
	{"garbage line, then a message",
	    S("hello world\r\n" EXT_MSG "\n\r"), 1, {EXT_MSG}, {sizeof(EXT_MSG) - 1}, true},
	{"binary garbage glued before GPRMC",
	    S("\x01\x02zz" BASIC_MSG "\r\n"), 1, {BASIC_MSG}, {sizeof(BASIC_MSG) - 1}, true},
	{"LOG stored record",
	    S("LOG150202162307,," BASIC_MSG "\r\n"), 1, {"LOG150202162307,," BASIC_MSG},
	    {sizeof("LOG150202162307,," BASIC_MSG) - 1}, false},
	{"short message with a comma CRC byte glued to an extended one",
	    S(CRC_COMMA_MSG EXT_MSG "\n\r"), 2, {CRC_COMMA_MSG, EXT_MSG},
	    {sizeof(CRC_COMMA_MSG) - 1, sizeof(EXT_MSG) - 1}, false},
	{"GPRMC without a position, extended trailer",
	    S(RMC_NOFIX_MSG "\n\r"), 1, {RMC_NOFIX_MSG}, {sizeof(RMC_NOFIX_MSG) - 1}, false},
	{"binary serial bytes, no GPRMC: the whole message, no junk",
	    S(BIN_NOFIX_MSG "\n\r" EXT_MSG "\n\r"), 2, {BIN_NOFIX_MSG, EXT_MSG},
	    {sizeof(BIN_NOFIX_MSG) - 1, sizeof(EXT_MSG) - 1}, false},
	{"binary serial bytes before the phone and GPRMC: the whole message",
	    S(BIN_FIX_MSG "\n\r"), 1, {BIN_FIX_MSG}, {sizeof(BIN_FIX_MSG) - 1}, false},
	{"a gps103 heartbeat line is junk",
	    S("359587014718392;\r\n" EXT_MSG "\r\n"), 1, {EXT_MSG}, {sizeof(EXT_MSG) - 1}, true},
};

static void
test_scan_table(void **state)
{
	static struct tkt_frames g;
	(void)state;
	for (size_t t = 0; t < sizeof(scans) / sizeof(scans[0]); t++) {
		const struct scan_case *c = &scans[t];
		for (size_t k = 0; k <= c->inlen; k++) {
			feed((const uint8_t *)c->in, c->inlen, k, &g);
			if (g.n != c->nframes)
				fail_msg("%s (chunk %zu): %d frames, want %d", c->legend, k,
				    g.n, c->nframes);
			for (int i = 0; i < c->nframes; i++) {
				if (c->frame[i] == NULL)
					continue;
				if (g.len[i] != c->flen[i] ||
				    memcmp(g.f[i], c->frame[i], c->flen[i]) != 0)
					fail_msg("%s (chunk %zu): frame %d differs (%zu bytes, "
					    "want %zu)", c->legend, k, i, g.len[i], c->flen[i]);
			}
			if ((g.junk > 0) != c->junk)
				fail_msg("%s (chunk %zu): junk %zu", c->legend, k, g.junk);
		}
	}
}

/* The two "frame" rows of xexun.tsv: our frame is the whole message,
 * which contains Traccar's basic frame and ends where the message ends. */
static void
test_scan_traccar_frames(void **state)
{
	struct tkt_row *rows;
	size_t n = tkt_read_tsv(tkt_data("vectors/xexun.tsv"), &rows);
	int seen = 0;
	(void)state;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(rows[i].expectation, "frame") != 0)
			continue;
		const char *want = tkt_check(rows[i].checks, "expect");
		uint8_t exp[TKT_MSG_MAX];
		long el = tk_hex_decode(want, strlen(want), exp, sizeof(exp));
		assert_true(el > 0);
		struct tk_scan_out o;
		/* at the end of the stream the whole message is one frame */
		assert_int_equal(tk_scan(TK_D_XEXUN, rows[i].msg, rows[i].len, true, &o),
		    TK_SCAN_FRAME);
		assert_int_equal(o.skip, 0);
		size_t end = rows[i].len;
		while (end > 0 && (rows[i].msg[end - 1] == '\r' || rows[i].msg[end - 1] == '\n'))
			end--;
		assert_int_equal(o.len, end);
		assert_non_null(memmem(rows[i].msg, o.len, exp, (size_t)el));
		seen++;
	}
	free(rows);
	assert_int_equal(seen, 2);
}

static void
test_id_reply(void **state)
{
	char id[TK_ID_MAX];
	uint8_t out[TK_REPLY_MAX];
	(void)state;
	assert_int_equal(tk_frame_id(TK_D_XEXUN, (const uint8_t *)EXT_MSG,
	    sizeof(EXT_MSG) - 1, id, sizeof(id)), 15);
	assert_string_equal(id, "013949002026675");
	assert_int_equal(tk_frame_id(TK_D_XEXUN, (const uint8_t *)"GPRMC,", 6, id,
	    sizeof(id)), 0);
	assert_int_equal(tk_reply(TK_D_XEXUN, (const uint8_t *)EXT_MSG, sizeof(EXT_MSG) - 1,
	    out, sizeof(out)), 0);
}

/* ---- decoding ------------------------------------------------------ */

struct got {
	int		 n;
	struct tk_record r;
};

static int
keep_first(void *arg, struct tk_record *r)
{
	struct got *g = arg;
	if (g->n++ == 0)
		g->r = *r;
	return 0;
}

static int
decode(const char *m, size_t n, struct got *g, char *err, char *warn)
{
	struct tk_session s;
	static struct tk_record scratch;
	tk_session_init(&s, TK_D_XEXUN);
	g->n = 0;
	int rc = tk_decode(&s, (const uint8_t *)m, n, TK_TIME_NONE, &scratch, keep_first, g,
	    err, 200, warn, 200);
	if (rc > 0)
		assert_string_equal(s.id, g->r.id);
	tk_session_free(&s);
	return rc;
}

#define NONE	(-1)

struct dec_case {
	const char	*legend;
	const char	*in;
	size_t		 inlen;
	enum tk_rtype	 type;
	const char	*id;
	const char	*time;		/* NULL: no fix time */
	double		 lat, lon, speed, course;	/* course < 0: absent */
	int		 sat;		/* NONE: absent */
	double		 power;		/* < 0: absent */
	int		 crc;		/* crcValid: NONE, 0, 1 */
	int		 cks;		/* checksumValid: NONE, 0, 1 */
	int		 ncell;
	const char	*alarm;
	const char	*event;		/* NULL: absent */
	bool		 warn;		/* a warning is expected */
};

static const struct dec_case decs[] = {
	{"basic frame (Traccar's cut), southern hemisphere, NMEA checksum ok",
	    S(BASIC_MSG), TK_R_POSITION, "351525010943661", "2011-09-01T15:01:20.000Z",
	    -33.774105, 150.955138, 0.0, 117.4, NONE, -1, NONE, 1, 0, "", NULL, false},
	{"short trailer, binary CRC with an LF byte verifies",
	    S(CRC_LF_MSG), TK_R_POSITION, "359587014718392", "2015-10-12T20:59:35.000Z",
	    51.67391667, 5.01781, 2.10, 0.0, NONE, -1, 1, 1, 0, "", NULL, false},
	{"short trailer, CRC starting with a digit glued to LEN verifies",
	    S(CRC_DIGIT_MSG), TK_R_POSITION, "359587014718392", "2015-10-12T20:59:35.000Z",
	    51.67391667, 5.01781, 0.13, 0.0, NONE, -1, 1, 1, 0, "", NULL, false},
	{"short trailer, a corrupted CRC byte: crcValid false, a warning",
	    S("151012145900,+31652454927,GPRMC,205935.000,A,5140.4350,N,00501.0686,E,"
	    "2.10,0.00,121015,00,0000.0,A*73,F,,imei:359587014718392,126\x0a\x81"),
	    TK_R_POSITION, "359587014718392", "2015-10-12T20:59:35.000Z",
	    51.67391667, 5.01781, 2.10, 0.0, NONE, -1, 0, 1, 0, "", NULL, true},
	{"extended trailer: sats, altitude, power, decimal CRC, cell",
	    S(EXT_MSG), TK_R_POSITION, "013949002026675", "2015-06-15T10:37:31.636Z",
	    45.758777, 4.813765, 21.12, 276.01, 4, 3.72, 1, 1, 1, "", NULL, false},
	{"CRLF after *hh, edited CRC 2689 fails (warning), keyword empty",
	    S(SPLIT_MSG), TK_R_POSITION, "359853000144328", "2011-11-11T12:00:09.590Z",
	    46.66129, 14.309562, 0.0, 0.0, 4, 4.15, 0, 1, 1, "", NULL, true},
	{"no fix: an event with the cell tower",
	    S(NOFIX_MSG), TK_R_EVENT, "012207005047292", NULL,
	    0, 0, 0, -1, NONE, 4.28, 1, NONE, 1, "", NULL, false},
	{"GPRMC without a position: an event with power, ADC and the cell",
	    S(RMC_NOFIX_MSG), TK_R_EVENT, "865328028306149", NULL,
	    0, 0, 0, -1, NONE, 4.10, 1, 1, 1, "", NULL, false},
	{"binary serial, no GPRMC: an event, the CRC over the binary bytes verifies",
	    S(BIN_NOFIX_MSG), TK_R_EVENT, "865328028306149", NULL,
	    0, 0, 0, -1, NONE, 4.10, 1, NONE, 1, "", NULL, false},
	{"binary serial before GPRMC: the position, the CRC verifies",
	    S(BIN_FIX_MSG), TK_R_POSITION, "865328028306149", "2015-02-24T09:33:41.000Z",
	    13.742860, 100.561080, 0, 0, 5, 4.01, 1, 1, 1, "", NULL, false},
	{"help me! keyword: sos, raw keyword kept, NMEA checksum wrong (edited)",
	    S("111111120009,+436763737552,GPRMC,120600.000,A,6000.0000,N,13000.0000,E,"
	    "0.00,0.00,010112,,,A*68,F,help me!, imei:123456789012345,"),
	    TK_R_POSITION, "123456789012345", "2012-01-01T12:06:00.000Z",
	    60, 130, 0, 0, NONE, -1, NONE, 0, 0, "sos", "help me!", true},
	{"lenient keyword: stockade -> geofence",
	    S("GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,"
	    "stockade!, imei:351525010943661,"),
	    TK_R_POSITION, "351525010943661", "2011-09-01T15:01:20.000Z",
	    -33.774105, 150.955138, 0.0, 117.4, NONE, -1, NONE, 1, 0, "geofence",
	    "stockade!", false},
	{"decimal-degree quirk 10.2368,E read as minutes, with a warning",
	    S("GPRMC,150120.000,A,5323.4680,N,10.2368,E,0.0,117.4,010911,,,A*76,F,"
	    "imei:351525010943661,"),
	    TK_R_POSITION, "351525010943661", "2011-09-01T15:01:20.000Z",
	    53.3911333, 0.17061333, 0.0, 117.4, NONE, -1, NONE, 0, 0, "", NULL, true},
	{"empty longitude hemisphere and empty course",
	    S("GPRMC,220828.678,A,5206.1446,N,02038.2403,,0,,160912,,,E*23,L,"
	    "imei:358948012501019,"),
	    TK_R_POSITION, "358948012501019", "2012-09-16T22:08:28.678Z",
	    52.10241, 20.637338, 0, -1, NONE, -1, NONE, 0, 0, "", NULL, true},
};

static void
test_decode_table(void **state)
{
	static struct got g;
	char err[200], warn[200], t[32];
	(void)state;
	for (size_t i = 0; i < sizeof(decs) / sizeof(decs[0]); i++) {
		const struct dec_case *c = &decs[i];
		int rc = decode(c->in, c->inlen, &g, err, warn);
		if (rc != 1)
			fail_msg("%s: rc %d (%s)", c->legend, rc, err);
		const struct tk_record *r = &g.r;
		if (r->type != c->type)
			fail_msg("%s: type %s", c->legend, tk_rtype_name(r->type));
		assert_string_equal(r->id, c->id);
		if (c->time) {
			tk_fmt_time(t, r->fix_time);
			if (strcmp(t, c->time) != 0)
				fail_msg("%s: time %s", c->legend, t);
			if (!r->has_pos || fabs(r->lat - c->lat) > 1e-6 ||
			    fabs(r->lon - c->lon) > 1e-6)
				fail_msg("%s: lat/lon %.7f %.7f", c->legend, r->lat, r->lon);
			if (!r->has_speed || fabs(r->speed - c->speed) > 1e-9)
				fail_msg("%s: speed %g", c->legend, r->speed);
			if (c->course < 0 ? r->has_course :
			    (!r->has_course || fabs(r->course - c->course) > 1e-9))
				fail_msg("%s: course %g", c->legend, r->course);
		} else if (r->has_pos)
			fail_msg("%s: unexpected position", c->legend);
		const struct tk_attr *a = tk_rec_get(r, "sat");
		if (c->sat == NONE ? a != NULL : (a == NULL || a->v.i != c->sat))
			fail_msg("%s: sat", c->legend);
		a = tk_rec_get(r, "power");
		if (c->power < 0 ? a != NULL : (a == NULL || fabs(a->v.d - c->power) > 1e-9))
			fail_msg("%s: power", c->legend);
		a = tk_rec_get(r, "crcValid");
		if (c->crc == NONE ? a != NULL : (a == NULL || a->v.i != c->crc))
			fail_msg("%s: crcValid", c->legend);
		a = tk_rec_get(r, "checksumValid");
		if (c->cks == NONE ? a != NULL : (a == NULL || a->v.i != c->cks))
			fail_msg("%s: checksumValid", c->legend);
		if ((int)r->ncell != c->ncell)
			fail_msg("%s: %u cells", c->legend, r->ncell);
		assert_string_equal(r->alarm, c->alarm);
		a = tk_rec_get(r, "event");
		if (c->event == NULL ? a != NULL :
		    (a == NULL || a->len != strlen(c->event) ||
		    memcmp(r->sbuf + a->v.off, c->event, a->len) != 0))
			fail_msg("%s: event", c->legend);
		if ((warn[0] != '\0') != c->warn)
			fail_msg("%s: warning \"%s\"", c->legend, warn);
	}
	/* GPRMC without a position: the ADC inputs and the cell, exactly */
	assert_int_equal(decode(S(RMC_NOFIX_MSG), &g, err, warn), 1);
	const struct tk_attr *adc = tk_rec_get(&g.r, "adc1");
	assert_non_null(adc);
	assert_true(fabs(adc->v.d - 0.66) < 1e-9);
	assert_non_null(tk_rec_get(&g.r, "adc2"));
	assert_int_equal(g.r.cell[0].mcc, 520);
	assert_int_equal(g.r.cell[0].lac, 0x5DE8);
	assert_int_equal(g.r.cell[0].cid, 0x0399);
	assert_false(g.r.valid);
	/* the no-fix cell, exactly */
	assert_int_equal(decode(S(NOFIX_MSG), &g, err, warn), 1);
	assert_int_equal(g.r.cell[0].mcc, 247);
	assert_int_equal(g.r.cell[0].mnc, 1);
	assert_int_equal(g.r.cell[0].lac, 0x000E);
	assert_int_equal(g.r.cell[0].cid, 0x1FC5);
}

/* Hostile input: a reject with a reason, never a crash or an overread. */
static void
test_decode_hostile(void **state)
{
	static const struct {
		const char	*legend;
		const char	*in;
		size_t		 n;
		const char	*why;	/* substring of the reason */
	} bad[] = {
		{"no imei", S("GPRMC,150120.000,A,3346.4463,S"), "imei"},
		{"empty imei", S("GPRMC,1,A*00,F,imei:,"), "IMEI"},
		{"GPRMC without *", S("GPRMC,150120.000,A,3346.4463,S,imei:1,"), "checksum"},
		{"too few fields", S("GPRMC,150120.000,A*00,F,imei:1,"), "fields"},
		{"bad validity", S("GPRMC,150120.000,X,3346.4463,S,15057.3083,E,0,0,010911,,,A*00,"
		    "F,imei:1,"), "validity"},
		{"bad latitude", S("GPRMC,150120.000,A,33x6.4463,S,15057.3083,E,0,0,010911,,,A*00,"
		    "F,imei:1,"), "latitude"},
		{"bad date", S("GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0,0,320911,,,A*00,"
		    "F,imei:1,"), "date"},
		{"truncated in the middle", S("151012145900,+3165,GPRMC,2059"), "imei"},
		{"empty", "", 0, "imei"},
	};
	static struct got g;
	char err[200], warn[200];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = decode(bad[i].in, bad[i].n, &g, err, warn);
		if (rc != -1 || strstr(err, bad[i].why) == NULL)
			fail_msg("%s: rc %d, \"%s\"", bad[i].legend, rc, err);
	}
	/* every prefix of a real message: no crash; a result or a reason */
	const char *m = SPLIT_MSG;
	for (size_t k = 0; k <= strlen(m); k++) {
		int rc = decode(m, k, &g, err, warn);
		assert_true(rc == 1 || (rc == -1 && err[0] != '\0'));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_scan_traccar_frames),
		cmocka_unit_test(test_id_reply),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_hostile),
	};
	return cmocka_run_group_tests_name("xexun", tests, NULL, NULL);
}
