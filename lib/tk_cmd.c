/*
 * tk_cmd.c: the command catalogue, parameter validation, the encoders
 * (GPRS per dialect, SMS sets), xexun2 framing, answer matching and the
 * reverse mapping of device-bound bytes.  See tk_cmd.h and tk-cmd(1).
 *
 * Sources: the bytes of the Traccar command encoders (tests/data/vectors/
 * commands.tsv is the reference); the gps103 letter table and the SMS sets
 * are community material (docs/protocol/gps103.md, Commands; the SMS sets in tk-cmd(1)), and so are the
 * tk103 answer codes (the A.. -> B.. pairs of the TK103 code table).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_cmd.h"
#include "tk_loop.h"
#include "tk_util.h"
#include "tk_gt06.h"
#include "tk_xexun2.h"

#define DEFAULT_PW	"123456"
/* gt06 0x80 text: a short frame's length byte counts text + 10 (<= 255),
 * so 245 would fit; 240 leaves room for the optional language word */
#define GT06_TEXT_MAX	240

static const char *const set_names[TK_CS__COUNT] = {
	[TK_CS_TK103] = "tk103",
	[TK_CS_TK103_ALT] = "tk103-alt",
	[TK_CS_GPS103] = "gps103",
	[TK_CS_XEXUN] = "xexun",
	[TK_CS_XEXUN2] = "xexun2",
	[TK_CS_SMS_XEXUN] = "xexun-sms",
	[TK_CS_SMS_COBAN] = "coban-sms",
	[TK_CS_H02] = "h02",
	[TK_CS_GT06] = "gt06",
	[TK_CS_GT06_ALT] = "gt06-alt",
};

static const char *const cmd_names[TK_CMD__COUNT] = {
	[TK_CMD_LOCATE] = "locate", [TK_CMD_TRACK] = "track",
	[TK_CMD_TRACK_STOP] = "track-stop", [TK_CMD_ENGINE_STOP] = "engine-stop",
	[TK_CMD_ENGINE_RESUME] = "engine-resume", [TK_CMD_ARM] = "arm",
	[TK_CMD_DISARM] = "disarm", [TK_CMD_REBOOT] = "reboot",
	[TK_CMD_POWER_OFF] = "power-off", [TK_CMD_OUTPUT] = "output",
	[TK_CMD_SET_SERVER] = "set-server", [TK_CMD_SET_APN] = "set-apn",
	[TK_CMD_SOS_NUMBER] = "sos-number", [TK_CMD_SOS] = "sos",
	[TK_CMD_OVERSPEED] = "overspeed", [TK_CMD_MOVEMENT] = "movement",
	[TK_CMD_SHOCK] = "shock", [TK_CMD_GEOFENCE] = "geofence",
	[TK_CMD_TIMEZONE] = "timezone", [TK_CMD_PHOTO] = "photo",
	[TK_CMD_VERSION] = "version", [TK_CMD_STATUS] = "status",
	[TK_CMD_IDENTIFY] = "identify", [TK_CMD_SLEEP] = "sleep",
	[TK_CMD_ODOMETER] = "odometer", [TK_CMD_GPRS] = "gprs",
	[TK_CMD_BEGIN] = "begin", [TK_CMD_PASSWORD] = "password",
	[TK_CMD_FACTORY_RESET] = "factory-reset", [TK_CMD_CUSTOM] = "custom",
};

static const char *const cmd_summary[TK_CMD__COUNT] = {
	[TK_CMD_LOCATE] = "report the position once, now",
	[TK_CMD_TRACK] = "report periodically every INTERVAL (30s, 5m, 1h or seconds)",
	[TK_CMD_TRACK_STOP] = "stop periodic reports",
	[TK_CMD_ENGINE_STOP] = "cut the engine (fuel/ignition relay)",
	[TK_CMD_ENGINE_RESUME] = "restore the engine",
	[TK_CMD_ARM] = "arm the alarm",
	[TK_CMD_DISARM] = "disarm the alarm",
	[TK_CMD_REBOOT] = "restart the device",
	[TK_CMD_POWER_OFF] = "switch the device off",
	[TK_CMD_OUTPUT] = "set output N on or off",
	[TK_CMD_SET_SERVER] = "point the device at a server (HOST PORT)",
	[TK_CMD_SET_APN] = "set the GPRS access point (APN [USER PASS])",
	[TK_CMD_SOS_NUMBER] = "set the SOS / admin phone number",
	[TK_CMD_SOS] = "SOS alarm on or off",
	[TK_CMD_OVERSPEED] = "overspeed alarm at KMH (or off)",
	[TK_CMD_MOVEMENT] = "movement alarm on or off",
	[TK_CMD_SHOCK] = "shock (vibration) alarm on or off",
	[TK_CMD_GEOFENCE] = "rectangle alarm LAT1 LON1 LAT2 LON2 (decimal degrees), or off",
	[TK_CMD_TIMEZONE] = "time zone OFFSET in hours (-12..14, .5 and .75 allowed)",
	[TK_CMD_PHOTO] = "take a photo",
	[TK_CMD_VERSION] = "report the firmware version",
	[TK_CMD_STATUS] = "report the device status",
	[TK_CMD_IDENTIFY] = "report the device identification",
	[TK_CMD_SLEEP] = "sleep mode deep, saving or off",
	[TK_CMD_ODOMETER] = "Traccar's setOdometer (AX01)",
	[TK_CMD_GPRS] = "report over GPRS (on) or by SMS (off)",
	[TK_CMD_BEGIN] = "initialise (reset the settings to defaults)",
	[TK_CMD_PASSWORD] = "change the device password to NEW (6 digits)",
	[TK_CMD_FACTORY_RESET] = "factory reset",
	[TK_CMD_CUSTOM] = "send TEXT as it is",
};

#define T "Traccar"
#define C "community"
#define TC "Traccar bytes, community meaning"

