/*
 * tk-track: tk-decode's JSON lines to tracks, trips and stops, written as
 * GPX, GeoJSON, KML, CSV, JSON lines or an SVG picture.  A thin main over
 * libtk103's tk_track (store, sort, outliers, segmentation) and tk_export
 * (the writers).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <err.h>
#include <json-c/json.h>

#include "cli.h"
#include "tk_export.h"
#include "tk_fence.h"
#include "tk_loop.h"
#include "tk_track.h"

static const char usage_text[] =
    "usage: tk-track [-aq] [-f gpx|geojson|kml|csv|json|svg] [-g fences] [-o file]\n"
    "                [-u device] [--from time] [--to time] [--gap duration]\n"
    "                [--stop-speed speed] [--min-stop duration] [--min-trip metres]\n"
    "                [--max-speed speed] [--max-points n]\n"
    "                [--wkt-order lonlat|latlon] [file ...]\n";

static const char help_text[] =
    "Tracks, trips and stops from tk-decode's JSON lines.\n"
    "\n"
    "  -a, --all-fixes      keep fixes the device marks invalid too\n"
    "  -f, --format FMT     json (trips and stops, default), csv, gpx, geojson,\n"
    "                       kml, or svg (a picture)\n"
    "  -g, --fences FILE    geofences to draw (svg), read as tk-geofence reads\n"
    "                       them: GeoJSON, KML, Traccar JSON or WKT lines\n"
    "  -o, --output FILE    write to FILE instead of standard output\n"
    "  -q, --quiet          no summary on stderr at the end\n"
    "  -u, --device ID      keep only this device (repeatable)\n"
    "      --from TIME      keep fixes at or after TIME (ISO 8601, UTC)\n"
    "      --to TIME        keep fixes before TIME\n"
    "      --gap DURATION   a reporting gap longer than this starts a new\n"
    "                       segment and counts as stopped time (1h)\n"
    "      --stop-speed S   stopped at or under S (0.01kn); units kn, kmh\n"
    "      --min-stop DURATION  shortest stop (5m)\n"
    "      --min-trip METRES   shortest trip (500)\n"
    "      --max-speed S    drop fixes implying a jump faster than S\n"
    "                       (300kmh; 0 = keep all)\n"
    "Durations: seconds, or with a unit: 30s, 5m, 1h, 2d.\n"
    "      --max-points N   keep at most N fixes in memory (2000000)\n"
    "      --wkt-order ORDER  axis order of WKT lines in -g: lonlat (default,\n"
    "                       OGC x y) or latlon (Traccar's; alias traccar)\n"
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "Exit status: 0 ok, 1 input dropped at the memory bound, 2 usage,\n"
    "3 I/O error, 4 stdout closed, 130/143 stopped by SIGINT/SIGTERM before the\n"
    "end of the input.  See tk-track(1).\n";

enum fmt { F_JSON, F_CSV, F_GPX, F_GEOJSON, F_KML, F_SVG };
static const char *const fmt_names[] = {"json", "csv", "gpx", "geojson", "kml", "svg"};

#define LINE_CAP	(1u << 20)	/* longest input line */
#define MAX_DEVICES_OPT	256

enum {
	O_FROM = 256, O_TO, O_GAP, O_STOP_SPEED, O_MIN_STOP, O_MIN_TRIP, O_MAX_SPEED,
	O_MAX_POINTS,
	O_WKT
};

struct ctx {
	enum fmt	 fmt;
	bool		 all_fixes, quiet;
	int64_t		 from, to;
	const char	*devices[MAX_DEVICES_OPT];
	size_t		 ndevices;
	struct tk_track	 trk;
	const char	*fname;
	unsigned long	 lineno;
	/* counters */
	unsigned long	 lines, bad_lines, long_lines, positions, events, invalid,
			 filtered, no_pos, nomem, implausible;
	struct cli_wcap	 bad_w;		/* bad lines: the first few shown */
	struct cli_wcap	 implausible_w;	/* implausible fixes: the first few shown */
	int64_t		 now;		/* wall ms at start: "a day ahead" */
};

