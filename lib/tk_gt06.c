/*
 * tk_gt06.c: the gt06 dialect (Concox GT06 and the many units sold as
 * TK102/TK103 that speak it): binary frames 78 78 <len u8> ... 0D 0A and
 * 79 79 <len u16> ... 0D 0A with a CRC-16/X-25.  Framing, replies, the
 * device id (the login's IMEI) and decoding into records with Traccar's
 * attribute names.  docs/protocol/gt06.md describes the wire format and
 * where this code departs from Traccar.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_gt06.h"
#include "tk_rd_int.h"
#include "tk_util.h"

#define FRAME_MAX	4096	/* as tk_frame_max(TK_D_GT06) */

/* Message types (docs/protocol/gt06.md, "Message types"). */
enum {
	M_LOGIN = 0x01, M_GPS = 0x10, M_GPS_LBS_6 = 0x11, M_GPS_LBS = 0x12,
	M_STATUS = 0x13, M_SATELLITE = 0x14, M_STRING = 0x15,
	M_GPS_LBS_STATUS = 0x16, M_WIFI = 0x17, M_LBS_EXTEND = 0x18,
	M_LBS_STATUS = 0x19, M_GPS_PHONE = 0x1A, M_GPS_LBS_EXTEND = 0x1E,
	M_STRING_INFO = 0x21, M_GPS_LBS_2 = 0x22, M_HEARTBEAT = 0x23,
	M_LBS_MULTIPLE_3 = 0x24, M_GPS_LBS_DRIVER = 0x25,
	M_GPS_LBS_STATUS_2 = 0x26, M_GPS_LBS_STATUS_3 = 0x27,
	M_LBS_MULTIPLE = 0x28, M_ADDRESS_REQUEST = 0x2A, M_LBS_WIFI = 0x2C,
	M_GPS_LBS_4 = 0x2D, M_LBS_MULTIPLE_2 = 0x2E, M_GPS_LBS_5 = 0x31,
	M_GPS_LBS_STATUS_4 = 0x32, M_WIFI_5 = 0x33, M_X1_GPS = 0x34,
	M_X1_PHOTO_INFO = 0x35, M_STATUS_2 = 0x36, M_GPS_LBS_3 = 0x37,
	M_GPS_LBS_8 = 0x38, M_ALARM_MODULE = 0x39, M_DTC = 0x65, M_PID = 0x66,
	M_WIFI_2 = 0x69, M_GPS_MODULAR = 0x70, M_COMMAND_0 = 0x80,
	M_COMMAND_1 = 0x81, M_COMMAND_2 = 0x82, M_TIME_REQUEST = 0x8A,
	M_OBD = 0x8C, M_INFO = 0x94, M_ALARM = 0x95, M_SERIAL = 0x9B,
	M_GPS_LBS_7 = 0xA0, M_LBS_2 = 0xA1, M_WIFI_3 = 0xA2, M_FENCE_SINGLE = 0xA3,
	M_FENCE_MULTI = 0xA4, M_LBS_ALARM = 0xA5, M_LBS_ADDRESS = 0xA7,
	M_WIFI_ALARM = 0xA9, M_STATUS_F1 = 0xF1, M_PERIPHERAL = 0xF2,
	M_WIFI_4 = 0xF3
};

/* ---- CRC and frame building ------------------------------------------ */

static const uint16_t x25_nib[16] = {
	0x0000, 0x1081, 0x2102, 0x3183, 0x4204, 0x5285, 0x6306, 0x7387,
	0x8408, 0x9489, 0xa50a, 0xb58b, 0xc60c, 0xd68d, 0xe70e, 0xf78f
};

uint16_t
tk_gt06_crc(const uint8_t *p, size_t n)
{
	uint16_t c = 0xFFFF;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		c = (uint16_t)((c >> 4) ^ x25_nib[c & 15]);
		c = (uint16_t)((c >> 4) ^ x25_nib[c & 15]);
	}
	return (uint16_t)~c;
}

/* A frame, 78 78 with a one-byte length or (ext) 79 79 with two. */
static size_t
frame_build(bool ext, uint8_t type, const uint8_t *content, size_t clen,
    uint16_t serial, uint8_t *out, size_t cap)
{
	size_t len = 1 + clen + 2 + 2;	/* type .. CRC */
	size_t h = ext ? 4 : 3;		/* start and length bytes */
	if (len > (ext ? 0xFFFFu : 0xFFu) || len + h + 2 > cap)
		return 0;
	out[0] = out[1] = ext ? 0x79 : 0x78;
	if (ext)
		out[2] = (uint8_t)(len >> 8);
	out[h - 1] = (uint8_t)len;
	uint8_t *q = out + h;
	*q++ = type;
	if (clen)
		memcpy(q, content, clen);
	q += clen;
	*q++ = (uint8_t)(serial >> 8);
	*q++ = (uint8_t)serial;
	uint16_t c = tk_gt06_crc(out + 2, (size_t)(q - out) - 2);
	*q++ = (uint8_t)(c >> 8);
	*q++ = (uint8_t)c;
	*q++ = 0x0D;
	*q++ = 0x0A;
	return (size_t)(q - out);
}

size_t
tk_gt06_frame(uint8_t type, const uint8_t *content, size_t clen, uint16_t serial,
    uint8_t *out, size_t cap)
{
	return frame_build(false, type, content, clen, serial, out, cap);
}

static size_t
ext_frame(uint8_t type, const uint8_t *content, size_t clen, uint16_t serial,
    uint8_t *out, size_t cap)
{
	return frame_build(true, type, content, clen, serial, out, cap);
}

size_t
tk_gt06_time_reply(int64_t now_ms, uint8_t *out, size_t cap)
{
	int y, mo, d, h, mi, s, ms;
	tk_civil_from_ms(now_ms, &y, &mo, &d, &h, &mi, &s, &ms);
	uint8_t t[6] = {(uint8_t)(y % 100), (uint8_t)mo, (uint8_t)d, (uint8_t)h,
	    (uint8_t)mi, (uint8_t)s};
	return tk_gt06_frame(M_TIME_REQUEST, t, sizeof(t), 0, out, cap);
}

/* ---- framing ------------------------------------------------------------ */

static bool
is_start(const uint8_t *p, size_t i, size_t n)
{
	return i + 1 < n && (p[i] == 0x78 || p[i] == 0x79) && p[i + 1] == p[i];
}

/*
 * A frame starts at 78 78 or 79 79.  Its length field is trusted when the
 * two bytes it points at are 0D 0A.  Otherwise (WiFi packets put a count
 * there, some firmware miscounts) the frame runs to the first 0D 0A after
 * its type byte; a new start marker met first means the bytes before it
 * were junk.  A declared length longer than a frame can be is not waited
 * for.  Every decision depends only on bytes from the start marker up to
 * the point decided, so any chunking of a stream gives the same frames.
 */
enum tk_scan
tk_gt06_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = tk_scan_begin(p, n, o);
	if (s < n && !is_start(p, s, n)) {
		size_t i = s + 1;
		while (i < n && !is_start(p, i, n))
			i++;
		/* keep a lone final 78/79: it may open the next frame */
		if (i == n && (p[n - 1] == 0x78 || p[n - 1] == 0x79))
			i = n - 1;
		o->skip = i;
		o->junk = true;
		return TK_SCAN_MORE;
	}
	p += s;
	n -= s;
	bool ext = n >= 1 && p[0] == 0x79;
	size_t hdr = ext ? 5 : 4;
	if (n < hdr)
		return TK_SCAN_MORE;
	size_t total = ext ? ((size_t)p[2] << 8 | p[3]) + 6 : (size_t)p[2] + 5;
	if (total >= hdr + 2 && total <= FRAME_MAX) {
		if (n < total && !eof)
			return TK_SCAN_MORE;
		if (n >= total && p[total - 2] == 0x0D && p[total - 1] == 0x0A) {
			o->len = total;
			return TK_SCAN_FRAME;
		}
	}
	for (size_t i = hdr; i < n; i++) {
		if (i + 1 < n && p[i] == 0x0D && p[i + 1] == 0x0A) {
			o->len = i + 2;
			return TK_SCAN_FRAME;
		}
		if (is_start(p, i, n)) {
			o->skip = s + i;
			o->junk = true;
			return TK_SCAN_MORE;
		}
	}
	if (eof) {
		o->skip = s + n;
		o->junk = true;
	}
	return TK_SCAN_MORE;
}

