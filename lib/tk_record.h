/*
 * tk_record.h: the decoded record (one position, event, login, heartbeat,
 * reply or photo) and its JSON / CSV writers.
 *
 * A record is a fixed-size value with no heap pointers: decoders fill one,
 * hand it to the caller's emit callback, and reuse it.  Attribute keys are
 * static strings (Traccar's attribute names); string values live in the
 * record's own bounded arena.
 */
#ifndef TK_RECORD_H
#define TK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"

#define TK_ID_MAX	32	/* uniqueId, NUL included */
#define TK_ATTR_MAX	64	/* attributes per record */
#define TK_SBUF_MAX	2048	/* string arena per record */
#define TK_ALARM_MAX	128	/* "sos,overspeed,..." */
#define TK_TIME_NONE	INT64_MIN

/*
 * Plausible values for a fix (what tk-geofence and tk-track accept): a
 * finite latitude within [-90, 90], a finite longitude within [-180, 180],
 * and a time (ms, TK_TIME_NONE: none) from 2000-01-01T00:00:00Z (no TK103
 * device reported earlier) to a day after now_ms (clock skew, time zones).
 * NULL when plausible, else what is not ("latitude out of range" ...).
 */
#define TK_TIME_MIN_MS		946684800000LL	/* 2000-01-01T00:00:00Z */
#define TK_TIME_AHEAD_MS	86400000LL	/* a day */
const char	*tk_fix_implausible(double lat, double lon, int64_t t_ms, int64_t now_ms);

enum tk_rtype {
	TK_R_POSITION = 0,	/* has a fix: latitude/longitude present */
	TK_R_EVENT,		/* alarm or status without a location */
	TK_R_LOGIN,
	TK_R_HEARTBEAT,
	TK_R_REPLY,		/* answer to a command (text, parameters) */
	TK_R_PHOTO,		/* a completed photo */
	TK_R__COUNT
};

enum tk_vtype { TK_V_INT, TK_V_NUM, TK_V_BOOL, TK_V_STR };

#define TK_CELL_MAX	8
#define TK_WIFI_MAX	8

/* A cell tower, as Traccar's network.cellTowers[] (JSON "network"). */
struct tk_cell {
	uint16_t	 mcc, mnc;	/* 0 when the device does not say */
	bool		 has_mcc;
	int16_t		 rssi;
	bool		 has_rssi;
	uint32_t	 lac;
	uint64_t	 cid;
};

/* A WiFi access point, as Traccar's network.wifiAccessPoints[]. */
struct tk_wifi {
	uint8_t		 mac[6];
	int16_t		 rssi;
	bool		 has_rssi;
	int16_t		 channel;	/* -1 when unknown */
};

struct tk_attr {
	const char	*key;		/* static string, or inside sbuf */
	uint8_t		 type;		/* enum tk_vtype */
	uint8_t		 prec;		/* TK_V_NUM: decimals to print (max 9) */
	uint16_t	 len;		/* TK_V_STR: byte length */
	uint8_t		 keyn;		/* the key's length when it is known to be
					 * plain ASCII (a literal), else 0 */
	union {
		int64_t	 i;		/* TK_V_INT, TK_V_BOOL */
		double	 d;		/* TK_V_NUM */
		uint32_t off;		/* TK_V_STR: offset in sbuf */
	} v;
};

struct tk_record {
	enum tk_rtype	 type;
	enum tk_dialect	 dialect;
	char		 id[TK_ID_MAX];		/* "" when unknown */
	int64_t		 fix_time;		/* ms since the epoch, UTC, or TK_TIME_NONE */
	int64_t		 device_time;
	int64_t		 server_time;
	bool		 has_pos;		/* latitude/longitude valid numbers */
	bool		 valid;			/* the device says the fix is valid */
	bool		 has_alt, has_speed, has_course;
	double		 lat, lon;		/* decimal degrees */
	double		 alt;			/* metres */
	double		 speed;			/* knots, as Traccar */
	double		 course;		/* degrees */
	char		 alarm[TK_ALARM_MAX];	/* comma-joined Traccar alarms */
	unsigned	 ncell, nwifi;
	struct tk_cell	 cell[TK_CELL_MAX];
	struct tk_wifi	 wifi[TK_WIFI_MAX];
	unsigned	 nattr;
	uint64_t	 keymask;		/* a bit per key hash set (slot()) */
	bool		 truncated;		/* an attribute or string did not fit */
	struct tk_attr	 attr[TK_ATTR_MAX];
	uint32_t	 slen;
	char		 sbuf[TK_SBUF_MAX];
	const uint8_t	*raw;			/* the frame, for -r; not owned */
	size_t		 rawlen;
};

/* Reset to an empty record of the given dialect and type. */
void	tk_rec_init(struct tk_record *, enum tk_dialect, enum tk_rtype);

/* Attribute setters.  A key set twice keeps the last value.  When the
 * record is full the attribute is dropped and r->truncated is set. */
void	tk_rec_int(struct tk_record *, const char *key, int64_t);
void	tk_rec_num(struct tk_record *, const char *key, double, int prec);
void	tk_rec_bool(struct tk_record *, const char *key, bool);
void	tk_rec_str(struct tk_record *, const char *key, const void *s, size_t n);
void	tk_rec_cstr(struct tk_record *, const char *key, const char *s);
/*
 * The same with keyn, the key's length when the key is plain ASCII that
 * JSON takes as it is, or 0 (tk_json_record then scans and escapes it).
 * The macros below pass it for keys the compiler knows (the literals and
 * static tables of our decoders: identifiers), so that the writer copies
 * them instead of scanning them byte by byte.
 */
