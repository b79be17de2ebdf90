/*
 * tk_decode.h: decode one frame of a known dialect into records.
 *
 * A session holds what a connection (or a capture file) has taught us: the
 * dialect, the device id learned at login, a photo being reassembled.
 * Decoding never allocates, except for photo reassembly (bounded).
 */
#ifndef TK_DECODE_H
#define TK_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"
#include "tk_record.h"

struct tk_photo;		/* gps103 photo reassembly, lazily allocated */

struct tk_session {
	enum tk_dialect	 dialect;
	char		 id[TK_ID_MAX];	/* learned device id, "" until known */
	struct tk_photo	*photo;
	const char	*photo_dir;	/* where completed photos go; NULL: don't write */
	int		 photo_errno;	/* a completed photo could not be written
					   there: why (the caller reports, clears) */
	unsigned	 xexun_flags;	/* TK_XEXUN_* */
	int16_t		 tz_min;	/* gt06: the login's time zone, minutes east */
};

/* Called once per record; return non-zero to stop decoding this frame. */
typedef int (*tk_emit_fn)(void *arg, struct tk_record *);

/* The context a dialect decoder works in. */
struct tk_dctx {
	struct tk_session	*s;
	struct tk_record	*r;		/* scratch record, reused */
	tk_emit_fn		 emit;
	void			*arg;
	int64_t			 recv_ms;	/* server time, or TK_TIME_NONE */
	const uint8_t		*frame;		/* the whole frame (for raw) */
	size_t			 framelen;
	unsigned		 nemit;
	bool			 stopped;
	char			 err[200];	/* why the frame was rejected */
	char			 warn[200];	/* a non-fatal remark (checksum mismatch ...) */
};

void	tk_session_init(struct tk_session *, enum tk_dialect);
void	tk_session_free(struct tk_session *);

/*
 * Decode frame f (n bytes) of dialect s->dialect.  Records are passed to
 * emit.  Returns the number of records emitted (>= 0), or -1 when the frame
 * is rejected; err then says why.  When emit stops the frame, the return
 * is the number of records passed to emit, the stopping one included.  A
 * frame with a checksum mismatch is decoded and reported in warn.  The
 * record and err/warn buffers belong to the caller (the ctx fields are set
 * by this call).
 */
int	tk_decode(struct tk_session *, const uint8_t *f, size_t n, int64_t recv_ms,
	    struct tk_record *scratch, tk_emit_fn emit, void *arg,
	    char *err, size_t errlen, char *warn, size_t warnlen);

/* ---- for the dialect decoders (lib/tk_<dialect>.c) ---- */

/* Start a fresh record in c->r (dialect, session id, server time, raw). */
void	tk_dctx_begin(struct tk_dctx *, enum tk_rtype);
/* Hand c->r to the caller.  Returns 0, or -1 if the caller asked to stop. */
int	tk_dctx_emit(struct tk_dctx *);
/* Set c->err (printf-style) and return -1. */
int	tk_dctx_reject(struct tk_dctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	tk_dctx_warn(struct tk_dctx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

int	tk_xexun_decode(struct tk_dctx *, const uint8_t *f, size_t n);
int	tk_tk103_decode(struct tk_dctx *, const uint8_t *f, size_t n);
int	tk_gps103_decode(struct tk_dctx *, const uint8_t *f, size_t n);
int	tk_xexun2_decode(struct tk_dctx *, const uint8_t *f, size_t n);
int	tk_gt06_decode(struct tk_dctx *, const uint8_t *f, size_t n);

#endif
