/*
 * tk_fence.c: loading fences through GEOS and json-c, and the flat index
 * the queries run on (tk_fence.h).
 */
#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <geos_c.h>
#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "tk_fence.h"
#include "tk_util.h"
#include "tk_track.h"	/* tk_haversine */

#define FILE_MAX	(256u << 20)	/* bytes per fence file */
#define KML_MAX		(64u << 20)	/* bytes per KML file (a DOM costs ~10x) */
#define EDGES_MAX	(1u << 26)	/* edges per fence */
#define DEG		(M_PI / 180.0)

/* ---- small helpers ------------------------------------------------ */

/* min and max of finite values (checked at load) without libm's calls */
static inline double
lo(double a, double b)
{
	return a < b ? a : b;
}

static inline double
hi(double a, double b)
{
	return a < b ? b : a;
}


static void
copy_str(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

void
tk_fenceset_init(struct tk_fenceset *s)
{
	memset(s, 0, sizeof(*s));
}

static void
fence_free(struct tk_fence *f)
{
	free(f->props);
	free(f->edges);
	free(f->strip);
	free(f->sedges);
	f->props = NULL;
	f->edges = f->sedges = NULL;
	f->strip = NULL;
}

static void
index_free(struct tk_fenceset *s)
{
	free(s->goff);
	free(s->gent);
	free(s->byid);
	s->goff = s->byid = NULL;
	s->gent = NULL;
	s->ngent = 0;
	s->built = false;
}

void
tk_fenceset_free(struct tk_fenceset *s)
{
	for (size_t i = 0; i < s->n; i++)
		fence_free(&s->f[i]);
	free(s->f);
	index_free(s);
	memset(s, 0, sizeof(*s));
}

static struct tk_fence *
fence_new(struct tk_fenceset *s, char *err, size_t errlen)
{
	if (s->n >= TK_FENCE_MAX) {
		tk_errf(err, errlen, "more than %u fences", TK_FENCE_MAX);
		return NULL;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct tk_fence *nf = reallocarray(s->f, nc, sizeof(*nf));
		if (nf == NULL) {
			tk_errf(err, errlen, "out of memory");
			return NULL;
		}
		s->f = nf;
		s->cap = nc;
	}
	struct tk_fence *f = &s->f[s->n];
	memset(f, 0, sizeof(*f));
	return f;
}

/* ---- polygons: edges and strips ------------------------------------ */

static uint32_t
strip_of(const struct tk_fence *f, double y)
{
	double v = (y - f->sy0) * f->sinv;
	if (!(v > 0))
		return 0;
	if (v >= (double)f->nstrip)
		return f->nstrip - 1;
	return (uint32_t)v;
}

/* Strip k covers [lo, hi]; an edge "spans" it when it passes both ends
 * with a margin, so it crosses y = py for every py the strip can get. */
struct sgeom {
	double	 y0, h, eps;
};

static struct sgeom
strip_geom(const struct tk_fence *f)
{
	struct sgeom g = {f->miny, (f->maxy - f->miny) / f->nstrip,
	    1e-9 * (f->maxy - f->miny) + 1e-12 * fmax(1, fabs(f->maxy))};
	return g;
}

static inline bool
spans(const struct sgeom *g, const struct tk_edge *e, uint32_t k)
{
	double ylo = g->y0 + k * g->h - g->eps, yhi = g->y0 + (k + 1) * g->h + g->eps;
	return lo(e->y0, e->y1) < ylo && hi(e->y0, e->y1) > yhi;
}

static double sort_ym;

static int
cmp_xm(const void *a, const void *b)
{
	const struct tk_edge *p = a, *q = b;
	double xa = p->x0 + (sort_ym - p->y0) * (p->x1 - p->x0) / (p->y1 - p->y0);
	double xb = q->x0 + (sort_ym - q->y0) * (q->x1 - q->x0) / (q->y1 - q->y0);
	return xa < xb ? -1 : xa > xb;
}

static int
build_strips(struct tk_fence *f)
{
	uint32_t ns = f->nedges / 2;
	if (ns < 1)
		ns = 1;
	if (ns > 65536)
		ns = 65536;
	if (!(f->maxy > f->miny))
		ns = 1;
	for (;;) {
		f->nstrip = ns;
		f->sy0 = f->miny;
		f->sinv = f->maxy > f->miny ? ns / (f->maxy - f->miny) : 0;
		size_t total = 0;
		for (uint32_t i = 0; i < f->nedges; i++) {
			const struct tk_edge *e = &f->edges[i];
			uint32_t a = strip_of(f, lo(e->y0, e->y1));
			uint32_t b = strip_of(f, hi(e->y0, e->y1));
			total += b - a + 1;
		}
		if (total > 16 * (size_t)f->nedges + ns && ns > 1) {
			ns /= 2;
			continue;
		}
		struct sgeom sg = strip_geom(f);
		f->strip = calloc((size_t)ns + 1, sizeof(*f->strip));
		f->sedges = malloc((total ? total : 1) * sizeof(*f->sedges));
		if (f->strip == NULL || f->sedges == NULL)
			return -1;
		for (uint32_t i = 0; i < f->nedges; i++) {
			const struct tk_edge *e = &f->edges[i];
			uint32_t a = strip_of(f, lo(e->y0, e->y1));
			uint32_t b = strip_of(f, hi(e->y0, e->y1));
			for (uint32_t k = a; k <= b; k++) {
				f->strip[k + 1].off++;
				if (b - a >= 2 && spans(&sg, e, k))
					f->strip[k].nfull++;
			}
		}
		for (uint32_t k = 0; k < ns; k++)
			f->strip[k + 1].off += f->strip[k].off;
		uint32_t *fullp = malloc((size_t)ns * sizeof(*fullp));
		uint32_t *partp = malloc((size_t)ns * sizeof(*partp));
		if (fullp == NULL || partp == NULL) {
			free(fullp);
			free(partp);
			return -1;
		}
		for (uint32_t k = 0; k < ns; k++) {
			fullp[k] = f->strip[k].off;
			partp[k] = f->strip[k].off + f->strip[k].nfull;
		}
		for (uint32_t i = 0; i < f->nedges; i++) {
			const struct tk_edge *e = &f->edges[i];
			uint32_t a = strip_of(f, lo(e->y0, e->y1));
			uint32_t b = strip_of(f, hi(e->y0, e->y1));
			for (uint32_t k = a; k <= b; k++) {
				if (b - a >= 2 && spans(&sg, e, k))
					f->sedges[fullp[k]++] = *e;
				else
					f->sedges[partp[k]++] = *e;
			}
		}
		free(fullp);
		free(partp);
		/* spanning edges of a valid polygon do not cross inside the
		 * strip: order them left to right */
		for (uint32_t k = 0; k < ns; k++) {
			if (f->strip[k].nfull < 2)
				continue;
			sort_ym = sg.y0 + (k + 0.5) * sg.h;
			qsort(f->sedges + f->strip[k].off, f->strip[k].nfull, sizeof(*f->sedges), cmp_xm);
		}
		return 0;
	}
}

static inline double
orient(const struct tk_edge *e, double px, double py)
{
	return (e->x1 - e->x0) * (py - e->y0) - (px - e->x0) * (e->y1 - e->y0);
}

bool
tk_fence_contains(const struct tk_fence *f, double px, double py)
{
	if (px < f->minx || px > f->maxx || py < f->miny || py > f->maxy)
		return false;
	if (f->kind == TK_FENCE_CIRCLE)
		return tk_haversine(f->clat, f->clon, py, px) <= f->radius;
	uint32_t s = strip_of(f, py);
	const struct tk_edge *e = f->sedges + f->strip[s].off, *end = f->sedges + f->strip[s + 1].off;
	bool in = false;
	uint32_t nf = f->strip[s].nfull;
	if (nf) {
		/* spanning edges, left to right: the ray to the right crosses
		 * those right of the point, a suffix found by bisection */
		uint32_t lo = 0, hi = nf;
		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			const struct tk_edge *m = &e[mid];
			if ((orient(m, px, py) > 0) == (m->y1 > m->y0))
				hi = mid;
			else
				lo = mid + 1;
		}
		if ((lo < nf && orient(&e[lo], px, py) == 0) ||
		    (lo > 0 && orient(&e[lo - 1], px, py) == 0))
			return true;	/* on the boundary */
		in = (nf - lo) & 1;
		e += nf;
	}
	for (; e < end; e++) {
		bool a = e->y0 > py, b = e->y1 > py;
		if (a && b)
			continue;
		if (!a && !b && e->y0 < py && e->y1 < py)
			continue;
		/* py within [min y, max y] of the edge */
		double cross = orient(e, px, py);
		if (cross == 0 && px >= fmin(e->x0, e->x1) && px <= fmax(e->x0, e->x1))
			return true;	/* on the boundary: fences are closed */
		if (a != b && ((cross > 0) == b))
			in = !in;
	}
	return in;
}

