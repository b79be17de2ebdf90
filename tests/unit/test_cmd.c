/* test_cmd.c: the command catalogue (lib/tk_cmd.c): every row of
 * tests/data/vectors/commands.tsv (Traccar's encoder tests, see the
 * vectors README) byte-exact, each set's whole catalogue encoded and
 * recognized back, answer matching against simulated answers, and the
 * rejection of bad and injecting parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"
#include "tk_gt06.h"
#include "tk_test.h"

#define DEVID_TK103	"123456789012345"

/* argv strings: the API takes char *const argv[] like main's */
static char *
S(const char *s)
{
	return (char *)(uintptr_t)s;
}

static char *
field(char *line, int n)
{
	char *p = line;
	for (int i = 0; i < n && p != NULL; i++) {
		p = strchr(p, '\t');
		if (p != NULL)
			p++;
	}
	return p;
}

static void
cut(char *s)
{
	char *t = strchr(s, '\t');
	if (t != NULL)
		*t = '\0';
	t = strchr(s, '\n');
	if (t != NULL)
		*t = '\0';
}

/* k=v;k=v lookup into buf */
static const char *
param(const char *params, const char *key, char *buf, size_t cap)
{
	size_t kl = strlen(key);
	const char *p = params;
	while (p && *p) {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1, *e = strchr(v, ';');
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n >= cap)
				n = cap - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		p = strchr(p, ';');
		if (p)
			p++;
	}
	return NULL;
}

/* Traccar command type + params -> our friendly argv. */
static int
map_row(const char *type, const char *params, char argv_buf[6][128], char **argv,
    char *pw, size_t pwcap)
{
	char v[128], v2[128];
	int argc = 0;
#define A(s) (strcpy(argv_buf[argc], (s)), argv[argc] = argv_buf[argc], argc++)
	pw[0] = '\0';
	if (strcmp(type, "outputControl") == 0) {
		A("output"); A("1");
		A(strcmp(param(params, "data", v, sizeof(v)), "1") == 0 ? "on" : "off");
	} else if (strcmp(type, "engineStop") == 0) {
		A("engine-stop");
	} else if (strcmp(type, "engineResume") == 0) {
		A("engine-resume");
	} else if (strcmp(type, "alarmArm") == 0) {
		A("arm");
	} else if (strcmp(type, "alarmDisarm") == 0) {
		A("disarm");
	} else if (strcmp(type, "positionSingle") == 0) {
		A("locate");
	} else if (strcmp(type, "positionPeriodic") == 0) {
		A("track");
		if (param(params, "frequency", v, sizeof(v)))
			A(v);
	} else if (strcmp(type, "positionStop") == 0) {
		A("track-stop");
	} else if (strcmp(type, "getVersion") == 0) {
		A("version");
	} else if (strcmp(type, "rebootDevice") == 0) {
		A("reboot");
	} else if (strcmp(type, "setOdometer") == 0) {
		A("odometer");
	} else if (strcmp(type, "deviceIdentification") == 0) {
		A("identify");
	} else if (strcmp(type, "powerOff") == 0) {
		A("power-off");
	} else if (strcmp(type, "alarmSos") == 0) {
		A("sos");
		A(strcmp(param(params, "enable", v, sizeof(v)), "true") == 0 ? "on" : "off");
	} else if (strcmp(type, "custom") == 0) {
		A("custom");
		A(param(params, "data", v, sizeof(v)));
	} else if (strcmp(type, "setConnection") == 0) {
		A("set-server");
		A(param(params, "server", v, sizeof(v)));
		A(param(params, "port", v2, sizeof(v2)));
	} else if (strcmp(type, "sosNumber") == 0) {
		A("sos-number");
		A(param(params, "phone", v, sizeof(v)));
		if (param(params, "devicePassword", v2, sizeof(v2)))
			strlcpy(pw, v2, pwcap);
	} else {
		return -1;
	}
#undef A
	argv[argc] = NULL;
	return argc;
}