/* ISO 8601 UTC: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS[.fff]][Z] (a space may
 * stand for the T). */
static int
parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, n = 0;
	size_t len = strlen(s);

	if (len < 10 || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
		return -1;
	s += 10;
	if (*s == 'T' || *s == ' ') {
		int m = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5)
			return -1;
		s += 1 + m;
		if (*s == ':') {
			if (sscanf(s + 1, "%2d%n", &sec, &m) != 1 || m != 2)
				return -1;
			s += 3;
			if (*s == '.') {
				int digits = 0;
				s++;
				while (*s >= '0' && *s <= '9') {
					if (digits < 3)
						ms = ms * 10 + (*s - '0');
					digits++;
					s++;
				}
				if (digits == 0)
					return -1;
				for (; digits < 3; digits++)
					ms *= 10;
			}
		}
	}
	if (*s == 'Z')
		s++;
	if (*s != '\0')
		return -1;
	return tk_time_utc(y, mo, d, h, mi, sec, ms, out);
}

/* A speed with an optional unit: kn (default), kmh or km/h. */
static double
parse_speed(const char *opt, const char *s)
{
	size_t n = strlen(s), num = n;
	double v, k = 1;
	const char *units[] = {"km/h", "kmh", "kn"};
	const double factor[] = {1 / 1.852, 1 / 1.852, 1};

	for (size_t i = 0; i < 3; i++) {
		size_t ul = strlen(units[i]);
		if (n > ul && strcmp(s + n - ul, units[i]) == 0) {
			num = n - ul;
			k = factor[i];
			break;
		}
	}
	if (tk_parse_dec(s, num, &v) != 0 || v < 0 || v > 100000)
		cli_usage_error(usage_text, "%s %s: not a speed (number[kn|kmh])", opt, s);
	return v * k;
}

static bool
want_device(const struct ctx *c, const char *id)
{
	if (c->ndevices == 0)
		return true;
	for (size_t i = 0; i < c->ndevices; i++)
		if (strcmp(c->devices[i], id) == 0)
			return true;
	return false;
}

static bool
get_num(json_object *o, const char *k, double *v)
{
	json_object *x;
	if (!json_object_object_get_ex(o, k, &x))
		return false;
	if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
		return false;
	*v = json_object_get_double(x);
	return isfinite(*v);
}

static const char *
get_str(json_object *o, const char *k)
{
	json_object *x;
	if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_string))
		return NULL;
	return json_object_get_string(x);
}

static bool
get_time(json_object *o, const char *k, int64_t *t)
{
	const char *s = get_str(o, k);
	return s != NULL && parse_time(s, t) == 0;
}

static void
warn_line(const struct ctx *c, const char *what)
{
	warnx("%s:%lu: %s", c->fname, c->lineno, what);
}

/* A line that is not a record: counted, the first few shown. */
static void
bad_line(struct ctx *c, const char *what)
{
	c->bad_lines++;
	cli_wcap(&c->bad_w, "%s:%lu: %s: skipped", c->fname, c->lineno, what);
}

static void
added(struct ctx *c, enum tk_tadd r)
{
	if (r == TK_TADD_NOMEM && c->nomem++ == 0)
		warn_line(c, "out of memory: record dropped");
}

/* A position (or an event's nested position): lat/lon/time checks.  Returns
 * false when the fix is to be skipped (and counts why). */
