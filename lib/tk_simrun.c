/*
 * tk_simrun.c: tk-sim's engine (see tk_simrun.h).  The frames, expected
 * replies and command answers are tk_sim.c's; this file holds the
 * schedule (a min-heap of per-device deadlines), the device state machine,
 * the sockets over the tk_loop seam, the file (corpus) mode, and the
 * counters and latency samples.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>

#include "tk_frameline.h"
#include "tk_loop.h"
#include "tk_record.h"
#include "tk_simrun.h"
#include "tk_util.h"

static const char *const mis_names[TK_SIMRUN__MIS] = {
	"none", "idle", "slow", "oversize", "random", "flood", "impersonate", "trickle",
	"halfframe"
};

enum dstate { S_IDLE = 0, S_CONNECTING, S_UP };

#define QMAX		4	/* replies awaited per device */
#define EXP_MAX		40
#define RX_MAX		192
#define TX_CAP		65536	/* pending output per device before frames are dropped */
#define LAT_CAP		(1u << 22)
#define OVERSIZE_TOTAL	(1u << 20)
#define SLOW_STEP_US	50000
#define TRICKLE_STEP_US	1000000
#define FILE_T0_MS	1767225600000LL	/* 2026-01-01T00:00:00Z */
#define FILE_BUF	(1u << 20)
#define FILE_BATCH	4096	/* heap events per step in file mode */
/* Replies older than this are given up as missing. */
#define REPLY_TIMEOUT_US	5000000

struct exp {
	int64_t	 sent_us;
	uint8_t	 len;
	bool	 login;
	uint8_t	 b[EXP_MAX];
};

struct dev {
	struct tk_sim_dev sd;
	struct tk_simrun *s;
	int	 fd;
	uint32_t hpos;		/* index in the heap */
	int64_t	 due;		/* next action: mono us (live) or virtual ms (file) */
	int64_t	 hb_due;
	int64_t	 up_until;	/* reconnect at, or 0 */
	float	 clat, clon, rad, speed, phase;
	float	 alt;
	float	 iv;		/* per-device interval set by a command, or 0 */
	uint16_t src;
	uint8_t	 srv;		/* the server it uses now */
	uint8_t	 state, nexp, rxlen, sats;
	bool	 ever_up;
	bool	 shut;		/* stopping: writing shut down, awaiting the server's close */
	bool	 await_login;	/* logged in, no answer yet: nothing else goes out */
	uint32_t txoff, txlen, txcap;
	uint8_t	*tx;		/* pending output, allocated only when needed */
	uint32_t mis_sent;
	struct exp exp[QMAX];
	uint8_t	 rx[RX_MAX];
};

struct lat {
	uint32_t *v;
	size_t	 n, cap;
	uint64_t seen;
};

struct tk_simrun {
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	struct dev *devs;
	uint32_t *heap;
	size_t	 heapn;
	struct tk_loop *loop;
	struct {
		struct sockaddr_storage a;
		socklen_t len;
	}	 srv[TK_SIMRUN_SERVERS_MAX];
	size_t	 nsrv;
	uint64_t rng;
	struct lat login_lat, reply_lat;
	volatile sig_atomic_t stop;	/* tk_simrun_stop() calls, up to 2 */
	bool	 started, stopping, done;
	int64_t	 start_us, end_us;	/* wall of the run, for elapsed_s */
	int64_t	 t0_us, run_end_us, stop_at;
	long	 inflight;
	uint64_t last_frames;		/* the -N stall watch */
	int64_t	 last_progress;
	bool	 said_socket, said_bind;
	/* file mode */
	int64_t	 f_iv, f_hb, f_end;
	struct tk_buf out;
	int	 out_err;
};

/* ---- small helpers ---------------------------------------------------- */

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void say(struct tk_simrun *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct tk_simrun *s, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	if (s->o.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_arg, m);
}

const char *
tk_simrun_mis_name(enum tk_simrun_mis m)
{
	return (unsigned)m < TK_SIMRUN__MIS ? mis_names[m] : "?";
}

int
tk_simrun_mis_parse(const char *name, enum tk_simrun_mis *m)
{
	if (strcmp(name, "idle-unidentified") == 0)
		name = "idle";
	for (unsigned i = 1; i < TK_SIMRUN__MIS; i++)
		if (strcmp(name, mis_names[i]) == 0) {
			*m = (enum tk_simrun_mis)i;
			return 0;
		}
	return -1;
}

void
tk_simrun_opts_default(struct tk_simrun_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->dialect = TK_D_TK103;
	o->ndev = 1;
	o->host = "127.0.0.1";
	o->out_fd = -1;
	o->interval = 10;
	o->heartbeat = 60;
	o->grace = 2;
	o->speed = 40;
	o->ramp = 5000;
	o->seed = 1;
	o->start_lat = 52.52;
	o->start_lon = 13.405;
}

static void
lat_add(struct tk_simrun *s, struct lat *l, int64_t us)
{
	uint32_t v = us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	l->seen++;
	if (l->n < l->cap) {
		l->v[l->n++] = v;
		return;
	}
	if (l->cap == 0) {
		/* grow lazily; stay under LAT_CAP samples (reservoir beyond) */
		l->v = calloc(LAT_CAP, sizeof(uint32_t));
		if (l->v == NULL)
			return;
		l->cap = LAT_CAP;
		l->v[l->n++] = v;
		return;
	}
	uint64_t k = tk_sim_rand(&s->rng) % l->seen;
	if (k < l->cap)
		l->v[k] = v;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t
lat_pct(const struct lat *l, double p)
{
	if (l->n == 0)
		return 0;
	size_t i = (size_t)ceil(p / 100.0 * (double)l->n);
	return l->v[i == 0 ? 0 : i - 1];
}

static void
lat_summary(struct lat *l, struct tk_simrun_lat *out)
{
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(uint32_t), cmp_u32);
	out->n = l->n;
	out->p50 = lat_pct(l, 50);
	out->p99 = lat_pct(l, 99);
	out->max = lat_pct(l, 100);
}

/* ---- the schedule: a binary min-heap of device indices by due ----------- */

static void
hswap(struct tk_simrun *s, size_t a, size_t b)
{
	uint32_t t = s->heap[a];
	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->devs[s->heap[a]].hpos = (uint32_t)a;
	s->devs[s->heap[b]].hpos = (uint32_t)b;
}

static void
hup(struct tk_simrun *s, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (s->devs[s->heap[p]].due <= s->devs[s->heap[i]].due)
			break;
		hswap(s, i, p);
		i = p;
	}
}

static void
hdown(struct tk_simrun *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->heapn && s->devs[s->heap[l]].due < s->devs[s->heap[m]].due)
			m = l;
		if (r < s->heapn && s->devs[s->heap[r]].due < s->devs[s->heap[m]].due)
			m = r;
		if (m == i)
			break;
		hswap(s, i, m);
		i = m;
	}
}

static void
hpush(struct tk_simrun *s, uint32_t d)
{
	s->heap[s->heapn] = d;
	s->devs[d].hpos = (uint32_t)s->heapn;
	s->heapn++;
	hup(s, s->heapn - 1);
}

