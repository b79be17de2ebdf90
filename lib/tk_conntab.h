/*
 * tk_conntab.h: decoding sessions by connection, for readers of
 * tk-frame(5) lines (tk-decode).  A connection is the key of a frame line:
 * its CONN number, TRANSPORT and PEER; each has a tk_session (the dialect,
 * the device id learned at login, a photo being reassembled).
 *
 * An open-addressing table of hashes and pointers (16 bytes a slot, so
 * probing stays in cache with thousands of connections); the sessions are
 * allocated one by one.  Memory is bounded: past max live connections the
 * table forgets them all and starts over (the caller says so).
 *
 * The hash is computed once per line (tk_conntab_hash) and passed to the
 * other calls.
 */
#ifndef TK_CONNTAB_H
#define TK_CONNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_decode.h"
#include "tk_frameline.h"

struct tk_conn {
	uint64_t	 conn;		/* the key: conn, transport, peer */
	char		 transport[4];
	char		 peer[64];	/* NUL-padded, as in struct tk_fline */
	struct tk_session s;
};

struct tk_conn_slot {
	uint64_t	 h;		/* tk_conntab_hash() of p's key */
	struct tk_conn	*p;		/* NULL: empty */
};

struct tk_conntab {
	struct tk_conn_slot *tab;	/* NULL until the first connection */
	size_t		 ntab;		/* slots, a power of two */
	size_t		 live;		/* connections held */
	size_t		 max;		/* at most this many live at once */
	const char	*photo_dir;	/* for new sessions (tk_session.photo_dir) */
};

/* Empty; at most max connections at once (rounded up to a power of two,
 * at least 512). */
void		 tk_conntab_init(struct tk_conntab *, size_t max, const char *photo_dir);
/* Every session freed; the table is empty and usable again. */
void		 tk_conntab_clear(struct tk_conntab *);
void		 tk_conntab_free(struct tk_conntab *);
/* The hash of a frame line's connection (its CONN, TRANSPORT and PEER). */
uint64_t	 tk_conntab_hash(const struct tk_fline *);
/* The connection of line l (hash h), or NULL. */
struct tk_conn	*tk_conntab_find(const struct tk_conntab *, const struct tk_fline *l,
		    uint64_t h);
/*
 * The connection of line l (hash h), created with a new session (dialect
 * unknown) when there is none.  When max connections are live, every one
 * is forgotten first and *reset set (else cleared).  NULL when out of
 * memory (the table is unchanged).
 */
struct tk_conn	*tk_conntab_get(struct tk_conntab *, const struct tk_fline *l,
		    uint64_t h, bool *reset);
/* Forget line l's connection (a close line): true when it was there. */
bool		 tk_conntab_drop(struct tk_conntab *, const struct tk_fline *l,
		    uint64_t h);

#endif
