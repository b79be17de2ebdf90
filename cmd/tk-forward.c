/*
 * tk-forward: deliver records (tk-decode's JSON lines) to an HTTP(S)
 * webhook, batched, or to Traccar in its OsmAnd protocol; retried with
 * backoff, queued in a bounded spool while the endpoint is down.  A thin
 * main over lib/tk_forward.c (the engine) and lib/tk_spool.c (the queue).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <err.h>

#include "cli.h"
#include "tk_forward.h"
#include "tk_loop.h"
#include "tk_spool.h"

static const char usage_text[] =
    "usage: tk-forward [-q] [--osmand | --lines] [-b records] [-l duration]\n"
    "                  [-H header] [-s dir] [-m size] [--drop] [-t duration]\n"
    "                  [-r duration] [-w duration] [--cacert file] URL [file ...]\n";

static const char help_text[] =
    "Deliver tk-decode's records (JSON lines) to an HTTP(S) endpoint.\n"
    "\n"
    "  URL                  http:// or https:// endpoint\n"
    "      --osmand         one request per position in Traccar's OsmAnd\n"
    "                       protocol (id, timestamp, lat, lon, speed ...)\n"
    "      --lines          a batch is JSON lines (default: one JSON array)\n"
    "  -b, --batch N        records per request (100)\n"
    "  -l, --linger TIME   a partial batch waits at most this long (1s)\n"
    "  -H, --header LINE    an extra request header (\"Name: value\"); repeatable\n"
    "      --cacert FILE    CA certificates for https (default: the system's)\n"
    "  -s, --spool DIR      queue records on disk in DIR (kept across runs)\n"
    "  -m, --spool-max SIZE bound of the queue, bytes or with k, M, G\n"
    "                       (1G on disk, 16M in memory)\n"
    "      --drop           when the queue is full, drop new records (counted)\n"
    "                       instead of pausing the input\n"
    "  -t, --timeout TIME   time allowed for one request (30s)\n"
    "  -r, --retry-max TIME longest wait between retries (30s)\n"
    "  -w, --wait TIME      at the end of the input, give up after this long\n"
    "                       (default: keep trying); after SIGINT/SIGTERM: 10s\n"
    "                       (TIME: seconds, or with a unit: 30s, 5m, 1h, 2d)\n"
    "  -q, --quiet          no summary on stderr at the end\n"
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "Exit status: 0 all delivered (or, after a signal, kept in the spool),\n"
    "1 records rejected by the endpoint, dropped or lost, 2 usage,\n"
    "3 I/O error or given up (-w), 130/143 stopped by SIGINT/SIGTERM before the\n"
    "end of the input.  See tk-forward(1).\n";

#define MAX_HEADERS	32
#define IN_CAP		(TK_FWD_REC_MAX + 65536)
#define SIG_WAIT_DEF	10

enum { O_OSMAND = 256, O_LINES, O_DROP, O_CACERT };

struct input {
	int		*fds;
	int		 nfiles, cur;	/* files named (0: stdin) */
	char *const	*names;
	const char	*name;
	char		*buf;
	size_t		 len;
	unsigned long	 lineno;
	bool		 skipping, done, blocked, error;
	bool		 cut;		/* a signal ended the input early */
	bool		 drop;
	const char	*bad_what;
	unsigned long	 lines, bad, long_lines, full_warned;
	struct cli_wcap	 bad_w;
};

static void
on_log(void *arg, const char *msg)
{
	(void)arg;
	warnx("%s", msg);
}

/* One line of input (no newline). */
static void
do_line(struct tk_fwd *f, struct input *in, const char *p, size_t n)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	in->lines++;
	switch (tk_fwd_put(f, p, n)) {
	case TK_FWD_OK:
	case TK_FWD_ERR:	/* counted and logged by the engine */
		break;
	case TK_FWD_BAD:
		in->bad++;
		cli_wcap(&in->bad_w, "%s:%lu: %s: skipped", in->name, in->lineno, in->bad_what);
		break;
	case TK_FWD_FULL:
		tk_fwd_drop(f);
		if (in->full_warned++ == 0)
			warnx("%s:%lu: the queue is full: dropping records until it drains",
			    in->name, in->lineno);
		break;
	}
}

/* Queue the complete lines in the buffer; stop at one that does not fit
 * (unless dropping). */
static void
do_lines(struct tk_fwd *f, struct input *in)
{
	size_t start = 0;
	char *nl;

	in->blocked = false;
	while ((nl = memchr(in->buf + start, '\n', in->len - start)) != NULL) {
		size_t n = (size_t)(nl - (in->buf + start));
		if (in->skipping) {
			in->skipping = false;
		} else {
			if (!in->drop && n <= TK_FWD_REC_MAX && !tk_fwd_fits(f, n)) {
				in->blocked = true;
				break;
			}
			in->lineno++;
			do_line(f, in, in->buf + start, n);
		}
		start += n + 1;
	}
	memmove(in->buf, in->buf + start, in->len - start);
	in->len -= start;
	if (!in->blocked && !in->skipping && in->len > TK_FWD_REC_MAX) {
		in->long_lines++;
		in->lineno++;
		warnx("%s:%lu: line longer than %u bytes: skipped", in->name, in->lineno,
		    TK_FWD_REC_MAX);
		in->skipping = true;
		in->len = 0;
	}
}

