/*
 * tk_rd_int.h: a bounded big-endian reader over a binary frame's bytes,
 * shared by the binary dialects' decoders (internal, not installed).
 * A read past the end returns 0 and marks the reader bad; the decoder
 * checks r->bad once, where it matters, instead of after every field.
 */
#ifndef TK_RD_INT_H
#define TK_RD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd {
	const uint8_t	*p;
	size_t		 pos, end;
	bool		 bad;		/* a read went past end */
};

static inline bool
need(struct rd *r, size_t k)
{
	if (r->bad || k > r->end - r->pos) {
		r->bad = true;
		return false;
	}
	return true;
}

/* The bytes left to read (0 once a read went past the end). */
static inline size_t
left(const struct rd *r)
{
	return r->bad ? 0 : r->end - r->pos;
}

static inline uint32_t
u8(struct rd *r)
{
	return need(r, 1) ? r->p[r->pos++] : 0;
}

/* k bytes (at most 8), most significant first. */
static inline uint64_t
ubytes(struct rd *r, size_t k)
{
	uint64_t v = 0;
	if (!need(r, k))
		return 0;
	for (size_t i = 0; i < k; i++)
		v = v << 8 | r->p[r->pos + i];
	r->pos += k;
	return v;
}

static inline uint32_t
u16(struct rd *r)
{
	return (uint32_t)ubytes(r, 2);
}

static inline uint32_t
u32(struct rd *r)
{
	return (uint32_t)ubytes(r, 4);
}

static inline void
skip(struct rd *r, size_t k)
{
	if (need(r, k))
		r->pos += k;
}

#endif
