/* tk_record.c: the decoded record, and its JSON and CSV writers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tk_dialect_int.h"
#include "tk_record.h"
#include "tk_util.h"
#include "tk_word_int.h"

static const char *const rtype_names[TK_R__COUNT] = {
	"position", "event", "login", "heartbeat", "reply", "photo"
};

const char *
tk_rtype_name(enum tk_rtype t)
{
	return (unsigned)t < TK_R__COUNT ? rtype_names[t] : "unknown";
}

void
tk_rec_init(struct tk_record *r, enum tk_dialect d, enum tk_rtype t)
{
	r->type = t;
	r->dialect = d;
	r->id[0] = '\0';
	r->fix_time = r->device_time = r->server_time = TK_TIME_NONE;
	r->has_pos = r->valid = false;
	r->has_alt = r->has_speed = r->has_course = false;
	r->lat = r->lon = r->alt = r->speed = r->course = 0;
	r->alarm[0] = '\0';
	r->ncell = r->nwifi = 0;
	r->nattr = 0;
	r->keymask = 0;
	r->truncated = false;
	r->slen = 0;
	r->raw = NULL;
	r->rawlen = 0;
}

/*
 * One bit of r->keymask per key set, chosen by the key's first two bytes:
 * a key whose bit is clear is not in the record, so most setters append
 * without comparing against every attribute before them.
 */
static inline uint64_t
key_bit(const char *key)
{
	unsigned h = (unsigned char)key[0];
	if (h != 0)
		h = h * 31 + (unsigned char)key[1];
	return (uint64_t)1 << (h & 63);
}

/* the index of the attribute named key, or -1: out of line (only keys
 * whose mask bit is set come here: a key set again, or one sharing its
 * first two bytes or its bit with a key already set, as io1 and io2 do) */
static __attribute__((noinline)) int
find(const struct tk_record *r, const char *key)
{
	for (unsigned i = 0; i < r->nattr; i++) {
		/* the same literal, or a first byte in common before strcmp */
		const char *k = r->attr[i].key;
		if (k == key || (k[0] == key[0] && strcmp(k, key) == 0))
			return (int)i;
	}
	return -1;
}

static struct tk_attr *
slot(struct tk_record *r, const char *key, size_t keyn)
{
	uint64_t bit = key_bit(key);
	if (r->keymask & bit) {
		int i = find(r, key);
		if (i >= 0)
			return &r->attr[i];
	}
	if (r->nattr == TK_ATTR_MAX) {
		r->truncated = true;
		return NULL;
	}
	struct tk_attr *a = &r->attr[r->nattr++];
	r->keymask |= bit;
	a->key = key;
	a->keyn = (uint8_t)keyn;
	return a;
}

void
tk_rec_int_k(struct tk_record *r, const char *key, size_t keyn, int64_t v)
{
	struct tk_attr *a = slot(r, key, keyn);
	if (a) {
		a->type = TK_V_INT;
		a->v.i = v;
	}
}

void
tk_rec_num_k(struct tk_record *r, const char *key, size_t keyn, double v, int prec)
{
	struct tk_attr *a = slot(r, key, keyn);
	if (a) {
		a->type = TK_V_NUM;
		a->prec = (uint8_t)(prec < 0 ? 0 : prec > 9 ? 9 : prec);
		a->v.d = v;
	}
}

void
tk_rec_bool_k(struct tk_record *r, const char *key, size_t keyn, bool v)
{
	struct tk_attr *a = slot(r, key, keyn);
	if (a) {
		a->type = TK_V_BOOL;
		a->v.i = v;
	}
}

void
tk_rec_str_k(struct tk_record *r, const char *key, size_t keyn, const void *s, size_t n)
{
	if (n > UINT16_MAX || n > TK_SBUF_MAX - r->slen) {
		r->truncated = true;
		return;
	}
	struct tk_attr *a = slot(r, key, keyn);
	if (a == NULL)
		return;
	a->type = TK_V_STR;
	a->len = (uint16_t)n;
	a->v.off = r->slen;
	memcpy(r->sbuf + r->slen, s, n);
	r->slen += (uint32_t)n;
}

void
tk_rec_cstr(struct tk_record *r, const char *key, const char *s)
{
	tk_rec_str_k(r, key, 0, s, strlen(s));
}

/* the plain functions, for callers the macros do not reach */
#undef tk_rec_int
#undef tk_rec_num
#undef tk_rec_bool
#undef tk_rec_str
void
tk_rec_int(struct tk_record *r, const char *key, int64_t v)
{
	tk_rec_int_k(r, key, 0, v);
}

void
tk_rec_num(struct tk_record *r, const char *key, double v, int prec)
{
	tk_rec_num_k(r, key, 0, v, prec);
}

void
tk_rec_bool(struct tk_record *r, const char *key, bool v)
{
	tk_rec_bool_k(r, key, 0, v);
}

void
tk_rec_str(struct tk_record *r, const char *key, const void *s, size_t n)
{
	tk_rec_str_k(r, key, 0, s, n);
}

const char *
tk_rec_key(struct tk_record *r, const char *key)
{
	size_t n = strlen(key) + 1;
	if (n > TK_SBUF_MAX - r->slen) {
		r->truncated = true;
		return "overflow";
	}
	char *k = r->sbuf + r->slen;
	memcpy(k, key, n);
	r->slen += (uint32_t)n;
	return k;
}

