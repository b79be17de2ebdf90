/*
 * tk_nats.h: the bus (NATS JetStream, through libnats).
 *
 * One connection per process (struct tk_nats): URLs, instance name,
 * credentials, TLS, reconnect with backoff.  libnats runs threads of its
 * own; everything they report (connection state, publish acks, messages
 * of a subscription) is queued and handed to the caller's thread through
 * a descriptor: tk_nats_attach() watches it in a tk_loop, tk_nats_poll()
 * waits on it for tools without a loop.  No callback of ours ever runs on
 * a libnats thread, and nothing here prints or exits: messages go to the
 * log callback, once per change of state.
 *
 * On top of it:
 *   - the bus sink (tk_nats_sink_new): tk-listen's frame lines published
 *     to the JetStream stream, each with a message id (instance, start
 *     time, sequence) so that a publish retried after a failure is stored
 *     once; lines are kept until JetStream acknowledged them, republished
 *     after a reconnect or an ack timeout, and delivered() reports the
 *     acknowledged watermark;
 *   - subscriptions and requests (the fleet registry, commands);
 *   - pull consumers (decoding workers), key-value reads (tk-cmd).
 *
 * Subjects: tk.frame.<dialect>.<id> (frame, junk and send lines; "_" for
 * an unknown dialect or a connection not yet identified), tk.conn.<id>
 * (open and close lines), tk.pos.<id> (decoded records),
 * tk.ctl.<instance> (control requests), $KV.tk_devices.<id> (registry).
 */
#ifndef TK_NATS_H
#define TK_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_record.h"
#include "tk_server.h"

struct tk_loop;
struct tk_sink;
struct tk_nats;

#define TK_NATS_STREAM		"TK_FRAMES"
#define TK_NATS_REGISTRY	"tk_devices"
#define TK_NATS_CMDQ		"tk_cmdq"
#define TK_NATS_NAME_MAX	128
/* How long a JetStream cluster may take to elect new leaders after a node
 * is lost (raft elections of 4 to 9 s, with a margin): what a request that
 * needs a leader waits before it counts as failed. */
#define TK_NATS_FAILOVER_MS	20000

struct tk_nats_opts {
	const char	*urls;		/* "nats://a:4222,nats://b:4222" (tls:// too) */
	const char	*name;		/* this instance: connection name, message ids */
	const char	*creds;		/* a .creds file (JWT + nkey), or NULL */
	const char	*user;		/* user/password, or NULL */
	const char	*password;
	const char	*ca;		/* CA certificates for tls:// (PEM file), or NULL */
	const char	*stream;	/* NULL: TK_FRAMES */
	int		 replicas;	/* when creating the stream and buckets (1..5) */
	int		 ack_timeout_ms; /* republish an unacknowledged line (0: 5000) */
	bool		 wait_connect;	/* fail now when no server answers (tk-cmd);
					 * else retry in the background */
	void		(*log)(void *arg, enum tk_log_level, const char *msg);
	void		*log_arg;
};

/* The subject an instance answers control requests on: tk.ctl.<name>,
 * with the characters a subject token cannot hold as '_'. */
void		 tk_nats_ctl_subject(char *out, size_t cap, const char *instance);

/* Connect.  NULL with the reason in err. */
struct tk_nats	*tk_nats_new(const struct tk_nats_opts *, char *err, size_t errlen);
void		 tk_nats_free(struct tk_nats *);
const char	*tk_nats_name(const struct tk_nats *);
/* Watch the event descriptor in loop (once). */
int		 tk_nats_attach(struct tk_nats *, struct tk_loop *);
/* Wait up to timeout_ms for events and handle them.  0, or -1 on error. */
int		 tk_nats_poll(struct tk_nats *, int timeout_ms);
bool		 tk_nats_connected(const struct tk_nats *);
/* Closed for good (the servers refused the credentials or TLS on a
 * reconnect): nothing more will be delivered. */
bool		 tk_nats_closed(const struct tk_nats *);
/*
 * Create the stream (subjects tk.frame.> and tk.conn.>, file storage, the
 * replicas asked) and the two buckets when missing.  Blocks up to a few
 * seconds.  0, or -1 with the reason in err.
 */
int		 tk_nats_ensure(struct tk_nats *, char *err, size_t errlen);

/* A message of a subscription, handed over on the caller's thread. */
typedef void (*tk_nats_fn)(void *arg, const char *subject, const char *reply,
		    const char *data, size_t len);
/* queue: a queue group, or NULL.  0, or -1 with the reason in err. */
int		 tk_nats_subscribe(struct tk_nats *, const char *subject, const char *queue,
		    tk_nats_fn, void *arg, char *err, size_t errlen);
/* Publish (no ack awaited).  0, or -1 when the connection refused it. */
int		 tk_nats_publish(struct tk_nats *, const char *subject, const char *reply,
		    const void *data, size_t len);
/*
 * A request and its reply (blocking, up to timeout_ms).  0 with the reply
 * appended to out; -1 with the reason in err (errno ETIMEDOUT, ENOENT
 * when nobody answers the subject, EIO otherwise).
 */
int		 tk_nats_request(struct tk_nats *, const char *subject, const void *data,
		    size_t len, int timeout_ms, struct tk_buf *out, char *err, size_t errlen);
