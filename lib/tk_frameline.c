/* tk_frameline.c: tk-listen's frame lines (tk-frame(5)), written and read. */
#include <string.h>

#include "tk_frameline.h"
#include "tk_util.h"
#include "tk_word_int.h"

static const char *const knames[TK_F__COUNT] = {"frame", "open", "close", "junk", "send"};

const char *
tk_fkind_name(enum tk_fkind k)
{
	return (unsigned)k < TK_F__COUNT ? knames[k] : "?";
}

/*
 * Byte-for-byte the output of strvisx(3) with VIS_CSTYLE|VIS_OCTAL|VIS_WHITE
 * (a unit test compares the two), written out for speed: printable ASCII
 * but space and backslash passes through.
 */
size_t
tk_fline_escape(const uint8_t *p, size_t n, char *out)
{
	char *o = out;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c > 0x20 && c < 0x7f && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '\\': *o++ = '\\'; break;
		case ' ': *o++ = 's'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		case '\a': *o++ = 'a'; break;
		case '\b': *o++ = 'b'; break;
		case '\v': *o++ = 'v'; break;
		case '\f': *o++ = 'f'; break;
		case 0:
			*o++ = '0';
			if (i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7') {
				*o++ = '0';
				*o++ = '0';
			}
			break;
		default:
			*o++ = (char)('0' + (c >> 6));
			*o++ = (char)('0' + ((c >> 3) & 7));
			*o++ = (char)('0' + (c & 7));
			break;
		}
	}
	*o = '\0';
	return (size_t)(o - out);
}

/* The inverse of tk_fline_escape (and of strvisx's C-style escapes in
 * general): what each byte after a backslash stands for, 0x100 + digit for
 * an octal digit, 0 for no escape. */
static const uint16_t unesc[256] = {
	['\\'] = '\\', ['s'] = ' ', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
	['a'] = '\a', ['b'] = '\b', ['v'] = '\v', ['f'] = '\f', ['E'] = 033,
	['0'] = 0x100, ['1'] = 0x101, ['2'] = 0x102, ['3'] = 0x103,
	['4'] = 0x104, ['5'] = 0x105, ['6'] = 0x106, ['7'] = 0x107,
};

/* a little-endian load's value on any host */
static inline uint32_t
le32(uint32_t u)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(u);
#else
	return u;
#endif
}

/*
 * Unescape DATA into out (cap bytes).  Every byte of s must be printable
 * ASCII other than space (the writer puts nothing else there).  Returns
 * the length, -1 on a bad escape or when out is too small, -2 on a byte
 * that is not printable.
 */
static long
unescape(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned c = (unsigned char)s[i];
		if (c != '\\') {
			/* plain bytes eight at a time: all eight are copied, the
			 * run ends at the first backslash or byte outside
			 * 0x21..0x7e (the lowest flagged byte is exact), which
			 * the next turn handles */
			if (i + 8 <= n && o + 8 <= cap) {
				uint64_t w = tk_word(s + i);
				uint64_t m = tk_word_eq(w, '\\') | tk_word_unprintable(w);
				memcpy(out + o, s + i, 8);
				if (m == 0) {
					i += 8;
					o += 8;
					continue;
				}
				unsigned k = tk_word_first(m);
				if (k != 0) {
					i += k;
					o += k;
					continue;
				}
			}
			if (c - 0x21 > 0x7e - 0x21)
				return -2;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)c;
			i++;
			continue;
		}
		if (o == cap)
			return -1;
		if (n - i >= 4) {
			/* the common escape, \ooo (what the writer puts for binary
			 * bytes), in one load: '\\', '0'..'3', '0'..'7', '0'..'7' */
			uint32_t u;
			memcpy(&u, s + i, 4);
			u = le32(u);
			if ((u & 0xf8f8fcffu) == 0x3030305cu) {
				out[o++] = (uint8_t)(((u >> 2) & 0xc0) | ((u >> 13) & 0x38) |
				    ((u >> 24) & 7));
				i += 4;
				continue;
			}
		}
		if (i + 1 == n)
			return -1;
		unsigned e = unesc[(unsigned char)s[i + 1]];
		i += 2;
		if (e < 0x100) {
			if (e == 0)
				return -1;
			out[o++] = (uint8_t)e;
			continue;
		}
		/* one to three octal digits */
		unsigned v = e - 0x100, d;
		if (i < n && (d = (unsigned)(unsigned char)s[i] - '0') < 8) {
			v = v * 8 + d;
			i++;
			if (i < n && (d = (unsigned)(unsigned char)s[i] - '0') < 8) {
				v = v * 8 + d;
				i++;
			}
		}
		if (v > 255)
			return -1;
		out[o++] = (uint8_t)v;
	}
	return (long)o;
}

static int
put(struct tk_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len < n)
		return -1;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int
putw(struct tk_buf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		s = "-";
	if (put(b, s, strlen(s)) < 0)
		return -1;
	return put(b, " ", 1);
}

