/*
 * tk_nats.c: the bus over libnats.  See tk_nats.h.
 *
 * Threads: libnats calls us back on threads of its own (connection
 * events, subscription messages).  Those callbacks only append to a queue
 * under a mutex and write to an eventfd; the owner's thread drains the
 * queue (on_events) and does all the work.  So the sink, the server's
 * state and the log callback are only ever touched by one thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <nats/nats.h>

#include "tk_ctl.h"
#include "tk_frameline.h"
#include "tk_loop.h"
#include "tk_nats.h"
#include "tk_sink.h"
#include "tk_util.h"

#define ENSURE_WAIT_MS	5000
#define ENSURE_RETRY_MS	2000
#define DUP_WINDOW_NS	(120LL * 1000000000LL)	/* the stream's duplicate window */
/*
 * Publishes in flight (sent, not yet acknowledged) at most: the rest wait in
 * the ring (the bounded buffer, whose backpressure pauses TCP reads).  An
 * unbounded window let a burst queue ~100,000 publishes in the servers, the
 * head's ack came after the ack timeout and every line went out again (an R3
 * stream on 2 cores fell into republishing and never caught up); bounded,
 * publish-to-ack stays short and a timeout republishes only the window.
 */
#define INFLIGHT_MAX	4096

enum evkind { EV_STATE, EV_MSG, EV_ACK, EV_ERROR, EV_REPLY, EV_WATCH };
enum cstate { C_CONNECTING = 0, C_CONNECTED, C_DISCONNECTED, C_CLOSED };

struct nsub;

struct ev {
	enum evkind	 kind;
	int		 state;		/* EV_STATE: enum cstate; EV_ERROR: natsStatus */
	natsMsg		*m;		/* EV_MSG, EV_ACK */
	struct nsub	*sub;		/* EV_MSG */
};

struct nsub {
	struct tk_nats	*n;
	struct nsub	*next;
	natsSubscription *s;
	tk_nats_fn	 fn;		/* a subscription */
	tk_nats_watch_fn wfn;		/* or a watch (a bucket's ordered consumer) */
	void		*arg;
	size_t		 prefix;	/* watch: strlen("$KV.<bucket>.") */
};

/* An asynchronous request waiting for its reply (the ring in tk_nats). */
struct req {
	tk_nats_reply_fn fn;
	void		*arg, *tok;
	int64_t		 deadline;	/* mono ms */
	bool		 live;
};

struct nsink;

struct tk_nats {
	struct tk_nats_opts o;
	char		 name[TK_NATS_NAME_MAX];
	char		 stream[64];
	natsOptions	*opts;
	natsConnection	*nc;
	jsCtx		*js;
	struct tk_loop	*loop;
	int		 efd;
	/* the queue, filled by libnats threads */
	pthread_mutex_t	 mu;
	struct ev	*q;
	size_t		 qn, qcap;
	bool		 signalled;
	bool		 closing;	/* tk_nats_free: queue nothing */
	/* owner's thread only */
	struct ev	*work;
	size_t		 workcap;
	enum cstate	 state, logged;
	bool		 ever_connected;
	bool		 ensured;
	bool		 in_events;
	int64_t		 ensure_next;
	struct nsub	*subs;
	struct nsink	*sink;
	natsSubscription *acksub;
	char		 inbox[64];	/* "<inbox>." + seq: where acks come */
	/* asynchronous requests: ids [rbase, rnext), slot id % rcap */
	natsSubscription *rsub;
	char		 rinbox[64];	/* "<inbox>." + id: where their replies come */
	struct req	*reqs;
	size_t		 rcap;
	uint64_t	 rbase, rnext;
};

