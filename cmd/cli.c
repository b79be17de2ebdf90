/* cli.c: shared command-line plumbing for the tk-* tools. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <err.h>

#include "cli.h"
#include "tk_ctl.h"
#include "tk_loop.h"
#include "tk_nats.h"

static bool stdout_closed;

void
cli_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
			/* held by /dev/null so that no socket or file becomes fd 1
			 * or 2; a tool that writes stdout refuses to run on it
			 * (cli_need_stdout) */
			if (fd == 1)
				stdout_closed = true;
			if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
				exit(TK_EXIT_IO);
		}
	}
	signal(SIGPIPE, SIG_IGN);
}

void
cli_need_stdout(void)
{
	if (stdout_closed)
		errx(TK_EXIT_IO, "stdout: closed at start (Bad file descriptor): refusing to "
		    "discard the output (redirect it, e.g. >/dev/null, to discard it)");
}

void
cli_usage_error(const char *usage, const char *fmt, ...)
{
	if (fmt != NULL) {
		va_list ap;
		va_start(ap, fmt);
		vwarnx(fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "%s", usage);
	fprintf(stderr, "Try '%s --help' for more information.\n", getprogname());
	exit(TK_EXIT_USAGE);
}

void
cli_version(void)
{
	printf("%s (tk103-tools) %s\n", getprogname(), tk_version());
	exit(cli_close_stdout(TK_EXIT_OK));
}

int
cli_close_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno == EPIPE)
			return rc ? rc : TK_EXIT_PIPE;
		warn("stdout");
		return rc ? rc : TK_EXIT_IO;
	}
	if (fclose(stdout) != 0) {
		warn("stdout");
		return rc ? rc : TK_EXIT_IO;
	}
	return rc;
}

long long
cli_number(const char *opt, const char *s, long long min, long long max)
{
	const char *e = NULL;
	long long v = strtonum(s, min, max, &e);
	if (e != NULL) {
		warnx("%s %s: %s (expected %lld to %lld)", opt, s, e, min, max);
		exit(TK_EXIT_USAGE);
	}
	return v;
}

/* "4096" as 4k, 2^40 as 1024G: the largest suffix that divides it. */
static void
fmt_size(char *buf, size_t n, unsigned long long v)
{
	if (v != 0 && v % (1ULL << 30) == 0)
		snprintf(buf, n, "%lluG", v >> 30);
	else if (v != 0 && v % (1ULL << 20) == 0)
		snprintf(buf, n, "%lluM", v >> 20);
	else if (v != 0 && v % (1ULL << 10) == 0)
		snprintf(buf, n, "%lluk", v >> 10);
	else
		snprintf(buf, n, "%llu", v);
}

unsigned long long
cli_size(const char *opt, const char *s, unsigned long long min, unsigned long long max)
{
	char num[32];
	size_t n = strlen(s);
	unsigned long long mult = 1;
	const char *e = NULL;

	if (n > 0 && strchr("kKmMgG", s[n - 1]) != NULL) {
		mult = strchr("kK", s[n - 1]) ? 1ULL << 10 : strchr("mM", s[n - 1]) ?
		    1ULL << 20 : 1ULL << 30;
		n--;
	}
	if (n > 0 && n < sizeof(num)) {
		memcpy(num, s, n);
		num[n] = '\0';
		long long v = strtonum(num, 0, (long long)(max / mult), &e);
		if (e == NULL && (unsigned long long)v * mult >= min)
			return (unsigned long long)v * mult;
	}
	char lo[32], hi[32];
	fmt_size(lo, sizeof(lo), min);
	fmt_size(hi, sizeof(hi), max);
	warnx("%s %s: not a size from %s to %s (bytes, or with k, M, G: powers of "
	    "1024)", opt, s, lo, hi);
	exit(TK_EXIT_USAGE);
}

/* "90", "5m", "2d": the largest unit that divides the value. */
static void
fmt_duration(char *buf, size_t n, long long v)
{
	if (v != 0 && v % 86400 == 0)
		snprintf(buf, n, "%lldd", v / 86400);
	else if (v != 0 && v % 3600 == 0)
		snprintf(buf, n, "%lldh", v / 3600);
	else if (v != 0 && v % 60 == 0)
		snprintf(buf, n, "%lldm", v / 60);
	else
		snprintf(buf, n, "%llds", v);
}

