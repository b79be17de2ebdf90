/* test_server.c: tk-listen's engine in-process: the control socket
 * (LIST, STATS, SEND, WATCH, QUEUE, PENDING, CANCEL, bad requests, the
 * owner check), the device registry over live TCP sessions (replacement,
 * mismatch), and the per-connection memory budget. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tk_dialect.h"
#include "tk_loop.h"
#include "tk_server.h"

struct fx {
	struct tk_server *s;
	int		 out[2];	/* frame lines arrive on out[0] */
	char		 dir[64], path[96];
	char		 lines[4 << 20];	/* everything read from out[0] */
	size_t		 nlines;
};

/* Options a test changes from the fixture's (cmocka's prestate). */
struct fx_opts {
	int		 takeover_s;
};

static int
setup(void **state)
{
	const struct fx_opts *fo = *state;
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/tk-srv-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ctl", f->dir);
	assert_int_equal(pipe2(f->out, O_CLOEXEC), 0);
	fcntl(f->out[0], F_SETFL, O_NONBLOCK);
	struct tk_server_opts o = {
		.bind = "127.0.0.1", .family = 0, .port = 0, .out_fd = f->out[1],
		.out_max = 1 << 20, .idle_s = 60, .max_conns = 100, .max_per_peer = 50,
		.ctl_path = f->path,
	};
	if (fo != NULL)
		o.takeover_s = fo->takeover_s;
	f->s = tk_server_new(&o, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("tk_server_new: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	tk_server_free(f->s);
	close(f->out[0]);
	close(f->out[1]);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Run the server a little and collect its output. */
static void
pump(struct fx *f, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		assert_int_equal(tk_server_run(f->s, 5), 0);
		ssize_t n = read(f->out[0], f->lines + f->nlines, sizeof(f->lines) - 1 - f->nlines);
		if (n > 0)
			f->nlines += (size_t)n;
		f->lines[f->nlines] = '\0';
	}
}

static int
ctl_connect(struct fx *f)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memcpy(un.sun_path, f->path, strlen(f->path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	pump(f, 2);
	return fd;
}

/* Read until a line starting with OK or ERR (or EOF); returns the text. */
static char *
ctl_wait(struct fx *f, int fd, char *buf, size_t cap)
{
	size_t n = 0;
	buf[0] = '\0';
	for (int i = 0; i < 400; i++) {
		pump(f, 1);
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k == 0)
			break;
		if (k > 0) {
			n += (size_t)k;
			buf[n] = '\0';
		}
		/* the final line */
		if (n && buf[n - 1] == '\n') {
			char *last = buf + n - 1;
			while (last > buf && last[-1] != '\n')
				last--;
			if (strncmp(last, "OK", 2) == 0 || strncmp(last, "ERR", 3) == 0)
				break;
		}
	}
	return buf;
}

static char *
ctl(struct fx *f, int fd, const char *req, char *buf, size_t cap)
{
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	return ctl_wait(f, fd, buf, cap);
}

static int
dev_connect(struct fx *f)
{
	char d[256];
	tk_server_describe(f->s, d, sizeof(d));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tk_server_port(f->s))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	pump(f, 2);
	return fd;
}

/* Read what the server sent a device (up to cap-1 bytes, bounded wait). */
static size_t
dev_read(struct fx *f, int fd, char *buf, size_t cap, size_t want)
{
	size_t n = 0;
	for (int i = 0; i < 200 && n < want; i++) {
		pump(f, 1);
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k == 0)
			break;
		if (k > 0)
			n += (size_t)k;
	}
	buf[n] = '\0';
	return n;
}

static void
test_socket_mode(void **state)
{
	struct fx *f = *state;
	struct stat st;
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	char d[256];
	tk_server_describe(f->s, d, sizeof(d));
	char want[256];
	snprintf(want, sizeof(want), "tcp 127.0.0.1:%u, udp 127.0.0.1:%u",
	    tk_server_port(f->s), tk_server_port(f->s));
	assert_string_equal(d, want);
}

