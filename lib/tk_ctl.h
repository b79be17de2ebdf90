/*
 * tk_ctl.h: tk-listen's control protocol (see CONTROL-PROTOCOL in
 * tk-listen(1)): request parsing, pure functions over bytes.  Shared by
 * tk-listen (server side) and usable by clients to validate requests.
 */
#ifndef TK_CTL_H
#define TK_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tk_record.h"

#define TK_CTL_LINE_MAX	8192		/* request line, '\n' included */
#define TK_CTL_SEND_MAX	2048		/* decoded command bytes */
#define TK_CTL_QUEUE_MAX 1024		/* queued commands in total */
#define TK_CTL_TTL_MAX	2592000		/* seconds (30 days) */

enum tk_ctl_verb {
	TK_CTL_LIST = 0,
	TK_CTL_STATS,
	TK_CTL_SEND,
	TK_CTL_WATCH,
	TK_CTL_QUEUE,
	TK_CTL_PENDING,
	TK_CTL_CANCEL
};

struct tk_ctl_req {
	enum tk_ctl_verb verb;
	char		 id[TK_ID_MAX];		/* "" when absent */
	bool		 watch;			/* SEND ... watch */
	uint32_t	 ttl;			/* QUEUE */
	uint64_t	 qid;			/* CANCEL */
	size_t		 len;			/* SEND, QUEUE: decoded bytes */
	uint8_t		 data[TK_CTL_SEND_MAX];
};

/*
 * Find the end of the first request line in buf[0..n).
 *   TK_CTL_LINE_OK:      *len is the line length without its '\n';
 *                        consume *len + 1 bytes.
 *   TK_CTL_LINE_MORE:    no '\n' yet, keep reading.
 *   TK_CTL_LINE_TOOLONG: TK_CTL_LINE_MAX bytes without a '\n'.
 */
enum tk_ctl_line { TK_CTL_LINE_MORE = 0, TK_CTL_LINE_OK, TK_CTL_LINE_TOOLONG };
enum tk_ctl_line tk_ctl_line(const char *buf, size_t n, size_t *len);

/*
 * Parse one request line (without '\n'; a trailing '\r' is tolerated).
 * Returns 0, or -1 with err set to the reply text after "ERR "
 * (e.g. "badrequest unknown verb", "toolong 4096").
 */
int	tk_ctl_parse(const char *line, size_t n, struct tk_ctl_req *,
	    char *err, size_t errlen);

/* Device ids: 1..31 characters of [A-Za-z0-9_-]. */
bool	tk_ctl_valid_id(const char *p, size_t n);

#endif