static double
seg_dist2(double px, double py, double x0, double y0, double x1, double y1)
{
	double dx = x1 - x0, dy = y1 - y0, t = 0;
	double l2 = dx * dx + dy * dy;
	if (l2 > 0) {
		t = ((px - x0) * dx + (py - y0) * dy) / l2;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
	}
	double ex = x0 + t * dx - px, ey = y0 + t * dy - py;
	return ex * ex + ey * ey;
}

double
tk_fence_boundary_dist(const struct tk_fence *f, double px, double py)
{
	if (f->kind == TK_FENCE_CIRCLE)
		return fabs(tk_haversine(f->clat, f->clon, py, px) - f->radius);
	double ky = TK_EARTH_RADIUS * DEG, kx = ky * cos(py * DEG);
	double best = INFINITY;
	for (uint32_t i = 0; i < f->nedges; i++) {
		const struct tk_edge *e = &f->edges[i];
		double d = seg_dist2(0, 0, (e->x0 - px) * kx, (e->y0 - py) * ky,
		    (e->x1 - px) * kx, (e->y1 - py) * ky);
		if (d < best)
			best = d;
	}
	return sqrt(best);
}

/* ---- GEOS ----------------------------------------------------------- */

struct gctx {
	GEOSContextHandle_t	 h;
	char			 msg[256];
};

static void
geos_msg(const char *m, void *arg)
{
	struct gctx *g = arg;
	snprintf(g->msg, sizeof(g->msg), "%s", m);
}

static int
gctx_init(struct gctx *g)
{
	g->msg[0] = '\0';
	g->h = GEOS_init_r();
	if (g->h == NULL)
		return -1;
	GEOSContext_setErrorMessageHandler_r(g->h, geos_msg, g);
	GEOSContext_setNoticeMessageHandler_r(g->h, NULL, NULL);
	return 0;
}

/* Loading context for one file. */
struct load {
	struct tk_fenceset	*set;
	struct gctx		 g;
	const char		*label;
	const struct tk_fence_opts *o;
	tk_fence_warn_fn	*warn;
	void			*warnarg;
	char			*err;
	size_t			 errlen;
	bool			 latlon;	/* WKT in lat lon order */
	const char		*fmt;		/* "WKT", "GeoJSON", "KML": hints */
	/* the fence being built */
	struct tk_fence		*f;
	size_t			 ecap;
};

/* What to say when a coordinate out of range looks like swapped axes. */
static const char *
order_hint(const struct load *L, double lon, double lat)
{
	if (!(fabs(lat) > 90 && fabs(lon) <= 90))
		return "";
	if (strcmp(L->fmt, "Traccar") == 0)
		return ": the axes look swapped (Traccar's areas are lat lon)";
	if (strcmp(L->fmt, "WKT") != 0)
		return ": the axes look swapped (GeoJSON and KML are lon lat)";
	if (L->latlon)
		return ": the axes look swapped (is the file in OGC lon lat order? "
		    "--wkt-order lonlat)";
	return ": the axes look swapped (is the file in Traccar's lat lon "
	    "order? --wkt-order latlon)";
}

static int
swap_xy(double *x, double *y, void *arg)
{
	(void)arg;
	double t = *x;
	*x = *y;
	*y = t;
	return 1;
}

static int
add_ring(struct load *L, const GEOSGeometry *ring)
{
	struct tk_fence *f = L->f;
	const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(L->g.h, ring);
	unsigned int n;
	if (cs == NULL || !GEOSCoordSeq_getSize_r(L->g.h, cs, &n)) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': %s", L->label, f->name,
		    L->g.msg[0] ? L->g.msg : "cannot read a ring");
		return -1;
	}
	if (n < 2)
		return 0;
	if ((size_t)f->nedges + n > EDGES_MAX) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': more than %u edges",
		    L->label, f->name, EDGES_MAX);
		return -1;
	}
	if (f->nedges + n > L->ecap) {
		size_t nc = L->ecap ? L->ecap : 64;
		while (nc < (size_t)f->nedges + n)
			nc *= 2;
		struct tk_edge *ne = reallocarray(f->edges, nc, sizeof(*ne));
		if (ne == NULL) {
			tk_errf(L->err, L->errlen, "out of memory");
			return -1;
		}
		f->edges = ne;
		L->ecap = nc;
	}
	double px = 0, py = 0;
	for (unsigned int i = 0; i < n; i++) {
		double x, y;
		GEOSCoordSeq_getXY_r(L->g.h, cs, i, &x, &y);
		if (!isfinite(x) || !isfinite(y) || y < -90 || y > 90 || x < -360 || x > 360) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': coordinate (longitude "
			    "%g, latitude %g) out of range (longitude -360..360, latitude "
			    "-90..90)%s", L->label, f->name, x, y, order_hint(L, x, y));
			return -1;
		}
		if (f->nedges == 0 && i == 0 && f->nparts + f->nholes == 0) {
			f->minx = f->maxx = x;
			f->miny = f->maxy = y;
		}
		f->minx = lo(f->minx, x);
		f->maxx = hi(f->maxx, x);
		f->miny = lo(f->miny, y);
		f->maxy = hi(f->maxy, y);
		if (i > 0 && (x != px || y != py))
			f->edges[f->nedges++] = (struct tk_edge){px, py, x, y};
		px = x;
		py = y;
	}
	return 0;
}

static int
add_polygon(struct load *L, const GEOSGeometry *p)
{
	if (GEOSisEmpty_r(L->g.h, p) == 1)
		return 0;
	if (add_ring(L, GEOSGetExteriorRing_r(L->g.h, p)) != 0)
		return -1;
	L->f->nparts++;
	int nh = GEOSGetNumInteriorRings_r(L->g.h, p);
	for (int i = 0; i < nh; i++) {
		if (add_ring(L, GEOSGetInteriorRingN_r(L->g.h, p, i)) != 0)
			return -1;
		L->f->nholes++;
	}
	return 0;
}

/* Every polygon in g (a polygon, multipolygon, or after repair a collection). */
static int
add_polygonal(struct load *L, const GEOSGeometry *g)
{
	int t = GEOSGeomTypeId_r(L->g.h, g);
	if (t == GEOS_POLYGON)
		return add_polygon(L, g);
	if (t == GEOS_MULTIPOLYGON || t == GEOS_GEOMETRYCOLLECTION) {
		int n = GEOSGetNumGeometries_r(L->g.h, g);
		for (int i = 0; i < n; i++)
			if (add_polygonal(L, GEOSGetGeometryN_r(L->g.h, g, i)) != 0)
				return -1;
	}
	return 0;
}

static const char *
type_name(struct load *L, const GEOSGeometry *g)
{
	static const char *const names[] = {"Point", "LineString", "LinearRing",
	    "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
	    "GeometryCollection"};
	int t = GEOSGeomTypeId_r(L->g.h, g);
	return t >= 0 && t < 8 ? names[t] : "unknown geometry";
}

