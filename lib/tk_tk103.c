/*
 * tk_tk103.c: the tk103 dialect (parenthesised frames): streaming framing,
 * the replies a server owes, the device id of a frame, and decoding.
 *
 * Wire reference: docs/protocol/tk103.md.  Two layouts share the dialect:
 *   classic  "(" id(11..15, alphanumeric) code(4) payload ")"
 *   comma    "(" id "," code "," fields ")"
 * The message code is found by pattern, not at a fixed offset, because
 * 11-character ids exist.  UDP datagrams may lack the outer parentheses.
 */
#include <string.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_util.h"

/* Traccar's rule: an unterminated frame longer than this is given up. */
#define TK103_GIVEUP	1024
/* Faster than this (869 knots, Traccar's sanity limit) is a garbled field. */
#define TK103_MAX_KMH	1609.0

/* ---- framing ----------------------------------------------------------- */

static bool
only_ws(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!tk_is_ws(p[i]))
			return false;
	return true;
}

/*
 * Find the end of the frame that starts at p[0] == '(': the first ')' with
 * an even number of '$' since the '('.  *restart is set to the offset of a
 * '(' met outside a $...$ region before any such ')' (a truncated frame
 * followed by a new one), or 0.  Returns the frame length, or 0.
 */
static size_t
frame_end(const uint8_t *p, size_t n, size_t *restart)
{
	bool odd = false;

	*restart = 0;
	/* fast path (vectorised memchr): a ')' with no '$' or '(' before it */
	const uint8_t *cl = n > 1 ? memchr(p + 1, ')', n - 1) : NULL;
	if (cl != NULL) {
		size_t k = (size_t)(cl - p) - 1;
		if (memchr(p + 1, '$', k) == NULL && memchr(p + 1, '(', k) == NULL)
			return k + 2;
	}
	for (size_t i = 1; i < n; i++) {
		uint8_t c = p[i];
		if (c == '$')
			odd = !odd;
		else if (c == ')' && !odd)
			return i + 1;
		else if (c == '(' && !odd) {
			*restart = i;
			return 0;
		}
	}
	return 0;
}

enum tk_scan
tk_tk103_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t skip = 0;
	bool junk = false;

	o->len = 0;
	for (;;) {
		const uint8_t *q = memchr(p + skip, '(', n - skip);
		if (q == NULL) {
			if (!junk)
				junk = !only_ws(p + skip, n - skip);
			o->skip = n;
			o->junk = junk;
			return TK_SCAN_MORE;
		}
		size_t s = (size_t)(q - p);
		if (!junk && s > skip)
			junk = !only_ws(p + skip, s - skip);
		skip = s;
		/* the end must come within TK103_GIVEUP + 1 bytes, however many
		 * are buffered: a large read finds the frames small reads find */
		size_t w = n - s > TK103_GIVEUP + 1 ? TK103_GIVEUP + 1 : n - s;
		size_t restart, len = frame_end(p + s, w, &restart);
		if (len) {
			o->skip = s;
			o->len = len;
			o->junk = junk;
			return TK_SCAN_FRAME;
		}
		if (restart) {
			/* "(" ... "(": the first one never ended */
			skip = s + restart;
			junk = true;
			continue;
		}
		if (n - s > TK103_GIVEUP) {
			/* too long without an end: drop up to the next "(" */
			q = memchr(p + s + 1, '(', n - s - 1);
			skip = q ? (size_t)(q - p) : n;
			junk = true;
			continue;
		}
		if (eof) {
			size_t e = n;
			while (e > s && tk_is_ws(p[e - 1]))
				e--;
			o->skip = s;
			o->len = e - s;
			o->junk = junk;
			return TK_SCAN_FRAME;
		}
		o->skip = s;
		o->junk = junk;
		return TK_SCAN_MORE;
	}
}

/* ---- frame head: id and code ------------------------------------------- */

struct head {
	const char	*id;
	size_t		 idn;
	const char	*code;		/* 4 bytes */
	const char	*pay;		/* after the code (and its ',' in comma form) */
	size_t		 payn;
	bool		 comma;		/* comma layout */
};

static inline bool
isdig(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool
isup(int c)
{
	return c >= 'A' && c <= 'Z';
}

static inline bool
isalnum_(int c)
{
	return isdig(c) || isup(c) || (c >= 'a' && c <= 'z');
}

/* A device message code we know the shape of: B?dd, ZCdd, DWxx. */
static bool
known_code(const char *c)
{
	if (c[0] == 'B')
		return isup(c[1]) && isdig(c[2]) && isdig(c[3]);
	if (c[0] == 'Z' && c[1] == 'C')
		return isdig(c[2]) && isdig(c[3]);
	if (c[0] == 'D' && c[1] == 'W')
		return tk_hexval(c[2]) >= 0 && tk_hexval(c[3]) >= 0;
	return false;
}

/* Any code: [A-Z][A-Z0-9][0-9A-F][0-9A-F]. */
static bool
any_code(const char *c)
{
	return isup(c[0]) && (isup(c[1]) || isdig(c[1])) &&
	    tk_hexval(c[2]) >= 0 && tk_hexval(c[3]) >= 0;
}

static bool
id_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum_((unsigned char)p[i]))
			return false;
	return true;
}

/* Strip the outer parentheses (optional: UDP) and trailing CR/LF. */
static void
inner(const uint8_t **f, size_t *n)
{
	const uint8_t *p = *f;
	size_t m = *n;
	while (m && tk_is_ws(p[0])) {
		p++;
		m--;
	}
	while (m && tk_is_ws(p[m - 1]))
		m--;
	if (m && p[0] == '(') {
		p++;
		m--;
	}
	if (m && p[m - 1] == ')')
		m--;
	*f = p;
	*n = m;
}

