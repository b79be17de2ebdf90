/* tk_track.c: per-device point store, sorting, outlier filter, great-circle
 * distances, trip and stop segmentation.  See tk_track.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tk_track.h"

#define EARTH_R	6371008.8

void
tk_track_defaults(struct tk_track_opts *o)
{
	o->gap_ms = TK_TRK_DEF_GAP_MS;
	o->stop_speed = TK_TRK_DEF_STOP_SPEED;
	o->min_stop_ms = TK_TRK_DEF_MIN_STOP_MS;
	o->min_trip_m = TK_TRK_DEF_MIN_TRIP_M;
	o->max_speed = TK_TRK_DEF_MAX_SPEED;
	o->max_points = TK_TRK_DEF_MAX_POINTS;
	o->max_events = TK_TRK_DEF_MAX_EVENTS;
}

void
tk_track_init(struct tk_track *t, const struct tk_track_opts *o)
{
	memset(t, 0, sizeof(*t));
	if (o)
		t->o = *o;
	else
		tk_track_defaults(&t->o);
}

static void
dev_free(struct tk_tdev *d)
{
	free(d->pt);
	free(d->ev);
	free(d->seg_start);
	free(d->trip);
	free(d->stop);
	free(d);
}

void
tk_track_free(struct tk_track *t)
{
	for (size_t i = 0; i < t->ndev; i++)
		dev_free(t->dev[i]);
	free(t->dev);
	t->dev = NULL;
	t->ndev = t->capdev = 0;
}

double
tk_haversine(double lat1, double lon1, double lat2, double lon2)
{
	const double r = M_PI / 180.0;
	double dlat = (lat2 - lat1) * r, dlon = (lon2 - lon1) * r;
	double a = sin(dlat / 2) * sin(dlat / 2) +
	    cos(lat1 * r) * cos(lat2 * r) * sin(dlon / 2) * sin(dlon / 2);
	if (a > 1)
		a = 1;
	return 2 * EARTH_R * asin(sqrt(a));
}

/* Find a device by id (binary search); create it when asked. */
static struct tk_tdev *
dev_get(struct tk_track *t, const char *id, bool create, enum tk_tadd *why)
{
	size_t lo = 0, hi = t->ndev;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->dev[mid]->id, id);
		if (c == 0)
			return t->dev[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!create)
		return NULL;
	if (t->ndev >= TK_TRK_MAX_DEVICES) {
		t->over_devices++;
		*why = TK_TADD_FULL;
		return NULL;
	}
	if (t->ndev == t->capdev) {
		size_t nc = t->capdev ? t->capdev * 2 : 16;
		struct tk_tdev **nd = reallocarray(t->dev, nc, sizeof(*nd));
		if (nd == NULL) {
			*why = TK_TADD_NOMEM;
			return NULL;
		}
		t->dev = nd;
		t->capdev = nc;
	}
	struct tk_tdev *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		*why = TK_TADD_NOMEM;
		return NULL;
	}
	tk_strlcpyn(d->id, sizeof(d->id), id, strlen(id));
	memmove(t->dev + lo + 1, t->dev + lo, (t->ndev - lo) * sizeof(*t->dev));
	t->dev[lo] = d;
	t->ndev++;
	return d;
}

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 256;
	void *np = reallocarray(*p, nc, size);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

enum tk_tadd
tk_track_add_point(struct tk_track *t, const char *id, const struct tk_tpoint *p)
{
	enum tk_tadd why = TK_TADD_OK;

	if (t->npoints >= t->o.max_points) {
		t->over_points++;
		return TK_TADD_FULL;
	}
	struct tk_tdev *d = dev_get(t, id, true, &why);
	if (d == NULL)
		return why;
	if (grow((void **)&d->pt, &d->cappt, d->npt, sizeof(*d->pt)) != 0)
		return TK_TADD_NOMEM;
	d->pt[d->npt] = *p;
	d->pt[d->npt].seq = t->seq++;
	d->npt++;
	t->npoints++;
	return TK_TADD_OK;
}

