/*
 * tk-cmd: one-off commands to trackers.  Builds the bytes from the command
 * catalogue of libtk103 (tk_cmd.h), then prints them (--print, --sms) or
 * sends them through tk-listen's control socket (see CONTROL-PROTOCOL in
 * tk-listen(1)), optionally waiting for the device's answer (-w) or
 * queueing the command until the device next connects (--queue).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#define LIBBSD_NETBSD_VIS
#include <vis.h>

#include "cli.h"
#include "tk_fleet.h"
#include "tk_loop.h"
#include "tk_nats.h"
#include "tk_ctl.h"

static const char usage_text[] =
    "usage: tk-cmd [-aprRst] [-d dialect] [-P password] [-q[ttl]] [-S socket]\n"
    "              [-w duration] device command [parameter ...]\n"
    "       tk-cmd -s [-d dialect] [-P password] command [parameter ...]\n"
    "       tk-cmd -l [-as] [-d dialect]\n"
    "       tk-cmd -L [-S socket] [device]\n"
    "       tk-cmd -C qid [-S socket]\n"
    "       tk-cmd -D | -T [-S socket]\n"
    "       tk-cmd --nats urls [-D | [-w duration] [-q[ttl]] device command ...]\n";

static const char help_text[] =
    "Send a command to a TK103-family tracker, or print its bytes.\n"
    "\n"
    "  -a, --alt            tk103: the alternative [begin]sms2,...,[end] syntax;\n"
    "                       gt06: DYD,<password># and HFYD,<password>#\n"
    "  -C, --cancel QID     cancel a queued command\n"
    "  -D, --devices        list the devices online in tk-listen (id, dialect,\n"
    "                       transport, peer, connection, since, last frame, frames)\n"
    "  -d, --dialect NAME   tk103, gps103, xexun, xexun2, h02 or gt06 (default:\n"
    "                       asked of tk-listen for an online device)\n"
    "  -l, --list           print the command catalogue (of one dialect with -d)\n"
    "  -L, --pending        list the queued commands (of one device)\n"
    "  -p, --print          print the bytes (escaped) instead of sending them\n"
    "  -P, --password PW    device password for the commands that carry one\n"
    "                       (6 digits, default 123456)\n"
    "  -q, --queue[=TTL]    hold the command in tk-listen until the device next\n"
    "                       connects, for TTL (default 1d)\n"
    "  -r, --raw            allow delimiter and control characters in custom text\n"
    "  -R, --raw-bytes      with --print: the bytes as they are, no escaping\n"
    "  -s, --sms            SMS text of the Xexun (-d xexun) or Coban (-d gps103)\n"
    "                       configuration set; implies --print; no device argument\n"
    "  -S, --socket PATH    tk-listen's control socket (default $TK_LISTEN_SOCKET)\n"
    "  -t, --semicolon      gps103: end the command with ';'\n"
    "  -T, --stats          print tk-listen's counters (name value)\n"
    "  -w, --wait DURATION  wait for the device's answer and print it as JSON\n"
    "      --nats URLS      reach the device through NATS, whichever tk-listen\n"
    "                       holds it (-D: the whole fleet's registry)\n"
    "      --nats-ca, --nats-creds, --nats-user: as tk-listen(1)\n"
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "Durations (TTL, -w, track INTERVAL): seconds, or 30s, 5m, 1h, 2d.\n"
    "h02 commands carry their send time (HHMMSS, UTC): $TK_CMD_TIME fixes it.\n"
    "Exit status: 0 sent (or answered with -w), 2 usage or bad parameters,\n"
    "3 I/O error, 5 device offline or unknown, 6 no answer in time, 7 refused by\n"
    "tk-listen.  See tk-cmd(1) for the catalogue.\n";

#define DEFAULT_TTL	86400

/* $TK_CMD_TIME: the send time h02 commands carry (HHMMSS), "" for the clock */
static char cmd_time[7];
#define TK_CTL_LINE	TK_CTL_LINE_MAX
#define REPLY_MAX	(2 * TK_CTL_LINE + 64)

struct opts {
	bool		 alt, list, pending, print, raw, raw_bytes, sms, semicolon, queue, devices, stats;
	bool		 have_dialect;
	enum tk_dialect	 dialect;
	const char	*password, *sock;
	long		 wait;		/* -1: don't wait */
	long		 ttl;
	const char	*cancel;
};

static struct opts o = {.wait = -1, .ttl = DEFAULT_TTL};

/* --nats: the bus instead of the control socket */
static struct tk_nats_opts no = {.wait_connect = true, .replicas = 1};
static struct tk_nats *bus;

static enum tk_harden_profile
net_profile(void)
{
	return bus != NULL ? TK_HARDEN_CLIENT : TK_HARDEN_NET;
}

/* Device ids of the control protocol: 1..31 of [A-Za-z0-9_-]. */
static bool
id_ok(const char *s)
{
	return tk_ctl_valid_id(s, strlen(s));
}

/* ---- the control socket ------------------------------------------------ */

struct conn {
	int	 fd;
	char	 buf[REPLY_MAX];
	size_t	 len;
};

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ctl_connect(struct conn *c)
{
	struct sockaddr_un sun;

	if (no.urls != NULL) {
		char e[256];
		c->fd = -1;
		c->len = 0;
		if (bus == NULL && (bus = tk_nats_new(&no, e, sizeof(e))) == NULL) {
			warnx("%s", e);
			return -1;
		}
		return 0;
	}

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(o.sock) >= sizeof(sun.sun_path)) {
		warnx("%s: socket path too long", o.sock);
		return -1;
	}
	strlcpy(sun.sun_path, o.sock, sizeof(sun.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		warn("socket");
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTSOCK)
			warnx("%s: %s (is tk-listen running with -S %s?)", o.sock,
			    strerror(errno), o.sock);
		else
			warn("%s", o.sock);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->len = 0;
	return 0;
}

