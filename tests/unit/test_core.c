/* test_core.c: the core library: parsing helpers, times, records and the
 * JSON writer, frame-line escaping, the classifier and the framer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIBBSD_NETBSD_VIS
#include <vis.h>

#include "tk103.h"
#include "tk_dialect_int.h"
#include "tk_test.h"

static void
test_parse_numbers(void **state)
{
	uint64_t u;
	double d;
	(void)state;
	assert_int_equal(tk_parse_uint("0123", 4, 200, &u), 0);
	assert_int_equal(u, 123);
	assert_int_equal(tk_parse_uint("201", 3, 200, &u), -1);	/* over max */
	assert_int_equal(tk_parse_uint("1a", 2, 200, &u), -1);
	assert_int_equal(tk_parse_uint("", 0, 200, &u), -1);
	assert_int_equal(tk_parse_uint("99999999999999999999", 20, UINT64_MAX, &u), -1);
	/* the 64-bit edge: the largest value parses, one more overflows */
	assert_int_equal(tk_parse_uint("18446744073709551615", 20, UINT64_MAX, &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(tk_parse_uint("18446744073709551616", 20, UINT64_MAX, &u), -1);
	assert_int_equal(tk_parse_uint("9999999999999999999", 19, UINT64_MAX, &u), 0);
	assert_true(u == 9999999999999999999ull);
	assert_int_equal(tk_parse_uint("00000000000000000001", 20, UINT64_MAX, &u), 0);
	assert_true(u == 1);
	assert_int_equal(tk_parse_dec("-12.5", 5, &d), 0);
	assert_true(d == -12.5);
	assert_int_equal(tk_parse_dec(".5", 2, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(tk_parse_dec("1.2.3", 5, &d), -1);
	assert_int_equal(tk_parse_dec("-", 1, &d), -1);
	assert_int_equal(tk_parse_dec("1e5", 3, &d), -1);
	/* NMEA: 3346.4463 = 33 deg 46.4463 min */
	assert_int_equal(tk_parse_nmea("3346.4463", 9, &d), 0);
	assert_true(d > 33.774104 && d < 33.774106);
	/* non-padded: 811.299200 = 8 deg 11.2992 min */
	assert_int_equal(tk_parse_nmea("811.299200", 10, &d), 0);
	assert_true(d > 8.18831 && d < 8.18833);
	assert_int_equal(tk_parse_nmea("12.5", 4, &d), -1);
	assert_int_equal(tk_parse_nmea("1261.0", 6, &d), -1);	/* 61 minutes */
}

/* The one duration syntax of every tool's time options. */
static void
test_parse_duration(void **state)
{
	static const struct {
		const char	*in;
		uint64_t	 max;
		int		 rc;
		uint64_t	 secs;
		const char	*legend;
	} v[] = {
		{"30", 86400, 0, 30, "no unit: seconds"},
		{"30s", 86400, 0, 30, "s: seconds"},
		{"5m", 86400, 0, 300, "m: minutes"},
		{"1h", 86400, 0, 3600, "h: hours"},
		{"2d", 864000, 0, 172800, "d: days"},
		{"0", 86400, 0, 0, "zero is a value (the caller sets the minimum)"},
		{"1d", 86400, 0, 86400, "exactly max"},
		{"86401", 86400, -1, 0, "one over max"},
		{"2d", 86400, -1, 0, "over max through the unit"},
		{"", 86400, -1, 0, "empty"},
		{"s", 86400, -1, 0, "a unit alone"},
		{"5x", 86400, -1, 0, "unknown unit"},
		{"5ms", 86400, -1, 0, "two letters"},
		{"1.5h", 86400, -1, 0, "no fractions"},
		{"-5", 86400, -1, 0, "no sign"},
		{"+5", 86400, -1, 0, "no plus sign"},
		{" 5", 86400, -1, 0, "no spaces"},
		{"5 m", 86400, -1, 0, "no space before the unit"},
		{"5M", 86400, -1, 0, "units are lower case (M is not minutes)"},
		{"999999999999d", UINT64_MAX, 0, 999999999999ull * 86400, "largest, no overflow"},
		{"1000000000000", UINT64_MAX, -1, 0, "too many digits"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t s = 12345;
		int rc = tk_parse_duration(v[i].in, strlen(v[i].in), v[i].max, &s);
		if (rc != v[i].rc || (rc == 0 && s != v[i].secs))
			fail_msg("case %zu (%s): '%s' gave %d, %llu", i, v[i].legend, v[i].in, rc,
			    (unsigned long long)s);
		if (rc != 0 && s != 12345)
			fail_msg("case %zu (%s): output written on failure", i, v[i].legend);
	}
	/* bounded by n: the bytes after n are not read */
	uint64_t s;
	assert_int_equal(tk_parse_duration("5mXYZ", 2, 86400, &s), 0);
	assert_int_equal(s, 300);
}

static void
test_time(void **state)
{
	int64_t ms;
	char buf[32];
	(void)state;
	assert_int_equal(tk_time_utc(2011, 9, 1, 15, 1, 20, 0, &ms), 0);
	tk_fmt_time(buf, ms);
	assert_string_equal(buf, "2011-09-01T15:01:20.000Z");
	assert_int_equal(tk_time_utc(2016, 2, 29, 0, 0, 0, 0, &ms), 0);
	assert_int_equal(tk_time_utc(2015, 2, 29, 0, 0, 0, 0, &ms), -1);
	assert_int_equal(tk_time_utc(2006, 18, 30, 0, 0, 0, 0, &ms), -1);
	assert_int_equal(tk_time_utc(1970, 1, 1, 0, 0, 0, 0, &ms), 0);
	assert_int_equal(ms, 0);
	tk_fmt_time(buf, 1710273218000);	/* 2024-03-12T19:53:38Z */
	assert_string_equal(buf, "2024-03-12T19:53:38.000Z");

	/* against gmtime_r: random instants from 1900 to 2100, each followed
	 * by others in the same second, the next, the day before (the
	 * formatter keeps the last day and second) */
	srandom(9);
	for (int i = 0; i < 100000; i++) {
		static const int64_t step[] = {0, 1, 999, -1, 1000, -86400000, 86399999};
		static int64_t base;
		if (i % 7 == 0)
			base = ((int64_t)random() << 16 ^ random()) % 6311390400000 - 2208988800000;
		int64_t t = base + step[i % 7] + (i % 3 ? random() % 1000 : 0);
		time_t sec = (time_t)(t >= 0 ? t / 1000 : -((-t + 999) / 1000));
		int frac = (int)(t - (int64_t)sec * 1000);
		struct tm tm;
		char want[40], w2[48];
		gmtime_r(&sec, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(w2, sizeof(w2), "%s.%03dZ", want, frac);
		assert_int_equal(tk_fmt_time(buf, t), 24);
		if (strcmp(buf, w2) != 0)
			fail_msg("tk_fmt_time(%lld) = %s, gmtime %s", (long long)t, buf, w2);
	}
}

static void
test_checksums(void **state)
{
	(void)state;
	/* CRC-16/XMODEM check value */
	assert_int_equal(tk_crc16_xmodem((const uint8_t *)"123456789", 9), 0x31C3);
	assert_int_equal(tk_nmea_xor((const uint8_t *)"AB", 2), 'A' ^ 'B');
	/* every length and offset against a byte loop (it works by words) */
	uint8_t buf[80];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n++) {
			uint8_t x = 0;
			for (size_t i = 0; i < n; i++)
				x ^= buf[off + i];
			assert_int_equal(tk_nmea_xor(buf + off, n), x);
		}
}

static void
test_fmt_num(void **state)
{
	char b[48];
	(void)state;
	tk_fmt_num(b, 4.28, 2);
	assert_string_equal(b, "4.28");
	tk_fmt_num(b, 10.0, 3);
	assert_string_equal(b, "10");
	tk_fmt_num(b, -0.0001, 3);
	assert_string_equal(b, "0");
	tk_fmt_num(b, -33.774105, 6);
	assert_string_equal(b, "-33.774105");
	tk_fmt_num(b, 0.0 / 0.0, 2);
	assert_string_equal(b, "null");
}

static void
test_json_record(void **state)
{
	struct tk_record r;
	char out[8192];
	struct tk_buf b = {out, 0, sizeof(out)};
	(void)state;

	tk_rec_init(&r, TK_D_GPS103, TK_R_POSITION);
	tk_rec_set_id(&r, "359586015829802", 15);
	r.fix_time = 1220164167294;
	r.has_pos = r.valid = true;
	r.lat = 22.573377;
	r.lon = 113.905462;
	r.has_speed = true;
	r.speed = 0;
	tk_rec_alarm(&r, "sos");
	tk_rec_alarm(&r, "sos");	/* no duplicate */
	tk_rec_int(&r, "sat", 7);
	tk_rec_bool(&r, "ignition", true);
	tk_rec_str(&r, "event", "a\"b\\c\n\x01\xff", 8);
	assert_int_equal(tk_json_record(&b, &r, 0), 0);
	out[b.len] = '\0';
	assert_string_equal(out,
	    "{\"type\":\"position\",\"protocol\":\"gps103\",\"uniqueId\":\"359586015829802\","
	    "\"fixTime\":\"2008-08-31T06:29:27.294Z\",\"valid\":true,\"latitude\":22.573377,"
	    "\"longitude\":113.905462,\"speed\":0,\"attributes\":{\"alarm\":\"sos\",\"sat\":7,"
	    "\"ignition\":true,\"event\":\"a\\\"b\\\\c\\n\\u0001\\ufffd\"}}\n");
	/* a buffer too small leaves it unchanged */
	struct tk_buf small = {out, 0, 40};
	assert_int_equal(tk_json_record(&small, &r, 0), -1);
	assert_int_equal(small.len, 0);
}

/* Attribute keys: literals of every length class the writer copies
 * (1-3, 4-7, 8-16, longer: tk_record.h's tk_rec_* macros pass their
 * length), a run-time key (scanned and escaped), a key set twice, and
 * the _k setters called with 0 (the scanning path) give the same text. */
static void
test_json_keys(void **state)
{
	struct tk_record r;
	char out[4096], out2[4096];
	struct tk_buf b = {out, 0, sizeof(out)}, b2 = {out2, 0, sizeof(out2)};
	(void)state;

	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	tk_rec_int(&r, "a", 1);
	tk_rec_int(&r, "ab", 2);
	tk_rec_int(&r, "abc", 3);
	tk_rec_bool(&r, "abcd", true);
	tk_rec_num(&r, "abcdefg", 1.5, 1);
	tk_rec_str(&r, "abcdefgh", "x", 1);
	tk_rec_int(&r, "abcdefghijklmnop", 16);
	tk_rec_int(&r, "abcdefghijklmnopqrstu", 21);
	tk_rec_int(&r, tk_rec_key(&r, "q\"k"), 5);
	tk_rec_int(&r, "ab", 22);		/* set twice: the last value */
	assert_int_equal(tk_json_record(&b, &r, 0), 0);
	out[b.len] = '\0';
	assert_string_equal(out,
	    "{\"type\":\"event\",\"protocol\":\"tk103\",\"attributes\":{\"a\":1,\"ab\":22,"
	    "\"abc\":3,\"abcd\":true,\"abcdefg\":1.5,\"abcdefgh\":\"x\","
	    "\"abcdefghijklmnop\":16,\"abcdefghijklmnopqrstu\":21,\"q\\\"k\":5}}\n");

	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	tk_rec_int_k(&r, "a", 0, 1);
	tk_rec_int_k(&r, "ab", 0, 2);
	tk_rec_int_k(&r, "abc", 0, 3);
	tk_rec_bool_k(&r, "abcd", 0, true);
	tk_rec_num_k(&r, "abcdefg", 0, 1.5, 1);
	tk_rec_str_k(&r, "abcdefgh", 0, "x", 1);
	tk_rec_int_k(&r, "abcdefghijklmnop", 0, 16);
	tk_rec_int_k(&r, "abcdefghijklmnopqrstu", 0, 21);
	tk_rec_int_k(&r, tk_rec_key(&r, "q\"k"), 0, 5);
	tk_rec_int_k(&r, "ab", 0, 22);
	assert_int_equal(tk_json_record(&b2, &r, 0), 0);
	out2[b2.len] = '\0';
	assert_string_equal(out2, out);
}

/* A key set again, found by value (another copy of its bytes, not the
 * same pointer), replaces its value whatever keys came before; tk_rec_get
 * finds every key set and none other; tk_rec_init forgets them all. */
static void
test_rec_keys_again(void **state)
{
	struct tk_record r;
	char k[16];
	(void)state;

	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	for (int i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		tk_rec_int(&r, tk_rec_key(&r, k), i);
	}
	assert_int_equal(r.nattr, 40);
	for (int i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		tk_rec_int_k(&r, k, 0, 1000 + i);	/* k: a buffer of its own */
	}
	assert_int_equal(r.nattr, 40);
	assert_false(r.truncated);
	for (int i = 0; i < 60; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		const struct tk_attr *a = tk_rec_get(&r, k);
		if (i < 40) {
			assert_non_null(a);
			assert_int_equal(a->v.i, 1000 + i);
		} else {
			assert_null(a);
		}
	}
	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	assert_null(tk_rec_get(&r, "k1"));
	tk_rec_int(&r, "k1", 7);
	assert_int_equal(r.nattr, 1);
	assert_int_equal(tk_rec_get(&r, "k1")->v.i, 7);
}

/* The other writers, on records built as the decoders build them
 * (legend: what each case checks). */
static void
test_other_formats(void **state)
{
	struct tk_record r;
	char out[8192];
	struct tk_buf b = {out, 0, sizeof(out)};
	(void)state;

	/* a position with an alarm, attributes and a cell tower */
	tk_rec_init(&r, TK_D_GPS103, TK_R_POSITION);
	tk_rec_set_id(&r, "000070000012", 12);
	r.server_time = 1220164168000;
	r.fix_time = 1220164167294;
	r.has_pos = r.valid = true;
	r.lat = -22.573377;
	r.lon = 113.905462;
	r.has_speed = true;
	r.speed = 12.5;
	tk_rec_alarm(&r, "sos");
	tk_rec_int(&r, "sat", 7);
	tk_rec_bool(&r, "ignition", true);
	struct tk_cell cell = {262, 2, true, -70, true, 4711, 1234};
	tk_rec_cell(&r, &cell);
	uint8_t raw[] = {0x28, 0x29};
	r.raw = raw;
	r.rawlen = sizeof(raw);

	/* GeoJSON: a Point in lon lat order, the attributes as properties */
	assert_int_equal(tk_geojson_record(&b, &r, TK_JSON_RAW), 0);
	out[b.len] = '\0';
	assert_string_equal(out,
	    "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":"
	    "[113.905462,-22.573377]},\"properties\":{\"type\":\"position\",\"protocol\":"
	    "\"gps103\",\"uniqueId\":\"000070000012\",\"serverTime\":\"2008-08-31T06:29:28.000Z\","
	    "\"fixTime\":\"2008-08-31T06:29:27.294Z\",\"valid\":true,\"latitude\":-22.573377,"
	    "\"longitude\":113.905462,\"speed\":12.5,\"alarm\":\"sos\",\"sat\":7,"
	    "\"ignition\":true,\"network\":{\"cellTowers\":[{\"mobileCountryCode\":262,"
	    "\"mobileNetworkCode\":2,\"locationAreaCode\":4711,\"cellId\":1234,"
	    "\"signalStrength\":-70}]},\"raw\":\"2829\"}}\n");

	/* Traccar: the envelope, +00:00 times, deviceTime from fixTime, zeros
	 * for what Traccar defaults, the same deviceId in both halves */
	b.len = 0;
	assert_int_equal(tk_traccar_record(&b, &r), 0);
	out[b.len] = '\0';
	char want[2048], idn[24];
	snprintf(idn, sizeof(idn), "%llu", (unsigned long long)tk_traccar_device_id("000070000012"));
	snprintf(want, sizeof(want),
	    "{\"position\":{\"deviceId\":%s,\"protocol\":\"gps103\","
	    "\"serverTime\":\"2008-08-31T06:29:28.000+00:00\","
	    "\"deviceTime\":\"2008-08-31T06:29:27.294+00:00\","
	    "\"fixTime\":\"2008-08-31T06:29:27.294+00:00\",\"outdated\":false,\"valid\":true,"
	    "\"latitude\":-22.573377,\"longitude\":113.905462,\"altitude\":0,\"speed\":12.5,"
	    "\"course\":0,\"accuracy\":0,\"network\":{\"cellTowers\":[{\"mobileCountryCode\":262,"
	    "\"mobileNetworkCode\":2,\"locationAreaCode\":4711,\"cellId\":1234,"
	    "\"signalStrength\":-70}]},\"attributes\":{\"alarm\":\"sos\",\"sat\":7,"
	    "\"ignition\":true}},\"device\":{\"id\":%s,\"name\":\"000070000012\","
	    "\"uniqueId\":\"000070000012\",\"status\":\"online\","
	    "\"lastUpdate\":\"2008-08-31T06:29:28.000+00:00\",\"attributes\":{}}}\n", idn, idn);
	assert_string_equal(out, want);
	/* the deviceId: stable, JavaScript-safe, differs between ids */
	assert_true(tk_traccar_device_id("000070000012") < (1ull << 53));
	assert_true(tk_traccar_device_id("000070000012") != tk_traccar_device_id("70000012"));
	assert_true(tk_traccar_device_id("") != 0);

	/* an alarm without a location: Traccar's outdated position at 0 0;
	 * GeoJSON has nothing to draw */
	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	tk_rec_set_id(&r, "027044702512", 12);
	r.device_time = 1220164167000;
	tk_rec_alarm(&r, "powerCut");
	b.len = 0;
	assert_int_equal(tk_geojson_record(&b, &r, 0), 1);
	assert_int_equal(b.len, 0);
	assert_int_equal(tk_traccar_record(&b, &r), 0);
	out[b.len] = '\0';
	assert_non_null(strstr(out, "\"deviceTime\":\"2008-08-31T06:29:27.000+00:00\","
	    "\"fixTime\":\"2008-08-31T06:29:27.000+00:00\",\"outdated\":true,\"valid\":false,"
	    "\"latitude\":0,\"longitude\":0,"));
	assert_non_null(strstr(out, "\"attributes\":{\"alarm\":\"powerCut\"}}"));
	assert_null(strstr(out, "serverTime"));	/* unknown: left out, not made up */

	/* logins, heartbeats and records of no device: not Traccar positions */
	static const enum tk_rtype skip[] = {TK_R_LOGIN, TK_R_HEARTBEAT};
	for (size_t i = 0; i < 2; i++) {
		tk_rec_init(&r, TK_D_TK103, skip[i]);
		tk_rec_set_id(&r, "027044702512", 12);
		b.len = 0;
		assert_int_equal(tk_traccar_record(&b, &r), 1);
		assert_int_equal(b.len, 0);
	}
	tk_rec_init(&r, TK_D_TK103, TK_R_POSITION);
	r.has_pos = true;
	assert_int_equal(tk_traccar_record(&b, &r), 1);

	/* too small: unchanged */
	tk_rec_init(&r, TK_D_TK103, TK_R_POSITION);
	tk_rec_set_id(&r, "027044702512", 12);
	r.has_pos = true;
	struct tk_buf small = {out, 0, 60};
	assert_int_equal(tk_geojson_record(&small, &r, 0), -1);
	assert_int_equal(small.len, 0);
	assert_int_equal(tk_traccar_record(&small, &r), -1);
	assert_int_equal(small.len, 0);

	/* CSV: the id always quoted; the .csvt has a type per header column,
	 * latitude and longitude as the point */
	b.len = 0;
	assert_int_equal(tk_csv_header(&b), 0);
	size_t hcols = 1;
	for (size_t i = 0; i < b.len; i++)
		hcols += out[i] == ',';
	b.len = 0;
	assert_int_equal(tk_csvt(&b), 0);
	out[b.len] = '\0';
	size_t tcols = 1;
	for (size_t i = 0; i < b.len; i++)
		tcols += out[i] == ',';
	assert_int_equal(hcols, tcols);
	assert_non_null(strstr(out, "\"String\",\"String\",\"String\",\"DateTime\""));
	assert_non_null(strstr(out, "\"CoordY\",\"CoordX\""));
	b.len = 0;
	assert_int_equal(tk_csv_record(&b, &r), 0);
	out[b.len] = '\0';
	assert_non_null(strstr(out, "position,tk103,\"027044702512\","));
}

static void
test_record_bounds(void **state)
{
	struct tk_record r;
	char big[TK_SBUF_MAX + 10];
	(void)state;
	memset(big, 'x', sizeof(big));
	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	tk_rec_str(&r, "result", big, sizeof(big));
	assert_true(r.truncated);
	assert_null(tk_rec_get(&r, "result"));
	tk_rec_init(&r, TK_D_TK103, TK_R_EVENT);
	for (int i = 0; i < TK_ATTR_MAX + 5; i++) {
		char k[16];
		snprintf(k, sizeof(k), "io%d", i);
		tk_rec_int(&r, tk_rec_key(&r, k), i);
	}
	assert_int_equal(r.nattr, TK_ATTR_MAX);
	assert_true(r.truncated);

	/* the worst record a hostile device can make fits in TK_JSON_MAX:
	 * every string byte escaped (0x01 -> \u0001), every limit reached */
	static char out[TK_JSON_MAX(300)];
	uint8_t raw[300];
	memset(raw, 0xff, sizeof(raw));
	memset(big, 1, sizeof(big));
	tk_rec_init(&r, TK_D_XEXUN2, TK_R_POSITION);
	memset(r.id, 1, sizeof(r.id) - 1);
	r.id[sizeof(r.id) - 1] = '\0';
	memset(r.alarm, 1, sizeof(r.alarm) - 1);
	r.alarm[sizeof(r.alarm) - 1] = '\0';
	r.server_time = r.device_time = r.fix_time = 1;
	r.has_pos = r.has_alt = r.has_speed = r.has_course = true;
	r.lat = r.lon = r.alt = r.speed = r.course = -8.9e8;
	struct tk_cell cell = {65535, 65535, true, -32768, true, UINT32_MAX, UINT64_MAX};
	struct tk_wifi wifi = {{1, 2, 3, 4, 5, 6}, -32768, true, 32767};
	while (tk_rec_cell(&r, &cell))
		;
	while (tk_rec_wifi(&r, &wifi))
		;
	for (int i = 0; r.nattr < TK_ATTR_MAX - 1; i++) {
		char k[24];
		snprintf(k, sizeof(k), "\x01\x01\x01\x01\x01\x01%d", i);
		if (i % 2)
			tk_rec_num(&r, tk_rec_key(&r, k), -8.9e8, 9);
		else
			tk_rec_int(&r, tk_rec_key(&r, k), INT64_MIN);
	}
	tk_rec_str(&r, "result", big, TK_SBUF_MAX - r.slen);
	assert_non_null(tk_rec_get(&r, "result"));
	r.raw = raw;
	r.rawlen = sizeof(raw);
	struct tk_buf b = {out, 0, sizeof(out)};
	assert_int_equal(tk_json_record(&b, &r, TK_JSON_RAW), 0);
	assert_true(b.len > 6 * (TK_SBUF_MAX - 200));
	assert_memory_equal(out + b.len - 2, "}\n", 2);
	/* and the other writers in TK_FMT_MAX */
	static char fout[TK_FMT_MAX(300)];
	struct tk_buf fb = {fout, 0, sizeof(fout)};
	assert_int_equal(tk_geojson_record(&fb, &r, TK_JSON_RAW), 0);
	assert_memory_equal(fout + fb.len - 3, "}}\n", 3);
	fb.len = 0;
	assert_int_equal(tk_traccar_record(&fb, &r), 0);
	assert_memory_equal(fout + fb.len - 3, "}}\n", 3);
}

/* Our escaper must produce exactly what strvisx(3) produces. */
static void
test_fline_escape_matches_vis(void **state)
{
	uint8_t in[512];
	char a[4 * sizeof(in) + 1], b[4 * sizeof(in) + 1];
	(void)state;
	srandom(42);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(random() % (long)sizeof(in));
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(round % 3 == 0 ? random() % 8 + '0' - 4 : random());
		size_t la = tk_fline_escape(in, n, a);
		strvisx(b, (const char *)in, n, VIS_CSTYLE | VIS_OCTAL | VIS_WHITE);
		assert_string_equal(a, b);
		assert_int_equal(la, strlen(b));
	}
}

static void
test_fline_roundtrip(void **state)
{
	struct tk_fline l, p;
	char out[4096], err[100];
	uint8_t scratch[2048];
	struct tk_buf b = {out, 0, sizeof(out)};
	static const uint8_t frame[] = "(0270\x00" "44) \r\n\\x\xfa\xaf";
	(void)state;

	memset(&l, 0, sizeof(l));
	l.kind = TK_F_FRAME;
	l.time_ms = 1700000000123;
	strcpy(l.transport, "tcp");
	strcpy(l.peer, "[::1]:4000");
	l.conn = 17;
	l.dialect = TK_D_TK103;
	l.dialect_known = true;
	strcpy(l.id, "027044702512");
	l.data = frame;
	l.len = sizeof(frame) - 1;
	assert_int_equal(tk_fline_write(&b, &l), 0);
	assert_true(tk_fline_probe(out, b.len));
	assert_null(memchr(out, ' ', 0));
	assert_int_equal(tk_fline_parse(out, b.len, &p, scratch, sizeof(scratch), err,
	    sizeof(err)), 0);
	assert_int_equal(p.kind, TK_F_FRAME);
	assert_int_equal(p.time_ms, l.time_ms);
	assert_string_equal(p.peer, "[::1]:4000");
	assert_int_equal(p.conn, 17);
	assert_int_equal(p.dialect, TK_D_TK103);
	assert_string_equal(p.id, "027044702512");
	assert_string_equal(p.flags, "");
	assert_int_equal(p.len, l.len);
	assert_memory_equal(p.data, frame, l.len);
	/* bad lines are rejected with a reason */
	assert_int_equal(tk_fline_parse("garbage", 7, &p, scratch, sizeof(scratch), err,
	    sizeof(err)), -1);
	assert_true(strlen(err) > 0);
}

/* Random frames survive write and parse; a scratch one byte short fails. */
/* FLAGS tokens: a token alone or name=VALUE, never a prefix of another. */
static void
test_fline_flags(void **state)
{
	(void)state;
	static const struct {
		const char *flags, *name;
		bool want;
	} t[] = {
		/* flags                        name        found */
		{"",                            "conflict", false},
		{"conflict=123",                "conflict", true},
		{"mismatch=1,conflict=123",     "conflict", true},
		{"conflict=123,mismatch=1",     "mismatch", true},
		{"conflictx=1",                 "conflict", false},
		{"xconflict=1",                 "conflict", false},
		{"oversize",                    "oversize", true},
		{"oversized",                   "oversize", false},
		{"a,oversize",                  "oversize", true},
		{"refused=9",                   "refused",  true},
		{",",                           "refused",  false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (tk_fline_flag(t[i].flags, t[i].name) != t[i].want)
			fail_msg("flags \"%s\" name %s: want %d", t[i].flags, t[i].name,
			    t[i].want);
	struct tk_fline l;
	memset(&l, 0, sizeof(l));
	assert_false(tk_fline_disowned(&l));
	strcpy(l.flags, "mismatch=2");
	assert_false(tk_fline_disowned(&l));
	strcpy(l.flags, "conflict=1,mismatch=2");
	assert_true(tk_fline_disowned(&l));
	strcpy(l.flags, "refused=1");
	assert_true(tk_fline_disowned(&l));
}

static void
test_fline_roundtrip_random(void **state)
{
	static uint8_t in[600], scratch[600];
	static char out[4 * sizeof(in) + 512];
	struct tk_fline l, p;
	char err[100];
	(void)state;
	srandom(7);
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + (size_t)(random() % (long)(sizeof(in) - 1));
		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(round % 2 ? random() : random() % 96 + 32);
		memset(&l, 0, sizeof(l));
		l.kind = TK_F_FRAME;
		l.time_ms = 1700000000123;
		strcpy(l.transport, "udp");
		strcpy(l.peer, "192.0.2.7:40000");
		l.conn = (uint64_t)round;
		l.data = in;
		l.len = n;
		struct tk_buf b = {out, 0, sizeof(out)};
		assert_int_equal(tk_fline_write(&b, &l), 0);
		assert_int_equal(tk_fline_parse(out, b.len, &p, scratch, n, err,
		    sizeof(err)), 0);
		assert_int_equal(p.len, n);
		assert_memory_equal(p.data, in, n);
		assert_int_equal(p.conn, (uint64_t)round);
		assert_int_equal(tk_fline_parse(out, b.len, &p, scratch, n - 1, err,
		    sizeof(err)), -1);
	}
	/* a trailing lone backslash and a non-escape are bad escapes */
	static const char *const bad[] = {
		"2026-11-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - (abc\\",
		"2026-11-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - (a\\qc",
		"2026-11-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - \\477",
		/* times out of range or not digits */
		"2026-13-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-11-32T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-11-24T24:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-11-24T08:60:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-11-24T08:01:61.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-11-24T08:01:05.1a3Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-1-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2o26-11-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
		"2026-11-24T08:01:05+123Z frame tcp 192.0.2.7:1 1 tk103 - - x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(tk_fline_parse(bad[i], strlen(bad[i]), &p, scratch,
		    sizeof(scratch), err, sizeof(err)), -1);
	/* octal escapes take at most three digits: \0123 is 012 then '3' */
	static const char ok[] = "2026-11-24T08:01:05.123Z frame tcp 192.0.2.7:1 1 tk103 - - \\0123\\s\\E";
	assert_int_equal(tk_fline_parse(ok, strlen(ok), &p, scratch, sizeof(scratch), err,
	    sizeof(err)), 0);
	assert_int_equal(p.len, 4);
	assert_memory_equal(p.data, "\0123 \033", 4);
	/* the edges that parse: a leap second, 23:59, the last millisecond */
	static const char edge[] = "2026-12-31T23:59:60.999Z open udp 192.0.2.7:1 1 - - - -";
	assert_int_equal(tk_fline_parse(edge, strlen(edge), &p, scratch, sizeof(scratch), err,
	    sizeof(err)), 0);
	int64_t want;
	assert_int_equal(tk_time_utc(2026, 12, 31, 23, 59, 60, 999, &want), 0);
	assert_true(p.time_ms == want);
	/* in sequence (the parser keeps the last day and second): the same
	 * second, the next, another day at the same time, back again; a line
	 * that shares a valid line's second but not its form still fails */
	static const struct { const char *line; int y, mo, d, h, mi, s, ms; } seq[] = {
		{"2026-11-24T08:01:05.123Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 24, 8, 1, 5, 123},
		{"2026-11-24T08:01:05.999Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 24, 8, 1, 5, 999},
		{"2026-11-24T08:01:05.000Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 24, 8, 1, 5, 0},
		{"2026-11-24T08:01:06.001Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 24, 8, 1, 6, 1},
		{"2026-11-25T08:01:06.001Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 25, 8, 1, 6, 1},
		{"2026-11-24T08:01:06.002Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 24, 8, 1, 6, 2},
		{"2026-11-24T08:01:06.00xZ open tcp 192.0.2.7:1 1 - - - -", 0, 0, 0, 0, 0, 0, 0},
		{"2026-11-24T08:01:06.002+ open tcp 192.0.2.7:1 1 - - - -", 0, 0, 0, 0, 0, 0, 0},
		{"2026-11-24T08:01:06.0021Z open tcp 192.0.2.7:1 1 - - - -", 0, 0, 0, 0, 0, 0, 0},
		{"2026-11-24T08:01:06.003Z open tcp 192.0.2.7:1 1 - - - -", 2026, 11, 24, 8, 1, 6, 3},
	};
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		int rc = tk_fline_parse(seq[i].line, strlen(seq[i].line), &p, scratch,
		    sizeof(scratch), err, sizeof(err));
		if (seq[i].y == 0) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(tk_time_utc(seq[i].y, seq[i].mo, seq[i].d, seq[i].h, seq[i].mi,
		    seq[i].s, seq[i].ms, &want), 0);
		assert_true(p.time_ms == want);
	}
}

/* Every byte alone: printable ASCII but " and \\ passes, the rest is escaped
 * (\\", \\\\, \\n, \\u00XX, or \\ufffd for a lone byte >= 0x80). */
static void
test_json_str_bytes(void **state)
{
	char out[64];
	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		struct tk_buf b = {out, 0, sizeof(out)};
		uint8_t in = (uint8_t)c;
		assert_int_equal(tk_buf_json_str(&b, &in, 1), 0);
		bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
		if (plain) {
			assert_int_equal(b.len, 3);
			assert_int_equal((uint8_t)out[1], c);
		} else {
			assert_true(b.len == 4 || b.len == 8);
			assert_int_equal(out[1], '\\');
		}
	}
}

/* tk_fmt_num against the plain definition: round |v| * 10^prec to an
 * integer, split it by division, trim trailing fraction zeros. */
static size_t
ref_fmt_num(char *out, double v, int prec)
{
	static const double p[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	if (!isfinite(v) || fabs(v) * p[prec] >= 9e18)
		return (size_t)snprintf(out, 48, "null");
	uint64_t m = (uint64_t)llround(fabs(v) * p[prec]);
	uint64_t ip = m / (uint64_t)p[prec], fp = m % (uint64_t)p[prec];
	int n = snprintf(out, 48, "%s%llu", v < 0 && m != 0 ? "-" : "",
	    (unsigned long long)ip);
	if (prec > 0 && fp != 0) {
		n += snprintf(out + n, 48 - (size_t)n, ".%0*llu", prec, (unsigned long long)fp);
		while (out[n - 1] == '0')
			out[--n] = '\0';
	}
	return (size_t)n;
}

/* tk_parse_dec as first written (a digit at a time, one loop), the
 * reference for the faster one */
static int
ref_parse_dec(const char *p, size_t n, double *out)
{
	size_t i = 0;
	bool neg = false, dot = false, any = false;
	uint64_t m = 0;
	unsigned sig = 0, frac = 0;

	if (n == 0)
		return -1;
	if (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-';
		i = 1;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '.') {
			if (dot)
				return -1;
			dot = true;
			continue;
		}
		if (c < '0' || c > '9')
			return -1;
		any = true;
		if (sig == 0 && c == '0') {
			if (dot)
				frac++;
			continue;
		}
		if (sig >= 18) {
			/* Further digits are beyond double precision anyway. */
			if (!dot)
				return -1;	/* integer part too long */
			continue;
		}
		m = m * 10 + (c - '0');
		sig++;
		if (dot)
			frac++;
	}
	if (!any)
		return -1;
	double v = (double)m;
	if (frac > 18)
		return -1;
	if (frac)
		v /= pow(10, frac);
	*out = neg ? -v : v;
	return 0;
}

static void
test_parse_dec_reference(void **state)
{
	static const char alpha[] = "0000123456789..-+x";
	char s[40];
	(void)state;
	srandom(5);
	for (int k = 0; k < 300000; k++) {
		size_t n = (size_t)(random() % 30);
		for (size_t i = 0; i < n; i++)
			s[i] = alpha[random() % (sizeof(alpha) - 1)];
		double a = -1, b = -1;
		int ra = tk_parse_dec(s, n, &a), rb = ref_parse_dec(s, n, &b);
		if (ra != rb || (ra == 0 && a != b))
			fail_msg("tk_parse_dec(\"%.*s\"): %d %.17g, reference %d %.17g",
			    (int)n, s, ra, a, rb, b);
	}
}

/* tk_parse_nmea by its definition: the digits before the minutes are
 * degrees (at most 180), the minutes a decimal below 60 */
static int
ref_parse_nmea(const char *p, size_t n, double *deg)
{
	const char *dot = memchr(p, '.', n);
	size_t ip = dot ? (size_t)(dot - p) : n;
	uint64_t d;
	double v;
	if (ip < 3 || ip > 5 || tk_parse_uint(p, ip - 2, 180, &d) != 0 ||
	    ref_parse_dec(p + ip - 2, n - (ip - 2), &v) != 0 || v < 0 || v >= 60)
		return -1;
	*deg = (double)d + v / 60.0;
	return 0;
}

static void
test_parse_nmea_reference(void **state)
{
	static const char alpha[] = "0123456789012345678901234567890123456789..-+x";
	static const char *const edge[] = {"5221.2851", "01325.5853", "000.0", "18000.0000",
	    "18059.9999", "18100.0", "0959.99999999999999999", "0959.9999999999999999",
	    "5260.0", "52", "522", "52.", "522.", "5221.", "1234567.8", "12+5.1", "-5221.2851",
	    "5221.28.51", "5221.2851 ", ".5221", "", "00000.0000000000000000",
	    /* the fixed widths of the fast path, and their near misses */
	    "18100.0000", "18059.9999", "9959.9999", "0060.0000", "5960.0000", "1a34.5678",
	    "12345.678a", "5221 2851", "01325,5853", " 5221.2851", "-221.2851"};
	char s[40];
	(void)state;
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		double a = -1, b = -1;
		size_t n = strlen(edge[i]);
		int ra = tk_parse_nmea(edge[i], n, &a), rb = ref_parse_nmea(edge[i], n, &b);
		if (ra != rb || (ra == 0 && a != b))
			fail_msg("tk_parse_nmea(\"%s\"): %d %.17g, reference %d %.17g", edge[i],
			    ra, a, rb, b);
	}
	srandom(7);
	for (int k = 0; k < 300000; k++) {
		size_t n = (size_t)(random() % 26);
		for (size_t i = 0; i < n; i++)
			s[i] = alpha[random() % (sizeof(alpha) - 1)];
		if (n > 5 && random() % 2)
			s[random() % 2 ? 4 : 5] = '.';	/* the usual shapes, often */
		double a = -1, b = -1;
		int ra = tk_parse_nmea(s, n, &a), rb = ref_parse_nmea(s, n, &b);
		if (ra != rb || (ra == 0 && a != b))
			fail_msg("tk_parse_nmea(\"%.*s\"): %d %.17g, reference %d %.17g",
			    (int)n, s, ra, a, rb, b);
	}
}

/* A JSON string body a byte at a time (the writer before it took eight
 * bytes at a time): NULL when a byte does not fit before end (an escape
 * asks for 6 bytes of room). */
static char *
ref_json_body(char *o, const char *end, const uint8_t *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o == end)
				return NULL;
			*o++ = (char)c;
			i++;
			continue;
		}
		if (end - o < 6)
			return NULL;
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			if (c == '\n' || c == '\r' || c == '\t') {
				*o++ = '\\';
				*o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			} else {
				memcpy(o, "\\u00", 4);
				o[4] = hx[c >> 4];
				o[5] = hx[c & 15];
				o += 6;
			}
			i++;
		} else {
			/* UTF-8: a valid sequence passes whole, else U+FFFD */
			size_t l = 0;
			if (c >= 0xc2 && c <= 0xdf)
				l = 2;
			else if (c >= 0xe0 && c <= 0xef)
				l = 3;
			else if (c >= 0xf0 && c <= 0xf4)
				l = 4;
			if (l > n - i)
				l = 0;
			for (size_t k = 1; k < l; k++)
				if ((s[i + k] & 0xc0) != 0x80)
					l = 0;
			if (l == 3 && ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0)))
				l = 0;
			if (l == 4 && ((c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90)))
				l = 0;
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

/* tk_buf_json_str against the byte-at-a-time writer: random strings, mostly
 * plain with escapes and UTF-8 at every offset, into every room from none
 * to enough (the same bytes, or the same refusal). */
static void
test_json_str_reference(void **state)
{
	static const uint8_t special[] = {'"', '\\', '\n', '\r', '\t', 0, 0x1f, 0x7f, 0x80,
	    0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xff, ' '};
	uint8_t in[48];
	char a[400], b[400];
	(void)state;
	srandom(13);
	for (int k = 0; k < 40000; k++) {
		size_t n = (size_t)(random() % 40);
		for (size_t i = 0; i < n; i++)
			in[i] = random() % 6 ? (uint8_t)(0x20 + random() % 95) :
			    special[random() % sizeof(special)];
		char *e = ref_json_body(b + 1, b + sizeof(b) - 1, in, n);
		assert_non_null(e);
		size_t full = (size_t)(e - b) + 1;	/* with both quotes */
		for (size_t cap = k % 8 ? full : 0; cap <= full + 8; cap++) {
			struct tk_buf buf = {a, 0, cap};
			int rc = tk_buf_json_str(&buf, in, n);
			/* the reference's verdict at this room, as json_str asks:
			 * the body before the end, then room for the closing quote */
			char *r = cap >= 2 ? ref_json_body(b + 1, b + cap, in, n) : NULL;
			bool fits = r != NULL && r != b + cap;
			if (fits != (rc == 0))
				fail_msg("string %d (%zu bytes), room %zu: rc %d, reference %s",
				    k, n, cap, rc, fits ? "fits" : "does not fit");
			if (rc == 0) {
				assert_int_equal(buf.len, full);
				assert_memory_equal(a + 1, b + 1, full - 2);
			}
		}
	}
}

/* The JSON writer copies a dialect name with one 8-byte load. */
static void
test_dialect_name_size(void **state)
{
	(void)state;
	for (int d = -1; d <= TK_D__COUNT; d++)
		assert_true(strlen(tk_dialect_name((enum tk_dialect)d)) < TK_DNAME_SIZE);
	assert_string_equal(tk_dialect_name((enum tk_dialect)TK_D__COUNT), "unknown");
}

static void
test_fmt_num_reference(void **state)
{
	char a[48], b[48];
	static const double edge[] = {0, -0.0, 0.5, -0.5, 1e-10, -1e-10, 0.0000005,
	    -0.0000004, 123.456789, -33.77411, 150.95514, 9e17, -9e17, 1.005, 2.675,
	    /* the integer part's digit counts around the four-digit path */
	    9, 10, 99, 100, 999, 1000, 9999, 9999.9999, 10000, -10000, 99999.5, 0.1, 0.01};
	(void)state;
	srandom(11);
	for (int prec = 0; prec <= 9; prec++) {
		for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
			size_t la = tk_fmt_num(a, edge[i], prec), lb = ref_fmt_num(b, edge[i], prec);
			assert_string_equal(a, b);
			assert_int_equal(la, lb);
		}
		for (int k = 0; k < 20000; k++) {
			double v = ((double)random() / 2147483647.0 - 0.5) *
			    pow(10, (double)(random() % 14 - 6));
			size_t la = tk_fmt_num(a, v, prec), lb = ref_fmt_num(b, v, prec);
			assert_string_equal(a, b);
			assert_int_equal(la, lb);
		}
	}
}

/* CRC-16/XMODEM by its bitwise definition (poly 0x1021, init 0, MSB first). */
static uint16_t
ref_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int k = 0; k < 8; k++)
			crc = (crc & 0x8000) ? (uint16_t)(crc << 1 ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

static void
test_crc16_reference(void **state)
{
	static uint8_t buf[1100];
	(void)state;
	srandom(5);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)random();
	/* every length to 70 (all tail sizes, several 8-byte steps), at odd
	 * offsets, then long random spans */
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; n <= 70; n++)
			assert_int_equal(tk_crc16_xmodem(buf + off, n), ref_crc16(buf + off, n));
	for (int k = 0; k < 500; k++) {
		size_t off = (size_t)(random() % 100), n = (size_t)(random() % 1000);
		assert_int_equal(tk_crc16_xmodem(buf + off, n), ref_crc16(buf + off, n));
	}
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(tk_crc16_xmodem(buf, 1000), ref_crc16(buf, 1000));
}

