/*
 * tk_registry.h: tk-listen's device registry (device id -> current
 * session) and its queue of held commands.  Pure data structures: no I/O,
 * no clocks (times are passed in).
 *
 * Bounds.  Every entry is either in use (refs > 0: a live session holds
 * the id or claims it) or unused (the device is offline).  Unused entries
 * sit on a list in the order they became unused; tk_reg_expire() forgets
 * the ones unused for longer than the caller's time to live, and creating
 * an entry when the registry holds max of them first forgets the oldest
 * unused one.  An entry in use is never forgotten, so a caller whose live
 * sessions are at most max (tk-listen: max >= 2 x -c) always gets its
 * entry.  Memory: the entries come from slabs of 512 (tk_pool.h), 104
 * bytes each, recycled in place, so at most max entries rounded up to a
 * slab whatever the allocator and the order of arrivals, plus a hash
 * table sized for max at creation (8 bytes per 2 entries, rounded up to a
 * power of 2).  tk-listen's default max, 40,000: 4.2 MB of entries and
 * 256 KiB of table (tk_reg_bytes()).
 *
 * The identity policy that uses the registry (who may hold an id) is
 * tk_server.c's: see "Identity" there.
 */
#ifndef TK_REGISTRY_H
#define TK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"
#include "tk_record.h"

struct tk_dev {
	char		 id[TK_ID_MAX];
	void		*sess;		/* the session holding the id (owner's type), NULL: offline */
	int64_t		 since;		/* wall ms: the current session learned the id */
	int64_t		 last;		/* wall ms: last frame */
	int64_t		 unused;	/* caller's clock: refs dropped to 0 (while unused) */
	uint64_t	 frames;	/* frames of the current session */
	struct tk_dev	*next;		/* hash chain */
	struct tk_dev	*uprev, *unext;	/* the unused list, oldest first */
	uint32_t	 refs;		/* sessions holding or claiming the id */
	enum tk_dialect	 dialect;
};

struct tk_registry;

/* max: the most entries held at once (0: no limit). */
struct tk_registry *tk_reg_new(size_t max);
void		 tk_reg_free(struct tk_registry *);
struct tk_dev	*tk_reg_find(const struct tk_registry *, const char *id);
/*
 * Find or create.  A new entry is unused (refs 0, unused = now) until
 * tk_reg_ref().  At max entries the oldest unused one is forgotten first;
 * NULL with errno ENOSPC when every entry is in use, EINVAL when the id is
 * empty or too long, ENOMEM.
 */
struct tk_dev	*tk_reg_get(struct tk_registry *, const char *id, int64_t now);
/* A session holds or claims d / no longer does (at 0 refs d becomes
 * unused at now). */
void		 tk_reg_ref(struct tk_registry *, struct tk_dev *);
void		 tk_reg_unref(struct tk_registry *, struct tk_dev *, int64_t now);
/* Forget the entries unused since before or earlier; returns how many. */
size_t		 tk_reg_expire(struct tk_registry *, int64_t before);
size_t		 tk_reg_count(const struct tk_registry *);
/* Entries forgotten to make room for new ones (at max), in total. */
uint64_t	 tk_reg_evicted(const struct tk_registry *);
/* Bytes the registry holds (entries, table), for the counters. */
size_t		 tk_reg_bytes(const struct tk_registry *);
/* Iterate: pass NULL first; returns NULL at the end.  Order is unspecified;
 * the registry must not change during an iteration. */
struct tk_dev	*tk_reg_next(const struct tk_registry *, const struct tk_dev *prev);

/* Held commands (QUEUE). */
struct tk_cmd {
	uint64_t	 qid;
	char		 id[TK_ID_MAX];
	int64_t		 expires;	/* wall ms */
	bool		 ext;		/* queued elsewhere (the bus): tell when sent */
	size_t		 len;
	uint8_t		*data;
	struct tk_cmd	*next;
};

struct tk_cmdq {
	struct tk_cmd	*head, *tail;
	size_t		 n, max;
	uint64_t	 next_qid;
};

void		 tk_cmdq_init(struct tk_cmdq *, size_t max);
void		 tk_cmdq_free(struct tk_cmdq *);
/* Returns the new qid, 0 when full (errno ENOSPC) or out of memory. */
uint64_t	 tk_cmdq_add(struct tk_cmdq *, const char *id, int64_t expires,
		    const uint8_t *p, size_t n);
/* Add with the caller's qid (a fleet-wide one): the qid, or 0 when full
 * (ENOSPC), the qid is taken (EEXIST), or out of memory. */
uint64_t	 tk_cmdq_put(struct tk_cmdq *, uint64_t qid, const char *id, int64_t expires,
		    const uint8_t *p, size_t n);
/* Remove by qid: 0, or -1 if there is none. */
int		 tk_cmdq_cancel(struct tk_cmdq *, uint64_t qid);
/* Detach the oldest command for id (NULL if none); the caller frees it
 * with tk_cmd_free(). */
struct tk_cmd	*tk_cmdq_take(struct tk_cmdq *, const char *id);
/* Drop commands that expired at or before now; returns how many. */
size_t		 tk_cmdq_expire(struct tk_cmdq *, int64_t now);
void		 tk_cmd_free(struct tk_cmd *);

#endif
