/*
 * tk_fleet.c: the registry, moves and commands of a fleet of tk-listen
 * instances over the bus.  See tk_fleet.h.
 *
 * Each device online here has an entry (struct own) holding what was
 * last written for it: the key's revision our last write got, the write
 * in flight (one at a time per device; a newer state waits for its ack),
 * and the newest revision another instance wrote while ours was in
 * flight.  A write is a JetStream publish to $KV.tk_devices.<id> with a
 * message id (so a retry is stored once) and, except when this instance
 * registers the device afresh, the condition that the key's last
 * revision is ours (Nats-Expected-Last-Subject-Sequence): when it fails,
 * another instance has registered the device since, and our session is
 * the stale one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tk_ctl.h"
#include "tk_fleet.h"
#include "tk_loop.h"
#include "tk_nats.h"
#include "tk_sink.h"
#include "tk_util.h"

#define DELS_MAX	TK_CTL_QUEUE_MAX	/* bucket deletes waiting for a retry */
#define WRONG_LAST	"10071"			/* JetStream: wrong last sequence */

struct own {
	struct own	*next;		/* hash chain */
	struct own	*rnext;		/* the retry list */
	char		 id[TK_ID_MAX];
	char		 peer[48];
	uint8_t		 dialect;	/* enum tk_dialect */
	bool		 udp, online;
	bool		 pending;	/* a state to write */
	bool		 changed;	/* ... that no message id was given to yet */
	bool		 fresh;		/* registered afresh here: write unconditionally */
	bool		 retry;		/* on the retry list */
	bool		 gone;		/* the device moved to another instance */
	int64_t		 since, last;
	uint64_t	 frames;
	uint64_t	 rev;		/* the key's revision our last write got */
	uint64_t	 req;		/* the write in flight, 0: none */
	uint64_t	 foreign;	/* newest revision written elsewhere meanwhile */
	uint64_t	 msgno;		/* the message id of the state to write */
};

/* A queued command's key to delete from the bucket (it was sent here). */
struct del {
	char		 id[TK_ID_MAX];
	uint64_t	 qid;
	uint64_t	 req;		/* the delete in flight, 0: waiting for a retry */
	bool		 used;
};

struct tk_fleet {
	struct tk_nats	*bus;
	struct tk_server *srv;
	char		 name[128];
	int64_t		 boot;
	uint64_t	 msgno;
	struct own	**tab;
	size_t		 tcap, n;
	struct own	*retry;
	bool		 watching;
	struct del	*dels;		/* DELS_MAX slots */
	struct tk_buf	 b;
	struct {
		uint64_t writes, write_errors, moved, cmds_mirrored, cmds_sent;
		uint64_t cmds_dropped, ctl_requests, dels_dropped;
	} st;
};

/* ---- values ------------------------------------------------------------- */

static int
adds(struct tk_buf *b, const char *s)
{
	return tk_buf_add(b, s, strlen(s));
}

static int
addf(struct tk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
addf(struct tk_buf *b, const char *fmt, ...)
{
	char t[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t))
		return -1;
	return tk_buf_add(b, t, (size_t)n);
}

/* "key":"string" (escaped) */
static int
jstr(struct tk_buf *b, const char *key, const char *v)
{
	int rc = addf(b, "\"%s\":", key);
	rc |= tk_buf_reserve(b, 6 * strlen(v) + 2);
	rc |= tk_buf_json_str(b, v, strlen(v));
	return rc;
}

static int
jtime(struct tk_buf *b, const char *key, int64_t ms)
{
	char t[32];
	tk_fmt_time(t, ms);
	return addf(b, "\"%s\":\"%s\"", key, t);
}

int
tk_fleet_value_json(struct tk_buf *b, const struct tk_fleet_value *v)
{
	int rc = adds(b, "{");
	rc |= jstr(b, "instance", v->instance);
	rc |= addf(b, ",\"online\":%s,", v->online ? "true" : "false");
	rc |= jstr(b, "transport", v->transport);
	rc |= adds(b, ",");
	rc |= jstr(b, "peer", v->peer);
	rc |= adds(b, ",");
	rc |= jstr(b, "dialect", v->dialect);
	rc |= adds(b, ",");
	rc |= jtime(b, "since", v->since);
	rc |= adds(b, ",");
	rc |= jtime(b, "last", v->last);
	rc |= addf(b, ",\"frames\":%" PRIu64 "}", v->frames);
	return rc ? -1 : 0;
}

