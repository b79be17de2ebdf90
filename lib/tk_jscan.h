/*
 * tk_jscan.h: a fast, validating scan of one JSON object (one line of
 * tk-decode output) that picks out the few top-level members tk-geofence
 * needs without building a tree.  It accepts only what it fully
 * understands: anything else (escapes in the members it extracts, numbers
 * with exponents there, duplicate geofenceIds, nesting deeper than 64,
 * any syntax error) is declined, and the caller parses the line with
 * json-c, which then has the last word on whether it is JSON at all.
 */
#ifndef TK_JSCAN_H
#define TK_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "tk_util.h"

struct tk_jrec {
	bool		 has_type, has_id, has_lat, has_lon, has_gids;
	int		 valid;		/* -1 absent (or not a boolean), 0, 1 */
	struct tk_span	 type, id, fix_time, server_time;	/* raw, unescaped */
	double		 lat, lon;
	size_t		 close;		/* offset of the object's closing brace */
	bool		 empty;		/* {} */
};

/* 0 when the line is one JSON object the scan fully read; -1 when it
 * declines (the caller must use a full parser). */
int	tk_jscan(const char *p, size_t n, struct tk_jrec *);

#endif
