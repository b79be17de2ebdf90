/* tk_sim.c: device-side frame generators, expected replies, command
 * answers and routes (see tk_sim.h and docs/protocol/). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tk_cmd.h"
#include "tk_gt06.h"
#include "tk_sim.h"
#include "tk_util.h"

static const char *const kind_names[TK_SIM__KINDS] = {
	"login", "heartbeat", "position", "alarm", "answer"
};

static const char *const alarm_names[TK_SIM_A__COUNT] = {
	"sos", "lowBattery", "overspeed", "geofence", "vibration", "accident"
};

const char *
tk_sim_kind_name(enum tk_sim_kind k)
{
	return (unsigned)k < TK_SIM__KINDS ? kind_names[k] : "?";
}

const char *
tk_sim_alarm_name(enum tk_sim_alarm a)
{
	return (unsigned)a < TK_SIM_A__COUNT ? alarm_names[a] : "?";
}

uint64_t
tk_sim_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double
tk_sim_rand01(uint64_t *s)
{
	return (double)(tk_sim_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- identity -------------------------------------------------------- */

void
tk_sim_dev_init(struct tk_sim_dev *d, enum tk_dialect dialect, uint64_t base, uint64_t n)
{
	memset(d, 0, sizeof(*d));
	d->dialect = dialect;
	/* 86 + 12 digits + Luhn check digit */
	uint64_t body = (base + n) % 1000000000000ull;
	char digits[15];
	snprintf(digits, sizeof(digits), "86%012llu", (unsigned long long)body);
	int sum = 0;
	for (int i = 0; i < 14; i++) {
		int v = digits[i] - '0';
		if (i % 2 == 1) {	/* every second digit from the left, doubled */
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	memcpy(d->imei, digits, 14);
	d->imei[14] = (char)('0' + (10 - sum % 10) % 10);
	d->imei[15] = '\0';
	if (dialect == TK_D_H02) {
		/* a Sinotrack-style 10-digit serial, from the IMEI */
		memcpy(d->id, d->imei + 5, 10);
		d->id[10] = '\0';
	} else {
		memcpy(d->id, d->imei + 3, 12);
		d->id[12] = '\0';
	}
	snprintf(d->phone, sizeof(d->phone), "+4917%08llu",
	    (unsigned long long)((base + n) % 100000000ull));
	d->battery = 90;
	d->odometer_m = (uint32_t)((n * 7919u) % 1000000u);
}

const char *
tk_sim_dev_id(const struct tk_sim_dev *d)
{
	return d->dialect == TK_D_TK103 || d->dialect == TK_D_H02 ? d->id : d->imei;
}

bool
tk_sim_has_login(enum tk_dialect d)
{
	return d != TK_D_XEXUN && d != TK_D_H02;
}

bool
tk_sim_login_gates(enum tk_dialect d)
{
	return d == TK_D_GT06;
}

/* ---- small writers ---------------------------------------------------- */

struct w {
	char	*p;
	size_t	 len, cap;
	bool	 full;
};

static void
wf(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
wf(struct w *w, const char *fmt, ...)
{
	if (w->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= w->cap - w->len) {
		w->full = true;
		return;
	}
	w->len += (size_t)r;
}

/* NMEA ddmm.mmmm with exactly 4 minute decimals, degrees zero-padded to
 * dw digits; computed in integer units so 59.99999' never prints as 60'. */
static void
w_nmea(struct w *w, double deg, int dw)
{
	long long u = llround(fabs(deg) * 600000.0);	/* 1e-4 minutes */
	long long dd = u / 600000, m = u % 600000;
	wf(w, "%0*lld%02lld.%04lld", dw, dd, m / 10000, m % 10000);
}

struct tm_utc {
	int y, mo, d, h, mi, s;
};

static struct tm_utc
utc(int64_t ms)
{
	struct tm_utc t;
	int msec;
	tk_civil_from_ms(ms - (((ms % 1000) + 1000) % 1000), &t.y, &t.mo, &t.d, &t.h,
	    &t.mi, &t.s, &msec);
	return t;
}

static double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- tk103 ------------------------------------------------------------ */

/* The classic fixed-width position block (docs/protocol/tk103.md, Position block). */
static void
tk103_block(struct w *w, const struct tk_sim_dev *d, const struct tk_sim_pos *p)
{
	struct tm_utc t = utc(p->time_ms);
	wf(w, "%02d%02d%02d%c", t.y % 100, t.mo, t.d, p->valid ? 'A' : 'V');
	w_nmea(w, p->lat, 2);
	wf(w, "%c", p->lat < 0 ? 'S' : 'N');
	w_nmea(w, p->lon, 3);
	wf(w, "%c", p->lon < 0 ? 'W' : 'E');
	wf(w, "%05.1f%02d%02d%02d%06.2f", clampd(p->speed_kmh, 0, 999.9), t.h, t.mi, t.s,
	    clampd(p->course, 0, 359.99));
	/* status: external power on, ignition on, no inputs, fuel 0 */
	wf(w, "01000000L%08X", (unsigned)d->odometer_m);
}

static const char tk103_alarm_digit[TK_SIM_A__COUNT] = {
	[TK_SIM_A_SOS] = '2', [TK_SIM_A_LOWBATT] = '2',	/* no BO01 low-battery code: sos */
	[TK_SIM_A_OVERSPEED] = '5', [TK_SIM_A_GEOFENCE] = '6',
	[TK_SIM_A_VIBRATION] = '3', [TK_SIM_A_ACCIDENT] = '1'
};

static void
tk103_frame(struct w *w, const struct tk_sim_dev *d, enum tk_sim_kind k,
    const struct tk_sim_pos *p, enum tk_sim_alarm a)
{
	switch (k) {
	case TK_SIM_HEARTBEAT:
		wf(w, "(%sBP00%sHSO)", d->id, d->id);
		return;
	case TK_SIM_LOGIN:
		wf(w, "(%sBP05%s", d->id, d->imei);
		break;
	case TK_SIM_POSITION:
		wf(w, "(%sBR00", d->id);
		break;
	case TK_SIM_ALARM:
		wf(w, "(%sBO01%c", d->id, tk103_alarm_digit[(unsigned)a < TK_SIM_A__COUNT ? a : 0]);
		break;
	case TK_SIM_ANSWER:
		wf(w, "(%sBP04", d->id);
		break;
	default:
		w->full = true;
		return;
	}
	tk103_block(w, d, p);
	wf(w, ")");
}

/* ---- gps103 ----------------------------------------------------------- */

static const char *const gps103_kw[TK_SIM_A__COUNT] = {
	"help me", "low battery", "speed", "stockade", "sensor alarm", "accident alarm"
};

static void
gps103_frame(struct w *w, const struct tk_sim_dev *d, enum tk_sim_kind k,
    const struct tk_sim_pos *p, enum tk_sim_alarm a)
{
	switch (k) {
	case TK_SIM_LOGIN:
		wf(w, "##,imei:%s,A;", d->imei);
		return;
	case TK_SIM_HEARTBEAT:
		wf(w, "%s;", d->imei);
		return;
	case TK_SIM_POSITION:
	case TK_SIM_ALARM:
	case TK_SIM_ANSWER:
		break;
	default:
		w->full = true;
		return;
	}
	const char *kw = k == TK_SIM_ALARM ? gps103_kw[(unsigned)a < TK_SIM_A__COUNT ? a : 0]
	    : "tracker";
	int64_t sec = p->time_ms - (((p->time_ms % 1000) + 1000) % 1000);
	struct tm_utc l = utc(sec + (int64_t)d->tz_min * 60000);
	struct tm_utc t = utc(sec);
	wf(w, "imei:%s,%s,%02d%02d%02d%02d%02d%02d,,F,%02d%02d%02d.000,%c,", d->imei, kw,
	    l.y % 100, l.mo, l.d, l.h, l.mi, l.s, t.h, t.mi, t.s, p->valid ? 'A' : 'V');
	w_nmea(w, p->lat, 2);
	wf(w, ",%c,", p->lat < 0 ? 'S' : 'N');
	w_nmea(w, p->lon, 3);
	wf(w, ",%c,%.2f,%.2f;", p->lon < 0 ? 'W' : 'E', clampd(p->speed_kmh, 0, 9999) / 1.852,
	    clampd(p->course, 0, 359.99));
}

/* ---- xexun ------------------------------------------------------------ */

static const char *const xexun_kw[TK_SIM_A__COUNT] = {
	"help me!", "low battery", "speed", "stockade", "shake", "move!"
};

static void
xexun_frame(struct w *w, const struct tk_sim_dev *d, enum tk_sim_kind k,
    const struct tk_sim_pos *p, enum tk_sim_alarm a)
{
	if (k != TK_SIM_POSITION && k != TK_SIM_ALARM && k != TK_SIM_ANSWER) {
		w->full = true;
		return;
	}
	const char *kw = k == TK_SIM_ALARM ? xexun_kw[(unsigned)a < TK_SIM_A__COUNT ? a : 0] : "";
	struct tm_utc t = utc(p->time_ms);
	wf(w, "%02d%02d%02d%02d%02d%02d,%s,", t.y % 100, t.mo, t.d, t.h, t.mi, t.s, d->phone);
	size_t rmc = w->len;
	wf(w, "GPRMC,%02d%02d%02d.000,%c,", t.h, t.mi, t.s, p->valid ? 'A' : 'V');
	w_nmea(w, p->lat, 2);
	wf(w, ",%c,", p->lat < 0 ? 'S' : 'N');
	w_nmea(w, p->lon, 3);
	wf(w, ",%c,%.2f,%.2f,%02d%02d%02d,,,A", p->lon < 0 ? 'W' : 'E',
	    clampd(p->speed_kmh, 0, 9999) / 1.852, clampd(p->course, 0, 359.99), t.d, t.mo,
	    t.y % 100);
	if (w->full)
		return;
	uint8_t x = tk_nmea_xor((const uint8_t *)w->p + rmc, w->len - rmc);
	wf(w, "*%02X,%c,%s, imei:%s,%02d,%.1f,F:%.2fV,1,", x, p->valid ? 'F' : 'L', kw,
	    d->imei, p->sats, p->alt, 3.6 + 0.006 * d->battery);
	if (w->full)
		return;
	size_t len = w->len;	/* up to and including the comma after flag */
	wf(w, "%zu,", len);
	if (w->full)
		return;
	uint16_t crc = tk_crc16_xmodem((const uint8_t *)w->p, w->len);
	wf(w, "%u,262,01,%04X,%04X\n\r", (unsigned)crc,
	    (unsigned)tk_crc16_xmodem((const uint8_t *)d->imei, 15), 0x0100u + d->rec_index);
}

/* ---- xexun2 ----------------------------------------------------------- */

static size_t
be16(uint8_t *o, unsigned v)
{
	o[0] = (uint8_t)(v >> 8);
	o[1] = (uint8_t)v;
	return 2;
}

static size_t
be32(uint8_t *o, uint32_t v)
{
	o[0] = (uint8_t)(v >> 24);
	o[1] = (uint8_t)(v >> 16);
	o[2] = (uint8_t)(v >> 8);
	o[3] = (uint8_t)v;
	return 4;
}

static size_t
bedbl(uint8_t *o, double v)
{
	uint64_t u;
	memcpy(&u, &v, 8);
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(u >> (56 - 8 * i));
	return 8;
}

/* IMEI digits packed as 16 nibbles, the last one 0. */
static void
pack_imei(const char *imei, uint8_t o[8])
{
	for (int i = 0; i < 8; i++) {
		unsigned hi = (unsigned)(imei[2 * i] - '0');
		unsigned lo = 2 * i + 1 < 15 ? (unsigned)(imei[2 * i + 1] - '0') : 0;
		o[i] = (uint8_t)(hi << 4 | lo);
	}
}

/* NMEA-style number: sign * (degrees * 100 + minutes). */
static double
x2_nmea(double deg)
{
	double a = fabs(deg);
	double dd = floor(a);
	double v = dd * 100 + (a - dd) * 60;
	return deg < 0 ? -v : v;
}

size_t
tk_sim_x2_escape(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && (p[i] == 0xFA || p[i] == 0xFB) && p[i + 1] == (p[i] == 0xFA ? 0xAF : 0xBF)) {
			if (o + 3 > cap)
				return 0;
			out[o++] = 0xFB;
			out[o++] = 0xBF;
			out[o++] = p[i] == 0xFA ? 0x01 : 0x02;
			i++;
			continue;
		}
		if (o + 1 > cap)
			return 0;
		out[o++] = p[i];
	}
	return o;
}

size_t
tk_sim_x2_unescape(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o >= cap)
			return 0;
		if (p[i] == 0xFB && i + 1 < n && p[i + 1] == 0xBF) {
			if (i + 2 >= n || (p[i + 2] != 0x01 && p[i + 2] != 0x02) || o + 2 > cap)
				return 0;
			out[o++] = p[i + 2] == 0x01 ? 0xFA : 0xFB;
			out[o++] = p[i + 2] == 0x01 ? 0xAF : 0xBF;
			i += 2;
			continue;
		}
		out[o++] = p[i];
	}
	return o;
}

