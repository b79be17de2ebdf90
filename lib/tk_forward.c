/*
 * tk_forward.c: the tk-forward engine (tk_forward.h): records from a
 * tk_spool, batched into HTTP requests on one libcurl multi handle, one
 * request in flight, retried with backoff.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "tk103.h"
#include "tk_forward.h"
#include "tk_loop.h"
#include "tk_spool.h"

#define RESP_KEEP	160	/* bytes of an answer quoted in a log line */
#define QUERY_MAX	8192	/* longest OsmAnd query string */
#define MAX_FDS		8

struct tk_fwd {
	struct tk_fwd_opts o;
	struct tk_fwd_stats st;
	struct tk_spool	*q;
	CURLM		*multi;
	CURL		*easy;
	struct curl_slist *hdrs;
	char		*body;		/* the request in flight */
	size_t		 body_len;
	char		*url;		/* OsmAnd: the URL with its query */
	size_t		 url_cap;
	char		 resp[RESP_KEEP + 1];
	size_t		 resp_len;
	bool		 inflight, flushing;
	size_t		 fl_len, fl_recs;	/* what the request in flight carries */
	int64_t		 fl_start;
	int64_t		 pending_since;	/* the oldest queued record waits since */
	int64_t		 retry_at;	/* 0: no backoff */
	int64_t		 down_since;
	unsigned	 fails;		/* consecutive failed attempts */
	char		 reason[CURL_ERROR_SIZE + 64];	/* why the last attempt failed */
	char		 errbuf[CURL_ERROR_SIZE];
	json_tokener	*tok;
};

static void
logf_(struct tk_fwd *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
logf_(struct tk_fwd *f, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (f->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->o.log(f->o.log_arg, msg);
}

void
tk_fwd_defaults(struct tk_fwd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = TK_FWD_ARRAY;
	o->batch_max = TK_FWD_DEF_BATCH;
	o->linger_ms = TK_FWD_DEF_LINGER_MS;
	o->timeout_ms = TK_FWD_DEF_TIMEOUT_MS;
	o->retry_min_ms = TK_FWD_DEF_RETRY_MIN_MS;
	o->retry_max_ms = TK_FWD_DEF_RETRY_MAX_MS;
}

/* ---- OsmAnd ------------------------------------------------------------ */

static bool
put_s(struct tk_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n + 1)
		return false;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

/* Percent-encode all but RFC 3986's unreserved characters. */
static bool
put_enc(struct tk_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = b->len;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		char e[3] = {'%', hex[c >> 4], hex[c & 15]};
		if (!(plain ? put_s(b, (const char *)&c, 1) : put_s(b, e, 3))) {
			b->len = len;
			return false;
		}
	}
	return true;
}

/* "&key=value" (no '&' first); a value that does not fit leaves b as it was. */
static bool
put_kv(struct tk_buf *b, const char *k, const char *v, size_t vn)
{
	size_t len = b->len;

	if ((len > 0 && !put_s(b, "&", 1)) || !put_enc(b, k, strlen(k)) ||
	    !put_s(b, "=", 1) || !put_enc(b, v, vn)) {
		b->len = len;
		if (b->cap)
			b->p[len] = '\0';
		return false;
	}
	return true;
}

static bool
put_num(struct tk_buf *b, const char *k, double v, int prec)
{
	char s[64];
	size_t n = tk_fmt_num(s, v, prec);
	return put_kv(b, k, s, n);
}

static bool
get_num(json_object *o, const char *k, double *v)
{
	json_object *x;
	if (o == NULL || !json_object_object_get_ex(o, k, &x) ||
	    !(json_object_is_type(x, json_type_double) || json_object_is_type(x, json_type_int)))
		return false;
	*v = json_object_get_double(x);
	return isfinite(*v);
}

static int
digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* ISO 8601 with a zone: YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM), the
 * forms of tk-decode's records and of Traccar's forwarding. */
