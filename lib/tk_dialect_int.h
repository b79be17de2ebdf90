/*
 * tk_dialect_int.h: per-dialect entry points behind tk_scan(), tk_reply()
 * and tk_frame_id().  Internal to libtk103 (not installed).
 */
#ifndef TK_DIALECT_INT_H
#define TK_DIALECT_INT_H

#include "tk_dialect.h"

#define TK_DIALECT_FNS(d)						\
	enum tk_scan tk_##d##_scan(const uint8_t *, size_t, bool,	\
	    struct tk_scan_out *);					\
	size_t tk_##d##_reply(const uint8_t *, size_t, uint8_t *, size_t); \
	size_t tk_##d##_id(const uint8_t *, size_t, char *, size_t);

TK_DIALECT_FNS(xexun)
TK_DIALECT_FNS(tk103)
TK_DIALECT_FNS(gps103)
TK_DIALECT_FNS(xexun2)
TK_DIALECT_FNS(xexun3)
TK_DIALECT_FNS(gt06)
TK_DIALECT_FNS(h02)
TK_DIALECT_FNS(tk102)
TK_DIALECT_FNS(v680)

/* Does p[0..i) end in the head of an xexun message without GPRMC, so
 * that "imei:" at p[i] is xexun's: ",F|L,<keyword>,[ ]"? (tk_xexun.c) */
bool	tk_xexun_nofix_head(const uint8_t *p, size_t i);

/* tk_dialect_name() returns a name inside an array of this many bytes
 * (at most 7 characters and their NUL), so 8 bytes may be read from it. */
#define TK_DNAME_SIZE	8

/* Is c CR, LF or space? */
static inline bool
tk_is_ws(uint8_t c)
{
	return c == '\r' || c == '\n' || c == ' ';
}

/* A scanner's first step: o cleared, the blank lines before a frame
 * skipped; returns how many bytes that is (o->skip). */
static inline size_t
tk_scan_begin(const uint8_t *p, size_t n, struct tk_scan_out *o)
{
	size_t s = 0;
	while (s < n && tk_is_ws(p[s]))
		s++;
	o->skip = s;
	o->len = 0;
	o->junk = false;
	return s;
}

#endif
