/*
 * tk-sim: simulate TK103-family devices against a server (TCP or UDP), or
 * write their frames to a file.  The frames, expected replies and command
 * answers are libtk103's (lib/tk_sim.c); this file holds the options, the
 * schedule (a min-heap of per-device deadlines), the sockets over the
 * tk_loop seam, and the counters.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <err.h>

#include "cli.h"
#include "tk_loop.h"
#include "tk_sim.h"

static const char usage_text[] =
    "usage: tk-sim [-qu] [-a rate] [-d dialect] [-H host] [-i seconds] [-N frames]\n"
    "              [-n devices] [-o file] [-p port] [-r route] [-s seed] [-T seconds]\n"
    "              [--check] [--heartbeat seconds] [--misbehave mode] [--raw]\n"
    "              [--reconnect seconds] [--source addr[-addr]] [--start lat,lon]\n"
    "              [--stats-json file]\n";

static const char help_text[] =
    "Simulate TK103-family GPS trackers against a server, or write their frames.\n"
    "\n"
    "  -a, --alarms RATE      probability (0-1) that a report is an alarm (default 0)\n"
    "  -d, --dialect NAME     xexun, tk103, gps103, xexun2 or mix (default tk103)\n"
    "  -H, --host HOST        server address (default 127.0.0.1)\n"
    "  -i, --interval SECS    seconds between positions, fractions allowed;\n"
    "                         0 = as fast as possible (default 10)\n"
    "  -N, --frames N         stop after N frames in total\n"
    "  -n, --devices N        number of devices (default 1, at most 1000000)\n"
    "  -o, --output FILE      write tk-frame(5) lines (or bytes with --raw) to FILE\n"
    "                         (- for stdout) instead of connecting; time is simulated\n"
    "  -p, --port PORT        server port (required unless -o)\n"
    "  -q, --quiet            no summary on stderr\n"
    "  -r, --route FILE       drive along a GeoJSON LineString (default: circles\n"
    "                         around --start)\n"
    "  -s, --seed N           seed for reproducible runs (default 1)\n"
    "  -T, --duration SECS    stop after SECS seconds (default 10 unless -N)\n"
    "  -u, --udp              datagrams instead of TCP connections\n"
    "      --check            exit 1 if any reply was wrong or missing or a\n"
    "                         connection failed\n"
    "      --grace SECS       after stopping, wait up to SECS for replies (default 2)\n"
    "      --heartbeat SECS   tk103 BP00 / gps103 heartbeat interval (default 60, 0 off)\n"
    "      --misbehave MODE   idle, slow, oversize, random or flood\n"
    "      --ramp N           new connections per second (default 5000)\n"
    "      --raw              with -o: raw frame bytes instead of frame lines\n"
    "      --reconnect SECS   reconnect (from a new port) every SECS seconds\n"
    "      --source ADDR      local address(es) to connect from: an IPv4 address\n"
    "                         or a range 127.0.0.2-127.0.0.20, used in turn\n"
    "      --speed KMH        mean vehicle speed (default 40)\n"
    "      --start LAT,LON    centre of the generated routes (default 52.52,13.405)\n"
    "      --stats-json FILE  write the counters as JSON to FILE (- for stdout)\n"
    "  -h, --help             this help\n"
    "  -V, --version          print the version\n"
    "\n"
    "Exit status: 0 ok, 1 check failed, 2 usage, 3 I/O error or no connection.\n"
    "See tk-sim(1).\n";

enum mis { MIS_NONE = 0, MIS_IDLE, MIS_SLOW, MIS_OVERSIZE, MIS_RANDOM, MIS_FLOOD };
static const char *const mis_names[] = {"none", "idle", "slow", "oversize", "random", "flood"};

enum dstate { S_IDLE = 0, S_CONNECTING, S_UP, S_DONE };

#define QMAX		4	/* replies awaited per device */
#define EXP_MAX		40
#define RX_MAX		192
#define TX_CAP		65536	/* pending output per device before frames are dropped */
#define LAT_CAP		(1u << 22)
#define OVERSIZE_TOTAL	(1u << 20)
#define SLOW_STEP_US	50000

struct exp {
	int64_t	 sent_us;
	uint8_t	 len;
	bool	 login;
	uint8_t	 b[EXP_MAX];
};

struct dev {
	struct tk_sim_dev sd;
	int	 fd;
	uint32_t hpos;		/* index in the heap */
	int64_t	 due;		/* next action: mono us (live) or virtual ms (file) */
	int64_t	 hb_due;
	int64_t	 up_until;	/* reconnect at, or 0 */
	float	 clat, clon, rad, speed, phase;
	float	 alt;
	float	 iv;		/* per-device interval set by a command, or 0 */
	uint16_t src;
	uint8_t	 state, nexp, rxlen, sats;
	bool	 ever_up, writable_wait, logged;
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

struct opts {
	enum tk_dialect	 dialect;
	bool		 mix, udp, quiet, check, raw;
	long		 ndev;
	const char	*host, *port, *out, *route, *stats_json;
	double		 interval, duration, alarms, heartbeat, reconnect, grace, speed, ramp;
	long long	 frames_max;
	uint64_t	 seed;
	double		 start_lat, start_lon;
	enum mis	 mis;
	uint32_t	 src_lo, src_hi;	/* host order; 0 = none */
};

struct stats {
	uint64_t connects, connect_failed, closed_by_peer, disconnects, max_up, up;
	uint64_t frames, bytes, logins, heartbeats, alarms, positions;
	uint64_t ok, wrong, missing, commands, answers, unknown_rx, dropped, alarm_acks;
	uint64_t rx_bytes;
};

static struct opts o;
static struct stats st;
static struct dev *devs;
static uint32_t *heap;
static size_t heapn;
static struct tk_loop *loop;
static struct sockaddr_storage srv;
static socklen_t srvlen;
static struct tk_sim_route route;
static bool have_route;
static uint64_t rng;
static struct lat login_lat, reply_lat;
static volatile sig_atomic_t got_signal;
static bool stopping;
static int64_t t0_us, run_end_us;
static long inflight;

/* ---- small helpers ---------------------------------------------------- */

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
}

static double
parse_double(const char *opt, const char *s, double min, double max)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (e == s || *e != '\0' || errno != 0 || !isfinite(v) || v < min || v > max) {
		warnx("%s %s: expected a number from %g to %g", opt, s, min, max);
		exit(TK_EXIT_USAGE);
	}
	return v;
}

static void
lat_add(struct lat *l, int64_t us)
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
	uint64_t k = tk_sim_rand(&rng) % l->seen;
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
lat_pct(struct lat *l, double p)
{
	if (l->n == 0)
		return 0;
	size_t i = (size_t)ceil(p / 100.0 * (double)l->n);
	return l->v[i == 0 ? 0 : i - 1];
}

