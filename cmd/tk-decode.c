/*
 * tk-decode: TK103-family frames (tk-listen frame lines, raw captures, hex)
 * to JSON lines (or CSV, or filtered frame lines).  A thin main over
 * libtk103: detection, framing and decoding are the library's, the same
 * code tk-listen runs live.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <err.h>

#include "cli.h"
#include "tk_conntab.h"
#include "tk_ctl.h"
#include "tk_loop.h"
#include "tk_nats.h"

static const char usage_text[] =
    "usage: tk-decode [-qrsv] [-d dialect] [-f json|geojson|traccar|csv|frames]\n"
    "                 [-i auto|raw|lines|hex] [-o photodir] [-P dialect] [-u device]\n"
    "                 [--csvt file] [file ...]\n"
    "       tk-decode --nats urls --durable name [--partition k/n] [--publish]\n"
    "                 [--idle-exit seconds] [--ack-wait seconds] [--nats-ca file]\n"
    "                 [--nats-creds file] [--nats-user user] [--nats-stream name]\n";

static const char help_text[] =
    "Decode TK103-family tracker frames to JSON lines.\n"
    "\n"
    "  -d, --dialect NAME   keep only records of this dialect\n"
    "  -f, --format FMT     json (default); geojson (a GeoJSON Feature per line,\n"
    "                       positions only); traccar (Traccar's forwarding\n"
    "                       envelope); csv; or frames (matching input frames as\n"
    "                       tk-frame(5) lines)\n"
    "  -i, --input FORM     auto (default), raw (a byte stream from one device),\n"
    "                       lines (tk-listen frame lines), hex (a frame per line)\n"
    "  -o, --photo-dir DIR  write completed gps103 photos to DIR\n"
    "  -P, --protocol NAME  decode raw/hex input as NAME instead of detecting it\n"
    "  -q, --quiet          no summary on stderr at the end\n"
    "  -r, --raw            carry each record's frame as \"raw\" (hex)\n"
    "  -s, --strict         exit 1 if any frame was rejected, or nothing decoded\n"
    "  -u, --device ID      keep only records of this device\n"
    "  -v, --verbose        also report checksum warnings and skipped junk\n"
    "      --csvt FILE      with -f csv: write GDAL's column types to FILE (name it\n"
    "                       as the CSV file with a t appended: day.csv, day.csvt)\n"
    "      --nats URLS      read frame lines from NATS JetStream (a worker)\n"
    "      --durable NAME   the worker's durable consumer: resume where it stopped\n"
    "      --partition K/N  worker K of N: only devices whose id hashes to K\n"
    "      --publish        also publish each record on tk.pos.<device id>\n"
    "      --idle-exit SECS exit after SECS without a message (default: never)\n"
    "      --ack-wait SECS  a message not acknowledged in SECS comes again\n"
    "                       (default 10; set when the consumer is created)\n"
    "      --nats-ca, --nats-creds, --nats-user, --nats-stream: as tk-listen(1)\n"
    "  -h, --help           this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "Dialects: xexun tk103 gps103 xexun2 gt06 h02 (xexun3, tk102 and v680 are\n"
    "recognised but not decoded).  Exit status: 0 ok, 1 frames rejected with --strict,\n"
    "2 usage, 3 I/O error, 4 stdout closed, 130/143 stopped by SIGINT/SIGTERM\n"
    "before the end of the input.  See tk-decode(1), tk-frame(5).\n";

enum fmt { FMT_JSON, FMT_CSV, FMT_FRAMES, FMT_GEOJSON, FMT_TRACCAR };
/* a read of an input failed (exit 3 at the end; the other inputs go on) */
static bool input_failed;

static const char *const fmt_names[] = {"json", "csv", "frames", "geojson", "traccar"};

enum { OPT_CSVT = 256 };
enum form { IN_AUTO, IN_RAW, IN_LINES, IN_HEX };

#define LINE_MAX_BYTES	(4 * 65536 + 512)
/* connections held at once by the lines input (beyond: all forgotten) */
#define MAX_CONNS	(1u << 17)

