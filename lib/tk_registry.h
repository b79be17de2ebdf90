/*
 * tk_registry.h: tk-listen's device registry (device id -> current
 * session) and its queue of held commands.  Pure data structures: no I/O,
 * no clocks (times are passed in).
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
	enum tk_dialect	 dialect;
	void		*sess;		/* the live session (owner's type), NULL: offline */
	int64_t		 since;		/* wall ms: the current session learned the id */
	int64_t		 last;		/* wall ms: last frame */
	int64_t		 told;		/* wall ms: last announced to the fleet (on_device) */
	uint64_t	 frames;	/* frames of the current session */
	struct tk_dev	*next;		/* hash chain */
};

struct tk_registry;

struct tk_registry *tk_reg_new(void);
void		 tk_reg_free(struct tk_registry *);
struct tk_dev	*tk_reg_find(const struct tk_registry *, const char *id);
/* Find or create (NULL when out of memory or the id is empty/too long). */
struct tk_dev	*tk_reg_get(struct tk_registry *, const char *id);
size_t		 tk_reg_count(const struct tk_registry *);
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