/* Split the frame into id, code and payload.  0 on success. */
static int
head(const uint8_t *f, size_t n, struct head *h)
{
	inner(&f, &n);
	const char *p = (const char *)f;
	/* the usual 12 characters first, then 11, then an IMEI's 13 to 15 */
	static const size_t offs[5] = {12, 11, 13, 14, 15};

	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < 5; k++) {
			size_t o = offs[k];
			if (n < o + 4 || !id_ok(p, o))
				continue;
			if (pass == 0 ? !known_code(p + o) : !any_code(p + o))
				continue;
			h->id = p;
			h->idn = o;
			h->code = p + o;
			h->pay = p + o + 4;
			h->payn = n - o - 4;
			h->comma = false;
			return 0;
		}
	}
	/* comma layout: id "," code ("," | end) */
	const char *c = memchr(p, ',', n < 22 ? n : 22);
	if (c == NULL)
		return -1;
	size_t k = (size_t)(c - p);
	if (k == 0 || !id_ok(p, k) || n < k + 5 || !any_code(p + k + 1))
		return -1;
	if (n > k + 5 && p[k + 5] != ',')
		return -1;
	h->id = p;
	h->idn = k;
	h->code = p + k + 1;
	h->pay = n > k + 5 ? p + k + 6 : p + n;
	h->payn = n > k + 5 ? n - k - 6 : 0;
	h->comma = true;
	return 0;
}

static bool
code_is(const struct head *h, const char *c)
{
	return memcmp(h->code, c, 4) == 0;
}

/* ---- replies and ids --------------------------------------------------- */

static size_t
put(uint8_t *out, size_t cap, size_t at, const void *s, size_t n)
{
	if (at + n > cap)
		return cap + 1;
	memcpy(out + at, s, n);
	return at + n;
}

size_t
tk_tk103_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	struct head h;
	const char *tail;
	size_t tn;
	char buf[8];

	if (head(f, n, &h) != 0 || h.comma)
		return 0;	/* Traccar sends nothing to comma-form logins */
	if (code_is(&h, "BP00")) {
		tail = "AP01HSO";
		tn = 7;
	} else if (code_is(&h, "BP05")) {
		tail = "AP05";
		tn = 4;
	} else if (code_is(&h, "BO01") && h.payn > 0 && isdig((unsigned char)h.pay[0])) {
		memcpy(buf, "AS01", 4);
		buf[4] = h.pay[0];
		tail = buf;
		tn = 5;
	} else
		return 0;
	size_t at = put(out, cap, 0, "(", 1);
	if (at <= cap)
		at = put(out, cap, at, h.id, h.idn);
	if (at <= cap)
		at = put(out, cap, at, tail, tn);
	if (at <= cap)
		at = put(out, cap, at, ")", 1);
	return at <= cap ? at : 0;
}

size_t
tk_tk103_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	struct head h;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (head(f, n, &h) != 0)
		return 0;
	if (h.idn >= cap)
		return 0;
	return tk_strlcpyn(out, cap, h.id, h.idn);
}

/* ---- decoding ---------------------------------------------------------- */

#define SPAN(p, n)	((struct tk_span){(p), (n)})

/* Start a record of this frame's device. */
static struct tk_record *
rec(struct tk_dctx *c, const struct head *h, enum tk_rtype t)
{
	tk_dctx_begin(c, t);
	tk_rec_set_id(c->r, h->id, h->idn);
	return c->r;
}

/* Decimal with surrounding spaces allowed (" 46.0", " 87.31"). */
static int
dec_sp(const char *p, size_t n, double *out)
{
	struct tk_span s = tk_span_trim(SPAN(p, n));
	return tk_parse_dec(s.p, s.n, out);
}

static int
uint_n(const char *p, size_t n, uint64_t max, unsigned *out)
{
	uint64_t v;
	if (tk_parse_uint(p, n, max, &v) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* NMEA coordinate, space padded, hemisphere letter h.  "45.78950" (no
 * degree digits, seen from a DW3B firmware) is 0 degrees 45.7895'. */
static int
coord(const char *p, size_t n, char h, double lim, double *out)
{
	struct tk_span s = tk_span_trim(SPAN(p, n));
	const char *dot = memchr(s.p, '.', s.n);
	size_t ip = dot ? (size_t)(dot - s.p) : s.n;
	double v;

	if (s.n == 0)
		return -1;
	if (ip == 2) {
		if (tk_parse_dec(s.p, s.n, &v) != 0 || v >= 60)
			return -1;
		v /= 60.0;
	} else if (tk_parse_nmea(s.p, s.n, &v) != 0)
		return -1;
	if (v > lim)
		return -1;
	*out = (h == 'S' || h == 'W') ? -v : v;
	return 0;
}

/*
 * The usual fixed-width NMEA coordinate at p: ideg degree digits, two of
 * minutes, '.', four fraction digits, then the hemisphere letter h1 or h2
 * (e.g. "5237.3913N").  The value tk_parse_nmea gives those bytes, by the
 * same arithmetic, when it is at most lim; false for anything else (the
 * general path decides).  p has at least ideg + 8 bytes.
 */
static inline bool
nmea_fixed(const char *p, int ideg, char h1, char h2, double lim, double *out)
{
	uint64_t dd = 0, m;
	char h = p[ideg + 7];

	if ((h != h1 && h != h2) || p[ideg + 2] != '.')
		return false;
	for (int i = 0; i < ideg + 2; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d > 9)
			return false;
		dd = dd * 10 + d;
	}
	m = dd % 100;
	for (int i = ideg + 3; i < ideg + 7; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d > 9)
			return false;
		m = m * 10 + d;
	}
	double v = (double)m / 1e4;
	if (v >= 60)
		return false;
	v = (double)(dd / 100) + v / 60.0;
	if (v > lim)
		return false;
	*out = h == h2 ? -v : v;
	return true;
}

