/*
 * tk-listen: one port, TCP and UDP, for every TK103-family tracker.
 * Writes every frame as a tk-frame(5) line to stdout and answers the
 * handshakes the devices need.  A thin main over lib/tk_server.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <err.h>

#include "cli.h"
#include "tk_fleet.h"
#include "tk_loop.h"
#include "tk_nats.h"
#include "tk_idset.h"
#include "tk_notify.h"
#include "tk_server.h"
#include "tk_sink.h"

static const char usage_text[] =
    "usage: tk-listen [-46v] [-B size] [-b address] [-C max] [-c max] [-G group]\n"
    "                 [-m bytes] [-p port] [-S socket] [-t duration] [-u user]\n"
    "                 [--devices file] [--login-timeout duration]\n"
    "                 [--port-file file] [--reuseport]\n"
    "                 [--takeover duration] [--nats urls [--name name]\n"
    "                 [--nats-ca file] [--nats-creds file] [--nats-user user]\n"
    "                 [--nats-replicas n] [--nats-stream name]\n"
    "                 [--registry-refresh duration]]\n";

static const char help_text[] =
    "Receive TK103-family trackers on one port (TCP and UDP) and write every\n"
    "frame as a tk-frame(5) line to stdout.\n"
    "\n"
    "  -4, --ipv4              IPv4 only\n"
    "  -6, --ipv6              IPv6 only\n"
    "  -B, --buffer SIZE       output buffer, 4k to 1024G (default 4M)\n"
    "  -b, --bind ADDRESS      listen on this numeric address only\n"
    "  -C, --per-peer MAX      TCP connections per peer address (default 1000, 0: no limit)\n"
    "  -c, --connections MAX   TCP connections in total (default 10000)\n"
    "      --devices FILE      only these device ids (one a line, # comments);\n"
    "                          others are refused (reloaded on SIGHUP)\n"
    "  -G, --group GROUP       let GROUP use the control socket too\n"
    "      --login-timeout DURATION  close a connection that has not identified\n"
    "                          itself within DURATION (default 1m, 0: only -t)\n"
    "  -m, --max-frame BYTES   longest frame (default: per dialect)\n"
    "  -p, --port PORT         port (default 8888; 0: any free port)\n"
    "      --port-file FILE    write the port number to FILE\n"
    "      --reuseport         share the port with other tk-listen (SO_REUSEPORT)\n"
    "      --nats URLS         frame lines to NATS JetStream instead of stdout\n"
    "                          (nats://host:port or tls://..., comma-separated)\n"
    "      --name NAME         this instance in the registry (default HOST:PORT)\n"
    "      --nats-ca FILE      CA certificates for tls:// servers\n"
    "      --nats-creds FILE   NATS credentials file\n"
    "      --nats-user USER    NATS user (password in $TK_NATS_PASSWORD)\n"
    "      --nats-replicas N   replicas when creating the stream (default 1)\n"
    "      --nats-stream NAME  the stream (default TK_FRAMES)\n"
    "      --registry-refresh DURATION  write a reporting device's last-seen\n"
    "                          to the fleet registry at most this often (default 30s)\n"
    "  -S, --socket PATH       control socket (LIST, STATS, SEND, WATCH, QUEUE ...)\n"
    "  -t, --timeout DURATION  close idle connections (default 10m, 0: never;\n"
    "                          seconds, or 30s, 5m, 1h, 2d)\n"
    "      --takeover DURATION silence of the session holding a device id before\n"
    "                          another session claiming it takes over (default 1m,\n"
    "                          0: at once); until then it is kept apart\n"
    "  -u, --user USER         drop privileges to USER after binding\n"
    "  -v, --verbose           log connections and protocol errors to stderr\n"
    "  -h, --help              this help\n"
    "  -V, --version           print the version\n"
    "\n"
    "Signals: INT/TERM stop (flush, close lines), HUP flushes and reloads\n"
    "--devices, USR1 prints counters.\n"
    "Exit status: 0 stopped by a signal, 2 usage, 3 I/O error (or stdout closed\n"
    "at start), 4 the reader of stdout went away.\n"
    "See tk-listen(1), tk-frame(5), tk103-scaling(7).\n";

/* long options without a short one */
enum { OPT_TAKEOVER = 256, OPT_DEVICES, OPT_LOGIN };