static bool
read_fix(struct ctx *c, json_object *o, int64_t fallback_t, struct tk_tpoint *p)
{
	json_object *x;
	double lat, lon;

	memset(p, 0, sizeof(*p));
	if (!get_num(o, "latitude", &lat) || !get_num(o, "longitude", &lon)) {
		/* missing, or not finite (1e999, NaN): json-c's get_num says */
		if (json_object_object_get_ex(o, "latitude", &x) &&
		    json_object_object_get_ex(o, "longitude", &x)) {
			c->implausible++;
			cli_wcap(&c->implausible_w, "%s:%lu: implausible fix (coordinates not "
			    "finite): skipped", c->fname, c->lineno);
		} else
			c->no_pos++;
		return false;
	}
	p->lat = lat;
	p->lon = lon;
	if (!get_time(o, "fixTime", &p->t)) {
		p->t = fallback_t;
		if (p->t == TK_TIME_NONE) {
			c->no_pos++;
			return false;
		}
	}
	/* out of range, or a time before 2000 or more than a day ahead: no trip */
	const char *why = tk_fix_implausible(lat, lon, p->t, c->now);
	if (why != NULL) {
		c->implausible++;
		cli_wcap(&c->implausible_w, "%s:%lu: implausible fix (%s): skipped", c->fname,
		    c->lineno, why);
		return false;
	}
	p->valid = true;
	if (json_object_object_get_ex(o, "valid", &x) && json_object_is_type(x, json_type_boolean))
		p->valid = json_object_get_boolean(x);
	if (!p->valid && !c->all_fixes) {
		c->invalid++;
		return false;
	}
	if ((c->from != TK_TIME_NONE && p->t < c->from) ||
	    (c->to != TK_TIME_NONE && p->t >= c->to)) {
		c->filtered++;
		return false;
	}
	if (!get_num(o, "speed", &p->speed) || p->speed < 0)
		p->speed = NAN;
	if (!get_num(o, "course", &p->course))
		p->course = NAN;
	if (!get_num(o, "altitude", &p->alt))
		p->alt = NAN;
	return true;
}

static void
add_event(struct ctx *c, const char *id, const struct tk_tpoint *p, const char *kind,
    const char *label)
{
	struct tk_tevent e;
	memset(&e, 0, sizeof(e));
	e.t = p->t;
	e.lat = p->lat;
	e.lon = p->lon;
	tk_strlcpyn(e.kind, sizeof(e.kind), kind, strlen(kind));
	tk_strlcpyn(e.label, sizeof(e.label), label, strlen(label));
	added(c, tk_track_add_event(&c->trk, id, &e));
	c->events++;
}

static void
do_record(struct ctx *c, json_object *o)
{
	const char *type = get_str(o, "type"), *id = get_str(o, "uniqueId");
	struct tk_tpoint p;
	int64_t st = TK_TIME_NONE;

	if (type == NULL) {
		bad_line(c, "no \"type\": not a tk-decode record");
		return;
	}
	if (id == NULL || *id == '\0' || strlen(id) >= TK_ID_MAX) {
		c->no_pos++;	/* a record of no known device */
		return;
	}
	if (!want_device(c, id)) {
		c->filtered++;
		return;
	}
	get_time(o, "serverTime", &st);
	if (strcmp(type, "geofenceEnter") == 0 || strcmp(type, "geofenceExit") == 0) {
		json_object *pos;
		const char *fence = get_str(o, "geofence");
		if (!json_object_object_get_ex(o, "position", &pos) ||
		    !json_object_is_type(pos, json_type_object)) {
			c->no_pos++;
			return;
		}
		int64_t t = st;
		get_time(o, "time", &t);
		if (read_fix(c, pos, t, &p))
			add_event(c, id, &p, type, fence ? fence : "geofence");
		return;
	}
	bool is_pos = strcmp(type, "position") == 0;
	if (!is_pos && strcmp(type, "event") != 0)
		return;	/* login, heartbeat, reply, photo: nothing to draw */
	const char *alarm = NULL;
	json_object *attrs;
	if (json_object_object_get_ex(o, "attributes", &attrs) &&
	    json_object_is_type(attrs, json_type_object))
		alarm = get_str(attrs, "alarm");
	if (!read_fix(c, o, st, &p))
		return;
	if (is_pos) {
		added(c, tk_track_add_point(&c->trk, id, &p));
		c->positions++;
	}
	if (alarm && *alarm)
		add_event(c, id, &p, "alarm", alarm);
}