static void
test_vectors(void **state)
{
	(void)state;
	FILE *f = fopen(tkt_data("vectors/commands.tsv"), "r");
	char line[2048];
	unsigned rows = 0, checked = 0, lineno = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (lineno == 1)
			continue;	/* header */
		rows++;
		char *dialect = line, *type = field(line, 1), *params = field(line, 2),
		    *expected = field(line, 3), *encoding = field(line, 4), *note = field(line, 5);
		assert_non_null(note);
		cut(dialect); cut(type); cut(params); cut(expected); cut(encoding); cut(note);
		uint8_t want[1024], got[TK_CMD_OUT_MAX];
		size_t wl;
		if (strcmp(encoding, "hex") == 0) {
			long k = tk_hex_decode(expected, strlen(expected), want, sizeof(want));
			assert_true(k > 0);
			wl = (size_t)k;
		} else {
			wl = strlen(expected);
			memcpy(want, expected, wl);
		}
		if (strcmp(type, "frame-escape") == 0) {
			char in[256];
			uint8_t raw[128];
			param(params, "input", in, sizeof(in));
			long k = tk_hex_decode(in, strlen(in), raw, sizeof(raw));
			assert_true(k > 0);
			size_t e = tk_xexun2_escape(raw, (size_t)k, got, sizeof(got));
			assert_int_equal(e, wl);
			assert_memory_equal(got, want, wl);
			size_t u = tk_xexun2_unescape(got, e, want, sizeof(want));
			assert_int_equal(u, (size_t)k);
			assert_memory_equal(want, raw, (size_t)k);
			checked++;
			continue;
		}
		enum tk_dialect d;
		enum tk_cmd_set set;
		assert_int_equal(tk_dialect_parse(dialect, &d), 0);
		assert_int_equal(tk_cmd_set_for(d, strstr(note, "alternative") != NULL, false,
		    &set), 0);
		char ab[6][128], *argv[7], pw[32], err[256];
		int argc = map_row(type, params, ab, argv, pw, sizeof(pw));
		if (argc < 0)
			fail_msg("commands.tsv:%u: no mapping for %s", lineno, type);
		struct tk_cmd c;
		if (tk_cmd_parse(set, argc, argv, 0, &c, err, sizeof(err)) != 0)
			fail_msg("commands.tsv:%u: %s: %s", lineno, type, err);
		if (set == TK_CS_H02)	/* the test fixes the send time at 01:02:03 */
			strcpy(c.hhmmss, "010203");
		const char *id = d == TK_D_TK103 ? DEVID_TK103 : "123456789012345";
		long n = tk_cmd_encode(&c, id, pw[0] ? pw : NULL, got, sizeof(got), err,
		    sizeof(err));
		if (n < 0)
			fail_msg("commands.tsv:%u: %s: %s", lineno, type, err);
		if ((size_t)n != wl || memcmp(got, want, wl) != 0)
			fail_msg("commands.tsv:%u: %s: got '%.*s', want '%s'", lineno, type,
			    (int)n, got, expected);
		/* and back */
		struct tk_cmd r;
		char rid[32];
		if (tk_cmd_recognize(d, got, (size_t)n, &r, rid, sizeof(rid), err,
		    sizeof(err)) != 0)
			fail_msg("commands.tsv:%u: recognize: %s", lineno, err);
		assert_int_equal(r.set, set);
		/* custom text may be a catalogue command (H,080 is overspeed 80):
		 * what counts is that it encodes to the same bytes */
		if (c.id != TK_CMD_CUSTOM)
			assert_int_equal(r.id, c.id);
		uint8_t again[TK_CMD_OUT_MAX];
		long m = tk_cmd_encode(&r, rid[0] ? rid : DEVID_TK103, pw[0] ? pw : NULL,
		    again, sizeof(again), err, sizeof(err));
		if (m != n || memcmp(again, got, (size_t)n) != 0)
			fail_msg("commands.tsv:%u: re-encoded as '%.*s'", lineno, (int)m, again);
		checked++;
	}
	fclose(f);
	assert_int_equal(rows, 31);
	assert_int_equal(checked, rows);
}

/* a sample argv for each command (parameters valid in every set that has it) */
static int
sample(enum tk_cmd_set set, enum tk_cmd_id id, char **argv)
{
	static char b[8][64];
	int n = 0;
#define A(s) (strcpy(b[n], (s)), argv[n] = b[n], n++)
	A(tk_cmd_name(id));
	switch (id) {
	case TK_CMD_TRACK: if (set != TK_CS_TK103_ALT) A("5m"); break;
	case TK_CMD_OUTPUT: A("1"); A("off"); break;
	case TK_CMD_SET_SERVER: A("192.0.2.7"); A("5002"); break;
	case TK_CMD_SET_APN: A("internet.example"); A("user"); A("pass"); break;
	case TK_CMD_SOS_NUMBER: A("+4912345678"); break;
	case TK_CMD_SOS: case TK_CMD_SHOCK: case TK_CMD_GPRS: A("on"); break;
	case TK_CMD_MOVEMENT: A("on"); break;
	case TK_CMD_OVERSPEED: A("80"); break;
	case TK_CMD_GEOFENCE: A("-33.9"); A("18.4"); A("-34.1"); A("18.6"); break;
	case TK_CMD_TIMEZONE: A("-5"); break;
	case TK_CMD_SLEEP: A("deep"); break;
	case TK_CMD_PASSWORD: A("654321"); break;
	case TK_CMD_CUSTOM: A(set == TK_CS_GPS103 ? "Q,20240101" : set == TK_CS_TK103 ? "AP12" : "hello"); break;
	default: break;
	}
#undef A
	argv[n] = NULL;
	return n;
}