/* Build an unescaped frame body (everything between the flags) and wrap it. */
static size_t
x2_wrap(unsigned type, unsigned index, const char *imei, const uint8_t *payload,
    size_t plen, uint8_t *out, size_t cap)
{
	uint8_t body[16 + 256];
	if (plen > 256 || plen > 0x3FF)
		return 0;
	size_t b = 0;
	b += be16(body + b, type);
	b += be16(body + b, index);
	pack_imei(imei, body + b);
	b += 8;
	b += be16(body + b, (unsigned)plen);
	uint32_t sum = 0;
	for (size_t i = 0; i < plen; i++)
		sum += payload[i];
	b += be16(body + b, ~sum & 0xFFFFu);
	memcpy(body + b, payload, plen);
	b += plen;
	if (cap < 4)
		return 0;
	out[0] = 0xFA;
	out[1] = 0xAF;
	size_t e = tk_sim_x2_escape(body, b, out + 2, cap - 4);
	if (e == 0)
		return 0;
	out[2 + e] = 0xFA;
	out[3 + e] = 0xAF;
	return e + 4;
}

static size_t
xexun2_frame(struct tk_sim_dev *d, enum tk_sim_kind k, const struct tk_sim_pos *p,
    enum tk_sim_alarm a, uint8_t *out, size_t cap)
{
	if (k == TK_SIM_HEARTBEAT)
		return 0;
	uint8_t rec[128];
	size_t r = 0;
	rec[r++] = d->rec_index;
	r += be32(rec + r, (uint32_t)(p->time_ms / 1000));
	rec[r++] = 0x1C;	/* rssi */
	r += be16(rec + r, d->battery & 0x7F);
	bool alarm = k == TK_SIM_ALARM;
	rec[r++] = (uint8_t)((alarm ? 0x01 : 0) | 0x02);
	if (alarm) {
		/* the record knows only sos (bit0), removing/tamper (bit1) and
		 * fallDown (bit15): accident -> fallDown, vibration -> tamper,
		 * the rest -> sos */
		uint32_t bits = a == TK_SIM_A_ACCIDENT ? 0x8000u : a == TK_SIM_A_VIBRATION ? 0x2u : 0x1u;
		r += be32(rec + r, bits);
	}
	rec[r++] = 0x60;	/* posMask: motion (bit5) + GPS double (bit6) */
	r += be16(rec + r, (unsigned)lround(clampd(p->speed_kmh, 0, 6553) * 10));
	r += be16(rec + r, (unsigned)lround(clampd(p->course, 0, 359.9) * 10));
	rec[r++] = (uint8_t)(p->sats < 0 ? 0 : p->sats > 255 ? 255 : p->sats);
	r += bedbl(rec + r, x2_nmea(p->lon));
	r += bedbl(rec + r, x2_nmea(p->lat));