/* The catalogue: how each set supports each command (NULL usage: not). */
static const struct tk_cmd_info cat[TK_CS__COUNT][TK_CMD__COUNT] = {
	[TK_CS_TK103] = {
		[TK_CMD_LOCATE] = {"locate", "(<id>AP00)", "(<id>BP04<position>)", T},
		[TK_CMD_TRACK] = {"track INTERVAL", "(<id>AR00<%04X seconds>0000)",
		    "(<id>BS08...)", T},
		[TK_CMD_TRACK_STOP] = {"track-stop", "(<id>AR0000000000)", "(<id>BS08...)", T},
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "(<id>AV010)", "(<id>BV01...)", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "(<id>AV011)", "(<id>BV01...)", T},
		[TK_CMD_OUTPUT] = {"output 1 on|off", "(<id>AV001) / (<id>AV000)",
		    "(<id>BV00...)", T},
		[TK_CMD_REBOOT] = {"reboot", "(<id>AT00)", "(<id>BT00...)", T},
		[TK_CMD_VERSION] = {"version", "(<id>AP07)", "(<id>BP07...)", TC},
		[TK_CMD_ODOMETER] = {"odometer", "(<id>AX01)", "(<id>BX01...)", TC},
		[TK_CMD_CUSTOM] = {"custom TEXT", "(<id>TEXT)",
		    "for TEXT = A<x><nn>...: (<id>B<x><nn>...); otherwise any non-routine frame", T},
	},
	[TK_CS_TK103_ALT] = {
		[TK_CMD_LOCATE] = {"locate", "[begin]sms2,*getposl*,[end]",
		    "a comma-form ZC03 result or a position", T},
		[TK_CMD_TRACK] = {"track", "[begin]sms2,*routetrack*99*,[end]",
		    "(<id>,ZC03,...)", T},
		[TK_CMD_TRACK_STOP] = {"track-stop", "[begin]sms2,*routetrackoff*,[end]",
		    "(<id>,ZC03,...)", T},
		[TK_CMD_VERSION] = {"version", "[begin]sms2,*about*,[end]", "(<id>,ZC03,...)", T},
		[TK_CMD_POWER_OFF] = {"power-off", "[begin]sms2,*turnoff*,[end]",
		    "(<id>,ZC03,...)", T},
		[TK_CMD_REBOOT] = {"reboot", "[begin]sms2,88888888,[end]", "(<id>,ZC03,...)", T},
		[TK_CMD_STATUS] = {"status", "[begin]sms2,*status*,[end]", "(<id>,ZC03,...)", T},
		[TK_CMD_IDENTIFY] = {"identify", "[begin]sms2,999999,[end]", "(<id>,ZC03,...)", T},
		[TK_CMD_SLEEP] = {"sleep deep|saving|off",
		    "*sleep*2* / *sleepv* / *sleepoff*", "(<id>,ZC03,...)", T},
		[TK_CMD_SOS] = {"sos on|off", "*soson* / *sosoff*", "(<id>,ZC03,...)", T},
		[TK_CMD_SET_SERVER] = {"set-server IPV4 PORT", "*setip*A*B*C*D*PORT*",
		    "(<id>,ZC03,...)", T},
		[TK_CMD_SOS_NUMBER] = {"sos-number PHONE", "*master*<password>*PHONE*",
		    "(<id>,ZC03,...)", T},
		[TK_CMD_CUSTOM] = {"custom TEXT", "[begin]sms2,TEXT,[end]", "(<id>,ZC03,...)", T},
	},
	[TK_CS_GPS103] = {
		[TK_CMD_LOCATE] = {"locate", "**,imei:<IMEI>,B", "the next position sentence", T},
		[TK_CMD_TRACK] = {"track INTERVAL", "**,imei:<IMEI>,C,<NN><s|m|h>",
		    "imei:<IMEI>,ct,...", T},
		[TK_CMD_TRACK_STOP] = {"track-stop", "**,imei:<IMEI>,D", "imei:<IMEI>,dt,...", T},
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "**,imei:<IMEI>,J", "imei:<IMEI>,jt,...", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "**,imei:<IMEI>,K",
		    "imei:<IMEI>,kt,...", T},
		[TK_CMD_ARM] = {"arm", "**,imei:<IMEI>,L", "imei:<IMEI>,lt,...", T},
		[TK_CMD_DISARM] = {"disarm", "**,imei:<IMEI>,M", "imei:<IMEI>,mt,...", T},
		[TK_CMD_PHOTO] = {"photo", "**,imei:<IMEI>,160", "imei:<IMEI>,vtNN,...", T},
		[TK_CMD_OVERSPEED] = {"overspeed KMH", "**,imei:<IMEI>,H,<KMH 3 digits>",
		    "imei:<IMEI>,ht,...", C},
		[TK_CMD_MOVEMENT] = {"movement on", "**,imei:<IMEI>,G", "imei:<IMEI>,gt,...", C},
		[TK_CMD_GEOFENCE] = {"geofence LAT1 LON1 LAT2 LON2|off",
		    "**,imei:<IMEI>,O,LAT1,LON1,LAT2,LON2 / **,imei:<IMEI>,P",
		    "imei:<IMEI>,ot,... / pt", C},
		[TK_CMD_TIMEZONE] = {"timezone OFFSET", "**,imei:<IMEI>,I,OFFSET",
		    "imei:<IMEI>,it,...", C},
		[TK_CMD_CUSTOM] = {"custom TEXT", "**,imei:<IMEI>,TEXT",
		    "for a letter X: imei:<IMEI>,xt,...; otherwise any non-tracker sentence", T},
	},
	[TK_CS_XEXUN] = {
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "powercar<password> 11",
		    "the next report (no acknowledgement is known)", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "powercar<password> 00",
		    "the next report (no acknowledgement is known)", T},
	},
	[TK_CS_XEXUN2] = {
		[TK_CMD_REBOOT] = {"reboot", "frame type 0x0007, text reset",
		    "a type 0x0007 frame", T},
		[TK_CMD_POWER_OFF] = {"power-off", "frame type 0x0007, text of=1",
		    "a type 0x0007 frame", T},
		[TK_CMD_TRACK] = {"track INTERVAL",
		    "frame type 0x0007, text tracking_send=<s>,<s>", "a type 0x0007 frame", T},
		[TK_CMD_CUSTOM] = {"custom TEXT", "frame type 0x0007, text TEXT",
		    "a type 0x0007 frame", T},
	},
	[TK_CS_SMS_XEXUN] = {
		[TK_CMD_BEGIN] = {"begin", "begin<pw>", "SMS \"begin ok\"", C},
		[TK_CMD_PASSWORD] = {"password NEW", "password<pw> NEW", "SMS", C},
		[TK_CMD_SOS_NUMBER] = {"sos-number PHONE", "admin<pw> PHONE", "SMS", C},
		[TK_CMD_TRACK] = {"track INTERVAL", "t<NNN><s|m|h>***n<pw>", "SMS", C},
		[TK_CMD_TRACK_STOP] = {"track-stop", "notn<pw>", "SMS", C},
		[TK_CMD_SET_APN] = {"set-apn APN [USER PASS]", "apn<pw> APN (+ up<pw> USER PASS)",
		    "SMS", C},
		[TK_CMD_SET_SERVER] = {"set-server HOST PORT", "adminip<pw> HOST PORT", "SMS", C},
		[TK_CMD_GPRS] = {"gprs on|off", "gprs<pw> / nogprs<pw>", "SMS", C},
		[TK_CMD_OVERSPEED] = {"overspeed KMH|off", "speed<pw> <KMH 3 digits> / nospeed<pw>",
		    "SMS", C},
		[TK_CMD_MOVEMENT] = {"movement on|off", "move<pw> / nomove<pw>", "SMS", C},
		[TK_CMD_SHOCK] = {"shock on|off", "shock<pw> / noshock<pw>", "SMS", C},
		[TK_CMD_GEOFENCE] = {"geofence LAT1 LON1 LAT2 LON2|off",
		    "stockade<pw> <lat>N,<lon>E;<lat>S,<lon>W (top left; bottom right) / nostockade<pw>",
		    "SMS", C},
		[TK_CMD_TIMEZONE] = {"timezone OFFSET", "time zone<pw> OFFSET", "SMS", C},
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "powercar<pw> 11", "SMS", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "powercar<pw> 00", "SMS", T},
		[TK_CMD_FACTORY_RESET] = {"factory-reset", "format", "SMS", C},
		[TK_CMD_CUSTOM] = {"custom TEXT", "TEXT", "SMS", C},
	},
	/* docs/protocol/h02.md section 5 */
	[TK_CS_H02] = {
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "*HQ,<id>,S20,<HHMMSS>,1,1#",
		    "*HQ,<id>,V4,S20,...#", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "*HQ,<id>,S20,<HHMMSS>,1,0#",
		    "*HQ,<id>,V4,S20,...#", T},
		[TK_CMD_ARM] = {"arm", "*HQ,<id>,SCF,<HHMMSS>,0,0#", "*HQ,<id>,V4,SCF,...#", T},
		[TK_CMD_DISARM] = {"disarm", "*HQ,<id>,SCF,<HHMMSS>,1,1#", "*HQ,<id>,V4,SCF,...#",
		    T},
		[TK_CMD_TRACK] = {"track INTERVAL", "*HQ,<id>,S71,<HHMMSS>,22,<seconds>#",
		    "*HQ,<id>,V4,S71,...#", T},
		[TK_CMD_CUSTOM] = {"custom CMD[,PARAM...]", "*HQ,<id>,CMD,<HHMMSS>[,PARAM...]#",
		    "*HQ,<id>,V4,CMD,...#", C},
	},
	[TK_CS_SMS_COBAN] = {
		[TK_CMD_BEGIN] = {"begin", "begin<pw>", "SMS \"begin ok\"", C},
		[TK_CMD_SOS_NUMBER] = {"sos-number PHONE", "admin<pw> PHONE", "SMS", C},
		[TK_CMD_SET_APN] = {"set-apn APN [USER PASS]", "apn<pw> APN (+ up<pw> USER PASS)",
		    "SMS", C},
		[TK_CMD_SET_SERVER] = {"set-server HOST PORT", "adminip<pw> HOST PORT", "SMS", C},
		[TK_CMD_GPRS] = {"gprs on|off", "gprs<pw> / sms<pw>", "SMS", C},
		[TK_CMD_TRACK] = {"track INTERVAL", "fix<NNN><s|m|h>***n<pw>", "SMS", C},
		[TK_CMD_TRACK_STOP] = {"track-stop", "nofix<pw>", "SMS", C},
		[TK_CMD_TIMEZONE] = {"timezone OFFSET", "time zone<pw> OFFSET", "SMS", C},
		[TK_CMD_OVERSPEED] = {"overspeed KMH", "speed<pw> <KMH 3 digits>", "SMS", C},
		[TK_CMD_MOVEMENT] = {"movement on", "move<pw>", "SMS", C},
		[TK_CMD_GEOFENCE] = {"geofence LAT1 LON1 LAT2 LON2",
		    "stockade<pw> <lat>,<lon>;<lat>,<lon> (top left; bottom right)", "SMS", C},
		[TK_CMD_ARM] = {"arm", "arm<pw>", "SMS", C},
		[TK_CMD_DISARM] = {"disarm", "disarm<pw>", "SMS", C},
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "stop<pw>", "SMS", C},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "resume<pw>", "SMS", C},
		[TK_CMD_STATUS] = {"status", "check<pw>", "SMS", C},
		[TK_CMD_REBOOT] = {"reboot", "reset<pw>", "SMS", C},
		[TK_CMD_CUSTOM] = {"custom TEXT", "TEXT", "SMS", C},
	},
	/* docs/protocol/gt06.md, "Commands": the 0x80 frame carries the text */
	[TK_CS_GT06] = {
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "0x80 text Relay,1#",
		    "a 0x15/0x21 text frame", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "0x80 text Relay,0#",
		    "a 0x15/0x21 text frame", T},
		[TK_CMD_LOCATE] = {"locate", "0x80 text WHERE#", "a 0x15/0x21 text frame", C},
		[TK_CMD_TRACK] = {"track INTERVAL", "0x80 text TIMER,<seconds>#",
		    "a 0x15/0x21 text frame", C},
		[TK_CMD_ARM] = {"arm", "0x80 text DEFENSE,1#", "a 0x15/0x21 text frame", C},
		[TK_CMD_DISARM] = {"disarm", "0x80 text DEFENSE,0#", "a 0x15/0x21 text frame", C},
		[TK_CMD_REBOOT] = {"reboot", "0x80 text RESET#", "a 0x15/0x21 text frame", C},
		[TK_CMD_STATUS] = {"status", "0x80 text STATUS#", "a 0x15/0x21 text frame", C},
		[TK_CMD_VERSION] = {"version", "0x80 text VERSION#", "a 0x15/0x21 text frame", C},
		[TK_CMD_CUSTOM] = {"custom TEXT", "0x80 text TEXT", "a 0x15/0x21 text frame", T},
	},
	/* older GT06N firmware: the oil/electricity cut with the password */
	[TK_CS_GT06_ALT] = {
		[TK_CMD_ENGINE_STOP] = {"engine-stop", "0x80 text DYD,<password>#",
		    "a 0x15/0x21 text frame", T},
		[TK_CMD_ENGINE_RESUME] = {"engine-resume", "0x80 text HFYD,<password>#",
		    "a 0x15/0x21 text frame", T},
	},
};

#undef T
#undef C
#undef TC

/* ---- names --------------------------------------------------------- */

const char *
tk_cmd_set_name(enum tk_cmd_set s)
{
	return (unsigned)s < TK_CS__COUNT ? set_names[s] : "?";
}

int
tk_cmd_set_parse(const char *name, enum tk_cmd_set *s)
{
	for (unsigned i = 0; i < TK_CS__COUNT; i++)
		if (strcmp(name, set_names[i]) == 0) {
			*s = (enum tk_cmd_set)i;
			return 0;
		}
	return -1;
}

enum tk_dialect
tk_cmd_set_dialect(enum tk_cmd_set s)
{
	switch (s) {
	case TK_CS_TK103:
	case TK_CS_TK103_ALT:
		return TK_D_TK103;
	case TK_CS_GPS103:
	case TK_CS_SMS_COBAN:
		return TK_D_GPS103;
	case TK_CS_XEXUN:
	case TK_CS_SMS_XEXUN:
		return TK_D_XEXUN;
	case TK_CS_XEXUN2:
		return TK_D_XEXUN2;
	case TK_CS_H02:
		return TK_D_H02;
	case TK_CS_GT06:
	case TK_CS_GT06_ALT:
		return TK_D_GT06;
	default:
		return TK_D_UNKNOWN;
	}
}

bool
tk_cmd_set_is_sms(enum tk_cmd_set s)
{
	return s == TK_CS_SMS_XEXUN || s == TK_CS_SMS_COBAN;
}

int
tk_cmd_set_for(enum tk_dialect d, bool alt, bool sms, enum tk_cmd_set *s)
{
	if (alt && sms)
		return -1;
	switch (d) {
	case TK_D_TK103:
		if (sms)
			return -1;
		*s = alt ? TK_CS_TK103_ALT : TK_CS_TK103;
		return 0;
	case TK_D_GPS103:
		if (alt)
			return -1;
		*s = sms ? TK_CS_SMS_COBAN : TK_CS_GPS103;
		return 0;
	case TK_D_XEXUN:
		if (alt)
			return -1;
		*s = sms ? TK_CS_SMS_XEXUN : TK_CS_XEXUN;
		return 0;
	case TK_D_XEXUN2:
		if (alt || sms)
			return -1;
		*s = TK_CS_XEXUN2;
		return 0;
	case TK_D_H02:
		if (alt || sms)
			return -1;
		*s = TK_CS_H02;
		return 0;
	case TK_D_GT06:
		if (sms)
			return -1;
		*s = alt ? TK_CS_GT06_ALT : TK_CS_GT06;
		return 0;
	default:
		return -1;
	}
}

const char *
tk_cmd_name(enum tk_cmd_id c)
{
	return (unsigned)c < TK_CMD__COUNT ? cmd_names[c] : "?";
}

const char *
tk_cmd_summary(enum tk_cmd_id c)
{
	return (unsigned)c < TK_CMD__COUNT ? cmd_summary[c] : "?";
}

int
tk_cmd_lookup(const char *name, enum tk_cmd_id *c)
{
	for (unsigned i = 0; i < TK_CMD__COUNT; i++)
		if (strcmp(name, cmd_names[i]) == 0) {
			*c = (enum tk_cmd_id)i;
			return 0;
		}
	return -1;
}

int
tk_cmd_info(enum tk_cmd_set s, enum tk_cmd_id c, struct tk_cmd_info *info)
{
	if ((unsigned)s >= TK_CS__COUNT || (unsigned)c >= TK_CMD__COUNT ||
	    cat[s][c].usage == NULL)
		return -1;
	*info = cat[s][c];
	return 0;
}

size_t
tk_cmd_supported(enum tk_cmd_set s, char *out, size_t cap)
{
	size_t len = 0;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if ((unsigned)s >= TK_CS__COUNT)
		return 0;
	for (unsigned i = 0; i < TK_CMD__COUNT; i++) {
		if (cat[s][i].usage == NULL)
			continue;
		int k = snprintf(out + len, cap - len, "%s%s", len ? ", " : "", cmd_names[i]);
		if (k < 0 || (size_t)k >= cap - len) {
			out[len] = '\0';
			break;
		}
		len += (size_t)k;
	}
	return len;
}

/* ---- errors and small helpers ---------------------------------------- */

static bool
all_of(const char *s, size_t min, size_t max, const char *extra, bool alnum, bool digit)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool ok = (ch >= '0' && ch <= '9') ||
		    (alnum && !digit && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) ||
		    (extra != NULL && ch != '\0' && strchr(extra, ch) != NULL);
		if (!ok)
			return false;
	}
	return true;
}

static bool
is_digits(const char *s, size_t min, size_t max)
{
	return all_of(s, min, max, NULL, false, true);
}

static int
parse_switch(const char *a, int *sw, const char *cmd, char *err, size_t errlen)
{
	if (strcmp(a, "on") == 0)
		*sw = 1;
	else if (strcmp(a, "off") == 0)
		*sw = 0;
	else
		return tk_errf(err, errlen, "%s: expected on or off, not '%s'", cmd, a);
	return 0;
}

/* INTERVAL: the tools' one duration syntax (tk_parse_duration); 1 s .. 99 h. */
static int
parse_interval(const char *a, long *secs, char *err, size_t errlen)
{
	uint64_t v;

	if (tk_parse_duration(a, strlen(a), UINT64_MAX, &v) != 0)
		return tk_errf(err, errlen, "track: bad interval '%s' (use 30s, 5m, 1h or seconds)", a);
	if (v == 0)
		return tk_errf(err, errlen, "track: interval '%s' is zero (use track-stop)", a);
	if (v > 99u * 3600)
		return tk_errf(err, errlen, "track: interval '%s' is longer than 99h", a);
	*secs = (long)v;
	return 0;
}

