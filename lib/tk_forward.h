/*
 * tk_forward.h: deliver records (JSON objects, one per line, as tk-decode
 * writes them) to an HTTP(S) endpoint with libcurl, in order, batched,
 * retried with backoff, queued in a tk_spool while the endpoint is down.
 *
 * Modes:
 *   TK_FWD_ARRAY   POST a batch as one JSON array (application/json)
 *   TK_FWD_LINES   POST a batch as JSON lines (application/x-ndjson)
 *   TK_FWD_OSMAND  one POST per position in Traccar's OsmAnd protocol:
 *                  the fields as a query string (id, timestamp, lat, lon,
 *                  speed in knots, bearing, altitude, ...), empty body
 *
 * One request is in flight at a time, so records arrive in the order they
 * were put.  An answer 2xx delivers the batch; 408, 425, 429, 5xx and
 * transport errors (refused, reset, timed out) retry the same records
 * after a backoff (retry_min_ms doubling up to retry_max_ms); any other
 * status (a 3xx or 4xx) rejects the batch: its records are counted, logged
 * and dropped, and the stream goes on.  Delivery is at least once: a batch
 * whose answer is lost is sent again.
 *
 * Single-threaded: the caller drives the engine with tk_fwd_poll(), which
 * also waits on the caller's descriptors (standard input, a signal pipe).
 * Never prints: what happens (the endpoint goes down or comes back, a
 * batch is rejected, the spool fills) goes to the log callback.
 */
#ifndef TK_FORWARD_H
#define TK_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TK_FWD_REC_MAX		(1u << 20)	/* longest record, bytes */
#define TK_FWD_BODY_MAX		(4u << 20)	/* largest request body */
#define TK_FWD_DEF_BATCH	100
#define TK_FWD_DEF_LINGER_MS	1000
#define TK_FWD_DEF_TIMEOUT_MS	30000
#define TK_FWD_DEF_RETRY_MIN_MS	500
#define TK_FWD_DEF_RETRY_MAX_MS	30000
#define TK_FWD_DEF_MEM_MAX	(16ull << 20)	/* queue bound in memory */
#define TK_FWD_DEF_SPOOL_MAX	(1ull << 30)	/* queue bound on disk */

enum tk_fwd_mode { TK_FWD_ARRAY, TK_FWD_LINES, TK_FWD_OSMAND };

struct tk_fwd_opts {
	enum tk_fwd_mode mode;
	const char	*url;
	const char *const *headers;	/* extra "Name: value" lines */
	size_t		 nheaders;
	const char	*cacert;	/* CA bundle for https, NULL: the system's */
	size_t		 batch_max;	/* records per request (1 for OsmAnd) */
	int64_t		 linger_ms;	/* a partial batch waits at most this */
	int64_t		 timeout_ms;	/* per request */
	int64_t		 retry_min_ms, retry_max_ms;
	const char	*spool_dir;	/* NULL: queue in memory */
	uint64_t	 spool_max;	/* bytes; 0: the default for the kind */
	/* what happened, as one line of text (no newline) */
	void		(*log)(void *arg, const char *msg);
	void		*log_arg;
};

struct tk_fwd_stats {
	uint64_t	 accepted;	/* records queued */
	uint64_t	 delivered;	/* records the endpoint took */
	uint64_t	 rejected;	/* records of batches the endpoint refused */
	uint64_t	 bad;		/* put: not a JSON object (OsmAnd: no position) */
	uint64_t	 full;		/* put: the spool was full */
	uint64_t	 spool_errors;	/* put: the spool could not be written */
	uint64_t	 skipped;	/* over-long records found in the spool */
	uint64_t	 requests;	/* requests sent */
	uint64_t	 retries;	/* requests that failed and were retried */
	uint64_t	 queued;	/* records waiting now */
	uint64_t	 queued_bytes;
	uint64_t	 resumed;	/* records an earlier run left in the spool */
	bool		 down;		/* the last attempt failed */
};

enum tk_fwd_put {
	TK_FWD_OK = 0,
	TK_FWD_BAD,		/* not a record this mode can send: counted */
	TK_FWD_FULL,		/* no room: counted when the caller drops it */
	TK_FWD_ERR		/* the spool failed (logged): counted */
};

/* A descriptor the caller wants watched by tk_fwd_poll(). */
struct tk_fwd_fd {
	int		 fd;
	bool		 want;		/* watch it this time */
	bool		 ready;		/* out: readable (or hung up) */
};

struct tk_fwd;

void	tk_fwd_defaults(struct tk_fwd_opts *);
/* 0, or -1 with a reason in err (bad URL scheme, spool unusable). */
int	tk_fwd_new(struct tk_fwd **, const struct tk_fwd_opts *, char *err, size_t errlen);
/* Abort what is in flight; the spool keeps what was not delivered. */
void	tk_fwd_free(struct tk_fwd *);

/* Queue one record (a line without its newline).  TK_FWD_FULL is not
 * counted: the caller either waits (tk_fwd_fits) or calls tk_fwd_drop. */
enum tk_fwd_put tk_fwd_put(struct tk_fwd *, const char *rec, size_t n);
bool	tk_fwd_fits(const struct tk_fwd *, size_t n);
void	tk_fwd_drop(struct tk_fwd *);	/* count one record dropped at the bound */

/* Wait at most timeout_ms (-1: as long as the engine has nothing to do)
 * for the engine's sockets and timers and the caller's fds; run the
 * transfers; start the next request when one is due.  0, or -1 on an
 * internal error (logged). */
int	tk_fwd_poll(struct tk_fwd *, struct tk_fwd_fd *fds, size_t nfds, int timeout_ms);
/* No more input: send partial batches without waiting for the linger. */
void	tk_fwd_flush(struct tk_fwd *);
/* Nothing queued and nothing in flight. */
bool	tk_fwd_idle(const struct tk_fwd *);
const struct tk_fwd_stats *tk_fwd_stats(struct tk_fwd *);

/*
 * OsmAnd: the query string for one record (no leading '?'), or -1 when the
 * record is not a position (no uniqueId, latitude, longitude or time).
 * Exposed for tests.
 */
struct tk_buf;
int	tk_fwd_osmand_query(const char *rec, size_t n, struct tk_buf *out);

#endif
