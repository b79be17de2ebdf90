/*
 * tk_h02.c: the h02 dialect (Sinotrack and the many "TK103"/"TK102" units
 * that speak it): text sentences "*HQ,<id>,<type>,...#" and binary "$"
 * records.  Framing, the replies a server owes, the device id of a frame,
 * and decoding into records with Traccar's names.  The project's own
 * reference is docs/protocol/h02.md; the section numbers below are its.
 *
 * Framing (section 2): junk is skipped up to the next frame start, which
 * is "*" + two letters or digits + "," (text) or "$"/"X" + a BCD device
 * id and a valid BCD time and date (binary).  A text frame ends at the
 * first '#'; a new text start before it means the first was cut (junk).
 * A binary record has no length and no terminator: its length (32, 37,
 * 45 or 48 bytes with a 5-byte id, 42 with the 8-byte id) is the first
 * one followed by another frame start; at the end of the input (a UDP
 * datagram, a capture's end) the rest, when it is short enough.  So a
 * binary record on TCP is framed when the next one arrives, never
 * misframed by where a read happened to end.
 *
 * Replies (section 4): V1 and NBR get "*XX,<id>,V4,<type>,<yyyyMMddHHmmss>#",
 * HTBT and V0 an echo "*XX,<id>,HTBT#"; nothing else.  We answer with the
 * maker tag the device used (Traccar always writes HQ; the vendor
 * document says the tracker checks it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_h02.h"
#include "tk_loop.h"
#include "tk_util.h"
#include "tk_word_int.h"

#define H02_ID_MAX	20	/* characters of a device id we accept */
#define H02_FIELDS	128	/* fields kept per sentence */
#define H02_BIN_MAX	64	/* longest binary record taken at the end of input */