/* ---- the schedule: a binary min-heap of device indices by due ----------- */

static void
hswap(size_t a, size_t b)
{
	uint32_t t = heap[a];
	heap[a] = heap[b];
	heap[b] = t;
	devs[heap[a]].hpos = (uint32_t)a;
	devs[heap[b]].hpos = (uint32_t)b;
}

static void
hup(size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (devs[heap[p]].due <= devs[heap[i]].due)
			break;
		hswap(i, p);
		i = p;
	}
}

static void
hdown(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < heapn && devs[heap[l]].due < devs[heap[m]].due)
			m = l;
		if (r < heapn && devs[heap[r]].due < devs[heap[m]].due)
			m = r;
		if (m == i)
			break;
		hswap(i, m);
		i = m;
	}
}

static void
hpush(uint32_t d)
{
	heap[heapn] = d;
	devs[d].hpos = (uint32_t)heapn;
	heapn++;
	hup(heapn - 1);
}

static uint32_t
hpop(void)
{
	uint32_t d = heap[0];
	heapn--;
	if (heapn > 0) {
		heap[0] = heap[heapn];
		devs[heap[0]].hpos = 0;
		hdown(0);
	}
	devs[d].hpos = UINT32_MAX;
	return d;
}

/* ---- positions ---------------------------------------------------------- */