void
tk_rec_alarm(struct tk_record *r, const char *alarm)
{
	size_t have = strlen(r->alarm), n = strlen(alarm);
	/* no duplicates */
	const char *p = r->alarm;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && memcmp(p, alarm, n) == 0)
			return;
		p += l + (c != NULL);
	}
	if (have + (have > 0) + n + 1 > sizeof(r->alarm)) {
		r->truncated = true;
		return;
	}
	if (have)
		r->alarm[have++] = ',';
	memcpy(r->alarm + have, alarm, n + 1);
}

bool
tk_rec_cell(struct tk_record *r, const struct tk_cell *c)
{
	if (r->ncell == TK_CELL_MAX) {
		r->truncated = true;
		return false;
	}
	r->cell[r->ncell++] = *c;
	return true;
}

bool
tk_rec_wifi(struct tk_record *r, const struct tk_wifi *w)
{
	if (r->nwifi == TK_WIFI_MAX) {
		r->truncated = true;
		return false;
	}
	r->wifi[r->nwifi++] = *w;
	return true;
}

const struct tk_attr *
tk_rec_get(const struct tk_record *r, const char *key)
{
	int i = (r->keymask & key_bit(key)) ? find(r, key) : -1;
	return i >= 0 ? &r->attr[i] : NULL;
}

void
tk_rec_set_id(struct tk_record *r, const char *id, size_t n)
{
	tk_strlcpyn(r->id, sizeof(r->id), id, n);
}

/* ---- formatting ---------------------------------------------------- */

static char *
put2(char *o, int v)
{
	o[0] = (char)('0' + v / 10);
	o[1] = (char)('0' + v % 10);
	return o + 2;
}

/* the last day formatted ("YYYY-MM-DDT"): the calendar conversion only
 * when the day changes (per thread) */
static _Thread_local int64_t fmt_day = INT64_MIN;
static _Thread_local char fmt_date[11];
/* and the last second: "YYYY-MM-DDTHH:MM:SS." of the instant fmt_sec */
static _Thread_local int64_t fmt_sec = INT64_MIN;
static _Thread_local char fmt_full[20];

size_t
tk_fmt_time(char *out, int64_t ms)
{
	int64_t frac = ms % 1000;
	if (frac < 0)
		frac += 1000;
	if (ms - frac == fmt_sec) {
		/* the second formatted last time: only the milliseconds */
		memcpy(out, fmt_full, 20);
		out[20] = (char)('0' + frac / 100);
		put2(out + 21, (int)(frac % 100));
		out[23] = 'Z';
		out[24] = '\0';
		return 24;
	}
	int64_t day = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		day--;
	}
	if (day != fmt_day) {
		int y, mo, d, h, mi, s, msec;
		tk_civil_from_ms(ms, &y, &mo, &d, &h, &mi, &s, &msec);
		if (y < 0 || y > 9999) {
			memcpy(out, "0000-00-00T00:00:00.000Z", 25);
			return 24;
		}
		char *o = fmt_date;
		o = put2(o, y / 100);
		o = put2(o, y % 100);
		*o++ = '-';
		o = put2(o, mo);
		*o++ = '-';
		o = put2(o, d);
		*o = 'T';
		fmt_day = day;
	}
	unsigned r = (unsigned)rem;
	unsigned msec = r % 1000, sec = r / 1000;
	char *o = out;
	memcpy(o, fmt_date, 11);
	o += 11;
	o = put2(o, (int)(sec / 3600));
	*o++ = ':';
	o = put2(o, (int)(sec / 60 % 60));
	*o++ = ':';
	o = put2(o, (int)(sec % 60));
	*o++ = '.';
	memcpy(fmt_full, out, 20);
	fmt_sec = ms - (int64_t)msec;
	*o++ = (char)('0' + msec / 100);
	o = put2(o, (int)(msec % 100));
	*o++ = 'Z';
	*o = '\0';
	return (size_t)(o - out);
}

/* "00" .. "99": two digits per division */
static const char dpairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* 10^0 .. 10^19 */
static const uint64_t p10u64[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
	100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
	1000000000000ull, 10000000000000ull, 100000000000000ull,
	1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
	1000000000000000000ull, 10000000000000000000ull
};

/*
 * v in decimal, written in place from its last digit (no copy).  Up to
 * four digits (speeds, courses, most attributes) without a branch on how
 * many: those vary from one record to the next, and a mispredicted branch
 * costs more than the four digits.  Writes up to four bytes when v has
 * fewer digits (the callers' room holds any 20-digit number).
 */