void	tk_rec_int_k(struct tk_record *, const char *key, size_t keyn, int64_t);
void	tk_rec_num_k(struct tk_record *, const char *key, size_t keyn, double, int prec);
void	tk_rec_bool_k(struct tk_record *, const char *key, size_t keyn, bool);
void	tk_rec_str_k(struct tk_record *, const char *key, size_t keyn, const void *s,
	    size_t n);
#if defined(__GNUC__) && defined(__OPTIMIZE__)
#define TK_KEYN(k)	(__builtin_constant_p(__builtin_strlen(k)) && \
			 __builtin_strlen(k) < 256 ? __builtin_strlen(k) : 0)
#define tk_rec_int(r, k, v)	tk_rec_int_k((r), (k), TK_KEYN(k), (v))
#define tk_rec_num(r, k, v, p)	tk_rec_num_k((r), (k), TK_KEYN(k), (v), (p))
#define tk_rec_bool(r, k, v)	tk_rec_bool_k((r), (k), TK_KEYN(k), (v))
#define tk_rec_str(r, k, s, n)	tk_rec_str_k((r), (k), TK_KEYN(k), (s), (n))
#endif
/* Copy a key built at run time (io5, cell2Lac ...) into the arena. */
const char *tk_rec_key(struct tk_record *, const char *key);
/* Append an alarm to r->alarm (no duplicates). */
void	tk_rec_alarm(struct tk_record *, const char *alarm);
const struct tk_attr *tk_rec_get(const struct tk_record *, const char *key);
void	tk_rec_set_id(struct tk_record *, const char *id, size_t n);

/* Append a cell tower / access point; false (and truncated) when full. */
bool	tk_rec_cell(struct tk_record *, const struct tk_cell *);
bool	tk_rec_wifi(struct tk_record *, const struct tk_wifi *);

const char *tk_rtype_name(enum tk_rtype);

/* Output buffer for the writers: a growable-free bounded buffer.  The
 * writers never overflow: they return -1 when cap is too small. */
struct tk_buf {
	char	*p;
	size_t	 len, cap;
};

#define TK_JSON_RAW	0x01	/* carry the raw frame as "raw" (hex) */

/* Room that always holds one record's JSON (tk_json_record), whatever its
 * contents: every string escaped at 6 bytes a byte, every attribute at its
 * longest (a static key is shorter than 40 bytes), and the raw frame. */
#define TK_JSON_MAX(rawlen)	(6 * TK_SBUF_MAX + TK_ATTR_MAX * 80 + 8192 + 2 * (size_t)(rawlen))

/* Append one JSON object and a '\n'.  Returns 0, or -1 if it did not fit
 * (b->len is then unchanged).  Output is valid UTF-8 whatever the input. */
int	tk_json_record(struct tk_buf *, const struct tk_record *, int flags);
/* CSV: one header line, then one line per record; uniqueId is always
 * quoted.  tk_csvt writes the matching .csvt line, the column types GDAL
 * reads beside a CSV file (ids as text, latitude/longitude as the point). */
int	tk_csv_header(struct tk_buf *);
int	tk_csv_record(struct tk_buf *, const struct tk_record *);
int	tk_csvt(struct tk_buf *);

/*
 * The other formats, separate writers (tk_json_record is left alone).
 * Each appends one line and returns 0, -1 when it did not fit (b->len is
 * then unchanged), or 1 when the record has no place in that format
 * (nothing appended).  TK_FMT_MAX(rawlen) always holds one line.
 *
 * tk_geojson_record: a GeoJSON Feature (RFC 7946) with a Point, one per
 * line (GDAL's GeoJSONSeq); the properties are the members of
 * tk_json_record with the attributes moved up beside them.  Records
 * without a location: 1.  TK_JSON_RAW adds "raw".
 *
 * tk_traccar_record: Traccar's forwarding envelope,
 * {"position":{...,"deviceId":N},"device":{"id":N,"uniqueId":...}}, times
 * with "+00:00".  Logins, heartbeats and records without an id: 1.  The
 * deviceId is tk_traccar_device_id(uniqueId), a stable 53-bit number.
 */
#define TK_FMT_MAX(rawlen)	(TK_JSON_MAX(rawlen) + 2048)
int	tk_geojson_record(struct tk_buf *, const struct tk_record *, int flags);
int	tk_traccar_record(struct tk_buf *, const struct tk_record *);
uint64_t tk_traccar_device_id(const char *uniqueId);

/* Small formatting helpers shared by the writers and the tools. */
size_t	tk_fmt_time(char *out, int64_t ms);	/* 2011-09-01T15:01:20.000Z, 24 bytes + NUL */
size_t	tk_fmt_num(char *out, double v, int prec); /* fixed decimals, trailing zeros trimmed */
/* quoted, escaped, UTF-8 repaired, into the room b has (6n + 2 bytes at most) */
int	tk_buf_json_str(struct tk_buf *, const void *s, size_t n);
/* Room for n more bytes and a NUL, b grown as needed: 0, or -1 when out of memory. */
int	tk_buf_reserve(struct tk_buf *, size_t n);
/* Append n bytes, a NUL kept after them: 0, or -1 when out of memory. */
int	tk_buf_add(struct tk_buf *, const void *p, size_t n);

#endif
