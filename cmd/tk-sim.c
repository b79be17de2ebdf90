/*
 * tk-sim: simulate TK103-family devices against a server (TCP or UDP), or
 * write their frames to a file.  A thin main over lib/tk_simrun.c (the
 * schedule, the devices, the sockets and the counters) and lib/tk_sim.c
 * (the frames, expected replies and command answers): options, wiring,
 * the summary and the exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/resource.h>

#include <err.h>

#include "cli.h"
#include "tk_simrun.h"

static const char usage_text[] =
    "usage: tk-sim [-qu] [-a rate] [-d dialect] [-H host[:port][,...]] [-i seconds]\n"
    "              [-N frames] [-n devices] [-o file] [-p port[,...]] [-r route]\n"
    "              [-s seed] [-T seconds] [--check] [--h02-binary]\n"
    "              [--heartbeat seconds] [--misbehave mode] [--raw]\n"
    "              [--reconnect seconds] [--source addr[-addr]] [--spread]\n"
    "              [--start lat,lon] [--stats-json file]\n";

static const char help_text[] =
    "Simulate TK103-family GPS trackers against a server, or write their frames.\n"
    "\n"
    "  -a, --alarms RATE      probability (0-1) that a report is an alarm (default 0)\n"
    "  -d, --dialect NAME     xexun, tk103, gps103, xexun2, gt06, h02 or mix\n"
    "                         (default tk103; mix: all in turn, no gt06 with -u)\n"
    "  -H, --host HOST[:PORT][,...]\n"
    "                         server address (default 127.0.0.1); a list is a\n"
    "                         primary and its backups, tried in turn\n"
    "  -i, --interval SECS    seconds between positions, fractions allowed;\n"
    "                         0 = as fast as possible (default 10)\n"
    "  -N, --frames N         stop after N frames in total\n"
    "  -n, --devices N        number of devices (default 1, at most 1000000)\n"
    "  -o, --output FILE      write tk-frame(5) lines (or bytes with --raw) to FILE\n"
    "                         (- for stdout) instead of connecting; time is simulated\n"
    "  -p, --port PORT[,...]  server port(s) for hosts given without one\n"
    "                         (required unless -o or every host has a port)\n"
    "  -q, --quiet            no summary on stderr\n"
    "  -r, --route FILE       drive along a GeoJSON LineString (default: circles\n"
    "                         around --start)\n"
    "  -s, --seed N           seed for reproducible runs (default 1)\n"
    "  -T, --duration SECS    stop after SECS seconds (default 10 unless -N)\n"
    "  -u, --udp              datagrams instead of TCP connections\n"
    "      --check            exit 1 if any reply was wrong or missing, a\n"
    "                         connection failed or the server had not taken\n"
    "                         every byte sent when the grace ran out\n"
    "      --grace SECS       after stopping, wait up to SECS for replies and for\n"
    "                         the server to take the rest and close (default 2)\n"
    "      --h02-binary       h02 devices report in binary $ records (no answer due)\n"
    "      --heartbeat SECS   heartbeat interval (tk103 BP00, gps103, gt06 0x13, h02\n"
    "                         HTBT; default 60, 0 off)\n"
    "      --misbehave MODE   idle, slow, oversize, random, flood, impersonate,\n"
    "                         trickle, halfframe (idle-unidentified: idle)\n"
    "      --ramp N           new connections per second (default 5000)\n"
    "      --raw              with -o: raw frame bytes instead of frame lines\n"
    "      --reconnect SECS   reconnect (from a new port) every SECS seconds\n"
    "      --source ADDR      local address(es) to connect from: an IPv4 address\n"
    "                         or a range 127.0.0.2-127.0.0.20, used in turn\n"
    "      --speed KMH        mean vehicle speed (default 40)\n"
    "      --spread           device i starts at server i of the list (mod its\n"
    "                         length) instead of the first\n"
    "      --start LAT,LON    devices drive within 2 km of it (default 52.52,13.405)\n"
    "      --stats-json FILE  write the counters as JSON to FILE (- for stdout)\n"
    "  -h, --help             this help\n"
    "  -V, --version          print the version\n"
    "\n"
    "Times (-i, -T, --grace, --heartbeat, --reconnect): seconds, fractions allowed,\n"
    "or with a unit: 30s, 5m, 1h, 2d.\n"
    "Exit status: 0 ok, 1 check failed, 2 usage, 3 I/O error or no connection.\n"
    "See tk-sim(1).\n";

struct cfg {
	struct tk_simrun_opts r;
	const char	*out, *route, *stats_json;
	const char	*hosts, *ports;		/* -H and -p as given */
	struct tk_simrun_server srv[TK_SIMRUN_SERVERS_MAX];
	struct {
		char	 host[256], port[8];
	}		 names[TK_SIMRUN_SERVERS_MAX];
};

