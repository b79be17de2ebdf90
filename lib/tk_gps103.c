/*
 * tk_gps103.c: the gps103 dialect (Coban "imei:" sentences): framing,
 * the replies a server owes, the device id of a frame, decoding, and
 * photo reassembly.  See docs/protocol/gps103.md.
 *
 * Replies (docs/protocol/gps103.md, Login, heartbeat and their replies), and where this differs from Traccar:
 *   "##,imei:<IMEI>,A;"        LOAD   (also "imei:<IMEI>,A;" up to 30 bytes)
 *   "<IMEI>;" (bare digits)    ON
 *   "<IMEI>imei:<IMEI>,..."    ON, then the data is decoded
 *   "imei:<IMEI>,help me,..."  "**,imei:<IMEI>,E;"  (after ON when glued)
 * Traccar answers LOAD to any frame of at most 30 bytes containing "imei:",
 * so it also answers short data lines such as "imei:123451234512345,L,*".
 * We answer LOAD only to a real login (the "##," form, or a bare "A"
 * keyword); a short data line gets no reply and is decoded as what it is.
 * Traccar answers ON to anything starting with a digit; we answer ON only
 * when the digits are a heartbeat (digits then end, delimiter or "imei:").
 *
 * Records: a position for every F sentence and the '*' format; an event
 * for L sentences (with the cell tower when LAC/CID are given), OBD data
 * and keyword-only lines; a reply (result=<keyword>) for a command
 * acknowledgement without a fix ("jt", "qt" ..., or an echoed letter); a
 * login for "##,imei:"; a heartbeat for a bare IMEI (a glued heartbeat is
 * emitted before its data); a photo when the last "vr" chunk arrives
 * (imageSize always, image = the file name when s->photo_dir is set).
 * Choices where Traccar is silent or differs: without a usable UTC time
 * ("31.0") the local time is used, with its own seconds when it has them;
 * fractional UTC seconds are kept as milliseconds; the keyword is applied after the I/O fields ("acc off" wins over an ACC
 * field of 1); a DTC code in the fuel fields becomes dtcs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_file.h"
#include "tk_util.h"
#include "tk_word_int.h"

#define GPS103_FRAME_MAX	32768
#define GPS103_IMEI_MAX		20	/* digits in an id we accept */
#define GPS103_HB_MIN		10	/* digits in a bare heartbeat id */

/* ---- framing (docs/protocol/gps103.md, Framing) --------------------------------------- */

/* Frame delimiters: '\n' (which also ends "\r\n"), ';' and '*'. */
static const uint8_t delim[256] = { ['\n'] = 1, [';'] = 1, ['*'] = 1 };

static inline bool
isdig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
lit(const uint8_t *p, size_t n, const char *s, size_t sl)
{
	return n >= sl && memcmp(p, s, sl) == 0;
}
#define LIT(p, n, s)	lit((p), (n), (s), sizeof(s) - 1)

/* The first delimiter in p[j..lim), or lim.  Eight bytes at a time: a
 * byte with bit 5 forced on is '*' for '*' and '\n' alone. */
static size_t
find_delim(const uint8_t *p, size_t j, size_t lim)
{
	for (; lim - j >= 8; j += 8) {
		uint64_t w = tk_word(p + j);
		uint64_t m = tk_word_eq(w | TK_W_ONES * 0x20, '*') | tk_word_eq(w, ';');
		if (m)
			return j + tk_word_first(m);
	}
	while (j < lim && !delim[p[j]])
		j++;
	return j;
}

/*
 * Where a gps103 frame starts inside segment p[0..n): at "imei:", "##,"
 * or a digit; junk before "imei:" is skipped (keeping a glued heartbeat
 * or a "##," just before it).  Returns n when the segment is all junk.
 */
static size_t
frame_start(const uint8_t *p, size_t n)
{
	if (isdig(p[0]) || LIT(p, n, "imei:") || LIT(p, n, "##,"))
		return 0;
	for (size_t k = 1; k + 5 <= n; k++) {
		if (p[k] != 'i' || memcmp(p + k, "imei:", 5) != 0)
			continue;
		if (k >= 3 && memcmp(p + k - 3, "##,", 3) == 0)
			return k - 3;
		size_t s = k;
		while (s > 0 && isdig(p[s - 1]))
			s--;
		return s;
	}
	return n;
}

enum tk_scan
tk_gps103_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t i = 0;

	o->skip = o->len = 0;
	o->junk = false;
	for (;;) {
		while (i < n && tk_is_ws(p[i]))
			i++;
		if (i == n) {
			o->skip = n;
			return TK_SCAN_MORE;
		}
		size_t start = i, lim = n - start > GPS103_FRAME_MAX ?
		    start + GPS103_FRAME_MAX : n, j = find_delim(p, start, lim);
		size_t end;
		if (j < lim) {
			end = j + 1;		/* the delimiter stays in the frame */
		} else if (lim < n) {
			/* no delimiter within the maximum frame: junk */
			o->skip = i = lim;
			o->junk = true;
			continue;
		} else if (eof) {
			end = n;		/* a trailing unterminated frame */
		} else {
			o->skip = start;
			return TK_SCAN_MORE;
		}
		size_t k = frame_start(p + start, end - start);
		if (k == end - start) {
			o->skip = i = end;
			o->junk = true;
			continue;
		}
		if (k > 0)
			o->junk = true;
		o->skip = start + k;
		o->len = end - start - k;
		return TK_SCAN_FRAME;
	}
}