static void
position(struct dev *d, int64_t t_ms, double elapsed_s, struct tk_sim_pos *p)
{
	memset(p, 0, sizeof(*p));
	p->time_ms = t_ms;
	double dist = d->phase + d->speed * elapsed_s;
	if (have_route) {
		tk_sim_route_at(&route, dist, &p->lat, &p->lon, &p->course);
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

static void
dev_setup(uint32_t i)
{
	struct dev *d = &devs[i];
	static const enum tk_dialect mix[] = {TK_D_XEXUN, TK_D_TK103, TK_D_GPS103, TK_D_XEXUN2};
	enum tk_dialect dl = o.mix ? mix[i % 4] : o.dialect;

	memset(d, 0, sizeof(*d));
	tk_sim_dev_init(&d->sd, dl, o.seed % 1000000 * 1000000, i);
	d->sd.tz_min = (int)(tk_sim_rand(&rng) % 24) * 60 - 660;	/* UTC-11 .. UTC+12 */
	d->fd = -1;
	d->hpos = UINT32_MAX;
	d->speed = (float)(o.speed / 3.6 * (0.5 + tk_sim_rand01(&rng)));
	d->alt = (float)(20 + 200 * tk_sim_rand01(&rng));
	d->sats = (uint8_t)(5 + tk_sim_rand(&rng) % 8);
	if (have_route) {
		d->phase = (float)(tk_sim_rand01(&rng) * route.len);
	} else {
		d->clat = (float)(o.start_lat + (tk_sim_rand01(&rng) - 0.5) * 0.4);
		d->clon = (float)(o.start_lon + (tk_sim_rand01(&rng) - 0.5) * 0.4);
		d->rad = (float)(300 + 2700 * tk_sim_rand01(&rng));
		d->phase = (float)(tk_sim_rand01(&rng) * 2 * M_PI * d->rad);
	}
	if (o.src_lo != 0)
		d->src = (uint16_t)(i % (o.src_hi - o.src_lo + 1));
}

/* The next report's kind: an alarm with probability -a. */
static enum tk_sim_kind
report_kind(enum tk_sim_alarm *a)
{
	*a = (enum tk_sim_alarm)(tk_sim_rand(&rng) % TK_SIM_A__COUNT);
	return o.alarms > 0 && tk_sim_rand01(&rng) < o.alarms ? TK_SIM_ALARM : TK_SIM_POSITION;
}

static void
count_kind(enum tk_sim_kind k)
{
	switch (k) {
	case TK_SIM_LOGIN: st.logins++; break;
	case TK_SIM_HEARTBEAT: st.heartbeats++; break;
	case TK_SIM_ALARM: st.alarms++; break;
	case TK_SIM_ANSWER: st.answers++; break;
	default: st.positions++; break;
	}
}

/* ---- file mode: frame lines in simulated time ----------------------------- */

#define FILE_T0_MS	1767225600000LL	/* 2026-01-01T00:00:00Z */

static void
file_line(struct cli_out *out, struct dev *d, uint32_t i, enum tk_fkind kind, int64_t t,
    const uint8_t *f, size_t n)
{
	if (o.raw) {
		if (kind != TK_F_FRAME)
			return;
		struct tk_buf *b = cli_out_reserve(out, n);
		memcpy(b->p + b->len, f, n);
		b->len += n;
		return;
	}
	struct tk_fline l;
	memset(&l, 0, sizeof(l));
	l.kind = kind;
	l.time_ms = t;
	strlcpy(l.transport, o.udp ? "udp" : "tcp", sizeof(l.transport));
	snprintf(l.peer, sizeof(l.peer), "10.%u.%u.%u:%u", ((i + 1) >> 16) & 255,
	    ((i + 1) >> 8) & 255, (i + 1) & 255, 40000 + i % 20000);
	l.conn = (uint64_t)i + 1;
	l.dialect = d->sd.dialect;
	l.dialect_known = true;
	strlcpy(l.id, d->sd.dialect == TK_D_TK103 ? d->sd.id : d->sd.imei, sizeof(l.id));
	if (kind == TK_F_CLOSE) {
		l.data = (const uint8_t *)"eof";
		l.len = 3;
	} else {
		l.data = f;
		l.len = n;
	}
	struct tk_buf *b = cli_out_reserve(out, 4 * n + 512);
	if (tk_fline_write(b, &l) < 0)
		errx(TK_EXIT_SOFTWARE, "frame line does not fit");
}

static int
run_file(void)
{
	struct cli_out out;
	int fd = STDOUT_FILENO;

	if (strcmp(o.out, "-") != 0) {
		fd = open(o.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd < 0)
			err(TK_EXIT_IO, "%s", o.out);
	}
	cli_harden(TK_HARDEN_STDIO);
	cli_out_init(&out, fd, 1 << 20);
	int64_t iv = (int64_t)llround(o.interval * 1000);
	if (iv < 1)
		iv = 1;
	int64_t hb = (int64_t)llround(o.heartbeat * 1000);
	int64_t end = o.duration > 0 ? FILE_T0_MS + (int64_t)llround(o.duration * 1000) : INT64_MAX;
	uint8_t f[TK_SIM_FRAME_MAX];

	/* every device opens (and logs in) at a random moment of its first interval */
	for (uint32_t i = 0; i < (uint32_t)o.ndev; i++) {
		struct dev *d = &devs[i];
		d->due = FILE_T0_MS + (int64_t)(tk_sim_rand01(&rng) * (double)iv);
		d->hb_due = hb > 0 ? d->due + hb : INT64_MAX;
		hpush(i);
	}
	while (heapn > 0 && !got_signal && out.err == 0) {
		if (o.frames_max > 0 && st.frames >= (uint64_t)o.frames_max)
			break;
		uint32_t i = heap[0];
		struct dev *d = &devs[i];
		int64_t t = d->due;
		if (t >= end)
			break;
		struct tk_sim_pos p;
		position(d, t, (double)(t - FILE_T0_MS) / 1000.0, &p);
		enum tk_sim_kind k;
		enum tk_sim_alarm a = TK_SIM_A_SOS;
		if (!d->ever_up) {
			d->ever_up = true;
			file_line(&out, d, i, TK_F_OPEN, t, NULL, 0);
			k = d->sd.dialect == TK_D_XEXUN ? TK_SIM_POSITION : TK_SIM_LOGIN;
		} else {
			if (t >= d->hb_due) {
				/* heartbeats ride along with the next report */
				d->hb_due += hb;
				size_t hn = tk_sim_frame(&d->sd, TK_SIM_HEARTBEAT, &p, a, f, sizeof(f));
				if (hn > 0) {
					file_line(&out, d, i, TK_F_FRAME, t, f, hn);
					st.frames++;
					st.bytes += hn;
					count_kind(TK_SIM_HEARTBEAT);
				}
			}
			k = report_kind(&a);
		}
		size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
		if (n > 0) {
			file_line(&out, d, i, TK_F_FRAME, t, f, n);
			st.frames++;
			st.bytes += n;
			count_kind(k);
		}
		d->due = t + iv;
		hdown(0);
	}
	if (!o.raw)
		for (uint32_t i = 0; i < (uint32_t)o.ndev; i++)
			if (devs[i].ever_up) {
				int64_t t = end != INT64_MAX ? end : devs[i].due;
				file_line(&out, &devs[i], i, TK_F_CLOSE, t, NULL, 0);
			}
	cli_out_flush(&out);
	int rc = TK_EXIT_OK;
	if (out.err != 0) {
		errno = out.err;
		if (out.err != EPIPE || fd != STDOUT_FILENO)
			warn("%s", o.out);
		rc = out.err == EPIPE ? TK_EXIT_PIPE : TK_EXIT_IO;
	}
	cli_out_free(&out);
	if (fd != STDOUT_FILENO && close(fd) != 0 && rc == TK_EXIT_OK) {
		warn("%s", o.out);
		rc = TK_EXIT_IO;
	}
	return rc;
}

/* ---- live mode ------------------------------------------------------------- */

static void dev_io(struct tk_loop *, int, unsigned, void *);

static void
dev_close(struct dev *d, bool peer)
{
	if (d->fd >= 0) {
		tk_loop_del(loop, d->fd);
		if (o.mis == MIS_FLOOD) {
			struct linger lg = {1, 0};	/* no TIME_WAIT pile-up */
			setsockopt(d->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(d->fd);
		d->fd = -1;
	}
	if (d->state == S_CONNECTING)
		inflight--;
	if (d->state == S_UP) {
		st.up--;
		st.disconnects++;
		if (peer)
			st.closed_by_peer++;
	}
	/* replies still awaited are missing */
	st.missing += d->nexp;
	d->nexp = 0;
	d->rxlen = 0;
	free(d->tx);
	d->tx = NULL;
	d->txoff = d->txlen = d->txcap = 0;
	d->state = S_IDLE;
}

static void
want_write(struct dev *d, bool on)
{
	if (d->fd >= 0)
		tk_loop_mod(loop, d->fd, TK_EV_READ | (on ? TK_EV_WRITE : 0));
}

/* Write bytes now, keep what does not go out.  false: the connection died. */
static bool
dev_send(struct dev *d, const uint8_t *b, size_t n)
{
	size_t off = 0;
	if (d->txlen == 0) {
		while (off < n) {
			ssize_t w = send(d->fd, b + off, n - off, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (o.udp && errno == ECONNREFUSED)
					return true;	/* nobody listening (yet): keep going */
				return false;
			}
			off += (size_t)w;
			if (o.udp)
				break;
		}
		if (off == n || o.udp) {
			st.bytes += n;
			return true;
		}
	}
	/* queue the rest: a buffer that grows to TX_CAP, then frames are dropped */
	size_t rest = n - off;
	size_t pending = d->txlen - d->txoff;
	if (pending + rest > TX_CAP) {
		st.dropped++;
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
			st.dropped++;
			return true;
		}
		d->tx = nt;
		d->txcap = (uint32_t)nc;
	}
	memcpy(d->tx + d->txlen, b + off, rest);
	d->txlen += (uint32_t)rest;
	st.bytes += n;
	want_write(d, true);
	return true;
}

static bool
send_frame(struct dev *d, enum tk_sim_kind k, enum tk_sim_alarm a, int64_t now)
{
	if (o.frames_max > 0 && st.frames >= (uint64_t)o.frames_max)
		return true;	/* -N is exact */
	uint8_t f[TK_SIM_FRAME_MAX];
	struct tk_sim_pos p;
	int64_t wall = tk_wall_ms();
	position(d, wall, (double)(now - t0_us) / 1e6, &p);
	size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
	if (n == 0)
		return true;
	uint8_t e[TK_SIM_REPLY_MAX];
	size_t en = tk_sim_expect(d->sd.dialect, f, n, e, sizeof(e));
	if (en > 0 && en <= EXP_MAX) {
		if (d->nexp == QMAX) {
			/* the oldest one never came */
			st.missing++;
			memmove(&d->exp[0], &d->exp[1], (QMAX - 1) * sizeof(d->exp[0]));
			d->nexp--;
		}
		struct exp *x = &d->exp[d->nexp++];
		x->sent_us = now;
		x->len = (uint8_t)en;
		x->login = k == TK_SIM_LOGIN;
		memcpy(x->b, e, en);
	}
	st.frames++;
	count_kind(k);
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
	default:
		return n;
	}
}

static bool
handle_rx(struct dev *d, int64_t now)
{
	for (;;) {
		if (d->rxlen == 0)
			return true;
		if (d->nexp > 0) {
			struct exp *x = &d->exp[0];
			size_t m = d->rxlen < x->len ? d->rxlen : x->len;
			if (memcmp(d->rx, x->b, m) == 0) {
				if (d->rxlen < x->len)
					return true;	/* wait for the rest */
				st.ok++;
				lat_add(x->login ? &login_lat : &reply_lat, now - x->sent_us);
				if (x->login)
					lat_add(&reply_lat, now - x->sent_us);
				memmove(d->rx, d->rx + x->len, d->rxlen - x->len);
				d->rxlen = (uint8_t)(d->rxlen - x->len);
				memmove(&d->exp[0], &d->exp[1], (QMAX - 1) * sizeof(d->exp[0]));
				d->nexp--;
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
		position(d, tk_wall_ms(), (double)(now - t0_us) / 1e6, &p);
		size_t an = tk_sim_answer(&d->sd, &p, d->rx, c, &eff, a, sizeof(a));
		if (d->sd.dialect == TK_D_TK103 && c == 19 && memcmp(d->rx + 13, "AS01", 4) == 0 &&
		    memcmp(d->rx + 1, d->sd.id, 12) == 0) {
			st.alarm_acks++;	/* the optional BO01 acknowledgement */
		} else if (eff.recognised) {
			st.commands++;
			if (an > 0) {
				st.answers++;
				st.frames++;
				if (!dev_send(d, a, an))
					return false;
			}
			if (eff.interval_s > 0)
				d->iv = (float)eff.interval_s;
			if (eff.stop)
				d->iv = 86400;
		} else if (d->nexp > 0) {
			st.wrong++;	/* neither the awaited reply nor a command */
			memmove(&d->exp[0], &d->exp[1], (QMAX - 1) * sizeof(d->exp[0]));
			d->nexp--;
		} else {
			st.unknown_rx++;
		}
		memmove(d->rx, d->rx + c, d->rxlen - c);
		d->rxlen = (uint8_t)(d->rxlen - c);
	}
}

/* Replies older than this are given up as missing. */
#define REPLY_TIMEOUT_US	5000000

static void
expire_replies(struct dev *d, int64_t now)
{
	while (d->nexp > 0 && now - d->exp[0].sent_us > REPLY_TIMEOUT_US) {
		st.missing++;
		memmove(&d->exp[0], &d->exp[1], (QMAX - 1) * sizeof(d->exp[0]));
		d->nexp--;
	}
}

static void
schedule(struct dev *d, int64_t due)
{
	d->due = due;
	if (d->hpos == UINT32_MAX)
		hpush((uint32_t)(d - devs));
	else {
		hup(d->hpos);
		hdown(d->hpos);
	}
}

static int64_t
iv_us(const struct dev *d)
{
	return (int64_t)llround((d->iv > 0 ? d->iv : o.interval) * 1e6);
}

/* Oversize / random payloads for the misbehaving modes. */
static size_t
junk(struct dev *d, uint8_t *b, size_t cap)
{
	size_t n = 0;
	if (o.mis == MIS_RANDOM) {
		n = 1 + tk_sim_rand(&rng) % (cap < 512 ? cap : 512);
		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)tk_sim_rand(&rng);
		return n;
	}
	/* oversize: a frame opener, then filler with no delimiter */
	if (d->mis_sent == 0) {
		switch (d->sd.dialect) {
		case TK_D_TK103:
			n = (size_t)snprintf((char *)b, cap, "(%sBR00", d->sd.id);
			break;
		case TK_D_GPS103:
			n = (size_t)snprintf((char *)b, cap, "imei:%s,tracker,", d->sd.imei);
			break;
		case TK_D_XEXUN:
			n = (size_t)snprintf((char *)b, cap, "261124080000,%s,GPRMC,", d->sd.phone);
			break;
		default:
			b[0] = 0xFA;
			b[1] = 0xAF;
			n = 2;
			break;
		}
	}
	memset(b + n, d->sd.dialect == TK_D_XEXUN2 ? 0x00 : 'A', cap - n);
	return cap;
}

static void
dev_connect(struct dev *d, int64_t now)
{
	int fd = socket(srv.ss_family, (o.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			static bool said;
			if (!said)
				warn("socket (device %u)", (unsigned)(d - devs));
			said = true;
		}
		st.connect_failed++;
		schedule(d, now + 1000000);
		return;
	}
	if (o.src_lo != 0 && srv.ss_family == AF_INET) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(o.src_lo + d->src);
		int one = 1;
#ifdef IP_BIND_ADDRESS_NO_PORT
		if (!o.udp)
			setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
#endif
		(void)one;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			static bool said;
			if (!said)
				warn("bind %s", inet_ntoa(sa.sin_addr));
			said = true;
			close(fd);
			st.connect_failed++;
			schedule(d, now + 1000000);
			return;
		}
	}
	if (!o.udp) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	int r = connect(fd, (struct sockaddr *)&srv, srvlen);
	if (r != 0 && errno != EINPROGRESS) {
		close(fd);
		st.connect_failed++;
		schedule(d, now + 1000000);
		return;
	}
	if (tk_loop_add(loop, fd, o.udp ? TK_EV_READ : TK_EV_WRITE, dev_io, d) != 0) {
		close(fd);
		st.connect_failed++;
		schedule(d, now + 1000000);
		return;
	}
	d->fd = fd;
	d->state = S_CONNECTING;
	inflight++;
	if (o.udp) {
		/* nothing to wait for: up at once */
		dev_io(loop, fd, TK_EV_WRITE, d);
	} else {
		schedule(d, now + 10000000);	/* connect timeout */
	}
}

/* The connection is up: log in and start the schedule. */
static bool
dev_up(struct dev *d, int64_t now)
{
	inflight--;
	d->state = S_UP;
	st.connects++;
	st.up++;
	if (st.up > st.max_up)
		st.max_up = st.up;
	d->up_until = o.reconnect > 0 ? now + (int64_t)llround(o.reconnect * 1e6) : 0;
	if (o.mis == MIS_IDLE) {
		tk_loop_mod(loop, d->fd, TK_EV_READ);
		schedule(d, INT64_MAX / 2);
		return true;
	}
	if (o.mis == MIS_OVERSIZE || o.mis == MIS_RANDOM) {
		d->mis_sent = 0;
		tk_loop_mod(loop, d->fd, TK_EV_READ);
		schedule(d, now);
		return true;
	}
	tk_loop_mod(loop, d->fd, TK_EV_READ);
	/* xexun has no login: its first report stands in */
	enum tk_sim_kind k = d->sd.dialect == TK_D_XEXUN ? TK_SIM_POSITION : TK_SIM_LOGIN;
	if (o.mis == MIS_SLOW) {
		/* queue the login; it trickles out a byte at a time */
		uint8_t f[TK_SIM_FRAME_MAX];
		struct tk_sim_pos p;
		position(d, tk_wall_ms(), (double)(now - t0_us) / 1e6, &p);
		size_t n = tk_sim_frame(&d->sd, k, &p, TK_SIM_A_SOS, f, sizeof(f));
		if (d->txcap < TK_SIM_FRAME_MAX) {
			uint8_t *nt = realloc(d->tx, TK_SIM_FRAME_MAX);
			if (nt == NULL)
				return false;
			d->tx = nt;
			d->txcap = TK_SIM_FRAME_MAX;
		}
		if (n == 0)
			return false;
		memcpy(d->tx, f, n);
		d->txoff = 0;
		d->txlen = (uint32_t)n;
		uint8_t e[TK_SIM_REPLY_MAX];
		size_t en = tk_sim_expect(d->sd.dialect, f, n, e, sizeof(e));
		if (en > 0 && en <= EXP_MAX) {
			d->exp[0].sent_us = now;	/* latency includes the trickle */
			d->exp[0].len = (uint8_t)en;
			d->exp[0].login = true;
			memcpy(d->exp[0].b, e, en);
			d->nexp = 1;
		}
		st.frames++;
		count_kind(k);
		schedule(d, now + SLOW_STEP_US);
		return true;
	}
	if (!send_frame(d, k, TK_SIM_A_SOS, now))
		return false;
	if (o.mis == MIS_FLOOD) {
		d->nexp = 0;	/* not waiting for it */
		dev_close(d, false);
		schedule(d, now);
		return true;
	}
	d->hb_due = o.heartbeat > 0 ? now + (int64_t)llround(o.heartbeat * 1e6) : INT64_MAX;
	if (o.interval == 0) {
		want_write(d, true);
		schedule(d, now + 1000000);	/* only for reply expiry and reconnects */
	} else if (!d->ever_up) {
		/* spread the first reports over one interval */
		schedule(d, now + (int64_t)(tk_sim_rand01(&rng) * (double)iv_us(d)) + 1);
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
	uint8_t b[16384], f[TK_SIM_FRAME_MAX];
	size_t bn = 0;
	struct tk_sim_pos p;
	position(d, tk_wall_ms(), (double)(now - t0_us) / 1e6, &p);
	for (int i = 0; i < 32 && !stopping; i++) {
		if (o.frames_max > 0 && st.frames >= (uint64_t)o.frames_max)
			break;
		uint8_t e[TK_SIM_REPLY_MAX];
		enum tk_sim_alarm a;
		enum tk_sim_kind k = report_kind(&a);
		size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
		size_t en = tk_sim_expect(d->sd.dialect, f, n, e, sizeof(e));
		if (en > 0) {
			if (d->nexp == QMAX || en > EXP_MAX) {
				/* acked dialect: wait for the acks (flow control) */
				if (d->sd.dialect == TK_D_XEXUN2) {
					d->sd.index--;
					d->sd.rec_index--;
				}
				break;
			}
			struct exp *x = &d->exp[d->nexp++];
			x->sent_us = now;
			x->len = (uint8_t)en;
			x->login = false;
			memcpy(x->b, e, en);
		}
		if (bn + n > sizeof(b))
			break;
		memcpy(b + bn, f, n);
		bn += n;
		st.frames++;
		count_kind(k);
	}
	if (bn == 0) {
		want_write(d, false);
		return true;
	}
	if (!dev_send(d, b, bn))
		return false;
	if (!o.udp && d->txlen == 0)
		want_write(d, !stopping);
	return true;
}

static void
dev_io(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	struct dev *d = arg;
	int64_t now = now_us();
	(void)l;

	if (d->state == S_CONNECTING) {
		if (!o.udp) {
			int e = 0;
			socklen_t el = sizeof(e);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
				e = errno;
			if (e != 0 || (ev & TK_EV_ERROR)) {
				dev_close(d, false);
				st.connect_failed++;
				schedule(d, now + 1000000);
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
				st.unknown_rx++;
				d->rxlen = 0;
			}
			ssize_t r = recv(fd, d->rx + d->rxlen, RX_MAX - d->rxlen, 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					break;
				if (o.udp && errno == ECONNREFUSED)
					break;
				dev_close(d, true);
				schedule(d, stopping ? INT64_MAX / 2 : now + 1000000);
				return;
			}
			if (r == 0 && !o.udp) {
				dev_close(d, true);
				schedule(d, stopping ? INT64_MAX / 2 : now + 1000000);
				return;
			}
			st.rx_bytes += (uint64_t)r;
			if (o.mis == MIS_NONE || o.mis == MIS_SLOW) {
				d->rxlen = (uint8_t)(d->rxlen + r);
				if (!handle_rx(d, now))
					goto dead;
				if (o.udp)
					d->rxlen = 0;	/* a datagram is a unit */
			}
			if (d->fd < 0)
				return;
		}
		if (o.interval == 0 && o.mis == MIS_NONE && d->state == S_UP && !stopping &&
		    d->txlen == 0)
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
		if (o.interval == 0 && o.mis == MIS_NONE && !stopping) {
			if (!flood_frames(d, now))
				goto dead;
		} else {
			want_write(d, false);
		}
	}
	return;
dead:
	dev_close(d, true);
	schedule(d, stopping ? INT64_MAX / 2 : now + 1000000);
}

/* A device's deadline came. */
static void
dev_due(struct dev *d, int64_t now)
{
	if (stopping) {
		schedule(d, INT64_MAX / 2);
		return;
	}
	switch (d->state) {
	case S_IDLE:
		if (inflight >= 1024) {
			schedule(d, now + 5000);
			return;
		}
		dev_connect(d, now);
		return;
	case S_CONNECTING:
		/* connect timed out */
		dev_close(d, false);
		st.connect_failed++;
		schedule(d, now + 1000000);
		return;
	default:
		break;
	}
	expire_replies(d, now);
	if (d->up_until != 0 && now >= d->up_until) {
		dev_close(d, false);
		schedule(d, now);
		return;
	}
	int64_t next = now + iv_us(d);
	bool ok = true;
	switch (o.mis) {
	case MIS_IDLE:
		schedule(d, d->up_until ? d->up_until : INT64_MAX / 2);
		return;
	case MIS_SLOW:
		if (d->txoff < d->txlen) {
			ssize_t w = send(d->fd, d->tx + d->txoff, 1, MSG_NOSIGNAL);
			if (w == 1) {
				d->txoff++;
				st.bytes++;
			} else if (w < 0 && errno != EAGAIN && errno != EINTR)
				ok = false;
			next = now + SLOW_STEP_US;
		} else {
			/* queue the next report to trickle out */
			uint8_t f[TK_SIM_FRAME_MAX];
			struct tk_sim_pos p;
			enum tk_sim_alarm a;
			enum tk_sim_kind k = report_kind(&a);
			position(d, tk_wall_ms(), (double)(now - t0_us) / 1e6, &p);
			size_t n = tk_sim_frame(&d->sd, k, &p, a, f, sizeof(f));
			memcpy(d->tx, f, n);
			d->txoff = 0;
			d->txlen = (uint32_t)n;
			st.frames++;
			count_kind(k);
			next = now + SLOW_STEP_US;
		}
		break;
	case MIS_OVERSIZE:
	case MIS_RANDOM: {
		uint8_t b[4096];
		if (o.mis == MIS_OVERSIZE && d->mis_sent >= OVERSIZE_TOTAL) {
			next = d->up_until ? d->up_until : INT64_MAX / 2;
			break;
		}
		size_t n = junk(d, b, sizeof(b));
		ssize_t w = send(d->fd, b, n, MSG_NOSIGNAL);
		if (w > 0) {
			d->mis_sent += (uint32_t)w;
			st.bytes += (uint64_t)w;
			st.frames++;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR)
			ok = false;
		next = o.mis == MIS_OVERSIZE ? now + 10000 : now + iv_us(d);
		break;
	}
	default:
		if (o.interval == 0) {
			next = now + 1000000;
			break;
		}
		if (now >= d->hb_due) {
			ok = send_frame(d, TK_SIM_HEARTBEAT, TK_SIM_A_SOS, now);
			d->hb_due += (int64_t)llround(o.heartbeat * 1e6);
		}
		if (ok) {
			enum tk_sim_alarm a;
			enum tk_sim_kind k = report_kind(&a);
			ok = send_frame(d, k, a, now);
		}
		/* keep the cadence even if the loop ran late */
		next = d->due + iv_us(d);
		if (next <= now)
			next = now + 1;
		break;
	}
	if (!ok) {
		dev_close(d, true);
		next = now + 1000000;
	}
	if (d->up_until != 0 && next > d->up_until)
		next = d->up_until;
	schedule(d, next);
}

static int64_t
stall_us(void)
{
	double s = 3 * o.interval;
	return (int64_t)((s > 30 ? s : 30) * 1e6);
}

static bool
limits_reached(int64_t now)
{
	static uint64_t last_frames;
	static int64_t last_progress;

	if (got_signal)
		return true;
	if (o.duration > 0 && now >= run_end_us)
		return true;
	/* with -N only: give up when no frame went out for a long while (a
	 * server that never accepts must not keep us running for ever) */
	if (st.frames != last_frames || last_progress == 0) {
		last_frames = st.frames;
		last_progress = now;
	} else if (o.duration == 0 && now - last_progress > stall_us()) {
		warnx("no frame sent for %.0f s: stopping", (double)stall_us() / 1e6);
		return true;
	}
	return o.frames_max > 0 && st.frames >= (uint64_t)o.frames_max;
}

static int
resolve(void)
{
	struct addrinfo hints = {0}, *res;
	hints.ai_socktype = o.udp ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_family = o.src_lo != 0 ? AF_INET : AF_UNSPEC;
	int r = getaddrinfo(o.host, o.port, &hints, &res);
	if (r != 0) {
		warnx("%s port %s: %s", o.host, o.port, gai_strerror(r));
		return -1;
	}
	memcpy(&srv, res->ai_addr, res->ai_addrlen);
	srvlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && !o.quiet && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)o.ndev + 16 > rl.rlim_cur)
		warnx("%ld devices but only %llu file descriptors: some will not connect "
		    "(split the run over several processes)", o.ndev,
		    (unsigned long long)rl.rlim_cur);
}

