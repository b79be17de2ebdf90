/* test_geofence.c: tk_geofence (events with buffer and dwell, assignment,
 * the state file) and tk_jscan (the fast record scan). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_fence.h"
#include "tk_geofence.h"
#include "tk_jscan.h"

/* Two fences: "sq" lon 0..1 lat 0..1 and "far" lon 10..11 lat 0..1. */
static const char fences[] =
    "sq\tPOLYGON ((0 0, 0 1, 1 1, 1 0, 0 0))\n"
    "far\tPOLYGON ((10 0, 11 0, 11 1, 10 1, 10 0))\n";

struct evlog {
	char	 s[1024];
};

static int
ev(void *arg, uint32_t fence, bool enter)
{
	struct evlog *l = arg;
	size_t n = strlen(l->s);
	snprintf(l->s + n, sizeof(l->s) - n, "%s%u ", enter ? "+" : "-", fence);
	return 0;
}

static void
setup_fs(struct tk_fenceset *fs)
{
	char err[256];
	tk_fenceset_init(fs);
	assert_int_equal(tk_fenceset_load_mem(fs, "t.wkt", fences, strlen(fences), NULL,
	    NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(tk_fenceset_build(fs, err, sizeof(err)), 0);
}

/* Feed a track: lon,lat,t(seconds) triples. */
static void
track(struct tk_gf *g, const struct tk_fenceset *fs, const char *dev,
    const double (*p)[3], size_t n, struct evlog *l)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t in[4];
		size_t k = tk_fenceset_query(fs, p[i][0], p[i][1], in, 4);
		k = tk_gf_allowed(g, dev, strlen(dev), in, k);
		int rc = tk_gf_update(g, dev, strlen(dev), p[i][0], p[i][1],
		    (int64_t)(p[i][2] * 1000), in, k, ev, l);
		assert_true(rc == TK_GF_OK || rc == TK_GF_OLD);
	}
}

static void
test_crossings(void **state)
{
	struct tk_fenceset fs;
	struct evlog l = {""};
	(void)state;
	setup_fs(&fs);
	struct tk_gf *g = tk_gf_new(&fs, NULL);
	static const double t[][3] = {
		{-1, 0.5, 0}, {0.5, 0.5, 1}, {0.6, 0.5, 2}, {2, 0.5, 3},
		{0.5, 0.5, 4}, {10.5, 0.5, 5}, {-1, -1, 6}, {0, 0.5, 7}};
	track(g, &fs, "d1", t, 8, &l);
	/* enter, exit, enter, exit+enter far, exit far, enter (on the edge) */
	assert_string_equal(l.s, "+0 -0 +0 -0 +1 -1 +0 ");
	tk_gf_free(g);
	tk_fenceset_free(&fs);
}

static void
test_parked_on_boundary(void **state)
{
	struct tk_fenceset fs;
	struct evlog l = {""};
	double d = 180 / M_PI / TK_EARTH_RADIUS;	/* degrees per metre */
	double t[40][3];
	(void)state;
	setup_fs(&fs);
	/* jitter of +-5 m around the edge lon = 1 (lat 0.5) */
	for (int i = 0; i < 40; i++) {
		t[i][0] = 1 + (i % 2 ? 5 : -5) * d / cos(0.5 * M_PI / 180);
		t[i][1] = 0.5;
		t[i][2] = i * 10;
	}
	struct tk_gf *g = tk_gf_new(&fs, NULL);
	track(g, &fs, "p", (const double (*)[3])t, 40, &l);
	assert_int_equal(strlen(l.s), 40 * 3);	/* a storm without hysteresis */
	tk_gf_free(g);

	/* --buffer 20: the first fix (5 m inside) is not enough, no events */
	struct tk_gf_opts o = {.buffer_m = 20};
	l.s[0] = '\0';
	g = tk_gf_new(&fs, &o);
	track(g, &fs, "p", (const double (*)[3])t, 40, &l);
	assert_string_equal(l.s, "");
	/* ... then driving 100 m in enters, and 100 m out exits */
	static const double in_out[][3] = {{0.999, 0.5, 500}, {1.001, 0.5, 510}};
	track(g, &fs, "p", in_out, 2, &l);
	assert_string_equal(l.s, "+0 -0 ");
	tk_gf_free(g);

	/* --dwell 60: a fix alternating every 10 s never stays long enough */
	struct tk_gf_opts o2 = {.dwell_ms = 60000};
	l.s[0] = '\0';
	g = tk_gf_new(&fs, &o2);
	track(g, &fs, "p", (const double (*)[3])t, 40, &l);
	assert_string_equal(l.s, "");
	static const double stay[][3] = {{0.5, 0.5, 1000}, {0.5, 0.5, 1030},
	    {0.5, 0.5, 1059}, {0.5, 0.5, 1060}, {2, 2, 1100}, {2, 2, 1200}};
	track(g, &fs, "p", stay, 6, &l);
	assert_string_equal(l.s, "+0 -0 ");
	tk_gf_free(g);
	tk_fenceset_free(&fs);
}