static void
test_ctl_basics(void **state)
{
	struct fx *f = *state;
	static char b[1 << 16];
	int c = ctl_connect(f);

	assert_string_equal(ctl(f, c, "LIST\n", b, sizeof(b)), "OK 0\n");
	ctl(f, c, "STATS\n", b, sizeof(b));
	assert_non_null(strstr(b, "STAT connections_open 0\n"));
	assert_non_null(strstr(b, "STAT udp_drops 0\n"));
	assert_non_null(strstr(b, "STAT frames_gps103 0\n"));
	assert_non_null(strstr(b, "STAT out_buffer_highwater "));
	assert_non_null(strstr(b, "\nOK\n"));
	assert_string_equal(ctl(f, c, "SEND 123456 4142\n", b, sizeof(b)), "ERR unknown 123456\n");
	assert_string_equal(ctl(f, c, "QUEUE 123456 60 4142\n", b, sizeof(b)), "OK queued 1\n");
	assert_string_equal(ctl(f, c, "QUEUE 777 60 43\n", b, sizeof(b)), "OK queued 2\n");
	ctl(f, c, "PENDING\n", b, sizeof(b));
	assert_non_null(strstr(b, "CMD 1 123456 "));
	assert_non_null(strstr(b, "Z 4142\nCMD 2 777 "));
	assert_non_null(strstr(b, "Z 43\nOK 2\n"));
	ctl(f, c, "PENDING 777\n", b, sizeof(b));
	assert_memory_equal(b, "CMD 2 777 ", 10);
	assert_non_null(strstr(b, "\nOK 1\n"));
	assert_string_equal(ctl(f, c, "PENDING 999\n", b, sizeof(b)), "OK 0\n");
	assert_string_equal(ctl(f, c, "CANCEL 1\n", b, sizeof(b)), "OK cancelled 1\n");
	assert_string_equal(ctl(f, c, "CANCEL 1\n", b, sizeof(b)), "ERR nocmd 1\n");
	/* bad requests get an error and the connection goes on */
	ctl(f, c, "FOO\n", b, sizeof(b));
	assert_memory_equal(b, "ERR badrequest ", 15);
	ctl(f, c, "SEND 12 xyz\n", b, sizeof(b));
	assert_memory_equal(b, "ERR badrequest ", 15);
	ctl(f, c, "QUEUE 12 0 00\n", b, sizeof(b));
	assert_memory_equal(b, "ERR badrequest ", 15);
	/* two requests in one write: two answers, in order */
	ctl(f, c, "LIST\nCANCEL 99\n", b, sizeof(b));
	assert_string_equal(b, "OK 0\nERR nocmd 99\n");
	close(c);
}

static void
test_ctl_toolong(void **state)
{
	struct fx *f = *state;
	static char b[1 << 16], big[9000];
	int c = ctl_connect(f);
	memset(big, 'A', sizeof(big));
	/* the server reads what fits, answers, and closes */
	ssize_t w = write(c, big, sizeof(big));
	assert_true(w > 0);
	ctl_wait(f, c, b, sizeof(b));
	assert_memory_equal(b, "ERR badrequest line longer than 8191 bytes\n", 43);
	/* then EOF */
	char x[16];
	ssize_t k = -1;
	for (int i = 0; i < 200; i++) {
		pump(f, 1);
		k = read(c, x, sizeof(x));
		if (k >= 0)
			break;
	}
	assert_int_equal(k, 0);
	close(c);
}

