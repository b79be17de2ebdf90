/*
 * tk_xexun2.c: the xexun2 dialect (docs/protocol/xexun2.md): binary frames
 * between FA AF flags, byte-stuffed.  Framing, the ACK, device id, decoding.
 *
 * The scanner returns the raw (escaped) frame, flags included; the decoder
 * unescapes it into a bounded stack buffer.
 */
#include <math.h>
#include <string.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_rd_int.h"
#include "tk_util.h"
#include "tk_word_int.h"
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
		if (n - i >= 8) {
			/* eight bytes at a time up to the next FB */
			uint64_t m = tk_word_eq(tk_word(in + i), 0xFB);
			memmove(out + o, in + i, 8);
			if (m == 0) {
				o += 8;
				i += 7;
				continue;
			}
			size_t k = tk_word_first(m);
			o += k;
			i += k;
		}
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
	/*
	 * The closing flag: the next FA AF (escaping keeps it out of the
	 * body).  A frame is accepted only when its body holds the 16-byte
	 * header and exactly the payload length it declares; otherwise the
	 * bytes before that FA AF are junk and the FA AF may open the next
	 * frame.  This keeps a stream in step after a truncated frame or
	 * garbage: a closing flag is never taken for an opening one for long.
	 */
	for (;;) {
		size_t i = s + 2, body = 0;
		for (;;) {
			if (n - i > 8) {
				/* eight body bytes at a time up to the next
				 * FA or FB (a byte after them is there) */
				uint64_t w = tk_word(p + i);
				uint64_t m = tk_word_eq(w, 0xFA) | tk_word_eq(w, 0xFB);
				size_t k = m ? tk_word_first(m) : 8;
				i += k;
				body += k;
				if (k == 8)
					continue;
			}
			if (i + 1 >= n)
				return TK_SCAN_MORE;	/* o->skip = s */
			if (p[i] == 0xFA && p[i + 1] == 0xAF)
				break;
			if (p[i] == 0xFB && i + 2 < n && p[i + 1] == 0xBF &&
			    (p[i + 2] == 0x01 || p[i + 2] == 0x02)) {
				body += 2;
				i += 3;
			} else {
				body++;
				i++;
			}
		}
		if (body >= TK_XEXUN2_HDR - 2) {
			uint8_t h[TK_XEXUN2_HDR];
			header(p + s, i + 2 - s, h, sizeof(h));
			size_t want = TK_XEXUN2_HDR - 2 + (((size_t)h[14] << 8 | h[15]) & 0x3FF);
			if (body == want) {
				o->skip = s;
				o->len = i + 2 - s;
				return TK_SCAN_FRAME;
			}
		}
		s = i;
		o->skip = s;
		o->junk = true;
	}
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


/* ---- decoding (5.3) ------------------------------------------------ */

/* A bounded big-endian reader over the unescaped payload: tk_rd_int.h. */

static float
f32(struct rd *r)
{
	uint32_t v = u32(r);
	float f;
	memcpy(&f, &v, sizeof(f));
	return f;
}

static double
f64(struct rd *r)
{
	uint64_t v = (uint64_t)u32(r) << 32;
	v |= u32(r);
	double d;
	memcpy(&d, &v, sizeof(d));
	return d;
}

/* NMEA-style ddmm.mmmm stored as a number, sign kept. */
static double
nmea(double v)
{
	/* a float from the wire: out of range (or NaN) must not reach the cast */
	if (!(v > -1e7 && v < 1e7))
		return NAN;
	double deg = (double)(long long)(v / 100);
	return deg + (v - deg * 100) / 60;
}

static bool
coord_ok(double lat, double lon)
{
	return lat == lat && lon == lon && lat >= -90 && lat <= 90 &&
	    lon >= -180 && lon <= 180;
}

static void
set_pos(struct tk_record *t, double lon, double lat, bool valid)
{
	lat = nmea(lat);
	lon = nmea(lon);
	if (!coord_ok(lat, lon))
		return;
	t->has_pos = true;
	t->valid = valid;
	t->lat = lat;
	t->lon = lon;
}

