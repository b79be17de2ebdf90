/* test_fence.c: tk_fence: our containment against GEOS on random
 * polygons (concave, with holes, multipart), exact edge and vertex
 * semantics, circles, corridors, the antimeridian, GeoJSON and WKT input,
 * and invalid fences with their reasons. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <geos_c.h>

#include "tk_fence.h"
#include "tk_track.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double
urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

struct sb {
	char	 p[1 << 18];
	size_t	 n;
};

static void sbf(struct sb *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sbf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(b->p + b->n, sizeof(b->p) - b->n, fmt, ap);
	va_end(ap);
	assert_true(r > 0 && (size_t)r < sizeof(b->p) - b->n);
	b->n += (size_t)r;
}

/* A ring of a star around (cx, cy), radii in [r0, r1], in x y order. */
static void
star_ring(struct sb *b, double cx, double cy, double r0, double r1, int nv, bool cw,
    bool integer)
{
	double fx = 0, fy = 0;
	sbf(b, "(");
	for (int k = 0; k < nv; k++) {
		int i = cw ? nv - 1 - k : k;
		double a = 2 * M_PI * (i + 0.1 + 0.8 * urand()) / nv;
		double r = r0 + (r1 - r0) * urand();
		double x = cx + r * cos(a), y = cy + r * sin(a);
		if (integer) {
			x = round(x);
			y = round(y);
		}
		if (k == 0) {
			fx = x;
			fy = y;
		}
		sbf(b, "%.17g %.17g, ", x, y);
	}
	sbf(b, "%.17g %.17g)", fx, fy);
}

/* A random area: 1-3 parts, each a concave star with 0-3 holes. */
static void
random_area(struct sb *b, bool integer, double scale)
{
	int parts = 1 + (int)(urand() * 3);
	sbf(b, "MULTIPOLYGON (");
	for (int p = 0; p < parts; p++) {
		double cx = p * 3 * scale, cy = (urand() - 0.5) * scale;
		sbf(b, p ? ", (" : "(");
		star_ring(b, cx, cy, 0.6 * scale, scale, 5 + (int)(urand() * 60), false, integer);
		int holes = integer ? 0 : (int)(urand() * 4);
		for (int h = 0; h < holes; h++) {
			/* holes inside the inner radius, apart from each other */
			double a = 2 * M_PI * h / 4, d = 0.3 * scale;
			sbf(b, ", ");
			star_ring(b, cx + d * cos(a), cy + d * sin(a), 0.05 * scale,
			    0.12 * scale, 3 + (int)(urand() * 10), true, false);
		}
		sbf(b, ")");
	}
	sbf(b, ")");
}

static int
load_wkt(struct tk_fenceset *fs, const char *name, const char *wkt, bool lonlat,
    char *err, size_t errlen)
{
	char line[1 << 16];
	struct tk_fence_opts o = {.wkt_latlon = !lonlat};
	int k = snprintf(line, sizeof(line), "%s\t%s\n", name, wkt);
	assert_true(k > 0 && (size_t)k < sizeof(line));
	int rc = tk_fenceset_load_mem(fs, "test.wkt", line, strlen(line), &o, NULL, NULL,
	    err, errlen);
	if (rc == 0)
		rc = tk_fenceset_build(fs, err, errlen);
	return rc;
}