/* ---- replies and ids (docs/protocol/gps103.md) ---------------------------- */

/* Digits at p[0..n): their count (stops at GPS103_IMEI_MAX + 1). */
static size_t
digits(const uint8_t *p, size_t n)
{
	size_t k = 0;
	while (k < n && k <= GPS103_IMEI_MAX && isdig(p[k]))
		k++;
	return k;
}

/* Is p[0..n) all digits?  Eight at a time, the last word overlapping. */
static bool
all_digits(const uint8_t *p, size_t n)
{
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (!isdig(p[i]))
				return false;
		return true;
	}
	uint64_t m = tk_word_nondigit(tk_word(p + n - 8));
	for (size_t i = 0; i + 8 < n; i += 8)
		m |= tk_word_nondigit(tk_word(p + i));
	return m == 0;
}

/* Is p[0..n) only delimiters, commas and white space (a frame's end)? */
static bool
at_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!delim[p[i]] && !tk_is_ws(p[i]) && p[i] != ',')
			return false;
	return true;
}

/*
 * The shape of a frame, enough for replies and ids.
 */
struct shape {
	size_t		 hb;		/* leading heartbeat digits (0: none) */
	bool		 login;		/* "##,imei:" */
	const uint8_t	*imei;		/* digits after "imei:" (NULL: none) */
	size_t		 imeilen;
	const uint8_t	*kw;		/* the keyword after the imei (NULL: none) */
	size_t		 kwlen;
	const uint8_t	*rest;		/* from "imei:" on */
	size_t		 restlen;
};

static bool
shape_of(const uint8_t *f, size_t n, struct shape *s)
{
	memset(s, 0, sizeof(*s));
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	if (n == 0)
		return false;
	if (isdig(f[0])) {
		size_t k = 0;
		while (k < n && isdig(f[k]))
			k++;
		if (k > GPS103_IMEI_MAX)
			return false;
		if (LIT(f + k, n - k, "imei:")) {
			s->hb = k;
		} else if (at_end(f + k, n - k)) {
			if (k < GPS103_HB_MIN)
				return false;
			s->hb = k;
			return true;
		} else {
			return false;
		}
		f += k;
		n -= k;
	} else if (LIT(f, n, "##,imei:")) {
		s->login = true;
		f += 3;
		n -= 3;
	} else if (!LIT(f, n, "imei:")) {
		return false;
	}
	s->rest = f;
	s->restlen = n;
	size_t d = digits(f + 5, n - 5);
	if (d == 0 || d > GPS103_IMEI_MAX)
		return false;
	s->imei = f + 5;
	s->imeilen = d;
	size_t k = 5 + d;
	if (k < n && f[k] == ',') {
		k++;
		const uint8_t *c = memchr(f + k, ',', n - k);
		size_t e = c ? (size_t)(c - f) : n;
		while (e > k && (delim[f[e - 1]] || tk_is_ws(f[e - 1])))
			e--;
		s->kw = f + k;
		s->kwlen = e - k;
	}
	return true;
}

static size_t
put(uint8_t *out, size_t cap, size_t at, const void *s, size_t n)
{
	if (at + n > cap)
		return SIZE_MAX;
	memcpy(out + at, s, n);
	return at + n;
}

size_t
tk_gps103_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	struct shape s;
	size_t at = 0;

	if (!shape_of(f, n, &s))
		return 0;
	if (s.hb)
		at = put(out, cap, at, "ON", 2);
	if (s.imei == NULL)
		return at == SIZE_MAX ? 0 : at;
	bool short_login = !s.hb && s.restlen <= 30 && s.kw && s.kwlen == 1 &&
	    s.kw[0] == 'A';
	if (s.login || short_login)
		at = put(out, cap, at, "LOAD", 4);
	else if (s.kw && s.kwlen == 7 && memcmp(s.kw, "help me", 7) == 0) {
		/* acknowledge the SOS so the device stops repeating it */
		at = put(out, cap, at, "**,imei:", 8);
		if (at != SIZE_MAX)
			at = put(out, cap, at, s.imei, s.imeilen);
		if (at != SIZE_MAX)
			at = put(out, cap, at, ",E;", 3);
	}
	return at == SIZE_MAX ? 0 : at;
}

size_t
tk_gps103_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	struct shape s;

	if (cap)
		out[0] = '\0';
	if (cap == 0 || !shape_of(f, n, &s))
		return 0;
	if (s.imei)
		return tk_strlcpyn(out, cap, s.imei, s.imeilen);
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	return tk_strlcpyn(out, cap, f, s.hb);
}

/* ---- decoding -------------------------------------------------------- */