/* ---- frame layout -------------------------------------------------- */

struct gframe {
	bool		 ext;		/* 79 79 */
	bool		 regular;	/* the length field matches the frame */
	bool		 crc_ok;
	bool		 has_serial;
	uint8_t		 type;
	uint16_t	 serial;
	size_t		 len;		/* the length field */
	const uint8_t	*c;		/* content: after the type, before the serial */
	size_t		 clen;
};

static bool
parse(const uint8_t *f, size_t n, struct gframe *g)
{
	memset(g, 0, sizeof(*g));
	if (n < 6 || !is_start(f, 0, n) || f[n - 2] != 0x0D || f[n - 1] != 0x0A)
		return false;
	g->ext = f[0] == 0x79;
	size_t hdr = g->ext ? 5 : 4;
	if (n < hdr + 2)
		return false;
	g->len = g->ext ? ((size_t)f[2] << 8 | f[3]) : f[2];
	g->type = f[hdr - 1];
	g->c = f + hdr;
	g->regular = n == g->len + hdr + 1;
	if (n >= hdr + 6) {
		uint16_t want = (uint16_t)(f[n - 4] << 8 | f[n - 3]);
		g->crc_ok = tk_gt06_crc(f + 2, n - 6) == want;
	}
	if (g->regular || (g->crc_ok && n >= hdr + 6)) {
		/* serial and CRC before the stop bits (a miscounted length
		 * whose CRC still verifies is a regular frame otherwise) */
		g->has_serial = true;
		g->serial = (uint16_t)(f[n - 6] << 8 | f[n - 5]);
		g->clen = n - hdr - 6;
	} else
		g->clen = n - hdr - 2;	/* WiFi: no serial, no CRC */
	return true;
}

/* The WiFi packets put a count in the length field and carry no serial. */
static bool
is_wifi_irregular(const struct gframe *g)
{
	return !g->ext && (g->type == M_WIFI || g->type == M_WIFI_2) &&
	    !(g->regular && g->crc_ok);
}

/* ---- replies ------------------------------------------------------------ */

static bool
no_reply_short(const struct gframe *g)
{
	switch (g->type) {
	case M_STRING_INFO: case M_X1_GPS: case M_GPS_LBS_8: case M_DTC: case M_PID:
	case M_COMMAND_0: case M_COMMAND_1: case M_COMMAND_2: case M_OBD:
	case M_INFO: case M_SERIAL: case M_WIFI_4: case M_X1_PHOTO_INFO:
		return g->type == M_X1_GPS ? g->len != 0x37 : true;
	case M_LBS_STATUS:
		return g->len >= 0x17;	/* SPACE10X: ignored */
	default:
		return false;
	}
}

size_t
tk_gt06_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	struct gframe g;

	if (!parse(f, n, &g))
		return 0;
	if (is_wifi_irregular(&g)) {
		/* 78 78 00 TT <the 6 BCD time bytes> 0D 0A */
		if (g.clen < 6 || cap < 12)
			return 0;
		out[0] = out[1] = 0x78;
		out[2] = 0x00;
		out[3] = g.type;
		memcpy(out + 4, g.c, 6);
		out[10] = 0x0D;
		out[11] = 0x0A;
		return 12;
	}
	if (!g.has_serial)
		return 0;
	if (g.type == M_TIME_REQUEST) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		return tk_gt06_time_reply((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
		    out, cap);
	}
	if (g.type == M_ADDRESS_REQUEST) {
		static const uint8_t a[] = {0x0B, 0, 0, 0, 0, 'N', 'A', '&', '&', 'N', 'A',
		    '&', '&', '0', '#', '#'};
		return ext_frame(0x97, a, sizeof(a), 0, out, cap);
	}
	if (g.ext) {
		switch (g.type) {
		case M_GPS_MODULAR: case M_STATUS_F1: case M_PERIPHERAL:
			return tk_gt06_frame(g.type, NULL, 0, g.serial, out, cap);
		case M_GPS_LBS_STATUS_4: case M_WIFI_5: case 0x41:
			return ext_frame(g.type, NULL, 0, g.serial, out, cap);
		default:
			return 0;
		}
	}
	if (no_reply_short(&g))
		return 0;
	return tk_gt06_frame(g.type, NULL, 0, g.serial, out, cap);
}

bool
tk_gt06_reply_is_ack(const uint8_t *f, size_t n)
{
	struct gframe g;
	if (!parse(f, n, &g))
		return false;
	return g.type != M_LOGIN && g.type != M_TIME_REQUEST &&
	    g.type != M_ADDRESS_REQUEST;
}

/* The IMEI of a login: 8 BCD bytes, the leading digit dropped. */
static size_t
imei(const uint8_t *b, char *out, size_t cap)
{
	char s[16];
	for (int i = 0; i < 8; i++) {
		unsigned hi = b[i] >> 4, lo = b[i] & 15;
		if (hi > 9 || lo > 9)
			return 0;
		s[2 * i] = (char)('0' + hi);
		s[2 * i + 1] = (char)('0' + lo);
	}
	return tk_strlcpyn(out, cap, s + 1, 15);
}

size_t
tk_gt06_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	struct gframe g;
	if (cap == 0 || !parse(f, n, &g) || g.ext || g.type != M_LOGIN || g.clen < 8)
		return 0;
	return imei(g.c, out, cap);
}

/* ---- decoding ------------------------------------------------------------- */

/* the reader: struct rd, need, left, u8, u16, u32, ubytes, skip */

static const uint8_t *
take(struct rd *r, size_t k)
{
	if (!need(r, k))
		return NULL;
	const uint8_t *q = r->p + r->pos;
	r->pos += k;
	return q;
}

/* Date and time, 6 binary bytes YY MM DD hh mm ss, in the session's zone. */
static bool
bdate(struct tk_dctx *c, struct rd *r, int64_t *ms)
{
	const uint8_t *b = take(r, 6);
	if (b == NULL || tk_time_utc(2000 + b[0], b[1], b[2], b[3], b[4], b[5], 0, ms) != 0)
		return false;
	*ms -= (int64_t)c->s->tz_min * 60000;
	return true;
}

static int
bcd2(uint8_t b)
{
	return (b >> 4) > 9 || (b & 15) > 9 ? -1 : (b >> 4) * 10 + (b & 15);
}

/* Date and time in BCD (WiFi packets), always UTC. */
static bool
bcd_date(struct rd *r, int64_t *ms)
{
	const uint8_t *b = take(r, 6);
	int v[6];
	if (b == NULL)
		return false;
	for (int i = 0; i < 6; i++)
		if ((v[i] = bcd2(b[i])) < 0)
			return false;
	return tk_time_utc(2000 + v[0], v[1], v[2], v[3], v[4], v[5], 0, ms) == 0;
}

static void
set_time(struct tk_record *t, int64_t ms)
{
	t->fix_time = t->device_time = ms;
}