int
tk_fline_write(struct tk_buf *b, const struct tk_fline *l)
{
	size_t save = b->len;
	char t[32];
	size_t tn = tk_fmt_time(t, l->time_ms);
	t[tn++] = ' ';

	if (put(b, t, tn) < 0 || putw(b, tk_fkind_name(l->kind)) < 0 ||
	    putw(b, l->transport) < 0 || putw(b, l->peer) < 0)
		goto full;
	char c[24];
	size_t cn = 0;
	uint64_t v = l->conn;
	char rev[24];
	do {
		rev[cn++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < cn; i++)
		c[i] = rev[cn - 1 - i];
	c[cn] = '\0';
	if (putw(b, c) < 0 ||
	    putw(b, l->dialect_known ? tk_dialect_name(l->dialect) : "-") < 0 ||
	    putw(b, l->id) < 0 || putw(b, l->flags) < 0)
		goto full;
	if (l->len == 0) {
		if (put(b, "-\n", 2) < 0)
			goto full;
		return 0;
	}
	if (l->len == 1 && l->data[0] == '-') {
		/* "-" alone means no data: a one-byte frame "-" goes octal */
		if (put(b, "\\055\n", 5) < 0)
			goto full;
		return 0;
	}
	if (b->cap - b->len < 4 * l->len + 2)
		goto full;
	b->len += tk_fline_escape(l->data, l->len, b->p + b->len);
	b->p[b->len++] = '\n';
	return 0;
full:
	b->len = save;
	return -1;
}

/* n (<= 4) decimal digits, or -1 */
static int
digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		unsigned c = (unsigned)(unsigned char)p[i] - '0';
		if (c > 9)
			return -1;
		v = v * 10 + (int)c;
	}
	return v;
}

/* the last date seen and its midnight, and the last second seen: lines
 * come in time order, so the calendar arithmetic is done once per day and
 * the hours, minutes and seconds once per second (per thread) */
static _Thread_local char day_key[10];
static _Thread_local int64_t day_ms = -1;
static _Thread_local char sec_key[19];
static _Thread_local int64_t sec_ms = -1;

static int
parse_time(const char *p, size_t n, int64_t *ms)
{
	/* YYYY-MM-DDTHH:MM:SS.mmmZ */
	if (n != 24 || p[19] != '.' || p[23] != 'Z')
		return -1;
	int f = digits(p + 20, 3);
	if (f < 0)
		return -1;
	if (sec_ms >= 0 && memcmp(p, sec_key, sizeof(sec_key)) == 0) {
		*ms = sec_ms + f;
		return 0;
	}
	if (p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':')
		return -1;
	int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
	/* digits() is -1 on a non-digit; the upper bounds as before */
	if ((h | mi | s) < 0 || h > 23 || mi > 59 || s > 60)
		return -1;
	if (day_ms < 0 || memcmp(p, day_key, sizeof(day_key)) != 0) {
		int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
		int64_t m;
		if ((y | mo | d) < 0 || mo > 12 || d > 31 ||
		    tk_time_utc(y, mo, d, 0, 0, 0, 0, &m) != 0)
			return -1;
		memcpy(day_key, p, sizeof(day_key));
		day_ms = m;
	}
	sec_ms = day_ms + (int64_t)h * 3600000 + (int64_t)mi * 60000 + (int64_t)s * 1000;
	memcpy(sec_key, p, sizeof(sec_key));
	*ms = sec_ms + f;
	return 0;
}

bool
tk_fline_probe(const char *line, size_t n)
{
	int64_t ms;
	const char *sp = memchr(line, ' ', n);
	return sp != NULL && parse_time(line, (size_t)(sp - line), &ms) == 0;
}

#define SPAN_IS(s, lit) ((s).n == sizeof(lit) - 1 && memcmp((s).p, lit, sizeof(lit) - 1) == 0)

/* s (no NUL in it) equals the string nm: a byte loop, the names are short */
static bool
name_is(struct tk_span s, const char *nm)
{
	size_t i = 0;
	for (; i < s.n; i++)
		if (nm[i] != s.p[i])	/* also stops at nm's NUL */
			return false;
	return nm[i] == '\0';
}

/*
 * A header field: from *pp up to the next space, every byte printable
 * ASCII other than space.  1 and *pp past the space; 0 when the line ends
 * first (too few fields); -1 on a byte that is not printable.
 */
static int
field(const char **pp, const char *end, struct tk_span *s)
{
	const char *p = *pp, *q = p;

	/* eight bytes at a time: the first byte outside 0x21..0x7e ends the
	 * scan, and is a space or an error */
	while (end - q >= 8) {
		uint64_t m = tk_word_unprintable(tk_word(q));
		if (m) {
			q += tk_word_first(m);
			goto stop;
		}
		q += 8;
	}
	while (q < end && (unsigned)(unsigned char)*q - 0x21 <= 0x7e - 0x21)
		q++;
	if (q == end)
		return 0;
stop:
	if (*q != ' ')
		return -1;
	s->p = p;
	s->n = (size_t)(q - p);
	*pp = q + 1;
	return 1;
}

