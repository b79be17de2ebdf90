/* test_simrun.c: tk-sim's engine (lib/tk_simrun.c) in-process: the corpus
 * mode into a file (counts, exact -N, reproducibility, stop), live runs
 * against tk-listen's engine (lib/tk_server.c) on loopback, stepped in
 * turn on one thread (every reply right, none missing; TCP and UDP), a
 * silent UDP peer (replies counted missing), and option checks. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tk_server.h"
#include "tk_simrun.h"

/* ---- file mode ---------------------------------------------------------- */

struct corpus {
	char	*p;
	size_t	 n;
	size_t	 open, frame, close;
};

/* Run o to its end (with no server stepped beside it). */
static void
run_alone(const struct tk_simrun_opts *o, struct tk_simrun_stats *st)
{
	char err[256];
	struct tk_simrun *s = tk_simrun_new(o, err, sizeof(err));
	if (s == NULL)
		fail_msg("tk_simrun_new: %s", err);
	assert_int_equal(tk_simrun_run(s, err, sizeof(err)), 0);
	tk_simrun_stats(s, st);
	tk_simrun_free(s);
}

/* Run a file-mode simulation into a memory file and read it back. */
static void
run_file(struct tk_simrun_opts *o, struct corpus *c, struct tk_simrun_stats *st)
{
	int fd = memfd_create("corpus", MFD_CLOEXEC);
	assert_true(fd >= 0);
	o->out_fd = fd;
	run_alone(o, st);
	off_t n = lseek(fd, 0, SEEK_END);
	assert_true(n >= 0);
	memset(c, 0, sizeof(*c));
	c->p = malloc((size_t)n + 1);
	assert_non_null(c->p);
	assert_int_equal(pread(fd, c->p, (size_t)n, 0), n);
	c->p[n] = '\0';
	c->n = (size_t)n;
	close(fd);
	for (char *l = c->p; !o->raw && l < c->p + c->n; ) {
		char *e = strchr(l, '\n');
		assert_non_null(e);
		if (strstr(l, " open ") != NULL && strstr(l, " open ") < e)
			c->open++;
		else if (strstr(l, " frame ") != NULL && strstr(l, " frame ") < e)
			c->frame++;
		else if (strstr(l, " close ") != NULL && strstr(l, " close ") < e)
			c->close++;
		l = e + 1;
	}
}

static void
test_file_counts(void **state)
{
	(void)state;
	/* legend: 4 mixed devices, 100 simulated seconds at 10 s, heartbeats
	 * every 20 s (tk103 and gps103 only): 10 reports each + 4 + 4 */
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	struct corpus c;
	tk_simrun_opts_default(&o);
	o.mix = true;
	o.ndev = 4;
	o.duration = 100;
	o.interval = 10;
	o.heartbeat = 20;
	o.seed = 3;
	run_file(&o, &c, &st);
	assert_int_equal(st.frames, 48);
	assert_int_equal(c.frame, 48);
	assert_int_equal(c.open, 4);
	assert_int_equal(c.close, 4);
	assert_int_equal(st.heartbeats, 8);
	assert_int_equal(st.logins, 3);		/* xexun has none */
	assert_int_equal(st.connects, 0);	/* nothing connected in file mode */
	free(c.p);
}

static void
test_file_exact_and_reproducible(void **state)
{
	(void)state;
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	struct corpus a, b, d;
	tk_simrun_opts_default(&o);
	o.mix = true;
	o.ndev = 10;
	o.frames_max = 500;
	o.interval = 1;
	o.alarms = 0.1;
	o.seed = 7;
	run_file(&o, &a, &st);
	assert_int_equal(st.frames, 500);
	assert_int_equal(a.frame, 500);
	run_file(&o, &b, &st);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.p, b.p, a.n);
	o.seed = 8;
	run_file(&o, &d, &st);
	assert_true(d.n != a.n || memcmp(a.p, d.p, a.n) != 0);
	free(a.p);
	free(b.p);
	free(d.p);
}