static int
iso_time(const char *s, int64_t *ms)
{
	size_t n = strlen(s), i = 19;
	int frac = 0, fd = 0;

	if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2),
	    h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if ((y | mo | d | h | mi | sec) < 0)
		return -1;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, fd++)
			if (fd < 3)
				frac = frac * 10 + (s[i] - '0');
		if (fd == 0)
			return -1;
		for (; fd < 3; fd++)
			frac *= 10;
	}
	int64_t off = 0;
	if (i + 1 == n && s[i] == 'Z')
		off = 0;
	else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60000LL * (s[i] == '-' ? -1 : 1);
	} else
		return -1;
	if (tk_time_utc(y, mo, d, h, mi, sec, frac, ms) != 0)
		return -1;
	*ms -= off;
	return 0;
}

/* Query keys Traccar's OsmAnd decoder reads as something else than an
 * attribute of that name: never taken from the attributes.  (Its batt,
 * charge, hdop, accuracy and driverUniqueId mean what ours do.) */
static bool
reserved_key(const char *k)
{
	static const char *const keys[] = {"id", "deviceid", "timestamp", "lat", "lon",
	    "location", "speed", "bearing", "heading", "altitude", "valid", "cell",
	    "wifi", NULL};
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(k, keys[i]) == 0)
			return true;
	return false;
}

static void
put_attrs(struct tk_buf *b, json_object *attrs)
{
	if (attrs == NULL || !json_object_is_type(attrs, json_type_object))
		return;
	json_object_object_foreach(attrs, k, v) {
		const char *key = strcmp(k, "batteryLevel") == 0 ? "batt" : k;
		double d;
		if (reserved_key(key))
			continue;
		switch (json_object_get_type(v)) {
		case json_type_boolean:
			put_kv(b, key, json_object_get_boolean(v) ? "true" : "false",
			    json_object_get_boolean(v) ? 4 : 5);
			break;
		case json_type_int:
		case json_type_double:
			d = json_object_get_double(v);
			if (isfinite(d))
				put_num(b, key, d, 6);
			break;
		case json_type_string:
			put_kv(b, key, json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
			break;
		default:
			break;	/* arrays and objects have no OsmAnd form */
		}
	}
}

static json_object *
member(json_object *o, const char *k, json_type t)
{
	json_object *x;
	if (o == NULL || !json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, t))
		return NULL;
	return x;
}

/* The query for a parsed record: its own fields, or Traccar's forwarding
 * envelope {"position":{...},"device":{"uniqueId":...}}. */
static int
osmand_query(json_object *top, struct tk_buf *b)
{
	json_object *pos = member(top, "position", json_type_object), *dev, *x;
	const char *id = NULL;
	double lat, lon, v;
	int64_t ms = 0;
	bool have_t = false;

	if (pos != NULL && (dev = member(top, "device", json_type_object)) != NULL &&
	    (x = member(dev, "uniqueId", json_type_string)) != NULL)
		id = json_object_get_string(x);
	else {
		pos = top;
		if ((x = member(top, "uniqueId", json_type_string)) != NULL)
			id = json_object_get_string(x);
	}
	if (id == NULL || *id == '\0' || !get_num(pos, "latitude", &lat) ||
	    !get_num(pos, "longitude", &lon) || fabs(lat) > 90 || fabs(lon) > 180)
		return -1;
	static const char *const tkeys[] = {"fixTime", "deviceTime", "serverTime"};
	for (size_t i = 0; i < 3 && !have_t; i++)
		if ((x = member(pos, tkeys[i], json_type_string)) != NULL &&
		    iso_time(json_object_get_string(x), &ms) == 0)
			have_t = true;
	if (!have_t)
		return -1;
	b->len = 0;
	if (b->cap)
		b->p[0] = '\0';
	char ts[32];
	int tn = snprintf(ts, sizeof(ts), "%lld", (long long)(ms >= 0 ? ms / 1000 :
	    -((-ms + 999) / 1000)));
	if (!put_kv(b, "id", id, strlen(id)) || !put_kv(b, "timestamp", ts, (size_t)tn) ||
	    !put_num(b, "lat", lat, 6) || !put_num(b, "lon", lon, 6))
		return -1;
	if (get_num(pos, "speed", &v) && v >= 0)
		put_num(b, "speed", v, 3);
	if (get_num(pos, "course", &v))
		put_num(b, "bearing", v, 2);
	if (get_num(pos, "altitude", &v))
		put_num(b, "altitude", v, 2);
	if (get_num(pos, "accuracy", &v) && v > 0)
		put_num(b, "accuracy", v, 1);
	if ((x = member(pos, "valid", json_type_boolean)) != NULL)
		put_kv(b, "valid", json_object_get_boolean(x) ? "true" : "false",
		    json_object_get_boolean(x) ? 4 : 5);
	put_attrs(b, member(pos, "attributes", json_type_object));
	return 0;
}