/* two decimal digits, or -1 */
static inline int
two(const char *p)
{
	unsigned a = (unsigned)(unsigned char)p[0] - '0', b = (unsigned)(unsigned char)p[1] - '0';
	return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* Date (classic YYMMDD or comma DDMMYY) and HHMMSS to a fix time; false
 * (and a warning) when it is no calendar date. */
static bool
fix_time(struct tk_dctx *c, const char *d, bool ddmmyy, const char *t, int64_t *out)
{
	int a = two(d), b = two(d + 2), y = two(d + 4), hh = two(t), mm = two(t + 2),
	    ss = two(t + 4);
	if ((a | b | y | hh | mm | ss) < 0)
		return false;
	int yy = ddmmyy ? y : a, mo = b, dd = ddmmyy ? a : y;
	if (tk_time_utc(2000 + yy, mo, dd, hh, mm, ss, 0, out) != 0) {
		tk_dctx_warn(c, "date %.6s time %.6s is no valid UTC time: fix time left out",
		    d, t);
		return false;
	}
	return true;
}

/* Status characters (docs/protocol/tk103.md, Status characters): the bits Traccar emits without
 * tk103.decodeLow (chars 3-5 only when set). */
static void
status(struct tk_record *r, const char *s)
{
	int n3 = tk_hexval((unsigned char)s[2]);
	int n4 = tk_hexval((unsigned char)s[3]);
	int n5 = tk_hexval((unsigned char)s[4]);
	uint64_t fuel;

	tk_rec_bool(r, "charge", s[0] == '0');
	tk_rec_bool(r, "ignition", s[1] == '1');
	if (n3 & 1) tk_rec_bool(r, "in2", true);
	if (n3 & 2) tk_rec_bool(r, "panic", true);
	if (n3 & 4) tk_rec_bool(r, "out2", true);
	if (n3 & 8) tk_rec_bool(r, "blocked", true);
	if (n4 & 1) tk_rec_bool(r, "hs3", true);
	if (n4 & 2) tk_rec_bool(r, "hs2", true);
	if (n4 & 4) tk_rec_bool(r, "hs1", true);
	if (n4 & 8) tk_rec_bool(r, "door", true);
	if (n5 & 2) tk_rec_bool(r, "ls3", true);
	if (n5 & 4) tk_rec_bool(r, "ls2", true);
	if (n5 & 8) tk_rec_bool(r, "ls1", true);
	if (tk_parse_hex(s + 5, 3, &fuel) == 0)
		tk_rec_int(r, "fuel", (int64_t)fuel);
}

/* [01][01] + 6 hex digits */
static bool
is_status(const char *s, size_t n)
{
	if (n < 8 || (s[0] != '0' && s[0] != '1') || (s[1] != '0' && s[1] != '1'))
		return false;
	for (int i = 2; i < 8; i++)
		if (tk_hexval((unsigned char)s[i]) < 0)
			return false;
	return true;
}

static const char *
bo01_alarm(char d)
{
	switch (d) {
	case '1': return "accident";
	case '2': return "sos";
	case '3': return "vibration";
	case '4': return "lowspeed";
	case '5': return "overspeed";
	case '6': return "geofenceExit";
	default: return NULL;
	}
}

static const char *
bq81_alarm(unsigned t)
{
	static const char *const a[] = {"lowBattery", "overspeed", "idle",
	    "hardAcceleration", "hardBraking", "temperature"};
	return t < 6 ? a[t] : NULL;
}

/* Comma-form event codes, three aliases each (docs/protocol/tk103.md, Message codes). */
enum ev { EV_NONE, EV_ALARM, EV_IGN_ON, EV_IGN_OFF };
static const struct {
	char		 zc[5], dw3[5], dw5[5];
	enum ev		 kind;
	const char	*alarm;
} events[] = {
	{"ZC11", "DW31", "DW51", EV_ALARM, "movement"},
	{"ZC12", "DW32", "DW52", EV_ALARM, "lowBattery"},
	{"ZC13", "DW33", "DW53", EV_ALARM, "powerCut"},
	{"ZC15", "DW35", "DW55", EV_IGN_ON, NULL},
	{"ZC16", "DW36", "DW56", EV_IGN_OFF, NULL},
	{"ZC29", "DW42", "DW62", EV_IGN_ON, NULL},
	{"ZC17", "DW37", "DW57", EV_ALARM, "removing"},
	{"ZC25", "DW3E", "DW5E", EV_ALARM, "sos"},
	{"ZC26", "DW3F", "DW5F", EV_ALARM, "tampering"},
	{"ZC27", "DW40", "DW60", EV_ALARM, "lowPower"},
};

static void
event(struct tk_record *r, const char *code)
{
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		if (memcmp(code, events[i].zc, 4) && memcmp(code, events[i].dw3, 4) &&
		    memcmp(code, events[i].dw5, 4))
			continue;
		if (events[i].kind == EV_ALARM)
			tk_rec_alarm(r, events[i].alarm);
		else
			tk_rec_bool(r, "ignition", events[i].kind == EV_IGN_ON);
		return;
	}
}

/* Six digits that are no calendar date ("000000", "000007"): the date a
 * unit sends before its first fix. */
static bool
no_date(const char *d, bool ddmmyy)
{
	unsigned a, b, y;
	int64_t t;
	if (uint_n(d, 2, 99, &a) || uint_n(d + 2, 2, 99, &b) || uint_n(d + 4, 2, 99, &y))
		return false;
	return tk_time_utc(2000 + (int)(ddmmyy ? y : a), (int)b, (int)(ddmmyy ? a : y),
	    0, 0, 0, 0, &t) != 0;
}

/*
 * Without a date and without a valid fix (V), a position block is no
 * position: the unit has had no fix since it started, and its coordinates
 * (0,0 or whatever it holds) mean nothing.  The record becomes an event
 * of the device that keeps what the block still says (status, odometer,
 * alarm, temperature), with no location, speed or course.
 */
