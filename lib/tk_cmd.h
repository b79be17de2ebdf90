/*
 * tk_cmd.h: the command catalogue.  Friendly command names (locate,
 * track 30s, engine-stop, set-server HOST PORT ...) that mean the same
 * thing in every dialect, their parameters validated, and their encoding
 * as the bytes a device of each dialect expects over GPRS, or as SMS text
 * of the Xexun and Coban configuration sets.  Also the reverse: which
 * device frame answers a command, and which catalogue command some
 * device-bound bytes are (for the simulator and round-trip tests).
 *
 * Pure functions: nothing here prints, allocates or does I/O.  Errors are
 * returned with a reason in a caller buffer.
 */
#ifndef TK_CMD_H
#define TK_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"
#include "tk_record.h"

/* A command set: a dialect's GPRS syntax, or an SMS configuration set. */
enum tk_cmd_set {
	TK_CS_TK103 = 0,	/* tk103 classic: (<id>AP00) */
	TK_CS_TK103_ALT,	/* tk103 alternative: [begin]sms2,<content>,[end] */
	TK_CS_GPS103,		/* Coban GPRS letters: **,imei:<IMEI>,B */
	TK_CS_XEXUN,		/* Xexun over GPRS: powercar<pw> 11 */
	TK_CS_XEXUN2,		/* Xexun binary FA AF frames, type 0x0007 */
	TK_CS_SMS_XEXUN,	/* SMS, Xexun TK102-2/TK103-2 set */
	TK_CS_SMS_COBAN,	/* SMS, Coban (gps103) set */
	TK_CS_H02,		/* H02 text: *HQ,<id>,<CMD>,<HHMMSS>,...# */
	TK_CS_GT06,		/* Concox GT06 online command 0x80 with text */
	TK_CS_GT06_ALT,		/* GT06, Traccar's gt06.alternative: DYD,<pw># */
	TK_CS__COUNT
};

const char	*tk_cmd_set_name(enum tk_cmd_set);	/* "tk103", "tk103-alt", ... */
int		 tk_cmd_set_parse(const char *, enum tk_cmd_set *);
enum tk_dialect	 tk_cmd_set_dialect(enum tk_cmd_set);
bool		 tk_cmd_set_is_sms(enum tk_cmd_set);
/* The set for a dialect (GPRS), with the alternative or SMS variant; -1
 * when the dialect has no such variant. */
int		 tk_cmd_set_for(enum tk_dialect, bool alt, bool sms, enum tk_cmd_set *);

enum tk_cmd_id {
	TK_CMD_LOCATE = 0, TK_CMD_TRACK, TK_CMD_TRACK_STOP, TK_CMD_ENGINE_STOP,
	TK_CMD_ENGINE_RESUME, TK_CMD_ARM, TK_CMD_DISARM, TK_CMD_REBOOT,
	TK_CMD_POWER_OFF, TK_CMD_OUTPUT, TK_CMD_SET_SERVER, TK_CMD_SET_APN,
	TK_CMD_SOS_NUMBER, TK_CMD_SOS, TK_CMD_OVERSPEED, TK_CMD_MOVEMENT,
	TK_CMD_SHOCK, TK_CMD_GEOFENCE, TK_CMD_TIMEZONE, TK_CMD_PHOTO,
	TK_CMD_VERSION, TK_CMD_STATUS, TK_CMD_IDENTIFY, TK_CMD_SLEEP,
	TK_CMD_ODOMETER, TK_CMD_GPRS, TK_CMD_BEGIN, TK_CMD_PASSWORD,
	TK_CMD_FACTORY_RESET, TK_CMD_CUSTOM,
	TK_CMD__COUNT
};

const char	*tk_cmd_name(enum tk_cmd_id);
int		 tk_cmd_lookup(const char *name, enum tk_cmd_id *);
/* One line saying what the command does, whatever the dialect. */
const char	*tk_cmd_summary(enum tk_cmd_id);

/* How a set supports a command (all strings static). */
struct tk_cmd_info {
	const char	*usage;		/* "track INTERVAL" */
	const char	*bytes;		/* "(<id>AR00<%04X seconds>0000)" */
	const char	*answer;	/* what answers it, or "none known" */
	const char	*source;	/* "Traccar", "community" or "Traccar bytes, community meaning" */
};
/* 0 and *info filled, or -1 when the set does not support the command. */
int	tk_cmd_info(enum tk_cmd_set, enum tk_cmd_id, struct tk_cmd_info *);
/* Comma-separated names the set supports, for error messages. */
size_t	tk_cmd_supported(enum tk_cmd_set, char *out, size_t cap);

