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

struct tk_fenceset;

/* The most fences and polygon edges an SVG draws (tk-track -g). */
#define TK_XFENCE_MAX		4096
#define TK_XFENCE_VERT_MAX	200000

struct tk_export_opts {
	const char	*creator;	/* "tk-track (tk103-tools) 0.3.0" */
	const struct tk_fenceset *fences;	/* SVG only (tk_fence.h); may be NULL */
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