static volatile sig_atomic_t got_stop, got_usr1, got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (got_stop < 2)
		got_stop++;
}

#define DEVICES_MAX	(64u << 20)	/* bytes of a --devices file */

/* Read --devices: the set, or NULL with a message (exit 3 at start when
 * fatal; at a reload the old list stays). */
static struct tk_idset *
load_devices(const char *path, bool fatal)
{
	char *text, e[160];
	size_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || tk_read_all(fd, DEVICES_MAX, &text, &n) != 0) {
		int en = errno;
		if (fd >= 0)
			close(fd);
		if (fatal)
			errc(TK_EXIT_IO, en, "--devices %s", path);
		warnc(en, "--devices %s: keeping the list loaded before", path);
		return NULL;
	}
	close(fd);
	struct tk_idset *set = tk_idset_parse(text, n, e, sizeof(e));
	free(text);
	if (set == NULL) {
		if (fatal)
			errx(TK_EXIT_DATA, "--devices %s: %s", path, e);
		warnx("--devices %s: %s: keeping the list loaded before", path, e);
	}
	return set;
}

/* The output could not be written: say what is lost, the exit code. */
static int
output_failed(struct tk_server *s, bool bus)
{
	int e = errno;
	unsigned long long lost = tk_server_undelivered(s);

	if (e == EPIPE && !bus) {
		warnx("stdout: the reader went away (broken pipe); stopping: %llu line(s) "
		    "read and not written", lost);
		return TK_EXIT_PIPE;
	}
	warnx("%s: %s; stopping: %llu line(s) read and not written", bus ? "output" :
	    "stdout", strerror(e), lost);
	return TK_EXIT_IO;
}

static void
logcb(void *arg, enum tk_log_level lv, const char *msg)
{
	(void)arg;
	(void)lv;
	fprintf(stderr, "%s: %s\n", getprogname(), msg);
}

/* --nats: the bus sink over the connection made before the server */
static struct tk_sink *
make_nats_sink(void *arg, struct tk_loop *loop, char *err, size_t errlen)
{
	struct tk_nats *n = arg;
	struct tk_sink *k;

	if (tk_nats_attach(n, loop) != 0 || (k = tk_nats_sink_new(n, 0)) == NULL) {
		snprintf(err, errlen, "nats: %s", strerror(errno ? errno : ENOMEM));
		return NULL;
	}
	return k;
}

static void
default_name(char *out, size_t cap, unsigned port)
{
	char h[256];
	if (gethostname(h, sizeof(h)) != 0)
		snprintf(h, sizeof(h), "localhost");
	h[sizeof(h) - 1] = '\0';
	if (port != 0)
		snprintf(out, cap, "%.64s:%u", h, port);
	else
		snprintf(out, cap, "%.64s:p%ld", h, (long)getpid());
}

static void
print_stats(struct tk_server *s)
{
	struct tk_buf b = {NULL, 0, 0};
	if (tk_server_stats(s, &b, "tk-listen: ") == 0 && b.len)
		fwrite(b.p, 1, b.len, stderr);
	free(b.p);
}

/* The port file is created (as a temporary file beside it) before the
 * sockets, so a path that cannot be written is refused before
 * "listening"; the number goes in and the file takes its name once the
 * port is bound. */
static int
write_port_file(struct tk_afile *a, unsigned port)
{
	char num[16];
	int n = snprintf(num, sizeof(num), "%u\n", port), e;

	if ((e = tk_write_all(a->fd, num, (size_t)n)) != 0 ||
	    (e = tk_afile_commit(a, 0)) != 0) {
		tk_afile_abort(a);
		warnc(e, "--port-file %s", a->path);
		return -1;
	}
	return 0;
}

