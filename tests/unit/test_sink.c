/* test_sink.c: the output seam's descriptor sink: lines in put order with
 * their sequence numbers, backpressure through pending(), what is left
 * when the reader goes away (counted, never silent), regular files. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tk_loop.h"
#include "tk_sink.h"

static int drained_calls;

static void
on_drained(void *arg)
{
	(void)arg;
	drained_calls++;
}

static void
line(struct tk_fline *l, const char *data)
{
	memset(l, 0, sizeof(*l));
	l->kind = TK_F_FRAME;
	l->time_ms = 1767225600123LL;
	memcpy(l->transport, "tcp", 4);
	strcpy(l->peer, "127.0.0.1:40000");
	l->conn = 7;
	l->dialect = TK_D_GPS103;
	l->dialect_known = true;
	strcpy(l->id, "359586015829802");
	l->data = (const uint8_t *)data;
	l->len = strlen(data);
}

/* Lines come out whole, in order, numbered 1, 2, 3 ... */
static void
test_fd_order(void **state)
{
	int p[2];
	struct tk_fline l;
	uint64_t seq;
	const char *text;
	size_t len;
	char want[4][256], got[4096];
	(void)state;

	assert_int_equal(pipe(p), 0);
	struct tk_loop *loop = tk_loop_new();
	struct tk_sink *s = tk_sink_fd_new(loop, p[1], 4096);
	assert_non_null(s);
	assert_false(tk_sink_durable(s));
	struct tk_sink_cb cb = {NULL, on_drained, NULL};
	tk_sink_set_cb(s, &cb);
	drained_calls = 0;
	size_t total = 0;
	for (int i = 0; i < 3; i++) {
		char d[32];
		snprintf(d, sizeof(d), "imei:%d,tracker;", i);
		line(&l, d);
		assert_int_equal(tk_sink_put(s, &l, &seq, &text, &len), 0);
		assert_int_equal(seq, (uint64_t)i + 1);
		assert_true(len > 0 && text[len - 1] == '\n');
		assert_non_null(strstr(text, d));
		memcpy(want[i], text, len);
		want[i][len] = '\0';
		total += len;
	}
	assert_int_equal(tk_sink_pending(s), total);
	assert_int_equal(tk_sink_undelivered(s), 3);
	assert_int_equal(tk_sink_flush(s), 0);
	assert_int_equal(tk_sink_pending(s), 0);
	assert_int_equal(tk_sink_undelivered(s), 0);
	assert_int_equal(drained_calls, 1);
	ssize_t n = read(p[0], got, sizeof(got) - 1);
	assert_int_equal(n, (ssize_t)total);
	got[n] = '\0';
	char cat[1024];
	snprintf(cat, sizeof(cat), "%s%s%s", want[0], want[1], want[2]);
	assert_string_equal(got, cat);

	struct tk_buf b = {NULL, 0, 0};
	assert_int_equal(tk_sink_stats(s, &b, "x: "), 0);
	assert_non_null(memmem(b.p, b.len, "x: out_lines 3\n", 15));
	assert_non_null(memmem(b.p, b.len, "x: out_lines_undelivered 0\n", 27));
	free(b.p);
	tk_sink_free(s);
	/* the descriptor's flags are restored: blocking again */
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	tk_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* A full pipe: pending() grows, nothing blocks; the reader drains it. */
static void
test_fd_backpressure(void **state)
{
	int p[2];
	struct tk_fline l;
	uint64_t seq;
	const char *text;
	size_t len;
	static char big[2048];
	(void)state;

	assert_int_equal(pipe(p), 0);
	assert_true(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	struct tk_loop *loop = tk_loop_new();
	struct tk_sink *s = tk_sink_fd_new(loop, p[1], 4096);
	memset(big, 'a', sizeof(big) - 1);
	line(&l, big);
	uint64_t lines = 0;
	/* far more than a pipe holds (64 KiB) */
	for (int i = 0; i < 200; i++) {
		assert_int_equal(tk_sink_put(s, &l, &seq, &text, &len), 0);
		lines++;
		assert_int_equal(tk_sink_flush(s), 0);
	}
	assert_true(tk_sink_pending(s) > 0);
	uint64_t left = tk_sink_undelivered(s);
	assert_true(left > 0 && left < lines);
	/* drain the reader side until the sink is empty */
	char buf[65536];
	size_t got = 0;
	for (int k = 0; k < 1000 && (tk_sink_pending(s) > 0 || got == 0); k++) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n > 0)
			got += (size_t)n;
		assert_int_equal(tk_sink_flush(s), 0);
	}
	for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0;)
		got += (size_t)n;
	assert_int_equal(tk_sink_pending(s), 0);
	assert_int_equal(got, lines * len);
	tk_sink_free(s);
	tk_loop_free(loop);
	close(p[0]);
	close(p[1]);
}

/* The reader goes away: flush fails with EPIPE and the lines not written
 * are counted, not lost quietly. */
static void
test_fd_epipe(void **state)
{
	int p[2];
	struct tk_fline l;
	uint64_t seq;
	const char *text;
	size_t len;
	(void)state;

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	struct tk_loop *loop = tk_loop_new();
	struct tk_sink *s = tk_sink_fd_new(loop, p[1], 4096);
	close(p[0]);
	line(&l, "imei:1,tracker;");
	for (int i = 0; i < 5; i++)
		assert_int_equal(tk_sink_put(s, &l, &seq, &text, &len), 0);
	errno = 0;
	assert_int_equal(tk_sink_flush(s), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(s->fatal, EPIPE);
	assert_int_equal(tk_sink_undelivered(s), 5);
	/* fatal stays fatal */
	assert_int_equal(tk_sink_flush(s), -1);
	tk_sink_free(s);
	tk_loop_free(loop);
	close(p[1]);
}

/* A regular file cannot be polled: written directly, all of it. */
static void
test_fd_file(void **state)
{
	char path[] = "/tmp/test_sink.XXXXXX";
	struct tk_fline l;
	uint64_t seq;
	const char *text;
	size_t len;
	(void)state;

	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	struct tk_loop *loop = tk_loop_new();
	struct tk_sink *s = tk_sink_fd_new(loop, fd, 4096);
	line(&l, "(027044702512BP00000027044702512HSO)");
	assert_int_equal(tk_sink_put(s, &l, &seq, &text, &len), 0);
	assert_int_equal(tk_sink_wait(s, 100), 0);
	assert_int_equal(tk_sink_pending(s), 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)len);
	tk_sink_free(s);
	tk_loop_free(loop);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_order),
		cmocka_unit_test(test_fd_backpressure),
		cmocka_unit_test(test_fd_epipe),
		cmocka_unit_test(test_fd_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