static int
run_live(void)
{
	if (resolve() != 0)
		return TK_EXIT_IO;
	raise_nofile();
	loop = tk_loop_new();
	if (loop == NULL)
		err(TK_EXIT_IO, "event loop");
	cli_harden(TK_HARDEN_NET);

	t0_us = now_us();
	run_end_us = o.duration > 0 ? t0_us + (int64_t)llround(o.duration * 1e6) : INT64_MAX;
	double ramp_us = 1e6 / o.ramp;
	for (uint32_t i = 0; i < (uint32_t)o.ndev; i++) {
		devs[i].due = t0_us + (int64_t)(i * ramp_us);
		hpush(i);
	}
	int64_t stop_at = 0;
	for (;;) {
		int64_t now = now_us();
		if (!stopping && limits_reached(now)) {
			stopping = true;
			stop_at = now;
			for (uint32_t i = 0; i < (uint32_t)o.ndev; i++)
				if (devs[i].fd >= 0 && devs[i].state == S_UP && o.interval == 0)
					want_write(&devs[i], devs[i].txlen > 0);
		}
		if (stopping) {
			/* grace: until every awaited reply came, or the time is up */
			bool waiting = false;
			for (uint32_t i = 0; i < (uint32_t)o.ndev && !waiting; i++)
				if (devs[i].nexp > 0 || devs[i].txlen > devs[i].txoff)
					waiting = devs[i].fd >= 0;
			if (!waiting || now - stop_at >= (int64_t)llround(o.grace * 1e6) || got_signal > 1)
				break;
		}
		int budget = 20000;
		while (heapn > 0 && devs[heap[0]].due <= now && budget-- > 0) {
			struct dev *d = &devs[hpop()];
			dev_due(d, now);
		}
		int timeout = 100;
		if (heapn > 0 && !stopping) {
			int64_t w = devs[heap[0]].due - now_us();
			timeout = w <= 0 ? 0 : w < 100000 ? (int)((w + 999) / 1000) : 100;
		}
		if (stopping && timeout > 20)
			timeout = 20;
		if (tk_loop_once(loop, timeout) < 0 && errno != EINTR)
			err(TK_EXIT_IO, "event loop");
	}
	for (uint32_t i = 0; i < (uint32_t)o.ndev; i++)
		if (devs[i].fd >= 0 || devs[i].nexp > 0)
			dev_close(&devs[i], false);
	tk_loop_free(loop);
	return TK_EXIT_OK;
}