#define GPS103_FIELDS		48	/* fields kept per sentence */
#define TK_PHOTO_MAX		(1u << 20)	/* bytes of one photo */
#define TK_PHOTO_PACKETS	1024	/* packets one photo may announce */

/* A photo being reassembled (docs/protocol/gps103.md, Other sentences): announced by "vtNN",
 * carried by "vr" chunks.  Allocated at the first announcement. */
struct tk_photo {
	uint8_t		*buf;
	size_t		 len, cap;
	unsigned	 packets;	/* announced; 0: none in progress */
	int64_t		 time;		/* of the announcement, for the name */
	char		 id[TK_ID_MAX];
};

void tk_photo_free(struct tk_photo *);
void
tk_photo_free(struct tk_photo *p)
{
	if (p == NULL)
		return;
	free(p->buf);
	free(p);
}

static void
photo_reset(struct tk_photo *p)
{
	p->len = 0;
	p->packets = 0;
}

static struct tk_span
fld(const struct tk_span *f, size_t nf, size_t i)
{
	struct tk_span e = {"", 0};
	return i < nf ? f[i] : e;
}

static bool
span_is(struct tk_span s, const char *l, size_t n)
{
	return s.n == n && memcmp(s.p, l, n) == 0;
}
#define IS(s, l)	span_is((s), (l), sizeof(l) - 1)

static bool
span_pre(struct tk_span s, const char *l, size_t n)
{
	return s.n >= n && memcmp(s.p, l, n) == 0;
}
#define PRE(s, l)	span_pre((s), (l), sizeof(l) - 1)

/* A field for a diagnostic: at most 24 bytes, non-printable bytes as '?'. */
struct shown {
	char	s[28];
};

static struct shown
show(struct tk_span f)
{
	struct shown o;
	size_t n = f.n > 24 ? 24 : f.n;
	for (size_t i = 0; i < n; i++)
		o.s[i] = f.p[i] >= 0x20 && f.p[i] < 0x7f ? f.p[i] : '?';
	memcpy(o.s + n, f.n > n ? "..." : "", f.n > n ? 4 : 1);
	return o;
}

/* Two digits at p. */
static int
d2(const char *p)
{
	return (p[0] - '0') * 10 + (p[1] - '0');
}

/*
 * Local date/time (field 3): YYMMDDhhmm, YYMMDDhhmmss or "YY/MM/DD hh:mm"
 * (any of '/', ' ', ':' between the pairs).  Returns 1 and the parts, 0
 * for "no time" (empty, all zeros, or an impossible date such as the
 * "000000000" of a sentence without a fix), -1 for something else.
 */
struct ltime {
	int	y, mo, d, h, mi, s;
	bool	has_s;
	int64_t	day_ms;		/* midnight of the local date, as if UTC */
};

/* The last local date parsed (YYMMDD) and its midnight: a sentence's
 * date changes once a day (per thread). */
static _Thread_local uint64_t ld_key = UINT64_MAX;
static _Thread_local int64_t ld_ms;
static _Thread_local bool ld_ok;

static int
parse_local(struct tk_span s, struct ltime *t)
{
	char dg[12];
	size_t k = 0;

	if (s.n == 12 && (tk_word_nondigit(tk_word(s.p)) |
	    tk_word_nondigit(tk_word(s.p + 4))) == 0) {
		/* YYMMDDhhmmss, the usual form: as below, the date's midnight
		 * computed once per date */
		uint64_t key = tk_word(s.p) & 0xffffffffffffull;
		if (key == 0x303030303030ull && memcmp(s.p + 6, "000000", 6) == 0)
			return 0;	/* all zeros: no time */
		if (key != ld_key) {
			ld_ok = tk_time_utc(2000 + d2(s.p), d2(s.p + 2), d2(s.p + 4), 0, 0, 0,
			    0, &ld_ms) == 0;
			ld_key = key;
		}
		if (!ld_ok)
			return 0;
		t->y = 2000 + d2(s.p);
		t->mo = d2(s.p + 2);
		t->d = d2(s.p + 4);
		t->h = d2(s.p + 6);
		t->mi = d2(s.p + 8);
		t->s = d2(s.p + 10);
		t->has_s = true;
		t->day_ms = ld_ms;
		if (t->h > 23 || t->mi > 59 || t->s > 60)
			return -1;
		return 1;
	}
	if (s.n == 0)
		return 0;
	if (s.n > 20)
		return -1;
	for (size_t i = 0; i < s.n; i++) {
		char ch = s.p[i];
		if (ch >= '0' && ch <= '9') {
			if (k == sizeof(dg))
				return -1;
			dg[k++] = ch;
		} else if (ch != '/' && ch != ' ' && ch != ':') {
			return -1;
		}
	}
	bool zero = true;
	for (size_t i = 0; i < k; i++)
		zero = zero && dg[i] == '0';
	if (zero)
		return 0;
	if (k != 10 && k != 12)
		return -1;
	t->y = 2000 + d2(dg);
	t->mo = d2(dg + 2);
	t->d = d2(dg + 4);
	t->h = d2(dg + 6);
	t->mi = d2(dg + 8);
	t->has_s = k == 12;
	t->s = t->has_s ? d2(dg + 10) : 0;
	if (tk_time_utc(t->y, t->mo, t->d, 0, 0, 0, 0, &t->day_ms) != 0)
		return 0;
	if (t->h > 23 || t->mi > 59 || t->s > 60)
		return -1;
	return 1;
}