enum tk_tadd
tk_track_add_event(struct tk_track *t, const char *id, const struct tk_tevent *e)
{
	enum tk_tadd why = TK_TADD_OK;

	if (t->nevents >= t->o.max_events) {
		t->over_events++;
		return TK_TADD_FULL;
	}
	struct tk_tdev *d = dev_get(t, id, true, &why);
	if (d == NULL)
		return why;
	if (grow((void **)&d->ev, &d->capev, d->nev, sizeof(*d->ev)) != 0)
		return TK_TADD_NOMEM;
	d->ev[d->nev] = *e;
	d->ev[d->nev].seq = t->seq++;
	d->nev++;
	t->nevents++;
	return TK_TADD_OK;
}

static int
cmp_pt(const void *a, const void *b)
{
	const struct tk_tpoint *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_ev(const void *a, const void *b)
{
	const struct tk_tevent *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Implied speed in knots from a to b; INFINITY when no time passed but
 * the position changed. */
static double
implied_kn(const struct tk_tpoint *a, const struct tk_tpoint *b)
{
	double m = tk_haversine(a->lat, a->lon, b->lat, b->lon);
	double s = (double)(b->t - a->t) / 1000.0;
	if (s <= 0)
		return m < 1 ? 0 : INFINITY;
	return m / s / TK_KN_MS;
}

static void
dedup_and_filter(struct tk_tdev *d, const struct tk_track_opts *o)
{
	size_t n = 0;

	/* same fix time twice: keep the first one received */
	for (size_t i = 0; i < d->npt; i++) {
		if (n > 0 && d->pt[n - 1].t == d->pt[i].t) {
			d->duplicates++;
			continue;
		}
		d->pt[n++] = d->pt[i];
	}
	d->npt = n;
	if (o->max_speed <= 0 || d->npt < 2)
		return;
	n = 1;
	for (size_t i = 1; i < d->npt; i++) {
		const struct tk_tpoint *last = &d->pt[n - 1], *p = &d->pt[i];
		if (implied_kn(last, p) > o->max_speed) {
			/* confirmed by the next fix: the vehicle really is there */
			bool confirmed = i + 1 < d->npt &&
			    implied_kn(p, &d->pt[i + 1]) <= o->max_speed &&
			    implied_kn(last, &d->pt[i + 1]) > o->max_speed;
			if (!confirmed) {
				d->outliers++;
				continue;
			}
		}
		d->pt[n++] = *p;
	}
	d->npt = n;
}

struct range {
	size_t	first, last;
};

static double
path_m(const struct tk_tdev *d, size_t a, size_t b)
{
	double m = 0;
	for (size_t i = a; i < b; i++)
		m += tk_haversine(d->pt[i].lat, d->pt[i].lon, d->pt[i + 1].lat, d->pt[i + 1].lon);
	return m;
}

static int
add_trip(struct tk_tdev *d, size_t *cap, size_t a, size_t b)
{
	if (b <= a)
		return 0;
	if (grow((void **)&d->trip, cap, d->ntrip, sizeof(*d->trip)) != 0)
		return -1;
	struct tk_trip *tr = &d->trip[d->ntrip++];
	tr->first = a;
	tr->last = b;
	tr->distance = path_m(d, a, b);
	tr->duration_ms = d->pt[b].t - d->pt[a].t;
	tr->max_speed = 0;
	for (size_t i = a; i <= b; i++) {
		double v = d->pt[i].speed;
		if (isnan(v) && i > a)
			v = implied_kn(&d->pt[i - 1], &d->pt[i]);
		if (!isnan(v) && isfinite(v) && v > tr->max_speed)
			tr->max_speed = v;
	}
	tr->avg_speed = tr->duration_ms > 0 ?
	    tr->distance / ((double)tr->duration_ms / 1000.0) / TK_KN_MS : 0;
	/* the average comes from the fixes, the maximum from the speeds the
	 * device reported, rounded (whole knots, km/h converted): a trip at
	 * a steady 36 kn reported as 36 averages 36.02.  The maximum is
	 * never below the average. */
	if (tr->avg_speed > tr->max_speed)
		tr->max_speed = tr->avg_speed;
	return 0;
}

int
tk_track_device(struct tk_tdev *d, const struct tk_track_opts *o)
{
	struct range *cand = NULL;
	size_t ncand = 0, capcand = 0, captrip = 0, capstop = 0;
	int rc = -1;

	if (d->npt > 1)
		qsort(d->pt, d->npt, sizeof(*d->pt), cmp_pt);
	if (d->nev > 1)
		qsort(d->ev, d->nev, sizeof(*d->ev), cmp_ev);
	dedup_and_filter(d, o);
	free(d->seg_start);
	free(d->trip);
	free(d->stop);
	d->trip = NULL;
	d->stop = NULL;
	d->ntrip = d->nstop = 0;
	d->seg_start = calloc(d->npt ? d->npt : 1, sizeof(bool));
	if (d->seg_start == NULL)
		return -1;
	if (d->npt == 0)
		return 0;
	d->seg_start[0] = true;

	/* stop candidates: runs of stopped fixes, and reporting gaps, as
	 * index ranges; overlapping or touching ranges merge */
	for (size_t i = 0; i < d->npt; i++) {
		const struct tk_tpoint *p = &d->pt[i];
		double v = p->speed;
		if (isnan(v))
			v = i > 0 ? implied_kn(&d->pt[i - 1], p) : 0;
		bool gap = i > 0 && p->t - d->pt[i - 1].t > o->gap_ms;
		if (gap)
			d->seg_start[i] = true;
		struct range r = {i, i};
		bool have = false;
		if (gap) {
			r.first = i - 1;
			have = true;
		}
		if (v <= o->stop_speed)
			have = true;
		if (!have)
			continue;
		if (ncand > 0 && cand[ncand - 1].last + 1 >= r.first) {
			if (r.last > cand[ncand - 1].last)
				cand[ncand - 1].last = r.last;
			continue;
		}
		if (grow((void **)&cand, &capcand, ncand, sizeof(*cand)) != 0)
			goto out;
		cand[ncand++] = r;
	}
	/* Two stopped runs one moving fix apart do not touch: a fix
	 * between them is motion.  Keep the long ones. */
	size_t k = 0;
	for (size_t i = 0; i < ncand; i++)
		if (d->pt[cand[i].last].t - d->pt[cand[i].first].t >= o->min_stop_ms)
			cand[k++] = cand[i];
	ncand = k;
	/* join stops separated by less than a trip */
	k = 0;
	for (size_t i = 0; i < ncand; i++) {
		if (k > 0 && path_m(d, cand[k - 1].last, cand[i].first) < o->min_trip_m)
			cand[k - 1].last = cand[i].last;
		else
			cand[k++] = cand[i];
	}
	ncand = k;
	for (size_t i = 0; i < ncand; i++) {
		if (grow((void **)&d->stop, &capstop, d->nstop, sizeof(*d->stop)) != 0)
			goto out;
		struct tk_stop *s = &d->stop[d->nstop++];
		s->first = cand[i].first;
		s->last = cand[i].last;
		s->lat = d->pt[s->first].lat;
		s->lon = d->pt[s->first].lon;
		s->arrival = d->pt[s->first].t;
		s->departure = d->pt[s->last].t;
		s->duration_ms = s->departure - s->arrival;
	}
	/* trips: what lies between the stops */
	size_t from = 0;
	for (size_t i = 0; i <= d->nstop; i++) {
		size_t to = i < d->nstop ? d->stop[i].first : d->npt - 1;
		if (to > from && path_m(d, from, to) >= o->min_trip_m)
			if (add_trip(d, &captrip, from, to) != 0)
				goto out;
		if (i < d->nstop)
			from = d->stop[i].last;
	}
	rc = 0;
out:
	free(cand);
	return rc;
}

int
tk_track_finish(struct tk_track *t)
{
	for (size_t i = 0; i < t->ndev; i++)
		if (tk_track_device(t->dev[i], &t->o) != 0)
			return -1;
	return 0;
}