/* ---- report ---------------------------------------------------------------- */

static void
report(FILE *f, double elapsed)
{
	if (login_lat.n > 0)
		qsort(login_lat.v, login_lat.n, sizeof(uint32_t), cmp_u32);
	if (reply_lat.n > 0)
		qsort(reply_lat.v, reply_lat.n, sizeof(uint32_t), cmp_u32);
	if (f == NULL)
		return;
	fprintf(f, "{\"dialect\":\"%s\",\"transport\":\"%s\",\"devices\":%ld,"
	    "\"misbehave\":\"%s\",\"elapsed_s\":%.3f,"
	    "\"connects\":%llu,\"connect_failed\":%llu,\"max_connected\":%llu,"
	    "\"closed_by_peer\":%llu,\"frames\":%llu,\"bytes\":%llu,\"frames_per_s\":%.1f,"
	    "\"logins\":%llu,\"heartbeats\":%llu,\"positions\":%llu,\"alarms\":%llu,"
	    "\"replies_ok\":%llu,\"replies_wrong\":%llu,\"replies_missing\":%llu,"
	    "\"commands\":%llu,\"answers\":%llu,\"alarm_acks\":%llu,\"unknown_rx\":%llu,\"dropped\":%llu,"
	    "\"rx_bytes\":%llu,"
	    "\"login_latency_us\":{\"n\":%zu,\"p50\":%u,\"p99\":%u,\"max\":%u},"
	    "\"reply_latency_us\":{\"n\":%zu,\"p50\":%u,\"p99\":%u,\"max\":%u}}\n",
	    o.mix ? "mix" : tk_dialect_name(o.dialect), o.out ? "file" : o.udp ? "udp" : "tcp",
	    o.ndev, mis_names[o.mis], elapsed,
	    (unsigned long long)st.connects, (unsigned long long)st.connect_failed,
	    (unsigned long long)st.max_up, (unsigned long long)st.closed_by_peer,
	    (unsigned long long)st.frames, (unsigned long long)st.bytes,
	    elapsed > 0 ? (double)st.frames / elapsed : 0.0,
	    (unsigned long long)st.logins, (unsigned long long)st.heartbeats,
	    (unsigned long long)st.positions, (unsigned long long)st.alarms,
	    (unsigned long long)st.ok, (unsigned long long)st.wrong,
	    (unsigned long long)st.missing, (unsigned long long)st.commands,
	    (unsigned long long)st.answers, (unsigned long long)st.alarm_acks,
	    (unsigned long long)st.unknown_rx,
	    (unsigned long long)st.dropped, (unsigned long long)st.rx_bytes,
	    login_lat.n, lat_pct(&login_lat, 50), lat_pct(&login_lat, 99),
	    lat_pct(&login_lat, 100),
	    reply_lat.n, lat_pct(&reply_lat, 50), lat_pct(&reply_lat, 99),
	    lat_pct(&reply_lat, 100));
}