	uint8_t pl[160];
	size_t n = 0;
	pl[n++] = 1;
	n += be16(pl + n, (unsigned)r);
	memcpy(pl + n, rec, r);
	n += r;
	size_t len = x2_wrap(0x0014, d->index, d->imei, pl, n, out, cap);
	if (len > 0) {
		d->index++;
		d->rec_index++;
	}
	return len;
}

/* ---- gt06 (docs/protocol/gt06.md) ---------------------------------------- */

/* The login's IMEI: 16 BCD digits, a padding 0 first. */
static void
gt06_imei(const char *imei, uint8_t o[8])
{
	for (int i = 0; i < 8; i++) {
		unsigned hi = i == 0 ? 0 : (unsigned)(imei[2 * i - 1] - '0');
		unsigned lo = (unsigned)(imei[2 * i] - '0');
		o[i] = (uint8_t)(hi << 4 | lo);
	}
}

/* The 18-byte GPS block: binary UTC date, satellites, 1/1 800 000 degrees,
 * km/h, the course/status word (north, west, fixed, ignition on). */
static size_t
gt06_gps(uint8_t *o, const struct tk_sim_pos *p)
{
	struct tm_utc t = utc(p->time_ms);
	size_t n = 0;
	o[n++] = (uint8_t)(t.y % 100);
	o[n++] = (uint8_t)t.mo;
	o[n++] = (uint8_t)t.d;
	o[n++] = (uint8_t)t.h;
	o[n++] = (uint8_t)t.mi;
	o[n++] = (uint8_t)t.s;
	o[n++] = (uint8_t)(0xC0 | (p->sats < 0 ? 0 : p->sats > 15 ? 15 : p->sats));
	n += be32(o + n, (uint32_t)llround(clampd(fabs(p->lat), 0, 90) * 1800000.0));
	n += be32(o + n, (uint32_t)llround(clampd(fabs(p->lon), 0, 180) * 1800000.0));
	o[n++] = (uint8_t)lround(clampd(p->speed_kmh, 0, 255));
	unsigned w = (unsigned)lround(clampd(p->course, 0, 359.4)) & 0x3FF;
	if (p->lat >= 0)
		w |= 1u << 10;
	if (p->lon < 0)
		w |= 1u << 11;
	if (p->valid)
		w |= 1u << 12;
	w |= 3u << 14;	/* the ignition bit is there, and on */
	n += be16(o + n, w);
	return n;
}