/* Finish a polygon fence from a GEOS geometry in lon/lat (consumed). */
static int
finish_polygon(struct load *L, GEOSGeometry *g)
{
	struct tk_fence *f = L->f;
	int t = GEOSGeomTypeId_r(L->g.h, g);
	int rc = -1;

	if (t != GEOS_POLYGON && t != GEOS_MULTIPOLYGON) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': a %s is not an area "
		    "(Polygon, MultiPolygon, circle or corridor expected)", L->label,
		    f->name, type_name(L, g));
		goto out;
	}
	if (GEOSisEmpty_r(L->g.h, g) == 1) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': empty %s", L->label,
		    f->name, type_name(L, g));
		goto out;
	}
	char *reason = NULL;
	GEOSGeometry *loc = NULL;
	/* the plain check is faster; the detailed one only for the reason */
	char v = GEOSisValid_r(L->g.h, g);
	if (v != 1)
		v = GEOSisValidDetail_r(L->g.h, g, 0, &reason, &loc);
	if (v != 1) {
		char where[96] = "";
		double x, y;
		if (loc != NULL && GEOSGeomGetX_r(L->g.h, loc, &x) == 1 &&
		    GEOSGeomGetY_r(L->g.h, loc, &y) == 1)
			snprintf(where, sizeof(where), " at (%.10g %.10g)", x, y);
		char why[256];
		snprintf(why, sizeof(why), "%s%s", v == 0 && reason ? reason :
		    L->g.msg[0] ? L->g.msg : "validity check failed", where);
		if (reason)
			GEOSFree_r(L->g.h, reason);
		if (loc)
			GEOSGeom_destroy_r(L->g.h, loc);
		if (v != 0 || !L->o->repair) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': invalid %s: %s",
			    L->label, f->name, type_name(L, g), why);
			goto out;
		}
		const char *was = type_name(L, g);
		GEOSGeometry *fixed = GEOSMakeValid_r(L->g.h, g);
		if (fixed == NULL) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': invalid (%s) and "
			    "cannot be repaired: %s", L->label, f->name, why, L->g.msg);
			goto out;
		}
		GEOSGeom_destroy_r(L->g.h, g);
		g = fixed;
		if (L->warn) {
			char m[512];
			snprintf(m, sizeof(m), "%s: fence '%s': invalid %s: %s: repaired",
			    L->label, f->name, was, why);
			L->warn(L->warnarg, m);
		}
	} else {
		if (reason)
			GEOSFree_r(L->g.h, reason);
		if (loc)
			GEOSGeom_destroy_r(L->g.h, loc);
	}
	f->kind = TK_FENCE_POLYGON;
	if (add_polygonal(L, g) != 0)
		goto out;
	if (f->nedges < 3) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': no area left", L->label, f->name);
		goto out;
	}
	if (build_strips(f) != 0) {
		tk_errf(L->err, L->errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	GEOSGeom_destroy_r(L->g.h, g);
	return rc;
}

/* Sinusoidal projection around (lon0, lat0), metres, for corridors. */
struct proj {
	double	 lon0, lat0, k;
};

static int
to_metres(double *x, double *y, void *arg)
{
	const struct proj *p = arg;
	double lat = *y;
	*x = (*x - p->lon0) * cos(lat * DEG) * p->k;
	*y = (lat - p->lat0) * p->k;
	return 1;
}

static int
from_metres(double *x, double *y, void *arg)
{
	const struct proj *p = arg;
	double lat = *y / p->k + p->lat0;
	double c = cos(lat * DEG);
	*x = *x / ((c > 1e-9 ? c : 1e-9) * p->k) + p->lon0;
	*y = lat;
	return 1;
}

/* A corridor: a linestring in lon/lat (consumed), width metres in total. */
static int
finish_corridor(struct load *L, GEOSGeometry *line, double width)
{
	struct tk_fence *f = L->f;
	int t = GEOSGeomTypeId_r(L->g.h, line);
	if (t != GEOS_LINESTRING && t != GEOS_MULTILINESTRING) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': corridor needs a LineString",
		    L->label, f->name);
		GEOSGeom_destroy_r(L->g.h, line);
		return -1;
	}
	if (!(width > 0) || width > 1e6) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': corridor needs a width in "
		    "metres (0 < width <= 1000000): give it after the WKT or with --width",
		    L->label, f->name);
		GEOSGeom_destroy_r(L->g.h, line);
		return -1;
	}
	double x0, x1, y0, y1;
	if (GEOSisEmpty_r(L->g.h, line) != 0 ||
	    !GEOSGeom_getXMin_r(L->g.h, line, &x0) || !GEOSGeom_getXMax_r(L->g.h, line, &x1) ||
	    !GEOSGeom_getYMin_r(L->g.h, line, &y0) || !GEOSGeom_getYMax_r(L->g.h, line, &y1)) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': empty LineString", L->label, f->name);
		GEOSGeom_destroy_r(L->g.h, line);
		return -1;
	}
	if (y0 < -89 || y1 > 89 || x0 < -360 || x1 > 360) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': corridor coordinates out of "
		    "range (latitude -89..89)", L->label, f->name);
		GEOSGeom_destroy_r(L->g.h, line);
		return -1;
	}
	struct proj p = {(x0 + x1) / 2, (y0 + y1) / 2, TK_EARTH_RADIUS * DEG};
	GEOSGeometry *m = GEOSGeom_transformXY_r(L->g.h, line, to_metres, &p);
	GEOSGeom_destroy_r(L->g.h, line);
	GEOSGeometry *buf = m ? GEOSBuffer_r(L->g.h, m, width / 2, 8) : NULL;
	if (m)
		GEOSGeom_destroy_r(L->g.h, m);
	GEOSGeometry *back = buf ? GEOSGeom_transformXY_r(L->g.h, buf, from_metres, &p) : NULL;
	if (buf)
		GEOSGeom_destroy_r(L->g.h, buf);
	if (back == NULL) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': corridor: %s", L->label,
		    f->name, L->g.msg[0] ? L->g.msg : "GEOS failed");
		return -1;
	}
	return finish_polygon(L, back);
}

static int
finish_circle(struct load *L, double lat, double lon, double r)
{
	struct tk_fence *f = L->f;
	if (!isfinite(lat) || !isfinite(lon) || lat < -90 || lat > 90 ||
	    lon < -180 || lon > 180) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': circle centre (lat %g, lon %g) "
		    "out of range%s", L->label, f->name, lat, lon, order_hint(L, lon, lat));
		return -1;
	}
	if (!(r > 0) || r > 2e7) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': circle radius %g m out of "
		    "range (0 < radius <= 20000000)", L->label, f->name, r);
		return -1;
	}
	f->kind = TK_FENCE_CIRCLE;
	f->clat = lat;
	f->clon = lon;
	f->radius = r;
	double a = r / TK_EARTH_RADIUS;		/* angular radius */
	double dlat = a / DEG;
	f->miny = fmax(-90, lat - dlat);
	f->maxy = fmin(90, lat + dlat);
	double s = sin(a) / cos(lat * DEG);
	if (a >= M_PI / 2 || fabs(lat) + dlat >= 90 || s >= 1) {
		f->minx = -180;
		f->maxx = 180;
	} else {
		double dlon = asin(s) / DEG * (1 + 1e-9) + 1e-9;
		f->minx = lon - dlon;
		f->maxx = lon + dlon;
	}
	return 0;
}

/* Start a fence: names and the source. */
static struct tk_fence *
begin(struct load *L, const char *id, size_t idn, const char *name, size_t namen,
    const char *src)
{
	struct tk_fence *f = fence_new(L->set, L->err, L->errlen);
	if (f == NULL)
		return NULL;
	if (idn >= TK_FENCE_ID_MAX || namen >= TK_FENCE_ID_MAX) {
		tk_errf(L->err, L->errlen, "%s: fence '%.40s...': id or name longer "
		    "than %d bytes", L->label, idn ? id : name, TK_FENCE_ID_MAX - 1);
		return NULL;
	}
	for (size_t i = 0; i < idn; i++)
		if ((unsigned char)id[i] < 0x20) {
			tk_errf(L->err, L->errlen, "%s: %s: fence id with a control "
			    "character", L->label, src);
			return NULL;
		}
	for (size_t i = 0; i < namen; i++)
		if ((unsigned char)name[i] < 0x20) {
			tk_errf(L->err, L->errlen, "%s: %s: fence name with a control "
			    "character", L->label, src);
			return NULL;
		}
	copy_str(f->id, sizeof(f->id), idn ? id : name, idn ? idn : namen);
	copy_str(f->name, sizeof(f->name), namen ? name : id, namen ? namen : idn);
	snprintf(f->source, sizeof(f->source), "%s", src);
	L->f = f;
	L->ecap = 0;
	return f;
}

/* The fence built: keep it, or drop it after an error. */
static int
end(struct load *L, int rc)
{
	if (rc == 0)
		L->set->n++;
	else
		fence_free(L->f);
	L->f = NULL;
	return rc;
}

/* ---- WKT lines ------------------------------------------------------ */