/* 2026-12-04T19:10:50.396Z to wall ms: 0, or -1 */
static int
parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac, n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo, &d, &h, &mi, &sec, &frac,
	    &n) != 7 || n != 24 || s[n] != '\0')
		return -1;
	return tk_time_utc(y, mo, d, h, mi, sec, frac, ms);
}

/* The object of a JSON text of len bytes, or NULL. */
static json_object *
parse_obj(const char *json, size_t len)
{
	if (len == 0 || len > 65536)
		return NULL;
	json_tokener *t = json_tokener_new();
	if (t == NULL)
		return NULL;
	json_object *o = json_tokener_parse_ex(t, json, (int)len);
	if (o != NULL && (json_tokener_get_error(t) != json_tokener_success ||
	    json_tokener_get_parse_end(t) != len ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(t);
	return o;
}

/* member key, a string, into out: 0, or -1 when missing, not a string or too long */
static int
get_str(json_object *o, const char *key, char *out, size_t cap)
{
	json_object *m;
	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_string))
		return -1;
	size_t n = (size_t)json_object_get_string_len(m);
	if (n >= cap)
		return -1;
	memcpy(out, json_object_get_string(m), n);
	out[n] = '\0';
	return 0;
}

static int
get_u64(json_object *o, const char *key, uint64_t *v)
{
	json_object *m;
	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, json_type_int))
		return -1;
	int64_t x = json_object_get_int64(m);
	if (x < 0)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

int
tk_fleet_value_parse(const char *json, size_t len, struct tk_fleet_value *v)
{
	json_object *o = parse_obj(json, len), *m;
	char t1[32], t2[32];
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (o == NULL)
		return -1;
	if (get_str(o, "instance", v->instance, sizeof(v->instance)) == 0 &&
	    json_object_object_get_ex(o, "online", &m) &&
	    json_object_is_type(m, json_type_boolean) &&
	    get_str(o, "transport", v->transport, sizeof(v->transport)) == 0 &&
	    get_str(o, "peer", v->peer, sizeof(v->peer)) == 0 &&
	    get_str(o, "dialect", v->dialect, sizeof(v->dialect)) == 0 &&
	    get_str(o, "since", t1, sizeof(t1)) == 0 && parse_time(t1, &v->since) == 0 &&
	    get_str(o, "last", t2, sizeof(t2)) == 0 && parse_time(t2, &v->last) == 0 &&
	    get_u64(o, "frames", &v->frames) == 0) {
		v->online = json_object_get_boolean(m);
		rc = 0;
	}
	json_object_put(o);
	return rc;
}

int
tk_fleet_cmd_json(struct tk_buf *b, const char *id, int64_t expires, const uint8_t *p,
    size_t n)
{
	char *hex = malloc(2 * n + 1);
	if (hex == NULL)
		return -1;
	tk_hex_encode(p, n, hex);
	hex[2 * n] = '\0';
	int rc = adds(b, "{");
	rc |= jstr(b, "id", id);
	rc |= adds(b, ",");
	rc |= jtime(b, "expires", expires);
	rc |= addf(b, ",\"expires_ms\":%" PRId64 ",\"data\":\"", expires);
	rc |= adds(b, hex);
	rc |= adds(b, "\"}");
	free(hex);
	return rc ? -1 : 0;
}

int
tk_fleet_cmd_parse(const char *json, size_t len, int64_t *expires, uint8_t *p, size_t cap,
    size_t *n)
{
	json_object *o = parse_obj(json, len), *m;
	uint64_t e;
	int rc = -1;

	if (o == NULL)
		return -1;
	if (get_u64(o, "expires_ms", &e) == 0 && e <= INT64_MAX &&
	    json_object_object_get_ex(o, "data", &m) &&
	    json_object_is_type(m, json_type_string)) {
		long k = tk_hex_decode(json_object_get_string(m),
		    (size_t)json_object_get_string_len(m), p, cap);
		if (k > 0) {
			*expires = (int64_t)e;
			*n = (size_t)k;
			rc = 0;
		}
	}
	json_object_put(o);
	return rc;
}

