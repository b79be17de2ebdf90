/* test_sim.c: the device simulator's generators (lib/tk_sim.c): byte-exact
 * frames for fixed inputs, checksums that verify (checked here with code
 * written from docs/protocol/, and proven on real vectors first), the
 * classifier's verdict on every generated frame, expected replies, command
 * answers and routes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"
#include "tk_gt06.h"
#include "tk_loop.h"
#include "tk_sim.h"
#include "tk_test.h"

static const enum tk_dialect dialects[] = {TK_D_XEXUN, TK_D_TK103, TK_D_GPS103, TK_D_XEXUN2,
    TK_D_GT06, TK_D_H02};

static int64_t
t_utc(int y, int mo, int d, int h, int mi, int s)
{
	int64_t ms;
	assert_int_equal(tk_time_utc(y, mo, d, h, mi, s, 0, &ms), 0);
	return ms;
}

/* the worked example of docs/protocol/tk103.md: -25.92255, 28.92222 at 2015-10-24 05:51:48Z */
static struct tk_sim_pos
example_pos(void)
{
	struct tk_sim_pos p = {0};
	p.time_ms = t_utc(2015, 10, 24, 5, 51, 48);
	p.lat = -(25 + 55.3531 / 60);
	p.lon = 28 + 55.3329 / 60;
	p.speed_kmh = 4.7;
	p.course = 276.17;
	p.alt = 41.1;
	p.sats = 10;
	p.valid = true;
	return p;
}

static void
assert_bytes(const uint8_t *got, size_t n, const char *want)
{
	char g[TK_SIM_FRAME_MAX + 1];
	assert_true(n < sizeof(g));
	memcpy(g, got, n);
	g[n] = '\0';
	assert_string_equal(g, want);
}

static void
test_identity(void **state)
{
	struct tk_sim_dev d;
	(void)state;
	tk_sim_dev_init(&d, TK_D_TK103, 1000, 0);
	assert_string_equal(d.imei, "860000000010008");	/* Luhn check digit 8 */
	assert_string_equal(d.id, "000000010008");
	tk_sim_dev_init(&d, TK_D_GPS103, 0, 490154203237518ull);
	/* 49015420323751 + check 8 is the textbook Luhn IMEI: here "86" prefix
	 * changes it; verify the Luhn sum directly instead */
	int sum = 0;
	for (int i = 0; i < 15; i++) {
		int v = d.imei[i] - '0';
		if (i % 2 == 1 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	assert_int_equal(sum % 10, 0);
	assert_int_equal(strlen(d.imei), 15);
}

static void
test_tk103_exact(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	uint8_t b[TK_SIM_FRAME_MAX];
	size_t n;
	(void)state;

	tk_sim_dev_init(&d, TK_D_TK103, 0, 0);
	memcpy(d.id, "088047365460", 13);
	d.odometer_m = 0x9AA3;
	/* the very frame of docs/protocol/tk103.md */
	n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n,
	    "(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)");
	memcpy(d.imei, "355227045009305", 16);
	n = tk_sim_frame(&d, TK_SIM_LOGIN, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "(088047365460BP05355227045009305"
	    "151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)");
	n = tk_sim_frame(&d, TK_SIM_HEARTBEAT, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "(088047365460BP00088047365460HSO)");
	n = tk_sim_frame(&d, TK_SIM_ALARM, &p, TK_SIM_A_OVERSPEED, b, sizeof(b));
	assert_bytes(b, n, "(088047365460BO015"
	    "151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)");
	/* northern / western hemisphere, padding, rounding at 59.99999' */
	p.lat = 7.999999999;
	p.lon = -0.5;
	p.speed_kmh = 46;
	p.course = 87.31;
	n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n,
	    "(088047365460BR00151024A0800.0000N00030.0000W046.0055148087.3101000000L00009AA3)");
	/* too small a buffer: 0, not a truncated frame */
	assert_int_equal(tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, 40), 0);
}

static void
test_gps103_exact(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = {0};
	uint8_t b[TK_SIM_FRAME_MAX];
	size_t n;
	(void)state;

	tk_sim_dev_init(&d, TK_D_GPS103, 0, 0);
	memcpy(d.imei, "868683023212255", 16);
	d.tz_min = 120;
	/* modelled on the vector imei:868683023212255,tracker,190205084503,... */
	p.time_ms = t_utc(2019, 2, 5, 6, 44, 59);
	p.lat = 49 + 15.1221 / 60;
	p.lon = 16 + 34.5655 / 60;
	p.speed_kmh = 3.91 * 1.852;
	p.course = 83.95;
	p.valid = true;
	n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "imei:868683023212255,tracker,190205084459,,F,064459.000,A,"
	    "4915.1221,N,01634.5655,E,3.91,83.95;");
	n = tk_sim_frame(&d, TK_SIM_LOGIN, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "##,imei:868683023212255,A;");
	n = tk_sim_frame(&d, TK_SIM_HEARTBEAT, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "868683023212255;");
	/* local date differs from the UTC date across midnight (docs/protocol/gps103.md, The regular sentence) */
	d.tz_min = 180;
	p.time_ms = t_utc(2015, 10, 26, 23, 59, 57);
	n = tk_sim_frame(&d, TK_SIM_ALARM, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "imei:868683023212255,help me,151027025957,,F,235957.000,A,"
	    "4915.1221,N,01634.5655,E,3.91,83.95;");
}

/* ---- checksum checkers written from docs/protocol/, proven on real vectors ---- */

/* NMEA: XOR of the bytes from G of GPRMC up to '*' equals the hex after it. */
static bool
xexun_nmea_ok(const uint8_t *m, size_t n)
{
	const uint8_t *g = memmem(m, n, "GPRMC,", 6);
	if (g == NULL)
		g = memmem(m, n, "GNRMC,", 6);
	if (g == NULL)
		return false;
	const uint8_t *star = memchr(g, '*', n - (size_t)(g - m));
	if (star == NULL || star + 3 > m + n)
		return false;
	uint8_t x = 0;
	for (const uint8_t *q = g; q < star; q++)
		x ^= *q;
	char hex[3] = {(char)star[1], (char)star[2], 0};
	return strtoul(hex, NULL, 16) == x;
}

