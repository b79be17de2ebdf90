/*
 * tk_dialect.h: the dialects, first-bytes classification, streaming
 * framing and the replies a server owes each dialect.  Used alike by
 * tk-listen (live) and tk-decode (offline).
 */
#ifndef TK_DIALECT_H
#define TK_DIALECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tk_dialect {
	TK_D_UNKNOWN = 0,
	TK_D_XEXUN,	/* Xexun TK102-2/TK103-2 GPRMC sentences */
	TK_D_TK103,	/* parenthesised frames */
	TK_D_GPS103,	/* Coban imei: sentences */
	TK_D_XEXUN2,	/* binary FA AF */
	TK_D_XEXUN3,	/* foreign: recognised, not decoded */
	TK_D_GT06,	/* foreign */
	TK_D_H02,	/* foreign */
	TK_D_TK102,	/* foreign: Traccar's tk102 "[" frames */
	TK_D_V680,	/* foreign: V680 "#IMEI#...##" */
	TK_D__COUNT
};

const char	*tk_dialect_name(enum tk_dialect);
/* Returns 0 and sets *d, or -1 for an unknown name. */
int		 tk_dialect_parse(const char *name, enum tk_dialect *d);
/* true for the dialects this toolkit decodes. */
bool		 tk_dialect_decodable(enum tk_dialect);

/*
 * Classification of the first bytes of a TCP stream or of one datagram.
 * Leading CR, LF and spaces are skipped.  *skip receives how many bytes
 * precede the first frame (whitespace or junk).
 */
enum tk_class {
	TK_CLASS_MORE = 0,	/* need more bytes to decide */
	TK_CLASS_OK,		/* *d is set */
	TK_CLASS_UNKNOWN	/* no dialect matches (no signature starts in the first TK_CLASSIFY_MAX bytes) */
};
#define TK_CLASSIFY_MAX	64
enum tk_class	 tk_classify(const uint8_t *buf, size_t n, bool eof,
		    enum tk_dialect *d, size_t *skip);

/*
 * Frame scanning, one function per dialect.  Given the buffered bytes, find
 * the next complete frame.
 *   TK_SCAN_FRAME: the frame is buf[o->skip, o->skip + o->len); the caller
 *                  consumes o->skip + o->len bytes.
 *   TK_SCAN_MORE:  no complete frame; o->skip leading bytes are junk that
 *                  can be dropped now (o->len = 0).
 * With eof set, a trailing unterminated text frame is returned as a frame.
 * o->junk is true when the skipped bytes were more than CR/LF/space.
 */
enum tk_scan { TK_SCAN_MORE = 0, TK_SCAN_FRAME = 1 };
struct tk_scan_out {
	size_t	skip;
	size_t	len;
	bool	junk;
};
enum tk_scan	 tk_scan(enum tk_dialect, const uint8_t *buf, size_t n, bool eof,
		    struct tk_scan_out *o);

/* Maximum frame length per dialect (gps103 photo chunks are long). */
size_t		 tk_frame_max(enum tk_dialect);

/*
 * The reply the server must send for this frame (LOAD, ON, (id AP05),
 * xexun2 ACK ...).  Writes at most cap bytes to out and returns the
 * length, 0 when no reply is due.  cap >= TK_REPLY_MAX always suffices.
 */
#define TK_REPLY_MAX	64
size_t		 tk_reply(enum tk_dialect, const uint8_t *f, size_t n,
		    uint8_t *out, size_t cap);

/*
 * The device id a frame claims (IMEI or tk103 device id), cheaply, without
 * decoding.  Returns its length (0 if the frame names none); out is NUL
 * terminated.
 */
size_t		 tk_frame_id(enum tk_dialect, const uint8_t *f, size_t n,
		    char *out, size_t cap);

/*
 * A streaming framer: classification, then the dialect's scanner over a
 * bounded reassembly buffer.  The buffer is allocated only while a partial
 * frame is pending, so an idle connection costs sizeof(struct tk_framer).
 */
struct tk_framer {
	enum tk_dialect	 dialect;	/* TK_D_UNKNOWN until classified */
	bool		 given;		/* dialect forced by the caller */
	bool		 failed;	/* unknown dialect: everything is junk */
	uint32_t	 max;		/* cap on buffered bytes */
	uint32_t	 len, cap;
	uint8_t		*buf;
	uint64_t	 offset;	/* stream offset of buf[0] */
};

struct tk_framer_cb {
	/* A complete frame; off is its offset in the stream.  Return non-zero to stop. */
	int	(*frame)(void *arg, enum tk_dialect, const uint8_t *f, size_t n, uint64_t off);
	/* Bytes dropped as junk (not called for bare CR/LF/space). */
	void	(*junk)(void *arg, const uint8_t *j, size_t n, uint64_t off);
	void	*arg;
};

enum tk_feed {
	TK_FEED_OK = 0,
	TK_FEED_STOPPED,	/* a callback returned non-zero */
	TK_FEED_OVERFLOW,	/* max bytes buffered without a frame: protocol error */
	TK_FEED_UNKNOWN,	/* the stream matches no dialect */
	TK_FEED_NOMEM
};

/* max == 0 selects tk_frame_max() of the dialect (or 64 KiB while unknown). */
void		 tk_framer_init(struct tk_framer *, enum tk_dialect given, size_t max);
void		 tk_framer_free(struct tk_framer *);
/* Feed bytes.  On TK_FEED_OVERFLOW the pending bytes have been dropped
 * (reported through junk) and the framer can go on. */
enum tk_feed	 tk_framer_feed(struct tk_framer *, const uint8_t *p, size_t n,
		    const struct tk_framer_cb *);
/* End of stream: flush a final unterminated text frame, report leftovers as junk. */
enum tk_feed	 tk_framer_finish(struct tk_framer *, const struct tk_framer_cb *);
size_t		 tk_framer_pending(const struct tk_framer *);

#endif