static int bus_request(struct conn *, const char *, size_t);

static int
ctl_write(struct conn *c, const char *s, size_t n)
{
	if (bus != NULL)
		return bus_request(c, s, n);
	while (n > 0) {
		ssize_t k = write(c->fd, s, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			warn("%s: write", o.sock);
			return -1;
		}
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Read one line (without '\n', NUL terminated into line) before the
 * deadline (ms, monotonic; -1: 30 s from now).  Returns 1 with a line, 0 on
 * timeout, -1 on error or EOF (with a message).
 */
static int
ctl_line(struct conn *c, int64_t deadline, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl != NULL) {
			size_t l = (size_t)(nl - c->buf);
			if (l >= cap) {
				warnx("%s: reply line too long", o.sock);
				return -1;
			}
			memcpy(line, c->buf, l);
			line[l] = '\0';
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return 1;
		}
		if (c->len == sizeof(c->buf)) {
			warnx("%s: reply line too long", o.sock);
			return -1;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		if (bus != NULL) {
			/* watched frames come from the subscription */
			tk_nats_poll(bus, left > 1000 ? 1000 : (int)left);
			continue;
		}
		struct pollfd p = {c->fd, POLLIN, 0};
		int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn("poll");
			return -1;
		}
		if (r == 0)
			continue;
		ssize_t k = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0) {
			warn("%s: read", o.sock);
			return -1;
		}
		if (k == 0) {
			warnx("%s: tk-listen closed the connection", o.sock);
			return -1;
		}
		c->len += (size_t)k;
	}
}

/* An ERR line to an exit code, with a message. */
static int
err_exit(const char *line, const char *dev)
{
	const char *code = line + 4;
	if (strncmp(code, "offline", 7) == 0) {
		warnx("%s: device offline%s", dev ? dev : "?", o.queue && !o.have_dialect ?
		    ": give -d DIALECT to queue for it" : "");
		return TK_EXIT_OFFLINE;
	}
	if (strncmp(code, "unknown", 7) == 0) {
		warnx("%s: unknown device (never seen by tk-listen)%s", dev ? dev : "?",
		    o.queue && !o.have_dialect ? ": give -d DIALECT to queue for it" : "");
		return TK_EXIT_OFFLINE;
	}
	if (strncmp(code, "nocmd", 5) == 0) {
		warnx("no such queued command: %s", line + 10);
		return TK_EXIT_DATA;
	}
	warnx("tk-listen refused: %s", code);
	return TK_EXIT_REFUSED;
}

/* ---- the bus ------------------------------------------------------------ */

/*
 * With --nats the requests go where the fleet is: LIST to the registry
 * (tk_devices), SEND to the instance holding the device (tk.ctl.<name>),
 * QUEUE to that instance when the device is online, else into the
 * tk_cmdq bucket (every instance mirrors it; the one the device comes to
 * sends it), PENDING and CANCEL to that bucket.  The replies are the
 * control socket's lines, put where ctl_line reads them.
 */