/* Course, hemispheres, fix and ACC of the 16-bit course/status word. */
static void
course_word(struct tk_record *t, uint32_t w, double lat, double lon)
{
	t->course = w & 0x3FF;
	t->has_course = true;
	if (!(w & 0x0400))
		lat = -lat;
	if (w & 0x0800)
		lon = -lon;
	if (lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
		t->has_pos = true;
		t->lat = lat;
		t->lon = lon;
		t->valid = (w & 0x1000) != 0;
	}
	if (w & 0x4000)
		tk_rec_bool(t, "ignition", (w & 0x8000) != 0);
}

/* The 18-byte GPS block (with or without the satellites byte and speed). */
static bool
gps(struct tk_dctx *c, struct rd *r, bool sats, bool speed)
{
	struct tk_record *t = c->r;
	int64_t ms = 0;
	bool dated = bdate(c, r, &ms);
	if (sats)
		tk_rec_int(t, "sat", u8(r) & 15);
	double lat = u32(r) / 1800000.0, lon = u32(r) / 1800000.0;
	if (speed) {
		t->speed = u8(r) * TK_KMH_TO_KN;
		t->has_speed = true;
	}
	uint32_t w = u16(r);
	if (r->bad)
		return false;
	if (dated)
		set_time(t, ms);
	course_word(t, w, lat, lon);
	if (!dated)
		t->valid = false;
	return true;
}

/* One cell: MCC (bit 15: two-byte MNC), MNC, LAC and CID of the given widths. */
static void
lbs(struct tk_record *t, struct rd *r, size_t lac_w, size_t cid_w, bool mnc2)
{
	struct tk_cell cl = {0};
	uint32_t mcc = u16(r);
	cl.mnc = (uint16_t)((mcc & 0x8000) || mnc2 ? u16(r) : u8(r));
	cl.mcc = (uint16_t)(mcc & 0x7FFF);
	cl.has_mcc = true;
	cl.lac = (uint32_t)ubytes(r, lac_w);
	cl.cid = ubytes(r, cid_w);
	if (!r->bad && cl.lac != 0 && cl.cid != 0)
		tk_rec_cell(t, &cl);
}

/*
 * An LBS block with its length byte.  Units disagree on whether the byte
 * counts itself: as Traccar, the fields are read and, when the length is
 * above 9, length - 9 more bytes are skipped (that fits every capture:
 * 8 with 8 bytes, 9 with 8 or with a 4-byte CID, 16 with 15).
 */
static void
lbs_len(struct tk_record *t, struct rd *r, size_t cid_w)
{
	size_t len = u8(r);
	if (len == 0)
		return;
	size_t start = r->pos, have = left(r);
	struct rd s = {r->p, r->pos, r->pos + (len < have ? len : have), false};
	lbs(t, &s, 2, cid_w, false);
	size_t used = s.bad ? len : s.pos - start;
	if (len > 9)
		used += len - 9;
	skip(r, used);
}

/* Table A: the status block's alarm byte. */
static const char *
alarm_a(uint32_t code)
{
	switch (code) {
	case 0x01: return "sos";
	case 0x02: return "powerCut";
	case 0x03: case 0x09: return "vibration";
	case 0x04: return "geofenceEnter";
	case 0x05: return "geofenceExit";
	case 0x06: return "overspeed";
	case 0x0E: case 0x0F: case 0x19: return "lowBattery";
	case 0x11: return "powerOff";
	case 0x0C: case 0x13: case 0x25: case 0x32: return "tampering";
	case 0x14: return "door";
	case 0x18: return "removing";
	case 0x1A: case 0x27: case 0x28: case 0xF1: return "hardBraking";
	case 0x1B: case 0x2A: case 0x2B: case 0x2E: return "hardCornering";
	case 0x23: return "fallDown";
	case 0x26: case 0x29: case 0xF0: return "hardAcceleration";
	case 0x2C: case 0xF2: return "accident";
	case 0x30: case 0x107: case 0x10B: return "jamming";
	case 0x33: return "lock";
	case 0x34: return "unlock";
	case 0x53: return "fuelLeak";
	case 0x5B: case 0x5C: return "temperature";
	case 0xC9: return "idle";
	default: return NULL;
	}
}

static void
alarm_code(struct tk_record *t, uint32_t code)
{
	const char *a = alarm_a(code);
	if (a)
		tk_rec_alarm(t, a);
	else if (code != 0)
		tk_rec_int(t, "event", code);	/* kept, not lost */
}

/* Terminal information byte. */
static void
terminal_info(struct tk_record *t, uint32_t s)
{
	static const char *const bits[8] = {NULL, "vibration", "powerCut", "lowBattery",
	    "sos", NULL, "geofence", "removing"};
	tk_rec_int(t, "status", s);
	tk_rec_bool(t, "ignition", (s & 0x02) != 0);
	tk_rec_bool(t, "charge", (s & 0x04) != 0);
	tk_rec_bool(t, "blocked", (s & 0x80) != 0);
	if (bits[(s >> 3) & 7])
		tk_rec_alarm(t, bits[(s >> 3) & 7]);
}

static void
battery_level(struct tk_record *t, uint32_t v)
{
	if (v <= 6)
		tk_rec_int(t, "batteryLevel", v * 100 / 6);
	else if (v <= 100)
		tk_rec_int(t, "batteryLevel", v);
}

/* Status block: info, voltage level, GSM, alarm [, language]. */
static void
status(struct tk_record *t, struct rd *r, bool lang, uint32_t *alarm_out)
{
	terminal_info(t, u8(r));
	if (left(r) == 0)
		return;
	battery_level(t, u8(r));
	if (left(r) == 0)
		return;
	tk_rec_int(t, "rssi", u8(r));
	if (left(r) == 0)
		return;
	uint32_t a = u8(r);
	if (lang && left(r) > 0)
		skip(r, 1);			/* language */
	if (alarm_out)
		*alarm_out = a;
	else
		alarm_code(t, a);
}

static void
hexstr(struct tk_record *t, const char *key, const uint8_t *p, size_t n)
{
	char h[2 * 64];
	if (n > 64)
		n = 64;
	tk_hex_encode(p, n, h);
	tk_rec_str(t, key, h, 2 * n);
}

static bool
printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] >= 0x7F)
			return false;
	return true;
}

/* Strip trailing NUL, CR, LF and spaces. */
static size_t
rtrim(const uint8_t *p, size_t n)
{
	while (n > 0 && (p[n - 1] == 0 || tk_is_ws(p[n - 1])))
		n--;
	return n;
}

static int
emit_as(struct tk_dctx *c)
{
	struct tk_record *t = c->r;
	if (t->has_pos && t->fix_time != TK_TIME_NONE)
		t->type = TK_R_POSITION;
	else if (t->type == TK_R_POSITION)
		t->type = TK_R_EVENT;
	return tk_dctx_emit(c);
}

static int
login(struct tk_dctx *c, const struct gframe *g)
{
	char id[TK_ID_MAX];
	struct rd r = {g->c, 0, g->clen, false};
	const uint8_t *b = take(&r, 8);
	if (b == NULL || imei(b, id, sizeof(id)) == 0)
		return tk_dctx_reject(c, "gt06 login without a BCD IMEI");
	tk_strlcpyn(c->s->id, sizeof(c->s->id), id, strlen(id));
	c->s->tz_min = 0;
	tk_dctx_begin(c, TK_R_LOGIN);
	if (left(&r) >= 2)
		tk_rec_int(c->r, "deviceType", u16(&r));
	if (left(&r) >= 2) {
		uint32_t z = u16(&r);
		int m = (int)(z >> 4);
		m = m / 100 * 60 + m % 100;
		if (z & 0x08)
			m = -m;
		if (m >= -14 * 60 && m <= 14 * 60) {
			c->s->tz_min = (int16_t)m;
			tk_rec_int(c->r, "timezone", m);
		}
	}
	return tk_dctx_emit(c);
}