static void
do_line(struct ctx *c, json_tokener *tok, const char *line, size_t n)
{
	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	c->lines++;
	json_tokener_reset(tok);
	json_object *o = json_tokener_parse_ex(tok, line, (int)n);
	enum json_tokener_error je = json_tokener_get_error(tok);
	if (o == NULL || je != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n) {
		bad_line(c, je == json_tokener_continue ? "not JSON: truncated" :
		    je != json_tokener_success ? "not JSON" :
		    "not JSON: trailing bytes");
		json_object_put(o);
		return;
	}
	if (!json_object_is_type(o, json_type_object)) {
		bad_line(c, "not a JSON object");
	} else
		do_record(c, o);
	json_object_put(o);
}

static int
run_file(struct ctx *c, int fd, char *buf, json_tokener *tok)
{
	size_t len = 0;
	bool skipping = false, eof = false;

	c->lineno = 0;
	for (;;) {
		char *nl;
		size_t start = 0;
		while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
			size_t ln = (size_t)(nl - (buf + start));
			c->lineno++;
			if (skipping)
				skipping = false;
			else
				do_line(c, tok, buf + start, ln);
			start += ln + 1;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (eof)
			return 0;
		if (len == LINE_CAP) {
			if (!skipping) {
				c->long_lines++;
				warnx("%s:%lu: line longer than %u bytes: skipped", c->fname,
				    c->lineno + 1, LINE_CAP);
			}
			skipping = true;
			len = 0;
		}
		ssize_t r = cli_read(fd, buf + len, LINE_CAP - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			warn("%s", c->fname);
			return -1;
		}
		if (r == 0) {
			eof = true;
			if (len > 0 && !skipping)
				buf[len++] = '\n';
			else if (len == 0)
				return 0;
			continue;
		}
		len += (size_t)r;
	}
}

static void
fence_warn(void *arg, const char *msg)
{
	(void)arg;
	warnx("%s", msg);
}