static void
test_ctl_not_owner(void **state)
{
	struct fx *f = *state;
	if (geteuid() != 0) {
		/* only root can become another user to try; the owner path is
		 * exercised by every other test */
		return;
	}
	assert_int_equal(chmod(f->dir, 0711), 0);
	pid_t p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		memcpy(un.sun_path, f->path, strlen(f->path) + 1);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		/* mode 0600: connect itself is refused by the file system */
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0)
			_exit(errno == EACCES ? 0 : 3);
		_exit(4);
	}
	int st;
	for (int i = 0; i < 400; i++) {
		pump(f, 1);
		if (waitpid(p, &st, WNOHANG) == p)
			break;
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* with the mode opened up, SO_PEERCRED still refuses */
	assert_int_equal(chmod(f->path, 0666), 0);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		struct sockaddr_un un = {.sun_family = AF_UNIX};
		memcpy(un.sun_path, f->path, strlen(f->path) + 1);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0)
			_exit(3);
		signal(SIGPIPE, SIG_IGN);	/* refused at once: the write may fail */
		(void)!write(fd, "LIST\n", 5);
		char b[64] = "";
		ssize_t k = 0, n;
		while ((n = read(fd, b + k, sizeof(b) - 1 - (size_t)k)) > 0)
			k += n;
		_exit(strcmp(b, "ERR refused not-owner\n") == 0 ? 0 : 5);
	}
	for (int i = 0; i < 400; i++) {
		pump(f, 1);
		if (waitpid(p, &st, WNOHANG) == p)
			break;
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Needs the gps103 dialect (scanner, reply, id). */
static void
test_registry_live(void **state)
{
	struct fx *f = *state;
	static char b[1 << 16];
	char r[256];
	const char *login = "##,imei:359586015829802,A;";

	int d1 = dev_connect(f);
	assert_int_equal(write(d1, login, strlen(login)), (ssize_t)strlen(login));
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 4), 4);
	assert_string_equal(r, "LOAD");
	int c = ctl_connect(f);
	ctl(f, c, "LIST\n", b, sizeof(b));
	assert_memory_equal(b, "DEV 359586015829802 gps103 tcp 127.0.0.1:", 41);
	assert_non_null(strstr(b, " 1\nOK 1\n"));	/* one frame */
	/* SEND reaches the device, and a send line is written */
	assert_string_equal(ctl(f, c, "SEND 359586015829802 2a2a2c696d65693a333539353836303135383239383032 watch\n",
	    b, sizeof(b)), "OK sent 23\n");
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 23), 23);
	assert_string_equal(r, "**,imei:359586015829802");
	/* the watcher gets the device's next frame */
	const char *hb = "359586015829802;";
	assert_int_equal(write(d1, hb, strlen(hb)), (ssize_t)strlen(hb));
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 2), 2);
	assert_string_equal(r, "ON");
	ctl_wait(f, c, b, sizeof(b));
	size_t n = 0;
	for (int i = 0; i < 100 && strstr(b, "359586015829802;\n") == NULL; i++) {
		pump(f, 1);
		ssize_t k = read(c, b + n, sizeof(b) - 1 - n);
		if (k > 0) {
			n += (size_t)k;
			b[n] = '\0';
		}
	}
	assert_memory_equal(b, "FRAME ", 6);
	assert_non_null(strstr(b, " frame tcp 127.0.0.1:"));
	assert_non_null(strstr(b, " gps103 359586015829802 - 359586015829802;\n"));
	close(c);
	/* a frame claiming another id is flagged */
	const char *other = "##,imei:111111111111111,A;";
	assert_int_equal(write(d1, other, strlen(other)), (ssize_t)strlen(other));
	dev_read(f, d1, r, sizeof(r), 4);
	pump(f, 3);
	assert_non_null(strstr(f->lines, " gps103 359586015829802 mismatch=111111111111111 ##,imei:111111111111111,A;\n"));
	/* a second connection claiming the id while d1 is live is kept apart
	 * (the default --takeover is 60 s): replies, but no id and no command */
	int d2 = dev_connect(f);
	assert_int_equal(write(d2, login, strlen(login)), (ssize_t)strlen(login));
	assert_int_equal(dev_read(f, d2, r, sizeof(r), 4), 4);
	assert_string_equal(r, "LOAD");
	pump(f, 3);
	assert_non_null(strstr(f->lines, " 2 gps103 - conflict=359586015829802 ##,imei:359586015829802,A;\n"));
	assert_null(strstr(f->lines, " replaced\n"));
	c = ctl_connect(f);
	ctl(f, c, "LIST\n", b, sizeof(b));
	assert_non_null(strstr(b, " 1 ")); /* still connection 1 */
	assert_non_null(strstr(b, "\nOK 1\n"));
	assert_string_equal(ctl(f, c, "SEND 359586015829802 5a\n", b, sizeof(b)), "OK sent 1\n");
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 1), 1);
	assert_string_equal(r, "Z");
	assert_int_equal(dev_read(f, d2, r, sizeof(r), 1), 0);	/* nothing for d2 */
	ctl(f, c, "STATS\n", b, sizeof(b));
	assert_non_null(strstr(b, "STAT identity_conflicts 1\n"));
	assert_non_null(strstr(b, "STAT conflict_frames 1\n"));
	assert_non_null(strstr(b, "STAT identity_takeovers 0\n"));
	close(c);
	/* d1 hangs up: d2's next frame takes the id */
	close(d1);
	pump(f, 5);
	assert_int_equal(write(d2, hb, strlen(hb)), (ssize_t)strlen(hb));
	assert_int_equal(dev_read(f, d2, r, sizeof(r), 2), 2);
	pump(f, 3);
	assert_non_null(strstr(f->lines, " 2 gps103 359586015829802 - 359586015829802;\n"));
	/* queued command: held while offline, delivered on the next frame */
	close(d2);
	pump(f, 5);
	c = ctl_connect(f);
	assert_string_equal(ctl(f, c, "SEND 359586015829802 00\n", b, sizeof(b)),
	    "ERR offline 359586015829802\n");
	assert_string_equal(ctl(f, c, "QUEUE 359586015829802 60 4142\n", b, sizeof(b)),
	    "OK queued 1\n");
	int d3 = dev_connect(f);
	assert_int_equal(write(d3, hb, strlen(hb)), (ssize_t)strlen(hb));
	assert_int_equal(dev_read(f, d3, r, sizeof(r), 4), 4);
	assert_string_equal(r, "ONAB");	/* the reply, then the held command */
	assert_string_equal(ctl(f, c, "PENDING\n", b, sizeof(b)), "OK 0\n");
	assert_string_equal(ctl(f, c, "QUEUE 359586015829802 60 4344\n", b, sizeof(b)),
	    "OK sent 2\n");	/* online now: sent at once */
	close(c);
	close(d3);
	pump(f, 3);
	assert_non_null(strstr(f->lines, " send tcp 127.0.0.1:"));
}