struct ctx {
	/* options */
	enum fmt	 fmt;
	enum form	 form;
	bool		 have_filter_d, strict, quiet, raw, verbose;
	enum tk_dialect	 filter_d, force_d;
	const char	*device, *photo_dir;
	/* state */
	struct cli_out	 out;
	struct tk_record rec;
	const char	*fname;
	unsigned long	 lineno;
	uint64_t	 base_off;	/* offset of the current raw chunk */
	struct tk_session raw_sess;	/* raw and hex input: one stream */
	const struct tk_fline *fl;	/* the current frame line */
	int64_t		 recv_ms;
	struct tk_conntab conns;	/* lines input: sessions by connection */
	/* counters */
	unsigned long	 frames[TK_D__COUNT], decoded[TK_D__COUNT], rejected[TK_D__COUNT];
	unsigned long	 records, junk_bytes, bad_lines, photos_lost, disowned;
	unsigned long	 unwritten;	/* records with no place in the format */
	bool		 output_dead;
	/* --nats */
	struct tk_nats	*bus;
	bool		 publish;
	bool		 bus_lost;	/* --idle-exit gave up on the stream, or it closed */
	unsigned long	 redelivered, skipped, published;
};

static void
where(const struct ctx *c, char *buf, size_t n, uint64_t off)
{
	if (c->form == IN_RAW)
		snprintf(buf, n, "%s: offset %llu", c->fname, (unsigned long long)off);
	else if (c->fl != NULL)
		snprintf(buf, n, "%s:%lu: %s %s conn %llu", c->fname, c->lineno,
		    c->fl->transport, c->fl->peer, (unsigned long long)c->fl->conn);
	else
		snprintf(buf, n, "%s:%lu", c->fname, c->lineno);
}

static void
out_check(struct ctx *c)
{
	if (cli_out_dead(&c->out))
		c->output_dead = true;
}

/*
 * Before blocking on input that is not there yet, hand the reader what is
 * decoded: a live `tk-listen | tk-decode` must not sit on its records.
 */
static void
flush_if_idle(struct ctx *c, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	if (c->out.b.len > 0 && poll(&p, 1, 0) == 0) {
		cli_out_flush(&c->out);
		out_check(c);
	}
}

static bool
keep_dialect(const struct ctx *c, enum tk_dialect d)
{
	return !c->have_filter_d || c->filter_d == d;
}

/* --publish: the record (its JSON, without the newline) on tk.pos.<id> */
static void
publish_record(struct ctx *c, const struct tk_record *r, const char *p, size_t n)
{
	char subj[64];
	if (!tk_ctl_valid_id(r->id, strlen(r->id)))
		return;
	snprintf(subj, sizeof(subj), "tk.pos.%s", r->id);
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (tk_nats_publish(c->bus, subj, NULL, p, n) == 0)
		c->published++;
}

static int
emit(void *arg, struct tk_record *r)
{
	struct ctx *c = arg;

	if (!keep_dialect(c, r->dialect))
		return 0;
	if (c->device && strcmp(c->device, r->id) != 0)
		return 0;
	c->records++;
	if (c->fmt == FMT_FRAMES)
		return 0;
	size_t need = TK_FMT_MAX(r->rawlen);
	struct tk_buf *b = cli_out_reserve(&c->out, need);
	size_t at = b->len;
	int rc;
	switch (c->fmt) {
	case FMT_JSON:
		rc = tk_json_record(b, r, c->raw ? TK_JSON_RAW : 0);
		break;
	case FMT_GEOJSON:
		rc = tk_geojson_record(b, r, c->raw ? TK_JSON_RAW : 0);
		break;
	case FMT_TRACCAR:
		rc = tk_traccar_record(b, r);
		break;
	default:
		rc = tk_csv_record(b, r);
		break;
	}
	if (rc < 0)
		warnx("record too large to write (frame %s)", r->id);
	else if (rc > 0)
		c->unwritten++;
	else if (c->publish)
		publish_record(c, r, b->p + at, b->len - at);
	out_check(c);
	return c->output_dead ? 1 : 0;
}

/* frames output: write the frame as a tk-frame(5) line */
static void
write_frame_line(struct ctx *c, struct tk_session *s, const uint8_t *f, size_t n)
{
	struct tk_fline l;

	if (c->fl != NULL) {
		l = *c->fl;
	} else {
		memset(&l, 0, sizeof(l));
		l.kind = TK_F_FRAME;
		l.time_ms = 0;
		strlcpy(l.transport, "tcp", sizeof(l.transport));
		strlcpy(l.peer, c->fname, sizeof(l.peer));
		for (char *p = l.peer; *p; p++)
			if (*p == ' ')
				*p = '_';
	}
	l.kind = TK_F_FRAME;
	l.dialect = s->dialect;
	l.dialect_known = true;
	if (l.id[0] == '\0')
		tk_frame_id(s->dialect, f, n, l.id, sizeof(l.id));
	l.data = f;
	l.len = n;
	struct tk_buf *b = cli_out_reserve(&c->out, 4 * n + 512);
	if (tk_fline_write(b, &l) < 0)
		warnx("frame too large to write");
	out_check(c);
}