static inline bool
isdig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline bool
isalnum_(uint8_t c)
{
	return isdig(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ---- framing (docs/protocol/h02.md section 2) ------------------------ */

static inline bool
bcd(uint8_t b)
{
	return (b >> 4) <= 9 && (b & 15) <= 9;
}

static inline unsigned
bcdv(uint8_t b)
{
	return (b >> 4) * 10u + (b & 15u);
}

/* hh mm ss then DD MM YY, BCD; a zero date (no fix yet) is allowed. */
static bool
bcd_time_ok(const uint8_t *p)
{
	for (int i = 0; i < 6; i++)
		if (!bcd(p[i]))
			return false;
	return bcdv(p[0]) <= 23 && bcdv(p[1]) <= 59 && bcdv(p[2]) <= 59 &&
	    bcdv(p[3]) <= 31 && bcdv(p[4]) <= 12;
}

/*
 * The shape of a binary record at p ('$' or 'X'): 5 or 8 (the id's
 * bytes), -1 when it is none, 0 when more bytes are needed to tell.
 */
static int
bin_shape(const uint8_t *p, size_t n, bool eof)
{
	if (n < 12)
		return eof ? -1 : 0;
	bool id5 = true;
	for (int i = 1; i <= 5; i++)
		if (!bcd(p[i]))
			id5 = false;
	if (id5 && bcd_time_ok(p + 6))
		return 5;
	if (n < 15)
		return eof ? -1 : 0;
	/* the 8-byte id: 15 IMEI digits and a filler nibble */
	for (int i = 1; i <= 7; i++)
		if (!bcd(p[i]))
			return -1;
	if ((p[8] >> 4) > 9 || !bcd_time_ok(p + 9))
		return -1;
	return 8;
}

/* "*" + two letters or digits + ",": 1 yes, -1 no, 0 more needed. */
static int
text_start(const uint8_t *p, size_t n, bool eof)
{
	for (size_t i = 1; i < 4; i++) {
		if (i >= n)
			return eof ? -1 : 0;
		if (i < 3 ? !isalnum_(p[i]) : p[i] != ',')
			return -1;
	}
	return 1;
}

/* Does a frame start at p?  1 yes, -1 no, 0 more bytes needed. */
static int
frame_start(const uint8_t *p, size_t n, bool eof)
{
	if (n == 0)
		return eof ? -1 : 0;
	if (p[0] == '*')
		return text_start(p, n, eof);
	if (p[0] == '$' || p[0] == 'X') {
		int s = bin_shape(p, n, eof);
		return s > 0 ? 1 : s;
	}
	return -1;
}

/* The length of the binary record at p (shape s), or 0 for more. */
static size_t
bin_len(const uint8_t *p, size_t n, bool eof, int s)
{
	static const size_t l5[] = {32, 37, 45, 48}, l8[] = {42};
	const size_t *c = s == 8 ? l8 : l5;
	size_t nc = s == 8 ? 1 : 4;

	for (size_t i = 0; i < nc; i++) {
		if (n < c[i])
			break;
		size_t k = c[i];
		/* CR/LF or spaces after a record, then the next frame */
		while (k < n && tk_is_ws(p[k]))
			k++;
		if (k == n && !eof)
			return 0;
		int f = frame_start(p + k, n - k, eof);
		if (f == 0)
			return 0;
		if (f > 0 || k == n)
			return c[i];
	}
	if (eof)
		return n <= H02_BIN_MAX ? n : c[0];
	/* no record start after any known length: Traccar's 32 (or 42) */
	return n >= c[nc - 1] + 16 ? c[0] : 0;
}

enum tk_scan
tk_h02_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = tk_scan_begin(p, n, o);
	p += s;
	n -= s;
	if (n == 0)
		return TK_SCAN_MORE;
	int f = frame_start(p, n, eof);
	if (f == 0)
		return TK_SCAN_MORE;
	if (f < 0) {
		/* junk: up to the next frame start (or a start cut by the end) */
		size_t i = 1;
		for (; i < n; i++) {
			if (p[i] != '*' && p[i] != '$' && p[i] != 'X')
				continue;
			if (frame_start(p + i, n - i, eof) >= 0)
				break;
		}
		o->skip = s + i;
		o->junk = true;
		return TK_SCAN_MORE;
	}
	if (p[0] == '*') {
		for (size_t i = 4; i < n; i++) {
			if (n - i >= 8) {
				/* eight bytes at a time past those that are
				 * neither '#' nor '*' */
				uint64_t w = tk_word(p + i);
				uint64_t m = tk_word_eq(w, '#') | tk_word_eq(w, '*');
				if (m == 0) {
					i += 7;
					continue;
				}
				i += tk_word_first(m);
			}
			if (p[i] == '#') {
				o->len = i + 1;
				return TK_SCAN_FRAME;
			}
			if (p[i] == '*') {
				int t = text_start(p + i, n - i, eof);
				if (t == 0)
					return TK_SCAN_MORE;
				if (t > 0) {
					/* a frame cut short: the next one starts */
					o->skip = s + i;
					o->junk = true;
					return TK_SCAN_MORE;
				}
			}
		}
		if (eof) {
			o->len = n;
			return TK_SCAN_FRAME;
		}
		return TK_SCAN_MORE;
	}
	size_t len = bin_len(p, n, eof, bin_shape(p, n, eof));
	if (len == 0)
		return TK_SCAN_MORE;
	o->len = len;
	return TK_SCAN_FRAME;
}

int
tk_h02_classify(const uint8_t *p, size_t n, bool eof)
{
	if (n == 0)
		return eof ? -1 : 0;
	if (p[0] == '$' || p[0] == 'X') {
		int s = bin_shape(p, n, eof);
		return s > 0 ? 1 : s;
	}
	int t = text_start(p, n, eof);
	if (t <= 0)
		return t;
	/* then an id of letters and digits (may be empty), a type of
	 * letters and digits, and ',' or '#' */
	size_t i = 4;
	while (i < n && i < 4 + H02_ID_MAX && isalnum_(p[i]))
		i++;
	if (i == n)
		return eof ? -1 : 0;
	if (p[i] != ',')
		return -1;
	size_t ts = ++i;
	while (i < n && i < ts + 8 && isalnum_(p[i]))
		i++;
	if (i == n)
		return eof ? -1 : 0;
	return (i > ts && (p[i] == ',' || p[i] == '#')) ? 1 : -1;
}

/* ---- frame shape, id, replies (section 4) ---------------------------- */

struct shape {
	const uint8_t	*tag;		/* the 2-character maker tag */
	const uint8_t	*id;
	size_t		 idn;
	const uint8_t	*type;
	size_t		 typen;
};

/* A text frame's tag, id and type; false when it is not one. */
static bool
text_shape(const uint8_t *f, size_t n, struct shape *s)
{
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	if (n < 5 || f[0] != '*' || !isalnum_(f[1]) || !isalnum_(f[2]) || f[3] != ',')
		return false;
	s->tag = f + 1;
	size_t i = 4;
	s->id = f + i;
	while (i < n && f[i] != ',' && f[i] != '#')
		i++;
	s->idn = (size_t)(f + i - s->id);
	if (i >= n || f[i] != ',')
		return false;
	i++;
	s->type = f + i;
	while (i < n && f[i] != ',' && f[i] != '#')
		i++;
	s->typen = (size_t)(f + i - s->type);
	return true;
}

static bool
id_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > H02_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum_(p[i]))
			return false;
	return true;
}

static bool
is(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n == l && memcmp(p, lit, l) == 0;
}

/* The BCD id of a binary record: 10 digits, or the 15 of the long form. */
static size_t
bin_id(const uint8_t *f, size_t n, int shape, char *out, size_t cap)
{
	size_t digits = shape == 8 ? 15 : 10, k = 0;
	if (cap <= digits || n < 1 + (size_t)shape)
		return 0;
	for (size_t i = 0; i < digits; i++) {
		uint8_t b = f[1 + i / 2];
		out[k++] = (char)('0' + ((i & 1) ? (b & 15) : (b >> 4)));
	}
	out[k] = '\0';
	return k;
}