/* The position block (mask bit1).  Returns false on an unknown block. */
static bool
position_block(struct rd *r, struct tk_record *t)
{
	uint32_t pm = u8(r);

	if (pm & 0x01) {			/* GPS, float */
		tk_rec_int(t, "sat", u8(r));
		double lon = f32(r), lat = f32(r);
		if (!r->bad)
			set_pos(t, lon, lat, true);
	}
	if (pm & 0x02) {			/* WiFi */
		uint32_t k = u8(r);
		for (uint32_t i = 0; i < k && !r->bad; i++) {
			struct tk_wifi w;
			if (!need(r, 7))
				break;
			memcpy(w.mac, r->p + r->pos, 6);
			r->pos += 6;
			w.rssi = (int8_t)u8(r);
			w.has_rssi = true;
			w.channel = -1;
			tk_rec_wifi(t, &w);
		}
	}
	if (pm & 0x04) {			/* cells */
		uint32_t k = u8(r);
		for (uint32_t i = 0; i < k && !r->bad; i++) {
			struct tk_cell cl;
			if (!need(r, 13))
				break;
			cl.mcc = (uint16_t)u16(r);
			cl.mnc = (uint16_t)u16(r);
			cl.has_mcc = true;
			cl.lac = u32(r);
			cl.cid = u32(r);
			cl.rssi = (int8_t)u8(r);
			cl.has_rssi = true;
			tk_rec_cell(t, &cl);
		}
	}
	if (pm & 0x08)				/* TOF: skipped */
		skip(r, (size_t)u8(r) * 12);
	if (pm & 0x10)
		return false;			/* undocumented: stop here */
	if (pm & 0x20) {			/* motion */
		t->speed = u16(r) * 0.1 * TK_KMH_TO_KN;
		t->course = u16(r) * 0.1;
		t->has_speed = t->has_course = !r->bad;
	}
	if (pm & 0x40) {			/* GPS, double */
		tk_rec_int(t, "sat", u8(r));
		double lon = f64(r), lat = f64(r);
		if (!r->bad)
			set_pos(t, lon, lat, true);
	}
	if (pm & 0x80) {			/* extended */
		size_t len = u16(r);
		if (len > 0 && need(r, len)) {
			struct rd x = {r->p, r->pos, r->pos + len, false};
			uint32_t type = u8(&x);
			size_t sub = u16(&x);
			if (type == 'G' && sub >= 27 && need(&x, 27)) {
				double lon = f64(&x), lat = f64(&x);
				bool valid = u8(&x) != 0;
				tk_rec_int(t, "sat", u8(&x));
				tk_rec_int(t, "snr", u8(&x));
				t->speed = u16(&x) * 0.1 * TK_KMH_TO_KN;
				t->course = u16(&x) * 0.1;
				t->has_speed = t->has_course = true;
				t->alt = f32(&x);
				t->has_alt = t->alt == t->alt;
				set_pos(t, lon, lat, valid);
			}
			r->pos += len;
		}
	}
	return true;
}

/*
 * A type 0x0007 frame from a device answers a command (the server's
 * commands have the same type): its payload is the answer's text, "OK" or
 * the command echoed with a status.  Printable text becomes the reply's
 * result; other bytes are shown as hex so nothing is hidden.
 */
static int
answer(struct tk_dctx *c, const uint8_t *pl, size_t n, const char *id, int cks)
{
	static const char hx[] = "0123456789ABCDEF";
	char txt[2 * FRAME_MAX + 1];
	size_t k = 0;
	bool text = n > 0;

	for (size_t i = 0; i < n; i++)
		if (pl[i] < 0x20 || pl[i] > 0x7E)
			if (!((pl[i] == '\r' || pl[i] == '\n') && i + 2 >= n))
				text = false;
	tk_dctx_begin(c, TK_R_REPLY);
	tk_rec_set_id(c->r, id, strlen(id));
	if (cks >= 0)
		tk_rec_bool(c->r, "checksumValid", cks != 0);
	if (text) {
		while (n > 0 && (pl[n - 1] == '\r' || pl[n - 1] == '\n'))
			n--;
		tk_rec_str(c->r, "result", (const char *)pl, n);
	} else {
		for (size_t i = 0; i < n && k + 2 < sizeof(txt); i++) {
			txt[k++] = hx[pl[i] >> 4];
			txt[k++] = hx[pl[i] & 15];
		}
		tk_rec_str(c->r, "result", txt, k);
	}
	return tk_dctx_emit(c);
}

/* One record of a position payload, r limited to its declared length. */
static int
record(struct tk_dctx *c, struct rd *r, const char *id, int cks)
{
	struct tk_record *t = c->r;