static uint32_t
hpop(struct tk_simrun *s)
{
	uint32_t d = s->heap[0];
	s->heapn--;
	if (s->heapn > 0) {
		s->heap[0] = s->heap[s->heapn];
		s->devs[s->heap[0]].hpos = 0;
		hdown(s, 0);
	}
	s->devs[d].hpos = UINT32_MAX;
	return d;
}

static void
schedule(struct dev *d, int64_t due)
{
	struct tk_simrun *s = d->s;
	d->due = due;
	if (d->hpos == UINT32_MAX)
		hpush(s, (uint32_t)(d - s->devs));
	else {
		hup(s, d->hpos);
		hdown(s, d->hpos);
	}
}

/* ---- positions ---------------------------------------------------------- */

static void
position(const struct dev *d, int64_t t_ms, double elapsed_s, struct tk_sim_pos *p)
{
	const struct tk_sim_route *route = d->s->o.route;
	memset(p, 0, sizeof(*p));
	p->time_ms = t_ms;
	double dist = d->phase + d->speed * elapsed_s;
	if (route != NULL) {
		tk_sim_route_at(route, dist, &p->lat, &p->lon, &p->course);
	} else {
		double a = dist / d->rad;
		double dlat = d->rad / 6371008.8 * (180.0 / M_PI);
		double dlon = dlat / cos(d->clat * M_PI / 180.0);
		p->lat = d->clat + dlat * sin(a);
		p->lon = d->clon + dlon * cos(a);
		if (p->lon > 180)
			p->lon -= 360;
		else if (p->lon < -180)
			p->lon += 360;
		double c = atan2(-sin(a), cos(a)) * 180.0 / M_PI;
		p->course = c < 0 ? c + 360 : c;
		if (p->course >= 360)
			p->course = 0;
	}
	p->speed_kmh = d->speed * 3.6;
	p->alt = d->alt;
	p->sats = d->sats;
	p->valid = true;
}

/* A live device's position now. */
static void
position_now(const struct dev *d, int64_t now, struct tk_sim_pos *p)
{
	position(d, tk_wall_ms(), (double)(now - d->s->t0_us) / 1e6, p);
}

static void
dev_setup(struct tk_simrun *s, uint32_t i)
{
	struct dev *d = &s->devs[i];
	/* gt06 units use TCP only: a UDP mix leaves them out */
	static const enum tk_dialect mix[] = {TK_D_XEXUN, TK_D_TK103, TK_D_GPS103, TK_D_XEXUN2,
	    TK_D_H02, TK_D_GT06};
	size_t nmix = s->o.udp ? 5 : 6;
	enum tk_dialect dl = s->o.mix ? mix[i % nmix] : s->o.dialect;

	memset(d, 0, sizeof(*d));
	d->s = s;
	tk_sim_dev_init(&d->sd, dl, s->o.seed % 1000000 * 1000000, i);
	d->sd.tz_min = (int)(tk_sim_rand(&s->rng) % 24) * 60 - 660;	/* UTC-11 .. UTC+12 */
	d->sd.binary = s->o.h02_binary && dl == TK_D_H02;
	d->fd = -1;
	d->hpos = UINT32_MAX;
	d->speed = (float)(s->o.speed / 3.6 * (0.5 + tk_sim_rand01(&s->rng)));
	d->alt = (float)(20 + 200 * tk_sim_rand01(&s->rng));
	d->sats = (uint8_t)(5 + tk_sim_rand(&s->rng) % 8);
	if (s->o.route != NULL) {
		d->phase = (float)(tk_sim_rand01(&s->rng) * s->o.route->len);
	} else {
		/* every position within 2 km of --start (tk-sim(1)): centres
		 * at most 300 m from it north-south and east-west (424 m in
		 * all), radii 300 m to 1.5 km */
		double off = 300.0 / 111195.0;	/* degrees of latitude */
		d->clat = (float)(s->o.start_lat + (tk_sim_rand01(&s->rng) - 0.5) * 2 * off);
		d->clon = (float)(s->o.start_lon + (tk_sim_rand01(&s->rng) - 0.5) * 2 * off /
		    cos(s->o.start_lat * M_PI / 180.0));
		d->rad = (float)(300 + 1200 * tk_sim_rand01(&s->rng));
		d->phase = (float)(tk_sim_rand01(&s->rng) * 2 * M_PI * d->rad);
	}
	if (s->o.src_lo != 0)
		d->src = (uint16_t)(i % (s->o.src_hi - s->o.src_lo + 1));
}

/* The next report's kind: an alarm with probability -a. */
static enum tk_sim_kind
report_kind(struct tk_simrun *s, enum tk_sim_alarm *a)
{
	*a = (enum tk_sim_alarm)(tk_sim_rand(&s->rng) % TK_SIM_A__COUNT);
	return s->o.alarms > 0 && tk_sim_rand01(&s->rng) < s->o.alarms ? TK_SIM_ALARM :
	    TK_SIM_POSITION;
}

/* A frame of kind k went out (or was written). */
static void
count_frame(struct tk_simrun *s, enum tk_sim_kind k)
{
	s->st.frames++;
	switch (k) {
	case TK_SIM_LOGIN: s->st.logins++; break;
	case TK_SIM_HEARTBEAT: s->st.heartbeats++; break;
	case TK_SIM_ALARM: s->st.alarms++; break;
	case TK_SIM_ANSWER: s->st.answers++; break;
	default: s->st.positions++; break;
	}
}

/* A live device sent a frame (of kind k, or TK_SIM__KINDS: junk). */
static void
sent(struct dev *d, enum tk_sim_kind k)
{
	if (k == TK_SIM__KINDS)
		d->s->st.frames++;
	else
		count_frame(d->s, k);
	d->s->st.server[d->srv].frames++;
}

/* n awaited replies of device d never came. */
static void
missed(struct dev *d, uint64_t n)
{
	d->s->st.missing += n;
	d->s->st.server[d->srv].missing += n;
}

/* ---- file mode: frame lines in simulated time ----------------------------- */

static void
out_flush(struct tk_simrun *s)
{
	size_t off = 0;
	while (off < s->out.len && s->out_err == 0) {
		ssize_t w = write(s->o.out_fd, s->out.p + off, s->out.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->out_err = errno;
			break;
		}
		off += (size_t)w;
	}
	s->out.len = 0;
}

static struct tk_buf *
out_reserve(struct tk_simrun *s, size_t n)
{
	if (s->out.cap - s->out.len < n)
		out_flush(s);
	return &s->out;
}

static void
file_line(struct tk_simrun *s, struct dev *d, uint32_t i, enum tk_fkind kind, int64_t t,
    const uint8_t *f, size_t n)
{
	if (s->o.raw) {
		if (kind != TK_F_FRAME)
			return;
		struct tk_buf *b = out_reserve(s, n);
		memcpy(b->p + b->len, f, n);
		b->len += n;
		return;
	}
	struct tk_fline l;
	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.time_ms = t;
	tk_strlcpyn(l.transport, sizeof(l.transport), s->o.udp ? "udp" : "tcp", 3);
	snprintf(l.peer, sizeof(l.peer), "10.%u.%u.%u:%u", ((i + 1) >> 16) & 255,
	    ((i + 1) >> 8) & 255, (i + 1) & 255, 40000 + i % 20000);
	l.conn = (uint64_t)i + 1;
	l.dialect = d->sd.dialect;
	l.dialect_known = true;
	const char *id = tk_sim_dev_id(&d->sd);
	tk_strlcpyn(l.id, sizeof(l.id), id, strlen(id));
	if (kind == TK_F_CLOSE) {
		l.data = (const uint8_t *)"peer-closed";
		l.len = 11;
	} else {
		l.data = f;
		l.len = n;
	}
	/* 4n + 512 always holds the line: it cannot fail */
	struct tk_buf *b = out_reserve(s, 4 * n + 512);
	if (tk_fline_write(b, &l) < 0 && s->out_err == 0)
		s->out_err = EOVERFLOW;
}

