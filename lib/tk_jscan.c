/*
 * tk_jscan.c: the fast JSON record scan (tk_jscan.h).  RFC 8259 grammar,
 * checked byte by byte; no allocation, no tree.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tk_jscan.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define DEPTH_MAX	64

struct sc {
	const char	*p, *e;
};

static inline __attribute__((always_inline)) void
ws(struct sc *s)
{
	while (s->p < s->e && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
	    *s->p == '\r'))
		s->p++;
}

static int
hexd(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

#define ONES	0x0101010101010101ull
#define HIGHS	0x8080808080808080ull

/* Any byte of x a quote, a backslash or a control character?  (The
 * classic has-zero-byte test; exact about whether, not where.) */
static inline uint64_t
special8(uint64_t x)
{
	uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
	return (((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x)) & HIGHS;
}

static inline bool
little_endian(void)
{
	const uint16_t one = 1;
	uint8_t b;
	memcpy(&b, &one, 1);
	return b == 1;
}

/* At '"': the content span, and whether it has escapes (inlined: a
 * record has a score of strings, most of them short). */
static inline __attribute__((always_inline)) int
str(struct sc *s, struct tk_span *out, bool *esc)
{
	const char *q = s->p + 1;
	bool e = false;
	for (;;) {
#ifdef __SSE2__
		/* 16 bytes at a time: a quote, a backslash or a byte <= 0x1f */
		while (s->e - q >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
			__m128i m = _mm_or_si128(_mm_or_si128(
			    _mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
			    _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x1f)),
			    _mm_set1_epi8(0x1f)));
			unsigned bits = (unsigned)_mm_movemask_epi8(m);
			if (bits) {
				q += __builtin_ctz(bits);
				goto special;
			}
			q += 16;
		}
#endif
		while (s->e - q >= 8) {
			uint64_t x, m;
			memcpy(&x, q, 8);
			if ((m = special8(x)) != 0) {
				/* the lowest flagged byte is exact (little endian:
				 * the first); the bytes before it are plain */
				if (little_endian())
					q += __builtin_ctzll(m) / 8;
				break;
			}
			q += 8;
		}
#ifdef __SSE2__
special:
#endif
		if (q >= s->e)
			return -1;
		unsigned char c = (unsigned char)*q;
		if (c == '"')
			break;
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			q++;
			continue;
		}
		e = true;
		if (++q >= s->e)
			return -1;
		switch (*q) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
			q++;
			break;
		case 'u':
			if (s->e - q < 5 || !hexd(q[1]) || !hexd(q[2]) || !hexd(q[3]) || !hexd(q[4]))
				return -1;
			q += 5;
			break;
		default:
			return -1;
		}
	}
	out->p = s->p + 1;
	out->n = (size_t)(q - (s->p + 1));
	*esc = e;
	s->p = q + 1;
	return 0;
}