static void
no_position(struct tk_record *r)
{
	r->type = TK_R_EVENT;
	r->has_pos = r->valid = false;
	r->lat = r->lon = 0;
	r->has_speed = r->has_course = r->has_alt = false;
	r->fix_time = TK_TIME_NONE;
}

static void
set_speed(struct tk_record *r, double kmh)
{
	r->speed = kmh * TK_KMH_TO_KN;
	r->has_speed = true;
}

/*
 * The classic fixed-width block (docs/protocol/tk103.md, Position block), from the date on:
 *   YYMMDD [AV] lat [NS] lon [EW] speed(5) HHMMSS course(<=6) [,]status(8)
 *   [,]L<hex odometer> [trailers: +017.7 temperature, T113, DT000 ...]
 * Fills c->r (already begun).  0, or -1 with c->err set.
 */
static int
classic_block(struct tk_dctx *c, const char *p, size_t n)
{
	struct tk_record *r = c->r;
	const char *e = p + n, *date, *q;
	double v;
	int64_t t;

	if (n < 6)
		return tk_dctx_reject(c, "truncated position block");
	date = p;
	p += 6;
	if (p < e && *p == ',')
		p++;
	if (p >= e || (*p != 'A' && *p != 'V'))
		return tk_dctx_reject(c, "position block: no A/V validity after the date");
	r->valid = *p++ == 'A';
	if (p < e && *p == ',')
		p++;
	/* latitude up to N/S, longitude up to E/W (space padding allowed);
	 * the usual "ddmm.mmmmN" and "dddmm.mmmmE" first */
	if (e - p >= 10 && nmea_fixed(p, 2, 'N', 'S', 90, &r->lat)) {
		q = p + 9;
	} else {
		for (q = p; q < e && q - p < 12 && *q != 'N' && *q != 'S'; q++)
			;
		if (q >= e || (*q != 'N' && *q != 'S') ||
		    coord(p, (size_t)(q - p), *q, 90, &r->lat))
			return tk_dctx_reject(c, "position block: bad latitude");
	}
	p = q + 1;
	if (p < e && *p == ',')
		p++;
	if (e - p >= 11 && nmea_fixed(p, 3, 'E', 'W', 180, &r->lon)) {
		q = p + 10;
	} else {
		for (q = p; q < e && q - p < 13 && *q != 'E' && *q != 'W'; q++)
			;
		if (q >= e || (*q != 'E' && *q != 'W') ||
		    coord(p, (size_t)(q - p), *q, 180, &r->lon))
			return tk_dctx_reject(c, "position block: bad longitude");
	}
	p = q + 1;
	if (p < e && *p == ',')
		p++;
	r->has_pos = true;
	/* speed (5), time (6) */
	if (e - p < 11)
		return tk_dctx_reject(c, "position block: truncated after the longitude");
	if (dec_sp(p, 5, &v) != 0 || v < 0 || v > TK103_MAX_KMH)
		return tk_dctx_reject(c, "position block: bad speed '%.5s'", p);
	set_speed(r, v);
	p += 5;
	if (p < e && *p == ',')
		p++;
	if (e - p < 6)
		return tk_dctx_reject(c, "position block: truncated time");
	bool nofix = !r->valid && no_date(date, false);
	if (nofix)
		;	/* no fix since power-on: not a position (no_position) */
	else if (fix_time(c, date, false, p, &t))
		r->fix_time = t;
	else if (c->warn[0] == '\0')
		return tk_dctx_reject(c, "position block: bad date/time");
	p += 6;
	/* course: up to 6 of [ 0-9.], the longest that leaves a status */
	size_t cl = 0;
	while (cl < 6 && p + cl < e && (p[cl] == ' ' || p[cl] == '.' || isdig((unsigned char)p[cl])))
		cl++;
	size_t use = cl;
	for (size_t k = cl; k > 0; k--) {
		const char *s = p + k;
		if (s < e && *s == ',')
			s++;
		if (is_status(s, (size_t)(e - s))) {
			use = k;
			break;
		}
	}
	if (use > 0) {
		if (dec_sp(p, use, &v) != 0 || v < 0 || v > 360)
			return tk_dctx_reject(c, "position block: bad course '%.*s'", (int)use, p);
		r->course = v;
		r->has_course = true;
	}
	p += use;
	if (p < e && *p == ',')
		p++;
	if (is_status(p, (size_t)(e - p))) {
		status(r, p);
		p += 8;
	}
	if (p < e && *p == ',')
		p++;
	if (p < e && *p == 'L') {
		size_t k = 0;
		uint64_t odo;
		p++;
		while (k < 8 && p + k < e && tk_hexval((unsigned char)p[k]) >= 0)
			k++;
		if (k > 0 && tk_parse_hex(p, k, &odo) == 0)
			tk_rec_int(r, "odometer", (int64_t)odo);
		p += k;
	}
	/* trailers: the temperature "+017.7" (Traccar never captures it) */
	for (; p < e; p++) {
		if (*p != '+' && *p != '-')
			continue;
		size_t k = 1;
		while (p + k < e && (isdig((unsigned char)p[k]) || p[k] == '.'))
			k++;
		if (k > 1 && tk_parse_dec(p, k, &v) == 0) {
			tk_rec_num(r, "temp1", v, 1);
			break;
		}
	}
	if (nofix)
		no_position(r);
	return 0;
}

/* Leading digits before the date: an IMEI (BP05), an alarm digit (BO01). */
static size_t
digits(const char *p, size_t n)
{
	size_t k = 0;
	while (k < n && isdig((unsigned char)p[k]))
		k++;
	return k;
}

/*
 * Where a classic position block starts inside an answer's fields
 * ("BP02,G,2,170304A6015.7466N..."): right after a ',', six date digits,
 * A or V, and a latitude digit or space.  n when there is none.
 */