/* 4.2b: fields after "imei:<IMEI>," are sats, alt, batt, flag, LEN, CRC.
 * LEN = bytes up to and including the comma after flag; CRC (decimal) =
 * CRC-16/XMODEM over the start up to and including the comma after LEN. */
static bool
xexun_len_crc_ok(const uint8_t *m, size_t n)
{
	const uint8_t *im = memmem(m, n, "imei:", 5);
	if (im == NULL)
		return false;
	size_t i = (size_t)(im - m), commas = 0, flag_end = 0, len_end = 0, crc_end = 0;
	for (; i < n; i++) {
		if (m[i] != ',')
			continue;
		commas++;
		if (commas == 5)
			flag_end = i + 1;
		else if (commas == 6)
			len_end = i + 1;
		else if (commas == 7) {
			crc_end = i;
			break;
		}
	}
	if (crc_end == 0)
		return false;
	char buf[16];
	snprintf(buf, sizeof(buf), "%.*s", (int)(len_end - 1 - flag_end), (const char *)m + flag_end);
	if ((size_t)atoi(buf) != flag_end)
		return false;
	snprintf(buf, sizeof(buf), "%.*s", (int)(crc_end - len_end), (const char *)m + len_end);
	return (unsigned)atoi(buf) == tk_crc16_xmodem(m, len_end);
}

/* docs/protocol/xexun2.md, Checksum: one's complement of the byte sum of the payload. */
static bool
xexun2_frame_ok(const uint8_t *f, size_t n, uint8_t *body, size_t *bn)
{
	if (n < 20 || f[0] != 0xFA || f[1] != 0xAF || f[n - 2] != 0xFA || f[n - 1] != 0xAF)
		return false;
	/* no unescaped flag inside */
	if (memmem(f + 2, n - 4, "\xFA\xAF", 2) != NULL)
		return false;
	*bn = tk_sim_x2_unescape(f + 2, n - 4, body, 512);
	if (*bn < 16)
		return false;
	size_t plen = (size_t)((body[12] << 8 | body[13]) & 0x3FF);
	if (16 + plen != *bn)
		return false;
	uint32_t s = 0;
	for (size_t i = 16; i < *bn; i++)
		s += body[i];
	return (unsigned)(body[14] << 8 | body[15]) == (~s & 0xFFFFu);
}

static void
test_checkers_on_vectors(void **state)
{
	struct tkt_row *rows;
	size_t n, ext = 0, nmea = 0, x2 = 0;
	(void)state;

	n = tkt_read_tsv(tkt_data("vectors/xexun.tsv"), &rows);
	assert_true(n > 10);
	for (size_t i = 0; i < n; i++) {
		/* only the real captures: the edited ones (CRC 2689) are known bad */
		if (memmem(rows[i].msg, rows[i].len, ",2689,", 6) != NULL)
			continue;
		if (xexun_len_crc_ok(rows[i].msg, rows[i].len))
			ext++;
		if (memmem(rows[i].msg, rows[i].len, "6000.0000,N", 11) == NULL &&
		    xexun_nmea_ok(rows[i].msg, rows[i].len))
			nmea++;
	}
	assert_true(ext >= 3);	/* e.g. ...,F:4.28V,1,135,19824,... */
	assert_true(nmea >= 10);
	free(rows);

	n = tkt_read_tsv(tkt_data("vectors/xexun2.tsv"), &rows);
	for (size_t i = 0; i < n; i++) {
		uint8_t body[512];
		size_t bn;
		if (rows[i].len <= 512 && xexun2_frame_ok(rows[i].msg, rows[i].len, body, &bn))
			x2++;
	}
	assert_true(x2 >= 5);
	free(rows);
}

static void
test_xexun_checksums(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	uint8_t b[TK_SIM_FRAME_MAX];
	uint64_t seed = 7;
	(void)state;

	tk_sim_dev_init(&d, TK_D_XEXUN, 5, 3);
	size_t n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_true(n > 100);
	/* the fixed parts, byte for byte */
	assert_true(memcmp(b, "151024055148,+491700000008,GPRMC,055148.000,A,2555.3531,S,"
	    "02855.3329,E,2.54,276.17,241015,,,A*", 88) == 0);
	assert_true(memmem(b, n, ",F,, imei:860000000000082,10,41.1,F:4.14V,1,", 44) != NULL);
	assert_int_equal(b[n - 2], '\n');
	assert_int_equal(b[n - 1], '\r');
	assert_true(xexun_nmea_ok(b, n));
	assert_true(xexun_len_crc_ok(b, n));
	/* corrupting one byte breaks both */
	b[40] ^= 1;
	assert_false(xexun_nmea_ok(b, n));
	assert_false(xexun_len_crc_ok(b, n));

	/* many random positions and alarms: always valid */
	for (int i = 0; i < 500; i++) {
		p.lat = tk_sim_rand01(&seed) * 180 - 90;
		p.lon = tk_sim_rand01(&seed) * 360 - 180;
		p.speed_kmh = tk_sim_rand01(&seed) * 300;
		p.course = tk_sim_rand01(&seed) * 359;
		n = tk_sim_frame(&d, i % 3 ? TK_SIM_POSITION : TK_SIM_ALARM, &p,
		    (enum tk_sim_alarm)(i % TK_SIM_A__COUNT), b, sizeof(b));
		assert_true(n > 0);
		assert_true(xexun_nmea_ok(b, n));
		assert_true(xexun_len_crc_ok(b, n));
	}
	/* no login, no heartbeat in this dialect */
	assert_int_equal(tk_sim_frame(&d, TK_SIM_LOGIN, &p, TK_SIM_A_SOS, b, sizeof(b)), 0);
	assert_int_equal(tk_sim_frame(&d, TK_SIM_HEARTBEAT, &p, TK_SIM_A_SOS, b, sizeof(b)), 0);
}

