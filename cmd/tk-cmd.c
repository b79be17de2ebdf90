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
#include "tk_ctl.h"

static const char usage_text[] =
    "usage: tk-cmd [-aprRst] [-d dialect] [-P password] [-q[ttl]] [-S socket]\n"
    "              [-w duration] device command [parameter ...]\n"
    "       tk-cmd -s [-d dialect] [-P password] command [parameter ...]\n"
    "       tk-cmd -l [-as] [-d dialect]\n"
    "       tk-cmd -L [-S socket] [device]\n"
    "       tk-cmd -C qid [-S socket]\n"
    "       tk-cmd -D | -T [-S socket]\n";

static const char help_text[] =
    "Send a command to a TK103-family tracker, or print its bytes.\n"
    "\n"
    "  -a, --alt            tk103: the alternative [begin]sms2,...,[end] syntax\n"
    "  -C, --cancel QID     cancel a queued command\n"
    "  -D, --devices        list the devices online in tk-listen (id, dialect,\n"
    "                       transport, peer, connection, since, last frame, frames)\n"
    "  -d, --dialect NAME   tk103, gps103, xexun or xexun2 (default: asked of\n"
    "                       tk-listen for an online device)\n"
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
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "Durations (TTL, -w, track INTERVAL): seconds, or 30s, 5m, 1h, 2d.\n"
    "Exit status: 0 sent (or answered with -w), 2 usage or bad parameters,\n"
    "3 I/O error, 5 device offline or unknown, 6 no answer in time, 7 refused by\n"
    "tk-listen.  See tk-cmd(1) for the catalogue.\n";

#define DEFAULT_TTL	86400
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
		warn("%s", o.sock);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->len = 0;
	return 0;
}

static int
ctl_write(struct conn *c, const char *s, size_t n)
{
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
		warnx("%s: device offline", dev ? dev : "?");
		return TK_EXIT_OFFLINE;
	}
	if (strncmp(code, "unknown", 7) == 0) {
		warnx("%s: unknown device (never seen by tk-listen)", dev ? dev : "?");
		return TK_EXIT_OFFLINE;
	}
	if (strncmp(code, "nocmd", 5) == 0) {
		warnx("no such queued command: %s", line + 10);
		return TK_EXIT_DATA;
	}
	warnx("tk-listen refused: %s", code);
	return TK_EXIT_REFUSED;
}

/* One request, the final OK/ERR line; data lines go to cb. */
static int
ctl_request(struct conn *c, const char *req, int (*cb)(const char *, void *), void *arg,
    char *final, size_t cap)
{
	char line[REPLY_MAX];
	int64_t deadline = now_ms() + 30000;

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
	bool		 found;
	enum tk_dialect	 d;
};

static int
find_dev(const char *line, void *arg)
{
	struct find *f = arg;
	char id[64], dn[32];

	if (sscanf(line, "DEV %63s %31s", id, dn) == 2 && strcmp(id, f->id) == 0) {
		if (tk_dialect_parse(dn, &f->d) == 0)
			f->found = true;
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
		if (o.alt && set != TK_CS_TK103_ALT)
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
	cli_harden(TK_HARDEN_NET);
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
	cli_harden(TK_HARDEN_NET);
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
	cli_harden(TK_HARDEN_NET);
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
	cli_harden(TK_HARDEN_NET);

	/* the dialect: given, or asked of tk-listen */
	if (!o.have_dialect) {
		struct find f = {dev, false, TK_D_UNKNOWN};
		if (ctl_request(&c, "LIST\n", find_dev, &f, final, sizeof(final)) != 0) {
			close(c.fd);
			return TK_EXIT_IO;
		}
		if (strncmp(final, "ERR", 3) == 0) {
			close(c.fd);
			return err_exit(final, dev);
		}
		if (!f.found) {
			close(c.fd);
			warnx("%s: device not online%s", dev,
			    o.queue ? " (give -d DIALECT to queue for it)" : "");
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
		{NULL, 0, NULL, 0}
	};
	int ch, rc;

	cli_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "+aC:Dd:hlLpP:q::rRsS:tTVw:", longopts, NULL)) != -1) {
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
				    "unknown dialect '%s' (tk103, gps103, xexun, xexun2)", optarg);
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
			cli_usage_error(usage_text, NULL);
		}
	}
	argc -= optind;
	argv += optind;

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
	if (o.alt && o.have_dialect && o.dialect != TK_D_TK103)
		cli_usage_error(usage_text, "--alt is for tk103");
	if (o.alt && !o.have_dialect) {
		o.dialect = TK_D_TK103;
		o.have_dialect = true;
	}
	if (o.sock == NULL)
		o.sock = getenv("TK_LISTEN_SOCKET");
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
	return cli_close_stdout(rc);
}
