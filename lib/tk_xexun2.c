/*
 * tk_xexun2.c: the xexun2 dialect (protocol.md section 5): binary frames
 * between FA AF flags, byte-stuffed.  Framing, the ACK, device id, decoding.
 *
 * The scanner returns the raw (escaped) frame, flags included; the decoder
 * unescapes it into a bounded stack buffer.
 */
#include <string.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_util.h"
#include "tk_xexun2.h"

#define FRAME_MAX	4096	/* as tk_frame_max(TK_D_XEXUN2) */
#define TYPE_POSITION	0x0014
#define TYPE_COMMAND	0x0007

size_t
tk_xexun2_unescape(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	if (cap < n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == 0xFB && i + 2 < n && in[i + 1] == 0xBF &&
		    (in[i + 2] == 0x01 || in[i + 2] == 0x02)) {
			out[o++] = in[i + 2] == 0x01 ? 0xFA : 0xFB;
			out[o++] = in[i + 2] == 0x01 ? 0xAF : 0xBF;
			i += 2;
		} else
			out[o++] = in[i];
	}
	return o;
}

size_t
tk_xexun2_escape(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	if (n < 4 || cap < 4)
		return 0;
	out[o++] = in[0];
	out[o++] = in[1];
	for (size_t i = 2; i < n - 2; i++) {
		if (i + 1 < n - 2 && ((in[i] == 0xFA && in[i + 1] == 0xAF) ||
		    (in[i] == 0xFB && in[i + 1] == 0xBF))) {
			if (o + 3 > cap - 2)
				return 0;
			out[o++] = 0xFB;
			out[o++] = 0xBF;
			out[o++] = in[i] == 0xFA ? 0x01 : 0x02;
			i++;
		} else {
			if (o + 1 > cap - 2)
				return 0;
			out[o++] = in[i];
		}
	}
	out[o++] = in[n - 2];
	out[o++] = in[n - 1];
	return o;
}

uint16_t
tk_xexun2_checksum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)~s;
}

/* Unescape at most cap header bytes of a raw frame; returns how many. */
static size_t
header(const uint8_t *f, size_t n, uint8_t *h, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o < cap; i++) {
		if (f[i] == 0xFB && i + 2 < n && f[i + 1] == 0xBF &&
		    (f[i + 2] == 0x01 || f[i + 2] == 0x02)) {
			h[o++] = f[i + 2] == 0x01 ? 0xFA : 0xFB;
			if (o < cap)
				h[o++] = f[i + 2] == 0x01 ? 0xAF : 0xBF;
			i += 2;
		} else
			h[o++] = f[i];
	}
	return o;
}

enum tk_scan
tk_xexun2_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = 0;

	(void)eof;	/* a binary frame is never returned unterminated */
	o->skip = o->len = 0;
	o->junk = false;
	/* the opening flag */
	for (;;) {
		const uint8_t *q = s < n ? memchr(p + s, 0xFA, n - s) : NULL;
		if (q == NULL) {
			s = n;
			break;
		}
		s = (size_t)(q - p);
		if (s + 1 == n)
			break;		/* FA at the end: keep it */
		if (p[s + 1] == 0xAF)
			break;
		s++;
	}
	for (size_t i = 0; i < s; i++)
		if (!tk_is_ws(p[i])) {
			o->junk = true;
			break;
		}
	o->skip = s;
	if (s + 2 > n || p[s + 1] != 0xAF)
		return TK_SCAN_MORE;
	/* the closing flag: the next FA AF (escaping keeps it out of the body) */
	size_t i = s + 2;
	while (i + 1 < n) {
		const uint8_t *q = memchr(p + i, 0xFA, n - i - 1);
		if (q == NULL)
			break;
		i = (size_t)(q - p);
		if (p[i + 1] == 0xAF) {
			o->len = i + 2 - s;
			return TK_SCAN_FRAME;
		}
		i++;
	}
	return TK_SCAN_MORE;
}

size_t
tk_xexun2_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	uint8_t h[TK_XEXUN2_HDR], a[21];

	if (header(f, n, h, sizeof(h)) < 14 || h[0] != 0xFA || h[1] != 0xAF)
		return 0;
	if ((h[2] << 8 | h[3]) == TYPE_COMMAND)
		return 0;
	memcpy(a, h, 14);		/* flag, type, index, IMEI */
	a[14] = 0x00;
	a[15] = 0x01;			/* one payload byte */
	a[16] = 0xFF;
	a[17] = 0xFE;			/* ~1 */
	a[18] = 0x01;
	a[19] = 0xFA;
	a[20] = 0xAF;
	return tk_xexun2_escape(a, sizeof(a), out, cap);
}

/* The 8 IMEI bytes as 16 hex digits, the first 15 kept. */
static size_t
imei_str(const uint8_t *b, char *out, size_t cap)
{
	static const char hx[] = "0123456789abcdef";
	char s[16];
	for (int i = 0; i < 8; i++) {
		s[2 * i] = hx[b[i] >> 4];
		s[2 * i + 1] = hx[b[i] & 15];
	}
	return tk_strlcpyn(out, cap, s, 15);
}

size_t
tk_xexun2_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	uint8_t h[TK_XEXUN2_HDR];

	if (cap == 0 || header(f, n, h, sizeof(h)) < 14 || h[0] != 0xFA || h[1] != 0xAF)
		return 0;
	return imei_str(h + 6, out, cap);
}

int
tk_xexun2_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	(void)f; (void)n;
	return tk_dctx_reject(c, "xexun2 decoding not implemented yet");
}