static void nlog(struct tk_nats *, enum tk_log_level, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
nlog(struct tk_nats *n, enum tk_log_level lv, const char *fmt, ...)
{
	char m[512];
	va_list ap;

	if (n->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	n->o.log(n->o.log_arg, lv, m);
}

/* libnats's text of an error without its "(file.c:line): " prefix */
static const char *
bare_error(const char *t)
{
	const char *e;

	if (t != NULL && *t == '(' && (e = strstr(t, "): ")) != NULL && e - t < 40)
		return e + 3;
	return t;
}

static void
status_text(natsStatus s, char *err, size_t errlen, const char *what)
{
	const char *t = bare_error(nats_GetLastError(NULL));
	snprintf(err, errlen, "nats: %s: %s", what,
	    t != NULL && *t ? t : natsStatus_GetText(s));
}

/*
 * A connection the servers refuse for what it is, not for where they are:
 * credentials, TLS.  Retrying changes nothing; the message says what to check.
 */
static bool
refused(natsStatus s, const char *text)
{
	const char *p;

	if (s == NATS_SSL_ERROR) {
		/* a certificate that does not verify: libnats says "SSL
		 * handshake error: <X509 verify code>:<reason>"; any other TLS
		 * failure (a server that gave up on a slow handshake: "unexpected
		 * eof") is the network's, and retried */
		if ((p = text ? strstr(text, "handshake error: ") : NULL) == NULL)
			return false;
		p += strlen("handshake error: ");
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
		return *p == ':';
	}
	return s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ||
	    s == NATS_SECURE_CONNECTION_WANTED || s == NATS_SECURE_CONNECTION_REQUIRED;
}

static void
refused_text(natsStatus s, char *err, size_t errlen, const char *urls)
{
	size_t k;

	status_text(s, err, errlen, urls);
	k = strlen(err);
	if (k < errlen)
		snprintf(err + k, errlen - k, " (%s)",
		    s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ?
		    "check --nats-user and TK_NATS_PASSWORD, or --nats-creds" :
		    "check the tls:// URL and --nats-ca");
}

/* ---- the queue (any thread) -------------------------------------------- */

static void
push(struct tk_nats *n, const struct ev *e)
{
	bool wake = false;

	pthread_mutex_lock(&n->mu);
	if (n->closing) {
		pthread_mutex_unlock(&n->mu);
		if (e->m != NULL)
			natsMsg_Destroy(e->m);
		return;
	}
	if (n->qn == n->qcap) {
		size_t c = n->qcap ? n->qcap * 2 : 256;
		struct ev *p = realloc(n->q, c * sizeof(*p));
		if (p == NULL) {
			pthread_mutex_unlock(&n->mu);
			/* an ack lost here is republished after the ack timeout */
			if (e->m != NULL)
				natsMsg_Destroy(e->m);
			return;
		}
		n->q = p;
		n->qcap = c;
	}
	n->q[n->qn++] = *e;
	if (!n->signalled) {
		n->signalled = true;
		wake = true;
	}
	pthread_mutex_unlock(&n->mu);
	if (wake) {
		uint64_t one = 1;
		(void)!write(n->efd, &one, sizeof(one));
	}
}

static void
on_conn_state(natsConnection *nc, void *closure, enum cstate st)
{
	struct tk_nats *n = closure;
	struct ev e = {EV_STATE, st, NULL, NULL};
	(void)nc;
	push(n, &e);
}

static void cb_connected(natsConnection *nc, void *c) { on_conn_state(nc, c, C_CONNECTED); }
static void cb_disconnected(natsConnection *nc, void *c) { on_conn_state(nc, c, C_DISCONNECTED); }
static void cb_closed(natsConnection *nc, void *c) { on_conn_state(nc, c, C_CLOSED); }

static void
cb_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	struct ev e = {EV_ERROR, (int)err, NULL, NULL};
	(void)nc;
	(void)sub;
	push(closure, &e);
}

static int64_t
cb_delay(natsConnection *nc, int attempts, void *closure)
{
	(void)nc;
	(void)closure;
	/* 100 ms doubling to 5 s, for every pass through the server list */
	int64_t d = 100;
	for (int i = 0; i < attempts && d < 5000; i++)
		d *= 2;
	return d < 5000 ? d : 5000;
}

static void
cb_msg(natsConnection *nc, natsSubscription *s, natsMsg *m, void *closure)
{
	struct nsub *sub = closure;
	struct ev e = {EV_MSG, 0, m, sub};
	(void)nc;
	(void)s;
	push(sub->n, &e);
}

static void
cb_ack(natsConnection *nc, natsSubscription *s, natsMsg *m, void *closure)
{
	struct ev e = {EV_ACK, 0, m, NULL};
	(void)nc;
	(void)s;
	push(closure, &e);
}

static void
cb_reply(natsConnection *nc, natsSubscription *s, natsMsg *m, void *closure)
{
	struct ev e = {EV_REPLY, 0, m, NULL};
	(void)nc;
	(void)s;
	push(closure, &e);
}

static void
cb_watch(natsConnection *nc, natsSubscription *s, natsMsg *m, void *closure)
{
	struct nsub *sub = closure;
	struct ev e = {EV_WATCH, 0, m, sub};
	(void)nc;
	(void)s;
	push(sub->n, &e);
}

/* ---- the sink ------------------------------------------------------------ */

struct ent {
	char		*p;		/* subject '\0' line */
	uint32_t	 slen, llen;	/* subject and line lengths */
	int64_t		 sent;		/* mono ms of the last publish, 0: never */
	bool		 acked;
};

struct nsink {
	struct tk_sink	 h;
	struct tk_nats	*n;
	size_t		 size;
	struct ent	*ring;
	size_t		 cap, head, cnt;	/* entries [head, head+cnt) mod cap */
	uint64_t	 base;		/* sequence number of ring[head] */
	size_t		 unsent;	/* ring offset (from head) of the first not sent */
	size_t		 bytes;		/* line bytes held */
	uint64_t	 delivered;	/* watermark reported */
	int64_t		 boot;		/* start time: message ids of this run */
	struct tk_buf	 fmt;
	/* counters */
	uint64_t	 published, acked, republished, duplicates, errors;
	uint64_t	 lat_n;
	uint64_t	 lat_hist[16];	/* publish-to-ack, bucket k: < 2^k ms */
};

static struct ent *
ent_at(struct nsink *s, size_t i)
{
	return &s->ring[(s->head + i) % s->cap];
}

static size_t
ns_pending(const struct tk_sink *h)
{
	return ((const struct nsink *)h)->bytes;
}

static uint64_t
ns_undelivered(const struct tk_sink *h)
{
	const struct nsink *s = (const struct nsink *)h;
	uint64_t k = 0;
	for (size_t i = 0; i < s->cnt; i++)
		k += !s->ring[(s->head + i) % s->cap].acked;
	return k;
}

static int
ring_grow(struct nsink *s)
{
	size_t c = s->cap ? s->cap * 2 : 1024;
	struct ent *r = calloc(c, sizeof(*r));
	if (r == NULL)
		return -1;
	for (size_t i = 0; i < s->cnt; i++)
		r[i] = *ent_at(s, i);
	free(s->ring);
	s->ring = r;
	s->cap = c;
	s->head = 0;
	return 0;
}

static void
subject_token(char *out, size_t cap, const char *s)
{
	if (s == NULL || *s == '\0')
		s = "_";
	tk_strlcpyn(out, cap, s, strlen(s));
}

/* Publish entry i (seq base+i); false when the connection refused it. */
static bool
ns_send(struct nsink *s, size_t i, int64_t now)
{
	struct tk_nats *n = s->n;
	struct ent *e = ent_at(s, i);
	uint64_t seq = s->base + i;
	char reply[96], id[TK_NATS_NAME_MAX + 48];
	natsMsg *m = NULL;

	snprintf(reply, sizeof(reply), "%s%" PRIu64, n->inbox, seq);
	snprintf(id, sizeof(id), "%s.%" PRId64 ".%" PRIu64, n->name, s->boot, seq);
	natsStatus st = natsMsg_Create(&m, e->p, reply, e->p + e->slen + 1, (int)e->llen);
	if (st == NATS_OK)
		st = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
	if (st == NATS_OK)
		st = natsConnection_PublishMsg(n->nc, m);
	natsMsg_Destroy(m);
	if (st != NATS_OK)
		return false;
	if (e->sent)
		s->republished++;
	else
		s->published++;
	e->sent = now;
	return true;
}

/* Publish what was never sent, and everything again after a timeout. */
static void
ns_pump(struct nsink *s)
{
	struct tk_nats *n = s->n;

	if (n->state != C_CONNECTED || !n->ensured || s->cnt == 0)
		return;
	int64_t now = tk_mono_ms();
	int tmo = n->o.ack_timeout_ms > 0 ? n->o.ack_timeout_ms : 5000;
	struct ent *h = ent_at(s, 0);
	if (s->unsent > 0 && h->sent && !h->acked && now - h->sent >= tmo)
		s->unsent = 0;		/* go back: the oldest is overdue */
	while (s->unsent < s->cnt && s->unsent < INFLIGHT_MAX) {
		struct ent *e = ent_at(s, s->unsent);
		if (!e->acked && !ns_send(s, s->unsent, now))
			break;
		s->unsent++;
	}
}

static void
ns_release(struct nsink *s)
{
	size_t before = s->bytes;

	while (s->cnt > 0 && ent_at(s, 0)->acked) {
		struct ent *e = ent_at(s, 0);
		s->bytes -= e->llen;
		free(e->p);
		e->p = NULL;
		s->head = (s->head + 1) % s->cap;
		s->cnt--;
		s->base++;
		if (s->unsent > 0)
			s->unsent--;
	}
	uint64_t wm = s->base - 1;
	if (wm > s->delivered) {
		s->delivered = wm;
		if (s->h.cb.delivered != NULL)
			s->h.cb.delivered(s->h.cb.arg, wm);
	}
	if (s->bytes < before && s->h.cb.drained != NULL)
		s->h.cb.drained(s->h.cb.arg);
}

/* A publish ack (or a failure) for sequence seq. */
static void
ns_ack(struct nsink *s, uint64_t seq, const char *d, size_t len, bool noresp)
{
	if (seq < s->base || seq - s->base >= s->cnt)
		return;			/* a late duplicate ack */
	struct ent *e = ent_at(s, (size_t)(seq - s->base));
	if (e->acked)
		return;
	bool ok = !noresp && len > 0 && memmem(d, len, "\"error\"", 7) == NULL &&
	    memmem(d, len, "\"seq\"", 5) != NULL;
	if (!ok) {
		/* the stream refused it (or is missing): try again after the timeout */
		s->errors++;
		return;
	}
	if (memmem(d, len, "\"duplicate\":true", 16) != NULL)
		s->duplicates++;
	e->acked = true;
	s->acked++;
	int64_t ms = tk_mono_ms() - e->sent;
	int k = 0;
	while (k < 15 && ms >= (1LL << k))
		k++;
	s->lat_hist[k]++;
	s->lat_n++;
}

static int
ns_put(struct tk_sink *h, const struct tk_fline *l, uint64_t *seq, const char **text,
    size_t *len)
{
	struct nsink *s = (struct nsink *)h;
	char subj[160], id[TK_ID_MAX + 1];

	s->fmt.len = 0;
	size_t need = 4 * l->len + 256;	/* the escaped line at its longest */
	if (s->fmt.cap < need) {
		char *q = realloc(s->fmt.p, need);
		if (q == NULL)
			goto lost;
		s->fmt.p = q;
		s->fmt.cap = need;
	}
	if (tk_fline_write(&s->fmt, l) != 0 || (s->cnt == s->cap && ring_grow(s) != 0))
		goto lost;
	subject_token(id, sizeof(id), l->id);
	if (l->kind == TK_F_OPEN || l->kind == TK_F_CLOSE)
		snprintf(subj, sizeof(subj), "tk.conn.%s", id);
	else
		snprintf(subj, sizeof(subj), "tk.frame.%s.%s",
		    l->dialect_known && l->dialect != TK_D_UNKNOWN ?
		    tk_dialect_name(l->dialect) : "_", id);
	size_t sl = strlen(subj);
	char *p = malloc(sl + 1 + s->fmt.len);
	if (p == NULL)
		goto lost;
	memcpy(p, subj, sl + 1);
	memcpy(p + sl + 1, s->fmt.p, s->fmt.len);
	struct ent *e = ent_at(s, s->cnt);
	e->p = p;
	e->slen = (uint32_t)sl;
	e->llen = (uint32_t)s->fmt.len;
	e->sent = 0;
	e->acked = false;
	s->cnt++;
	s->bytes += e->llen;
	*seq = ++h->lines_put;
	*text = p + sl + 1;
	*len = e->llen;
	/* publish now when the ones before went out: libnats batches writes */
	if (s->unsent == s->cnt - 1 && s->unsent < INFLIGHT_MAX &&
	    s->n->state == C_CONNECTED && s->n->ensured &&
	    ns_send(s, s->cnt - 1, tk_mono_ms()))
		s->unsent = s->cnt;
	return 0;
lost:
	h->lines_lost++;
	errno = ENOMEM;
	return -1;
}

static int on_events(struct tk_nats *);

static int
ns_flush(struct tk_sink *h)
{
	struct nsink *s = (struct nsink *)h;
	on_events(s->n);
	ns_pump(s);
	return 0;
}

static int
ns_wait(struct tk_sink *h, int timeout_ms)
{
	struct nsink *s = (struct nsink *)h;
	ns_flush(h);
	if (s->cnt == 0)
		return 0;
	tk_nats_poll(s->n, timeout_ms);
	ns_pump(s);
	return 0;
}

/* p50/p99 publish-to-ack from the histogram: the bucket's upper bound */
static uint64_t
ns_quantile(const struct nsink *s, unsigned pct)
{
	uint64_t want = (s->lat_n * pct + 99) / 100, c = 0;
	for (int k = 0; k < 16; k++) {
		c += s->lat_hist[k];
		if (c >= want && want > 0)
			return k == 0 ? 1 : (1ULL << k);
	}
	return 0;
}

static int
ns_stats(const struct tk_sink *h, struct tk_buf *b, const char *prefix)
{
	const struct nsink *s = (const struct nsink *)h;
	int rc = 0;
	rc |= tk_stat_line(b, prefix, "nats_connected", s->n->state == C_CONNECTED);
	rc |= tk_stat_line(b, prefix, "nats_published", s->published);
	rc |= tk_stat_line(b, prefix, "nats_acked", s->acked);
	rc |= tk_stat_line(b, prefix, "nats_pending", ns_undelivered(h));
	rc |= tk_stat_line(b, prefix, "nats_republished", s->republished);
	rc |= tk_stat_line(b, prefix, "nats_duplicates", s->duplicates);
	rc |= tk_stat_line(b, prefix, "nats_errors", s->errors);
	rc |= tk_stat_line(b, prefix, "nats_ack_ms_p50", ns_quantile(s, 50));
	rc |= tk_stat_line(b, prefix, "nats_ack_ms_p99", ns_quantile(s, 99));
	return rc;
}

static void
ns_free(struct tk_sink *h)
{
	struct nsink *s = (struct nsink *)h;
	for (size_t i = 0; i < s->cnt; i++)
		free(ent_at(s, i)->p);
	if (s->n->sink == s)
		s->n->sink = NULL;
	/* the sink's loop goes with its owner (the server): let go of it */
	if (s->n->loop != NULL) {
		tk_loop_del(s->n->loop, s->n->efd);
		s->n->loop = NULL;
	}
	free(s->ring);
	free(s->fmt.p);
	free(s);
}

static const struct tk_sink_ops nats_ops = {
	.name = "nats",
	.durable_acks = true,
	.put = ns_put,
	.flush = ns_flush,
	.wait = ns_wait,
	.pending = ns_pending,
	.undelivered = ns_undelivered,
	.stats = ns_stats,
	.free = ns_free,
};

struct tk_sink *
tk_nats_sink_new(struct tk_nats *n, size_t size)
{
	struct nsink *s = calloc(1, sizeof(*s));
	char err[256];

	if (s == NULL)
		return NULL;
	s->h.ops = &nats_ops;
	s->n = n;
	s->size = size;
	s->base = 1;
	s->boot = tk_wall_ms();
	if (n->acksub == NULL) {
		natsInbox *ib = NULL;
		char subj[80];
		if (natsInbox_Create(&ib) != NATS_OK) {
			free(s);
			return NULL;
		}
		snprintf(n->inbox, sizeof(n->inbox), "%s.", (const char *)ib);
		natsInbox_Destroy(ib);
		snprintf(subj, sizeof(subj), "%s*", n->inbox);
		if (natsConnection_Subscribe(&n->acksub, n->nc, subj, cb_ack, n) != NATS_OK) {
			free(s);
			return NULL;
		}
		natsSubscription_SetPendingLimits(n->acksub, -1, -1);
	}
	n->sink = s;
	(void)err;
	return &s->h;
}

/* ---- events (the owner's thread) ------------------------------------------ */

static void
try_ensure(struct tk_nats *n)
{
	char err[256];

	if (n->ensured || n->state != C_CONNECTED || tk_mono_ms() < n->ensure_next)
		return;
	if (tk_nats_ensure(n, err, sizeof(err)) != 0) {
		nlog(n, TK_LOG_WARN, "%s (retrying)", err);
		n->ensure_next = tk_mono_ms() + ENSURE_RETRY_MS;
	}
}

static void
on_state(struct tk_nats *n, enum cstate st)
{
	char url[256] = "";

	n->state = st;
	if (st == C_CONNECTED) {
		natsConnection_GetConnectedUrl(n->nc, url, sizeof(url));
		if (n->logged != C_CONNECTED)
			nlog(n, TK_LOG_WARN, "nats: %s %s", n->ever_connected ?
			    "reconnected to" : "connected to", url);
		n->ever_connected = true;
		if (n->sink != NULL)
			n->sink->unsent = 0;	/* what was in flight: again */
	} else if (st == C_DISCONNECTED) {
		if (n->logged != C_DISCONNECTED)
			nlog(n, TK_LOG_WARN, "nats: disconnected: reconnecting "
			    "(frames wait in the buffer)");
	} else if (st == C_CLOSED) {
		if (n->logged != C_CLOSED) {
			const char *t = NULL;
			natsStatus why = n->nc ? natsConnection_GetLastError(n->nc, &t) : NATS_OK;
			t = bare_error(t);
			if (why != NATS_OK)
				nlog(n, TK_LOG_WARN, "nats: connection closed: %s%s",
				    t != NULL && *t ? t : natsStatus_GetText(why),
				    refused(why, t) ? " (no more reconnecting)" : "");
			else
				nlog(n, TK_LOG_WARN, "nats: connection closed");
		}
	}
	n->logged = st;
}

static uint64_t
last_token_u64(const char *subj)
{
	const char *p = strrchr(subj, '.');
	uint64_t v = 0;
	if (p == NULL)
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

/* ---- asynchronous requests and watches (the owner's thread) ------------------ */

static struct req *
req_at(struct tk_nats *n, uint64_t id)
{
	return &n->reqs[id % n->rcap];
}

/* Forget the answered requests at the ring's head. */
static void
req_gc(struct tk_nats *n)
{
	while (n->rbase < n->rnext && !req_at(n, n->rbase)->live)
		n->rbase++;
}

static int
req_room(struct tk_nats *n)
{
	if (n->rnext - n->rbase < n->rcap)
		return 0;
	size_t c = n->rcap ? n->rcap * 2 : 256;
	if (c > TK_NATS_REQ_MAX) {
		errno = EAGAIN;
		return -1;
	}
	struct req *r = calloc(c, sizeof(*r));
	if (r == NULL)
		return -1;
	for (uint64_t i = n->rbase; i < n->rnext; i++)
		r[i % c] = *req_at(n, i);
	free(n->reqs);
	n->reqs = r;
	n->rcap = c;
	return 0;
}

static void
on_reply(struct tk_nats *n, natsMsg *m)
{
	uint64_t id = last_token_u64(natsMsg_GetSubject(m));

	if (id < n->rbase || id >= n->rnext || !req_at(n, id)->live)
		return;		/* late: it timed out */
	struct req r = *req_at(n, id);
	req_at(n, id)->live = false;
	req_gc(n);
	const char *d = natsMsg_GetData(m);
	int dl = natsMsg_GetDataLength(m);
	r.fn(r.arg, r.tok, id, natsMsg_IsNoResponders(m) ? ENOENT : 0, d ? d : "",
	    dl > 0 ? (size_t)dl : 0);
}

static void
on_watch(struct nsub *sub, natsMsg *m)
{
	const char *subj = natsMsg_GetSubject(m), *op = NULL;
	const char *d = natsMsg_GetData(m);
	int dl = natsMsg_GetDataLength(m);
	jsMsgMetaData *md = NULL;

	if (subj == NULL || strlen(subj) <= sub->prefix)
		return;
	struct tk_nats_kv kv = {subj + sub->prefix, d ? d : "", dl > 0 ? (size_t)dl : 0, 0,
	    TK_NATS_PUT};
	if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
		kv.rev = md->Sequence.Stream;
		jsMsgMetaData_Destroy(md);
	}
	if (natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op != NULL &&
	    (strcmp(op, "DEL") == 0 || strcmp(op, "PURGE") == 0))
		kv.op = TK_NATS_DEL;
	sub->wfn(sub->arg, &kv);
}

uint64_t
tk_nats_request_async(struct tk_nats *n, const char *subject, const struct tk_nats_hdr *h,
    size_t nh, const void *data, size_t len, tk_nats_reply_fn fn, void *arg, void *tok)
{
	char reply[96];
	natsMsg *m = NULL;
	natsStatus st;

	if (n->rsub == NULL) {
		natsInbox *ib = NULL;
		char subj[80];
		if (natsInbox_Create(&ib) != NATS_OK) {
			errno = ENOMEM;
			return 0;
		}
		snprintf(n->rinbox, sizeof(n->rinbox), "%s.", (const char *)ib);
		natsInbox_Destroy(ib);
		snprintf(subj, sizeof(subj), "%s*", n->rinbox);
		if (natsConnection_Subscribe(&n->rsub, n->nc, subj, cb_reply, n) != NATS_OK) {
			n->rsub = NULL;
			errno = ENOTCONN;
			return 0;
		}
		natsSubscription_SetPendingLimits(n->rsub, -1, -1);
	}
	if (req_room(n) != 0)
		return 0;
	uint64_t id = n->rnext;
	snprintf(reply, sizeof(reply), "%s%" PRIu64, n->rinbox, id);
	st = natsMsg_Create(&m, subject, reply, data, (int)len);
	for (size_t i = 0; st == NATS_OK && i < nh; i++)
		st = natsMsgHeader_Set(m, h[i].key, h[i].value);
	if (st == NATS_OK)
		st = natsConnection_PublishMsg(n->nc, m);
	natsMsg_Destroy(m);
	if (st != NATS_OK) {
		errno = st == NATS_NO_MEMORY ? ENOMEM : ENOTCONN;
		return 0;
	}
	struct req *r = req_at(n, id);
	r->fn = fn;
	r->arg = arg;
	r->tok = tok;
	r->deadline = tk_mono_ms() + TK_NATS_REQ_TIMEOUT_MS;
	r->live = true;
	n->rnext++;
	return id;
}

void
tk_nats_forget(struct tk_nats *n, const void *arg)
{
	for (uint64_t i = n->rbase; i < n->rnext; i++)
		if (req_at(n, i)->live && req_at(n, i)->arg == arg)
			req_at(n, i)->live = false;
	req_gc(n);
}

size_t
tk_nats_requests(const struct tk_nats *n)
{
	size_t k = 0;
	for (uint64_t i = n->rbase; i < n->rnext; i++)
		k += n->reqs[i % n->rcap].live;
	return k;
}

void
tk_nats_tick(struct tk_nats *n)
{
	int64_t now = tk_mono_ms();

	while (n->rbase < n->rnext) {
		struct req *r = req_at(n, n->rbase);
		if (r->live) {
			if (r->deadline > now)
				break;
			struct req c = *r;
			r->live = false;
			uint64_t id = n->rbase++;
			c.fn(c.arg, c.tok, id, ETIMEDOUT, "", 0);	/* may add requests */
			continue;
		}
		n->rbase++;
	}
	try_ensure(n);
}

bool
tk_nats_ready(const struct tk_nats *n)
{
	return n->state == C_CONNECTED && n->ensured;
}

int
tk_nats_watch(struct tk_nats *n, const char *bucket, bool history, tk_nats_watch_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct nsub *s = calloc(1, sizeof(*s));
	char subj[128], stream[96];
	jsSubOptions so;
	jsErrCode jerr = 0;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->n = n;
	s->wfn = fn;
	s->arg = arg;
	snprintf(subj, sizeof(subj), "$KV.%s.>", bucket);
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	s->prefix = strlen(subj) - 1;
	jsSubOptions_Init(&so);
	so.Stream = stream;
	so.Ordered = true;
	so.Config.DeliverPolicy = history ? js_DeliverLastPerSubject : js_DeliverNew;
	natsStatus st = js_Subscribe(&s->s, n->js, subj, cb_watch, s, NULL, &so, &jerr);
	if (st != NATS_OK) {
		char what[96];
		snprintf(what, sizeof(what), "watching bucket %s", bucket);
		status_text(st, err, errlen, what);
		free(s);
		return -1;
	}
	natsSubscription_SetPendingLimits(s->s, -1, -1);
	s->next = n->subs;
	n->subs = s;
	return 0;
}

static int
on_events(struct tk_nats *n)
{
	uint64_t v;
	size_t k;

	if (n->in_events)
		return 0;	/* a callback of ours got here: the outer call goes on */
	n->in_events = true;
	(void)!read(n->efd, &v, sizeof(v));
	pthread_mutex_lock(&n->mu);
	n->signalled = false;
	/* swap the queue with our work array: libnats threads go on filling */
	struct ev *w = n->q;
	size_t wc = n->qcap;
	k = n->qn;
	n->q = n->work;
	n->qcap = n->workcap;
	n->qn = 0;
	n->work = w;
	n->workcap = wc;
	pthread_mutex_unlock(&n->mu);
	for (size_t i = 0; i < k; i++) {
		struct ev *e = &n->work[i];
		switch (e->kind) {
		case EV_STATE:
			on_state(n, (enum cstate)e->state);
			break;
		case EV_ERROR:
			nlog(n, TK_LOG_WARN, "nats: %s", natsStatus_GetText((natsStatus)e->state));
			break;
		case EV_ACK:
			if (n->sink != NULL) {
				const char *d = natsMsg_GetData(e->m);
				int dl = natsMsg_GetDataLength(e->m);
				ns_ack(n->sink, last_token_u64(natsMsg_GetSubject(e->m)), d,
				    dl > 0 ? (size_t)dl : 0, natsMsg_IsNoResponders(e->m));
			}
			break;
		case EV_MSG: {
			const char *d = natsMsg_GetData(e->m);
			int dl = natsMsg_GetDataLength(e->m);
			e->sub->fn(e->sub->arg, natsMsg_GetSubject(e->m), natsMsg_GetReply(e->m),
			    d ? d : "", dl > 0 ? (size_t)dl : 0);
			break;
		}
		case EV_REPLY:
			on_reply(n, e->m);
			break;
		case EV_WATCH:
			on_watch(e->sub, e->m);
			break;
		}
		if (e->m != NULL)
			natsMsg_Destroy(e->m);
	}
	try_ensure(n);
	if (n->sink != NULL) {
		ns_release(n->sink);
		ns_pump(n->sink);
	}
	n->in_events = false;
	return (int)k;
}

static void
on_efd(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	(void)l;
	(void)fd;
	(void)ev;
	on_events(arg);
}

int
tk_nats_attach(struct tk_nats *n, struct tk_loop *loop)
{
	if (n->loop != NULL)
		return n->loop == loop ? 0 : -1;
	if (tk_loop_add(loop, n->efd, TK_EV_READ, on_efd, n) != 0)
		return -1;
	n->loop = loop;
	return 0;
}

int
tk_nats_poll(struct tk_nats *n, int timeout_ms)
{
	struct pollfd p = {.fd = n->efd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r < 0 && errno != EINTR)
		return -1;
	on_events(n);
	return 0;
}

bool
tk_nats_connected(const struct tk_nats *n)
{
	return n->state == C_CONNECTED;
}

bool
tk_nats_closed(const struct tk_nats *n)
{
	return n->state == C_CLOSED;
}

const char *
tk_nats_name(const struct tk_nats *n)
{
	return n->name;
}

/* ---- connection ------------------------------------------------------------ */

struct tk_nats *
tk_nats_new(const struct tk_nats_opts *o, char *err, size_t errlen)
{
	struct tk_nats *n = calloc(1, sizeof(*n));
	char *urls = NULL;
	const char **list = NULL;
	natsStatus st;

	if (n == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->o = *o;
	n->efd = -1;
	n->rbase = n->rnext = 1;
	pthread_mutex_init(&n->mu, NULL);
	tk_strlcpyn(n->name, sizeof(n->name), o->name ? o->name : "tk",
	    strlen(o->name ? o->name : "tk"));
	const char *sn = o->stream ? o->stream : TK_NATS_STREAM;
	tk_strlcpyn(n->stream, sizeof(n->stream), sn, strlen(sn));
	if (o->urls == NULL || *o->urls == '\0') {
		snprintf(err, errlen, "nats: no server URL");
		goto fail;
	}
	if ((n->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((st = nats_Open(-1)) != NATS_OK) {
		status_text(st, err, errlen, "library");
		goto fail;
	}
	/* the URL list: comma-separated */
	if ((urls = strdup(o->urls)) == NULL ||
	    (list = calloc(strlen(o->urls) / 2 + 2, sizeof(*list))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	int nu = 0;
	bool tls = false;
	for (char *save = NULL, *t = strtok_r(urls, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t == '\0')
			continue;
		if (strncmp(t, "tls://", 6) == 0)
			tls = true;
		list[nu++] = t;
	}
	if (nu == 0) {
		snprintf(err, errlen, "nats: no server URL in \"%s\"", o->urls);
		goto fail;
	}
	st = natsOptions_Create(&n->opts);
	if (st == NATS_OK)
		st = natsOptions_SetServers(n->opts, list, nu);
	if (st == NATS_OK)
		st = natsOptions_SetName(n->opts, n->name);
	if (st == NATS_OK)
		st = natsOptions_SetMaxReconnect(n->opts, -1);
	if (st == NATS_OK)
		st = natsOptions_SetCustomReconnectDelay(n->opts, cb_delay, n);
	if (st == NATS_OK)
		st = natsOptions_SetDisconnectedCB(n->opts, cb_disconnected, n);
	if (st == NATS_OK)
		st = natsOptions_SetReconnectedCB(n->opts, cb_connected, n);
	if (st == NATS_OK)
		st = natsOptions_SetClosedCB(n->opts, cb_closed, n);
	if (st == NATS_OK)
		st = natsOptions_SetErrorHandler(n->opts, cb_error, n);
	/* a TLS handshake takes more round trips and CPU than the rest */
	if (st == NATS_OK)
		st = natsOptions_SetTimeout(n->opts, tls || o->ca != NULL ? 5000 : 2000);
	/* the files, named when they cannot be read (libnats would not) */
	const char *files[] = {o->creds, o->ca};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i] != NULL && access(files[i], R_OK) != 0) {
			snprintf(err, errlen, "nats: %s %s: %s", i == 0 ? "--nats-creds" :
			    "--nats-ca", files[i], strerror(errno));
			goto fail;
		}
	if (st == NATS_OK && o->creds != NULL)
		st = natsOptions_SetUserCredentialsFromFiles(n->opts, o->creds, NULL);
	if (st == NATS_OK && o->user != NULL)
		st = natsOptions_SetUserInfo(n->opts, o->user, o->password ? o->password : "");
	if (st == NATS_OK && (tls || o->ca != NULL))
		st = natsOptions_SetSecure(n->opts, true);
	if (st == NATS_OK && o->ca != NULL)
		st = natsOptions_LoadCATrustedCertificates(n->opts, o->ca);
	if (st != NATS_OK) {
		status_text(st, err, errlen, "options");
		goto fail;
	}
	/*
	 * Connect once without retrying, so that refused credentials or TLS
	 * fail now with their reason; then, unless the caller fails fast,
	 * again with retries in the background when no server was reachable.
	 */
	st = natsConnection_Connect(&n->nc, n->opts);
	if (st != NATS_OK && refused(st, nats_GetLastError(NULL))) {
		refused_text(st, err, errlen, o->urls);
		goto fail;
	}
	if (st != NATS_OK && !o->wait_connect) {
		st = natsOptions_SetRetryOnFailedConnect(n->opts, true, cb_connected, n);
		if (st == NATS_OK)
			st = natsConnection_Connect(&n->nc, n->opts);
	}
	if (st == NATS_OK) {
		n->state = C_CONNECTED;
		n->ever_connected = true;
		if (o->wait_connect)
			n->logged = C_CONNECTED;	/* a tool that fails fast says nothing */
		else {
			char url[256] = "";
			natsConnection_GetConnectedUrl(n->nc, url, sizeof(url));
			nlog(n, TK_LOG_WARN, "nats: connected to %s", url);
			n->logged = C_CONNECTED;
		}
	} else if (st == NATS_NOT_YET_CONNECTED) {
		n->state = C_CONNECTING;
		nlog(n, TK_LOG_WARN, "nats: no server reachable at %s yet: retrying", o->urls);
		n->logged = C_DISCONNECTED;
	} else {
		status_text(st, err, errlen, o->urls);
		goto fail;
	}
	if ((st = natsConnection_JetStream(&n->js, n->nc, NULL)) != NATS_OK) {
		status_text(st, err, errlen, "jetstream");
		goto fail;
	}
	free(urls);
	free(list);
	return n;
fail:
	free(urls);
	free(list);
	tk_nats_free(n);
	return NULL;
}

void
tk_nats_free(struct tk_nats *n)
{
	if (n == NULL)
		return;
	if (n->loop != NULL)
		tk_loop_del(n->loop, n->efd);
	/* from now on what libnats's threads hand over is dropped at once */
	pthread_mutex_lock(&n->mu);
	n->closing = true;
	for (size_t i = 0; i < n->qn; i++)
		if (n->q[i].m != NULL)
			natsMsg_Destroy(n->q[i].m);
	n->qn = 0;
	pthread_mutex_unlock(&n->mu);
	if (n->acksub != NULL)
		natsSubscription_Destroy(n->acksub);
	if (n->rsub != NULL)
		natsSubscription_Destroy(n->rsub);
	for (struct nsub *s = n->subs; s != NULL; s = s->next)
		natsSubscription_Unsubscribe(s->s);
	jsCtx_Destroy(n->js);
	if (n->nc != NULL) {
		natsConnection_Close(n->nc);
		natsConnection_Destroy(n->nc);
	}
	natsOptions_Destroy(n->opts);
	for (struct nsub *s = n->subs; s != NULL; s = s->next)
		natsSubscription_Destroy(s->s);
	/* libnats's threads end here: nobody calls us back any more */
	nats_CloseAndWait(2000);
	for (struct nsub *s = n->subs, *nx; s != NULL; s = nx) {
		nx = s->next;
		free(s);
	}
	free(n->q);
	free(n->work);
	free(n->reqs);
	if (n->efd >= 0)
		close(n->efd);
	pthread_mutex_destroy(&n->mu);
	free(n);
}

int
tk_nats_ensure(struct tk_nats *n, char *err, size_t errlen)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	natsStatus st;
	int r = n->o.replicas > 0 ? n->o.replicas : 1;

	jsOptions_Init(&jo);
	jo.Wait = ENSURE_WAIT_MS;
	st = js_GetStreamInfo(&si, n->js, n->stream, &jo, &jerr);
	if (st == NATS_NOT_FOUND) {
		static const char *subjects[] = {"tk.frame.>", "tk.conn.>"};
		jsStreamConfig c;
		jsStreamConfig_Init(&c);
		c.Name = n->stream;
		c.Subjects = subjects;
		c.SubjectsLen = 2;
		c.Storage = js_FileStorage;
		c.Replicas = r;
		c.Duplicates = DUP_WINDOW_NS;
		st = js_AddStream(&si, n->js, &c, &jo, &jerr);
		if (st == NATS_OK)
			nlog(n, TK_LOG_INFO, "nats: stream %s created (%d replica%s)",
			    n->stream, r, r == 1 ? "" : "s");
	}
	jsStreamInfo_Destroy(si);
	if (st != NATS_OK) {
		char what[96];
		snprintf(what, sizeof(what), "stream %s", n->stream);
		status_text(st, err, errlen, what);
		return -1;
	}
	static const char *const buckets[] = {TK_NATS_REGISTRY, TK_NATS_CMDQ};
	for (size_t i = 0; i < 2; i++) {
		kvStore *kv = NULL;
		st = js_KeyValue(&kv, n->js, buckets[i]);
		if (st == NATS_NOT_FOUND) {
			kvConfig kc;
			kvConfig_Init(&kc);
			kc.Bucket = buckets[i];
			kc.History = 1;
			kc.Replicas = r;
			kc.StorageType = js_FileStorage;
			if (i == 1) {
				/* queued commands: what -q allows, and a bound */
				kc.TTL = (int64_t)(TK_CTL_TTL_MAX + 86400) * 1000000000LL;
				kc.MaxBytes = (int64_t)TK_CTL_QUEUE_MAX * 6000;
			}
			st = js_CreateKeyValue(&kv, n->js, &kc);
		}
		kvStore_Destroy(kv);
		if (st != NATS_OK) {
			char what[96];
			snprintf(what, sizeof(what), "bucket %s", buckets[i]);
			status_text(st, err, errlen, what);
			return -1;
		}
	}
	n->ensured = true;
	return 0;
}

void
tk_nats_ctl_subject(char *out, size_t cap, const char *instance)
{
	int n = snprintf(out, cap, "tk.ctl.");
	if (n < 0 || (size_t)n >= cap)
		return;
	size_t k = (size_t)n;
	for (const char *p = instance; *p && k + 1 < cap; p++)
		out[k++] = (*p == '.' || *p == '*' || *p == '>' || *p == ' ' ||
		    (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) ? '_' : *p;
	out[k] = '\0';
}

/* ---- subscriptions, requests, buckets --------------------------------------- */

int
tk_nats_subscribe(struct tk_nats *n, const char *subject, const char *queue, tk_nats_fn fn,
    void *arg, char *err, size_t errlen)
{
	struct nsub *s = calloc(1, sizeof(*s));
	natsStatus st;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->n = n;
	s->fn = fn;
	s->arg = arg;
	if (queue != NULL)
		st = natsConnection_QueueSubscribe(&s->s, n->nc, subject, queue, cb_msg, s);
	else
		st = natsConnection_Subscribe(&s->s, n->nc, subject, cb_msg, s);
	if (st != NATS_OK) {
		status_text(st, err, errlen, subject);
		free(s);
		return -1;
	}
	s->next = n->subs;
	n->subs = s;
	return 0;
}

int
tk_nats_publish(struct tk_nats *n, const char *subject, const char *reply, const void *data,
    size_t len)
{
	natsStatus st = reply != NULL && *reply != '\0' ?
	    natsConnection_PublishRequest(n->nc, subject, reply, data, (int)len) :
	    natsConnection_Publish(n->nc, subject, data, (int)len);
	return st == NATS_OK ? 0 : -1;
}

int
tk_nats_request(struct tk_nats *n, const char *subject, const void *data, size_t len,
    int timeout_ms, struct tk_buf *out, char *err, size_t errlen)
{
	natsMsg *m = NULL;
	natsStatus st = natsConnection_Request(&m, n->nc, subject, data, (int)len, timeout_ms);
	if (st == NATS_NO_RESPONDERS || (st == NATS_OK && natsMsg_IsNoResponders(m))) {
		natsMsg_Destroy(m);
		snprintf(err, errlen, "nats: nobody answers on %s", subject);
		errno = ENOENT;
		return -1;
	}
	if (st != NATS_OK) {
		status_text(st, err, errlen, subject);
		errno = st == NATS_TIMEOUT ? ETIMEDOUT : EIO;
		return -1;
	}
	int dl = natsMsg_GetDataLength(m);
	int rc = 0;
	if (dl > 0 && tk_buf_add(out, natsMsg_GetData(m), (size_t)dl) != 0) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	natsMsg_Destroy(m);
	return rc;
}

static kvStore *
kv_open(struct tk_nats *n, const char *bucket, char *err, size_t errlen)
{
	kvStore *kv = NULL;
	natsStatus st = js_KeyValue(&kv, n->js, bucket);
	if (st != NATS_OK) {
		char what[96];
		snprintf(what, sizeof(what), "bucket %s", bucket);
		status_text(st, err, errlen, what);
		return NULL;
	}
	return kv;
}

int
tk_nats_kv_get(struct tk_nats *n, const char *bucket, const char *key, struct tk_buf *out,
    char *err, size_t errlen)
{
	kvStore *kv = kv_open(n, bucket, err, errlen);
	kvEntry *e = NULL;
	int rc;

	if (kv == NULL)
		return -1;
	natsStatus st = kvStore_Get(&e, kv, key);
	if (st == NATS_NOT_FOUND) {
		rc = 0;
	} else if (st != NATS_OK) {
		status_text(st, err, errlen, key);
		rc = -1;
	} else {
		int vl = kvEntry_ValueLen(e);
		rc = vl > 0 && tk_buf_add(out, kvEntry_Value(e), (size_t)vl) != 0 ? -1 : 1;
		if (rc < 0)
			snprintf(err, errlen, "out of memory");
	}
	kvEntry_Destroy(e);
	kvStore_Destroy(kv);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The keys come from the stream's subjects (a stream info request the
 * stream's leader answers), not from kvStore_Keys: that one makes an
 * ephemeral consumer, which nats-server 2.9 may place on a replica that
 * is down, and then times out for as long as the node stays down.
 */
int
tk_nats_kv_each(struct tk_nats *n, const char *bucket,
    void (*fn)(void *arg, const char *key, const char *val, size_t len), void *arg,
    char *err, size_t errlen)
{
	char stream[96], filter[128];
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	kvStore *kv = kv_open(n, bucket, err, errlen);

	if (kv == NULL)
		return -1;
	snprintf(stream, sizeof(stream), "KV_%s", bucket);
	snprintf(filter, sizeof(filter), "$KV.%s.>", bucket);
	size_t skip = strlen(filter) - 1;
	jsOptions_Init(&jo);
	jo.Wait = ENSURE_WAIT_MS;
	jo.Stream.Info.SubjectsFilter = filter;
	natsStatus st = js_GetStreamInfo(&si, n->js, stream, &jo, &jerr);
	if (st != NATS_OK) {
		status_text(st, err, errlen, "keys");
		kvStore_Destroy(kv);
		return -1;
	}
	int cnt = si->State.Subjects != NULL ? si->State.Subjects->Count : 0;
	const char **keys = cnt > 0 ? calloc((size_t)cnt, sizeof(*keys)) : NULL;
	if (cnt > 0 && keys == NULL) {
		snprintf(err, errlen, "out of memory");
		jsStreamInfo_Destroy(si);
		kvStore_Destroy(kv);
		return -1;
	}
	int k = 0;
	for (int i = 0; i < cnt; i++) {
		const char *subj = si->State.Subjects->List[i].Subject;
		if (subj != NULL && strlen(subj) > skip)
			keys[k++] = subj + skip;
	}
	if (k > 1)
		qsort(keys, (size_t)k, sizeof(*keys), cmp_str);
	for (int i = 0; i < k; i++) {
		kvEntry *e = NULL;
		/* a deleted key's last message is its marker: not found */
		if (kvStore_Get(&e, kv, keys[i]) == NATS_OK) {
			int vl = kvEntry_ValueLen(e);
			fn(arg, keys[i], vl > 0 ? kvEntry_Value(e) : "", vl > 0 ? (size_t)vl : 0);
		}
		kvEntry_Destroy(e);
	}
	free(keys);
	jsStreamInfo_Destroy(si);
	kvStore_Destroy(kv);
	return 0;
}

int
tk_nats_kv_put(struct tk_nats *n, const char *bucket, const char *key, const void *val,
    size_t len, char *err, size_t errlen)
{
	kvStore *kv = kv_open(n, bucket, err, errlen);
	if (kv == NULL)
		return -1;
	natsStatus st = kvStore_Put(NULL, kv, key, val, (int)len);
	kvStore_Destroy(kv);
	if (st != NATS_OK) {
		status_text(st, err, errlen, key);
		return -1;
	}
	return 0;
}

int
tk_nats_kv_create(struct tk_nats *n, const char *bucket, const char *key, const void *val,
    size_t len, char *err, size_t errlen)
{
	kvStore *kv = kv_open(n, bucket, err, errlen);
	if (kv == NULL)
		return -1;
	natsStatus st = kvStore_Create(NULL, kv, key, val, (int)len);
	kvStore_Destroy(kv);
	if (st != NATS_OK) {
		status_text(st, err, errlen, key);
		errno = st == NATS_ERR && strstr(err, "wrong last sequence") != NULL ? EEXIST : EIO;
		return -1;
	}
	return 0;
}

int
tk_nats_kv_delete(struct tk_nats *n, const char *bucket, const char *key, char *err,
    size_t errlen)
{
	kvStore *kv = kv_open(n, bucket, err, errlen);
	if (kv == NULL)
		return -1;
	natsStatus st = kvStore_Delete(kv, key);
	kvStore_Destroy(kv);
	if (st != NATS_OK) {
		status_text(st, err, errlen, key);
		return -1;
	}
	return 0;
}

/* ---- pull consumers ----------------------------------------------------------- */

struct tk_nats_pull {
	struct tk_nats	*n;
	char		 durable[TK_NATS_NAME_MAX];
	natsSubscription *sub;
	natsMsgList	 list;
	struct tk_nats_msg *msgs;
	int		 cap;
};

struct tk_nats_pull *
tk_nats_pull_new(struct tk_nats *n, const char *durable, const char *filter, int ack_wait_s,
    char *err, size_t errlen)
{
	struct tk_nats_pull *p = calloc(1, sizeof(*p));
	jsSubOptions so;
	jsOptions jo;
	jsErrCode jerr = 0;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->n = n;
	snprintf(p->durable, sizeof(p->durable), "%s", durable);
	/* a consumer made while a node is down is answered only once its
	 * group has elected a leader: wait for that, not the default 5 s */
	jsOptions_Init(&jo);
	jo.Wait = TK_NATS_FAILOVER_MS;
	jsSubOptions_Init(&so);
	so.Stream = n->stream;
	so.Config.Durable = durable;
	so.Config.AckPolicy = js_AckExplicit;
	so.Config.AckWait = (int64_t)(ack_wait_s > 0 ? ack_wait_s : 30) * 1000000000LL;
	so.Config.MaxAckPending = 20000;
	natsStatus st = js_PullSubscribe(&p->sub, n->js, filter ? filter : "tk.>", durable,
	    &jo, &so, &jerr);
	if (st != NATS_OK) {
		char what[96];
		snprintf(what, sizeof(what), "consumer %s on %s", durable, n->stream);
		status_text(st, err, errlen, what);
		free(p);
		return NULL;
	}
	return p;
}

int
tk_nats_pull_fetch(struct tk_nats_pull *p, int max, int timeout_ms,
    const struct tk_nats_msg **msgs, char *err, size_t errlen)
{
	jsErrCode jerr = 0;

	natsMsgList_Destroy(&p->list);
	p->list.Msgs = NULL;
	p->list.Count = 0;
	natsStatus st = natsSubscription_Fetch(&p->list, p->sub, max, timeout_ms, &jerr);
	if (st == NATS_TIMEOUT || (st == NATS_OK && p->list.Count == 0))
		return 0;
	if (st != NATS_OK) {
		status_text(st, err, errlen, "fetch");
		return -1;
	}
	if (p->list.Count > p->cap) {
		struct tk_nats_msg *m = realloc(p->msgs, (size_t)p->list.Count * sizeof(*m));
		if (m == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		p->msgs = m;
		p->cap = p->list.Count;
	}
	for (int i = 0; i < p->list.Count; i++) {
		natsMsg *m = p->list.Msgs[i];
		jsMsgMetaData *md = NULL;
		int dl = natsMsg_GetDataLength(m);
		p->msgs[i].subject = natsMsg_GetSubject(m);
		p->msgs[i].data = natsMsg_GetData(m);
		p->msgs[i].len = dl > 0 ? (size_t)dl : 0;
		p->msgs[i].stream_seq = 0;
		p->msgs[i].delivered = 1;
		if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
			p->msgs[i].stream_seq = md->Sequence.Stream;
			p->msgs[i].delivered = md->NumDelivered;
			jsMsgMetaData_Destroy(md);
		}
	}
	*msgs = p->msgs;
	return p->list.Count;
}

int
tk_nats_pull_left(struct tk_nats_pull *p, uint64_t *left, char *err, size_t errlen)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;

	jsOptions_Init(&jo);
	jo.Wait = ENSURE_WAIT_MS;
	natsStatus st = js_GetConsumerInfo(&ci, p->n->js, p->n->stream, p->durable, &jo, &jerr);
	if (st != NATS_OK) {
		char what[2 * TK_NATS_NAME_MAX + 16];
		snprintf(what, sizeof(what), "consumer %s on %s", p->durable, p->n->stream);
		status_text(st, err, errlen, what);
		return -1;
	}
	*left = ci->NumPending + (uint64_t)(ci->NumAckPending > 0 ? ci->NumAckPending : 0);
	jsConsumerInfo_Destroy(ci);
	return 0;
}

int
tk_nats_pull_ack(struct tk_nats_pull *p, int i)
{
	if (i < 0 || i >= p->list.Count)
		return -1;
	return natsMsg_Ack(p->list.Msgs[i], NULL) == NATS_OK ? 0 : -1;
}

void
tk_nats_pull_free(struct tk_nats_pull *p)
{
	if (p == NULL)
		return;
	natsMsgList_Destroy(&p->list);
	natsSubscription_Destroy(p->sub);
	free(p->msgs);
	free(p);
}