static void
file_start(struct tk_simrun *s)
{
	s->f_iv = (int64_t)llround(s->o.interval * 1000);
	if (s->f_iv < 1)
		s->f_iv = 1;
	s->f_hb = (int64_t)llround(s->o.heartbeat * 1000);
	s->f_end = s->o.duration > 0 ? FILE_T0_MS + (int64_t)llround(s->o.duration * 1000) :
	    INT64_MAX;
	/* every device opens (and logs in) at a random moment of its first interval */
	for (uint32_t i = 0; i < (uint32_t)s->o.ndev; i++) {
		struct dev *d = &s->devs[i];
		d->due = FILE_T0_MS + (int64_t)(tk_sim_rand01(&s->rng) * (double)s->f_iv);
		d->hb_due = s->f_hb > 0 ? d->due + s->f_hb : INT64_MAX;
		hpush(s, i);
	}
}

/* One device's turn in simulated time. */
static void
file_turn(struct tk_simrun *s)
{
	uint8_t f[TK_SIM_FRAME_MAX];
	uint32_t i = s->heap[0];
	struct dev *d = &s->devs[i];
	int64_t t = d->due;
	struct tk_sim_pos p;
	position(d, t, (double)(t - FILE_T0_MS) / 1000.0, &p);
	enum tk_sim_kind k;
	enum tk_sim_alarm a = TK_SIM_A_SOS;
	if (!d->ever_up) {
		d->ever_up = true;
		file_line(s, d, i, TK_F_OPEN, t, NULL, 0);
		k = tk_sim_has_login(d->sd.dialect) ? TK_SIM_LOGIN : TK_SIM_POSITION;
	} else {
		if (t >= d->hb_due) {
			/* heartbeats ride along with the next report */
			d->hb_due += s->f_hb;
			size_t hn = tk_sim_frame(&d->sd, TK_SIM_HEARTBEAT, &p, a, f, sizeof(f));
			if (hn > 0) {
				file_line(s, d, i, TK_F_FRAME, t, f, hn);
				s->st.bytes += hn;
				count_frame(s, TK_SIM_HEARTBEAT);
			}
		}
		k = report_kind(s, &a);
	}
	size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
	if (n > 0) {
		file_line(s, d, i, TK_F_FRAME, t, f, n);
		s->st.bytes += n;
		count_frame(s, k);
	}
	d->due = t + s->f_iv;
	hdown(s, 0);
}

/* 1: more to do, 0: done, -1: the output failed (errno set). */
static int
file_step(struct tk_simrun *s, char *err, size_t errlen)
{
	bool more = true;
	for (int b = 0; b < FILE_BATCH; b++) {
		if (s->heapn == 0 || s->stop || s->out_err != 0 ||
		    (s->o.frames_max > 0 && s->st.frames >= s->o.frames_max) ||
		    s->devs[s->heap[0]].due >= s->f_end) {
			more = false;
			break;
		}
		file_turn(s);
	}
	if (!more && s->out_err == 0) {
		if (!s->o.raw)
			for (uint32_t i = 0; i < (uint32_t)s->o.ndev; i++)
				if (s->devs[i].ever_up) {
					int64_t t = s->f_end != INT64_MAX ? s->f_end : s->devs[i].due;
					file_line(s, &s->devs[i], i, TK_F_CLOSE, t, NULL, 0);
				}
		out_flush(s);
	}
	if (s->out_err != 0) {
		errno = s->out_err;
		tk_errf(err, errlen, "write: %s", strerror(s->out_err));
		return -1;
	}
	return more ? 1 : 0;
}

/* ---- live mode ------------------------------------------------------------- */

static void dev_io(struct tk_loop *, int, unsigned, void *);

/* The device's connection failed or was lost: with a backup server, the
 * next connection goes to the next server of the list. */
static void
next_server(struct dev *d)
{
	if (d->s->nsrv > 1)
		d->srv = (uint8_t)((d->srv + 1) % d->s->nsrv);
}

static void
exp_shift(struct dev *d)
{
	memmove(&d->exp[0], &d->exp[1], (QMAX - 1) * sizeof(d->exp[0]));
	d->nexp--;
}

static void
exp_push(struct dev *d, int64_t now, const uint8_t *e, size_t en, bool login)
{
	struct exp *x = &d->exp[d->nexp++];
	d->s->st.due++;
	x->sent_us = now;
	x->len = (uint8_t)en;
	x->login = login;
	memcpy(x->b, e, en);
}

