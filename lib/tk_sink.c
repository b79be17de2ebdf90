/*
 * tk_sink.c: the sink seam's common parts and the file-descriptor sink
 * (stdout, the pipe): one growing buffer, written without blocking
 * whenever the descriptor has room.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tk_loop.h"
#include "tk_sink.h"

int
tk_stat_line(struct tk_buf *b, const char *prefix, const char *name, uint64_t v)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "%s%s %llu\n", prefix, name,
	    (unsigned long long)v);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return tk_buf_add(b, line, (size_t)n);
}

int
tk_sink_stats(const struct tk_sink *s, struct tk_buf *b, const char *prefix)
{
	int rc = 0;
	rc |= tk_stat_line(b, prefix, "out_lines", s->lines_put);
	rc |= tk_stat_line(b, prefix, "out_lines_undelivered", tk_sink_undelivered(s));
	rc |= tk_stat_line(b, prefix, "out_lines_lost", s->lines_lost);
	if (s->ops->stats != NULL)
		rc |= s->ops->stats(s, b, prefix);
	return rc ? -1 : 0;
}

void
tk_sink_free(struct tk_sink *s)
{
	if (s != NULL)
		s->ops->free(s);
}

/* ---- the descriptor sink ---------------------------------------------- */

struct fdsink {
	struct tk_sink	 h;
	struct tk_loop	*loop;
	int		 fd;
	bool		 poll;		/* fd is in the loop */
	int		 flags;		/* to restore, -1: untouched */
	size_t		 size;
	struct tk_buf	 b;
	size_t		 off;		/* b.p[off, len) is still to write */
};

static size_t
fd_pending(const struct tk_sink *h)
{
	const struct fdsink *s = (const struct fdsink *)h;
	return s->b.len - s->off;
}

/* Make room for n more bytes.  -1 when out of memory. */
static int
fd_reserve(struct fdsink *s, size_t n)
{
	if (s->b.cap - s->b.len >= n)
		return 0;
	if (s->off > 0) {
		memmove(s->b.p, s->b.p + s->off, s->b.len - s->off);
		s->b.len -= s->off;
		s->off = 0;
		if (s->b.cap - s->b.len >= n)
			return 0;
	}
	size_t c = s->b.cap ? s->b.cap : 65536;
	while (c - s->b.len < n)
		c *= 2;
	char *p = realloc(s->b.p, c);
	if (p == NULL)
		return -1;
	s->b.p = p;
	s->b.cap = c;
	return 0;
}

static int
fd_put(struct tk_sink *h, const struct tk_fline *l, uint64_t *seq, const char **text,
    size_t *len)
{
	struct fdsink *s = (struct fdsink *)h;

	if (fd_reserve(s, 4 * l->len + 256) != 0) {
		h->lines_lost++;
		errno = ENOMEM;
		return -1;
	}
	size_t at = s->b.len;
	if (tk_fline_write(&s->b, l) != 0) {
		h->lines_lost++;
		errno = ENOMEM;
		return -1;
	}
	*seq = ++h->lines_put;
	*text = s->b.p + at;
	*len = s->b.len - at;
	return 0;
}

static int
fd_flush(struct tk_sink *h)
{
	struct fdsink *s = (struct fdsink *)h;
	size_t before = fd_pending(h);

	if (h->fatal) {
		errno = h->fatal;
		return -1;
	}
	while (s->off < s->b.len) {
		ssize_t w = write(s->fd, s->b.p + s->off, s->b.len - s->off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			h->fatal = errno;
			return -1;
		}
		s->off += (size_t)w;
	}
	if (s->off == s->b.len) {
		s->off = s->b.len = 0;
		if (s->b.cap > 4 * s->size + (1u << 20)) {
			/* a burst grew the buffer far past its size: give it back */
			free(s->b.p);
			s->b.p = NULL;
			s->b.cap = 0;
		}
	}
	if (s->poll)
		tk_loop_mod(s->loop, s->fd, fd_pending(h) ? TK_EV_WRITE : 0);
	if (fd_pending(h) < before && h->cb.drained != NULL)
		h->cb.drained(h->cb.arg);
	return 0;
}

static void
on_fd(struct tk_loop *l, int fd, unsigned ev, void *arg)
{
	struct tk_sink *h = arg;

	(void)l;
	(void)fd;
	if (fd_flush(h) == 0 && (ev & TK_EV_ERROR) && h->fatal == 0) {
		/* the reader is gone: a pipe says so even with nothing to write */
		h->fatal = EPIPE;
	}
}

static int
fd_wait(struct tk_sink *h, int timeout_ms)
{
	struct fdsink *s = (struct fdsink *)h;

	if (fd_flush(h) != 0)
		return -1;
	if (fd_pending(h) == 0)
		return 0;
	struct pollfd p = {.fd = s->fd, .events = POLLOUT};
	if (poll(&p, 1, timeout_ms) < 0 && errno != EINTR)
		return -1;
	return fd_flush(h);
}

/* Whole lines not yet written (a line partly written counts as lost). */
static uint64_t
fd_undelivered(const struct tk_sink *h)
{
	const struct fdsink *s = (const struct fdsink *)h;
	uint64_t n = 0;
	const char *p = s->b.p + s->off, *end = s->b.p + s->b.len;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

static void
fd_free(struct tk_sink *h)
{
	struct fdsink *s = (struct fdsink *)h;

	if (s->flags >= 0)
		fcntl(s->fd, F_SETFL, s->flags);
	if (s->poll)
		tk_loop_del(s->loop, s->fd);
	free(s->b.p);
	free(s);
}

static const struct tk_sink_ops fd_ops = {
	.name = "stdout",
	.durable_acks = false,
	.put = fd_put,
	.flush = fd_flush,
	.wait = fd_wait,
	.pending = fd_pending,
	.undelivered = fd_undelivered,
	.stats = NULL,
	.free = fd_free,
};

struct tk_sink *
tk_sink_fd_new(struct tk_loop *loop, int fd, size_t size)
{
	struct fdsink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->h.ops = &fd_ops;
	s->loop = loop;
	s->fd = fd;
	s->flags = -1;
	s->size = size;
	/* non-blocking when it can be polled (pipes, sockets, terminals);
	 * regular files and /dev/null are written directly */
	if (loop != NULL && tk_loop_add(loop, fd, 0, on_fd, s) == 0) {
		s->poll = true;
		s->flags = fcntl(fd, F_GETFL);
		if (s->flags >= 0)
			fcntl(fd, F_SETFL, s->flags | O_NONBLOCK);
	}
	return &s->h;
}