static int
udp_socket(struct fx *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(tk_server_port(f->s))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Count the lines of output containing needle. */
static size_t
count(const struct fx *f, const char *needle)
{
	size_t k = 0;
	for (const char *p = f->lines; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/*
 * Identity: one spoofed UDP datagram never takes a live TCP session's id
 * (the attack), and a contender takes over once the holder has
 * been silent for --takeover seconds (1 here).
 */
static void
test_identity_udp_spoof(void **state)
{
	struct fx *f = *state;
	static char b[1 << 16];
	char r[256];
	const char *login = "##,imei:359586015829802,A;", *hb = "359586015829802;";

	int d1 = dev_connect(f);
	assert_int_equal(write(d1, login, strlen(login)), (ssize_t)strlen(login));
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 4), 4);
	int u = udp_socket(f);
	assert_int_equal(write(u, hb, strlen(hb)), (ssize_t)strlen(hb));
	assert_int_equal(dev_read(f, u, r, sizeof(r), 2), 2);	/* the reply */
	assert_string_equal(r, "ON");
	pump(f, 3);
	assert_non_null(strstr(f->lines, " frame udp 127.0.0.1:"));
	assert_non_null(strstr(f->lines, " gps103 - conflict=359586015829802 359586015829802;\n"));
	assert_null(strstr(f->lines, " close tcp "));
	/* the command goes to the TCP device, not to the spoofer */
	int c = ctl_connect(f);
	assert_string_equal(ctl(f, c, "SEND 359586015829802 5a\n", b, sizeof(b)), "OK sent 1\n");
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 1), 1);
	assert_int_equal(dev_read(f, u, r, sizeof(r), 1), 0);
	/* a frame from the holder keeps it; silence for 1 s lets the
	 * contender's next datagram take over: the holder is closed */
	usleep(1100 * 1000);
	assert_int_equal(write(u, hb, strlen(hb)), (ssize_t)strlen(hb));
	assert_int_equal(dev_read(f, u, r, sizeof(r), 2), 2);
	pump(f, 3);
	assert_non_null(strstr(f->lines, " close tcp 127.0.0.1:"));
	assert_non_null(strstr(f->lines, " gps103 359586015829802 - replaced\n"));
	assert_non_null(strstr(f->lines, " frame udp 127.0.0.1:"));
	assert_non_null(strstr(f->lines, " gps103 359586015829802 - 359586015829802;\n"));
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 1), 0);	/* EOF */
	assert_string_equal(ctl(f, c, "SEND 359586015829802 5a\n", b, sizeof(b)), "OK sent 1\n");
	assert_int_equal(dev_read(f, u, r, sizeof(r), 1), 1);
	ctl(f, c, "STATS\n", b, sizeof(b));
	assert_non_null(strstr(b, "STAT identity_takeovers 1\n"));
	close(c);
	close(u);
	close(d1);
}