#define FAIL(m) do { tk_strlcpyn(err, errlen, m, strlen(m)); return -1; } while (0)
#define E_FIELDS	"expected 9 space-separated fields"
#define E_PRINT		"a byte that is not printable ASCII (NUL, control or 8-bit)"
/* the next header field into f, or fail saying why */
#define NEXT_FIELD() do { \
	int r_ = field(&p, end, &f); \
	if (r_ <= 0) \
		FAIL(r_ ? E_PRINT : E_FIELDS); \
} while (0)

/*
 * One pass over the line: the fixed-width time, the kind and transport by
 * their bytes, then one scan per field that also checks every byte (the
 * writer puts only printable ASCII in a line: a NUL would cut a field
 * short unseen, other bytes are not ours).  This runs once per input line
 * of tk-decode: no split, no strlen, no second pass.
 */
int
tk_fline_parse(const char *line, size_t n, struct tk_fline *l, uint8_t *scratch,
    size_t cap, char *err, size_t errlen)
{
	struct tk_span f;
	const char *p, *end;

	if (n && line[n - 1] == '\n')
		n--;
	if (n && line[n - 1] == '\r')
		n--;
	end = line + n;
	memset(l, 0, sizeof(*l));
	/* TIME: 24 bytes, each checked by parse_time */
	p = memchr(line, ' ', n);
	if (p == NULL)
		FAIL(E_FIELDS);
	if (parse_time(line, (size_t)(p - line), &l->time_ms) != 0)
		FAIL("bad time field");
	p++;
	if (end - p >= 10 && (memcmp(p, "frame tcp ", 10) == 0 ||
	    memcmp(p, "frame udp ", 10) == 0)) {
		/* nearly every line: KIND and TRANSPORT in two compares */
		l->kind = TK_F_FRAME;
		memcpy(l->transport, p + 6, 3);
		p += 10;
	} else {
		/* KIND */
		NEXT_FIELD();
		int k;
		for (k = 0; k < TK_F__COUNT; k++)
			if (name_is(f, knames[k]))
				break;
		if (k == TK_F__COUNT)
			FAIL("unknown kind");
		l->kind = (enum tk_fkind)k;
		/* TRANSPORT */
		NEXT_FIELD();
		if (!SPAN_IS(f, "tcp") && !SPAN_IS(f, "udp"))
			FAIL("transport is neither tcp nor udp");
		memcpy(l->transport, f.p, 3);
	}
	/* PEER */
	NEXT_FIELD();
	if (f.n == 0 || f.n >= sizeof(l->peer))
		FAIL("bad peer");
	memcpy(l->peer, f.p, f.n);
	/* CONN */
	NEXT_FIELD();
	if (tk_parse_uint(f.p, f.n, UINT64_MAX, &l->conn) != 0)
		FAIL("bad connection number");
	/* DIALECT */
	NEXT_FIELD();
	if (SPAN_IS(f, "-")) {
		l->dialect = TK_D_UNKNOWN;
	} else {
		if (f.n >= 16)
			FAIL("unknown dialect");
		if (SPAN_IS(f, "unknown"))
			l->dialect = TK_D_UNKNOWN;
		else {
			int d;
			for (d = 1; d < TK_D__COUNT; d++)
				if (name_is(f, tk_dialect_name((enum tk_dialect)d)))
					break;
			if (d == TK_D__COUNT)
				FAIL("unknown dialect");
			l->dialect = (enum tk_dialect)d;
		}
		l->dialect_known = true;
	}
	/* ID */
	NEXT_FIELD();
	if (f.n >= sizeof(l->id))
		FAIL("device id too long");
	if (!SPAN_IS(f, "-"))
		memcpy(l->id, f.p, f.n);
	/* FLAGS */
	NEXT_FIELD();
	if (f.n >= sizeof(l->flags))
		FAIL("flags too long");
	if (!SPAN_IS(f, "-"))
		memcpy(l->flags, f.p, f.n);
	/* DATA: the rest of the line, checked as it is unescaped */
	l->data = scratch;
	size_t dn = (size_t)(end - p);
	if (dn == 0 || (dn == 1 && *p == '-'))
		return 0;
	long dl = unescape(p, dn, scratch, cap);
	if (dl == -2) {
		/* a space is a tenth field; anything else is not ours */
		if (memchr(p, ' ', dn) != NULL)
			FAIL(E_FIELDS);
		FAIL(E_PRINT);
	}
	if (dl < 0)
		FAIL("bad escape in data");
	l->len = (size_t)dl;
	return 0;
}

bool
tk_fline_flag(const char *flags, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = flags; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t tl = e ? (size_t)(e - p) : strlen(p);
		if (tl >= n && memcmp(p, name, n) == 0 && (tl == n || p[n] == '='))
			return true;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return false;
}

bool
tk_fline_disowned(const struct tk_fline *l)
{
	return l->flags[0] != '\0' && (tk_fline_flag(l->flags, "conflict") ||
	    tk_fline_flag(l->flags, "refused"));
}