static size_t
fmt_u64(char *out, uint64_t v)
{
	if (v < 10000) {
		char d[8] = "0000";
		size_t n = 1 + (v >= 10) + (v >= 100) + (v >= 1000);
		memcpy(d, dpairs + 2 * (v / 100), 2);
		memcpy(d + 2, dpairs + 2 * (v % 100), 2);
		memcpy(out, d + 4 - n, 4);
		return n;
	}
	size_t n = 5;
	while (n < 20 && v >= p10u64[n])
		n++;
	char *o = out + n;
	while (v >= 100) {
		o -= 2;
		memcpy(o, dpairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(o - 2, dpairs + 2 * v, 2);
	else
		o[-1] = (char)('0' + v);
	return n;
}

static size_t
fmt_i64(char *out, int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_u64(out, (uint64_t)v);
}

/* fp (< 10^prec) as exactly prec digits with leading zeros; a case per
 * precision in use, so the divisions are by constants (multiplies) */
static inline void
put_frac(char *f, uint64_t fp, int prec)
{
	switch (prec) {
	case 1:
		f[0] = (char)('0' + fp);
		return;
	case 2:
		memcpy(f, dpairs + 2 * fp, 2);
		return;
	case 3:
		f[0] = (char)('0' + fp / 100);
		memcpy(f + 1, dpairs + 2 * (fp % 100), 2);
		return;
	case 6:
		memcpy(f, dpairs + 2 * (fp / 10000), 2);
		memcpy(f + 2, dpairs + 2 * (fp / 100 % 100), 2);
		memcpy(f + 4, dpairs + 2 * (fp % 100), 2);
		return;
	default:
		for (int i = prec; i > 0; i--) {
			f[i - 1] = (char)('0' + fp % 10);
			fp /= 10;
		}
		return;
	}
}

static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
static const uint32_t u10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
    100000000, 1000000000};

/* tk_fmt_num's body: inlined where prec is a constant, so its switches
 * fold away */
static inline __attribute__((always_inline)) size_t
fmt_num(char *out, double v, int prec)
{
	if (!isfinite(v)) {
		memcpy(out, "null", 5);
		return 4;
	}
	if (prec < 0)
		prec = 0;
	if (prec > 9)
		prec = 9;
	double a = fabs(v) * p10[prec];
	if (a >= 9e18) {	/* out of fixed-point range: give up on pretty */
		memcpy(out, "null", 5);
		return 4;
	}
	/*
	 * llround(a), half away from zero, without the libm call: below 2^52
	 * a - trunc(a) is exact, so comparing it with 0.5 rounds as llround
	 * does; above, a double is an integer already.
	 */
	/* a < 9e18 < 2^63: the signed conversions are one instruction each */
	uint64_t m = (uint64_t)(int64_t)a;
	/* half the values round up, at random: an add, not a branch */
	m += (uint64_t)((a < 4503599627370496.0) & (a - (double)(int64_t)m >= 0.5));
	uint64_t ip, fp;
	/* constant divisors for the precisions in use (a multiply, not a div) */
	switch (prec) {
	case 0: ip = m; fp = 0; break;
	case 1: ip = m / 10; fp = m % 10; break;
	case 2: ip = m / 100; fp = m % 100; break;
	case 3: ip = m / 1000; fp = m % 1000; break;
	case 6: ip = m / 1000000; fp = m % 1000000; break;
	default: ip = m / u10[prec]; fp = m % u10[prec]; break;
	}
	size_t n = 0;
	if (v < 0 && m != 0)
		out[n++] = '-';
	n += fmt_u64(out + n, ip);
	/*
	 * prec digits with leading zeros, then the trailing zeros dropped;
	 * nothing at all when fp is 0.  For the precisions in use the number
	 * of digits kept is counted, not looped for: it differs from one
	 * value to the next, and so would the loop's exit.
	 */
	out[n] = '.';
	char *f = out + n + 1;
	put_frac(f, fp, prec);
	size_t l;
	switch (prec) {
	case 0: l = 0; break;
	case 1: l = 1; break;
	case 2: l = 2 - (fp % 10 == 0); break;
	case 3: l = 3 - (fp % 10 == 0) - (fp % 100 == 0); break;
	case 6:
		l = 6 - (fp % 10 == 0) - (fp % 100 == 0) - (fp % 1000 == 0) -
		    (fp % 10000 == 0) - (fp % 100000 == 0);
		break;
	default:
		l = (size_t)prec;
		while (l > 1 && f[l - 1] == '0')
			l--;
		break;
	}
	n += (1 + l) & (0 - (size_t)(fp != 0));
	out[n] = '\0';
	return n;
}

size_t
tk_fmt_num(char *out, double v, int prec)
{
	return fmt_num(out, v, prec);
}

/* ---- JSON --------------------------------------------------------- */

/*
 * The writers below put bytes at o and return the new end; the ones that
 * take end check their room and return NULL when they do not fit, the
 * others write into room the caller has made.
 */

static bool
room(struct tk_buf *b, size_t n)
{
	return b->cap - b->len >= n;
}

static int
put(struct tk_buf *b, const void *s, size_t n)
{
	if (!room(b, n))
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)
/* a literal at o (room made by the caller) */
#define LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

/* Length of a valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (n >= 2 && (p[1] & 0xc0) == 0x80) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* Bytes that stand for themselves in a JSON string: printable ASCII but " and \. */
static const bool json_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x10 */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x30 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x40 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,	/* 0x70 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xa0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xb0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xc0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xd0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xe0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0xf0 */
};

