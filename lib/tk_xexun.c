/*
 * tk_xexun.c: the xexun dialect (docs/protocol/xexun.md): GPRMC sentences
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
#include "tk_word_int.h"

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

bool
tk_xexun_nofix_head(const uint8_t *p, size_t i)
{
	if (i > 0 && p[i - 1] == ' ')
		i--;
	if (i == 0 || p[--i] != ',')
		return false;
	size_t k = 0;
	while (i > 0 && p[i - 1] != ',' && !iseol(p[i - 1]) && k < 40) {
		i--;
		k++;
	}
	return i >= 3 && p[i - 1] == ',' && (p[i - 2] == 'F' || p[i - 2] == 'L') &&
	    p[i - 3] == ',';
}

/*
 * A message whose serial field is not text (binary bytes, as some firmware
 * sends): up to 20 bytes without a comma from s, then ",<phone>,GPRMC", or
 * the form without GPRMC (",...,F|L,<keyword>,[ ]imei:").
 */
static bool
binary_head(const uint8_t *p, size_t s, size_t rmc, size_t imei)
{
	size_t w = imei - s < 21 ? imei - s : 21;
	const uint8_t *c = memchr(p + s, ',', w);
	if (c == NULL || c == p + s)
		return false;
	size_t cm = (size_t)(c - p);
	if (rmc < imei)
		return rmc > cm && p[rmc - 1] == ',' &&
		    memchr(p + cm + 1, ',', rmc - 1 - (cm + 1)) == NULL;
	return tk_xexun_nofix_head(p, imei);
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
	if (want == NULL) {
		/* framing only: with one plausible LEN the CRC need not be computed */
		size_t plaus = 0, pt = 0;
		for (size_t t = d; t >= 1; t--) {
			uint64_t len = 0;
			for (size_t i = 0; i < t; i++)
				len = len * 10 + (uint64_t)(m[e + i] - '0');
			if (len > 0 && len <= e) {
				plaus++;
				if (pt == 0)
					pt = t;
			}
		}
		if (plaus == 1) {
			*k = pt;
			return e + pt + 2 > n ? -1 : 0;
		}
	}
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

/*
 * Does an extended trailer (4.2b) start at p[e]?  "<sats>,<alt>,F:" or
 * "L:": 1 yes, 0 no, -1 not enough bytes to tell.  The short trailer's
 * raw CRC bytes can be a comma and a digit, but not this whole shape.
 */
static int
ext_trailer(const uint8_t *p, size_t e, size_t n)
{
	size_t i = e;
	while (i < n && isdig(p[i]) && i - e < 8)
		i++;
	if (i == n)
		return -1;
	if (p[i] != ',')
		return 0;
	i++;
	while (i < n && (isdig(p[i]) || p[i] == '-' || p[i] == '.') && i - e < 24)
		i++;
	if (i == n)
		return -1;
	if (p[i] != ',')
		return 0;
	if (i + 3 > n)
		return -1;
	return (p[i + 1] == 'F' || p[i + 1] == 'L') && p[i + 2] == ':';
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
			if (n - i >= 8) {
				/* eight bytes at a time past those the walk
				 * only steps over (none of i G CR LF) */
				uint64_t w = tk_word(p + i);
				uint64_t m = tk_word_eq(w, 'i') | tk_word_eq(w, 'G') |
				    tk_word_eq(w, '\r') | tk_word_eq(w, '\n');
				if (m == 0) {
					i += 8;
					continue;
				}
				i += tk_word_first(m);
			}
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
						return o->skip = s, TK_SCAN_MORE;
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
		if ((!msg_start(p[s]) || (p[s] == 'L' && !(n - s >= 3 &&
		    memcmp(p + s, "LOG", 3) == 0)) || (p[s] == 'G' && rmc != s)) &&
		    !binary_head(p, s, rmc, imei)) {
			if (rmc < imei) {
				start = rmc;
			} else {
				/* "imei:" without a message head: junk through the line */
				size_t j = imei;
				while (j < n && !iseol(p[j]))
					j++;
				if (j == n && !eof) {
					o->skip = s;
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
			int ext = ext_trailer(p, e, n);
			if (ext == 1 || (k == 0 && ext == 0)) {
				/* extended (or other text) trailer: to the line end */
				size_t le = e;
				while (n - le >= 8) {
					uint64_t w = tk_word(p + le);
					uint64_t m = tk_word_eq(w, '\r') | tk_word_eq(w, '\n');
					if (m) {
						le += tk_word_first(m);
						break;
					}
					le += 8;
				}
				while (le < n && !iseol(p[le]))
					le++;
				if (le == n && !eof)
					return TK_SCAN_MORE;
				end = le;
			} else if (ext == -1 || e + k == n) {
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


/* ---- decoding ------------------------------------------------------ */

/* Keywords (4.3): Traccar's table, then the documented lenient mapping. */
static const struct keyword {
	const char	*word;
	bool		 prefix;
	const char	*alarm;		/* NULL: ignition */
	bool		 ignition;
} keywords[] = {
	{"acc on", false, NULL, true},
	{"accstart", false, NULL, true},
	{"acc off", false, NULL, false},
	{"accstop", false, NULL, false},
	{"help me!", false, "sos", false},
	{"help me", false, "sos", false},
	{"helpme", false, "sos", false},
	{"low battery", false, "lowBattery", false},
	{"move!", false, "movement", false},
	{"moved!", false, "movement", false},
	/* lenient (docs/protocol/xexun.md, Keywords; not Traccar's) */
	{"stockade", true, "geofence", false},
	{"speed", true, "overspeed", false},
	{"sensor", true, "vibration", false},
	{"shake", false, "vibration", false},
	{"ac alarm", true, "powerCut", false},
	{"door", true, "door", false},
	{"bat:l", false, "lowBattery", false},
	{"low bat", true, "lowBattery", false},
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static void
keyword(struct tk_record *r, struct tk_span k)
{
	k = tk_span_trim(k);
	if (k.n == 0)
		return;
	tk_rec_str(r, "event", k.p, k.n);
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		const struct keyword *w = &keywords[i];
		size_t l = strlen(w->word);
		if (k.n < l || (!w->prefix && k.n != l))
			continue;
		size_t j = 0;
		while (j < l && lower((unsigned char)k.p[j]) == w->word[j])
			j++;
		if (j < l)
			continue;
		if (w->alarm)
			tk_rec_alarm(r, w->alarm);
		else
			tk_rec_bool(r, "ignition", w->ignition);
		return;
	}
}

/* A coordinate: NMEA [d]ddmm.mmmm and its hemisphere letter. */
static int
coord(struct tk_dctx *c, struct tk_span v, struct tk_span h, const char *neg,
    const char *what, double *out)
{
	double d;
	if (tk_parse_nmea(v.p, v.n, &d) != 0) {
		/*
		 * "10.2368,E": minutes only.  One firmware sends decimal degrees
		 * here; Traccar reads minutes, and so do we, with a warning.
		 */
		const char *dot = memchr(v.p, '.', v.n);
		if (dot == NULL || dot - v.p > 2 || tk_parse_dec(v.p, v.n, &d) != 0 ||
		    d < 0 || d >= 60)
			return tk_dctx_reject(c, "bad %s \"%.*s\"", what, (int)v.n, v.p);
		tk_dctx_warn(c, "%s \"%.*s\" has no degrees: read as minutes as "
		    "Traccar does (probably decimal degrees)", what, (int)v.n, v.p);
		d /= 60;
	}
	if (h.n == 1 && h.p[0] == neg[0])
		d = -d;
	else if (h.n > 1 || (h.n == 1 && h.p[0] != neg[1]))
		return tk_dctx_reject(c, "bad %s hemisphere \"%.*s\"", what, (int)h.n, h.p);
	*out = d;
	return 0;
}

static bool
dig2(const char *p, int *v)
{
	if (!isdig((uint8_t)p[0]) || !isdig((uint8_t)p[1]))
		return false;
	*v = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/* GPRMC fields [rmc, star): time, validity, position, speed, course, date. */
static int
rmc_fields(struct tk_dctx *c, const char *p, size_t n)
{
	struct tk_record *r = c->r;
	struct tk_span fl[16];
	size_t nf = tk_split(p, n, ',', fl, 16);

	if (nf < 10)
		return tk_dctx_reject(c, "GPRMC with %zu fields, want at least 10", nf);
	if (tk_span_eq(fl[2], "A"))
		r->valid = true;
	else if (!tk_span_eq(fl[2], "V"))
		return tk_dctx_reject(c, "bad GPRMC validity \"%.*s\"", (int)fl[2].n, fl[2].p);
	if (fl[3].n == 0 && fl[5].n == 0) {
		/* "GPRMC,.000,A,,,,,0.00,0.00,,,,A*55": no fix yet (whatever the
		 * A says): the message is the unit's status, no position */
		r->valid = false;
		return 1;
	}
	double lat = 0, lon = 0;
	if (coord(c, fl[3], fl[4], "SN", "latitude", &lat) < 0 ||
	    coord(c, fl[5], fl[6], "WE", "longitude", &lon) < 0)
		return -1;
	if (lat > 90 || lon > 180)
		return tk_dctx_reject(c, "coordinates out of range");
	r->lat = lat;
	r->lon = lon;
	r->has_pos = true;
	double v;
	if (tk_parse_dec(fl[7].p, fl[7].n, &v) != 0 || v < 0)
		return tk_dctx_reject(c, "bad speed \"%.*s\"", (int)fl[7].n, fl[7].p);
	r->speed = v;			/* knots */
	r->has_speed = true;
	if (fl[8].n) {
		if (tk_parse_dec(fl[8].p, fl[8].n, &v) != 0 || v < 0)
			return tk_dctx_reject(c, "bad course \"%.*s\"", (int)fl[8].n, fl[8].p);
		r->course = v;
		r->has_course = true;
	}
	/* hhmmss[.sss] and DDMMYY */
	int hh, mi, ss, dd, mo, yy, ms = 0;
	struct tk_span t = fl[1], d = fl[9];
	if (t.n >= 6 && d.n == 6 && dig2(t.p, &hh) && dig2(t.p + 2, &mi) &&
	    dig2(t.p + 4, &ss) && dig2(d.p, &dd) && dig2(d.p + 2, &mo) &&
	    dig2(d.p + 4, &yy)) {
		if (t.n > 6) {
			if (t.p[6] != '.')
				return tk_dctx_reject(c, "bad GPRMC time \"%.*s\"", (int)t.n, t.p);
			int mul = 100;
			for (size_t i = 7; i < t.n; i++) {
				if (!isdig((uint8_t)t.p[i]))
					return tk_dctx_reject(c, "bad GPRMC time \"%.*s\"",
					    (int)t.n, t.p);
				ms += (t.p[i] - '0') * mul;
				mul /= 10;
			}
		}
		if (tk_time_utc(2000 + yy, mo, dd, hh, mi, ss, ms, &r->fix_time) != 0)
			return tk_dctx_reject(c, "bad GPRMC date/time %.*s %.*s", (int)d.n,
			    d.p, (int)t.n, t.p);
		r->device_time = r->fix_time;
	} else if (t.n || d.n)
		return tk_dctx_reject(c, "bad GPRMC date/time \"%.*s\" \"%.*s\"", (int)d.n,
		    d.p, (int)t.n, t.p);
	else
		tk_dctx_warn(c, "GPRMC without time and date");
	return 0;
}

/* "F:4.28V/ADC1=0.20V/ADC2=0.00V": power and the ADC inputs. */
static void
power(struct tk_record *r, struct tk_span s)
{
	struct tk_span part[4];
	size_t np = tk_split(s.p, s.n, '/', part, 4);
	double v;
	for (size_t i = 0; i < np && i < 4; i++) {
		struct tk_span x = part[i];
		if (x.n && (x.p[x.n - 1] == 'V' || x.p[x.n - 1] == 'v'))
			x.n--;
		if (i == 0 && x.n >= 2 && x.p[1] == ':' && (x.p[0] == 'F' || x.p[0] == 'L')) {
			if (tk_parse_dec(x.p + 2, x.n - 2, &v) == 0)
				tk_rec_num(r, "power", v, 3);
		} else if (x.n > 5 && memcmp(x.p, "ADC", 3) == 0 && x.p[4] == '=' &&
		    (x.p[3] == '1' || x.p[3] == '2')) {
			if (tk_parse_dec(x.p + 5, x.n - 5, &v) == 0)
				tk_rec_num(r, x.p[3] == '1' ? "adc1" : "adc2", v, 3);
		}
	}
}

/* The extended trailer (4.2b), e at its first byte. */
static void
extended(struct tk_dctx *c, const char *m, size_t e, size_t n)
{
	struct tk_record *r = c->r;
	struct tk_span fl[12];
	size_t nf = tk_split(m + e, n - e, ',', fl, 12);
	uint64_t u;
	double v;

	if (fl[0].n && tk_parse_uint(fl[0].p, fl[0].n, 255, &u) == 0)
		tk_rec_int(r, "sat", (int64_t)u);
	if (fl[1].n && tk_parse_dec(fl[1].p, fl[1].n, &v) == 0 && r->has_pos) {
		r->alt = v;
		r->has_alt = true;
	}
	power(r, fl[2]);
	if (nf < 6)
		return;
	/* LEN: bytes up to and including the comma after the flag; CRC over
	 * the same start through the comma after LEN, in decimal. */
	uint64_t len, crc;
	size_t lenat = (size_t)(fl[4].p - m), crcat = (size_t)(fl[5].p - m);
	if (fl[5].n && tk_parse_uint(fl[4].p, fl[4].n, 65535, &len) == 0 &&
	    tk_parse_uint(fl[5].p, fl[5].n, 65535, &crc) == 0) {
		bool ok = len <= lenat && tk_crc16_xmodem((const uint8_t *)m + (lenat - len),
		    crcat - (lenat - len)) == crc;
		tk_rec_bool(r, "crcValid", ok);
		if (!ok)
			tk_dctx_warn(c, "xexun trailer CRC %.*s does not match (LEN %.*s)",
			    (int)fl[5].n, fl[5].p, (int)fl[4].n, fl[4].p);
	}
	if (nf >= 10) {
		struct tk_cell cl = {0};
		uint64_t mcc, mnc, lac, cid;
		if (tk_parse_uint(fl[6].p, fl[6].n, 999, &mcc) == 0 &&
		    tk_parse_uint(fl[7].p, fl[7].n, 999, &mnc) == 0 &&
		    fl[8].n <= 8 && tk_parse_hex(fl[8].p, fl[8].n, &lac) == 0 &&
		    fl[9].n <= 8 && tk_parse_hex(fl[9].p, fl[9].n, &cid) == 0) {
			cl.mcc = (uint16_t)mcc;
			cl.mnc = (uint16_t)mnc;
			cl.has_mcc = true;
			cl.lac = (uint32_t)lac;
			cl.cid = cid;
			tk_rec_cell(r, &cl);
		}
	}
	if (nf >= 11 && fl[10].n > 2 && memcmp(fl[10].p + fl[10].n - 2, "km", 2) == 0 &&
	    tk_parse_dec(fl[10].p, fl[10].n - 2, &v) == 0 && v >= 0)
		tk_rec_num(r, "odometer", v * 1000, 0);
}

int
tk_xexun_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	const char *m = (const char *)f;
	struct tk_record *r = c->r;

	size_t imei = find(f, 0, n, "imei:", 5);
	if (imei == n)
		return tk_dctx_reject(c, "xexun message without \"imei:\"");
	size_t e = imei + 5;
	while (e < n && isdig(f[e]) && e - imei - 5 < 20)
		e++;
	size_t idlen = e - imei - 5;
	if (idlen == 0)
		return tk_dctx_reject(c, "xexun message with an empty IMEI");
	tk_strlcpyn(c->s->id, sizeof(c->s->id), m + imei + 5, idlen);
	if (e < n && f[e] == ',')
		e++;

	size_t rmc = 0;
	while (rmc < imei && !is_rmc(f + rmc, imei - rmc)) {
		const uint8_t *g = memchr(f + rmc + 1, 'G', imei - rmc - 1);
		rmc = g ? (size_t)(g - f) : imei;
	}
	bool fix = rmc < imei;
	tk_dctx_begin(c, fix ? TK_R_POSITION : TK_R_EVENT);
	tk_rec_set_id(r, m + imei + 5, idlen);
	if (n >= 3 && memcmp(m, "LOG", 3) == 0)
		tk_rec_bool(r, "archive", true);

	struct tk_span kw = {NULL, 0};
	if (fix) {
		const uint8_t *star = memchr(f + rmc, '*', imei - rmc);
		if (star == NULL)
			return tk_dctx_reject(c, "GPRMC without its *hh checksum");
		size_t st = (size_t)(star - f);
		int rf = rmc_fields(c, m + rmc, st - rmc);
		if (rf < 0)
			return -1;
		if (rf == 1)
			r->type = TK_R_EVENT;	/* GPRMC without a position */
		uint64_t x;
		if (st + 3 <= imei && tk_parse_hex(m + st + 1, 2, &x) == 0) {
			uint8_t want = tk_nmea_xor(f + rmc, st - rmc);
			tk_rec_bool(r, "checksumValid", want == x);
			if (want != x)
				tk_dctx_warn(c, "NMEA checksum *%02X, computed %02X",
				    (unsigned)x, want);
		} else
			tk_dctx_warn(c, "GPRMC checksum is not two hex digits");
		/* *hh [CR LF] ,F|L, keyword, [ ]imei: */
		size_t i = st + 3;
		while (i < imei && iseol(f[i]))
			i++;
		if (i + 3 <= imei && f[i] == ',' && (f[i + 1] == 'F' || f[i + 1] == 'L') &&
		    f[i + 2] == ',') {
			i += 3;
			const char *cm = memchr(m + i, ',', imei - i);
			if (cm != NULL)
				kw = (struct tk_span){m + i, (size_t)(cm - (m + i))};
		}
	} else {
		/* no fix: ",phone,,L,, imei:": the keyword follows the F/L field */
		struct tk_span fl[16];
		size_t nf = tk_split(m, imei, ',', fl, 16);
		if (nf > 16)
			nf = 16;
		for (size_t j = nf; j-- > 0;)
			if (tk_span_eq(fl[j], "F") || tk_span_eq(fl[j], "L")) {
				if (j + 2 < nf)
					kw = fl[j + 1];
				break;
			}
	}
	keyword(r, kw);

	/* the trailer; a frame from a hex or text line may keep its line end */
	size_t tn = n;
	while (tn > e && tk_is_ws(f[tn - 1]))
		tn--;
	if (e < tn) {
		if (ext_trailer(f, e, tn) == 1)
			extended(c, m, e, tn);
		else {
			size_t k;
			uint16_t got = 0, want = 0;
			int ok = short_crc(f, e, n, &k, &got, &want);
			if (ok >= 0 && e + k + 2 <= n && (e + k + 2 == n ||
			    (e + k + 2 >= tn && iseol(f[e + k + 2])))) {
				tk_rec_bool(r, "crcValid", ok == 1);
				if (ok != 1)
					tk_dctx_warn(c, "xexun trailer CRC %04X, computed %04X",
					    got, want);
			} else
				tk_dctx_warn(c, "unrecognised xexun trailer (%zu bytes)", n - e);
		}
	}
	tk_dctx_emit(c);
	return (int)c->nemit;
}