static void
dev_close(struct dev *d, bool peer)
{
	struct tk_simrun *s = d->s;
	if (d->fd >= 0) {
		tk_loop_del(s->loop, d->fd);
		if (s->o.mis == TK_SIMRUN_FLOOD) {
			struct linger lg = {1, 0};	/* no TIME_WAIT pile-up */
			setsockopt(d->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(d->fd);
		d->fd = -1;
	}
	if (d->state == S_CONNECTING)
		s->inflight--;
	if (d->state == S_UP) {
		s->st.up--;
		s->st.disconnects++;
		if (peer) {
			s->st.closed_by_peer++;
			s->st.server[d->srv].closed_by_peer++;
		}
	}
	/* replies still awaited are missing */
	missed(d, d->nexp);
	d->nexp = 0;
	d->await_login = false;
	d->shut = false;
	if (peer)
		next_server(d);
	d->rxlen = 0;
	free(d->tx);
	d->tx = NULL;
	d->txoff = d->txlen = d->txcap = 0;
	d->state = S_IDLE;
}

/* The connection failed or was lost: close and try again in a second. */
static void
dev_retry(struct dev *d, int64_t now, bool peer)
{
	dev_close(d, peer);
	schedule(d, d->s->stopping ? INT64_MAX / 2 : now + 1000000);
}

static void
count_connect_failed(struct dev *d)
{
	d->s->st.connect_failed++;
	d->s->st.server[d->srv].connect_failed++;
}

/* The server refused or never answered the connection: try again in a
 * second (the next server, with a backup). */
static void
dev_connect_failed(struct dev *d, int64_t now)
{
	dev_close(d, false);
	count_connect_failed(d);
	next_server(d);
	schedule(d, now + 1000000);
}

static void
want_write(struct dev *d, bool on)
{
	if (d->fd >= 0)
		tk_loop_mod(d->s->loop, d->fd, TK_EV_READ | (on ? TK_EV_WRITE : 0));
}

/* Write bytes now, keep what does not go out.  false: the connection died. */
static bool
dev_send(struct dev *d, const uint8_t *b, size_t n)
{
	struct tk_simrun *s = d->s;
	bool udp = s->o.udp;
	size_t off = 0;
	if (d->txlen == 0) {
		while (off < n) {
			ssize_t w = send(d->fd, b + off, n - off, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (udp && errno == ECONNREFUSED && s->nsrv == 1)
					return true;	/* nobody listening (yet): keep going */
				return false;
			}
			off += (size_t)w;
			if (udp)
				break;
		}
		if (off == n || udp) {
			s->st.bytes += n;
			return true;
		}
	}
	/* queue the rest: a buffer that grows to TX_CAP, then frames are dropped */
	size_t rest = n - off;
	size_t pending = d->txlen - d->txoff;
	if (pending + rest > TX_CAP) {
		s->st.dropped++;
		return true;
	}
	if (d->txoff > 0) {
		memmove(d->tx, d->tx + d->txoff, pending);
		d->txlen = (uint32_t)pending;
		d->txoff = 0;
	}
	if (d->txlen + rest > d->txcap) {
		size_t nc = d->txcap ? d->txcap : 1024;
		while (nc < d->txlen + rest)
			nc *= 2;
		uint8_t *nt = realloc(d->tx, nc);
		if (nt == NULL) {
			s->st.dropped++;
			return true;
		}
		d->tx = nt;
		d->txcap = (uint32_t)nc;
	}
	memcpy(d->tx + d->txlen, b + off, rest);
	d->txlen += (uint32_t)rest;
	s->st.bytes += n;
	want_write(d, true);
	return true;
}

static bool
send_frame(struct dev *d, enum tk_sim_kind k, enum tk_sim_alarm a, int64_t now)
{
	struct tk_simrun *s = d->s;
	if (s->o.frames_max > 0 && s->st.frames >= s->o.frames_max)
		return true;	/* -N is exact */
	uint8_t f[TK_SIM_FRAME_MAX];
	struct tk_sim_pos p;
	position_now(d, now, &p);
	size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
	if (n == 0)
		return true;
	uint8_t e[TK_SIM_REPLY_MAX];
	size_t en = tk_sim_expect(d->sd.dialect, f, n, e, sizeof(e));
	if (en > 0 && en <= EXP_MAX) {
		if (d->nexp == QMAX) {
			/* the oldest one never came */
			missed(d, 1);
			exp_shift(d);
		}
		exp_push(d, now, e, en, k == TK_SIM_LOGIN);
	}
	sent(d, k);
	return dev_send(d, f, n);
}

/* Length of a complete server command at the start of rx (0: incomplete). */
static size_t
command_len(const struct dev *d, const uint8_t *r, size_t n)
{
	switch (d->sd.dialect) {
	case TK_D_TK103: {
		if (r[0] != '(')
			return n;	/* junk: take it all */
		const uint8_t *c = memchr(r, ')', n);
		return c ? (size_t)(c - r) + 1 : 0;
	}
	case TK_D_GPS103: {
		/* Traccar sends no terminator: the command is the rest of the read,
		 * up to a ';' or the next "**," */
		for (size_t i = 1; i < n; i++) {
			if (r[i] == ';')
				return i + 1;
			if (i + 2 < n && r[i] == '*' && r[i + 1] == '*' && r[i + 2] == ',')
				return i;
		}
		return n;
	}
	case TK_D_XEXUN2: {
		if (n < 2 || r[0] != 0xFA || r[1] != 0xAF)
			return n < 2 ? 0 : n;
		for (size_t i = 2; i + 1 < n; i++)
			if (r[i] == 0xFA && r[i + 1] == 0xAF)
				return i + 2;
		return 0;
	}
	case TK_D_GT06:
		/* 78 78 <len> ...: len + 5 bytes (a 0x80 command) */
		if (n < 3 || r[0] != 0x78 || r[1] != 0x78)
			return n < 3 && r[0] == 0x78 ? 0 : n;
		return n >= (size_t)r[2] + 5 ? (size_t)r[2] + 5 : 0;
	case TK_D_H02: {
		if (r[0] != '*')
			return n;
		const uint8_t *c = memchr(r, '#', n);
		return c ? (size_t)(c - r) + 1 : 0;
	}
	default:
		return n;
	}
}

static bool
handle_rx(struct dev *d, int64_t now)
{
	struct tk_simrun *s = d->s;
	for (;;) {
		if (d->rxlen == 0)
			return true;
		if (d->nexp > 0) {
			struct exp *x = &d->exp[0];
			int mr = tk_sim_reply_match(d->sd.dialect, x->b, x->len, d->rx, d->rxlen,
			    tk_wall_ms());
			if (mr >= 0) {
				if (mr == 0)
					return true;	/* wait for the rest */
				if (x->login && d->await_login) {
					/* logged in: the reports may start */
					d->await_login = false;
					if (s->o.interval == 0)
						want_write(d, true);
				}
				s->st.ok++;
				s->st.server[d->srv].ok++;
				lat_add(s, x->login ? &s->login_lat : &s->reply_lat, now - x->sent_us);
				if (x->login)
					lat_add(s, &s->reply_lat, now - x->sent_us);
				memmove(d->rx, d->rx + x->len, d->rxlen - x->len);
				d->rxlen = (uint8_t)(d->rxlen - x->len);
				exp_shift(d);
				continue;
			}
		}
		size_t c = command_len(d, d->rx, d->rxlen);
		if (c == 0) {
			if (d->rxlen < RX_MAX)
				return true;
			c = d->rxlen;
		}
		struct tk_sim_effect eff;
		struct tk_sim_pos p;
		uint8_t a[TK_SIM_FRAME_MAX];
		position_now(d, now, &p);
		size_t an = tk_sim_answer(&d->sd, &p, d->rx, c, &eff, a, sizeof(a));
		if (d->sd.dialect == TK_D_TK103 && c == 19 && memcmp(d->rx + 13, "AS01", 4) == 0 &&
		    memcmp(d->rx + 1, d->sd.id, 12) == 0) {
			s->st.alarm_acks++;	/* the optional BO01 acknowledgement */
		} else if (eff.recognised) {
			s->st.commands++;
			if (an > 0 && !d->shut) {
				sent(d, TK_SIM_ANSWER);
				if (!dev_send(d, a, an))
					return false;
			}
			if (eff.interval_s > 0)
				d->iv = (float)eff.interval_s;
			if (eff.stop)
				d->iv = 86400;
		} else if (d->nexp > 0) {
			s->st.wrong++;	/* neither the awaited reply nor a command */
			s->st.server[d->srv].wrong++;
			exp_shift(d);
		} else {
			s->st.unknown_rx++;
		}
		memmove(d->rx, d->rx + c, d->rxlen - c);
		d->rxlen = (uint8_t)(d->rxlen - c);
	}
}

static void
expire_replies(struct dev *d, int64_t now)
{
	while (d->nexp > 0 && now - d->exp[0].sent_us > REPLY_TIMEOUT_US) {
		missed(d, 1);
		exp_shift(d);
	}
}

static int64_t
iv_us(const struct dev *d)
{
	return (int64_t)llround((d->iv > 0 ? d->iv : d->s->o.interval) * 1e6);
}

/* The start of a report in the device's dialect, with no end (cap >= 64). */
static size_t
opener(const struct dev *d, uint8_t *b, size_t cap)
{
	int n;
	switch (d->sd.dialect) {
	case TK_D_TK103:
		n = snprintf((char *)b, cap, "(%sBR00", d->sd.id);
		break;
	case TK_D_GPS103:
		n = snprintf((char *)b, cap, "imei:%s,tracker,", d->sd.imei);
		break;
	case TK_D_XEXUN:
		n = snprintf((char *)b, cap, "261124080000,%s,GPRMC,", d->sd.phone);
		break;
	case TK_D_H02:
		n = snprintf((char *)b, cap, "*HQ,%s,V1,", d->sd.id);
		break;
	case TK_D_GT06:
		/* a long frame declaring more than a frame may hold */
		b[0] = b[1] = 0x79;
		b[2] = b[3] = 0xFF;
		n = 4;
		break;
	default:
		b[0] = 0xFA;
		b[1] = 0xAF;
		n = 2;
		break;
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static uint8_t
filler(const struct dev *d)
{
	return d->sd.dialect == TK_D_XEXUN2 || d->sd.dialect == TK_D_GT06 ? 0x00 : 'A';
}

/* Oversize / random payloads for the misbehaving modes. */
static size_t
junk(struct dev *d, uint8_t *b, size_t cap)
{
	struct tk_simrun *s = d->s;
	size_t n = 0;
	if (s->o.mis == TK_SIMRUN_RANDOM) {
		n = 1 + tk_sim_rand(&s->rng) % (cap < 512 ? cap : 512);
		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)tk_sim_rand(&s->rng);
		return n;
	}
	/* oversize: a frame opener, then filler with no delimiter */
	if (d->mis_sent == 0)
		n = opener(d, b, cap);
	memset(b + n, filler(d), cap - n);
	return cap;
}

/* --misbehave trickle: byte k of a frame that never ends (an opener, then
 * filler with no delimiter). */
static uint8_t
trickle_byte(struct dev *d, uint32_t k)
{
	uint8_t b[64];
	size_t n = opener(d, b, sizeof(b));
	return k < n ? b[k] : filler(d);
}

static void
dev_connect(struct dev *d, int64_t now)
{
	struct tk_simrun *s = d->s;
	bool udp = s->o.udp;
	const struct sockaddr_storage *srv = &s->srv[d->srv].a;
	int fd = socket(srv->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if ((errno == EMFILE || errno == ENFILE) && !s->said_socket) {
			say(s, "socket (device %u): %s", (unsigned)(d - s->devs), strerror(errno));
			s->said_socket = true;
		}
		count_connect_failed(d);
		schedule(d, now + 1000000);
		return;
	}
	if (s->o.src_lo != 0 && srv->ss_family == AF_INET) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(s->o.src_lo + d->src);
		int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
		if (!udp)
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
		(void)one;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			if (!s->said_bind) {
				char a[INET_ADDRSTRLEN];
				int e = errno;
				inet_ntop(AF_INET, &sa.sin_addr, a, sizeof(a));
				say(s, "bind %s: %s", a, strerror(e));
				s->said_bind = true;
			}
			close(fd);
			count_connect_failed(d);
			schedule(d, now + 1000000);
			return;
		}
	}
	if (!udp) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, (const struct sockaddr *)srv, s->srv[d->srv].len) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		dev_connect_failed(d, now);
		return;
	}
	if (tk_loop_add(s->loop, fd, udp ? TK_EV_READ : TK_EV_WRITE, dev_io, d) != 0) {
		close(fd);
		count_connect_failed(d);
		schedule(d, now + 1000000);
		return;
	}
	d->fd = fd;
	d->state = S_CONNECTING;
	s->inflight++;
	if (udp) {
		/* nothing to wait for: up at once */
		dev_io(s->loop, fd, TK_EV_WRITE, d);
	} else {
		schedule(d, now + 10000000);	/* connect timeout */
	}
}