/* Decimal degrees: [-+]digits[.digits], at most 8 decimals, within max. */
static int
parse_coord(const char *a, double max, double *v, char *canon, size_t cap)
{
	const char *p = a;
	size_t n, dot = 0, ndot = 0;

	if (*p == '+' || *p == '-')
		p++;
	n = strlen(p);
	if (n == 0 || n > 14)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			ndot++;
			dot = i;
		} else if (p[i] < '0' || p[i] > '9')
			return -1;
	}
	if (ndot > 1 || (ndot == 1 && (dot == 0 || dot == n - 1 || n - dot - 1 > 8)) ||
	    (ndot == 0 && n > 3) || (ndot == 1 && dot > 3))
		return -1;
	if (tk_parse_dec(a, strlen(a), v) != 0 || *v > max || *v < -max)
		return -1;
	snprintf(canon, cap, "%s%s", *a == '-' ? "-" : "", p);
	return 0;
}

static bool
is_ipv4(const char *s)
{
	struct tk_span f[5];
	size_t nf = tk_split(s, strlen(s), '.', f, 5);
	uint64_t v;

	if (nf != 4)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (f[i].n == 0 || f[i].n > 3 || tk_parse_uint(f[i].p, f[i].n, 255, &v) != 0)
			return false;
	return true;
}

static bool
is_hostname(const char *s)
{
	size_t n = strlen(s);

	if (!all_of(s, 1, 63, ".-", true, false))
		return false;
	return s[0] != '.' && s[0] != '-' && s[n - 1] != '.' && s[n - 1] != '-' &&
	    strstr(s, "..") == NULL;
}

/* Free text: printable ASCII without the set's delimiters (unless raw). */
static int
check_text(const struct tk_cmd *c, char *err, size_t errlen)
{
	const char *bad;
	size_t max = TK_CMD_TEXT_MAX;

	switch (c->set) {
	case TK_CS_TK103:
		bad = "()";
		break;
	case TK_CS_TK103_ALT:
		bad = "[]";
		break;
	case TK_CS_GPS103:
		bad = ";*";
		break;
	case TK_CS_H02:
		bad = "#*";
		break;
	case TK_CS_SMS_XEXUN:
	case TK_CS_SMS_COBAN:
		bad = "";
		max = 160;
		break;
	case TK_CS_GT06:
	case TK_CS_GT06_ALT:
		bad = "";
		max = GT06_TEXT_MAX;
		break;
	default:
		bad = "";
		break;
	}
	if (c->textlen == 0)
		return tk_errf(err, errlen, "custom: empty text");
	if (c->textlen > max)
		return tk_errf(err, errlen, "custom: text longer than %zu bytes", max);
	/* H02 puts the send time after the command word: an empty word cannot be sent. */
	if (c->set == TK_CS_H02 && c->text[0] == ',')
		return tk_errf(err, errlen, "custom: h02 text starts with its command word "
		    "(S71,22,30 ...)");
	if (c->flags & TK_CMD_F_RAW)
		return 0;
	for (size_t i = 0; i < c->textlen; i++) {
		unsigned char ch = (unsigned char)c->text[i];
		if (ch < 0x20 || ch > 0x7e)
			return tk_errf(err, errlen,
			    "custom: control or non-ASCII byte 0x%02x at offset %zu "
			    "(--raw to allow)", ch, i);
		if (strchr(bad, ch) != NULL)
			return tk_errf(err, errlen,
			    "custom: '%c' at offset %zu would end the %s command and could "
			    "inject another (--raw to allow)", ch, i, set_names[c->set]);
	}
	return 0;
}