int
tk_fleet_cmd_key(const char *key, char *id, size_t idcap, uint64_t *qid)
{
	const char *dot = strrchr(key, '.');
	if (dot == NULL || (size_t)(dot - key) >= idcap ||
	    !tk_ctl_valid_id(key, (size_t)(dot - key)) ||
	    tk_parse_uint(dot + 1, strlen(dot + 1), UINT64_MAX / 2, qid) != 0 || *qid == 0)
		return -1;
	memcpy(id, key, (size_t)(dot - key));
	id[dot - key] = '\0';
	return 0;
}

/* ---- the devices registered here ------------------------------------------- */

static size_t
hash(const char *id)
{
	uint32_t h = 2166136261u;
	for (; *id; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h;
}

static struct own *
find(const struct tk_fleet *f, const char *id)
{
	if (f->tcap == 0)
		return NULL;
	for (struct own *o = f->tab[hash(id) & (f->tcap - 1)]; o != NULL; o = o->next)
		if (strcmp(o->id, id) == 0)
			return o;
	return NULL;
}

static struct own *
create(struct tk_fleet *f, const char *id)
{
	if (f->n >= f->tcap) {
		size_t c = f->tcap ? f->tcap * 2 : 1024;
		struct own **t = calloc(c, sizeof(*t));
		if (t == NULL)
			return NULL;
		for (size_t i = 0; i < f->tcap; i++)
			for (struct own *o = f->tab[i], *nx; o != NULL; o = nx) {
				nx = o->next;
				o->next = t[hash(o->id) & (c - 1)];
				t[hash(o->id) & (c - 1)] = o;
			}
		free(f->tab);
		f->tab = t;
		f->tcap = c;
	}
	struct own *o = calloc(1, sizeof(*o));
	if (o == NULL)
		return NULL;
	tk_strlcpyn(o->id, sizeof(o->id), id, strlen(id));
	size_t h = hash(id) & (f->tcap - 1);
	o->next = f->tab[h];
	f->tab[h] = o;
	f->n++;
	return o;
}

/* Forget o: nothing in flight, not on the retry list. */
static void
destroy(struct tk_fleet *f, struct own *o)
{
	struct own **pp = &f->tab[hash(o->id) & (f->tcap - 1)];
	while (*pp != o)
		pp = &(*pp)->next;
	*pp = o->next;
	f->n--;
	free(o);
}

/* Done with o when nothing is left to write. */
static void
settle(struct tk_fleet *f, struct own *o)
{
	if (o->req == 0 && !o->retry && (o->gone || (!o->online && !o->pending)))
		destroy(f, o);
}

static void
retry_later(struct tk_fleet *f, struct own *o)
{
	o->pending = true;
	if (!o->retry) {
		o->retry = true;
		o->rnext = f->retry;
		f->retry = o;
	}
}

static void on_written(void *, void *, uint64_t, int, const char *, size_t);

/* Write o's state (one write in flight per device). */
static void
write_own(struct tk_fleet *f, struct own *o)
{
	char subj[TK_ID_MAX + 32], msgid[200], rev[24];
	struct tk_nats_hdr h[2];
	size_t nh = 0;

	if (o->req != 0 || o->gone || !o->pending)
		return;
	if (!tk_nats_ready(f->bus)) {
		retry_later(f, o);
		return;
	}
	struct tk_fleet_value v;
	memset(&v, 0, sizeof(v));
	tk_strlcpyn(v.instance, sizeof(v.instance), f->name, strlen(f->name));
	const char *dn = tk_dialect_name((enum tk_dialect)o->dialect);
	tk_strlcpyn(v.dialect, sizeof(v.dialect), dn, strlen(dn));
	memcpy(v.transport, o->udp ? "udp" : "tcp", 4);
	tk_strlcpyn(v.peer, sizeof(v.peer), o->peer, strlen(o->peer));
	v.since = o->since;
	v.last = o->last;
	v.frames = o->frames;
	v.online = o->online;
	f->b.len = 0;
	if (tk_fleet_value_json(&f->b, &v) != 0) {
		retry_later(f, o);
		return;
	}
	if (o->changed) {
		o->msgno = ++f->msgno;
		o->changed = false;
	}
	snprintf(msgid, sizeof(msgid), "%s.%" PRId64 ".r%" PRIu64, f->name, f->boot, o->msgno);
	h[nh++] = (struct tk_nats_hdr){"Nats-Msg-Id", msgid};
	if (!o->fresh) {
		snprintf(rev, sizeof(rev), "%" PRIu64, o->rev);
		h[nh++] = (struct tk_nats_hdr){"Nats-Expected-Last-Subject-Sequence", rev};
	}
	snprintf(subj, sizeof(subj), "$KV.%s.%s", TK_NATS_REGISTRY, o->id);
	o->req = tk_nats_request_async(f->bus, subj, h, nh, f->b.p, f->b.len, on_written, f, o);
	if (o->req == 0) {
		retry_later(f, o);
		return;
	}
	o->pending = false;
	f->st.writes++;
}

/* The device moved to another instance: our session is stale. */
static void
moved(struct tk_fleet *f, struct own *o)
{
	o->gone = true;
	o->pending = false;
	f->st.moved++;
	if (f->srv != NULL)
		tk_server_kick(f->srv, o->id);
}

static void
on_written(void *arg, void *tok, uint64_t id, int status, const char *d, size_t len)
{
	struct tk_fleet *f = arg;
	struct own *o = tok;

	if (o->req != id)
		return;
	o->req = 0;
	const char *seq = status == 0 ? memmem(d, len, "\"seq\":", 6) : NULL;
	if (status == 0 && seq != NULL && memmem(d, len, "\"error\"", 7) == NULL) {
		uint64_t r = 0;
		for (const char *p = seq + 6; p < d + len && *p >= '0' && *p <= '9'; p++)
			r = r * 10 + (uint64_t)(*p - '0');
		o->rev = r;
		o->fresh = false;
		if (o->foreign > r && o->online)
			moved(f, o);
	} else if (status == 0 && memmem(d, len, WRONG_LAST, sizeof(WRONG_LAST) - 1) != NULL) {
		/* the key moved on without us: registered elsewhere */
		if (o->online && !o->gone)
			moved(f, o);
		else
			o->pending = false;
	} else {
		f->st.write_errors++;
		retry_later(f, o);
		settle(f, o);
		return;
	}
	if (o->pending)
		write_own(f, o);
	settle(f, o);
}

/* The server's hook: a device online here, still online, or offline. */
static void
on_device(void *arg, const struct tk_server_dev *d)
{
	struct tk_fleet *f = arg;
	struct own *o = find(f, d->id);

	if (o == NULL) {
		if (!d->online || (o = create(f, d->id)) == NULL)
			return;
		o->fresh = true;
	}
	if (d->online && (o->gone || !o->online || o->since != d->since)) {
		/* registered afresh here */
		o->gone = false;
		o->fresh = true;
		o->foreign = 0;
	}
	if (o->gone)
		return;
	o->online = d->online;
	o->udp = strcmp(d->transport, "udp") == 0;
	tk_strlcpyn(o->peer, sizeof(o->peer), d->peer, strlen(d->peer));
	enum tk_dialect dl = TK_D_UNKNOWN;
	if (tk_dialect_parse(d->dialect, &dl) != 0)
		dl = TK_D_UNKNOWN;
	o->dialect = (uint8_t)dl;
	o->since = d->since;
	o->last = d->last;
	o->frames = d->frames;
	o->pending = true;
	o->changed = true;
	write_own(f, o);
}

/* Another instance wrote a registry key. */
static void
on_registry(void *arg, const struct tk_nats_kv *kv)
{
	struct tk_fleet *f = arg;
	struct tk_fleet_value v;
	struct own *o = find(f, kv->key);

	if (o == NULL || o->gone || !o->online || kv->op != TK_NATS_PUT ||
	    tk_fleet_value_parse(kv->val, kv->len, &v) != 0 || !v.online ||
	    strcmp(v.instance, f->name) == 0)
		return;
	if (o->req != 0) {
		if (kv->rev > o->foreign)
			o->foreign = kv->rev;	/* decided when our write's ack comes */
		return;
	}
	if (kv->rev > o->rev) {
		moved(f, o);
		settle(f, o);
	}
}

/* ---- commands ------------------------------------------------------------------ */

static void
on_ctl(void *arg, const char *subject, const char *reply, const char *data, size_t len)
{
	struct tk_fleet *f = arg;
	struct tk_buf b = {NULL, 0, 0};

	(void)subject;
	if (reply == NULL || *reply == '\0' || f->srv == NULL)
		return;
	f->st.ctl_requests++;
	if (tk_server_request(f->srv, data, len, &b) != 0) {
		free(b.p);
		b.p = strdup("ERR refused out of memory\n");
		b.len = b.p ? strlen(b.p) : 0;
	}
	tk_nats_publish(f->bus, reply, NULL, b.p ? b.p : "", b.len);
	free(b.p);
}

/* The bucket of queued commands changed: mirror it into the server's queue. */
static void
on_cmdq(void *arg, const struct tk_nats_kv *kv)
{
	struct tk_fleet *f = arg;
	char id[TK_ID_MAX];
	uint64_t qid;
	int64_t expires;
	size_t n;
	static uint8_t bytes[TK_CTL_SEND_MAX];

	if (f->srv == NULL || tk_fleet_cmd_key(kv->key, id, sizeof(id), &qid) != 0)
		return;
	if (kv->op == TK_NATS_DEL) {
		tk_server_unqueue(f->srv, qid);
		return;
	}
	if (tk_fleet_cmd_parse(kv->val, kv->len, &expires, bytes, sizeof(bytes), &n) != 0 ||
	    expires <= tk_wall_ms())
		return;
	if (tk_server_queue(f->srv, qid, id, expires, bytes, n) == 0)
		f->st.cmds_mirrored++;
	else if (errno != EEXIST)
		f->st.cmds_dropped++;
}

static void on_deleted(void *, void *, uint64_t, int, const char *, size_t);

static void
send_delete(struct tk_fleet *f, struct del *d)
{
	char subj[TK_ID_MAX + 64];
	struct tk_nats_hdr h = {"KV-Operation", "DEL"};

	snprintf(subj, sizeof(subj), "$KV.%s.%s.%" PRIu64, TK_NATS_CMDQ, d->id, d->qid);
	d->req = tk_nats_ready(f->bus) ?
	    tk_nats_request_async(f->bus, subj, &h, 1, NULL, 0, on_deleted, f, d) : 0;
}

static void
on_deleted(void *arg, void *tok, uint64_t id, int status, const char *data, size_t len)
{
	struct del *d = tok;

	(void)arg;
	if (d->req != id)
		return;
	d->req = 0;
	if (status == 0 && memmem(data, len, "\"error\"", 7) == NULL)
		d->used = false;	/* else again at the next tick */
}

/* The server sent a command of the bucket: delete it there. */
static void
on_queued_sent(void *arg, const char *id, uint64_t qid)
{
	struct tk_fleet *f = arg;
	struct del *d = NULL;

	f->st.cmds_sent++;
	/*
	 * Delete it from the bucket (retried until the bus takes it: else
	 * the next instance the device comes to sends it again).
	 */
	for (size_t i = 0; i < DELS_MAX && d == NULL; i++)
		if (!f->dels[i].used)
			d = &f->dels[i];
	if (d == NULL) {
		f->st.dels_dropped++;
		return;
	}
	d->used = true;
	tk_strlcpyn(d->id, sizeof(d->id), id, strlen(id));
	d->qid = qid;
	send_delete(f, d);
}

static int
more_stats(void *arg, struct tk_buf *b, const char *prefix)
{
	return tk_fleet_stats(arg, b, prefix);
}

/* ---- the fleet ------------------------------------------------------------------- */

struct tk_fleet *
tk_fleet_new(struct tk_nats *bus, const char *name, char *err, size_t errlen)
{
	struct tk_fleet *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->dels = calloc(DELS_MAX, sizeof(*f->dels))) == NULL) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->bus = bus;
	tk_strlcpyn(f->name, sizeof(f->name), name, strlen(name));
	f->boot = tk_wall_ms();
	return f;
}

