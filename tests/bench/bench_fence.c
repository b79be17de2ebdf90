/*
 * bench_fence.c: the benchmark helper of scripts/bench-geofence (not a
 * test).  "gen DIR N" writes the fences and record files for the cases;
 * "contain DIR N" times the bare containment of our index against GEOS
 * prepared geometries (and a GEOS STRtree for the sets of many fences),
 * the two interleaved in the same process.
 *
 *   (a) one star polygon of 1,000 vertices, points in its bounding box
 *   (b) 10,000 small stars of 50 vertices (0.3-2 km across) in a 10 x 10
 *       degree box: few points hit one (about 4%)
 *   (c) 10,000 devices on random walks through (b)
 *   (d) the realistic set: 1,000 round fences (32 vertices) of radius
 *       0.5-3 km in a 200 x 200 km box, points uniform in the box (about
 *       24% hit a fence)
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <geos_c.h>

#include "tk_fence.h"

static uint64_t rng = 88172645463325252ull;

static double
urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);	/* cpu time: other load matters less */
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A star polygon as Traccar-order WKT (lat lon). */
static void
star(FILE *fp, const char *name, double cx, double cy, double r, int nv)
{
	double *ang = malloc((size_t)nv * sizeof(*ang));
	for (int i = 0; i < nv; i++)
		ang[i] = 2 * M_PI * (i + 0.1 + 0.8 * urand()) / nv;
	fprintf(fp, "%s\tPOLYGON ((", name);
	double fx = 0, fy = 0;
	for (int i = 0; i < nv; i++) {
		double rr = r * (0.4 + 0.6 * urand());
		double x = cx + rr * cos(ang[i]), y = cy + rr * sin(ang[i]);
		if (i == 0) {
			fx = x;
			fy = y;
		}
		fprintf(fp, "%.7f %.7f, ", y, x);
	}
	fprintf(fp, "%.7f %.7f))\n", fy, fx);
	free(ang);
}

static void
record(FILE *fp, long dev, long t, double lat, double lon)
{
	fprintf(fp, "{\"type\":\"position\",\"protocol\":\"gps103\",\"uniqueId\":\"3595860%08ld\","
	    "\"serverTime\":\"2026-11-24T08:01:05.123Z\",\"fixTime\":\"2026-11-24T%02ld:%02ld:%02ld.000Z\","
	    "\"valid\":true,\"latitude\":%.6f,\"longitude\":%.6f,\"speed\":0,\"course\":12.5,"
	    "\"attributes\":{\"alarm\":\"sos\",\"sat\":7}}\n", dev, (t / 3600) % 24,
	    (t / 60) % 60, t % 60, lat, lon);
}

static FILE *
openw(const char *dir, const char *f)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", dir, f);
	FILE *fp = fopen(p, "w");
	if (fp == NULL) {
		perror(p);
		exit(1);
	}
	return fp;
}

/* (d): the box and its fences */
#define D_LAT0	50.0
#define D_LON0	10.0
#define D_KM	200.0
#define KM_LAT	(1 / 111.32)			/* degrees of latitude per km */
#define KM_LON	(1 / (111.32 * cos(D_LAT0 * M_PI / 180)))

/* A round fence of radius r km (nv vertices) as Traccar-order WKT. */
static void
round_fence(FILE *fp, const char *name, double lat, double lon, double r, int nv)
{
	fprintf(fp, "%s\tPOLYGON ((", name);
	for (int i = 0; i <= nv; i++) {
		double a = 2 * M_PI * (i % nv) / nv;
		fprintf(fp, "%.7f %.7f%s", lat + r * KM_LAT * sin(a),
		    lon + r * KM_LON * cos(a), i < nv ? ", " : "))\n");
	}
}