/* UTC time hhmmss[.fff]; false for anything else ("31.0", ""). */
static bool
parse_hms(struct tk_span s, int *h, int *mi, int *sec, int *ms)
{
	if (s.n < 6 || (s.n > 6 && s.p[6] != '.') || s.n > 16)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (i != 6 && (s.p[i] < '0' || s.p[i] > '9'))
			return false;
	*h = d2(s.p);
	*mi = d2(s.p + 2);
	*sec = d2(s.p + 4);
	*ms = 0;
	for (size_t i = 7, m = 100; i < s.n && m; i++, m /= 10)
		*ms += (s.p[i] - '0') * (int)m;
	return *h < 24 && *mi < 60 && *sec <= 60;
}

static bool
num(struct tk_span s, double *v)
{
	return s.n && tk_parse_dec(s.p, s.n, v) == 0;
}

/* Decimals to print for a decimal field: as many as it has (max 6). */
static int
prec(struct tk_span s)
{
	const char *dot = memchr(s.p, '.', s.n);
	if (dot == NULL)
		return 0;
	size_t d = s.n - (size_t)(dot - s.p) - 1;
	return d > 6 ? 6 : (int)d;
}

static bool
put_num(struct tk_record *r, const char *key, struct tk_span s)
{
	double v;
	if (!num(s, &v))
		return false;
	tk_rec_num(r, key, v, prec(s));
	return true;
}

static bool
put_int(struct tk_record *r, const char *key, struct tk_span s)
{
	double v;
	if (!num(s, &v) || memchr(s.p, '.', s.n) != NULL)
		return false;
	tk_rec_int(r, key, (int64_t)v);
	return true;
}

/* "40.39%" or "40.39": the number; false when not a number. */
static bool
put_pct(struct tk_record *r, const char *key, struct tk_span s)
{
	if (s.n && s.p[s.n - 1] == '%')
		s.n--;
	return put_num(r, key, s);
}

/* A DTC such as P0137, U1108: a letter PCBU and four hex digits. */
static bool
is_dtc(struct tk_span s)
{
	if (s.n != 5 || (s.p[0] != 'P' && s.p[0] != 'C' && s.p[0] != 'B' && s.p[0] != 'U'))
		return false;
	for (size_t i = 1; i < 5; i++)
		if (tk_hexval((unsigned char)s.p[i]) < 0)
			return false;
	return true;
}

/* docs/protocol/gps103.md, Keywords: exact keywords to Traccar alarms. */
#define KW(k, a)	{k, sizeof(k) - 1, a}
static const struct {
	const char	*kw;
	size_t		 kwlen;
	const char	*alarm;
} alarms[] = {
	KW("help me", "sos"),
	KW("low battery", "lowBattery"),
	KW("stockade", "geofence"),
	KW("move", "movement"),
	KW("speed", "overspeed"),
	KW("door alarm", "door"),
	KW("ac alarm", "powerCut"),
	KW("accident alarm", "accident"),
	KW("sensor alarm", "vibration"),
	KW("bonnet alarm", "bonnet"),
	KW("footbrake alarm", "footBrake"),
	KW("DTC", "fault"),
};

/* Apply the keyword of a sentence to the record. */
static void
keyword(struct tk_record *r, struct tk_span kw, struct tk_span field4)
{
	if (kw.n == 0 || IS(kw, "tracker"))
		return;
	for (size_t i = 0; i < sizeof(alarms) / sizeof(alarms[0]); i++)
		if (kw.n == alarms[i].kwlen && memcmp(kw.p, alarms[i].kw, kw.n) == 0) {
			tk_rec_alarm(r, alarms[i].alarm);
			return;
		}
	if (IS(kw, "acc on") || IS(kw, "acc off")) {
		tk_rec_bool(r, "ignition", kw.n == 6);
	} else if (PRE(kw, "T:")) {
		tk_rec_alarm(r, "temperature");
		struct tk_span t = {kw.p + 2, kw.n - 2};
		put_num(r, "temp1", t);
	} else if (PRE(kw, "oil")) {
		tk_rec_alarm(r, "fuelLeak");
		if (PRE(kw, "oil ")) {
			struct tk_span t = {kw.p + 4, kw.n - 4};
			put_num(r, "fuel", t);
		}
	} else if (IS(kw, "rfid")) {
		if (field4.n)
			tk_rec_str(r, "driverUniqueId", field4.p, field4.n);
	} else if (IS(kw, "vr") || (PRE(kw, "vt") && kw.n > 2 && isdig((uint8_t)kw.p[2]))) {
		/* photo transfer, handled by the caller */
	} else {
		tk_rec_str(r, "event", kw.p, kw.n);
	}
}

