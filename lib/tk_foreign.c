/*
 * tk_foreign.c: protocols that TK103-looking devices often speak instead:
 * Xexun's binary v3 (GT06 is lib/tk_gt06.c, H02 lib/tk_h02.c), and two
 * seen on TK102 clones: Traccar's "tk102" ("[" type, 10-digit
 * serial, a length byte, the payload, "]") and V680 ("#IMEI##" logins,
 * "#IMEI#...##" reports).  They are framed so the operator sees whole
 * frames labelled with the right protocol, but they are not decoded and
 * never answered: a tk102 payload holds "(...)" text that must never be
 * taken for a tk103 position.
 */
#include <string.h>

#include "tk_dialect_int.h"

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

/* Traccar's tk102: "[" type serial(10) len payload(len) "]"; a frame whose
 * length byte does not land on its "]" ends at the first "]". */
enum tk_scan
tk_tk102_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = tk_scan_begin(p, n, o);
	p += s;
	n -= s;
	if (n == 0)
		return TK_SCAN_MORE;
	if (p[0] != '[') {
		const uint8_t *e = memchr(p, '[', n);
		o->skip = s + (e ? (size_t)(e - p) : n);
		o->junk = true;
		return TK_SCAN_MORE;
	}
	/* wait for the whole frame its length byte announces, so a frame
	 * does not depend on how the stream was chunked */
	size_t total = n >= 13 ? 14 + (size_t)p[12] : 14;
	if (n >= total) {
		if (p[total - 1] == ']') {
			o->len = total;
			return TK_SCAN_FRAME;
		}
		/* the length byte is wrong: the first "]" ends the frame */
		const uint8_t *e = memchr(p + 13, ']', n - 13);
		if (e != NULL) {
			o->len = (size_t)(e - p) + 1;
			return TK_SCAN_FRAME;
		}
	}
	if (eof) {
		o->len = n;
		return TK_SCAN_FRAME;
	}
	return TK_SCAN_MORE;
}

/* V680: frames end with "##" (the login is "#IMEI##"). */
enum tk_scan
tk_v680_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = tk_scan_begin(p, n, o);
	p += s;
	n -= s;
	if (n == 0)
		return TK_SCAN_MORE;
	for (size_t i = 1; i + 1 < n; i++)
		if (p[i] == '#' && p[i + 1] == '#') {
			o->len = i + 2;
			return TK_SCAN_FRAME;
		}
	if (eof) {
		o->len = n;
		return TK_SCAN_FRAME;
	}
	return TK_SCAN_MORE;
}

#define NOREPLY(d)							\
size_t tk_##d##_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap) \
{ (void)f; (void)n; (void)out; (void)cap; return 0; }			\
size_t tk_##d##_id(const uint8_t *f, size_t n, char *out, size_t cap)	\
{ (void)f; (void)n; (void)out; (void)cap; return 0; }

NOREPLY(xexun3)
NOREPLY(tk102)
NOREPLY(v680)