static json_object *
parse(json_tokener *tok, const char *rec, size_t n)
{
	json_tokener_reset(tok);
	json_object *o = json_tokener_parse_ex(tok, rec, (int)n);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int
tk_fwd_osmand_query(const char *rec, size_t n, struct tk_buf *out)
{
	json_tokener *tok = json_tokener_new_ex(32);
	json_object *o;
	int rc = -1;

	if (tok == NULL)
		return -1;
	if (n <= TK_FWD_REC_MAX && (o = parse(tok, rec, n)) != NULL) {
		rc = osmand_query(o, out);
		json_object_put(o);
	}
	json_tokener_free(tok);
	return rc;
}

/* ---- the engine ---------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct tk_fwd *f = arg;
	size_t n = size * nmemb, room = RESP_KEEP - f->resp_len;

	if (room > 0) {
		size_t k = n < room ? n : room;
		memcpy(f->resp + f->resp_len, p, k);
		f->resp_len += k;
	}
	return n;
}

int
tk_fwd_new(struct tk_fwd **out, const struct tk_fwd_opts *o, char *err, size_t errlen)
{
	struct tk_fwd *f;
	uint64_t max;

	*out = NULL;
	if (o->url == NULL || (strncasecmp(o->url, "http://", 7) != 0 &&
	    strncasecmp(o->url, "https://", 8) != 0))
		return tk_errf(err, errlen, "%s: not an http:// or https:// URL",
		    o->url ? o->url : "(none)");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return tk_errf(err, errlen, "out of memory");
	f->o = *o;
	if (f->o.mode == TK_FWD_OSMAND || f->o.batch_max == 0)
		f->o.batch_max = 1;
	if (f->o.retry_min_ms < 1)
		f->o.retry_min_ms = 1;
	if (f->o.retry_max_ms < f->o.retry_min_ms)
		f->o.retry_max_ms = f->o.retry_min_ms;
	max = o->spool_max ? o->spool_max :
	    o->spool_dir ? TK_FWD_DEF_SPOOL_MAX : TK_FWD_DEF_MEM_MAX;
	if (tk_spool_open(&f->q, o->spool_dir, max, err, errlen) != 0)
		goto fail;
	f->st.resumed = tk_spool_records(f->q);
	f->pending_since = tk_mono_ms() - f->o.linger_ms;	/* what an old run left: now */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		tk_errf(err, errlen, "libcurl: initialisation failed");
		goto fail;
	}
	f->multi = curl_multi_init();
	f->easy = curl_easy_init();
	f->tok = json_tokener_new_ex(32);
	f->body = malloc(TK_FWD_BODY_MAX + 2);
	f->url_cap = strlen(o->url) + QUERY_MAX + 2;
	f->url = malloc(f->url_cap);
	if (f->multi == NULL || f->easy == NULL || f->tok == NULL || f->body == NULL ||
	    f->url == NULL) {
		tk_errf(err, errlen, "out of memory");
		goto fail;
	}
	const char *ctype = o->mode == TK_FWD_LINES ? "Content-Type: application/x-ndjson" :
	    o->mode == TK_FWD_ARRAY ? "Content-Type: application/json" : NULL;
	struct curl_slist *h = NULL;
	if (ctype && (h = curl_slist_append(f->hdrs, ctype)) != NULL)
		f->hdrs = h;
	if ((h = curl_slist_append(f->hdrs, "Expect:")) != NULL)
		f->hdrs = h;
	for (size_t i = 0; i < o->nheaders; i++)
		if ((h = curl_slist_append(f->hdrs, o->headers[i])) != NULL)
			f->hdrs = h;
	char ua[64];
	snprintf(ua, sizeof(ua), "tk-forward/%s", tk_version());
	CURL *e = f->easy;
	int64_t cto = o->timeout_ms < 10000 ? o->timeout_ms : 10000;
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_URL, o->url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, ua) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->hdrs) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cto) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, f) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf) != CURLE_OK ||
	    (o->cacert && curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert) != CURLE_OK)) {
		tk_errf(err, errlen, "libcurl: cannot set the request options");
		goto fail;
	}
	*out = f;
	return 0;
