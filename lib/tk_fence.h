/*
 * tk_fence.h: geofences.  Fences are read through GEOS (WKT, GeoJSON),
 * checked with GEOS (GEOSisValidDetail) and then flattened into our own
 * arrays: a uniform grid over the fences' bounding boxes and, per polygon,
 * horizontal strips of edges, so a containment test costs a few dozen
 * comparisons whatever the number of fences and vertices.
 *
 * Semantics (tk-geofence(1), SEMANTICS): coordinates are planar
 * longitude/latitude in degrees, as GeoJSON and tracking servers treat
 * them; a fence is a closed set (a point exactly on an edge or a vertex is
 * inside); circles use the great-circle distance on a sphere of radius
 * TK_EARTH_RADIUS; fences may cross the antimeridian either as RFC 7946
 * pieces or with longitudes continuing past +-180 (up to +-360).
 */
#ifndef TK_FENCE_H
#define TK_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TK_EARTH_RADIUS	6371008.8	/* metres, the IUGG mean radius, as tk_haversine */
#define TK_FENCE_ID_MAX	128		/* fence id and name, NUL included */
#define TK_FENCE_MAX	(1u << 22)	/* fences per set */

enum tk_fence_kind { TK_FENCE_POLYGON, TK_FENCE_CIRCLE };

struct tk_edge {
	double	 x0, y0, x1, y1;
};

/* A strip's edges: sedges[off, next off); the first nfull span the strip
 * and are sorted left to right. */
struct tk_strip {
	uint32_t	 off, nfull;
};

struct tk_fence {
	/* hot: what a containment test reads, first */
	enum tk_fence_kind kind;
	uint32_t	 nstrip;
	double		 minx, miny, maxx, maxy;	/* bbox; x may pass +-180 */
	double		 sy0, sinv;	/* strip of y: (y - sy0) * sinv */
	struct tk_strip	*strip;		/* nstrip + 1: where each strip's edges start */
	struct tk_edge	*sedges;
	double		 clat, clon, radius;	/* circle */
	/* polygon: every ring's edges */
	struct tk_edge	*edges;
	uint32_t	 nedges;
	uint32_t	 nparts, nholes;	/* for messages */
	/* cold */
	char		*props;		/* other properties as JSON text, or NULL */
	char		 id[TK_FENCE_ID_MAX];	/* geofenceId: feature id, else name */
	char		 name[TK_FENCE_ID_MAX];	/* properties.name, else id */
	char		 source[64];	/* "file:line" or "file#n", for messages */
};

struct tk_fence_opts {
	bool	 repair;	/* GEOSMakeValid invalid polygons (with a warning) */
	bool	 wkt_latlon;	/* WKT lines in Traccar's lat lon order (default:
				 * OGC x y = lon lat) */
	double	 width;		/* default corridor width in metres, 0 = none */
};

/* Warnings while loading (repairs): the library never prints. */
typedef void tk_fence_warn_fn(void *arg, const char *msg);

/* A grid entry: a fence's bounding box (shifted for a copy past the
 * antimeridian, as floats rounded outwards), the fence << 2 and the shift (0: none, 1: -360 applied to
 * the point, 2: +360). */
struct tk_gent {
	float		 x0, y0, x1, y1;	/* rounded outwards */
	uint32_t	 ent;
};

struct tk_fenceset {
	struct tk_fence	*f;
	size_t		 n, cap;
	/* grid index, built by tk_fenceset_build */
	bool		 built;
	double		 gx0, gy0, gx1, gy1, gsx, gsy;	/* domain, cells per degree */
	uint32_t	 gnx, gny;
	uint32_t	*goff;		/* gnx*gny + 1 */
	struct tk_gent	*gent;
	size_t		 ngent;
	uint32_t	*byid;		/* fence indices sorted by id */
};

void	tk_fenceset_init(struct tk_fenceset *);
void	tk_fenceset_free(struct tk_fenceset *);

/* Load every fence of a file, by its first non-blank byte: '{' GeoJSON,
 * '[' Traccar's geofence export (/api/geofences: areas in lat lon order),
 * '<' KML (Placemark polygons, through libxml2), else WKT lines
 * "NAME<TAB>WKT[<TAB>WIDTH]".  label names the file in messages.
 * Returns 0, or -1 with a reason naming label, the fence and the cause.
 * Skipped shapes (a KML pin, a Point without a radius) are warnings. */
int	tk_fenceset_load_file(struct tk_fenceset *, const char *path,
	    const struct tk_fence_opts *, tk_fence_warn_fn *, void *warnarg,
	    char *err, size_t errlen);
int	tk_fenceset_load_mem(struct tk_fenceset *, const char *label,
	    const char *text, size_t n, const struct tk_fence_opts *,
	    tk_fence_warn_fn *, void *warnarg, char *err, size_t errlen);
/* Keep only the fences whose id or name is in names[]; -1 naming the
 * first name that matches nothing. */
int	tk_fenceset_select(struct tk_fenceset *, const char *const *names,
	    size_t nnames, char *err, size_t errlen);
/* Build the index (after loading, before queries).  Checks that ids are
 * unique.  0 or -1 with a reason. */
int	tk_fenceset_build(struct tk_fenceset *, char *err, size_t errlen);
/* Index of the fence with this id (or, failing that, name), or -1. */
long	tk_fenceset_find(const struct tk_fenceset *, const char *idname);

/* Fences containing (lon, lat), ascending, without duplicates.  Returns
 * the count, which may exceed cap (only cap are stored). */
size_t	tk_fenceset_query(const struct tk_fenceset *, double lon, double lat,
	    uint32_t *out, size_t cap);
/* One fence, at a longitude already shifted into its range. */
bool	tk_fence_contains(const struct tk_fence *, double lon, double lat);
/* Distance in metres from (lon, lat) to the fence's boundary (a local
 * equirectangular approximation for polygons, exact on the sphere for
 * circles). */
double	tk_fence_boundary_dist(const struct tk_fence *, double lon, double lat);

/* A fence whose axes look swapped: more than min_km from every position
 * of the box [lon0, lon1] x [lat0, lat1] (the positions seen), while with
 * longitude and latitude exchanged it would overlap that box.  Returns the
 * fence's distance from the box in km, or -1 when it does not look
 * swapped. */
double	tk_fence_swapped_km(const struct tk_fence *, double lon0, double lat0,
	    double lon1, double lat1, double min_km);

#endif