static void
append(struct conn *c, const char *p, size_t n)
{
	if (n > sizeof(c->buf) - c->len)
		n = sizeof(c->buf) - c->len;
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void appendf(struct conn *, const char *, ...) __attribute__((format(printf, 2, 3)));

static void
appendf(struct conn *c, const char *fmt, ...)
{
	char t[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (n > 0)
		append(c, t, (size_t)n < sizeof(t) ? (size_t)n : sizeof(t) - 1);
}

struct lister {
	int	(*cb)(const char *, void *);
	void	*arg;
	size_t	 n;
	const char *id;		/* PENDING: one device's, or NULL */
	bool	 offline;	/* LIST ID: an offline device too (transport "-") */
	uint64_t qid;		/* CANCEL: the one to find */
	char	 key[TK_ID_MAX + 32];	/* CANCEL: its key */
};

/* one registry entry as a LIST line: DEV id dialect transport peer instance since last frames */
static void
list_one(void *arg, const char *key, const char *v, size_t n)
{
	struct lister *l = arg;
	struct tk_fleet_value fv;
	char since[32], last[32], line[512];

	if (tk_fleet_value_parse(v, n, &fv) != 0 || (!fv.online && !l->offline) ||
	    !id_ok(key))
		return;
	if (!fv.online)
		strlcpy(fv.transport, "-", sizeof(fv.transport));
	tk_fmt_time(since, fv.since);
	tk_fmt_time(last, fv.last);
	/* a name with blanks would shift the columns */
	for (char *p = fv.instance; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			*p = '_';
	snprintf(line, sizeof(line), "DEV %s %s %s %s %s %s %s %llu", key, fv.dialect,
	    fv.transport, fv.peer, fv.instance, since, last, (unsigned long long)fv.frames);
	if (l->cb != NULL)
		l->cb(line, l->arg);
	l->n++;
}

/* one queued command as a PENDING line: CMD qid id expires hex */
static void
pending_one(void *arg, const char *key, const char *v, size_t n)
{
	struct lister *l = arg;
	char id[TK_ID_MAX], t[32], line[TK_CTL_LINE + 128];
	static uint8_t bytes[TK_CTL_SEND_MAX];
	uint64_t qid;
	int64_t exp;
	size_t bn;

	if (tk_fleet_cmd_key(key, id, sizeof(id), &qid) != 0 ||
	    tk_fleet_cmd_parse(v, n, &exp, bytes, sizeof(bytes), &bn) != 0 ||
	    exp <= tk_wall_ms() || (l->id != NULL && strcmp(l->id, id) != 0))
		return;
	if (l->qid != 0) {
		if (qid == l->qid)
			snprintf(l->key, sizeof(l->key), "%s", key);
		return;
	}
	tk_fmt_time(t, exp);
	int k = snprintf(line, sizeof(line), "CMD %llu %s %s ", (unsigned long long)qid, id, t);
	tk_hex_encode(bytes, bn, line + k);
	line[k + 2 * (int)bn] = '\0';
	if (l->cb != NULL)
		l->cb(line, l->arg);
	l->n++;
}

static void
on_watched(void *arg, const char *subject, const char *reply, const char *data, size_t len)
{
	struct conn *c = arg;
	(void)subject;
	(void)reply;
	append(c, "FRAME ", 6);
	append(c, data, len);
	if (len == 0 || data[len - 1] != '\n')
		append(c, "\n", 1);
}

/* QUEUE id ttl hex into the tk_cmdq bucket: key <id>.<qid>, qid fleet-wide */
static int
bus_queue(struct conn *c, const char *id, long ttl, const char *hex)
{
	static uint8_t bytes[TK_CTL_SEND_MAX];
	struct tk_buf v = {NULL, 0, 0};
	char key[TK_ID_MAX + 32], e[256];
	long n = tk_hex_decode(hex, strlen(hex), bytes, sizeof(bytes));
	int64_t exp = tk_wall_ms() + (int64_t)ttl * 1000;

	if (n <= 0) {
		appendf(c, "ERR badrequest bad hex\n");
		return 0;
	}
	if (tk_fleet_cmd_json(&v, id, exp, bytes, (size_t)n) != 0) {
		warnx("out of memory");
		return -1;
	}
	for (int tries = 0; tries < 5; tries++) {
		/* ms since the epoch and a random part: unique in practice, and
		 * the bucket refuses a key that exists */
		uint64_t qid = (uint64_t)tk_wall_ms() * 1000 + arc4random_uniform(1000);
		snprintf(key, sizeof(key), "%s.%llu", id, (unsigned long long)qid);
		if (tk_nats_kv_create(bus, TK_NATS_CMDQ, key, v.p, v.len, e, sizeof(e)) == 0) {
			appendf(c, "OK queued %llu\n", (unsigned long long)qid);
			free(v.p);
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	free(v.p);
	if (strstr(e, "maximum bytes") != NULL || strstr(e, "resource limits") != NULL) {
		appendf(c, "ERR full %d commands queued\n", TK_CTL_QUEUE_MAX);
		return 0;
	}
	warnx("%s", e);
	return -1;
}

/* PENDING [id] and CANCEL qid: the tk_cmdq bucket */
static int
bus_pending(struct conn *c, const char *req, int (*cb)(const char *, void *), void *arg)
{
	struct lister l = {cb, arg, 0, NULL, false, 0, ""};
	char id[TK_ID_MAX] = "", e[256];
	unsigned long long qid = 0;

	if (sscanf(req, "CANCEL %llu", &qid) == 1)
		l.qid = qid;
	else if (sscanf(req, "PENDING %31s", id) == 1)
		l.id = id;
	if (tk_nats_kv_each(bus, TK_NATS_CMDQ, pending_one, &l, e, sizeof(e)) != 0) {
		warnx("%s", e);
		return -1;
	}
	if (l.qid == 0) {
		appendf(c, "OK %zu\n", l.n);
		return 0;
	}
	if (l.key[0] == '\0') {
		appendf(c, "ERR nocmd %llu\n", qid);
		return 0;
	}
	if (tk_nats_kv_delete(bus, TK_NATS_CMDQ, l.key, e, sizeof(e)) != 0) {
		warnx("%s", e);
		return -1;
	}
	appendf(c, "OK cancelled %llu\n", qid);
	return 0;
}

/*
 * A control request over the bus: the device's instance from the
 * registry, the request to it on tk.ctl.<instance>.
 */
static int
bus_request(struct conn *c, const char *req, size_t n)
{
	char verb[16] = "", id[TK_ID_MAX] = "", hex[TK_CTL_LINE], e[256], subj[200];
	struct tk_buf v = {NULL, 0, 0}, r = {NULL, 0, 0};
	struct tk_fleet_value fv;
	long ttl = 0;

	if (sscanf(req, "%15s %31s", verb, id) < 1 || strcmp(verb, "STATS") == 0) {
		appendf(c, "ERR badrequest %s needs -S (one tk-listen)\n", verb);
		return 0;
	}
	if (strcmp(verb, "PENDING") == 0 || strcmp(verb, "CANCEL") == 0)
		return bus_pending(c, req, NULL, NULL);
	bool queue = strcmp(verb, "QUEUE") == 0;
	if (queue && sscanf(req, "QUEUE %31s %ld %8191s", id, &ttl, hex) != 3) {
		appendf(c, "ERR badrequest QUEUE\n");
		return 0;
	}
	int got = tk_nats_kv_get(bus, TK_NATS_REGISTRY, id, &v, e, sizeof(e));
	if (got < 0) {
		warnx("%s", e);
		return -1;
	}
	bool online = got > 0 && tk_fleet_value_parse(v.p, v.len, &fv) == 0 && fv.online;
	free(v.p);
	if (!online) {
		if (queue)
			return bus_queue(c, id, ttl, hex);
		appendf(c, "ERR %s %s\n", got ? "offline" : "unknown", id);
		return 0;
	}
	bool watch = n > 7 && memcmp(req + n - 7, " watch\n", 7) == 0;
	if (watch) {
		/* the instance streams nothing over the bus: the frames come here */
		snprintf(subj, sizeof(subj), "tk.frame.*.%s", id);
		if (tk_nats_subscribe(bus, subj, NULL, on_watched, c, e, sizeof(e)) != 0) {
			warnx("%s", e);
			return -1;
		}
	}
	/* SEND to the instance holding it (QUEUE too: it is online there) */
	static char line[TK_CTL_LINE + 64];
	int k = queue ? snprintf(line, sizeof(line), "SEND %s %s\n", id, hex) :
	    snprintf(line, sizeof(line), "%.*s\n", (int)(watch ? n - 7 : n - 1), req);
	if (k < 0 || (size_t)k >= sizeof(line)) {
		appendf(c, "ERR badrequest too long\n");
		return 0;
	}
	tk_nats_ctl_subject(subj, sizeof(subj), fv.instance);
	if (tk_nats_request(bus, subj, line, (size_t)k, 10000, &r, e, sizeof(e)) != 0) {
		free(r.p);
		if (errno == ENOENT) {
			/* its instance is gone: offline until it comes back somewhere */
			if (queue)
				return bus_queue(c, id, ttl, hex);
			appendf(c, "ERR offline %s\n", id);
			return 0;
		}
		warnx("%s", e);
		return -1;
	}
	if (queue && r.len >= 4 && memcmp(r.p, "ERR ", 4) == 0 &&
	    (strncmp(r.p + 4, "offline", 7) == 0 || strncmp(r.p + 4, "unknown", 7) == 0)) {
		/* it went meanwhile */
		free(r.p);
		return bus_queue(c, id, ttl, hex);
	}
	append(c, r.p ? r.p : "", r.len);
	free(r.p);
	return 0;
}

/* One request, the final OK/ERR line; data lines go to cb. */
static int
ctl_request(struct conn *c, const char *req, int (*cb)(const char *, void *), void *arg,
    char *final, size_t cap)
{
	char line[REPLY_MAX];
	int64_t deadline = now_ms() + 30000;

	if (bus != NULL && strcmp(req, "LIST\n") == 0) {
		/* the whole fleet: the registry */
		struct lister l = {cb, arg, 0, NULL, false, 0, ""};
		char e[256];
		if (tk_nats_kv_each(bus, TK_NATS_REGISTRY, list_one, &l, e, sizeof(e)) != 0) {
			warnx("%s", e);
			return -1;
		}
		snprintf(final, cap, "OK %zu", l.n);
		return 0;
	}
	if (bus != NULL && strncmp(req, "LIST ", 5) == 0) {
		/* one device, online or not: its registry entry */
		struct lister l = {cb, arg, 0, NULL, true, 0, ""};
		struct tk_buf v = {0};
		char e[256], id[TK_ID_MAX];
		strlcpy(id, req + 5, sizeof(id));
		id[strcspn(id, "\n")] = '\0';
		int got = tk_nats_kv_get(bus, TK_NATS_REGISTRY, id, &v, e, sizeof(e));
		if (got < 0) {
			warnx("%s", e);
			free(v.p);
			return -1;
		}
		if (got > 0)
			list_one(&l, id, (const char *)v.p, v.len);
		free(v.p);
		snprintf(final, cap, "OK %zu", l.n);
		return 0;
	}
	if (bus != NULL && strncmp(req, "PENDING", 7) == 0) {
		/* the data lines straight to cb, the final line to ctl_line */
		if (bus_pending(c, req, cb, arg) != 0)
			return -1;
		int r = ctl_line(c, deadline, final, cap);
		return r > 0 ? 0 : -1;
	}

	if (ctl_write(c, req, strlen(req)) != 0)
		return -1;
	for (;;) {
		int r = ctl_line(c, deadline, line, sizeof(line));
		if (r <= 0) {
			if (r == 0)
				warnx("%s: no reply from tk-listen", o.sock);
			return -1;
		}
		if (strncmp(line, "OK", 2) == 0 || strncmp(line, "ERR", 3) == 0) {
			strlcpy(final, line, cap);
			return 0;
		}
		if (cb != NULL && cb(line, arg) != 0)
			return -1;
	}
}

/* ---- the device's dialect from LIST -------------------------------------- */

struct find {
	const char	*id;
	bool		 found, online;
	enum tk_dialect	 d;
	char		 last[40];	/* when it was last heard from */
};

static int
find_dev(const char *line, void *arg)
{
	struct find *f = arg;
	char id[64], dn[32], tr[8], last[40];

	if (sscanf(line, "DEV %63s %31s %7s %*s %*s %*s %39s", id, dn, tr, last) == 4 &&
	    strcmp(id, f->id) == 0 && tk_dialect_parse(dn, &f->d) == 0) {
		f->found = true;
		f->online = strcmp(tr, "-") != 0;	/* "-": known, offline */
		strlcpy(f->last, last, sizeof(f->last));
	}
	return 0;
}

/* ---- output -------------------------------------------------------------- */

static struct cli_out out;

static void
emit_bytes(const uint8_t *p, size_t n)
{
	struct tk_buf *b = cli_out_reserve(&out, 4 * n + 2);
	if (o.raw_bytes) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
		return;
	}
	/* SMS: one message per line; otherwise one escaped line */
	size_t s = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || (o.sms && p[i] == '\n')) {
			b->len += (size_t)strvisx(b->p + b->len, (const char *)p + s, i - s,
			    VIS_CSTYLE | VIS_OCTAL | VIS_TAB | VIS_NL);
			b->p[b->len++] = '\n';
			s = i + 1;
		}
	}
}

static void
print_catalogue(void)
{
	for (int s = 0; s < TK_CS__COUNT; s++) {
		enum tk_cmd_set set = (enum tk_cmd_set)s;
		if (o.have_dialect && tk_cmd_set_dialect(set) != o.dialect)
			continue;
		if (o.alt && set != TK_CS_TK103_ALT && set != TK_CS_GT06_ALT)
			continue;
		if (o.sms && !tk_cmd_set_is_sms(set))
			continue;
		struct tk_buf *b = cli_out_reserve(&out, 256);
		int k = snprintf(b->p + b->len, b->cap - b->len, "%s:\n", tk_cmd_set_name(set));
		b->len += (size_t)k;
		for (int i = 0; i < TK_CMD__COUNT; i++) {
			struct tk_cmd_info in;
			if (tk_cmd_info(set, (enum tk_cmd_id)i, &in) != 0)
				continue;
			b = cli_out_reserve(&out, 1024);
			k = snprintf(b->p + b->len, b->cap - b->len,
			    "  %-34s %s\n  %-34s bytes: %s\n  %-34s answer: %s [%s]\n",
			    in.usage, tk_cmd_summary((enum tk_cmd_id)i), "", in.bytes, "",
			    in.answer, in.source);
			if (k > 0 && (size_t)k < b->cap - b->len)
				b->len += (size_t)k;
		}
	}
}

/* ---- waiting for the answer ---------------------------------------------- */

struct waitctx {
	const struct tk_cmd	*cmd;
	struct tk_session	 sess;
	struct tk_record	 rec;
	bool			 answered;
};

static void
print_record(const struct tk_record *r)
{
	struct tk_buf *b = cli_out_reserve(&out, TK_JSON_MAX(r->rawlen));
	if (tk_json_record(b, r, TK_JSON_RAW) != 0)
		warnx("answer too large to print");
}

static int
wait_emit(void *arg, struct tk_record *r)
{
	struct waitctx *w = arg;

	if (w->answered || !tk_cmd_answer_match(w->cmd, r))
		return 0;
	print_record(r);
	w->answered = true;
	return 1;
}

/* One FRAME line: decode it; is it the answer? */
static void
wait_frame(struct waitctx *w, const char *line)
{
	static uint8_t scratch[65536 + 64];
	struct tk_fline fl;
	char err[200], warn_[200];

	if (tk_fline_parse(line, strlen(line), &fl, scratch, sizeof(scratch), err,
	    sizeof(err)) != 0) {
		warnx("%s: bad frame line from tk-listen: %s", o.sock, err);
		return;
	}
	if (fl.kind != TK_F_FRAME)
		return;
	if (fl.id[0] && w->sess.id[0] == '\0')
		strlcpy(w->sess.id, fl.id, sizeof(w->sess.id));
	int n = tk_decode(&w->sess, fl.data, fl.len, fl.time_ms, &w->rec, wait_emit, w, err,
	    sizeof(err), warn_, sizeof(warn_));
	if (w->answered)
		return;
	if ((n <= 0) && tk_cmd_answer_frame(w->cmd, fl.data, fl.len)) {
		/* the decoder has no record for it: report the frame itself */
		tk_rec_init(&w->rec, fl.dialect_known ? fl.dialect : w->sess.dialect, TK_R_REPLY);
		tk_rec_set_id(&w->rec, fl.id, strlen(fl.id));
		w->rec.server_time = fl.time_ms;
		w->rec.raw = fl.data;
		w->rec.rawlen = fl.len;
		if (fl.dialect != TK_D_XEXUN2)
			tk_rec_str(&w->rec, "result", fl.data, fl.len);
		print_record(&w->rec);
		w->answered = true;
	}
}

/* ---- main ---------------------------------------------------------------- */

static int
pending_line(const char *line, void *arg)
{
	(void)arg;
	unsigned long long qid;
	char id[64], exp[64], hex[TK_CTL_LINE];
	uint8_t bytes[TK_CTL_LINE / 2];

	if (sscanf(line, "CMD %llu %63s %63s %8191s", &qid, id, exp, hex) != 4) {
		warnx("%s: unexpected line: %.80s", o.sock, line);
		return 0;
	}
	long n = tk_hex_decode(hex, strlen(hex), bytes, sizeof(bytes));
	if (n < 0) {
		warnx("%s: bad hex in: %.80s", o.sock, line);
		return 0;
	}
	struct tk_buf *b = cli_out_reserve(&out, 4 * (size_t)n + 256);
	int k = snprintf(b->p + b->len, b->cap - b->len, "%llu %s %s ", qid, id, exp);
	b->len += (size_t)k;
	b->len += tk_fline_escape(bytes, (size_t)n, b->p + b->len);
	b->p[b->len++] = '\n';
	return 0;
}

static int
run_pending(const char *dev)
{
	struct conn c;
	char req[128], final[REPLY_MAX];

	if (dev != NULL && !id_ok(dev))
		cli_usage_error(usage_text, "bad device id '%s'", dev);
	if (ctl_connect(&c) != 0)
		return TK_EXIT_IO;
	cli_harden(net_profile());
	snprintf(req, sizeof(req), "PENDING%s%s\n", dev ? " " : "", dev ? dev : "");
	if (ctl_request(&c, req, pending_line, NULL, final, sizeof(final)) != 0) {
		close(c.fd);
		return TK_EXIT_IO;
	}
	close(c.fd);
	if (strncmp(final, "ERR", 3) == 0)
		return err_exit(final, dev);
	return TK_EXIT_OK;
}

/* LIST and STATS: their data lines, less the DEV/STAT word, one per line. */
static int
query_line(const char *line, void *arg)
{
	const char *word = arg;
	size_t wl = strlen(word);

	if (strncmp(line, word, wl) != 0 || line[wl] != ' ') {
		warnx("%s: unexpected line: %.80s", o.sock, line);
		return 0;
	}
	size_t n = strlen(line + wl + 1);
	struct tk_buf *b = cli_out_reserve(&out, n + 1);
	memcpy(b->p + b->len, line + wl + 1, n);
	b->len += n;
	b->p[b->len++] = '\n';
	return 0;
}

static int
run_query(const char *req, const char *word)
{
	struct conn c;
	char final[REPLY_MAX];

	if (ctl_connect(&c) != 0)
		return TK_EXIT_IO;
	cli_harden(net_profile());
	if (ctl_request(&c, req, query_line, (void *)(uintptr_t)word, final,
	    sizeof(final)) != 0) {
		close(c.fd);
		return TK_EXIT_IO;
	}
	close(c.fd);
	if (strncmp(final, "ERR", 3) == 0)
		return err_exit(final, NULL);
	return TK_EXIT_OK;
}

static int
run_cancel(const char *qid)
{
	struct conn c;
	char req[128], final[REPLY_MAX];
	uint64_t v;

	if (tk_parse_uint(qid, strlen(qid), UINT64_MAX / 2, &v) != 0)
		cli_usage_error(usage_text, "bad queued command id '%s'", qid);
	if (ctl_connect(&c) != 0)
		return TK_EXIT_IO;
	cli_harden(net_profile());
	snprintf(req, sizeof(req), "CANCEL %llu\n", (unsigned long long)v);
	if (ctl_request(&c, req, NULL, NULL, final, sizeof(final)) != 0) {
		close(c.fd);
		return TK_EXIT_IO;
	}
	close(c.fd);
	if (strncmp(final, "ERR", 3) == 0)
		return err_exit(final, NULL);
	return TK_EXIT_OK;
}

static int
run_send(const char *dev, int argc, char **argv)
{
	struct conn c;
	struct tk_cmd cmd;
	enum tk_cmd_set set;
	char err[512], final[REPLY_MAX];
	static uint8_t bytes[TK_CMD_OUT_MAX];
	static char req[TK_CTL_LINE + 64];
	unsigned flags = (o.raw ? TK_CMD_F_RAW : 0) | (o.semicolon ? TK_CMD_F_SEMICOLON : 0);

	if (!id_ok(dev))
		cli_usage_error(usage_text, "bad device id '%s' (1-31 of A-Z a-z 0-9 _ -)", dev);
	if (ctl_connect(&c) != 0)
		return TK_EXIT_IO;
	cli_harden(net_profile());

	/* the dialect: given, or asked of tk-listen (which knows it for a
	 * device it has seen, online or not) */
	if (!o.have_dialect) {
		struct find f = {dev, false, false, TK_D_UNKNOWN, ""};
		char lreq[64];
		snprintf(lreq, sizeof(lreq), "LIST %s\n", dev);
		if (ctl_request(&c, lreq, find_dev, &f, final, sizeof(final)) != 0) {
			close(c.fd);
			return TK_EXIT_IO;
		}
		if (strncmp(final, "ERR", 3) == 0) {
			close(c.fd);
			return err_exit(final, dev);
		}
		if (!f.found) {
			close(c.fd);
			warnx("%s: unknown device (never seen by tk-listen)%s", dev,
			    o.queue ? ": give -d DIALECT to queue for it" : "");
			return TK_EXIT_OFFLINE;
		}
		if (!f.online && !o.queue) {
			close(c.fd);
			warnx("%s: device offline (last heard from %s); -q queues the command "
			    "for when it comes back", dev, f.last);
			return TK_EXIT_OFFLINE;
		}
		o.dialect = f.d;
	}
	if (tk_cmd_set_for(o.dialect, o.alt, false, &set) != 0) {
		close(c.fd);
		warnx("%s: no commands for dialect %s", dev, tk_dialect_name(o.dialect));
		return TK_EXIT_USAGE;
	}
	if (tk_cmd_parse(set, argc, argv, flags, &cmd, err, sizeof(err)) != 0) {
		close(c.fd);
		warnx("%s", err);
		return TK_EXIT_USAGE;
	}
	memcpy(cmd.hhmmss, cmd_time, sizeof(cmd_time));
	if (o.wait >= 0 && !tk_cmd_has_answer(set, cmd.id)) {
		close(c.fd);
		warnx("%s %s: no answer is known to wait for; send without -w",
		    tk_cmd_set_name(set), tk_cmd_name(cmd.id));
		return TK_EXIT_USAGE;
	}
	long n = tk_cmd_encode(&cmd, dev, o.password, bytes, sizeof(bytes), err, sizeof(err));
	if (n < 0) {
		close(c.fd);
		warnx("%s", err);
		return TK_EXIT_USAGE;
	}
	if (n > TK_CTL_SEND_MAX) {
		close(c.fd);
		warnx("command of %ld bytes: tk-listen sends at most 2048", n);
		return TK_EXIT_USAGE;
	}
	int k;
	if (o.queue)
		k = snprintf(req, sizeof(req), "QUEUE %s %ld ", dev, o.ttl);
	else
		k = snprintf(req, sizeof(req), "SEND %s ", dev);
	tk_hex_encode(bytes, (size_t)n, req + k);
	k += (int)(2 * n);
	k += snprintf(req + k, sizeof(req) - (size_t)k, "%s\n", o.wait >= 0 ? " watch" : "");
	if (ctl_write(&c, req, (size_t)k) != 0) {
		close(c.fd);
		return TK_EXIT_IO;
	}
	int64_t deadline = now_ms() + (o.wait >= 0 ? o.wait * 1000 : 30000);
	int r = ctl_line(&c, deadline > now_ms() + 30000 ? deadline : now_ms() + 30000, final,
	    sizeof(final));
	if (r <= 0) {
		if (r == 0)
			warnx("%s: no reply from tk-listen", o.sock);
		close(c.fd);
		return TK_EXIT_IO;
	}
	if (strncmp(final, "ERR", 3) == 0) {
		close(c.fd);
		return err_exit(final, dev);
	}
	if (strncmp(final, "OK queued ", 10) == 0) {
		struct tk_buf *b = cli_out_reserve(&out, 64);
		k = snprintf(b->p + b->len, b->cap - b->len, "%s\n", final + 10);
		b->len += (size_t)k;
		close(c.fd);
		return TK_EXIT_OK;
	}
	if (strncmp(final, "OK sent", 7) != 0) {
		close(c.fd);
		warnx("%s: unexpected reply: %.80s", o.sock, final);
		return TK_EXIT_IO;
	}
	if (o.wait < 0) {
		close(c.fd);
		return TK_EXIT_OK;
	}

	/* -w: FRAME lines until the answer or the deadline */
	static struct waitctx w;
	static char line[REPLY_MAX];
	w.cmd = &cmd;
	tk_session_init(&w.sess, o.dialect);
	strlcpy(w.sess.id, dev, sizeof(w.sess.id));
	w.answered = false;
	int rc = TK_EXIT_TIMEOUT;
	for (;;) {
		r = ctl_line(&c, deadline, line, sizeof(line));
		if (r < 0) {
			rc = TK_EXIT_IO;
			break;
		}
		if (r == 0) {
			warnx("%s: no answer within %ld s", dev, o.wait);
			break;
		}
		if (strncmp(line, "FRAME ", 6) != 0)
			continue;
		wait_frame(&w, line + 6);
		if (w.answered) {
			rc = TK_EXIT_OK;
			break;
		}
	}
	tk_session_free(&w.sess);
	close(c.fd);
	return rc;
}

static int
run_print(const char *dev, int argc, char **argv)
{
	struct tk_cmd cmd;
	enum tk_cmd_set set;
	char err[512];
	static uint8_t bytes[TK_CMD_OUT_MAX];
	unsigned flags = (o.raw ? TK_CMD_F_RAW : 0) | (o.semicolon ? TK_CMD_F_SEMICOLON : 0);

	if (tk_cmd_set_for(o.dialect, o.alt, o.sms, &set) != 0)
		cli_usage_error(usage_text, "%s has no %s command set",
		    tk_dialect_name(o.dialect), o.sms ? "SMS" : o.alt ? "alternative" : "");
	if (tk_cmd_parse(set, argc, argv, flags, &cmd, err, sizeof(err)) != 0) {
		warnx("%s", err);
		return TK_EXIT_USAGE;
	}
	memcpy(cmd.hhmmss, cmd_time, sizeof(cmd_time));
	long n = tk_cmd_encode(&cmd, dev, o.password, bytes, sizeof(bytes), err, sizeof(err));
	if (n < 0) {
		warnx("%s", err);
		return TK_EXIT_USAGE;
	}
	emit_bytes(bytes, (size_t)n);
	return TK_EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"alt",       no_argument,       NULL, 'a'},
		{"cancel",    required_argument, NULL, 'C'},
		{"devices",   no_argument,       NULL, 'D'},
		{"dialect",   required_argument, NULL, 'd'},
		{"help",      no_argument,       NULL, 'h'},
		{"list",      no_argument,       NULL, 'l'},
		{"pending",   no_argument,       NULL, 'L'},
		{"print",     no_argument,       NULL, 'p'},
		{"password",  required_argument, NULL, 'P'},
		{"queue",     optional_argument, NULL, 'q'},
		{"raw",       no_argument,       NULL, 'r'},
		{"raw-bytes", no_argument,       NULL, 'R'},
		{"sms",       no_argument,       NULL, 's'},
		{"socket",    required_argument, NULL, 'S'},
		{"stats",     no_argument,       NULL, 'T'},
		{"semicolon", no_argument,       NULL, 't'},
		{"version",   no_argument,       NULL, 'V'},
		{"wait",      required_argument, NULL, 'w'},
		CLI_NATS_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	int ch, rc;
	/* the operands, in order: options may follow them (GNU style), but a
	 * command parameter such as a negative time zone (-5) is an operand,
	 * and everything after "--" is */
	/* static: the array lives as long as the process (and LeakSanitizer
	 * sees it reachable on the early exits of --help and --version) */
	static char **operands;
	operands = calloc((size_t)argc + 1, sizeof(char *));
	int nop = 0;
	bool q_bare = false;	/* -q without an attached ttl */

	cli_init(argc, argv);
	if (operands == NULL)
		err(TK_EXIT_IO, "calloc");
	for (;;) {
		if (optind < argc && (argv[optind][0] != '-' || argv[optind][1] == '\0' ||
		    (argv[optind][1] >= '0' && argv[optind][1] <= '9'))) {
			operands[nop++] = argv[optind++];
			continue;
		}
		if (optind < argc && strcmp(argv[optind], "--") == 0) {
			for (optind++; optind < argc; optind++)
				operands[nop++] = argv[optind];
			break;
		}
		if ((ch = getopt_long(argc, argv, "+aC:Dd:hlLpP:q::rRsS:tTVw:", longopts,
		    NULL)) == -1)
			break;
		switch (ch) {
		case 'a':
			o.alt = true;
			break;
		case 'C':
			o.cancel = optarg;
			break;
		case 'D':
			o.devices = true;
			break;
		case 'd':
			if (tk_dialect_parse(optarg, &o.dialect) != 0 ||
			    !tk_dialect_decodable(o.dialect))
				cli_usage_error(usage_text,
				    "unknown dialect '%s' (tk103, gps103, xexun, xexun2, h02, gt06)", optarg);
			o.have_dialect = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs("\n", stdout);
			fputs(help_text, stdout);
			return cli_close_stdout(TK_EXIT_OK);
		case 'l':
			o.list = true;
			break;
		case 'L':
			o.pending = true;
			break;
		case 'p':
			o.print = true;
			break;
		case 'P':
			o.password = optarg;
			if (strlen(optarg) != 6 || strspn(optarg, "0123456789") != 6)
				cli_usage_error(usage_text, "password: 6 digits, not '%s'", optarg);
			break;
		case 'q':
			o.queue = true;
			q_bare = optarg == NULL;
			if (optarg != NULL)
				o.ttl = (long)cli_duration("-q", optarg, 1, 30 * 86400);
			break;
		case 'r':
			o.raw = true;
			break;
		case 'R':
			o.raw_bytes = true;
			break;
		case 's':
			o.sms = true;
			break;
		case 'S':
			o.sock = optarg;
			break;
		case 't':
			o.semicolon = true;
			break;
		case 'T':
			o.stats = true;
			break;
		case 'V':
			cli_version();
		case 'w':
			o.wait = (long)cli_duration("-w", optarg, 0, 86400);
			break;
		default:
			if (!cli_nats_option(ch, optarg, &no, usage_text))
				cli_usage_error(usage_text, NULL);
		}
	}
	cli_nats_check(&no, false, usage_text);
	if (no.urls != NULL)
		o.sock = "(nats)";	/* the bus stands in for the control socket */
	argc = nop;
	argv = operands;
	cli_need_stdout();
	/* "-q 3600 ID cmd": the ttl is an optional argument, so it must be
	 * attached; a short duration where the device goes is that mistake */
	uint64_t qv;
	if (q_bare && argc >= 3 && strlen(argv[0]) <= 7 &&
	    tk_parse_duration(argv[0], strlen(argv[0]), UINT64_MAX, &qv) == 0)
		cli_usage_error(usage_text, "-q %s: the ttl goes attached to -q (-q%s), or "
		    "'%s' is taken for the device", argv[0], argv[0], argv[0]);

	/* conflicting options */
	int modes = o.list + o.pending + (o.cancel != NULL) + o.devices + o.stats;
	if (modes > 1)
		cli_usage_error(usage_text, "-l, -L, -C, -D and -T exclude each other");
	if (o.sms)
		o.print = true;
	if (o.raw_bytes && !o.print)
		cli_usage_error(usage_text, "--raw-bytes needs --print");
	if (o.print && (o.wait >= 0 || o.queue))
		cli_usage_error(usage_text, "--print and --sms exclude -w and --queue");
	if (o.queue && o.wait >= 0)
		cli_usage_error(usage_text, "--queue excludes -w");
	if (o.alt && o.sms)
		cli_usage_error(usage_text, "--alt and --sms exclude each other");
	if (o.alt && o.have_dialect && o.dialect != TK_D_TK103 && o.dialect != TK_D_GT06)
		cli_usage_error(usage_text, "--alt is for tk103 and gt06");
	if (o.alt && !o.have_dialect) {
		o.dialect = TK_D_TK103;
		o.have_dialect = true;
	}
	if (o.sock == NULL)
		o.sock = getenv("TK_LISTEN_SOCKET");
	const char *ct = getenv("TK_CMD_TIME");
	if (ct != NULL && ct[0] != '\0') {
		if (strlen(ct) != 6 || strspn(ct, "0123456789") != 6 ||
		    (ct[0] - '0') * 10 + (ct[1] - '0') > 23 || ct[2] > '5' || ct[4] > '5')
			cli_usage_error(usage_text, "TK_CMD_TIME %s: not a time HHMMSS", ct);
		memcpy(cmd_time, ct, sizeof(cmd_time));
	}
	if (no.urls != NULL && o.stats)
		cli_usage_error(usage_text, "-T asks one tk-listen: give -S, not --nats");
	if (o.sock != NULL && o.sock[0] == '\0')
		o.sock = NULL;

	cli_out_init(&out, STDOUT_FILENO, 1 << 18);
	if (o.list) {
		if (argc != 0)
			cli_usage_error(usage_text, "-l takes no arguments");
		if (o.sms && o.have_dialect && o.dialect != TK_D_XEXUN && o.dialect != TK_D_GPS103)
			cli_usage_error(usage_text, "SMS sets exist for xexun and gps103 only");
		cli_harden(TK_HARDEN_STDIO);
		print_catalogue();
		rc = TK_EXIT_OK;
	} else if (o.devices || o.stats) {
		if (o.sock == NULL)
			cli_usage_error(usage_text, "no control socket: give -S or set TK_LISTEN_SOCKET");
		if (argc != 0)
			cli_usage_error(usage_text, "-D and -T take no arguments");
		rc = o.devices ? run_query("LIST\n", "DEV") : run_query("STATS\n", "STAT");
	} else if (o.pending || o.cancel) {
		if (o.sock == NULL)
			cli_usage_error(usage_text, "no control socket: give -S or set TK_LISTEN_SOCKET");
		if (o.cancel ? argc != 0 : argc > 1)
			cli_usage_error(usage_text, "too many arguments");
		rc = o.cancel ? run_cancel(o.cancel) : run_pending(argc ? argv[0] : NULL);
	} else if (o.sms) {
		if (!o.have_dialect)
			cli_usage_error(usage_text, "--sms needs -d xexun or -d gps103");
		if (argc < 1)
			cli_usage_error(usage_text, "no command given");
		cli_harden(TK_HARDEN_STDIO);
		rc = run_print(NULL, argc, argv);
	} else {
		if (argc < 2)
			cli_usage_error(usage_text, "a device and a command are needed");
		if (o.print) {
			if (!o.have_dialect)
				cli_usage_error(usage_text, "--print needs -d DIALECT");
			cli_harden(TK_HARDEN_STDIO);
			rc = run_print(argv[0], argc - 1, argv + 1);
		} else {
			if (o.sock == NULL)
				cli_usage_error(usage_text,
				    "no control socket: give -S or set TK_LISTEN_SOCKET");
			rc = run_send(argv[0], argc - 1, argv + 1);
		}
	}
	if (cli_out_flush(&out) != 0 && rc == TK_EXIT_OK)
		rc = out.err == EPIPE ? TK_EXIT_PIPE : TK_EXIT_IO;
	cli_out_free(&out);
	tk_nats_free(bus);
	free(operands);
	return cli_close_stdout(rc);
}
