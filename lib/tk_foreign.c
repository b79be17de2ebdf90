/*
 * tk_foreign.c: protocols that TK103-looking devices often speak instead:
 * H02 (*HQ, text and $ binary) and Xexun's binary v3 (GT06 has its own
 * module, tk_gt06.c).
 * They are framed so the operator sees whole frames labelled with the
 * right protocol, but they are not decoded and never answered.
 */
#include <string.h>

#include "tk_dialect_int.h"

enum tk_scan
tk_h02_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = 0;
	while (s < n && tk_is_ws(p[s]))
		s++;
	o->skip = s;
	o->len = 0;
	o->junk = false;
	p += s;
	n -= s;
	if (n == 0)
		return TK_SCAN_MORE;
	if (p[0] == '*') {
		const uint8_t *e = memchr(p, '#', n);
		if (e == NULL) {
			if (eof) {
				o->len = n;
				return TK_SCAN_FRAME;
			}
			return TK_SCAN_MORE;
		}
		o->len = (size_t)(e - p) + 1;
		return TK_SCAN_FRAME;
	}
	if (p[0] == '$') {
		/* binary report: fixed 45 bytes (32 for the short form, which
		 * is followed directly by the next '$' or '*') */
		size_t total = 45;
		if (n >= 33 && (p[32] == '$' || p[32] == '*'))
			total = 32;
		if (n < total) {
			if (eof) {
				o->len = n;
				return TK_SCAN_FRAME;
			}
			return TK_SCAN_MORE;
		}
		o->len = total;
		return TK_SCAN_FRAME;
	}
	size_t i = 0;
	while (i < n && p[i] != '*' && p[i] != '$')
		i++;
	o->skip = s + i;
	o->junk = true;
	return TK_SCAN_MORE;
}

enum tk_scan
tk_xexun3_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = 0;
	(void)eof;
	while (s < n && tk_is_ws(p[s]))
		s++;
	o->skip = s;
	o->len = 0;
	o->junk = false;
	p += s;
	n -= s;
	if (n == 0)
		return TK_SCAN_MORE;
	if (p[0] != 0xFC) {
		const uint8_t *e = memchr(p, 0xFC, n);
		o->skip = s + (e ? (size_t)(e - p) : n);
		o->junk = true;
		return TK_SCAN_MORE;
	}
	if (n < 3)
		return TK_SCAN_MORE;
	size_t total = ((size_t)p[1] << 8 | p[2]) + 6;
	if (n < total)
		return TK_SCAN_MORE;
	o->len = total;
	return TK_SCAN_FRAME;
}

#define NOREPLY(d)							\
size_t tk_##d##_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap) \
{ (void)f; (void)n; (void)out; (void)cap; return 0; }			\
size_t tk_##d##_id(const uint8_t *f, size_t n, char *out, size_t cap)	\
{ (void)f; (void)n; (void)out; (void)cap; return 0; }

NOREPLY(h02)
NOREPLY(xexun3)