static void
decode_frame(struct ctx *c, struct tk_session *s, const uint8_t *f, size_t n, uint64_t off)
{
	char err[200], warn[200], loc[160];
	enum tk_dialect d = s->dialect;

	c->frames[d]++;
	if (c->fmt == FMT_FRAMES) {
		char id[TK_ID_MAX];
		if (!keep_dialect(c, d))
			return;
		if (c->device) {
			tk_frame_id(d, f, n, id, sizeof(id));
			if (strcmp(id, c->device) != 0 && strcmp(s->id, c->device) != 0)
				return;
		}
		c->decoded[d]++;
		write_frame_line(c, s, f, n);
		return;
	}
	int rc = tk_decode(s, f, n, c->recv_ms, &c->rec, emit, c, err, sizeof(err),
	    warn, sizeof(warn));
	if (s->photo_errno != 0) {
		/* a photo lost is an error, -v or not */
		c->photos_lost++;
		where(c, loc, sizeof(loc), off);
		warnc(s->photo_errno, "%s: photo of %s not written to %s", loc,
		    s->id[0] ? s->id : "an unknown device", c->photo_dir);
		s->photo_errno = 0;
	}
	if (rc < 0) {
		c->rejected[d]++;
		where(c, loc, sizeof(loc), off);
		warnx("%s: %s: %s", loc, tk_dialect_name(d), err);
	} else {
		c->decoded[d]++;
		if (c->verbose && warn[0]) {
			where(c, loc, sizeof(loc), off);
			warnx("%s: %s: warning: %s", loc, tk_dialect_name(d), warn);
		}
	}
}

/* ---- raw input --------------------------------------------------- */

static int
on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct ctx *c = arg;
	c->raw_sess.dialect = d;
	decode_frame(c, &c->raw_sess, f, n, off);
	return c->output_dead;
}

static void
on_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct ctx *c = arg;
	char loc[160];
	(void)j;
	c->junk_bytes += n;
	if (c->form == IN_HEX)
		return;	/* reported per line */
	where(c, loc, sizeof(loc), off);
	warnx("%s: %zu byte%s of junk skipped", loc, n, n == 1 ? "" : "s");
}

static void
feed_result(struct ctx *c, enum tk_feed r, uint64_t off)
{
	char loc[160];
	if (r == TK_FEED_OVERFLOW) {
		where(c, loc, sizeof(loc), off);
		warnx("%s: no frame in %zu bytes: dropped them", loc,
		    tk_frame_max(c->raw_sess.dialect));
	} else if (r == TK_FEED_NOMEM)
		err(TK_EXIT_IO, "framer");
}

static void
run_raw(struct ctx *c, int fd, const uint8_t *pre, size_t pren)
{
	struct tk_framer fr;
	struct tk_framer_cb cb = {on_frame, on_junk, c};
	uint8_t buf[65536];
	bool unknown_said = false;

	tk_session_init(&c->raw_sess, c->force_d);
	c->raw_sess.photo_dir = c->photo_dir;
	tk_framer_init(&fr, c->force_d, 0);
	if (pren) {
		enum tk_feed r = tk_framer_feed(&fr, pre, pren, &cb);
		feed_result(c, r, fr.offset);
	}
	for (;;) {
		if (c->output_dead)
			break;
		flush_if_idle(c, fd);
		ssize_t n = cli_read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			warn("%s", c->fname);
			input_failed = true;
			break;
		}
		if (n == 0)
			break;
		enum tk_feed r = tk_framer_feed(&fr, buf, (size_t)n, &cb);
		if (r == TK_FEED_UNKNOWN && !unknown_said) {
			unknown_said = true;
			warnx("%s: the stream matches no known dialect", c->fname);
		}
		feed_result(c, r, fr.offset);
	}
	if (!c->output_dead)
		tk_framer_finish(&fr, &cb);
	else
		tk_framer_free(&fr);
	if (fr.failed && !unknown_said)
		warnx("%s: the stream matches no known dialect", c->fname);
	tk_session_free(&c->raw_sess);
}

/* ---- line input (frame lines, hex) ------------------------------- */