static int
parse_circle(struct load *L, const char *s)
{
	/* CIRCLE (a b, r): in the file's order (Traccar's is lat lon) */
	const char *p = s + 6;
	double v[3];
	char *e;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p++ != '(')
		goto bad;
	for (int i = 0; i < 3; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
			goto bad;
		errno = 0;
		v[i] = strtod(p, &e);
		if (e == p || errno == ERANGE)
			goto bad;
		p = e;
		while (*p == ' ' || *p == '\t')
			p++;
		if (i == 1) {
			if (*p++ != ',')
				goto bad;
		} else if (i == 0 && *p == ',')
			goto bad;
	}
	if (*p++ != ')')
		goto bad;
	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p != '\0')
		goto bad;
	if (!L->latlon)
		return finish_circle(L, v[1], v[0], v[2]);
	return finish_circle(L, v[0], v[1], v[2]);
bad:
	tk_errf(L->err, L->errlen, "%s: fence '%s': bad CIRCLE: expected "
	    "CIRCLE (%s, radius)", L->label, L->f->name,
	    L->latlon ? "lat lon" : "lon lat");
	return -1;
}

static int
keyword(const char *s, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(s, kw, n) != 0)
		return 0;
	return s[n] == ' ' || s[n] == '(' || s[n] == '\t';
}

/* One WKT shape (or Traccar area) into the fence begun, in L->latlon
 * order; unclosed rings are closed (the reader's fix-structure mode), as
 * Traccar does. */
static int
wkt_shape(struct load *L, GEOSWKTReader *rd, const char *wkt, double width)
{
	int rc;
	while (*wkt == ' ')
		wkt++;
	L->g.msg[0] = '\0';
	if (keyword(wkt, "CIRCLE")) {
		rc = parse_circle(L, wkt);
	} else if (keyword(wkt, "POLYGON") || keyword(wkt, "MULTIPOLYGON") ||
	    keyword(wkt, "LINESTRING") || keyword(wkt, "MULTILINESTRING")) {
		GEOSGeometry *g = GEOSWKTReader_read_r(L->g.h, rd, wkt);
		if (g != NULL && L->latlon) {
			GEOSGeometry *s = GEOSGeom_transformXY_r(L->g.h, g, swap_xy, NULL);
			GEOSGeom_destroy_r(L->g.h, g);
			g = s;
		}
		if (g == NULL) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': bad WKT: %s", L->label,
			    L->f->name, L->g.msg[0] ? L->g.msg : "unreadable");
			rc = -1;
		} else if (keyword(wkt, "LINESTRING") || keyword(wkt, "MULTILINESTRING"))
			rc = finish_corridor(L, g, width);
		else
			rc = finish_polygon(L, g);
	} else {
		tk_errf(L->err, L->errlen, "%s: fence '%s': unsupported WKT (POLYGON, "
		    "MULTIPOLYGON, CIRCLE or LINESTRING expected)", L->label, L->f->name);
		rc = -1;
	}
	return rc;
}

static int
wkt_line(struct load *L, GEOSWKTReader *rd, char *line, unsigned long lineno)
{
	char src[64];
	snprintf(src, sizeof(src), "line %lu", lineno);
	char *tab = strchr(line, '\t');
	if (tab == NULL) {
		tk_errf(L->err, L->errlen, "%s:%lu: expected NAME<TAB>WKT[<TAB>WIDTH]",
		    L->label, lineno);
		return -1;
	}
	*tab = '\0';
	char *wkt = tab + 1, *wfield = strchr(wkt, '\t');
	double width = L->o->width;
	if (wfield != NULL) {
		*wfield++ = '\0';
		char *e;
		errno = 0;
		width = strtod(wfield, &e);
		while (*e == ' ' || *e == '\r')
			e++;
		if (e == wfield || *e != '\0' || errno == ERANGE || !(width > 0)) {
			tk_errf(L->err, L->errlen, "%s:%lu: fence '%s': bad width '%s'",
			    L->label, lineno, line, wfield);
			return -1;
		}
	}
	char label[96];
	snprintf(label, sizeof(label), "%s:%lu", L->label, lineno);
	const char *saved = L->label;
	if (begin(L, line, 0, line, strlen(line), src) == NULL)
		return -1;
	if (line[0] == '\0') {
		tk_errf(L->err, L->errlen, "%s:%lu: empty fence name", saved, lineno);
		return end(L, -1);
	}
	L->label = label;
	int rc = wkt_shape(L, rd, wkt, width);
	L->label = saved;
	return end(L, rc);
}

static int
load_wkt(struct load *L, const char *text, size_t n)
{
	GEOSWKTReader *rd = GEOSWKTReader_create_r(L->g.h);
	char *buf = malloc(n + 1);
	int rc = 0;
	if (rd == NULL || buf == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		rc = -1;
		goto out;
	}
	GEOSWKTReader_setFixStructure_r(L->g.h, rd, 1);
	L->fmt = "WKT";
	L->latlon = L->o->wkt_latlon;
	memcpy(buf, text, n);
	buf[n] = '\0';
	unsigned long lineno = 0;
	for (char *p = buf; p < buf + n && rc == 0;) {
		char *nl = memchr(p, '\n', (size_t)(buf + n - p));
		char *eol = nl ? nl : buf + n;
		*eol = '\0';
		lineno++;
		bool nul = memchr(p, '\0', (size_t)(eol - p)) != NULL;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = '\0';
		if (nul) {
			tk_errf(L->err, L->errlen, "%s:%lu: NUL byte", L->label, lineno);
			rc = -1;
			break;
		}
		char *s = p;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '\0' && *s != '#')
			rc = wkt_line(L, rd, p, lineno);
		p = eol + 1;
	}
out:
	if (rd)
		GEOSWKTReader_destroy_r(L->g.h, rd);
	free(buf);
	return rc;
}

/* ---- GeoJSON -------------------------------------------------------- */

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The shape of "coordinates": depth levels of arrays down to positions of
 * two to four numbers (x y, z, m).  GEOS 3.11's GeoJSON reader trusts it (a
 * position "[]" crashes it), so it is checked here first. */