/* tk_hexval (a table) against the three range tests it replaced, for
 * every byte and for values outside a byte (EOF, 256 ...). */
static void
test_hexval_reference(void **state)
{
	(void)state;
	for (int c = -300; c < 600; c++) {
		int want = -1;
		if (c >= '0' && c <= '9')
			want = c - '0';
		else if (c >= 'a' && c <= 'f')
			want = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			want = c - 'A' + 10;
		assert_int_equal(tk_hexval(c), want);
	}
	uint64_t v;
	assert_int_equal(tk_parse_hex("0aF9", 4, &v), 0);
	assert_int_equal(v, 0x0af9);
	assert_int_not_equal(tk_parse_hex("0aG9", 4, &v), 0);
}

/* tk_split against a byte-by-byte reference: field count, spans, max. */
static void
test_split_reference(void **state)
{
	char buf[200];
	struct tk_span f[12];
	(void)state;
	srandom(3);
	for (int round = 0; round < 20000; round++) {
		size_t n = (size_t)(random() % (long)sizeof(buf));
		long gap = 1 + random() % 40;	/* mean field length */
		for (size_t i = 0; i < n; i++)
			/* and bytes one bit away from ',' (a borrow or a high bit
			 * would make them look like it to a careless word scan) */
			buf[i] = random() % gap == 0 ? ',' : "a-+\xac\0"[random() % 5];
		size_t max = (size_t)(random() % 12);
		size_t nf = tk_split(buf, n, ',', f, max);
		size_t rn = 1, start = 0, idx = 0;
		for (size_t i = 0; i <= n; i++) {
			if (i == n || buf[i] == ',') {
				if (idx < max) {
					assert_ptr_equal(f[idx].p, buf + start);
					assert_int_equal(f[idx].n, i - start);
				}
				idx++;
				start = i + 1;
				if (i < n)
					rn++;
			}
		}
		assert_int_equal(nf, rn);
	}
}