/*
 * A command acknowledgement (docs/protocol/gps103.md, Keywords): the device answers a
 * command letter X with the keyword "xt" ("jt" for J, "qt" for Q ...), or
 * echoes the letter alone in a short line ("imei:<IMEI>,L,*").  "vt" is
 * the photo announcement, not an acknowledgement.
 */
static bool
is_ack(struct tk_span kw)
{
	if (kw.n == 2)
		return kw.p[1] == 't' && kw.p[0] >= 'a' && kw.p[0] <= 'z' && kw.p[0] != 'v';
	return kw.n == 1 && kw.p[0] >= 'A' && kw.p[0] <= 'Z';
}

/* A coordinate: [hem,]number[,hem] starting at field *i. */
static bool
coord(const struct tk_span *f, size_t nf, size_t *i, char pos, char neg, double *out)
{
	struct tk_span s = fld(f, nf, *i);
	char hem = 0;
	bool before = false;

	if (s.n == 1 && (s.p[0] == pos || s.p[0] == neg)) {
		hem = s.p[0];
		before = true;
		s = fld(f, nf, ++*i);
	}
	if (*i >= nf || tk_parse_nmea(s.p, s.n, out) != 0)
		return false;
	++*i;
	if (!before && *i < nf) {
		s = f[*i];
		if (s.n == 1 && (s.p[0] == pos || s.p[0] == neg)) {
			hem = s.p[0];
			++*i;
		} else if (s.n == 0) {
			++*i;	/* hemisphere missing: its empty field */
		}
	}
	if (hem == neg)
		*out = -*out;
	return true;
}

/* The GPS part of an F sentence, from field 5 (UTC time) on. */
static int
regular_fix(struct tk_dctx *c, const struct tk_span *f, size_t nf, int lt_rc,
    const struct ltime *lt)
{
	struct tk_record *r = c->r;
	int h, mi, sec, ms;
	size_t i = 7;
	double lat, lon;

	if (lt_rc < 0)
		return tk_dctx_reject(c, "bad local date/time '%s'", show(f[2]).s);
	bool utc = parse_hms(fld(f, nf, 5), &h, &mi, &sec, &ms);
	if (lt_rc == 1) {
		int64_t t = lt->day_ms + (int64_t)lt->h * 3600000 + (int64_t)lt->mi * 60000;
		if (utc) {
			/* the local-UTC offset, wrapped into (-12 h, +12 h] */
			int delta = (lt->h - h) * 60 + (lt->mi - mi);
			if (delta <= -12 * 60)
				delta += 24 * 60;
			else if (delta > 12 * 60)
				delta -= 24 * 60;
			t += (int64_t)sec * 1000 + ms - (int64_t)delta * 60000;
		} else {
			/* no usable UTC time ("31.0"): the local time as is */
			t += (int64_t)lt->s * 1000;
		}
		r->fix_time = r->device_time = t;
	} else {
		tk_dctx_warn(c, "no date in the sentence: position without a time");
	}
	struct tk_span v = fld(f, nf, 6);
	r->valid = IS(v, "A");
	if (!coord(f, nf, &i, 'N', 'S', &lat) || lat > 90)
		return tk_dctx_reject(c, "bad latitude in field %zu", i + 1);
	if (!coord(f, nf, &i, 'E', 'W', &lon) || lon > 180)
		return tk_dctx_reject(c, "bad longitude in field %zu", i + 1);
	r->lat = lat;
	r->lon = lon;
	r->has_pos = true;
	double d;
	if (num(fld(f, nf, i), &d) && d >= 0) {
		r->speed = d;		/* knots, as sent */
		r->has_speed = true;
	}
	if (num(fld(f, nf, i + 1), &d) && d >= 0 && d <= 360) {
		r->course = d;
		r->has_course = true;
	}
	if (num(fld(f, nf, i + 2), &d)) {
		r->alt = d;
		r->has_alt = true;
	}
	struct tk_span s = fld(f, nf, i + 3);
	if (IS(s, "0") || IS(s, "1"))
		tk_rec_bool(r, "ignition", s.p[0] == '1');
	s = fld(f, nf, i + 4);
	if (IS(s, "0") || IS(s, "1"))
		tk_rec_bool(r, "door", s.p[0] == '1');
	for (size_t k = i + 5; k < nf && k <= i + 7; k++) {
		s = f[k];
		if (is_dtc(s))
			tk_rec_str(r, "dtcs", s.p, s.n);
		else if (k == i + 5 && s.n && s.p[s.n - 1] == '%')
			put_pct(r, "fuel1", s);
		else if (k == i + 6 && s.n && s.p[s.n - 1] == '%')
			put_pct(r, "fuel2", s);
		else if (k == i + 7)
			put_num(r, "temp1", s);
	}
	return 0;
}

/* An L sentence: no fix; maybe a cell tower (LAC and CID in hex). */
static void
regular_lbs(struct tk_record *r, const struct tk_span *f, size_t nf)
{
	uint64_t lac, cid;
	struct tk_span a = fld(f, nf, 7), b = fld(f, nf, 9);

	if (a.n && a.n <= 8 && b.n && b.n <= 16 &&
	    tk_parse_hex(a.p, a.n, &lac) == 0 && tk_parse_hex(b.p, b.n, &cid) == 0) {
		struct tk_cell cell;
		memset(&cell, 0, sizeof(cell));
		cell.lac = (uint32_t)lac;
		cell.cid = cid;
		tk_rec_cell(r, &cell);
	}
}

