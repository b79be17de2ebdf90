/*
 * tk_server.c: tk-listen's engine over the tk_loop seam.
 *
 * Memory: a TCP session or UDP peer is one small struct sess (no inline
 * buffers) from a pool of slabs (tk_pool.h): sessions and registry
 * entries are recycled in place, so what thousands of short-lived peers
 * cost is bounded by the caps (-c, the registry's max), not by how many
 * came and went or by the allocator.  The framer allocates only while a
 * partial frame is pending, and a pending reply allocates only when a
 * write would block.  All sessions share one read buffer.  Frame lines
 * go through one output buffer: above its high-water mark every TCP
 * socket stops being read (the devices' bytes wait in the kernel) until
 * the buffer drains below the low mark.
 *
 * Identity (THE policy; tk-listen(1) SECURITY states it for operators).
 * A device id (IMEI, tk103 id) proves nothing: any peer can claim any id,
 * over TCP or in one spoofed UDP datagram.  So:
 *   - The first session whose frame names an id that no live session
 *     holds establishes it (establish()): its lines carry the id, commands
 *     and held commands go to it, LIST shows it.
 *   - A later session claiming an id a live session holds is a contender
 *     (claim()): kept apart, never silently swapped in.  Its frames are
 *     written with ID "-" and FLAGS conflict=<id> (tk-frame(5)), it gets
 *     the handshake replies its dialect needs but never a command, and it
 *     counts as unidentified for the connection limits.
 *   - A contender takes the id over (take_over()) only when the holder is
 *     gone (closed) or has sent no complete frame for --takeover seconds
 *     (a minute by default; may_take_over() is the rule), checked at each of
 *     its frames.  The holder is then closed with reason "replaced", after
 *     everything its socket still holds has been read and written
 *     (drain()): no frame in flight is lost.  A UDP datagram is a
 *     contender like any other session: it never replaces a live session.
 * Where a device is learned, moved and released: establish(), take_over(),
 * release() (from sess_close); a fleet-wide registry hooks there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tk_ctl.h"
#include "tk_dialect.h"
#include "tk_frameline.h"
#include "tk_gt06.h"
#include "tk_idset.h"
#include "tk_loop.h"
#include "tk_pool.h"
#include "tk_registry.h"
#include "tk_server.h"
#include "tk_sink.h"
#include "tk_util.h"

#define RBUF_SIZE	65536
#define MAX_LISTEN	4
#define WBUF_MAX	65536		/* pending bytes to one device */
#define CTL_MAX		64		/* control clients */
#define CTL_WATCH_MAX	(1u << 20)	/* pending FRAME lines to one watcher */
#define CTL_OUT_MAX	(64u << 20)	/* pending replies to one control client */
#define PEER_BUCKETS	1024
#define SESS_SLAB	256		/* sessions per slab: 42 KiB */
#define UDP_BUCKETS	4096
#define BACKOFF_MS	100
#define SHUTDOWN_GRACE_MS 2000	/* reading what the sockets hold at a stop */

union sa {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
};

enum reason {
	R_NONE = 0, R_IDLE, R_PEER, R_PROTO, R_UNKNOWN, R_LIMIT, R_REPLACED,
	R_SHUTDOWN, R_ERROR, R_REFUSED, R_LOGIN, R_UNKNOWN_DEV
};
static const char *const reasons[] = {
	"-", "idle-timeout", "peer-closed", "protocol-error", "unknown-dialect",
	"limit", "replaced", "shutdown", "error", "refused", "login-timeout",
	"unknown-device"
};

struct sess {
	struct tk_server *srv;
	struct sess	*prev, *next;	/* activity order (oldest first) */
	struct sess	*hnext;		/* UDP: address hash; TCP: reap list */
	struct tk_dev	*dev;		/* the device it holds (dev->sess == this) or claims */
	uint8_t		*wbuf;		/* TCP: bytes a blocked write left */
	uint32_t	 wlen, woff;
	struct tk_framer fr;		/* TCP only */
	union sa	 addr;
	uint64_t	 no;
	int64_t		 last;		/* monotonic ms of the last activity */
	int		 fd;		/* TCP socket, or the UDP listener */
	uint8_t		 udp;
	uint8_t		 dialect;
	uint8_t		 closing;	/* enum reason, TCP: close pending */
	uint8_t		 reaping;
	uint8_t		 replacing;	/* being replaced: no held commands */
	uint8_t		 anon;		/* on an unidentified list (see promote()) */
	uint8_t		 refused;	/* named an id not in --devices */
	uint32_t	 junkrun;	/* TCP: junk bytes since the last frame */
	uint32_t	 held;		/* replies waiting for the bus's ack */
};

/*
 * A reply held until the bus acknowledged the frame it answers (ACK after
 * persist): the device keeps the report until it sees the ACK, so a
 * listener that dies before the ack loses nothing.
 */
struct held {
	struct held	*next;
	struct sess	*x;		/* NULL: the session closed meanwhile */
	uint64_t	 seq;		/* the frame line's sequence number */
	uint8_t		 len;
	uint8_t		 data[TK_REPLY_MAX];
};

struct lsock {
	struct tk_server *srv;
	int		 fd;
	bool		 udp;
	uint32_t	 ovfl;		/* UDP: the kernel's drop count seen last (SO_RXQ_OVFL) */
	union sa	 addr;
};

struct ctl {
	struct tk_server *srv;
	struct ctl	*next;
	int		 fd;
	bool		 closing;	/* close once the output is written */
	bool		 watching;
	char		 watch[TK_ID_MAX];
	char		*in;		/* TK_CTL_LINE_MAX bytes */
	size_t		 inlen;
	struct tk_buf	 out;
	size_t		 ooff;
};

struct peercnt {
	struct peercnt	*next;
	uint8_t		 a[16];
	uint32_t	 n;
};

struct lru {
	struct sess	*head, *tail;
	size_t		 n;
};

struct stats {
	uint64_t	 conns_total, conns_refused, udp_sessions_total, udp_datagrams;
	uint64_t	 frames_total, frames[TK_D__COUNT], fbytes[TK_D__COUNT];
	uint64_t	 bytes_in, junk_bytes, replies_sent, protocol_errors;
	uint64_t	 udp_drops, commands_sent, commands_queued, commands_expired;
	uint64_t	 accept_backoffs, send_errors;
	uint64_t	 id_conflicts, id_takeovers, conflict_frames, devices_expired;
	uint64_t	 devices_unregistered, devices_refused, refused_frames;
	uint64_t	 udp_kernel_drops, udp_refused, conns_evicted, login_timeouts;
	uint64_t	 shutdown_undrained;
	uint64_t	 replies_held, replies_dropped;
	size_t		 out_high;
};

struct tk_server {
	struct tk_server_opts o;
	struct tk_loop	*loop;
	struct lsock	 ls[MAX_LISTEN];
	int		 nls;
	uint16_t	 port;
	/* output */
	struct tk_sink	*sink;
	bool		 paused;
	int		 fatal;		/* errno of a fatal output error */
	size_t		 high, low;
	struct held	*held, *held_tail;	/* replies in sequence order */
	uint64_t	 acked_seq;	/* the sink's delivered watermark */
	/* sessions */
	/* identified sessions, and the others (they go first at the caps
	 * and after --login-timeout): promote() moves one across */
	struct lru	 tcp, udp, tcp_anon, udp_anon;
	struct tk_pool	 sessions;	/* every struct sess (see Memory above) */
	struct sess	**udph;
	struct peercnt	**peers;
	struct sess	*reap;
	uint64_t	 next_no;
	uint8_t		*rbuf;
	uint8_t		*dbuf;		/* drain(): rbuf may hold the frame being handled */
	int64_t		 now;
	int64_t		 takeover_ms;	/* -1: at once */
	int64_t		 login_ms;	/* 0: none */
	struct tk_idset	*devices;	/* --devices, NULL: every id */
	uint64_t	 conflicts_reported;
	int64_t		 backoff_until;	/* 0: accepting */
	int64_t		 backoff_logged;
	int64_t		 last_tick;
	uint64_t	 drops_reported, kdrops_reported, refused_reported;
	/* devices and commands */
	struct tk_registry *reg;
	struct tk_cmdq	 q;
	/* control */
	int		 ctl_fd;
	char		 ctl_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl	*ctls;
	size_t		 nctl;
	bool		 stopping;
	struct stats	 st;
};

size_t
tk_server_conn_size(void)
{
	return sizeof(struct sess);
}

/* ---- small helpers ---------------------------------------------------- */

static void logf_(struct tk_server *, enum tk_log_level, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
logf_(struct tk_server *s, enum tk_log_level lv, const char *fmt, ...)
{
	char m[512];
	va_list ap;

	if (s->o.log == NULL || (lv == TK_LOG_INFO && !s->o.verbose))
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_arg, lv, m);
}

static void
fmt_addr(const union sa *a, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN];
	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, h, sizeof(h));
		snprintf(out, cap, "[%s]:%u", h, ntohs(a->in6.sin6_port));
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, h, sizeof(h));
		snprintf(out, cap, "%s:%u", h, ntohs(a->in.sin_port));
	} else {
		snprintf(out, cap, "-");
	}
}

