/*
 * test_conformance.c: every row of tests/data/vectors/{tk103,gps103,xexun,
 * xexun2,gt06,h02}.tsv (real device messages from Traccar's tests) through the
 * library, compared with the row's expectation and checks.  A row listed in
 * tests/data/vectors/<dialect>.disagree.tsv is a documented, deliberate
 * disagreement: it is excused, but it must still decode without a crash,
 * and a listed row that passes after all is reported as stale.
 *
 * TK_CONF_DIALECT=tk103 limits the run to one file; TK_CONF_VERBOSE=1
 * prints every row's outcome.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tk103.h"
#include "tk_test.h"

#define MAXREC 64

struct got {
	int		 n;
	struct tk_record r[MAXREC];
};

static int
collect(void *arg, struct tk_record *r)
{
	struct got *g = arg;
	if (g->n < MAXREC)
		g->r[g->n] = *r;
	g->n++;
	return 0;
}

static int64_t now_ms;

/* Traccar's ProtocolTest.verifyDecodedPosition sanity checks. */
static const char *
sane(const struct tk_record *r)
{
	if (!r->has_pos)
		return "no location";
	if (r->fix_time == TK_TIME_NONE || r->fix_time < 946684800000LL ||
	    r->fix_time > now_ms + 25 * 3600 * 1000LL)
		return "fix time missing or out of range";
	if (r->lat < -90 || r->lat > 90 || r->lon < -180 || r->lon > 180)
		return "latitude/longitude out of range";
	if (r->has_speed && (r->speed < 0 || r->speed > 869))
		return "speed out of range";
	if (r->has_course && (r->course < 0 || r->course > 360))
		return "course out of range";
	if (r->has_alt && (r->alt < -12262 || r->alt > 18000))
		return "altitude out of range";
	return NULL;
}

static bool
num_eq(double a, double b)
{
	return fabs(a - b) <= 1e-6 * (fabs(a) > 1 ? fabs(a) : 1);
}

/* Compare one "key=value" check against a record. */
static const char *
check_attr(const struct tk_record *r, const char *key, const char *want)
{
	static char why[640];
	char *end;
	double wv = strtod(want, &end);
	bool wnum = *want && *end == '\0';

	if (strcmp(key, "course") == 0 || strcmp(key, "speed") == 0 ||
	    strcmp(key, "altitude") == 0) {
		bool has = key[0] == 'c' ? r->has_course : key[0] == 's' ? r->has_speed : r->has_alt;
		double v = key[0] == 'c' ? r->course : key[0] == 's' ? r->speed : r->alt;
		if (!has || !wnum || !num_eq(v, wv)) {
			snprintf(why, sizeof(why), "%s: want %s, got %s%g", key, want,
			    has ? "" : "(none) ", v);
			return why;
		}
		return NULL;
	}
	if (strcmp(key, "alarm") == 0) {
		if (strcmp(r->alarm, want) != 0) {
			snprintf(why, sizeof(why), "alarm: want %s, got '%s'", want, r->alarm);
			return why;
		}
		return NULL;
	}
	const struct tk_attr *a = tk_rec_get(r, key);
	if (a == NULL && strcmp(want, "null") == 0)
		return NULL;	/* Traccar asserts the attribute is absent */
	if (a == NULL) {
		snprintf(why, sizeof(why), "attribute %s missing", key);
		return why;
	}
	char got[256];
	switch (a->type) {
	case TK_V_INT:
	case TK_V_BOOL:
		if (a->type == TK_V_BOOL)
			snprintf(got, sizeof(got), "%s", a->v.i ? "true" : "false");
		else
			snprintf(got, sizeof(got), "%lld", (long long)a->v.i);
		if (wnum ? num_eq((double)a->v.i, wv) : strcmp(got, want) == 0)
			return NULL;
		break;
	case TK_V_NUM:
		snprintf(got, sizeof(got), "%g", a->v.d);
		if (wnum && num_eq(a->v.d, wv))
			return NULL;
		break;
	default: {
		/* the checks column escapes as the message does (\n ...) */
		char w[512];
		size_t wl = tkt_unescape(want, (uint8_t *)w, sizeof(w) - 1);
		w[wl] = '\0';
		tk_strlcpyn(got, sizeof(got), r->sbuf + a->v.off, a->len);
		if (strcmp(got, w) == 0)
			return NULL;
		break;
	}
	}
	snprintf(why, sizeof(why), "attribute %s: want %s, got %s", key, want, got);
	return why;
}

