/* tk_util.c: bounded parsing helpers, times, checksums. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tk_crc_int.h"
#include "tk_word_int.h"
#include "tk_util.h"

size_t
tk_split(const char *p, size_t n, char sep, struct tk_span *f, size_t max)
{
	size_t nf = 0, start = 0, i = 0;

	/* eight bytes at a time: one field per byte equal to sep */
	for (; i + 8 <= n; i += 8) {
		uint64_t m = tk_word_eq(tk_word(p + i), (uint8_t)sep);
		while (m) {
			size_t at = i + tk_word_first(m);
			if (nf < max) {
				f[nf].p = p + start;
				f[nf].n = at - start;
			}
			nf++;
			start = at + 1;
			m &= m - 1;
		}
	}
	for (; i < n; i++) {
		if (p[i] != sep)
			continue;
		if (nf < max) {
			f[nf].p = p + start;
			f[nf].n = i - start;
		}
		nf++;
		start = i + 1;
	}
	if (nf < max) {
		f[nf].p = p + start;
		f[nf].n = n - start;
	}
	return nf + 1;
}

bool
tk_span_eq(struct tk_span s, const char *lit)
{
	size_t l = strlen(lit);
	return s.n == l && memcmp(s.p, lit, l) == 0;
}

static int
lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

bool
tk_span_ieq(struct tk_span s, const char *lit)
{
	size_t l = strlen(lit);
	if (s.n != l)
		return false;
	for (size_t i = 0; i < l; i++)
		if (lower((unsigned char)s.p[i]) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

bool
tk_span_prefix(struct tk_span s, const char *lit)
{
	size_t l = strlen(lit);
	return s.n >= l && memcmp(s.p, lit, l) == 0;
}

struct tk_span
tk_span_trim(struct tk_span s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\r' || s.p[0] == '\n')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\r' ||
	    s.p[s.n - 1] == '\n'))
		s.n--;
	return s;
}

int
tk_parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d > 9)
			return -1;
		/* 19 digits always fit in 64 bits: only the 20th can overflow */
		if (i == 19 && v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static const double pow10tab[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18
};

int
tk_parse_dec(const char *p, size_t n, double *out)
{
	size_t i = 0, start;
	bool neg = false;
	uint64_t m = 0;
	unsigned sig = 0, frac = 0;	/* significant digits (from the first
					 * non-zero), digits after the point */

	if (n == 0)
		return -1;
	if (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-';
		i = 1;
	}
	if (n - i <= 18) {
		/* at most 18 digits: none is dropped and no limit applies, so
		 * the digits accumulate without counting significance (the
		 * same value as below) */
		for (start = i; i < n; i++) {
			unsigned d = (unsigned)(unsigned char)p[i] - '0';
			if (d > 9)
				break;
			m = m * 10 + d;
		}
		bool any = i > start;
		if (i < n) {
			if (p[i] != '.')
				return -1;
			for (start = ++i; i < n; i++) {
				unsigned d = (unsigned)(unsigned char)p[i] - '0';
				if (d > 9)
					return -1;
				m = m * 10 + d;
			}
			frac = (unsigned)(i - start);
			any |= frac > 0;
		}
		if (!any)
			return -1;
		double v = (double)m;
		if (frac)
			v /= pow10tab[frac];
		*out = neg ? -v : v;
		return 0;
	}
	/* the integer part: more than 18 significant digits is an error */
	for (start = i; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)p[i] - '0';
		if (d > 9)
			break;
		if (sig >= 18)
			return -1;
		m = m * 10 + d;
		sig += m != 0;
	}
	bool any = i > start;
	if (i < n) {
		if (p[i] != '.')
			return -1;
		/* the fraction: digits beyond double precision are dropped */
		for (start = ++i; i < n; i++) {
			unsigned d = (unsigned)(unsigned char)p[i] - '0';
			if (d > 9)
				return -1;
			if (sig < 18) {
				m = m * 10 + d;
				sig += m != 0;
				frac++;
			}
		}
		any |= i > start;
	}
	if (!any || frac > 18)
		return -1;
	double v = (double)m;
	if (frac)
		v /= pow10tab[frac];
	*out = neg ? -v : v;
	return 0;
}

int
tk_parse_hex(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 16)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int h = tk_hexval((unsigned char)p[i]);
		if (h < 0)
			return -1;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return 0;
}

/* tk_parse_nmea by its definition: degrees by tk_parse_uint, minutes by
 * tk_parse_dec */
static int
nmea_split(const char *p, size_t n, double *deg)
{
	const char *dot = memchr(p, '.', n);
	size_t ip = dot ? (size_t)(dot - p) : n;	/* integer digits */
	double v;
	uint64_t d;

	if (ip < 3 || ip > 5)	/* at least d + mm, at most ddd + mm */
		return -1;
	if (tk_parse_uint(p, ip - 2, 180, &d) != 0)
		return -1;
	if (tk_parse_dec(p + ip - 2, n - (ip - 2), &v) != 0 || v < 0 || v >= 60)
		return -1;
	*deg = (double)d + v / 60.0;
	return 0;
}