struct got {
	int n;
	enum tk_dialect d[16];
	uint8_t f[16][256];
	size_t len[16];
	size_t junk;
};

static int
got_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct got *g = arg;
	(void)off;
	if (g->n < 16 && n < 256) {
		g->d[g->n] = d;
		memcpy(g->f[g->n], f, n);
		g->len[g->n] = n;
	}
	g->n++;
	return 0;
}

static void
got_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct got *g = arg;
	(void)j;
	(void)off;
	g->junk += n;
}

static void
test_classify(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		enum tk_class want;
		enum tk_dialect d;
	} cases[] = {
		{"\xfa\xaf", 2, TK_CLASS_OK, TK_D_XEXUN2},
		{"\xfa", 1, TK_CLASS_MORE, TK_D_UNKNOWN},
		{"\x78\x78\x11\x01", 4, TK_CLASS_OK, TK_D_GT06},
		{"*HQ,1234,V1,", 12, TK_CLASS_OK, TK_D_H02},
		{"\xfc\x00\x10\x03", 4, TK_CLASS_OK, TK_D_XEXUN3},
		{"(027044702512BP00HSO)", 21, TK_CLASS_OK, TK_D_TK103},
		{"(864768011069660,ZC11,2505", 26, TK_CLASS_OK, TK_D_TK103},
		{"(0270", 5, TK_CLASS_MORE, TK_D_UNKNOWN},
		{"##,imei:359586015829802,A;", 26, TK_CLASS_OK, TK_D_GPS103},
		{"imei:359586015829802,tracker", 28, TK_CLASS_OK, TK_D_GPS103},
		{"359586015829802;", 16, TK_CLASS_OK, TK_D_GPS103},
		{"359769031878322imei:3597", 24, TK_CLASS_OK, TK_D_GPS103},
		{"111111120009,+436763737552,GPRMC", 32, TK_CLASS_OK, TK_D_XEXUN},
		{"LOG150202162307,", 16, TK_CLASS_OK, TK_D_XEXUN},
		{"GPRMC,150120.000", 16, TK_CLASS_OK, TK_D_XEXUN},
		{"\r\n\rGPRMC,150120.000", 19, TK_CLASS_OK, TK_D_XEXUN},
		{",+48606717068,,L,, imei:0122", 28, TK_CLASS_OK, TK_D_XEXUN},
		/* issue 13: a binary serial before an xexun message without GPRMC
		 * (not gps103: "imei:" follows ",L,<keyword>,") */
		{"\x15\x02\x05\x11\x23\x37,+66961544651,,L,, imei:8653", 34, TK_CLASS_OK,
		    TK_D_XEXUN},
		/* tk103 ids of 13 to 15 characters */
		{"(0354776034724BR00000000V", 25, TK_CLASS_OK, TK_D_TK103},
		{"(357593060760397BP02,G,2,", 25, TK_CLASS_OK, TK_D_TK103},
		/* other protocols of TK102 clones: named, not tk103 or gps103 */
		{"[!0000000081r(ONE0", 18, TK_CLASS_OK, TK_D_TK102},
		{"[\x90" "0200000001\x36(ONE", 17, TK_CLASS_OK, TK_D_TK102},
		{"#356823035368767##", 18, TK_CLASS_OK, TK_D_V680},
		{"#356823035368767#00#0#0000#AUT#1#", 33, TK_CLASS_OK, TK_D_V680},
		{"#3568230", 8, TK_CLASS_MORE, TK_D_UNKNOWN},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 75,
		    TK_CLASS_UNKNOWN, TK_D_UNKNOWN},
		/* a signature cut by the end of the buffer: undecided, so that the
		 * chunking cannot change the answer */
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxx ime", 57,
		    TK_CLASS_MORE, TK_D_UNKNOWN},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx(12345678901", 72,
		    TK_CLASS_MORE, TK_D_UNKNOWN},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum tk_dialect d = TK_D_UNKNOWN;
		size_t skip;
		enum tk_class c = tk_classify((const uint8_t *)cases[i].in, cases[i].len, false,
		    &d, &skip);
		if (c != cases[i].want || (c == TK_CLASS_OK && d != cases[i].d))
			fail_msg("case %zu (%s): got class %d dialect %s", i, cases[i].in, c,
			    tk_dialect_name(d));
	}
	/* junk before a login keeps the login's "##," (a signature must start
	 * within the first TK_CLASSIFY_MAX bytes) */
	static const char j[] = "GET / HTTP/1.0\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx##,imei:359586015829802,A;";
	enum tk_dialect dj;
	size_t sj;
	assert_int_equal(tk_classify((const uint8_t *)j, sizeof(j) - 1, false, &dj, &sj), TK_CLASS_OK);
	assert_int_equal(dj, TK_D_GPS103);
	assert_memory_equal(j + sj, "##,imei:", 8);
	/* a bare IMEI datagram is a heartbeat only when nothing more can come */
	enum tk_dialect d;
	size_t skip;
	assert_int_equal(tk_classify((const uint8_t *)"359586015829802", 15, false, &d, &skip),
	    TK_CLASS_MORE);
	assert_int_equal(tk_classify((const uint8_t *)"359586015829802", 15, true, &d, &skip),
	    TK_CLASS_OK);
	assert_int_equal(d, TK_D_GPS103);
}