static bool
coords_ok(json_object *c, int depth)
{
	if (!json_object_is_type(c, json_type_array))
		return false;
	size_t n = json_object_array_length(c);
	if (depth == 0) {
		if (n < 2 || n > 4)
			return false;
		for (size_t i = 0; i < n; i++) {
			json_object *v = json_object_array_get_idx(c, i);
			if (!json_object_is_type(v, json_type_double) &&
			    !json_object_is_type(v, json_type_int))
				return false;
		}
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if (!coords_ok(json_object_array_get_idx(c, i), depth - 1))
			return false;
	return true;
}

/* Drop z and m from every position (checked by coords_ok): fences are
 * planar, and GEOS 3.11 reads only x y z. */
static void
coords_2d(json_object *c, int depth)
{
	size_t n = json_object_array_length(c);
	if (depth == 0) {
		if (n > 2)
			json_object_array_del_idx(c, 2, n - 2);
		return;
	}
	for (size_t i = 0; i < n; i++)
		coords_2d(json_object_array_get_idx(c, i), depth - 1);
}

/* The name property: "name" (GeoJSON habit, Traccar, geojson.io), "Name"
 * (GDAL's KML and LIBKML drivers, so ogr2ogr from Google Earth), "NAME"
 * (shapefile fields through ogr2ogr or QGIS), "title" (simplestyle). */
static const char *
prop_name(json_object *props)
{
	static const char *const keys[] = {"name", "Name", "NAME", "title"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = jstr(props, keys[i]);
		if (v != NULL)
			return v;
	}
	return NULL;
}

static void __attribute__((format(printf, 2, 3)))
warnf(struct load *L, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	if (L->warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	L->warn(L->warnarg, m);
}

/* The fence begun is not one (a pin, say): drop it, loading goes on. */
static int
skip(struct load *L)
{
	fence_free(L->f);
	L->f = NULL;
	return 0;
}

static int
geom_depth(const char *type)
{
	static const struct {
		const char *t;
		int d;
	} tab[] = {{"Point", 0}, {"LineString", 1}, {"MultiLineString", 2},
	    {"Polygon", 2}, {"MultiPolygon", 3}};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(type, tab[i].t) == 0)
			return tab[i].d;
	return -1;
}

static int
geojson_feature(struct load *L, GEOSGeoJSONReader *rd, json_object *feat, size_t idx)
{
	json_object *geom = NULL, *props = NULL, *idv = NULL;
	char src[64], idbuf[TK_FENCE_ID_MAX + 8];
	const char *type = jstr(feat, "type");
	snprintf(src, sizeof(src), "feature %zu", idx);

	if (type != NULL && strcmp(type, "Feature") == 0) {
		json_object_object_get_ex(feat, "geometry", &geom);
		json_object_object_get_ex(feat, "properties", &props);
		json_object_object_get_ex(feat, "id", &idv);
		if (props && !json_object_is_type(props, json_type_object))
			props = NULL;
	} else
		geom = feat;
	const char *name = prop_name(props);
	const char *id = NULL;
	if (idv && json_object_is_type(idv, json_type_string))
		id = json_object_get_string(idv);
	else if (idv && json_object_is_type(idv, json_type_int)) {
		snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_object_get_int64(idv));
		id = idbuf;
	}
	char defname[64];
	if (name == NULL && id == NULL) {
		const char *base = strrchr(L->label, '/');
		snprintf(defname, sizeof(defname), "%s#%zu", base ? base + 1 : L->label, idx);
		name = defname;
	}
	if (begin(L, id ? id : "", id ? strlen(id) : 0, name ? name : "",
	    name ? strlen(name) : 0, src) == NULL)
		return -1;
	if (props) {
		L->f->props = strdup(json_object_to_json_string_ext(props, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		if (L->f->props == NULL) {
			tk_errf(L->err, L->errlen, "out of memory");
			return end(L, -1);
		}
	}
	const char *gt = jstr(geom, "type");
	if (gt == NULL) {
		tk_errf(L->err, L->errlen, "%s: %s (fence '%s'): no geometry", L->label,
		    src, L->f->name);
		return end(L, -1);
	}
	json_object *coords = NULL, *rv;
	json_object_object_get_ex(geom, "coordinates", &coords);
	int depth = geom_depth(gt);
	if (depth < 0) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': a %s is not an area (Polygon, "
		    "MultiPolygon, Point with a radius or LineString with a width "
		    "expected)", L->label, L->f->name, gt);
		return end(L, -1);
	}
	if (!coords_ok(coords, depth)) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': bad %s coordinates (arrays "
		    "of positions of 2 or 3 numbers expected)", L->label, L->f->name, gt);
		return end(L, -1);
	}
	if (strcmp(gt, "Point") == 0) {
		/* a circle: Point with properties.radius (metres); a pin
		 * without one (a KML placemark through ogr2ogr) is no fence */
		if (!props || !json_object_object_get_ex(props, "radius", &rv) ||
		    !(json_object_is_type(rv, json_type_double) ||
		    json_object_is_type(rv, json_type_int))) {
			warnf(L, "%s: %s ('%s'): a Point without properties.radius "
			    "is not a fence: skipped", L->label, src, L->f->name);
			return skip(L);
		}
		if (!json_object_is_type(coords, json_type_array) ||
		    json_object_array_length(coords) < 2) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': bad Point coordinates",
			    L->label, L->f->name);
			return end(L, -1);
		}
		double lon = json_object_get_double(json_object_array_get_idx(coords, 0));
		double lat = json_object_get_double(json_object_array_get_idx(coords, 1));
		return end(L, finish_circle(L, lat, lon, json_object_get_double(rv)));
	}
	coords_2d(coords, depth);
	const char *gjson = json_object_to_json_string_ext(geom, JSON_C_TO_STRING_PLAIN);
	L->g.msg[0] = '\0';
	GEOSGeometry *g = GEOSGeoJSONReader_readGeometry_r(L->g.h, rd, gjson);
	if (g == NULL) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': bad GeoJSON geometry: %s",
		    L->label, L->f->name, L->g.msg[0] ? L->g.msg : "unreadable");
		return end(L, -1);
	}
	if (strcmp(gt, "LineString") == 0 || strcmp(gt, "MultiLineString") == 0) {
		double width = L->o->width;
		if (props && json_object_object_get_ex(props, "width", &rv))
			width = json_object_get_double(rv);
		return end(L, finish_corridor(L, g, width));
	}
	return end(L, finish_polygon(L, g));
}

/* ---- Traccar's geofence export --------------------------------------- */

/* One element of GET /api/geofences: {"id":N,"name":...,"description":...,
 * "area":"POLYGON ((lat lon, ...))","calendarId":N,"attributes":{...}}.
 * The area is in Traccar's lat lon order whatever --wkt-order says; a
 * LINESTRING is a corridor of attributes.polylineDistance metres each side
 * (Traccar's geofence.polylineDistance default: 25). */