static void
raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"ipv4",        no_argument,       NULL, '4'},
		{"ipv6",        no_argument,       NULL, '6'},
		{"buffer",      required_argument, NULL, 'B'},
		{"bind",        required_argument, NULL, 'b'},
		{"per-peer",    required_argument, NULL, 'C'},
		{"connections", required_argument, NULL, 'c'},
		{"devices",     required_argument, NULL, OPT_DEVICES},
		{"login-timeout", required_argument, NULL, OPT_LOGIN},
		{"group",       required_argument, NULL, 'G'},
		{"help",        no_argument,       NULL, 'h'},
		{"max-frame",   required_argument, NULL, 'm'},
		{"port",        required_argument, NULL, 'p'},
		{"port-file",   required_argument, NULL, 'P'},
		{"reuseport",   no_argument,       NULL, 'R'},
		{"registry-refresh", required_argument, NULL, 'F'},
		{"name",        required_argument, NULL, 'n'},
		{"nats-replicas", required_argument, NULL, 'r'},
		CLI_NATS_LONGOPTS,
		{"socket",      required_argument, NULL, 'S'},
		{"takeover",    required_argument, NULL, OPT_TAKEOVER},
		{"timeout",     required_argument, NULL, 't'},
		{"user",        required_argument, NULL, 'u'},
		{"verbose",     no_argument,       NULL, 'v'},
		{"version",     no_argument,       NULL, 'V'},
		{NULL, 0, NULL, 0}
	};
	struct tk_server_opts o = {
		.family = AF_UNSPEC, .port = 8888, .out_fd = STDOUT_FILENO,
		.out_max = 4u << 20, .idle_s = 600, .max_conns = 10000,
		.max_per_peer = 1000, .log = logcb,
	};
	const char *port_file = NULL, *user = NULL, *devices = NULL;
	struct tk_nats_opts no = {.replicas = 1, .log = logcb};
	char name[TK_NATS_NAME_MAX];
	bool c_given = false, refresh_given = false;
	int64_t refresh_s = 30;
	int ch, rc = TK_EXIT_OK;

	cli_init(argc, argv);
	while ((ch = getopt_long(argc, argv, "46B:b:C:c:G:hm:p:S:t:u:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case '4':
			if (o.family == AF_INET6)
				cli_usage_error(usage_text, "-4 and -6 exclude each other");
			o.family = AF_INET;
			break;
		case '6':
			if (o.family == AF_INET)
				cli_usage_error(usage_text, "-4 and -6 exclude each other");
			o.family = AF_INET6;
			break;
		case 'B':
			o.out_max = (size_t)cli_size("-B", optarg, 4096, 1ULL << 40);
			break;
		case 'b':
			o.bind = optarg;
			break;
		case 'C':
			o.max_per_peer = (unsigned)cli_number("-C", optarg, 0, 1000000);
			break;
		case 'c':
			o.max_conns = (unsigned)cli_number("-c", optarg, 1, 10000000);
			c_given = true;
			break;
		case 'G': {
			struct group *g = getgrnam(optarg);
			if (g != NULL)
				o.ctl_gid = g->gr_gid;
			else if (optarg[strspn(optarg, "0123456789")] != '\0')
				cli_usage_error(usage_text, "-G %s: no such group", optarg);
			else
				o.ctl_gid = (gid_t)cli_number("-G", optarg, 0, 2147483647);
			o.ctl_group = true;
			break;
		}
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			return cli_close_stdout(TK_EXIT_OK);
		case 'm':
			o.frame_max = (size_t)cli_number("-m", optarg, 16, 1 << 24);
			break;
		case 'p':
			o.port = (uint16_t)cli_number("-p", optarg, 0, 65535);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'R':
			o.reuseport = true;
			break;
		case 'F':
			refresh_s = cli_duration("--registry-refresh", optarg, 1, 86400);
			refresh_given = true;
			break;
		case 'n':
			if (strlen(optarg) == 0 || strlen(optarg) >= TK_NATS_NAME_MAX)
				cli_usage_error(usage_text, "--name %s: 1 to %d bytes", optarg,
				    TK_NATS_NAME_MAX - 1);
			no.name = optarg;
			break;
		case 'r':
			no.replicas = (int)cli_number("--nats-replicas", optarg, 1, 5);
			break;

		case 'S':
			o.ctl_path = optarg;
			break;
		case 't':
			o.idle_s = (unsigned)cli_duration("-t", optarg, 0, 31 * 86400);
			break;
		case OPT_DEVICES:
			devices = optarg;
			break;
		case OPT_LOGIN:
			o.login_s = (int)cli_duration("--login-timeout", optarg, 0, 31 * 86400);
			if (o.login_s == 0)
				o.login_s = TK_LOGIN_NEVER;
			break;
		case OPT_TAKEOVER:
			o.takeover_s = (int)cli_duration("--takeover", optarg, 0, 31 * 86400);
			if (o.takeover_s == 0)
				o.takeover_s = TK_TAKEOVER_AT_ONCE;
			break;
		case 'u':
			user = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'V':
			cli_version();
		default:
			if (!cli_nats_option(ch, optarg, &no, usage_text))
				cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc)
		cli_usage_error(usage_text, "unexpected argument: %s", argv[optind]);
	if (o.ctl_group && o.ctl_path == NULL)
		cli_usage_error(usage_text, "-G needs -S");
	cli_nats_check(&no, no.name || no.replicas != 1 || refresh_given, usage_text);
	if (no.urls == NULL)
		cli_need_stdout();
	struct tk_idset *allowed = devices != NULL ? load_devices(devices, true) : NULL;

	struct passwd *pw = NULL;
	if (user != NULL && (pw = getpwnam(user)) == NULL)
		errx(TK_EXIT_USAGE, "-u %s: no such user", user);

	raise_nofile();
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > 64 && o.max_conns > rl.rlim_cur - 64) {
		if (c_given)
			warnx("-c %u: only %llu file descriptors; limiting to %llu",
			    o.max_conns, (unsigned long long)rl.rlim_cur,
			    (unsigned long long)(rl.rlim_cur - 64));
		o.max_conns = (unsigned)(rl.rlim_cur - 64);
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	struct tk_afile pf;
	if (port_file != NULL) {
		int pe = tk_afile_open(&pf, port_file, 0666);
		if (pe != 0)
			errc(TK_EXIT_IO, pe, "--port-file %s", port_file);
	}
	char e[256];
	struct tk_nats *bus = NULL;
	struct tk_fleet *fleet = NULL;
	if (no.urls != NULL) {
		if (no.name == NULL) {
			default_name(name, sizeof(name), o.port);
			no.name = name;
		}
		if ((bus = tk_nats_new(&no, e, sizeof(e))) == NULL)
			errx(TK_EXIT_IO, "%s", e);
		if ((fleet = tk_fleet_new(bus, no.name, e, sizeof(e))) == NULL) {
			tk_nats_free(bus);
			errx(TK_EXIT_IO, "%s", e);
		}
		o.make_sink = make_nats_sink;
		o.sink_arg = bus;
		tk_fleet_hook(fleet, &o, refresh_s * 1000);
	}
	struct tk_server *s = tk_server_new(&o, e, sizeof(e));
	if (s == NULL) {
		tk_idset_free(allowed);
		tk_fleet_free(fleet);
		tk_nats_free(bus);
		if (port_file != NULL)
			tk_afile_abort(&pf);
		errx(TK_EXIT_IO, "%s", e);
	}
	if (port_file != NULL && write_port_file(&pf, tk_server_port(s)) != 0) {
		tk_server_free(s);
		tk_fleet_free(fleet);
		tk_nats_free(bus);
		return TK_EXIT_IO;
	}
	if (fleet != NULL && tk_fleet_start(fleet, s, e, sizeof(e)) != 0) {
		tk_server_free(s);
		tk_fleet_free(fleet);
		tk_nats_free(bus);
		errx(TK_EXIT_IO, "%s", e);
	}
	if (devices != NULL)
		tk_server_set_devices(s, allowed);
	char d[512];
	tk_server_describe(s, d, sizeof(d));
	fprintf(stderr, "%s: listening on %s\n", getprogname(), d);
	/* systemd (Type=notify): ready once bound and, with --nats, once the
	 * stream is reached (in the loop); the socket is connected now,
	 * before hardening, and later states are a send() */
	int nfd = tk_notify_open();
	if (nfd < 0 && errno != 0)
		warn("NOTIFY_SOCKET %s", getenv("NOTIFY_SOCKET"));
	bool ready = false;
	if (pw != NULL) {
		if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
		    setuid(pw->pw_uid) != 0)
			err(TK_EXIT_IO, "-u %s: dropping privileges", user);
		if (pw->pw_uid != 0 && setuid(0) == 0)
			errx(TK_EXIT_SOFTWARE, "-u %s: could regain root", user);
	}
	cli_harden(bus != NULL ? TK_HARDEN_CLIENT : TK_HARDEN_NET);

	int64_t ticked = 0;
	while (!got_stop) {
		if (!ready && (bus == NULL || tk_nats_ready(bus))) {
			ready = true;
			if (tk_notify(nfd, "READY=1") != 0)
				warn("NOTIFY_SOCKET: READY=1");
		}
		if (got_usr1) {
			got_usr1 = 0;
			print_stats(s);
		}
		if (got_hup) {
			/* flush; the --devices list again (a log rotation needs
			 * nothing more: the output is a descriptor, never reopened) */
			got_hup = 0;
			if (tk_server_flush(s, 0) < 0)
				continue;	/* the run below reports it */
			struct tk_idset *set;
			if (devices != NULL && (set = load_devices(devices, false)) != NULL) {
				fprintf(stderr, "%s: SIGHUP: --devices %s: %zu device(s)\n",
				    getprogname(), devices, tk_idset_count(set));
				tk_server_set_devices(s, set);
			}
		}
		int64_t now = tk_mono_ms();
		if (fleet != NULL && now - ticked >= 1000) {
			ticked = now;
			tk_fleet_tick(fleet);
		}
		if (bus != NULL && tk_nats_closed(bus)) {
			warnx("nats: stopping: no frame can be delivered any more");
			rc = TK_EXIT_IO;
			break;
		}
		if (tk_server_run(s, fleet != NULL ? 500 : 1000) != 0) {
			rc = output_failed(s, bus != NULL);
			break;
		}
	}
	if (tk_notify(nfd, "STOPPING=1") != 0)
		warn("NOTIFY_SOCKET: STOPPING=1");
	if (rc == TK_EXIT_OK) {
		tk_server_shutdown(s);
		int r;
		while ((r = tk_server_flush(s, 200)) == 1 && got_stop < 2) {
			if (got_usr1) {
				got_usr1 = 0;
				print_stats(s);
			}
		}
		if (r < 0) {
			rc = output_failed(s, bus != NULL);
		} else if (r == 1) {
			warnx("stopped twice: output not fully written: %llu line(s) read and "
			    "not written", (unsigned long long)tk_server_undelivered(s));
			rc = TK_EXIT_IO;
		}
		/* the registry: these devices are offline now (bounded wait) */
		int64_t until = tk_mono_ms() + 5000;
		while (fleet != NULL && tk_fleet_pending(fleet) > 0 && got_stop < 2 &&
		    tk_mono_ms() < until) {
			tk_fleet_tick(fleet);
			tk_server_flush(s, 100);
		}
		if (fleet != NULL && tk_fleet_pending(fleet) > 0)
			warnx("nats: %zu registry write(s) not acknowledged at exit",
			    tk_fleet_pending(fleet));
	}
	if (o.verbose)
		print_stats(s);
	uint64_t lost = tk_server_undelivered(s);
	if (bus != NULL && lost > 0)
		warnx("nats: %llu line(s) not acknowledged by the stream at exit",
		    (unsigned long long)lost);
	tk_server_free(s);
	tk_fleet_free(fleet);
	tk_nats_free(bus);
	if (nfd >= 0)
		close(nfd);
	return cli_close_stdout(rc);
}