int
tk_parse_nmea(const char *p, size_t n, double *deg)
{
	/* One pass for the usual shape: 3 to 5 digits, then the end or a
	 * '.' and up to 16 fraction digits.  The degrees and the minutes
	 * are the same integers nmea_split's parsers compute, combined the
	 * same way; anything else goes to nmea_split. */
	size_t ip = 0;
	uint64_t dd = 0;
	if ((n == 9 || n == 10) && p[n - 5] == '.') {
		/* the usual width, "ddmm.mmmm" or "dddmm.mmmm": fixed loops,
		 * the same integers and arithmetic as below */
		uint64_t f = 0;
		unsigned bad = 0;
		for (size_t i = 0; i < n - 5; i++) {
			unsigned c = (unsigned)(unsigned char)p[i] - '0';
			bad |= c > 9;
			dd = dd * 10 + c;
		}
		for (size_t i = n - 4; i < n; i++) {
			unsigned c = (unsigned)(unsigned char)p[i] - '0';
			bad |= c > 9;
			f = f * 10 + c;
		}
		if (!bad) {
			uint64_t d = dd / 100, m = dd % 100 * 10000 + f;
			if (d > 180)
				return -1;
			double v = (double)m / pow10tab[4];
			if (v >= 60)
				return -1;
			*deg = (double)d + v / 60.0;
			return 0;
		}
		dd = 0;
	}
	while (ip < n && ip < 6 && (unsigned)(unsigned char)p[ip] - '0' <= 9)
		dd = dd * 10 + ((unsigned char)p[ip++] - '0');
	if (ip < 3 || ip > 5 || n - ip > 17 || (ip < n && p[ip] != '.'))
		return nmea_split(p, n, deg);
	uint64_t d = dd / 100, m = dd % 100;
	unsigned frac = 0;
	for (size_t i = ip + 1; i < n; i++, frac++) {
		unsigned c = (unsigned)(unsigned char)p[i] - '0';
		if (c > 9)
			return -1;
		m = m * 10 + c;
	}
	if (d > 180)
		return -1;
	double v = (double)m;
	if (frac)
		v /= pow10tab[frac];
	if (v >= 60)
		return -1;
	*deg = (double)d + v / 60.0;
	return 0;
}

int
tk_hexval(int c)
{
	/* a table, not three range tests: in hex text digits and letters
	 * alternate at random, and each mispredicted branch cost more than
	 * the whole lookup (status words, odometers, hex lines) */
#define H16(b)	b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, \
		b + 9, -1, -1, -1, -1, -1, -1
#define X16	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
#define L16	-1, 10, 11, 12, 13, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1
	static const signed char tab[256] = {
		X16, X16, X16, H16(0), L16, X16, L16, X16,
		X16, X16, X16, X16, X16, X16, X16, X16
	};
#undef H16
#undef X16
#undef L16
	return (unsigned)c < 256 ? tab[c] : -1;
}

long
tk_hex_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = tk_hexval((unsigned char)s[i]);
		int lo = tk_hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

void
tk_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
}

int64_t
tk_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's algorithm. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
tk_time_utc(int y, int mo, int d, int h, int mi, int s, int ms, int64_t *out)
{
	static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return -1;
	if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 || ms < 0 || ms > 999)
		return -1;
	int64_t days = tk_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*out = ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)s * 1000 + ms;
	return 0;
}

void
tk_civil_from_ms(int64_t ms, int *y, int *mo, int *d, int *h, int *mi, int *s, int *msec)
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	*msec = (int)(rem % 1000);
	rem /= 1000;
	*s = (int)(rem % 60);
	rem /= 60;
	*mi = (int)(rem % 60);
	*h = (int)(rem / 60);

	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*mo <= 2));
}

uint16_t
tk_crc16_xmodem(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;

	/* eight bytes per step (slicing by 8), then byte by byte */
	for (; n >= 8; n -= 8, p += 8) {
		crc ^= (uint16_t)(p[0] << 8 | p[1]);
		crc = crc16_tab[7][crc >> 8] ^ crc16_tab[6][crc & 0xff] ^
		    crc16_tab[5][p[2]] ^ crc16_tab[4][p[3]] ^ crc16_tab[3][p[4]] ^
		    crc16_tab[2][p[5]] ^ crc16_tab[1][p[6]] ^ crc16_tab[0][p[7]];
	}
	for (; n > 0; n--, p++)
		crc = (uint16_t)(crc << 8 ^ crc16_tab[0][(crc >> 8 ^ *p) & 0xff]);
	return crc;
}

uint8_t
tk_nmea_xor(const uint8_t *p, size_t n)
{
	uint64_t w8 = 0;
	size_t i = 0;
	/* eight bytes at a time, then the eight lanes folded into one */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		w8 ^= w;
	}
	w8 ^= w8 >> 32;
	w8 ^= w8 >> 16;
	w8 ^= w8 >> 8;
	uint8_t x = (uint8_t)w8;
	for (; i < n; i++)
		x ^= p[i];
	return x;
}

size_t
tk_strlcpyn(char *dst, size_t cap, const void *src, size_t n)
{
	if (cap == 0)
		return 0;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

int
tk_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
tk_parse_duration(const char *p, size_t n, uint64_t max, uint64_t *secs)
{
	uint64_t mult = 1, v;

	if (n > 0) {
		switch (p[n - 1]) {
		case 's': mult = 1; n--; break;
		case 'm': mult = 60; n--; break;
		case 'h': mult = 3600; n--; break;
		case 'd': mult = 86400; n--; break;
		default: break;
		}
	}
	if (n == 0 || n > 12 || tk_parse_uint(p, n, 999999999999ull, &v) != 0)
		return -1;
	if (v > max / mult)
		return -1;
	*secs = v * mult;
	return 0;
}

int
tk_read_all(int fd, size_t max, char **bufp, size_t *lenp)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return -1;
	for (;;) {
		if (len == cap) {
			if (cap >= max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				return -1;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}