void
tk_fleet_hook(struct tk_fleet *f, struct tk_server_opts *o, int64_t refresh_ms)
{
	o->on_device = on_device;
	o->on_queued_sent = on_queued_sent;
	o->more_stats = more_stats;
	o->dev_arg = f;
	o->dev_refresh_ms = refresh_ms;
}

int
tk_fleet_start(struct tk_fleet *f, struct tk_server *s, char *err, size_t errlen)
{
	char subj[TK_NATS_NAME_MAX + 16];

	f->srv = s;
	tk_nats_ctl_subject(subj, sizeof(subj), f->name);
	return tk_nats_subscribe(f->bus, subj, NULL, on_ctl, f, err, errlen);
}

void
tk_fleet_tick(struct tk_fleet *f)
{
	char e[256];

	tk_nats_tick(f->bus);
	if (!tk_nats_ready(f->bus))
		return;
	if (!f->watching) {
		/* the changes from now on for the registry; the whole queue */
		if (tk_nats_watch(f->bus, TK_NATS_REGISTRY, false, on_registry, f, e,
		    sizeof(e)) != 0 ||
		    tk_nats_watch(f->bus, TK_NATS_CMDQ, true, on_cmdq, f, e, sizeof(e)) != 0)
			return;		/* again at the next tick */
		f->watching = true;
	}
	struct own *l = f->retry;
	f->retry = NULL;
	while (l != NULL) {
		struct own *o = l;
		l = o->rnext;
		o->retry = false;
		if (o->gone)
			o->pending = false;
		write_own(f, o);
		settle(f, o);
	}
	for (size_t i = 0; i < DELS_MAX; i++)
		if (f->dels[i].used && f->dels[i].req == 0)
			send_delete(f, &f->dels[i]);
}