static void
test_random_vs_geos(void **state)
{
	(void)state;
	GEOSContextHandle_t h = GEOS_init_r();
	GEOSWKTReader *rd = GEOSWKTReader_create_r(h);
	long compared = 0, boundary = 0, inside = 0;
	for (int poly = 0; poly < 300; poly++) {
		struct sb b = {.n = 0};
		double scale = urand() < 0.5 ? 0.01 : 1;
		random_area(&b, false, scale);
		GEOSGeometry *g = GEOSWKTReader_read_r(h, rd, b.p);
		assert_non_null(g);
		if (GEOSisValid_r(h, g) != 1) {
			GEOSGeom_destroy_r(h, g);
			continue;	/* a rare self-touching star: not our test */
		}
		const GEOSPreparedGeometry *pg = GEOSPrepare_r(h, g);
		struct tk_fenceset fs;
		char err[512];
		tk_fenceset_init(&fs);
		assert_int_equal(load_wkt(&fs, "p", b.p, true, err, sizeof(err)), 0);
		double x0, x1, y0, y1;
		GEOSGeom_getXMin_r(h, g, &x0);
		GEOSGeom_getXMax_r(h, g, &x1);
		GEOSGeom_getYMin_r(h, g, &y0);
		GEOSGeom_getYMax_r(h, g, &y1);
		for (int i = 0; i < 3000; i++) {
			double x = x0 - 0.1 * (x1 - x0) + 1.2 * (x1 - x0) * urand();
			double y = y0 - 0.1 * (y1 - y0) + 1.2 * (y1 - y0) * urand();
			if (i % 10 == 0) {
				/* some points on the grid of vertex coordinates */
				x = round(x / scale) * scale;
				y = round(y / scale) * scale;
			}
			GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, x, y);
			char gin = GEOSPreparedContains_r(h, pg, pt);
			char gon = GEOSPreparedIntersects_r(h, pg, pt);
			GEOSGeom_destroy_r(h, pt);
			uint32_t out[4];
			bool ours = tk_fenceset_query(&fs, x, y, out, 4) > 0;
			if (gin != gon) {
				boundary++;
				continue;	/* on the boundary: GEOS decides differently by design */
			}
			if (ours != (gin == 1))
				fail_msg("polygon %d point (%.17g %.17g): ours %d GEOS %d\n%s",
				    poly, x, y, ours, gin, b.p);
			compared++;
			inside += ours;
		}
		tk_fenceset_free(&fs);
		GEOSPreparedGeom_destroy_r(h, pg);
		GEOSGeom_destroy_r(h, g);
	}
	assert_true(compared > 500000);
	assert_true(inside > 50000 && inside < compared - 50000);
	print_message("compared %ld points (%ld inside), %ld on a boundary skipped\n",
	    compared, inside, boundary);
	GEOSWKTReader_destroy_r(h, rd);
	GEOS_finish_r(h);
}

/* On an integer grid everything is exact: a closed fence is GEOS's
 * intersects (covers) for every point, on the boundary too. */
static void
test_grid_exact_vs_geos(void **state)
{
	(void)state;
	GEOSContextHandle_t h = GEOS_init_r();
	GEOSWKTReader *rd = GEOSWKTReader_create_r(h);
	int used = 0;
	long onb = 0;
	for (int poly = 0; poly < 200; poly++) {
		struct sb b = {.n = 0};
		random_area(&b, true, 12);
		GEOSGeometry *g = GEOSWKTReader_read_r(h, rd, b.p);
		assert_non_null(g);
		if (GEOSisValid_r(h, g) != 1) {
			GEOSGeom_destroy_r(h, g);
			continue;
		}
		used++;
		const GEOSPreparedGeometry *pg = GEOSPrepare_r(h, g);
		struct tk_fenceset fs;
		char err[512];
		tk_fenceset_init(&fs);
		assert_int_equal(load_wkt(&fs, "p", b.p, true, err, sizeof(err)), 0);
		for (double x = -14; x <= 50; x += 0.5)
			for (double y = -20; y <= 20; y += 0.5) {
				GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(h, x, y);
				char gon = GEOSPreparedIntersects_r(h, pg, pt);
				onb += gon != GEOSPreparedContains_r(h, pg, pt);
				GEOSGeom_destroy_r(h, pt);
				uint32_t out[4];
				bool ours = tk_fenceset_query(&fs, x, y, out, 4) > 0;
				if (ours != (gon == 1))
					fail_msg("grid polygon %d point (%g %g): ours %d GEOS %d\n%s",
					    poly, x, y, ours, gon, b.p);
			}
		tk_fenceset_free(&fs);
		GEOSPreparedGeom_destroy_r(h, pg);
		GEOSGeom_destroy_r(h, g);
	}
	assert_true(used > 50);
	assert_true(onb > 1000);	/* boundary points were really tested */
	GEOSWKTReader_destroy_r(h, rd);
	GEOS_finish_r(h);
}

static bool
in(const struct tk_fenceset *fs, double lon, double lat)
{
	uint32_t out[8];
	return tk_fenceset_query(fs, lon, lat, out, 8) > 0;
}