static const double pow10tab[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
    1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A number; with v, its value (1: valid but not read here, the caller
 * declines). */
static int
num(struct sc *s, double *v)
{
	const char *b = s->p, *q = b;
	bool neg = false, exp = false;
	uint64_t m = 0;
	unsigned sig = 0, frac = 0;
	if (q < s->e && *q == '-') {
		neg = true;
		q++;
	}
	if (q >= s->e)
		return -1;
	if (*q == '0')
		q++;
	else if (*q >= '1' && *q <= '9')
		for (; q < s->e && *q >= '0' && *q <= '9'; q++, sig++)
			m = m * 10 + (uint64_t)(*q - '0');
	else
		return -1;
	if (q < s->e && *q == '.') {
		q++;
		if (q >= s->e || *q < '0' || *q > '9')
			return -1;
		for (; q < s->e && *q >= '0' && *q <= '9'; q++, frac++) {
			m = m * 10 + (uint64_t)(*q - '0');
			if (m)
				sig++;
		}
	}
	if (q < s->e && (*q == 'e' || *q == 'E')) {
		exp = true;
		q++;
		if (q < s->e && (*q == '+' || *q == '-'))
			q++;
		if (q >= s->e || *q < '0' || *q > '9')
			return -1;
		while (q < s->e && *q >= '0' && *q <= '9')
			q++;
	}
	s->p = q;
	if (v == NULL)
		return 0;
	if (exp)
		return 1;
	/* Clinger's fast path: an exact mantissa over an exact power of ten
	 * is correctly rounded, as strtod (and json-c) would give. */
	if (sig <= 15 && frac <= 22) {
		double r = (double)m / pow10tab[frac];
		*v = neg ? -r : r;
		return 0;
	}
	char buf[64];
	size_t n = (size_t)(q - b);
	if (n >= sizeof(buf))
		return 1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	*v = strtod(buf, NULL);
	return 0;
}

static int value(struct sc *s, int depth);

static int
lit(struct sc *s, const char *w, size_t n)
{
	if ((size_t)(s->e - s->p) < n || memcmp(s->p, w, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

static int
container(struct sc *s, int depth, bool obj)
{
	char close = obj ? '}' : ']';
	if (depth >= DEPTH_MAX)
		return -1;
	s->p++;
	ws(s);
	if (s->p < s->e && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (obj) {
			struct tk_span k;
			bool esc;
			if (s->p >= s->e || *s->p != '"' || str(s, &k, &esc) != 0)
				return -1;
			ws(s);
			if (s->p >= s->e || *s->p != ':')
				return -1;
			s->p++;
			ws(s);
		}
		if (value(s, depth + 1) != 0)
			return -1;
		ws(s);
		if (s->p >= s->e)
			return -1;
		if (*s->p == ',') {
			s->p++;
			ws(s);
			continue;
		}
		if (*s->p != close)
			return -1;
		s->p++;
		return 0;
	}
}

static int
value(struct sc *s, int depth)
{
	struct tk_span sp;
	bool esc;
	if (s->p >= s->e)
		return -1;
	switch (*s->p) {
	case '"':
		return str(s, &sp, &esc);
	case '{':
		return container(s, depth, true);
	case '[':
		return container(s, depth, false);
	case 't':
		return lit(s, "true", 4);
	case 'f':
		return lit(s, "false", 5);
	case 'n':
		return lit(s, "null", 4);
	default:
		return num(s, NULL);
	}
}

static bool
keyis(struct tk_span k, const char *w, size_t n)
{
	return k.n == n && memcmp(k.p, w, n) == 0;
}

#define KEY(k, lit)	keyis(k, lit, sizeof(lit) - 1)

/* A wanted string member: 1 = taken, 0 = not a string, -1 = decline. */
static int
want_str(struct sc *s, struct tk_span *out)
{
	bool esc;
	if (s->p < s->e && *s->p == '"') {
		if (str(s, out, &esc) != 0 || esc)
			return -1;
		return 1;
	}
	return value(s, 1) == 0 ? 0 : -1;
}

static int
want_num(struct sc *s, double *v)
{
	if (s->p < s->e && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
		int r = num(s, v);
		return r == 0 ? 1 : -1;
	}
	return value(s, 1) == 0 ? 0 : -1;
}

int
tk_jscan(const char *p, size_t n, struct tk_jrec *r)
{
	struct sc s = {p, p + n};
	memset(r, 0, sizeof(*r));
	r->valid = -1;
	ws(&s);
	if (s.p >= s.e || *s.p != '{')
		return -1;
	s.p++;
	ws(&s);
	if (s.p < s.e && *s.p == '}') {
		r->empty = true;
	} else {
		for (;;) {
			struct tk_span k;
			bool esc;
			int t;
			if (s.p >= s.e || *s.p != '"' || str(&s, &k, &esc) != 0 || esc)
				return -1;
			ws(&s);
			if (s.p >= s.e || *s.p != ':')
				return -1;
			s.p++;
			ws(&s);
			if (KEY(k, "type")) {
				if ((t = want_str(&s, &r->type)) < 0)
					return -1;
				r->has_type = t;
			} else if (KEY(k, "uniqueId")) {
				if ((t = want_str(&s, &r->id)) < 0)
					return -1;
				r->has_id = t;
			} else if (KEY(k, "latitude")) {
				if ((t = want_num(&s, &r->lat)) < 0)
					return -1;
				r->has_lat = t;
			} else if (KEY(k, "longitude")) {
				if ((t = want_num(&s, &r->lon)) < 0)
					return -1;
				r->has_lon = t;
			} else if (KEY(k, "fixTime")) {
				if ((t = want_str(&s, &r->fix_time)) < 0)
					return -1;
				if (!t)
					r->fix_time.n = 0;
			} else if (KEY(k, "serverTime")) {
				if ((t = want_str(&s, &r->server_time)) < 0)
					return -1;
				if (!t)
					r->server_time.n = 0;
			} else if (KEY(k, "valid")) {
				if (lit(&s, "true", 4) == 0)
					r->valid = 1;
				else if (lit(&s, "false", 5) == 0)
					r->valid = 0;
				else if (value(&s, 1) == 0)
					r->valid = -1;
				else
					return -1;
			} else {
				if (KEY(k, "geofenceIds"))
					r->has_gids = true;
				if (value(&s, 1) != 0)
					return -1;
			}
			ws(&s);
			if (s.p >= s.e)
				return -1;
			if (*s.p == ',') {
				s.p++;
				ws(&s);
				continue;
			}
			if (*s.p != '}')
				return -1;
			break;
		}
	}
	r->close = (size_t)(s.p - p);
	s.p++;
	ws(&s);
	return s.p == s.e ? 0 : -1;
}