/* Which parameter forms a set accepts, beyond the catalogue entry. */
static int
set_restrictions(struct tk_cmd *c, char *err, size_t errlen)
{
	const char *sn = set_names[c->set];

	switch (c->id) {
	case TK_CMD_OUTPUT:
		if (c->num != 1)
			return tk_errf(err, errlen, "output: %s has one output (1), not %ld", sn, c->num);
		break;
	case TK_CMD_MOVEMENT:
		if (c->sw == 0 && c->set != TK_CS_SMS_XEXUN)
			return tk_errf(err, errlen, "movement off: not supported by %s", sn);
		break;
	case TK_CMD_OVERSPEED:
		if (c->sw == 0 && c->set != TK_CS_SMS_XEXUN)
			return tk_errf(err, errlen, "overspeed off: not supported by %s", sn);
		break;
	case TK_CMD_GEOFENCE:
		if (c->sw == 0 && c->set == TK_CS_SMS_COBAN)
			return tk_errf(err, errlen, "geofence off: not supported by %s", sn);
		break;
	case TK_CMD_SET_SERVER:
		if (c->set == TK_CS_TK103_ALT && !is_ipv4(c->arg[0]))
			return tk_errf(err, errlen,
			    "set-server: %s needs a numeric IPv4 address, not '%s'", sn, c->arg[0]);
		break;
	case TK_CMD_TRACK:
		if (c->set == TK_CS_GPS103) {
			/* two digits and a unit, exactly */
			long s = c->num;
			if (!(s < 60 || (s < 3600 && s % 60 == 0) ||
			    (s % 3600 == 0 && s / 3600 <= 99)))
				return tk_errf(err, errlen,
				    "track: gps103 sends two digits and a unit (s, m, h): "
				    "%lds cannot be said exactly", s);
		} else if (c->set == TK_CS_SMS_XEXUN || c->set == TK_CS_SMS_COBAN) {
			long s = c->num;
			if (!(s <= 999 || (s % 60 == 0 && s / 60 <= 999) || s % 3600 == 0))
				return tk_errf(err, errlen,
				    "track: the SMS set sends three digits and a unit: "
				    "%lds cannot be said exactly", s);
		} else if (c->num > 65535)
			return tk_errf(err, errlen, "track: %s interval at most 65535 s", sn);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- parsing --------------------------------------------------------- */

int
tk_cmd_parse(enum tk_cmd_set set, int argc, char *const argv[], unsigned flags,
    struct tk_cmd *c, char *err, size_t errlen)
{
	enum tk_cmd_id id;
	char sup[512];
	int np = argc - 1;
	char *const *a = argv + 1;
	const char *name;
	uint64_t v;

	memset(c, 0, sizeof(*c));
	c->sw = -1;
	if ((unsigned)set >= TK_CS__COUNT)
		return tk_errf(err, errlen, "unknown command set");
	if (argc < 1 || argv[0] == NULL)
		return tk_errf(err, errlen, "no command given");
	name = argv[0];
	if (tk_cmd_lookup(name, &id) != 0)
		return tk_errf(err, errlen, "unknown command '%s' (tk-cmd -l lists them)", name);
	c->set = set;
	c->id = id;
	c->flags = flags;
	if (cat[set][id].usage == NULL) {
		tk_cmd_supported(set, sup, sizeof(sup));
		return tk_errf(err, errlen, "%s does not support %s; it supports: %s",
		    set_names[set], name, sup);
	}

#define NPARAMS(lo, hi) do {						\
	if (np < (lo) || np > (hi))					\
		return tk_errf(err, errlen, "%s: wrong number of parameters (usage: %s)", \
		    name, cat[set][id].usage);				\
} while (0)

	switch (id) {
	case TK_CMD_TRACK:
		if (set == TK_CS_TK103_ALT) {
			NPARAMS(0, 0);
			break;
		}
		NPARAMS(1, 1);
		if (parse_interval(a[0], &c->num, err, errlen) != 0)
			return -1;
		break;
	case TK_CMD_OUTPUT:
		NPARAMS(2, 2);
		if (!is_digits(a[0], 1, 2) || tk_parse_uint(a[0], strlen(a[0]), 99, &v) != 0 ||
		    v == 0)
			return tk_errf(err, errlen, "output: bad output number '%s'", a[0]);
		c->num = (long)v;
		if (parse_switch(a[1], &c->sw, name, err, errlen) != 0)
			return -1;
		break;
	case TK_CMD_SET_SERVER:
		NPARAMS(2, 2);
		if (!is_ipv4(a[0]) && (!is_hostname(a[0]) || all_of(a[0], 1, 63, ".", false, true)))
			return tk_errf(err, errlen, "set-server: bad host '%s'", a[0]);
		if (!is_digits(a[1], 1, 5) || tk_parse_uint(a[1], strlen(a[1]), 65535, &v) != 0 ||
		    v == 0)
			return tk_errf(err, errlen, "set-server: bad port '%s' (1-65535)", a[1]);
		strlcpy(c->arg[0], a[0], sizeof(c->arg[0]));
		c->num = (long)v;
		break;
	case TK_CMD_SET_APN:
		if (np != 1 && np != 3)
			return tk_errf(err, errlen, "set-apn: wrong number of parameters (usage: %s)",
			    cat[set][id].usage);
		if (!all_of(a[0], 1, 63, ".-_", true, false))
			return tk_errf(err, errlen, "set-apn: bad APN '%s'", a[0]);
		strlcpy(c->arg[0], a[0], sizeof(c->arg[0]));
		if (np == 3) {
			for (int i = 1; i < 3; i++)
				if (!all_of(a[i], 1, 32, "!#$%&'*+-./:<=>?@^_~", true, false))
					return tk_errf(err, errlen, "set-apn: bad %s '%s'",
					    i == 1 ? "user" : "password", a[i]);
			strlcpy(c->arg[1], a[1], sizeof(c->arg[1]));
			strlcpy(c->arg[2], a[2], sizeof(c->arg[2]));
		}
		break;
	case TK_CMD_SOS_NUMBER:
		NPARAMS(1, 1);
		if (!(a[0][0] == '+' ? is_digits(a[0] + 1, 3, 20) : is_digits(a[0], 3, 20)))
			return tk_errf(err, errlen, "sos-number: bad phone number '%s'", a[0]);
		strlcpy(c->arg[0], a[0], sizeof(c->arg[0]));
		break;
	case TK_CMD_SOS:
	case TK_CMD_MOVEMENT:
	case TK_CMD_SHOCK:
	case TK_CMD_GPRS:
		NPARAMS(1, 1);
		if (parse_switch(a[0], &c->sw, name, err, errlen) != 0)
			return -1;
		break;
	case TK_CMD_OVERSPEED:
		NPARAMS(1, 1);
		if (strcmp(a[0], "off") == 0) {
			c->sw = 0;
			break;
		}
		if (!is_digits(a[0], 1, 3) || tk_parse_uint(a[0], strlen(a[0]), 999, &v) != 0 ||
		    v == 0)
			return tk_errf(err, errlen, "overspeed: bad speed '%s' (1-999 km/h)", a[0]);
		c->sw = 1;
		c->num = (long)v;
		break;
	case TK_CMD_GEOFENCE:
		if (np == 1 && strcmp(a[0], "off") == 0) {
			c->sw = 0;
			break;
		}
		NPARAMS(4, 4);
		for (int i = 0; i < 4; i++)
			if (parse_coord(a[i], i % 2 ? 180 : 90, &c->coord[i], c->arg[i],
			    sizeof(c->arg[i])) != 0)
				return tk_errf(err, errlen, "geofence: bad %s '%s'",
				    i % 2 ? "longitude" : "latitude", a[i]);
		if (c->coord[0] == c->coord[2] || c->coord[1] == c->coord[3])
			return tk_errf(err, errlen, "geofence: the rectangle is empty");
		c->sw = 1;
		break;
	case TK_CMD_TIMEZONE: {
		NPARAMS(1, 1);
		double tz;
		const char *p = a[0];
		size_t n = strlen(p);
		bool ok = n > 0 && n <= 6 && tk_parse_dec(p, n, &tz) == 0 &&
		    tz >= -12 && tz <= 14 && strchr(p, '.') != p;
		if (ok) {
			double fr = (tz < 0 ? -tz : tz);
			fr -= (double)(long)fr;
			ok = fr == 0 || fr == 0.5 || fr == 0.75 || fr == 0.25;
		}
		if (!ok)
			return tk_errf(err, errlen,
			    "timezone: bad offset '%s' (hours -12..14, e.g. 8, -5, 5.5)", a[0]);
		c->num2 = (long)(tz * 100);
		/* canonical: no '+', no trailing zeros */
		snprintf(c->arg[0], sizeof(c->arg[0]), "%s%ld", tz < 0 ? "-" : "",
		    labs(c->num2) / 100);
		if (labs(c->num2) % 100) {
			size_t l = strlen(c->arg[0]);
			snprintf(c->arg[0] + l, sizeof(c->arg[0]) - l, ".%s",
			    labs(c->num2) % 100 == 50 ? "5" : labs(c->num2) % 100 == 25 ? "25" : "75");
		}
		break;
	}
	case TK_CMD_SLEEP:
		NPARAMS(1, 1);
		if (strcmp(a[0], "deep") == 0)
			c->sw = 2;
		else if (strcmp(a[0], "saving") == 0)
			c->sw = 1;
		else if (strcmp(a[0], "off") == 0)
			c->sw = 0;
		else
			return tk_errf(err, errlen, "sleep: expected deep, saving or off, not '%s'", a[0]);
		break;
	case TK_CMD_PASSWORD:
		NPARAMS(1, 1);
		if (!is_digits(a[0], 6, 6))
			return tk_errf(err, errlen, "password: the new password must be 6 digits");
		strlcpy(c->arg[0], a[0], sizeof(c->arg[0]));
		break;
	case TK_CMD_CUSTOM: {
		if (np < 1)
			return tk_errf(err, errlen, "custom: no text given");
		size_t len = 0;
		for (int i = 0; i < np; i++) {
			size_t l = strlen(a[i]);
			if (len + l + (i > 0) > TK_CMD_TEXT_MAX)
				return tk_errf(err, errlen, "custom: text longer than %d bytes",
				    TK_CMD_TEXT_MAX);
			if (i > 0)
				c->text[len++] = ' ';
			memcpy(c->text + len, a[i], l);
			len += l;
		}
		c->text[len] = '\0';
		c->textlen = len;
		if (check_text(c, err, errlen) != 0)
			return -1;
		break;
	}
	default:
		NPARAMS(0, 0);
		break;
	}
#undef NPARAMS
	return set_restrictions(c, err, errlen);
}

/* ---- encoding -------------------------------------------------------- */

struct out {
	uint8_t	*p;
	size_t	 len, cap;
	bool	 over;
};

static void
put(struct out *o, const void *s, size_t n)
{
	if (o->over || n > o->cap - o->len) {
		o->over = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
putf(struct out *o, const char *fmt, ...)
{
	char tmp[TK_CMD_OUT_MAX];
	va_list ap;

	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(tmp)) {
		o->over = true;
		return;
	}
	put(o, tmp, (size_t)k);
}

static void
gps103_interval(long s, char *buf, size_t cap)
{
	if (s < 60)
		snprintf(buf, cap, "%02ds", (int)(s % 100));
	else if (s < 3600)
		snprintf(buf, cap, "%02dm", (int)(s / 60 % 100));
	else
		snprintf(buf, cap, "%02dh", (int)(s / 3600 % 100));
}

static void
sms_interval(long s, char *buf, size_t cap)
{
	if (s % 3600 == 0 && s / 3600 <= 999)
		snprintf(buf, cap, "%03dh", (int)(s / 3600 % 1000));
	else if (s % 60 == 0 && s / 60 <= 999)
		snprintf(buf, cap, "%03dm", (int)(s / 60 % 1000));
	else
		snprintf(buf, cap, "%03ds", (int)(s % 1000));
}

/* The corners as top-left and bottom-right: indexes of north, west, south, east. */
static void
corners(const struct tk_cmd *c, int *n, int *w, int *s, int *e)
{
	*n = c->coord[0] > c->coord[2] ? 0 : 2;
	*s = 2 - *n;
	*w = c->coord[1] < c->coord[3] ? 1 : 3;
	*e = 4 - *w;
}

static const char *
unsigned_coord(const char *s)
{
	return *s == '-' ? s + 1 : s;
}

/* The 0x80 text of a GT06 command (docs/protocol/gt06.md, Commands). */
static size_t
gt06_text(const struct tk_cmd *c, const char *pw, char *t, size_t cap)
{
	bool alt = c->set == TK_CS_GT06_ALT;
	int k;

	switch (c->id) {
	case TK_CMD_ENGINE_STOP:
		k = alt ? snprintf(t, cap, "DYD,%s#", pw) : snprintf(t, cap, "Relay,1#");
		break;
	case TK_CMD_ENGINE_RESUME:
		k = alt ? snprintf(t, cap, "HFYD,%s#", pw) : snprintf(t, cap, "Relay,0#");
		break;
	case TK_CMD_LOCATE: k = snprintf(t, cap, "WHERE#"); break;
	case TK_CMD_TRACK: k = snprintf(t, cap, "TIMER,%ld#", c->num); break;
	case TK_CMD_ARM: k = snprintf(t, cap, "DEFENSE,1#"); break;
	case TK_CMD_DISARM: k = snprintf(t, cap, "DEFENSE,0#"); break;
	case TK_CMD_REBOOT: k = snprintf(t, cap, "RESET#"); break;
	case TK_CMD_STATUS: k = snprintf(t, cap, "STATUS#"); break;
	case TK_CMD_VERSION: k = snprintf(t, cap, "VERSION#"); break;
	case TK_CMD_CUSTOM:
		if (c->textlen > cap)
			return 0;
		memcpy(t, c->text, c->textlen);
		return c->textlen;
	default: return 0;
	}
	return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

/*
 * 78 78 <L> 80 <4 + text length> <server flag 00 00 00 00> <text>
 * <serial 00 00> <CRC> 0D 0A, as Traccar sends it (no language field).
 */
static long
encode_gt06(const struct tk_cmd *c, const char *pw, struct out *o, char *err, size_t errlen)
{
	char t[GT06_TEXT_MAX + 1];
	uint8_t content[GT06_TEXT_MAX + 5];
	size_t n = gt06_text(c, pw, t, sizeof(t));
	if (n == 0 || n > GT06_TEXT_MAX)
		return tk_errf(err, errlen, "gt06 cannot encode %s", cmd_names[c->id]);
	content[0] = (uint8_t)(4 + n);
	memset(content + 1, 0, 4);
	memcpy(content + 5, t, n);
	size_t k = tk_gt06_frame(0x80, content, 5 + n, 0, o->p + o->len, o->cap - o->len);
	if (k == 0) {
		o->over = true;
		return -1;
	}
	o->len += k;
	return 0;
}

static long
encode_xexun2(const struct tk_cmd *c, const char *devid, struct out *o, char *err,
    size_t errlen)
{
	uint8_t frame[TK_CMD_TEXT_MAX + 32];
	char payload[TK_CMD_TEXT_MAX + 1];
	size_t pl;

	if (devid == NULL || !is_digits(devid, 15, 15))
		return tk_errf(err, errlen, "xexun2 needs the 15-digit IMEI as device id, not '%s'",
		    devid ? devid : "");
	switch (c->id) {
	case TK_CMD_REBOOT:
		pl = (size_t)snprintf(payload, sizeof(payload), "reset");
		break;
	case TK_CMD_POWER_OFF:
		pl = (size_t)snprintf(payload, sizeof(payload), "of=1");
		break;
	case TK_CMD_TRACK:
		pl = (size_t)snprintf(payload, sizeof(payload), "tracking_send=%ld,%ld",
		    c->num, c->num);
		break;
	case TK_CMD_CUSTOM:
		memcpy(payload, c->text, c->textlen);
		pl = c->textlen;
		break;
	default:
		return tk_errf(err, errlen, "xexun2 cannot encode %s", cmd_names[c->id]);
	}
	size_t n = 0;
	frame[n++] = 0xFA;
	frame[n++] = 0xAF;
	frame[n++] = 0x00;
	frame[n++] = 0x07;	/* type: command */
	frame[n++] = 0x00;
	frame[n++] = 0x01;	/* index */
	for (int i = 0; i < 16; i += 2) {
		int hi = devid[i] - '0';
		int lo = i + 1 < 15 ? devid[i + 1] - '0' : 0;
		frame[n++] = (uint8_t)(hi << 4 | lo);
	}
	frame[n++] = (uint8_t)(pl >> 8 & 0x03);
	frame[n++] = (uint8_t)(pl & 0xFF);
	uint16_t ck = tk_xexun2_checksum((const uint8_t *)payload, pl);
	frame[n++] = (uint8_t)(ck >> 8);
	frame[n++] = (uint8_t)(ck & 0xFF);
	memcpy(frame + n, payload, pl);
	n += pl;
	frame[n++] = 0xFA;
	frame[n++] = 0xAF;
	size_t k = tk_xexun2_escape(frame, n, o->p + o->len, o->cap - o->len);
	if (k == 0) {
		o->over = true;
		return -1;
	}
	o->len += k;
	return 0;
}

/* The send time of an h02 command: c->hhmmss, else the clock (UTC; Traccar
 * uses the server's zone, but the device's own times are UTC). */
static void
h02_time(const struct tk_cmd *c, char t[7])
{
	if (c->hhmmss[0]) {
		memcpy(t, c->hhmmss, 7);
		return;
	}
	int y, mo, d, h, mi, s, ms;
	tk_civil_from_ms(tk_wall_ms(), &y, &mo, &d, &h, &mi, &s, &ms);
	snprintf(t, 7, "%02u%02u%02u", (unsigned)h % 100u, (unsigned)mi % 100u,
	    (unsigned)s % 100u);
}

/* The command word of custom text (up to the first comma). */
static size_t
h02_word(const struct tk_cmd *c)
{
	const char *comma = memchr(c->text, ',', c->textlen);
	return comma ? (size_t)(comma - c->text) : c->textlen;
}

/* *HQ,<id>,<CMD>,<HHMMSS>[,<params>]# (docs/protocol/h02.md section 5) */
static int
encode_h02(const struct tk_cmd *c, const char *devid, struct out *o, char *err, size_t errlen)
{
	char t[7];
	if (devid == NULL || !all_of(devid, 1, 20, NULL, true, false))
		return tk_errf(err, errlen, "h02 device id must be 1-20 letters or digits, "
		    "not '%s'", devid ? devid : "");
	if (c->hhmmss[0] && !is_digits(c->hhmmss, 6, 6))
		return tk_errf(err, errlen, "h02 send time must be HHMMSS, not '%s'", c->hhmmss);
	h02_time(c, t);
	putf(o, "*HQ,%s,", devid);
	switch (c->id) {
	case TK_CMD_ENGINE_STOP: putf(o, "S20,%s,1,1", t); break;
	case TK_CMD_ENGINE_RESUME: putf(o, "S20,%s,1,0", t); break;
	case TK_CMD_ARM: putf(o, "SCF,%s,0,0", t); break;
	case TK_CMD_DISARM: putf(o, "SCF,%s,1,1", t); break;
	case TK_CMD_TRACK: putf(o, "S71,%s,22,%ld", t, c->num); break;
	case TK_CMD_CUSTOM: {
		size_t w = h02_word(c);
		if (w == 0)
			return tk_errf(err, errlen, "custom: h02 text starts with its command word "
			    "(S71,22,30 ...)");
		put(o, c->text, w);
		putf(o, ",%s", t);
		put(o, c->text + w, c->textlen - w);
		break;
	}
	default: break;
	}
	puts_(o, "#");
	return 0;
}

long
tk_cmd_encode(const struct tk_cmd *c, const char *devid, const char *password,
    uint8_t *buf, size_t cap, char *err, size_t errlen)
{
	struct out o = {buf, 0, cap, false};
	const char *pw = password ? password : DEFAULT_PW;
	char iv[16];
	int n, w, s, e;

	if ((unsigned)c->set >= TK_CS__COUNT || (unsigned)c->id >= TK_CMD__COUNT ||
	    cat[c->set][c->id].usage == NULL)
		return tk_errf(err, errlen, "%s does not support %s", tk_cmd_set_name(c->set),
		    tk_cmd_name(c->id));
	if (!is_digits(pw, 6, 6))
		return tk_errf(err, errlen, "the device password must be 6 digits");

	switch (c->set) {
	case TK_CS_TK103:
		if (devid == NULL || !all_of(devid, 1, 20, NULL, true, false))
			return tk_errf(err, errlen, "tk103 device id must be 1-20 letters or digits, "
			    "not '%s'", devid ? devid : "");
		putf(&o, "(%s", devid);
		switch (c->id) {
		case TK_CMD_LOCATE: puts_(&o, "AP00"); break;
		case TK_CMD_TRACK: putf(&o, "AR00%04lX0000", c->num); break;
		case TK_CMD_TRACK_STOP: puts_(&o, "AR0000000000"); break;
		case TK_CMD_ENGINE_STOP: puts_(&o, "AV010"); break;
		case TK_CMD_ENGINE_RESUME: puts_(&o, "AV011"); break;
		case TK_CMD_OUTPUT: putf(&o, "AV00%d", c->sw); break;
		case TK_CMD_REBOOT: puts_(&o, "AT00"); break;
		case TK_CMD_VERSION: puts_(&o, "AP07"); break;
		case TK_CMD_ODOMETER: puts_(&o, "AX01"); break;
		case TK_CMD_CUSTOM: put(&o, c->text, c->textlen); break;
		default: break;
		}
		puts_(&o, ")");
		break;
	case TK_CS_TK103_ALT:
		puts_(&o, "[begin]sms2,");
		switch (c->id) {
		case TK_CMD_LOCATE: puts_(&o, "*getposl*"); break;
		case TK_CMD_TRACK: puts_(&o, "*routetrack*99*"); break;
		case TK_CMD_TRACK_STOP: puts_(&o, "*routetrackoff*"); break;
		case TK_CMD_VERSION: puts_(&o, "*about*"); break;
		case TK_CMD_POWER_OFF: puts_(&o, "*turnoff*"); break;
		case TK_CMD_REBOOT: puts_(&o, "88888888"); break;
		case TK_CMD_STATUS: puts_(&o, "*status*"); break;
		case TK_CMD_IDENTIFY: puts_(&o, "999999"); break;
		case TK_CMD_SLEEP:
			puts_(&o, c->sw == 2 ? "*sleep*2*" : c->sw == 1 ? "*sleepv*" : "*sleepoff*");
			break;
		case TK_CMD_SOS: puts_(&o, c->sw ? "*soson*" : "*sosoff*"); break;
		case TK_CMD_SET_SERVER: {
			char ip[TK_CMD_ARG_MAX];
			strlcpy(ip, c->arg[0], sizeof(ip));
			for (char *p = ip; *p; p++)
				if (*p == '.')
					*p = '*';
			putf(&o, "*setip*%s*%ld*", ip, c->num);
			break;
		}
		case TK_CMD_SOS_NUMBER: putf(&o, "*master*%s*%s*", pw, c->arg[0]); break;
		case TK_CMD_CUSTOM: put(&o, c->text, c->textlen); break;
		default: break;
		}
		puts_(&o, ",[end]");
		break;
	case TK_CS_GPS103:
		if (devid == NULL || !all_of(devid, 1, 20, NULL, true, false))
			return tk_errf(err, errlen, "gps103 IMEI must be 1-20 letters or digits, "
			    "not '%s'", devid ? devid : "");
		putf(&o, "**,imei:%s,", devid);
		switch (c->id) {
		case TK_CMD_LOCATE: puts_(&o, "B"); break;
		case TK_CMD_TRACK:
			gps103_interval(c->num, iv, sizeof(iv));
			putf(&o, "C,%s", iv);
			break;
		case TK_CMD_TRACK_STOP: puts_(&o, "D"); break;
		case TK_CMD_ENGINE_STOP: puts_(&o, "J"); break;
		case TK_CMD_ENGINE_RESUME: puts_(&o, "K"); break;
		case TK_CMD_ARM: puts_(&o, "L"); break;
		case TK_CMD_DISARM: puts_(&o, "M"); break;
		case TK_CMD_PHOTO: puts_(&o, "160"); break;
		case TK_CMD_OVERSPEED: putf(&o, "H,%03ld", c->num); break;
		case TK_CMD_MOVEMENT: puts_(&o, "G"); break;
		case TK_CMD_GEOFENCE:
			if (c->sw == 0)
				puts_(&o, "P");
			else
				putf(&o, "O,%s,%s,%s,%s", c->arg[0], c->arg[1], c->arg[2], c->arg[3]);
			break;
		case TK_CMD_TIMEZONE: putf(&o, "I,%s", c->arg[0]); break;
		case TK_CMD_CUSTOM: put(&o, c->text, c->textlen); break;
		default: break;
		}
		if (c->flags & TK_CMD_F_SEMICOLON)
			puts_(&o, ";");
		break;
	case TK_CS_XEXUN:
		putf(&o, "powercar%s %s", pw, c->id == TK_CMD_ENGINE_STOP ? "11" : "00");
		break;
	case TK_CS_H02:
		if (encode_h02(c, devid, &o, err, errlen) != 0)
			return -1;
		break;
	case TK_CS_XEXUN2:
		if (encode_xexun2(c, devid, &o, err, errlen) != 0 && !o.over)
			return -1;
		break;
	case TK_CS_GT06:
	case TK_CS_GT06_ALT:
		if (encode_gt06(c, pw, &o, err, errlen) != 0 && !o.over)
			return -1;
		break;
	case TK_CS_SMS_XEXUN:
	case TK_CS_SMS_COBAN: {
		bool x = c->set == TK_CS_SMS_XEXUN;
		switch (c->id) {
		case TK_CMD_BEGIN: putf(&o, "begin%s", pw); break;
		case TK_CMD_PASSWORD: putf(&o, "password%s %s", pw, c->arg[0]); break;
		case TK_CMD_SOS_NUMBER: putf(&o, "admin%s %s", pw, c->arg[0]); break;
		case TK_CMD_TRACK:
			sms_interval(c->num, iv, sizeof(iv));
			putf(&o, "%s%s***n%s", x ? "t" : "fix", iv, pw);
			break;
		case TK_CMD_TRACK_STOP: putf(&o, "%s%s", x ? "notn" : "nofix", pw); break;
		case TK_CMD_SET_APN:
			putf(&o, "apn%s %s", pw, c->arg[0]);
			if (c->arg[1][0])
				putf(&o, "\nup%s %s %s", pw, c->arg[1], c->arg[2]);
			break;
		case TK_CMD_SET_SERVER: putf(&o, "adminip%s %s %ld", pw, c->arg[0], c->num); break;
		case TK_CMD_GPRS:
			putf(&o, "%s%s", c->sw ? "gprs" : x ? "nogprs" : "sms", pw);
			break;
		case TK_CMD_OVERSPEED:
			if (c->sw == 0)
				putf(&o, "nospeed%s", pw);
			else
				putf(&o, "speed%s %03ld", pw, c->num);
			break;
		case TK_CMD_MOVEMENT: putf(&o, "%smove%s", c->sw ? "" : "no", pw); break;
		case TK_CMD_SHOCK: putf(&o, "%sshock%s", c->sw ? "" : "no", pw); break;
		case TK_CMD_GEOFENCE:
			if (c->sw == 0) {
				putf(&o, "nostockade%s", pw);
				break;
			}
			corners(c, &n, &w, &s, &e);
			if (x)
				putf(&o, "stockade%s %s%c,%s%c;%s%c,%s%c", pw,
				    unsigned_coord(c->arg[n]), c->coord[n] < 0 ? 'S' : 'N',
				    unsigned_coord(c->arg[w]), c->coord[w] < 0 ? 'W' : 'E',
				    unsigned_coord(c->arg[s]), c->coord[s] < 0 ? 'S' : 'N',
				    unsigned_coord(c->arg[e]), c->coord[e] < 0 ? 'W' : 'E');
			else
				putf(&o, "stockade%s %s,%s;%s,%s", pw, c->arg[n], c->arg[w],
				    c->arg[s], c->arg[e]);
			break;
		case TK_CMD_TIMEZONE: putf(&o, "time zone%s %s", pw, c->arg[0]); break;
		case TK_CMD_ENGINE_STOP:
			if (x)
				putf(&o, "powercar%s 11", pw);
			else
				putf(&o, "stop%s", pw);
			break;
		case TK_CMD_ENGINE_RESUME:
			if (x)
				putf(&o, "powercar%s 00", pw);
			else
				putf(&o, "resume%s", pw);
			break;
		case TK_CMD_FACTORY_RESET: puts_(&o, "format"); break;
		case TK_CMD_ARM: putf(&o, "arm%s", pw); break;
		case TK_CMD_DISARM: putf(&o, "disarm%s", pw); break;
		case TK_CMD_STATUS: putf(&o, "check%s", pw); break;
		case TK_CMD_REBOOT: putf(&o, "reset%s", pw); break;
		case TK_CMD_CUSTOM: put(&o, c->text, c->textlen); break;
		default: break;
		}
		break;
	}
	default:
		return tk_errf(err, errlen, "unknown command set");
	}
	if (o.over)
		return tk_errf(err, errlen, "output buffer too small");
	return (long)o.len;
}

/* ---- answers ----------------------------------------------------------- */

bool
tk_cmd_has_answer(enum tk_cmd_set s, enum tk_cmd_id c)
{
	if ((unsigned)s >= TK_CS__COUNT || (unsigned)c >= TK_CMD__COUNT ||
	    cat[s][c].usage == NULL)
		return false;
	return !tk_cmd_set_is_sms(s);
}

/* tk103 classic: the 4-char code after an 11- or 12-char id. */
static bool
tk103_code_at(const uint8_t *f, size_t n, size_t at, char code[5])
{
	if (n < at + 4)
		return false;
	const uint8_t *p = f + at;
	if (!(p[0] >= 'A' && p[0] <= 'Z') ||
	    !((p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= '0' && p[1] <= '9')) ||
	    !(p[2] >= '0' && p[2] <= '9') || !(p[3] >= '0' && p[3] <= '9'))
		return false;
	memcpy(code, p, 4);
	code[4] = '\0';
	return true;
}

static bool
tk103_code(const uint8_t *f, size_t n, char code[5])
{
	if (n < 2 || f[0] != '(')
		return false;
	/* comma form: (<id>,<code>, */
	const uint8_t *comma = memchr(f, ',', n < 24 ? n : 24);
	if (comma != NULL)
		return tk103_code_at(f, n, (size_t)(comma - f) + 1, code);
	return tk103_code_at(f, n, 13, code) || tk103_code_at(f, n, 12, code);
}

static bool
is_routine_tk103(const char *code)
{
	static const char *const r[] = {"BP00", "BP05", "BR00", "BR01", "BR02", "BO01",
	    "BZ00", NULL};
	for (int i = 0; r[i]; i++)
		if (strcmp(code, r[i]) == 0)
			return true;
	return code[0] == 'Z' || code[0] == 'D';
}

/* gps103: the keyword of imei:<id>,<kw>,... */
static bool
gps103_keyword(const uint8_t *f, size_t n, char *kw, size_t cap)
{
	const uint8_t *p = NULL;

	for (size_t i = 0; i + 5 <= n && i < 40; i++)
		if (memcmp(f + i, "imei:", 5) == 0) {
			p = f + i + 5;
			break;
		}
	if (p == NULL)
		return false;
	const uint8_t *end = f + n;
	const uint8_t *c1 = memchr(p, ',', (size_t)(end - p));
	if (c1 == NULL)
		return false;
	const uint8_t *k = c1 + 1;
	const uint8_t *c2 = k;
	while (c2 < end && *c2 != ',' && *c2 != ';')
		c2++;
	if (c2 == end || (size_t)(c2 - k) >= cap)
		return false;
	memcpy(kw, k, (size_t)(c2 - k));
	kw[c2 - k] = '\0';
	return true;
}

/* h02: "*XX,<id>,V4,<CMD>,..." answers the command whose word is CMD. */
static bool
h02_answer(const struct tk_cmd *c, const uint8_t *f, size_t n)
{
	const char *want;
	size_t wl;
	switch (c->id) {
	case TK_CMD_ENGINE_STOP:
	case TK_CMD_ENGINE_RESUME: want = "S20"; break;
	case TK_CMD_ARM:
	case TK_CMD_DISARM: want = "SCF"; break;
	case TK_CMD_TRACK: want = "S71"; break;
	case TK_CMD_CUSTOM: want = NULL; break;
	default: return false;
	}
	if (want)
		wl = strlen(want);
	else {
		want = c->text;
		wl = h02_word(c);
	}
	while (n && (*f == ' ' || *f == '\r' || *f == '\n')) {
		f++;
		n--;
	}
	if (n < 4 || f[0] != '*' || f[3] != ',')
		return false;
	const uint8_t *p = memchr(f + 4, ',', n - 4);
	if (p == NULL)
		return false;
	size_t rest = n - (size_t)(p + 1 - f);
	p++;
	return rest > 4 + wl && memcmp(p, "V4,", 3) == 0 && memcmp(p + 3, want, wl) == 0 &&
	    (p[3 + wl] == ',' || p[3 + wl] == '#');
}

bool
tk_cmd_answer_frame(const struct tk_cmd *c, const uint8_t *f, size_t n)
{
	char code[5], kw[64];

	if (f == NULL || n == 0)
		return false;
	switch (c->set) {
	case TK_CS_TK103: {
		if (!tk103_code(f, n, code))
			return false;
		switch (c->id) {
		case TK_CMD_LOCATE: return strcmp(code, "BP04") == 0;
		case TK_CMD_TRACK:
		case TK_CMD_TRACK_STOP: return strcmp(code, "BS08") == 0;
		case TK_CMD_ENGINE_STOP:
		case TK_CMD_ENGINE_RESUME: return strcmp(code, "BV01") == 0;
		case TK_CMD_OUTPUT: return strcmp(code, "BV00") == 0;
		case TK_CMD_REBOOT: return strcmp(code, "BT00") == 0;
		case TK_CMD_VERSION: return strcmp(code, "BP07") == 0;
		case TK_CMD_ODOMETER: return strcmp(code, "BX01") == 0;
		case TK_CMD_CUSTOM: {
			char want[5];
			if (c->textlen >= 4 && c->text[0] == 'A' &&
			    tk103_code_at((const uint8_t *)c->text, c->textlen, 0, want)) {
				want[0] = 'B';
				if (strcmp(want, "BP00") == 0)
					strcpy(want, "BP04");
				else if (strcmp(want, "BR00") == 0)
					strcpy(want, "BS08");
				else if (strcmp(want, "BX05") == 0)
					strcpy(want, "BU00");
				return strcmp(code, want) == 0;
			}
			return !is_routine_tk103(code);
		}
		default: return false;
		}
	}
	case TK_CS_TK103_ALT:
		if (!tk103_code(f, n, code))
			return false;
		if (strcmp(code, "ZC03") == 0)
			return true;
		/* locate: a comma-form position also answers */
		return c->id == TK_CMD_LOCATE &&
		    ((code[0] == 'Z' && code[1] == 'C') || (code[0] == 'D' && code[1] == 'W' &&
		    code[2] == '3') || strcmp(code, "BP04") == 0);
	case TK_CS_GPS103: {
		if (!gps103_keyword(f, n, kw, sizeof(kw)))
			return false;
		char want[8] = "";
		switch (c->id) {
		case TK_CMD_LOCATE: return strcmp(kw, "tracker") == 0;
		case TK_CMD_PHOTO: return kw[0] == 'v' && kw[1] == 't';
		case TK_CMD_TRACK: strcpy(want, "ct"); break;
		case TK_CMD_TRACK_STOP: strcpy(want, "dt"); break;
		case TK_CMD_ENGINE_STOP: strcpy(want, "jt"); break;
		case TK_CMD_ENGINE_RESUME: strcpy(want, "kt"); break;
		case TK_CMD_ARM: strcpy(want, "lt"); break;
		case TK_CMD_DISARM: strcpy(want, "mt"); break;
		case TK_CMD_OVERSPEED: strcpy(want, "ht"); break;
		case TK_CMD_MOVEMENT: strcpy(want, "gt"); break;
		case TK_CMD_GEOFENCE: strcpy(want, c->sw ? "ot" : "pt"); break;
		case TK_CMD_TIMEZONE: strcpy(want, "it"); break;
		case TK_CMD_CUSTOM:
			if (c->textlen >= 1 && c->text[0] >= 'A' && c->text[0] <= 'Z' &&
			    (c->textlen == 1 || c->text[1] == ',')) {
				want[0] = (char)(c->text[0] - 'A' + 'a');
				want[1] = 't';
				break;
			}
			return strcmp(kw, "tracker") != 0;
		default: return false;
		}
		return strcmp(kw, want) == 0;
	}
	case TK_CS_XEXUN:
		/* no acknowledgement is known: the next report of the device */
		return true;
	case TK_CS_XEXUN2:
		return n >= 6 && f[0] == 0xFA && f[1] == 0xAF && f[2] == 0x00 && f[3] == 0x07;
	case TK_CS_H02:
		return h02_answer(c, f, n);
	case TK_CS_GT06:
	case TK_CS_GT06_ALT:
		/* the text answer: 0x15 in a short frame, 0x21 in a long one */
		return (n >= 6 && f[0] == 0x78 && f[1] == 0x78 && f[3] == 0x15) ||
		    (n >= 7 && f[0] == 0x79 && f[1] == 0x79 && f[4] == 0x21);
	default:
		return false;
	}
}

bool
tk_cmd_answer_match(const struct tk_cmd *c, const struct tk_record *r)
{
	if (r->raw != NULL && r->rawlen > 0)
		return tk_cmd_answer_frame(c, r->raw, r->rawlen);
	/* no frame: judge by the record alone */
	switch (c->set) {
	case TK_CS_XEXUN:
		return true;
	case TK_CS_GPS103:
		if (c->id == TK_CMD_LOCATE)
			return r->type == TK_R_POSITION;
		return r->type == TK_R_REPLY;
	default:
		return r->type == TK_R_REPLY;
	}
}

/* ---- recognition ------------------------------------------------------- */

static int
rec_argv(enum tk_cmd_set set, struct tk_cmd *c, unsigned flags, char *err, size_t errlen,
    const char *a0, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[6];
	int argc = 0;
	const char *in[5] = {a0, a1, a2, a3, a4};

	for (int i = 0; i < 5 && in[i] != NULL; i++)
		argv[argc++] = (char *)(uintptr_t)in[i];
	argv[argc] = NULL;
	return tk_cmd_parse(set, argc, argv, flags, c, err, errlen);
}

static int
rec_custom(enum tk_cmd_set set, struct tk_cmd *c, const uint8_t *p, size_t n, char *err,
    size_t errlen)
{
	char text[TK_CMD_TEXT_MAX + 1];

	if (n > TK_CMD_TEXT_MAX)
		return tk_errf(err, errlen, "command text too long");
	memcpy(text, p, n);
	text[n] = '\0';
	if (memchr(p, '\0', n) != NULL)
		return tk_errf(err, errlen, "NUL byte in command text");
	return rec_argv(set, c, TK_CMD_F_RAW, err, errlen, "custom", text, NULL, NULL, NULL);
}

static int
rec_tk103_alt(const uint8_t *p, size_t n, struct tk_cmd *c, char *err, size_t errlen)
{
	static const struct { const char *s; const char *a0, *a1; } tab[] = {
		{"*getposl*", "locate", NULL}, {"*routetrack*99*", "track", NULL},
		{"*routetrackoff*", "track-stop", NULL}, {"*about*", "version", NULL},
		{"*turnoff*", "power-off", NULL}, {"88888888", "reboot", NULL},
		{"*status*", "status", NULL}, {"999999", "identify", NULL},
		{"*sleep*2*", "sleep", "deep"}, {"*sleepv*", "sleep", "saving"},
		{"*sleepoff*", "sleep", "off"}, {"*soson*", "sos", "on"},
		{"*sosoff*", "sos", "off"},
	};
	char buf[TK_CMD_TEXT_MAX + 1];
	const enum tk_cmd_set set = TK_CS_TK103_ALT;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].s) == n && memcmp(tab[i].s, p, n) == 0)
			return rec_argv(set, c, 0, err, errlen, tab[i].a0, tab[i].a1, NULL, NULL,
			    NULL);
	if (n < sizeof(buf)) {
		memcpy(buf, p, n);
		buf[n] = '\0';
		unsigned a, b, d, e, port;
		char tail;
		if (sscanf(buf, "*setip*%3u*%3u*%3u*%3u*%5u%c", &a, &b, &d, &e, &port, &tail) == 6 &&
		    tail == '*' && buf[n - 1] == '*') {
			char ip[32], ps[8];
			snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a, b, d, e);
			snprintf(ps, sizeof(ps), "%u", port);
			char canon[64];
			snprintf(canon, sizeof(canon), "*setip*%u*%u*%u*%u*%u*", a, b, d, e, port);
			if (strcmp(canon, buf) == 0)
				return rec_argv(set, c, 0, err, errlen, "set-server", ip, ps, NULL,
				    NULL);
		}
		if (strncmp(buf, "*master*", 8) == 0 && n > 17 && buf[14] == '*' &&
		    buf[n - 1] == '*') {
			char phone[32];
			size_t pl = n - 16;
			bool pwok = true;
			for (int i = 8; i < 14; i++)
				if (buf[i] < '0' || buf[i] > '9')
					pwok = false;
			if (pwok && pl < sizeof(phone)) {
				memcpy(phone, buf + 15, pl);
				phone[pl] = '\0';
				if (rec_argv(set, c, 0, err, errlen, "sos-number", phone, NULL, NULL,
				    NULL) == 0)
					return 0;
			}
		}
	}
	return rec_custom(set, c, p, n, err, errlen);
}