static void
test_catalogue(void **state)
{
	(void)state;
	unsigned total = 0;
	for (int s = 0; s < TK_CS__COUNT; s++) {
		unsigned nsup = 0;
		for (int i = 0; i < TK_CMD__COUNT; i++) {
			struct tk_cmd_info info;
			struct tk_cmd c, r;
			char *argv[9], err[512], rid[40];
			uint8_t out[TK_CMD_OUT_MAX], again[TK_CMD_OUT_MAX], ans[512];
			if (tk_cmd_info((enum tk_cmd_set)s, (enum tk_cmd_id)i, &info) != 0) {
				/* unsupported: a clear error naming what is supported */
				int argc = sample((enum tk_cmd_set)s, (enum tk_cmd_id)i, argv);
				assert_int_equal(tk_cmd_parse((enum tk_cmd_set)s, argc, argv, 0, &c,
				    err, sizeof(err)), -1);
				assert_non_null(strstr(err, "does not support"));
				assert_non_null(strstr(err, "it supports:"));
				continue;
			}
			nsup++;
			assert_non_null(info.bytes);
			assert_non_null(info.answer);
			assert_non_null(info.source);
			int argc = sample((enum tk_cmd_set)s, (enum tk_cmd_id)i, argv);
			if (tk_cmd_parse((enum tk_cmd_set)s, argc, argv, 0, &c, err, sizeof(err)) != 0)
				fail_msg("%s %s: %s", tk_cmd_set_name(s), tk_cmd_name(i), err);
			const char *id = s == TK_CS_TK103 ? "027044702512" : "861881053624335";
			long n = tk_cmd_encode(&c, id, NULL, out, sizeof(out), err, sizeof(err));
			if (n <= 0)
				fail_msg("%s %s: %s", tk_cmd_set_name(s), tk_cmd_name(i), err);
			total++;
			if (tk_cmd_set_is_sms(s)) {
				/* printable text, password inside where the set wants it */
				for (long k = 0; k < n; k++)
					assert_true(out[k] == '\n' || (out[k] >= 0x20 && out[k] < 0x7f));
				continue;
			}
			enum tk_dialect d = tk_cmd_set_dialect(s);
			if (tk_cmd_recognize(d, out, (size_t)n, &r, rid, sizeof(rid), err,
			    sizeof(err)) != 0)
				fail_msg("%s %s: recognize '%.*s': %s", tk_cmd_set_name(s),
				    tk_cmd_name(i), (int)n, out, err);
			assert_int_equal(r.set, s);
			if (r.id != c.id)
				fail_msg("%s %s: recognized as %s", tk_cmd_set_name(s),
				    tk_cmd_name(i), tk_cmd_name(r.id));
			long m = tk_cmd_encode(&r, s == TK_CS_TK103_ALT ? id : rid, NULL, again,
			    sizeof(again), err, sizeof(err));
			assert_int_equal(m, n);
			assert_memory_equal(again, out, (size_t)n);
			/* the simulated answer is recognised as the answer */
			long a = tk_cmd_sim_answer(&c, id, 1700000000000, ans, sizeof(ans));
			assert_true(a >= 0);
			if (s == TK_CS_XEXUN) {
				assert_int_equal(a, 0);
				continue;
			}
			assert_true(a > 0);
			if (!tk_cmd_answer_frame(&c, ans, (size_t)a))
				fail_msg("%s %s: answer '%.*s' not matched", tk_cmd_set_name(s),
				    tk_cmd_name(i), (int)a, ans);
			assert_true(tk_cmd_has_answer(s, i));
		}
		assert_true(nsup >= 2);
	}
	assert_true(total > 60);
}

