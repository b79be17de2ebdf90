/*
 * cli.h: what every tk-* tool shares on the command line: exit codes,
 * --help/--version handling, a checked stdout, and an output buffer.
 * The conventions are documented once, in tk103-tools(7).
 */
#ifndef TK_CLI_H
#define TK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "tk103.h"
#include "tk_file.h"

/* Exit codes, the same for every tool (tk103-tools(7), EXIT STATUS). */
enum {
	TK_EXIT_OK = 0,		/* success */
	TK_EXIT_DATA = 1,	/* input was rejected (with --strict), or a check failed */
	TK_EXIT_USAGE = 2,	/* bad options or arguments */
	TK_EXIT_IO = 3,		/* a file, socket or system call failed */
	TK_EXIT_PIPE = 4,	/* the reader of stdout went away (EPIPE) */
	TK_EXIT_OFFLINE = 5,	/* tk-cmd: device offline or unknown */
	TK_EXIT_TIMEOUT = 6,	/* tk-cmd: no answer in time */
	TK_EXIT_REFUSED = 7,	/* tk-cmd: tk-listen refused the request */
	TK_EXIT_SOFTWARE = 70	/* internal error (a bug) */
};

/* Call first in main: makes sure fds 0-2 are open, ignores SIGPIPE (EPIPE
 * is handled where stdout is written). */
void	cli_init(int argc, char **argv);
/* A tool writing its results to stdout calls this after its options: a
 * stdout closed at start (>&-) is refused with exit 3, never silently
 * replaced by /dev/null. */
void	cli_need_stdout(void);
/* Print "usage: ..." for misuse to stderr, exit 2. */
void	cli_usage_error(const char *usage, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));
/* -V: print "prog tk103-tools VERSION" and exit 0. */
void	cli_version(void) __attribute__((noreturn));
/* Flush and close stdout, report a failure; returns the exit code to use
 * (rc unchanged on success). */
int	cli_close_stdout(int rc);
/* Parse a number within [min, max] or exit 2 naming the option. */
long long cli_number(const char *opt, const char *s, long long min, long long max);
/* A size in bytes, or with a suffix k, M or G (powers of 1024), within
 * [min, max], or exit 2 naming the option. */
unsigned long long cli_size(const char *opt, const char *s, unsigned long long min,
	    unsigned long long max);
/* A duration option in seconds within [min, max] (tk_parse_duration: 30,
 * 30s, 5m, 1h, 2d), or exit 2 naming the option. */
long long cli_duration(const char *opt, const char *s, long long min, long long max);
/* The same syntax with fractions (tk-sim's intervals: 0.2, 1.5m), in
 * seconds within [min, max], or exit 2 naming the option. */
double	cli_seconds(const char *opt, const char *s, double min, double max);
/* --wkt-order: true for lat lon (latlon, traccar), false for lon lat
 * (lonlat, ogc); anything else is a usage error. */
bool	cli_wkt_latlon(const char *usage, const char *arg);
/* Read all of fd (at most max bytes) or exit naming the file: 3 on an
 * I/O error, 1 when it is larger than max.  The buffer is NUL-terminated. */
char	*cli_read_file(int fd, const char *name, size_t max, size_t *len);
/* Open every input file named (or "-") before hardening; none: stdin.
 * Returns an array of max(argc, 1) descriptors, or exits 3 naming the file. */
int	*cli_open_inputs(int argc, char **argv);
/*
 * The bus options every tool with --nats shares (tk-listen, tk-decode,
 * tk-cmd): add CLI_NATS_LONGOPTS to the long options and hand each option
 * to cli_nats_option, which fills o and returns true when it was one of
 * them.  cli_nats_check: misuse (exit 2) when one was given without --nats.
 * Their codes start at 0x1000, above the tools' own long-only options.
 */
enum {
	CLI_OPT_NATS = 0x1000, CLI_OPT_NATS_CA, CLI_OPT_NATS_CREDS, CLI_OPT_NATS_USER,
	CLI_OPT_NATS_STREAM
};
#define CLI_NATS_LONGOPTS \
	{"nats",        required_argument, NULL, CLI_OPT_NATS}, \
	{"nats-ca",     required_argument, NULL, CLI_OPT_NATS_CA}, \
	{"nats-creds",  required_argument, NULL, CLI_OPT_NATS_CREDS}, \
	{"nats-user",   required_argument, NULL, CLI_OPT_NATS_USER}, \
	{"nats-stream", required_argument, NULL, CLI_OPT_NATS_STREAM}