static socklen_t
sa_len(const union sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

/* The host part of an address, 16 bytes (IPv4 as mapped). */
static void
host_key(const union sa *a, uint8_t k[16])
{
	if (a->sa.sa_family == AF_INET6) {
		memcpy(k, &a->in6.sin6_addr, 16);
	} else {
		memset(k, 0, 10);
		k[10] = k[11] = 0xff;
		memcpy(k + 12, &a->in.sin_addr, 4);
	}
}

static uint32_t
fnv(const uint8_t *p, size_t n, uint32_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t
addr_hash(const union sa *a)
{
	uint8_t k[16];
	uint16_t port = a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in.sin_port;
	host_key(a, k);
	return fnv((const uint8_t *)&port, 2, fnv(k, 16, 2166136261u));
}

static bool
addr_eq(const union sa *a, const union sa *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		    memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
}

static void
lru_push(struct lru *l, struct sess *x)
{
	x->next = NULL;
	x->prev = l->tail;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
	l->n++;
}

static void
lru_unlink(struct lru *l, struct sess *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = NULL;
	l->n--;
}

/* The list x is on: by transport, identified or not. */
static struct lru *
sess_lru(struct sess *x)
{
	struct tk_server *s = x->srv;
	if (x->udp)
		return x->anon ? &s->udp_anon : &s->udp;
	return x->anon ? &s->tcp_anon : &s->tcp;
}

/* x sent a complete frame: its silence starts again (the idle timer, the
 * login deadline and --takeover count whole frames, not bytes). */
static void
touch(struct sess *x)
{
	struct lru *l = sess_lru(x);
	x->last = x->srv->now;
	if (l->tail != x) {
		lru_unlink(l, x);
		lru_push(l, x);
	}
}

/*
 * x identified itself: it holds a device id, or speaks a dialect whose
 * frames carry none (gt06, h02, xexun3: labelled only) and sent a complete
 * frame.  Until then it is on an unidentified list: closed after
 * --login-timeout without a frame, and the first to go at the caps.
 */
static void
promote(struct sess *x)
{
	if (!x->anon)
		return;
	lru_unlink(sess_lru(x), x);
	x->anon = 0;
	lru_push(sess_lru(x), x);
}

/* ---- output ---------------------------------------------------------- */

static size_t
out_used(const struct tk_server *s)
{
	return tk_sink_pending(s->sink);
}

static void set_paused(struct tk_server *, bool);

static void
out_after_append(struct tk_server *s)
{
	size_t u = out_used(s);
	if (u > s->st.out_high)
		s->st.out_high = u;
	if (!s->paused && u >= s->high)
		set_paused(s, true);
}

/* The sink delivered some: resume reading below the low-water mark. */
static void
on_drained(void *arg)
{
	struct tk_server *s = arg;
	if (s->paused && out_used(s) <= s->low)
		set_paused(s, false);
}

/* The session holds its device id (a contender does not). */
static bool
holds(const struct sess *x)
{
	return x->dev != NULL && x->dev->sess == x;
}

/* The id a session's lines carry: only the one it holds. */
static const char *
sess_id(const struct sess *x)
{
	return holds(x) ? x->dev->id : "";
}

/* "tcp #3 192.0.2.7:40000 device 359586015829802", for log messages */
static const char *
who(const struct sess *x, char *buf, size_t cap)
{
	char p[64];
	fmt_addr(&x->addr, p, sizeof(p));
	snprintf(buf, cap, "%s #%llu %s%s%s", x->udp ? "udp" : "tcp",
	    (unsigned long long)x->no, p, x->dev == NULL ? "" : holds(x) ? " device " :
	    " claiming ", x->dev ? x->dev->id : "");
	return buf;
}

/* The line emit() wrote last, for the control socket's watchers. */
struct emitted {
	uint64_t	 seq;		/* 0: not written */
	const char	*text;		/* '\n' included; valid until the next emit */
	size_t		 len;
};

/*
 * Write one frame line for session x to the sink.  dk: print the dialect
 * (else "-").  out (may be NULL) receives the line's sequence number and
 * text; seq 0 when the line was lost (counted by the sink).
 */
static void
emit(struct tk_server *s, enum tk_fkind k, const struct sess *x, enum tk_dialect d,
    bool dk, const char *flags, const uint8_t *data, size_t len, struct emitted *out)
{
	struct tk_fline l;
	struct emitted e = {0, NULL, 0};

	memset(&l, 0, sizeof(l));
	l.kind = k;
	l.time_ms = tk_wall_ms();
	memcpy(l.transport, x->udp ? "udp" : "tcp", 4);
	fmt_addr(&x->addr, l.peer, sizeof(l.peer));
	l.conn = x->no;
	l.dialect = d;
	l.dialect_known = dk;
	tk_strlcpyn(l.id, sizeof(l.id), sess_id(x), strlen(sess_id(x)));
	if (flags)
		tk_strlcpyn(l.flags, sizeof(l.flags), flags, strlen(flags));
	l.data = data;
	l.len = len;
	if (tk_sink_put(s->sink, &l, &e.seq, &e.text, &e.len) == 0)
		out_after_append(s);
	else
		e.seq = 0;
	if (out != NULL)
		*out = e;
}

static void
emit_text(struct tk_server *s, enum tk_fkind k, const struct sess *x, const char *text)
{
	enum tk_dialect d = (enum tk_dialect)x->dialect;
	emit(s, k, x, d, d != TK_D_UNKNOWN, NULL, (const uint8_t *)text,
	    text ? strlen(text) : 0, NULL);
}

static int
out_flush(struct tk_server *s)
{
	if (tk_sink_flush(s->sink) != 0) {
		if (s->fatal == 0)
			s->fatal = errno;
		return -1;
	}
	on_drained(s);
	return 0;
}

/* ---- sessions -------------------------------------------------------- */

static unsigned
sess_events(const struct sess *x)
{
	unsigned ev = 0;
	if (!x->srv->paused && !x->closing)
		ev |= TK_EV_READ;
	if (x->wlen > x->woff)
		ev |= TK_EV_WRITE;
	return ev;
}

static void
set_paused(struct tk_server *s, bool p)
{
	if (s->paused == p)
		return;
	s->paused = p;
	logf_(s, TK_LOG_INFO, "output buffer %s (%zu bytes): %s reading TCP",
	    p ? "above high-water" : "below low-water", out_used(s),
	    p ? "stop" : "resume");
	for (int k = 0; k < 2; k++)
		for (struct sess *x = (k ? s->tcp_anon : s->tcp).head; x != NULL; x = x->next) {
			/* a device held back was not idle: its bytes waited in the kernel */
			if (!p)
				x->last = s->now;
			tk_loop_mod(s->loop, x->fd, sess_events(x));
		}
}

static struct peercnt **
peer_slot(struct tk_server *s, const union sa *a, uint8_t k[16])
{
	host_key(a, k);
	struct peercnt **pp = &s->peers[fnv(k, 16, 2166136261u) % PEER_BUCKETS];
	while (*pp && memcmp((*pp)->a, k, 16) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void
peer_dec(struct tk_server *s, const union sa *a)
{
	uint8_t k[16];
	struct peercnt **pp = peer_slot(s, a, k);
	if (*pp && --(*pp)->n == 0) {
		struct peercnt *p = *pp;
		*pp = p->next;
		free(p);
	}
}

/* Count one more connection from a; false when over the per-peer limit. */
static bool
peer_inc(struct tk_server *s, const union sa *a)
{
	uint8_t k[16];
	struct peercnt **pp = peer_slot(s, a, k);
	if (*pp == NULL) {
		struct peercnt *p = calloc(1, sizeof(*p));
		if (p == NULL)
			return false;
		memcpy(p->a, k, 16);
		*pp = p;
	}
	if (s->o.max_per_peer && (*pp)->n >= s->o.max_per_peer) {
		if ((*pp)->n == 0) {
			struct peercnt *p = *pp;
			*pp = p->next;
			free(p);
		}
		return false;
	}
	(*pp)->n++;
	return true;
}

static void sess_close(struct sess *, enum reason);

/* A reset or a write to a closed connection is how many devices hang up. */
static bool
hangup(int e)
{
	return e == ECONNRESET || e == EPIPE;
}

/* Send bytes to the device behind x.  kind: TK_F_SEND line is written first. */

/*
 * Mark a session for closing once the current event is done.  TCP sessions
 * go on the reap list, so the end of each loop pass closes exactly the
 * marked ones instead of walking every connection.
 */
static void
sess_mark(struct sess *x, unsigned r)
{
	struct tk_server *s = x->srv;

	x->closing = (uint8_t)r;
	if (!x->udp && !x->reaping) {
		x->reaping = 1;
		x->hnext = s->reap;
		s->reap = x;
	}
}

static int
sess_send(struct sess *x, const uint8_t *p, size_t n)
{
	struct tk_server *s = x->srv;

	emit(s, TK_F_SEND, x, (enum tk_dialect)x->dialect, x->dialect != TK_D_UNKNOWN,
	    NULL, p, n, NULL);
	if (x->udp) {
		ssize_t w = sendto(x->fd, p, n, MSG_DONTWAIT, &x->addr.sa, sa_len(&x->addr));
		if (w < 0) {
			s->st.send_errors++;
			int e = errno;
			char d[128];
			logf_(s, TK_LOG_INFO, "%s: sendto: %s", who(x, d, sizeof(d)),
			    strerror(e));
			return -1;
		}
		return 0;
	}
	if (x->closing)
		return -1;
	size_t off = 0;
	if (x->wlen == x->woff) {
		while (off < n) {
			ssize_t w = send(x->fd, p + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				s->st.send_errors++;
				sess_mark(x, hangup(errno) ? R_PEER : R_ERROR);
				return -1;
			}
			off += (size_t)w;
		}
	}
	if (off == n)
		return 0;
	/* the socket is full: keep the rest until it drains */
	size_t rest = n - off, have = x->wlen - x->woff;
	if (have + rest > WBUF_MAX) {
		sess_mark(x, R_LIMIT);
		return -1;
	}
	uint8_t *nb = malloc(have + rest);
	if (nb == NULL) {
		sess_mark(x, R_ERROR);
		return -1;
	}
	if (have)
		memcpy(nb, x->wbuf + x->woff, have);
	memcpy(nb + have, p + off, rest);
	free(x->wbuf);
	x->wbuf = nb;
	x->wlen = (uint32_t)(have + rest);
	x->woff = 0;
	tk_loop_mod(s->loop, x->fd, sess_events(x));
	return 0;
}

static void
sess_flush_w(struct sess *x)
{
	while (x->woff < x->wlen) {
		ssize_t w = send(x->fd, x->wbuf + x->woff, x->wlen - x->woff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && !x->closing)
				sess_mark(x, hangup(errno) ? R_PEER : R_ERROR);
			break;
		}
		x->woff += (uint32_t)w;
	}
	if (x->woff == x->wlen) {
		free(x->wbuf);
		x->wbuf = NULL;
		x->wlen = x->woff = 0;
	}
	if (!x->closing)
		tk_loop_mod(x->srv->loop, x->fd, sess_events(x));
}

/* Send the commands held for x's device, now that it is live. */
static void
deliver_queued(struct sess *x)
{
	struct tk_server *s = x->srv;
	struct tk_cmd *c;

	if (s->q.n == 0 || !holds(x) || x->replacing)
		return;
	while (!x->closing && (c = tk_cmdq_take(&s->q, x->dev->id)) != NULL) {
		if (c->expires > tk_wall_ms()) {
			sess_send(x, c->data, c->len);
			s->st.commands_sent++;
			logf_(s, TK_LOG_INFO, "device %s: queued command %llu sent",
			    x->dev->id, (unsigned long long)c->qid);
			if (c->ext && s->o.on_queued_sent != NULL)
				s->o.on_queued_sent(s->o.dev_arg, c->id, c->qid);
		}
		tk_cmd_free(c);
	}
}

static void ctl_send_text(struct ctl *, const char *, size_t);

static void
notify_watchers(struct tk_server *s, const struct sess *x, const struct emitted *e)
{
	if (s->ctls == NULL || !holds(x) || e->seq == 0)
		return;
	const char *line = e->text;
	size_t n = e->len;	/* the line, '\n' included */
	for (struct ctl *c = s->ctls; c != NULL; c = c->next) {
		if (!c->watching || strcmp(c->watch, x->dev->id) != 0)
			continue;
		ctl_send_text(c, "FRAME ", 6);
		ctl_send_text(c, line, n);
	}
}

/* Tell the registry hook that x's device is online here, or not. */
static void
tell_device(const struct sess *x, bool online)
{
	struct tk_server *s = x->srv;
	char peer[64];

	if (s->o.on_device == NULL || x->dev == NULL)
		return;
	fmt_addr(&x->addr, peer, sizeof(peer));
	struct tk_server_dev v = {x->dev->id, tk_dialect_name((enum tk_dialect)x->dialect),
	    x->udp ? "udp" : "tcp", peer, x->dev->since,
	    x->dev->last > x->dev->since ? x->dev->last : x->dev->since, x->dev->frames, online};
	s->o.on_device(s->o.dev_arg, &v);
}

/* ---- identity (the policy is stated at the top of this file) ---------- */

/* x holds its device from now on. */
static void
establish(struct sess *x)
{
	struct tk_dev *d = x->dev;

	d->sess = x;
	d->since = tk_wall_ms();
	d->frames = 0;
	promote(x);
}

/* x lets go of its device (closing): an offline device, or one its
 * contenders may now take. */
static void
release(struct sess *x)
{
	struct tk_server *s = x->srv;

	if (x->dev == NULL)
		return;
	if (x->dev->sess == x)
		x->dev->sess = NULL;
	tk_reg_unref(s->reg, x->dev, s->now);
	x->dev = NULL;
}

/* May contender x take its device from the session holding it? */
static bool
may_take_over(const struct sess *x)
{
	const struct tk_server *s = x->srv;
	const struct sess *old = x->dev->sess;

	if (old == NULL || old->closing)
		return true;
	if (s->takeover_ms < 0)
		return true;
	/* a TCP holder held back by a full output was not silent */
	if (!old->udp && s->paused)
		return false;
	return s->now - old->last >= s->takeover_ms;
}

static int on_frame(void *, enum tk_dialect, const uint8_t *, size_t, uint64_t);
static void on_junk(void *, const uint8_t *, size_t, uint64_t);
/*
 * Does the device keep a report until this reply (its ACK) comes?  Then
 * the reply waits for the bus.  xexun2 devices resend an unacknowledged
 * report, GT06 devices an unacknowledged status or alarm (their login and
 * time answers are handshakes); the other dialects' replies are
 * handshakes (login, heartbeat) that no report waits for.
 */
static bool
reply_is_ack(enum tk_dialect d, const uint8_t *f, size_t n)
{
	return d == TK_D_XEXUN2 || (d == TK_D_GT06 && tk_gt06_reply_is_ack(f, n));
}

static void
hold_reply(struct sess *x, uint64_t seq, const uint8_t *r, size_t n)
{
	struct tk_server *s = x->srv;
	struct held *h;

	if (seq <= s->acked_seq) {
		if (sess_send(x, r, n) == 0)
			s->st.replies_sent++;
		return;
	}
	if ((h = malloc(sizeof(*h))) == NULL) {
		s->st.replies_dropped++;
		return;
	}
	h->next = NULL;
	h->x = x;
	h->seq = seq;
	h->len = (uint8_t)n;
	memcpy(h->data, r, n);
	if (s->held_tail)
		s->held_tail->next = h;
	else
		s->held = h;
	s->held_tail = h;
	x->held++;
	s->st.replies_held++;
}

/* The sink's watermark moved: send the replies it covers. */
static void
on_delivered(void *arg, uint64_t seq)
{
	struct tk_server *s = arg;
	struct held *h;

	s->acked_seq = seq;
	while ((h = s->held) != NULL && h->seq <= seq) {
		s->held = h->next;
		if (s->held == NULL)
			s->held_tail = NULL;
		struct sess *x = h->x;
		if (x != NULL) {
			x->held--;
			if (!x->closing && sess_send(x, h->data, h->len) == 0)
				s->st.replies_sent++;
		}
		free(h);
	}
}

/* A closing session's held replies are dropped (the device resends). */
static void
unhold(struct sess *x)
{
	for (struct held *h = x->srv->held; h != NULL && x->held > 0; h = h->next)
		if (h->x == x) {
			h->x = NULL;
			x->held--;
			x->srv->st.replies_dropped++;
		}
}

struct feed {
	struct sess	*x;
	enum tk_dialect	 d;	/* for junk lines */
	bool		 dk;
};

#define DRAIN_MAX	(4u << 20)	/* bytes read from a session being replaced */

/*
 * Read and frame what x's socket still holds (at most DRAIN_MAX bytes),
 * then what its framer holds: every frame the device sent before x is
 * closed is written.  Into dbuf: rbuf may hold the frame being handled.
 */
static void
drain(struct sess *x)
{
	struct tk_server *s = x->srv;
	struct feed f = {x, (enum tk_dialect)x->fr.dialect, true};
	struct tk_framer_cb cb = {on_frame, on_junk, &f};
	size_t got = 0;

	if (x->udp || x->closing)
		return;
	if (s->dbuf == NULL && (s->dbuf = malloc(RBUF_SIZE)) == NULL)
		return;
	while (got < DRAIN_MAX && !x->closing) {
		ssize_t n = recv(x->fd, s->dbuf, RBUF_SIZE, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		s->st.bytes_in += (uint64_t)n;
		enum tk_feed rc = tk_framer_feed(&x->fr, s->dbuf, (size_t)n, &cb);
		x->dialect = (uint8_t)x->fr.dialect;
		if (rc != TK_FEED_OK)
			break;
	}
}

/* Contender x takes its device over: the holder is closed, replaced. */
static void
take_over(struct sess *x)
{
	struct tk_server *s = x->srv;
	struct sess *old = x->dev->sess;

	if (old != NULL) {
		logf_(s, TK_LOG_INFO, "device %s: #%llu takes over from #%llu (silent %lld ms)",
		    x->dev->id, (unsigned long long)x->no, (unsigned long long)old->no,
		    (long long)(s->now - old->last));
		s->st.id_takeovers++;
		old->replacing = 1;	/* held commands wait for x */
		drain(old);
		sess_close(old, R_REPLACED);
	}
	if (x->dev->sess == NULL)
		establish(x);
}

/* An id the operator's --devices list does not name: x is refused. */
static bool
refuse(struct sess *x, const char *id)
{
	struct tk_server *s = x->srv;
	char w[128];

	if (s->devices == NULL || tk_idset_has(s->devices, id))
		return false;
	s->st.devices_refused++;
	logf_(s, TK_LOG_INFO, "%s: device %s is not in --devices: refused",
	    who(x, w, sizeof(w)), id);
	x->refused = 1;
	sess_mark(x, R_UNKNOWN_DEV);
	return true;
}

/* x's frame names id and x claims none yet: hold it, or contend for it. */
static void
claim(struct sess *x, const char *id)
{
	struct tk_server *s = x->srv;
	char w[128];

	if (refuse(x, id))
		return;
	struct tk_dev *d = tk_reg_get(s->reg, id, s->now);
	if (d == NULL) {
		/* every entry in use (a registry smaller than the sessions) */
		s->st.devices_unregistered++;
		logf_(s, TK_LOG_INFO, "%s: device %s: registry full (%zu devices)",
		    who(x, w, sizeof(w)), id, tk_reg_count(s->reg));
		return;
	}
	tk_reg_ref(s->reg, d);
	x->dev = d;
	if (d->sess == NULL) {
		establish(x);
		return;
	}
	if (may_take_over(x)) {
		take_over(x);
		return;
	}
	s->st.id_conflicts++;
	struct sess *old = d->sess;
	logf_(s, TK_LOG_INFO, "%s: claims device %s, which #%llu holds (last frame %lld ms "
	    "ago): kept apart", who(x, w, sizeof(w)), id, (unsigned long long)old->no,
	    (long long)(s->now - old->last));
}

static bool
id_ok(const char *id)
{
	return tk_ctl_valid_id(id, strlen(id));
}

static int
on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct feed *fd = arg;
	struct sess *x = fd->x;
	struct tk_server *s = x->srv;
	char id[TK_ID_MAX], flags[80] = "";

	(void)off;
	x->dialect = (uint8_t)d;
	fd->d = d;
	fd->dk = true;
	x->junkrun = 0;
	if (s->o.frame_max && n > s->o.frame_max) {
		s->st.protocol_errors++;
		char w[128];
		logf_(s, TK_LOG_INFO, "%s: protocol error: frame of %zu bytes exceeds %zu",
		    who(x, w, sizeof(w)), n, s->o.frame_max);
		emit(s, TK_F_JUNK, x, d, true, "oversize", f, n, NULL);
		s->st.junk_bytes += n;
		if (!x->udp) {
			sess_mark(x, R_PROTO);
			return 1;
		}
		return 0;
	}
	bool named = tk_frame_id(d, f, n, id, sizeof(id)) > 0 && id_ok(id);
	if (named) {
		if (x->closing)
			;	/* its last frames, flushed at close: it holds nothing new */
		else if (x->dev == NULL)
			claim(x, id);
		else if (strcmp(x->dev->id, id) != 0)
			snprintf(flags, sizeof(flags), "mismatch=%s", id);
		else if (!holds(x) && may_take_over(x) && !refuse(x, id))
			take_over(x);
	}
	if (x->refused) {
		/* not a device of the operator's: written flagged, never
		 * attributed, never answered; the session is closing */
		if (named)
			snprintf(flags, sizeof(flags), "refused=%s", id);
		else
			snprintf(flags, sizeof(flags), "refused");
		s->st.refused_frames++;
		s->st.frames_total++;
		s->st.frames[d]++;
		s->st.fbytes[d] += n;
		emit(s, TK_F_FRAME, x, d, true, flags, f, n, NULL);
		return 1;
	}
	if (!x->closing) {
		if (x->dev == NULL && !tk_dialect_decodable(d))
			promote(x);	/* a dialect without ids: a frame is all it has */
		touch(x);
	}
	if (x->dev != NULL && !holds(x)) {
		/* a contender: its frames are not the device's (a mismatch too
		 * when both fit in a FLAGS field) */
		char c[sizeof(flags)];
		if ((size_t)snprintf(c, sizeof(c), "conflict=%s%s%s", x->dev->id,
		    flags[0] ? "," : "", flags) >= sizeof(c))
			snprintf(c, sizeof(c), "conflict=%s", x->dev->id);
		memcpy(flags, c, sizeof(flags));
		s->st.conflict_frames++;
	}
	s->st.frames_total++;
	s->st.frames[d]++;
	s->st.fbytes[d] += n;
	if (holds(x)) {
		struct tk_dev *dv = x->dev;
		int64_t prev = dv->last, r = s->o.dev_refresh_ms;
		dv->frames++;
		dv->last = tk_wall_ms();
		dv->dialect = d;
		/* the fleet: a new session, then its last-seen at the first
		 * frame of each dev_refresh_ms of the session */
		if (s->o.on_device != NULL && (dv->frames == 1 || (r > 0 && prev >= dv->since &&
		    (dv->last - dv->since) / r != (prev - dv->since) / r)))
			tell_device(x, true);
	}
	struct emitted e;
	emit(s, TK_F_FRAME, x, d, true, flags, f, n, &e);
	notify_watchers(s, x, &e);
	uint8_t r[TK_REPLY_MAX];
	size_t rn = tk_reply(d, f, n, r, sizeof(r));
	if (rn > 0 && rn <= sizeof(r)) {
		if (tk_sink_durable(s->sink) && reply_is_ack(d, f, n)) {
			if (e.seq == 0)
				s->st.replies_dropped++;	/* lost: the device resends */
			else
				hold_reply(x, e.seq, r, rn);
		} else if (sess_send(x, r, rn) == 0)
			s->st.replies_sent++;
	}
	deliver_queued(x);
	return x->closing ? 1 : 0;
}

static void
on_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct feed *fd = arg;
	struct sess *x = fd->x;
	(void)off;
	x->srv->st.junk_bytes += n;
	emit(x->srv, TK_F_JUNK, x, fd->d, fd->dk, NULL, j, n, NULL);
	/*
	 * A scanner drops junk as it goes, so the reassembly buffer never
	 * fills on a stream of garbage: count it instead.  More junk than
	 * the longest frame without a frame in between is a protocol error
	 * (otherwise a peer could send garbage for ever, every byte of it
	 * written out as junk lines).
	 */
	if (!x->udp && !x->closing) {
		x->junkrun = n > UINT32_MAX - x->junkrun ? UINT32_MAX : x->junkrun + (uint32_t)n;
		if (x->junkrun > x->fr.max) {
			struct tk_server *s = x->srv;
			char w[128];
			s->st.protocol_errors++;
			logf_(s, TK_LOG_INFO, "%s: protocol error: %u junk bytes without a frame",
			    who(x, w, sizeof(w)), (unsigned)x->junkrun);
			x->closing = R_PROTO;
		}
	}
}

static void
sess_free(struct sess *x)
{
	tk_framer_free(&x->fr);
	free(x->wbuf);
	tk_pool_put(&x->srv->sessions, x);
}

/* Close a session now: flush the framer, write the close line, forget it. */
static void
sess_close(struct sess *x, enum reason r)
{
	struct tk_server *s = x->srv;

	if (!x->udp) {
		if (!x->closing)
			sess_mark(x, (uint8_t)r);
		if (tk_framer_pending(&x->fr) > 0) {
			struct feed fd = {x, (enum tk_dialect)x->fr.dialect,
			    x->fr.dialect != TK_D_UNKNOWN};
			struct tk_framer_cb cb = {on_frame, on_junk, &fd};
			tk_framer_finish(&x->fr, &cb);
		}
		if (x->wlen > x->woff)
			sess_flush_w(x);
	}
	if (x->held)
		unhold(x);
	const char *why = reasons[r];
	char w[128];
	/* logged first: after emit_text(), which accepts NULL, gcc's profile-
	 * guided build sees a path where why is NULL (-Wformat-overflow) */
	logf_(s, TK_LOG_INFO, "%s: closed (%s)", who(x, w, sizeof(w)), why);
	emit_text(s, TK_F_CLOSE, x, why);
	/* the fleet: offline here, unless replaced by another session */
	if (holds(x) && r != R_REPLACED)
		tell_device(x, false);
	release(x);
	lru_unlink(sess_lru(x), x);
	if (x->udp) {
		struct sess **pp = &s->udph[addr_hash(&x->addr) % UDP_BUCKETS];
		while (*pp && *pp != x)
			pp = &(*pp)->hnext;
		if (*pp)
			*pp = x->hnext;
	} else {
		tk_loop_del(s->loop, x->fd);
		close(x->fd);
		peer_dec(s, &x->addr);
		if (x->reaping) {
			struct sess **pp = &s->reap;
			while (*pp && *pp != x)
				pp = &(*pp)->hnext;
			if (*pp)
				*pp = x->hnext;
		}
	}
	sess_free(x);
}

/* Mark for closing at the end of the current event (sends that failed). */
static void
reap_all(struct tk_server *s)
{
	struct sess *x;
	while ((x = s->reap) != NULL) {
		s->reap = x->hnext;
		x->reaping = 0;
		sess_close(x, (enum reason)x->closing);
	}
}

static void
on_tcp(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	struct sess *x = arg;
	struct tk_server *s = x->srv;

	(void)l;
	s->now = tk_mono_ms();	/* the wait may have been long */
	if (ev & TK_EV_WRITE)
		sess_flush_w(x);
	if (x->closing) {
		sess_close(x, (enum reason)x->closing);
		return;
	}
	if (!((ev & TK_EV_READ) && !s->paused) && !(ev & TK_EV_ERROR))
		return;
	ssize_t n = recv(fd, s->rbuf, RBUF_SIZE, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		char w[128];
		int e = errno;
		logf_(s, TK_LOG_INFO, "%s: %s", who(x, w, sizeof(w)), strerror(e));
		errno = e;
		sess_close(x, hangup(errno) ? R_PEER : R_ERROR);
		return;
	}
	if (n == 0) {
		sess_close(x, R_PEER);
		return;
	}
	s->st.bytes_in += (uint64_t)n;
	struct feed f = {x, (enum tk_dialect)x->fr.dialect, x->fr.dialect != TK_D_UNKNOWN};
	struct tk_framer_cb cb = {on_frame, on_junk, &f};
	if (x->fr.dialect == TK_D_UNKNOWN) {
		/* junk before classification is reported as dialect unknown */
		f.dk = true;
	}
	enum tk_feed rc = tk_framer_feed(&x->fr, s->rbuf, (size_t)n, &cb);
	x->dialect = (uint8_t)x->fr.dialect;
	switch (rc) {
	case TK_FEED_OK:
	case TK_FEED_STOPPED:
		break;
	case TK_FEED_OVERFLOW:
		s->st.protocol_errors++;
		char w[128];
		logf_(s, TK_LOG_INFO, "%s: protocol error: no frame in %u bytes",
		    who(x, w, sizeof(w)), (unsigned)x->fr.max);
		if (!x->closing)
			sess_mark(x, R_PROTO);
		break;
	case TK_FEED_UNKNOWN:
		s->st.protocol_errors++;
		if (!x->closing)
			sess_mark(x, R_UNKNOWN);
		break;
	case TK_FEED_NOMEM:
		if (!x->closing)
			sess_mark(x, R_ERROR);
		break;
	}
	/* -m: keep the reassembly buffer within the configured frame length */
	if (!x->closing && s->o.frame_max && x->fr.dialect != TK_D_UNKNOWN &&
	    x->fr.max > s->o.frame_max) {
		if (x->fr.len > s->o.frame_max) {
			s->st.protocol_errors++;
			sess_mark(x, R_PROTO);
		} else {
			x->fr.max = (uint32_t)s->o.frame_max;
		}
	}
	if (x->closing)
		sess_close(x, (enum reason)x->closing);
}

static void
resume_accept(struct tk_server *s, bool on)
{
	for (int i = 0; i < s->nls; i++)
		if (!s->ls[i].udp && s->ls[i].fd >= 0)
			tk_loop_mod(s->loop, s->ls[i].fd, on ? TK_EV_READ : 0);
}

static void
on_accept(struct tk_loop *l, int lfd, unsigned ev, void *arg)
{
	struct lsock *ls = arg;
	struct tk_server *s = ls->srv;

	(void)l;
	(void)ev;
	s->now = tk_mono_ms();
	for (int k = 0; k < 64; k++) {
		union sa a;
		socklen_t al = sizeof(a);
		memset(&a, 0, sizeof(a));
		int fd = accept4(lfd, &a.sa, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				int e = errno;
				s->st.accept_backoffs++;
				if (s->now - s->backoff_logged >= 1000) {
					s->backoff_logged = s->now;
					logf_(s, TK_LOG_WARN, "accept: %s: pausing for %d ms "
					    "(%llu times so far)", strerror(e), BACKOFF_MS,
					    (unsigned long long)s->st.accept_backoffs);
				}
				s->backoff_until = s->now + BACKOFF_MS;
				resume_accept(s, false);
			}
			return;
		}
		struct sess *x = tk_pool_get(&s->sessions);
		if (x == NULL) {
			close(fd);
			return;
		}
		x->srv = s;
		x->fd = fd;
		x->addr = a;
		x->no = ++s->next_no;
		x->last = s->now;
		x->anon = 1;
		tk_framer_init(&x->fr, TK_D_UNKNOWN, 0);
		s->st.conns_total++;
		emit(s, TK_F_OPEN, x, TK_D_UNKNOWN, false, NULL, NULL, 0, NULL);
		bool peer_ok = peer_inc(s, &a), over = false;
		if (peer_ok && s->tcp.n + s->tcp_anon.n >= s->o.max_conns) {
			/* at the cap an unidentified connection makes room (the
			 * longest silent one); identified devices never do */
			if (s->tcp_anon.head != NULL) {
				s->st.conns_evicted++;
				sess_close(s->tcp_anon.head, R_LIMIT);
			} else {
				over = true;
				peer_dec(s, &a);
			}
		}
		if (over || !peer_ok) {
			s->st.conns_refused++;
			emit_text(s, TK_F_CLOSE, x, reasons[R_LIMIT]);
			char p[64];
			fmt_addr(&a, p, sizeof(p));
			logf_(s, TK_LOG_INFO, "tcp #%llu %s: refused (%s limit)",
			    (unsigned long long)x->no, p, over ? "connection" : "per-peer");
			close(fd);
			sess_free(x);
			continue;
		}
		lru_push(&s->tcp_anon, x);
		if (tk_loop_add(s->loop, fd, sess_events(x), on_tcp, x) != 0) {
			sess_close(x, R_ERROR);
			continue;
		}
		if (s->o.verbose) {
			char p[64];
			fmt_addr(&a, p, sizeof(p));
			logf_(s, TK_LOG_INFO, "tcp #%llu %s: open", (unsigned long long)x->no, p);
		}
	}
}

/* Would this datagram identify its peer (promote())?  Its first frame
 * names an id the --devices list allows, or is of a dialect without ids. */
static bool
identifies(const struct tk_server *s, const uint8_t *p, size_t m)
{
	enum tk_dialect d;
	size_t skip;
	struct tk_scan_out o;
	char id[TK_ID_MAX];

	if (tk_classify(p, m, true, &d, &skip) != TK_CLASS_OK || skip > m)
		return false;
	size_t v = m - skip > tk_frame_max(d) ? tk_frame_max(d) : m - skip;
	if (tk_scan(d, p + skip, v, true, &o) != TK_SCAN_FRAME || o.len == 0 ||
	    o.skip > v || o.len > v - o.skip)
		return false;
	if (!tk_dialect_decodable(d))
		return true;
	return tk_frame_id(d, p + skip + o.skip, o.len, id, sizeof(id)) > 0 && id_ok(id) &&
	    (s->devices == NULL || tk_idset_has(s->devices, id));
}

/*
 * The session of peer a, new if need be.  At the cap a peer that never
 * identified makes room; an identified one only for a newcomer whose
 * datagram (p, m) identifies it (the longest silent goes): junk from ever
 * new ports never evicts a device.  NULL: refused (counted).
 */
static struct sess *
udp_sess(struct tk_server *s, struct lsock *ls, const union sa *a, const uint8_t *p,
    size_t m)
{
	uint32_t h = addr_hash(a) % UDP_BUCKETS;
	struct sess *x;
	for (x = s->udph[h]; x != NULL; x = x->hnext)
		if (addr_eq(&x->addr, a))
			return x;
	if (s->udp.n + s->udp_anon.n >= s->o.max_conns) {
		if (s->udp_anon.head != NULL)
			sess_close(s->udp_anon.head, R_LIMIT);
		else if (s->udp.head != NULL && identifies(s, p, m))
			sess_close(s->udp.head, R_LIMIT);
		else {
			s->st.udp_refused++;
			return NULL;
		}
	}
	x = tk_pool_get(&s->sessions);
	if (x == NULL) {
		s->st.udp_drops++;
		return NULL;
	}
	x->srv = s;
	x->udp = 1;
	x->anon = 1;
	x->fd = ls->fd;
	x->addr = *a;
	x->no = ++s->next_no;
	x->last = s->now;
	x->hnext = s->udph[h];
	s->udph[h] = x;
	lru_push(&s->udp_anon, x);
	s->st.udp_sessions_total++;
	emit(s, TK_F_OPEN, x, TK_D_UNKNOWN, false, NULL, NULL, 0, NULL);
	return x;
}

/* The kernel's count of datagrams it dropped on ls (receive buffer full),
 * carried by each datagram (SO_RXQ_OVFL): what it grew by joins udp_drops. */
static void
kernel_drops(struct tk_server *s, struct lsock *ls, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL ||
		    c->cmsg_len < CMSG_LEN(sizeof(uint32_t)))
			continue;
		uint32_t v;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		uint32_t d = v - ls->ovfl;	/* modulo 2^32, as the kernel counts */
		ls->ovfl = v;
		s->st.udp_kernel_drops += d;
		s->st.udp_drops += d;
	}
}