/* The foreign GT06 scanner is simple enough to test the framer with. */
static void
test_framer_chunks(void **state)
{
	static const uint8_t stream[] =
	    "\x78\x78\x03\x01\x02\x03\x0d\x0a"
	    "\x78\x78\x01\xaa\x0d\x0a"
	    "\x78\x78\x02\x01\x02\x0d\x0a";
	size_t n = sizeof(stream) - 1;
	(void)state;
	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct tk_framer fr;
		struct got g = {0};
		struct tk_framer_cb cb = {got_frame, got_junk, &g};
		tk_framer_init(&fr, TK_D_UNKNOWN, 0);
		for (size_t off = 0; off < n; off += chunk) {
			size_t k = n - off < chunk ? n - off : chunk;
			assert_int_equal(tk_framer_feed(&fr, stream + off, k, &cb), TK_FEED_OK);
		}
		tk_framer_finish(&fr, &cb);
		if (g.n != 3) fail_msg("chunk %zu: %d frames", chunk, g.n);
		assert_int_equal(g.d[0], TK_D_GT06);
		assert_int_equal(g.len[0], 8);
		assert_int_equal(g.len[1], 6);
		assert_int_equal(g.len[2], 7);
		assert_int_equal(g.junk, 0);
		assert_null(fr.buf);
	}
}