static const struct tk_record *
first_of(const struct got *g, bool want_pos)
{
	for (int i = 0; i < g->n && i < MAXREC; i++)
		if (want_pos ? g->r[i].type == TK_R_POSITION :
		    (g->r[i].type == TK_R_POSITION || g->r[i].type == TK_R_EVENT))
			return &g->r[i];
	/* a command's answer without a location (Traccar: a position at the
	 * last known place carrying "result") */
	for (int i = 0; !want_pos && i < g->n && i < MAXREC; i++)
		if (g->r[i].type == TK_R_REPLY)
			return &g->r[i];
	return NULL;
}

static bool
has_attrs(const struct tk_record *r)
{
	return r->nattr > 0 || r->alarm[0] || r->ncell > 0 || r->nwifi > 0;
}

/* Frame rows: scan the input, decode_call times, and compare. */
static const char *
frame_row(enum tk_dialect d, const struct tkt_row *row)
{
	static char why[256];
	/* tkt_check returns a static buffer: read decode_call before expect */
	const char *calls = tkt_check(row->checks, "decode_call");
	int ncall = calls ? atoi(calls) : 1;
	const char *want = tkt_check(row->checks, "expect");
	const uint8_t *p = row->msg;
	size_t n = row->len;
	struct tk_scan_out o = {0, 0, false};
	enum tk_scan s = TK_SCAN_MORE;

	for (int i = 0; i < ncall; i++) {
		/* The framer discards junk and retries, as tk_framer_feed does. */
		for (;;) {
			s = tk_scan(d, p, n, false, &o);
			if (o.skip > n || (s == TK_SCAN_FRAME && o.len > n - o.skip))
				return "scanner returned out-of-range offsets";
			if (s == TK_SCAN_FRAME || o.skip == 0)
				break;
			p += o.skip;
			n -= o.skip;
		}
		if (s == TK_SCAN_FRAME && i + 1 < ncall) {
			p += o.skip + o.len;
			n -= o.skip + o.len;
		}
	}
	if (want == NULL)
		return "row has no expect=";
	if (strcmp(want, "null") == 0)
		return s == TK_SCAN_FRAME ? "a frame was returned where none is complete" : NULL;
	uint8_t exp[TKT_MSG_MAX];
	long el = tk_hex_decode(want, strlen(want), exp, sizeof(exp));
	if (el < 0)
		return "bad expect hex";
	if (s != TK_SCAN_FRAME) {
		snprintf(why, sizeof(why), "no frame found (want %ld bytes)", el);
		return why;
	}
	const uint8_t *fp = p + o.skip;
	size_t fl = o.len;
	static uint8_t un[TKT_MSG_MAX];
	if (d == TK_D_XEXUN2) {	/* Traccar unescapes; our scanner returns the raw frame */
		fl = tk_xexun2_unescape(fp, fl, un, sizeof(un));
		fp = un;
	}
	if ((size_t)el != fl || memcmp(exp, fp, fl) != 0) {
		snprintf(why, sizeof(why), "frame differs: want %ld bytes, got %zu", el, fl);
		return why;
	}
	return NULL;
}