/* A key's value in a bucket: 1 found (appended to out), 0 none, -1 error. */
int		 tk_nats_kv_get(struct tk_nats *, const char *bucket, const char *key,
		    struct tk_buf *out, char *err, size_t errlen);
/* Every live key of a bucket, in key order, and its value: fn per key. */
int		 tk_nats_kv_each(struct tk_nats *, const char *bucket,
		    void (*fn)(void *arg, const char *key, const char *val, size_t len),
		    void *arg, char *err, size_t errlen);
/* Put (blocking, acknowledged): 0 or -1. */
int		 tk_nats_kv_put(struct tk_nats *, const char *bucket, const char *key,
		    const void *val, size_t len, char *err, size_t errlen);
/* Create a key that must not exist yet: 0, or -1 (errno EEXIST when it does). */
int		 tk_nats_kv_create(struct tk_nats *, const char *bucket, const char *key,
		    const void *val, size_t len, char *err, size_t errlen);
int		 tk_nats_kv_delete(struct tk_nats *, const char *bucket, const char *key,
		    char *err, size_t errlen);

/*
 * Asynchronous requests, for the loop's thread (registry puts, deletes):
 * the reply comes to fn on the owner's thread, with status 0 and the
 * reply's data (arg and tok as given), ENOENT when nobody answers the subject (no stream holds
 * it), or ETIMEDOUT when none came within TK_NATS_REQ_TIMEOUT_MS
 * (checked by tk_nats_tick).  Returns the request's id (> 0), or 0 with
 * errno set when it could not be sent (fn is then never called).
 * TK_NATS_REQ_MAX requests wait at most (EAGAIN beyond).
 */
#define TK_NATS_REQ_TIMEOUT_MS	5000
#define TK_NATS_REQ_MAX		(1u << 20)
struct tk_nats_hdr {
	const char	*key, *value;
};
typedef void (*tk_nats_reply_fn)(void *arg, void *tok, uint64_t id, int status,
		    const char *data, size_t len);
uint64_t	 tk_nats_request_async(struct tk_nats *, const char *subject,
		    const struct tk_nats_hdr *, size_t nhdr, const void *data, size_t len,
		    tk_nats_reply_fn, void *arg, void *tok);
/* Drop the waiting requests of arg: their fn is never called. */
void		 tk_nats_forget(struct tk_nats *, const void *arg);
/* Requests waiting for their reply. */
size_t		 tk_nats_requests(const struct tk_nats *);
/* Time out requests, retry creating the stream: call about every second. */
void		 tk_nats_tick(struct tk_nats *);
/* Connected, and the stream and buckets exist. */
bool		 tk_nats_ready(const struct tk_nats *);

/*
 * Watch a bucket (an ordered consumer: every change in order, on the
 * owner's thread).  history: first the current value of every key, then
 * the changes; else the changes from now.  The bucket must exist
 * (tk_nats_ready).
 */
enum tk_nats_op { TK_NATS_PUT, TK_NATS_DEL };
struct tk_nats_kv {
	const char	*key;
	const char	*val;
	size_t		 len;
	uint64_t	 rev;		/* the key's revision (stream sequence) */
	enum tk_nats_op	 op;
};
typedef void (*tk_nats_watch_fn)(void *arg, const struct tk_nats_kv *);
int		 tk_nats_watch(struct tk_nats *, const char *bucket, bool history,
		    tk_nats_watch_fn, void *arg, char *err, size_t errlen);

/*
 * The bus sink: frame lines to the stream.  size: the -B buffer the
 * server bounds pending() by.  The connection must outlive the sink.
 */
struct tk_sink	*tk_nats_sink_new(struct tk_nats *, size_t size);

/*
 * A durable pull consumer on the stream (decoding workers).  filter: a
 * subject filter, NULL for every frame line.  The consumer acks
 * explicitly, delivers in stream order, redelivers what was not acked
 * within ack_wait_s.
 */
struct tk_nats_pull;
struct tk_nats_msg {
	const char	*subject;
	const char	*data;
	size_t		 len;
	uint64_t	 stream_seq;
	uint64_t	 delivered;	/* 1: first delivery, more: redelivered */
};
struct tk_nats_pull *tk_nats_pull_new(struct tk_nats *, const char *durable,
		    const char *filter, int ack_wait_s, char *err, size_t errlen);
/*
 * Fetch up to max messages, waiting up to timeout_ms.  Returns how many
 * (0 on timeout), -1 on error with the reason in err.  The messages stay
 * valid until the next fetch or tk_nats_pull_free.
 */
int		 tk_nats_pull_fetch(struct tk_nats_pull *, int max, int timeout_ms,
		    const struct tk_nats_msg **msgs, char *err, size_t errlen);
/*
 * What the consumer has left: messages not yet delivered plus those
 * delivered and not acknowledged (to this worker or another of the same
 * durable), as the stream's leader counts them.  0, or -1 with the reason
 * in err (no leader, no server).
 */
int		 tk_nats_pull_left(struct tk_nats_pull *, uint64_t *left, char *err,
		    size_t errlen);
/* Acknowledge message i of the last fetch.  0 or -1. */
int		 tk_nats_pull_ack(struct tk_nats_pull *, int i);
void		 tk_nats_pull_free(struct tk_nats_pull *);

#endif