static void
test_edges_vertices(void **state)
{
	struct tk_fenceset fs;
	char err[256];
	(void)state;
	tk_fenceset_init(&fs);
	/* lat lon order (Traccar): lat 0..10, lon 0..10, a hole 4..6 */
	assert_int_equal(load_wkt(&fs, "sq", "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), "
	    "(4 4, 6 4, 6 6, 4 6, 4 4))", false, err, sizeof(err)), 0);
	assert_true(in(&fs, 0, 0));		/* vertex */
	assert_true(in(&fs, 10, 10));		/* vertex */
	assert_true(in(&fs, 5, 0));		/* bottom edge */
	assert_true(in(&fs, 10, 3));		/* right edge */
	assert_true(in(&fs, 0, 7.25));		/* left edge */
	assert_true(in(&fs, 4, 5));		/* hole's edge: the boundary is in */
	assert_true(in(&fs, 6, 6));		/* hole's vertex */
	assert_false(in(&fs, 5, 5));		/* inside the hole */
	assert_false(in(&fs, -1e-9, 5));
	assert_false(in(&fs, 5, 10 + 1e-9));
	assert_true(in(&fs, 1e-9, 5));
	assert_true(in(&fs, 2, 2));
	tk_fenceset_free(&fs);
}

static void
test_circle(void **state)
{
	struct tk_fenceset fs;
	char err[256];
	(void)state;
	tk_fenceset_init(&fs);
	assert_int_equal(load_wkt(&fs, "c", "CIRCLE (10 20, 1000)", false, err, sizeof(err)), 0);
	double d = 180 / M_PI / TK_EARTH_RADIUS;	/* degrees per metre of latitude */
	assert_true(in(&fs, 20, 10 + 999 * d));
	assert_false(in(&fs, 20, 10 + 1001 * d));
	assert_true(in(&fs, 20 + 999 * d / cos(10 * M_PI / 180), 10));
	assert_false(in(&fs, 20 + 1001 * d / cos(10 * M_PI / 180), 10));
	assert_true(fabs(tk_haversine(10, 20, 10 + 1000 * d, 20) - 1000) < 1e-6);
	assert_true(fabs(tk_fence_boundary_dist(&fs.f[0], 20, 10 + 900 * d) - 100) < 1e-3);
	tk_fenceset_free(&fs);
	/* a bad circle names the fence */
	tk_fenceset_init(&fs);
	assert_int_equal(load_wkt(&fs, "c2", "CIRCLE (10 20 1000)", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "c2"));
	assert_non_null(strstr(err, "CIRCLE"));
	assert_int_equal(load_wkt(&fs, "c3", "CIRCLE (95 20, 1000)", false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	tk_fenceset_free(&fs);
}

static void
test_corridor(void **state)
{
	struct tk_fenceset fs;
	char err[256];
	double d = 180 / M_PI / TK_EARTH_RADIUS;
	(void)state;
	tk_fenceset_init(&fs);
	/* lat 12, lon 20..22, 2000 m wide: 1000 m each side (OGC lon lat) */
	const char *t = "route\tLINESTRING (20 12, 22 12)\t2000\n";
	assert_int_equal(tk_fenceset_load_mem(&fs, "r.wkt", t, strlen(t), NULL, NULL, NULL,
	    err, sizeof(err)), 0);
	assert_int_equal(tk_fenceset_build(&fs, err, sizeof(err)), 0);
	assert_true(in(&fs, 21, 12 + 990 * d));
	assert_true(in(&fs, 21, 12 - 990 * d));
	assert_false(in(&fs, 21, 12 + 1010 * d));
	assert_true(in(&fs, 20 - 500 * d / cos(12 * M_PI / 180), 12));	/* round cap */
	assert_false(in(&fs, 22 + 1100 * d / cos(12 * M_PI / 180), 12));
	tk_fenceset_free(&fs);
	/* without a width: an error naming the fence */
	tk_fenceset_init(&fs);
	t = "route\tLINESTRING (20 12, 22 12)\n";
	assert_int_equal(tk_fenceset_load_mem(&fs, "r.wkt", t, strlen(t), NULL, NULL, NULL,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'route'"));
	assert_non_null(strstr(err, "width"));
	/* --width supplies it */
	struct tk_fence_opts o = {.width = 500};
	assert_int_equal(tk_fenceset_load_mem(&fs, "r.wkt", t, strlen(t), &o, NULL, NULL,
	    err, sizeof(err)), 0);
	tk_fenceset_free(&fs);
}

static void
test_antimeridian(void **state)
{
	struct tk_fenceset fs;
	char err[256];
	(void)state;
	tk_fenceset_init(&fs);
	/* longitudes continuing past 180 */
	assert_int_equal(load_wkt(&fs, "dl", "POLYGON ((170 -10, 190 -10, 190 10, 170 10, "
	    "170 -10))", true, err, sizeof(err)), 0);
	assert_true(in(&fs, 175, 0));
	assert_true(in(&fs, 180, 0));
	assert_true(in(&fs, -180, 0));
	assert_true(in(&fs, -175, 0));
	assert_true(in(&fs, -170, 0));		/* = 190: the edge */
	assert_false(in(&fs, -169, 0));
	assert_false(in(&fs, 169, 0));
	tk_fenceset_free(&fs);
	/* RFC 7946: split in two at the antimeridian */
	tk_fenceset_init(&fs);
	assert_int_equal(load_wkt(&fs, "fj", "MULTIPOLYGON (((177 -20, 180 -20, 180 -15, "
	    "177 -15, 177 -20)), ((-180 -20, -178 -20, -178 -15, -180 -15, -180 -20)))",
	    true, err, sizeof(err)), 0);
	assert_true(in(&fs, 179, -17));
	assert_true(in(&fs, -179, -17));
	assert_true(in(&fs, 180, -17));
	assert_true(in(&fs, -180, -17));
	assert_false(in(&fs, -177, -17));
	tk_fenceset_free(&fs);
	/* a circle over it */
	tk_fenceset_init(&fs);
	assert_int_equal(load_wkt(&fs, "c", "CIRCLE (0 179.99, 5000)", false, err, sizeof(err)), 0);
	assert_true(in(&fs, -179.99, 0));
	assert_false(in(&fs, -179.9, 0));
	tk_fenceset_free(&fs);
}

static char warned[512];

static void
warn_cb(void *arg, const char *m)
{
	(void)arg;
	snprintf(warned, sizeof(warned), "%s", m);
}

static void
test_invalid(void **state)
{
	static const struct {
		const char *legend, *wkt, *reason;
	} cases[] = {
		{"bow tie", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "Self-intersection"},
		{"hole outside", "POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0), (5 5, 6 5, 6 6, 5 5))",
		    "Hole lies outside shell"},
		{"too few points", "POLYGON ((0 0, 1 0, 0 0))", "point"},
		{"not an area", "POINT (1 2)", "unsupported"},
		{"garbage", "POLYGON ((0 0, 1 x))", "bad WKT"},
	};
	char err[512];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tk_fenceset fs;
		char text[256];
		tk_fenceset_init(&fs);
		snprintf(text, sizeof(text), "# comment\nf%zu\t%s\n", i, cases[i].wkt);
		assert_int_equal(tk_fenceset_load_mem(&fs, "bad.wkt", text, strlen(text),
		    NULL, NULL, NULL, err, sizeof(err)), -1);
		char name[16];
		snprintf(name, sizeof(name), "'f%zu'", i);
		if (strstr(err, "bad.wkt:2") == NULL || strstr(err, name) == NULL ||
		    strcasestr(err, cases[i].reason) == NULL)
			fail_msg("%s: %s", cases[i].legend, err);
		tk_fenceset_free(&fs);
	}
	/* the repair option: GEOSMakeValid, with a warning */
	struct tk_fenceset fs;
	struct tk_fence_opts o = {.repair = true};
	const char *t = "bow\tPOLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))\n";
	tk_fenceset_init(&fs);
	warned[0] = '\0';
	assert_int_equal(tk_fenceset_load_mem(&fs, "bad.wkt", t, strlen(t), &o, warn_cb,
	    NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(warned, "Self-intersection"));
	assert_non_null(strstr(warned, "repaired"));
	assert_int_equal(tk_fenceset_build(&fs, err, sizeof(err)), 0);
	assert_true(in(&fs, 0.25, 0.5));	/* the left triangle */
	assert_true(in(&fs, 0.75, 0.5));	/* the right one */
	assert_false(in(&fs, 0.5, 0.25));
	tk_fenceset_free(&fs);
	/* no tab: the expected format */
	tk_fenceset_init(&fs);
	t = "POLYGON ((0 0, 1 0, 1 1, 0 0))\n";
	assert_int_equal(tk_fenceset_load_mem(&fs, "x.wkt", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "x.wkt:1: expected NAME<TAB>WKT"));
	tk_fenceset_free(&fs);
}

static void
test_geojson(void **state)
{
	const char *t =
	    "{\"type\":\"FeatureCollection\",\"features\":["
	    "{\"type\":\"Feature\",\"id\":7,\"properties\":{\"name\":\"Depot\",\"colour\":\"red\"},"
	    " \"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[2,0],[2,2],[0,2],[0,0]]]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"name\":\"Yard\",\"radius\":500},"
	    " \"geometry\":{\"type\":\"Point\",\"coordinates\":[10,10]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"name\":\"Road\",\"width\":100},"
	    " \"geometry\":{\"type\":\"LineString\",\"coordinates\":[[20,0],[21,0]]}},"
	    "{\"type\":\"Feature\",\"properties\":null,"
	    " \"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[[[[30,0],[31,0],[31,1],[30,0]]]]}}"
	    "]}";
	struct tk_fenceset fs;
	char err[512];
	(void)state;
	tk_fenceset_init(&fs);
	assert_int_equal(tk_fenceset_load_mem(&fs, "z.geojson", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(tk_fenceset_build(&fs, err, sizeof(err)), 0);
	assert_int_equal(fs.n, 4);
	assert_string_equal(fs.f[0].id, "7");
	assert_string_equal(fs.f[0].name, "Depot");
	assert_non_null(strstr(fs.f[0].props, "\"colour\":\"red\""));
	assert_int_equal(fs.f[1].kind, TK_FENCE_CIRCLE);
	assert_string_equal(fs.f[3].name, "z.geojson#4");
	assert_true(in(&fs, 1, 1));
	assert_true(in(&fs, 10.001, 10));
	assert_true(in(&fs, 20.5, 0.0004));
	assert_false(in(&fs, 20.5, 0.0005));
	assert_true(in(&fs, 30.5, 0.25));
	assert_int_equal(tk_fenceset_find(&fs, "Depot"), 0);
	assert_int_equal(tk_fenceset_find(&fs, "7"), 0);
	assert_int_equal(tk_fenceset_find(&fs, "Road"), 2);
	assert_int_equal(tk_fenceset_find(&fs, "nope"), -1);
	/* select by name */
	const char *names[] = {"Yard"};
	assert_int_equal(tk_fenceset_select(&fs, names, 1, err, sizeof(err)), 0);
	assert_int_equal(tk_fenceset_build(&fs, err, sizeof(err)), 0);
	assert_int_equal(fs.n, 1);
	assert_false(in(&fs, 1, 1));
	tk_fenceset_free(&fs);
	/* an invalid polygon in GeoJSON is named; bad JSON is located */
	tk_fenceset_init(&fs);
	t = "{\"type\":\"Feature\",\"properties\":{\"name\":\"Knot\"},\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}}";
	assert_int_equal(tk_fenceset_load_mem(&fs, "k.geojson", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "k.geojson: fence 'Knot': invalid Polygon: Self-intersection"));
	t = "{\"type\":\"Feature\",";
	assert_int_equal(tk_fenceset_load_mem(&fs, "j.geojson", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "j.geojson: not valid JSON"));
	/* a malformed position is refused before GEOS 3.11 (which crashes on it) */
	t = "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[],[0,0]]]}";
	assert_int_equal(tk_fenceset_load_mem(&fs, "e.geojson", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad Polygon coordinates"));
	t = "{\"type\":\"GeometryCollection\",\"geometries\":[]}";
	assert_int_equal(tk_fenceset_load_mem(&fs, "e.geojson", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an area"));
	/* duplicate ids */
	t = "a\tCIRCLE (0 0, 10)\na\tCIRCLE (1 1, 10)\n";
	assert_int_equal(tk_fenceset_load_mem(&fs, "d.wkt", t, strlen(t), NULL, NULL,
	    NULL, err, sizeof(err)), 0);
	assert_int_equal(tk_fenceset_build(&fs, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "two fences with the id 'a'"));
	tk_fenceset_free(&fs);
}

/* Many fences: the index answers as a linear scan would. */
static void
test_index_vs_scan(void **state)
{
	struct sb *b = malloc(sizeof(*b));
	struct tk_fenceset fs;
	char err[256];
	(void)state;
	assert_non_null(b);
	b->n = 0;
	for (int i = 0; i < 300; i++) {
		double cx = -180 + 360 * urand(), cy = -80 + 160 * urand(), r = 5 * urand() + 0.1;
		if (i % 3 == 0)
			sbf(b, "c%d\tCIRCLE (%.6f %.6f, %.0f)\n", i, cx, cy, r * 50000);
		else {
			sbf(b, "p%d\tPOLYGON (", i);
			star_ring(b, cx, cy, r / 2, r, 12, false, false);
			sbf(b, ")\n");
		}
	}
	struct tk_fence_opts o = {.wkt_latlon = false};
	tk_fenceset_init(&fs);
	if (tk_fenceset_load_mem(&fs, "many.wkt", b->p, b->n, &o, NULL, NULL, err,
	    sizeof(err)) != 0 || tk_fenceset_build(&fs, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	long hits = 0;
	for (int i = 0; i < 100000; i++) {
		double x = -180 + 360 * urand(), y = -90 + 180 * urand();
		uint32_t out[64];
		size_t n = tk_fenceset_query(&fs, x, y, out, 64), k = 0;
		for (size_t f = 0; f < fs.n; f++) {
			double xs = x;
			bool c = tk_fence_contains(&fs.f[f], xs, y) ||
			    tk_fence_contains(&fs.f[f], xs + 360, y) ||
			    tk_fence_contains(&fs.f[f], xs - 360, y);
			if (c) {
				assert_true(k < n);
				assert_int_equal(out[k], f);
				k++;
			}
		}
		assert_int_equal(k, n);
		hits += (long)n;
	}
	assert_true(hits > 100);
	tk_fenceset_free(&fs);
	free(b);
}


/* Load text as file label with opts; build; the count of fences. */
static size_t
load_text(struct tk_fenceset *fs, const char *label, const char *t,
    const struct tk_fence_opts *o, char *err, size_t errlen)
{
	tk_fenceset_init(fs);
	warned[0] = '\0';
	if (tk_fenceset_load_mem(fs, label, t, strlen(t), o, warn_cb, NULL, err, errlen) != 0)
		fail_msg("%s: %s", label, err);
	if (tk_fenceset_build(fs, err, errlen) != 0)
		fail_msg("%s: %s", label, err);
	return fs->n;
}

/* The formats of one reader: GeoJSON with z and m and GDAL's "Name",
 * KML, Traccar's /api/geofences, WKT in either order, unclosed rings. */
static void
test_formats(void **state)
{
	struct tk_fenceset fs;
	char err[512];
	(void)state;
	/* GeoJSON as ogr2ogr makes it of Google Earth's KML: z, "Name", a pin */
	const char *gj = "{\"type\":\"FeatureCollection\",\"features\":["
	    "{\"type\":\"Feature\",\"properties\":{\"Name\":\"Depot\"},\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[[[20,10,0],[21,10,0],[21,11,0],"
	    "[20,11,0],[20,10,0]]]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"NAME\":\"M\"},\"geometry\":"
	    "{\"type\":\"Polygon\",\"coordinates\":[[[0,0,1,7],[1,0,1,7],[1,1,1,7],"
	    "[0,0,1,7]]]}},"
	    "{\"type\":\"Feature\",\"properties\":{\"Name\":\"Pin\"},\"geometry\":"
	    "{\"type\":\"Point\",\"coordinates\":[5,5,0]}}]}";
	assert_int_equal(load_text(&fs, "g.geojson", gj, NULL, err, sizeof(err)), 2);
	assert_string_equal(fs.f[0].name, "Depot");
	assert_string_equal(fs.f[0].id, "Depot");
	assert_string_equal(fs.f[1].name, "M");
	assert_non_null(strstr(warned, "'Pin'"));
	assert_non_null(strstr(warned, "skipped"));
	assert_true(in(&fs, 20.5, 10.5));
	assert_false(in(&fs, 10.5, 20.5));
	tk_fenceset_free(&fs);

	/* KML: holes, MultiGeometry, altitudes, a pin skipped, no ring closed */
	const char *kml = "<?xml version=\"1.0\"?>\n"
	    "<kml xmlns=\"http://www.opengis.net/kml/2.2\"><Document><Folder>\n"
	    "<Placemark id=\"x\"><name>\n  Depot\n</name><Polygon><outerBoundaryIs>"
	    "<LinearRing><coordinates>20,10,0 21,10,0 21,11,0 20,11,0 20,10,0"
	    "</coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs><LinearRing>"
	    "<coordinates>20.4,10.4 20.6,10.4 20.6,10.6 20.4,10.6</coordinates>"
	    "</LinearRing></innerBoundaryIs></Polygon></Placemark>\n"
	    "<Placemark><name>Two</name><MultiGeometry><Polygon><outerBoundaryIs>"
	    "<LinearRing><coordinates>0,0 1,0 1,1 0,1 0,0</coordinates></LinearRing>"
	    "</outerBoundaryIs></Polygon><Polygon><outerBoundaryIs><LinearRing>"
	    "<coordinates>2,0 3,0 3,1 2,1 2,0</coordinates></LinearRing>"
	    "</outerBoundaryIs></Polygon></MultiGeometry></Placemark>\n"
	    "<Placemark><name>Pin</name><Point><coordinates>5,5</coordinates></Point>"
	    "</Placemark></Folder></Document></kml>\n";
	assert_int_equal(load_text(&fs, "s.kml", kml, NULL, err, sizeof(err)), 2);
	assert_string_equal(fs.f[0].name, "Depot");
	assert_string_equal(fs.f[0].id, "Depot");
	assert_int_equal(fs.f[0].nholes, 1);
	assert_int_equal(fs.f[1].nparts, 2);
	assert_true(in(&fs, 20.2, 10.5));
	assert_false(in(&fs, 20.5, 10.5));	/* in the hole */
	assert_true(in(&fs, 2.5, 0.5));
	assert_non_null(strstr(warned, "1 placemark without a Polygon"));
	tk_fenceset_free(&fs);
	/* hostile KML: a DOCTYPE (entities), broken XML, bad coordinates */
	static const struct {
		const char *legend, *text, *reason;
	} bad[] = {
		{"DTD", "<?xml version=\"1.0\"?><!DOCTYPE kml [<!ENTITY a \"aaaa\">]>"
		    "<kml><Placemark><name>&a;</name></Placemark></kml>", "DOCTYPE"},
		{"not well-formed", "<kml><Placemark></kml>", "not well-formed"},
		{"not kml", "<gpx></gpx>", "not KML"},
		{"coordinates", "<kml><Placemark><name>p</name><Polygon><outerBoundaryIs>"
		    "<LinearRing><coordinates>1;2 3,4 5,6</coordinates></LinearRing>"
		    "</outerBoundaryIs></Polygon></Placemark></kml>", "bad KML coordinates"},
		{"zip", "PK\003\004zzzz", "KMZ"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tk_fenceset_init(&fs);
		assert_int_equal(tk_fenceset_load_mem(&fs, "b.kml", bad[i].text,
		    strlen(bad[i].text), NULL, NULL, NULL, err, sizeof(err)), -1);
		if (strstr(err, bad[i].reason) == NULL || strstr(err, "b.kml") == NULL)
			fail_msg("%s: %s", bad[i].legend, err);
		assert_int_equal(fs.n, 0);
		tk_fenceset_free(&fs);
	}

	/* Traccar's /api/geofences: lat lon whatever the option, an unclosed
	 * polygon closed, a circle, a polyline with its polylineDistance */
	const char *tr = "[{\"id\":7,\"name\":\"Depot\",\"description\":\"d\","
	    "\"area\":\"POLYGON((10 20, 10 21, 11 21, 11 20))\",\"calendarId\":0,"
	    "\"attributes\":{}},"
	    "{\"id\":8,\"name\":\"Yard\",\"area\":\"CIRCLE (52 4, 500)\"},"
	    "{\"id\":9,\"name\":\"Road\",\"area\":\"LINESTRING (30 40, 30 41)\","
	    "\"attributes\":{\"polylineDistance\":100}}]";
	struct tk_fence_opts lonlat = {0};
	assert_int_equal(load_text(&fs, "api.json", tr, &lonlat, err, sizeof(err)), 3);
	assert_string_equal(fs.f[0].id, "7");
	assert_string_equal(fs.f[0].name, "Depot");
	assert_null(strstr(fs.f[0].props, "area"));
	assert_non_null(strstr(fs.f[0].props, "\"description\":\"d\""));
	assert_true(in(&fs, 20.5, 10.5));
	assert_true(in(&fs, 4.001, 52.001));
	assert_true(in(&fs, 40.5, 30 + 90.0 / 111195));
	assert_false(in(&fs, 40.5, 30 + 110.0 / 111195));
	tk_fenceset_free(&fs);

	/* WKT lines: OGC lon lat by default, lat lon with the option; the
	 * same unclosed Traccar polygon either way */
	const char *w = "depot\tPOLYGON ((20 10, 21 10, 21 11, 20 11))\n";
	assert_int_equal(load_text(&fs, "o.wkt", w, NULL, err, sizeof(err)), 1);
	assert_true(in(&fs, 20.5, 10.5));
	assert_false(in(&fs, 10.5, 20.5));
	tk_fenceset_free(&fs);
	struct tk_fence_opts latlon = {.wkt_latlon = true};
	assert_int_equal(load_text(&fs, "t.wkt", w, &latlon, err, sizeof(err)), 1);
	assert_true(in(&fs, 10.5, 20.5));
	assert_false(in(&fs, 20.5, 10.5));
	tk_fenceset_free(&fs);
	/* a latitude beyond 90 names the option that would fix it */
	w = "east\tPOLYGON ((35 139, 35 140, 36 140, 36 139, 35 139))\n";
	tk_fenceset_init(&fs);
	assert_int_equal(tk_fenceset_load_mem(&fs, "x.wkt", w, strlen(w), NULL, NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "swapped"));
	assert_non_null(strstr(err, "--wkt-order latlon"));
	tk_fenceset_free(&fs);

	/* looks swapped: Traccar-order Rotterdam read as lon lat lies in the
	 * Indian Ocean, far from positions in Rotterdam */
	w = "rdam\tPOLYGON ((51.9 4.4, 51.9 4.5, 52 4.5, 52 4.4, 51.9 4.4))\n";
	assert_int_equal(load_text(&fs, "r.wkt", w, NULL, err, sizeof(err)), 1);
	double km = tk_fence_swapped_km(&fs.f[0], 4.3, 51.8, 4.6, 52.1, 1000);
	assert_true(km > 4000 && km < 8000);
	/* a fence merely far away (not near when swapped) is not suspect */
	assert_true(tk_fence_swapped_km(&fs.f[0], -74, 40, -73, 41, 1000) < 0);
	/* nor one the positions come near */
	assert_true(tk_fence_swapped_km(&fs.f[0], 51, 4, 52, 5, 1000) < 0);
	/* no positions at all: nothing to say */
	assert_true(tk_fence_swapped_km(&fs.f[0], INFINITY, INFINITY, -INFINITY,
	    -INFINITY, 1000) < 0);
	tk_fenceset_free(&fs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_vs_geos),
		cmocka_unit_test(test_grid_exact_vs_geos),
		cmocka_unit_test(test_edges_vertices),
		cmocka_unit_test(test_circle),
		cmocka_unit_test(test_corridor),
		cmocka_unit_test(test_antimeridian),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_geojson),
		cmocka_unit_test(test_index_vs_scan),
		cmocka_unit_test(test_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