static void
next_file(struct input *in)
{
	if (in->fds[in->cur] != STDIN_FILENO)
		close(in->fds[in->cur]);
	in->len = 0;
	in->skipping = false;
	in->lineno = 0;
	if (++in->cur >= (in->nfiles ? in->nfiles : 1)) {
		in->done = true;
		return;
	}
	in->name = in->names[in->cur];
}

static void
do_read(struct tk_fwd *f, struct input *in)
{
	ssize_t r = read(in->fds[in->cur], in->buf + in->len, IN_CAP - in->len);

	if (r < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return;
		warn("%s", in->name);
		in->error = true;
		next_file(in);
		return;
	}
	if (r == 0) {
		if (in->len > 0 && !in->skipping) {
			in->buf[in->len++] = '\n';	/* a last line without newline */
			do_lines(f, in);
			if (in->blocked)
				return;	/* come back when it fits */
		}
		next_file(in);
		return;
	}
	in->len += (size_t)r;
	do_lines(f, in);
}

static void
summary(const struct tk_fwd_stats *st, const struct input *in, const char *spool,
    bool kept)
{
	fprintf(stderr, "tk-forward: %lu lines, %llu delivered in %llu requests, "
	    "%llu retried requests, %llu rejected\n", in->lines,
	    (unsigned long long)st->delivered, (unsigned long long)st->requests,
	    (unsigned long long)st->retries, (unsigned long long)st->rejected);
	if (st->resumed)
		fprintf(stderr, "tk-forward: %llu records were left by an earlier run\n",
		    (unsigned long long)st->resumed);
	if (in->bad || in->long_lines || st->full || st->spool_errors || st->skipped)
		fprintf(stderr, "tk-forward: dropped: %lu not records, %lu long lines, "
		    "%llu at the queue bound, %llu spool write errors, %llu bad spool "
		    "records\n", in->bad, in->long_lines, (unsigned long long)st->full,
		    (unsigned long long)st->spool_errors, (unsigned long long)st->skipped);
	if (st->queued)
		fprintf(stderr, "tk-forward: %llu records not delivered: %s%s\n",
		    (unsigned long long)st->queued, kept ? "kept in the spool " : "lost",
		    kept ? spool : "");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"batch",     required_argument, NULL, 'b'},
		{"cacert",    required_argument, NULL, O_CACERT},
		{"drop",      no_argument,       NULL, O_DROP},
		{"header",    required_argument, NULL, 'H'},
		{"help",      no_argument,       NULL, 'h'},
		{"linger",    required_argument, NULL, 'l'},
		{"lines",     no_argument,       NULL, O_LINES},
		{"osmand",    no_argument,       NULL, O_OSMAND},
		{"quiet",     no_argument,       NULL, 'q'},
		{"retry-max", required_argument, NULL, 'r'},
		{"spool",     required_argument, NULL, 's'},
		{"spool-max", required_argument, NULL, 'm'},
		{"timeout",   required_argument, NULL, 't'},
		{"version",   no_argument,       NULL, 'V'},
		{"wait",      required_argument, NULL, 'w'},
		{NULL, 0, NULL, 0}
	};
	static const char *headers[MAX_HEADERS];
	static struct input in;
	struct tk_fwd_opts o;
	struct tk_fwd *f;
	char why[512];
	bool quiet = false, batch_set = false;
	long long wait_s = -1;
	int ch, rc = TK_EXIT_OK;

	cli_init(argc, argv);
	tk_fwd_defaults(&o);
	o.log = on_log;
	o.headers = headers;
	while ((ch = getopt_long(argc, argv, "b:H:hl:m:qr:s:t:Vw:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			o.batch_max = (size_t)cli_number("-b", optarg, 1, 100000);
			batch_set = true;
			break;
		case 'H':
			if (o.nheaders == MAX_HEADERS)
				cli_usage_error(usage_text, "more than %d -H options", MAX_HEADERS);
			if (strchr(optarg, ':') == NULL || strpbrk(optarg, "\r\n") != NULL)
				cli_usage_error(usage_text, "-H %s: not a \"Name: value\" header",
				    optarg);
			headers[o.nheaders++] = optarg;
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			return cli_close_stdout(TK_EXIT_OK);
		case 'l':
			o.linger_ms = cli_duration("-l", optarg, 0, 3600) * 1000;
			break;
		case 'm':
			o.spool_max = cli_size("-m", optarg, TK_SPOOL_MIN, 1ULL << 42);
			break;
		case 'q':
			quiet = true;
			break;
		case 'r':
			o.retry_max_ms = cli_duration("-r", optarg, 1, 86400) * 1000;
			break;
		case 's':
			o.spool_dir = optarg;
			break;
		case 't':
			o.timeout_ms = cli_duration("-t", optarg, 1, 86400) * 1000;
			break;
		case 'V':
			cli_version();
		case 'w':
			wait_s = cli_duration("-w", optarg, 0, 10 * 365 * 86400LL);
			break;
		case O_CACERT:
			o.cacert = optarg;
			break;
		case O_DROP:
			in.drop = true;
			break;
		case O_LINES:
			if (o.mode == TK_FWD_OSMAND)
				cli_usage_error(usage_text, "--lines and --osmand exclude each other");
			o.mode = TK_FWD_LINES;
			break;
		case O_OSMAND:
			if (o.mode == TK_FWD_LINES)
				cli_usage_error(usage_text, "--lines and --osmand exclude each other");
			o.mode = TK_FWD_OSMAND;
			break;
		default:
			cli_usage_error(usage_text, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		cli_usage_error(usage_text, "no URL");
	o.url = argv[0];
	if (strncasecmp(o.url, "http://", 7) != 0 && strncasecmp(o.url, "https://", 8) != 0)
		cli_usage_error(usage_text, "%s: not an http:// or https:// URL", o.url);
	argc--;
	argv++;
	if (o.mode == TK_FWD_OSMAND && batch_set && o.batch_max != 1)
		cli_usage_error(usage_text, "--osmand sends one position per request (no -b)");
	if (o.retry_max_ms < o.retry_min_ms)
		o.retry_min_ms = o.retry_max_ms;

	in.fds = cli_open_inputs(argc, argv);
	in.nfiles = argc;
	in.names = argv;
	in.name = argc ? argv[0] : "stdin";
	in.bad_what = o.mode == TK_FWD_OSMAND ? "not a position record" : "not a JSON object";
	if ((in.buf = malloc(IN_CAP + 1)) == NULL)
		err(TK_EXIT_IO, "malloc");
	if (tk_fwd_new(&f, &o, why, sizeof(why)) != 0)
		errx(TK_EXIT_IO, "%s", why);
	/* stopped, it reads a pipe to its end (bounded), then delivers (cli.h) */
	cli_stop_catch(SIGINT);
	cli_stop_catch(SIGTERM);
	cli_harden(TK_HARDEN_CLIENT);

	int64_t deadline = -1;
	bool stopping = false, flushed = false, gave_up = false;
	for (;;) {
		int64_t now = tk_mono_ms();
		if (cli_stopped_twice()) {
			/* asked twice: stop now (an input not at its end is cut) */
			if (!in.done && !in.cut)
				cli_stop_drain(in.fds[in.cur]);
			break;
		}
		stopping = cli_stopped() != 0;
		/* after a signal the input is read on while cli_stop_drain says so */
		int drain = in.done || in.cut ? -1 : cli_stop_drain(in.fds[in.cur]);
		if (drain == 0) {
			in.cut = true;
			if (in.len > 0 && !in.skipping && !in.blocked) {
				in.buf[in.len++] = '\n';	/* the last line read */
				do_lines(f, &in);
			}
		}
		bool over = in.done || in.cut;
		if (over && !flushed) {
			flushed = true;
			tk_fwd_flush(f);
			if (stopping)
				deadline = now + (wait_s >= 0 ? wait_s : SIG_WAIT_DEF) * 1000;
			else if (wait_s >= 0 && deadline < 0)
				deadline = now + wait_s * 1000;
		}
		if (in.blocked && !in.cut)
			do_lines(f, &in);
		if (over && tk_fwd_idle(f))
			break;
		if (deadline >= 0 && now >= deadline) {
			gave_up = true;
			break;
		}
		struct tk_fwd_fd fds[2] = {
			{over ? -1 : in.fds[in.cur],
			    !over && !in.blocked && in.len < IN_CAP, false},
			{cli_stop_fd(), true, false},
		};
		int tmo = deadline >= 0 ? (int)(deadline - now) : -1;
		if (drain > 0 && (tmo < 0 || drain < tmo))
			tmo = drain;
		if (tk_fwd_poll(f, fds, 2, tmo) != 0) {
			rc = TK_EXIT_SOFTWARE;
			break;
		}
		if (fds[1].ready)
			cli_stop_wake();
		if (fds[0].ready)
			do_read(f, &in);
	}

	const struct tk_fwd_stats *st = tk_fwd_stats(f);
	bool kept = o.spool_dir != NULL;
	cli_wcap_end(&in.bad_w, "lines that are not records");
	if (!quiet || st->queued)
		summary(st, &in, o.spool_dir ? o.spool_dir : "", kept);
	if (rc == TK_EXIT_OK) {
		if (in.error || (gave_up && !stopping))
			rc = TK_EXIT_IO;	/* a read failed, or -w ran out at the end */
		else if (st->rejected || st->full || st->spool_errors || st->skipped ||
		    (st->queued && !kept))
			rc = TK_EXIT_DATA;
	}
	tk_fwd_free(f);
	free(in.fds);
	free(in.buf);
	return cli_close_stdout(cli_stop_status(rc));
}
