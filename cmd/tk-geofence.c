/*
 * tk-geofence: test positions (tk-decode's JSON lines) against geofences:
 * filter them, annotate them with the fences that contain them, or emit
 * geofenceEnter/geofenceExit events.  A thin main over lib/tk_fence.c
 * (fences, index, containment), lib/tk_geofence.c (events, state) and
 * lib/tk_jscan.c (the fast record scan; json-c for everything it declines).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>
#include <json-c/json.h>

#include "cli.h"
#include "tk_fence.h"
#include "tk_geofence.h"
#include "tk_jscan.h"
#include "tk_loop.h"

static const char usage_text[] =
    "usage: tk-geofence [-aDeiIopqrS] -f fences [-f fences ...] [-A assignments]\n"
    "                   [-b metres] [-n fence] [-s statefile] [-t duration]\n"
    "                   [-w metres] [--full-parse] [--wkt-order lonlat|latlon]\n"
    "                   [--pass-invalid] [file ...]\n";

static const char help_text[] =
    "Test tk-decode positions (JSON lines) against geofences.\n"
    "\n"
    "Modes (at least one):\n"
    "  -i, --inside          write only positions inside a fence\n"
    "  -o, --outside         write only positions outside every fence\n"
    "  -a, --annotate        add \"geofenceIds\" (the fences containing it) to\n"
    "                        each position written\n"
    "  -e, --events          emit geofenceEnter/geofenceExit records\n"
    "Fences:\n"
    "  -f, --fences FILE     GeoJSON, KML, Traccar's /api/geofences JSON or WKT\n"
    "                        lines (NAME<TAB>WKT[<TAB>WIDTH]); repeatable\n"
    "  -n, --name FENCE      use only this fence (id or name); repeatable\n"
    "  -r, --repair          repair invalid polygons (GEOSMakeValid) with a\n"
    "                        warning instead of failing\n"
    "  -w, --width METRES    corridor width for LINESTRING fences without one\n"
    "      --wkt-order ORDER axis order of WKT lines: lonlat (default, OGC x y)\n"
    "                        or latlon (Traccar's order; alias traccar)\n"
    "  -A, --assign FILE     which devices are checked against which fences\n"
    "Events:\n"
    "  -b, --buffer METRES   a crossing counts once this far across the boundary\n"
    "  -t, --dwell DURATION  ... and after this long across it (30, 30s, 5m, 1h)\n"
    "  -I, --use-invalid     invalid fixes trigger events too\n"
    "  -p, --positions       with -e alone, also write the positions\n"
    "  -s, --state FILE      restore the state from FILE and save it at exit\n"
    "  -S, --silent-start    a device's first position sets its state quietly\n"
    "Records:\n"
    "  -D, --drop-other      drop records that are not positions\n"
    "      --full-parse      parse every record with json-c (slower)\n"
    "      --pass-invalid    pass lines that are not JSON objects through (by\n"
    "                        default they are dropped and counted)\n"
    "  -q, --quiet           no summary on stderr at the end\n"
    "  -h, --help            this help\n"
    "  -V, --version         print the version\n"
    "\n"
    "Exit status: 0 ok, 1 bad fences or state, 2 usage, 3 I/O error,\n"
    "4 stdout closed, 130/143 stopped by SIGINT/SIGTERM before the end of the\n"
    "input.  See tk-geofence(1).\n";

#define LINE_MAX_BYTES	(4u << 20)
#define OUT_CAP		(1u << 20)
#define MAX_NAMES	1024
#define MAX_FILES	256

enum { OPT_FULL = 256, OPT_WKT, OPT_PASS };

struct ctx {
	/* options */
	bool		 inside, outside, annotate, events, positions, drop, quiet,
			 use_invalid, full, pass_invalid;
	/* fences */
	struct tk_fenceset fs;
	char		**jid;		/* per fence: the JSON-quoted id */
	char		**jname;
	struct tk_gf	*gf;
	bool		 assigned;
	/* I/O */
	struct cli_out	 out;
	json_tokener	*tok;
	struct tk_buf	 sc;		/* scratch for built lines */
	uint32_t	*hits;
	size_t		 nhits;
	const char	*fname;
	unsigned long	 lineno;
	/* the current position, for the event callback */
	const char	*line;
	size_t		 linelen;
	const char	*devp;
	size_t		 devn;
	const char	*etime;
	size_t		 etimen;
	/* the box of the positions seen (for fences that look swapped) */
	double		 plon0, plat0, plon1, plat1;
	/* counters */
	unsigned long	 records, positions_n, other, notjson, written, enters,
			 exits, old, noid, full_n, slow, dropped, implausible;
	struct cli_wcap	 notjson_w;	/* the first few not-JSON lines shown */
	struct cli_wcap	 implausible_w;	/* the first few implausible records shown */
	bool		 dead;
};