static struct tk_simrun *sim;
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	if (sim != NULL)
		tk_simrun_stop(sim);
}

static void
logcb(void *arg, const char *msg)
{
	(void)arg;
	warnx("%s", msg);
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

static const char *
dialect_label(const struct tk_simrun_opts *o)
{
	return o->mix ? "mix" : tk_dialect_name(o->dialect);
}

/* ---- report ---------------------------------------------------------------- */

static void
report(FILE *f, const struct cfg *c, const struct tk_simrun_stats *st)
{
	const struct tk_simrun_opts *o = &c->r;
	double el = st->elapsed_s;
	fprintf(f, "{\"dialect\":\"%s\",\"transport\":\"%s\",\"devices\":%ld,"
	    "\"misbehave\":\"%s\",\"elapsed_s\":%.3f,"
	    "\"connects\":%llu,\"connect_failed\":%llu,\"max_connected\":%llu,"
	    "\"closed_by_peer\":%llu,\"frames\":%llu,\"bytes\":%llu,\"frames_per_s\":%.1f,"
	    "\"logins\":%llu,\"heartbeats\":%llu,\"positions\":%llu,\"alarms\":%llu,"
	    "\"replies_ok\":%llu,\"replies_wrong\":%llu,\"replies_missing\":%llu,"
	    "\"replies_due\":%llu,"
	    "\"commands\":%llu,\"answers\":%llu,\"alarm_acks\":%llu,\"unknown_rx\":%llu,\"dropped\":%llu,"
	    "\"rx_bytes\":%llu,\"unconfirmed\":%llu,\"unacked_bytes\":%llu,"
	    "\"login_latency_us\":{\"n\":%zu,\"p50\":%u,\"p99\":%u,\"max\":%u},"
	    "\"reply_latency_us\":{\"n\":%zu,\"p50\":%u,\"p99\":%u,\"max\":%u}",
	    dialect_label(o), c->out ? "file" : o->udp ? "udp" : "tcp",
	    o->ndev, tk_simrun_mis_name(o->mis), el,
	    (unsigned long long)st->connects, (unsigned long long)st->connect_failed,
	    (unsigned long long)st->max_up, (unsigned long long)st->closed_by_peer,
	    (unsigned long long)st->frames, (unsigned long long)st->bytes,
	    el > 0 ? (double)st->frames / el : 0.0,
	    (unsigned long long)st->logins, (unsigned long long)st->heartbeats,
	    (unsigned long long)st->positions, (unsigned long long)st->alarms,
	    (unsigned long long)st->ok, (unsigned long long)st->wrong,
	    (unsigned long long)st->missing, (unsigned long long)st->due,
	    (unsigned long long)st->commands,
	    (unsigned long long)st->answers, (unsigned long long)st->alarm_acks,
	    (unsigned long long)st->unknown_rx,
	    (unsigned long long)st->dropped, (unsigned long long)st->rx_bytes,
	    (unsigned long long)st->unconfirmed, (unsigned long long)st->unacked_bytes,
	    st->login_lat.n, st->login_lat.p50, st->login_lat.p99, st->login_lat.max,
	    st->reply_lat.n, st->reply_lat.p50, st->reply_lat.p99, st->reply_lat.max);
	/* per server, with keys of their own (a sed for a top-level key finds
	 * that one only) */
	fprintf(f, ",\"servers\":[");
	for (size_t i = 0; i < st->nservers; i++) {
		const struct tk_simrun_srvstats *v = &st->server[i];
		fprintf(f, "%s{\"server\":\"%s\",\"connected\":%llu,\"failed\":%llu,"
		    "\"closed_by_server\":%llu,\"sent\":%llu,\"answered\":%llu,"
		    "\"answered_wrong\":%llu,\"unanswered\":%llu}", i ? "," : "", v->name,
		    (unsigned long long)v->connects, (unsigned long long)v->connect_failed,
		    (unsigned long long)v->closed_by_peer, (unsigned long long)v->frames,
		    (unsigned long long)v->ok, (unsigned long long)v->wrong,
		    (unsigned long long)v->missing);
	}
	fprintf(f, "]}\n");
}

static void
summary(const struct cfg *c, const struct tk_simrun_stats *st)
{
	const struct tk_simrun_opts *o = &c->r;
	const char *dn = dialect_label(o);
	double el = st->elapsed_s;
	if (c->out != NULL) {
		warnx("%ld %s devices, %llu frames (%llu logins, %llu heartbeats, %llu positions, "
		    "%llu alarms), %llu bytes", o->ndev, dn, (unsigned long long)st->frames,
		    (unsigned long long)st->logins, (unsigned long long)st->heartbeats,
		    (unsigned long long)st->positions, (unsigned long long)st->alarms,
		    (unsigned long long)st->bytes);
		return;
	}
	char to[TK_SIMRUN_SERVERS_MAX * 84];
	if (st->nservers == 1) {
		snprintf(to, sizeof(to), "%s port %s", o->host, o->port);
	} else {
		size_t n = 0;
		for (size_t i = 0; i < st->nservers && n < sizeof(to); i++)
			n += (size_t)snprintf(to + n, sizeof(to) - n, "%s%s", i ? ", " : "",
			    st->server[i].name);
	}
	warnx("%ld %s devices over %s to %s, %.1f s%s%s", o->ndev, dn,
	    o->udp ? "udp" : "tcp", to, el,
	    o->mis ? ", misbehaving: " : "", o->mis ? tk_simrun_mis_name(o->mis) : "");
	warnx("connected %llu (max at once %llu, failed %llu, closed by server %llu)",
	    (unsigned long long)st->connects, (unsigned long long)st->max_up,
	    (unsigned long long)st->connect_failed, (unsigned long long)st->closed_by_peer);
	warnx("sent %llu frames (%.0f/s), %llu bytes; %llu commands answered",
	    (unsigned long long)st->frames, el > 0 ? (double)st->frames / el : 0.0,
	    (unsigned long long)st->bytes, (unsigned long long)st->commands);
	warnx("replies ok %llu, wrong %llu, missing %llu",
	    (unsigned long long)st->ok, (unsigned long long)st->wrong,
	    (unsigned long long)st->missing);
	if (st->unconfirmed > 0)
		warnx("%llu connections not closed by the server in the grace, "
		    "%llu bytes sent on them not acknowledged",
		    (unsigned long long)st->unconfirmed, (unsigned long long)st->unacked_bytes);
	for (size_t i = 0; st->nservers > 1 && i < st->nservers; i++) {
		const struct tk_simrun_srvstats *v = &st->server[i];
		warnx("server %s: connected %llu (failed %llu, closed by server %llu), "
		    "sent %llu frames, replies ok %llu, wrong %llu, missing %llu", v->name,
		    (unsigned long long)v->connects, (unsigned long long)v->connect_failed,
		    (unsigned long long)v->closed_by_peer, (unsigned long long)v->frames,
		    (unsigned long long)v->ok, (unsigned long long)v->wrong,
		    (unsigned long long)v->missing);
	}
	if (st->login_lat.n > 0)
		warnx("login latency p50 %u us, p99 %u us (n=%zu)", st->login_lat.p50,
		    st->login_lat.p99, st->login_lat.n);
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
parse_source(struct tk_simrun_opts *o, const char *s)
{
	char lo[64];
	const char *dash = strchr(s, '-');
	size_t n = dash ? (size_t)(dash - s) : strlen(s);
	if (n >= sizeof(lo))
		cli_usage_error(usage_text, "--source %s: not an IPv4 address or range", s);
	memcpy(lo, s, n);
	lo[n] = '\0';
	o->src_lo = parse_ipv4(lo);
	o->src_hi = dash ? parse_ipv4(dash + 1) : o->src_lo;
	if (o->src_lo == 0 || o->src_hi == 0 || o->src_hi < o->src_lo ||
	    o->src_hi - o->src_lo > 65535)
		cli_usage_error(usage_text, "--source %s: not an IPv4 address or range "
		    "(at most 65536 addresses)", s);
}

static void
parse_start(struct tk_simrun_opts *o, const char *s)
{
	char buf[64];
	const char *c = strchr(s, ',');
	if (c == NULL || (size_t)(c - s) >= sizeof(buf))
		cli_usage_error(usage_text, "--start %s: expected LAT,LON", s);
	memcpy(buf, s, (size_t)(c - s));
	buf[c - s] = '\0';
	o->start_lat = parse_double("--start", buf, -85, 85);
	o->start_lon = parse_double("--start", c + 1, -180, 180);
}

/* One -H entry: host, [v6]:port, host:port or a bare IPv6 address. */
static void
split_host(const char *e, size_t n, char *host, size_t hcap, char *port, size_t pcap)
{
	const char *h = e, *p = NULL;
	size_t hn = n;
	const char *colon = memchr(e, ':', n);
	if (n > 0 && e[0] == '[') {
		const char *b = memchr(e, ']', n);
		if (b == NULL || (b + 1 < e + n && b[1] != ':'))
			cli_usage_error(usage_text, "-H %.*s: expected [ADDRESS]:PORT", (int)n, e);
		h = e + 1;
		hn = (size_t)(b - h);
		if (b + 1 < e + n)
			p = b + 2;
	} else if (colon != NULL && memchr(colon + 1, ':', (size_t)(e + n - colon - 1)) == NULL) {
		hn = (size_t)(colon - e);
		p = colon + 1;
	}
	if (hn == 0 || hn >= hcap)
		cli_usage_error(usage_text, "-H %.*s: not a host", (int)n, e);
	memcpy(host, h, hn);
	host[hn] = '\0';
	port[0] = '\0';
	if (p != NULL) {
		size_t pn = (size_t)(e + n - p);
		if (pn == 0 || pn >= pcap)
			cli_usage_error(usage_text, "-H %.*s: not a port", (int)n, e);
		memcpy(port, p, pn);
		port[pn] = '\0';
		cli_number("-H", port, 1, 65535);
	}
}

/*
 * The servers: each -H entry with its own port is one; an entry without
 * is tried on every -p port in turn.  Devices try the list in order.
 */
static void
parse_servers(struct cfg *c)
{
	char ports[TK_SIMRUN_SERVERS_MAX][8];
	size_t np = 0, ns = 0;
	for (const char *p = c->ports; p != NULL; ) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (np == TK_SIMRUN_SERVERS_MAX)
			cli_usage_error(usage_text, "-p %s: at most %d ports", c->ports,
			    TK_SIMRUN_SERVERS_MAX);
		if (n == 0 || n >= sizeof(ports[0]))
			cli_usage_error(usage_text, "-p %s: expected PORT[,PORT...]", c->ports);
		memcpy(ports[np], p, n);
		ports[np][n] = '\0';
		cli_number("-p", ports[np], 1, 65535);
		np++;
		p = comma ? comma + 1 : NULL;
	}
	for (const char *h = c->hosts; h != NULL; ) {
		const char *comma = strchr(h, ',');
		size_t n = comma ? (size_t)(comma - h) : strlen(h);
		char host[256], port[8];
		split_host(h, n, host, sizeof(host), port, sizeof(port));
		if (port[0] == '\0' && np == 0)
			cli_usage_error(usage_text, "a port (-p) is required unless writing a "
			    "file (-o)");
		for (size_t k = 0; k < (port[0] ? 1 : np); k++) {
			if (ns == TK_SIMRUN_SERVERS_MAX)
				cli_usage_error(usage_text, "at most %d servers",
				    TK_SIMRUN_SERVERS_MAX);
			memcpy(c->names[ns].host, host, sizeof(host));
			memcpy(c->names[ns].port, port[0] ? port : ports[k], sizeof(port));
			c->srv[ns].host = c->names[ns].host;
			c->srv[ns].port = c->names[ns].port;
			ns++;
		}
		h = comma ? comma + 1 : NULL;
	}
	c->r.servers = c->srv;
	c->r.nservers = ns;
	c->r.host = c->srv[0].host;
	c->r.port = c->srv[0].port;
}

static void
load_route(const char *path, struct tk_sim_route *route)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err(TK_EXIT_IO, "%s", path);
	size_t n;
	char *buf = cli_read_file(fd, path, 64u << 20, &n);
	close(fd);
	char e[200];
	int rc = tk_sim_route_geojson(route, buf, n, e, sizeof(e));
	free(buf);
	if (rc != 0)
		errx(TK_EXIT_DATA, "%s: %s", path, e);
}