/* 0x13: standard 5 bytes, OBD6 (14) and the 16-byte variant. */
static void
status_packet(struct tk_record *t, struct rd *r)
{
	size_t n = left(r);
	if (n == 14 || n == 16) {
		terminal_info(t, u8(r));
		uint32_t sig = u16(r);
		if (n == 14) {
			tk_rec_int(t, "sat", ((sig >> 10) & 31) + ((sig >> 5) & 31));
			tk_rec_int(t, "rssi", sig & 31);
		} else
			tk_rec_int(t, "sat", sig);
		alarm_code(t, u8(r));
		skip(r, 1);				/* language */
		tk_rec_int(t, "batteryLevel", u8(r));
		skip(r, 1);				/* mode */
		tk_rec_num(t, "power", u16(r) / 100.0, 2);
		skip(r, 1);
		if (n == 16) {
			skip(r, 4);			/* times, time */
			uint32_t v = u16(r);
			double d = (v & 0x7FFF) / 10.0;
			tk_rec_num(t, "temp1", v & 0x8000 ? d : -d, 1);
		}
		return;
	}
	status(t, r, true, NULL);
}

/* Table B: 0x95 events. */
static const char *
alarm_b(uint32_t e, bool shortform)
{
	switch (e) {
	case 0x01: return shortform ? "general" : "sos";
	case 0x0E: return "lowPower";
	case 0x76: return "temperature";
	case 0x80: return "vibration";
	case 0x87: return "overspeed";
	case 0x88: return "powerCut";
	case 0x90: return "hardAcceleration";
	case 0x91: return "hardBraking";
	case 0x92: return "hardCornering";
	case 0x93: return "accident";
	default: return NULL;
	}
}

static void
alarm_95(struct tk_dctx *c, struct rd *r)
{
	struct tk_record *t = c->r;
	int64_t ms;
	if (left(r) <= 7) {
		if (bdate(c, r, &ms))
			t->device_time = ms;
		uint32_t e = u8(r);
		tk_rec_int(t, "event", e);
		if (alarm_b(e, true))
			tk_rec_alarm(t, alarm_b(e, true));
		return;
	}
	bool jc400 = r->p[r->pos] == 0xFF && r->p[r->pos + 1] == 0xFF;
	if (jc400) {
		skip(r, 3);			/* marker, version */
		int64_t tm;
		bool dated = bdate(c, r, &tm);
		tk_rec_int(t, "sat", u8(r) & 15);
		double lat = u32(r) / 1800000.0, lon = u32(r) / 1800000.0;
		uint32_t w = u16(r);
		t->speed = u16(r) * TK_KMH_TO_KN;
		t->has_speed = true;
		tk_rec_num(t, "power", u16(r) / 10.0, 1);
		if (!r->bad) {
			if (dated)
				set_time(t, tm);
			course_word(t, w, lat, lon);
		}
	} else {
		int64_t tm;
		bool dated = bdate(c, r, &tm);
		double lat = u32(r) / 1800000.0, lon = u32(r) / 1800000.0;
		uint32_t w = u16(r);
		if (!r->bad) {
			if (dated)
				set_time(t, tm);
			course_word(t, w, lat, lon);
		}
	}
	uint32_t e = u8(r);
	skip(r, 2);
	if (r->bad)
		return;
	tk_rec_int(t, "event", e);
	if (alarm_b(e, false))
		tk_rec_alarm(t, alarm_b(e, false));
	size_t k = rtrim(r->p + r->pos, left(r));
	if (k > 0)
		tk_rec_str(t, "eventFiles", r->p + r->pos, k);
}

/* Store a text answer: result (or iccid for "<ICCID:..."). */
static void
result_text(struct tk_record *t, const uint8_t *p, size_t n)
{
	n = rtrim(p, n);
	if (n > 7 && memcmp(p, "<ICCID:", 7) == 0) {
		size_t k = 7;
		while (k < n && k < 27 && p[k] >= '0' && p[k] <= '9')
			k++;
		tk_rec_str(t, "iccid", p + 7, k - 7);
		return;
	}
	tk_rec_str(t, "result", p, n);
}

/* "Current position!Lat:N54.73,Lon:E25.27,Course:126.53,Speed:0.0,DateTime:2017-05-26  10:27:47" */
static bool
position_text(struct tk_record *t, const uint8_t *p, size_t n)
{
	char s[256];
	double lat, lon, course, speed;
	char ns, ew;
	int y, mo, d, h, mi, sec;
	int64_t ms;

	if (n >= sizeof(s))
		return false;
	memcpy(s, p, n);
	s[n] = '\0';
	const char *q = strstr(s, "Lat:");
	if (q == NULL || sscanf(q, "Lat:%c%lf,Lon:%c%lf,Course:%lf,Speed:%lf,DateTime:"
	    "%d-%d-%d %d:%d:%d", &ns, &lat, &ew, &lon, &course, &speed, &y, &mo, &d, &h,
	    &mi, &sec) != 12)
		return false;
	if (tk_time_utc(y, mo, d, h, mi, sec, 0, &ms) != 0 || !(lat >= 0 && lat <= 90) ||
	    !(lon >= 0 && lon <= 180) || !(course >= 0 && course <= 360) ||
	    !(speed >= 0 && speed < 1e4))
		return false;
	t->has_pos = true;
	t->valid = true;
	t->lat = ns == 'S' ? -lat : lat;
	t->lon = ew == 'W' ? -lon : lon;
	t->course = course;
	t->speed = speed;
	t->has_course = t->has_speed = true;
	set_time(t, ms);
	return true;
}

/* 0x94 information. */
static void
info(struct tk_record *t, struct rd *r)
{
	uint32_t sub = u8(r);
	size_t n = left(r);
	const uint8_t *p = r->p + r->pos;
	tk_rec_int(t, "subtype", sub);
	switch (sub) {
	case 0x00:
		if (n >= 2)
			tk_rec_num(t, "adc1", u16(r) / 100.0, 2);
		break;
	case 0x04: {
		/* ALM1=hh;ALM2=hh;...;STA1=hh;DYD=hh */
		static const struct { const char *k, *a; } m[] = {
			{"ALM1", "alarm1Status"}, {"ALM2", "alarm2Status"},
			{"ALM3", "alarm3Status"}, {"ALM4", "alarm4Status"},
			{"STA1", "otherStatus"}, {"DYD", "engineStatus"}};
		size_t i = 0;
		while (i < n) {
			size_t e = i;
			while (e < n && p[e] != ';')
				e++;
			const uint8_t *eq = memchr(p + i, '=', e - i);
			if (eq != NULL) {
				size_t kl = (size_t)(eq - (p + i));
				uint64_t v;
				for (size_t j = 0; j < sizeof(m) / sizeof(m[0]); j++)
					if (strlen(m[j].k) == kl && memcmp(p + i, m[j].k, kl) == 0 &&
					    tk_parse_hex((const char *)eq + 1,
					    (size_t)(p + e - eq - 1), &v) == 0)
						tk_rec_int(t, m[j].a, (int64_t)v);
			}
			i = e + 1;
		}
		break;
	}
	case 0x05:
		if (n >= 7)
			skip(r, 6);
		if (left(r) >= 1) {
			uint32_t fl = u8(r);
			tk_rec_bool(t, "door", (fl & 1) != 0);
			tk_rec_bool(t, "io1", (fl & 4) != 0);
		}
		break;
	case 0x0A:
		if (n >= 26) {
			char s[20];
			tk_hex_encode(p + 16, 10, s);
			size_t k = 20;
			while (k > 0 && (s[k - 1] == 'f' || s[k - 1] == 'F'))
				k--;
			tk_rec_str(t, "iccid", s, k);
		}
		break;
	case 0x0B:
		if (n == 1)
			tk_rec_cstr(t, "networkTechnology", p[0] ? "4G" : "2G");
		else if (n >= 2)
			tk_rec_num(t, "power", u16(r) / 100.0, 2);
		break;
	case 0x0D: {
		/* [6 bytes] "!AIOIL,id,fuel,temperature,..." */
		size_t o = (n > 0 && p[0] != '!' && n > 6) ? 6 : 0;
		char s[128];
		size_t k = rtrim(p + o, n - o);
		if (k >= sizeof(s))
			k = sizeof(s) - 1;
		memcpy(s, p + o, k);
		s[k] = '\0';
		double fuel, temp;
		if (sscanf(s, "!AIOIL,%*[^,],%lf,%lf,", &fuel, &temp) == 2) {
			tk_rec_num(t, "fuel", fuel, 3);
			tk_rec_num(t, "temp1", temp, 3);
		}
		break;
	}
	case 0x1B:
		if (n >= 8 && p[0] == 0x02) {
			hexstr(t, "driverUniqueId", p + 2, 4);
		} else {
			size_t k = rtrim(p, n);
			if (printable(p, k))
				tk_rec_str(t, "serial", p, k);
		}
		break;
	case 0x1E:
		if (n >= 8) {
			int32_t tv = (int32_t)u32(r), hv = (int32_t)u32(r);
			tk_rec_num(t, "temp1", tv / 10.0, 1);
			tk_rec_num(t, "humidity", hv / 10.0, 1);
		}
		break;
	default:
		break;
	}
}