size_t
tk_h02_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	struct shape s;

	if (cap)
		out[0] = '\0';
	if (cap == 0)
		return 0;
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	if (n && (f[0] == '$' || f[0] == 'X')) {
		int sh = bin_shape(f, n, true);
		return sh > 0 ? bin_id(f, n, sh, out, cap) : 0;
	}
	if (!text_shape(f, n, &s) || !id_ok(s.id, s.idn))
		return 0;
	return tk_strlcpyn(out, cap, s.id, s.idn);
}

size_t
tk_h02_reply_at(const uint8_t *f, size_t n, int64_t now_ms, uint8_t *out, size_t cap)
{
	struct shape s;
	char buf[TK_REPLY_MAX];
	int len;

	if (!text_shape(f, n, &s) || !id_ok(s.id, s.idn))
		return 0;
	if (is(s.type, s.typen, "V1") || is(s.type, s.typen, "NBR")) {
		int y, mo, d, h, mi, sec, ms;
		tk_civil_from_ms(now_ms, &y, &mo, &d, &h, &mi, &sec, &ms);
		if (y < 0 || y > 9999)
			return 0;
		len = snprintf(buf, sizeof(buf), "*%.2s,%.*s,V4,%.*s,%04d%02d%02d%02d%02d%02d#",
		    (const char *)s.tag, (int)s.idn, (const char *)s.id, (int)s.typen,
		    (const char *)s.type, y, mo, d, h, mi, sec);
	} else if (is(s.type, s.typen, "HTBT") || is(s.type, s.typen, "V0")) {
		len = snprintf(buf, sizeof(buf), "*%.2s,%.*s,%.*s#", (const char *)s.tag,
		    (int)s.idn, (const char *)s.id, (int)s.typen, (const char *)s.type);
	} else
		return 0;
	if (len <= 0 || (size_t)len >= sizeof(buf) || (size_t)len > cap)
		return 0;
	memcpy(out, buf, (size_t)len);
	return (size_t)len;
}

size_t
tk_h02_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	return tk_h02_reply_at(f, n, tk_wall_ms(), out, cap);
}

/* ---- decoding: common pieces (section 3.2) ----------------------------- */

#define SPAN(p, n)	((struct tk_span){(const char *)(p), (n)})

static bool
all_dig(struct tk_span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (!isdig((uint8_t)s.p[i]))
			return false;
	return true;
}

static bool
all_hex(struct tk_span s)
{
	for (size_t i = 0; i < s.n; i++)
		if (tk_hexval((unsigned char)s.p[i]) < 0)
			return false;
	return true;
}

static bool
is_status(struct tk_span s)
{
	return s.n == 8 && all_hex(s);
}

static bool
is_date(struct tk_span s)
{
	return s.n == 6 && all_dig(s);
}

static unsigned
dig2(const char *p)
{
	return (unsigned)(p[0] - '0') * 10u + (unsigned)(p[1] - '0');
}

/*
 * Time hhmmss (may be empty: midnight) and date DDMMYY to ms.  A missing
 * or zero date gives the server time when there is one (Traccar stamps
 * "now"), else TK_TIME_NONE.
 */
static int64_t
h02_time(struct tk_dctx *c, struct tk_span t, struct tk_span d)
{
	int64_t ms;
	unsigned hh = 0, mm = 0, ss = 0;

	if (t.n == 6 && all_dig(t)) {
		hh = dig2(t.p);
		mm = dig2(t.p + 2);
		ss = dig2(t.p + 4);
	} else if (t.n != 0)
		return TK_TIME_NONE;
	if (!is_date(d) || memcmp(d.p, "000000", 6) == 0)
		return c->recv_ms;
	if (tk_time_utc(2000 + (int)dig2(d.p + 4), (int)dig2(d.p + 2), (int)dig2(d.p),
	    (int)hh, (int)mm, (int)ss, 0, &ms) != 0) {
		tk_dctx_warn(c, "date %.6s time %.*s is no valid UTC time: left out", d.p,
		    (int)t.n, t.p);
		return TK_TIME_NONE;
	}
	return ms;
}

/*
 * A coordinate in any of the three shapes (section 3.2): [d...]dd.mmmm,
 * -D-M.mmmm, or dotless D...MMmmmm.  Degrees, positive.  0 on success.
 */