static void
test_framer_overflow(void **state)
{
	struct tk_framer fr;
	struct got g = {0};
	struct tk_framer_cb cb = {got_frame, got_junk, &g};
	uint8_t big[300];
	(void)state;
	/* an H02 text frame that never ends: the cap must hold */
	memset(big, 'A', sizeof(big));
	big[0] = '*';
	big[1] = 'H';
	big[2] = 'Q';
	big[3] = ',';
	tk_framer_init(&fr, TK_D_H02, 256);
	enum tk_feed r = TK_FEED_OK;
	for (int i = 0; i < 10 && r == TK_FEED_OK; i++)
		r = tk_framer_feed(&fr, big, sizeof(big), &cb);
	assert_int_equal(r, TK_FEED_OVERFLOW);
	assert_true(tk_framer_pending(&fr) <= 256);
	assert_true(g.junk >= 256);
	tk_framer_free(&fr);
}

static void
test_vectors_readable(void **state)
{
	struct tkt_row *rows;
	(void)state;
	size_t n = tkt_read_tsv(tkt_data("vectors/tk103.tsv"), &rows);
	assert_true(n >= 50);
	assert_string_equal(rows[0].expectation, "attributes");
	free(rows);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_fmt_num),
		cmocka_unit_test(test_json_record),
		cmocka_unit_test(test_json_keys),
		cmocka_unit_test(test_rec_keys_again),
		cmocka_unit_test(test_other_formats),
		cmocka_unit_test(test_record_bounds),
		cmocka_unit_test(test_fline_escape_matches_vis),
		cmocka_unit_test(test_fline_roundtrip),
		cmocka_unit_test(test_fline_roundtrip_random),
		cmocka_unit_test(test_fline_flags),
		cmocka_unit_test(test_json_str_bytes),
		cmocka_unit_test(test_fmt_num_reference),
		cmocka_unit_test(test_parse_dec_reference),
		cmocka_unit_test(test_parse_nmea_reference),
		cmocka_unit_test(test_json_str_reference),
		cmocka_unit_test(test_dialect_name_size),
		cmocka_unit_test(test_crc16_reference),
		cmocka_unit_test(test_hexval_reference),
		cmocka_unit_test(test_split_reference),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_framer_chunks),
		cmocka_unit_test(test_framer_overflow),
		cmocka_unit_test(test_vectors_readable),
	};
	return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