/* --misbehave slow: queue frame f (n bytes) to trickle out a byte at a time. */
static bool
slow_queue(struct dev *d, const uint8_t *f, size_t n)
{
	if (n == 0)
		return false;
	if (d->txcap < TK_SIM_FRAME_MAX) {
		uint8_t *nt = realloc(d->tx, TK_SIM_FRAME_MAX);
		if (nt == NULL)
			return false;
		d->tx = nt;
		d->txcap = TK_SIM_FRAME_MAX;
	}
	memcpy(d->tx, f, n);
	d->txoff = 0;
	d->txlen = (uint32_t)n;
	return true;
}

/* The connection is up: log in and start the schedule. */
static bool
dev_up(struct dev *d, int64_t now)
{
	struct tk_simrun *s = d->s;
	s->inflight--;
	d->state = S_UP;
	s->st.connects++;
	s->st.server[d->srv].connects++;
	s->st.up++;
	if (s->st.up > s->st.max_up)
		s->st.max_up = s->st.up;
	d->up_until = s->o.reconnect > 0 ? now + (int64_t)llround(s->o.reconnect * 1e6) : 0;
	tk_loop_mod(s->loop, d->fd, TK_EV_READ);
	switch (s->o.mis) {
	case TK_SIMRUN_IDLE:
		schedule(d, INT64_MAX / 2);
		return true;
	case TK_SIMRUN_OVERSIZE:
	case TK_SIMRUN_RANDOM:
		d->mis_sent = 0;
		schedule(d, now);
		return true;
	default:
		break;
	}
	/* xexun and h02 have no login: the first report stands in */
	enum tk_sim_kind k = tk_sim_has_login(d->sd.dialect) ? TK_SIM_LOGIN : TK_SIM_POSITION;
	if (s->o.mis == TK_SIMRUN_SLOW) {
		/* queue the login; it trickles out a byte at a time */
		uint8_t f[TK_SIM_FRAME_MAX];
		struct tk_sim_pos p;
		position_now(d, now, &p);
		size_t n = tk_sim_frame(&d->sd, k, &p, TK_SIM_A_SOS, f, sizeof(f));
		if (!slow_queue(d, f, n))
			return false;
		uint8_t e[TK_SIM_REPLY_MAX];
		size_t en = tk_sim_expect(d->sd.dialect, f, n, e, sizeof(e));
		if (en > 0 && en <= EXP_MAX) {
			d->nexp = 0;
			exp_push(d, now, e, en, true);	/* latency includes the trickle */
		}
		sent(d, k);
		schedule(d, now + SLOW_STEP_US);
		return true;
	}
	if (!send_frame(d, k, TK_SIM_A_SOS, now))
		return false;
	/* a gt06 unit sends nothing more before its login is answered */
	d->await_login = s->o.mis == TK_SIMRUN_NONE && tk_sim_login_gates(d->sd.dialect) &&
	    d->nexp > 0;
	if (s->o.mis == TK_SIMRUN_TRICKLE || s->o.mis == TK_SIMRUN_HALFFRAME) {
		s->st.due -= d->nexp;	/* not waiting for it */
		d->nexp = 0;
		d->mis_sent = 0;
		if (s->o.mis == TK_SIMRUN_TRICKLE) {
			schedule(d, now + TRICKLE_STEP_US);
			return true;
		}
		/* the first half of a report, never the rest */
		uint8_t f[TK_SIM_FRAME_MAX];
		struct tk_sim_pos p;
		position_now(d, now, &p);
		size_t n = tk_sim_frame(&d->sd, TK_SIM_POSITION, &p, TK_SIM_A_SOS, f, sizeof(f));
		if (n >= 2 && !dev_send(d, f, n / 2))
			return false;
		schedule(d, d->up_until ? d->up_until : INT64_MAX / 2);
		return true;
	}
	if (s->o.mis == TK_SIMRUN_FLOOD) {
		s->st.due -= d->nexp;	/* not waiting for it */
		d->nexp = 0;
		dev_close(d, false);
		schedule(d, now);
		return true;
	}
	d->hb_due = s->o.heartbeat > 0 ? now + (int64_t)llround(s->o.heartbeat * 1e6) :
	    INT64_MAX;
	if (s->o.interval == 0) {
		want_write(d, true);
		schedule(d, now + 1000000);	/* only for reply expiry and reconnects */
	} else if (!d->ever_up) {
		/* spread the first reports over one interval */
		schedule(d, now + (int64_t)(tk_sim_rand01(&s->rng) * (double)iv_us(d)) + 1);
	} else {
		schedule(d, now + iv_us(d));
	}
	d->ever_up = true;
	return true;
}