fail:
	tk_fwd_free(f);
	return -1;
}

void
tk_fwd_free(struct tk_fwd *f)
{
	if (f == NULL)
		return;
	if (f->inflight)
		curl_multi_remove_handle(f->multi, f->easy);
	if (f->easy)
		curl_easy_cleanup(f->easy);
	if (f->multi) {
		curl_multi_cleanup(f->multi);
		curl_global_cleanup();
	}
	curl_slist_free_all(f->hdrs);
	if (f->tok)
		json_tokener_free(f->tok);
	tk_spool_close(f->q);
	free(f->body);
	free(f->url);
	free(f);
}

bool
tk_fwd_fits(const struct tk_fwd *f, size_t n)
{
	return tk_spool_fits(f->q, n);
}

void
tk_fwd_drop(struct tk_fwd *f)
{
	f->st.full++;
}

enum tk_fwd_put
tk_fwd_put(struct tk_fwd *f, const char *rec, size_t n)
{
	char err[512];
	json_object *o;
	bool ok;

	while (n && (rec[n - 1] == '\r' || rec[n - 1] == ' ' || rec[n - 1] == '\t'))
		n--;
	if (n == 0 || n > TK_FWD_REC_MAX || memchr(rec, '\n', n) != NULL ||
	    (o = parse(f->tok, rec, n)) == NULL) {
		f->st.bad++;
		return TK_FWD_BAD;
	}
	if (f->o.mode == TK_FWD_OSMAND) {
		char qb[QUERY_MAX];
		struct tk_buf b = {qb, 0, sizeof(qb)};
		ok = osmand_query(o, &b) == 0;
	} else
		ok = true;
	json_object_put(o);
	if (!ok) {
		f->st.bad++;
		return TK_FWD_BAD;
	}
	bool was_empty = tk_spool_records(f->q) == 0;
	switch (tk_spool_put(f->q, rec, n, err, sizeof(err))) {
	case TK_SPOOL_OK:
		break;
	case TK_SPOOL_FULL:
		return TK_FWD_FULL;
	case TK_SPOOL_ERR:
		if (f->st.spool_errors++ == 0)
			logf_(f, "spool: %s: record dropped", err);
		return TK_FWD_ERR;
	}
	if (was_empty)
		f->pending_since = tk_mono_ms();
	f->st.accepted++;
	return TK_FWD_OK;
}

void
tk_fwd_flush(struct tk_fwd *f)
{
	f->flushing = true;
}

bool
tk_fwd_idle(const struct tk_fwd *f)
{
	return !f->inflight && tk_spool_records(f->q) == 0;
}

const struct tk_fwd_stats *
tk_fwd_stats(struct tk_fwd *f)
{
	struct tk_fwd_stats *st = &f->st;
	st->queued = tk_spool_records(f->q);
	st->queued_bytes = tk_spool_bytes(f->q);
	st->skipped = tk_spool_skipped(f->q);
	st->down = f->fails > 0;
	return &f->st;
}