static long
enc(enum tk_cmd_set s, const char *line, unsigned flags, char *out, size_t cap, char *err)
{
	char buf[1200], *argv[20];
	int argc = 0;
	strlcpy(buf, line, sizeof(buf));
	for (char *t = strtok(buf, " "); t && argc < 19; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	struct tk_cmd c;
	if (tk_cmd_parse(s, argc, argv, flags, &c, err, 256) != 0)
		return -1;
	long n = tk_cmd_encode(&c, s == TK_CS_GPS103 ? "359586015829802" : "027044702512",
	    NULL, (uint8_t *)out, cap - 1, err, 256);
	if (n >= 0)
		out[n] = '\0';
	return n;
}

static void
test_encodings(void **state)
{
	char out[TK_CMD_OUT_MAX], err[256];
	(void)state;
	static const struct { enum tk_cmd_set s; const char *in; unsigned fl; const char *want; }
	t[] = {
		{TK_CS_GPS103, "track 30s", 0, "**,imei:359586015829802,C,30s"},
		{TK_CS_GPS103, "track 7200", 0, "**,imei:359586015829802,C,02h"},
		{TK_CS_GPS103, "engine-stop", TK_CMD_F_SEMICOLON, "**,imei:359586015829802,J;"},
		{TK_CS_GPS103, "overspeed 80", 0, "**,imei:359586015829802,H,080"},
		{TK_CS_GPS103, "geofence 22.5 113.9 22.6 114.0", 0,
		    "**,imei:359586015829802,O,22.5,113.9,22.6,114.0"},
		{TK_CS_GPS103, "geofence off", 0, "**,imei:359586015829802,P"},
		{TK_CS_GPS103, "timezone +8", 0, "**,imei:359586015829802,I,8"},
		{TK_CS_GPS103, "timezone -3.5", 0, "**,imei:359586015829802,I,-3.5"},
		{TK_CS_GPS103, "photo", 0, "**,imei:359586015829802,160"},
		{TK_CS_TK103, "track 1h", 0, "(027044702512AR000E100000)"},
		{TK_CS_TK103, "engine-resume", 0, "(027044702512AV011)"},
		{TK_CS_TK103, "output 1 off", 0, "(027044702512AV000)"},
		{TK_CS_XEXUN, "engine-stop", 0, "powercar123456 11"},
		{TK_CS_XEXUN, "engine-resume", 0, "powercar123456 00"},
		{TK_CS_SMS_XEXUN, "track 30s", 0, "t030s***n123456"},
		{TK_CS_SMS_XEXUN, "track 5m", 0, "t005m***n123456"},
		{TK_CS_SMS_XEXUN, "set-server 192.0.2.7 5006", 0, "adminip123456 192.0.2.7 5006"},
		{TK_CS_SMS_XEXUN, "set-apn internet user pw", 0, "apn123456 internet\nup123456 user pw"},
		{TK_CS_SMS_XEXUN, "sos-number +436763737552", 0, "admin123456 +436763737552"},
		{TK_CS_SMS_XEXUN, "geofence -34.1 18.4 -33.9 18.6", 0,
		    "stockade123456 33.9S,18.4E;34.1S,18.6E"},
		{TK_CS_SMS_XEXUN, "geofence 51.5 -0.2 51.4 0.1", 0,
		    "stockade123456 51.5N,0.2W;51.4N,0.1E"},
		{TK_CS_SMS_XEXUN, "overspeed off", 0, "nospeed123456"},
		{TK_CS_SMS_XEXUN, "timezone 1", 0, "time zone123456 1"},
		{TK_CS_SMS_XEXUN, "gprs off", 0, "nogprs123456"},
		{TK_CS_SMS_XEXUN, "begin", 0, "begin123456"},
		{TK_CS_SMS_COBAN, "track 30s", 0, "fix030s***n123456"},
		{TK_CS_SMS_COBAN, "track-stop", 0, "nofix123456"},
		{TK_CS_SMS_COBAN, "engine-stop", 0, "stop123456"},
		{TK_CS_SMS_COBAN, "gprs off", 0, "sms123456"},
		{TK_CS_SMS_COBAN, "geofence -34.1 18.4 -33.9 18.6", 0,
		    "stockade123456 -33.9,18.4;-34.1,18.6"},
		{TK_CS_TK103_ALT, "sleep deep", 0, "[begin]sms2,*sleep*2*,[end]"},
		{TK_CS_TK103_ALT, "power-off", 0, "[begin]sms2,*turnoff*,[end]"},
		{TK_CS_TK103_ALT, "status", 0, "[begin]sms2,*status*,[end]"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (enc(t[i].s, t[i].in, t[i].fl, out, sizeof(out), err) < 0)
			fail_msg("%s '%s': %s", tk_cmd_set_name(t[i].s), t[i].in, err);
		if (strcmp(out, t[i].want) != 0)
			fail_msg("%s '%s': got '%s' want '%s'", tk_cmd_set_name(t[i].s), t[i].in,
			    out, t[i].want);
	}
	/* the password: -P */
	struct tk_cmd c;
	char *argv[] = {S("engine-stop"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_XEXUN, 1, argv, 0, &c, err, sizeof(err)), 0);
	assert_int_equal(tk_cmd_encode(&c, NULL, "654321", (uint8_t *)out, sizeof(out), err,
	    sizeof(err)), 17);
	assert_memory_equal(out, "powercar654321 11", 17);
	assert_int_equal(tk_cmd_encode(&c, NULL, "12345", (uint8_t *)out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_int_equal(tk_cmd_encode(&c, NULL, "12345a", (uint8_t *)out, sizeof(out), err,
	    sizeof(err)), -1);
	/* a too small buffer is an error, not an overflow */
	assert_int_equal(tk_cmd_encode(&c, NULL, NULL, (uint8_t *)out, 5, err, sizeof(err)), -1);
}

static void
test_rejections(void **state)
{
	char out[TK_CMD_OUT_MAX], err[256];
	(void)state;
	static const struct { enum tk_cmd_set s; const char *in; const char *why; } t[] = {
		{TK_CS_TK103, "launch", "unknown command"},
		{TK_CS_TK103, "arm", "does not support"},
		{TK_CS_XEXUN, "locate", "engine-stop, engine-resume"},
		{TK_CS_TK103, "track", "wrong number"},
		{TK_CS_TK103, "track 0", "zero"},
		{TK_CS_TK103, "track 5x", "bad interval"},
		{TK_CS_TK103, "track -5", "bad interval"},
		{TK_CS_TK103, "track 100h", "longer than 99h"},
		{TK_CS_TK103, "track 19h", "at most 65535"},
		{TK_CS_GPS103, "track 90s", "cannot be said exactly"},
		{TK_CS_GPS103, "track 61m", "cannot be said exactly"},
		{TK_CS_TK103, "locate now", "wrong number"},
		{TK_CS_TK103, "output 2 on", "one output"},
		{TK_CS_TK103, "output 1 maybe", "on or off"},
		{TK_CS_TK103, "custom AP00)(027044702512AV010", "inject"},
		{TK_CS_TK103, "custom x(", "inject"},
		{TK_CS_TK103_ALT, "custom a,[end][begin]sms2,88888888", "inject"},
		{TK_CS_GPS103, "custom B;**,imei:1,J", "inject"},
		{TK_CS_GPS103, "custom B*", "inject"},
		{TK_CS_GPS103, "overspeed 1000", "bad speed"},
		{TK_CS_GPS103, "overspeed 0", "bad speed"},
		{TK_CS_GPS103, "overspeed off", "not supported"},
		{TK_CS_GPS103, "movement off", "not supported"},
		{TK_CS_GPS103, "geofence 91 0 1 1", "bad latitude"},
		{TK_CS_GPS103, "geofence 1 181 2 1", "bad longitude"},
		{TK_CS_GPS103, "geofence 1,2 1 2 3", "bad latitude"},
		{TK_CS_GPS103, "geofence 1 2 1 3", "empty"},
		{TK_CS_GPS103, "geofence 1 2 3", "wrong number"},
		{TK_CS_GPS103, "timezone 15", "bad offset"},
		{TK_CS_GPS103, "timezone 5.3", "bad offset"},
		{TK_CS_GPS103, "timezone ;J", "bad offset"},
		{TK_CS_TK103_ALT, "set-server example.com 5002", "numeric IPv4"},
		{TK_CS_TK103_ALT, "set-server 1.2.3.256 5002", "bad host"},
		{TK_CS_TK103_ALT, "set-server 1.2.3.4 0", "bad port"},
		{TK_CS_TK103_ALT, "set-server 1.2.3.4 65536", "bad port"},
		{TK_CS_TK103_ALT, "sos-number 12a45", "bad phone"},
		{TK_CS_TK103_ALT, "sos-number +1*2", "bad phone"},
		{TK_CS_TK103_ALT, "sleep now", "deep, saving or off"},
		{TK_CS_SMS_XEXUN, "set-server host;x 5006", "bad host"},
		{TK_CS_SMS_XEXUN, "set-apn internet user", "wrong number"},
		{TK_CS_SMS_XEXUN, "set-apn inter;net", "bad APN"},
		{TK_CS_SMS_XEXUN, "password 12345", "6 digits"},
		{TK_CS_SMS_XEXUN, "track 1001s", "cannot be said exactly"},
		{TK_CS_SMS_COBAN, "geofence off", "not supported"},
		{TK_CS_XEXUN2, "track 70000", "at most 65535"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		err[0] = '\0';
		if (enc(t[i].s, t[i].in, 0, out, sizeof(out), err) >= 0)
			fail_msg("%s '%s' accepted: '%s'", tk_cmd_set_name(t[i].s), t[i].in, out);
		if (strstr(err, t[i].why) == NULL)
			fail_msg("%s '%s': reason '%s' lacks '%s'", tk_cmd_set_name(t[i].s),
			    t[i].in, err, t[i].why);
	}
	/* --raw lets delimiters through */
	assert_true(enc(TK_CS_TK103, "custom AP00)(x", TK_CMD_F_RAW, out, sizeof(out), err) > 0);
	assert_string_equal(out, "(027044702512AP00)(x)");
	/* control bytes need --raw too */
	struct tk_cmd c;
	char *argv[] = {S("custom"), S("B\r\n"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GPS103, 2, argv, 0, &c, err, sizeof(err)), -1);
	assert_int_equal(tk_cmd_parse(TK_CS_GPS103, 2, argv, TK_CMD_F_RAW, &c, err, sizeof(err)), 0);
	/* bad device ids */
	char *lv[] = {S("locate"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_TK103, 1, lv, 0, &c, err, sizeof(err)), 0);
	assert_int_equal(tk_cmd_encode(&c, "0270)(44", NULL, (uint8_t *)out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_int_equal(tk_cmd_encode(&c, "", NULL, (uint8_t *)out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_int_equal(tk_cmd_encode(&c, "123456789012345678901", NULL, (uint8_t *)out,
	    sizeof(out), err, sizeof(err)), -1);
	char *rv[] = {S("reboot"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_XEXUN2, 1, rv, 0, &c, err, sizeof(err)), 0);
	assert_int_equal(tk_cmd_encode(&c, "12345678901234", NULL, (uint8_t *)out, sizeof(out),
	    err, sizeof(err)), -1);
	/* over-long custom text */
	static char big[TK_CMD_TEXT_MAX + 10];
	memset(big, 'a', sizeof(big) - 1);
	char *bv[] = {S("custom"), big, NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_XEXUN2, 2, bv, 0, &c, err, sizeof(err)), -1);
}

static void
test_xexun2_frames(void **state)
{
	(void)state;
	uint8_t out[TK_CMD_OUT_MAX];
	char err[256], rid[32];
	struct tk_cmd c, r;
	/* a payload carrying FA AF is escaped and comes back intact */
	char *argv[] = {S("custom"), S("\xfa\xaf\xfb\xbf"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_XEXUN2, 2, argv, TK_CMD_F_RAW, &c, err,
	    sizeof(err)), 0);
	long n = tk_cmd_encode(&c, "861881053624335", NULL, out, sizeof(out), err, sizeof(err));
	assert_int_equal(n, 20 + 4 + 2);
	for (long i = 2; i < n - 2; i++)
		assert_false(out[i] == 0xFA && out[i + 1] == 0xAF);
	assert_int_equal(tk_cmd_recognize(TK_D_XEXUN2, out, (size_t)n, &r, rid, sizeof(rid),
	    err, sizeof(err)), 0);
	assert_string_equal(rid, "861881053624335");
	assert_int_equal(r.id, TK_CMD_CUSTOM);
	assert_int_equal(r.textlen, 4);
	assert_memory_equal(r.text, "\xfa\xaf\xfb\xbf", 4);
	/* a corrupted checksum is refused */
	out[17] ^= 1;
	assert_int_equal(tk_cmd_recognize(TK_D_XEXUN2, out, (size_t)n, &r, rid, sizeof(rid),
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "checksum"));
	/* a frame whose length field disagrees with its bytes is refused */
	out[17] ^= 1;
	out[15] ^= 1;
	assert_int_equal(tk_cmd_recognize(TK_D_XEXUN2, out, (size_t)n, &r, rid, sizeof(rid),
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "length"));
	/* the checksum of "of=1" */
	assert_int_equal(tk_xexun2_checksum((const uint8_t *)"of=1", 4), 0xFEBC);
}

static void
test_answers(void **state)
{
	(void)state;
	struct tk_cmd c;
	char err[256];
	char *loc[] = {S("locate"), NULL}, *stop[] = {S("engine-stop"), NULL};
	static const char bp04[] =
	    "(027044702512BP04151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)";
	static const char br00[] =
	    "(027044702512BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)";
	assert_int_equal(tk_cmd_parse(TK_CS_TK103, 1, loc, 0, &c, err, sizeof(err)), 0);
	assert_true(tk_cmd_answer_frame(&c, (const uint8_t *)bp04, strlen(bp04)));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)br00, strlen(br00)));
	/* 11-char id */
	assert_true(tk_cmd_answer_frame(&c, (const uint8_t *)"(01602009983BP04x)", 18));
	assert_int_equal(tk_cmd_parse(TK_CS_TK103, 1, stop, 0, &c, err, sizeof(err)), 0);
	assert_true(tk_cmd_answer_frame(&c, (const uint8_t *)"(027044702512BV010)", 19));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)"(027044702512BV000)", 19));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)"(027044702512BP00HSO)", 21));
	/* record level: raw wins, else the type */
	struct tk_record r;
	tk_rec_init(&r, TK_D_TK103, TK_R_REPLY);
	r.raw = (const uint8_t *)"(027044702512BV010)";
	r.rawlen = 19;
	assert_true(tk_cmd_answer_match(&c, &r));
	r.raw = (const uint8_t *)br00;
	r.rawlen = strlen(br00);
	assert_false(tk_cmd_answer_match(&c, &r));
	r.raw = NULL;
	r.rawlen = 0;
	assert_true(tk_cmd_answer_match(&c, &r));
	r.type = TK_R_POSITION;
	assert_false(tk_cmd_answer_match(&c, &r));
	/* gps103 */
	assert_int_equal(tk_cmd_parse(TK_CS_GPS103, 1, stop, 0, &c, err, sizeof(err)), 0);
	static const char jt[] = "imei:359586015829802,jt,0809231929,,F,112909.000,A;";
	static const char tr[] = "imei:359586015829802,tracker,0809231929,,F,112909.000,A;";
	assert_true(tk_cmd_answer_frame(&c, (const uint8_t *)jt, strlen(jt)));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)tr, strlen(tr)));
	assert_int_equal(tk_cmd_parse(TK_CS_GPS103, 1, loc, 0, &c, err, sizeof(err)), 0);
	assert_true(tk_cmd_answer_frame(&c, (const uint8_t *)tr, strlen(tr)));
	/* hostile bytes: nothing is read out of bounds (ASan checks) */
	uint8_t junk[64];
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round % 64);
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)((round * 7 + (int)i * 13) & 0xFF);
		if (n > 0)
			junk[0] = (uint8_t)"(i*\xfa"[round % 4];
		for (int s = 0; s < TK_CS__COUNT; s++) {
			c.set = (enum tk_cmd_set)s;
			(void)tk_cmd_answer_frame(&c, junk, n);
		}
		struct tk_cmd rc;
		char rid[8];
		for (int d = TK_D_XEXUN; d < TK_D__COUNT; d++)
			(void)tk_cmd_recognize((enum tk_dialect)d, junk, n, &rc, rid, sizeof(rid),
			    err, sizeof(err));
	}
}