static void
test_file_raw_and_stop(void **state)
{
	(void)state;
	char err[256];
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	struct corpus c;
	tk_simrun_opts_default(&o);
	o.dialect = TK_D_TK103;
	o.raw = true;
	o.frames_max = 3;
	o.interval = 1;
	run_file(&o, &c, &st);
	assert_int_equal(st.frames, 3);
	assert_int_equal(c.open + c.frame + c.close, 0);	/* bytes, no lines */
	assert_int_equal(c.p[0], '(');
	assert_int_equal(c.p[c.n - 1], ')');
	free(c.p);

	/* stopped before it ran: nothing but the close lines of nobody */
	int fd = memfd_create("stop", MFD_CLOEXEC);
	tk_simrun_opts_default(&o);
	o.out_fd = fd;
	o.ndev = 100;
	o.duration = 1e6;
	struct tk_simrun *s = tk_simrun_new(&o, err, sizeof(err));
	assert_non_null(s);
	tk_simrun_stop(s);
	assert_int_equal(tk_simrun_run(s, err, sizeof(err)), 0);
	tk_simrun_stats(s, &st);
	assert_int_equal(st.frames, 0);
	tk_simrun_free(s);
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);
	close(fd);
}

static void
test_file_write_error(void **state)
{
	(void)state;
	char err[256];
	struct tk_simrun_opts o;
	tk_simrun_opts_default(&o);
	o.out_fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(o.out_fd >= 0);
	o.ndev = 10;
	o.frames_max = 100000;
	o.interval = 1;
	struct tk_simrun *s = tk_simrun_new(&o, err, sizeof(err));
	assert_non_null(s);
	errno = 0;
	assert_int_equal(tk_simrun_run(s, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOSPC);
	assert_non_null(strstr(err, "write"));
	tk_simrun_free(s);
	close(o.out_fd);
}

/* ---- live mode against tk_server ------------------------------------------ */

struct live {
	struct tk_server *srv;
	int	 out;		/* the server's frame lines (a memory file) */
	char	 port[8];
};

static void
live_start(struct live *l)
{
	char err[256];
	l->out = memfd_create("frames", MFD_CLOEXEC);
	assert_true(l->out >= 0);
	struct tk_server_opts so = {
		.bind = "127.0.0.1", .port = 0, .out_fd = l->out, .out_max = 1 << 20,
		.idle_s = 60, .max_conns = 1000,
	};
	l->srv = tk_server_new(&so, err, sizeof(err));
	if (l->srv == NULL)
		fail_msg("tk_server_new: %s", err);
	snprintf(l->port, sizeof(l->port), "%u", tk_server_port(l->srv));
}

/* Run simulation o (its port set here) against the server, stepping the
 * two in turn until the run is over. */
static void
live_run(struct live *l, struct tk_simrun_opts *o, struct tk_simrun_stats *st)
{
	char err[256];
	int r, rounds = 0;
	o->port = l->port;
	struct tk_simrun *s = tk_simrun_new(o, err, sizeof(err));
	if (s == NULL)
		fail_msg("tk_simrun_new: %s", err);
	while ((r = tk_simrun_step(s, 2, err, sizeof(err))) > 0) {
		assert_int_equal(tk_server_run(l->srv, 2), 0);
		assert_true(++rounds < 100000);	/* a few seconds at most */
	}
	assert_int_equal(r, 0);
	tk_simrun_stats(s, st);
	tk_simrun_free(s);
}

static void
live_stop(struct live *l)
{
	tk_server_shutdown(l->srv);
	tk_server_flush(l->srv, 1000);
	tk_server_free(l->srv);
}

/* Frame lines of kind " frame <transport> " the server wrote (after live_stop). */
static size_t
live_frames(struct live *l, const char *transport)
{
	char want[16], buf[65536];
	snprintf(want, sizeof(want), " frame %s ", transport);
	size_t n = 0, carry = 0;
	off_t off = 0;
	ssize_t k;
	/* the lines are short: count matches line by line */
	while ((k = pread(l->out, buf + carry, sizeof(buf) - 1 - carry, off)) > 0) {
		off += k;
		buf[carry + (size_t)k] = '\0';
		char *p = buf, *e;
		while ((e = strchr(p, '\n')) != NULL) {
			*e = '\0';
			if (strstr(p, want) != NULL)
				n++;
			p = e + 1;
		}
		carry = strlen(p);
		memmove(buf, p, carry);
	}
	return n;
}

static void
test_live_tcp(void **state)
{
	(void)state;
	/* legend: 12 devices, two of each of the six dialects, over TCP, a
	 * report every 0.1 s and a heartbeat every 0.3 s for 1 s, a fifth
	 * alarms: every reply the server owes (logins, heartbeats, gps103
	 * alarms, xexun2 and gt06 ACKs, h02 V4 with the time) comes back
	 * right, and the server logged every frame sent */
	struct live l;
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	live_start(&l);
	tk_simrun_opts_default(&o);
	o.mix = true;
	o.ndev = 12;
	o.interval = 0.1;
	o.heartbeat = 0.3;
	o.alarms = 0.2;
	o.duration = 1;
	o.grace = 2;
	live_run(&l, &o, &st);
	live_stop(&l);
	assert_int_equal(st.connects, 12);
	assert_int_equal(st.connect_failed, 0);
	assert_int_equal(st.logins, 8);		/* xexun and h02 have no login */
	assert_true(st.frames >= 60);
	assert_true(st.ok >= 20);
	assert_int_equal(st.wrong, 0);
	assert_int_equal(st.missing, 0);
	assert_int_equal(st.login_lat.n, 8);
	assert_true(st.login_lat.p50 <= st.login_lat.max);
	/* each connection ended by the server, after reading all of it */
	assert_int_equal(st.unconfirmed, 0);
	assert_int_equal(st.unacked_bytes, 0);
	assert_int_equal(st.closed_by_peer, 0);
	assert_int_equal(live_frames(&l, "tcp"), st.frames);
	close(l.out);
}

static void
test_live_udp(void **state)
{
	(void)state;
	struct live l;
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	live_start(&l);
	tk_simrun_opts_default(&o);
	o.dialect = TK_D_GPS103;
	o.udp = true;
	o.ndev = 5;
	o.interval = 0.1;
	o.heartbeat = 0.25;
	o.frames_max = 40;
	live_run(&l, &o, &st);
	live_stop(&l);
	assert_int_equal(st.frames, 40);	/* -N is exact */
	assert_int_equal(st.logins, 5);
	assert_true(st.ok >= 5);		/* LOAD for each login, ON per heartbeat */
	assert_int_equal(st.wrong, 0);
	assert_int_equal(st.missing, 0);
	assert_int_equal(live_frames(&l, "udp"), 40);
	close(l.out);
}

static void
test_live_backup(void **state)
{
	(void)state;
	/* legend: 6 devices with a primary and a backup server; the primary
	 * dies once every device has reported to it: each device reconnects to
	 * the backup, and the counters say what went where */
	char err[256];
	struct live a, b;
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	live_start(&a);
	live_start(&b);
	struct tk_simrun_server srv[2] = {{"127.0.0.1", a.port}, {"127.0.0.1", b.port}};
	tk_simrun_opts_default(&o);
	o.servers = srv;
	o.nservers = 2;
	o.dialect = TK_D_GPS103;
	o.ndev = 6;
	o.interval = 0.05;
	o.duration = 30;
	struct tk_simrun *s = tk_simrun_new(&o, err, sizeof(err));
	assert_non_null(s);
	bool a_up = true;
	for (int rounds = 0; ; rounds++) {
		assert_true(rounds < 100000);
		assert_int_equal(tk_simrun_step(s, 2, err, sizeof(err)), 1);
		if (a_up)
			assert_int_equal(tk_server_run(a.srv, 2), 0);
		assert_int_equal(tk_server_run(b.srv, 2), 0);
		tk_simrun_stats(s, &st);
		if (a_up && st.server[0].frames >= 24) {
			live_stop(&a);	/* its sockets close: the devices see EOF */
			a_up = false;
		}
		if (!a_up && st.server[1].frames >= 24)
			break;
	}
	tk_simrun_stop(s);
	int r;
	while ((r = tk_simrun_step(s, 2, err, sizeof(err))) > 0)
		assert_int_equal(tk_server_run(b.srv, 2), 0);
	assert_int_equal(r, 0);
	tk_simrun_stats(s, &st);
	tk_simrun_free(s);
	live_stop(&b);
	assert_int_equal(st.nservers, 2);
	char want[32];
	snprintf(want, sizeof(want), "127.0.0.1:%s", b.port);
	assert_string_equal(st.server[1].name, want);
	assert_int_equal(st.server[0].connects, 6);
	assert_int_equal(st.server[0].closed_by_peer, 6);
	assert_int_equal(st.server[1].connects, 6);
	assert_int_equal(st.server[1].closed_by_peer, 0);
	assert_int_equal(st.server[0].frames + st.server[1].frames, st.frames);
	assert_int_equal(st.ok + st.wrong + st.missing, st.due);
	assert_int_equal(st.server[1].missing + st.server[1].wrong, 0);
	assert_int_equal(live_frames(&b, "tcp"), st.server[1].frames);
	assert_int_equal(st.logins, 12);	/* each logged in at both */
	close(a.out);
	close(b.out);
}

/* A socket of type on 127.0.0.1, a free port (its number in port), and
 * default options o to send there: a peer that never answers, so a short
 * grace. */
static int
loopback_peer(int type, char port[8], struct tk_simrun_opts *o)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	snprintf(port, 8, "%u", ntohs(a.sin_port));
	tk_simrun_opts_default(o);
	o->port = port;
	o->grace = 0.2;
	return fd;
}