static const char *
run_row(enum tk_dialect d, const struct tkt_row *row, struct got *g, int *rc)
{
	static char why[300];
	char err[200], warn[200];
	struct tk_session s;
	struct tk_record scratch;

	g->n = 0;
	*rc = 0;
	if (strcmp(row->expectation, "frame") == 0)
		return frame_row(d, row);
	tk_session_init(&s, d);
	*rc = tk_decode(&s, row->msg, row->len, TK_TIME_NONE, &scratch, collect, g,
	    err, sizeof(err), warn, sizeof(warn));
	tk_session_free(&s);
	const char *e = row->expectation;

	if (strcmp(e, "null") == 0) {
		if (*rc < 0) {
			snprintf(why, sizeof(why), "rejected: %s", err);
			return why;
		}
		for (int i = 0; i < g->n && i < MAXREC; i++)
			if (g->r[i].type == TK_R_POSITION)
				return "a position was decoded where Traccar returns null";
		return NULL;
	}
	if (*rc < 0) {
		snprintf(why, sizeof(why), "rejected: %s", err);
		return why;
	}
	if (strcmp(e, "notnull") == 0)
		return g->n > 0 ? NULL : "no record";
	if (strcmp(e, "attributes") == 0) {
		const struct tk_record *r = first_of(g, false);
		if (r == NULL)
			return "no position or event record";
		return has_attrs(r) ? NULL : "no attributes";
	}
	if (strcmp(e, "attribute") == 0) {
		const struct tk_record *r = first_of(g, false);
		if (r == NULL)
			return "no position or event record";
		/* one key=value pair (after a model=NAME hint, gt06.tsv) */
		char key[64];
		const char *kv = row->checks;
		if (strncmp(kv, "model=", 6) == 0 && strchr(kv, ';') != NULL)
			kv = strchr(kv, ';') + 1;
		const char *eq = strchr(kv, '=');
		if (eq == NULL || (size_t)(eq - kv) >= sizeof(key))
			return "row has no key=value";
		tk_strlcpyn(key, sizeof(key), kv, (size_t)(eq - kv));
		return check_attr(r, key, tkt_check(row->checks, key));
	}
	bool many = strcmp(e, "positions") == 0;
	if (!many && strcmp(e, "position") != 0)
		return "unknown expectation";
	const char *cl = tkt_check(row->checks, "check_location");
	bool check_loc = cl == NULL || strcmp(cl, "false") != 0;
	int npos = 0;
	for (int i = 0; i < g->n && i < MAXREC; i++) {
		const struct tk_record *r = &g->r[i];
		if (r->type != TK_R_POSITION && !(many && !check_loc && r->type == TK_R_EVENT))
			continue;
		npos++;
		if (check_loc && (e = sane(r)) != NULL) {
			snprintf(why, sizeof(why), "record %d: %s", i, e);
			return why;
		}
	}
	if (npos == 0)
		return "no position decoded";
	const char *t = tkt_check(row->checks, "time");
	if (t != NULL) {
		const struct tk_record *r = first_of(g, true);
		char buf[32];
		if (r == NULL)
			return "no position to compare the time with";
		tk_fmt_time(buf, r->fix_time);
		if (strcmp(buf, t) != 0) {
			snprintf(why, sizeof(why), "time: want %s, got %s", t, buf);
			return why;
		}
		const char *v = tkt_check(row->checks, "valid");
		if (v && (strcmp(v, "true") == 0) != r->valid)
			return "valid flag differs";
		double lat = atof(tkt_check(row->checks, "lat"));
		double lon = atof(tkt_check(row->checks, "lon"));
		if (fabs(r->lat - lat) > 1e-5 || fabs(r->lon - lon) > 1e-5) {
			snprintf(why, sizeof(why), "lat/lon: want %.5f %.5f, got %.5f %.5f",
			    lat, lon, r->lat, r->lon);
			return why;
		}
	}
	return NULL;
}

/* Lines listed in <dialect>.disagree.tsv: "line<TAB>reason". */
static bool
excused(const char *dialect, unsigned line, char *reason, size_t rlen)
{
	char path[256];
	snprintf(path, sizeof(path), "vectors/%s.disagree.tsv", dialect);
	FILE *f = fopen(tkt_data(path), "r");
	char buf[1024];
	bool hit = false;
	if (f == NULL)
		return false;
	while (fgets(buf, sizeof(buf), f)) {
		if (buf[0] == '#' || buf[0] == '\n')
			continue;
		if ((unsigned)atoi(buf) == line) {
			char *t = strchr(buf, '\t');
			tk_strlcpyn(reason, rlen, t ? t + 1 : "", t ? strcspn(t + 1, "\n") : 0);
			hit = true;
			break;
		}
	}
	fclose(f);
	return hit;
}

