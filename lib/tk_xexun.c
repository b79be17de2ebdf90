/*
 * tk_xexun.c: the xexun dialect (protocol.md section 4): GPRMC sentences
 * of the Xexun TK102-2/TK103-2.  Framing, replies, device id, decoding.
 *
 * Framing is structural, not line based: a message runs from its serial
 * field (or GPRMC, or the empty serial's comma) through "imei:<IMEI>,"
 * and its trailer.  The short trailer ends in two raw CRC bytes that may
 * be CR, LF or a comma, so the trailer is measured, not searched for.
 * Our frame is the whole message without its final line end, so that the
 * CRC can be checked; Traccar's basic frame is only "GPRMC...imei:<IMEI>,".
 */
#include <string.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_util.h"

static bool
isdig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
ishex(uint8_t c)
{
	return isdig(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

static bool
iseol(uint8_t c)
{
	return c == '\r' || c == '\n';
}

/* Offset of lit in p[from, n), or n. */
static size_t
find(const uint8_t *p, size_t from, size_t n, const char *lit, size_t l)
{
	while (from + l <= n) {
		const uint8_t *q = memchr(p + from, lit[0], n - from - l + 1);
		if (q == NULL)
			break;
		size_t i = (size_t)(q - p);
		if (memcmp(q, lit, l) == 0)
			return i;
		from = i + 1;
	}
	return n;
}

static bool
is_rmc(const uint8_t *p, size_t n)
{
	return n >= 6 && p[0] == 'G' && (p[1] == 'P' || p[1] == 'N') &&
	    memcmp(p + 2, "RMC,", 4) == 0;
}

/* Can a message start at p[0]?  Serial digits, LOG, the empty serial's
 * comma, or GPRMC/GNRMC. */
static bool
msg_start(uint8_t c)
{
	return isdig(c) || c == ',' || c == 'L' || c == 'G';
}

/*
 * The short trailer (4.2a): LEN digits at p[e], then two raw CRC bytes.
 * A CRC byte may itself be a digit, so try the longest digit run whose
 * value is a plausible length first.  Sets *k (digits of LEN); returns
 * 1 when the CRC verifies, 0 when not, -1 when its bytes are still missing.
 */
static int
short_crc(const uint8_t *m, size_t e, size_t n, size_t *k, uint16_t *got,
    uint16_t *want)
{
	size_t d = 0;
	while (e + d < n && d < 6 && isdig(m[e + d]))
		d++;
	size_t best = 0;
	for (size_t t = d; t >= 1; t--) {
		uint64_t len = 0;
		for (size_t i = 0; i < t; i++)
			len = len * 10 + (uint64_t)(m[e + i] - '0');
		if (len == 0 || len > e)
			continue;
		if (e + t + 2 > n) {
			if (best == 0) {
				*k = t;
				return -1;	/* the CRC bytes are not all here */
			}
			continue;
		}
		uint16_t c = tk_crc16_xmodem(m + (e - len), (size_t)len + t);
		uint16_t w = (uint16_t)(m[e + t] | m[e + t + 1] << 8);
		if (c == w) {
			*k = t;
			if (got)
				*got = w;
			if (want)
				*want = c;
			return 1;
		}
		if (best == 0) {
			best = t;
			if (got)
				*got = w;
			if (want)
				*want = c;
		}
	}
	*k = best ? best : d;
	return 0;
}

enum tk_scan
tk_xexun_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t s = 0;

	o->skip = 0;
	o->len = 0;
	o->junk = false;
	for (;;) {
		size_t jstart = s;
		while (s < n && tk_is_ws(p[s]))
			s++;
		if (s == n) {
			o->skip = n;
			return TK_SCAN_MORE;
		}
		/*
		 * Walk the message: "imei:" ends the head.  A line end before it
		 * is allowed only right after the NMEA "*hh" and before ",".
		 */
		size_t i = s, rmc = n, imei = n;
		while (i < n) {
			uint8_t c = p[i];
			if (c == 'i' && i + 5 <= n && memcmp(p + i, "imei:", 5) == 0) {
				imei = i;
				break;
			}
			if (c == 'G' && rmc == n && is_rmc(p + i, n - i))
				rmc = i;
			if (iseol(c)) {
				if (i >= s + 3 && p[i - 3] == '*' && ishex(p[i - 2]) &&
				    ishex(p[i - 1])) {
					size_t j = i;
					while (j < n && j < i + 2 && iseol(p[j]))
						j++;
					if (j == n && !eof)
						return o->skip = jstart, TK_SCAN_MORE;
					if (j < n && p[j] == ',') {
						i = j;
						continue;
					}
				}
				break;
			}
			i++;
		}
		if (imei == n) {
			if (i == n && !eof) {
				/* no line end yet: wait (the framer caps the length) */
				o->skip = s;
				return TK_SCAN_MORE;
			}
			if (i == n) {
				/* eof: a trailing unterminated text frame */
				o->skip = s;
				o->len = n - s;
				return TK_SCAN_FRAME;
			}
			/* a complete line without "imei:": junk */
			s = i;
			o->junk = true;
			o->skip = s;
			continue;
		}
		size_t start = s;
		if (!msg_start(p[s]) || (p[s] == 'L' && !(n - s >= 3 &&
		    memcmp(p + s, "LOG", 3) == 0)) || (p[s] == 'G' && rmc != s)) {
			if (rmc < imei) {
				start = rmc;
			} else {
				/* "imei:" without a message head: junk through the line */
				size_t j = imei;
				while (j < n && !iseol(p[j]))
					j++;
				if (j == n && !eof) {
					o->skip = jstart;
					return TK_SCAN_MORE;
				}
				s = j;
				o->junk = true;
				o->skip = s;
				continue;
			}
		}
		if (start > jstart) {
			bool allws = true;
			for (size_t t = jstart; t < start; t++)
				if (!tk_is_ws(p[t]))
					allws = false;
			if (!allws)
				o->junk = true;
		}
		o->skip = start;
		/* imei digits and the comma */
		size_t e = imei + 5;
		while (e < n && isdig(p[e]) && e - imei < 5 + 20)
			e++;
		if (e == n) {
			if (!eof)
				return TK_SCAN_MORE;
			o->len = n - start;
			return TK_SCAN_FRAME;
		}
		if (p[e] != ',') {
			o->len = e - start;	/* no trailer */
			return TK_SCAN_FRAME;
		}
		e++;
		size_t end;
		if (e == n) {
			if (!eof)
				return TK_SCAN_MORE;
			end = n;
		} else if (iseol(p[e])) {
			end = e;		/* basic: nothing after the IMEI */
		} else {
			size_t k = 0;
			while (e + k < n && isdig(p[e + k]) && k < 8)
				k++;
			/* where does the text line end? */
			size_t le = e;
			size_t commas = 0;
			while (le < n && !iseol(p[le])) {
				if (p[le] == ',')
					commas++;
				le++;
			}
			if (k == 0 || (k < 8 && e + k < n && p[e + k] == ',' &&
			    (le < n || eof) && commas >= 4)) {
				/* extended (or other text) trailer: the line */
				if (le == n && !eof)
					return TK_SCAN_MORE;
				end = le;
			} else if (e + k == n || (e + k < n && p[e + k] == ',' &&
			    le == n && !eof)) {
				if (!eof)
					return TK_SCAN_MORE;
				end = n;
			} else {
				/* short: LEN digits, two raw CRC bytes */
				size_t kk;
				short_crc(p + start, e - start, n - start, &kk,
				    NULL, NULL);
				end = e + kk + 2;
				if (end > n) {
					if (!eof)
						return TK_SCAN_MORE;
					end = n;
				}
			}
		}
		o->len = end - start;
		return TK_SCAN_FRAME;
	}
}

size_t
tk_xexun_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	(void)f; (void)n; (void)out; (void)cap;
	return 0;	/* the device expects nothing (4.4) */
}

size_t
tk_xexun_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	size_t i = find(f, 0, n, "imei:", 5);
	if (i == n || cap == 0)
		return 0;
	i += 5;
	size_t k = 0;
	while (i + k < n && isdig(f[i + k]) && k + 1 < cap && k < 20)
		k++;
	return tk_strlcpyn(out, cap, f + i, k);
}

int
tk_xexun_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	(void)f; (void)n;
	return tk_dctx_reject(c, "xexun decoding not implemented yet");
}