static double
rd_be_double(const uint8_t *p)
{
	uint64_t u = 0;
	double v;
	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	memcpy(&v, &u, 8);
	return v;
}

static void
test_xexun2_frame(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	uint8_t b[TK_SIM_FRAME_MAX], body[512];
	size_t n, bn;
	(void)state;

	tk_sim_dev_init(&d, TK_D_XEXUN2, 0, 0);
	memcpy(d.imei, "862205051234567", 16);
	d.index = 0x0102;
	n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_true(xexun2_frame_ok(b, n, body, &bn));
	assert_int_equal(d.index, 0x0103);
	static const uint8_t hdr[12] = {0x00, 0x14, 0x01, 0x02, 0x86, 0x22, 0x05, 0x05,
	    0x12, 0x34, 0x56, 0x70};
	assert_memory_equal(body, hdr, 12);
	/* payload: count 1, length, record: index, time, rssi, battery, mask */
	const uint8_t *pl = body + 16;
	assert_int_equal(pl[0], 1);
	size_t rl = (size_t)(pl[1] << 8 | pl[2]);
	assert_int_equal(3 + rl, bn - 16);
	const uint8_t *r = pl + 3;
	assert_int_equal(r[0], 0);
	assert_int_equal((uint32_t)r[1] << 24 | r[2] << 16 | r[3] << 8 | r[4], 1445665908u);
	assert_int_equal(r[8], 0x02);		/* mask: position */
	assert_int_equal(r[9], 0x60);		/* motion + GPS double */
	assert_int_equal(r[10] << 8 | r[11], 47);	/* 4.7 km/h in 0.1 */
	assert_int_equal(r[12] << 8 | r[13], 2762);	/* 276.2 degrees in 0.1 */
	assert_int_equal(r[14], 10);
	assert_true(fabs(rd_be_double(r + 15) - 2855.3329) < 1e-9);
	assert_true(fabs(rd_be_double(r + 23) + 2555.3531) < 1e-9);

	/* alarm: mask bit0 then the alarm word, sos = bit0 */
	n = tk_sim_frame(&d, TK_SIM_ALARM, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_true(xexun2_frame_ok(b, n, body, &bn));
	assert_int_equal(body[16 + 3 + 8], 0x03);
	assert_int_equal(body[16 + 3 + 12], 0x01);

	/* the ACK a server owes, written out by hand (docs/protocol/xexun2.md, The ACK) */
	uint8_t e[TK_SIM_REPLY_MAX];
	static const uint8_t want[] = {0xFA, 0xAF, 0x00, 0x14, 0x01, 0x03, 0x86, 0x22, 0x05,
	    0x05, 0x12, 0x34, 0x56, 0x70, 0x00, 0x01, 0xFF, 0xFE, 0x01, 0xFA, 0xAF};
	size_t en = tk_sim_expect(TK_D_XEXUN2, b, n, e, sizeof(e));
	assert_int_equal(en, sizeof(want));
	assert_memory_equal(e, want, sizeof(want));

	/* an index needing escapes: FA AF -> FB BF 01 in the frame and the ACK */
	d.index = 0xFAAF;
	n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_true(xexun2_frame_ok(b, n, body, &bn));
	assert_int_equal(b[4], 0xFB);
	assert_int_equal(b[5], 0xBF);
	assert_int_equal(b[6], 0x01);
	en = tk_sim_expect(TK_D_XEXUN2, b, n, e, sizeof(e));
	assert_int_equal(en, sizeof(want) + 1);
	assert_int_equal(e[4], 0xFB);
	assert_int_equal(e[6], 0x01);

	/* the escaping itself */
	static const uint8_t raw[] = {0x01, 0xFA, 0xAF, 0xFB, 0xBF, 0xFA, 0xFB};
	static const uint8_t esc[] = {0x01, 0xFB, 0xBF, 0x01, 0xFB, 0xBF, 0x02, 0xFA, 0xFB};
	uint8_t o[32], o2[32];
	assert_int_equal(tk_sim_x2_escape(raw, sizeof(raw), o, sizeof(o)), sizeof(esc));
	assert_memory_equal(o, esc, sizeof(esc));
	assert_int_equal(tk_sim_x2_unescape(esc, sizeof(esc), o2, sizeof(o2)), sizeof(raw));
	assert_memory_equal(o2, raw, sizeof(raw));
	static const uint8_t bad[] = {0xFB, 0xBF, 0x03};
	assert_int_equal(tk_sim_x2_unescape(bad, sizeof(bad), o2, sizeof(o2)), 0);

	/* no reply for a command frame (type 0x0007) */
	static const uint8_t cmd[] = {0xFA, 0xAF, 0x00, 0x07, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
	    0x90, 0x12, 0x34, 0x50, 0x00, 0x04, 0xFE, 0xBC, 0x6F, 0x66, 0x3D, 0x31, 0xFA, 0xAF};
	assert_int_equal(tk_sim_expect(TK_D_XEXUN2, cmd, sizeof(cmd), e, sizeof(e)), 0);
}

/* Every generated frame of every kind classifies as its own dialect. */
static void
test_classify_generated(void **state)
{
	uint64_t seed = 42;
	(void)state;
	for (size_t di = 0; di < sizeof(dialects) / sizeof(dialects[0]); di++) {
		struct tk_sim_dev d;
		tk_sim_dev_init(&d, dialects[di], 12345, di);
		d.tz_min = 60 * (int)di - 120;
		for (int i = 0; i < 200; i++) {
			struct tk_sim_pos p = example_pos();
			p.time_ms += (int64_t)i * 3600000 * 7;
			p.lat = tk_sim_rand01(&seed) * 170 - 85;
			p.lon = tk_sim_rand01(&seed) * 360 - 180;
			p.speed_kmh = tk_sim_rand01(&seed) * 200;
			for (int k = 0; k < TK_SIM__KINDS; k++) {
				uint8_t b[TK_SIM_FRAME_MAX];
				size_t n = tk_sim_frame(&d, (enum tk_sim_kind)k, &p,
				    (enum tk_sim_alarm)(i % TK_SIM_A__COUNT), b, sizeof(b));
				if (n == 0) {
					/* only the documented absences */
					assert_true((dialects[di] == TK_D_XEXUN && k <= TK_SIM_HEARTBEAT) ||
					    (dialects[di] == TK_D_XEXUN2 && k == TK_SIM_HEARTBEAT) ||
					    (dialects[di] == TK_D_H02 && k == TK_SIM_LOGIN));
					continue;
				}
				enum tk_dialect got = TK_D_UNKNOWN;
				size_t skip = 99;
				assert_int_equal(tk_classify(b, n, false, &got, &skip), TK_CLASS_OK);
				assert_int_equal(got, dialects[di]);
				assert_int_equal(skip, 0);
			}
		}
	}
}

static void
expect_str(enum tk_dialect d, const char *frame, const char *want)
{
	uint8_t e[TK_SIM_REPLY_MAX];
	size_t n = tk_sim_expect(d, (const uint8_t *)frame, strlen(frame), e, sizeof(e));
	assert_int_equal(n, strlen(want));
	assert_memory_equal(e, want, n);
}

static void
test_expect(void **state)
{
	(void)state;
	expect_str(TK_D_TK103, "(087073005534BP00HSO)", "(087073005534AP01HSO)");
	expect_str(TK_D_TK103, "(027044702512BP00027044702512HSO01A4)", "(027044702512AP01HSO)");
	expect_str(TK_D_TK103, "(088047365460BP05355227045009305151024A2555.3531S)",
	    "(088047365460AP05)");
	expect_str(TK_D_TK103, "(088047365460BR00151024A2555.3531S02855.3329E)", "");
	expect_str(TK_D_TK103, "(088047365460BO012151024A2555.3531S02855.3329E)", "");
	expect_str(TK_D_GPS103, "##,imei:359586015829802,A;", "LOAD");
	expect_str(TK_D_GPS103, "359586015829802;", "ON");
	expect_str(TK_D_GPS103, "imei:359586015829802,help me,1201211637,,F,083737.000,A,"
	    "2234.0297,N,11405.9101,E,,;", "**,imei:359586015829802,E;");
	expect_str(TK_D_GPS103, "imei:359586015829802,tracker,1201211637,,F,083737.000,A,"
	    "2234.0297,N,11405.9101,E,,;", "");
	expect_str(TK_D_XEXUN, "GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,"
	    "A*76,F,imei:351525010943661,", "");
}

static void
answer_str(struct tk_sim_dev *d, const struct tk_sim_pos *p, const char *cmd,
    const char *want, struct tk_sim_effect *eff)
{
	uint8_t o[TK_SIM_FRAME_MAX];
	size_t n = tk_sim_answer(d, p, (const uint8_t *)cmd, strlen(cmd), eff, o, sizeof(o));
	assert_bytes(o, n, want);
}

static void
test_answers(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	struct tk_sim_effect eff;
	(void)state;

	tk_sim_dev_init(&d, TK_D_TK103, 0, 0);
	memcpy(d.id, "088047365460", 13);
	d.odometer_m = 0x9AA3;
	answer_str(&d, &p, "(088047365460AP00)", "(088047365460BP04"
	    "151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)", &eff);
	assert_true(eff.recognised);
	answer_str(&d, &p, "(088047365460AV010)", "(088047365460BV010)", &eff);
	assert_true(eff.engine_stop);
	answer_str(&d, &p, "(088047365460AV011)", "(088047365460BV011)", &eff);
	assert_true(eff.engine_resume);
	answer_str(&d, &p, "(088047365460AR00003C0000)", "(088047365460BS08003C0000)", &eff);
	assert_true(eff.interval_s == 60);
	answer_str(&d, &p, "(088047365460AR0000000000)", "(088047365460BS0800000000)", &eff);
	assert_true(eff.stop);
	/* another device's command, or garbage: nothing */
	answer_str(&d, &p, "(999999999999AP00)", "", &eff);
	assert_false(eff.recognised);
	answer_str(&d, &p, "(088047365460", "", &eff);

	tk_sim_dev_init(&d, TK_D_GPS103, 0, 0);
	memcpy(d.imei, "868683023212255", 16);
	answer_str(&d, &p, "**,imei:868683023212255,B", "imei:868683023212255,tracker,"
	    "151024055148,,F,055148.000,A,2555.3531,S,02855.3329,E,2.54,276.17;", &eff);
	assert_true(eff.recognised);
	answer_str(&d, &p, "**,imei:868683023212255,C,05m",
	    "imei:868683023212255,ct,1510240551,,L,;", &eff);
	assert_true(eff.interval_s == 300);
	answer_str(&d, &p, "**,imei:868683023212255,C,30s;",
	    "imei:868683023212255,ct,1510240551,,L,;", &eff);
	assert_true(eff.interval_s == 30);
	answer_str(&d, &p, "**,imei:868683023212255,J",
	    "imei:868683023212255,jt,1510240551,,L,;", &eff);
	assert_true(eff.engine_stop);
	answer_str(&d, &p, "**,imei:111111111111111,B", "", &eff);
	assert_false(eff.recognised);

	tk_sim_dev_init(&d, TK_D_XEXUN, 0, 0);
	answer_str(&d, &p, "powercar123456 11", "", &eff);
	assert_true(eff.engine_stop);

	/* xexun2: the power-off example of docs/protocol/xexun2.md, Commands */
	tk_sim_dev_init(&d, TK_D_XEXUN2, 0, 0);
	memcpy(d.imei, "123456789012345", 16);
	static const uint8_t of[] = {0xFA, 0xAF, 0x00, 0x07, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78,
	    0x90, 0x12, 0x34, 0x50, 0x00, 0x04, 0xFE, 0xBC, 0x6F, 0x66, 0x3D, 0x31, 0xFA, 0xAF};
	uint8_t o[64];
	/* the answer: a type 0x0007 frame from the device (tk_cmd_sim_answer) */
	size_t an = tk_sim_answer(&d, &p, of, sizeof(of), &eff, o, sizeof(o));
	assert_true(an >= 22);
	assert_int_equal(o[2], 0x00);
	assert_int_equal(o[3], 0x07);
	assert_true(eff.recognised);
	assert_true(eff.stop);
	/* tracking_send=30,30 as a command frame built here: checksum ~sum */
	uint8_t ts[64] = {0xFA, 0xAF, 0x00, 0x07, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78, 0x90,
	    0x12, 0x34, 0x50, 0x00, 20};
	const char *txt = "tracking_send=30,30";
	size_t tl = strlen(txt);
	uint32_t sum = 0;
	for (size_t i = 0; i < tl; i++)
		sum += (uint8_t)txt[i];
	ts[15] = (uint8_t)tl;
	ts[16] = (uint8_t)((~sum >> 8) & 0xFF);
	ts[17] = (uint8_t)(~sum & 0xFF);
	memcpy(ts + 18, txt, tl);
	ts[18 + tl] = 0xFA;
	ts[19 + tl] = 0xAF;
	/* answered like every catalogue command, with a type 0x0007 frame */
	assert_true(tk_sim_answer(&d, &p, ts, 20 + tl, &eff, o, sizeof(o)) >= 22);
	assert_int_equal(o[3], 0x07);
	assert_true(eff.recognised);
	assert_true(eff.interval_s == 30);
	/* another IMEI: not for this device */
	ts[6] = 0x99;
	tk_sim_answer(&d, &p, ts, 20 + tl, &eff, o, sizeof(o));
	assert_false(eff.recognised);
}

static void
test_routes(void **state)
{
	struct tk_sim_route r;
	char err[128];
	double la, lo, c;
	(void)state;

	static const char gj[] = "{\"type\":\"Feature\",\"properties\":{},\"geometry\":"
	    "{\"type\":\"LineString\",\"coordinates\":[[13.0,52.0],[13.0,52.01],[13.01,52.01]]}}";
	assert_int_equal(tk_sim_route_geojson(&r, gj, strlen(gj), err, sizeof(err)), 0);
	assert_int_equal(r.n, 3);
	assert_false(r.closed);
	assert_true(fabs(r.cum[1] - 1111.95) < 1);	/* 0.01 deg of latitude */
	tk_sim_route_at(&r, 0, &la, &lo, &c);
	assert_true(la == 52.0 && lo == 13.0);
	assert_true(fabs(c - 0) < 1e-6);		/* due north */
	tk_sim_route_at(&r, r.cum[1] + 10, &la, &lo, &c);
	assert_true(fabs(c - 90) < 0.1);		/* then east */
	/* past the end it comes back */
	tk_sim_route_at(&r, r.len + 100, &la, &lo, &c);
	assert_true(fabs(c - 270) < 0.1);
	tk_sim_route_at(&r, 2 * r.len, &la, &lo, &c);
	assert_true(fabs(la - 52.0) < 1e-9 && fabs(lo - 13.0) < 1e-9);
	tk_sim_route_free(&r);

	static const char fc[] = "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
	    "\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}},{\"type\":\"Feature\",\"geometry\":"
	    "{\"type\":\"LineString\",\"coordinates\":[[1,2],[1.1,2.1]]}}]}";
	assert_int_equal(tk_sim_route_geojson(&r, fc, strlen(fc), err, sizeof(err)), 0);
	assert_int_equal(r.n, 2);
	tk_sim_route_free(&r);

	static const char *const bad[] = {
	    "", "{", "[1,2]", "{\"type\":\"Point\",\"coordinates\":[1,2]}",
	    "{\"type\":\"LineString\",\"coordinates\":[[1,2]]}",
	    "{\"type\":\"LineString\",\"coordinates\":[[1,2],[1,95]]}",
	    "{\"type\":\"LineString\",\"coordinates\":[[1,2],[\"x\",3]]}",
	    "{\"type\":\"LineString\",\"coordinates\":[[1,2],[1,2]]}",
	    "{\"type\":\"LineString\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tk_sim_route_geojson(&r, bad[i], strlen(bad[i]), err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_null(r.lat);
	}

	assert_int_equal(tk_sim_route_circle(&r, 52.5, 13.4, 1000, 36), 0);
	assert_true(r.closed);
	assert_true(fabs(r.len - 2 * M_PI * 1000) < 10);
	tk_sim_route_at(&r, r.len * 3.25, &la, &lo, &c);	/* wraps round */
	assert_true(fabs(la - 52.5) < 0.02 && fabs(lo - 13.4) < 0.02);
	tk_sim_route_free(&r);
	assert_int_equal(tk_sim_route_circle(&r, 52.5, 13.4, 0, 36), -1);
}

static void
test_rand_reproducible(void **state)
{
	uint64_t a = 1, b = 1, c = 2;
	(void)state;
	for (int i = 0; i < 10; i++)
		assert_true(tk_sim_rand(&a) == tk_sim_rand(&b));
	assert_true(tk_sim_rand(&a) != tk_sim_rand(&c));
	for (int i = 0; i < 1000; i++) {
		double v = tk_sim_rand01(&a);
		assert_true(v >= 0 && v < 1);
	}
}

/* gt06: the login of docs/protocol/gt06.md's worked example and its ACK,
 * a report's CRC-16/X-25, the serial counting frames. */
static void
test_gt06_frames(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	uint8_t b[TK_SIM_FRAME_MAX], e[TK_SIM_REPLY_MAX];
	(void)state;
	tk_sim_dev_init(&d, TK_D_GT06, 0, 0);
	memcpy(d.imei, "864717003283581", 16);
	d.index = 9;
	size_t n = tk_sim_frame(&d, TK_SIM_LOGIN, &p, TK_SIM_A_SOS, b, sizeof(b));
	static const uint8_t login_head[] = {0x78, 0x78, 0x11, 0x01, 0x08, 0x64, 0x71, 0x70,
	    0x03, 0x28, 0x35, 0x81};
	assert_int_equal(n, 0x11 + 5);
	assert_memory_equal(b, login_head, sizeof(login_head));
	assert_int_equal(b[n - 6] << 8 | b[n - 5], 9);		/* serial */
	assert_int_equal(d.index, 10);
	static const uint8_t ack[] = {0x78, 0x78, 0x05, 0x01, 0x00, 0x09, 0x55, 0x94, 0x0D, 0x0A};
	size_t en = tk_sim_expect(TK_D_GT06, b, n, e, sizeof(e));
	assert_int_equal(en, sizeof(ack));
	assert_memory_equal(e, ack, sizeof(ack));
	/* the ACK holds a 0x01 byte: binary replies have no wildcard */
	assert_int_equal(tk_sim_reply_match(TK_D_GT06, e, en, ack, sizeof(ack), 0), 1);
	assert_int_equal(tk_sim_reply_match(TK_D_GT06, e, en, ack, 4, 0), 0);
	uint8_t bad[sizeof(ack)];
	memcpy(bad, ack, sizeof(ack));
	bad[5] = 0x0A;		/* another serial */
	assert_int_equal(tk_sim_reply_match(TK_D_GT06, e, en, bad, sizeof(bad), 0), -1);
	memcpy(bad, ack, sizeof(ack));
	bad[7] ^= 1;		/* a CRC off by a bit */
	assert_int_equal(tk_sim_reply_match(TK_D_GT06, e, en, bad, sizeof(bad), 0), -1);
	/* position 0x22, heartbeat 0x13, alarm 0x26: the CRC covers length ..
	 * serial, each answered by its type and serial */
	const enum tk_sim_kind kinds[] = {TK_SIM_POSITION, TK_SIM_HEARTBEAT, TK_SIM_ALARM};
	const uint8_t types[] = {0x22, 0x13, 0x26};
	for (int i = 0; i < 3; i++) {
		n = tk_sim_frame(&d, kinds[i], &p, TK_SIM_A_OVERSPEED, b, sizeof(b));
		assert_int_equal(n, (size_t)b[2] + 5);
		assert_int_equal(b[3], types[i]);
		assert_int_equal(b[n - 2], 0x0D);
		assert_int_equal(b[n - 1], 0x0A);
		assert_int_equal(tk_gt06_crc(b + 2, n - 6), b[n - 4] << 8 | b[n - 3]);
		assert_int_equal(b[n - 6] << 8 | b[n - 5], 10 + i);
		en = tk_sim_expect(TK_D_GT06, b, n, e, sizeof(e));
		assert_int_equal(en, 10);
		assert_int_equal(e[3], types[i]);
		assert_int_equal(e[4] << 8 | e[5], 10 + i);
	}
	/* the alarm is the status block's code: overspeed 0x06 */
	assert_int_equal(b[n - 8], 0x06);
	/* 0x80 commands (the server's) are not answered by the server */
	static const uint8_t cmd[] = {0x78, 0x78, 0x12, 0x80, 0x0C, 0, 0, 0, 0, 'R', 'e', 'l',
	    'a', 'y', ',', '1', '#', 0x00, 0x00, 0x9D, 0xEE, 0x0D, 0x0A};
	assert_int_equal(tk_sim_expect(TK_D_GT06, cmd, sizeof(cmd), e, sizeof(e)), 0);
}

/* h02: the V1 position and HTBT heartbeat, exactly; the V4 answer's time
 * must be digits forming a calendar time within the allowed skew. */
static void
test_h02_frames(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	uint8_t b[TK_SIM_FRAME_MAX], e[TK_SIM_REPLY_MAX];
	(void)state;
	tk_sim_dev_init(&d, TK_D_H02, 0, 0);
	memcpy(d.id, "4210051415", 11);
	assert_int_equal(tk_sim_frame(&d, TK_SIM_LOGIN, &p, TK_SIM_A_SOS, b, sizeof(b)), 0);
	size_t n = tk_sim_frame(&d, TK_SIM_POSITION, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "*HQ,4210051415,V1,055148,A,2555.3531,S,02855.3329,E,2.54,276,"
	    "241015,FFFFFFFF#");
	n = tk_sim_frame(&d, TK_SIM_ALARM, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "*HQ,4210051415,V1,055148,A,2555.3531,S,02855.3329,E,2.54,276,"
	    "241015,FFFFFFFD#");	/* bit 1 clear: sos */
	size_t en = tk_sim_expect(TK_D_H02, b, n, e, sizeof(e));
	assert_int_equal(en, strlen("*HQ,4210051415,V4,V1,20240102030405#"));
	int64_t now = t_utc(2024, 1, 2, 3, 4, 5);
	const char *ok = "*HQ,4210051415,V4,V1,20240102030405#";
	assert_int_equal(tk_sim_reply_match(TK_D_H02, e, en, (const uint8_t *)ok, en, now), 1);
	assert_int_equal(tk_sim_reply_match(TK_D_H02, e, en, (const uint8_t *)ok, 25, now), 0);
	/* an hour off (a time zone), not digits, not a date, another id */
	const char *bad[] = {"*HQ,4210051415,V4,V1,20240102040405#",
	    "*HQ,4210051415,V4,V1,2024010203040x#", "*HQ,4210051415,V4,V1,20241302030405#",
	    "*HQ,4210051416,V4,V1,20240102030405#"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tk_sim_reply_match(TK_D_H02, e, en, (const uint8_t *)bad[i],
		    strlen(bad[i]), now), -1);
	n = tk_sim_frame(&d, TK_SIM_HEARTBEAT, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "*HQ,4210051415,HTBT,90#");
	expect_str(TK_D_H02, "*HQ,4210051415,HTBT,90#", "*HQ,4210051415,HTBT#");
	expect_str(TK_D_H02, "*TH,4210051415,V0#", "*TH,4210051415,V0#");
	expect_str(TK_D_H02, "*HQ,4210051415,V4,S20,DONE#", "");
	expect_str(TK_D_H02, "*HQ,4210051415,LINK,1#", "");
}

/* ---- round trip through the decoders and the server's replies ---------- */

struct last {
	unsigned	 n, positions;
	struct tk_record r;	/* the last position */
};

static int
keep_pos(void *arg, struct tk_record *r)
{
	struct last *l = arg;
	l->n++;
	if (r->has_pos) {
		l->positions++;
		l->r = *r;
	}
	return 0;
}

/* Decode one generated frame (after the login lg when lgn > 0: a gt06
 * session learns its IMEI there); returns the records of f emitted. */
static int
decode_after(enum tk_dialect d, const uint8_t *lg, size_t lgn, const uint8_t *f, size_t n,
    struct last *l)
{
	struct tk_session s;
	static struct tk_record scratch;
	char err[200], warn[200];
	tk_session_init(&s, d);
	memset(l, 0, sizeof(*l));
	err[0] = warn[0] = '\0';
	if (lgn > 0) {
		assert_true(tk_decode(&s, lg, lgn, TK_TIME_NONE, &scratch, keep_pos, l, err,
		    sizeof(err), warn, sizeof(warn)) >= 1);
		memset(l, 0, sizeof(*l));
	}
	int r = tk_decode(&s, f, n, TK_TIME_NONE, &scratch, keep_pos, l, err, sizeof(err),
	    warn, sizeof(warn));
	if (r < 0 || warn[0] != '\0')
		print_message("%s: %s%s\n", tk_dialect_name(d), err, warn);
	tk_session_free(&s);
	return r;
}

static void
test_decode_roundtrip(void **state)
{
	uint64_t seed = 99;
	(void)state;
	for (size_t di = 0; di < sizeof(dialects) / sizeof(dialects[0]); di++) {
		struct tk_sim_dev d;
		tk_sim_dev_init(&d, dialects[di], 777, di);
		uint8_t lg[TK_SIM_FRAME_MAX];
		size_t lgn = 0;
		if (dialects[di] == TK_D_GT06) {
			struct tk_sim_pos p0 = example_pos();
			lgn = tk_sim_frame(&d, TK_SIM_LOGIN, &p0, TK_SIM_A_SOS, lg, sizeof(lg));
			assert_true(lgn > 0);
		}
		for (int i = 0; i < 300; i++) {
			struct tk_sim_pos p = example_pos();
			/* whole seconds over several years, both hemispheres */
			p.time_ms = t_utc(2020, 1, 1, 0, 0, 0) +
			    (int64_t)(tk_sim_rand(&seed) % (3u * 365 * 86400)) * 1000;
			p.lat = tk_sim_rand01(&seed) * 170 - 85;
			p.lon = tk_sim_rand01(&seed) * 358 - 179;
			p.speed_kmh = floor(tk_sim_rand01(&seed) * 1500) / 10;
			p.course = floor(tk_sim_rand01(&seed) * 3590) / 10;
			/* gps103: local time zones from UTC-11 to UTC+12, across midnight
			 * (docs/protocol/gps103.md wraps the offset into (-12 h, +12 h]) */
			d.tz_min = (int)(tk_sim_rand(&seed) % 24) * 60 - 660;
			enum tk_sim_kind k = i % 4 == 3 ? TK_SIM_ALARM : TK_SIM_POSITION;
			uint8_t b[TK_SIM_FRAME_MAX];
			size_t n = tk_sim_frame(&d, k, &p, (enum tk_sim_alarm)(i % TK_SIM_A__COUNT),
			    b, sizeof(b));
			assert_true(n > 0);
			struct last l;
			assert_true(decode_after(dialects[di], lg, lgn, b, n, &l) >= 1);
			assert_int_equal(l.positions, 1);
			assert_true(fabs(l.r.lat - p.lat) < 1e-5);
			assert_true(fabs(l.r.lon - p.lon) < 1e-5);
			if (l.r.fix_time != p.time_ms)
				print_message("%s tz %d: %lld != %lld\n", tk_dialect_name(dialects[di]),
				    d.tz_min, (long long)l.r.fix_time, (long long)p.time_ms);
			assert_true(l.r.fix_time == p.time_ms);
			assert_true(l.r.valid);
			/* speed: knots in the record; within the wire's rounding */
			assert_true(l.r.has_speed);
			/* gt06 sends whole km/h */
			assert_true(fabs(l.r.speed * 1.852 - p.speed_kmh) <
			    (dialects[di] == TK_D_GT06 ? 0.51 : 0.11));
			if (k == TK_SIM_ALARM)
				assert_true(l.r.alarm[0] != '\0');
			assert_string_equal(l.r.id, tk_sim_dev_id(&d));
		}
	}
}

/* h02 --h02-binary: the 32-byte $ record, exactly for the worked position,
 * then decoded back over random fixes in both hemispheres; no reply due. */
static void
test_h02_binary(void **state)
{
	struct tk_sim_dev d;
	struct tk_sim_pos p = example_pos();
	uint8_t b[TK_SIM_FRAME_MAX], e[TK_SIM_REPLY_MAX];
	uint64_t seed = 3;
	(void)state;
	tk_sim_dev_init(&d, TK_D_H02, 0, 0);
	memcpy(d.id, "4210051415", 11);
	d.binary = true;
	size_t n = tk_sim_frame(&d, TK_SIM_ALARM, &p, TK_SIM_A_SOS, b, sizeof(b));
	static const uint8_t want[] = {'$', 0x42, 0x10, 0x05, 0x14, 0x15, 0x05, 0x51, 0x48,
	    0x24, 0x10, 0x15, 0x25, 0x55, 0x35, 0x31, 90, 0x02, 0x85, 0x53, 0x32, 0x9A,
	    0x00, 0x32, 0x76, 0xFF, 0xFF, 0xFF, 0xFD, 0xFF, 0x00, 0x00};
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(tk_sim_expect(TK_D_H02, b, n, e, sizeof(e)), 0);
	/* heartbeats stay text */
	n = tk_sim_frame(&d, TK_SIM_HEARTBEAT, &p, TK_SIM_A_SOS, b, sizeof(b));
	assert_bytes(b, n, "*HQ,4210051415,HTBT,90#");
	for (int i = 0; i < 300; i++) {
		p.time_ms = t_utc(2020, 1, 1, 0, 0, 0) +
		    (int64_t)(tk_sim_rand(&seed) % (3u * 365 * 86400)) * 1000;
		p.lat = tk_sim_rand01(&seed) * 170 - 85;
		p.lon = tk_sim_rand01(&seed) * 358 - 179;
		p.speed_kmh = tk_sim_rand01(&seed) * 300;
		p.course = tk_sim_rand01(&seed) * 359;
		enum tk_sim_kind k = i % 2 ? TK_SIM_ALARM : TK_SIM_POSITION;
		n = tk_sim_frame(&d, k, &p, TK_SIM_A_OVERSPEED, b, sizeof(b));
		assert_int_equal(n, 32);
		enum tk_dialect got = TK_D_UNKNOWN;
		size_t skip = 99;
		assert_int_equal(tk_classify(b, n, true, &got, &skip), TK_CLASS_OK);
		assert_int_equal(got, TK_D_H02);
		struct last l;
		assert_true(decode_after(TK_D_H02, NULL, 0, b, n, &l) >= 1);
		assert_int_equal(l.positions, 1);
		assert_true(fabs(l.r.lat - p.lat) < 1e-5);
		assert_true(fabs(l.r.lon - p.lon) < 1e-5);
		assert_true(l.r.fix_time == p.time_ms);
		assert_true(l.r.valid);
		assert_true(fabs(l.r.speed - p.speed_kmh / 1.852) <= 0.5);	/* whole knots */
		assert_string_equal(l.r.id, "4210051415");
		if (k == TK_SIM_ALARM)
			assert_string_equal(l.r.alarm, "overspeed");
		else
			assert_string_equal(l.r.alarm, "");
	}
}

/* tk_reply() (the server's) and tk_sim_expect() (the device's), written
 * apart from the same document, agree on every generated frame. */
static void
test_reply_agrees(void **state)
{
	uint64_t seed = 5;
	(void)state;
	for (size_t di = 0; di < sizeof(dialects) / sizeof(dialects[0]); di++) {
		struct tk_sim_dev d;
		tk_sim_dev_init(&d, dialects[di], 4242, di);
		for (int i = 0; i < 100; i++) {
			struct tk_sim_pos p = example_pos();
			p.lat = tk_sim_rand01(&seed) * 170 - 85;
			p.lon = tk_sim_rand01(&seed) * 358 - 179;
			d.index = (uint16_t)tk_sim_rand(&seed);	/* escapes in the ACK too */
			for (int k = 0; k < TK_SIM__KINDS; k++) {
				uint8_t b[TK_SIM_FRAME_MAX], e[TK_SIM_REPLY_MAX], r[TK_REPLY_MAX];
				size_t n = tk_sim_frame(&d, (enum tk_sim_kind)k, &p,
				    (enum tk_sim_alarm)(i % TK_SIM_A__COUNT), b, sizeof(b));
				if (n == 0)
					continue;
				size_t en = tk_sim_expect(dialects[di], b, n, e, sizeof(e));
				size_t rn = tk_reply(dialects[di], b, n, r, sizeof(r));
				if (dialects[di] == TK_D_TK103 && k == TK_SIM_ALARM && rn > 0) {
					/* the optional alarm ack: (<id>AS01<n>) */
					assert_int_equal(en, 0);
					assert_int_equal(rn, 19);
					assert_memory_equal(r + 13, "AS01", 4);
					continue;
				}
				assert_int_equal(rn, en);
				if (dialects[di] == TK_D_H02 && en > 0) {
					/* the V4 answer carries the server's clock */
					assert_int_equal(tk_sim_reply_match(TK_D_H02, e, en, r, rn,
					    tk_wall_ms()), 1);
					continue;
				}
				assert_memory_equal(r, e, en);
				if (en > 0)
					assert_int_equal(tk_sim_reply_match(dialects[di], e, en, r, rn, 0), 1);
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_tk103_exact),
		cmocka_unit_test(test_gps103_exact),
		cmocka_unit_test(test_checkers_on_vectors),
		cmocka_unit_test(test_xexun_checksums),
		cmocka_unit_test(test_xexun2_frame),
		cmocka_unit_test(test_classify_generated),
		cmocka_unit_test(test_gt06_frames),
		cmocka_unit_test(test_h02_frames),
		cmocka_unit_test(test_h02_binary),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_rand_reproducible),
		cmocka_unit_test(test_decode_roundtrip),
		cmocka_unit_test(test_reply_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