/* 0xF1 device status TLVs, 0x36 modules: u16 id, u8 len, value. */
static void
modules_u8len(struct tk_record *t, struct rd *r)
{
	while (left(r) >= 3) {
		uint32_t id = u16(r);
		size_t len = u8(r);
		if (!need(r, len))
			break;
		struct rd v = {r->p, r->pos, r->pos + len, false};
		uint32_t x = len >= 2 ? u16(&v) : len == 1 ? u8(&v) : 0;
		switch (id) {
		case 0x01: tk_rec_bool(t, "motion", x == 2 || x == 4); break;
		case 0x02: tk_rec_bool(t, "armed", x != 0); break;
		case 0x04: tk_rec_bool(t, "ignition", x != 0); break;
		case 0x05: tk_rec_num(t, "power", x / 100.0, 2); break;
		case 0x07: tk_rec_bool(t, "charge", x != 0); break;
		case 0x0A: tk_rec_int(t, "chargeVoltage", x); break;
		case 0x0B: tk_rec_num(t, "batteryTemp", x / 10.0, 1); break;
		case 0x18: tk_rec_num(t, "battery", x / 100.0, 2); break;
		case 0x32: tk_rec_int(t, "startupStatus", x); break;
		case 0x6A: tk_rec_int(t, "batteryLevel", x); break;
		default: break;
		}
		r->pos += len;
	}
}

/* 0x70 modular: u16 id, u16 len, value. */
static void
modular(struct tk_dctx *c, struct rd *r)
{
	struct tk_record *t = c->r;
	while (left(r) >= 4) {
		uint32_t id = u16(r);
		size_t len = u16(r);
		if (!need(r, len))
			break;
		struct rd v = {r->p, r->pos, r->pos + len, false};
		switch (id) {
		case 0x03:
			if (len >= 10)
				hexstr(t, "iccid", v.p + v.pos, 10);
			break;
		case 0x09:
			tk_rec_int(t, "sat", u8(&v));
			break;
		case 0x0A:
			tk_rec_int(t, "satVisible", u8(&v));
			break;
		case 0x11: {
			struct tk_cell cl = {0};
			cl.mcc = (uint16_t)u16(&v);
			cl.mnc = (uint16_t)u16(&v);
			cl.has_mcc = true;
			cl.lac = u16(&v);
			cl.cid = ubytes(&v, 3);
			cl.rssi = (int16_t)-(int)u8(&v);
			cl.has_rssi = true;
			if (!v.bad && cl.cid)
				tk_rec_cell(t, &cl);
			break;
		}
		case 0x18:
			tk_rec_num(t, "battery", u16(&v) / 100.0, 2);
			break;
		case 0x28:
			tk_rec_num(t, "hdop", u8(&v) / 10.0, 1);
			break;
		case 0x29:
			tk_rec_int(t, "index", u32(&v));
			break;
		case 0x2A: {
			uint32_t x = u8(&v);
			tk_rec_bool(t, "door", (x & 0x0F) != 0);
			tk_rec_bool(t, "tamper", (x & 0xF0) != 0);
			break;
		}
		case 0x2B:
			tk_rec_int(t, "event", u8(&v));
			break;
		case 0x2E: {
			const uint8_t *b = take(&v, 4);
			if (b)
				tk_rec_int(t, "odometer", (int64_t)((uint32_t)b[3] << 24 |
				    (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0]));
			break;
		}
		case 0x33: {
			int64_t tm = (int64_t)u32(&v) * 1000;
			tk_rec_int(t, "sat", u8(&v));
			int16_t alt = (int16_t)u16(&v);
			double lat = u32(&v) / 1800000.0, lon = u32(&v) / 1800000.0;
			t->speed = u8(&v) * TK_KMH_TO_KN;
			uint32_t w = u16(&v);
			if (!v.bad) {
				t->has_speed = true;
				t->alt = alt;
				t->has_alt = true;
				set_time(t, tm);
				course_word(t, w, lat, lon);
			}
			break;
		}
		case 0x34: {
			uint32_t e = u8(&v);
			tk_rec_int(t, "event", e);
			static const struct { uint8_t e; const char *a; } m[] = {
				{0x10, "door"}, {0x12, "removing"}, {0x14, "geofenceEnter"},
				{0x15, "geofenceExit"}, {0x16, "temperature"},
				{0x1A, "lowBattery"}, {0x1B, "overspeed"}, {0x1C, "powerOn"},
				{0x1D, "powerOff"}, {0x20, "vibration"}, {0x21, "powerCut"},
				{0x23, "tampering"}};
			for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
				if (m[i].e == e)
					tk_rec_alarm(t, m[i].a);
			break;
		}
		case 0x7F: {
			const uint8_t *tid = take(&v, 6);
			uint32_t bat = u16(&v), lvl = u8(&v);
			int16_t tmp = (int16_t)u16(&v), hum = (int16_t)u16(&v);
			if (!v.bad && tid) {
				hexstr(t, "tag1Id", tid, 6);
				tk_rec_num(t, "tag1Battery", bat / 1000.0, 3);
				tk_rec_int(t, "tag1BatteryLevel", lvl);
				tk_rec_num(t, "tag1Temp", tmp / 10.0, 1);
				tk_rec_int(t, "tag1Humidity", hum);
			}
			break;
		}
		default:
			break;
		}
		r->pos += len;
	}
}

/* count x (MAC, signal): WiFi access points, as far as the payload holds. */
static void
wifi_list(struct rd *r, struct tk_record *t, size_t count)
{
	for (size_t i = 0; i < count && left(r) >= 7; i++) {
		struct tk_wifi w;
		const uint8_t *mac = take(r, 6);
		if (mac == NULL)
			break;
		memcpy(w.mac, mac, 6);
		w.rssi = (int16_t)-(int)u8(r);
		w.has_rssi = true;
		w.channel = -1;
		tk_rec_wifi(t, &w);
	}
}

