/*
 * tk_h02.h: the h02 dialect's entry points beside the dialect table
 * (internal to libtk103, not installed).  docs/protocol/h02.md.
 */
#ifndef TK_H02_H
#define TK_H02_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tk_dctx;

/* Does an h02 frame start at p (classification)?  1 yes, -1 no, 0 more
 * bytes needed. */
int	tk_h02_classify(const uint8_t *p, size_t n, bool eof);
/* tk_h02_reply at a given time (ms since the epoch, UTC), for tests. */
size_t	tk_h02_reply_at(const uint8_t *f, size_t n, int64_t now_ms, uint8_t *out,
	    size_t cap);
int	tk_h02_decode(struct tk_dctx *, const uint8_t *f, size_t n);

#endif
