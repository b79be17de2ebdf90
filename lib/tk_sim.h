/*
 * tk_sim.h: the device side of the six dialects, for tk-sim, the tests
 * and the benchmarks: frame generators (login, heartbeat, position, alarm),
 * the reply a correct server owes each generated frame (written from
 * docs/protocol/README.md, Replies at a glance, independently of tk_reply()), the answers a
 * device gives to server commands, and routes to drive along.
 *
 * Nothing here prints, exits or touches a socket.  Generators write into a
 * caller buffer and return the length, or 0 when the dialect has no such
 * frame or the buffer is too small (TK_SIM_FRAME_MAX always suffices).
 */
#ifndef TK_SIM_H
#define TK_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"

#define TK_SIM_FRAME_MAX	512	/* any generated frame, escaped */
#define TK_SIM_REPLY_MAX	64	/* any expected reply */

/* One simulated device: its identity and the counters its frames carry. */
struct tk_sim_dev {
	enum tk_dialect	 dialect;	/* TK_D_XEXUN, TK_D_TK103, TK_D_GPS103, TK_D_XEXUN2,
					 * TK_D_GT06, TK_D_H02 */
	char		 imei[16];	/* 15 digits */
	char		 id[13];	/* tk103 device id, 12 characters; h02: 10 digits */
	char		 phone[16];	/* xexun phone field, may be "" */
	int		 tz_min;	/* gps103 local time offset from UTC, minutes */
	uint16_t	 index;		/* xexun2 frame index, gt06 serial: +1 per frame */
	uint8_t		 rec_index;	/* xexun2 record index */
	uint32_t	 odometer_m;	/* tk103 odometer */
	uint8_t		 battery;	/* percent, 0-100 */
	bool		 binary;	/* h02: reports as binary $ records (no answer due) */
};

/* A fix to report. */
struct tk_sim_pos {
	int64_t		 time_ms;	/* UTC, ms since the epoch (whole seconds are sent) */
	double		 lat, lon;	/* decimal degrees */
	double		 speed_kmh;
	double		 course;	/* degrees, 0 <= course < 360 */
	double		 alt;		/* metres */
	int		 sats;
	bool		 valid;
};

enum tk_sim_kind {
	TK_SIM_LOGIN = 0,	/* tk103 BP05, gps103 ##, gt06 0x01; xexun2: a position (acked) */
	TK_SIM_HEARTBEAT,	/* tk103 BP00 handshake, gps103 bare IMEI, gt06 0x13, h02 HTBT */
	TK_SIM_POSITION,	/* tk103 BR00, gps103 tracker, xexun GPRMC, xexun2 0x14,
				 * gt06 0x22, h02 V1 (or a binary $ record) */
	TK_SIM_ALARM,		/* tk103 BO01n, gps103/xexun keyword, xexun2 alarm bits,
				 * gt06 0x26 alarm code, h02 V1 status bits */
	TK_SIM_ANSWER,		/* a position sent in answer to a command (tk103 BP04) */
	TK_SIM__KINDS
};

/* Alarms a simulated device raises (mapped to each dialect's vocabulary). */
enum tk_sim_alarm {
	TK_SIM_A_SOS = 0,
	TK_SIM_A_LOWBATT,
	TK_SIM_A_OVERSPEED,
	TK_SIM_A_GEOFENCE,
	TK_SIM_A_VIBRATION,
	TK_SIM_A_ACCIDENT,
	TK_SIM_A__COUNT
};

const char	*tk_sim_kind_name(enum tk_sim_kind);
const char	*tk_sim_alarm_name(enum tk_sim_alarm);

/*
 * Give device number n (0-based) of the dialect its identity: a valid
 * (Luhn) IMEI 86... derived from base + n, the tk103 id (the IMEI's last 12
 * digits), a phone number.  tz_min is left at 0.
 */
void	 tk_sim_dev_init(struct tk_sim_dev *, enum tk_dialect, uint64_t base, uint64_t n);

/* The id the device reports: the tk103 id, the h02 id, else the IMEI. */
const char *tk_sim_dev_id(const struct tk_sim_dev *);

/* Does the dialect open a session with a login frame (TK_SIM_LOGIN)?
 * xexun and h02 have none: their first report stands in. */
bool	 tk_sim_has_login(enum tk_dialect);
/* Does a device of the dialect wait for the login's answer before it
 * sends anything else (gt06: a unit never reports before its login ACK)? */
bool	 tk_sim_login_gates(enum tk_dialect);

/*
 * Generate one frame of the given kind (alarm is used by TK_SIM_ALARM only).
 * Returns its length, or 0 when this dialect has no such frame (xexun and
 * h02 have no login, xexun has no heartbeat; xexun2 has no heartbeat) or
 * cap is too small.  xexun2 frames advance dev->index and dev->rec_index,
 * gt06 frames dev->index (the serial).
 */