/* LBS without the length byte: MCC 262 (Germany), MNC 1, LAC, 3-byte cell
 * id, both from the IMEI so that each device stays in its cell. */
static size_t
gt06_lbs(uint8_t *o, const struct tk_sim_dev *d)
{
	unsigned v = (unsigned)strtoul(d->imei + 9, NULL, 10);	/* 6 digits */
	size_t n = be16(o, 262);
	o[n++] = 1;
	n += be16(o + n, 1000 + v % 50000);
	o[n++] = (uint8_t)(v >> 16);
	n += be16(o + n, v & 0xFFFF);
	return n;
}

/* The status block: terminal info (GPS on, charging, ignition), voltage
 * level 0-6, GSM level 0-4, alarm code, language (English). */
static size_t
gt06_status(uint8_t *o, const struct tk_sim_dev *d, uint8_t alarm)
{
	o[0] = 0x46;
	o[1] = (uint8_t)(d->battery >= 100 ? 6 : d->battery * 6 / 100);
	o[2] = 4;
	o[3] = alarm;
	o[4] = 0x02;
	return 5;
}

/* Status-block alarm codes (docs/protocol/gt06.md, Common blocks). */
static const uint8_t gt06_alarm_code[TK_SIM_A__COUNT] = {
	[TK_SIM_A_SOS] = 0x01, [TK_SIM_A_LOWBATT] = 0x0F, [TK_SIM_A_OVERSPEED] = 0x06,
	[TK_SIM_A_GEOFENCE] = 0x04, [TK_SIM_A_VIBRATION] = 0x03, [TK_SIM_A_ACCIDENT] = 0x2C
};

static size_t
gt06_frame(struct tk_sim_dev *d, enum tk_sim_kind k, const struct tk_sim_pos *p,
    enum tk_sim_alarm a, uint8_t *out, size_t cap)
{
	uint8_t c[64];
	size_t n = 0;
	uint8_t type;

	switch (k) {
	case TK_SIM_LOGIN:
		/* IMEI, terminal type, time zone word: UTC, English */
		type = 0x01;
		gt06_imei(d->imei, c);
		n = 8;
		n += be16(c + n, 0x2203);
		n += be16(c + n, 0x0002);
		break;
	case TK_SIM_HEARTBEAT:
		type = 0x13;
		n = gt06_status(c, d, 0);
		break;
	case TK_SIM_POSITION:
	case TK_SIM_ANSWER:
		/* GT06N GPS + LBS: then ACC, upload mode (0: fixed interval),
		 * re-upload (0: real time), mileage in metres */
		type = 0x22;
		n = gt06_gps(c, p);
		n += gt06_lbs(c + n, d);
		c[n++] = 1;
		c[n++] = 0;
		c[n++] = 0;
		n += be32(c + n, d->odometer_m);
		break;
	case TK_SIM_ALARM:
		/* GPS + LBS with its length byte + status with the alarm code */
		type = 0x26;
		n = gt06_gps(c, p);
		c[n++] = 9;
		n += gt06_lbs(c + n, d);
		n += gt06_status(c + n, d, gt06_alarm_code[(unsigned)a < TK_SIM_A__COUNT ? a : 0]);
		break;
	default:
		return 0;
	}
	size_t len = tk_gt06_frame(type, c, n, d->index, out, cap);
	if (len > 0)
		d->index++;
	return len;
}

/* ---- h02 (docs/protocol/h02.md) ----------------------------------------- */

/* The status word, negative logic: all clear but ignition (bit 10) on;
 * an alarm clears its bit (h02.md 3.3: bit 0 vibration, bit 1 sos, bit 2
 * overspeed, bit 19 powerCut).  No bit says geofence: sos stands in. */
static uint32_t
h02_status(bool alarm, enum tk_sim_alarm a)
{
	static const unsigned bit[TK_SIM_A__COUNT] = {
		[TK_SIM_A_SOS] = 1, [TK_SIM_A_LOWBATT] = 19, [TK_SIM_A_OVERSPEED] = 2,
		[TK_SIM_A_GEOFENCE] = 1, [TK_SIM_A_VIBRATION] = 0, [TK_SIM_A_ACCIDENT] = 0
	};
	uint32_t s = 0xFFFFFFFFu;
	if (alarm)
		s &= ~(1u << bit[(unsigned)a < TK_SIM_A__COUNT ? a : 0]);
	return s;
}