static void
do_fline(struct ctx *c, const char *line, size_t n, uint8_t *scratch, size_t cap)
{
	struct tk_fline fl, *l = &fl;
	char e[120];

	if (tk_fline_parse(line, n, l, scratch, cap, e, sizeof(e)) != 0) {
		c->bad_lines++;
		warnx("%s:%lu: not a frame line: %s", c->fname, c->lineno, e);
		return;
	}
	uint64_t h = tk_conntab_hash(l);
	c->fl = l;
	c->recv_ms = l->time_ms;
	if (l->kind == TK_F_CLOSE) {
		tk_conntab_drop(&c->conns, l, h);
	} else if (l->kind == TK_F_FRAME && tk_fline_disowned(l)) {
		/* not the device's frame (tk-frame(5) FLAGS): kept apart */
		c->disowned++;
	} else if (l->kind == TK_F_FRAME) {
		bool reset;
		struct tk_conn *s = tk_conntab_get(&c->conns, l, h, &reset);
		if (s == NULL)
			err(TK_EXIT_IO, "malloc");
		if (reset)
			warnx("%s:%lu: more than %zu open connections: forgetting "
			    "per-connection state", c->fname, c->lineno, c->conns.max);
		if (!l->dialect_known || l->dialect == TK_D_UNKNOWN) {
			/* tk-listen could not tell: try ourselves */
			enum tk_dialect d;
			size_t skip;
			if (tk_classify(l->data, l->len, true, &d, &skip) == TK_CLASS_OK)
				l->dialect = d;
		}
		s->s.dialect = l->dialect;
		if (l->id[0] && s->s.id[0] == '\0')
			strlcpy(s->s.id, l->id, sizeof(s->s.id));
		if (l->dialect == TK_D_UNKNOWN) {
			c->frames[0]++;
			c->rejected[0]++;
			warnx("%s:%lu: %s %s: frame of unknown dialect", c->fname,
			    c->lineno, l->transport, l->peer);
		} else
			decode_frame(c, &s->s, l->data, l->len, 0);
	}
	c->fl = NULL;
}

static void
do_hex(struct ctx *c, const char *line, size_t n, uint8_t *scratch, size_t cap)
{
	struct tk_framer fr;
	struct tk_framer_cb cb = {on_frame, on_junk, c};
	unsigned long junk0 = c->junk_bytes;

	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	long bl = tk_hex_decode(line, n, scratch, cap);
	if (bl < 0) {
		c->bad_lines++;
		warnx("%s:%lu: not a hex frame (odd length or a non-hex digit)",
		    c->fname, c->lineno);
		return;
	}
	/* one line = one datagram: classify it, frame it, decode every frame */
	tk_framer_init(&fr, c->force_d, 0);
	tk_framer_feed(&fr, scratch, (size_t)bl, &cb);
	tk_framer_finish(&fr, &cb);
	if (fr.failed) {
		c->frames[0]++;
		c->rejected[0]++;
		warnx("%s:%lu: frame of unknown dialect", c->fname, c->lineno);
	} else if (c->junk_bytes != junk0)
		warnx("%s:%lu: %lu byte%s of junk skipped", c->fname, c->lineno,
		    c->junk_bytes - junk0, c->junk_bytes - junk0 == 1 ? "" : "s");
}

static bool
is_hex_line(const char *p, size_t n)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	if (n < 4 || n % 2)
		return false;
	for (size_t i = 0; i < n; i++)
		if (tk_hexval((unsigned char)p[i]) < 0)
			return false;
	return true;
}

/* A blank line (spaces, tabs, a CR) or a comment ('#' first): not input
 * of the line forms, skipped without a word. */
static bool
skip_line(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	return i == n || p[i] == '#';
}

static void
run_lines(struct ctx *c, int fd, const uint8_t *pre, size_t pren)
{
	size_t cap = LINE_MAX_BYTES;
	char *buf = malloc(cap);
	uint8_t *scratch = malloc(cap);
	size_t len = 0;
	bool eof = false, skipping = false;

	if (buf == NULL || scratch == NULL)
		err(TK_EXIT_IO, "malloc");
	tk_session_init(&c->raw_sess, c->force_d);
	c->raw_sess.photo_dir = c->photo_dir;
	memcpy(buf, pre, pren);
	len = pren;
	while (!c->output_dead) {
		char *nl;
		size_t start = 0;
		while ((nl = memchr(buf + start, '\n', len - start)) != NULL) {
			size_t ln = (size_t)(nl - (buf + start));
			c->lineno++;
			if (skipping) {
				skipping = false;
			} else if (!skip_line(buf + start, ln)) {
				if (c->form == IN_LINES)
					do_fline(c, buf + start, ln, scratch, cap);
				else
					do_hex(c, buf + start, ln, scratch, cap);
			}
			start += ln + 1;
			if (c->output_dead)
				break;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (eof)
			break;
		if (len == cap) {
			/* one diagnostic and one bad line however long the line is */
			if (!skipping) {
				warnx("%s:%lu: line longer than %zu bytes: skipped",
				    c->fname, c->lineno + 1, cap);
				c->bad_lines++;
			}
			skipping = true;
			len = 0;
		}
		flush_if_idle(c, fd);
		ssize_t r = cli_read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			warn("%s", c->fname);
			input_failed = true;
			break;
		}
		if (r == 0) {
			eof = true;
			if (len > 0 && !skipping) {
				buf[len++] = '\n';	/* last line without a newline */
				continue;
			}
			break;
		}
		len += (size_t)r;
	}
	tk_session_free(&c->raw_sess);
	free(buf);
	free(scratch);
}