/* The bytes of a JSON string, escaped and UTF-8 repaired, without quotes. */
static char *
json_body(char *o, const char *end, const uint8_t *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n;) {
		if (n - i >= 8 && end - o >= 8) {
			/* eight bytes at a time: copied whole, and kept up to
			 * the first one that needs an escape */
			uint64_t m = tk_word_json_special(tk_word(s + i));
			memcpy(o, s + i, 8);
			if (m == 0) {
				o += 8;
				i += 8;
				if (i < n && n - i < 8 && (size_t)(end - o) >= n - i &&
				    tk_word_json_special(tk_word(s + n - 8)) == 0) {
					/* the tail in one word that overlaps the
					 * plain word just written 1:1 */
					memcpy(o - (i - (n - 8)), s + n - 8, 8);
					o += n - i;
					i = n;
				}
				continue;
			}
			size_t k = tk_word_first(m);
			o += k;
			i += k;
		}
		uint8_t c = s[i];
		if (json_plain[c]) {
			if (o == end)
				return NULL;
			*o++ = (char)c;
			i++;
			continue;
		}
		if (end - o < 6)	/* the longest escape: \ufffd, \u00XX */
			return NULL;
		if (c == '"' || c == '\\') {
			o[0] = '\\';
			o[1] = (char)c;
			o += 2;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			const char *e = NULL;
			switch (c) {
			case '\n': e = "\\n"; break;
			case '\r': e = "\\r"; break;
			case '\t': e = "\\t"; break;
			default: break;
			}
			if (e) {
				memcpy(o, e, 2);
				o += 2;
			} else {
				memcpy(o, "\\u00", 4);
				o[4] = hx[c >> 4];
				o[5] = hx[c & 15];
				o += 6;
			}
			i++;
		} else {
			size_t l = utf8_len(s + i, n - i);
			if (l == 0) {
				memcpy(o, "\\ufffd", 6);
				o += 6;
				i++;
			} else {
				memcpy(o, s + i, l);
				o += l;
				i += l;
			}
		}
	}
	return o;
}

/* "s" as a JSON string, or NULL when it does not fit before end. */
static char *
json_str(char *o, const char *end, const void *s, size_t n)
{
	if (end - o < 2)
		return NULL;
	*o++ = '"';
	if ((o = json_body(o, end, s, n)) == NULL || o == end)
		return NULL;
	*o++ = '"';
	return o;
}

int
tk_buf_reserve(struct tk_buf *b, size_t n)
{
	if (b->cap - b->len > n)
		return 0;
	size_t c = b->cap ? b->cap : 256;
	while (c - b->len <= n) {
		if (c > SIZE_MAX / 2)
			return -1;
		c *= 2;
	}
	char *p = realloc(b->p, c);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = c;
	return 0;
}