/* LBS-multiple family: date, MCC, MNC, cells, TA [, WiFi list]. */
static void
lbs_multiple(struct tk_dctx *c, struct rd *r, uint8_t type)
{
	struct tk_record *t = c->r;
	int64_t ms;
	if (bdate(c, r, &ms))
		t->device_time = ms;
	uint32_t mcc = u16(r);
	uint32_t mnc = (mcc & 0x8000) ? u16(r) : u8(r);
	bool wide = type == M_LBS_2 || type == M_WIFI_3;
	int cells = type == M_WIFI_5 ? 6 : 7;
	for (int i = 0; i < cells && !r->bad; i++) {
		struct tk_cell cl = {0};
		cl.mcc = (uint16_t)(mcc & 0x7FFF);
		cl.mnc = (uint16_t)mnc;
		cl.has_mcc = true;
		cl.lac = (uint32_t)ubytes(r, wide ? 4 : 2);
		cl.cid = ubytes(r, wide ? 8 : type == M_WIFI_5 ? 4 : 3);
		cl.rssi = (int16_t)-(int)u8(r);
		cl.has_rssi = true;
		if (!r->bad && cl.lac != 0)
			tk_rec_cell(t, &cl);
	}
	skip(r, 1);				/* timing advance */
	if (type == M_LBS_EXTEND || type == M_LBS_WIFI || type == M_WIFI_3 ||
	    type == M_WIFI_5) {
		wifi_list(r, t, u8(r));
	}
}

/* WiFi 0x17/0x69: BCD time, count x (MAC, signal), cells. */
static void
wifi(struct tk_dctx *c, struct rd *r, size_t count)
{
	struct tk_record *t = c->r;
	int64_t ms;
	if (bcd_date(r, &ms))
		t->device_time = ms;
	wifi_list(r, t, count);
	uint32_t cells = u8(r);
	uint32_t mcc = u16(r), mnc = u8(r);
	for (uint32_t i = 0; i < cells && left(r) >= 5; i++) {
		struct tk_cell cl = {0};
		cl.mcc = (uint16_t)mcc;
		cl.mnc = (uint16_t)mnc;
		cl.has_mcc = true;
		cl.lac = u16(r);
		cl.cid = u16(r);
		cl.rssi = (int16_t)-(int)u8(r);
		cl.has_rssi = true;
		tk_rec_cell(t, &cl);
	}
}

/* Ignition, upload mode, re-upload [, odometer] after GPS+LBS. */
static void
tail(struct tk_record *t, struct rd *r)
{
	if (left(r) == 3 || left(r) == 7) {
		tk_rec_bool(t, "ignition", u8(r) > 0);
		tk_rec_int(t, "event", u8(r));
		tk_rec_bool(t, "archive", u8(r) > 0);
	}
	if (left(r) == 4)
		tk_rec_int(t, "odometer", u32(r));
}

static bool
has_gps(uint8_t t)
{
	switch (t) {
	case M_GPS: case M_GPS_LBS_6: case M_GPS_LBS: case M_GPS_LBS_STATUS:
	case M_GPS_PHONE: case M_GPS_LBS_EXTEND: case M_GPS_LBS_2:
	case M_GPS_LBS_DRIVER: case M_GPS_LBS_STATUS_2: case M_GPS_LBS_STATUS_3:
	case M_GPS_LBS_4: case M_GPS_LBS_5: case M_GPS_LBS_STATUS_4: case M_GPS_LBS_3:
	case M_GPS_LBS_7: case M_FENCE_SINGLE: case M_FENCE_MULTI: case 0x17:
		return true;
	default:
		return false;
	}
}

/* The generic GPS / LBS / status handler. */
static void
generic(struct tk_dctx *c, const struct gframe *g, struct rd *r)
{
	struct tk_record *t = c->r;
	uint8_t ty = g->type;
	size_t L = g->len;

	if (ty == M_GPS_LBS && L == 0x27 && left(r) >= 8 + 18) {
		/* QH302R: the IMEI (BCD) before the GPS block */
		char id[TK_ID_MAX];
		int64_t ms;
		struct rd d = {r->p, r->pos + 8, r->end, false};
		if (imei(r->p + r->pos, id, sizeof(id)) > 0 && bdate(c, &d, &ms))
			skip(r, 8);
	}
	if (has_gps(ty) && ty != 0x17)
		gps(c, r, true, true);
	switch (ty) {
	case M_GPS: case M_GPS_PHONE: case M_GPS_LBS_EXTEND:
		break;
	case M_GPS_LBS_6:
		lbs(t, r, 2, 4, true);
		break;
	case M_GPS_LBS_STATUS: case M_GPS_LBS_STATUS_2: case M_GPS_LBS_STATUS_3:
	case M_FENCE_MULTI: {
		bool trx = ty == M_GPS_LBS_STATUS && L == 0x2D;
		if (ty == M_GPS_LBS_STATUS && L == 0x24)
			lbs(t, r, 2, 3, false);		/* VXT01: no length byte */
		else
			lbs_len(t, r, ty == M_GPS_LBS_STATUS && L == 0x26 ? 4 : 3);
		uint32_t a = 0;
		status(t, r, false, &a);
		uint32_t lang = left(r) > 0 ? u8(r) : 0;
		if (ty == M_GPS_LBS_STATUS_3 || ty == M_FENCE_MULTI)
			a |= (lang >> 4) << 8;
		if (trx) {
			tk_rec_int(t, "event", a);
			if (a == 0x09)
				tk_rec_alarm(t, "geofence");
			else if (a == 0x0E)
				tk_rec_alarm(t, "lowPower");
			else
				alarm_code(t, a);
			const uint8_t *id = take(r, 8);
			if (id)
				hexstr(t, "driverUniqueId", id, 8);
		} else
			alarm_code(t, a);
		if ((ty == M_GPS_LBS_STATUS_3 || ty == M_FENCE_MULTI) && left(r) > 0)
			tk_rec_int(t, "geofence", u8(r));
		break;
	}
	case M_LBS_STATUS: case M_LBS_ALARM:
		lbs(t, r, ty == M_LBS_ALARM ? 4 : 2, ty == M_LBS_ALARM ? 8 : 3, false);
		status(t, r, true, NULL);
		break;
	case M_LBS_ADDRESS:
		lbs(t, r, 2, 3, false);
		break;
	case M_GPS_LBS_7:
		lbs(t, r, 4, 8, false);
		tail(t, r);
		break;
	case M_GPS_LBS_5: case M_GPS_LBS_STATUS_4:
		if ((ty == M_GPS_LBS_5 && L == 0x2A) ||
		    (ty == M_GPS_LBS_STATUS_4 && (L == 0x27 || L == 0x29))) {
			/* SL4X: two-byte MNC (0x31: eight-byte CID; 0x32: an
			 * LBS length byte and a status block); the altitude
			 * ends the content */
			if (ty == M_GPS_LBS_5)
				lbs(t, r, 2, 8, true);
			else {
				size_t len = u8(r);
				if (need(r, len)) {
					struct rd s = {r->p, r->pos, r->pos + len, false};
					lbs(t, &s, 2, len >= 14 ? 8 : 4, true);
					r->pos += len;
				}
				if (left(r) >= 2 + 4)
					status(t, r, false, NULL);
			}
			if (left(r) >= 2) {
				r->pos = r->end - 2;
				t->alt = (int16_t)u16(r);
				t->has_alt = true;
			}
			break;
		}
		lbs(t, r, 2, 3, false);
		if (ty == M_GPS_LBS_STATUS_4)
			status(t, r, true, NULL);
		else
			tail(t, r);
		break;
	case M_GPS_LBS: {
		lbs(t, r, 2, 3, false);
		if (L == 0x2B && left(r) == 12) {	/* S5 */
			terminal_info(t, u8(r));
			tk_rec_num(t, "power", u16(r) / 100.0, 2);
			tk_rec_int(t, "rssi", u8(r));
			alarm_code(t, u8(r));
			tk_rec_int(t, "oil", u16(r));
			uint32_t tv = u8(r);
			tk_rec_int(t, "temp1", tv & 0x80 ? -(int)(tv & 0x7F) : (int)tv);
			tk_rec_int(t, "odometer", (int64_t)u32(r) * 10);
		} else if (L == 0x29 && left(r) == 10) {	/* WETRUST */
			tk_rec_int(t, "odometer", u32(r));
			size_t k = u8(r);
			const uint8_t *card = take(r, k);
			if (card && k)
				tk_rec_str(t, "card", card, k);
			if (u8(r))
				tk_rec_alarm(t, "general");
			tk_rec_int(t, "cardStatus", u8(r));
			tk_rec_int(t, "drivingTime", u16(r));
		} else if (L == 0x21 && left(r) == 2) {	/* BENWAY */
			uint32_t m = u16(r);
			tk_rec_bool(t, "ignition", (m & 0x8000) != 0);
			tk_rec_bool(t, "in2", (m & 0x4000) != 0);
			if (m & 0x1000) {
				int v = (int)(m & 0x1FF);
				tk_rec_int(t, "temp1", m & 0x200 ? -v : v);
			} else {
				uint32_t v = m & 0x3FF;
				tk_rec_num(t, "adc1", m & 0x2000 ? v : v / 10.0, 1);
			}
		} else if (L == 0x24 && left(r) >= 5) {	/* VXT01 */
			terminal_info(t, u8(r));
			tk_rec_num(t, "power", u16(r) / 100.0, 2);
			tk_rec_int(t, "rssi", u8(r));
		} else if (L >= 0x71 && left(r) >= 6) {	/* GT06E card */
			tk_rec_int(t, "odometer", u32(r));
			size_t k = u8(r);
			const uint8_t *card = take(r, k);
			if (card) {
				size_t m = rtrim(card, k);
				if (m)
					tk_rec_str(t, "card", card, m);
			}
		} else
			tail(t, r);
		break;
	}
	case M_GPS_LBS_2: case M_GPS_LBS_DRIVER: case M_GPS_LBS_4: case M_GPS_LBS_3:
		lbs(t, r, 2, ty == M_GPS_LBS_DRIVER ? 4 : 3, false);
		if (ty == M_GPS_LBS_2 && L == 0x2F && left(r) >= 15) {	/* SEEWORLD */
			/* ignition, mode, re-upload, odometer, travel time,
			 * then temperature and humidity end the content */
			tk_rec_bool(t, "ignition", u8(r) > 0);
			tk_rec_int(t, "event", u8(r));
			tk_rec_bool(t, "archive", u8(r) > 0);
			r->pos = r->end - 4;
			uint32_t tv = u16(r);
			double d = (tv & 0x7FFF) / 100.0;
			tk_rec_num(t, "temp1", tv & 0x8000 ? -d : d, 2);
			tk_rec_num(t, "humidity", u16(r) / 100.0, 2);
			break;
		}
		if (left(r) >= 3) {
			tk_rec_bool(t, "ignition", u8(r) > 0);
			tk_rec_int(t, "event", u8(r));
			tk_rec_bool(t, "archive", u8(r) > 0);
		}
		if (ty == M_GPS_LBS_3) {
			while (left(r) >= 3) {
				uint32_t id = u16(r);
				size_t len = u8(r);
				struct rd v = {r->p, r->pos, r->pos + len, false};
				if (!need(r, len))
					break;
				if (id == 0x27)
					tk_rec_num(t, "power", u16(&v) / 100.0, 2);
				else if (id == 0x2E)
					tk_rec_int(t, "odometer", u32(&v));
				else if (id == 0x3B)
					tk_rec_num(t, "accuracy", u16(&v) / 100.0, 2);
				r->pos += len;
			}
		} else if (left(r) == 4)
			tk_rec_int(t, "odometer", u32(r));
		break;
	case M_FENCE_SINGLE:
		lbs(t, r, 2, 3, false);
		break;
	default:
		break;
	}
}