/* h02: the time field, custom words, the V4 answers */
static void
test_h02(void **state)
{
	struct tk_cmd c;
	char err[256], *argv[3], a0[16] = "custom", a1[32] = "S23,1.2.3.4,5013";
	char a2[32] = "S20,1#*HQ,1,S20", a3[16] = "engine-stop";
	uint8_t out[TK_CMD_OUT_MAX];
	(void)state;
	argv[0] = a0;
	argv[1] = a1;
	argv[2] = NULL;
	assert_int_equal(tk_cmd_parse(TK_CS_H02, 2, argv, 0, &c, err, sizeof(err)), 0);
	strcpy(c.hhmmss, "235959");
	long n = tk_cmd_encode(&c, "4210051415", NULL, out, sizeof(out), err, sizeof(err));
	assert_int_equal(n, strlen("*HQ,4210051415,S23,235959,1.2.3.4,5013#"));
	assert_memory_equal(out, "*HQ,4210051415,S23,235959,1.2.3.4,5013#", (size_t)n);
	/* the answer names the command word; another word or type is not it */
	static const char ok[] = "*HQ,4210051415,V4,S23,1.2.3.4:5013,235959,050316,A,2212.8745,"
	    "N,11346.6574,E,14.28,028,220902,FFFFFBFF#";
	assert_true(tk_cmd_answer_frame(&c, (const uint8_t *)ok, strlen(ok)));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)"*HQ,1,V4,S24,x#", 15));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)"*HQ,1,V1,S23,x#", 15));
	assert_false(tk_cmd_answer_frame(&c, (const uint8_t *)"*HQ,1,V4,S2#", 12));
	/* '#' and '*' would end the sentence and start another */
	argv[1] = a2;
	assert_int_equal(tk_cmd_parse(TK_CS_H02, 2, argv, 0, &c, err, sizeof(err)), -1);
	/* a bad fixed time is refused, the clock gives six digits */
	argv[0] = a3;
	assert_int_equal(tk_cmd_parse(TK_CS_H02, 1, argv, 0, &c, err, sizeof(err)), 0);
	strcpy(c.hhmmss, "12ab56");
	assert_int_equal(tk_cmd_encode(&c, "1", NULL, out, sizeof(out), err, sizeof(err)), -1);
	c.hhmmss[0] = '\0';
	n = tk_cmd_encode(&c, "1", NULL, out, sizeof(out), err, sizeof(err));
	assert_int_equal(n, strlen("*HQ,1,S20,000000,1,1#"));
	for (int i = 10; i < 16; i++)
		assert_true(out[i] >= '0' && out[i] <= '9');
	/* the simulator's answer is an answer, and a position */
	uint8_t a[512];
	strcpy(c.hhmmss, "010203");
	long k = tk_cmd_sim_answer(&c, "4210051415", 1500000000000, a, sizeof(a));
	assert_true(k > 0);
	assert_true(tk_cmd_answer_frame(&c, a, (size_t)k));
	assert_non_null(memmem(a, (size_t)k, ",V4,S20,DONE,010203,", 20));
}