static int
traccar_fence(struct load *L, GEOSWKTReader *rd, json_object *o, size_t idx)
{
	char src[64], idbuf[32], label[96];
	json_object *v, *attrs = NULL;
	snprintf(src, sizeof(src), "geofence %zu", idx);
	if (!json_object_is_type(o, json_type_object)) {
		tk_errf(L->err, L->errlen, "%s: %s: not an object (a Traccar "
		    "/api/geofences array expected)", L->label, src);
		return -1;
	}
	const char *area = jstr(o, "area"), *name = jstr(o, "name"), *id = NULL;
	if (json_object_object_get_ex(o, "id", &v) && json_object_is_type(v, json_type_int)) {
		snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_object_get_int64(v));
		id = idbuf;
	} else
		id = jstr(o, "id");
	if (area == NULL) {
		tk_errf(L->err, L->errlen, "%s: %s: no \"area\" string (a Traccar "
		    "/api/geofences array expected)", L->label, src);
		return -1;
	}
	if (name == NULL && id == NULL) {
		const char *base = strrchr(L->label, '/');
		snprintf(label, sizeof(label), "%s#%zu", base ? base + 1 : L->label, idx);
		name = label;
	}
	if (begin(L, id ? id : "", id ? strlen(id) : 0, name ? name : "",
	    name ? strlen(name) : 0, src) == NULL)
		return -1;
	double width = L->o->width > 0 ? L->o->width : 50;
	if (json_object_object_get_ex(o, "attributes", &attrs) &&
	    json_object_is_type(attrs, json_type_object) &&
	    json_object_object_get_ex(attrs, "polylineDistance", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		width = 2 * json_object_get_double(v);
	/* everything but the area rides along in the events */
	json_object *props = json_object_new_object();
	if (props == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		return end(L, -1);
	}
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "area") != 0)
			json_object_object_add(props, key, json_object_get(val));
	}
	L->f->props = strdup(json_object_to_json_string_ext(props, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(props);
	if (L->f->props == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		return end(L, -1);
	}
	const char *saved = L->label;
	snprintf(label, sizeof(label), "%s: %s", L->label, src);
	L->label = label;
	int rc = wkt_shape(L, rd, area, width);
	L->label = saved;
	return end(L, rc);
}

static int
load_traccar(struct load *L, json_object *root)
{
	GEOSWKTReader *rd = GEOSWKTReader_create_r(L->g.h);
	if (rd == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		return -1;
	}
	GEOSWKTReader_setFixStructure_r(L->g.h, rd, 1);
	L->fmt = "Traccar";
	L->latlon = true;
	int rc = 0;
	size_t n = json_object_array_length(root);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = traccar_fence(L, rd, json_object_array_get_idx(root, i), i + 1);
	GEOSWKTReader_destroy_r(L->g.h, rd);
	return rc;
}

static int
load_geojson(struct load *L, const char *text, size_t n)
{
	json_tokener *tok = json_tokener_new_ex(64);
	GEOSGeoJSONReader *rd = GEOSGeoJSONReader_create_r(L->g.h);
	json_object *root = NULL;
	int rc = -1;

	if (tok == NULL || rd == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		goto out;
	}
	if (n > INT32_MAX) {
		tk_errf(L->err, L->errlen, "%s: too large", L->label);
		goto out;
	}
	root = json_tokener_parse_ex(tok, text, (int)n);
	enum json_tokener_error je = json_tokener_get_error(tok);
	if (root == NULL || je != json_tokener_success) {
		tk_errf(L->err, L->errlen, "%s: not valid JSON: %s (near byte %zu)",
		    L->label, json_tokener_error_desc(je == json_tokener_success ?
		    json_tokener_continue : je), json_tokener_get_parse_end(tok));
		goto out;
	}
	size_t end_at = json_tokener_get_parse_end(tok);
	for (size_t i = end_at; i < n; i++)
		if (!isspace((unsigned char)text[i])) {
			tk_errf(L->err, L->errlen, "%s: not valid JSON: trailing data at "
			    "byte %zu", L->label, i);
			goto out;
		}
	if (json_object_is_type(root, json_type_array)) {
		rc = load_traccar(L, root);
		goto out;
	}
	L->fmt = "GeoJSON";
	const char *type = jstr(root, "type");
	if (type == NULL) {
		tk_errf(L->err, L->errlen, "%s: not GeoJSON (no \"type\")", L->label);
		goto out;
	}
	if (strcmp(type, "FeatureCollection") == 0) {
		json_object *feats;
		if (!json_object_object_get_ex(root, "features", &feats) ||
		    !json_object_is_type(feats, json_type_array)) {
			tk_errf(L->err, L->errlen, "%s: FeatureCollection without "
			    "\"features\"", L->label);
			goto out;
		}
		size_t nf = json_object_array_length(feats);
		for (size_t i = 0; i < nf; i++)
			if (geojson_feature(L, rd, json_object_array_get_idx(feats, i), i + 1) != 0)
				goto out;
		rc = 0;
	} else
		rc = geojson_feature(L, rd, root, 1);
out:
	if (root)
		json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	if (rd)
		GEOSGeoJSONReader_destroy_r(L->g.h, rd);
	return rc;
}

/* ---- KML -------------------------------------------------------------- */

/* Elements are matched by local name, whatever the namespace (KML 2.0 to
 * 2.2, or none). */
static bool
is_el(const xmlNode *n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *
child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (is_el(c, name))
			return c;
	return NULL;
}

/* A ring from <LinearRing><coordinates>lon,lat[,alt] ...</coordinates>:
 * closed when it is not (as Google Earth draws it). */
static GEOSGeometry *
kml_ring(struct load *L, const xmlNode *lr)
{
	const xmlNode *c = child(lr, "coordinates");
	xmlChar *text = c ? xmlNodeGetContent(c) : NULL;
	GEOSCoordSequence *cs = NULL;
	double *xy = NULL;
	size_t n = 0, cap = 0;
	if (text == NULL) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': a LinearRing without "
		    "coordinates (line %d)", L->label, L->f->name, lr ? lr->line : 0);
		return NULL;
	}
	const char *p = (const char *)text;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		double v[2];
		char *e;
		for (int k = 0; k < 2; k++) {
			errno = 0;
			v[k] = strtod(p, &e);
			if (e == p || errno == ERANGE || !isfinite(v[k]) ||
			    (k == 0 && *e != ','))
				goto bad;
			p = k == 0 ? e + 1 : e;
		}
		if (*p == ',') {	/* altitude: dropped */
			strtod(p + 1, &e);
			if (e == p + 1)
				goto bad;
			p = e;
		}
		if (*p != '\0' && !isspace((unsigned char)*p))
			goto bad;
		if (n + 2 > EDGES_MAX) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': more than %u "
			    "positions in a ring", L->label, L->f->name, EDGES_MAX);
			goto fail;
		}
		if (n + 2 > cap) {
			size_t nc = cap ? cap * 2 : 64;
			double *nx = reallocarray(xy, nc, 2 * sizeof(*xy));
			if (nx == NULL) {
				tk_errf(L->err, L->errlen, "out of memory");
				goto fail;
			}
			xy = nx;
			cap = nc;
		}
		xy[2 * n] = v[0];
		xy[2 * n + 1] = v[1];
		n++;
	}
	if (n > 0 && (xy[0] != xy[2 * n - 2] || xy[1] != xy[2 * n - 1])) {
		xy[2 * n] = xy[0];
		xy[2 * n + 1] = xy[1];
		n++;
	}
	if (n < 4) {
		tk_errf(L->err, L->errlen, "%s: fence '%s': a ring of fewer than 3 "
		    "positions (line %d)", L->label, L->f->name, c->line);
		goto fail;
	}
	cs = GEOSCoordSeq_create_r(L->g.h, (unsigned)n, 2);
	if (cs == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		GEOSCoordSeq_setXY_r(L->g.h, cs, (unsigned)i, xy[2 * i], xy[2 * i + 1]);
	free(xy);
	xmlFree(text);
	GEOSGeometry *r = GEOSGeom_createLinearRing_r(L->g.h, cs);
	if (r == NULL)
		tk_errf(L->err, L->errlen, "%s: fence '%s': %s", L->label, L->f->name,
		    L->g.msg[0] ? L->g.msg : "bad ring");
	return r;
bad:
	tk_errf(L->err, L->errlen, "%s: fence '%s': bad KML coordinates near "
	    "'%.20s' (line %d): lon,lat[,alt] tuples expected", L->label, L->f->name,
	    p, c->line);
fail:
	free(xy);
	xmlFree(text);
	return NULL;
}

/* <Polygon><outerBoundaryIs><LinearRing>, <innerBoundaryIs>... */
static GEOSGeometry *
kml_polygon(struct load *L, const xmlNode *pg)
{
	const xmlNode *ob = child(pg, "outerBoundaryIs");
	GEOSGeometry *shell = ob ? kml_ring(L, child(ob, "LinearRing")) : NULL, **holes = NULL;
	size_t nh = 0;
	if (shell == NULL) {
		if (ob == NULL)
			tk_errf(L->err, L->errlen, "%s: fence '%s': a Polygon without "
			    "outerBoundaryIs (line %d)", L->label, L->f->name, pg->line);
		return NULL;
	}
	for (const xmlNode *c = pg->children; c; c = c->next) {
		if (!is_el(c, "innerBoundaryIs"))
			continue;
		for (const xmlNode *r = c->children; r; r = r->next) {
			if (!is_el(r, "LinearRing"))
				continue;
			GEOSGeometry **nhp = reallocarray(holes, nh + 1, sizeof(*holes));
			GEOSGeometry *h = nhp ? kml_ring(L, r) : NULL;
			if (nhp)
				holes = nhp;
			else
				tk_errf(L->err, L->errlen, "out of memory");
			if (h == NULL) {
				for (size_t i = 0; i < nh; i++)
					GEOSGeom_destroy_r(L->g.h, holes[i]);
				free(holes);
				GEOSGeom_destroy_r(L->g.h, shell);
				return NULL;
			}
			holes[nh++] = h;
		}
	}
	GEOSGeometry *p = GEOSGeom_createPolygon_r(L->g.h, shell, holes, (unsigned)nh);
	free(holes);
	if (p == NULL)
		tk_errf(L->err, L->errlen, "%s: fence '%s': %s", L->label, L->f->name,
		    L->g.msg[0] ? L->g.msg : "bad Polygon");
	return p;
}

/* The Polygons of a Placemark, in MultiGeometry too (nested). */
static int
kml_collect(struct load *L, const xmlNode *n, GEOSGeometry ***v, size_t *nv, int depth)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (is_el(c, "Polygon")) {
			if (*nv >= 65536) {
				tk_errf(L->err, L->errlen, "%s: fence '%s': more than "
				    "65536 polygons", L->label, L->f->name);
				return -1;
			}
			GEOSGeometry **nvp = reallocarray(*v, *nv + 1, sizeof(**v));
			if (nvp == NULL) {
				tk_errf(L->err, L->errlen, "out of memory");
				return -1;
			}
			*v = nvp;
			GEOSGeometry *p = kml_polygon(L, c);
			if (p == NULL)
				return -1;
			(*v)[(*nv)++] = p;
		} else if (is_el(c, "MultiGeometry") && depth < 16) {
			if (kml_collect(L, c, v, nv, depth + 1) != 0)
				return -1;
		}
	}
	return 0;
}

/* Text of <name>, whitespace runs (newlines too) made one space. */
static void
kml_name(const xmlNode *pm, char *out, size_t cap)
{
	const xmlNode *nm = child(pm, "name");
	xmlChar *t = nm ? xmlNodeGetContent(nm) : NULL;
	size_t w = 0;
	out[0] = '\0';
	if (t == NULL)
		return;
	bool sp = false;
	for (const unsigned char *p = t; *p && w + 1 < cap; p++) {
		if (isspace(*p) || *p < 0x20) {
			sp = w > 0;
			continue;
		}
		if (sp && w + 2 < cap)
			out[w++] = ' ';
		sp = false;
		out[w++] = (char)*p;
	}
	out[w] = '\0';
	xmlFree(t);
}

