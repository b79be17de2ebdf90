/*
 * tk_sink.h: where tk-listen's frame lines go.  One small interface with
 * two implementations: a file descriptor (stdout, the pipe: tk_sink_fd_new
 * below) and the bus (NATS JetStream).  The server hands over each line
 * with its metadata (kind, dialect, device id: what a bus needs for a
 * subject), the sink keeps it until it is delivered (written to the
 * descriptor, or acknowledged by the bus) and says so.
 *
 * Everything runs on the loop's thread: a sink whose library has threads
 * of its own (libnats) hands their results back through a descriptor it
 * watches in the loop, and calls the callbacks from there.  A sink never
 * prints and never exits.
 *
 * Bounds are the caller's: the server stops reading TCP while pending()
 * is above its high-water mark and drops UDP datagrams above its size,
 * exactly as for any sink.
 */
#ifndef TK_SINK_H
#define TK_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_frameline.h"
#include "tk_record.h"

struct tk_loop;
struct tk_sink;

struct tk_sink_cb {
	/*
	 * Every line with a sequence number <= seq is delivered (a watermark:
	 * it only grows).  Only sinks with durable_acks call it.
	 */
	void	(*delivered)(void *arg, uint64_t seq);
	/* pending() went down (or the sink's state changed): the caller may
	 * resume reading.  May be NULL. */
	void	(*drained)(void *arg);
	void	*arg;
};

struct tk_sink_ops {
	const char *name;		/* "stdout", "nats" */
	/*
	 * true when delivered() reports durable storage (a bus ack), so that
	 * replies a device waits for can be held until then; false for a
	 * descriptor, where a line counts as delivered once written.
	 */
	bool	 durable_acks;
	/*
	 * Format line l and take it.  *seq receives the line's sequence
	 * number (1, 2, 3 ... in put order); *text and *len the formatted line,
	 * '\n' included, valid until the next call on the sink.  0, or -1
	 * with errno set (ENOMEM): the line is lost, and counted.
	 */
	int	(*put)(struct tk_sink *, const struct tk_fline *l, uint64_t *seq,
		    const char **text, size_t *len);
	/* Deliver what can be delivered without blocking.  -1 on a fatal
	 * error (errno set: EPIPE when the reader went away). */
	int	(*flush)(struct tk_sink *);
	/* Wait up to timeout_ms for the sink to make progress (shutdown). */
	int	(*wait)(struct tk_sink *, int timeout_ms);
	/* Bytes taken and not yet delivered. */
	size_t	(*pending)(const struct tk_sink *);
	/* Lines taken and not delivered (lost, if the process ends now). */
	uint64_t (*undelivered)(const struct tk_sink *);
	/* Append the sink's counters as "<prefix><name> <value>\n" lines. */
	int	(*stats)(const struct tk_sink *, struct tk_buf *, const char *prefix);
	void	(*free)(struct tk_sink *);
};

/* The common head of every sink; implementations embed it first. */
struct tk_sink {
	const struct tk_sink_ops *ops;
	struct tk_sink_cb cb;
	int		 fatal;		/* errno of a fatal error, 0: none */
	uint64_t	 lines_put;	/* lines taken */
	uint64_t	 lines_lost;	/* lines put() could not take */
};

static inline int
tk_sink_put(struct tk_sink *s, const struct tk_fline *l, uint64_t *seq,
    const char **text, size_t *len)
{
	return s->ops->put(s, l, seq, text, len);
}
static inline int tk_sink_flush(struct tk_sink *s) { return s->ops->flush(s); }
static inline int tk_sink_wait(struct tk_sink *s, int ms) { return s->ops->wait(s, ms); }
static inline size_t tk_sink_pending(const struct tk_sink *s) { return s->ops->pending(s); }
static inline uint64_t
tk_sink_undelivered(const struct tk_sink *s)
{
	return s->ops->undelivered(s);
}
static inline bool tk_sink_durable(const struct tk_sink *s) { return s->ops->durable_acks; }
/* The callbacks are set once, by the sink's user (the server). */
static inline void
tk_sink_set_cb(struct tk_sink *s, const struct tk_sink_cb *cb)
{
	s->cb = *cb;
}
int	tk_sink_stats(const struct tk_sink *, struct tk_buf *, const char *prefix);
void	tk_sink_free(struct tk_sink *);

/*
 * A sink writing frame lines to fd.  When fd can be polled (pipe, socket,
 * terminal) it is made non-blocking and watched in loop for room; regular
 * files and /dev/null are written directly.  The descriptor's flags are
 * restored by tk_sink_free; it is not closed.  size is the buffer's
 * intended size (the server's -B): a burst that grew it far beyond is
 * given back once it drains.
 */
struct tk_sink	*tk_sink_fd_new(struct tk_loop *, int fd, size_t size);

/* "<prefix><name> <value>\n", b grown as needed: -1 when out of memory. */
int	tk_stat_line(struct tk_buf *b, const char *prefix, const char *name, uint64_t v);

#endif