/* Fast mode (-i 0): fill the socket with reports. */
static bool
flood_frames(struct dev *d, int64_t now)
{
	struct tk_simrun *s = d->s;
	uint8_t b[16384], f[TK_SIM_FRAME_MAX];
	size_t bn = 0;
	struct tk_sim_pos p;
	if (d->await_login) {
		want_write(d, false);	/* again when the login is answered */
		return true;
	}
	position_now(d, now, &p);
	for (int i = 0; i < 32 && !s->stopping; i++) {
		if (s->o.frames_max > 0 && s->st.frames >= s->o.frames_max)
			break;
		uint8_t e[TK_SIM_REPLY_MAX];
		enum tk_sim_alarm a;
		enum tk_sim_kind k = report_kind(s, &a);
		size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
		size_t en = tk_sim_expect(d->sd.dialect, f, n, e, sizeof(e));
		if (en > 0) {
			if (d->nexp == QMAX || en > EXP_MAX) {
				/* acked dialect: wait for the acks (flow control) */
				if (d->sd.dialect == TK_D_XEXUN2) {
					d->sd.index--;
					d->sd.rec_index--;
				} else if (d->sd.dialect == TK_D_GT06) {
					d->sd.index--;	/* the serial */
				}
				break;
			}
			exp_push(d, now, e, en, false);
		}
		if (bn + n > sizeof(b))
			break;
		memcpy(b + bn, f, n);
		bn += n;
		sent(d, k);
	}
	if (bn == 0) {
		want_write(d, false);
		return true;
	}
	if (!dev_send(d, b, bn))
		return false;
	if (!s->o.udp && d->txlen == 0)
		want_write(d, !s->stopping);
	return true;
}

static void
dev_io(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	struct dev *d = arg;
	struct tk_simrun *s = d->s;
	bool udp = s->o.udp;
	int64_t now = now_us();
	(void)l;

	if (d->state == S_CONNECTING) {
		if (!udp) {
			int e = 0;
			socklen_t el = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
				e = errno;
			if (e != 0 || (ev & TK_EV_ERROR)) {
				dev_connect_failed(d, now);
				return;
			}
		}
		if (!dev_up(d, now))
			goto dead;
		return;
	}
	if (ev & (TK_EV_READ | TK_EV_ERROR)) {
		for (;;) {
			if (d->rxlen >= RX_MAX) {
				/* never a reply this long: junk */
				s->st.unknown_rx++;
				d->rxlen = 0;
			}
			ssize_t r = recv(fd, d->rx + d->rxlen, RX_MAX - d->rxlen, 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (udp && errno == ECONNREFUSED && s->nsrv == 1)
					break;
				dev_retry(d, now, true);
				return;
			}
			if (r == 0 && !udp) {
				/* stopping: the server read everything and closed */
				dev_retry(d, now, !d->shut);
				return;
			}
			s->st.rx_bytes += (uint64_t)r;
			if (s->o.mis == TK_SIMRUN_NONE || s->o.mis == TK_SIMRUN_SLOW ||
			    s->o.mis == TK_SIMRUN_IMPERSONATE) {
				d->rxlen = (uint8_t)(d->rxlen + r);
				if (!handle_rx(d, now))
					goto dead;
				if (udp)
					d->rxlen = 0;	/* a datagram is a unit */
			}
			if (d->fd < 0)
				return;
		}
		if (s->o.interval == 0 && s->o.mis == TK_SIMRUN_NONE && d->state == S_UP &&
		    !s->stopping && d->txlen == 0)
			want_write(d, true);
	}
	if ((ev & TK_EV_WRITE) && d->fd >= 0) {
		while (d->txoff < d->txlen) {
			ssize_t w = send(fd, d->tx + d->txoff, d->txlen - d->txoff, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return;
				goto dead;
			}
			d->txoff += (uint32_t)w;
		}
		d->txoff = d->txlen = 0;
		if (s->o.interval == 0 && s->o.mis == TK_SIMRUN_NONE && !s->stopping) {
			if (!flood_frames(d, now))
				goto dead;
		} else {
			want_write(d, false);
		}
	}
	return;
dead:
	dev_retry(d, now, true);
}

/* A misbehaving device's turn; returns the next deadline, *ok false when
 * the connection died. */
static int64_t
mis_due(struct dev *d, int64_t now, bool *ok)
{
	struct tk_simrun *s = d->s;
	switch (s->o.mis) {
	case TK_SIMRUN_SLOW:
		if (d->txoff < d->txlen) {
			ssize_t w = send(d->fd, d->tx + d->txoff, 1, MSG_NOSIGNAL);
			if (w == 1) {
				d->txoff++;
				s->st.bytes++;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR)
				*ok = false;
		} else {
			/* queue the next report to trickle out */
			uint8_t f[TK_SIM_FRAME_MAX];
			struct tk_sim_pos p;
			enum tk_sim_alarm a;
			enum tk_sim_kind k = report_kind(s, &a);
			position_now(d, now, &p);
			size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
			if (slow_queue(d, f, n))
				sent(d, k);
		}
		return now + SLOW_STEP_US;
	case TK_SIMRUN_OVERSIZE:
	case TK_SIMRUN_RANDOM: {
		uint8_t b[4096];
		if (s->o.mis == TK_SIMRUN_OVERSIZE && d->mis_sent >= OVERSIZE_TOTAL)
			return d->up_until ? d->up_until : INT64_MAX / 2;
		size_t n = junk(d, b, sizeof(b));
		ssize_t w = send(d->fd, b, n, MSG_NOSIGNAL);
		if (w > 0) {
			d->mis_sent += (uint32_t)w;
			s->st.bytes += (uint64_t)w;
			sent(d, TK_SIM__KINDS);
		} else if (w < 0 && errno != EAGAIN && errno != EINTR)
			*ok = false;
		return s->o.mis == TK_SIMRUN_OVERSIZE ? now + 10000 : now + iv_us(d);
	}
	case TK_SIMRUN_TRICKLE: {
		uint8_t c = trickle_byte(d, d->mis_sent);
		ssize_t w = send(d->fd, &c, 1, MSG_NOSIGNAL);
		if (w == 1) {
			d->mis_sent++;
			s->st.bytes++;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR)
			*ok = false;
		return now + TRICKLE_STEP_US;
	}
	case TK_SIMRUN_IMPERSONATE:
		/* the shortest frame that names the id, again and again */
		*ok = send_frame(d, d->sd.dialect == TK_D_XEXUN ? TK_SIM_POSITION :
		    d->sd.dialect == TK_D_GT06 ? TK_SIM_LOGIN : TK_SIM_HEARTBEAT, TK_SIM_A_SOS, now);
		return now + iv_us(d);
	case TK_SIMRUN_HALFFRAME:
		return d->up_until ? d->up_until : INT64_MAX / 2;
	default:
		return now + iv_us(d);
	}
}

