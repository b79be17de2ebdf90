/*
 * tk_spool.h: a bounded first-in first-out queue of records (lines of
 * text) for tk-forward, kept in memory or in a spool directory on disk.
 *
 * On disk the queue is a directory of segment files (16 hex digits and
 * ".spool", records appended as lines, a new segment every few MiB), a
 * "head" file holding the segment and byte offset of the oldest record
 * not yet delivered, and a "lock" file held with flock(2) while a process
 * uses the directory.  Records are written before they are sent, so what
 * was read and not acknowledged is there for the next run, also after a
 * crash; the head moves only after a delivery, so a batch whose answer was
 * lost is sent again (at least once).  A torn last line (a crash in the
 * middle of a write) is cut off when the spool is opened.
 *
 * The bound is on bytes: segment files (less what the head has passed) in
 * a directory, queued bytes in memory.  tk_spool_put() refuses a record
 * that does not fit; the caller decides what that means (wait or drop).
 *
 * Never prints; errors come back as -1 and a reason in the caller's buffer.
 */
#ifndef TK_SPOOL_H
#define TK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TK_SPOOL_MIN	1024u		/* smallest bound, bytes */

struct tk_spool;

enum tk_spool_put {
	TK_SPOOL_OK = 0,
	TK_SPOOL_FULL,		/* the record does not fit under the bound now */
	TK_SPOOL_ERR		/* the spool could not be written (err says why) */
};

/* dir NULL: in memory.  Otherwise the directory is created when missing
 * (its parent must exist), locked, and what an earlier run left in it is
 * queued first.  0, or -1 with a reason in err. */
int	tk_spool_open(struct tk_spool **, const char *dir, uint64_t max_bytes,
	    char *err, size_t errlen);
/* Close, keeping on disk what was not popped.  NULL is ignored. */
void	tk_spool_close(struct tk_spool *);

/* Queue one record: n bytes with no newline (one is added). */
enum tk_spool_put tk_spool_put(struct tk_spool *, const char *rec, size_t n,
	    char *err, size_t errlen);
/* Would a record of n bytes fit now? */
bool	tk_spool_fits(const struct tk_spool *, size_t n);

/*
 * The oldest records: at most max_recs of them in at most max_bytes (each
 * ending in a newline), contiguous at *p, valid until the next call.  At
 * least one record when the queue is not empty and the first record is at
 * most max_bytes long (a longer one is skipped and counted in *skipped).
 * 0 (with *nrecs 0 when empty), or -1 on a read error.
 */
int	tk_spool_peek(struct tk_spool *, size_t max_recs, size_t max_bytes,
	    const char **p, size_t *len, size_t *nrecs, char *err, size_t errlen);
/* Remove what the last peek returned (len bytes, nrecs records, or a
 * prefix of them).  0, or -1 when the head could not be recorded. */
int	tk_spool_pop(struct tk_spool *, size_t len, size_t nrecs, char *err, size_t errlen);

uint64_t tk_spool_records(const struct tk_spool *);	/* queued records */
uint64_t tk_spool_bytes(const struct tk_spool *);	/* against the bound */
uint64_t tk_spool_skipped(const struct tk_spool *);	/* over-long records skipped by peek */
bool	tk_spool_on_disk(const struct tk_spool *);

#endif
