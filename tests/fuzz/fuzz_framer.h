/*
 * fuzz_framer.h: the streaming contract of one dialect's framer (included
 * by fuzz_framer_<dialect>.c with FZ_DIALECT defined).
 *
 * The input (after a first byte choosing the chunking) is fed once whole
 * and once in chunks of input-chosen sizes, both with the dialect forced
 * and not; the frames (bytes and stream offsets) must be the same.  The
 * frames must also lie inside the input at the offset reported, and be
 * at most the dialect's frame maximum.
 */
#ifndef FUZZ_FRAMER_H
#define FUZZ_FRAMER_H

#include "fuzz_common.h"

struct fz_frame {
	uint64_t	off;
	size_t		len;
	enum tk_dialect	d;
};

#define FZ_FRAMES_MAX	4096

struct fz_run {
	const uint8_t	*in;		/* the whole input, to check offsets */
	size_t		 inlen;
	size_t		 n;
	uint64_t	 junk;
	struct fz_frame	 f[FZ_FRAMES_MAX];
};

static inline int
fz_on_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct fz_run *r = arg;
	FZ_CHECK(n > 0);
	FZ_CHECK(n <= tk_frame_max(d));
	FZ_CHECK(off <= r->inlen && n <= r->inlen - off);
	FZ_CHECK(memcmp(r->in + off, f, n) == 0);
	if (r->n < FZ_FRAMES_MAX)
		r->f[r->n++] = (struct fz_frame){off, n, d};
	return 0;
}

static inline void
fz_on_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct fz_run *r = arg;
	FZ_CHECK(n > 0);
	FZ_CHECK(off <= r->inlen && n <= r->inlen - off);
	FZ_CHECK(memcmp(r->in + off, j, n) == 0);
	r->junk += n;
}

static inline int
fz_stop_after(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	int *left = arg;
	(void)d;
	(void)f;
	(void)n;
	(void)off;
	return (*left)-- <= 0;
}

/* Feed data in chunks: k == 0 means all at once; else sizes from seed. */
static inline void
fz_feed(struct fz_run *r, enum tk_dialect given, const uint8_t *data, size_t size,
    unsigned seed, int whole)
{
	struct tk_framer fr;
	struct tk_framer_cb cb = {fz_on_frame, fz_on_junk, r};

	r->in = data;
	r->inlen = size;
	r->n = 0;
	r->junk = 0;
	tk_framer_init(&fr, given, 0);
	if (whole) {
		if (size)
			tk_framer_feed(&fr, data, size, &cb);
	} else {
		size_t off = 0;
		unsigned k = seed % 97 + 1;
		while (off < size) {
			size_t n = size - off < k ? size - off : k;
			tk_framer_feed(&fr, data + off, n, &cb);
			FZ_CHECK(tk_framer_pending(&fr) <= tk_frame_max(given ? given : fr.dialect) ||
			    fr.dialect == TK_D_UNKNOWN);
			off += n;
			/* a mix of tiny and large chunks */
			seed = seed * 1103515245u + 12345u;
			k = (seed >> 16) % 8 == 0 ? (seed >> 8) % 5000 + 1 : (seed >> 16) % 13 + 1;
		}
	}
	tk_framer_finish(&fr, &cb);
	FZ_CHECK(fr.buf == NULL && fr.len == 0);
}

static inline void
fz_same(const struct fz_run *a, const struct fz_run *b, const char *what)
{
	if (a->n != b->n) {
		fprintf(stderr, "%s: frame count differs: whole %zu, chunked %zu\n", what, a->n, b->n);
		for (size_t i = 0; i < a->n || i < b->n; i++)
			fprintf(stderr, "  %zu: whole %s@%llu+%zu  chunked %s@%llu+%zu\n", i,
			    i < a->n ? tk_dialect_name(a->f[i].d) : "-",
			    i < a->n ? (unsigned long long)a->f[i].off : 0ull,
			    i < a->n ? a->f[i].len : 0,
			    i < b->n ? tk_dialect_name(b->f[i].d) : "-",
			    i < b->n ? (unsigned long long)b->f[i].off : 0ull,
			    i < b->n ? b->f[i].len : 0);
		FZ_CHECK(!"frame count differs");
	}
	for (size_t i = 0; i < a->n; i++) {
		if (a->f[i].off != b->f[i].off || a->f[i].len != b->f[i].len ||
		    a->f[i].d != b->f[i].d) {
			fprintf(stderr, "%s: frame %zu differs: whole %s@%llu+%zu, chunked %s@%llu+%zu\n",
			    what, i, tk_dialect_name(a->f[i].d), (unsigned long long)a->f[i].off,
			    a->f[i].len, tk_dialect_name(b->f[i].d),
			    (unsigned long long)b->f[i].off, b->f[i].len);
			FZ_CHECK(!"frame differs");
		}
	}
}

/* The whole check for one input of a framer harness (the regression
 * suite calls it too). */
static inline void
fz_framer_check(enum tk_dialect forced, const uint8_t *data, size_t size)
{
	static struct fz_run whole, chunked;

	if (size < 1)
		return;
	unsigned seed = data[0];
	data++;
	size--;
	/* exact-size copy: ASan catches any read past the input */
	uint8_t *in = malloc(size ? size : 1);
	if (in == NULL)
		abort();
	memcpy(in, data, size);

	/* the dialect forced, as tk-decode -P and a dialect-per-port listener */
	fz_feed(&whole, forced, in, size, seed, 1);
	fz_feed(&chunked, forced, in, size, seed, 0);
	fz_same(&whole, &chunked, "forced");
	/* and classified from the first bytes */
	fz_feed(&whole, TK_D_UNKNOWN, in, size, seed, 1);
	fz_feed(&chunked, TK_D_UNKNOWN, in, size, seed, 0);
	fz_same(&whole, &chunked, "classified");
	/* byte by byte, the extreme chunking */
	if (size <= 2048) {
		struct tk_framer fr;
		struct tk_framer_cb cb = {fz_on_frame, fz_on_junk, &chunked};
		chunked.in = in;
		chunked.inlen = size;
		chunked.n = 0;
		tk_framer_init(&fr, TK_D_UNKNOWN, 0);
		for (size_t i = 0; i < size; i++)
			tk_framer_feed(&fr, in + i, 1, &cb);
		tk_framer_finish(&fr, &cb);
		fz_same(&whole, &chunked, "byte by byte");
	}
	/* a callback that stops (a listener closing the session) after some
	 * frame, in reads of any size: nothing may be kept beyond the buffer */
	{
		struct tk_framer fr;
		int left = (int)(seed % 4);
		struct tk_framer_cb cb = {fz_stop_after, NULL, &left};
		size_t off = 0, k = seed % 3 == 0 ? size : (seed % 200) + 1;
		tk_framer_init(&fr, seed & 1 ? forced : TK_D_UNKNOWN, 0);
		while (off < size) {
			size_t n = size - off < k ? size - off : k;
			enum tk_feed r = tk_framer_feed(&fr, in + off, n, &cb);
			FZ_CHECK(tk_framer_pending(&fr) <= 65536);
			if (r == TK_FEED_STOPPED)
				break;
			off += n;
		}
		tk_framer_free(&fr);
	}
	free(in);
}

#ifdef FZ_DIALECT
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_framer_check(FZ_DIALECT, data, size);
	return 0;
}
#endif

#endif