static int
h02_coord(struct tk_span s, double max, double *deg)
{
	uint64_t d = 0;
	double m;

	s = tk_span_trim(s);
	if (s.n == 0 || s.n > 24)
		return -1;
	if (s.p[0] == '-') {
		const char *q = memchr(s.p + 1, '-', s.n - 1);
		if (q == NULL || q == s.p + 1)
			return -1;
		size_t dn = (size_t)(q - s.p) - 1;
		if (tk_parse_uint(s.p + 1, dn, 180, &d) != 0 ||
		    tk_parse_dec(q + 1, s.n - dn - 2, &m) != 0)
			return -1;
	} else {
		const char *dot = memchr(s.p, '.', s.n);
		if (dot != NULL) {
			size_t ip = (size_t)(dot - s.p);
			if (ip < 2 || (ip > 2 && tk_parse_uint(s.p, ip - 2, 180, &d) != 0) ||
			    !all_dig(SPAN(s.p, ip)) ||
			    tk_parse_dec(s.p + ip - 2, s.n - ip + 2, &m) != 0)
				return -1;
		} else {
			char buf[16];
			if (s.n < 7 || s.n > 9 || !all_dig(s) ||
			    tk_parse_uint(s.p, s.n - 6, 180, &d) != 0)
				return -1;
			memcpy(buf, s.p + s.n - 6, 2);
			buf[2] = '.';
			memcpy(buf + 3, s.p + s.n - 4, 4);
			if (tk_parse_dec(buf, 7, &m) != 0)
				return -1;
		}
	}
	if (m < 0 || m >= 60)
		return -1;
	*deg = (double)d + m / 60.0;
	return *deg <= max ? 0 : -1;
}

/* The status word (section 3.3): raw value, ignition, at most one alarm in
 * Traccar's order (negative logic: a clear bit is an active condition). */
static void
h02_status(struct tk_record *r, uint32_t st)
{
	if (!(st & 1u))
		tk_rec_alarm(r, "vibration");
	else if (!(st & 2u) || !(st & (1u << 18)))
		tk_rec_alarm(r, "sos");
	else if (!(st & 4u))
		tk_rec_alarm(r, "overspeed");
	else if (!(st & (1u << 19)))
		tk_rec_alarm(r, "powerCut");
	tk_rec_bool(r, "ignition", (st & (1u << 10)) != 0);
	tk_rec_int(r, "status", st);
}

static void
status_span(struct tk_record *r, struct tk_span s)
{
	uint64_t v;
	if (is_status(s) && tk_parse_hex(s.p, s.n, &v) == 0)
		h02_status(r, (uint32_t)v);
}

static struct tk_record *
rec(struct tk_dctx *c, const struct shape *h, enum tk_rtype t)
{
	tk_dctx_begin(c, t);
	tk_rec_set_id(c->r, (const char *)h->id, h->idn);
	return c->r;
}

static void
int_attr(struct tk_record *r, const char *key, struct tk_span s)
{
	uint64_t v;
	s = tk_span_trim(s);
	if (s.n && tk_parse_uint(s.p, s.n, INT64_MAX, &v) == 0)
		tk_rec_int(r, key, (int64_t)v);
}