long long
cli_duration(const char *opt, const char *s, long long min, long long max)
{
	uint64_t v;
	char lo[32], hi[32];

	if (tk_parse_duration(s, strlen(s), UINT64_MAX, &v) != 0) {
		warnx("%s %s: not a duration (seconds, or with a unit: 30s, 5m, 1h, 2d)",
		    opt, s);
		exit(TK_EXIT_USAGE);
	}
	if (v < (uint64_t)min || v > (uint64_t)max) {
		fmt_duration(lo, sizeof(lo), min);
		fmt_duration(hi, sizeof(hi), max);
		warnx("%s %s: out of range (expected %s to %s)", opt, s, lo, hi);
		exit(TK_EXIT_USAGE);
	}
	return (long long)v;
}

double
cli_seconds(const char *opt, const char *s, double min, double max)
{
	char num[32], *e;
	size_t n = strlen(s);
	double mult = 1, v = NAN;

	if (n > 0 && strchr("smhd", s[n - 1]) != NULL) {
		mult = s[n - 1] == 's' ? 1 : s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 :
		    86400;
		n--;
	}
	if (n > 0 && n < sizeof(num) && strchr("+-", s[0]) == NULL) {
		memcpy(num, s, n);
		num[n] = '\0';
		errno = 0;
		v = strtod(num, &e);
		if (e == num || *e != '\0' || errno != 0 || !isfinite(v))
			v = NAN;
	}
	if (isnan(v)) {
		warnx("%s %s: not a duration (seconds, or with a unit: 30s, 5m, 1h, 2d)",
		    opt, s);
		exit(TK_EXIT_USAGE);
	}
	v *= mult;
	if (v < min || v > max) {
		char lo[32], hi[32];
		if (min == floor(min))
			fmt_duration(lo, sizeof(lo), (long long)min);
		else
			snprintf(lo, sizeof(lo), "%gs", min);
		fmt_duration(hi, sizeof(hi), (long long)max);
		warnx("%s %s: out of range (expected %s to %s)", opt, s, lo, hi);
		exit(TK_EXIT_USAGE);
	}
	return v;
}

char *
cli_read_file(int fd, const char *name, size_t max, size_t *len)
{
	char *buf;

	if (tk_read_all(fd, max, &buf, len) != 0) {
		if (errno == EFBIG)
			errx(TK_EXIT_DATA, "%s: larger than %zu bytes", name, max);
		err(TK_EXIT_IO, "%s", name);
	}
	return buf;
}

int *
cli_open_inputs(int argc, char **argv)
{
	int *fds = calloc((size_t)(argc ? argc : 1), sizeof(int));

	if (fds == NULL)
		err(TK_EXIT_IO, "calloc");
	fds[0] = STDIN_FILENO;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			fds[i] = STDIN_FILENO;
		else if ((fds[i] = open(argv[i], O_RDONLY | O_CLOEXEC)) < 0)
			err(TK_EXIT_IO, "%s", argv[i]);
	}
	/* a directory opens, then fails at the first read: refuse it now */
	for (int i = 0; i < (argc ? argc : 1); i++) {
		struct stat st;
		if (fstat(fds[i], &st) == 0 && S_ISDIR(st.st_mode))
			errc(TK_EXIT_IO, EISDIR, "%s", argc && strcmp(argv[i], "-") != 0 ?
			    argv[i] : "(stdin)");
	}
	return fds;
}

bool
cli_nats_option(int ch, const char *arg, struct tk_nats_opts *o, const char *usage)
{
	switch (ch) {
	case CLI_OPT_NATS:
		o->urls = arg;
		return true;
	case CLI_OPT_NATS_CA:
		o->ca = arg;
		return true;
	case CLI_OPT_NATS_CREDS:
		o->creds = arg;
		return true;
	case CLI_OPT_NATS_USER:
		o->user = arg;
		o->password = getenv("TK_NATS_PASSWORD");
		return true;
	case CLI_OPT_NATS_STREAM:
		if (!tk_ctl_valid_id(arg, strlen(arg)))
			cli_usage_error(usage, "--nats-stream %s: 1-31 of A-Za-z0-9_-", arg);
		o->stream = arg;
		return true;
	}
	return false;
}

