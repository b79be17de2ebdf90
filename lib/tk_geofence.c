/*
 * tk_geofence.c: the per-device, per-fence event state machine with
 * hysteresis, fence assignment and the state file (tk_geofence.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIBBSD_NETBSD_VIS
#include <vis.h>

#include "tk_geofence.h"
#include "tk_util.h"

#define NONE	INT64_MIN

struct fst {
	uint32_t fence;
	uint8_t	 inside;
	int64_t	 since;		/* crossing observed since, or NONE */
};

struct dev {
	char	 id[TK_GF_DEV_MAX];
	bool	 seen;
	bool	 has_asg;
	int64_t	 last;
	uint32_t n, cap;
	struct fst *st;
	uint32_t nasg;
	uint32_t *asg;		/* assigned fences, ascending */
};

struct tk_gf {
	const struct tk_fenceset *fs;
	struct tk_gf_opts o;
	struct dev	**tab;
	size_t		 ntab, ndev;
	bool		 has_default;
	uint32_t	 ndefault;
	uint32_t	*defasg;
	struct fst	*scratch;
	size_t		 nscratch;
};


static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

struct tk_gf *
tk_gf_new(const struct tk_fenceset *fs, const struct tk_gf_opts *o)
{
	struct tk_gf *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return NULL;
	g->fs = fs;
	if (o)
		g->o = *o;
	g->ntab = 1024;
	g->tab = calloc(g->ntab, sizeof(*g->tab));
	if (g->tab == NULL) {
		free(g);
		return NULL;
	}
	return g;
}

void
tk_gf_free(struct tk_gf *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->ntab; i++)
		if (g->tab[i]) {
			free(g->tab[i]->st);
			free(g->tab[i]->asg);
			free(g->tab[i]);
		}
	free(g->tab);
	free(g->defasg);
	free(g->scratch);
	free(g);
}

size_t
tk_gf_devices(const struct tk_gf *g)
{
	return g->ndev;
}

static struct dev *
lookup(struct tk_gf *g, const char *id, size_t n, bool create, int *why)
{
	*why = 0;
	if (n == 0 || n >= TK_GF_DEV_MAX) {
		*why = TK_GF_BADID;
		return NULL;
	}
	size_t mask = g->ntab - 1, i = hash(id, n) & mask;
	for (; g->tab[i]; i = (i + 1) & mask)
		if (strncmp(g->tab[i]->id, id, n) == 0 && g->tab[i]->id[n] == '\0')
			return g->tab[i];
	if (!create)
		return NULL;
	if (g->ndev >= TK_GF_DEVICES_MAX) {
		*why = TK_GF_FULL;
		return NULL;
	}
	if ((g->ndev + 1) * 2 > g->ntab) {
		size_t nn = g->ntab * 2;
		struct dev **nt = calloc(nn, sizeof(*nt));
		if (nt == NULL) {
			*why = TK_GF_FULL;
			return NULL;
		}
		for (size_t k = 0; k < g->ntab; k++) {
			struct dev *d = g->tab[k];
			if (!d)
				continue;
			size_t j = hash(d->id, strlen(d->id)) & (nn - 1);
			while (nt[j])
				j = (j + 1) & (nn - 1);
			nt[j] = d;
		}
		free(g->tab);
		g->tab = nt;
		g->ntab = nn;
		mask = nn - 1;
		for (i = hash(id, n) & mask; g->tab[i]; i = (i + 1) & mask)
			;
	}
	struct dev *d = calloc(1, sizeof(*d));
	if (d == NULL) {
		*why = TK_GF_FULL;
		return NULL;
	}
	memcpy(d->id, id, n);
	d->id[n] = '\0';
	d->last = NONE;
	g->tab[i] = d;
	g->ndev++;
	return d;
}

/* ---- assignment ------------------------------------------------------ */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int
add_asg(uint32_t **arr, uint32_t *n, uint32_t fence)
{
	uint32_t *na = reallocarray(*arr, (size_t)*n + 1, sizeof(**arr));
	if (na == NULL)
		return -1;
	*arr = na;
	na[(*n)++] = fence;
	return 0;
}

