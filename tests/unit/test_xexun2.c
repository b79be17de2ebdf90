/*
 * test_xexun2.c: the xexun2 dialect (docs/protocol/xexun2.md): FA AF framing
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
#include <math.h>

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

/* Feed through the framer in chunks of k (0: all at once). */
static void
feed(const uint8_t *s, size_t n, size_t k, struct tkt_frames *g)
{
	assert_int_equal(tkt_feed(TK_D_XEXUN2, s, n, k, g), 0);
	assert_int_equal(g->wrong, 0);
}

/* The worked example of docs/protocol/xexun2.md (one GPS float record). */
#define POS7 "FAAF0014000086220505123456700016F86F0100130065F0B2C200000002010A" \
	"c63daae045679dd0FAAF"
#define ESC "FAAF123456FBBF01123456FBBF02123456FAAF"
/* POS7 with the index FA AF, escaped: the flag inside must not end it */
#define ESCF "FAAF0014FBBF018622050512345670" \
	"0016F86F0100130065F0B2C200000002010Ac63daae045679dd0FAAF"

struct scan_case {
	const char	*legend;
	const char	*in;		/* hex */
	int		 nframes;
	const char	*frame[3];	/* hex, raw (escaped) */
	bool		 junk;
};

static const struct scan_case scans[] = {
	{"one position frame", POS7, 1, {POS7}, false},
	{"an escaped flag inside the frame does not end it", ESCF, 1, {ESCF}, false},
	{"two frames glued", POS7 ESCF, 2, {POS7, ESCF}, false},
	{"garbage before, between and after", "0102FA" POS7 "AFAF" ESCF "FA",
	    2, {POS7, ESCF}, true},
	{"truncated frame at the end: junk, not a frame", POS7 "FAAF0014", 1, {POS7}, true},
	{"a truncated frame, garbage, then frames: back in step at once",
	    "FAAF00140000" "0D0A01" POS7 "0D0A" ESCF, 2, {POS7, ESCF}, true},
	{"a body too short for the header is junk (Traccar's synthetic row)",
	    ESC POS7, 1, {POS7}, true},
	{"a declared length that disagrees: junk up to the next flag",
	    "FAAF0014000086220505123456700017F86F0100130065F0B2C200000002010A"
	    "c63daae045679dd0FAAF" POS7, 1, {POS7}, true},
};