/*
 * With --takeover at once a reconnecting device replaces its old session
 * at its first frame, and every frame the old one had sent is written
 * before its close line (read from its socket first: nothing in flight is
 * lost).
 */
static void
test_identity_replace_drains(void **state)
{
	struct fx *f = *state;
	char r[256];
	const char *login = "##,imei:359586015829802,A;", *hb = "359586015829802;";
	static char big[96 * 1024];

	int d1 = dev_connect(f);
	assert_int_equal(write(d1, login, strlen(login)), (ssize_t)strlen(login));
	assert_int_equal(dev_read(f, d1, r, sizeof(r), 4), 4);
	int d2 = dev_connect(f);
	/* more heartbeats than one read takes, then the new login at once */
	size_t k = sizeof(big) / 16, sent = 0;
	for (size_t i = 0; i < k; i++)
		memcpy(big + 16 * i, hb, 16);
	while (sent < sizeof(big)) {
		ssize_t w = write(d1, big + sent, sizeof(big) - sent);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	assert_true(sent >= 16 * 4096 + 16);	/* more than one 64 KiB read */
	sent -= sent % 16;	/* a partial last heartbeat is junk at close */
	assert_int_equal(write(d2, login, strlen(login)), (ssize_t)strlen(login));
	/* d1's replies fill its socket: read them as they come */
	for (int i = 0; i < 400 && strstr(f->lines, " replaced\n") == NULL; i++) {
		pump(f, 1);
		while (read(d1, big, sizeof(big)) > 0)
			;
	}
	pump(f, 3);
	assert_non_null(strstr(f->lines, " 1 gps103 359586015829802 - replaced\n"));
	/* every heartbeat d1 sent is a frame line of connection 1, before its close */
	char *close1 = strstr(f->lines, " 1 gps103 359586015829802 - replaced\n");
	*close1 = '\0';
	size_t got = count(f, " 1 gps103 359586015829802 - 359586015829802;\n");
	*close1 = ' ';
	assert_int_equal(got, sent / 16);
	assert_non_null(strstr(f->lines, " 2 gps103 359586015829802 - ##,imei:"));
	close(d1);
	close(d2);
}

static const struct fx_opts takeover_1s = {.takeover_s = 1};
static const struct fx_opts takeover_now = {.takeover_s = TK_TAKEOVER_AT_ONCE};

static void
test_conn_size(void **state)
{
	(void)state;
	/* an idle TCP connection: the session struct (framer included) plus
	 * malloc overhead must stay far under 2 KiB */
	assert_true(tk_server_conn_size() <= 256);
	assert_true(sizeof(struct tk_framer) <= 48);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_basics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_toolong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_not_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_live, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_identity_udp_spoof, setup,
		    teardown, (void *)&takeover_1s),
		cmocka_unit_test_prestate_setup_teardown(test_identity_replace_drains, setup,
		    teardown, (void *)&takeover_now),
		cmocka_unit_test(test_conn_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