static void
sort_uniq(uint32_t *a, uint32_t *n)
{
	if (*n == 0)
		return;
	qsort(a, *n, sizeof(*a), cmp_u32);
	uint32_t w = 1;
	for (uint32_t i = 1; i < *n; i++)
		if (a[i] != a[w - 1])
			a[w++] = a[i];
	*n = w;
}

int
tk_gf_assign(struct tk_gf *g, const char *label, const char *text, size_t n,
    char *err, size_t errlen)
{
	unsigned long lineno = 0;
	const char *p = text, *end = text + n;
	char tok[TK_FENCE_ID_MAX];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		lineno++;
		const char *q = p;
		struct dev *d = NULL;
		bool first = true, isdef = false;
		for (;;) {
			while (q < eol && (*q == ' ' || *q == '\t' || *q == '\r'))
				q++;
			if (q == eol || *q == '#')
				break;
			const char *t = q;
			while (q < eol && *q != ' ' && *q != '\t' && *q != '\r')
				q++;
			size_t tl = (size_t)(q - t);
			if (first) {
				first = false;
				if (tl == 1 && *t == '*') {
					isdef = true;
					g->has_default = true;
					continue;
				}
				int why;
				d = lookup(g, t, tl, true, &why);
				if (d == NULL) {
					tk_errf(err, errlen, "%s:%lu: %s", label, lineno,
					    why == TK_GF_BADID ? "device id too long" :
					    "too many devices");
					return -1;
				}
				d->has_asg = true;
				continue;
			}
			if (tl >= sizeof(tok)) {
				tk_errf(err, errlen, "%s:%lu: fence name too long", label, lineno);
				return -1;
			}
			memcpy(tok, t, tl);
			tok[tl] = '\0';
			long fi = tk_fenceset_find(g->fs, tok);
			if (fi < 0) {
				tk_errf(err, errlen, "%s:%lu: no fence named '%s'", label,
				    lineno, tok);
				return -1;
			}
			int rc = isdef ? add_asg(&g->defasg, &g->ndefault, (uint32_t)fi) :
			    add_asg(&d->asg, &d->nasg, (uint32_t)fi);
			if (rc != 0) {
				tk_errf(err, errlen, "out of memory");
				return -1;
			}
		}
		p = eol + (nl ? 1 : 0);
	}
	sort_uniq(g->defasg, &g->ndefault);
	for (size_t i = 0; i < g->ntab; i++)
		if (g->tab[i])
			sort_uniq(g->tab[i]->asg, &g->tab[i]->nasg);
	return 0;
}

static size_t
intersect(uint32_t *in, size_t n, const uint32_t *a, uint32_t na)
{
	size_t w = 0, j = 0;
	for (size_t i = 0; i < n; i++) {
		while (j < na && a[j] < in[i])
			j++;
		if (j < na && a[j] == in[i])
			in[w++] = in[i];
	}
	return w;
}

size_t
tk_gf_allowed(struct tk_gf *g, const char *dev, size_t devlen, uint32_t *in, size_t n)
{
	int why;
	struct dev *d = lookup(g, dev, devlen, false, &why);
	if (d && d->has_asg)
		return intersect(in, n, d->asg, d->nasg);
	if (g->has_default)
		return intersect(in, n, g->defasg, g->ndefault);
	return n;
}

/* ---- events ---------------------------------------------------------- */

static double
shift_into(const struct tk_fence *f, double lon)
{
	if (lon < f->minx && lon + 360 <= f->maxx + 1e-9)
		return lon + 360;
	if (lon > f->maxx && lon - 360 >= f->minx - 1e-9)
		return lon - 360;
	return lon;
}

/* Decide one (device, fence); returns 1 when the state flipped. */
static int
step(struct tk_gf *g, struct fst *e, bool raw, bool first, double lon, double lat,
    int64_t t)
{
	if (first && g->o.silent_start) {
		e->inside = raw;
		e->since = NONE;
		return 0;
	}
	if (raw == (bool)e->inside) {
		e->since = NONE;
		return 0;
	}
	if (g->o.buffer_m > 0) {
		const struct tk_fence *f = &g->fs->f[e->fence];
		if (tk_fence_boundary_dist(f, shift_into(f, lon), lat) < g->o.buffer_m) {
			e->since = NONE;
			return 0;
		}
	}
	if (g->o.dwell_ms > 0) {
		if (e->since == NONE || t == NONE) {
			e->since = t;
			return 0;
		}
		if (t - e->since < g->o.dwell_ms)
			return 0;
	}
	e->inside = raw;
	e->since = NONE;
	return 1;
}