/* hex string -> bytes (test data only) */
static size_t
unhex(const char *h, uint8_t *out, size_t cap)
{
	long k = tk_hex_decode(h, strlen(h), out, cap);
	assert_true(k > 0);
	return (size_t)k;
}

/* gt06: the 0x80 frame, the alternative set, recognition, the answers */
static void
test_gt06(void **state)
{
	struct tk_cmd c, r;
	char err[256], rid[32];
	uint8_t out[TK_CMD_OUT_MAX], want[512];
	(void)state;

	/* engine-resume: the worked example of the wire reference (not a
	 * commands.tsv row) */
	char *resume[] = {S("engine-resume"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06, 1, resume, 0, &c, err, sizeof(err)), 0);
	long n = tk_cmd_encode(&c, "123456789012345", NULL, out, sizeof(out), err, sizeof(err));
	size_t wl = unhex("787812800c0000000052656c61792c302300008155" "0d0a", want, sizeof(want));
	assert_int_equal(n, (long)wl);
	assert_memory_equal(out, want, wl);

	/* community texts, framed as Traccar frames every 0x80 command: the
	 * length counts type .. CRC, the command length 4 + the text */
	static const struct { const char *in, *text; } t[] = {
		{"locate", "WHERE#"}, {"track 5m", "TIMER,300#"}, {"arm", "DEFENSE,1#"},
		{"disarm", "DEFENSE,0#"}, {"reboot", "RESET#"}, {"status", "STATUS#"},
		{"version", "VERSION#"}, {"custom PARAM#", "PARAM#"},
		{"custom GMT,E,8#", "GMT,E,8#"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[64], *argv[4];
		int argc = 0;
		strlcpy(buf, t[i].in, sizeof(buf));
		for (char *w = strtok(buf, " "); w != NULL; w = strtok(NULL, " "))
			argv[argc++] = w;
		argv[argc] = NULL;
		assert_int_equal(tk_cmd_parse(TK_CS_GT06, argc, argv, 0, &c, err, sizeof(err)), 0);
		n = tk_cmd_encode(&c, NULL, NULL, out, sizeof(out), err, sizeof(err));
		size_t tl = strlen(t[i].text);
		assert_int_equal(n, (long)(tl + 15));
		assert_int_equal(out[0], 0x78);
		assert_int_equal(out[1], 0x78);
		assert_int_equal(out[2], tl + 10);
		assert_int_equal(out[3], 0x80);
		assert_int_equal(out[4], tl + 4);
		assert_memory_equal(out + 5, "\0\0\0\0", 4);
		assert_memory_equal(out + 9, t[i].text, tl);
		assert_int_equal(out[9 + tl], 0);
		assert_int_equal(out[10 + tl], 0);
		assert_int_equal(tk_gt06_crc(out + 2, (size_t)n - 6),
		    out[11 + tl] << 8 | out[12 + tl]);
		assert_memory_equal(out + n - 2, "\r\n", 2);
	}

	/* the alternative set (Traccar's gt06.alternative): DYD/HFYD with
	 * the password, recognised back into that set */
	char *stop[] = {S("engine-stop"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06_ALT, 1, stop, 0, &c, err, sizeof(err)), 0);
	n = tk_cmd_encode(&c, NULL, "000000", out, sizeof(out), err, sizeof(err));
	assert_int_equal(n, 11 + 15);
	assert_memory_equal(out + 9, "DYD,000000#", 11);
	assert_int_equal(tk_cmd_recognize(TK_D_GT06, out, (size_t)n, &r, rid, sizeof(rid), err,
	    sizeof(err)), 0);
	assert_int_equal(r.set, TK_CS_GT06_ALT);
	assert_int_equal(r.id, TK_CMD_ENGINE_STOP);
	assert_int_equal(tk_cmd_parse(TK_CS_GT06_ALT, 1, resume, 0, &c, err, sizeof(err)), 0);
	n = tk_cmd_encode(&c, NULL, NULL, out, sizeof(out), err, sizeof(err));
	assert_memory_equal(out + 9, "HFYD,123456#", 12);
	char *loc[] = {S("locate"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06_ALT, 1, loc, 0, &c, err, sizeof(err)), -1);

	/* recognition: a language word before the serial is the same
	 * command; a bad CRC, a lying length or a short frame is not one */
	uint8_t f[64];
	size_t fl = unhex("78781480" "0c" "00000000" "52656c61792c3123" "0002" "0000" "0000" "0d0a",
	    f, sizeof(f));
	uint16_t crc = tk_gt06_crc(f + 2, fl - 6);
	f[fl - 4] = (uint8_t)(crc >> 8);
	f[fl - 3] = (uint8_t)crc;
	assert_int_equal(tk_cmd_recognize(TK_D_GT06, f, fl, &r, rid, sizeof(rid), err,
	    sizeof(err)), 0);
	assert_int_equal(r.id, TK_CMD_ENGINE_STOP);
	assert_int_equal(r.set, TK_CS_GT06);
	f[fl - 3] ^= 1;
	assert_int_equal(tk_cmd_recognize(TK_D_GT06, f, fl, &r, rid, sizeof(rid), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "CRC"));
	f[fl - 3] ^= 1;
	for (uint8_t cl = 0; cl < 0x30; cl++) {
		if (cl == 0x0c)
			continue;
		f[4] = cl;	/* a text length the frame does not hold */
		crc = tk_gt06_crc(f + 2, fl - 6);
		f[fl - 4] = (uint8_t)(crc >> 8);
		f[fl - 3] = (uint8_t)crc;
		if (tk_cmd_recognize(TK_D_GT06, f, fl, &r, rid, sizeof(rid), err,
		    sizeof(err)) == 0)
			fail_msg("command length %u recognised as %s", cl, tk_cmd_name(r.id));
	}
	assert_int_equal(tk_cmd_recognize(TK_D_GT06, f, 12, &r, rid, sizeof(rid), err,
	    sizeof(err)), -1);
	/* an unknown text is custom, kept byte for byte */
	char *cu[] = {S("custom"), S("SERVER,1,example.org,5023,0#"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06, 2, cu, 0, &c, err, sizeof(err)), 0);
	n = tk_cmd_encode(&c, NULL, NULL, out, sizeof(out), err, sizeof(err));
	assert_int_equal(tk_cmd_recognize(TK_D_GT06, out, (size_t)n, &r, rid, sizeof(rid), err,
	    sizeof(err)), 0);
	assert_int_equal(r.id, TK_CMD_CUSTOM);
	assert_int_equal(r.textlen, strlen(cu[1]));
	assert_memory_equal(r.text, cu[1], r.textlen);

	/* the text fits a short frame: 240 bytes yes, 241 no */
	static char big[300];
	memset(big, 'A', 241);
	char *cb[] = {S("custom"), big, NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06, 2, cb, 0, &c, err, sizeof(err)), -1);
	big[240] = '\0';
	assert_int_equal(tk_cmd_parse(TK_CS_GT06, 2, cb, 0, &c, err, sizeof(err)), 0);
	n = tk_cmd_encode(&c, NULL, NULL, out, sizeof(out), err, sizeof(err));
	assert_int_equal(n, 240 + 15);
	assert_int_equal(out[2], 250);
	/* a TIMER the device cannot take */
	char *tr[] = {S("track"), S("20h"), NULL};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06, 2, tr, 0, &c, err, sizeof(err)), -1);

	/* answers: the vectors' 0x15 and 0x21 text frames are answers,
	 * a position, a login or a heartbeat is not */
	static const char *const yes[] = {
		"78782d152500000000437574206f666620746865206675656c20737570706c793a2053756363657373210002013b898a0d0a",
		"7979007121000000000143757272656e7420706f736974696f6e214c61743a4e35342e3733393333322c4c6f6e3a4532352e3237333237302c436f757273653a3132362e35332c53706565643a302e303030302c4461746554696d653a323031372d30352d3236202031303a32373a3437000bbee30d0a",
	};
	static const char *const no[] = {
		"78780D01012345678901234500018CDD0D0A",
		"78782912170316053b3bcf015b51220af1201105d56100000000000000000000869c0130010000000238d1af0d0a",
		"78780a13460b120400160642c20d0a",
	};
	assert_int_equal(tk_cmd_parse(TK_CS_GT06, 1, stop, 0, &c, err, sizeof(err)), 0);
	for (size_t i = 0; i < 2; i++) {
		fl = unhex(yes[i], want, sizeof(want));
		assert_true(tk_cmd_answer_frame(&c, want, fl));
	}
	for (size_t i = 0; i < 3; i++) {
		fl = unhex(no[i], want, sizeof(want));
		assert_false(tk_cmd_answer_frame(&c, want, fl));
	}
	/* the simulated answer: a 0x15 frame with a valid CRC, the server
	 * flag echoed and the device's text */
	long k = tk_cmd_sim_answer(&c, "123456789012345", 1700000000000, want, sizeof(want));
	assert_true(k > 20);
	assert_int_equal(want[3], 0x15);
	assert_int_equal(want[2] + 5, k);
	assert_int_equal(tk_gt06_crc(want + 2, (size_t)k - 6), want[k - 4] << 8 | want[k - 3]);
	assert_int_equal(want[4], 4 + strlen("Cut off the fuel supply: Success!"));
	assert_memory_equal(want + 9, "Cut off the fuel supply: Success!", want[4] - 4);
}