static int
kml_placemark(struct load *L, const xmlNode *pm, size_t idx, size_t *nskip)
{
	char name[TK_FENCE_ID_MAX], src[64], defname[64];
	xmlChar *id = xmlGetProp(pm, BAD_CAST "id");
	kml_name(pm, name, sizeof(name));
	snprintf(src, sizeof(src), "placemark %zu (line %d)", idx, pm->line);
	if (name[0] == '\0' && id == NULL) {
		const char *base = strrchr(L->label, '/');
		snprintf(defname, sizeof(defname), "%s#%zu", base ? base + 1 : L->label, idx);
		snprintf(name, sizeof(name), "%s", defname);
	}
	/* the id is the name, as for the GeoJSON ogr2ogr makes of the file;
	 * the Placemark's id attribute only when it has no name */
	const char *ids = id && name[0] == '\0' ? (const char *)id : "";
	struct tk_fence *f = begin(L, ids, strlen(ids), name, strlen(name), src);
	xmlFree(id);
	if (f == NULL)
		return -1;
	GEOSGeometry **v = NULL;
	size_t nv = 0;
	L->g.msg[0] = '\0';
	if (kml_collect(L, pm, &v, &nv, 0) != 0) {
		for (size_t i = 0; i < nv; i++)
			GEOSGeom_destroy_r(L->g.h, v[i]);
		free(v);
		return end(L, -1);
	}
	if (nv == 0) {
		free(v);
		(*nskip)++;
		return skip(L);
	}
	GEOSGeometry *g = nv == 1 ? v[0] :
	    GEOSGeom_createCollection_r(L->g.h, GEOS_MULTIPOLYGON, v, (unsigned)nv);
	if (g == NULL) {
		for (size_t i = 0; i < nv; i++)
			GEOSGeom_destroy_r(L->g.h, v[i]);
		free(v);
		tk_errf(L->err, L->errlen, "out of memory");
		return end(L, -1);
	}
	free(v);
	return end(L, finish_polygon(L, g));
}

static int
kml_walk(struct load *L, const xmlNode *n, size_t *idx, size_t *nskip, int depth)
{
	for (const xmlNode *c = n; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_el(c, "Placemark")) {
			if (kml_placemark(L, c, ++*idx, nskip) != 0)
				return -1;
		} else if (depth < 64 && kml_walk(L, c->children, idx, nskip, depth + 1) != 0)
			return -1;
	}
	return 0;
}

/* KML through libxml2: no network, no DTD (so no entities to expand),
 * libxml2's default depth and size limits, KML_MAX bytes. */
static int
load_kml(struct load *L, const char *text, size_t n)
{
	L->fmt = "KML";
	if (n > KML_MAX) {
		tk_errf(L->err, L->errlen, "%s: KML larger than %u bytes", L->label, KML_MAX);
		return -1;
	}
	xmlParserCtxtPtr ctx = xmlNewParserCtxt();
	if (ctx == NULL) {
		tk_errf(L->err, L->errlen, "out of memory");
		return -1;
	}
	xmlDocPtr doc = xmlCtxtReadMemory(ctx, text, (int)n, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	int rc = -1;
	if (doc == NULL) {
		const xmlError *e = &ctx->lastError;
		char msg[160];
		snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "unreadable");
		msg[strcspn(msg, "\n")] = '\0';
		tk_errf(L->err, L->errlen, "%s:%d: not well-formed XML: %s", L->label,
		    e->line, msg);
		goto out;
	}
	if (doc->intSubset != NULL || doc->extSubset != NULL) {
		tk_errf(L->err, L->errlen, "%s: a DOCTYPE in KML is not accepted", L->label);
		goto out;
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!is_el(root, "kml")) {
		tk_errf(L->err, L->errlen, "%s: not KML (the root element is <%s>)",
		    L->label, root ? (const char *)root->name : "");
		goto out;
	}
	size_t idx = 0, nskip = 0;
	if (kml_walk(L, root->children, &idx, &nskip, 0) != 0)
		goto out;
	if (nskip)
		warnf(L, "%s: %zu placemark%s without a Polygon (pins, paths) "
		    "skipped", L->label, nskip, nskip == 1 ? "" : "s");
	rc = 0;
out:
	if (doc)
		xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctx);
	return rc;
}

int
tk_fenceset_load_mem(struct tk_fenceset *s, const char *label, const char *text,
    size_t n, const struct tk_fence_opts *o, tk_fence_warn_fn *warn, void *warnarg,
    char *err, size_t errlen)
{
	static const struct tk_fence_opts defaults;
	struct load L = {.set = s, .label = label, .o = o ? o : &defaults,
	    .warn = warn, .warnarg = warnarg, .err = err, .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (gctx_init(&L.g) != 0) {
		tk_errf(err, errlen, "GEOS initialisation failed");
		return -1;
	}
	index_free(s);
	size_t i = 0;
	while (i < n && isspace((unsigned char)text[i]))
		i++;
	int rc;
	if (i < n && (text[i] == '{' || text[i] == '['))
		rc = load_geojson(&L, text, n);	/* or Traccar's array */
	else if (i < n && text[i] == '<')
		rc = load_kml(&L, text, n);
	else if (n >= 4 && memcmp(text, "PK\3\4", 4) == 0)
		rc = tk_errf(err, errlen, "%s: a zip archive (KMZ?): unzip it and "
		    "give the KML inside (doc.kml)", label);
	else
		rc = load_wkt(&L, text, n);
	GEOS_finish_r(L.g.h);
	return rc;
}

int
tk_fenceset_load_file(struct tk_fenceset *s, const char *path,
    const struct tk_fence_opts *o, tk_fence_warn_fn *warn, void *warnarg,
    char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	size_t len;
	if (fd < 0)
		return tk_errf(err, errlen, "%s: %s", path, strerror(errno));
	if (tk_read_all(fd, FILE_MAX, &buf, &len) != 0) {
		int e = errno;
		close(fd);
		if (e == EFBIG)
			return tk_errf(err, errlen, "%s: larger than %u bytes", path, FILE_MAX);
		return tk_errf(err, errlen, "%s: %s", path, strerror(e));
	}
	close(fd);
	int rc = tk_fenceset_load_mem(s, path, buf, len, o, warn, warnarg, err, errlen);
	free(buf);
	return rc;
}

/* ---- selection, ids, index ------------------------------------------ */

int
tk_fenceset_select(struct tk_fenceset *s, const char *const *names, size_t nn,
    char *err, size_t errlen)
{
	for (size_t k = 0; k < nn; k++) {
		bool any = false;
		for (size_t i = 0; i < s->n && !any; i++)
			any = strcmp(s->f[i].id, names[k]) == 0 ||
			    strcmp(s->f[i].name, names[k]) == 0;
		if (!any) {
			tk_errf(err, errlen, "no fence named '%s'", names[k]);
			return -1;
		}
	}
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		bool keep = false;
		for (size_t k = 0; k < nn && !keep; k++)
			keep = strcmp(s->f[i].id, names[k]) == 0 ||
			    strcmp(s->f[i].name, names[k]) == 0;
		if (keep)
			s->f[w++] = s->f[i];
		else
			fence_free(&s->f[i]);
	}
	s->n = w;
	index_free(s);
	return 0;
}

static const struct tk_fenceset *sort_set;

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(sort_set->f[*(const uint32_t *)a].id, sort_set->f[*(const uint32_t *)b].id);
}

long
tk_fenceset_find(const struct tk_fenceset *s, const char *key)
{
	if (s->byid) {
		size_t lo = 0, hi = s->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = strcmp(s->f[s->byid[mid]].id, key);
			if (c == 0)
				return s->byid[mid];
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	} else {
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->f[i].id, key) == 0)
				return (long)i;
	}
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->f[i].name, key) == 0)
			return (long)i;
	return -1;
}

struct copy {
	double	 x0, y0, x1, y1;
	uint32_t ent;
};