/* A device's deadline came. */
static void
dev_due(struct dev *d, int64_t now)
{
	struct tk_simrun *s = d->s;
	if (s->stopping) {
		schedule(d, INT64_MAX / 2);
		return;
	}
	switch (d->state) {
	case S_IDLE:
		if (s->inflight >= 1024) {
			schedule(d, now + 5000);
			return;
		}
		dev_connect(d, now);
		return;
	case S_CONNECTING:
		/* connect timed out */
		dev_connect_failed(d, now);
		return;
	default:
		break;
	}
	expire_replies(d, now);
	if (d->up_until != 0 && now >= d->up_until) {
		if (d->nexp > 0) {
			/* hang up once the replies in flight came (or expired):
			 * a reply is missing only when the server owes it */
			schedule(d, now + 10000);
			return;
		}
		dev_close(d, false);
		schedule(d, now);
		return;
	}
	if (d->await_login) {
		if (d->nexp == 0) {
			/* the login's answer never came (or came wrong): a real
			 * unit hangs up and logs in again */
			dev_close(d, false);
			schedule(d, now + 1000000);
			return;
		}
		schedule(d, now + 100000);
		return;
	}
	int64_t next;
	bool ok = true;
	if (s->o.mis == TK_SIMRUN_IDLE) {
		schedule(d, d->up_until ? d->up_until : INT64_MAX / 2);
		return;
	} else if (s->o.mis != TK_SIMRUN_NONE && s->o.mis != TK_SIMRUN_FLOOD) {
		next = mis_due(d, now, &ok);
	} else if (s->o.interval == 0) {
		next = now + 1000000;
	} else {
		if (now >= d->hb_due) {
			ok = send_frame(d, TK_SIM_HEARTBEAT, TK_SIM_A_SOS, now);
			d->hb_due += (int64_t)llround(s->o.heartbeat * 1e6);
		}
		if (ok) {
			enum tk_sim_alarm a;
			enum tk_sim_kind k = report_kind(s, &a);
			ok = send_frame(d, k, a, now);
		}
		/* keep the cadence even if the loop ran late */
		next = d->due + iv_us(d);
		if (next <= now)
			next = now + 1;
	}
	if (!ok) {
		dev_close(d, true);
		next = now + 1000000;
	}
	if (d->up_until != 0 && next > d->up_until)
		next = d->up_until;
	schedule(d, next);
}

/*
 * The end of a run over TCP.  A frame counted as sent may still sit in the
 * device's queue or the kernel's, and close() with a reply unread sends a
 * reset that throws the kernel's away: so a device that behaves (nothing
 * awaited, nothing queued) shuts down writing and waits for the server to
 * read the rest and close.  Misbehaving devices just hang up.
 */
static bool
drains(const struct dev *d)
{
	const struct tk_simrun *s = d->s;
	return !s->o.udp && d->state == S_UP &&
	    (s->o.mis == TK_SIMRUN_NONE || s->o.mis == TK_SIMRUN_IMPERSONATE);
}

static void
shut_write(struct dev *d)
{
	if (shutdown(d->fd, SHUT_WR) == 0) {
		d->shut = true;
		want_write(d, false);
	} else {
		dev_retry(d, now_us(), true);
	}
}

/* The grace ran out before the server closed d's connection: count it,
 * and the bytes its host had not acknowledged (queued here, or in the
 * kernel's send queue, the FIN aside).  The kernel goes on sending them
 * after the close, but a reply that comes after it resets the connection,
 * and what the server had not read by then is lost.  Replies read now
 * cannot cause that. */