static void
summary(double elapsed)
{
	const char *dn = o.mix ? "mix" : tk_dialect_name(o.dialect);
	if (o.out != NULL) {
		warnx("%ld %s devices, %llu frames (%llu logins, %llu heartbeats, %llu positions, "
		    "%llu alarms), %llu bytes", o.ndev, dn, (unsigned long long)st.frames,
		    (unsigned long long)st.logins, (unsigned long long)st.heartbeats,
		    (unsigned long long)st.positions, (unsigned long long)st.alarms,
		    (unsigned long long)st.bytes);
		return;
	}
	warnx("%ld %s devices over %s to %s port %s, %.1f s%s%s", o.ndev, dn,
	    o.udp ? "udp" : "tcp", o.host, o.port, elapsed,
	    o.mis ? ", misbehaving: " : "", o.mis ? mis_names[o.mis] : "");
	warnx("connected %llu (max at once %llu, failed %llu, closed by server %llu)",
	    (unsigned long long)st.connects, (unsigned long long)st.max_up,
	    (unsigned long long)st.connect_failed, (unsigned long long)st.closed_by_peer);
	warnx("sent %llu frames (%.0f/s), %llu bytes; %llu commands answered",
	    (unsigned long long)st.frames, elapsed > 0 ? (double)st.frames / elapsed : 0.0,
	    (unsigned long long)st.bytes, (unsigned long long)st.commands);
	warnx("replies ok %llu, wrong %llu, missing %llu",
	    (unsigned long long)st.ok, (unsigned long long)st.wrong,
	    (unsigned long long)st.missing);
	if (login_lat.n > 0)
		warnx("login latency p50 %u us, p99 %u us (n=%zu)", lat_pct(&login_lat, 50),
		    lat_pct(&login_lat, 99), login_lat.n);
}