static float
down(double v)
{
	float f = (float)v;
	return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

static float
up(double v)
{
	float f = (float)v;
	return (double)f < v ? nextafterf(f, INFINITY) : f;
}

static uint32_t
cell_x(const struct tk_fenceset *s, double x)
{
	double v = (x - s->gx0) * s->gsx;
	if (!(v > 0))
		return 0;
	if (v >= (double)s->gnx)
		return s->gnx - 1;
	return (uint32_t)v;
}

static uint32_t
cell_y(const struct tk_fenceset *s, double y)
{
	double v = (y - s->gy0) * s->gsy;
	if (!(v > 0))
		return 0;
	if (v >= (double)s->gny)
		return s->gny - 1;
	return (uint32_t)v;
}

int
tk_fenceset_build(struct tk_fenceset *s, char *err, size_t errlen)
{
	index_free(s);
	if (s->n == 0) {
		s->built = true;
		return 0;
	}
	s->byid = malloc(s->n * sizeof(*s->byid));
	struct copy *c = malloc(s->n * 3 * sizeof(*c));
	if (s->byid == NULL || c == NULL) {
		free(c);
		tk_errf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->n; i++)
		s->byid[i] = (uint32_t)i;
	sort_set = s;
	qsort(s->byid, s->n, sizeof(*s->byid), cmp_id);
	for (size_t i = 1; i < s->n; i++) {
		const struct tk_fence *a = &s->f[s->byid[i - 1]], *b = &s->f[s->byid[i]];
		if (strcmp(a->id, b->id) == 0) {
			tk_errf(err, errlen, "two fences with the id '%s' (%s and %s)",
			    a->id, a->source, b->source);
			free(c);
			index_free(s);
			return -1;
		}
	}
	/* the copies to index: shifted by -360 / +360 past the antimeridian */
	size_t nc = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct tk_fence *f = &s->f[i];
		struct copy cc[3] = {
		    {f->minx, f->miny, f->maxx, f->maxy, (uint32_t)i << 2},
		    {f->minx - 360, f->miny, f->maxx - 360, f->maxy, (uint32_t)i << 2 | 2},
		    {f->minx + 360, f->miny, f->maxx + 360, f->maxy, (uint32_t)i << 2 | 1}};
		for (int k = 0; k < 3; k++) {
			if (cc[k].x1 < -180 || cc[k].x0 > 180)
				continue;
			cc[k].x0 = fmax(cc[k].x0, -180);
			cc[k].x1 = fmin(cc[k].x1, 180);
			c[nc++] = cc[k];
		}
	}
	s->gx0 = s->gy0 = INFINITY;
	s->gx1 = s->gy1 = -INFINITY;
	for (size_t i = 0; i < nc; i++) {
		s->gx0 = fmin(s->gx0, c[i].x0);
		s->gy0 = fmin(s->gy0, c[i].y0);
		s->gx1 = fmax(s->gx1, c[i].x1);
		s->gy1 = fmax(s->gy1, c[i].y1);
	}
	double w = s->gx1 - s->gx0, h = s->gy1 - s->gy0;
	double target = 16.0 * (double)nc;
	double nxd = w > 0 && h > 0 ? ceil(sqrt(target * w / h)) : w > 0 ? target : 1;
	double nyd = w > 0 && h > 0 ? ceil(target / nxd) : h > 0 ? target : 1;
	uint32_t nx = (uint32_t)fmin(fmax(nxd, 1), 4096), ny = (uint32_t)fmin(fmax(nyd, 1), 4096);
	size_t total;
	for (;;) {
		s->gnx = nx;
		s->gny = ny;
		s->gsx = w > 0 ? nx / w : 0;
		s->gsy = h > 0 ? ny / h : 0;
		total = 0;
		for (size_t i = 0; i < nc; i++)
			total += (size_t)(cell_x(s, c[i].x1) - cell_x(s, c[i].x0) + 1) *
			    (cell_y(s, c[i].y1) - cell_y(s, c[i].y0) + 1);
		if (total > 16 * nc + (size_t)nx * ny && (nx > 1 || ny > 1)) {
			nx = (nx + 1) / 2;
			ny = (ny + 1) / 2;
			continue;
		}
		break;
	}
	size_t ncell = (size_t)nx * ny;
	s->goff = calloc(ncell + 1, sizeof(*s->goff));
	s->gent = malloc((total ? total : 1) * sizeof(*s->gent));
	if (s->goff == NULL || s->gent == NULL || total > UINT32_MAX) {
		free(c);
		index_free(s);
		tk_errf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < nc; i++)
		for (uint32_t y = cell_y(s, c[i].y0); y <= cell_y(s, c[i].y1); y++)
			for (uint32_t x = cell_x(s, c[i].x0); x <= cell_x(s, c[i].x1); x++)
				s->goff[(size_t)y * nx + x + 1]++;
	for (size_t k = 0; k < ncell; k++)
		s->goff[k + 1] += s->goff[k];
	uint32_t *fill = malloc(ncell * sizeof(*fill));
	if (fill == NULL) {
		free(c);
		index_free(s);
		tk_errf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(fill, s->goff, ncell * sizeof(*fill));
	for (size_t i = 0; i < nc; i++)
		for (uint32_t y = cell_y(s, c[i].y0); y <= cell_y(s, c[i].y1); y++)
			for (uint32_t x = cell_x(s, c[i].x0); x <= cell_x(s, c[i].x1); x++)
				s->gent[fill[(size_t)y * nx + x]++] = (struct tk_gent){
				    down(c[i].x0), down(c[i].y0), up(c[i].x1), up(c[i].y1), c[i].ent};
	free(fill);
	free(c);
	s->ngent = total;
	s->built = true;
	return 0;
}

size_t
tk_fenceset_query(const struct tk_fenceset *s, double lon, double lat,
    uint32_t *out, size_t cap)
{
	if (!s->built || s->goff == NULL)
		return 0;
	if (lon > 180 && lon <= 540)
		lon -= 360;
	else if (lon < -180 && lon >= -540)
		lon += 360;
	if (!(lon >= s->gx0 && lon <= s->gx1 && lat >= s->gy0 && lat <= s->gy1))
		return 0;
	size_t cell = (size_t)cell_y(s, lat) * s->gnx + cell_x(s, lon);
	const struct tk_gent *e = s->gent + s->goff[cell], *end = s->gent + s->goff[cell + 1];
	size_t n = 0;
	uint32_t last = UINT32_MAX;
	for (; e < end; e++) {
		if (lon < e->x0 || lon > e->x1 || lat < e->y0 || lat > e->y1)
			continue;
		uint32_t fi = e->ent >> 2, sh = e->ent & 3;
		if (fi == last)
			continue;
		double x = sh == 2 ? lon + 360 : sh == 1 ? lon - 360 : lon;
		if (tk_fence_contains(&s->f[fi], x, lat)) {
			if (n < cap)
				out[n] = fi;
			n++;
			last = fi;
		}
	}
	return n;
}

/* ---- a fence that looks swapped ---------------------------------------- */

/* Gap in degrees between [a0, a1] and [b0, b1]; 0 when they overlap. */
static double
gap(double a0, double a1, double b0, double b1)
{
	return a1 < b0 ? b0 - a1 : b1 < a0 ? a0 - b1 : 0;
}

/* A lower bound of the distance in km between two boxes (the longitude
 * gap measured at the latitude nearest a pole: short, never long). */
static double
box_km(double ax0, double ay0, double ax1, double ay1, double bx0, double by0,
    double bx1, double by1)
{
	double dy = gap(ay0, ay1, by0, by1);
	double dx = gap(ax0, ax1, bx0, bx1);
	if (dx > 180)
		dx = 360 - dx;
	double maxlat = fmin(90, fmax(fmax(fabs(ay0), fabs(ay1)), fmax(fabs(by0), fabs(by1))));
	double kx = cos(maxlat * DEG);
	double k = TK_EARTH_RADIUS * DEG / 1000;
	return k * sqrt(dy * dy + dx * kx * dx * kx);
}

double
tk_fence_swapped_km(const struct tk_fence *f, double lon0, double lat0, double lon1,
    double lat1, double min_km)
{
	if (!(lon0 <= lon1 && lat0 <= lat1))
		return -1;
	double d = box_km(f->minx, f->miny, f->maxx, f->maxy, lon0, lat0, lon1, lat1);
	if (!(d > min_km))
		return -1;
	/* swapped: x is the latitude, y the longitude */
	double sx0 = f->miny, sx1 = f->maxy, sy0 = f->minx, sy1 = f->maxx;
	if (f->kind == TK_FENCE_CIRCLE) {
		double r = (f->maxy - f->miny) / 2;
		sx0 = f->clat - r;
		sx1 = f->clat + r;
		sy0 = f->clon - r;
		sy1 = f->clon + r;
	}
	if (box_km(sx0, sy0, sx1, sy1, lon0, lat0, lon1, lat1) > 100)
		return -1;
	return d;
}
