/* test_track.c: tk_track (store, sort, outliers, trips and stops) on
 * hand-made tracks with known answers, and the tk_export writers on a
 * device name that needs escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_export.h"
#include "tk_fence.h"
#include "tk_track.h"

#define T0	1795420800000LL		/* 2026-11-23T00:00:00Z */
#define MIN	60000LL
#define DEG_M	(6371008.8 * M_PI / 180.0)	/* metres per degree of latitude */

static void
pt(struct tk_track *t, const char *id, int64_t ms, double lat, double lon, double kn)
{
	struct tk_tpoint p = {.t = ms, .lat = lat, .lon = lon, .speed = kn,
	    .course = NAN, .alt = NAN, .valid = true};
	assert_int_equal(tk_track_add_point(t, id, &p), TK_TADD_OK);
}

static void
test_haversine(void **state)
{
	(void)state;
	/* one degree of latitude on the mean sphere */
	assert_true(fabs(tk_haversine(0, 0, 1, 0) - DEG_M) < 0.01);
	/* along a parallel at 60 N a degree of longitude is about half */
	double d = tk_haversine(60, 0, 60, 1);
	assert_true(d > 55550 && d < 55660);
	assert_true(tk_haversine(52, 4, 52, 4) == 0);
	/* antipodes: half the circumference, no NaN */
	assert_true(fabs(tk_haversine(0, 0, 0, 180) - M_PI * 6371008.8) < 1);
}

/* A drive between two depots, given in reverse order. */
static void
test_drive_and_stops(void **state)
{
	struct tk_track t;
	(void)state;
	tk_track_init(&t, NULL);
	/* parked 08:00-08:10 at A, drives 08:11-08:29 north 0.01 deg a
	 * minute, parked 08:30-08:40 at B; added last first */
	for (int m = 40; m >= 30; m--)
		pt(&t, "v", T0 + (8 * 60 + m) * MIN, 52.20, 4, 0);
	for (int m = 29; m >= 11; m--)
		pt(&t, "v", T0 + (8 * 60 + m) * MIN, 52 + (m - 10) * 0.01, 4, 36);
	for (int m = 10; m >= 0; m--)
		pt(&t, "v", T0 + (8 * 60 + m) * MIN, 52.00, 4, 0);
	assert_int_equal(tk_track_finish(&t), 0);
	assert_int_equal(t.ndev, 1);
	const struct tk_tdev *d = t.dev[0];
	assert_int_equal(d->npt, 41);
	for (size_t i = 1; i < d->npt; i++)
		assert_true(d->pt[i - 1].t < d->pt[i].t);
	assert_int_equal(d->nstop, 2);
	assert_int_equal(d->ntrip, 1);
	assert_int_equal(d->stop[0].arrival, T0 + 480 * MIN);
	assert_int_equal(d->stop[0].departure, T0 + 490 * MIN);
	assert_int_equal(d->stop[0].duration_ms, 10 * MIN);
	assert_int_equal(d->stop[1].arrival, T0 + 510 * MIN);
	assert_true(fabs(d->stop[1].lat - 52.2) < 1e-9);
	const struct tk_trip *tr = &d->trip[0];
	assert_int_equal(d->pt[tr->first].t, T0 + 490 * MIN);
	assert_int_equal(d->pt[tr->last].t, T0 + 510 * MIN);
	assert_int_equal(tr->duration_ms, 20 * MIN);
	assert_true(fabs(tr->distance - 0.2 * DEG_M) < 1);
	assert_true(fabs(tr->avg_speed - 0.2 * DEG_M / 1200 / TK_KN_MS) < 0.01);
	/* reported 36 kn throughout; the fixes average a hair more (36.02),
	 * and the maximum is never below the average */
	assert_true(tr->avg_speed > 36);
	assert_true(tr->max_speed == tr->avg_speed);
	assert_int_equal(d->outliers, 0);
	assert_false(d->seg_start[1]);
	tk_track_free(&t);
}

/* A GPS jump mid-drive is dropped and counted; the trip distance does
 * not include it. */
