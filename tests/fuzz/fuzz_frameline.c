/*
 * fuzz_frameline.c: tk-decode's frame-line input on any bytes: the input
 * split into lines, each parsed (tk_fline_parse), written back and parsed
 * again to the same fields, probed, its FLAGS read, and its frame decoded
 * in a session per connection unless flagged as not the device's (as
 * tk-decode -i lines does; a close line ends it).
 */
#include "fuzz_common.h"

#define NSESS	8

struct fz_sess {
	int			 used;
	char			 transport[4];
	char			 peer[64];
	uint64_t		 conn;
	struct tk_session	 s;
};

static struct fz_sess tab[NSESS];
static struct fz_out fl_out;

static struct fz_sess *
lookup(const struct tk_fline *l)
{
	struct fz_sess *fr = NULL;
	for (int i = 0; i < NSESS; i++) {
		if (tab[i].used && tab[i].conn == l->conn &&
		    strcmp(tab[i].peer, l->peer) == 0 &&
		    strcmp(tab[i].transport, l->transport) == 0)
			return &tab[i];
		if (!tab[i].used && fr == NULL)
			fr = &tab[i];
	}
	if (fr == NULL) {
		fr = &tab[l->conn % NSESS];
		tk_session_free(&fr->s);
	}
	fr->used = 1;
	memcpy(fr->transport, l->transport, sizeof(fr->transport));
	memcpy(fr->peer, l->peer, sizeof(fr->peer));
	fr->conn = l->conn;
	tk_session_init(&fr->s, TK_D_UNKNOWN);
	return fr;
}

static void
one_line(const char *line, size_t n)
{
	static uint8_t scratch[1 << 16], again[1 << 16];
	static char wbuf[4 * (1 << 16) + 512];
	struct tk_fline l, l2;
	char err[120];

	tk_fline_probe(line, n);
	if (tk_fline_parse(line, n, &l, scratch, sizeof(scratch), err, sizeof(err)) != 0) {
		FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		return;
	}
	FZ_CHECK(l.data == scratch && l.len <= n);
	FZ_CHECK(memchr(l.peer, '\0', sizeof(l.peer)) && memchr(l.id, '\0', sizeof(l.id)) &&
	    memchr(l.flags, '\0', sizeof(l.flags)) &&
	    memchr(l.transport, '\0', sizeof(l.transport)));
	FZ_CHECK((unsigned)l.kind < TK_F__COUNT && (unsigned)l.dialect < TK_D__COUNT);
	/* what parses writes back, probes as a frame line, and parses the same */
	struct tk_buf b = {wbuf, 0, sizeof(wbuf)};
	FZ_CHECK(tk_fline_write(&b, &l) == 0);
	FZ_CHECK(b.len > 0 && wbuf[b.len - 1] == '\n');
	FZ_CHECK(memchr(wbuf, '\n', b.len - 1) == NULL);
	FZ_CHECK(tk_fline_probe(wbuf, b.len - 1));
	FZ_CHECK(tk_fline_parse(wbuf, b.len - 1, &l2, again, sizeof(again), err,
	    sizeof(err)) == 0);
	FZ_CHECK(l2.kind == l.kind && l2.time_ms == l.time_ms && l2.conn == l.conn &&
	    l2.dialect == l.dialect && l2.dialect_known == l.dialect_known &&
	    strcmp(l2.transport, l.transport) == 0 && strcmp(l2.peer, l.peer) == 0 &&
	    strcmp(l2.id, l.id) == 0 && strcmp(l2.flags, l.flags) == 0 &&
	    l2.len == l.len && memcmp(l2.data, l.data, l.len) == 0);
	/* the FLAGS tk-decode acts on: a frame flagged conflict= or refused=
	 * is not the device's and is not decoded; the same after the trip */
	bool disowned = tk_fline_disowned(&l);
	FZ_CHECK(disowned == tk_fline_disowned(&l2));
	FZ_CHECK(disowned == (l.flags[0] != '\0' && (tk_fline_flag(l.flags, "conflict") ||
	    tk_fline_flag(l.flags, "refused"))));
	FZ_CHECK(tk_fline_flag(l.flags, "mismatch") == tk_fline_flag(l2.flags, "mismatch"));

	if (l.kind == TK_F_CLOSE) {
		for (int i = 0; i < NSESS; i++)
			if (tab[i].used && tab[i].conn == l.conn &&
			    strcmp(tab[i].peer, l.peer) == 0) {
				tk_session_free(&tab[i].s);
				tab[i].used = 0;
			}
	} else if (l.kind == TK_F_FRAME && !disowned) {
		struct fz_sess *s = lookup(&l);
		enum tk_dialect d = l.dialect;
		if (!l.dialect_known || d == TK_D_UNKNOWN) {
			size_t skip;
			if (tk_classify(l.data, l.len, true, &d, &skip) != TK_CLASS_OK)
				d = TK_D_UNKNOWN;
		}
		s->s.dialect = d;
		if (l.id[0] && s->s.id[0] == '\0')
			tk_strlcpyn(s->s.id, sizeof(s->s.id), l.id, strlen(l.id));
		if (d != TK_D_UNKNOWN) {
			/* exact-size copy of the frame */
			uint8_t *f = malloc(l.len ? l.len : 1);
			FZ_CHECK(f != NULL);
			memcpy(f, l.data, l.len);
			fz_decode(&s->s, f, l.len, &fl_out);
			free(f);
		}
	}
}

static void
fz_frameline_check(const uint8_t *data, size_t size)
{
	char *in = malloc(size ? size : 1);
	FZ_CHECK(in != NULL);
	memcpy(in, data, size);
	const char *p = in;
	size_t left = size;
	while (left > 0) {
		const char *nl = memchr(p, '\n', left);
		size_t n = nl ? (size_t)(nl - p) : left;
		/* an exact-size copy of the line, for ASan */
		char *line = malloc(n ? n : 1);
		FZ_CHECK(line != NULL);
		memcpy(line, p, n);
		one_line(line, n);
		free(line);
		if (nl == NULL)
			break;
		p += n + 1;
		left -= n + 1;
	}
	for (int i = 0; i < NSESS; i++)
		if (tab[i].used) {
			tk_session_free(&tab[i].s);
			tab[i].used = 0;
		}
	free(in);
}

#ifndef FZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_frameline_check(data, size);
	return 0;
}
#endif