static void
raise_nofile(const struct tk_simrun_opts *o, bool quiet)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && !quiet && rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)o->ndev + 16 > rl.rlim_cur)
		warnx("%ld devices but only %llu file descriptors: some will not connect "
		    "(split the run over several processes)", o->ndev,
		    (unsigned long long)rl.rlim_cur);
}

enum {
	OPT_CHECK = 256, OPT_GRACE, OPT_H02_BINARY, OPT_HEARTBEAT, OPT_MISBEHAVE, OPT_RAMP, OPT_RAW,
	OPT_RECONNECT, OPT_SOURCE, OPT_SPEED, OPT_SPREAD, OPT_START, OPT_STATS
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
		{"h02-binary", no_argument, NULL, OPT_H02_BINARY},
		{"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
		{"misbehave", required_argument, NULL, OPT_MISBEHAVE},
		{"ramp", required_argument, NULL, OPT_RAMP},
		{"raw", no_argument, NULL, OPT_RAW},
		{"reconnect", required_argument, NULL, OPT_RECONNECT},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"speed", required_argument, NULL, OPT_SPEED},
		{"spread", no_argument, NULL, OPT_SPREAD},
		{"start", required_argument, NULL, OPT_START},
		{"stats-json", required_argument, NULL, OPT_STATS},
		{NULL, 0, NULL, 0}
	};
	struct cfg c = {.hosts = "127.0.0.1"};
	struct tk_simrun_opts *o = &c.r;
	bool have_T = false, quiet = false, check = false;
	int ch;

	cli_init(argc, argv);
	tk_simrun_opts_default(o);
	while ((ch = getopt_long(argc, argv, "a:d:hH:i:N:n:o:p:qr:s:T:uV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			o->alarms = parse_double("-a", optarg, 0, 1);
			break;
		case 'd':
			if (strcmp(optarg, "mix") == 0)
				o->mix = true;
			else if (tk_dialect_parse(optarg, &o->dialect) != 0 ||
			    !tk_dialect_decodable(o->dialect))
				cli_usage_error(usage_text, "-d %s: expected xexun, tk103, gps103, "
				    "xexun2, gt06, h02 or mix", optarg);
			break;
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			exit(cli_close_stdout(TK_EXIT_OK));
		case 'H':
			c.hosts = optarg;
			break;
		case 'i':
			o->interval = cli_seconds("-i", optarg, 0, 86400);
			if (o->interval > 0 && o->interval < 0.001)
				cli_usage_error(usage_text, "-i %s: at least 0.001 (or 0)", optarg);
			break;
		case 'N':
			o->frames_max = (uint64_t)cli_number("-N", optarg, 1, 1000000000000LL);
			break;
		case 'n':
			o->ndev = (long)cli_number("-n", optarg, 1, 1000000);
			break;
		case 'o':
			c.out = optarg;
			break;
		case 'p':
			c.ports = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'r':
			c.route = optarg;
			break;
		case 's':
			o->seed = (uint64_t)cli_number("-s", optarg, 0, LLONG_MAX);
			break;
		case 'T':
			o->duration = cli_seconds("-T", optarg, 0.001, 365 * 86400);
			have_T = true;
			break;
		case 'u':
			o->udp = true;
			break;
		case 'V':
			cli_version();
		case OPT_CHECK:
			check = true;
			break;
		case OPT_GRACE:
			o->grace = cli_seconds("--grace", optarg, 0, 600);
			break;
		case OPT_H02_BINARY:
			o->h02_binary = true;
			break;
		case OPT_HEARTBEAT:
			o->heartbeat = cli_seconds("--heartbeat", optarg, 0, 86400);
			break;
		case OPT_MISBEHAVE:
			if (tk_simrun_mis_parse(optarg, &o->mis) != 0)
				cli_usage_error(usage_text, "--misbehave %s: expected idle, slow, "
				    "oversize, random, flood, impersonate, trickle, halfframe or "
				    "idle-unidentified", optarg);
			break;
		case OPT_RAMP:
			o->ramp = parse_double("--ramp", optarg, 1, 1000000);
			break;
		case OPT_RAW:
			o->raw = true;
			break;
		case OPT_RECONNECT:
			o->reconnect = cli_seconds("--reconnect", optarg, 0.01, 86400);
			break;
		case OPT_SOURCE:
			parse_source(o, optarg);
			break;
		case OPT_SPEED:
			o->speed = parse_double("--speed", optarg, 0, 1000);
			break;
		case OPT_SPREAD:
			o->spread = true;
			break;
		case OPT_START:
			parse_start(o, optarg);
			break;
		case OPT_STATS:
			c.stats_json = optarg;
			break;
		default:
			cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc)
		cli_usage_error(usage_text, "unexpected argument: %s", argv[optind]);
	if (c.out == NULL || c.ports != NULL)
		parse_servers(&c);
	if (o->udp && !o->mix && o->dialect == TK_D_GT06)
		cli_usage_error(usage_text, "-d gt06: GT06 units use TCP only (no -u)");
	if (c.out != NULL && (o->udp && o->raw))
		cli_usage_error(usage_text, "--raw writes bytes: -u has no meaning there");
	if (c.out != NULL && (o->mis != TK_SIMRUN_NONE || o->reconnect > 0 || o->src_lo != 0 ||
	    check))
		cli_usage_error(usage_text, "-o does not combine with --misbehave, --reconnect, "
		    "--source or --check");
	if (o->raw && c.out == NULL)
		cli_usage_error(usage_text, "--raw needs -o");
	if (c.out != NULL && o->interval == 0)
		cli_usage_error(usage_text, "-o needs an interval above 0");
	if ((o->mis == TK_SIMRUN_SLOW || o->mis == TK_SIMRUN_IMPERSONATE) && o->interval == 0)
		o->interval = 1;
	if (!have_T && o->frames_max == 0)
		o->duration = 10;
	if (c.stats_json != NULL && c.out != NULL && strcmp(c.out, "-") == 0 &&
	    strcmp(c.stats_json, "-") == 0)
		cli_usage_error(usage_text, "-o - and --stats-json - both want stdout");

	struct tk_sim_route route;
	if (c.route != NULL) {
		load_route(c.route, &route);
		o->route = &route;
	}
	FILE *sj = NULL;
	if (c.stats_json != NULL) {
		sj = strcmp(c.stats_json, "-") == 0 ? stdout : fopen(c.stats_json, "w");
		if (sj == NULL)
			err(TK_EXIT_IO, "%s", c.stats_json);
	}
	int fd = -1;
	if (c.out != NULL) {
		fd = STDOUT_FILENO;
		if (strcmp(c.out, "-") != 0) {
			fd = open(c.out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
			if (fd < 0)
				err(TK_EXIT_IO, "%s", c.out);
		}
		o->out_fd = fd;
	} else {
		raise_nofile(o, quiet);
	}
	o->log = logcb;
	if (sj == stdout || fd == STDOUT_FILENO)
		cli_need_stdout();

	char e[256];
	sim = tk_simrun_new(o, e, sizeof(e));
	if (sim == NULL)
		errx(TK_EXIT_IO, "%s", e);
	cli_harden(c.out != NULL ? TK_HARDEN_STDIO : TK_HARDEN_NET);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int rc = TK_EXIT_OK;
	if (tk_simrun_run(sim, e, sizeof(e)) != 0) {
		if (c.out == NULL) {
			warnx("%s", e);
			rc = TK_EXIT_IO;
		} else {
			if (errno != EPIPE || fd != STDOUT_FILENO)
				warn("%s", c.out);
			rc = errno == EPIPE ? TK_EXIT_PIPE : TK_EXIT_IO;
		}
	}
	if (fd >= 0 && fd != STDOUT_FILENO && close(fd) != 0 && rc == TK_EXIT_OK) {
		warn("%s", c.out);
		rc = TK_EXIT_IO;
	}
	struct tk_simrun_stats st;
	tk_simrun_stats(sim, &st);
	if (sj != NULL)
		report(sj, &c, &st);
	if (sj != NULL && sj != stdout && fclose(sj) != 0) {
		warn("%s", c.stats_json);
		rc = rc ? rc : TK_EXIT_IO;
	}
	if (!quiet)
		summary(&c, &st);
	if (rc == TK_EXIT_OK && c.out == NULL) {
		if (st.connects == 0 && st.nservers > 1) {
			warnx("no device could connect to any of the %zu servers", st.nservers);
			rc = TK_EXIT_IO;
		} else if (st.connects == 0) {
			warnx("no device could connect to %s port %s", o->host, o->port);
			rc = TK_EXIT_IO;
		} else if (check && (st.wrong > 0 || st.missing > 0 || st.connect_failed > 0 ||
		    st.unacked_bytes > 0)) {
			rc = TK_EXIT_DATA;
		}
	}
	tk_simrun_free(sim);
	sim = NULL;
	if (o->route != NULL)
		tk_sim_route_free(&route);
	return cli_close_stdout(rc);
}