static void
test_jump(void **state)
{
	struct tk_track t;
	(void)state;
	tk_track_init(&t, NULL);
	for (int m = 0; m <= 20; m++)
		pt(&t, "v", T0 + m * MIN, 52 + m * 0.01, 4, 36);
	pt(&t, "v", T0 + 10 * MIN + 30000, 53.5, 4, 36);	/* 150 km away */
	pt(&t, "v", T0 + 10 * MIN + 30000, 52.105, 4, 36);	/* same time: duplicate */
	assert_int_equal(tk_track_finish(&t), 0);
	const struct tk_tdev *d = t.dev[0];
	assert_int_equal(d->outliers, 1);
	assert_int_equal(d->duplicates, 1);
	assert_int_equal(d->npt, 21);
	assert_int_equal(d->nstop, 0);
	assert_int_equal(d->ntrip, 1);
	assert_true(fabs(d->trip[0].distance - 0.2 * DEG_M) < 1);
	tk_track_free(&t);

	/* with the filter off the jump stays, and the distance shows it */
	struct tk_track_opts o;
	tk_track_defaults(&o);
	o.max_speed = 0;
	tk_track_init(&t, &o);
	for (int m = 0; m <= 20; m++)
		pt(&t, "v", T0 + m * MIN, 52 + m * 0.01, 4, 36);
	pt(&t, "v", T0 + 10 * MIN + 30000, 53.5, 4, 36);
	assert_int_equal(tk_track_finish(&t), 0);
	assert_int_equal(t.dev[0]->outliers, 0);
	assert_true(t.dev[0]->trip[0].distance > 250000);
	tk_track_free(&t);
}

/* A reporting gap: a new segment; parked on both sides it is one stop;
 * moved across it, the trips on either side stay apart. */
static void
test_gap(void **state)
{
	struct tk_track t;
	(void)state;
	tk_track_init(&t, NULL);
	/* drive 0-10, park 10-15, no reports 15-95, then drive again 95-105 */
	for (int m = 0; m <= 10; m++)
		pt(&t, "v", T0 + m * MIN, 52 + m * 0.01, 4, 36);
	for (int m = 11; m <= 15; m++)
		pt(&t, "v", T0 + m * MIN, 52.10, 4, 0);
	for (int m = 95; m <= 105; m++)
		pt(&t, "v", T0 + m * MIN, 52.10 + (m - 95) * 0.01, 4, m == 95 ? 0 : 36);
	assert_int_equal(tk_track_finish(&t), 0);
	const struct tk_tdev *d = t.dev[0];
	assert_int_equal(d->npt, 27);
	assert_true(d->seg_start[0]);
	assert_true(d->seg_start[16]);		/* 95 minutes */
	size_t nseg = 0;
	for (size_t i = 0; i < d->npt; i++)
		nseg += d->seg_start[i];
	assert_int_equal(nseg, 2);
	assert_int_equal(d->nstop, 1);
	assert_int_equal(d->stop[0].arrival, T0 + 11 * MIN);
	assert_int_equal(d->stop[0].departure, T0 + 95 * MIN);
	assert_int_equal(d->ntrip, 2);
	assert_int_equal(d->pt[d->trip[0].last].t, T0 + 11 * MIN);
	assert_int_equal(d->pt[d->trip[1].first].t, T0 + 95 * MIN);
	tk_track_free(&t);

	/* moving on both sides of the gap: the gap itself is the stop */
	tk_track_init(&t, NULL);
	for (int m = 0; m <= 10; m++)
		pt(&t, "v", T0 + m * MIN, 52 + m * 0.01, 4, 36);
	for (int m = 100; m <= 110; m++)
		pt(&t, "v", T0 + m * MIN, 53 + (m - 100) * 0.01, 4, 36);
	assert_int_equal(tk_track_finish(&t), 0);
	d = t.dev[0];
	assert_int_equal(d->nstop, 1);
	assert_int_equal(d->stop[0].duration_ms, 90 * MIN);
	assert_int_equal(d->ntrip, 2);
	/* the distance across the gap belongs to no trip */
	assert_true(fabs(d->trip[0].distance - 0.1 * DEG_M) < 1);
	tk_track_free(&t);
}

/* Thresholds: a short halt is not a stop, a short hop is not a trip,
 * a slow creep under --stop-speed is stopped. */