static int
rec_tk103(const uint8_t *p, size_t n, struct tk_cmd *c, char *devid, size_t idcap,
    char *err, size_t errlen)
{
	static const struct { const char *code; const char *a0, *a1, *a2; } tab[] = {
		{"AP00", "locate", NULL, NULL}, {"AR0000000000", "track-stop", NULL, NULL},
		{"AV010", "engine-stop", NULL, NULL}, {"AV011", "engine-resume", NULL, NULL},
		{"AV001", "output", "1", "on"}, {"AV000", "output", "1", "off"},
		{"AT00", "reboot", NULL, NULL}, {"AP07", "version", NULL, NULL},
		{"AX01", "odometer", NULL, NULL},
	};
	static const char pre[] = "[begin]sms2,", post[] = ",[end]";

	if (n >= sizeof(pre) - 1 + sizeof(post) - 1 && memcmp(p, pre, sizeof(pre) - 1) == 0 &&
	    memcmp(p + n - (sizeof(post) - 1), post, sizeof(post) - 1) == 0) {
		if (devid && idcap)
			devid[0] = '\0';
		return rec_tk103_alt(p + sizeof(pre) - 1, n - (sizeof(pre) - 1) - (sizeof(post) - 1),
		    c, err, errlen);
	}
	if (n < 3 || p[0] != '(' || p[n - 1] != ')')
		return tk_errf(err, errlen, "not a tk103 command: no ( ) and no [begin]sms2,");
	const uint8_t *b = p + 1;
	size_t bn = n - 2;
	/* find the id length: prefer 12 characters, then 1..20 */
	static const size_t order[] = {12, 11, 15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 16,
	    17, 18, 19, 20};
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		size_t il = order[k];
		if (il >= bn)
			continue;
		bool alnum = true;
		for (size_t i = 0; i < il; i++)
			if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'A' && b[i] <= 'Z') ||
			    (b[i] >= 'a' && b[i] <= 'z')))
				alnum = false;
		if (!alnum)
			continue;
		const uint8_t *code = b + il;
		size_t cl = bn - il;
		int rc = 1;
		for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
			if (strlen(tab[i].code) == cl && memcmp(tab[i].code, code, cl) == 0) {
				rc = rec_argv(TK_CS_TK103, c, 0, err, errlen, tab[i].a0, tab[i].a1,
				    tab[i].a2, NULL, NULL);
				break;
			}
		if (rc == 1 && cl == 12 && memcmp(code, "AR00", 4) == 0 &&
		    memcmp(code + 8, "0000", 4) == 0) {
			uint64_t v;
			if (tk_parse_hex((const char *)code + 4, 4, &v) == 0 && v > 0) {
				char s[16];
				snprintf(s, sizeof(s), "%u", (unsigned)v);
				rc = rec_argv(TK_CS_TK103, c, 0, err, errlen, "track", s, NULL, NULL,
				    NULL);
				/* round trip only when the hex is canonical (upper case) */
				char canon[8];
				snprintf(canon, sizeof(canon), "%04X", (unsigned)v);
				if (rc == 0 && memcmp(canon, code + 4, 4) != 0)
					rc = 1;
			}
		}
		if (rc == 1)
			continue;
		if (rc == 0 && devid != NULL)
			tk_strlcpyn(devid, idcap, b, il);
		return rc;
	}
	/* custom: the id is the letters and digits in front, at most 12 */
	size_t il = 0;
	while (il < 12 && il + 1 < bn && ((b[il] >= '0' && b[il] <= '9') ||
	    (b[il] >= 'A' && b[il] <= 'Z') || (b[il] >= 'a' && b[il] <= 'z')))
		il++;
	/* ids may have up to 20 (an IMEI has 15): take more when the text
	 * would not fit otherwise, so what tk_cmd_encode wrote reads back */
	while (bn - il > TK_CMD_TEXT_MAX && il < 20 && il + 1 < bn &&
	    ((b[il] >= '0' && b[il] <= '9') || (b[il] >= 'A' && b[il] <= 'Z') ||
	    (b[il] >= 'a' && b[il] <= 'z')))
		il++;
	if (il == 0)
		return tk_errf(err, errlen, "tk103 command without a device id");
	if (devid != NULL)
		tk_strlcpyn(devid, idcap, b, il);
	return rec_custom(TK_CS_TK103, c, b + il, bn - il, err, errlen);
}