size_t	 tk_sim_frame(struct tk_sim_dev *, enum tk_sim_kind, const struct tk_sim_pos *,
	    enum tk_sim_alarm alarm, uint8_t *out, size_t cap);

/*
 * The reply a correct server sends for frame f of dialect d (docs/protocol/
 * README.md, Replies at a glance), or 0 when none is due.  Written from the document, not from
 * tk_reply(), so that the two can check each other.  The optional tk103
 * alarm acknowledgement (AS01) is not counted as due.  A reply that carries
 * the server's clock (h02 V4: yyyyMMddHHmmss) has TK_SIM_ANY_TIME bytes in
 * its place: compare with tk_sim_reply_match().
 */
size_t	 tk_sim_expect(enum tk_dialect, const uint8_t *f, size_t n, uint8_t *out, size_t cap);

#define TK_SIM_ANY_TIME		0x01	/* in an expected h02 reply: a digit of the server's time */
#define TK_SIM_CLOCK_SKEW_MS	300000	/* how far the server's time may be from ours */

/*
 * Compare the bytes received so far (r, rn) with an expected reply e of the
 * dialect from tk_sim_expect(): 1 when r starts with the whole reply (a time in it is a
 * calendar time within TK_SIM_CLOCK_SKEW_MS of now_ms), 0 when r is a
 * proper prefix of it (wait for more), -1 when it differs.
 */
int	 tk_sim_reply_match(enum tk_dialect, const uint8_t *e, size_t en, const uint8_t *r,
	    size_t rn, int64_t now_ms);

/* What a command asks the device to do, besides the answer bytes. */
struct tk_sim_effect {
	bool		 recognised;	/* the bytes are a command for this device */
	double		 interval_s;	/* > 0: report every interval_s from now on */
	bool		 stop;		/* stop periodic reports */
	bool		 engine_stop, engine_resume;
	bool		 reboot;
};

/*
 * The device's answer to command bytes c received from the server.  The
 * command catalogue recognises them (tk_cmd_recognize(), which also checks
 * the device id) and gives the answer bytes (tk_cmd_sim_answer(): tk103
 * (<id>B..), the ZC03 result for the alternative syntax, gps103 <x>t
 * acknowledgements, an xexun2 type 0x0007 frame; xexun has none); a locate
 * is answered with a position from the generators here (tk103 BP04, gps103
 * tracker).  Returns the answer length (0 if none); eff says what else to do.
 */
size_t	 tk_sim_answer(struct tk_sim_dev *, const struct tk_sim_pos *,
	    const uint8_t *c, size_t n, struct tk_sim_effect *eff,
	    uint8_t *out, size_t cap);

/* xexun2 escaping between the flags (FA AF -> FB BF 01, FB BF -> FB BF 02).
 * Returns the output length, or 0 if cap is too small. */
size_t	 tk_sim_x2_escape(const uint8_t *p, size_t n, uint8_t *out, size_t cap);
/* The inverse; returns the output length, 0 on a bad escape or small cap. */
size_t	 tk_sim_x2_unescape(const uint8_t *p, size_t n, uint8_t *out, size_t cap);

/* ---- routes ---------------------------------------------------------- */

struct tk_sim_route {
	size_t		 n;		/* points */
	double		*lat, *lon;
	double		*cum;		/* metres from the first point */
	double		 len;		/* total length, metres */
	bool		 closed;	/* first point == last: go round, else back and forth */
};

#define TK_SIM_ROUTE_MAXPTS	1000000

/*
 * Parse a GeoJSON LineString (a bare geometry, a Feature, or the first
 * LineString Feature of a FeatureCollection; coordinates [lon, lat]).
 * 0, or -1 with err set.
 */
int	 tk_sim_route_geojson(struct tk_sim_route *, const char *text, size_t n,
	    char *err, size_t errlen);
/* A closed polygon of npts points on a circle of radius_m around lat/lon. */
int	 tk_sim_route_circle(struct tk_sim_route *, double lat, double lon,
	    double radius_m, unsigned npts);
void	 tk_sim_route_free(struct tk_sim_route *);
/* The point dist_m metres along the route (wrapping as described), and the
 * course there in degrees. */
void	 tk_sim_route_at(const struct tk_sim_route *, double dist_m, double *lat,
	    double *lon, double *course);

/* A small, fast, seedable generator (splitmix64), for reproducible runs. */
uint64_t tk_sim_rand(uint64_t *state);
/* Uniform in [0, 1). */
double	 tk_sim_rand01(uint64_t *state);

#endif