static int photo_start(struct tk_dctx *, struct tk_span kw);
static int photo_chunk(struct tk_dctx *, const struct tk_span *f, size_t nf);

/* OBD (docs/protocol/gps103.md, Other sentences): an event with the engine's figures. */
static int
obd(struct tk_dctx *c, const struct tk_span *f, size_t nf)
{
	struct tk_record *r = c->r;
	struct ltime lt;

	if (parse_local(fld(f, nf, 2), &lt) == 1)
		r->device_time = lt.day_ms + (int64_t)lt.h * 3600000 +
		    (int64_t)lt.mi * 60000 + (int64_t)lt.s * 1000;
	put_int(r, "odometer", fld(f, nf, 3));
	put_num(r, "fuelConsumption", fld(f, nf, 5));
	struct tk_span s = fld(f, nf, 6);
	uint64_t hours;
	if (s.n && tk_parse_uint(s.p, s.n, 10000000, &hours) == 0)
		tk_rec_int(r, "hours", (int64_t)hours * 3600000);	/* ms, as Traccar */
	put_int(r, "obdSpeed", fld(f, nf, 7));
	put_pct(r, "engineLoad", fld(f, nf, 8));
	put_int(r, "coolantTemp", fld(f, nf, 9));	/* a bare "+" is no value */
	put_pct(r, "throttle", fld(f, nf, 10));
	put_int(r, "rpm", fld(f, nf, 11));
	put_num(r, "battery", fld(f, nf, 12));
	char dtcs[256];
	size_t dl = 0;
	for (size_t k = 13; k < nf; k++) {
		if (f[k].n == 0 || f[k].n > 16)
			continue;
		if (dl + f[k].n + 1 > sizeof(dtcs))
			break;
		if (dl)
			dtcs[dl++] = ' ';
		memcpy(dtcs + dl, f[k].p, f[k].n);
		dl += f[k].n;
	}
	if (dl)
		tk_rec_str(r, "dtcs", dtcs, dl);
	tk_dctx_emit(c);
	return 0;
}

/* The alternative format (docs/protocol/gps103.md, Other sentences), ended by '*'. */
static int
alternative(struct tk_dctx *c, const struct tk_span *f, size_t nf)
{
	struct tk_record *r = c->r;
	struct tk_span t = f[5], d = f[6];
	double lat, lon, v;
	int h, mi, sec, ms;

	if (!parse_hms(t, &h, &mi, &sec, &ms) || d.n != 6)
		return tk_dctx_reject(c, "bad time '%s' or date '%s'", show(t).s,
		    show(d).s);
	uint64_t dd;
	if (tk_parse_uint(d.p, 6, 999999, &dd) != 0 ||
	    tk_time_utc(2000 + d2(d.p + 4), d2(d.p + 2), d2(d.p), h, mi, sec, ms,
	    &r->fix_time) != 0)
		return tk_dctx_reject(c, "bad date '%s'", show(d).s);
	r->device_time = r->fix_time;
	if (!num(f[9], &lat) || !num(f[10], &lon) || fabs(lat) > 90 || fabs(lon) > 180)
		return tk_dctx_reject(c, "bad coordinates '%s,%s'", show(f[9]).s,
		    show(f[10]).s);
	r->lat = lat;
	r->lon = lon;
	r->has_pos = true;
	r->valid = IS(f[8], "1");
	if (num(f[11], &v) && v >= 0) {
		r->speed = v * TK_KMH_TO_KN;
		r->has_speed = true;
	}
	if (num(f[12], &v) && v >= 0 && v <= 360) {
		r->course = v;
		r->has_course = true;
	}
	if (num(f[13], &v)) {
		r->alt = v;
		r->has_alt = true;
	}
	if (f[2].n && f[2].p[0] != '-')
		tk_rec_str(r, "event", f[2].p, f[2].n);
	put_int(r, "rssi", f[7]);
	put_num(r, "hdop", f[14]);
	put_int(r, "sat", f[15]);
	if (IS(f[16], "0") || IS(f[16], "1"))
		tk_rec_bool(r, "ignition", f[16].p[0] == '1');
	if (IS(f[17], "0") || IS(f[17], "1"))
		tk_rec_bool(r, "charge", f[17].p[0] == '1');
	if (nf > 18 && f[18].n && f[18].p[0] != '-')
		tk_rec_str(r, "error", f[18].p, f[18].n);
	tk_dctx_emit(c);
	return 0;
}