/* Flags for parsing and encoding. */
#define TK_CMD_F_RAW		0x01	/* allow delimiter characters in free text */
#define TK_CMD_F_SEMICOLON	0x02	/* gps103: end with ';' */

#define TK_CMD_TEXT_MAX		1000	/* custom text (xexun2's 10-bit length) */
#define TK_CMD_ARG_MAX		64	/* host, APN, user, password, phone, coordinate */
#define TK_CMD_OUT_MAX		(TK_CMD_TEXT_MAX * 2 + 64)	/* any encoding fits */

/* A parsed, validated command. */
struct tk_cmd {
	enum tk_cmd_set	 set;
	enum tk_cmd_id	 id;
	unsigned	 flags;
	int		 sw;			/* on/off (1/0), sleep mode, -1 if none */
	long		 num;			/* seconds, port, km/h, output number */
	long		 num2;			/* hours*100 for timezone */
	double		 coord[4];		/* geofence lat1 lon1 lat2 lon2 */
	char		 arg[4][TK_CMD_ARG_MAX];	/* host, apn/user/pass, phone, coords as given */
	char		 text[TK_CMD_TEXT_MAX + 1];	/* custom */
	size_t		 textlen;
	char		 hhmmss[7];		/* h02 send time HHMMSS; "": the clock (UTC) */
};

/*
 * Parse argv[0] (the command name) and its parameters for a set.
 * Returns 0, or -1 with a reason in err: an unknown command, a command
 * the set does not support (the reason lists what it does support), a
 * bad or out-of-range parameter, or free text carrying delimiters that
 * would inject a second command (unless TK_CMD_F_RAW).
 */
int	tk_cmd_parse(enum tk_cmd_set, int argc, char *const argv[], unsigned flags,
	    struct tk_cmd *, char *err, size_t errlen);

/*
 * Encode for a device.  devid: the tk103 device id ([A-Za-z0-9]{1,20}) or
 * the IMEI (gps103 [0-9A-Za-z]{1,20}, xexun2 exactly 15 digits); unused by
 * the SMS sets and tk103-alt.  password: the device password (6 digits),
 * NULL for 123456.  SMS sets may produce several messages, one per line
 * ('\n'-separated, no trailing newline).  Returns the length, or -1 with
 * a reason.  cap >= TK_CMD_OUT_MAX always suffices.
 */
long	tk_cmd_encode(const struct tk_cmd *, const char *devid, const char *password,
	    uint8_t *out, size_t cap, char *err, size_t errlen);

/* xexun2 framing (escaping, checksum): see tk_xexun2.h. */

/*
 * Is this device frame the answer to the command?  The frame-level test
 * looks at the bytes only (the frame that the dialect uses to acknowledge
 * or answer that command); the record-level one uses r->raw when present
 * and the record type otherwise.
 */
bool	tk_cmd_answer_frame(const struct tk_cmd *, const uint8_t *f, size_t n);
bool	tk_cmd_answer_match(const struct tk_cmd *, const struct tk_record *);
/* Does the set have a known answer for the command (can -w wait)? */
bool	tk_cmd_has_answer(enum tk_cmd_set, enum tk_cmd_id);

/*
 * Map device-bound bytes back to a catalogue command of the GPRS sets of
 * dialect d (tk103 tries the classic then the alternative syntax).  On
 * success fills *c (and devid, if the bytes carry one, NUL terminated) and
 * returns 0; -1 with a reason otherwise.
 */
int	tk_cmd_recognize(enum tk_dialect, const uint8_t *p, size_t n, struct tk_cmd *c,
	    char *devid, size_t idcap, char *err, size_t errlen);

/*
 * A plausible answer frame for the simulator: the bytes a device of the
 * set would send back for the command.  time_ms is the device time.
 * Returns the length, 0 if the command has no known answer, -1 if cap is
 * too small.  cap >= 512 suffices.
 */
long	tk_cmd_sim_answer(const struct tk_cmd *, const char *devid, int64_t time_ms,
	    uint8_t *out, size_t cap);

#endif