/* When the next request is due (ms, monotonic), or -1: nothing to send. */
static int64_t
next_due(const struct tk_fwd *f)
{
	uint64_t n = tk_spool_records(f->q);

	if (f->inflight || n == 0)
		return -1;
	if (f->retry_at)
		return f->retry_at;
	if (n >= f->o.batch_max || f->flushing)
		return 0;
	return f->pending_since + f->o.linger_ms;
}

static int
start(struct tk_fwd *f, int64_t now)
{
	char err[512];
	const char *p;
	size_t len, nrecs;

	if (tk_spool_peek(f->q, f->o.batch_max, TK_FWD_BODY_MAX, &p, &len, &nrecs, err,
	    sizeof(err)) != 0) {
		logf_(f, "spool: %s", err);
		return -1;
	}
	if (nrecs == 0)
		return 0;
	if (f->o.mode == TK_FWD_OSMAND) {
		size_t base = strlen(f->o.url);
		memcpy(f->url, f->o.url, base);
		f->url[base++] = strchr(f->o.url, '?') ? '&' : '?';
		struct tk_buf b = {f->url + base, 0, f->url_cap - base};
		if (tk_fwd_osmand_query(p, len - 1, &b) != 0) {
			/* not a position after all (an old spool of another mode) */
			f->st.bad++;
			logf_(f, "spool: a record without a position: skipped");
			if (tk_spool_pop(f->q, len, nrecs, err, sizeof(err)) != 0)
				logf_(f, "spool: %s", err);
			return 0;
		}
		f->body_len = 0;
		f->body[0] = '\0';
		curl_easy_setopt(f->easy, CURLOPT_URL, f->url);
	} else if (f->o.mode == TK_FWD_LINES) {
		memcpy(f->body, p, len);
		f->body_len = len;
	} else {
		f->body[0] = '[';
		memcpy(f->body + 1, p, len);
		for (size_t i = 1; i < len; i++)
			if (f->body[i] == '\n')
				f->body[i] = ',';
		f->body[len] = ']';
		f->body_len = len + 1;
	}
	curl_easy_setopt(f->easy, CURLOPT_POSTFIELDS, f->body);
	curl_easy_setopt(f->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
	f->resp_len = 0;
	f->errbuf[0] = '\0';
	f->fl_len = len;
	f->fl_recs = nrecs;
	f->fl_start = now;
	if (curl_multi_add_handle(f->multi, f->easy) != CURLM_OK) {
		logf_(f, "libcurl: cannot start a request");
		return -1;
	}
	f->inflight = true;
	f->retry_at = 0;
	f->st.requests++;
	return 0;
}

static void
quote_resp(const struct tk_fwd *f, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < f->resp_len && k + 5 < cap; i++) {
		unsigned char c = (unsigned char)f->resp[i];
		out[k++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	if (f->resp_len == RESP_KEEP && k + 4 < cap) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static void
failed(struct tk_fwd *f, int64_t now, const char *why)
{
	int64_t delay = f->o.retry_min_ms;

	for (unsigned i = 0; i < f->fails && delay < f->o.retry_max_ms; i++)
		delay *= 2;
	if (delay > f->o.retry_max_ms)
		delay = f->o.retry_max_ms;
	if (f->fails == 0)
		f->down_since = now;
	f->fails++;
	f->st.retries++;
	f->retry_at = now + delay;
	if (f->fails == 1 || strcmp(f->reason, why) != 0)
		logf_(f, "%s: %s; retrying (every %.1f s at most), %llu records queued",
		    f->o.url, why, (double)f->o.retry_max_ms / 1000,
		    (unsigned long long)tk_spool_records(f->q));
	snprintf(f->reason, sizeof(f->reason), "%s", why);
}

static void
done(struct tk_fwd *f, CURLcode cc, int64_t now)
{
	char why[sizeof(f->reason)], err[512], resp[RESP_KEEP + 8];
	long status = 0;

	curl_multi_remove_handle(f->multi, f->easy);
	f->inflight = false;
	if (cc != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(cc));
		failed(f, now, why);
		return;
	}
	curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
	quote_resp(f, resp, sizeof(resp));
	if (status == 408 || status == 425 || status == 429 || status >= 500) {
		snprintf(why, sizeof(why), "HTTP %ld%s%s", status, *resp ? ": " : "", resp);
		failed(f, now, why);
		return;
	}
	if (status >= 200 && status < 300)
		f->st.delivered += f->fl_recs;
	else {
		f->st.rejected += f->fl_recs;
		logf_(f, "%s: HTTP %ld for %zu record%s: rejected, not retried%s%s", f->o.url,
		    status, f->fl_recs, f->fl_recs == 1 ? "" : "s", *resp ? ": " : "", resp);
	}
	if (f->fails > 0) {
		logf_(f, "%s: reachable again after %u failed attempts in %.1f s", f->o.url,
		    f->fails, (double)(now - f->down_since) / 1000);
		f->fails = 0;
		f->reason[0] = '\0';
	}
	if (tk_spool_pop(f->q, f->fl_len, f->fl_recs, err, sizeof(err)) != 0)
		logf_(f, "spool: %s", err);
	/* what came in meanwhile has waited as long as the request took */
	f->pending_since = f->fl_start;
}

int
tk_fwd_poll(struct tk_fwd *f, struct tk_fwd_fd *fds, size_t nfds, int timeout_ms)
{
	struct curl_waitfd wf[MAX_FDS];
	struct pollfd pf[MAX_FDS];
	unsigned nw = 0;
	int64_t now = tk_mono_ms(), due = next_due(f);
	long ct = -1;

	if (nfds > MAX_FDS)
		nfds = MAX_FDS;
	if (f->inflight && curl_multi_timeout(f->multi, &ct) == CURLM_OK && ct >= 0 &&
	    (timeout_ms < 0 || ct < timeout_ms))
		timeout_ms = (int)ct;
	if (due >= 0) {
		int64_t w = due > now ? due - now : 0;
		if (timeout_ms < 0 || w < timeout_ms)
			timeout_ms = (int)w;
	}
	if (timeout_ms < 0)
		timeout_ms = 1000;	/* curl_multi_poll wants a bound */
	for (size_t i = 0; i < nfds; i++) {
		fds[i].ready = false;
		if (!fds[i].want)
			continue;
		wf[nw].fd = fds[i].fd;
		wf[nw].events = CURL_WAIT_POLLIN;
		wf[nw].revents = 0;
		nw++;
	}
	if (timeout_ms > 0 && curl_multi_poll(f->multi, wf, nw, timeout_ms, NULL) != CURLM_OK) {
		logf_(f, "libcurl: waiting failed");
		return -1;
	}
	/* curl reports POLLIN only: ask again for hang-ups (end of a pipe) */
	nw = 0;
	for (size_t i = 0; i < nfds; i++)
		if (fds[i].want) {
			pf[nw].fd = fds[i].fd;
			pf[nw].events = POLLIN;
			pf[nw].revents = 0;
			nw++;
		}
	if (nw > 0 && poll(pf, nw, 0) > 0) {
		nw = 0;
		for (size_t i = 0; i < nfds; i++)
			if (fds[i].want)
				fds[i].ready = pf[nw++].revents != 0;
	}
	if (f->inflight) {
		int running = 0;
		CURLMsg *m;
		int left;
		curl_multi_perform(f->multi, &running);
		while ((m = curl_multi_info_read(f->multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE && m->easy_handle == f->easy)
				done(f, m->data.result, tk_mono_ms());
	}
	now = tk_mono_ms();
	due = next_due(f);
	if (due >= 0 && due <= now)
		return start(f, now);
	return 0;
}