static void
test_live_silent_peer(void **state)
{
	(void)state;
	/* legend: a UDP socket that never answers: every login's reply is
	 * counted missing once the run ends, and nothing is wrong */
	char port[8];
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	int u = loopback_peer(SOCK_DGRAM, port, &o);
	o.dialect = TK_D_TK103;
	o.udp = true;
	o.ndev = 3;
	o.interval = 0.05;
	o.frames_max = 9;
	run_alone(&o, &st);
	close(u);
	assert_int_equal(st.frames, 9);
	assert_int_equal(st.ok, 0);
	assert_int_equal(st.wrong, 0);
	assert_int_equal(st.missing, 3);	/* the three BP05 logins' AP05 */
}

static void
test_live_unread_peer(void **state)
{
	(void)state;
	/* legend: a TCP server that accepts nothing and reads nothing (the
	 * kernel completes the connections): the devices write as fast as they
	 * can until the queues are full; when the grace runs out each
	 * connection is counted unconfirmed, with the bytes never acknowledged */
	char port[8];
	struct tk_simrun_opts o;
	struct tk_simrun_stats st;
	int l = loopback_peer(SOCK_STREAM, port, &o);
	assert_int_equal(listen(l, 16), 0);
	o.dialect = TK_D_XEXUN;		/* no login: the reports start at once */
	o.ndev = 2;
	o.interval = 0;
	o.duration = 0.3;
	run_alone(&o, &st);
	close(l);
	assert_int_equal(st.connects, 2);
	assert_true(st.frames > 0);
	assert_int_equal(st.unconfirmed, 2);
	assert_true(st.unacked_bytes > 0);
	assert_true(st.unacked_bytes <= st.bytes);
	assert_int_equal(st.closed_by_peer, 0);
}