static void
test_names(void **state)
{
	(void)state;
	enum tk_cmd_set s;
	enum tk_cmd_id id;
	char buf[512];
	for (int i = 0; i < TK_CS__COUNT; i++) {
		assert_int_equal(tk_cmd_set_parse(tk_cmd_set_name(i), &s), 0);
		assert_int_equal(s, i);
	}
	for (int i = 0; i < TK_CMD__COUNT; i++) {
		assert_int_equal(tk_cmd_lookup(tk_cmd_name(i), &id), 0);
		assert_int_equal(id, i);
		assert_string_not_equal(tk_cmd_summary(i), "?");
	}
	assert_int_equal(tk_cmd_set_parse("gt06", &s), 0);
	assert_int_equal(s, TK_CS_GT06);
	assert_int_equal(tk_cmd_set_parse("gt07", &s), -1);
	assert_int_equal(tk_cmd_set_for(TK_D_XEXUN, false, true, &s), 0);
	assert_int_equal(s, TK_CS_SMS_XEXUN);
	assert_int_equal(tk_cmd_set_for(TK_D_XEXUN2, false, true, &s), -1);
	assert_int_equal(tk_cmd_set_for(TK_D_GT06, false, false, &s), 0);
	assert_int_equal(s, TK_CS_GT06);
	assert_int_equal(tk_cmd_set_for(TK_D_GT06, true, false, &s), 0);
	assert_int_equal(s, TK_CS_GT06_ALT);
	assert_int_equal(tk_cmd_set_dialect(TK_CS_GT06_ALT), TK_D_GT06);
	assert_int_equal(tk_cmd_set_for(TK_D_GT06, false, true, &s), -1);
	tk_cmd_supported(TK_CS_XEXUN, buf, sizeof(buf));
	assert_string_equal(buf, "engine-stop, engine-resume");
	tk_cmd_supported(TK_CS_TK103, buf, 10);
	assert_true(strlen(buf) < 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_catalogue),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_xexun2_frames),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_h02),
		cmocka_unit_test(test_gt06),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