static int
rec_gps103(const uint8_t *p, size_t n, struct tk_cmd *c, char *devid, size_t idcap,
    char *err, size_t errlen)
{
	static const char pre[] = "**,imei:";
	char body[TK_CMD_TEXT_MAX + 1];
	unsigned flags = 0;

	if (n < sizeof(pre) || memcmp(p, pre, sizeof(pre) - 1) != 0)
		return tk_errf(err, errlen, "not a gps103 command: no **,imei:");
	p += sizeof(pre) - 1;
	n -= sizeof(pre) - 1;
	const uint8_t *comma = memchr(p, ',', n);
	if (comma == NULL || comma == p || (size_t)(comma - p) > 20)
		return tk_errf(err, errlen, "gps103 command without a device id");
	if (devid != NULL)
		tk_strlcpyn(devid, idcap, p, (size_t)(comma - p));
	size_t bl = n - (size_t)(comma - p) - 1;
	if (bl > 0 && comma[bl] == ';') {
		flags |= TK_CMD_F_SEMICOLON;
		bl--;
	}
	if (bl == 0 || bl > TK_CMD_TEXT_MAX)
		return tk_errf(err, errlen, "gps103 command without a body");
	memcpy(body, comma + 1, bl);
	body[bl] = '\0';
	if (memchr(body, '\0', bl) != NULL)
		return tk_errf(err, errlen, "NUL byte in command");
	const enum tk_cmd_set set = TK_CS_GPS103;
	static const struct { const char *s; const char *a0, *a1; } tab[] = {
		{"B", "locate", NULL}, {"D", "track-stop", NULL}, {"J", "engine-stop", NULL},
		{"K", "engine-resume", NULL}, {"L", "arm", NULL}, {"M", "disarm", NULL},
		{"160", "photo", NULL}, {"G", "movement", "on"}, {"P", "geofence", "off"},
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(body, tab[i].s) == 0)
			return rec_argv(set, c, flags, err, errlen, tab[i].a0, tab[i].a1, NULL, NULL,
			    NULL);
	int rc = 1;
	if (bl == 5 && strncmp(body, "C,", 2) == 0 && is_digits((char[]){body[2], body[3], 0},
	    2, 2) && strchr("smh", body[4]) && !(body[2] == '0' && body[3] == '0')) {
		char iv[8];
		snprintf(iv, sizeof(iv), "%c%c%c", body[2] == '0' ? body[3] : body[2],
		    body[2] == '0' ? body[4] : body[3], body[2] == '0' ? 0 : body[4]);
		rc = rec_argv(set, c, flags, err, errlen, "track", iv, NULL, NULL, NULL);
		/* 60s and 1m both print as 01m: only canonical forms round-trip */
		if (rc == 0) {
			char canon[8];
			gps103_interval(c->num, canon, sizeof(canon));
			if (strcmp(canon, body + 2) != 0)
				rc = 1;
		}
	} else if (bl == 5 && strncmp(body, "H,", 2) == 0 && is_digits(body + 2, 3, 3)) {
		rc = rec_argv(set, c, flags, err, errlen, "overspeed", body + 2, NULL, NULL, NULL);
	} else if (strncmp(body, "I,", 2) == 0) {
		rc = rec_argv(set, c, flags, err, errlen, "timezone", body + 2, NULL, NULL, NULL);
		if (rc == 0 && strcmp(c->arg[0], body + 2) != 0)
			rc = 1;
	} else if (strncmp(body, "O,", 2) == 0) {
		struct tk_span f[6];
		if (tk_split(body, bl, ',', f, 6) == 5) {
			char v[4][TK_CMD_ARG_MAX];
			for (int i = 0; i < 4; i++)
				tk_strlcpyn(v[i], sizeof(v[i]), f[i + 1].p, f[i + 1].n);
			rc = rec_argv(set, c, flags, err, errlen, "geofence", v[0], v[1], v[2], v[3]);
			for (int i = 0; rc == 0 && i < 4; i++)
				if (strcmp(c->arg[i], v[i]) != 0)
					rc = 1;
		}
	}
	if (rc == 0)
		return 0;
	rc = rec_custom(set, c, (const uint8_t *)body, bl, err, errlen);
	c->flags |= flags;
	return rc;
}