static void
run_file(struct ctx *c, int fd)
{
	uint8_t pre[4096];
	size_t pren = 0;
	enum form saved = c->form;

	c->lineno = 0;
	if (c->form == IN_AUTO) {
		/* peek at the first line that is not blank or a comment (within
		 * the first 4 KiB) to choose the input form */
		size_t l0 = 0, l1 = 0;
		bool eof = false;
		for (;;) {
			const uint8_t *nl = memchr(pre + l0, '\n', pren - l0);
			if (nl != NULL || eof || pren == sizeof(pre)) {
				l1 = nl ? (size_t)(nl - pre) - l0 : pren - l0;
				if (nl == NULL || !skip_line((const char *)pre + l0, l1))
					break;
				l0 += l1 + 1;
				continue;
			}
			ssize_t n = cli_read(fd, pre + pren, sizeof(pre) - pren);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				warn("%s", c->fname);
				input_failed = true;
			}
			if (n <= 0)
				eof = true;
			else
				pren += (size_t)n;
		}
		if (tk_fline_probe((const char *)pre + l0, l1))
			c->form = IN_LINES;
		else if (is_hex_line((const char *)pre + l0, l1))
			c->form = IN_HEX;
		else
			c->form = IN_RAW;
	}
	if (c->form == IN_RAW)
		run_raw(c, fd, pre, pren);
	else
		run_lines(c, fd, pre, pren);
	c->form = saved;
}

/* ---- the bus: a decoding worker ---------------------------------- */

static volatile sig_atomic_t got_stop;

static void
on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

static void
buslog(void *arg, enum tk_log_level lv, const char *msg)
{
	(void)arg;
	(void)lv;
	warnx("%s", msg);
}

/* The partition key of a message: the device id (the subject's last
 * token), or for a connection not yet identified its peer. */
static uint32_t
part_hash(const char *subject, const char *line, size_t n)
{
	const char *k = strrchr(subject, '.');
	size_t kl;
	k = k ? k + 1 : subject;
	kl = strlen(k);
	if (kl == 1 && k[0] == '_') {
		/* "TIME KIND TRANSPORT PEER ...": the fourth field */
		const char *p = line, *end = line + n;
		for (int f = 0; f < 3 && p < end; f++) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));
			p = sp ? sp + 1 : end;
		}
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		k = p;
		kl = (size_t)((sp ? sp : end) - p);
	}
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < kl; i++)
		h = (h ^ (uint8_t)k[i]) * 16777619u;
	return h;
}

/*
 * Read frame lines through a durable pull consumer; each batch is decoded,
 * written to stdout (flushed), and only then acknowledged, so that a
 * worker killed at any point resumes with what it had not confirmed.
 */