/* ---- options ------------------------------------------------------------------ */

static uint32_t
parse_ipv4(const char *s)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return 0;
	return ntohl(a.s_addr);
}

static void
parse_source(const char *s)
{
	char lo[64];
	const char *dash = strchr(s, '-');
	size_t n = dash ? (size_t)(dash - s) : strlen(s);
	if (n >= sizeof(lo))
		cli_usage_error(usage_text, "--source %s: not an IPv4 address or range", s);
	memcpy(lo, s, n);
	lo[n] = '\0';
	o.src_lo = parse_ipv4(lo);
	o.src_hi = dash ? parse_ipv4(dash + 1) : o.src_lo;
	if (o.src_lo == 0 || o.src_hi == 0 || o.src_hi < o.src_lo || o.src_hi - o.src_lo > 65535)
		cli_usage_error(usage_text, "--source %s: not an IPv4 address or range "
		    "(at most 65536 addresses)", s);
}

static void
parse_start(const char *s)
{
	char buf[64];
	const char *c = strchr(s, ',');
	if (c == NULL || (size_t)(c - s) >= sizeof(buf))
		cli_usage_error(usage_text, "--start %s: expected LAT,LON", s);
	memcpy(buf, s, (size_t)(c - s));
	buf[c - s] = '\0';
	o.start_lat = parse_double("--start", buf, -85, 85);
	o.start_lon = parse_double("--start", c + 1, -180, 180);
}

static void
load_route(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err(TK_EXIT_IO, "%s", path);
	size_t n;
	char *buf = cli_read_file(fd, path, 64u << 20, &n);
	close(fd);
	char e[200];
	int rc = tk_sim_route_geojson(&route, buf, n, e, sizeof(e));
	free(buf);
	if (rc != 0)
		errx(TK_EXIT_DATA, "%s: %s", path, e);
	have_route = true;
}