/* A signed decimal integer. */
static bool
sint(struct tk_span s, int64_t lo, int64_t hi, int64_t *out)
{
	uint64_t v;
	bool neg = false;
	s = tk_span_trim(s);
	if (s.n && s.p[0] == '-') {
		neg = true;
		s.p++;
		s.n--;
	}
	if (s.n == 0 || tk_parse_uint(s.p, s.n, (uint64_t)1 << 62, &v) != 0)
		return false;
	int64_t x = neg ? -(int64_t)v : (int64_t)v;
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

/* ---- the generic position sentence: V1, V2, V4, V5, V8, V19, VI1 ... -- */

static bool
hemi(struct tk_span s, char pos, char neg, int *sign)
{
	if (s.n != 1)
		return false;
	char ch = s.p[0] & ~0x20;
	if (ch != pos && ch != neg)
		return false;
	*sign = ch == neg ? -1 : 1;
	return true;
}

/* Does a position part (time, validity, lat, N/S, lon, E/W) start at f[k]? */
static bool
pos_at(const struct tk_span *f, size_t nf, size_t k)
{
	if (k + 8 > nf)
		return false;
	if (!(f[k].n == 0 || is_date(f[k])))
		return false;
	if (f[k + 1].n > 1 && !all_dig(f[k + 1]))
		return false;
	char ns = f[k + 3].n == 1 ? (char)(f[k + 3].p[0] & ~0x20) : 0;
	char ew = f[k + 5].n == 1 ? (char)(f[k + 5].p[0] & ~0x20) : 0;
	return (ns == 'N' || ns == 'S' || f[k + 3].n == 0 || tk_span_eq(f[k + 3], "0")) &&
	    (ew == 'E' || ew == 'W' || f[k + 5].n == 0 || tk_span_eq(f[k + 5], "0"));
}

static bool
trailer_a(const struct tk_span *f, size_t n)
{
	int64_t x;
	if (n != 6)
		return false;
	struct tk_span fu = tk_span_trim(f[2]);
	const char *dot = memchr(fu.p, '.', fu.n);
	return all_dig(f[0]) && f[0].n && sint(f[1], INT32_MIN, INT32_MAX, &x) &&
	    dot && dot != fu.p && dot + 1 < fu.p + fu.n &&
	    sint(f[3], INT32_MIN, INT32_MAX, &x) && f[4].n && all_hex(f[4]) && f[4].n <= 8 &&
	    f[5].n && all_hex(f[5]) && f[5].n <= 16;
}

/*
 * f[k...]: time, validity, lat, N/S, lon, E/W, speed, course, [battery],
 * date, [3 SIM fields], [status], [trailer].  Fills c->r (begun by the
 * caller as a position); turns it into an event when there is no location.
 */
static int
generic(struct tk_dctx *c, const struct tk_span *f, size_t nf, size_t k)
{
	struct tk_record *r = c->r;
	double lat, lon, v;
	int ns, ew;

	if (k + 8 > nf)
		return tk_dctx_reject(c, "h02 position sentence with %zu fields: too short", nf);
	struct tk_span val = f[k + 1];
	r->valid = val.n == 1 && val.p[0] == 'A';
	if (h02_coord(f[k + 2], 90, &lat) == 0 && hemi(f[k + 3], 'N', 'S', &ns) &&
	    h02_coord(f[k + 4], 180, &lon) == 0 && hemi(f[k + 5], 'E', 'W', &ew)) {
		r->has_pos = true;
		r->lat = lat * ns;
		r->lon = lon * ew;
	} else {
		r->type = TK_R_EVENT;
		r->valid = false;
	}
	struct tk_span sp = tk_span_trim(f[k + 6]);
	if (sp.n && tk_parse_dec(sp.p, sp.n, &v) == 0 && v >= 0) {
		r->has_speed = true;
		r->speed = v;	/* knots, as the protocol and Traccar */
	}
	struct tk_span co = tk_span_trim(f[k + 7]);
	if (co.n && tk_parse_dec(co.p, co.n, &v) == 0 && v >= 0 && v <= 360) {
		r->has_course = true;
		r->course = v;
	}
	size_t j = k + 8;
	/* an optional bare battery figure between course and date */
	if (j + 1 < nf && f[j].n && f[j].n != 6 && all_dig(f[j]) &&
	    (is_date(f[j + 1]) || f[j + 1].n == 0))
		j++;
	struct tk_span date = j < nf ? f[j] : SPAN("", 0);
	if (j < nf && (date.n == 0 || is_date(date)))
		j++;
	else
		date = SPAN("", 0);
	int64_t t = h02_time(c, f[k], date);
	r->fix_time = r->device_time = t;
	/* SIM/phone/ICCID fields (V19) before the status */
	if (j < nf && !is_status(f[j]) && j + 3 < nf && is_status(f[j + 3]))
		j += 3;
	if (j < nf && is_status(f[j])) {
		status_span(r, f[j]);
		j++;
	}
	if (j < nf) {
		const struct tk_span *t6 = f + j;
		if (trailer_a(t6, nf - j)) {
			int64_t x;
			uint64_t lac, cid;
			int_attr(r, "odometer", t6[0]);
			if (sint(t6[1], INT32_MIN, INT32_MAX, &x))
				tk_rec_int(r, "temp1", x);
			struct tk_span fu = tk_span_trim(t6[2]);
			if (tk_parse_dec(fu.p, fu.n, &v) == 0)
				tk_rec_num(r, "fuel", v, 2);
			if (sint(t6[3], -100000, 100000, &x)) {
				r->has_alt = true;
				r->alt = (double)x;
			}
			if (tk_parse_hex(t6[4].p, t6[4].n, &lac) == 0 &&
			    tk_parse_hex(t6[5].p, t6[5].n, &cid) == 0 && lac <= UINT32_MAX) {
				struct tk_cell cl = {.lac = (uint32_t)lac, .cid = cid};
				tk_rec_cell(r, &cl);
			}
		} else {
			/* anything else: io1, io2 ... as trimmed strings (Traccar) */
			for (size_t i = j; i < nf; i++) {
				char key[24];
				snprintf(key, sizeof(key), "io%zu", i - j + 1);
				struct tk_span s = tk_span_trim(f[i]);
				tk_rec_str(r, tk_rec_key(r, key), s.p, s.n);
			}
		}
	}
	return 0;
}

/* ---- the other text types (section 3.1) ------------------------------- */

static void
cell3(struct tk_record *r, unsigned mcc, unsigned mnc, bool has_mcc,
    struct tk_span lac, struct tk_span cid, const struct tk_span *rssi)
{
	uint64_t l, ci;
	int64_t rs;
	lac = tk_span_trim(lac);
	cid = tk_span_trim(cid);
	if (tk_parse_uint(lac.p, lac.n, UINT32_MAX, &l) != 0 ||
	    tk_parse_uint(cid.p, cid.n, UINT32_MAX, &ci) != 0)
		return;
	struct tk_cell cl = {.mcc = (uint16_t)mcc, .mnc = (uint16_t)mnc, .has_mcc = has_mcc,
	    .lac = (uint32_t)l, .cid = ci};
	if (rssi && sint(*rssi, -32768, 32767, &rs)) {
		cl.rssi = (int16_t)rs;
		cl.has_rssi = true;
	}
	tk_rec_cell(r, &cl);
}

static bool
mccmnc(struct tk_span a, struct tk_span b, unsigned *mcc, unsigned *mnc)
{
	uint64_t x, y;
	a = tk_span_trim(a);
	b = tk_span_trim(b);
	if (tk_parse_uint(a.p, a.n, 999, &x) != 0 || tk_parse_uint(b.p, b.n, 999, &y) != 0)
		return false;
	*mcc = (unsigned)x;
	*mnc = (unsigned)y;
	return true;
}

/* NBR: time, MCC, MNC, delay, n, (LAC, CID, RSSI) x n, date, status, ... */
static int
nbr(struct tk_dctx *c, const struct shape *h, const struct tk_span *f, size_t nf)
{
	unsigned mcc = 0, mnc = 0;
	uint64_t cnt = 0;
	if (nf < 10 || !mccmnc(f[4], f[5], &mcc, &mnc))
		return tk_dctx_reject(c, "h02 NBR sentence without MCC/MNC");
	struct tk_record *r = rec(c, h, TK_R_EVENT);
	/* the date: after n cells when that fits, else after the most cells */
	size_t d = 0;
	if (tk_parse_uint(f[7].p, f[7].n, 64, &cnt) == 0 && 8 + 3 * cnt + 1 < nf &&
	    is_date(f[8 + 3 * cnt]) && is_status(f[9 + 3 * cnt]))
		d = 8 + 3 * (size_t)cnt;
	else
		for (size_t k = 8; k + 1 < nf; k += 3)
			if (is_date(f[k]) && is_status(f[k + 1]))
				d = k;
	if (d == 0)
		return tk_dctx_reject(c, "h02 NBR sentence without a date and status");
	for (size_t k = 8; k + 3 <= d; k += 3)
		cell3(r, mcc, mnc, true, f[k], f[k + 1], &f[k + 2]);
	r->device_time = h02_time(c, f[3], f[d]);
	status_span(r, f[d + 1]);
	return tk_dctx_emit(c);
}

/* LINK: time, rssi, satellites, battery %, steps, turnovers, date, status */
static int
link_(struct tk_dctx *c, const struct shape *h, const struct tk_span *f, size_t nf)
{
	if (nf < 11)
		return tk_dctx_reject(c, "h02 LINK sentence with %zu fields: too short", nf);
	struct tk_record *r = rec(c, h, TK_R_EVENT);
	int_attr(r, "rssi", f[4]);
	int_attr(r, "sat", f[5]);
	int_attr(r, "batteryLevel", f[6]);
	int_attr(r, "steps", f[7]);
	int_attr(r, "turnovers", f[8]);
	r->device_time = h02_time(c, f[3], f[9]);
	status_span(r, f[10]);
	return tk_dctx_emit(c);
}

/* V3: time, MCC+MNC glued, n, (LAC, CID, x, y) x n, battery hex, reboot,
 * "X", date, status */
static int
v3(struct tk_dctx *c, const struct shape *h, const struct tk_span *f, size_t nf)
{
	size_t x = 0;
	for (size_t k = 6; k + 2 < nf; k++)
		if (tk_span_eq(f[k], "X") && is_date(f[k + 1]))
			x = k;
	struct tk_span mm = tk_span_trim(f[nf > 4 ? 4 : 0]);
	uint64_t mcc, mnc;
	if (x < 8 || mm.n < 4 || mm.n > 6 || tk_parse_uint(mm.p, 3, 999, &mcc) != 0 ||
	    tk_parse_uint(mm.p + 3, mm.n - 3, 999, &mnc) != 0)
		return tk_dctx_reject(c, "h02 V3 sentence of no known layout");
	struct tk_record *r = rec(c, h, TK_R_EVENT);
	for (size_t k = 6; k + 4 <= x - 2; k += 4)
		cell3(r, (unsigned)mcc, (unsigned)mnc, true, f[k], f[k + 1], NULL);
	uint64_t b;
	struct tk_span bs = tk_span_trim(f[x - 2]);
	if (bs.n && bs.n <= 8 && tk_parse_hex(bs.p, bs.n, &b) == 0)
		tk_rec_int(r, "battery", (int64_t)b);	/* raw, as Traccar (unit unknown) */
	r->device_time = h02_time(c, f[3], f[x + 1]);
	if (x + 2 < nf)
		status_span(r, f[x + 2]);
	return tk_dctx_emit(c);
}

/* VP1: A|B|V, lat, N/S, lon, E/W, speed, course, date; or V, MCC, MNC,
 * then LAC,CID,RSSI cells separated by 'Y'. */
static int
vp1(struct tk_dctx *c, const struct shape *h, const struct tk_span *f, size_t nf,
    const char *rest, size_t restn)
{
	double lat, lon, v;
	int ns, ew;
	if (nf >= 11 && h02_coord(f[4], 90, &lat) == 0 && hemi(f[5], 'N', 'S', &ns) &&
	    h02_coord(f[6], 180, &lon) == 0 && hemi(f[7], 'E', 'W', &ew)) {
		struct tk_record *r = rec(c, h, TK_R_POSITION);
		r->valid = tk_span_eq(f[3], "A");
		r->has_pos = true;
		r->lat = lat * ns;
		r->lon = lon * ew;
		struct tk_span sp = tk_span_trim(f[8]), co = tk_span_trim(f[9]);
		if (tk_parse_dec(sp.p, sp.n, &v) == 0 && v >= 0) {
			r->has_speed = true;
			r->speed = v;
		}
		if (tk_parse_dec(co.p, co.n, &v) == 0 && v >= 0 && v <= 360) {
			r->has_course = true;
			r->course = v;
		}
		/* no time of day on the wire: midnight of the date (Traccar) */
		r->fix_time = r->device_time = is_date(f[10]) ?
		    h02_time(c, SPAN("", 0), f[10]) : c->recv_ms;
		return tk_dctx_emit(c);
	}
	/* the cell form: the rest after "V," with 'Y' between cells */
	struct tk_span g[H02_FIELDS];
	char buf[1024];
	unsigned mcc, mnc;
	if (restn >= sizeof(buf))
		restn = sizeof(buf) - 1;
	for (size_t i = 0; i < restn; i++)
		buf[i] = rest[i] == 'Y' ? ',' : rest[i];
	size_t ng = tk_split(buf, restn, ',', g, H02_FIELDS);
	if (ng > H02_FIELDS)
		ng = H02_FIELDS;
	if (ng < 3 || !mccmnc(g[1], g[2], &mcc, &mnc))
		return tk_dctx_reject(c, "h02 VP1 sentence of no known layout");
	struct tk_record *r = rec(c, h, TK_R_EVENT);
	for (size_t k = 3; k + 3 <= ng; k += 3)
		cell3(r, mcc, mnc, true, g[k], g[k + 1], &g[k + 2]);
	return tk_dctx_emit(c);
}

/* ---- binary records (section 3.4) ------------------------------------ */

static int
binary(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	char id[24];
	int sh = bin_shape(f, n, true);
	if (sh <= 0)
		return tk_dctx_reject(c, "h02 binary record without a BCD id, time and date");
	size_t o = 1 + (size_t)sh;	/* time hh mm ss, then date DD MM YY */
	if (n < o + 23)
		return tk_dctx_reject(c, "h02 binary record of %zu bytes: too short", n);
	size_t idn = bin_id(f, n, sh, id, sizeof(id));
	tk_dctx_begin(c, f[0] == 'X' ? TK_R_EVENT : TK_R_POSITION);
	struct tk_record *r = c->r;
	tk_rec_set_id(r, id, idn);
	int64_t t;
	const uint8_t *p = f + o;
	if (bcdv(p[3]) != 0 && tk_time_utc(2000 + (int)bcdv(p[5]), (int)bcdv(p[4]),
	    (int)bcdv(p[3]), (int)bcdv(p[0]), (int)bcdv(p[1]), (int)bcdv(p[2]), 0, &t) == 0)
		r->fix_time = r->device_time = t;
	else
		r->fix_time = r->device_time = c->recv_ms;
	if (f[0] == 'X') {
		/* stored records of an unknown layout: Traccar drops them */
		tk_rec_cstr(r, "type", "X");
		return tk_dctx_emit(c);
	}
	/* latitude DD MM mm mm; longitude DDD MM mmmm + flags nibble */
	const uint8_t *la = p + 6, *lo = p + 11;
	for (int i = 0; i < 4; i++)
		if (!bcd(la[i]) || !bcd(lo[i]))
			return tk_dctx_reject(c, "h02 binary record: coordinates are not BCD");
	if ((lo[4] >> 4) > 9)
		return tk_dctx_reject(c, "h02 binary record: coordinates are not BCD");
	double lat = bcdv(la[0]) + (bcdv(la[1]) + (bcdv(la[2]) * 100 + bcdv(la[3])) / 10000.0) / 60.0;
	unsigned ld = (lo[0] >> 4) * 100u + (lo[0] & 15u) * 10u + (lo[1] >> 4);
	unsigned lm = (lo[1] & 15u) * 10u + (lo[2] >> 4);
	unsigned lf = (lo[2] & 15u) * 1000u + (lo[3] >> 4) * 100u + (lo[3] & 15u) * 10u +
	    (lo[4] >> 4);
	double lon = ld + (lm + lf / 10000.0) / 60.0;
	unsigned flags = lo[4] & 15u;
	if (lat > 90 || lon > 180 || bcdv(la[1]) >= 60 || lm >= 60)
		return tk_dctx_reject(c, "h02 binary record: coordinates out of range");
	r->has_pos = true;
	r->valid = (flags & 2) != 0;
	r->lat = (flags & 4) ? lat : -lat;
	r->lon = (flags & 8) ? lon : -lon;
	/* battery: Traccar's scale */
	unsigned b = p[10];
	if (b >= 1 && b <= 3)
		tk_rec_int(r, "batteryLevel", (b - 1) * 10);
	else if (b >= 4 && b <= 6)
		tk_rec_int(r, "batteryLevel", (b - 1) * 20);
	else if (b >= 7 && b <= 100)
		tk_rec_int(r, "batteryLevel", b);
	else if (b >= 0xF1 && b <= 0xF6)
		tk_rec_int(r, "batteryLevel", b - 0xF0);
	/* speed SS S, course C CC: 3 + 3 BCD digits */
	const uint8_t *sc = p + 16;
	if (bcd(sc[0]) && bcd(sc[1]) && bcd(sc[2])) {
		r->has_speed = true;
		r->speed = (sc[0] >> 4) * 100 + (sc[0] & 15) * 10 + (sc[1] >> 4);
		unsigned course = (sc[1] & 15u) * 100u + (sc[2] >> 4) * 10u + (sc[2] & 15u);
		if (course <= 360) {
			r->has_course = true;
			r->course = course;
		}
	}
	const uint8_t *st = p + 19;
	h02_status(r, (uint32_t)st[0] << 24 | (uint32_t)st[1] << 16 | (uint32_t)st[2] << 8 | st[3]);
	return tk_dctx_emit(c);
}

/* ---- entry ------------------------------------------------------------ */

int
tk_h02_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	struct shape h;
	struct tk_span fl[H02_FIELDS];

	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	while (n && tk_is_ws(f[n - 1]))
		n--;
	if (n && (f[0] == '$' || f[0] == 'X'))
		return binary(c, f, n);
	if (!text_shape(f, n, &h))
		return tk_dctx_reject(c, "no h02 sentence (*XX,id,type,...#)");
	if (h.idn && !id_ok(h.id, h.idn))
		return tk_dctx_reject(c, "h02 device id '%.*s' is not letters and digits",
		    (int)(h.idn > 32 ? 32 : h.idn), (const char *)h.id);
	if (f[n - 1] == '#')
		n--;
	else
		tk_dctx_warn(c, "h02 sentence without its closing '#'");
	const char *body = (const char *)h.type + h.typen;
	size_t bodyn = (size_t)((const char *)f + n - body);
	if (bodyn && body[0] == ',') {
		body++;
		bodyn--;
	}
	if (is(h.type, h.typen, "SMS")) {
		struct tk_record *r = rec(c, &h, TK_R_REPLY);
		tk_rec_str(r, "result", body, bodyn);
		return tk_dctx_emit(c);
	}
	if (is(h.type, h.typen, "HTBT") || is(h.type, h.typen, "V0")) {
		struct tk_record *r = rec(c, &h, TK_R_HEARTBEAT);
		int_attr(r, "batteryLevel", SPAN(body, bodyn));
		return tk_dctx_emit(c);
	}
	size_t nf = tk_split((const char *)f, n, ',', fl, H02_FIELDS);
	if (nf > H02_FIELDS)
		return tk_dctx_reject(c, "h02 sentence with more than %d fields", H02_FIELDS);
	if (is(h.type, h.typen, "NBR"))
		return nbr(c, &h, fl, nf);
	if (is(h.type, h.typen, "LINK"))
		return link_(c, &h, fl, nf);
	if (is(h.type, h.typen, "V3"))
		return v3(c, &h, fl, nf);
	if (is(h.type, h.typen, "VP1"))
		return vp1(c, &h, fl, nf, body, bodyn);
	if (is(h.type, h.typen, "V4")) {
		/* a command's answer: the command and its words, then
		 * (usually) a position; result = all before the position */
		size_t k = 0;
		for (size_t i = 4; i < nf; i++)
			if (pos_at(fl, nf, i))
				k = i;
		if (k == 0) {
			struct tk_record *r = rec(c, &h, TK_R_REPLY);
			tk_rec_str(r, "result", body, bodyn);
			return tk_dctx_emit(c);
		}
		struct tk_record *r = rec(c, &h, TK_R_POSITION);
		tk_rec_str(r, "result", fl[3].p, (size_t)(fl[k - 1].p + fl[k - 1].n - fl[3].p));
		if (generic(c, fl, nf, k) < 0)
			return -1;
		return tk_dctx_emit(c);
	}
	if (h.typen >= 2 && h.type[0] == 'V') {
		rec(c, &h, TK_R_POSITION);
		if (generic(c, fl, nf, 3) < 0)
			return -1;
		return tk_dctx_emit(c);
	}
	/* XT, BASE, BS, an empty type ...: not position reports (Traccar
	 * drops them); the device and its type are still worth a record */
	struct tk_record *r = rec(c, &h, TK_R_EVENT);
	if (h.typen)
		tk_rec_str(r, "type", h.type, h.typen);
	if (nf > 3)
		status_span(r, tk_span_trim(fl[nf - 1]));
	return tk_dctx_emit(c);
}