/* An emit that stops the frame at its first record. */
static int
stop_first(void *arg, struct tk_record *r)
{
	(void)r;
	++*(int *)arg;
	return 1;
}

/*
 * A frame the reader stops (tk-decode whose output died, tk-listen closing)
 * is not a bad frame: tk_decode returns the one record emitted, no error.
 */
static const char *
stop_row(enum tk_dialect d, const struct tkt_row *row)
{
	static char why[300];
	char err[200], warn[200];
	struct tk_session s;
	struct tk_record scratch;
	int seen = 0;

	tk_session_init(&s, d);
	int rc = tk_decode(&s, row->msg, row->len, TK_TIME_NONE, &scratch, stop_first,
	    &seen, err, sizeof(err), warn, sizeof(warn));
	tk_session_free(&s);
	if (rc != 1 || seen != 1 || err[0] != '\0') {
		snprintf(why, sizeof(why), "stopped at its first record: returned %d "
		    "after %d records (%s)", rc, seen, err);
		return why;
	}
	return NULL;
}

static void
run_file(const char *dialect)
{
	struct tkt_row *rows;
	char path[64], reason[512];
	enum tk_dialect d;
	static struct got g;
	int failed = 0, passed = 0, excused_n = 0, stale = 0;
	const char *only = getenv("TK_CONF_DIALECT");
	bool verbose = getenv("TK_CONF_VERBOSE") != NULL;

	if (only && strcmp(only, dialect) != 0)
		return;
	assert_int_equal(tk_dialect_parse(dialect, &d), 0);
	snprintf(path, sizeof(path), "vectors/%s.tsv", dialect);
	size_t n = tkt_read_tsv(tkt_data(path), &rows);
	assert_true(n > 0);
	now_ms = (int64_t)time(NULL) * 1000;
	for (size_t i = 0; i < n; i++) {
		int rc;
		const char *why = run_row(d, &rows[i], &g, &rc);
		if (why == NULL && rc > 0)
			why = stop_row(d, &rows[i]);
		bool exc = excused(dialect, rows[i].line, reason, sizeof(reason));
		if (why == NULL && exc) {
			stale++;
			print_message("%s.tsv:%u: listed as a disagreement but passes\n",
			    dialect, rows[i].line);
		} else if (why == NULL) {
			passed++;
			if (verbose)
				print_message("%s.tsv:%u: ok (%s)\n", dialect, rows[i].line,
				    rows[i].expectation);
		} else if (exc) {
			excused_n++;
			if (verbose)
				print_message("%s.tsv:%u: deliberate disagreement: %s (%s)\n",
				    dialect, rows[i].line, reason, why);
		} else {
			failed++;
			print_message("%s.tsv:%u: FAIL %s: %s\n", dialect, rows[i].line,
			    rows[i].expectation, why);
		}
	}
	print_message("%s: %zu rows, %d pass, %d deliberate disagreements, %d fail\n",
	    dialect, n, passed, excused_n, failed);
	free(rows);
	assert_int_equal(failed, 0);
	assert_int_equal(stale, 0);
}

static void test_tk103(void **s) { (void)s; run_file("tk103"); }
static void test_gps103(void **s) { (void)s; run_file("gps103"); }
static void test_xexun(void **s) { (void)s; run_file("xexun"); }
static void test_xexun2(void **s) { (void)s; run_file("xexun2"); }
static void test_h02(void **s) { (void)s; run_file("h02"); }
static void test_gt06(void **s) { (void)s; run_file("gt06"); }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tk103),
		cmocka_unit_test(test_gps103),
		cmocka_unit_test(test_xexun),
		cmocka_unit_test(test_xexun2),
		cmocka_unit_test(test_h02),
		cmocka_unit_test(test_gt06),
	};
	return cmocka_run_group_tests_name("conformance", tests, NULL, NULL);
}
