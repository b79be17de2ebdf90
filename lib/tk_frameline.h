/*
 * tk_frameline.h: tk-listen's output line format, read back by tk-decode.
 * See tk-frame(5).
 *
 *   TIME KIND TRANSPORT PEER CONN DIALECT ID FLAGS DATA\n
 *
 * TIME       2026-11-24T08:01:05.123Z (UTC, milliseconds)
 * KIND       frame | open | close | junk | send
 * TRANSPORT  tcp | udp
 * PEER       192.0.2.7:40000 or [2001:db8::7]:40000
 * CONN       connection number, decimal (UDP: per peer address)
 * DIALECT    xexun | tk103 | gps103 | xexun2 | xexun3 | gt06 | h02 | tk102 |
 *            v680 | unknown | -
 * ID         the device id the session learned, or -
 * FLAGS      - or comma-separated tokens (mismatch=ID: the frame claims
 *            another id than the session's; conflict=ID: the session claims
 *            an id another live session holds; refused=ID: not in the
 *            listener's --devices list; oversize)
 * DATA       frame/junk/sent bytes escaped with vis(3)
 *            VIS_CSTYLE|VIS_OCTAL|VIS_WHITE (no spaces, no newlines; decode
 *            with strunvis(3)); for close, the reason; for open, -
 */
#ifndef TK_FRAMELINE_H
#define TK_FRAMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"
#include "tk_record.h"

enum tk_fkind { TK_F_FRAME = 0, TK_F_OPEN, TK_F_CLOSE, TK_F_JUNK, TK_F_SEND, TK_F__COUNT };

struct tk_fline {
	enum tk_fkind	 kind;
	int64_t		 time_ms;
	char		 transport[4];		/* "tcp" / "udp" */
	char		 peer[64];		/* NUL-padded to its end by tk_fline_parse */
	uint64_t	 conn;
	enum tk_dialect	 dialect;
	bool		 dialect_known;		/* false for "-" */
	char		 id[TK_ID_MAX];		/* "" for "-" */
	char		 flags[80];		/* "" for "-" */
	const uint8_t	*data;			/* decoded DATA (points into caller's scratch) */
	size_t		 len;
};

const char	*tk_fkind_name(enum tk_fkind);

/* Escape bytes for DATA: out needs 4*n+1 bytes.  Returns the length. */
size_t	tk_fline_escape(const uint8_t *p, size_t n, char *out);
/* Append one line to b.  -1 when it does not fit. */
int	tk_fline_write(struct tk_buf *b, const struct tk_fline *);
/*
 * Parse one line (without its '\n').  DATA is unescaped into scratch
 * (cap >= n suffices).  Returns 0, or -1 with err set.
 */
int	tk_fline_parse(const char *line, size_t n, struct tk_fline *,
	    uint8_t *scratch, size_t cap, char *err, size_t errlen);
/* Does FLAGS (a line's flags field, "" for none) hold the token name, alone
 * or as name=VALUE? */
bool	tk_fline_flag(const char *flags, const char *name);
/* A frame line whose frame tk-listen did not attribute to the device it
 * names (flagged conflict= or refused=): readers skip it. */
bool	tk_fline_disowned(const struct tk_fline *);
/* Does this line look like a frame line (for input auto-detection)? */
bool	tk_fline_probe(const char *line, size_t n);

#endif
