/*
 * tk_server.h: tk-listen's engine.  One port, TCP and UDP, IPv4 and IPv6;
 * per-connection classification, framing and handshake replies; frame
 * lines (tk-frame(5)) to a non-blocking output through a bounded buffer
 * with backpressure; device registry; limits; the control socket.
 *
 * The library never prints: messages go through the log callback, and
 * errors are returned with a reason in the caller's buffer.
 */
#ifndef TK_SERVER_H
#define TK_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tk_record.h"

struct tk_idset;
struct tk_loop;
struct tk_sink;

enum tk_log_level { TK_LOG_WARN = 0, TK_LOG_INFO };

struct tk_server_dev {
	const char	*id;
	const char	*dialect;	/* its name */
	const char	*transport;	/* "tcp", "udp" */
	const char	*peer;		/* "192.0.2.7:40000" */
	int64_t		 since;		/* wall ms the session learned the id */
	int64_t		 last;		/* wall ms of its last frame */
	uint64_t	 frames;	/* frames of this session */
	bool		 online;
};

struct tk_server_opts {
	const char	*bind;		/* numeric address, NULL: any */
	int		 family;	/* AF_UNSPEC (both), AF_INET or AF_INET6 */
	uint16_t	 port;		/* 0: ephemeral (TCP picks, UDP follows) */
	bool		 reuseport;	/* share the port with other processes (SO_REUSEPORT) */
	int		 out_fd;	/* where frame lines go (stdout) */
	size_t		 out_max;	/* output buffer size (-B) */
	/*
	 * Another sink than out_fd (the bus): called once by tk_server_new
	 * with the server's loop; NULL with the reason in err on failure.
	 * The server owns the sink and frees it.
	 */
	struct tk_sink	*(*make_sink)(void *arg, struct tk_loop *, char *err, size_t errlen);
	void		*sink_arg;
	size_t		 frame_max;	/* -m: longest frame, 0: the dialect's */
	unsigned	 idle_s;	/* -t: idle timeout, 0: none */
	unsigned	 max_conns;	/* -c: TCP connections (and UDP peers) */
	unsigned	 max_per_peer;	/* -C: TCP connections per address, 0: no limit */
	/*
	 * --takeover: how long (s) the session holding a device id must have
	 * been silent before another session claiming the id takes it over
	 * (see "Identity" in tk_server.c).  0: TK_TAKEOVER_DEFAULT;
	 * TK_TAKEOVER_AT_ONCE: a newcomer always takes over (trusted networks).
	 */
	int		 takeover_s;
	/*
	 * --login-timeout: how long (s) a session that has not identified
	 * itself (no device id held, see promote() in tk_server.c) may go
	 * without a complete frame before it is closed (login-timeout).
	 * 0: TK_LOGIN_DEFAULT; TK_LOGIN_NEVER: only -t applies.
	 */
	int		 login_s;
	/* Device registry: most entries (0: 4 x max_conns, at least 1024) and
	 * how long an offline device is remembered (s, 0: TK_REG_TTL_DEFAULT). */
	size_t		 reg_max;
	unsigned	 reg_ttl_s;
	const char	*ctl_path;	/* -S: control socket, NULL: none */
	bool		 ctl_group;	/* -G given */
	gid_t		 ctl_gid;
	void		(*log)(void *arg, enum tk_log_level, const char *msg);
	void		*log_arg;
	bool		 verbose;	/* TK_LOG_INFO messages wanted */
	/*
	 * The fleet registry: a device came online here, is still online
	 * (every dev_refresh_ms while it sends frames; 0: never), or went
	 * offline here (not when another session or instance replaced it).
	 */
	void		(*on_device)(void *arg, const struct tk_server_dev *);
	void		*dev_arg;
	int64_t		 dev_refresh_ms;
	/* A command given by tk_server_queue() was sent to its device. */
	void		(*on_queued_sent)(void *arg, const char *id, uint64_t qid);
	/* More counters for tk_server_stats (SIGUSR1, STATS), or NULL. */
	int		(*more_stats)(void *arg, struct tk_buf *, const char *prefix);
};

#define TK_TAKEOVER_DEFAULT	60
#define TK_LOGIN_DEFAULT	60
#define TK_LOGIN_NEVER		(-1)
#define TK_TAKEOVER_AT_ONCE	(-1)
#define TK_REG_TTL_DEFAULT	86400

struct tk_server;

/* Open the sockets.  NULL on failure, with the reason in err. */
struct tk_server *tk_server_new(const struct tk_server_opts *, char *err, size_t errlen);
/* "tcp 127.0.0.1:8888, udp 127.0.0.1:8888" */
void		 tk_server_describe(const struct tk_server *, char *out, size_t cap);
uint16_t	 tk_server_port(const struct tk_server *);
/*
 * Wait up to timeout_ms for events and handle them, then the timers
 * (idle connections, accept back-off, expired commands) and the output.
 * Returns 0, or -1 on a fatal error with errno set (EPIPE: the output's
 * reader went away).
 */
int		 tk_server_run(struct tk_server *, int timeout_ms);
/* Graceful stop: close the control socket; read and write what the
 * sockets still hold (at most 2 s, within the output buffer); close the
 * listeners and every session (close lines, reason shutdown). */
void		 tk_server_shutdown(struct tk_server *);
/* Write out what is buffered, waiting up to timeout_ms.  0 when the buffer
 * is empty, 1 when not yet, -1 on error (errno set). */
int		 tk_server_flush(struct tk_server *, int timeout_ms);
/* Frame lines read and not delivered (lost if the process ends now). */
uint64_t	 tk_server_undelivered(const struct tk_server *);
/* Append the counters as "<prefix><name> <value>\n" lines (b grows as
 * needed; -1 when out of memory). */
int		 tk_server_stats(const struct tk_server *, struct tk_buf *, const char *prefix);
void		 tk_server_free(struct tk_server *);
/*
 * Run one control-protocol request (tk-cmd's, see tk-listen(1); WATCH
 * streams nothing here) and append the reply lines to out: requests that
 * come another way than the control socket (the bus).  0, or -1 when out
 * of memory.
 */
int		 tk_server_request(struct tk_server *, const char *line, size_t n,
		    struct tk_buf *out);
/*
 * A command queued elsewhere (the bus) for device id, with its fleet-wide
 * qid: sent when the device is next live here (now, if it is), then
 * on_queued_sent.  0, or -1 with errno (ENOSPC: TK_CTL_QUEUE_MAX commands
 * are waiting; EEXIST: the qid is there already; EINVAL, ENOMEM).
 */
int		 tk_server_queue(struct tk_server *, uint64_t qid, const char *id,
		    int64_t expires, const uint8_t *p, size_t n);
/* Forget a queued command (sent or cancelled elsewhere): 0, or -1 if unknown. */
int		 tk_server_unqueue(struct tk_server *, uint64_t qid);
/* Close the live session of device id (it moved to another instance),
 * reason "replaced".  1 when one was closed, else 0. */
int		 tk_server_kick(struct tk_server *, const char *id);

/*
 * The devices allowed (--devices; tk_registry.h), taken over by the
 * server; NULL: every id.  A session naming an id not in the set is
 * refused: its frames are written flagged refused=ID, never answered, and
 * it is closed (unknown-device).  Live sessions holding or claiming an id
 * the new set lacks are closed the same way.
 */
void		 tk_server_set_devices(struct tk_server *, struct tk_idset *);

/* Bytes of state per idle TCP connection (for tests and the man page). */
size_t		 tk_server_conn_size(void);

#endif