static size_t
find_block(const char *p, size_t n)
{
	for (size_t i = 1; i + 8 <= n; i++)
		if (p[i - 1] == ',' && digits(p + i, 6) == 6 &&
		    (p[i + 6] == 'A' || p[i + 6] == 'V') &&
		    (isdig((unsigned char)p[i + 7]) || p[i + 7] == ' '))
			return i;
	return n;
}

/* A classic position: [prefix digits] + block.  pre and pren receive the prefix. */
static int
classic_pos(struct tk_dctx *c, const char *p, size_t n, const char **pre, size_t *pren)
{
	if (n && *p == ',') {
		p++;
		n--;
	}
	size_t k = digits(p, n);
	if (k < 6)
		return tk_dctx_reject(c, "position block: no date");
	*pre = p;
	*pren = k - 6;
	return classic_block(c, p + k - 6, n - (k - 6));
}

/* Brace cell list: {mcc,mnc,lac,cid}\n... then ,<8 hex odometer>. */
static int
brace_cells(struct tk_dctx *c, const char *p, size_t n)
{
	struct tk_record *r = c->r;
	const char *e = p + n;
	unsigned got = 0;

	while (p < e) {
		const char *o = memchr(p, '{', (size_t)(e - p));
		if (o == NULL)
			break;
		const char *cl = memchr(o, '}', (size_t)(e - o));
		if (cl == NULL)
			return tk_dctx_reject(c, "cell list: '{' without '}'");
		struct tk_span f[5];
		uint64_t mcc, mnc, lac, cid;
		if (tk_split(o + 1, (size_t)(cl - o - 1), ',', f, 5) != 4 ||
		    tk_parse_uint(f[0].p, f[0].n, 999, &mcc) || tk_parse_uint(f[1].p, f[1].n, 999, &mnc) ||
		    tk_parse_uint(f[2].p, f[2].n, UINT32_MAX, &lac) ||
		    tk_parse_uint(f[3].p, f[3].n, UINT64_MAX, &cid))
			return tk_dctx_reject(c, "cell list: bad {mcc,mnc,lac,cid}");
		struct tk_cell t = {.mcc = (uint16_t)mcc, .mnc = (uint16_t)mnc, .has_mcc = true,
		    .lac = (uint32_t)lac, .cid = cid};
		tk_rec_cell(r, &t);
		got++;
		p = cl + 1;
	}
	if (got == 0)
		return tk_dctx_reject(c, "cell list: no cells");
	while (p < e && (tk_is_ws((unsigned char)*p) || *p == ','))
		p++;
	uint64_t odo;
	if (e - p >= 8 && tk_parse_hex(p, 8, &odo) == 0)
		tk_rec_int(r, "odometer", (int64_t)odo);
	return 0;
}

/* BZ00 ,mcc,mnc,lac,cid,x[,lac,cid,x]... (hex lac/cid) */
static int
bz00_list(struct tk_dctx *c, const char *p, size_t n)
{
	struct tk_span f[3 + 3 * TK_CELL_MAX];
	uint64_t mcc, mnc, lac, cid;
	size_t nf;

	if (n && *p == ',') {
		p++;
		n--;
	}
	nf = tk_split(p, n, ',', f, sizeof(f) / sizeof(f[0]));
	if (nf > sizeof(f) / sizeof(f[0]))
		nf = sizeof(f) / sizeof(f[0]);
	if (nf < 4 || tk_parse_uint(f[0].p, f[0].n, 999, &mcc) ||
	    tk_parse_uint(f[1].p, f[1].n, 999, &mnc))
		return tk_dctx_reject(c, "BZ00: bad mcc/mnc");
	for (size_t i = 2; i + 1 < nf; i += 3) {
		if (tk_parse_hex(f[i].p, f[i].n, &lac) || lac > UINT32_MAX ||
		    tk_parse_hex(f[i + 1].p, f[i + 1].n, &cid)) {
			if (i == 2)
				return tk_dctx_reject(c, "BZ00: bad lac/cid");
			break;
		}
		struct tk_cell t = {.mcc = (uint16_t)mcc, .mnc = (uint16_t)mnc, .has_mcc = true,
		    .lac = (uint32_t)lac, .cid = cid};
		tk_rec_cell(c->r, &t);
	}
	return 0;
}

#define CELLKEYS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
	X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)
#define CK(i) "batteryCell" #i,
#define TK(i) "batteryTemp" #i,
static const char *const cellkey[24] = { CELLKEYS(CK) };
static const char *const tempkey[24] = { CELLKEYS(TK) };

/*
 * BS50: the BMS record as hex.  The layout is inferred from the one vector:
 * byte 0 header, 1..  , 2..49 24 cell voltages (mV, little endian), and the
 * battery temperatures (degrees C + 40) at bytes 75 and 76.
 */
static int
bs50(struct tk_dctx *c, const char *p, size_t n)
{
	uint8_t b[256];
	long k = tk_hex_decode(p, n, b, sizeof(b));
	if (k < 77)
		return tk_dctx_reject(c, "BS50: %s", k < 0 ? "bad hex" : "too short");
	for (int i = 0; i < 24; i++) {
		unsigned mv = (unsigned)b[2 + 2 * i] | (unsigned)b[3 + 2 * i] << 8;
		if (mv)
			tk_rec_num(c->r, cellkey[i], mv / 1000.0, 3);
	}
	tk_rec_int(c->r, tempkey[0], (int)b[75] - 40);
	tk_rec_int(c->r, tempkey[1], (int)b[76] - 40);
	return 0;
}

/* BS51: "id:hex," pairs, Daly-style BMS data (0x90 totals, 0x91 cell
 * min/max, 0x92 temperature min/max, 0x93 state, 0x94 counts, 0x95 cell
 * voltages, 0x96 cell temperatures). */