/* Decode one "imei:..." sentence (s[0..n) starts with "imei:"). */
static int
sentence(struct tk_dctx *c, const uint8_t *s, size_t n)
{
	struct tk_span f[GPS103_FIELDS];
	bool star;

	while (n && tk_is_ws(s[n - 1]))
		n--;
	star = n && s[n - 1] == '*';
	while (n && (s[n - 1] == ';' || s[n - 1] == '*' || tk_is_ws(s[n - 1])))
		n--;
	size_t nf = tk_split((const char *)s, n, ',', f, GPS103_FIELDS);
	if (nf > GPS103_FIELDS)
		nf = GPS103_FIELDS;
	/* digits() counts up to GPS103_IMEI_MAX + 1: that many pass here */
	size_t d = f[0].n - 5;
	if (d == 0 || d > GPS103_IMEI_MAX + 1 || !all_digits(s + 5, d) || d >= TK_ID_MAX)
		return tk_dctx_reject(c, "bad IMEI '%s'", show(f[0]).s);
	tk_strlcpyn(c->s->id, sizeof(c->s->id), s + 5, d);
	struct tk_span kw = fld(f, nf, 1);

	if (IS(kw, "vr"))
		return photo_chunk(c, f, nf);
	if (IS(kw, "OBD")) {
		tk_dctx_begin(c, TK_R_EVENT);
		return obd(c, f, nf);
	}
	if (star && nf >= 18) {
		tk_dctx_begin(c, TK_R_POSITION);
		return alternative(c, f, nf);
	}
	struct tk_span fl = fld(f, nf, 4);
	if (nf < 5 || !(IS(fl, "F") || IS(fl, "L"))) {
		if (nf > 3)
			return tk_dctx_reject(c, "field 5 is '%s', not F or L", show(fl).s);
		/* "imei:<IMEI>,A": a login without "##," (it gets LOAD too) */
		if (nf == 2 && IS(kw, "A") && n <= 30) {
			tk_dctx_begin(c, TK_R_LOGIN);
			tk_dctx_emit(c);
			return 0;
		}
		/* a short line: keyword only ("imei:...,L,*") */
		if (is_ack(kw)) {
			tk_dctx_begin(c, TK_R_REPLY);
			tk_rec_str(c->r, "result", kw.p, kw.n);
		} else {
			tk_dctx_begin(c, TK_R_EVENT);
			keyword(c->r, kw, fld(f, nf, 3));
		}
		tk_dctx_emit(c);
		return 0;
	}
	struct ltime lt;
	int lrc = parse_local(f[2], &lt);
	if (fl.p[0] == 'F') {
		tk_dctx_begin(c, TK_R_POSITION);
		if (regular_fix(c, f, nf, lrc, &lt) < 0)
			return -1;
		/* after the fields: "acc off" beats an ACC field of 1 */
		keyword(c->r, kw, f[3]);
	} else if (is_ack(kw)) {
		/* an acknowledgement without a fix: a reply (with a fix it is a
		 * position carrying event=<keyword>, as Traccar records it) */
		tk_dctx_begin(c, TK_R_REPLY);
		tk_rec_str(c->r, "result", kw.p, kw.n);
		regular_lbs(c->r, f, nf);
	} else {
		tk_dctx_begin(c, TK_R_EVENT);
		keyword(c->r, kw, f[3]);
		regular_lbs(c->r, f, nf);
	}
	if (PRE(kw, "vt") && kw.n > 2 && isdig((uint8_t)kw.p[2])) {
		int rc = photo_start(c, kw);
		if (rc < 0)
			return rc;
	}
	tk_dctx_emit(c);
	return 0;
}

int
tk_gps103_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	if (n == 0)
		return tk_dctx_reject(c, "empty frame");
	if (isdig(f[0])) {
		size_t k = 0;
		while (k < n && isdig(f[k]))
			k++;
		bool glued = LIT(f + k, n - k, "imei:");
		if (k > GPS103_IMEI_MAX || (!glued && (k < GPS103_HB_MIN ||
		    !at_end(f + k, n - k))))
			return tk_dctx_reject(c, "%zu digits that are neither a heartbeat "
			    "IMEI (%d-%d digits) nor followed by imei:", k, GPS103_HB_MIN,
			    GPS103_IMEI_MAX);
		tk_strlcpyn(c->s->id, sizeof(c->s->id), f, k);
		tk_dctx_begin(c, TK_R_HEARTBEAT);
		if (tk_dctx_emit(c) < 0 || !glued)
			return 0;
		return sentence(c, f + k, n - k);
	}
	if (LIT(f, n, "##,")) {
		struct shape sh;
		if (!shape_of(f, n, &sh) || sh.imei == NULL)
			return tk_dctx_reject(c, "login without an IMEI");
		tk_strlcpyn(c->s->id, sizeof(c->s->id), sh.imei, sh.imeilen);
		tk_dctx_begin(c, TK_R_LOGIN);
		tk_dctx_emit(c);
		return 0;
	}
	if (!LIT(f, n, "imei:"))
		return tk_dctx_reject(c, "not a gps103 sentence (no imei:)");
	return sentence(c, f, n);
}

/* ---- photos ---------------------------------------------------------- */