/* Read and handle up to max datagrams from ls; returns how many were read. */
static int
udp_read(struct tk_server *s, struct lsock *ls, int max)
{
	int k;

	for (k = 0; k < max; k++) {
		union sa a;
		union {
			char		 b[CMSG_SPACE(sizeof(uint32_t))];
			struct cmsghdr	 align;
		} cm;
		struct iovec iov = {s->rbuf, RBUF_SIZE};
		struct msghdr mh;
		memset(&a, 0, sizeof(a));
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &a;
		mh.msg_namelen = sizeof(a);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		ssize_t n = recvmsg(ls->fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			break;
		if (mh.msg_controllen > 0)
			kernel_drops(s, ls, &mh);
		s->st.udp_datagrams++;
		s->st.bytes_in += (uint64_t)n;
		if (out_used(s) >= s->o.out_max) {
			s->st.udp_drops++;
			continue;
		}
		const uint8_t *p = s->rbuf;
		size_t m = (size_t)n;
		while (m && (p[0] == '\r' || p[0] == '\n' || p[0] == ' ')) {
			p++;
			m--;
		}
		while (m && (p[m - 1] == '\r' || p[m - 1] == '\n' || p[m - 1] == ' '))
			m--;
		struct sess *x = udp_sess(s, ls, &a, p, m);
		if (x == NULL || m == 0)
			continue;
		struct tk_framer fr;
		tk_framer_init(&fr, TK_D_UNKNOWN, 0);
		struct feed f = {x, TK_D_UNKNOWN, true};
		struct tk_framer_cb cb = {on_frame, on_junk, &f};
		enum tk_feed rc = tk_framer_feed(&fr, p, m, &cb);
		if (rc == TK_FEED_OK)
			rc = tk_framer_finish(&fr, &cb);
		else
			tk_framer_free(&fr);
		if (rc == TK_FEED_UNKNOWN || rc == TK_FEED_OVERFLOW)
			s->st.protocol_errors++;
		if (x->closing)
			sess_close(x, (enum reason)x->closing);	/* refused */
	}
	return k;
}

static void
on_udp(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	struct lsock *ls = arg;
	struct tk_server *s = ls->srv;

	(void)l;
	(void)fd;
	(void)ev;
	s->now = tk_mono_ms();
	udp_read(s, ls, 64);
}

/* ---- control socket ---------------------------------------------------- */

static void
ctl_events(struct ctl *c)
{
	unsigned ev = c->closing ? 0 : TK_EV_READ;
	if (c->out.len > c->ooff)
		ev |= TK_EV_WRITE;
	tk_loop_mod(c->srv->loop, c->fd, ev);
}

static void
ctl_free(struct ctl *c)
{
	struct tk_server *s = c->srv;
	struct ctl **pp = &s->ctls;
	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (*pp)
		*pp = c->next;
	s->nctl--;
	tk_loop_del(s->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out.p);
	free(c);
}

static void
ctl_flush(struct ctl *c)
{
	while (c->ooff < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->ooff, c->out.len - c->ooff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				c->out.len = c->ooff = 0;
				c->closing = true;
				c->watching = false;
			}
			break;
		}
		c->ooff += (size_t)w;
	}
	if (c->ooff == c->out.len)
		c->ooff = c->out.len = 0;
}