size_t
tk_fleet_pending(const struct tk_fleet *f)
{
	size_t k = 0;
	for (size_t i = 0; i < DELS_MAX; i++)
		k += f->dels[i].used;
	for (size_t i = 0; i < f->tcap; i++)
		for (const struct own *o = f->tab[i]; o != NULL; o = o->next)
			k += o->req != 0 || o->pending;
	return k;
}

int
tk_fleet_stats(const struct tk_fleet *f, struct tk_buf *b, const char *prefix)
{
	int rc = 0;
	rc |= tk_stat_line(b, prefix, "fleet_devices", f->n);
	rc |= tk_stat_line(b, prefix, "fleet_writes", f->st.writes);
	rc |= tk_stat_line(b, prefix, "fleet_write_errors", f->st.write_errors);
	rc |= tk_stat_line(b, prefix, "fleet_moved_away", f->st.moved);
	rc |= tk_stat_line(b, prefix, "fleet_ctl_requests", f->st.ctl_requests);
	rc |= tk_stat_line(b, prefix, "fleet_cmds_mirrored", f->st.cmds_mirrored);
	rc |= tk_stat_line(b, prefix, "fleet_cmds_sent", f->st.cmds_sent);
	rc |= tk_stat_line(b, prefix, "fleet_cmds_dropped", f->st.cmds_dropped);
	rc |= tk_stat_line(b, prefix, "fleet_deletes_dropped", f->st.dels_dropped);
	return rc;
}

void
tk_fleet_free(struct tk_fleet *f)
{
	if (f == NULL)
		return;
	tk_nats_forget(f->bus, f);
	for (size_t i = 0; i < f->tcap; i++)
		for (struct own *o = f->tab[i], *nx; o != NULL; o = nx) {
			nx = o->next;
			free(o);
		}
	free(f->tab);
	free(f->dels);
	free(f->b.p);
	free(f);
}