static int
gen(const char *dir, long n)
{
	FILE *fp = openw(dir, "a.wkt");
	star(fp, "big", 10, 50, 0.1, 1000);
	fclose(fp);
	fp = openw(dir, "b.wkt");
	for (int i = 0; i < 10000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%05d", i);
		star(fp, name, 10 * urand(), 40 + 10 * urand(), 0.01 + 0.01 * urand(), 50);
	}
	fclose(fp);
	fp = openw(dir, "a.jsonl");
	for (long i = 0; i < n; i++)
		record(fp, i % 10000, i / 10000, 50 - 0.1 + 0.2 * urand(), 10 - 0.1 + 0.2 * urand());
	fclose(fp);
	fp = openw(dir, "b.jsonl");
	for (long i = 0; i < n; i++)
		record(fp, i % 10000, i / 10000, 40 + 10 * urand(), 10 * urand());
	fclose(fp);
	/* 10,000 devices on random walks through the fences of (b) */
	double *x = malloc(10000 * sizeof(double)), *y = malloc(10000 * sizeof(double));
	for (int d = 0; d < 10000; d++) {
		x[d] = 10 * urand();
		y[d] = 40 + 10 * urand();
	}
	fp = openw(dir, "c.jsonl");
	for (long i = 0; i < n; i++) {
		int d = (int)(i % 10000);
		x[d] = fmin(10, fmax(0, x[d] + 0.004 * (urand() - 0.5)));
		y[d] = fmin(50, fmax(40, y[d] + 0.004 * (urand() - 0.5)));
		record(fp, d, i / 10000, y[d], x[d]);
	}
	fclose(fp);
	free(x);
	free(y);
	/* (d) the realistic set */
	fp = openw(dir, "d.wkt");
	for (int i = 0; i < 1000; i++) {
		char name[32];
		snprintf(name, sizeof(name), "site%04d", i);
		round_fence(fp, name, D_LAT0 + D_KM * KM_LAT * urand(),
		    D_LON0 + D_KM * KM_LON * urand(), 0.5 + 2.5 * urand(), 32);
	}
	fclose(fp);
	fp = openw(dir, "d.jsonl");
	for (long i = 0; i < n; i++)
		record(fp, i % 10000, i / 10000, D_LAT0 + D_KM * KM_LAT * urand(),
		    D_LON0 + D_KM * KM_LON * urand());
	fclose(fp);
	return 0;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

struct qarg {
	GEOSContextHandle_t h;
	const GEOSPreparedGeometry **prep;
	const GEOSGeometry *pt;
	long hits;
};

static void
strtree_cb(void *item, void *arg)
{
	struct qarg *q = arg;
	size_t i = (size_t)(uintptr_t)item;
	if (GEOSPreparedIntersects_r(q->h, q->prep[i], q->pt))
		q->hits++;
}

#define RUNS	5

static int
contain(const char *dir, const char *which, long npts)
{
	char path[4096], e[512];
	struct tk_fenceset fs;
	struct tk_fence_opts fo = {.wkt_latlon = true};	/* the files are Traccar-order WKT */
	snprintf(path, sizeof(path), "%s/%s.wkt", dir, which);
	tk_fenceset_init(&fs);
	if (tk_fenceset_load_file(&fs, path, &fo, NULL, NULL, e, sizeof(e)) != 0 ||
	    tk_fenceset_build(&fs, e, sizeof(e)) != 0) {
		fprintf(stderr, "%s\n", e);
		return 1;
	}
	bool big = strcmp(which, "a") == 0, real = strcmp(which, "d") == 0;
	double *px = malloc((size_t)npts * sizeof(double)), *py = malloc((size_t)npts * sizeof(double));
	for (long i = 0; i < npts; i++) {
		if (real) {
			px[i] = D_LON0 + D_KM * KM_LON * urand();
			py[i] = D_LAT0 + D_KM * KM_LAT * urand();
		} else {
			px[i] = big ? 10 - 0.1 + 0.2 * urand() : 10 * urand();
			py[i] = big ? 50 - 0.1 + 0.2 * urand() : 40 + 10 * urand();
		}
	}
	uint32_t out[64];
	double t_ours[RUNS], t_geos[RUNS], t_geos_pt[RUNS];
	long hits_ours = 0, hits_geos = 0;
	/* GEOS: the same fences, from the same flat edges, as polygons */
	GEOSContextHandle_t h = GEOS_init_r();
	GEOSGeometry **geoms = calloc(fs.n, sizeof(*geoms));
	const GEOSPreparedGeometry **prep = calloc(fs.n, sizeof(*prep));
	GEOSWKTReader *rd = GEOSWKTReader_create_r(h);
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	size_t k = 0;
	while (getline(&line, &cap, fp) > 0 && k < fs.n) {
		char *tab = strchr(line, '\t');
		GEOSGeometry *g = GEOSWKTReader_read_r(h, rd, tab + 1);
		/* WKT is lat lon: swap to x = lon */
		const GEOSGeometry *ring = GEOSGetExteriorRing_r(h, g);
		const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(h, ring);
		unsigned int n;
		GEOSCoordSeq_getSize_r(h, cs, &n);
		GEOSCoordSequence *ns = GEOSCoordSeq_create_r(h, n, 2);
		for (unsigned int i = 0; i < n; i++) {
			double x, y;
			GEOSCoordSeq_getXY_r(h, cs, i, &x, &y);
			GEOSCoordSeq_setXY_r(h, ns, i, y, x);
		}
		GEOSGeom_destroy_r(h, g);
		geoms[k] = GEOSGeom_createPolygon_r(h, GEOSGeom_createLinearRing_r(h, ns), NULL, 0);
		prep[k] = GEOSPrepare_r(h, geoms[k]);
		k++;
	}
	free(line);
	fclose(fp);
	GEOSSTRtree *tree = NULL;
	if (!big) {
		tree = GEOSSTRtree_create_r(h, 10);
		for (size_t i = 0; i < k; i++)
			GEOSSTRtree_insert_r(h, tree, geoms[i], (void *)(uintptr_t)i);
		GEOSSTRtree_query_r(h, tree, geoms[0], strtree_cb, &(struct qarg){h, prep, geoms[0], 0});
	}
	GEOSGeometry **pts = malloc((size_t)npts * sizeof(*pts));
	for (long i = 0; i < npts; i++)
		pts[i] = GEOSGeom_createPointFromXY_r(h, px[i], py[i]);
	double ratio[RUNS], ratio_pt[RUNS];
	for (int r = 0; r < RUNS; r++) {
		/* interleaved, so that a change of machine load hits both */
		double t0 = now();
		long hh = 0;
		for (long i = 0; i < npts; i++)
			hh += (long)tk_fenceset_query(&fs, px[i], py[i], out, 64);
		t_ours[r] = now() - t0;
		hits_ours = hh;
		struct qarg q = {h, prep, NULL, 0};
		t0 = now();
		for (long i = 0; i < npts; i++) {
			q.pt = pts[i];
			if (big)
				q.hits += GEOSPreparedIntersects_r(h, prep[0], pts[i]);
			else
				GEOSSTRtree_query_r(h, tree, pts[i], strtree_cb, &q);
		}
		t_geos[r] = now() - t0;
		hits_geos = q.hits;
		/* and with the point built per query, as a caller must */
		q.hits = 0;
		t0 = now();
		for (long i = 0; i < npts; i++) {
			GEOSGeometry *p = GEOSGeom_createPointFromXY_r(h, px[i], py[i]);
			q.pt = p;
			if (big)
				q.hits += GEOSPreparedIntersects_r(h, prep[0], p);
			else
				GEOSSTRtree_query_r(h, tree, p, strtree_cb, &q);
			GEOSGeom_destroy_r(h, p);
		}
		t_geos_pt[r] = now() - t0;
		ratio[r] = t_geos[r] / t_ours[r];
		ratio_pt[r] = t_geos_pt[r] / t_ours[r];
	}
	long inside = 0;	/* points in at least one fence (untimed) */
	for (long i = 0; i < npts; i++)
		inside += tk_fenceset_query(&fs, px[i], py[i], out, 64) > 0;
	double mo = median(t_ours, RUNS), mg = median(t_geos, RUNS), mp = median(t_geos_pt, RUNS);
	printf("contain %s (cpu time, median of %d): ours %.2f M points/s; GEOS prepared%s %.2f M/s (points pre-built), "
	    "%.2f M/s (point built per query); median ratio %.1fx (%.1fx); hits %ld vs %ld%s; %.1f%% of points in a fence\n",
	    which, RUNS, npts / mo / 1e6, big ? "" : " + STRtree", npts / mg / 1e6,
	    npts / mp / 1e6, median(ratio, RUNS), median(ratio_pt, RUNS), hits_ours, hits_geos,
	    hits_ours == hits_geos ? " (agree)" : " (DISAGREE)", 100.0 * (double)inside / (double)npts);
	for (long i = 0; i < npts; i++)
		GEOSGeom_destroy_r(h, pts[i]);
	free(pts);
	if (tree)
		GEOSSTRtree_destroy_r(h, tree);
	for (size_t i = 0; i < k; i++) {
		GEOSPreparedGeom_destroy_r(h, prep[i]);
		GEOSGeom_destroy_r(h, geoms[i]);
	}
	free(prep);
	free(geoms);
	GEOSWKTReader_destroy_r(h, rd);
	GEOS_finish_r(h);
	free(px);
	free(py);
	tk_fenceset_free(&fs);
	return hits_ours == hits_geos ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], atol(argv[3]));
	if (argc == 4 && strcmp(argv[1], "contain") == 0)
		return contain(argv[2], "a", atol(argv[3])) | contain(argv[2], "b", atol(argv[3])) |
		    contain(argv[2], "d", atol(argv[3]));
	fprintf(stderr, "usage: bench_fence gen DIR N | contain DIR N\n");
	return 2;
}
