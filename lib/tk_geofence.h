/*
 * tk_geofence.h: geofence events.  Per device and fence a state (inside or
 * outside) that changes only when a position is far enough across the
 * boundary (buffer) for long enough (dwell); per-device fence assignment;
 * the state saved and restored as text lines (tk-geofence(1), STATE FILE).
 */
#ifndef TK_GEOFENCE_H
#define TK_GEOFENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_fence.h"

#define TK_GF_DEV_MAX		64		/* device id bytes, NUL included */
#define TK_GF_DEVICES_MAX	(1u << 21)	/* devices tracked at once */

struct tk_gf_opts {
	double	 buffer_m;	/* minimum distance across the boundary */
	int64_t	 dwell_ms;	/* minimum time across the boundary */
	bool	 silent_start;	/* a device's first position sets its state quietly */
};

struct tk_gf;

/* An event: enter (true) or exit (false) of fence for device. */
typedef int tk_gf_event_fn(void *arg, uint32_t fence, bool enter);

struct tk_gf *tk_gf_new(const struct tk_fenceset *, const struct tk_gf_opts *);
void	tk_gf_free(struct tk_gf *);

/* Read an assignment file's text: lines "DEVICE FENCE..." (whitespace
 * separated; "*" as DEVICE for every device not listed; '#' comments).
 * 0, or -1 with a reason naming label:line. */
int	tk_gf_assign(struct tk_gf *, const char *label, const char *text, size_t n,
	    char *err, size_t errlen);
/* Keep in[0..n) only the fences assigned to dev (all without
 * assignments); returns the new count. */
size_t	tk_gf_allowed(struct tk_gf *, const char *dev, size_t devlen,
	    uint32_t *in, size_t n);

enum tk_gf_result {
	TK_GF_OK = 0,
	TK_GF_OLD = 1,		/* older than the device's last position: ignored */
	TK_GF_FULL = 2,		/* too many devices: ignored */
	TK_GF_BADID = 3		/* device id empty or too long: ignored */
};
/* One position of dev at time t (ms) inside the fences in[0..n)
 * (ascending, as tk_fenceset_query gives them, already filtered by
 * tk_gf_allowed).  Calls ev for each event, in fence order; a non-zero
 * return from ev stops and is returned negated. */
int	tk_gf_update(struct tk_gf *, const char *dev, size_t devlen, double lon,
	    double lat, int64_t t, const uint32_t *in, size_t n,
	    tk_gf_event_fn *ev, void *arg);

/* State as text ("tk-geofence-state 1" then one line per device and per
 * fence a device is inside of or crossing): malloc'd into *out. */
int	tk_gf_save(const struct tk_gf *, char **out, size_t *len);
/* Restore; fences no longer loaded are dropped (counted in *dropped). */
int	tk_gf_load(struct tk_gf *, const char *label, const char *text, size_t n,
	    size_t *dropped, char *err, size_t errlen);
size_t	tk_gf_devices(const struct tk_gf *);

#endif
