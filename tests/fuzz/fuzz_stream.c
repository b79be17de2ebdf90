/*
 * fuzz_stream.c: the classifier, every dialect's framer and decoder, as
 * tk-listen and tk-decode run them: the input is a byte stream fed in
 * chunks whose sizes come from the input itself, each frame decoded and
 * written as JSON and as a frame line, and its reply built.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"

struct st {
	struct tk_session s;
	struct tk_record r;
	char json[1 << 16];
};

static int
emit(void *arg, struct tk_record *r)
{
	struct st *st = arg;
	struct tk_buf b = {st->json, 0, sizeof(st->json)};
	tk_json_record(&b, r, TK_JSON_RAW);
	b.len = 0;
	tk_csv_record(&b, r);
	return 0;
}

static int
on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct st *st = arg;
	char err[200], warn[200], id[TK_ID_MAX];
	uint8_t reply[TK_REPLY_MAX];
	(void)off;
	st->s.dialect = d;
	tk_decode(&st->s, f, n, 0, &st->r, emit, st, err, sizeof(err), warn, sizeof(warn));
	tk_reply(d, f, n, reply, sizeof(reply));
	tk_frame_id(d, f, n, id, sizeof(id));
	/* the frame line round trip must be exact */
	static char line[4 * 65536 + 512];
	static uint8_t back[65536 + 16];
	struct tk_buf b = {line, 0, sizeof(line)};
	struct tk_fline l = {0};
	l.kind = TK_F_FRAME;
	memcpy(l.transport, "tcp", 4);
	memcpy(l.peer, "127.0.0.1:1", 12);
	l.dialect = d;
	l.dialect_known = true;
	l.data = f;
	l.len = n;
	if (n <= 65536 && tk_fline_write(&b, &l) == 0) {
		struct tk_fline p;
		char e[100];
		if (tk_fline_parse(line, b.len, &p, back, sizeof(back), e, sizeof(e)) != 0 ||
		    p.len != n || memcmp(p.data, f, n) != 0)
			abort();
	}
	return 0;
}

static void
on_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	(void)arg;
	(void)j;
	(void)n;
	(void)off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct st st;
	struct tk_framer fr;
	struct tk_framer_cb cb = {on_frame, on_junk, &st};

	if (size < 1)
		return 0;
	/* first byte: chunking seed and an optional forced dialect */
	uint8_t seed = data[0];
	data++;
	size--;
	enum tk_dialect forced = (seed & 0x80) ? (enum tk_dialect)((seed >> 4) & 7) : TK_D_UNKNOWN;
	if (forced >= TK_D__COUNT)
		forced = TK_D_UNKNOWN;
	tk_session_init(&st.s, forced);
	tk_framer_init(&fr, forced, 0);
	size_t off = 0, k = (seed & 15) + 1;
	while (off < size) {
		size_t n = size - off < k ? size - off : k;
		tk_framer_feed(&fr, data + off, n, &cb);
		off += n;
		k = k * 7 % 61 + 1;
	}
	tk_framer_finish(&fr, &cb);
	tk_session_free(&st.s);

	/* and the whole input as one datagram/frame of each decodable dialect */
	for (int d = 1; d < TK_D__COUNT; d++) {
		char err[200], warn[200];
		tk_session_init(&st.s, (enum tk_dialect)d);
		tk_decode(&st.s, data, size, 0, &st.r, emit, &st, err, sizeof(err), warn,
		    sizeof(warn));
		tk_session_free(&st.s);
	}
	return 0;
}