static void
run_nats(struct ctx *c, const char *durable, unsigned part_k, unsigned part_n,
    int idle_exit_s, int ack_wait_s)
{
	char e[256], name[64];
	size_t cap = LINE_MAX_BYTES;
	uint8_t *scratch = malloc(cap);
	const struct tk_nats_msg *m;
	int64_t last = tk_mono_ms();	/* the last message (or the start) */
	int64_t idle_ms = idle_exit_s * 1000LL;
	/* --idle-exit: a cluster electing leaders after a node failure
	 * answers nothing for a while; only beyond that is it lost */
	int64_t give_up_ms = idle_ms + TK_NATS_FAILOVER_MS;

	if (scratch == NULL)
		err(TK_EXIT_IO, "malloc");
	if (part_n > 1)
		snprintf(name, sizeof(name), "%s-%u-of-%u", durable, part_k, part_n);
	else
		snprintf(name, sizeof(name), "%s", durable);
	struct tk_nats_pull *p = NULL;
	while (p == NULL && !got_stop) {
		p = tk_nats_pull_new(c->bus, name, NULL, ack_wait_s, e, sizeof(e));
		if (p == NULL) {
			/* no server, no stream yet: say so once, keep trying */
			static bool said;
			if (!said)
				warnx("%s (retrying)", e);
			said = true;
			if (idle_exit_s && tk_mono_ms() - last >= give_up_ms) {
				warnx("%s: gave up after %lld s", e,
				    (long long)(tk_mono_ms() - last) / 1000);
				c->bus_lost = true;
				break;
			}
			tk_nats_poll(c->bus, 1000);
			if (tk_nats_closed(c->bus)) {
				c->bus_lost = true;
				break;
			}
		}
	}
	c->fname = "(nats)";
	while (p != NULL && !got_stop && !c->output_dead) {
		tk_nats_poll(c->bus, 0);
		if (tk_nats_closed(c->bus)) {
			c->bus_lost = true;
			break;
		}
		int k = tk_nats_pull_fetch(p, 256, 1000, &m, e, sizeof(e));
		if (k < 0) {
			warnx("%s", e);
			tk_nats_poll(c->bus, 1000);
		}
		if (k <= 0) {
			/* idle: exit once the consumer has nothing left (a
			 * fetch can also time out while its leader moves) */
			if (!idle_exit_s || tk_mono_ms() - last < idle_ms)
				continue;
			uint64_t left = 0;
			int r = tk_nats_pull_left(p, &left, e, sizeof(e));
			if (r == 0 && left == 0)
				break;
			if (tk_mono_ms() - last >= give_up_ms) {
				if (r == 0)
					warnx("nats: consumer %s: %llu messages left, none came "
					    "for %lld s: gave up", name, (unsigned long long)left,
					    (long long)(tk_mono_ms() - last) / 1000);
				else
					warnx("%s: gave up", e);
				c->bus_lost = true;
				break;
			}
			continue;
		}
		last = tk_mono_ms();
		for (int i = 0; i < k; i++) {
			size_t n = m[i].len;
			c->lineno++;
			if (m[i].delivered > 1)
				c->redelivered++;
			if (part_n > 1 && part_hash(m[i].subject, m[i].data, n) % part_n !=
			    part_k - 1) {
				c->skipped++;
				continue;
			}
			while (n && (m[i].data[n - 1] == '\n' || m[i].data[n - 1] == '\r'))
				n--;
			if (n > 0 && n < cap)
				do_fline(c, m[i].data, n, scratch, cap);
		}
		cli_out_flush(&c->out);
		out_check(c);
		if (c->output_dead)
			break;		/* not written: not acknowledged */
		for (int i = 0; i < k; i++)
			if (tk_nats_pull_ack(p, i) != 0)
				warnx("nats: ack of stream message %llu failed: it will come again",
				    (unsigned long long)m[i].stream_seq);
	}
	tk_nats_pull_free(p);
	free(scratch);
}

/* The .csvt sidecar: constant, so written (and checked) before any input. */
static void
write_csvt(const char *path)
{
	char mem[512];
	struct tk_buf b = {mem, 0, sizeof(mem)};
	struct cli_file cf;
	FILE *f = cli_file_open(&cf, path);
	if (tk_csvt(&b) != 0)
		errx(TK_EXIT_SOFTWARE, "csvt");
	fwrite(b.p, 1, b.len, f);
	if (cli_file_commit(&cf) != 0)
		exit(TK_EXIT_IO);
}