static int
photo_start(struct tk_dctx *c, struct tk_span kw)
{
	uint64_t np;
	struct tk_photo *p = c->s->photo;

	if (tk_parse_uint(kw.p + 2, kw.n - 2, UINT32_MAX, &np) != 0 || np == 0 ||
	    np > TK_PHOTO_PACKETS) {
		if (p)
			photo_reset(p);
		tk_dctx_warn(c, "photo of '%s' packets refused (at most %u)", show(kw).s,
		    TK_PHOTO_PACKETS);
		return 0;
	}
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			return tk_dctx_reject(c, "out of memory for a photo");
		c->s->photo = p;
	}
	if (p->packets)
		tk_dctx_warn(c, "a new photo announced: the unfinished one is dropped");
	photo_reset(p);
	p->packets = (unsigned)np;
	p->time = c->r->fix_time != TK_TIME_NONE ? c->r->fix_time : c->recv_ms;
	tk_strlcpyn(p->id, sizeof(p->id), c->s->id, strlen(c->s->id));
	return 0;
}

/* Write the photo to dir/<imei>-<time>.jpg (never over another file,
 * whole or not at all: tk_file.h); the name goes to name.  0 or errno. */
static int
photo_write(const struct tk_photo *p, const char *dir, char *name, size_t cap)
{
	char stamp[32], path[TK_AFILE_PATH_MAX];
	struct tk_afile a;
	int e;

	if (p->time != TK_TIME_NONE) {
		int y, mo, d, h, mi, s, ms;
		tk_civil_from_ms(p->time, &y, &mo, &d, &h, &mi, &s, &ms);
		snprintf(stamp, sizeof(stamp), "%04d%02d%02d%02d%02d%02d", y, mo, d, h, mi, s);
	} else {
		snprintf(stamp, sizeof(stamp), "notime");
	}
	for (int k = 0; k < 100; k++) {
		if (k == 0)
			snprintf(name, cap, "%s-%s.jpg", p->id[0] ? p->id : "unknown", stamp);
		else
			snprintf(name, cap, "%s-%s-%d.jpg", p->id[0] ? p->id : "unknown",
			    stamp, k);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
			return ENAMETOOLONG;
		if ((e = tk_afile_open(&a, path, 0644)) != 0)
			return e;
		if ((e = tk_write_all(a.fd, p->buf, p->len)) != 0) {
			tk_afile_abort(&a);
			return e;
		}
		/* the name is taken when the file is whole: try the next one */
		if ((e = tk_afile_commit(&a, TK_AFILE_NOREPLACE)) != EEXIST)
			return e;
	}
	return EEXIST;
}

static int
photo_chunk(struct tk_dctx *c, const struct tk_span *f, size_t nf)
{
	struct tk_photo *p = c->s->photo;
	struct tk_span h = fld(f, nf, 2);
	if (p == NULL || p->packets == 0) {
		tk_dctx_warn(c, "photo chunk without a vt announcement: ignored");
		return 0;
	}
	if (h.n < 12 || h.n % 2)
		return tk_dctx_reject(c, "photo chunk of %zu hex digits", h.n);
	uint8_t ix[2];
	if (tk_hex_decode(h.p, 4, ix, sizeof(ix)) != 2)
		return tk_dctx_reject(c, "photo chunk index is not hex");
	unsigned index = (unsigned)ix[0] | (unsigned)ix[1] << 8;
	size_t dl = (h.n - 12) / 2;	/* index, 2 skipped, data, 2 dropped */
	if (p->len + dl > TK_PHOTO_MAX) {
		photo_reset(p);
		return tk_dctx_reject(c, "photo larger than %u bytes: dropped", TK_PHOTO_MAX);
	}
	if (p->len + dl > p->cap) {
		size_t nc = p->cap ? p->cap : 16384;
		while (nc < p->len + dl)
			nc *= 2;
		if (nc > TK_PHOTO_MAX)
			nc = TK_PHOTO_MAX;
		uint8_t *nb = realloc(p->buf, nc);
		if (nb == NULL) {
			photo_reset(p);
			return tk_dctx_reject(c, "out of memory for a photo");
		}
		p->buf = nb;
		p->cap = nc;
	}
	/* an empty chunk (12 digits) may come before any buffer exists */
	if (dl && tk_hex_decode(h.p + 8, dl * 2, p->buf + p->len, p->cap - p->len) != (long)dl)
		return tk_dctx_reject(c, "photo chunk is not hex");
	p->len += dl;
	if (index + 1 < p->packets)
		return 0;

	/* complete */
	tk_dctx_begin(c, TK_R_PHOTO);
	if (p->id[0])
		tk_rec_set_id(c->r, p->id, strlen(p->id));
	c->r->device_time = p->time;
	tk_rec_int(c->r, "imageSize", (int64_t)p->len);
	if (c->s->photo_dir) {
		char name[128];
		int e = photo_write(p, c->s->photo_dir, name, sizeof(name));
		if (e == 0) {
			tk_rec_cstr(c->r, "image", name);
		} else {
			c->s->photo_errno = e;
			tk_dctx_warn(c, "photo not written to %s: %s", c->s->photo_dir,
			    strerror(e));
		}
	}
	photo_reset(p);
	tk_dctx_emit(c);
	return 0;
}