static int
rec_xexun(const uint8_t *p, size_t n, struct tk_cmd *c, char *err, size_t errlen)
{
	if (n == 17 && memcmp(p, "powercar", 8) == 0 && p[14] == ' ' &&
	    ((p[15] == '1' && p[16] == '1') || (p[15] == '0' && p[16] == '0'))) {
		for (int i = 8; i < 14; i++)
			if (p[i] < '0' || p[i] > '9')
				return tk_errf(err, errlen, "xexun: bad password in powercar");
		return rec_argv(TK_CS_XEXUN, c, 0, err, errlen,
		    p[15] == '1' ? "engine-stop" : "engine-resume", NULL, NULL, NULL, NULL);
	}
	return tk_errf(err, errlen, "not a xexun command (only powercar<pw> 11|00 is known)");
}

static int
rec_xexun2(const uint8_t *p, size_t n, struct tk_cmd *c, char *devid, size_t idcap,
    char *err, size_t errlen)
{
	uint8_t f[TK_CMD_OUT_MAX];
	size_t fl;

	if (n < 20 || p[0] != 0xFA || p[1] != 0xAF || p[n - 2] != 0xFA || p[n - 1] != 0xAF)
		return tk_errf(err, errlen, "not a xexun2 frame (FA AF ... FA AF)");
	fl = tk_xexun2_unescape(p, n, f, sizeof(f));
	if (fl < 20)
		return tk_errf(err, errlen, "xexun2: bad escape or frame too long");
	if (f[2] != 0x00 || f[3] != 0x07)
		return tk_errf(err, errlen, "xexun2: type %02x%02x is not a command (0007)", f[2], f[3]);
	size_t pl = (size_t)((f[14] & 0x03) << 8 | f[15]);
	if (pl + 20 != fl)
		return tk_errf(err, errlen, "xexun2: length %zu does not match the frame", pl);
	uint16_t ck = (uint16_t)(f[16] << 8 | f[17]);
	if (ck != tk_xexun2_checksum(f + 18, pl))
		return tk_errf(err, errlen, "xexun2: checksum mismatch");
	if (devid != NULL && idcap > 15) {
		for (int i = 0; i < 15; i++) {
			int nib = i % 2 == 0 ? f[6 + i / 2] >> 4 : f[6 + i / 2] & 0x0F;
			devid[i] = (char)(nib < 10 ? '0' + nib : 'a' + nib - 10);
		}
		devid[15] = '\0';
	}
	const uint8_t *t = f + 18;
	const enum tk_cmd_set set = TK_CS_XEXUN2;
	if (pl == 5 && memcmp(t, "reset", 5) == 0)
		return rec_argv(set, c, 0, err, errlen, "reboot", NULL, NULL, NULL, NULL);
	if (pl == 4 && memcmp(t, "of=1", 4) == 0)
		return rec_argv(set, c, 0, err, errlen, "power-off", NULL, NULL, NULL, NULL);
	if (pl > 14 && pl < 40 && memcmp(t, "tracking_send=", 14) == 0) {
		char s[40], a[20];
		memcpy(s, t + 14, pl - 14);
		s[pl - 14] = '\0';
		char *comma = strchr(s, ',');
		if (comma != NULL && comma - s < 20) {
			memcpy(a, s, (size_t)(comma - s));
			a[comma - s] = '\0';
			if (strcmp(a, comma + 1) == 0 && is_digits(a, 1, 5) && a[0] != '0' &&
			    rec_argv(set, c, 0, err, errlen, "track", a, NULL, NULL, NULL) == 0)
				return 0;
		}
	}
	return rec_custom(set, c, t, pl, err, errlen);
}

/* *XX,<id>,<CMD>,<HHMMSS>[,<params>]# back to a catalogue command. */
static int
rec_h02(const uint8_t *p, size_t n, struct tk_cmd *c, char *devid, size_t idcap, char *err,
    size_t errlen)
{
	char b[TK_CMD_TEXT_MAX + 64];
	const enum tk_cmd_set set = TK_CS_H02;
	int rc;

	if (n < 8 || n >= sizeof(b) || p[0] != '*' || p[3] != ',' || p[n - 1] != '#' ||
	    memchr(p, '\0', n) != NULL)
		return tk_errf(err, errlen, "not an h02 command (*HQ,<id>,<CMD>,<HHMMSS>,...#)");
	memcpy(b, p + 4, n - 5);
	b[n - 5] = '\0';
	char *id = b, *cmd = strchr(b, ',');
	if (cmd == NULL)
		return tk_errf(err, errlen, "h02 command without a command word");
	*cmd++ = '\0';
	char *t = strchr(cmd, ',');
	if (t == NULL || strlen(t + 1) < 6 || !(t[7] == ',' || t[7] == '\0'))
		return tk_errf(err, errlen, "h02 command without its HHMMSS time");
	*t++ = '\0';
	char hhmmss[7];
	memcpy(hhmmss, t, 6);
	hhmmss[6] = '\0';
	if (!is_digits(hhmmss, 6, 6) || !all_of(id, 1, 20, NULL, true, false))
		return tk_errf(err, errlen, "h02 command with a bad time or device id");
	const char *par = t[6] ? t + 7 : "";
	if (strcmp(cmd, "S20") == 0 && strcmp(par, "1,1") == 0)
		rc = rec_argv(set, c, 0, err, errlen, "engine-stop", NULL, NULL, NULL, NULL);
	else if (strcmp(cmd, "S20") == 0 && strcmp(par, "1,0") == 0)
		rc = rec_argv(set, c, 0, err, errlen, "engine-resume", NULL, NULL, NULL, NULL);
	else if (strcmp(cmd, "SCF") == 0 && strcmp(par, "0,0") == 0)
		rc = rec_argv(set, c, 0, err, errlen, "arm", NULL, NULL, NULL, NULL);
	else if (strcmp(cmd, "SCF") == 0 && strcmp(par, "1,1") == 0)
		rc = rec_argv(set, c, 0, err, errlen, "disarm", NULL, NULL, NULL, NULL);
	else if (strcmp(cmd, "S71") == 0 && strncmp(par, "22,", 3) == 0 &&
	    is_digits(par + 3, 1, 5) && par[3] != '0' &&
	    rec_argv(set, c, 0, err, errlen, "track", par + 3, NULL, NULL, NULL) == 0)
		rc = 0;
	else {
		char text[TK_CMD_TEXT_MAX + 1];
		/* a comma after the time stays, even before no parameter
		 * ("AP00," encodes to *HQ,<id>,AP00,<time>,#) */
		int k = snprintf(text, sizeof(text), "%s%s%s", cmd, t[6] ? "," : "", par);
		if (k < 0 || (size_t)k >= sizeof(text))
			return tk_errf(err, errlen, "command text too long");
		rc = rec_custom(set, c, (const uint8_t *)text, (size_t)k, err, errlen);
	}
	if (rc != 0)
		return rc;
	memcpy(c->hhmmss, hhmmss, sizeof(hhmmss));
	if (devid != NULL && idcap > 0)
		strlcpy(devid, id, idcap);
	return 0;
}