struct tk_nats_opts;
bool	cli_nats_option(int ch, const char *arg, struct tk_nats_opts *o, const char *usage);
void	cli_nats_check(const struct tk_nats_opts *o, bool other, const char *usage);

/*
 * One shutdown story for a pipeline (tk103-tools(7), SIGNALS).  A filter
 * makes SIGINT and SIGTERM (and what else it names) stop signals with
 * cli_stop_catch, before hardening, and reads its inputs with cli_read.
 * Until a stop signal, cli_read is read(2).  After one, a pipe or socket
 * is read on until its writer closes it, at most CLI_DRAIN_S seconds, so
 * that the tools upstream, stopped by the same Ctrl-C, can write their last
 * lines (tk-listen's close lines) and the pipeline ends in order; a regular
 * file or a character device (a terminal) ends at once, and so does every
 * input after a second signal.  An input ended early reads as end of file
 * and is remembered: cli_stop_status gives the exit code, rc, or when rc is
 * 0 and a signal left input unread, 128 + the signal (130 for SIGINT).
 */
#define CLI_DRAIN_S	10
void	cli_stop_catch(int sig);
/* The first stop signal received, 0 if none. */
int	cli_stopped(void);
ssize_t	cli_read(int fd, void *buf, size_t n);
int	cli_stop_status(int rc);
/* For a tool with its own poll loop (tk-forward): the descriptor that
 * becomes readable at a stop signal (read it empty with cli_stop_wake);
 * cli_stop_drain(fd): -1 before any stop signal, 0 when input fd is to be
 * read no more (remembered as input ended early), else the milliseconds
 * left to drain it. */
int	cli_stop_fd(void);
void	cli_stop_wake(void);
int	cli_stop_drain(int fd);
bool	cli_stopped_twice(void);

/* Harden or die. */
void	cli_harden(enum tk_harden_profile);

/* A buffered writer to a file descriptor, flushed with write(2) so that
 * EPIPE and short writes are seen.  Errors are sticky. */
struct cli_out {
	int	 fd;
	int	 err;		/* errno of the first failure, 0 if none */
	bool	 warned;	/* the failure was reported */
	struct tk_buf b;
};
void	cli_out_init(struct cli_out *, int fd, size_t cap);
/* Make room for at least n bytes (flushing); returns the buffer to append to. */
struct tk_buf *cli_out_reserve(struct cli_out *, size_t n);
int	cli_out_flush(struct cli_out *);
/* Has writing failed?  Reports a failure other than EPIPE once. */
bool	cli_out_dead(struct cli_out *);
void	cli_out_free(struct cli_out *);

/*
 * An output file written whole or not at all (tk_file.h): opened at start,
 * before any input is read, so that a directory that does not exist or
 * cannot be written is refused at once (exit 3 naming the path), and
 * renamed into place by cli_file_commit.  An interrupted run leaves the
 * old file.
 */
struct cli_file {
	struct tk_afile	 a;
	FILE		*fp;
};
FILE	*cli_file_open(struct cli_file *, const char *path);
/* Flush, sync, close, rename: 0, or -1 after a message naming the path
 * (the temporary file is removed, the old file kept). */
int	cli_file_commit(struct cli_file *);
void	cli_file_abort(struct cli_file *);
/* A directory files will be written into (tk-decode -o): it exists and a
 * file can be created there, or exit 3 naming it (before reading input). */
void	cli_check_dir(const char *opt, const char *dir);
/* A file the tool will read (fences): readable and not a directory, or
 * exit 3 naming it, before any output. */
void	cli_need_file(const char *path);

/*
 * Repeated warnings of one kind, capped: the first CLI_WCAP_SHOWN are
 * printed, then one line saying that further ones are only counted;
 * cli_wcap_end prints the total when some were not shown.
 */
#define CLI_WCAP_SHOWN	5
struct cli_wcap {
	unsigned long	 n;		/* warnings of this kind so far */
};
void	cli_wcap(struct cli_wcap *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* "tk-x: N WHAT in all (the first 5 shown)" when more than were shown. */
void	cli_wcap_end(const struct cli_wcap *, const char *what);

#endif