void
cli_nats_check(const struct tk_nats_opts *o, bool other, const char *usage)
{
	if (o->urls == NULL && (other || o->ca || o->creds || o->user || o->stream))
		cli_usage_error(usage, "the --nats-* options need --nats");
}

/* Files not yet committed: removed at any exit (an error exit included). */
static struct cli_file *pending[8];

static void
pending_cleanup(void)
{
	for (size_t i = 0; i < sizeof(pending) / sizeof(pending[0]); i++)
		if (pending[i] != NULL)
			cli_file_abort(pending[i]);
}

static void
pending_set(struct cli_file *f, bool on)
{
	static bool registered;
	for (size_t i = 0; i < sizeof(pending) / sizeof(pending[0]); i++) {
		if (on ? pending[i] == NULL : pending[i] == f) {
			pending[i] = on ? f : NULL;
			break;
		}
	}
	if (on && !registered) {
		registered = true;
		atexit(pending_cleanup);
	}
}

FILE *
cli_file_open(struct cli_file *f, const char *path)
{
	int e = tk_afile_open(&f->a, path, 0666);
	f->fp = NULL;
	pending_set(f, true);
	if (e != 0)
		errc(TK_EXIT_IO, e, "%s", path);
	if ((f->fp = fdopen(f->a.fd, "w")) == NULL) {
		e = errno;
		tk_afile_abort(&f->a);
		errc(TK_EXIT_IO, e, "%s", path);
	}
	return f->fp;
}

int
cli_file_commit(struct cli_file *f)
{
	int e = 0;

	if (fflush(f->fp) != 0 || ferror(f->fp))
		e = errno ? errno : EIO;
	else if (fsync(fileno(f->fp)) != 0 && errno != EINVAL && errno != EROFS)
		e = errno;
	if (fclose(f->fp) != 0 && e == 0)
		e = errno;
	f->fp = NULL;
	f->a.fd = -1;			/* fclose closed it */
	if (e == 0)
		e = tk_afile_commit(&f->a, 0);
	pending_set(f, false);
	if (e != 0) {
		tk_afile_abort(&f->a);
		warnc(e, "%s: not written (any old file is kept)", f->a.path);
		return -1;
	}
	return 0;
}

void
cli_file_abort(struct cli_file *f)
{
	pending_set(f, false);
	if (f->fp != NULL) {
		fclose(f->fp);
		f->fp = NULL;
		f->a.fd = -1;
	}
	tk_afile_abort(&f->a);
}

void
cli_check_dir(const char *opt, const char *dir)
{
	char probe[TK_AFILE_PATH_MAX];
	struct tk_afile a;
	int e;

	if ((size_t)snprintf(probe, sizeof(probe), "%s/probe", dir) >= sizeof(probe))
		e = ENAMETOOLONG;
	else if ((e = tk_afile_open(&a, probe, 0600)) == 0)
		tk_afile_abort(&a);
	if (e != 0)
		errc(TK_EXIT_IO, e, "%s %s: files cannot be written there", opt, dir);
}

void
cli_wcap(struct cli_wcap *w, const char *fmt, ...)
{
	va_list ap;

	if (++w->n > CLI_WCAP_SHOWN)
		return;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	if (w->n == CLI_WCAP_SHOWN)
		warnx("(further warnings of this kind are counted, not shown)");
}

void
cli_wcap_end(const struct cli_wcap *w, const char *what)
{
	if (w->n > CLI_WCAP_SHOWN)
		warnx("%lu %s in all (the first %d shown)", w->n, what, CLI_WCAP_SHOWN);
}

void
cli_harden(enum tk_harden_profile p)
{
	if (tk_harden(p) != 0)
		err(TK_EXIT_SOFTWARE, "hardening failed");
}

void
cli_out_init(struct cli_out *o, int fd, size_t cap)
{
	o->fd = fd;
	o->err = 0;
	o->warned = false;
	o->b.p = malloc(cap);
	if (o->b.p == NULL)
		err(TK_EXIT_IO, "malloc");
	o->b.len = 0;
	o->b.cap = cap;
	/*
	 * Into a pipe, one flush of the buffer should not block on a pipe of
	 * the default 64 KiB: each block is a wake-up of the reader and a
	 * context switch.  A larger pipe (up to fs.pipe-max-size, 1 MiB by
	 * default for anyone) takes a whole flush; refused, nothing changes.
	 */
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
		int want = cap > (1 << 20) ? 1 << 20 : (int)cap;
		int have = fcntl(fd, F_GETPIPE_SZ);
		if (have > 0 && have < want)
			(void)fcntl(fd, F_SETPIPE_SZ, want);
	}
}