static void
test_state_roundtrip(void **state)
{
	struct tk_fenceset fs;
	struct evlog l = {""};
	char err[256];
	(void)state;
	setup_fs(&fs);
	struct tk_gf_opts o = {.dwell_ms = 60000};
	struct tk_gf *g = tk_gf_new(&fs, &o);
	static const double a[][3] = {{0.5, 0.5, 0}, {0.5, 0.5, 100}, {10.5, 0.5, 200}};
	track(g, &fs, "dev\t1", a, 3, &l);	/* in sq, crossing to far */
	assert_string_equal(l.s, "+0 ");
	char *text;
	size_t n;
	assert_int_equal(tk_gf_save(g, &text, &n), 0);
	assert_non_null(strstr(text, "tk-geofence-state 1\n"));
	assert_non_null(strstr(text, "device\tdev\\t1\t200000\n"));
	assert_non_null(strstr(text, "fence\tdev\\t1\tsq\tinside\t200000\n"));
	assert_non_null(strstr(text, "fence\tdev\\t1\tfar\toutside\t200000\n"));
	tk_gf_free(g);

	/* restored: no re-announcement, the pending crossing completes */
	g = tk_gf_new(&fs, &o);
	size_t dropped;
	assert_int_equal(tk_gf_load(g, "s", text, n, &dropped, err, sizeof(err)), 0);
	assert_int_equal(dropped, 0);
	l.s[0] = '\0';
	static const double b[][3] = {{10.5, 0.5, 150}, {10.5, 0.5, 260}, {10.5, 0.5, 300}};
	track(g, &fs, "dev\t1", b, 3, &l);	/* the first is older: ignored */
	assert_string_equal(l.s, "-0 +1 ");
	tk_gf_free(g);
	free(text);

	/* a fence gone from the set is dropped; garbage is refused */
	g = tk_gf_new(&fs, &o);
	const char *s2 = "tk-geofence-state 1\ndevice\tx\t-\nfence\tx\tgone\tinside\t-\n";
	assert_int_equal(tk_gf_load(g, "s", s2, strlen(s2), &dropped, err, sizeof(err)), 0);
	assert_int_equal(dropped, 1);
	const char *s3 = "tk-geofence-state 1\nfence\tx\tsq\tmaybe\t-\n";
	assert_int_equal(tk_gf_load(g, "s", s3, strlen(s3), &dropped, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "s:2: bad state line"));
	const char *s4 = "hello\n";
	assert_int_equal(tk_gf_load(g, "s", s4, strlen(s4), &dropped, err, sizeof(err)), -1);
	tk_gf_free(g);
	tk_fenceset_free(&fs);
}

