/*
 * tk_export.h: writers for finished tracks (tk_track.h): GPX 1.1, KML 2.2,
 * GeoJSON, CSV, JSON lines and SVG, each to a FILE * the caller gives
 * (a file, stdout, or open_memstream() for a buffer).  XML goes through
 * libxml2's xmlTextWriter, JSON strings through the library's escaper, so
 * a device name with <, & or " in it stays well formed.
 *
 * Each writer returns 0, or -1 when the stream failed (check ferror and
 * errno) or memory ran out; err gets a reason.
 */
#ifndef TK_EXPORT_H
#define TK_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "tk_track.h"

#define TK_XFENCE_NAME_MAX	96
#define TK_XFENCE_MAX		4096	/* fences per file */
#define TK_XFENCE_VERT_MAX	200000	/* vertices per file */

/* A geofence for the picture: a polygon ring (the outer one of each
 * polygon) or a circle (a GeoJSON Point with a "radius" property, in
 * metres). */
struct tk_xfence {
	char		 name[TK_XFENCE_NAME_MAX];
	double		*lat, *lon;	/* ring vertices (polygon) */
	size_t		 n;
	double		 radius;	/* > 0: a circle around lat[0], lon[0] */
};

struct tk_xfences {
	struct tk_xfence *f;
	size_t		 n;
};

/* Parse a GeoJSON FeatureCollection (or one Feature, or one geometry):
 * Polygon, MultiPolygon and Point-with-radius features; the name comes
 * from the "name" property (else "fence N").  Other geometries are
 * skipped.  0, or -1 with a reason in err. */
int	tk_xfences_parse(const char *text, size_t n, struct tk_xfences *,
	    char *err, size_t errlen);
void	tk_xfences_free(struct tk_xfences *);

struct tk_export_opts {
	const char	*creator;	/* "tk-track (tk103-tools) 0.3.0" */
	const struct tk_xfences *fences;	/* SVG only; may be NULL */
	int		 width, height;	/* SVG size in px; 0 = 960 x 640 */
};

int	tk_export_gpx(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *err, size_t errlen);
int	tk_export_kml(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *err, size_t errlen);
int	tk_export_geojson(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *err, size_t errlen);
int	tk_export_csv(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *err, size_t errlen);
int	tk_export_json(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *err, size_t errlen);
int	tk_export_svg(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *err, size_t errlen);

#endif