static void
unconfirmed(struct dev *d)
{
	struct tk_simrun *s = d->s;
	uint64_t n = d->txlen - d->txoff;
	int q = 0;
	if (ioctl(d->fd, SIOCOUTQ, &q) == 0 && q > 0)
		n += (uint64_t)q - (d->shut ? 1 : 0);
	s->st.unconfirmed++;
	s->st.unacked_bytes += n;
	uint8_t b[512];
	while (recv(d->fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

static int64_t
stall_us(const struct tk_simrun *s)
{
	double t = 3 * s->o.interval;
	return (int64_t)((t > 30 ? t : 30) * 1e6);
}

static bool
limits_reached(struct tk_simrun *s, int64_t now)
{
	if (s->stop)
		return true;
	if (s->o.duration > 0 && now >= s->run_end_us)
		return true;
	/* with -N only: give up when no frame went out for a long while (a
	 * server that never accepts must not keep us running for ever) */
	if (s->st.frames != s->last_frames || s->last_progress == 0) {
		s->last_frames = s->st.frames;
		s->last_progress = now;
	} else if (s->o.duration == 0 && now - s->last_progress > stall_us(s)) {
		say(s, "no frame sent for %.0f s: stopping", (double)stall_us(s) / 1e6);
		return true;
	}
	return s->o.frames_max > 0 && s->st.frames >= s->o.frames_max;
}

static int
resolve(struct tk_simrun *s, char *err, size_t errlen)
{
	struct tk_simrun_server one = {s->o.host, s->o.port};
	const struct tk_simrun_server *v = s->o.nservers > 0 ? s->o.servers : &one;
	s->nsrv = s->o.nservers > 0 ? s->o.nservers : 1;
	s->st.nservers = s->nsrv;
	for (size_t i = 0; i < s->nsrv; i++) {
		struct addrinfo hints = {0}, *res;
		hints.ai_socktype = s->o.udp ? SOCK_DGRAM : SOCK_STREAM;
		hints.ai_family = s->o.src_lo != 0 ? AF_INET : AF_UNSPEC;
		int r = getaddrinfo(v[i].host, v[i].port, &hints, &res);
		if (r != 0) {
			errno = EHOSTUNREACH;
			return tk_errf(err, errlen, "%s port %s: %s", v[i].host, v[i].port,
			    gai_strerror(r));
		}
		memcpy(&s->srv[i].a, res->ai_addr, res->ai_addrlen);
		s->srv[i].len = res->ai_addrlen;
		freeaddrinfo(res);
		snprintf(s->st.server[i].name, sizeof(s->st.server[i].name),
		    strchr(v[i].host, ':') != NULL ? "[%s]:%s" : "%s:%s", v[i].host, v[i].port);
	}
	if (s->o.spread)
		for (uint32_t i = 0; i < (uint32_t)s->o.ndev; i++)
			s->devs[i].srv = (uint8_t)(i % s->nsrv);
	return 0;
}

static void
live_start(struct tk_simrun *s)
{
	s->t0_us = now_us();
	s->run_end_us = s->o.duration > 0 ? s->t0_us + (int64_t)llround(s->o.duration * 1e6) :
	    INT64_MAX;
	double ramp_us = 1e6 / s->o.ramp;
	for (uint32_t i = 0; i < (uint32_t)s->o.ndev; i++) {
		s->devs[i].due = s->t0_us + (int64_t)(i * ramp_us);
		hpush(s, i);
	}
}

/* 1: go on, 0: over (every connection closed), -1: the loop failed. */
static int
live_step(struct tk_simrun *s, int max_wait_ms, char *err, size_t errlen)
{
	struct dev *devs = s->devs;
	uint32_t ndev = (uint32_t)s->o.ndev;
	int64_t now = now_us();
	bool over = false;

	if (!s->stopping && limits_reached(s, now)) {
		s->stopping = true;
		s->stop_at = now;
		for (uint32_t i = 0; i < ndev; i++)
			if (devs[i].fd >= 0 && devs[i].state == S_UP && s->o.interval == 0)
				want_write(&devs[i], devs[i].txlen > 0);
	}
	if (s->stopping) {
		/* grace: until every awaited reply came and every connection was
		 * closed by the server after reading all we sent, or the time is up */
		bool waiting = false;
		for (uint32_t i = 0; i < ndev; i++) {
			struct dev *d = &devs[i];
			if (d->fd < 0)
				continue;
			if (d->nexp == 0 && d->txlen == d->txoff && !d->shut && drains(d))
				shut_write(d);
			if (d->fd >= 0 && (d->nexp > 0 || d->txlen > d->txoff || d->shut))
				waiting = true;
		}
		over = !waiting || now - s->stop_at >= (int64_t)llround(s->o.grace * 1e6) ||
		    s->stop > 1;
	}
	if (!over) {
		int budget = 20000;
		while (s->heapn > 0 && devs[s->heap[0]].due <= now && budget-- > 0)
			dev_due(&devs[hpop(s)], now);
		int timeout = 100;
		if (s->heapn > 0 && !s->stopping) {
			int64_t w = devs[s->heap[0]].due - now_us();
			timeout = w <= 0 ? 0 : w < 100000 ? (int)((w + 999) / 1000) : 100;
		}
		if (s->stopping && timeout > 20)
			timeout = 20;
		if (max_wait_ms >= 0 && timeout > max_wait_ms)
			timeout = max_wait_ms;
		if (tk_loop_once(s->loop, timeout) < 0 && errno != EINTR) {
			int e = errno;
			tk_errf(err, errlen, "event loop: %s", strerror(e));
			errno = e;
			return -1;
		}
		return 1;
	}
	for (uint32_t i = 0; i < ndev; i++) {
		if (devs[i].fd >= 0 && drains(&devs[i]))
			unconfirmed(&devs[i]);
		if (devs[i].fd >= 0 || devs[i].nexp > 0)
			dev_close(&devs[i], false);
	}
	return 0;
}

/* ---- the run ---------------------------------------------------------------- */

struct tk_simrun *
tk_simrun_new(const struct tk_simrun_opts *o, char *err, size_t errlen)
{
	if (o->ndev < 1 || o->ndev > 1000000 || o->nservers > TK_SIMRUN_SERVERS_MAX ||
	    (o->out_fd < 0 && o->port == NULL && o->nservers == 0) ||
	    !(o->ramp > 0) || (o->out_fd >= 0 && !(o->interval > 0)) ||
	    (o->src_lo != 0 && o->src_hi < o->src_lo) || (unsigned)o->mis >= TK_SIMRUN__MIS) {
		errno = EINVAL;
		tk_errf(err, errlen, "invalid options");
		return NULL;
	}
	struct tk_simrun *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		tk_errf(err, errlen, "out of memory");
		return NULL;
	}
	s->o = *o;
	if (s->o.host == NULL)
		s->o.host = "127.0.0.1";
	s->rng = o->seed * 0x2545F4914F6CDD1Dull + 1;
	s->devs = calloc((size_t)o->ndev, sizeof(*s->devs));
	s->heap = calloc((size_t)o->ndev, sizeof(*s->heap));
	if (s->devs == NULL || s->heap == NULL) {
		tk_errf(err, errlen, "%ld devices: out of memory", o->ndev);
		goto fail;
	}
	for (uint32_t i = 0; i < (uint32_t)o->ndev; i++)
		dev_setup(s, i);
	if (o->out_fd >= 0) {
		s->out.p = malloc(FILE_BUF);
		if (s->out.p == NULL) {
			tk_errf(err, errlen, "out of memory");
			goto fail;
		}
		s->out.cap = FILE_BUF;
	} else {
		if (resolve(s, err, errlen) != 0)
			goto fail;
		s->loop = tk_loop_new();
		if (s->loop == NULL) {
			int e = errno;
			tk_errf(err, errlen, "event loop: %s", strerror(e));
			errno = e;
			goto fail;
		}
	}
	return s;
fail: {
		int e = errno;
		tk_simrun_free(s);
		errno = e;
		return NULL;
	}
}

int
tk_simrun_step(struct tk_simrun *s, int max_wait_ms, char *err, size_t errlen)
{
	if (s->done)
		return 0;
	if (!s->started) {
		s->started = true;
		s->start_us = now_us();
		if (s->o.out_fd >= 0)
			file_start(s);
		else
			live_start(s);
	}
	int r = s->o.out_fd >= 0 ? file_step(s, err, errlen) :
	    live_step(s, max_wait_ms, err, errlen);
	if (r <= 0) {
		s->done = true;
		s->end_us = now_us();
	}
	return r;
}

int
tk_simrun_run(struct tk_simrun *s, char *err, size_t errlen)
{
	int r;
	while ((r = tk_simrun_step(s, -1, err, errlen)) > 0)
		;
	return r;
}

void
tk_simrun_stop(struct tk_simrun *s)
{
	if (s->stop < 2)
		s->stop++;
}

void
tk_simrun_stats(struct tk_simrun *s, struct tk_simrun_stats *st)
{
	int64_t end = s->done ? s->end_us : now_us();
	s->st.elapsed_s = s->started ? (double)(end - s->start_us) / 1e6 : 0;
	lat_summary(&s->login_lat, &s->st.login_lat);
	lat_summary(&s->reply_lat, &s->st.reply_lat);
	*st = s->st;
}

void
tk_simrun_free(struct tk_simrun *s)
{
	if (s == NULL)
		return;
	if (s->devs != NULL)
		for (uint32_t i = 0; i < (uint32_t)s->o.ndev; i++) {
			if (s->devs[i].fd >= 0)
				close(s->devs[i].fd);
			free(s->devs[i].tx);
		}
	if (s->loop != NULL)
		tk_loop_free(s->loop);
	free(s->login_lat.v);
	free(s->reply_lat.v);
	free(s->out.p);
	free(s->devs);
	free(s->heap);
	free(s);
}