int
tk_gf_update(struct tk_gf *g, const char *id, size_t idlen, double lon, double lat,
    int64_t t, const uint32_t *in, size_t n, tk_gf_event_fn *ev, void *arg)
{
	int why;
	struct dev *d = lookup(g, id, idlen, true, &why);
	if (d == NULL)
		return why;
	if (d->seen && t != NONE && d->last != NONE && t < d->last)
		return TK_GF_OLD;
	bool first = !d->seen;
	size_t need = (size_t)d->n + n;
	if (need > g->nscratch) {
		size_t nc = g->nscratch ? g->nscratch : 64;
		while (nc < need)
			nc *= 2;
		struct fst *ns = reallocarray(g->scratch, nc, sizeof(*ns));
		if (ns == NULL)
			return TK_GF_FULL;
		g->scratch = ns;
		g->nscratch = nc;
	}
	size_t w = 0, i = 0, j = 0;
	int stop = 0;
	while (i < n || j < d->n) {
		struct fst e;
		bool raw;
		if (j < d->n && (i >= n || d->st[j].fence <= in[i])) {
			e = d->st[j];
			raw = i < n && in[i] == e.fence;
			if (raw)
				i++;
			j++;
		} else {
			e = (struct fst){in[i], 0, NONE};
			raw = true;
			i++;
		}
		if (!stop && step(g, &e, raw, first, lon, lat, t) && ev)
			stop = ev(arg, e.fence, e.inside);
		if (e.inside || e.since != NONE)
			g->scratch[w++] = e;
	}
	if (w > d->cap) {
		struct fst *ns = reallocarray(d->st, w, sizeof(*ns));
		if (ns == NULL)
			return TK_GF_FULL;
		d->st = ns;
		d->cap = (uint32_t)w;
	}
	if (w)
		memcpy(d->st, g->scratch, w * sizeof(*d->st));
	d->n = (uint32_t)w;
	d->seen = true;
	if (t != NONE)
		d->last = t;
	return stop ? -stop : TK_GF_OK;
}

/* ---- state file ------------------------------------------------------ */

struct sb {
	char	*p;
	size_t	 len, cap;
	bool	 oom;
};

static void sb_printf(struct sb *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		/* no buffer yet: measure (into one byte of our own, room 0) */
		char none;
		size_t room = b->p ? b->cap - b->len : 0;
		va_start(ap, fmt);
		int r = vsnprintf(b->p ? b->p + b->len : &none, room, fmt, ap);
		va_end(ap);
		if (r < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)r < room) {
			b->len += (size_t)r;
			return;
		}
		size_t nc = b->cap ? b->cap * 2 : 4096;
		while (nc - b->len <= (size_t)r)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static void
fmt_time(char *buf, size_t n, int64_t t)
{
	if (t == NONE)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%lld", (long long)t);
}

