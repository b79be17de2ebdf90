/*
 * tk_util.h: bounded parsing of numbers, times and hex from untrusted
 * bytes, checksums, and field splitting.  None of these read past the
 * span they are given, none allocate, none use the locale.
 */
#ifndef TK_UTIL_H
#define TK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tk_span {
	const char	*p;
	size_t		 n;
};

/* Split [p, p+n) on sep into at most max spans; returns the number of
 * fields (which may exceed max: the extra fields are not stored). */
size_t	tk_split(const char *p, size_t n, char sep, struct tk_span *f, size_t max);
bool	tk_span_eq(struct tk_span, const char *lit);	/* exact match */
bool	tk_span_ieq(struct tk_span, const char *lit);	/* ASCII case-insensitive */
bool	tk_span_prefix(struct tk_span, const char *lit);
struct tk_span tk_span_trim(struct tk_span);		/* strip spaces, CR, LF */

/* Unsigned decimal, all n bytes digits, value <= max.  0 on success. */
int	tk_parse_uint(const char *p, size_t n, uint64_t max, uint64_t *out);
/* Signed decimal with optional fraction: [+-]digits[.digits] (or .digits).
 * Up to 18 significant digits.  0 on success. */
int	tk_parse_dec(const char *p, size_t n, double *out);
/* A duration: digits with an optional unit s, m, h or d (no unit:
 * seconds), e.g. 30, 30s, 5m, 1h, 2d; the value in seconds must be at most
 * max.  The one duration syntax of every tool's time options.  0 on
 * success. */
int	tk_parse_duration(const char *p, size_t n, uint64_t max, uint64_t *secs);
/* Hex integer, all n bytes hex digits (either case), n <= 16. */
int	tk_parse_hex(const char *p, size_t n, uint64_t *out);
/* NMEA [d]ddmm.mmmm: all leading digits but the last two before the dot
 * are degrees.  Result in degrees, positive.  0 on success. */
int	tk_parse_nmea(const char *p, size_t n, double *deg);

int	tk_hexval(int c);	/* 0-15, or -1 */
/* Decode hex text; returns bytes written, or -1 on an odd length, a bad
 * digit, or cap too small.  Spaces are not allowed. */
long	tk_hex_decode(const char *s, size_t n, uint8_t *out, size_t cap);
/* Encode n bytes as lowercase hex into out (2n bytes, no NUL). */
void	tk_hex_encode(const uint8_t *p, size_t n, char *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (no range check). */
int64_t	tk_days_from_civil(int64_t y, unsigned m, unsigned d);
/* UTC date and time to ms since the epoch, validating every field
 * (month 1-12, day within the month, 00:00:00-23:59:60).  0 on success. */
int	tk_time_utc(int y, int mo, int d, int h, int mi, int s, int ms, int64_t *out);
/* The inverse, for the writers. */
void	tk_civil_from_ms(int64_t ms, int *y, int *mo, int *d, int *h, int *mi,
	    int *s, int *msec);

uint16_t tk_crc16_xmodem(const uint8_t *p, size_t n);
uint8_t	tk_nmea_xor(const uint8_t *p, size_t n);

/* Unit conversions to Traccar's knots. */
#define TK_KMH_TO_KN	(1.0 / 1.852)

/* Format a reason into a caller's error buffer (NULL or 0 length: ignored);
 * returns -1, so "return tk_errf(err, errlen, ...)" reports and fails. */
int	tk_errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Read all of fd into a malloc'd buffer (NUL-terminated, not counted in
 * *len), at most max bytes: 0, or -1 with errno (EFBIG when larger). */
int	tk_read_all(int fd, size_t max, char **buf, size_t *len);

/* Bounded, NUL-terminating copy; returns the length copied. */
size_t	tk_strlcpyn(char *dst, size_t cap, const void *src, size_t n);

#endif