/* 0xA3 of SEEWORLD units (L 0x0C, 0x18): a status report, not a fence. */
static void
status_3(struct tk_record *t, struct rd *r)
{
	if (left(r) < 16) {
		status(t, r, true, NULL);
		return;
	}
	terminal_info(t, u8(r));
	skip(r, 2);				/* extended status */
	battery_level(t, u8(r));
	tk_rec_int(t, "rssi", u8(r));
	skip(r, 4);				/* power, language, sound, light */
	tk_rec_int(t, "steps", u32(r));
	tk_rec_int(t, "batteryLevel", u8(r));
	tk_rec_bool(t, "charge", u8(r) != 0);
	tk_rec_bool(t, "motion", u8(r) != 0);
}

static int
decode_frame(struct tk_dctx *c, const struct gframe *g)
{
	struct tk_record *t = c->r;
	struct rd r = {g->c, 0, g->clen, false};
	uint8_t ty = g->type;

	if (ty == M_LOGIN && !g->ext)
		return login(c, g);

	tk_dctx_begin(c, TK_R_EVENT);
	if (g->has_serial && !is_wifi_irregular(g))
		tk_rec_bool(t, "crcValid", g->crc_ok);
	tk_rec_int(t, "type", ty);

	if (ty == M_TIME_REQUEST || ty == M_ADDRESS_REQUEST ||
	    (ty == M_LBS_STATUS && !g->ext && g->len >= 0x17) ||
	    ty == M_X1_PHOTO_INFO || ty == M_DTC || ty == M_PID ||
	    ty == M_COMMAND_0 || ty == M_COMMAND_1 || ty == M_COMMAND_2) {
		/* handshakes and what is not decoded: a heartbeat record */
		t->type = TK_R_HEARTBEAT;
		return tk_dctx_emit(c);
	}
	if (!g->ext && (ty == M_WIFI || ty == M_WIFI_2) && is_wifi_irregular(g)) {
		wifi(c, &r, g->len);
		return emit_as(c);
	}
	if (g->ext) {
		switch (ty) {
		case M_STRING_INFO: {
			skip(&r, 4);
			uint32_t enc = u8(&r);
			size_t n = left(&r);
			const uint8_t *p = take(&r, n);
			if (p == NULL)
				break;
			if (enc == 1 && position_text(t, p, n)) {
				/* the answer to WHERE#: keep its text for tk-cmd -w */
				result_text(t, p, n);
				return emit_as(c);
			}
			t->type = TK_R_REPLY;
			if (enc == 1)
				result_text(t, p, n);
			else
				hexstr(t, "result", p, n);
			return tk_dctx_emit(c);
		}
		case M_INFO:
			info(t, &r);
			break;
		case M_SERIAL: {
			skip(&r, 1);
			size_t n = left(&r);
			const uint8_t *p = take(&r, n);
			if (p == NULL)
				break;
			size_t k = rtrim(p, n);
			t->type = TK_R_REPLY;
			if (printable(p, k))
				tk_rec_str(t, "result", p, k);
			else
				hexstr(t, "result", p, n);
			return tk_dctx_emit(c);
		}
		case M_STATUS_F1: {
			set_time(t, (int64_t)u32(&r) * 1000);
			modules_u8len(t, &r);
			break;
		}
		case M_PERIPHERAL:
			t->device_time = (int64_t)u32(&r) * 1000;
			break;
		case M_GPS_MODULAR:
			modular(c, &r);
			break;
		case M_GPS_LBS_STATUS_4: case M_WIFI_5: {
			/* AZ735: GPS with a length byte (0: none), LBS ... status */
			size_t gl = u8(&r);
			if (gl > 0 && need(&r, gl)) {
				struct rd s = {r.p, r.pos, r.pos + gl, false};
				gps(c, &s, true, true);
				r.pos += gl;
			}
			break;
		}
		case M_OBD: {
			int64_t ms;
			if (bdate(c, &r, &ms))
				t->device_time = ms;
			tk_rec_bool(t, "ignition", u8(&r) > 0);
			break;
		}
		default:
			break;
		}
		return emit_as(c);
	}

	switch (ty) {
	case M_STATUS:
		status_packet(t, &r);
		break;
	case M_HEARTBEAT: {
		uint32_t s = u8(&r);
		tk_rec_bool(t, "armed", (s & 1) != 0);
		tk_rec_bool(t, "ignition", (s & 2) != 0);
		tk_rec_bool(t, "charge", (s & 4) != 0);
		if (left(&r) >= 2)
			tk_rec_num(t, "battery", u16(&r) / 100.0, 2);
		if (left(&r) >= 1)
			tk_rec_int(t, "rssi", u8(&r));
		break;
	}
	case M_STRING: {
		/* command length (4 + text), server flag, text [, language].
		 * Some units send a length of 0, or 2 more than the frame
		 * holds: then the text runs to the end; it stops at a NUL
		 * (padding, the language word 00 01/00 02). */
		size_t cl = u8(&r);
		skip(&r, 4);
		size_t n = cl >= 4 && cl - 4 <= left(&r) ? cl - 4 : left(&r);
		const uint8_t *p = take(&r, n);
		t->type = TK_R_REPLY;
		if (p) {
			const uint8_t *z = memchr(p, 0, n);
			result_text(t, p, z ? (size_t)(z - p) : n);
		}
		return tk_dctx_emit(c);
	}
	case M_ALARM:
		alarm_95(c, &r);
		break;
	case M_STATUS_2:
		if (g->len == 0x35) {		/* TRX16I location */
			gps(c, &r, true, true);
			lbs(t, &r, 2, 4, false);
			tk_rec_bool(t, "ignition", u8(&r) > 0);
			tk_rec_int(t, "event", u8(&r));
			tk_rec_bool(t, "archive", u8(&r) > 0);
			tk_rec_int(t, "odometer", u32(&r));
			tk_rec_num(t, "power", u16(&r) / 100.0, 2);
			tk_rec_num(t, "battery", u8(&r) / 10.0, 1);
			tk_rec_int(t, "hours", (int64_t)ubytes(&r, 3) * 60000);
			const uint8_t *id = take(&r, 8);
			if (id)
				hexstr(t, "driverUniqueId", id, 8);
		} else {
			status(t, &r, true, NULL);
			modules_u8len(t, &r);
		}
		break;
	case M_ALARM_MODULE: {
		gps(c, &r, true, true);
		skip(&r, 1);			/* cell type */
		lbs(t, &r, 2, 3, false);
		uint32_t a = 0;
		status(t, &r, false, &a);
		uint32_t lang = u8(&r);
		alarm_code(t, a | (lang >> 4) << 8);
		modules_u8len(t, &r);
		break;
	}
	case M_X1_GPS:
		if (g->len == 0x37) {
			lbs_multiple(c, &r, ty);
			break;
		}
		skip(&r, 4);
		gps(c, &r, true, true);
		skip(&r, 2);
		tk_rec_int(t, "odometer", u32(&r));
		lbs(t, &r, 2, 4, false);
		if (left(&r) >= 4) {
			uint32_t d = u32(&r);
			if (d)
				tk_rec_int(t, "driverUniqueId", d);
		}
		tk_rec_num(t, "battery", u16(&r) / 100.0, 2);
		tk_rec_num(t, "power", u16(&r) / 100.0, 2);
		{
			uint32_t port = u32(&r);
			tk_rec_int(t, "input", u8(&r));
			tk_rec_int(t, "output", u8(&r));
			uint32_t k = (port >> 20) & 15;
			for (uint32_t i = 0; i < k && left(&r) >= 2; i++) {
				char key[8];
				snprintf(key, sizeof(key), "adc%u", i + 1);
				tk_rec_num(t, tk_rec_key(t, key), u16(&r) / 100.0, 2);
			}
		}
		break;
	case M_GPS_LBS_8:
		gps(c, &r, true, true);
		break;
	case M_LBS_EXTEND: case M_LBS_MULTIPLE_3: case M_LBS_MULTIPLE: case M_LBS_WIFI:
	case M_LBS_MULTIPLE_2: case M_LBS_2: case M_WIFI_5:
		if (ty == M_LBS_MULTIPLE_3 && g->len == 0x2E) {	/* SR411 mini */
			gps(c, &r, true, true);
			lbs(t, &r, 2, 3, false);
			tk_rec_bool(t, "ignition", u8(&r) > 0);
			tk_rec_num(t, "power", u16(&r) / 100.0, 2);
			tk_rec_num(t, "battery", u16(&r) / 100.0, 2);
			break;
		}
		lbs_multiple(c, &r, ty);
		break;
	case M_WIFI_3:
		if (g->len == 0x40) {		/* LW4G: GPS+LBS+status */
			gps(c, &r, true, true);
			lbs(t, &r, 4, 8, false);
			break;
		}
		lbs_multiple(c, &r, ty);
		break;
	case M_WIFI_4: {
		int64_t ms;
		if (bcd_date(&r, &ms))
			t->device_time = ms;
		uint32_t k = u8(&r);
		for (uint32_t i = 0; i < k && left(&r) >= 8; i++) {
			struct tk_wifi w = {.channel = -1};
			skip(&r, 2);
			const uint8_t *mac = take(&r, 6);
			if (mac == NULL)
				break;
			memcpy(w.mac, mac, 6);
			tk_rec_wifi(t, &w);
		}
		break;
	}
	case M_WIFI_ALARM:
		lbs_multiple(c, &r, ty);
		break;
	case M_FENCE_SINGLE:
		if (g->len == 0x0C || g->len == 0x18)
			status_3(t, &r);
		else
			generic(c, g, &r);
		break;
	case M_INFO:
		if (left(&r) >= 2)
			tk_rec_num(t, "power", (int16_t)u16(&r) / 100.0, 2);
		break;
	case 0x61: {
		skip(&r, 8);
		gps(c, &r, true, true);
		lbs(t, &r, 2, 4, false);
		const uint8_t *d = take(&r, 6);
		if (d) {
			char s[24];
			snprintf(s, sizeof(s), "%llu", (unsigned long long)
			    ((uint64_t)d[0] << 40 | (uint64_t)d[1] << 32 | (uint64_t)d[2] << 24 |
			    (uint64_t)d[3] << 16 | (uint64_t)d[4] << 8 | d[5]));
			tk_rec_cstr(t, "driverUniqueId", s);
		}
		break;
	}
	case M_WIFI:		/* RFID variant (L 0x28): GPS + LBS + id */
		gps(c, &r, true, true);
		lbs(t, &r, 2, 3, false);
		const uint8_t *rfid = take(&r, 8);
		if (rfid)
			hexstr(t, "driverUniqueId", rfid, 8);
		break;
	default:
		generic(c, g, &r);
		break;
	}
	return emit_as(c);
}

int
tk_gt06_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	struct gframe g;

	if (n > FRAME_MAX)
		return tk_dctx_reject(c, "gt06 frame of %zu bytes is longer than %d", n,
		    FRAME_MAX);
	if (!parse(f, n, &g))
		return tk_dctx_reject(c, "gt06 frame without its 78 78/79 79 start and "
		    "0D 0A stop bytes (%zu bytes)", n);
	if (g.has_serial && !g.crc_ok && !is_wifi_irregular(&g))
		tk_dctx_warn(c, "gt06 CRC mismatch: frame says %02X%02X, bytes give %04X",
		    f[n - 4], f[n - 3], tk_gt06_crc(f + 2, n - 6));
	else if (!g.regular && !is_wifi_irregular(&g))
		tk_dctx_warn(c, "gt06 length field says %zu, the frame has %zu bytes",
		    g.len, n);
	return decode_frame(c, &g);
}
