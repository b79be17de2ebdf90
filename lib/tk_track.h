/*
 * tk_track.h: tracks of many devices, kept in memory with a fixed bound,
 * sorted by fix time, cleaned of GPS jumps and split into trips and stops.
 *
 * Pure: no I/O, no printing.  The caller feeds points and events (any
 * order, many devices), calls tk_track_finish() once, and then reads each
 * device's sorted points, trips and stops.  The exporters (tk_export.h)
 * turn the result into GPX, GeoJSON, KML, CSV, JSON lines and SVG.
 *
 * Segmentation (the defaults follow Traccar's report settings):
 *   - a fix is stopped when its speed is at or under stop_speed (knots);
 *     a fix without a speed uses the speed implied by the previous fix;
 *   - a run of stopped fixes, or a reporting gap (no fix for more than
 *     gap_ms), is a stop candidate; a candidate lasting at least
 *     min_stop_ms is a stop: arrival is its first fix, departure its last
 *     (for a gap: the fix before and the fix after the gap), place is the
 *     position of its first fix;
 *   - what lies between two stops is a trip when it covers at least
 *     min_trip_m metres; a shorter one joins the two stops into one;
 *     before the first and after the last stop, a trip is kept when it
 *     covers min_trip_m too;
 *   - outliers: a fix implying a speed above max_speed (knots) from the
 *     last kept fix is dropped and counted, unless the next fix confirms
 *     it (is reachable from it and not from the last kept one).
 */
#ifndef TK_TRACK_H
#define TK_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_record.h"
#include "tk_util.h"

#define TK_TRK_LABEL_MAX	96	/* event label, NUL included */
#define TK_TRK_KIND_MAX		16	/* "alarm", "geofenceEnter" ... */
#define TK_KN_MS		(1852.0 / 3600.0)	/* one knot in m/s */

/* Defaults (tk-track(1) documents them). */
#define TK_TRK_DEF_GAP_MS	(3600 * 1000LL)
#define TK_TRK_DEF_STOP_SPEED	0.01		/* knots */
#define TK_TRK_DEF_MIN_STOP_MS	(300 * 1000LL)
#define TK_TRK_DEF_MIN_TRIP_M	500.0
#define TK_TRK_DEF_MAX_SPEED	(300.0 / 1.852)	/* 300 km/h in knots */
#define TK_TRK_DEF_MAX_POINTS	2000000u	/* all devices together */
#define TK_TRK_DEF_MAX_EVENTS	200000u
#define TK_TRK_MAX_DEVICES	65536u

struct tk_tpoint {
	int64_t		 t;		/* fix time, ms since the epoch */
	double		 lat, lon;	/* degrees */
	double		 speed;		/* knots, NAN when unknown */
	double		 course;	/* degrees, NAN when unknown */
	double		 alt;		/* metres, NAN when unknown */
	uint32_t	 seq;		/* input order, for a stable sort */
	bool		 valid;
};

struct tk_tevent {
	int64_t		 t;
	double		 lat, lon;
	uint32_t	 seq;
	char		 kind[TK_TRK_KIND_MAX];		/* alarm, geofenceEnter, geofenceExit */
	char		 label[TK_TRK_LABEL_MAX];	/* "sos,overspeed", fence name */
};

struct tk_trip {
	size_t		 first, last;	/* point indexes, first < last */
	double		 distance;	/* metres */
	int64_t		 duration_ms;
	double		 max_speed;	/* knots */
	double		 avg_speed;	/* knots: distance / duration */
};

struct tk_stop {
	size_t		 first, last;	/* point indexes, first <= last */
	double		 lat, lon;
	int64_t		 arrival, departure;	/* ms */
	int64_t		 duration_ms;
};

struct tk_tdev {
	char		 id[TK_ID_MAX];
	struct tk_tpoint *pt;
	size_t		 npt, cappt;
	struct tk_tevent *ev;
	size_t		 nev, capev;
	bool		*seg_start;	/* per point: a new segment (gap) starts here */
	struct tk_trip	*trip;
	size_t		 ntrip;
	struct tk_stop	*stop;
	size_t		 nstop;
	unsigned long	 outliers, duplicates;
};

struct tk_track_opts {
	int64_t		 gap_ms;
	double		 stop_speed;	/* knots */
	int64_t		 min_stop_ms;
	double		 min_trip_m;
	double		 max_speed;	/* knots; 0 = no outlier filter */
	size_t		 max_points;	/* all devices together */
	size_t		 max_events;
};

struct tk_track {
	struct tk_track_opts o;
	struct tk_tdev	**dev;		/* sorted by id (after finish: too) */
	size_t		 ndev, capdev;
	size_t		 npoints, nevents;
	unsigned long	 over_points, over_events, over_devices;	/* dropped at the bound */
	uint32_t	 seq;
};

enum tk_tadd {
	TK_TADD_OK = 0,
	TK_TADD_FULL,		/* the bound was reached: dropped (and counted) */
	TK_TADD_NOMEM		/* malloc failed */
};

void	tk_track_defaults(struct tk_track_opts *);
void	tk_track_init(struct tk_track *, const struct tk_track_opts *);
void	tk_track_free(struct tk_track *);
enum tk_tadd tk_track_add_point(struct tk_track *, const char *id, const struct tk_tpoint *);
enum tk_tadd tk_track_add_event(struct tk_track *, const char *id, const struct tk_tevent *);
/* Sort, drop duplicates and outliers, segment.  0, or -1 when out of memory. */
int	tk_track_finish(struct tk_track *);

/* Segment one device (also called by tk_track_finish; exposed for tests). */
int	tk_track_device(struct tk_tdev *, const struct tk_track_opts *);

/* Great-circle distance (haversine, mean Earth radius 6371008.8 m). */
double	tk_haversine(double lat1, double lon1, double lat2, double lon2);

#endif
