/*
 * tk_simrun.h: tk-sim's engine.  Many simulated devices (their frames,
 * expected replies and command answers come from tk_sim.h) driven on one
 * schedule, a min-heap of per-device deadlines: live, against a server
 * over TCP or UDP through the tk_loop seam, or in simulated time into a
 * file as tk-frame(5) lines or raw bytes (the corpus mode).
 *
 * The engine never prints or exits: warnings go through the log callback,
 * errors come back as -1 with errno set and a reason in the caller's
 * buffer, and what happened is in the counters (tk_simrun_stats).
 */
#ifndef TK_SIMRUN_H
#define TK_SIMRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"
#include "tk_sim.h"

/* The ways a device can misbehave (tk-sim --misbehave). */
enum tk_simrun_mis {
	TK_SIMRUN_NONE = 0,
	TK_SIMRUN_IDLE,		/* connect, send nothing */
	TK_SIMRUN_SLOW,		/* every frame a byte at a time */
	TK_SIMRUN_OVERSIZE,	/* a frame opener, then 1 MiB with no delimiter */
	TK_SIMRUN_RANDOM,	/* random binary chunks every interval */
	TK_SIMRUN_FLOOD,	/* connect, log in, reset, again and again */
	TK_SIMRUN_IMPERSONATE,	/* heartbeats naming the ids of seed -s (claims) */
	TK_SIMRUN_TRICKLE,	/* log in, then a byte a second, never a whole frame */
	TK_SIMRUN_HALFFRAME,	/* log in, then half a report, then nothing */
	TK_SIMRUN__MIS
};

const char	*tk_simrun_mis_name(enum tk_simrun_mis);
/* 0, or -1 when name is not a mode ("none" is not accepted;
 * "idle-unidentified" is idle). */
int		 tk_simrun_mis_parse(const char *name, enum tk_simrun_mis *);

/* A server to connect to.  Devices with a backup server try the list in
 * turn: a device whose connection fails or is lost moves to the next. */
struct tk_simrun_server {
	const char	*host, *port;
};

#define TK_SIMRUN_SERVERS_MAX	16

struct tk_simrun_opts {
	enum tk_dialect	 dialect;	/* one of tk_sim's dialects */
	bool		 mix;		/* the six dialects in turn (five with udp: no gt06) */
	bool		 udp;		/* datagrams (and "udp" in frame lines) */
	bool		 h02_binary;	/* h02 reports as binary $ records */
	long		 ndev;		/* devices, 1 to 1000000 */
	/* live mode */
	const struct tk_simrun_server *servers;	/* borrowed; nservers of them */
	size_t		 nservers;	/* 0: the one server host, port */
	const char	*host, *port;
	bool		 spread;	/* device i starts at server i % nservers, not the first */
	uint32_t	 src_lo, src_hi;	/* local IPv4 range, host order; 0: none */
	double		 reconnect;	/* s: close and connect again, 0: never */
	double		 grace;		/* s: wait for due replies and the server's close after stopping */
	double		 ramp;		/* new connections per second */
	enum tk_simrun_mis mis;
	/* file mode, when out_fd >= 0: frame lines (raw: the bytes) */
	int		 out_fd;
	bool		 raw;
	/* both */
	double		 interval;	/* s between reports; 0: as fast as possible (live) */
	double		 duration;	/* s, 0: until frames_max */
	uint64_t	 frames_max;	/* 0: no limit */
	double		 heartbeat;	/* s, 0: none */
	double		 alarms;	/* probability that a report is an alarm */
	double		 speed;		/* mean km/h */
	uint64_t	 seed;
	double		 start_lat, start_lon;	/* centre of the generated circles */
	const struct tk_sim_route *route;	/* borrowed; NULL: circles */
	void		(*log)(void *arg, const char *msg);
	void		*log_arg;
};

/* tk-sim's defaults: tk103, 1 device, 127.0.0.1, a 10 s interval, 60 s
 * heartbeats, 2 s grace, 40 km/h, 5000 connections/s, seed 1, Berlin. */
void	tk_simrun_opts_default(struct tk_simrun_opts *);

struct tk_simrun_lat {
	size_t		 n;		/* samples kept */
	uint32_t	 p50, p99, max;	/* microseconds */
};

/* Per server: what went there. */
struct tk_simrun_srvstats {
	char		 name[80];	/* host:port ([v6]:port) as given */
	uint64_t	 connects, connect_failed, closed_by_peer;
	uint64_t	 frames;	/* frames sent there (answers included) */
	uint64_t	 ok, wrong, missing;	/* its replies */
};

struct tk_simrun_stats {
	double		 elapsed_s;
	uint64_t	 connects, connect_failed, closed_by_peer, disconnects;
	uint64_t	 max_up, up;	/* connections at once: most, now */
	uint64_t	 frames, bytes, logins, heartbeats, positions, alarms;
	uint64_t	 due;		/* replies awaited: ok + wrong + missing at the end */
	uint64_t	 ok, wrong, missing;	/* replies */
	uint64_t	 commands, answers, alarm_acks, unknown_rx, dropped, rx_bytes;
	/* TCP connections the server had not closed when the grace ran out
	 * (the devices stop writing and wait for it), and the bytes sent on
	 * them its host had not acknowledged then: frames counted as sent that
	 * may not get there */
	uint64_t	 unconfirmed, unacked_bytes;
	struct tk_simrun_lat login_lat, reply_lat;
	size_t		 nservers;
	struct tk_simrun_srvstats server[TK_SIMRUN_SERVERS_MAX];
};

struct tk_simrun;

/*
 * Set the devices up; in live mode resolve the server and make the event
 * loop (so that the caller can harden the process before running).  NULL
 * with the reason in err (errno set) on failure.
 */
struct tk_simrun *tk_simrun_new(const struct tk_simrun_opts *, char *err, size_t errlen);
/*
 * Run a slice: wait at most max_wait_ms (-1: the engine's own waits) for
 * events and handle what is due.  1 while running, 0 when the run is over
 * (limits reached or stopped, replies waited for, every connection closed),
 * -1 on a fatal error with errno set and the reason in err (in file mode
 * the output's errno, EPIPE when its reader went away).
 */
int	tk_simrun_step(struct tk_simrun *, int max_wait_ms, char *err, size_t errlen);
/* Step until the run is over: 0, or -1 as tk_simrun_step. */
int	tk_simrun_run(struct tk_simrun *, char *err, size_t errlen);
/* Stop: the first call ends the run (after the grace period), the second
 * cuts the grace short.  Async-signal-safe. */
void	tk_simrun_stop(struct tk_simrun *);
/* The counters and latency percentiles so far. */
void	tk_simrun_stats(struct tk_simrun *, struct tk_simrun_stats *);
void	tk_simrun_free(struct tk_simrun *);

#endif