static void
test_scan_table(void **state)
{
	static struct tkt_frames g;
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

/* ---- decoding ------------------------------------------------------ */

#define MAXR 8

struct got {
	int		 n;
	struct tk_record r[MAXR];
};

static int
collect(void *arg, struct tk_record *r)
{
	struct got *g = arg;
	if (g->n < MAXR)
		g->r[g->n] = *r;
	g->n++;
	return 0;
}

static int
decode_hex(const char *h, struct got *g, char *err, char *warn)
{
	static uint8_t f[4096];
	static struct tk_record scratch;
	struct tk_session s;
	long n = tk_hex_decode(h, strlen(h), f, sizeof(f));
	assert_true(n >= 0);
	tk_session_init(&s, TK_D_XEXUN2);
	g->n = 0;
	int rc = tk_decode(&s, f, (size_t)n, TK_TIME_NONE, &scratch, collect, g,
	    err, 200, warn, 200);
	tk_session_free(&s);
	return rc;
}

#define NONE	(-1)

struct dec_case {
	const char	*legend;
	const char	*hex;
	int		 nrec;
	enum tk_rtype	 type;		/* of the first record */
	const char	*time;
	double		 lat, lon;	/* NAN: no position */
	int		 sat;
	double		 speed_kmh;	/* < 0: absent */
	int		 battery, charge, cks, ncell, nwifi;
	const char	*alarm;
	bool		 warn;
};

/* A position record with motion (bit5) and the GPS float block, alarm sos,
 * battery 80 % charging; built by hand, checksum correct. */
#define MOTION "FAAF001400018622050512345670001EF68A" \
	"01001B" "0065F0B2C2008050" "03" "00000001" "21" \
	"0A" "C63DAAE0" "45679DD0" "0064" "0384" "FAAF"

static const struct dec_case decs[] = {
	{"worked example 5.3: GPS float, S/W signs kept",
	    "FAAF0014000086220505123456700016F86F0100130065F0B2C200000002010A"
	    "c63daae045679dd0FAAF", 1, TK_R_POSITION, "2024-03-12T19:53:38.000Z",
	    37.09772, -121.64531, 10, -1, 0, 0, 1, 0, 0, "", false},
	{"extended 'G' block: double coordinates, altitude, valid flag",
	    "FAAF0014000C8622050512345670002DF3A001002A0062D9047400005E0280001E47001B"
	    "400D4BA732DF505E40B4153AAF78FEF00109000000000042B36666FAAF",
	    1, TK_R_POSITION, "2022-07-21T07:47:00.000Z", 51.68715, 0.06103, 9, 0,
	    94, 0, 1, 0, 0, "", false},
	{"WiFi and a cell, no GPS: an event",
	    "faaf00140a5a8618810536243350005ed8e101005b64622880401b001482060864cc2296"
	    "f840daa22aa884f008c87483c291efddc4f09fc2f49db3c058ef68005a9abe1ae8299d64"
	    "49bac4e984e0c1d6baa8469d265ff2b60100cc00080000fb2e0013572a36000000020000"
	    "00000000faaf", 1, TK_R_EVENT, "2022-03-09T10:24:00.000Z", NAN, NAN, NONE,
	    -1, 20, 0, 1, 1, 8, "", false},
	{"three records in one frame",
	    "FAAF00140004863921033475388000AFB7D203003800380038F9608A7B801E0060820205"
	    "788A205DF523D97844FDB90443D37844FDB90465CFB4FBF946B0E8CEF639095803F8CC00"
	    "000002350000004000FA608A7BA81E0060820205788A205DF523D97844FDB90443D2F639"
	    "095803F8CFB4FBF946B0E8CE7844FDB90465CD00000002350000004000FB608A7BD01E00"
	    "60820205788A205DF523D97844FDB90443D2F639095803F8CFB4FBF946B0E8CE7844FDB9"
	    "0465CD00000002350000004000FAAF", 3, TK_R_EVENT, NULL, NAN, NAN, NONE, -1,
	    NONE, NONE, 1, 0, 5, "", false},
	{"motion block: speed 10.0 km/h, course 90.0, sos, charging 80 %",
	    MOTION, 1, TK_R_POSITION, "2024-03-12T19:53:38.000Z", 37.09772, -121.64531,
	    10, 10.0, 80, 1, 1, 0, 0, "sos", false},
	{"checksum mismatch: decoded, checksumValid false, a warning",
	    "FAAF0014000086220505123456700016F86E0100130065F0B2C200000002010A"
	    "c63daae045679dd0FAAF", 1, TK_R_POSITION, "2024-03-12T19:53:38.000Z",
	    37.09772, -121.64531, 10, -1, 0, 0, 0, 0, 0, "", true},
};

static void
test_decode_table(void **state)
{
	static struct got g;
	char err[200], warn[200], t[32];
	(void)state;
	for (size_t i = 0; i < sizeof(decs) / sizeof(decs[0]); i++) {
		const struct dec_case *c = &decs[i];
		int rc = decode_hex(c->hex, &g, err, warn);
		if (rc != c->nrec || g.n != c->nrec)
			fail_msg("%s: rc %d (%s)", c->legend, rc, err);
		const struct tk_record *r = &g.r[0];
		if (r->type != c->type)
			fail_msg("%s: type %s", c->legend, tk_rtype_name(r->type));
		if (c->time) {
			tk_fmt_time(t, r->fix_time);
			if (strcmp(t, c->time) != 0)
				fail_msg("%s: time %s", c->legend, t);
		}
		if (isnan(c->lat) ? r->has_pos : (!r->has_pos || !r->valid ||
		    fabs(r->lat - c->lat) > 1e-5 || fabs(r->lon - c->lon) > 1e-5))
			fail_msg("%s: position %.6f %.6f", c->legend, r->lat, r->lon);
		const struct tk_attr *a = tk_rec_get(r, "sat");
		if (c->sat == NONE ? a != NULL : (a == NULL || a->v.i != c->sat))
			fail_msg("%s: sat", c->legend);
		if (c->speed_kmh < 0 ? r->has_speed : (!r->has_speed ||
		    fabs(r->speed - c->speed_kmh * TK_KMH_TO_KN) > 1e-9))
			fail_msg("%s: speed %g", c->legend, r->speed);
		if (c->battery != NONE) {
			a = tk_rec_get(r, "batteryLevel");
			if (a == NULL || a->v.i != c->battery)
				fail_msg("%s: batteryLevel", c->legend);
			a = tk_rec_get(r, "charge");
			if (a == NULL || a->v.i != c->charge)
				fail_msg("%s: charge", c->legend);
		}
		a = tk_rec_get(r, "checksumValid");
		if (a == NULL || a->v.i != c->cks)
			fail_msg("%s: checksumValid", c->legend);
		if ((int)r->ncell != c->ncell || (int)r->nwifi != c->nwifi)
			fail_msg("%s: %u cells %u wifi", c->legend, r->ncell, r->nwifi);
		assert_string_equal(r->alarm, c->alarm);
		assert_int_equal(strlen(r->id), 15);	/* the packed IMEI */
		if ((warn[0] != '\0') != c->warn)
			fail_msg("%s: warning \"%s\"", c->legend, warn);
	}
}

/* Hostile frames: a reject with a reason, never a crash or an overread. */
static void
test_decode_hostile(void **state)
{
	static const struct {
		const char	*legend;
		const char	*hex;
		const char	*why;
	} bad[] = {
		{"shorter than a header", "FAAF0014FAAF", "too short"},
		{"no closing flag", "FAAF0014000086220505123456700016F86F0100130065F0B2C2000000"
		    "02010Ac63daae045679dd0", "flags"},
		{"length field larger than the frame", "FAAF0014000086220505123456700017F86F01"
		    "00130065F0B2C200000002010Ac63daae045679dd0FAAF", "length"},
		{"escape cut short at the end (copied as is)",
		    "FAAF00140000862205051234567000020000FBBFFAAF", "count"},
		{"count larger than the payload", "FAAF001400008622050512345670000200F5"
		    "0900FAAF", "count"},
		{"record length past the payload", "FAAF001400008622050512345670000300F4"
		    "010009FAAF", "past"},
		{"record shorter than its header", "FAAF001400008622050512345670000400F4"
		    "01000101FAAF", "header"},
		{"empty", "", "too short"},
	};
	static struct got g;
	char err[200], warn[200];
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = decode_hex(bad[i].hex, &g, err, warn);
		if (rc != -1 || strstr(err, bad[i].why) == NULL)
			fail_msg("%s: rc %d, \"%s\"", bad[i].legend, rc, err);
	}
	/* every truncation of a real frame (re-terminated): no crash */
	static const char pos[] = "FAAF0014000C8622050512345670002DF3A001002A0062D90474"
	    "00005E0280001E47001B400D4BA732DF505E40B4153AAF78FEF00109000000000042B36666";
	char h[sizeof(pos) + 8];
	for (size_t k = 0; k + 4 <= sizeof(pos) - 1; k += 2) {
		memcpy(h, pos, k);
		memcpy(h + k, "FAAF", 5);
		int rc = decode_hex(h, &g, err, warn);
		assert_true(rc >= 0 || err[0] != '\0');
	}
	/* block lengths that lie inside a record of honest length: warn, no overread */
	int rc = decode_hex("FAAF0014000086220505123456700011FF5C"
	    "01000E00" "65F0B2C20000000002" "07" "FF0000FAAF", &g, err, warn);
	assert_true(rc == 1 || rc == -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_table),
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_reply_id),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_hostile),
	};
	return cmocka_run_group_tests_name("xexun2", tests, NULL, NULL);
}