int
tk_buf_add(struct tk_buf *b, const void *p, size_t n)
{
	if (tk_buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
tk_buf_json_str(struct tk_buf *b, const void *s, size_t n)
{
	char *o = json_str(b->p + b->len, b->p + b->cap, s, n);
	if (o == NULL)
		return -1;
	b->len = (size_t)(o - b->p);
	return 0;
}

/* "key": for a NUL-terminated key (ours, static ASCII, copied as it is
 * scanned; a run-time key with other bytes is escaped). */
static char *
json_key(char *o, const char *end, const char *k)
{
	if (end - o < 3)
		return NULL;
	*o++ = '"';
	for (;;) {
		unsigned char c = (unsigned char)*k;
		if (!json_plain[c])
			break;
		if (o == end)
			return NULL;
		*o++ = (char)c;
		k++;
	}
	if (*k != '\0' && (o = json_body(o, end, (const uint8_t *)k, strlen(k))) == NULL)
		return NULL;
	if (end - o < 2)
		return NULL;
	o[0] = '"';
	o[1] = ':';
	return o + 2;
}

/* a number as tk_fmt_num writes it: at most 32 bytes with the NUL */
#define NUM_MAX	32

static char *
w_num(char *o, double v, int prec)
{
	return o + tk_fmt_num(o, v, prec);
}

/* w_num for a constant precision (folded in) */
static inline __attribute__((always_inline)) char *
w_num_c(char *o, double v, int prec)
{
	return o + fmt_num(o, v, prec);
}

static char *
w_i64(char *o, int64_t v)
{
	return o + fmt_i64(o, v);
}

/* The last time formatted for this record: server, device and fix time
 * are often the same instant. */
struct tcache {
	int64_t	 ms;
	size_t	 n;
	char	 t[32];
};

#define TIME_MAX	26	/* "2011-09-01T15:01:20.000Z" with its quotes */

static char *
w_time(char *o, struct tcache *tc, int64_t ms)
{
	if (tc->n == 0 || tc->ms != ms) {
		tc->t[0] = '"';
		size_t n = tk_fmt_time(tc->t + 1, ms);
		tc->t[n + 1] = '"';
		tc->n = n + 2;
		tc->ms = ms;
	}
	memcpy(o, tc->t, TIME_MAX);	/* always 26 bytes: a fixed-size copy */
	return o + tc->n;
}

/* n (1-255) bytes from s to o, without a call for the short ones: two
 * overlapping fixed-size copies, never past either end */
static inline __attribute__((always_inline)) char *
copy_small(char *o, const char *s, size_t n)
{
	if (n >= 8 && n <= 16) {
		memcpy(o, s, 8);
		memcpy(o + n - 8, s + n - 8, 8);
	} else if (n >= 4 && n < 8) {
		memcpy(o, s, 4);
		memcpy(o + n - 4, s + n - 4, 4);
	} else if (n < 4) {
		o[0] = s[0];
		o[n / 2] = s[n / 2];
		o[n - 1] = s[n - 1];
	} else {
		memcpy(o, s, n);
	}
	return o + n;
}

/* one attribute, "key":value, or NULL when it does not fit */
static char *
w_attr(char *o, const char *end, const struct tk_record *r, const struct tk_attr *a)
{
	if (a->keyn != 0 && end - o > a->keyn + 3) {
		*o++ = '"';
		o = copy_small(o, a->key, a->keyn);
		o[0] = '"';
		o[1] = ':';
		o += 2;
	} else if ((o = json_key(o, end, a->key)) == NULL)
		return NULL;
	if (a->type == TK_V_STR)
		return json_str(o, end, r->sbuf + a->v.off, a->len);
	if (end - o < NUM_MAX)
		return NULL;
	switch (a->type) {
	case TK_V_INT:
		return w_i64(o, a->v.i);
	case TK_V_NUM:
		return w_num(o, a->v.d, a->prec);
	default:
		if (a->v.i)
			return LIT(o, "true");
		return LIT(o, "false");
	}
}

static int
put_attr(struct tk_buf *b, const struct tk_record *r, const struct tk_attr *a)
{
	char *o = w_attr(b->p + b->len, b->p + b->cap, r, a);
	if (o == NULL)
		return -1;
	b->len = (size_t)(o - b->p);
	return 0;
}

static int
put_num(struct tk_buf *b, double v, int prec)
{
	char t[NUM_MAX];
	return put(b, t, tk_fmt_num(t, v, prec));
}

/* the most one cell tower / access point takes in "network" */
#define CELL_MAX	192
#define WIFI_MAX	112

/* "network":{"cellTowers":[...],"wifiAccessPoints":[...]} as Traccar's
 * (room made by the caller: CELL_MAX and WIFI_MAX each, and 64) */
static char *
w_network(char *o, const struct tk_record *r)
{
	static const char hx[] = "0123456789abcdef";

	LIT(o, ",\"network\":{");
	if (r->ncell) {
		LIT(o, "\"cellTowers\":[");
		for (unsigned i = 0; i < r->ncell; i++) {
			const struct tk_cell *c = &r->cell[i];
			if (i)
				*o++ = ',';
			*o++ = '{';
			if (c->has_mcc) {
				LIT(o, "\"mobileCountryCode\":");
				o = w_i64(o, c->mcc);
				LIT(o, ",\"mobileNetworkCode\":");
				o = w_i64(o, c->mnc);
				*o++ = ',';
			}
			LIT(o, "\"locationAreaCode\":");
			o = w_i64(o, c->lac);
			LIT(o, ",\"cellId\":");
			o = w_i64(o, (int64_t)c->cid);
			if (c->has_rssi) {
				LIT(o, ",\"signalStrength\":");
				o = w_i64(o, c->rssi);
			}
			*o++ = '}';
		}
		*o++ = ']';
	}
	if (r->nwifi) {
		if (r->ncell)
			*o++ = ',';
		LIT(o, "\"wifiAccessPoints\":[");
		for (unsigned i = 0; i < r->nwifi; i++) {
			const struct tk_wifi *w = &r->wifi[i];
			if (i)
				*o++ = ',';
			LIT(o, "{\"macAddress\":\"");
			for (int k = 0; k < 6; k++) {
				*o++ = hx[w->mac[k] >> 4];
				*o++ = hx[w->mac[k] & 15];
				if (k < 5)
					*o++ = ':';
			}
			*o++ = '"';
			if (w->has_rssi) {
				LIT(o, ",\"signalStrength\":");
				o = w_i64(o, w->rssi);
			}
			if (w->channel >= 0) {
				LIT(o, ",\"channel\":");
				o = w_i64(o, w->channel);
			}
			*o++ = '}';
		}
		*o++ = ']';
	}
	*o++ = '}';
	return o;
}

/* {"type":"position","protocol":" for each type, in arrays of HEAD_SIZE
 * bytes: copied with one fixed-size copy */
#define HEAD_SIZE	40
#define TYPE_HEAD(t) "{\"type\":\"" t "\",\"protocol\":\""
static const struct { char s[HEAD_SIZE]; size_t n; } type_head[TK_R__COUNT] = {
#define TH(t) {TYPE_HEAD(t), sizeof(TYPE_HEAD(t)) - 1}
	TH("position"), TH("event"), TH("login"), TH("heartbeat"), TH("reply"), TH("photo")
#undef TH
};

/*
 * Everything but the id, alarm, network, attributes and raw frame, at its
 * largest: the type head, the protocol, three times, valid, five numbers
 * and their keys.
 */
#define FIXED_MAX	512

int
tk_json_record(struct tk_buf *b, const struct tk_record *r, int flags)
{
	char *o = b->p + b->len;
	const char *end = b->p + b->cap;
	struct tcache tc = {.n = 0};
	size_t idn = strlen(r->id), aln = r->alarm[0] ? strlen(r->alarm) : 0;

	if ((size_t)(end - o) < FIXED_MAX + 6 * (idn + aln) + 32)
		return -1;
	unsigned t = (unsigned)r->type < TK_R__COUNT ? (unsigned)r->type : TK_R_EVENT;
	memcpy(o, type_head[t].s, HEAD_SIZE);
	o += type_head[t].n;
	/* the dialect name: eight bytes, up to its NUL (TK_DNAME_SIZE) */
	uint64_t dw = tk_word(tk_dialect_name(r->dialect));
	memcpy(o, tk_dialect_name(r->dialect), TK_DNAME_SIZE);
	o += tk_word_first(tk_word_eq(dw, 0));
	*o++ = '"';
	if (idn) {
		LIT(o, ",\"uniqueId\":");
		o = json_str(o, end, r->id, idn);
	}
	if (r->server_time != TK_TIME_NONE) {
		LIT(o, ",\"serverTime\":");
		o = w_time(o, &tc, r->server_time);
	}
	if (r->device_time != TK_TIME_NONE) {
		LIT(o, ",\"deviceTime\":");
		o = w_time(o, &tc, r->device_time);
	}
	if (r->fix_time != TK_TIME_NONE) {
		LIT(o, ",\"fixTime\":");
		o = w_time(o, &tc, r->fix_time);
	}
	if (r->has_pos) {
		if (r->valid)
			LIT(o, ",\"valid\":true,\"latitude\":");
		else
			LIT(o, ",\"valid\":false,\"latitude\":");
		o = w_num_c(o, r->lat, 6);
		LIT(o, ",\"longitude\":");
		o = w_num_c(o, r->lon, 6);
	}
	if (r->has_alt) {
		LIT(o, ",\"altitude\":");
		o = w_num_c(o, r->alt, 2);
	}
	if (r->has_speed) {
		LIT(o, ",\"speed\":");
		o = w_num_c(o, r->speed, 3);
	}
	if (r->has_course) {
		LIT(o, ",\"course\":");
		o = w_num_c(o, r->course, 2);
	}
	if (r->ncell || r->nwifi) {
		if ((size_t)(end - o) < r->ncell * CELL_MAX + r->nwifi * WIFI_MAX + 64)
			return -1;
		o = w_network(o, r);
	}
	if (end - o < 32)
		return -1;
	LIT(o, ",\"attributes\":{");
	bool first = true;
	if (aln) {
		LIT(o, "\"alarm\":");
		o = json_str(o, end, r->alarm, aln);
		first = false;
	}
	for (unsigned i = 0; i < r->nattr; i++) {
		if (o == NULL || o == end)
			return -1;
		if (!first)
			*o++ = ',';
		first = false;
		o = w_attr(o, end, r, &r->attr[i]);
	}
	if (o == NULL || end - o < 4)
		return -1;
	*o++ = '}';
	if ((flags & TK_JSON_RAW) && r->raw != NULL) {
		if ((size_t)(end - o) < 2 * r->rawlen + 16)
			return -1;
		LIT(o, ",\"raw\":\"");
		tk_hex_encode(r->raw, r->rawlen, o);
		o += 2 * r->rawlen;
		*o++ = '"';
	}
	o[0] = '}';
	o[1] = '\n';
	b->len = (size_t)(o + 2 - b->p);
	return 0;
}

/* ---- CSV ---------------------------------------------------------- */

int
tk_csv_header(struct tk_buf *b)
{
	return PUTS(b, "type,protocol,uniqueId,serverTime,deviceTime,fixTime,valid,"
	    "latitude,longitude,altitude,speed,course,alarm,attributes\n");
}

/* GDAL's column types for the header above (a .csvt sidecar): the id
 * stays text, the times are times, latitude and longitude the point. */
int
tk_csvt(struct tk_buf *b)
{
	return PUTS(b, "\"String\",\"String\",\"String\",\"DateTime\",\"DateTime\","
	    "\"DateTime\",\"Integer(Boolean)\",\"CoordY\",\"CoordX\",\"Real\",\"Real\","
	    "\"Real\",\"String\",\"String\"\n");
}

/* An RFC 4180 quoted field. */
static int
csv_quoted(struct tk_buf *b, const char *s, size_t n)
{
	if (PUTS(b, "\"") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' && PUTS(b, "\"") < 0)
			return -1;
		if (put(b, s + i, 1) < 0)
			return -1;
	}
	return PUTS(b, "\"");
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. */
static int
csv_field(struct tk_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			return csv_quoted(b, s, n);
	return put(b, s, n);
}

int
tk_csv_record(struct tk_buf *b, const struct tk_record *r)
{
	size_t save = b->len;
	char t[48];
	const char *tn = tk_rtype_name(r->type), *dn = tk_dialect_name(r->dialect);

	if (put(b, tn, strlen(tn)) < 0 || PUTS(b, ",") < 0 ||
	    put(b, dn, strlen(dn)) < 0 || PUTS(b, ",") < 0 ||
	    csv_quoted(b, r->id, strlen(r->id)) < 0)	/* text, not a number */
		goto full;
	int64_t times[3] = {r->server_time, r->device_time, r->fix_time};
	for (int i = 0; i < 3; i++) {
		if (PUTS(b, ",") < 0)
			goto full;
		if (times[i] != TK_TIME_NONE && put(b, t, tk_fmt_time(t, times[i])) < 0)
			goto full;
	}
	if (PUTS(b, ",") < 0)
		goto full;
	if (r->has_pos) {
		if ((r->valid ? PUTS(b, "true,") : PUTS(b, "false,")) < 0 ||
		    put_num(b, r->lat, 6) < 0 || PUTS(b, ",") < 0 ||
		    put_num(b, r->lon, 6) < 0)
			goto full;
	} else if (PUTS(b, ",,") < 0)
		goto full;
	struct { bool has; double v; int prec; } f[3] = {
		{r->has_alt, r->alt, 2}, {r->has_speed, r->speed, 3}, {r->has_course, r->course, 2}
	};
	for (int i = 0; i < 3; i++) {
		if (PUTS(b, ",") < 0 || (f[i].has && put_num(b, f[i].v, f[i].prec) < 0))
			goto full;
	}
	if (PUTS(b, ",") < 0 || csv_field(b, r->alarm, strlen(r->alarm)) < 0 ||
	    PUTS(b, ",") < 0)
		goto full;
	/* attributes as one JSON object in a quoted field */
	char tmp[TK_SBUF_MAX * 2 + 1024];
	struct tk_buf a = {tmp, 0, sizeof(tmp)};
	if (PUTS(&a, "{") < 0)
		goto full;
	for (unsigned i = 0; i < r->nattr; i++) {
		if (i && PUTS(&a, ",") < 0)
			goto full;
		if (put_attr(&a, r, &r->attr[i]) < 0)
			goto full;
	}
	if (PUTS(&a, "}") < 0 || csv_field(b, a.p, a.len) < 0 || PUTS(b, "\n") < 0)
		goto full;
	return 0;
full:
	b->len = save;
	return -1;
}

/* ---- GeoJSON Features and Traccar's forwarding envelope ------------ */

/*
 * Separate writers, in the checked put() style: tk_json_record above stays
 * as it is (its output and its speed).  Both append to b or leave it
 * unchanged.
 */

/* ,"key": */
static int
put_key(struct tk_buf *b, const char *key)
{
	return PUTS(b, ",\"") < 0 || put(b, key, strlen(key)) < 0 ||
	    PUTS(b, "\":") < 0 ? -1 : 0;
}

/* ,"key":"2011-09-01T15:01:20.000Z", or with Traccar's "+00:00" */
static int
put_time_key(struct tk_buf *b, const char *key, int64_t ms, bool traccar)
{
	char t[40];
	size_t n = tk_fmt_time(t + 1, ms) + 1;
	t[0] = '"';
	if (traccar) {
		memcpy(t + n - 1, "+00:00", 6);
		n += 5;
	}
	t[n++] = '"';
	return put_key(b, key) < 0 || put(b, t, n) < 0 ? -1 : 0;
}

static int
put_num_key(struct tk_buf *b, const char *key, double v, int prec)
{
	return put_key(b, key) < 0 || put_num(b, v, prec) < 0 ? -1 : 0;
}

/* ,"alarm":"..." then each attribute, comma-separated, no braces */
static int
put_attrs(struct tk_buf *b, const struct tk_record *r, bool comma)
{
	if (r->alarm[0]) {
		if ((comma && PUTS(b, ",") < 0) || PUTS(b, "\"alarm\":") < 0 ||
		    tk_buf_json_str(b, r->alarm, strlen(r->alarm)) < 0)
			return -1;
		comma = true;
	}
	for (unsigned i = 0; i < r->nattr; i++) {
		if ((comma && PUTS(b, ",") < 0) || put_attr(b, r, &r->attr[i]) < 0)
			return -1;
		comma = true;
	}
	return 0;
}

static int
put_network(struct tk_buf *b, const struct tk_record *r)
{
	if (r->ncell == 0 && r->nwifi == 0)
		return 0;
	if (!room(b, r->ncell * CELL_MAX + r->nwifi * WIFI_MAX + 64))
		return -1;
	b->len = (size_t)(w_network(b->p + b->len, r) - b->p);
	return 0;
}

int
tk_geojson_record(struct tk_buf *b, const struct tk_record *r, int flags)
{
	size_t save = b->len;
	const char *dn = tk_dialect_name(r->dialect), *tn = tk_rtype_name(r->type);

	if (!r->has_pos)
		return 1;
	if (PUTS(b, "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
	    "\"coordinates\":[") < 0 || put_num(b, r->lon, 6) < 0 || PUTS(b, ",") < 0 ||
	    put_num(b, r->lat, 6) < 0 || PUTS(b, "]},\"properties\":{\"type\":\"") < 0 ||
	    put(b, tn, strlen(tn)) < 0 || PUTS(b, "\",\"protocol\":\"") < 0 ||
	    put(b, dn, strlen(dn)) < 0 || PUTS(b, "\"") < 0)
		goto full;
	if (r->id[0] && (put_key(b, "uniqueId") < 0 ||
	    tk_buf_json_str(b, r->id, strlen(r->id)) < 0))
		goto full;
	if ((r->server_time != TK_TIME_NONE &&
	    put_time_key(b, "serverTime", r->server_time, false) < 0) ||
	    (r->device_time != TK_TIME_NONE &&
	    put_time_key(b, "deviceTime", r->device_time, false) < 0) ||
	    (r->fix_time != TK_TIME_NONE &&
	    put_time_key(b, "fixTime", r->fix_time, false) < 0))
		goto full;
	if ((r->valid ? PUTS(b, ",\"valid\":true") : PUTS(b, ",\"valid\":false")) < 0 ||
	    put_num_key(b, "latitude", r->lat, 6) < 0 ||
	    put_num_key(b, "longitude", r->lon, 6) < 0 ||
	    (r->has_alt && put_num_key(b, "altitude", r->alt, 2) < 0) ||
	    (r->has_speed && put_num_key(b, "speed", r->speed, 3) < 0) ||
	    (r->has_course && put_num_key(b, "course", r->course, 2) < 0))
		goto full;
	/* the attributes as columns of their own (a GIS table has no nested
	 * objects): Traccar's keys never collide with the members above */
	if (put_attrs(b, r, true) < 0 || put_network(b, r) < 0)
		goto full;
	if ((flags & TK_JSON_RAW) && r->raw != NULL) {
		if (!room(b, 2 * r->rawlen + 16) || PUTS(b, ",\"raw\":\"") < 0)
			goto full;
		tk_hex_encode(r->raw, r->rawlen, b->p + b->len);
		b->len += 2 * r->rawlen;
		if (PUTS(b, "\"") < 0)
			goto full;
	}
	if (PUTS(b, "}}\n") < 0)
		goto full;
	return 0;
full:
	b->len = save;
	return -1;
}

uint64_t
tk_traccar_device_id(const char *id)
{
	/* FNV-1a, 64 bits, folded to 53 so that JavaScript reads it exactly */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	h = (h ^ (h >> 53)) & ((1ull << 53) - 1);
	return h ? h : 1;
}

int
tk_traccar_record(struct tk_buf *b, const struct tk_record *r)
{
	size_t save = b->len;
	char idn[24];
	const char *dn = tk_dialect_name(r->dialect);

	/* what Traccar keeps as a position: fixes, alarms, command replies and
	 * photos of a known device; logins and heartbeats are not */
	if (r->id[0] == '\0' || r->type == TK_R_LOGIN || r->type == TK_R_HEARTBEAT)
		return 1;
	size_t nn = fmt_u64(idn, tk_traccar_device_id(r->id));
	int64_t dev = r->device_time != TK_TIME_NONE ? r->device_time : r->fix_time;
	int64_t fix = r->fix_time != TK_TIME_NONE ? r->fix_time : r->device_time;
	if (PUTS(b, "{\"position\":{\"deviceId\":") < 0 || put(b, idn, nn) < 0 ||
	    PUTS(b, ",\"protocol\":\"") < 0 || put(b, dn, strlen(dn)) < 0 || PUTS(b, "\"") < 0)
		goto full;
	if ((r->server_time != TK_TIME_NONE &&
	    put_time_key(b, "serverTime", r->server_time, true) < 0) ||
	    (dev != TK_TIME_NONE && put_time_key(b, "deviceTime", dev, true) < 0) ||
	    (fix != TK_TIME_NONE && put_time_key(b, "fixTime", fix, true) < 0))
		goto full;
	/* without a fix Traccar's position is "outdated", at 0 0 when it
	 * knows no earlier one (we keep no state between records) */
	if ((r->has_pos ? PUTS(b, ",\"outdated\":false") : PUTS(b, ",\"outdated\":true")) < 0 ||
	    ((r->has_pos && r->valid) ? PUTS(b, ",\"valid\":true") :
	    PUTS(b, ",\"valid\":false")) < 0 ||
	    put_num_key(b, "latitude", r->has_pos ? r->lat : 0, 6) < 0 ||
	    put_num_key(b, "longitude", r->has_pos ? r->lon : 0, 6) < 0 ||
	    put_num_key(b, "altitude", r->has_alt ? r->alt : 0, 2) < 0 ||
	    put_num_key(b, "speed", r->has_speed ? r->speed : 0, 3) < 0 ||
	    put_num_key(b, "course", r->has_course ? r->course : 0, 2) < 0 ||
	    PUTS(b, ",\"accuracy\":0") < 0 || put_network(b, r) < 0 ||
	    PUTS(b, ",\"attributes\":{") < 0 || put_attrs(b, r, false) < 0 ||
	    PUTS(b, "}},\"device\":{\"id\":") < 0 || put(b, idn, nn) < 0 ||
	    put_key(b, "name") < 0 || tk_buf_json_str(b, r->id, strlen(r->id)) < 0 ||
	    put_key(b, "uniqueId") < 0 || tk_buf_json_str(b, r->id, strlen(r->id)) < 0 ||
	    PUTS(b, ",\"status\":\"online\"") < 0 ||
	    (r->server_time != TK_TIME_NONE &&
	    put_time_key(b, "lastUpdate", r->server_time, true) < 0) ||
	    PUTS(b, ",\"attributes\":{}}}\n") < 0)
		goto full;
	return 0;
full:
	b->len = save;
	return -1;
}

const char *
tk_fix_implausible(double lat, double lon, int64_t t, int64_t now)
{
	if (!isfinite(lat) || lat < -90 || lat > 90)
		return "latitude out of range";
	if (!isfinite(lon) || lon < -180 || lon > 180)
		return "longitude out of range";
	if (t != TK_TIME_NONE && t < TK_TIME_MIN_MS)
		return "time before 2000";
	if (t != TK_TIME_NONE && now > INT64_MIN + TK_TIME_AHEAD_MS && t > now + TK_TIME_AHEAD_MS)
		return "time more than a day ahead";
	return NULL;
}