/* a read of an input failed (exit 3 at the end) */
static bool input_failed;

static void
fence_warn(void *arg, const char *msg)
{
	(void)arg;
	warnx("%s", msg);
}

/* ---- output -------------------------------------------------------- */

static void
out_check(struct ctx *c)
{
	if (cli_out_dead(&c->out))
		c->dead = true;
}

static void
emit(struct ctx *c, const char *p, size_t n)
{
	if (c->dead)
		return;
	if (n > OUT_CAP / 2) {
		cli_out_flush(&c->out);
		size_t off = 0;
		while (off < n && c->out.err == 0) {
			ssize_t w = write(c->out.fd, p + off, n - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				c->out.err = errno;
				break;
			}
			off += (size_t)w;
		}
	} else {
		struct tk_buf *b = cli_out_reserve(&c->out, n);
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
	out_check(c);
}

/* A line and its newline: in one copy when the newline follows it in the
 * input buffer, as it does for every line run_fd hands on. */
static void
emit_line(struct ctx *c, const char *p, size_t n)
{
	if (p[n] == '\n') {
		emit(c, p, n + 1);
	} else {
		emit(c, p, n);
		emit(c, "\n", 1);
	}
}

static void
sc_reserve(struct ctx *c, size_t n)
{
	if (c->sc.cap - c->sc.len >= n)
		return;
	size_t nc = c->sc.cap ? c->sc.cap : 4096;
	while (nc - c->sc.len < n)
		nc *= 2;
	char *np = realloc(c->sc.p, nc);
	if (np == NULL)
		err(TK_EXIT_IO, "realloc");
	c->sc.p = np;
	c->sc.cap = nc;
}

static void
sc_put(struct ctx *c, const char *p, size_t n)
{
	sc_reserve(c, n);
	memcpy(c->sc.p + c->sc.len, p, n);
	c->sc.len += n;
}

static void
sc_str(struct ctx *c, const char *s)
{
	sc_put(c, s, strlen(s));
}

static void
sc_ids(struct ctx *c, const uint32_t *in, size_t n)
{
	sc_put(c, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sc_put(c, ",", 1);
		sc_str(c, c->jid[in[i]]);
	}
	sc_put(c, "]", 1);
}

static char *
json_quote(const char *s)
{
	struct tk_buf b = {0};
	b.cap = 6 * strlen(s) + 8;
	b.p = malloc(b.cap);
	if (b.p == NULL)
		err(TK_EXIT_IO, "malloc");
	if (tk_buf_json_str(&b, s, strlen(s)) < 0)
		errx(TK_EXIT_SOFTWARE, "cannot quote '%s'", s);
	b.p[b.len] = '\0';
	return b.p;
}

/* ---- events ---------------------------------------------------------- */

static int
on_event(void *arg, uint32_t fi, bool enter)
{
	struct ctx *c = arg;
	const struct tk_fence *f = &c->fs.f[fi];
	c->sc.len = 0;
	sc_str(c, enter ? "{\"type\":\"geofenceEnter\",\"uniqueId\":" :
	    "{\"type\":\"geofenceExit\",\"uniqueId\":");
	sc_reserve(c, 6 * c->devn + 8);
	if (tk_buf_json_str(&c->sc, c->devp, c->devn) < 0)
		errx(TK_EXIT_SOFTWARE, "device id");
	sc_str(c, ",\"geofenceId\":");
	sc_str(c, c->jid[fi]);
	sc_str(c, ",\"geofence\":");
	sc_str(c, c->jname[fi]);
	if (c->etimen) {
		sc_str(c, ",\"eventTime\":\"");
		sc_put(c, c->etime, c->etimen);
		sc_put(c, "\"", 1);
	}
	if (f->props) {
		sc_str(c, ",\"geofenceAttributes\":");
		sc_str(c, f->props);
	}
	sc_str(c, ",\"position\":");
	sc_put(c, c->line, c->linelen);
	sc_str(c, "}\n");
	emit(c, c->sc.p, c->sc.len);
	if (enter)
		c->enters++;
	else
		c->exits++;
	return c->dead ? 1 : 0;
}

/* "2008-08-31T06:29:27.294Z" (fraction optional) to ms, or TK_TIME_NONE. */
static int64_t
parse_iso(const char *p, size_t n)
{
	int v[6];
	static const int pos[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
	if (n < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
	    p[16] != ':' || p[n - 1] != 'Z')
		return TK_TIME_NONE;
	for (int i = 0; i < 6; i++) {
		uint64_t u;
		if (tk_parse_uint(p + pos[i], (size_t)len[i], 9999, &u) != 0)
			return TK_TIME_NONE;
		v[i] = (int)u;
	}
	int ms = 0;
	if (n > 20) {
		if (p[19] != '.' || n - 21 < 1 || n - 21 > 9)
			return TK_TIME_NONE;
		uint64_t u;
		if (tk_parse_uint(p + 20, n - 21, 999999999, &u) != 0)
			return TK_TIME_NONE;
		for (size_t k = n - 21; k < 3; k++)
			u *= 10;
		for (size_t k = n - 21; k > 3; k--)
			u /= 10;
		ms = (int)u;
	} else if (n != 20)
		return TK_TIME_NONE;
	int64_t t;
	if (tk_time_utc(v[0], v[1], v[2], v[3], v[4], v[5], ms, &t) != 0)
		return TK_TIME_NONE;
	return t;
}

/* At the end: a fence far from every position that, with its axes
 * exchanged, would lie among them was most likely read in the wrong
 * order (a Traccar lat lon WKT read as OGC lon lat, or the reverse). */
#define SWAPPED_KM	1000

static void
swapped_check(struct ctx *c)
{
	struct cli_wcap wc = {0};
	for (size_t i = 0; i < c->fs.n; i++) {
		const struct tk_fence *f = &c->fs.f[i];
		double km = tk_fence_swapped_km(f, c->plon0, c->plat0, c->plon1,
		    c->plat1, SWAPPED_KM);
		if (km >= 0)
			cli_wcap(&wc, "fence '%s' (%s): no position came within %.0f km "
			    "of it, but with latitude and longitude exchanged it would "
			    "lie among them: is its axis order swapped? (--wkt-order)",
			    f->name, f->source, km);
	}
	cli_wcap_end(&wc, "fences that look swapped");
}

/* ---- records ----------------------------------------------------------- */

/* What a record is, from either parser. */
struct rec {
	bool		 position;
	double		 lat, lon;
	int		 valid;
	struct tk_span	 id, fix, server;
};

static void pass_other(struct ctx *, const char *, size_t);

/*
 * Coordinates out of range or not finite (1e308, NaN), a time before 2000
 * or more than a day ahead: not a position.  Counted and reported (capped),
 * never an event; the line passes through as a record that is not a
 * position.  true when r is such a record.
 */
static bool
implausible(struct ctx *c, const char *p, size_t n, const struct rec *r)
{
	const struct tk_span *ts = r->fix.n ? &r->fix : &r->server;
	int64_t t = ts->n ? parse_iso(ts->p, ts->n) : TK_TIME_NONE;
	const char *why = tk_fix_implausible(r->lat, r->lon, t, tk_wall_ms());
	if (why == NULL)
		return false;
	c->implausible++;
	cli_wcap(&c->implausible_w, "%s:%lu: implausible record (%s): no event", c->fname,
	    c->lineno, why);
	pass_other(c, p, n);
	return true;
}

static void
process_position(struct ctx *c, const char *p, size_t n, const struct rec *r,
    json_object *obj, const struct tk_jrec *jr)
{
	if (implausible(c, p, n, r))
		return;
	c->positions_n++;
	size_t nin = 0;
	if (r->lat >= -90 && r->lat <= 90 && r->lon >= -180 && r->lon <= 180) {
		if (r->lat != 0 || r->lon != 0) {	/* 0 0: no fix, often */
			c->plon0 = r->lon < c->plon0 ? r->lon : c->plon0;
			c->plon1 = r->lon > c->plon1 ? r->lon : c->plon1;
			c->plat0 = r->lat < c->plat0 ? r->lat : c->plat0;
			c->plat1 = r->lat > c->plat1 ? r->lat : c->plat1;
		}
		for (;;) {
			nin = tk_fenceset_query(&c->fs, r->lon, r->lat, c->hits, c->nhits);
			if (nin <= c->nhits)
				break;
			free(c->hits);
			c->nhits = nin;
			c->hits = malloc(c->nhits * sizeof(*c->hits));
			if (c->hits == NULL)
				err(TK_EXIT_IO, "malloc");
		}
	}
	if (c->assigned)
		nin = tk_gf_allowed(c->gf, r->id.p, r->id.n, c->hits, nin);

	bool write = c->annotate || c->positions || c->inside || c->outside;
	if (c->inside && nin == 0)
		write = false;
	if (c->outside && nin > 0)
		write = false;
	if (write) {
		c->written++;
		if (!c->annotate) {
			emit_line(c, p, n);
		} else if (jr != NULL) {
			c->sc.len = 0;
			sc_put(c, p, jr->close);
			sc_str(c, jr->empty ? "\"geofenceIds\":" : ",\"geofenceIds\":");
			sc_ids(c, c->hits, nin);
			sc_put(c, p + jr->close, n - jr->close);
			sc_put(c, "\n", 1);
			emit(c, c->sc.p, c->sc.len);
		} else {
			json_object *arr = json_object_new_array_ext((int)nin);
			for (size_t i = 0; i < nin; i++)
				json_object_array_add(arr,
				    json_object_new_string(c->fs.f[c->hits[i]].id));
			json_object_object_add(obj, "geofenceIds", arr);
			const char *s = json_object_to_json_string_ext(obj,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			emit(c, s, strlen(s));
			emit(c, "\n", 1);
		}
	}
	if (!c->events || (r->valid == 0 && !c->use_invalid))
		return;
	if (r->id.n == 0) {
		c->noid++;
		return;
	}
	c->line = p;
	c->linelen = n;
	c->devp = r->id.p;
	c->devn = r->id.n;
	const struct tk_span *ts = r->fix.n ? &r->fix : &r->server;
	c->etime = ts->p;
	c->etimen = ts->n;
	int64_t t = ts->n ? parse_iso(ts->p, ts->n) : TK_TIME_NONE;
	int rc = tk_gf_update(c->gf, r->id.p, r->id.n, r->lon, r->lat, t, c->hits, nin,
	    on_event, c);
	if (rc == TK_GF_OLD)
		c->old++;
	else if (rc == TK_GF_FULL) {
		if (c->full_n++ == 0)
			warnx("%s:%lu: more than %u devices: new devices are not "
			    "checked for events", c->fname, c->lineno, TK_GF_DEVICES_MAX);
	} else if (rc == TK_GF_BADID)
		c->noid++;
}

static void
pass_other(struct ctx *c, const char *p, size_t n)
{
	c->other++;
	if (c->drop) {
		c->dropped++;
		return;
	}
	c->written++;
	emit_line(c, p, n);
}

static void
do_line(struct ctx *c, const char *p, size_t n)
{
	struct tk_jrec jr;
	struct rec r;
	c->records++;
	if (!c->full && tk_jscan(p, n, &jr) == 0 && !(c->annotate && jr.has_gids)) {
		bool typeok = !jr.has_type || tk_span_eq(jr.type, "position");
		if (!typeok || !jr.has_lat || !jr.has_lon) {
			pass_other(c, p, n);
			return;
		}
		r = (struct rec){true, jr.lat, jr.lon, jr.valid,
		    jr.has_id ? jr.id : (struct tk_span){"", 0}, jr.fix_time, jr.server_time};
		process_position(c, p, n, &r, NULL, &jr);
		return;
	}
	/* the slow path: json-c decides */
	c->slow++;
	if (n > INT32_MAX)
		goto notjson;
	json_tokener_reset(c->tok);
	json_object *o = json_tokener_parse_ex(c->tok, p, (int)n);
	if (o == NULL || json_tokener_get_error(c->tok) != json_tokener_success)
		goto notjson_put;
	for (size_t i = json_tokener_get_parse_end(c->tok); i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			goto notjson_put;
	if (!json_object_is_type(o, json_type_object))
		goto notjson_put;
	json_object *v;
	memset(&r, 0, sizeof(r));
	r.valid = -1;
	r.id = (struct tk_span){"", 0};
	bool typeok = true, hlat = false, hlon = false;
	if (json_object_object_get_ex(o, "type", &v) && json_object_is_type(v, json_type_string))
		typeok = strcmp(json_object_get_string(v), "position") == 0;
	if (json_object_object_get_ex(o, "latitude", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
		r.lat = json_object_get_double(v);
		hlat = true;
	}
	if (json_object_object_get_ex(o, "longitude", &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
		r.lon = json_object_get_double(v);
		hlon = true;
	}
	if (!typeok || !hlat || !hlon) {
		json_object_put(o);
		pass_other(c, p, n);
		return;
	}
	if (json_object_object_get_ex(o, "valid", &v) && json_object_is_type(v, json_type_boolean))
		r.valid = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "uniqueId", &v) && json_object_is_type(v, json_type_string))
		r.id = (struct tk_span){json_object_get_string(v), (size_t)json_object_get_string_len(v)};
	if (json_object_object_get_ex(o, "fixTime", &v) && json_object_is_type(v, json_type_string))
		r.fix = (struct tk_span){json_object_get_string(v), (size_t)json_object_get_string_len(v)};
	if (json_object_object_get_ex(o, "serverTime", &v) && json_object_is_type(v, json_type_string))
		r.server = (struct tk_span){json_object_get_string(v), (size_t)json_object_get_string_len(v)};
	r.position = true;
	/* event time strings go out unquoted: keep only plain ones */
	for (size_t i = 0; i < r.fix.n; i++)
		if (r.fix.p[i] == '"' || r.fix.p[i] == '\\' || (unsigned char)r.fix.p[i] < 0x20)
			r.fix.n = 0;
	for (size_t i = 0; i < r.server.n; i++)
		if (r.server.p[i] == '"' || r.server.p[i] == '\\' || (unsigned char)r.server.p[i] < 0x20)
			r.server.n = 0;
	process_position(c, p, n, &r, o, NULL);
	json_object_put(o);
	return;
notjson_put:
	if (o)
		json_object_put(o);
notjson:
	/* not a record: kept out of the JSON stream unless asked for */
	c->notjson++;
	c->records--;
	bool pass = c->pass_invalid && !c->drop;
	cli_wcap(&c->notjson_w, "%s:%lu: not a JSON object: %s", c->fname, c->lineno,
	    pass ? "passed through" : "dropped");
	if (pass) {
		c->written++;
		emit_line(c, p, n);
	} else
		c->dropped++;
}

static void
run_fd(struct ctx *c, int fd, char *buf, size_t cap)
{
	size_t len = 0;
	bool eof = false, skipping = false, drained = false;
	c->lineno = 0;
	while (!c->dead) {
		size_t start = 0;
		char *nl;
		while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
			size_t ln = (size_t)(nl - (buf + start));
			c->lineno++;
			if (skipping)
				skipping = false;
			else if (ln > 0 && !(ln == 1 && buf[start] == '\r'))
				do_line(c, buf + start, ln);
			start += ln + 1;
			if (c->dead)
				break;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (eof)
			break;
		if (len == cap) {
			if (!skipping)
				warnx("%s:%lu: line longer than %zu bytes: skipped",
				    c->fname, c->lineno + 1, cap);
			skipping = true;
			len = 0;
		}
		/* a short read means the writer is idle: let what we have go */
		if (drained) {
			cli_out_flush(&c->out);
			out_check(c);
		}
		size_t want = cap - len;
		ssize_t r = cli_read(fd, buf + len, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			warn("%s", c->fname);
			input_failed = true;
			break;
		}
		if (r == 0) {
			eof = true;
			if (len > 0 && !skipping) {
				buf[len++] = '\n';
				continue;
			}
			break;
		}
		drained = (size_t)r < want;
		len += (size_t)r;
	}
}

/* ---- files ------------------------------------------------------------ */

/* Write the state through a temporary file renamed over FILE (tk_file.h):
 * a crash leaves the old state or the new one, never half of one. */
static int
save_state(struct ctx *c, const char *name)
{
	struct tk_afile a;
	char *text;
	size_t len;
	int e;

	if (tk_gf_save(c->gf, &text, &len) != 0) {
		warnx("%s: out of memory saving the state", name);
		return -1;
	}
	if ((e = tk_afile_open(&a, name, 0644)) == 0 &&
	    (e = tk_write_all(a.fd, text, len)) == 0)
		e = tk_afile_commit(&a, 0);
	else
		tk_afile_abort(&a);
	free(text);
	if (e != 0) {
		warnc(e, "%s: state not saved (the old state is kept)", name);
		return -1;
	}
	return 0;
}

/* At start, before any input: can the state file be written at exit? */
static void
check_state_writable(const char *name)
{
	struct tk_afile a;
	int e = tk_afile_open(&a, name, 0644);
	if (e != 0)
		errc(TK_EXIT_IO, e, "-s %s: cannot write the state there", name);
	tk_afile_abort(&a);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"annotate",     no_argument,       NULL, 'a'},
		{"assign",       required_argument, NULL, 'A'},
		{"buffer",       required_argument, NULL, 'b'},
		{"drop-other",   no_argument,       NULL, 'D'},
		{"events",       no_argument,       NULL, 'e'},
		{"fences",       required_argument, NULL, 'f'},
		{"full-parse",   no_argument,       NULL, OPT_FULL},
		{"pass-invalid", no_argument,       NULL, OPT_PASS},
		{"help",         no_argument,       NULL, 'h'},
		{"inside",       no_argument,       NULL, 'i'},
		{"name",         required_argument, NULL, 'n'},
		{"outside",      no_argument,       NULL, 'o'},
		{"positions",    no_argument,       NULL, 'p'},
		{"quiet",        no_argument,       NULL, 'q'},
		{"repair",       no_argument,       NULL, 'r'},
		{"silent-start", no_argument,       NULL, 'S'},
		{"state",        required_argument, NULL, 's'},
		{"dwell",        required_argument, NULL, 't'},
		{"use-invalid",  no_argument,       NULL, 'I'},
		{"version",      no_argument,       NULL, 'V'},
		{"width",        required_argument, NULL, 'w'},
		{"wkt-order",    required_argument, NULL, OPT_WKT},
		{NULL, 0, NULL, 0}
	};
	static struct ctx c;
	const char *fences[MAX_FILES], *names[MAX_NAMES];
	size_t nfences = 0, nnames = 0;
	const char *assign = NULL, *state = NULL;
	struct tk_fence_opts fo = {0};
	struct tk_gf_opts go = {0};
	bool silent = false;
	int ch, rc = TK_EXIT_OK;
	char e[1024];

	cli_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "aA:b:Def:hiIn:opqrs:St:Vw:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			c.annotate = true;
			break;
		case 'A':
			assign = optarg;
			break;
		case 'b':
			go.buffer_m = (double)cli_number("--buffer", optarg, 0, 1000000);
			break;
		case 'D':
			c.drop = true;
			break;
		case 'e':
			c.events = true;
			break;
		case 'f':
			if (nfences == MAX_FILES)
				cli_usage_error(usage_text, "more than %d fence files", MAX_FILES);
			fences[nfences++] = optarg;
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			return cli_close_stdout(TK_EXIT_OK);
		case 'i':
			c.inside = true;
			break;
		case 'I':
			c.use_invalid = true;
			break;
		case 'n':
			if (nnames == MAX_NAMES)
				cli_usage_error(usage_text, "more than %d -n", MAX_NAMES);
			names[nnames++] = optarg;
			break;
		case 'o':
			c.outside = true;
			break;
		case 'p':
			c.positions = true;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'r':
			fo.repair = true;
			break;
		case 's':
			state = optarg;
			break;
		case 'S':
			silent = true;
			break;
		case 't':
			go.dwell_ms = cli_duration("--dwell", optarg, 0, 365 * 86400LL) * 1000;
			break;
		case 'V':
			cli_version();
		case 'w':
			fo.width = (double)cli_number("--width", optarg, 1, 1000000);
			break;
		case OPT_FULL:
			c.full = true;
			break;
		case OPT_PASS:
			c.pass_invalid = true;
			break;
		case OPT_WKT:
			fo.wkt_latlon = cli_wkt_latlon(usage_text, optarg);
			break;
		default:
			cli_usage_error(usage_text, NULL);
		}
	}
	argc -= optind;
	cli_need_stdout();
	argv += optind;
	if (!c.inside && !c.outside && !c.annotate && !c.events)
		cli_usage_error(usage_text, "one of -i, -o, -a, -e is needed");
	if (c.inside && c.outside)
		cli_usage_error(usage_text, "-i and -o exclude each other");
	if (nfences == 0)
		cli_usage_error(usage_text, "no fences (-f)");
	if (!c.events && (go.buffer_m > 0 || go.dwell_ms > 0 || state || silent ||
	    c.positions || c.use_invalid))
		cli_usage_error(usage_text, "-b, -t, -s, -S, -p and -I go with -e");
	go.silent_start = silent;

	/* fences */
	tk_fenceset_init(&c.fs);
	for (size_t i = 0; i < nfences; i++)
		cli_need_file(fences[i]);
	for (size_t i = 0; i < nfences; i++)
		if (tk_fenceset_load_file(&c.fs, fences[i], &fo, fence_warn, NULL, e,
		    sizeof(e)) != 0)
			errx(TK_EXIT_DATA, "%s", e);
	if (nnames && tk_fenceset_select(&c.fs, names, nnames, e, sizeof(e)) != 0)
		errx(TK_EXIT_DATA, "%s", e);
	if (c.fs.n == 0)
		errx(TK_EXIT_DATA, "no fences in %s", fences[0]);
	if (tk_fenceset_build(&c.fs, e, sizeof(e)) != 0)
		errx(TK_EXIT_DATA, "%s", e);
	c.jid = calloc(c.fs.n, sizeof(*c.jid));
	c.jname = calloc(c.fs.n, sizeof(*c.jname));
	if (c.jid == NULL || c.jname == NULL)
		err(TK_EXIT_IO, "calloc");
	for (size_t i = 0; i < c.fs.n; i++) {
		c.jid[i] = json_quote(c.fs.f[i].id);
		c.jname[i] = json_quote(c.fs.f[i].name);
	}
	c.gf = tk_gf_new(&c.fs, &go);
	if (c.gf == NULL)
		err(TK_EXIT_IO, "tk_gf_new");
	if (assign) {
		int fd = open(assign, O_RDONLY | O_CLOEXEC);
		size_t n;
		if (fd < 0)
			err(TK_EXIT_IO, "%s", assign);
		char *t = cli_read_file(fd, assign, 64u << 20, &n);
		close(fd);
		int arc = tk_gf_assign(c.gf, assign, t, n, e, sizeof(e));
		free(t);
		if (arc != 0)
			errx(TK_EXIT_DATA, "%s", e);
		c.assigned = true;
	}
	if (state) {
		check_state_writable(state);
		int sfd = open(state, O_RDONLY | O_CLOEXEC);
		if (sfd < 0 && errno != ENOENT)
			err(TK_EXIT_IO, "%s", state);
		if (sfd >= 0) {
			size_t n, dropped;
			char *t = cli_read_file(sfd, state, 1u << 30, &n);
			close(sfd);
			int lrc = n > 0 ? tk_gf_load(c.gf, state, t, n, &dropped, e, sizeof(e)) : 0;
			free(t);
			if (lrc != 0)
				errx(TK_EXIT_DATA, "%s", e);
			if (n > 0 && dropped)
				warnx("%s: %zu entries for fences no longer loaded dropped",
				    state, dropped);
		}
	}

	/* inputs, opened before hardening */
	int nf = argc ? argc : 1;
	int *fds = cli_open_inputs(argc, argv);
	/* stopped, it drains its input and saves the state (cli.h) */
	cli_stop_catch(SIGINT);
	cli_stop_catch(SIGTERM);
	cli_stop_catch(SIGHUP);
	/* the state is saved at exit: that needs to create and rename a file */
	cli_harden(state ? TK_HARDEN_FILES : TK_HARDEN_STDIO);

	c.plon0 = c.plat0 = INFINITY;
	c.plon1 = c.plat1 = -INFINITY;
	c.tok = json_tokener_new_ex(64);
	c.nhits = 256;
	c.hits = malloc(c.nhits * sizeof(*c.hits));
	char *buf = malloc(LINE_MAX_BYTES);
	if (c.tok == NULL || c.hits == NULL || buf == NULL)
		err(TK_EXIT_IO, "malloc");
	cli_out_init(&c.out, STDOUT_FILENO, OUT_CAP);
	for (int i = 0; i < nf && !c.dead; i++) {
		c.fname = argc && strcmp(argv[i], "-") != 0 ? argv[i] : "(stdin)";
		run_fd(&c, fds[i], buf, LINE_MAX_BYTES);
		if (fds[i] != STDIN_FILENO)
			close(fds[i]);
	}
	cli_out_flush(&c.out);
	out_check(&c);
	swapped_check(&c);
	if (state && save_state(&c, state) != 0)
		rc = TK_EXIT_IO;
	if (input_failed)
		rc = TK_EXIT_IO;
	if (!c.quiet) {
		cli_wcap_end(&c.notjson_w, "lines that are not JSON objects");
		cli_wcap_end(&c.implausible_w, "implausible records");
		fprintf(stderr, "tk-geofence: %zu fences, %lu records, %lu positions, "
		    "%lu other, %lu records written", c.fs.n, c.records, c.positions_n,
		    c.other, c.written);
		if (c.events)
			fprintf(stderr, ", %lu enter, %lu exit, %zu devices", c.enters,
			    c.exits, tk_gf_devices(c.gf));
		if (c.notjson)
			fprintf(stderr, ", %lu not JSON", c.notjson);
		if (c.dropped)
			fprintf(stderr, ", %lu dropped", c.dropped);
		if (c.old)
			fprintf(stderr, ", %lu out of order", c.old);
		if (c.noid)
			fprintf(stderr, ", %lu without uniqueId", c.noid);
		if (c.implausible)
			fprintf(stderr, ", %lu implausible", c.implausible);
		fputc('\n', stderr);
	}
	if (c.dead)
		rc = c.out.err == EPIPE ? TK_EXIT_PIPE : TK_EXIT_IO;
	for (size_t i = 0; i < c.fs.n; i++) {
		free(c.jid[i]);
		free(c.jname[i]);
	}
	free(c.jid);
	free(c.jname);
	free(c.hits);
	free(c.sc.p);
	free(buf);
	free(fds);
	json_tokener_free(c.tok);
	tk_gf_free(c.gf);
	tk_fenceset_free(&c.fs);
	cli_out_free(&c.out);
	return cli_close_stdout(cli_stop_status(rc));
}
