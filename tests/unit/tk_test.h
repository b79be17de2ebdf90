/*
 * tk_test.h: helpers shared by the cmocka suites: reading the conformance
 * vectors (tests/data/vectors/NAME.tsv) and unescaping their messages.
 */
#ifndef TK_TEST_H
#define TK_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "tk_dialect.h"

#define TKT_MSG_MAX	8192

struct tkt_row {
	unsigned	 line;		/* line number in the file */
	char		 expectation[32];
	uint8_t		 msg[TKT_MSG_MAX];
	size_t		 len;
	char		 checks[1024];
	char		 encoding[8];
};

/* Path of a test data file, relative to the source tree (TK_TESTDATA env
 * or tests/data). */
const char *tkt_data(const char *rel);
/* Read every row of a vectors TSV; returns the count (rows are malloc'd). */
size_t	tkt_read_tsv(const char *path, struct tkt_row **rows);
/* The value of key in a "k=v;k=v" checks string, or NULL (static buffer). */
const char *tkt_check(const char *checks, const char *key);
/* Unescape the vectors' text escapes (\r \n \t \\ \xHH). */
size_t	tkt_unescape(const char *s, uint8_t *out, size_t cap);

/* Frames collected from a tk_framer, for the framing tests. */
#define TKT_MAXF	16
struct tkt_frames {
	int		 n;		/* frames seen (may exceed TKT_MAXF) */
	size_t		 len[TKT_MAXF];
	uint8_t		 f[TKT_MAXF][1024];
	size_t		 junk;		/* junk bytes reported */
	int		 wrong;		/* frames of another dialect than asked */
	enum tk_dialect	 want;
};

/* Feed n bytes to a framer of dialect d in chunks of k (0: all at once),
 * then finish.  Returns 0, or -1 if a feed did not return TK_FEED_OK. */
int	tkt_feed(enum tk_dialect d, const uint8_t *s, size_t n, size_t k,
	    struct tkt_frames *g);

#endif