static uint8_t
bcd2(int v)
{
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

/* The 32-byte binary record (h02.md 3.4): $, the 10-digit id, hh mm ss,
 * DD MM YY, latitude DD MM mm mm, battery, longitude DDD MM mmmm and the
 * flags nibble, speed (knots) and course SS SC CC, the status word, 3
 * bytes not decoded. */
static size_t
h02_binary(const struct tk_sim_dev *d, bool alarm, enum tk_sim_alarm a,
    const struct tk_sim_pos *p, uint8_t *out, size_t cap)
{
	if (cap < 32 || strlen(d->id) != 10)
		return 0;
	struct tm_utc t = utc(p->time_ms);
	size_t n = 0;
	out[n++] = '$';
	for (int i = 0; i < 10; i += 2)
		out[n++] = (uint8_t)((d->id[i] - '0') << 4 | (d->id[i + 1] - '0'));
	out[n++] = bcd2(t.h);
	out[n++] = bcd2(t.mi);
	out[n++] = bcd2(t.s);
	out[n++] = bcd2(t.d);
	out[n++] = bcd2(t.mo);
	out[n++] = bcd2(t.y % 100);
	/* 1e-4 minutes, in integers so that 59.99999' never becomes 60' */
	long long la = llround(clampd(fabs(p->lat), 0, 90) * 600000.0);
	long long lo = llround(clampd(fabs(p->lon), 0, 180) * 600000.0);
	int lad = (int)(la / 600000), lam = (int)(la % 600000);
	int lod = (int)(lo / 600000), lom = (int)(lo % 600000);
	out[n++] = bcd2(lad);
	out[n++] = bcd2(lam / 10000);
	out[n++] = bcd2(lam / 100 % 100);
	out[n++] = bcd2(lam % 100);
	out[n++] = d->battery;
	/* DDD MM mmmm as 9 digits, then the flags: 2 valid, 4 north, 8 east */
	char digits[24];
	snprintf(digits, sizeof(digits), "%03d%02d%04d", lod % 1000, lom / 10000, lom % 10000);
	unsigned flags = (p->valid ? 2u : 0) | (p->lat >= 0 ? 4u : 0) | (p->lon >= 0 ? 8u : 0);
	for (int i = 0; i < 8; i += 2)
		out[n++] = (uint8_t)((digits[i] - '0') << 4 | (digits[i + 1] - '0'));
	out[n++] = (uint8_t)((digits[8] - '0') << 4 | flags);
	int kn = (int)lround(clampd(p->speed_kmh, 0, 1800) / 1.852);
	int co = (int)lround(clampd(p->course, 0, 359.4));
	kn = kn > 999 ? 999 : kn;
	out[n++] = (uint8_t)((kn / 100) << 4 | (kn / 10 % 10));
	out[n++] = (uint8_t)((kn % 10) << 4 | co / 100);
	out[n++] = bcd2(co % 100);
	n += be32(out + n, h02_status(alarm, a));
	out[n++] = 0xFF;
	out[n++] = 0x00;
	out[n++] = 0x00;
	return n;
}

static void
h02_frame(struct w *w, const struct tk_sim_dev *d, enum tk_sim_kind k,
    const struct tk_sim_pos *p, enum tk_sim_alarm a)
{
	switch (k) {
	case TK_SIM_HEARTBEAT:
		wf(w, "*HQ,%s,HTBT,%u#", d->id, (unsigned)d->battery);
		return;
	case TK_SIM_POSITION:
	case TK_SIM_ALARM:
	case TK_SIM_ANSWER:
		break;
	default:
		w->full = true;
		return;
	}
	struct tm_utc t = utc(p->time_ms);
	wf(w, "*HQ,%s,V1,%02d%02d%02d,%c,", d->id, t.h, t.mi, t.s, p->valid ? 'A' : 'V');
	w_nmea(w, p->lat, 2);
	wf(w, ",%c,", p->lat < 0 ? 'S' : 'N');
	w_nmea(w, p->lon, 3);
	wf(w, ",%c,%.2f,%d,%02d%02d%02d,%08X#", p->lon < 0 ? 'W' : 'E',
	    clampd(p->speed_kmh, 0, 1800) / 1.852, (int)lround(clampd(p->course, 0, 359.4)),
	    t.d, t.mo, t.y % 100, h02_status(k == TK_SIM_ALARM, a));
}

/* ---- the generator entry point ----------------------------------------- */

size_t
tk_sim_frame(struct tk_sim_dev *d, enum tk_sim_kind k, const struct tk_sim_pos *p,
    enum tk_sim_alarm a, uint8_t *out, size_t cap)
{
	struct w w = {(char *)out, 0, cap, cap == 0};

	switch (d->dialect) {
	case TK_D_TK103:
		tk103_frame(&w, d, k, p, a);
		break;
	case TK_D_GPS103:
		gps103_frame(&w, d, k, p, a);
		break;
	case TK_D_XEXUN:
		xexun_frame(&w, d, k, p, a);
		break;
	case TK_D_XEXUN2:
		return xexun2_frame(d, k, p, a, out, cap);
	case TK_D_GT06:
		return gt06_frame(d, k, p, a, out, cap);
	case TK_D_H02:
		if (d->binary && k != TK_SIM_HEARTBEAT && k != TK_SIM_LOGIN)
			return h02_binary(d, k == TK_SIM_ALARM, a, p, out, cap);
		h02_frame(&w, d, k, p, a);
		break;
	default:
		return 0;
	}
	return w.full ? 0 : w.len;
}

/* ---- expected replies (docs/protocol/README.md, Replies at a glance) -------------------------- */

static bool
mem_has(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	if (n < l)
		return false;
	for (size_t i = 0; i + l <= n; i++)
		if (memcmp(p + i, lit, l) == 0)
			return true;
	return false;
}

static size_t
put_lit(uint8_t *out, size_t cap, const char *s)
{
	size_t l = strlen(s);
	if (l > cap)
		return 0;
	memcpy(out, s, l);
	return l;
}

size_t
tk_sim_expect(enum tk_dialect d, const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	char buf[TK_SIM_REPLY_MAX];

	switch (d) {
	case TK_D_TK103:
		/* (<12-char id><code>...): id = chars 1-12, code = chars 13-16 */
		if (n < 18 || f[0] != '(')
			return 0;
		if (memcmp(f + 13, "BP00", 4) == 0)
			snprintf(buf, sizeof(buf), "(%.12sAP01HSO)", (const char *)f + 1);
		else if (memcmp(f + 13, "BP05", 4) == 0)
			snprintf(buf, sizeof(buf), "(%.12sAP05)", (const char *)f + 1);
		else
			return 0;
		return put_lit(out, cap, buf);
	case TK_D_GPS103: {
		if (n >= 8 && memcmp(f, "##,imei:", 8) == 0)
			return put_lit(out, cap, "LOAD");
		size_t i = 0;
		while (i < n && f[i] >= '0' && f[i] <= '9')
			i++;
		if (i > 0 && i < n && (f[i] == ';' || f[i] == '\r' || f[i] == '\n'))
			return put_lit(out, cap, "ON");
		if (n > 20 && memcmp(f, "imei:", 5) == 0 && mem_has(f, n, ",help me,")) {
			const uint8_t *c = memchr(f + 5, ',', n - 5);
			size_t il = (size_t)(c - f) - 5;
			if (il > 20)
				return 0;
			snprintf(buf, sizeof(buf), "**,imei:%.*s,E;", (int)il, (const char *)f + 5);
			return put_lit(out, cap, buf);
		}
		return 0;
	}
	case TK_D_XEXUN2: {
		/* ACK: same type, index and IMEI bytes, length 1, checksum FFFE, 01 */
		uint8_t hdr[12];
		if (n < 20 || f[0] != 0xFA || f[1] != 0xAF)
			return 0;
		size_t hn = 0;
		for (size_t i = 2; i + 2 < n && hn < sizeof(hdr); i++) {
			if (f[i] == 0xFB && f[i + 1] == 0xBF) {
				if (f[i + 2] != 0x01 && f[i + 2] != 0x02)
					return 0;
				hdr[hn++] = f[i + 2] == 0x01 ? 0xFA : 0xFB;
				if (hn < sizeof(hdr))
					hdr[hn++] = f[i + 2] == 0x01 ? 0xAF : 0xBF;
				i += 2;
			} else
				hdr[hn++] = f[i];
		}
		if (hn < 12 || (hdr[0] == 0x00 && hdr[1] == 0x07))
			return 0;
		uint8_t body[17];
		memcpy(body, hdr, 12);	/* type, index, IMEI */
		body[12] = 0x00;
		body[13] = 0x01;
		body[14] = 0xFF;
		body[15] = 0xFE;
		body[16] = 0x01;
		if (cap < 4)
			return 0;
		out[0] = 0xFA;
		out[1] = 0xAF;
		size_t e = tk_sim_x2_escape(body, sizeof(body), out + 2, cap - 4);
		if (e == 0)
			return 0;
		out[2 + e] = 0xFA;
		out[3 + e] = 0xAF;
		return e + 4;
	}
	case TK_D_GT06: {
		/* the short frames a unit sends here are each echoed with their
		 * type and serial: 78 78 05 TT SS SS CRC 0D 0A (gt06.md, Replies) */
		if (n < 10 || f[0] != 0x78 || f[1] != 0x78 || (size_t)f[2] + 5 != n ||
		    f[n - 2] != 0x0D || f[n - 1] != 0x0A)
			return 0;
		switch (f[3]) {
		case 0x01: case 0x12: case 0x13: case 0x16: case 0x22: case 0x26:
			break;
		default:
			return 0;
		}
		return tk_gt06_frame(f[3], NULL, 0, (uint16_t)(f[n - 6] << 8 | f[n - 5]), out, cap);
	}
	case TK_D_H02: {
		/* *XX,<id>,V1,...# -> *XX,<id>,V4,V1,<yyyyMMddHHmmss>#, NBR likewise;
		 * HTBT and V0 echoed up to the type (h02.md, Replies) */
		if (n < 6 || f[0] != '*' || f[3] != ',' || f[n - 1] != '#')
			return 0;
		const uint8_t *id = f + 4, *c = memchr(id, ',', n - 4);
		if (c == NULL)
			return 0;
		size_t idn = (size_t)(c - id);
		const uint8_t *ty = c + 1;
		size_t tn = 0;
		while (ty + tn < f + n && ty[tn] != ',' && ty[tn] != '#')
			tn++;
		if (idn == 0 || idn > 20)
			return 0;
		int l;
		bool timed = (tn == 2 && memcmp(ty, "V1", 2) == 0) ||
		    (tn == 3 && memcmp(ty, "NBR", 3) == 0);
		if (timed)
			l = snprintf(buf, sizeof(buf), "*%.2s,%.*s,V4,%.*s,%14s#", (const char *)f + 1,
			    (int)idn, (const char *)id, (int)tn, (const char *)ty, "");
		else if ((tn == 4 && memcmp(ty, "HTBT", 4) == 0) || (tn == 2 && memcmp(ty, "V0", 2) == 0))
			l = snprintf(buf, sizeof(buf), "*%.2s,%.*s,%.*s#", (const char *)f + 1,
			    (int)idn, (const char *)id, (int)tn, (const char *)ty);
		else
			return 0;
		if (l <= 0 || (size_t)l >= sizeof(buf) || (size_t)l > cap)
			return 0;
		if (timed)
			memset(buf + l - 15, TK_SIM_ANY_TIME, 14);	/* the time, any digits */
		memcpy(out, buf, (size_t)l);
		return (size_t)l;
	}
	default:
		return 0;	/* xexun: the server never answers */
	}
}

int
tk_sim_reply_match(enum tk_dialect d, const uint8_t *e, size_t en, const uint8_t *r, size_t rn,
    int64_t now_ms)
{
	size_t m = rn < en ? rn : en, t = SIZE_MAX;
	bool timed = d == TK_D_H02;	/* the binary replies may hold any byte */
	for (size_t i = 0; i < m; i++) {
		if (timed && e[i] == TK_SIM_ANY_TIME) {
			if (r[i] < '0' || r[i] > '9')
				return -1;
			if (t == SIZE_MAX)
				t = i;
		} else if (e[i] != r[i])
			return -1;
	}
	if (rn < en)
		return 0;
	if (t != SIZE_MAX) {
		/* yyyyMMddHHmmss: a calendar time near ours */
		int v[6] = {0}, w[6] = {4, 2, 2, 2, 2, 2};
		size_t k = t;
		for (int f = 0; f < 6; f++)
			for (int j = 0; j < w[f]; j++, k++) {
				if (k >= en || e[k] != TK_SIM_ANY_TIME)
					return -1;
				v[f] = v[f] * 10 + (r[k] - '0');
			}
		int64_t ms;
		if (tk_time_utc(v[0], v[1], v[2], v[3], v[4], v[5], 0, &ms) != 0 ||
		    ms < now_ms - TK_SIM_CLOCK_SKEW_MS || ms > now_ms + TK_SIM_CLOCK_SKEW_MS)
			return -1;
	}
	return 1;
}

/* ---- answers to commands ------------------------------------------------ */

static double
clamp_interval(double v)
{
	return v < 1 ? 1 : v > 86400 ? 86400 : v;
}

/*
 * The command catalogue (tk_cmd.h) recognises the bytes and gives the
 * answer a device sends; positions answering locate come from the
 * generators here, so that they follow the route.
 */
size_t
tk_sim_answer(struct tk_sim_dev *d, const struct tk_sim_pos *p, const uint8_t *c,
    size_t n, struct tk_sim_effect *eff, uint8_t *out, size_t cap)
{
	struct tk_cmd cmd;
	char id[TK_ID_MAX], err[200];
	const char *own = tk_sim_dev_id(d);

	memset(eff, 0, sizeof(*eff));
	if (tk_cmd_recognize(d->dialect, c, n, &cmd, id, sizeof(id), err, sizeof(err)) != 0)
		return 0;
	if (id[0] != '\0' && strcmp(id, own) != 0)
		return 0;	/* another device's command */
	eff->recognised = true;
	switch (cmd.id) {
	case TK_CMD_TRACK:
		if (cmd.num > 0)
			eff->interval_s = clamp_interval((double)cmd.num);
		break;
	case TK_CMD_TRACK_STOP:
	case TK_CMD_POWER_OFF:
		eff->stop = true;
		break;
	case TK_CMD_ENGINE_STOP:
		eff->engine_stop = true;
		break;
	case TK_CMD_ENGINE_RESUME:
		eff->engine_resume = true;
		break;
	case TK_CMD_REBOOT:
		eff->reboot = true;
		break;
	default:
		break;
	}
	struct w w = {(char *)out, 0, cap, cap == 0};
	if (cmd.id == TK_CMD_LOCATE && cmd.set == TK_CS_TK103) {
		tk103_frame(&w, d, TK_SIM_ANSWER, p, TK_SIM_A_SOS);
		return w.full ? 0 : w.len;
	}
	if (cmd.id == TK_CMD_LOCATE && cmd.set == TK_CS_GPS103) {
		gps103_frame(&w, d, TK_SIM_POSITION, p, TK_SIM_A_SOS);
		return w.full ? 0 : w.len;
	}
	long k = tk_cmd_sim_answer(&cmd, own, p->time_ms, out, cap);
	return k > 0 ? (size_t)k : 0;
}

/* ---- routes --------------------------------------------------------------- */

#define EARTH_R	6371008.8

static double
rad(double d)
{
	return d * (M_PI / 180.0);
}

static double
haversine(double la1, double lo1, double la2, double lo2)
{
	double dla = rad(la2 - la1), dlo = rad(lo2 - lo1);
	double a = sin(dla / 2) * sin(dla / 2) +
	    cos(rad(la1)) * cos(rad(la2)) * sin(dlo / 2) * sin(dlo / 2);
	return 2 * EARTH_R * asin(sqrt(a < 1 ? a : 1));
}

static double
bearing(double la1, double lo1, double la2, double lo2)
{
	double y = sin(rad(lo2 - lo1)) * cos(rad(la2));
	double x = cos(rad(la1)) * sin(rad(la2)) - sin(rad(la1)) * cos(rad(la2)) * cos(rad(lo2 - lo1));
	double b = atan2(y, x) * (180.0 / M_PI);
	return b < 0 ? b + 360 : b >= 360 ? b - 360 : b;
}

static int
route_alloc(struct tk_sim_route *r, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->lat = calloc(n, sizeof(double));
	r->lon = calloc(n, sizeof(double));
	r->cum = calloc(n, sizeof(double));
	if (!r->lat || !r->lon || !r->cum) {
		tk_sim_route_free(r);
		return -1;
	}
	r->n = n;
	return 0;
}

static void
route_finish(struct tk_sim_route *r)
{
	r->cum[0] = 0;
	for (size_t i = 1; i < r->n; i++)
		r->cum[i] = r->cum[i - 1] + haversine(r->lat[i - 1], r->lon[i - 1], r->lat[i], r->lon[i]);
	r->len = r->cum[r->n - 1];
	r->closed = r->n > 2 && r->lat[0] == r->lat[r->n - 1] && r->lon[0] == r->lon[r->n - 1];
}

void
tk_sim_route_free(struct tk_sim_route *r)
{
	free(r->lat);
	free(r->lon);
	free(r->cum);
	memset(r, 0, sizeof(*r));
}

int
tk_sim_route_circle(struct tk_sim_route *r, double lat, double lon, double radius_m,
    unsigned npts)
{
	if (npts < 3 || npts > TK_SIM_ROUTE_MAXPTS || !(radius_m > 0) || !(fabs(lat) < 89) ||
	    !(fabs(lon) <= 180) || route_alloc(r, npts + 1) != 0)
		return -1;
	double dlat = radius_m / EARTH_R * (180.0 / M_PI);
	double dlon = dlat / cos(rad(lat));
	for (unsigned i = 0; i < npts; i++) {
		double a = 2 * M_PI * i / npts;
		r->lat[i] = lat + dlat * sin(a);
		double lo = lon + dlon * cos(a);
		r->lon[i] = lo > 180 ? lo - 360 : lo < -180 ? lo + 360 : lo;
	}
	r->lat[npts] = r->lat[0];
	r->lon[npts] = r->lon[0];
	route_finish(r);
	return 0;
}

static void
seterr(char *err, size_t errlen, const char *msg)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

static struct json_object *
find_linestring(struct json_object *o, int depth)
{
	struct json_object *t, *g, *fs;
	if (depth > 4 || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "type", &t) || !json_object_is_type(t, json_type_string))
		return NULL;
	const char *ty = json_object_get_string(t);
	if (strcmp(ty, "LineString") == 0)
		return o;
	if (strcmp(ty, "Feature") == 0 && json_object_object_get_ex(o, "geometry", &g))
		return find_linestring(g, depth + 1);
	if (strcmp(ty, "FeatureCollection") == 0 && json_object_object_get_ex(o, "features", &fs) &&
	    json_object_is_type(fs, json_type_array)) {
		size_t n = json_object_array_length(fs);
		for (size_t i = 0; i < n; i++) {
			struct json_object *ls = find_linestring(json_object_array_get_idx(fs, i), depth + 1);
			if (ls != NULL)
				return ls;
		}
	}
	return NULL;
}