static void
ctl_send_text(struct ctl *c, const char *p, size_t n)
{
	bool sock = c->fd >= 0;	/* else a request from the bus (tk_server_request) */
	if (c->closing && c->watching)
		return;
	if (c->out.len - c->ooff + n > (c->watching ? CTL_WATCH_MAX : CTL_OUT_MAX)) {
		/* a watcher that does not read: let it go */
		c->watching = false;
		c->closing = true;
		return;
	}
	if (c->out.cap - c->out.len < n) {
		if (c->ooff) {
			memmove(c->out.p, c->out.p + c->ooff, c->out.len - c->ooff);
			c->out.len -= c->ooff;
			c->ooff = 0;
		}
		size_t cap = c->out.cap ? c->out.cap : 1024;
		while (cap - c->out.len < n)
			cap *= 2;
		char *np = realloc(c->out.p, cap);
		if (np == NULL) {
			c->closing = true;
			return;
		}
		c->out.p = np;
		c->out.cap = cap;
	}
	memcpy(c->out.p + c->out.len, p, n);
	c->out.len += n;
	if (c->srv->loop && sock)
		ctl_events(c);
}

static void ctl_printf(struct ctl *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
ctl_printf(struct ctl *c, const char *fmt, ...)
{
	char b[640];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	ctl_send_text(c, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

static struct sess *
live(struct tk_dev *d)
{
	return d ? d->sess : NULL;
}

static void
ctl_command(struct ctl *c, struct sess *x, const uint8_t *p, size_t n)
{
	struct tk_server *s = c->srv;
	sess_send(x, p, n);
	s->st.commands_sent++;
	logf_(s, TK_LOG_INFO, "device %s: command of %zu bytes sent", x->dev->id, n);
	if (!x->udp && x->closing)
		sess_mark(x, x->closing);
}

static void
ctl_request(struct ctl *c, const char *line, size_t n)
{
	struct tk_server *s = c->srv;
	static struct tk_ctl_req r;	/* 2 KiB: keep it off the stack */
	char err[160], t1[32], t2[32];

	if (tk_ctl_parse(line, n, &r, err, sizeof(err)) != 0) {
		ctl_printf(c, "ERR %s\n", err);
		return;
	}
	switch (r.verb) {
	case TK_CTL_LIST: {
		size_t k = 0;
		if (r.id[0]) {
			/* one device, online or not: its dialect is known */
			struct tk_dev *d = tk_reg_find(s->reg, r.id);
			if (d == NULL) {
				ctl_printf(c, "ERR unknown %s\n", r.id);
				break;
			}
			if (live(d) == NULL) {
				tk_fmt_time(t1, d->since);
				tk_fmt_time(t2, d->last ? d->last : d->since);
				ctl_printf(c, "DEV %s %s - - 0 %s %s %llu\nOK 1\n", d->id,
				    tk_dialect_name(d->dialect), t1, t2,
				    (unsigned long long)d->frames);
				break;
			}
		}
		for (struct tk_dev *d = NULL; (d = tk_reg_next(s->reg, d)) != NULL;) {
			if (r.id[0] && strcmp(d->id, r.id) != 0)
				continue;
			struct sess *x = live(d);
			if (x == NULL)
				continue;
			char p[64];
			fmt_addr(&x->addr, p, sizeof(p));
			tk_fmt_time(t1, d->since);
			tk_fmt_time(t2, d->last ? d->last : d->since);
			ctl_printf(c, "DEV %s %s %s %s %llu %s %s %llu\n", d->id,
			    tk_dialect_name(d->dialect), x->udp ? "udp" : "tcp", p,
			    (unsigned long long)x->no, t1, t2, (unsigned long long)d->frames);
			k++;
		}
		ctl_printf(c, "OK %zu\n", k);
		break;
	}
	case TK_CTL_STATS: {
		struct tk_buf b = {NULL, 0, 0};
		if (tk_server_stats(s, &b, "STAT ") == 0)
			ctl_send_text(c, b.p, b.len);
		free(b.p);
		ctl_printf(c, "OK\n");
		break;
	}
	case TK_CTL_SEND: {
		struct tk_dev *d = tk_reg_find(s->reg, r.id);
		if (d == NULL) {
			ctl_printf(c, "ERR unknown %s\n", r.id);
			break;
		}
		if (live(d) == NULL) {
			ctl_printf(c, "ERR offline %s\n", r.id);
			break;
		}
		ctl_command(c, d->sess, r.data, r.len);
		ctl_printf(c, "OK sent %zu\n", r.len);
		if (r.watch) {
			c->watching = true;
			memcpy(c->watch, r.id, sizeof(c->watch));
		}
		break;
	}
	case TK_CTL_WATCH:
		c->watching = true;
		memcpy(c->watch, r.id, sizeof(c->watch));
		ctl_printf(c, "OK watching\n");
		break;
	case TK_CTL_QUEUE: {
		struct tk_dev *d = tk_reg_find(s->reg, r.id);
		if (live(d) != NULL) {
			ctl_command(c, d->sess, r.data, r.len);
			ctl_printf(c, "OK sent %zu\n", r.len);
			break;
		}
		uint64_t q = tk_cmdq_add(&s->q, r.id, tk_wall_ms() + (int64_t)r.ttl * 1000,
		    r.data, r.len);
		if (q == 0) {
			ctl_printf(c, errno == ENOSPC ? "ERR full %d commands queued\n" :
			    "ERR refused out of memory\n", TK_CTL_QUEUE_MAX);
			break;
		}
		s->st.commands_queued++;
		ctl_printf(c, "OK queued %llu\n", (unsigned long long)q);
		break;
	}
	case TK_CTL_PENDING: {
		size_t k = 0;
		char hex[2 * TK_CTL_SEND_MAX + 1];
		for (struct tk_cmd *q = s->q.head; q != NULL; q = q->next) {
			if (r.id[0] && strcmp(r.id, q->id) != 0)
				continue;
			tk_hex_encode(q->data, q->len, hex);
			hex[2 * q->len] = '\0';
			tk_fmt_time(t1, q->expires);
			ctl_printf(c, "CMD %llu %s %s ", (unsigned long long)q->qid, q->id, t1);
			ctl_send_text(c, hex, 2 * q->len);
			ctl_send_text(c, "\n", 1);
			k++;
		}
		ctl_printf(c, "OK %zu\n", k);
		break;
	}
	case TK_CTL_CANCEL:
		if (tk_cmdq_cancel(&s->q, r.qid) == 0)
			ctl_printf(c, "OK cancelled %llu\n", (unsigned long long)r.qid);
		else
			ctl_printf(c, "ERR nocmd %llu\n", (unsigned long long)r.qid);
		break;
	}
}

static void
on_ctl(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	struct ctl *c = arg;

	(void)l;
	if (ev & TK_EV_WRITE)
		ctl_flush(c);
	if (c->closing) {
		if (c->out.len == c->ooff || (ev & TK_EV_ERROR))
			ctl_free(c);
		else
			ctl_events(c);
		return;
	}
	if (!(ev & (TK_EV_READ | TK_EV_ERROR))) {
		ctl_events(c);
		return;
	}
	if (c->in == NULL && (c->in = malloc(TK_CTL_LINE_MAX)) == NULL) {
		ctl_free(c);
		return;
	}
	ssize_t n = recv(fd, c->in + c->inlen, TK_CTL_LINE_MAX - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctl_flush(c);
		ctl_free(c);
		return;
	}
	if (c->watching) {
		c->inlen = 0;	/* a watching client has said all it will say */
		return;
	}
	c->inlen += (size_t)n;
	for (;;) {
		size_t ln;
		enum tk_ctl_line lr = tk_ctl_line(c->in, c->inlen, &ln);
		if (lr == TK_CTL_LINE_MORE)
			break;
		if (lr == TK_CTL_LINE_TOOLONG) {
			ctl_printf(c, "ERR badrequest line longer than %d bytes\n",
			    TK_CTL_LINE_MAX - 1);
			c->closing = true;
			c->inlen = 0;
			break;
		}
		ctl_request(c, c->in, ln);
		memmove(c->in, c->in + ln + 1, c->inlen - ln - 1);
		c->inlen -= ln + 1;
		if (c->watching || c->closing) {
			c->inlen = 0;
			break;
		}
	}
	ctl_flush(c);
	if (c->closing && c->out.len == c->ooff) {
		ctl_free(c);
		return;
	}
	ctl_events(c);
}

static void
on_ctl_accept(struct tk_loop *l, int lfd, unsigned ev, void *arg)
{
	struct tk_server *s = arg;

	(void)l;
	(void)ev;
	for (int k = 0; k < 16; k++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		bool ok = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 &&
		    (cr.uid == geteuid() || cr.uid == 0 ||
		    (s->o.ctl_group && cr.gid == s->o.ctl_gid));
		if (!ok || s->nctl >= CTL_MAX) {
			const char *m = ok ? "ERR refused too-many-clients\n" :
			    "ERR refused not-owner\n";
			(void)!send(fd, m, strlen(m), MSG_DONTWAIT | MSG_NOSIGNAL);
			logf_(s, TK_LOG_INFO, "control: refused uid %u", ok ? 0u :
			    (unsigned)cr.uid);
			close(fd);
			continue;
		}
		struct ctl *c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			return;
		}
		c->srv = s;
		c->fd = fd;
		if (tk_loop_add(s->loop, fd, TK_EV_READ, on_ctl, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->ctls;
		s->ctls = c;
		s->nctl++;
	}
}

/* ---- set-up ---------------------------------------------------------- */

#define ERR(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

static int
open_sock(struct tk_server *s, int fam, const void *host, bool udp, uint16_t port,
    char *err, size_t errlen)
{
	struct lsock *ls = &s->ls[s->nls];
	int one = 1;
	int fd = socket(fam, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&ls->addr, 0, sizeof(ls->addr));
	if (fam == AF_INET6) {
		ls->addr.in6.sin6_family = AF_INET6;
		ls->addr.in6.sin6_port = htons(port);
		memcpy(&ls->addr.in6.sin6_addr, host, 16);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		ls->addr.in.sin_family = AF_INET;
		ls->addr.in.sin_port = htons(port);
		memcpy(&ls->addr.in.sin_addr, host, 4);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (udp)	/* the kernel's drops are counted too (udp_drops) */
		setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	if (s->o.reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, &ls->addr.sa, sa_len(&ls->addr)) != 0 ||
	    (!udp && listen(fd, 1024) != 0)) {
		int e = errno;
		char a[64];
		fmt_addr(&ls->addr, a, sizeof(a));
		snprintf(err, errlen, "%s %s: %s", udp ? "udp" : "tcp", a, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	socklen_t al = sizeof(ls->addr);
	getsockname(fd, &ls->addr.sa, &al);
	ls->fd = fd;
	ls->udp = udp;
	ls->srv = s;
	s->nls++;
	return 0;
}

static void
close_listeners(struct tk_server *s)
{
	for (int i = 0; i < s->nls; i++) {
		if (s->ls[i].fd >= 0) {
			if (s->loop)
				tk_loop_del(s->loop, s->ls[i].fd);
			close(s->ls[i].fd);
			s->ls[i].fd = -1;
		}
	}
}

static int
open_listeners(struct tk_server *s, char *err, size_t errlen)
{
	struct { int fam; uint8_t a[16]; } hosts[2];
	int nh = 0;

	if (s->o.bind != NULL) {
		uint8_t a[16];
		if (inet_pton(AF_INET, s->o.bind, a) == 1 && s->o.family != AF_INET6) {
			hosts[0].fam = AF_INET;
			memcpy(hosts[0].a, a, 4);
		} else if (inet_pton(AF_INET6, s->o.bind, a) == 1 && s->o.family != AF_INET) {
			hosts[0].fam = AF_INET6;
			memcpy(hosts[0].a, a, 16);
		} else {
			snprintf(err, errlen, "bind address %s: not a numeric %saddress",
			    s->o.bind, s->o.family == AF_INET ? "IPv4 " :
			    s->o.family == AF_INET6 ? "IPv6 " : "");
			return -1;
		}
		nh = 1;
	} else {
		if (s->o.family != AF_INET6) {
			hosts[nh].fam = AF_INET;
			memset(hosts[nh].a, 0, 16);
			nh++;
		}
		if (s->o.family != AF_INET) {
			hosts[nh].fam = AF_INET6;
			memcpy(hosts[nh].a, &in6addr_any, 16);
			nh++;
		}
	}
	for (int attempt = 0; attempt < 32; attempt++) {
		uint16_t port = s->o.port;
		bool retry = false;
		s->nls = 0;
		for (int pass = 0; pass < 2 && !retry; pass++) {
			for (int h = 0; h < nh; h++) {
				if (open_sock(s, hosts[h].fam, hosts[h].a, pass == 1, port,
				    err, errlen) != 0) {
					if (hosts[h].fam == AF_INET6 && s->o.bind == NULL &&
					    s->o.family == AF_UNSPEC &&
					    (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
						continue;	/* no IPv6 here */
					}
					if (s->o.port == 0 && errno == EADDRINUSE && s->nls > 0) {
						retry = true;
						break;
					}
					close_listeners(s);
					return -1;
				}
				if (port == 0) {
					struct lsock *ls = &s->ls[s->nls - 1];
					port = ntohs(ls->addr.sa.sa_family == AF_INET6 ?
					    ls->addr.in6.sin6_port : ls->addr.in.sin_port);
				}
			}
		}
		if (!retry) {
			if (s->nls == 0) {
				snprintf(err, errlen, "no address to listen on");
				return -1;
			}
			s->port = port;
			return 0;
		}
		close_listeners(s);
	}
	snprintf(err, errlen, "could not find a port free for both TCP and UDP");
	return -1;
}

static int
open_ctl(struct tk_server *s, char *err, size_t errlen)
{
	struct sockaddr_un un;
	struct stat st;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	if (strlen(s->o.ctl_path) >= sizeof(un.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", s->o.ctl_path);
		return -1;
	}
	memcpy(un.sun_path, s->o.ctl_path, strlen(s->o.ctl_path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (lstat(s->o.ctl_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s: exists and is not a socket", s->o.ctl_path);
			close(fd);
			return -1;
		}
		int t = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (t >= 0 && connect(t, (struct sockaddr *)&un, sizeof(un)) == 0) {
			close(t);
			close(fd);
			snprintf(err, errlen, "%s: another tk-listen is using it", s->o.ctl_path);
			return -1;
		}
		if (t >= 0)
			close(t);
		unlink(s->o.ctl_path);	/* stale */
	}
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
	umask(old);
	if (rc != 0 || listen(fd, 64) != 0) {
		snprintf(err, errlen, "%s: %s", s->o.ctl_path, strerror(errno));
		close(fd);
		return -1;
	}
	if (s->o.ctl_group && (chown(s->o.ctl_path, (uid_t)-1, s->o.ctl_gid) != 0 ||
	    chmod(s->o.ctl_path, 0660) != 0)) {
		snprintf(err, errlen, "%s: group: %s", s->o.ctl_path, strerror(errno));
		unlink(s->o.ctl_path);
		close(fd);
		return -1;
	}
	s->ctl_fd = fd;
	memcpy(s->ctl_path, s->o.ctl_path, strlen(s->o.ctl_path) + 1);
	return 0;
}

struct tk_server *
tk_server_new(const struct tk_server_opts *o, char *err, size_t errlen)
{
	struct tk_server *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = *o;
	s->ctl_fd = -1;
	if (s->o.out_max < 4096)
		s->o.out_max = 4096;
	if (s->o.max_conns == 0)
		s->o.max_conns = 1;
	s->high = s->o.out_max / 4 * 3;
	s->low = s->o.out_max / 2;
	tk_cmdq_init(&s->q, TK_CTL_QUEUE_MAX);
	tk_pool_init(&s->sessions, sizeof(struct sess), SESS_SLAB);
	s->rbuf = malloc(RBUF_SIZE);
	s->udph = calloc(UDP_BUCKETS, sizeof(*s->udph));
	s->peers = calloc(PEER_BUCKETS, sizeof(*s->peers));
	if (s->o.reg_max == 0)
		s->o.reg_max = (size_t)s->o.max_conns * 4 < 1024 ? 1024 :
		    (size_t)s->o.max_conns * 4;
	if (s->o.reg_ttl_s == 0)
		s->o.reg_ttl_s = TK_REG_TTL_DEFAULT;
	if (s->o.takeover_s == 0)
		s->o.takeover_s = TK_TAKEOVER_DEFAULT;
	s->takeover_ms = s->o.takeover_s < 0 ? -1 : (int64_t)s->o.takeover_s * 1000;
	if (s->o.login_s == 0)
		s->o.login_s = TK_LOGIN_DEFAULT;
	s->login_ms = s->o.login_s < 0 ? 0 : (int64_t)s->o.login_s * 1000;
	s->reg = tk_reg_new(s->o.reg_max);
	s->loop = tk_loop_new();
	if (s->rbuf == NULL || s->udph == NULL || s->peers == NULL || s->reg == NULL ||
	    s->loop == NULL)
		ERR("out of memory");
	for (int i = 0; i < MAX_LISTEN; i++)
		s->ls[i].fd = -1;
	if (open_listeners(s, err, errlen) != 0)
		goto fail;
	for (int i = 0; i < s->nls; i++)
		if (tk_loop_add(s->loop, s->ls[i].fd, TK_EV_READ,
		    s->ls[i].udp ? on_udp : on_accept, &s->ls[i]) != 0)
			ERR("epoll: %s", strerror(errno));
	if (s->o.ctl_path != NULL) {
		if (open_ctl(s, err, errlen) != 0)
			goto fail;
		if (tk_loop_add(s->loop, s->ctl_fd, TK_EV_READ, on_ctl_accept, s) != 0)
			ERR("epoll: %s", strerror(errno));
	}
	/* the output: a descriptor unless the caller brings its own sink */
	if (s->o.make_sink != NULL)
		s->sink = s->o.make_sink(s->o.sink_arg, s->loop, err, errlen);
	else if ((s->sink = tk_sink_fd_new(s->loop, s->o.out_fd, s->o.out_max)) == NULL)
		snprintf(err, errlen, "out of memory");
	if (s->sink == NULL)
		goto fail;
	struct tk_sink_cb cb = {on_delivered, on_drained, s};
	tk_sink_set_cb(s->sink, &cb);
	s->now = s->last_tick = tk_mono_ms();
	return s;
fail:
	tk_server_free(s);
	return NULL;
}

void
tk_server_describe(const struct tk_server *s, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < s->nls; i++) {
			if (s->ls[i].udp != (pass == 1) || o >= cap)
				continue;
			char a[64];
			fmt_addr(&s->ls[i].addr, a, sizeof(a));
			int n = snprintf(out + o, cap - o, "%s%s %s", o ? ", " : "",
			    pass ? "udp" : "tcp", a);
			if (n > 0)
				o += (size_t)n;
		}
}

uint16_t
tk_server_port(const struct tk_server *s)
{
	return s->port;
}

/* "<what>: <n> <event> (<total> in total<more>)" when the count moved. */
static void
report1(struct tk_server *s, uint64_t total, uint64_t *reported, const char *what,
    const char *event, const char *more)
{
	if (total == *reported)
		return;
	logf_(s, TK_LOG_WARN, "%s: %llu %s (%llu in total%s)", what,
	    (unsigned long long)(total - *reported), event, (unsigned long long)total, more);
	*reported = total;
}

/* Warnings that are summed up once a second (and at shutdown). */
static void
report(struct tk_server *s)
{
	report1(s, s->st.id_conflicts, &s->conflicts_reported, "identity",
	    "session(s) claimed the id of a live session: kept apart",
	    "; see tk-listen(1) SECURITY CONSIDERATIONS");
	report1(s, s->st.udp_drops - s->st.udp_kernel_drops, &s->drops_reported, "udp",
	    "datagram(s) dropped: output buffer full", "");
	report1(s, s->st.udp_kernel_drops, &s->kdrops_reported, "udp",
	    "datagram(s) dropped by the kernel: receive buffer full", "");
	report1(s, s->st.devices_refused, &s->refused_reported, "devices",
	    "session(s) named an id not in --devices: refused", "");
}

/* How long a session on list l may be silent, and the reason it closes
 * with then (0: for ever). */
static int64_t
silence(const struct tk_server *s, const struct lru *l, enum reason *r)
{
	int64_t idle = (int64_t)s->o.idle_s * 1000;
	bool anon = l == &s->tcp_anon || l == &s->udp_anon;

	*r = R_IDLE;
	if (anon && s->login_ms > 0 && (idle == 0 || s->login_ms < idle)) {
		*r = R_LOGIN;
		return s->login_ms;
	}
	return idle;
}

/* Close the sessions of l silent for longer than allowed. */
static void
expire(struct tk_server *s, struct lru *l)
{
	enum reason r;
	int64_t t = silence(s, l, &r);

	while (t > 0 && l->head && l->head->last + t <= s->now) {
		if (r == R_LOGIN)
			s->st.login_timeouts++;
		sess_close(l->head, r);
	}
}

/* When the first session of l is due to be closed (INT64_MAX: none). */
static int64_t
expiry(const struct tk_server *s, const struct lru *l)
{
	enum reason r;
	int64_t t = silence(s, l, &r);
	return t > 0 && l->head ? l->head->last + t : INT64_MAX;
}

static void
timers(struct tk_server *s)
{
	/* TCP sessions held back by a full output are not silent */
	if (!s->paused) {
		expire(s, &s->tcp);
		expire(s, &s->tcp_anon);
	}
	expire(s, &s->udp);
	expire(s, &s->udp_anon);
	if (s->backoff_until && s->now >= s->backoff_until) {
		s->backoff_until = 0;
		resume_accept(s, true);
	}
	if (s->now - s->last_tick >= 1000) {
		s->last_tick = s->now;
		s->st.commands_expired += tk_cmdq_expire(&s->q, tk_wall_ms());
		s->st.devices_expired += tk_reg_expire(s->reg,
		    s->now - (int64_t)s->o.reg_ttl_s * 1000);
		report(s);
	}
}

static int
next_timeout(const struct tk_server *s, int max)
{
	int64_t t = s->last_tick + 1000 - s->now;
	const struct lru *ls[4] = {&s->udp, &s->udp_anon, &s->tcp, &s->tcp_anon};
	for (int i = 0; i < (s->paused ? 2 : 4); i++) {
		int64_t e = expiry(s, ls[i]);
		if (e != INT64_MAX && e - s->now < t)
			t = e - s->now;
	}
	if (s->backoff_until && s->backoff_until - s->now < t)
		t = s->backoff_until - s->now;
	if (t < 0)
		t = 0;
	if (max >= 0 && t > max)
		t = max;
	return (int)t;
}

int
tk_server_run(struct tk_server *s, int timeout_ms)
{
	s->now = tk_mono_ms();
	if (tk_loop_once(s->loop, next_timeout(s, timeout_ms)) < 0) {
		s->fatal = errno;
	}
	s->now = tk_mono_ms();
	reap_all(s);
	timers(s);
	if (s->fatal == 0)
		out_flush(s);
	if (s->fatal) {
		errno = s->fatal;
		return -1;
	}
	return 0;
}

/* Room in the output for more, waiting until the deadline at most. */
static bool
shutdown_room(struct tk_server *s, int64_t until)
{
	for (;;) {
		if (out_flush(s) != 0)
			return false;
		if (out_used(s) < s->o.out_max)
			return true;
		int64_t left = until - tk_mono_ms();
		if (left <= 0 || tk_sink_wait(s->sink, left > 100 ? 100 : (int)left) != 0)
			return false;
	}
}

/*
 * Stopping: what the sockets still hold is read and written, for at most
 * SHUTDOWN_GRACE_MS and within the output buffer's size: the datagrams
 * the kernel queued, then each connection's bytes (drain()).  Connections
 * not read to the end are counted (shutdown_undrained).
 */
static void
shutdown_drain(struct tk_server *s)
{
	int64_t until = tk_mono_ms() + SHUTDOWN_GRACE_MS;
	bool room = true;
	struct sess *x;

	s->now = tk_mono_ms();
	for (int i = 0; i < s->nls && room; i++)
		if (s->ls[i].udp && s->ls[i].fd >= 0)
			while ((room = shutdown_room(s, until)) && udp_read(s, &s->ls[i], 64) > 0)
				;
	close_listeners(s);
	/* each connection is closed once read: draining one may move it to
	 * another list, or close another (a take-over) */
	for (int k = 0; k < 2; k++) {
		struct lru *l = k ? &s->tcp_anon : &s->tcp;
		while ((x = l->head) != NULL) {
			if (room && !x->closing && !(room = shutdown_room(s, until)))
				logf_(s, TK_LOG_WARN, "stopping: the output did not drain within "
				    "%d ms: connections closed without reading what they hold",
				    SHUTDOWN_GRACE_MS);
			if (room)
				drain(x);
			else if (!x->closing)
				s->st.shutdown_undrained++;
			sess_close(x, x->closing ? (enum reason)x->closing : R_SHUTDOWN);
		}
	}
}

void
tk_server_shutdown(struct tk_server *s)
{
	s->stopping = true;
	if (s->ctl_fd >= 0) {
		tk_loop_del(s->loop, s->ctl_fd);
		close(s->ctl_fd);
		s->ctl_fd = -1;
		unlink(s->ctl_path);
	}
	while (s->ctls != NULL) {
		ctl_flush(s->ctls);
		ctl_free(s->ctls);
	}
	reap_all(s);
	shutdown_drain(s);
	reap_all(s);
	for (int k = 0; k < 2; k++) {
		struct lru *l = k ? &s->udp_anon : &s->udp;
		while (l->head != NULL)
			sess_close(l->head, R_SHUTDOWN);
	}
	report(s);
}

int
tk_server_flush(struct tk_server *s, int timeout_ms)
{
	if (s->fatal) {
		errno = s->fatal;
		return -1;
	}
	if (out_flush(s) != 0) {
		errno = s->fatal;
		return -1;
	}
	if (out_used(s) == 0)
		return 0;
	if (tk_sink_wait(s->sink, timeout_ms) != 0) {
		if (s->fatal == 0)
			s->fatal = errno;
		errno = s->fatal;
		return -1;
	}
	return out_used(s) ? 1 : 0;
}

uint64_t
tk_server_undelivered(const struct tk_server *s)
{
	return tk_sink_undelivered(s->sink) + s->sink->lines_lost;
}

int
tk_server_request(struct tk_server *s, const char *line, size_t n, struct tk_buf *out)
{
	struct ctl c;

	memset(&c, 0, sizeof(c));
	c.srv = s;
	c.fd = -1;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	ctl_request(&c, line, n);
	int rc = c.closing && c.out.len == 0 ? -1 : 0;	/* closing: out of memory */
	if (rc == 0)
		rc = tk_buf_add(out, c.out.p, c.out.len);
	free(c.out.p);
	return rc;
}

int
tk_server_queue(struct tk_server *s, uint64_t qid, const char *id, int64_t expires,
    const uint8_t *p, size_t n)
{
	if (!id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	if (tk_cmdq_put(&s->q, qid, id, expires, p, n) == 0)
		return -1;
	s->q.tail->ext = true;
	s->st.commands_queued++;
	struct sess *x = live(tk_reg_find(s->reg, id));
	if (x != NULL) {
		deliver_queued(x);
		reap_all(s);
	}
	return 0;
}

int
tk_server_unqueue(struct tk_server *s, uint64_t qid)
{
	return tk_cmdq_cancel(&s->q, qid);
}

int
tk_server_kick(struct tk_server *s, const char *id)
{
	struct tk_dev *d = tk_reg_find(s->reg, id);
	struct sess *x = live(d);

	if (x == NULL)
		return 0;
	logf_(s, TK_LOG_INFO, "device %s: now on another instance: closing #%llu", id,
	    (unsigned long long)x->no);
	if (x->udp)
		sess_close(x, R_REPLACED);
	else
		sess_mark(x, R_REPLACED);
	reap_all(s);
	return 1;
}

void
tk_server_set_devices(struct tk_server *s, struct tk_idset *set)
{
	char w[128];

	tk_idset_free(s->devices);
	s->devices = set;
	if (set == NULL)
		return;
	s->now = tk_mono_ms();
	/* sessions holding or claiming an id the list no longer names */
	for (int k = 0; k < 4; k++) {
		struct lru *l = k == 0 ? &s->tcp : k == 1 ? &s->tcp_anon : k == 2 ? &s->udp :
		    &s->udp_anon;
		for (struct sess *x = l->head, *nx; x != NULL; x = nx) {
			nx = x->next;
			if (x->dev == NULL || x->closing || tk_idset_has(set, x->dev->id))
				continue;
			s->st.devices_refused++;
			logf_(s, TK_LOG_INFO, "%s: no longer in --devices: closing",
			    who(x, w, sizeof(w)));
			if (x->udp)
				sess_close(x, R_UNKNOWN_DEV);
			else
				sess_mark(x, R_UNKNOWN_DEV);
		}
	}
	reap_all(s);
}

static size_t
held_count(const struct tk_server *s)
{
	size_t k = 0;
	for (const struct held *h = s->held; h != NULL; h = h->next)
		k++;
	return k;
}

int
tk_server_stats(const struct tk_server *s, struct tk_buf *b, const char *prefix)
{
	const struct stats *t = &s->st;
	size_t online = 0;
	int rc = 0;
	char name[64];

	for (struct tk_dev *d = NULL; (d = tk_reg_next(s->reg, d)) != NULL;)
		online += d->sess != NULL;
#define S(n, v) rc |= tk_stat_line(b, prefix, n, (uint64_t)(v))
	S("connections_open", s->tcp.n + s->tcp_anon.n);
	S("connections_unidentified", s->tcp_anon.n);
	S("connections_total", t->conns_total);
	S("connections_refused", t->conns_refused);
	S("connections_evicted", t->conns_evicted);
	S("login_timeouts", t->login_timeouts);
	S("udp_peers_open", s->udp.n + s->udp_anon.n);
	S("udp_peers_unidentified", s->udp_anon.n);
	S("udp_peers_total", t->udp_sessions_total);
	S("udp_peers_refused", t->udp_refused);
	S("udp_datagrams", t->udp_datagrams);
	S("udp_drops", t->udp_drops);
	S("udp_drops_kernel", t->udp_kernel_drops);
	S("devices_known", tk_reg_count(s->reg));
	S("devices_online", online);
	S("devices_max", s->o.reg_max);
	S("devices_bytes", tk_reg_bytes(s->reg));
	S("sessions_bytes", tk_pool_bytes(&s->sessions));
	S("devices_expired", t->devices_expired);
	S("devices_evicted", tk_reg_evicted(s->reg));
	S("devices_unregistered", t->devices_unregistered);
	S("devices_allowed", tk_idset_count(s->devices));
	S("devices_refused", t->devices_refused);
	S("refused_frames", t->refused_frames);
	S("identity_conflicts", t->id_conflicts);
	S("identity_takeovers", t->id_takeovers);
	S("conflict_frames", t->conflict_frames);
	S("frames_total", t->frames_total);
	for (int d = 0; d < TK_D__COUNT; d++) {
		snprintf(name, sizeof(name), "frames_%s", tk_dialect_name((enum tk_dialect)d));
		S(name, t->frames[d]);
	}
	for (int d = 0; d < TK_D__COUNT; d++) {
		snprintf(name, sizeof(name), "bytes_%s", tk_dialect_name((enum tk_dialect)d));
		S(name, t->fbytes[d]);
	}
	S("bytes_in", t->bytes_in);
	S("junk_bytes", t->junk_bytes);
	S("replies_sent", t->replies_sent);
	if (tk_sink_durable(s->sink)) {
		S("replies_held", t->replies_held);
		S("replies_waiting", held_count(s));
		S("replies_dropped", t->replies_dropped);
	}
	S("protocol_errors", t->protocol_errors);
	S("send_errors", t->send_errors);
	S("commands_sent", t->commands_sent);
	S("commands_queued", t->commands_queued);
	S("commands_pending", s->q.n);
	S("commands_expired", t->commands_expired);
	S("accept_backoffs", t->accept_backoffs);
	S("shutdown_undrained", t->shutdown_undrained);
	S("out_buffer_used", out_used(s));
	S("out_buffer_highwater", t->out_high);
	S("out_buffer_size", s->o.out_max);
	S("output_paused", s->paused);
#undef S
	rc |= tk_sink_stats(s->sink, b, prefix);
	if (s->o.more_stats != NULL)
		rc |= s->o.more_stats(s->o.dev_arg, b, prefix);
	return rc ? -1 : 0;
}

void
tk_server_free(struct tk_server *s)
{
	if (s == NULL)
		return;
	while (s->ctls != NULL)
		ctl_free(s->ctls);
	for (int k = 0; k < 2; k++) {
		struct lru *l = k ? &s->tcp_anon : &s->tcp;
		while (l->head != NULL) {
			struct sess *x = l->head;
			lru_unlink(l, x);
			if (s->loop)
				tk_loop_del(s->loop, x->fd);
			close(x->fd);
			sess_free(x);
		}
		l = k ? &s->udp_anon : &s->udp;
		while (l->head != NULL) {
			struct sess *x = l->head;
			lru_unlink(l, x);
			sess_free(x);
		}
	}
	close_listeners(s);
	if (s->ctl_fd >= 0) {
		close(s->ctl_fd);
		unlink(s->ctl_path);
	}
	tk_sink_free(s->sink);
	while (s->held != NULL) {
		struct held *h = s->held;
		s->held = h->next;
		free(h);
	}
	tk_loop_free(s->loop);
	if (s->peers)
		for (size_t i = 0; i < PEER_BUCKETS; i++) {
			struct peercnt *p = s->peers[i], *nx;
			for (; p; p = nx) {
				nx = p->next;
				free(p);
			}
		}
	free(s->peers);
	free(s->udph);
	tk_reg_free(s->reg);
	tk_idset_free(s->devices);
	tk_cmdq_free(&s->q);
	free(s->rbuf);
	free(s->dbuf);
	tk_pool_fini(&s->sessions);
	free(s);
}