static void
test_options(void **state)
{
	(void)state;
	char err[256];
	struct tk_simrun_opts o;
	enum tk_simrun_mis m;
	/* legend: what tk_simrun_new refuses, and the misbehaviour names */
	tk_simrun_opts_default(&o);
	assert_null(tk_simrun_new(&o, err, sizeof(err)));	/* no port, no file */
	assert_string_equal(err, "invalid options");
	o.port = "1";
	o.ndev = 0;
	assert_null(tk_simrun_new(&o, err, sizeof(err)));
	o.ndev = 1;
	o.host = "no.such.host.invalid";
	assert_null(tk_simrun_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, "no.such.host.invalid port 1"));
	o.host = "127.0.0.1";
	o.out_fd = 1;
	o.interval = 0;		/* a file needs simulated time to pass */
	assert_null(tk_simrun_new(&o, err, sizeof(err)));
	assert_int_equal(tk_simrun_mis_parse("slow", &m), 0);
	assert_int_equal(m, TK_SIMRUN_SLOW);
	assert_string_equal(tk_simrun_mis_name(m), "slow");
	assert_int_equal(tk_simrun_mis_parse("none", &m), -1);
	assert_int_equal(tk_simrun_mis_parse("rude", &m), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_counts),
		cmocka_unit_test(test_file_exact_and_reproducible),
		cmocka_unit_test(test_file_raw_and_stop),
		cmocka_unit_test(test_file_write_error),
		cmocka_unit_test(test_live_tcp),
		cmocka_unit_test(test_live_udp),
		cmocka_unit_test(test_live_backup),
		cmocka_unit_test(test_live_silent_peer),
		cmocka_unit_test(test_live_unread_peer),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