static bool
get_num(struct json_object *o, double *v)
{
	if (!json_object_is_type(o, json_type_double) && !json_object_is_type(o, json_type_int))
		return false;
	*v = json_object_get_double(o);
	return isfinite(*v);
}

int
tk_sim_route_geojson(struct tk_sim_route *r, const char *text, size_t n, char *err,
    size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (n > INT32_MAX) {
		seterr(err, errlen, "file too large");
		return -1;
	}
	struct json_tokener *tok = json_tokener_new_ex(32);
	if (tok == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)n);
	enum json_tokener_error je = json_tokener_get_error(tok);
	if (root == NULL || je != json_tokener_success) {
		if (errlen > 0)
			snprintf(err, errlen, "not JSON: %s at offset %zu",
			    root == NULL && je == json_tokener_continue ? "truncated"
			    : json_tokener_error_desc(je), (size_t)json_tokener_get_parse_end(tok));
		json_object_put(root);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	int rc = -1;
	struct json_object *ls = find_linestring(root, 0), *co;
	if (ls == NULL) {
		seterr(err, errlen, "no GeoJSON LineString (geometry, Feature or FeatureCollection)");
		goto out;
	}
	if (!json_object_object_get_ex(ls, "coordinates", &co) ||
	    !json_object_is_type(co, json_type_array)) {
		seterr(err, errlen, "LineString without a coordinates array");
		goto out;
	}
	size_t np = json_object_array_length(co);
	if (np < 2 || np > TK_SIM_ROUTE_MAXPTS) {
		seterr(err, errlen, "a LineString needs 2 to 1000000 positions");
		goto out;
	}
	if (route_alloc(r, np) != 0) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		struct json_object *pt = json_object_array_get_idx(co, i);
		double lo, la;
		if (!json_object_is_type(pt, json_type_array) || json_object_array_length(pt) < 2 ||
		    !get_num(json_object_array_get_idx(pt, 0), &lo) ||
		    !get_num(json_object_array_get_idx(pt, 1), &la) || fabs(la) > 90 || fabs(lo) > 180) {
			if (errlen > 0)
				snprintf(err, errlen, "position %zu is not [lon, lat] within range", i);
			tk_sim_route_free(r);
			goto out;
		}
		r->lat[i] = la;
		r->lon[i] = lo;
	}
	route_finish(r);
	if (!(r->len > 0)) {
		seterr(err, errlen, "the LineString has zero length");
		tk_sim_route_free(r);
		goto out;
	}
	rc = 0;