enum {
	OPT_CHECK = 256, OPT_GRACE, OPT_HEARTBEAT, OPT_MISBEHAVE, OPT_RAMP, OPT_RAW,
	OPT_RECONNECT, OPT_SOURCE, OPT_SPEED, OPT_START, OPT_STATS
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"alarms", required_argument, NULL, 'a'},
		{"dialect", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"host", required_argument, NULL, 'H'},
		{"interval", required_argument, NULL, 'i'},
		{"frames", required_argument, NULL, 'N'},
		{"devices", required_argument, NULL, 'n'},
		{"output", required_argument, NULL, 'o'},
		{"port", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"route", required_argument, NULL, 'r'},
		{"seed", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'T'},
		{"udp", no_argument, NULL, 'u'},
		{"version", no_argument, NULL, 'V'},
		{"check", no_argument, NULL, OPT_CHECK},
		{"grace", required_argument, NULL, OPT_GRACE},
		{"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
		{"misbehave", required_argument, NULL, OPT_MISBEHAVE},
		{"ramp", required_argument, NULL, OPT_RAMP},
		{"raw", no_argument, NULL, OPT_RAW},
		{"reconnect", required_argument, NULL, OPT_RECONNECT},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"speed", required_argument, NULL, OPT_SPEED},
		{"start", required_argument, NULL, OPT_START},
		{"stats-json", required_argument, NULL, OPT_STATS},
		{NULL, 0, NULL, 0}
	};
	int c;
	bool have_T = false;

	cli_init(argc, argv);
	o.dialect = TK_D_TK103;
	o.ndev = 1;
	o.host = "127.0.0.1";
	o.interval = 10;
	o.heartbeat = 60;
	o.grace = 2;
	o.speed = 40;
	o.ramp = 5000;
	o.seed = 1;
	o.start_lat = 52.52;
	o.start_lon = 13.405;
	while ((c = getopt_long(argc, argv, "a:d:hH:i:N:n:o:p:qr:s:T:uV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.alarms = parse_double("-a", optarg, 0, 1);
			break;
		case 'd':
			if (strcmp(optarg, "mix") == 0)
				o.mix = true;
			else if (tk_dialect_parse(optarg, &o.dialect) != 0 ||
			    !tk_dialect_decodable(o.dialect))
				cli_usage_error(usage_text, "-d %s: expected xexun, tk103, gps103, "
				    "xexun2 or mix", optarg);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit(cli_close_stdout(TK_EXIT_OK));
		case 'H':
			o.host = optarg;
			break;
		case 'i':
			o.interval = parse_double("-i", optarg, 0, 86400);
			if (o.interval > 0 && o.interval < 0.001)
				cli_usage_error(usage_text, "-i %s: at least 0.001 (or 0)", optarg);
			break;
		case 'N':
			o.frames_max = cli_number("-N", optarg, 1, 1000000000000LL);
			break;
		case 'n':
			o.ndev = (long)cli_number("-n", optarg, 1, 1000000);
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'p':
			cli_number("-p", optarg, 1, 65535);
			o.port = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'r':
			o.route = optarg;
			break;
		case 's':
			o.seed = (uint64_t)cli_number("-s", optarg, 0, LLONG_MAX);
			break;
		case 'T':
			o.duration = parse_double("-T", optarg, 0.001, 31536000);
			have_T = true;
			break;
		case 'u':
			o.udp = true;
			break;
		case 'V':
			cli_version();
		case OPT_CHECK:
			o.check = true;
			break;
		case OPT_GRACE:
			o.grace = parse_double("--grace", optarg, 0, 600);
			break;
		case OPT_HEARTBEAT:
			o.heartbeat = parse_double("--heartbeat", optarg, 0, 86400);
			break;
		case OPT_MISBEHAVE: {
			size_t m;
			for (m = 1; m < sizeof(mis_names) / sizeof(mis_names[0]); m++)
				if (strcmp(optarg, mis_names[m]) == 0)
					break;
			if (m == sizeof(mis_names) / sizeof(mis_names[0]))
				cli_usage_error(usage_text, "--misbehave %s: expected idle, slow, "
				    "oversize, random or flood", optarg);
			o.mis = (enum mis)m;
			break;
		}
		case OPT_RAMP:
			o.ramp = parse_double("--ramp", optarg, 1, 1000000);
			break;
		case OPT_RAW:
			o.raw = true;
			break;
		case OPT_RECONNECT:
			o.reconnect = parse_double("--reconnect", optarg, 0.01, 86400);
			break;
		case OPT_SOURCE:
			parse_source(optarg);
			break;
		case OPT_SPEED:
			o.speed = parse_double("--speed", optarg, 0, 1000);
			break;
		case OPT_START:
			parse_start(optarg);
			break;
		case OPT_STATS:
			o.stats_json = optarg;
			break;
		default:
			cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc)
		cli_usage_error(usage_text, "unexpected argument: %s", argv[optind]);
	if (o.out == NULL && o.port == NULL)
		cli_usage_error(usage_text, "a port (-p) is required unless writing a file (-o)");
	if (o.out != NULL && (o.udp && o.raw))
		cli_usage_error(usage_text, "--raw writes bytes: -u has no meaning there");
	if (o.out != NULL && (o.mis != MIS_NONE || o.reconnect > 0 || o.src_lo != 0 || o.check))
		cli_usage_error(usage_text, "-o does not combine with --misbehave, --reconnect, "
		    "--source or --check");
	if (o.raw && o.out == NULL)
		cli_usage_error(usage_text, "--raw needs -o");
	if (o.out != NULL && o.interval == 0)
		cli_usage_error(usage_text, "-o needs an interval above 0");
	if (o.mis == MIS_SLOW && o.interval == 0)
		o.interval = 1;
	if (!have_T && o.frames_max == 0)
		o.duration = 10;
	if (o.stats_json != NULL && o.out != NULL && strcmp(o.out, "-") == 0 &&
	    strcmp(o.stats_json, "-") == 0)
		cli_usage_error(usage_text, "-o - and --stats-json - both want stdout");

	rng = o.seed * 0x2545F4914F6CDD1Dull + 1;
	if (o.route != NULL)
		load_route(o.route);
	FILE *sj = NULL;
	if (o.stats_json != NULL) {
		sj = strcmp(o.stats_json, "-") == 0 ? stdout : fopen(o.stats_json, "w");
		if (sj == NULL)
			err(TK_EXIT_IO, "%s", o.stats_json);
	}
	devs = calloc((size_t)o.ndev, sizeof(*devs));
	heap = calloc((size_t)o.ndev, sizeof(*heap));
	if (devs == NULL || heap == NULL)
		err(TK_EXIT_IO, "%ld devices", o.ndev);
	for (uint32_t i = 0; i < (uint32_t)o.ndev; i++)
		dev_setup(i);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int64_t start = now_us();
	int rc = o.out != NULL ? run_file() : run_live();
	double elapsed = (double)(now_us() - start) / 1e6;

	report(sj, elapsed);
	if (sj != NULL && sj != stdout && fclose(sj) != 0) {
		warn("%s", o.stats_json);
		rc = rc ? rc : TK_EXIT_IO;
	}
	if (!o.quiet)
		summary(elapsed);
	if (rc == TK_EXIT_OK && o.out == NULL) {
		if (st.connects == 0) {
			warnx("no device could connect to %s port %s", o.host, o.port);
			rc = TK_EXIT_IO;
		} else if (o.check && (st.wrong > 0 || st.missing > 0 || st.connect_failed > 0)) {
			rc = TK_EXIT_DATA;
		}
	}
	free(login_lat.v);
	free(reply_lat.v);
	for (uint32_t i = 0; i < (uint32_t)o.ndev; i++)
		free(devs[i].tx);
	free(devs);
	free(heap);
	if (have_route)
		tk_sim_route_free(&route);
	return cli_close_stdout(rc);
}