	tk_dctx_begin(c, TK_R_EVENT);
	tk_rec_set_id(t, id, strlen(id));
	tk_rec_int(t, "index", u8(r));
	uint32_t tm = u32(r);
	tk_rec_int(t, "rssi", u8(r));
	uint32_t bat = u16(r);
	uint32_t mask = u8(r);
	if (r->bad)
		return tk_dctx_reject(c, "xexun2 record shorter than its header (9 bytes)");
	t->fix_time = t->device_time = (int64_t)tm * 1000;
	tk_rec_bool(t, "charge", (bat & 0x8000) != 0);
	tk_rec_int(t, "batteryLevel", bat & 0x7FFF);
	if (cks >= 0)
		tk_rec_bool(t, "checksumValid", cks != 0);
	if (mask & 0x01) {
		uint32_t al = u32(r);
		if (al & 0x0001)
			tk_rec_alarm(t, "sos");
		if (al & 0x0002)
			tk_rec_alarm(t, "removing");
		if (al & 0x8000)
			tk_rec_alarm(t, "fallDown");
	}
	bool known = true;
	if (mask & 0x02)
		known = position_block(r, t);
	if (known && !(mask & 0x04)) {
		if (mask & 0x08)
			skip(r, 4);		/* fingerprint */
		if (mask & 0x10)
			skip(r, 20 + 8 + 10);	/* version, IMSI, ICCID */
		if (mask & 0x20)
			skip(r, 12);		/* device parameters */
	}
	if (r->bad)
		tk_dctx_warn(c, "xexun2 record blocks run past the record length");
	if (t->has_pos)
		t->type = TK_R_POSITION;
	return tk_dctx_emit(c);
}

int
tk_xexun2_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	uint8_t u[FRAME_MAX];
	char id[16];

	if (n > sizeof(u))
		return tk_dctx_reject(c, "xexun2 frame of %zu bytes is longer than %zu", n,
		    sizeof(u));
	size_t m = tk_xexun2_unescape(f, n, u, sizeof(u));
	if (m < TK_XEXUN2_HDR + 2)
		return tk_dctx_reject(c, "xexun2 frame too short (%zu bytes unescaped)", m);
	if (u[0] != 0xFA || u[1] != 0xAF || u[m - 2] != 0xFA || u[m - 1] != 0xAF)
		return tk_dctx_reject(c, "xexun2 frame without its FA AF flags");
	uint32_t type = (uint32_t)u[2] << 8 | u[3];
	size_t plen = ((size_t)u[14] << 8 | u[15]) & 0x3FF;
	uint32_t want = (uint32_t)u[16] << 8 | u[17];
	if (TK_XEXUN2_HDR + plen + 2 != m)
		return tk_dctx_reject(c, "xexun2 length field says %zu payload bytes, "
		    "the frame has %zu", plen, m - TK_XEXUN2_HDR - 2);
	imei_str(u + 6, id, sizeof(id));
	tk_strlcpyn(c->s->id, sizeof(c->s->id), id, strlen(id));

	const uint8_t *pl = u + TK_XEXUN2_HDR;
	uint32_t s = 0;
	for (size_t i = 0; i < plen; i++)
		s += pl[i];
	uint16_t folded = tk_xexun2_checksum(pl, plen);
	uint16_t trunc = (uint16_t)~s;
	int cks = 1;
	if (want == folded) {
		/* the usual case; identical to the truncated form below 0x10000 */
	} else if (want == trunc) {
		tk_dctx_warn(c, "xexun2 checksum matches the truncated sum (~s & 0xFFFF), "
		    "not the folded one");
	} else {
		cks = 0;
		tk_dctx_warn(c, "xexun2 checksum mismatch: frame says %04X, payload "
		    "gives %04X", want, folded);
	}
	if (type == TYPE_COMMAND)
		return answer(c, pl, plen, id, cks);
	if (type != TYPE_POSITION)
		return 0;		/* acknowledged, not decoded */

	struct rd r = {pl, 0, plen, false};
	uint32_t count = u8(&r);
	if (count == 0 || !need(&r, (size_t)count * 2))
		return tk_dctx_reject(c, "xexun2 record count %u does not fit the payload "
		    "(%zu bytes)", count, plen);
	size_t lens = r.pos, at = r.pos + (size_t)count * 2;
	for (uint32_t i = 0; i < count; i++) {
		size_t len = (size_t)pl[lens + 2 * i] << 8 | pl[lens + 2 * i + 1];
		if (len > plen - at) {
			if (c->nemit == 0)
				return tk_dctx_reject(c, "xexun2 record %u of %zu bytes runs "
				    "past the payload", i + 1, len);
			tk_dctx_warn(c, "xexun2 record %u of %zu bytes runs past the "
			    "payload: dropped", i + 1, len);
			break;
		}
		struct rd rr = {pl, at, at + len, false};
		if (record(c, &rr, id, cks) < 0)
			return c->stopped ? (int)c->nemit : -1;
		at += len;
	}
	return (int)c->nemit;
}
