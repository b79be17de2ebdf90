/*
 * tk_word_int.h: eight bytes at a time (internal to the tree, not
 * installed).  A word is loaded little-endian on every host, so byte k of
 * the input is byte k of the value and the lowest set bit of a mask names
 * the first matching byte.  The masks have bit 7 of each flagged byte set.
 */
#ifndef TK_WORD_INT_H
#define TK_WORD_INT_H

#include <stdint.h>
#include <string.h>

#define TK_W_ONES	0x0101010101010101ull
#define TK_W_HIGH	0x8080808080808080ull
#define TK_W_LOW7	0x7f7f7f7f7f7f7f7full

/* Eight bytes at p, byte p[0] lowest. */
static inline uint64_t
tk_word(const void *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The bytes of w equal to c: exact for every byte (no borrow between
 * bytes), so each set bit is a match. */
static inline uint64_t
tk_word_eq(uint64_t w, uint8_t c)
{
	uint64_t x = w ^ (TK_W_ONES * c);
	return ~(((x & TK_W_LOW7) + TK_W_LOW7) | x | TK_W_LOW7);
}

/* The bytes of w outside 0x21..0x7e (space, controls, DEL, 8-bit): the
 * lowest set bit is exact (a borrow or carry only flags bytes above a
 * flagged one), so test for any, or take the first. */
static inline uint64_t
tk_word_unprintable(uint64_t w)
{
	return (((w - TK_W_ONES * 0x21) & ~w) | w | (w + TK_W_ONES)) & TK_W_HIGH;
}

/* The bytes of w a JSON string cannot carry as they are: controls (below
 * 0x20), DEL, 8-bit bytes, '"' and '\\'.  As for tk_word_unprintable,
 * the lowest set bit is exact. */
static inline uint64_t
tk_word_json_special(uint64_t w)
{
	return ((((w - TK_W_ONES * 0x20) & ~w) | w | (w + TK_W_ONES)) & TK_W_HIGH) |
	    tk_word_eq(w, '"') | tk_word_eq(w, '\\');
}

/* The bytes of w that are not ASCII digits ('0'..'9'): the lowest set bit
 * is exact. */
static inline uint64_t
tk_word_nondigit(uint64_t w)
{
	return ((w - TK_W_ONES * 0x30) | (w + TK_W_ONES * 0x46) | w) & TK_W_HIGH;
}

/* The index of the first flagged byte of a non-zero mask. */
static inline unsigned
tk_word_first(uint64_t m)
{
	return (unsigned)__builtin_ctzll(m) / 8;
}

#endif