static void
test_assign_silent(void **state)
{
	struct tk_fenceset fs;
	struct evlog l = {""};
	char err[256];
	(void)state;
	setup_fs(&fs);
	struct tk_gf *g = tk_gf_new(&fs, NULL);
	const char *a = "# who checks what\nvan1 far\n* sq\n";
	assert_int_equal(tk_gf_assign(g, "a", a, strlen(a), err, sizeof(err)), 0);
	static const double t[][3] = {{0.5, 0.5, 0}, {10.5, 0.5, 1}};
	track(g, &fs, "van1", t, 2, &l);
	assert_string_equal(l.s, "+1 ");
	l.s[0] = '\0';
	track(g, &fs, "other", t, 2, &l);
	assert_string_equal(l.s, "+0 -0 ");
	const char *bad = "van2 nowhere\n";
	assert_int_equal(tk_gf_assign(g, "a", bad, strlen(bad), err, sizeof(err)), -1);
	assert_string_equal(err, "a:1: no fence named 'nowhere'");
	tk_gf_free(g);

	struct tk_gf_opts o = {.silent_start = true};
	g = tk_gf_new(&fs, &o);
	l.s[0] = '\0';
	track(g, &fs, "v", t, 2, &l);	/* starts inside sq: no enter */
	assert_string_equal(l.s, "-0 +1 ");
	tk_gf_free(g);
	tk_fenceset_free(&fs);
}

static void
test_jscan(void **state)
{
	struct tk_jrec r;
	(void)state;
	const char *l = "{\"type\":\"position\",\"protocol\":\"gps103\",\"uniqueId\":\"359586015829802\","
	    "\"serverTime\":\"2026-11-24T08:01:05.123Z\",\"fixTime\":\"2008-08-31T06:29:27.294Z\","
	    "\"valid\":true,\"latitude\":22.573377,\"longitude\":-113.905462,\"speed\":0,"
	    "\"course\":12.5,\"attributes\":{\"alarm\":\"sos\",\"sat\":7,\"x\":[1,{\"y\":null}]}}";
	assert_int_equal(tk_jscan(l, strlen(l), &r), 0);
	assert_true(r.has_type && tk_span_eq(r.type, "position"));
	assert_true(r.has_id && tk_span_eq(r.id, "359586015829802"));
	assert_true(r.has_lat && r.lat == 22.573377);
	assert_true(r.has_lon && r.lon == -113.905462);
	assert_int_equal(r.valid, 1);
	assert_true(tk_span_eq(r.fix_time, "2008-08-31T06:29:27.294Z"));
	assert_int_equal(r.close, strlen(l) - 1);
	assert_false(r.empty);
	/* declined: the caller uses json-c */
	static const char *const decline[] = {
		"{\"uniqueId\":\"a\\u0062\"}",		/* escape in a wanted string */
		"{\"latitude\":1e1}",			/* exponent in a wanted number */
		"{\"lat\\u0069tude\":1}",		/* escaped key */
		"{\"a\":1,}",				/* syntax errors */
		"{\"a\":01}", "{\"a\":.5}", "{\"a\":tru}", "{\"a\":\"x\ty\"}",
		"[1,2]", "{\"a\":1} x", "", "{", "{\"a\" 1}", "{\"a\":\"\\q\"}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	for (size_t i = 0; i < sizeof(decline) / sizeof(decline[0]); i++)
		if (tk_jscan(decline[i], strlen(decline[i]), &r) != -1)
			fail_msg("accepted: %s", decline[i]);
	/* accepted oddities */
	assert_int_equal(tk_jscan(" {} ", 4, &r), 0);
	assert_true(r.empty && r.close == 2);
	const char *s = "{\"latitude\":\"12\",\"longitude\":-0.0,\"valid\":null,\"geofenceIds\":[]}";
	assert_int_equal(tk_jscan(s, strlen(s), &r), 0);
	assert_false(r.has_lat);
	assert_true(r.has_lon && r.lon == 0);
	assert_int_equal(r.valid, -1);
	assert_true(r.has_gids);
	/* numbers: the same double as strtod, on many random ones */
	uint64_t x = 12345;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		char buf[96], line[128];
		int dec = (int)(x % 16);
		snprintf(buf, sizeof(buf), "%.*f", dec, ((double)(x >> 11) / 9007199254740992.0 -
		    0.5) * (i % 2 ? 360 : 1e6));
		snprintf(line, sizeof(line), "{\"latitude\":%s}", buf);
		assert_int_equal(tk_jscan(line, strlen(line), &r), 0);
		if (r.lat != strtod(buf, NULL))
			fail_msg("%s: %.17g", buf, r.lat);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crossings),
		cmocka_unit_test(test_parked_on_boundary),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_assign_silent),
		cmocka_unit_test(test_jscan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