int
cli_out_flush(struct cli_out *o)
{
	size_t off = 0;
	while (off < o->b.len && o->err == 0) {
		ssize_t w = write(o->fd, o->b.p + off, o->b.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			o->err = errno;
			break;
		}
		off += (size_t)w;
	}
	o->b.len = 0;
	return o->err ? -1 : 0;
}

struct tk_buf *
cli_out_reserve(struct cli_out *o, size_t n)
{
	if (o->b.cap - o->b.len < n)
		cli_out_flush(o);
	return &o->b;
}

bool
cli_out_dead(struct cli_out *o)
{
	if (o->err && !o->warned) {
		o->warned = true;
		if (o->err != EPIPE)
			warnc(o->err, "stdout");
	}
	return o->err != 0;
}

void
cli_out_free(struct cli_out *o)
{
	free(o->b.p);
	o->b.p = NULL;
}

bool
cli_wkt_latlon(const char *usage, const char *arg)
{
	if (strcmp(arg, "latlon") == 0 || strcmp(arg, "traccar") == 0)
		return true;
	if (strcmp(arg, "lonlat") == 0 || strcmp(arg, "ogc") == 0)
		return false;
	cli_usage_error(usage, "--wkt-order: lonlat (or ogc) or latlon (or "
	    "traccar), not %s", arg);
}

void
cli_need_file(const char *path)
{
	struct stat st;

	if (access(path, R_OK) != 0)
		err(TK_EXIT_IO, "%s", path);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		errc(TK_EXIT_IO, EISDIR, "%s", path);
}

/* ---- stop signals: one shutdown story (cli.h) ---------------------- */

static volatile sig_atomic_t stop_sig, stop_count;
static int stop_pipe[2] = {-1, -1};	/* the handler wakes cli_read's poll */
static int64_t drain_until;		/* the end of the drain, once stopped */
static bool input_cut;			/* an input was ended by a signal */

static void
on_stop(int sig)
{
	int e = errno;

	if (stop_sig == 0)
		stop_sig = sig;
	if (stop_count < 2)
		stop_count++;
	if (write(stop_pipe[1], "", 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = e;
}

void
cli_stop_catch(int sig)
{
	struct sigaction sa;

	if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		err(TK_EXIT_IO, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART: a blocked read returns */
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

int
cli_stopped(void)
{
	return stop_sig;
}

void
cli_stop_wake(void)
{
	char b[64];

	while (read(stop_pipe[0], b, sizeof(b)) > 0)
		;
}

int
cli_stop_fd(void)
{
	return stop_pipe[0];
}

bool
cli_stopped_twice(void)
{
	return stop_count >= 2;
}

int
cli_stop_drain(int fd)
{
	struct stat st;
	int64_t now;

	if (stop_count == 0)
		return -1;
	now = tk_mono_ms();
	if (drain_until == 0)
		drain_until = now + CLI_DRAIN_S * 1000;
	if (stop_count >= 2 || now >= drain_until || (fstat(fd, &st) == 0 &&
	    (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))) {
		/* a file, a terminal: nothing upstream to wait for */
		input_cut = true;
		return 0;
	}
	return (int)(drain_until - now);
}

ssize_t
cli_read(int fd, void *buf, size_t n)
{
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
		int tmo = cli_stop_drain(fd);

		if (tmo == 0)
			return 0;	/* ended by a signal */
		if (stop_pipe[0] >= 0) {
			int r = poll(p, 2, tmo);
			if (r < 0 && errno != EINTR)
				return -1;
			if (p[1].revents)
				cli_stop_wake();
			if (r <= 0 || !p[0].revents)
				continue;	/* a signal, or the drain's end: look again */
		}
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		return r;
	}
}

int
cli_stop_status(int rc)
{
	int sig = stop_sig;

	if (!input_cut || sig == 0)
		return rc;
	warnx("stopped by %s before the end of the input", sig == SIGINT ? "SIGINT" :
	    sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal");
	return rc == TK_EXIT_OK ? 128 + sig : rc;
}