out:
	json_object_put(root);
	return rc;
}

void
tk_sim_route_at(const struct tk_sim_route *r, double dist, double *lat, double *lon,
    double *course)
{
	if (r->n == 0) {
		*lat = *lon = *course = 0;
		return;
	}
	if (r->n == 1 || !(r->len > 0)) {
		*lat = r->lat[0];
		*lon = r->lon[0];
		*course = 0;
		return;
	}
	bool back = false;
	if (!isfinite(dist) || dist < 0)
		dist = 0;
	if (r->closed) {
		dist = fmod(dist, r->len);
	} else {
		dist = fmod(dist, 2 * r->len);
		if (dist > r->len) {
			dist = 2 * r->len - dist;
			back = true;
		}
	}
	/* binary search for the segment [i, i+1] holding dist */
	size_t lo = 0, hi = r->n - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->cum[mid] <= dist)
			lo = mid;
		else
			hi = mid;
	}
	double seg = r->cum[hi] - r->cum[lo];
	double f = seg > 0 ? (dist - r->cum[lo]) / seg : 0;
	*lat = r->lat[lo] + f * (r->lat[hi] - r->lat[lo]);
	*lon = r->lon[lo] + f * (r->lon[hi] - r->lon[lo]);
	double b = bearing(r->lat[lo], r->lon[lo], r->lat[hi], r->lon[hi]);
	if (back)
		b = fmod(b + 180, 360);
	*course = b;
}
