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

#include "tk_fence.h"
#include "tk_util.h"
#include "tk_track.h"	/* tk_haversine */

#define FILE_MAX	(256u << 20)	/* bytes per fence file */
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
	/* the fence being built */
	struct tk_fence		*f;
	size_t			 ecap;
};

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
			tk_errf(L->err, L->errlen, "%s: fence '%s': coordinate (%g %g) out "
			    "of range (longitude -360..360, latitude -90..90)", L->label,
			    f->name, x, y);
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
		    "out of range", L->label, f->name, lat, lon);
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
	/* CIRCLE (a b, r): lat lon unless --wkt-order lonlat */
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
	if (L->o->wkt_lonlat)
		return finish_circle(L, v[1], v[0], v[2]);
	return finish_circle(L, v[0], v[1], v[2]);
bad:
	tk_errf(L->err, L->errlen, "%s: fence '%s': bad CIRCLE: expected "
	    "CIRCLE (%s, radius)", L->label, L->f->name,
	    L->o->wkt_lonlat ? "lon lat" : "lat lon");
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
	while (*wkt == ' ')
		wkt++;
	int rc;
	L->g.msg[0] = '\0';
	if (keyword(wkt, "CIRCLE")) {
		rc = parse_circle(L, wkt);
	} else if (keyword(wkt, "POLYGON") || keyword(wkt, "MULTIPOLYGON") ||
	    keyword(wkt, "LINESTRING") || keyword(wkt, "MULTILINESTRING")) {
		GEOSGeometry *g = GEOSWKTReader_read_r(L->g.h, rd, wkt);
		if (g != NULL && !L->o->wkt_lonlat) {
			GEOSGeometry *s = GEOSGeom_transformXY_r(L->g.h, g, swap_xy, NULL);
			GEOSGeom_destroy_r(L->g.h, g);
			g = s;
		}
		if (g == NULL) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': bad WKT: %s", label,
			    L->f->name, L->g.msg[0] ? L->g.msg : "unreadable");
			rc = -1;
		} else if (keyword(wkt, "LINESTRING") || keyword(wkt, "MULTILINESTRING"))
			rc = finish_corridor(L, g, width);
		else
			rc = finish_polygon(L, g);
	} else {
		tk_errf(L->err, L->errlen, "%s: fence '%s': unsupported WKT (POLYGON, "
		    "MULTIPOLYGON, CIRCLE or LINESTRING expected)", label, L->f->name);
		rc = -1;
	}
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
 * two or three numbers.  GEOS 3.11's GeoJSON reader trusts it (a position
 * "[]" crashes it), so it is checked here first. */
static bool
coords_ok(json_object *c, int depth)
{
	if (!json_object_is_type(c, json_type_array))
		return false;
	size_t n = json_object_array_length(c);
	if (depth == 0) {
		if (n < 2 || n > 3)
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
	const char *name = jstr(props, "name");
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
		L->f->props = strdup(json_object_to_json_string_ext(props, JSON_C_TO_STRING_PLAIN));
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
		/* a circle: Point with properties.radius (metres) */
		if (!props || !json_object_object_get_ex(props, "radius", &rv) ||
		    !(json_object_is_type(rv, json_type_double) ||
		    json_object_is_type(rv, json_type_int))) {
			tk_errf(L->err, L->errlen, "%s: fence '%s': a Point fence needs "
			    "properties.radius in metres", L->label, L->f->name);
			return end(L, -1);
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
	int rc = i < n && text[i] == '{' ? load_geojson(&L, text, n) : load_wkt(&L, text, n);
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