static void
test_thresholds(void **state)
{
	struct tk_track t;
	(void)state;
	tk_track_init(&t, NULL);
	/* park 10 min, hop 200 m (2 fixes), park 10 min: one stop, no trip */
	for (int m = 0; m <= 10; m++)
		pt(&t, "v", T0 + m * MIN, 52, 4, 0);
	pt(&t, "v", T0 + 11 * MIN, 52.001, 4, 5);
	for (int m = 12; m <= 22; m++)
		pt(&t, "v", T0 + m * MIN, 52.002, 4, 0);
	/* a 2 minute halt at a light inside a 20 km drive: one trip */
	for (int m = 23; m <= 33; m++)
		pt(&t, "v", T0 + m * MIN, 52.002 + (m - 22) * 0.01, 4, 36);
	for (int m = 34; m <= 35; m++)
		pt(&t, "v", T0 + m * MIN, 52.112, 4, 0);
	for (int m = 36; m <= 45; m++)
		pt(&t, "v", T0 + m * MIN, 52.112 + (m - 35) * 0.01, 4, 36);
	assert_int_equal(tk_track_finish(&t), 0);
	const struct tk_tdev *d = t.dev[0];
	assert_int_equal(d->nstop, 1);
	assert_int_equal(d->stop[0].arrival, T0);
	assert_int_equal(d->stop[0].departure, T0 + 22 * MIN);
	assert_int_equal(d->ntrip, 1);
	assert_int_equal(d->pt[d->trip[0].first].t, T0 + 22 * MIN);
	assert_int_equal(d->pt[d->trip[0].last].t, T0 + 45 * MIN);
	tk_track_free(&t);

	/* --min-stop 60: the light becomes a stop and splits the trip */
	struct tk_track_opts o;
	tk_track_defaults(&o);
	o.min_stop_ms = 60000;
	o.stop_speed = 6;	/* the 5 kn hop counts as stopped too */
	tk_track_init(&t, &o);
	for (int m = 0; m <= 10; m++)
		pt(&t, "v", T0 + m * MIN, 52 + m * 0.01, 4, 36);
	for (int m = 11; m <= 12; m++)
		pt(&t, "v", T0 + m * MIN, 52.10, 4, 5);
	for (int m = 13; m <= 23; m++)
		pt(&t, "v", T0 + m * MIN, 52.10 + (m - 12) * 0.01, 4, 36);
	assert_int_equal(tk_track_finish(&t), 0);
	assert_int_equal(t.dev[0]->nstop, 1);
	assert_int_equal(t.dev[0]->ntrip, 2);
	tk_track_free(&t);
}

/* The memory bound: points beyond it are dropped and counted. */
static void
test_bound(void **state)
{
	struct tk_track t;
	struct tk_track_opts o;
	(void)state;
	tk_track_defaults(&o);
	o.max_points = 5;
	tk_track_init(&t, &o);
	struct tk_tpoint p = {.t = T0, .lat = 1, .lon = 1, .speed = 0, .course = NAN,
	    .alt = NAN, .valid = true};
	for (int i = 0; i < 8; i++) {
		p.t += 1000;
		enum tk_tadd r = tk_track_add_point(&t, i % 2 ? "a" : "b", &p);
		assert_int_equal(r, i < 5 ? TK_TADD_OK : TK_TADD_FULL);
	}
	assert_int_equal(t.over_points, 3);
	assert_int_equal(t.ndev, 2);
	assert_string_equal(t.dev[0]->id, "a");	/* sorted by id */
	assert_int_equal(tk_track_finish(&t), 0);
	tk_track_free(&t);
}

static char *
export(int (*w)(FILE *, const struct tk_track *, const struct tk_export_opts *, char *,
    size_t), const struct tk_track *t, const struct tk_export_opts *o)
{
	char *buf = NULL, e[200];
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_non_null(f);
	assert_int_equal(w(f, t, o, e, sizeof(e)), 0);
	fclose(f);
	return buf;
}