/*
 * 78 78 <L> 80 <n> <flag u32> <text> [00 <language>] <serial> <CRC> 0D 0A
 * back to a catalogue command; DYD,<pw>#/HFYD,<pw># are the alternative set.
 */
static int
rec_gt06(const uint8_t *p, size_t n, struct tk_cmd *c, char *err, size_t errlen)
{
	if (n < 16 || p[0] != 0x78 || p[1] != 0x78 || p[3] != 0x80 || (size_t)p[2] + 5 != n ||
	    p[n - 2] != 0x0D || p[n - 1] != 0x0A)
		return tk_errf(err, errlen, "not a gt06 command frame (78 78 <L> 80 ... 0D 0A)");
	if (tk_gt06_crc(p + 2, n - 6) != (uint16_t)(p[n - 4] << 8 | p[n - 3]))
		return tk_errf(err, errlen, "gt06: CRC mismatch in the command frame");
	/* after the text: the serial, CRC and stop bits (6), or a language
	 * word 00 01 (Chinese) / 00 02 (English) before them (8) */
	size_t cl = p[4], after = n >= 5 + cl ? n - 5 - cl : 0;
	if (cl < 5 || !(after == 6 || (after == 8 && p[5 + cl] == 0 &&
	    (p[6 + cl] == 1 || p[6 + cl] == 2))))
		return tk_errf(err, errlen, "gt06: command length %zu does not match the frame", cl);
	const char *t = (const char *)p + 9;
	size_t tl = cl - 4;
	static const struct { const char *s, *a0; } tab[] = {
		{"Relay,1#", "engine-stop"}, {"Relay,0#", "engine-resume"},
		{"WHERE#", "locate"}, {"DEFENSE,1#", "arm"}, {"DEFENSE,0#", "disarm"},
		{"RESET#", "reboot"}, {"STATUS#", "status"}, {"VERSION#", "version"},
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strlen(tab[i].s) == tl && memcmp(tab[i].s, t, tl) == 0)
			return rec_argv(TK_CS_GT06, c, 0, err, errlen, tab[i].a0, NULL, NULL, NULL,
			    NULL);
	char a[16];
	if (tl > 7 && tl < 7 + sizeof(a) && memcmp(t, "TIMER,", 6) == 0 && t[tl - 1] == '#') {
		memcpy(a, t + 6, tl - 7);
		a[tl - 7] = '\0';
		if (is_digits(a, 1, 5) && a[0] != '0' &&
		    rec_argv(TK_CS_GT06, c, 0, err, errlen, "track", a, NULL, NULL, NULL) == 0)
			return 0;
	}
	/* DYD,<6 digits># / HFYD,<6 digits>#: the password is not kept */
	bool dyd = tl == 11 && memcmp(t, "DYD,", 4) == 0;
	bool hfyd = tl == 12 && memcmp(t, "HFYD,", 5) == 0;
	if ((dyd || hfyd) && t[tl - 1] == '#') {
		memcpy(a, t + tl - 7, 6);
		a[6] = '\0';
		if (is_digits(a, 6, 6))
			return rec_argv(TK_CS_GT06_ALT, c, 0, err, errlen,
			    dyd ? "engine-stop" : "engine-resume", NULL, NULL, NULL, NULL);
	}
	return rec_custom(TK_CS_GT06, c, (const uint8_t *)t, tl, err, errlen);
}

int
tk_cmd_recognize(enum tk_dialect d, const uint8_t *p, size_t n, struct tk_cmd *c,
    char *devid, size_t idcap, char *err, size_t errlen)
{
	if (devid != NULL && idcap > 0)
		devid[0] = '\0';
	switch (d) {
	case TK_D_TK103:
		return rec_tk103(p, n, c, devid, idcap, err, errlen);
	case TK_D_GPS103:
		return rec_gps103(p, n, c, devid, idcap, err, errlen);
	case TK_D_XEXUN:
		return rec_xexun(p, n, c, err, errlen);
	case TK_D_XEXUN2:
		return rec_xexun2(p, n, c, devid, idcap, err, errlen);
	case TK_D_H02:
		return rec_h02(p, n, c, devid, idcap, err, errlen);
	case TK_D_GT06:
		return rec_gt06(p, n, c, err, errlen);
	default:
		return tk_errf(err, errlen, "no commands for dialect %s", tk_dialect_name(d));
	}
}

/* ---- simulator answers ------------------------------------------------- */

long
tk_cmd_sim_answer(const struct tk_cmd *c, const char *devid, int64_t time_ms,
    uint8_t *buf, size_t cap)
{
	struct out o = {buf, 0, cap, false};
	int y, mo, d, h, mi, s, ms;
	const char *id = devid ? devid : "";

	tk_civil_from_ms(time_ms, &y, &mo, &d, &h, &mi, &s, &ms);
	y %= 100;
	switch (c->set) {
	case TK_CS_TK103: {
		const char *code;
		switch (c->id) {
		case TK_CMD_LOCATE:
			putf(&o, "(%sBP04%02d%02d%02dA2234.0297N11405.9101E000.0%02d%02d%02d"
			    "000.0001000000L00000000)", id, y, mo, d, h, mi, s);
			return o.over ? -1 : (long)o.len;
		case TK_CMD_TRACK:
			putf(&o, "(%sBS08%04lX0000)", id, c->num);
			return o.over ? -1 : (long)o.len;
		case TK_CMD_TRACK_STOP: code = "BS0800000000"; break;
		case TK_CMD_ENGINE_STOP: code = "BV010"; break;
		case TK_CMD_ENGINE_RESUME: code = "BV011"; break;
		case TK_CMD_OUTPUT: code = c->sw ? "BV001" : "BV000"; break;
		case TK_CMD_REBOOT: code = "BT00"; break;
		case TK_CMD_VERSION: code = "BP07V1.0"; break;
		case TK_CMD_ODOMETER: code = "BX01"; break;
		case TK_CMD_CUSTOM:
			if (c->textlen >= 4 && c->text[0] == 'A') {
				putf(&o, "(%sB%.*s)", id, (int)(c->textlen > 40 ? 3 : c->textlen - 1),
				    c->text + 1);
				return o.over ? -1 : (long)o.len;
			}
			code = "BP03OK";
			break;
		default: return 0;
		}
		putf(&o, "(%s%s)", id, code);
		break;
	}
	case TK_CS_TK103_ALT:
		putf(&o, "(%s,ZC03,%02d%02d%02d,%02d%02d%02d,$%s OK$)", id, d, mo, y, h, mi, s,
		    cmd_names[c->id]);
		break;
	case TK_CS_GPS103: {
		char kw[8] = "";
		switch (c->id) {
		case TK_CMD_LOCATE: strcpy(kw, "tracker"); break;
		case TK_CMD_PHOTO: strcpy(kw, "vt01"); break;
		case TK_CMD_TRACK: strcpy(kw, "ct"); break;
		case TK_CMD_TRACK_STOP: strcpy(kw, "dt"); break;
		case TK_CMD_ENGINE_STOP: strcpy(kw, "jt"); break;
		case TK_CMD_ENGINE_RESUME: strcpy(kw, "kt"); break;
		case TK_CMD_ARM: strcpy(kw, "lt"); break;
		case TK_CMD_DISARM: strcpy(kw, "mt"); break;
		case TK_CMD_OVERSPEED: strcpy(kw, "ht"); break;
		case TK_CMD_MOVEMENT: strcpy(kw, "gt"); break;
		case TK_CMD_GEOFENCE: strcpy(kw, c->sw ? "ot" : "pt"); break;
		case TK_CMD_TIMEZONE: strcpy(kw, "it"); break;
		case TK_CMD_CUSTOM:
			if (c->textlen >= 1 && c->text[0] >= 'A' && c->text[0] <= 'Z') {
				kw[0] = (char)(c->text[0] - 'A' + 'a');
				kw[1] = 't';
			} else
				strcpy(kw, "ok");
			break;
		default: return 0;
		}
		putf(&o, "imei:%s,%s,%02d%02d%02d%02d%02d,,L,;", id, kw, y, mo, d, h, mi);
		break;
	}
	case TK_CS_XEXUN2: {
		/* a type 0x0007 frame from the device, echoing "OK" */
		static const char ok[] = "OK";
		uint8_t f[64];
		size_t n = 0;
		if (!is_digits(id, 15, 15))
			return 0;
		f[n++] = 0xFA; f[n++] = 0xAF; f[n++] = 0x00; f[n++] = 0x07;
		f[n++] = 0x00; f[n++] = 0x01;
		for (int i = 0; i < 16; i += 2)
			f[n++] = (uint8_t)((id[i] - '0') << 4 | (i + 1 < 15 ? id[i + 1] - '0' : 0));
		f[n++] = 0x00;
		f[n++] = 2;
		uint16_t ck = tk_xexun2_checksum((const uint8_t *)ok, 2);
		f[n++] = (uint8_t)(ck >> 8);
		f[n++] = (uint8_t)ck;
		f[n++] = 'O'; f[n++] = 'K';
		f[n++] = 0xFA; f[n++] = 0xAF;
		size_t k = tk_xexun2_escape(f, n, buf, cap);
		return k > 0 ? (long)k : -1;
	}
	case TK_CS_H02: {
		/* V4: the command word and its parameters, the command's time,
		 * then a position report at the device time */
		char t[7], word[TK_CMD_TEXT_MAX + 1];
		if (!all_of(id, 1, 20, NULL, true, false))
			return 0;
		if (c->hhmmss[0])
			memcpy(t, c->hhmmss, 7);
		else
			snprintf(t, sizeof(t), "%02u%02u%02u", (unsigned)h % 100u,
			    (unsigned)mi % 100u, (unsigned)s % 100u);
		switch (c->id) {
		case TK_CMD_ENGINE_STOP:
		case TK_CMD_ENGINE_RESUME: strcpy(word, "S20,DONE"); break;
		case TK_CMD_ARM:
		case TK_CMD_DISARM: strcpy(word, "SCF,DONE"); break;
		case TK_CMD_TRACK: snprintf(word, sizeof(word), "S71,22,%ld", c->num); break;
		case TK_CMD_CUSTOM:
			snprintf(word, sizeof(word), "%.*s", (int)h02_word(c), c->text);
			break;
		default: return 0;
		}
		putf(&o, "*HQ,%s,V4,%s,%s,%02d%02d%02d,A,2212.8745,N,11346.6574,E,000.00,000,"
		    "%02d%02d%02d,FFFFFBFF#", id, word, t, h, mi, s, d, mo, y);
		break;
	}
	case TK_CS_GT06:
	case TK_CS_GT06_ALT: {
		/* a 0x15 text answer: its length (4 + text), the server flag
		 * echoed, the text, language 00 02 (English); texts as GT06N
		 * units answer (the vectors' 0x15 frames) */
		char txt[96];
		uint8_t ct[5 + sizeof(txt) + 2];
		switch (c->id) {
		case TK_CMD_ENGINE_STOP: strcpy(txt, "Cut off the fuel supply: Success!"); break;
		case TK_CMD_ENGINE_RESUME: strcpy(txt, "Restore fuel supply: Success!"); break;
		case TK_CMD_LOCATE:
			snprintf(txt, sizeof(txt), "Lat:N22.214575,Lon:E113.777623,Course:0.00,"
			    "Speed:0.00,DateTime:%04d-%02d-%02d %02d:%02d:%02d", 2000 + y, mo, d,
			    h, mi, s);
			break;
		case TK_CMD_CUSTOM:
			snprintf(txt, sizeof(txt), "%.*s OK!", (int)(c->textlen > 40 ? 40 :
			    c->textlen), c->text);
			break;
		default: snprintf(txt, sizeof(txt), "%s OK!", cmd_names[c->id]); break;
		}
		size_t tl = strlen(txt);
		ct[0] = (uint8_t)(4 + tl);
		memset(ct + 1, 0, 4);
		memcpy(ct + 5, txt, tl);
		ct[5 + tl] = 0x00;
		ct[6 + tl] = 0x02;
		size_t k = tk_gt06_frame(0x15, ct, 7 + tl, 1, buf, cap);
		return k > 0 ? (long)k : -1;
	}
	default:
		/* xexun: no acknowledgement is known; SMS sets: not over GPRS */
		return 0;
	}
	return o.over ? -1 : (long)o.len;
}