static void
summary(const struct ctx *c)
{
	unsigned long tf = 0, td = 0, tr = 0;
	for (int d = 0; d < TK_D__COUNT; d++) {
		tf += c->frames[d];
		td += c->decoded[d];
		tr += c->rejected[d];
	}
	fprintf(stderr, "tk-decode: %lu frames, %lu decoded, %lu rejected, %lu records",
	    tf, td, tr, c->records);
	if (c->bad_lines)
		fprintf(stderr, ", %lu bad lines", c->bad_lines);
	if (c->junk_bytes)
		fprintf(stderr, ", %lu junk bytes", c->junk_bytes);
	if (c->photos_lost)
		fprintf(stderr, ", %lu photos not written", c->photos_lost);
	if (c->unwritten)
		fprintf(stderr, ", %lu not written (%s)", c->unwritten,
		    c->fmt == FMT_GEOJSON ? "no location" :
		    "logins, heartbeats and records without a device id");
	if (c->disowned)
		fprintf(stderr, ", %lu frames of sessions in identity conflict or refused "
		    "(not decoded)", c->disowned);
	if (c->bus != NULL)
		fprintf(stderr, ", %lu redelivered", c->redelivered);
	if (c->skipped)
		fprintf(stderr, ", %lu for other partitions", c->skipped);
	if (c->publish)
		fprintf(stderr, ", %lu published", c->published);
	fputc('\n', stderr);
	if (td == 0 && (c->junk_bytes || c->bad_lines))
		fprintf(stderr, "tk-decode: nothing decoded: for tk-listen's frame lines or "
		    "hex frames say so with -i lines or -i hex; for one device's raw bytes "
		    "name its dialect with -P DIALECT (tk103, gps103, xexun, xexun2)\n");
	for (int d = 0; d < TK_D__COUNT; d++)
		if (c->frames[d])
			fprintf(stderr, "tk-decode:   %-7s %lu frames, %lu decoded, %lu rejected\n",
			    tk_dialect_name((enum tk_dialect)d), c->frames[d], c->decoded[d],
			    c->rejected[d]);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"csvt",      required_argument, NULL, OPT_CSVT},
		{"dialect",   required_argument, NULL, 'd'},
		{"device",    required_argument, NULL, 'u'},
		{"format",    required_argument, NULL, 'f'},
		{"help",      no_argument,       NULL, 'h'},
		{"input",     required_argument, NULL, 'i'},
		{"photo-dir", required_argument, NULL, 'o'},
		{"protocol",  required_argument, NULL, 'P'},
		{"quiet",     no_argument,       NULL, 'q'},
		{"raw",       no_argument,       NULL, 'r'},
		{"strict",    no_argument,       NULL, 's'},
		{"verbose",   no_argument,       NULL, 'v'},
		{"version",   no_argument,       NULL, 'V'},
		{"durable",   required_argument, NULL, 'D'},
		{"partition", required_argument, NULL, 'K'},
		{"publish",   no_argument,       NULL, 'B'},
		{"idle-exit", required_argument, NULL, 'I'},
		{"ack-wait",  required_argument, NULL, 'W'},
		CLI_NATS_LONGOPTS,
		{NULL, 0, NULL, 0}
	};
	static struct ctx c;
	const char *csvt = NULL;
	int ch, rc = TK_EXIT_OK;
	struct tk_nats_opts no = {.log = buslog, .replicas = 1};
	const char *durable = NULL;
	unsigned part_k = 1, part_n = 1;
	int idle_exit = 0, ack_wait = 10;

	cli_init(argc, argv);
	c.force_d = TK_D_UNKNOWN;
	while ((ch = getopt_long(argc, argv, "d:f:hi:o:P:qrsu:vV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (tk_dialect_parse(optarg, &c.filter_d) != 0)
				cli_usage_error(usage_text, "unknown dialect: %s", optarg);
			c.have_filter_d = true;
			break;
		case 'f': {
			size_t i = 0;
			while (i < sizeof(fmt_names) / sizeof(fmt_names[0]) &&
			    strcmp(optarg, fmt_names[i]) != 0)
				i++;
			if (i == sizeof(fmt_names) / sizeof(fmt_names[0]))
				cli_usage_error(usage_text, "unknown format: %s", optarg);
			c.fmt = (enum fmt)i;
			break;
		}
		case 'h':
			printf("%s\n%s", usage_text, help_text);
			return cli_close_stdout(TK_EXIT_OK);
		case 'i':
			if (strcmp(optarg, "auto") == 0)
				c.form = IN_AUTO;
			else if (strcmp(optarg, "raw") == 0)
				c.form = IN_RAW;
			else if (strcmp(optarg, "lines") == 0)
				c.form = IN_LINES;
			else if (strcmp(optarg, "hex") == 0)
				c.form = IN_HEX;
			else
				cli_usage_error(usage_text, "unknown input form: %s", optarg);
			break;
		case 'o':
			c.photo_dir = optarg;
			break;
		case 'P':
			if (tk_dialect_parse(optarg, &c.force_d) != 0 ||
			    !tk_dialect_decodable(c.force_d))
				cli_usage_error(usage_text, "not a decodable dialect: %s", optarg);
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'r':
			c.raw = true;
			break;
		case 's':
			c.strict = true;
			break;
		case 'u':
			if (strlen(optarg) >= TK_ID_MAX)
				cli_usage_error(usage_text, "device id too long: %s", optarg);
			c.device = optarg;
			break;
		case 'v':
			c.verbose = true;
			break;
		case 'V':
			cli_version();
		case 'D':
			if (!tk_ctl_valid_id(optarg, strlen(optarg)))
				cli_usage_error(usage_text, "--durable %s: 1-31 of A-Za-z0-9_-",
				    optarg);
			durable = optarg;
			break;
		case 'K': {
			char *sl = strchr(optarg, '/');
			if (sl == NULL)
				cli_usage_error(usage_text, "--partition %s: K/N", optarg);
			*sl = '\0';
			part_n = (unsigned)cli_number("--partition", sl + 1, 1, 1024);
			part_k = (unsigned)cli_number("--partition", optarg, 1, part_n);
			break;
		}
		case 'B':
			c.publish = true;
			break;
		case 'I':
			idle_exit = (int)cli_duration("--idle-exit", optarg, 1, 86400);
			break;
		case 'W':
			ack_wait = (int)cli_duration("--ack-wait", optarg, 1, 3600);
			break;
		case OPT_CSVT:
			csvt = optarg;
			break;
		default:
			if (!cli_nats_option(ch, optarg, &no, usage_text))
				cli_usage_error(usage_text, NULL);
		}
	}
	argc -= optind;
	cli_need_stdout();
	argv += optind;
	cli_nats_check(&no, durable || part_n > 1 || c.publish || idle_exit, usage_text);
	if (no.urls != NULL) {
		if (durable == NULL)
			cli_usage_error(usage_text, "--nats needs --durable NAME");
		if (argc > 0)
			cli_usage_error(usage_text, "--nats reads no files");
		if (c.form != IN_AUTO && c.form != IN_LINES)
			cli_usage_error(usage_text, "--nats reads frame lines only");
		c.form = IN_LINES;
	}
	if (c.force_d != TK_D_UNKNOWN && c.form == IN_LINES)
		cli_usage_error(usage_text, "-P applies to raw and hex input only");
	if (csvt && c.fmt != FMT_CSV)
		cli_usage_error(usage_text, "--csvt goes with -f csv");
	if (c.raw && c.fmt != FMT_JSON && c.fmt != FMT_GEOJSON)
		cli_usage_error(usage_text, "-r goes with -f json or geojson");
	if (csvt)
		write_csvt(csvt);

	/* open every input before hardening */
	if (c.photo_dir)
		cli_check_dir("-o", c.photo_dir);
	int nf = argc ? argc : 1;
	int *fds = NULL;
	if (no.urls != NULL) {
		char e[256];
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		if ((c.bus = tk_nats_new(&no, e, sizeof(e))) == NULL)
			errx(TK_EXIT_IO, "%s", e);
		nf = 0;
		cli_harden(TK_HARDEN_CLIENT);
	} else {
		fds = cli_open_inputs(argc, argv);
		cli_stop_catch(SIGINT);
		cli_stop_catch(SIGTERM);
		cli_harden(c.photo_dir ? TK_HARDEN_FILES : TK_HARDEN_STDIO);
	}

	tk_conntab_init(&c.conns, MAX_CONNS, c.photo_dir);
	cli_out_init(&c.out, STDOUT_FILENO, 1 << 18);
	if (c.fmt == FMT_CSV)
		tk_csv_header(cli_out_reserve(&c.out, 512));
	c.recv_ms = TK_TIME_NONE;
	if (c.bus != NULL)
		run_nats(&c, durable, part_k, part_n, idle_exit, ack_wait);
	for (int i = 0; i < nf && !c.output_dead; i++) {
		c.fname = argc ? argv[i] : "(stdin)";
		if (argc && strcmp(argv[i], "-") == 0)
			c.fname = "(stdin)";
		run_file(&c, fds[i]);
		if (fds[i] != STDIN_FILENO)
			close(fds[i]);
	}
	cli_out_flush(&c.out);
	out_check(&c);
	tk_conntab_free(&c.conns);
	free(fds);
	cli_out_free(&c.out);
	tk_nats_free(c.bus);
	if (!c.quiet)
		summary(&c);
	unsigned long rej = c.bad_lines;
	for (int d = 0; d < TK_D__COUNT; d++)
		rej += c.rejected[d];
	unsigned long dec = 0;
	for (int d = 0; d < TK_D__COUNT; d++)
		dec += c.decoded[d];
	/* input that is all junk is rejected input, whatever the counts */
	if (c.strict && (rej || (dec == 0 && (c.junk_bytes || c.bad_lines))))
		rc = TK_EXIT_DATA;
	if (c.photos_lost || input_failed || c.bus_lost)
		rc = TK_EXIT_IO;
	if (c.output_dead)
		rc = c.out.err == EPIPE ? TK_EXIT_PIPE : TK_EXIT_IO;
	return cli_close_stdout(cli_stop_status(rc));
}