static void
test_export_escaping(void **state)
{
	struct tk_track t;
	struct tk_fenceset fs;
	char e[200];
	const char *fj = "{\"type\":\"FeatureCollection\",\"features\":["
	    "{\"type\":\"Feature\",\"properties\":{\"name\":\"yard <A&B>\"},"
	    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[4,52],[4.01,52],"
	    "[4.01,52.01],[4,52]]]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"name\":\"ring\",\"radius\":300},"
	    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[4.02,52.02]}}]}";
	(void)state;
	/* the fences come through the one reader (tk_fence.h) */
	tk_fenceset_init(&fs);
	assert_int_equal(tk_fenceset_load_mem(&fs, "f.geojson", fj, strlen(fj), NULL,
	    NULL, NULL, e, sizeof(e)), 0);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fs.f[0].name, "yard <A&B>");
	assert_int_equal(fs.f[0].nedges, 3);
	assert_true(fs.f[1].kind == TK_FENCE_CIRCLE && fs.f[1].radius == 300);

	tk_track_init(&t, NULL);
	for (int m = 0; m <= 10; m++)
		pt(&t, "<a&b>\"", T0 + m * MIN, 52 + m * 0.01, 4, 36);
	struct tk_tevent ev = {.t = T0, .lat = 52, .lon = 4, .kind = "alarm",
	    .label = "sos & <more>"};
	assert_int_equal(tk_track_add_event(&t, "<a&b>\"", &ev), TK_TADD_OK);
	assert_int_equal(tk_track_finish(&t), 0);
	struct tk_export_opts o = {"test", NULL, 0, 0};
	char *s = export(tk_export_gpx, &t, &o);
	assert_non_null(strstr(s, "<name>&lt;a&amp;b&gt;&quot;</name>"));
	assert_non_null(strstr(s, "<name>sos &amp; &lt;more&gt;</name>"));
	assert_null(strstr(s, "<a&b>"));
	free(s);
	s = export(tk_export_kml, &t, &o);
	assert_null(strstr(s, "<a&b>"));
	assert_non_null(strstr(s, "<gx:Track>"));
	free(s);
	o.fences = &fs;
	s = export(tk_export_svg, &t, &o);
	assert_non_null(strstr(s, "yard &lt;A&amp;B&gt;"));
	assert_non_null(strstr(s, "<circle"));
	assert_non_null(strstr(s, "fill-rule=\"evenodd\""));
	free(s);
	s = export(tk_export_geojson, &t, &o);
	assert_non_null(strstr(s, "\"uniqueId\":\"<a&b>\\\"\""));
	free(s);
	s = export(tk_export_csv, &t, &o);
	assert_non_null(strstr(s, "trip,\"<a&b>\"\"\","));
	free(s);
	tk_fenceset_free(&fs);
	tk_track_free(&t);
}

/* RFC 7946 3.1.9: trips cut at the antimeridian (legend per case). */
static void
test_export_antimeridian(void **state)
{
	static const struct {
		const char *legend;
		double lon[4];
		const char *geometry;
	} cases[] = {
		{"east over it: cut halfway between the fixes",
		    {179.98, 179.99, -179.99, -179.98},
		    "\"MultiLineString\",\"coordinates\":[[[179.98,-17],[179.99,-17.01],"
		    "[180,-17.015]],[[-180,-17.015],[-179.99,-17.02],[-179.98,-17.03]]]"},
		{"west over it",
		    {-179.98, -179.99, 179.99, 179.98},
		    "\"MultiLineString\",\"coordinates\":[[[-179.98,-17],[-179.99,-17.01],"
		    "[-180,-17.015]],[[180,-17.015],[179.99,-17.02],[179.98,-17.03]]]"},
		{"a fix on the line: each part keeps two positions",
		    {180, -179.99, -179.98, -179.97},
		    "\"MultiLineString\",\"coordinates\":[[[180,-17],[180,-17]],"
		    "[[-180,-17],[-179.99,-17.01],[-179.98,-17.02],[-179.97,-17.03]]]"},
		{"near it, not over it: a LineString",
		    {179.96, 179.97, 179.98, 179.99},
		    "\"LineString\",\"coordinates\":[[179.96,-17],"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tk_track t;
		struct tk_track_opts o;
		tk_track_defaults(&o);
		o.min_trip_m = 100;
		o.max_speed = 0;
		tk_track_init(&t, &o);
		for (int k = 0; k < 4; k++)
			pt(&t, "ship", T0 + k * MIN, -17 - 0.01 * k, cases[i].lon[k], 20);
		assert_int_equal(tk_track_finish(&t), 0);
		assert_int_equal(t.dev[0]->ntrip, 1);
		char *s = export(tk_export_geojson, &t, NULL);
		if (strstr(s, cases[i].geometry) == NULL)
			fail_msg("%s:\n%s", cases[i].legend, s);
		free(s);
		tk_track_free(&t);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haversine),
		cmocka_unit_test(test_drive_and_stops),
		cmocka_unit_test(test_jump),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_export_escaping),
		cmocka_unit_test(test_export_antimeridian),
	};
	return cmocka_run_group_tests_name("track", tests, NULL, NULL);
}