static void
summary(const struct ctx *c)
{
	unsigned long out = 0, dup = 0;
	size_t trips = 0, stops = 0, fixes = 0;
	for (size_t i = 0; i < c->trk.ndev; i++) {
		const struct tk_tdev *d = c->trk.dev[i];
		out += d->outliers;
		dup += d->duplicates;
		trips += d->ntrip;
		stops += d->nstop;
		fixes += d->npt;
	}
	fprintf(stderr, "tk-track: %lu lines, %zu devices, %zu fixes kept, %lu jumps dropped, "
	    "%lu duplicates, %zu trips, %zu stops, %zu events\n", c->lines, c->trk.ndev,
	    fixes, out, dup, trips, stops, c->trk.nevents);
	if (c->bad_lines || c->long_lines || c->invalid || c->filtered || c->no_pos ||
	    c->implausible)
		fprintf(stderr, "tk-track: skipped: %lu invalid fixes, %lu implausible, "
		    "%lu filtered, %lu without position, %lu bad lines, %lu long lines\n",
		    c->invalid, c->implausible, c->filtered, c->no_pos, c->bad_lines,
		    c->long_lines);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"all-fixes",  no_argument,       NULL, 'a'},
		{"device",     required_argument, NULL, 'u'},
		{"fences",     required_argument, NULL, 'g'},
		{"format",     required_argument, NULL, 'f'},
		{"from",       required_argument, NULL, O_FROM},
		{"gap",        required_argument, NULL, O_GAP},
		{"help",       no_argument,       NULL, 'h'},
		{"max-points", required_argument, NULL, O_MAX_POINTS},
		{"max-speed",  required_argument, NULL, O_MAX_SPEED},
		{"min-stop",   required_argument, NULL, O_MIN_STOP},
		{"min-trip",   required_argument, NULL, O_MIN_TRIP},
		{"output",     required_argument, NULL, 'o'},
		{"quiet",      no_argument,       NULL, 'q'},
		{"stop-speed", required_argument, NULL, O_STOP_SPEED},
		{"to",         required_argument, NULL, O_TO},
		{"version",    no_argument,       NULL, 'V'},
		{"wkt-order",  required_argument, NULL, O_WKT},
		{NULL, 0, NULL, 0}
	};
	static struct ctx c;
	struct tk_track_opts to;
	const char *outpath = NULL, *fencepath = NULL;
	/* drawn as repaired: a picture of an invalid fence is still useful */
	struct tk_fence_opts fo = {.repair = true};
	int ch, rc = TK_EXIT_OK;

	cli_init(argc, argv);
	tk_track_defaults(&to);
	c.from = c.to = TK_TIME_NONE;
	while ((ch = getopt_long(argc, argv, "af:g:ho:qu:V", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			c.all_fixes = true;
			break;
		case 'f': {
			size_t i;
			for (i = 0; i < sizeof(fmt_names) / sizeof(fmt_names[0]); i++)
				if (strcmp(optarg, fmt_names[i]) == 0)
					break;
			if (i == sizeof(fmt_names) / sizeof(fmt_names[0]))
				cli_usage_error(usage_text, "unknown format: %s", optarg);
			c.fmt = (enum fmt)i;
			break;
		}
		case 'g':
			fencepath = optarg;
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			return cli_close_stdout(TK_EXIT_OK);
		case 'o':
			outpath = optarg;
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'u':
			if (strlen(optarg) >= TK_ID_MAX)
				cli_usage_error(usage_text, "device id too long: %s", optarg);
			if (c.ndevices == MAX_DEVICES_OPT)
				cli_usage_error(usage_text, "more than %d -u options",
				    MAX_DEVICES_OPT);
			c.devices[c.ndevices++] = optarg;
			break;
		case 'V':
			cli_version();
		case O_FROM:
			if (parse_time(optarg, &c.from) != 0)
				cli_usage_error(usage_text, "--from %s: not an ISO 8601 time", optarg);
			break;
		case O_TO:
			if (parse_time(optarg, &c.to) != 0)
				cli_usage_error(usage_text, "--to %s: not an ISO 8601 time", optarg);
			break;
		case O_GAP:
			to.gap_ms = cli_duration("--gap", optarg, 1, 3650 * 86400LL) * 1000;
			break;
		case O_STOP_SPEED:
			to.stop_speed = parse_speed("--stop-speed", optarg);
			break;
		case O_MIN_STOP:
			to.min_stop_ms = cli_duration("--min-stop", optarg, 0, 3650 * 86400LL) * 1000;
			break;
		case O_MIN_TRIP:
			to.min_trip_m = (double)cli_number("--min-trip", optarg, 0, 40000000);
			break;
		case O_MAX_SPEED:
			to.max_speed = parse_speed("--max-speed", optarg);
			break;
		case O_WKT:
			fo.wkt_latlon = cli_wkt_latlon(usage_text, optarg);
			break;
		case O_MAX_POINTS:
			to.max_points = (size_t)cli_number("--max-points", optarg, 1, 100000000);
			break;
		default:
			cli_usage_error(usage_text, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (c.from != TK_TIME_NONE && c.to != TK_TIME_NONE && c.to <= c.from)
		cli_usage_error(usage_text, "--to must be later than --from");
	if (fencepath && c.fmt != F_SVG)
		cli_usage_error(usage_text, "-g applies to -f svg only");

	/* -o: a temporary file beside it, renamed over it once written whole;
	 * created first, so a path that cannot be written is refused at once */
	FILE *out = stdout;
	static struct cli_file of;
	if (outpath)
		out = cli_file_open(&of, outpath);
	else
		cli_need_stdout();
	/* open every file before hardening */
	int nf = argc ? argc : 1;
	int *fds = cli_open_inputs(argc, argv);
	/* the fences: the reader tk-geofence uses (lib/tk_fence.c) */
	struct tk_fenceset fences;
	tk_fenceset_init(&fences);
	if (fencepath) {
		char e[1024];
		size_t nedges = 0;
		cli_need_file(fencepath);
		if (tk_fenceset_load_file(&fences, fencepath, &fo, fence_warn, NULL, e,
		    sizeof(e)) != 0)
			errx(TK_EXIT_DATA, "%s", e);
		for (size_t i = 0; i < fences.n; i++)
			nedges += fences.f[i].nedges;
		if (fences.n > TK_XFENCE_MAX || nedges > TK_XFENCE_VERT_MAX)
			errx(TK_EXIT_DATA, "%s: %zu fences, %zu edges: too many to draw "
			    "(at most %d and %d)", fencepath, fences.n, nedges,
			    TK_XFENCE_MAX, TK_XFENCE_VERT_MAX);
	}
	/* stopped, it drains its input and writes what it read (cli.h) */
	cli_stop_catch(SIGINT);
	cli_stop_catch(SIGTERM);
	cli_harden(outpath ? TK_HARDEN_FILES : TK_HARDEN_STDIO);

	char *buf = malloc(LINE_CAP);
	json_tokener *tok = json_tokener_new_ex(64);
	if (buf == NULL || tok == NULL)
		err(TK_EXIT_IO, "malloc");
	c.now = tk_wall_ms();
	tk_track_init(&c.trk, &to);
	for (int i = 0; i < nf; i++) {
		c.fname = argc && strcmp(argv[i], "-") != 0 ? argv[i] : "(stdin)";
		if (run_file(&c, fds[i], buf, tok) != 0)
			rc = TK_EXIT_IO;
		if (fds[i] != STDIN_FILENO)
			close(fds[i]);
	}
	json_tokener_free(tok);
	free(buf);
	free(fds);
	if (tk_track_finish(&c.trk) != 0)
		errx(TK_EXIT_IO, "out of memory while segmenting");
	if (c.trk.over_points || c.trk.over_events || c.trk.over_devices) {
		warnx("memory bound reached: %lu fixes, %lu events, %lu device records "
		    "dropped (see --max-points)", c.trk.over_points, c.trk.over_events,
		    c.trk.over_devices);
		rc = rc ? rc : TK_EXIT_DATA;
	}
	if (c.nomem)
		rc = TK_EXIT_IO;

	char creator[96], e[200] = "";
	snprintf(creator, sizeof(creator), "tk-track (tk103-tools) %s", tk_version());
	struct tk_export_opts eo = {creator, fencepath ? &fences : NULL, 0, 0};
	int (*const writers[])(FILE *, const struct tk_track *, const struct tk_export_opts *,
	    char *, size_t) = {tk_export_json, tk_export_csv, tk_export_gpx,
	    tk_export_geojson, tk_export_kml, tk_export_svg};
	int wrc = writers[c.fmt](out, &c.trk, &eo, e, sizeof(e));
	int werr = errno;
	if (!c.quiet) {
		cli_wcap_end(&c.bad_w, "lines that are not records");
		cli_wcap_end(&c.implausible_w, "implausible fixes");
		summary(&c);
	}
	tk_fenceset_free(&fences);
	tk_track_free(&c.trk);
	rc = cli_stop_status(rc);
	if (outpath) {
		if (wrc != 0) {
			warnx("%s: %s (any old file is kept)", outpath, e);
			cli_file_abort(&of);
			rc = TK_EXIT_IO;
		} else if (cli_file_commit(&of) != 0)
			rc = TK_EXIT_IO;
		return cli_close_stdout(rc);
	}
	if (wrc != 0) {
		if (werr == EPIPE || (ferror(stdout) && errno == EPIPE))
			return TK_EXIT_PIPE;
		warnx("stdout: %s", e);
		return TK_EXIT_IO;
	}
	return cli_close_stdout(rc);
}