int
tk_gf_save(const struct tk_gf *g, char **out, size_t *len)
{
	struct sb b = {0};
	char vid[4 * TK_GF_DEV_MAX + 1], t1[24], t2[24];
	sb_printf(&b, "tk-geofence-state 1\n");
	for (size_t i = 0; i < g->ntab && !b.oom; i++) {
		const struct dev *d = g->tab[i];
		if (d == NULL || !d->seen)
			continue;
		strvisx(vid, d->id, strlen(d->id), VIS_TAB | VIS_NL | VIS_WHITE | VIS_CSTYLE | VIS_OCTAL);
		fmt_time(t1, sizeof(t1), d->last);
		sb_printf(&b, "device\t%s\t%s\n", vid, t1);
		for (uint32_t k = 0; k < d->n; k++) {
			fmt_time(t2, sizeof(t2), d->st[k].since);
			sb_printf(&b, "fence\t%s\t%s\t%s\t%s\n", vid,
			    g->fs->f[d->st[k].fence].id,
			    d->st[k].inside ? "inside" : "outside", t2);
		}
	}
	if (b.oom) {
		free(b.p);
		return -1;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

static int
parse_time(const char *s, int64_t *t)
{
	if (strcmp(s, "-") == 0) {
		*t = NONE;
		return 0;
	}
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (e == s || *e != '\0' || errno == ERANGE || v == NONE)
		return -1;
	*t = v;
	return 0;
}

static int
cmp_fst(const void *a, const void *b)
{
	uint32_t x = ((const struct fst *)a)->fence, y = ((const struct fst *)b)->fence;
	return x < y ? -1 : x > y;
}

int
tk_gf_load(struct tk_gf *g, const char *label, const char *text, size_t n,
    size_t *dropped, char *err, size_t errlen)
{
	unsigned long lineno = 0;
	const char *p = text, *end = text + n;
	char line[4 * TK_GF_DEV_MAX + TK_FENCE_ID_MAX + 128];
	char dev[4 * TK_GF_DEV_MAX + 1];
	*dropped = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t ln = (size_t)(eol - p);
		lineno++;
		if (ln >= sizeof(line) || memchr(p, '\0', ln)) {
			tk_errf(err, errlen, "%s:%lu: bad line", label, lineno);
			return -1;
		}
		memcpy(line, p, ln);
		line[ln] = '\0';
		p = eol + (nl ? 1 : 0);
		if (lineno == 1) {
			if (strcmp(line, "tk-geofence-state 1") != 0) {
				tk_errf(err, errlen, "%s:1: not a tk-geofence state file", label);
				return -1;
			}
			continue;
		}
		if (ln == 0)
			continue;
		char *f[6];
		int nf = 0;
		for (char *s = line, *tok; nf < 6 && (tok = strsep(&s, "\t")) != NULL;)
			f[nf++] = tok;
		bool isdev = nf == 3 && strcmp(f[0], "device") == 0;
		bool isfen = nf == 5 && strcmp(f[0], "fence") == 0;
		int64_t t;
		if ((!isdev && !isfen) || strlen(f[1]) >= sizeof(dev) ||
		    strunvis(dev, f[1]) < 0 ||
		    parse_time(isdev ? f[2] : f[4], &t) != 0 ||
		    (isfen && strcmp(f[3], "inside") != 0 && strcmp(f[3], "outside") != 0)) {
			tk_errf(err, errlen, "%s:%lu: bad state line", label, lineno);
			return -1;
		}
		int why;
		struct dev *d = lookup(g, dev, strlen(dev), true, &why);
		if (d == NULL) {
			tk_errf(err, errlen, "%s:%lu: %s", label, lineno,
			    why == TK_GF_BADID ? "bad device id" : "too many devices");
			return -1;
		}
		d->seen = true;
		if (isdev) {
			d->last = t;
			continue;
		}
		long fi = tk_fenceset_find(g->fs, f[2]);
		if (fi < 0) {
			(*dropped)++;
			continue;
		}
		bool inside = strcmp(f[3], "inside") == 0;
		if (!inside && t == NONE)
			continue;
		if (d->n == d->cap) {
			uint32_t nc = d->cap ? d->cap * 2 : 4;
			struct fst *ns = reallocarray(d->st, nc, sizeof(*ns));
			if (ns == NULL) {
				tk_errf(err, errlen, "out of memory");
				return -1;
			}
			d->st = ns;
			d->cap = nc;
		}
		d->st[d->n++] = (struct fst){(uint32_t)fi, inside, t};
	}
	for (size_t i = 0; i < g->ntab; i++) {
		struct dev *d = g->tab[i];
		if (d == NULL || d->n < 2)
			continue;
		qsort(d->st, d->n, sizeof(*d->st), cmp_fst);
		uint32_t w = 1;
		for (uint32_t k = 1; k < d->n; k++)
			if (d->st[k].fence != d->st[w - 1].fence)
				d->st[w++] = d->st[k];
		d->n = w;
	}
	return 0;
}