static int
bs51(struct tk_dctx *c, const char *p, size_t n)
{
	struct tk_record *r = c->r;
	struct tk_span f[16];
	size_t nf = tk_split(p, n, ',', f, 16);
	unsigned ntemp = 24, got = 0;

	if (nf > 16)
		nf = 16;
	for (size_t i = 0; i < nf; i++) {
		uint8_t b[64];
		uint64_t key;
		if (f[i].n < 4 || f[i].p[2] != ':' || tk_parse_hex(f[i].p, 2, &key))
			continue;
		long k = tk_hex_decode(f[i].p + 3, f[i].n - 3, b, sizeof(b));
		if (k < 8)
			continue;
		got++;
		switch (key) {
		case 0x90:
			tk_rec_num(r, "battery", (b[0] << 8 | b[1]) / 10.0, 1);
			tk_rec_num(r, "batteryCurrent", ((b[4] << 8 | b[5]) - 30000) / 10.0, 1);
			tk_rec_num(r, "batteryLevel", (b[6] << 8 | b[7]) / 10.0, 1);
			break;
		case 0x91:
			tk_rec_num(r, "batteryCellMax", (b[0] << 8 | b[1]) / 1000.0, 3);
			tk_rec_num(r, "batteryCellMin", (b[3] << 8 | b[4]) / 1000.0, 3);
			break;
		case 0x92:
			tk_rec_int(r, "batteryTempMax", b[0] - 40);
			tk_rec_int(r, "batteryTempMin", b[2] - 40);
			break;
		case 0x93:
			tk_rec_bool(r, "charge", b[0] == 1);
			tk_rec_int(r, "batteryCapacity",
			    (int64_t)((uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | b[6] << 8 | b[7]));
			break;
		case 0x94:
			ntemp = b[1];
			break;
		case 0x95:
			for (long j = 0; j + 7 < k + 1 && j + 6 < k; j += 8) {
				unsigned fr = b[j];
				for (unsigned m = 0; m < 3 && fr >= 1; m++) {
					unsigned idx = (fr - 1) * 3 + m;
					unsigned mv = (unsigned)b[j + 1 + 2 * m] << 8 | b[j + 2 + 2 * m];
					if (idx < 24 && mv)
						tk_rec_num(r, cellkey[idx], mv / 1000.0, 3);
				}
			}
			break;
		case 0x96:
			for (unsigned m = 0; m < 7 && b[0] >= 1; m++) {
				unsigned idx = (b[0] - 1u) * 7 + m;
				if (idx < 24 && idx < ntemp && b[1 + m])
					tk_rec_int(r, tempkey[idx], b[1 + m] - 40);
			}
			break;
		default:
			break;
		}
	}
	if (got == 0)
		return tk_dctx_reject(c, "BS51: no key:hex pairs");
	return 0;
}

/* "$text$" of a ZC03 result, or the rest when unterminated. */
static void
result_text(struct tk_dctx *c, const char *p, size_t n)
{
	const char *a = memchr(p, '$', n);
	if (a == NULL) {
		struct tk_span s = tk_span_trim(SPAN(p, n));
		if (s.n)
			tk_rec_str(c->r, "result", s.p, s.n);
		return;
	}
	a++;
	const char *e = p + n;
	const char *b = e;
	while (b > a && b[-1] != '$')
		b--;
	if (b == a) {
		tk_dctx_warn(c, "result text without its closing '$'");
		b = e + 1;
	}
	tk_rec_str(c->r, "result", a, (size_t)(b - 1 - a));
}

/* Comma-form GPS: DDMMYY,A|V,lat+hem,lon+hem,speed,HHMMSS,course[,alt][,sat]
 * [,status][,Lodometer]. */
static int
comma_pos(struct tk_dctx *c, struct tk_span *f, size_t nf)
{
	struct tk_record *r = c->r;
	double v;
	int64_t t;

	if (nf < 7 || f[0].n != 6 || f[1].n != 1 || (f[1].p[0] != 'A' && f[1].p[0] != 'V'))
		return tk_dctx_reject(c, "comma position: expected DDMMYY,A|V,lat,lon,speed,HHMMSS,course");
	r->valid = f[1].p[0] == 'A';
	if (f[2].n < 2 || coord(f[2].p, f[2].n - 1, f[2].p[f[2].n - 1], 90, &r->lat) ||
	    (f[2].p[f[2].n - 1] != 'N' && f[2].p[f[2].n - 1] != 'S'))
		return tk_dctx_reject(c, "comma position: bad latitude");
	if (f[3].n < 2 || coord(f[3].p, f[3].n - 1, f[3].p[f[3].n - 1], 180, &r->lon) ||
	    (f[3].p[f[3].n - 1] != 'E' && f[3].p[f[3].n - 1] != 'W'))
		return tk_dctx_reject(c, "comma position: bad longitude");
	r->has_pos = true;
	if (dec_sp(f[4].p, f[4].n, &v) != 0 || v < 0 || v > TK103_MAX_KMH)
		return tk_dctx_reject(c, "comma position: bad speed");
	set_speed(r, v);
	if (f[5].n != 6)
		return tk_dctx_reject(c, "comma position: bad time");
	bool nofix = !r->valid && no_date(f[0].p, true);
	if (nofix)
		;	/* no fix since power-on: not a position (no_position) */
	else if (fix_time(c, f[0].p, true, f[5].p, &t))
		r->fix_time = t;
	else if (c->warn[0] == '\0')
		return tk_dctx_reject(c, "comma position: bad date/time");
	if (dec_sp(f[6].p, f[6].n, &v) != 0 || v < 0 || v > 360)
		return tk_dctx_reject(c, "comma position: bad course");
	r->course = v;
	r->has_course = true;
	int nnum = 0;
	for (size_t i = 7; i < nf; i++) {
		uint64_t odo;
		if (f[i].n == 8 && is_status(f[i].p, 8))
			status(r, f[i].p);
		else if (f[i].n > 1 && f[i].n <= 9 && f[i].p[0] == 'L' &&
		    tk_parse_hex(f[i].p + 1, f[i].n - 1, &odo) == 0)
			tk_rec_int(r, "odometer", (int64_t)odo);
		else if (nnum == 0 && dec_sp(f[i].p, f[i].n, &v) == 0) {
			r->alt = v;
			r->has_alt = true;
			nnum++;
		} else if (nnum == 1 && tk_parse_uint(f[i].p, f[i].n, 99, &odo) == 0) {
			tk_rec_int(r, "sat", (int64_t)odo);
			nnum++;
		}
	}
	if (nofix)
		no_position(r);
	return 0;
}

/* DW5x: mcc,mnc,lac,cid,n,[mac*rssi*chan,]xn,DDMMYY,HHMMSS (decimal). */
static int
lbs_wifi(struct tk_dctx *c, struct tk_span *f, size_t nf)
{
	struct tk_record *r = c->r;
	uint64_t mcc, mnc, lac, cid, nw;
	int64_t t;

	if (nf < 7 || tk_parse_uint(f[0].p, f[0].n, 999, &mcc) ||
	    tk_parse_uint(f[1].p, f[1].n, 999, &mnc) ||
	    tk_parse_uint(f[2].p, f[2].n, UINT32_MAX, &lac) ||
	    tk_parse_uint(f[3].p, f[3].n, UINT64_MAX, &cid) ||
	    tk_parse_uint(f[4].p, f[4].n, 64, &nw) || nf != 7 + nw)
		return tk_dctx_reject(c, "LBS/WiFi: expected mcc,mnc,lac,cid,n,<n access points>,DDMMYY,HHMMSS");
	struct tk_cell cl = {.mcc = (uint16_t)mcc, .mnc = (uint16_t)mnc, .has_mcc = true,
	    .lac = (uint32_t)lac, .cid = cid};
	tk_rec_cell(r, &cl);
	for (size_t i = 0; i < nw; i++) {
		struct tk_span *w = &f[5 + i];
		struct tk_span a[4];
		struct tk_wifi wf = {.channel = -1};
		size_t na = tk_split(w->p, w->n, '*', a, 4);
		if (na < 1 || a[0].n != 17)
			return tk_dctx_reject(c, "LBS/WiFi: bad access point '%.*s'",
			    (int)(w->n > 40 ? 40 : w->n), w->p);
		for (int b = 0; b < 6; b++) {
			if ((b < 5 && a[0].p[3 * b + 2] != ':') ||
			    tk_hex_decode(a[0].p + 3 * b, 2, &wf.mac[b], 1) != 1)
				return tk_dctx_reject(c, "LBS/WiFi: bad MAC address");
		}
		double v;
		if (na >= 2 && tk_parse_dec(a[1].p, a[1].n, &v) == 0 && v > -200 && v < 200) {
			wf.rssi = (int16_t)v;
			wf.has_rssi = true;
		}
		uint64_t ch;
		if (na >= 3 && tk_parse_uint(a[2].p, a[2].n, 255, &ch) == 0)
			wf.channel = (int16_t)ch;
		tk_rec_wifi(r, &wf);
	}
	struct tk_span *d = &f[5 + nw], *tm = &f[6 + nw];
	if (d->n == 6 && tm->n == 6 && fix_time(c, d->p, true, tm->p, &t))
		r->device_time = t;
	return 0;
}

static int
decode_comma(struct tk_dctx *c, const struct head *h)
{
	struct tk_span f[3 + 64 + 8];
	size_t max = sizeof(f) / sizeof(f[0]);
	size_t nf = tk_split(h->pay, h->payn, ',', f, max);
	struct tk_record *r;
	int64_t t;

	if (nf > max)
		return tk_dctx_reject(c, "too many fields (%zu)", nf);
	if (code_is(h, "ZC20")) {
		uint64_t lvl, bat, pwr, ins;
		static const int pct[7] = {-1, -1, 10, 20, 50, 80, 100};
		if (nf < 6 || f[0].n != 6 || f[1].n != 6 ||
		    tk_parse_uint(f[2].p, f[2].n, 255, &lvl) ||
		    tk_parse_uint(f[3].p, f[3].n, 65535, &bat) ||
		    tk_parse_uint(f[4].p, f[4].n, 65535, &pwr) ||
		    tk_parse_uint(f[5].p, f[5].n, 255, &ins))
			return tk_dctx_reject(c, "ZC20: expected DDMMYY,HHMMSS,level,battery,power,installed");
		r = rec(c, h, TK_R_EVENT);
		if (fix_time(c, f[0].p, true, f[1].p, &t))
			r->device_time = t;
		if (lvl < 7 && pct[lvl] >= 0)
			tk_rec_int(r, "batteryLevel", pct[lvl]);
		if (bat != 65535)
			tk_rec_num(r, "battery", (double)bat / 100.0, 2);
		if (pwr != 65535)
			tk_rec_num(r, "power", (double)pwr / 10.0, 1);
		if (ins == 0 || ins == 1)
			tk_rec_bool(r, "installed", ins == 1);
		return tk_dctx_emit(c) < 0 ? 0 : 0;
	}
	if (code_is(h, "ZC03")) {
		r = rec(c, h, TK_R_REPLY);
		if (nf >= 3 && f[0].n == 6 && f[1].n == 6 && fix_time(c, f[0].p, true, f[1].p, &t))
			r->device_time = t;
		result_text(c, h->pay, h->payn);
		tk_dctx_emit(c);
		return 0;
	}
	bool gps = nf >= 2 && f[0].n == 6 && f[1].n == 1;
	if (code_is(h, "BP05")) {
		rec(c, h, TK_R_LOGIN);
		if (tk_dctx_emit(c) < 0)
			return 0;
	}
	if (gps) {
		r = rec(c, h, TK_R_POSITION);
		if (comma_pos(c, f, nf) < 0)
			return -1;
		event(r, h->code);
		tk_dctx_emit(c);
		return 0;
	}
	if (h->code[0] == 'D' && h->code[1] == 'W') {
		r = rec(c, h, TK_R_EVENT);
		if (lbs_wifi(c, f, nf) < 0)
			return -1;
		event(r, h->code);
		tk_dctx_emit(c);
		return 0;
	}
	if (code_is(h, "BP05") || h->code[0] == 'Z')
		return tk_dctx_reject(c, "%.4s: no position in the frame", h->code);
	r = rec(c, h, TK_R_REPLY);
	result_text(c, h->pay, h->payn);
	tk_dctx_emit(c);
	return 0;
}

static bool
is_vin(const char *p, size_t n)
{
	return n == 17 && id_ok(p, n);
}

static int
decode_classic(struct tk_dctx *c, const struct head *h)
{
	const char *p = h->pay, *pre = NULL;
	size_t n = h->payn, pren = 0;
	struct tk_record *r;

	if (code_is(h, "BP00")) {
		rec(c, h, TK_R_HEARTBEAT);
		tk_dctx_emit(c);
		return 0;
	}
	if (code_is(h, "BP05")) {
		rec(c, h, TK_R_LOGIN);
		if (tk_dctx_emit(c) < 0)
			return 0;
		if (memchr(p, '{', n)) {
			r = rec(c, h, TK_R_EVENT);
			if (brace_cells(c, p, n) < 0)
				return -1;
			tk_dctx_emit(c);
			return 0;
		}
		r = rec(c, h, TK_R_POSITION);
		if (classic_pos(c, p, n, &pre, &pren) < 0)
			return -1;
		if (pren != 15)
			tk_dctx_warn(c, "BP05: %zu digits before the date, 15 expected", pren);
		tk_dctx_emit(c);
		return 0;
	}
	if (code_is(h, "BZ00")) {
		r = rec(c, h, TK_R_EVENT);
		if ((memchr(p, '{', n) ? brace_cells(c, p, n) : bz00_list(c, p, n)) < 0)
			return -1;
		tk_dctx_emit(c);
		return 0;
	}
	if (code_is(h, "BV00") && is_vin(p, n)) {
		r = rec(c, h, TK_R_EVENT);
		tk_rec_str(r, "vin", p, n);
		tk_dctx_emit(c);
		return 0;
	}
	if (code_is(h, "BQ86")) {
		tk_dctx_warn(c, "BQ86 (OBD data) is not decoded");
		return 0;
	}
	if (code_is(h, "BS50") || code_is(h, "BS51")) {
		r = rec(c, h, TK_R_EVENT);
		if ((h->code[3] == '0' ? bs50(c, p, n) : bs51(c, p, n)) < 0)
			return -1;
		tk_dctx_emit(c);
		return 0;
	}
	if (code_is(h, "BQ81")) {
		/* ,ALARM,<type>,<value>,<position block> */
		struct tk_span f[5];
		uint64_t ty;
		size_t nf = tk_split(p, n, ',', f, 5);
		if (nf < 5 || f[0].n != 0 || tk_parse_uint(f[2].p, f[2].n, 99, &ty))
			return tk_dctx_reject(c, "BQ81: expected ,ALARM,type,value,position");
		r = rec(c, h, TK_R_POSITION);
		const char *bp = f[4].p;
		if (classic_block(c, bp, (size_t)(p + n - bp)) < 0)
			return -1;
		const char *a = bq81_alarm((unsigned)ty);
		if (a)
			tk_rec_alarm(r, a);
		tk_dctx_emit(c);
		return 0;
	}
	bool posc = code_is(h, "BR00") || code_is(h, "BR01") || code_is(h, "BR02") ||
	    code_is(h, "BP04") || code_is(h, "BO01");
	/* anything else: a position if one parses, else a command answer */
	size_t k = digits(p + (n && *p == ','), n - (n && *p == ','));
	if (posc || (k >= 6 && k < n && (p[k] == 'A' || p[k] == 'V'))) {
		r = rec(c, h, TK_R_POSITION);
		if (classic_pos(c, p, n, &pre, &pren) < 0)
			return -1;
		if (code_is(h, "BO01")) {
			const char *a = pren == 1 ? bo01_alarm(pre[0]) : NULL;
			if (a)
				tk_rec_alarm(r, a);
			else if (pren != 1)
				tk_dctx_warn(c, "BO01 without its alarm digit");
		}
		tk_dctx_emit(c);
		return 0;
	}
	/* an answer (BP02 ...) whose fields carry a position block: a
	 * position, with the fields before the block as its result */
	size_t b = find_block(p, n);
	struct tk_span s = tk_span_trim(SPAN(p, b));
	while (s.n && s.p[0] == ',') {
		s.p++;
		s.n--;
	}
	while (s.n && s.p[s.n - 1] == ',')
		s.n--;
	if (b < n) {
		r = rec(c, h, TK_R_POSITION);
		if (s.n)
			tk_rec_str(r, "result", s.p, s.n);
		if (classic_block(c, p + b, n - b) < 0)
			return -1;
		tk_dctx_emit(c);
		return 0;
	}
	r = rec(c, h, TK_R_REPLY);
	s = tk_span_trim(SPAN(p, n));
	if (s.n)
		tk_rec_str(r, "result", s.p, s.n);
	tk_dctx_emit(c);
	return 0;
}

int
tk_tk103_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	struct head h;

	if (n == 0)
		return tk_dctx_reject(c, "empty frame");
	if (head(f, n, &h) != 0)
		return tk_dctx_reject(c, "no device id and message code at the start of the frame");
	if (h.idn < sizeof(c->s->id))
		tk_strlcpyn(c->s->id, sizeof(c->s->id), h.id, h.idn);
	return h.comma ? decode_comma(c, &h) : decode_classic(c, &h);
}
