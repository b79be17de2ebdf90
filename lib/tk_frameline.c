/* tk_frameline.c: tk-listen's frame lines (tk-frame(5)), written and read. */
#include <string.h>

#include "tk_frameline.h"
#include "tk_util.h"

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

/* The inverse of the above (and of strvisx's C-style escapes in general). */
static long
unescape(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		/* eight bytes at a time while none of them is a backslash */
		while (i + 8 <= n && o + 8 <= cap) {
			uint64_t w, x;
			memcpy(&w, s + i, 8);
			x = w ^ 0x5c5c5c5c5c5c5c5cull;	/* a zero byte where s has '\\' */
			if ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull)
				break;
			memcpy(out + o, &w, 8);
			i += 8;
			o += 8;
		}
		if (i == n)
			break;
		uint8_t c = (uint8_t)s[i];
		if (o == cap)
			return -1;
		if (c != '\\') {
			out[o++] = c;
			continue;
		}
		if (++i == n)
			return -1;
		c = (uint8_t)s[i];
		switch (c) {
		case '\\': out[o++] = '\\'; break;
		case 's': out[o++] = ' '; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'a': out[o++] = '\a'; break;
		case 'b': out[o++] = '\b'; break;
		case 'v': out[o++] = '\v'; break;
		case 'f': out[o++] = '\f'; break;
		case 'E': out[o++] = 033; break;
		default:
			if (c >= '0' && c <= '7') {
				unsigned v = 0, k = 0;
				while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
					v = v * 8 + (unsigned)(s[i] - '0');
					i++;
					k++;
				}
				i--;
				if (v > 255)
					return -1;
				out[o++] = (uint8_t)v;
			} else
				return -1;
		}
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

/* the last date seen and its midnight: lines come in time order, so the
 * calendar arithmetic is done once per day (per thread) */
static _Thread_local char day_key[10];
static _Thread_local int64_t day_ms = -1;

static int
parse_time(const char *p, size_t n, int64_t *ms)
{
	/* YYYY-MM-DDTHH:MM:SS.mmmZ */
	if (n != 24 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
	    p[16] != ':' || p[19] != '.' || p[23] != 'Z')
		return -1;
	int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2),
	    f = digits(p + 20, 3);
	/* digits() is -1 on a non-digit; the upper bounds as before */
	if ((h | mi | s | f) < 0 || h > 23 || mi > 59 || s > 60)
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
	*ms = day_ms + (int64_t)h * 3600000 + (int64_t)mi * 60000 + (int64_t)s * 1000 + f;
	return 0;
}

bool
tk_fline_probe(const char *line, size_t n)
{
	int64_t ms;
	const char *sp = memchr(line, ' ', n);
	return sp != NULL && parse_time(line, (size_t)(sp - line), &ms) == 0;
}

/*
 * Is every byte of line space or printable ASCII (0x20..0x7e)?  Eight bytes
 * at a time: a byte below 0x20 borrows in w - 0x20.. (the first such byte
 * sets its own high bit, so "any" is exact), a byte of 0x7f or more has its
 * high bit set in w | (w + 0x01..).
 */
static bool
printable(const char *line, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, line + i, 8);
		if ((((w - ones * 0x20) & ~w) | w | (w + ones)) & high)
			return false;
	}
	for (; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e)
			return false;
	return true;
}

#define SPAN_IS(s, lit) ((s).n == sizeof(lit) - 1 && memcmp((s).p, lit, sizeof(lit) - 1) == 0)

/* s (no NUL in it) equals the string nm */
static bool
name_is(struct tk_span s, const char *nm)
{
	return s.n != 0 && nm[0] == s.p[0] && strncmp(nm, s.p, s.n) == 0 && nm[s.n] == '\0';
}

#define FAIL(m) do { tk_strlcpyn(err, errlen, m, strlen(m)); return -1; } while (0)

int
tk_fline_parse(const char *line, size_t n, struct tk_fline *l, uint8_t *scratch,
    size_t cap, char *err, size_t errlen)
{
	struct tk_span f[9];

	if (n && line[n - 1] == '\n')
		n--;
	if (n && line[n - 1] == '\r')
		n--;
	if (tk_split(line, n, ' ', f, 9) != 9)
		FAIL("expected 9 space-separated fields");
	/* the writer puts only printable ASCII in a line (DATA is escaped):
	 * a NUL would cut a field short unseen, other bytes are not ours */
	if (!printable(line, n))
		FAIL("a byte that is not printable ASCII (NUL, control or 8-bit)");
	memset(l, 0, sizeof(*l));
	if (parse_time(f[0].p, f[0].n, &l->time_ms) != 0)
		FAIL("bad time field");
	/* kinds, transport, "-" and the dialect by length and bytes: no
	 * strlen/strcmp per field (this parser runs once per input line) */
	int k;
	for (k = 0; k < TK_F__COUNT; k++)
		if (name_is(f[1], knames[k]))
			break;
	if (k == TK_F__COUNT)
		FAIL("unknown kind");
	l->kind = (enum tk_fkind)k;
	if (!SPAN_IS(f[2], "tcp") && !SPAN_IS(f[2], "udp"))
		FAIL("transport is neither tcp nor udp");
	memcpy(l->transport, f[2].p, 3);
	if (f[3].n == 0 || f[3].n >= sizeof(l->peer))
		FAIL("bad peer");
	memcpy(l->peer, f[3].p, f[3].n);
	if (tk_parse_uint(f[4].p, f[4].n, UINT64_MAX, &l->conn) != 0)
		FAIL("bad connection number");
	if (SPAN_IS(f[5], "-")) {
		l->dialect = TK_D_UNKNOWN;
	} else {
		if (f[5].n >= 16)
			FAIL("unknown dialect");
		if (SPAN_IS(f[5], "unknown"))
			l->dialect = TK_D_UNKNOWN;
		else {
			int d;
			for (d = 1; d < TK_D__COUNT; d++)
				if (name_is(f[5], tk_dialect_name((enum tk_dialect)d)))
					break;
			if (d == TK_D__COUNT)
				FAIL("unknown dialect");
			l->dialect = (enum tk_dialect)d;
		}
		l->dialect_known = true;
	}
	if (f[6].n >= sizeof(l->id))
		FAIL("device id too long");
	if (!SPAN_IS(f[6], "-"))
		memcpy(l->id, f[6].p, f[6].n);
	if (f[7].n >= sizeof(l->flags))
		FAIL("flags too long");
	if (!SPAN_IS(f[7], "-"))
		memcpy(l->flags, f[7].p, f[7].n);
	if (SPAN_IS(f[8], "-") || f[8].n == 0) {
		l->data = scratch;
		l->len = 0;
		return 0;
	}
	long dl = unescape(f[8].p, f[8].n, scratch, cap);
	if (dl < 0)
		FAIL("bad escape in data");
	l->data = scratch;
	l->len = (size_t)dl;
	return 0;
}
