/*
 * fuzz_common.h: shared pieces of the libFuzzer harnesses (included by
 * each tests/fuzz/fuzz_*.c; not a harness itself).
 *
 * Every record a decoder emits is written as JSON and CSV, and the JSON
 * is checked: valid UTF-8, no raw control bytes, balanced braces outside
 * strings.  A failed check aborts, which libFuzzer reports as a crash.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"

#ifndef FZ_CHECK	/* the regression suite makes it a cmocka failure */
#define FZ_CHECK(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
	abort(); } } while (0)
#endif

/* Valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static inline int
fz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned min, cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1; min = 0x80; cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2; min = 0x800; cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3; min = 0x10000; cp = c & 0x07;
		} else
			return 0;
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* One JSON object per line: UTF-8, no control bytes, structure balanced. */
static inline void
fz_check_json(const char *p, size_t n)
{
	FZ_CHECK(n >= 3 && p[0] == '{' && p[n - 1] == '\n' && p[n - 2] == '}');
	FZ_CHECK(fz_utf8_ok((const unsigned char *)p, n - 1));
	int depth = 0, instr = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char c = (unsigned char)p[i];
		FZ_CHECK(c >= 0x20);
		if (instr) {
			if (c == '\\') {
				i++;
				FZ_CHECK(i + 1 < n);
				FZ_CHECK(strchr("\"\\/bfnrtu", p[i]) != NULL);
			} else if (c == '"')
				instr = 0;
			continue;
		}
		if (c == '"')
			instr = 1;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			depth--;
			FZ_CHECK(depth >= 0);
		}
	}
	FZ_CHECK(!instr && depth == 0);
}

struct fz_out {
	unsigned	 nrec;
	char		 buf[1 << 16];
};

static inline int
fz_emit(void *arg, struct tk_record *r)
{
	struct fz_out *o = arg;
	struct tk_buf b = {o->buf, 0, sizeof(o->buf)};
	o->nrec++;
	/* TK_JSON_MAX is a promise: a record always fits in that much */
	int fits = sizeof(o->buf) >= TK_JSON_MAX(r->rawlen);
	if (tk_json_record(&b, r, TK_JSON_RAW) == 0)
		fz_check_json(b.p, b.len);
	else
		FZ_CHECK(!fits);
	b.len = 0;
	if (tk_json_record(&b, r, 0) == 0)
		fz_check_json(b.p, b.len);
	else
		FZ_CHECK(!fits);
	b.len = 0;
	tk_csv_record(&b, r);
	/* and TK_FMT_MAX for the other writers */
	fits = sizeof(o->buf) >= TK_FMT_MAX(r->rawlen);
	b.len = 0;
	int grc = tk_geojson_record(&b, r, TK_JSON_RAW);
	if (grc == 0)
		fz_check_json(b.p, b.len);
	else
		FZ_CHECK(grc == 1 ? !r->has_pos && b.len == 0 : !fits);
	b.len = 0;
	int trc = tk_traccar_record(&b, r);
	if (trc == 0)
		fz_check_json(b.p, b.len);
	else
		FZ_CHECK(trc == 1 ? b.len == 0 : !fits);
	return 0;
}

/* Decode one frame; the err/warn strings must be NUL-terminated UTF-8-free
 * of control bytes (they end up in diagnostics). */
static inline int
fz_decode(struct tk_session *s, const uint8_t *f, size_t n, struct fz_out *o)
{
	static struct tk_record r;
	char err[200], warn[200];
	err[0] = warn[0] = '\0';
	int rc = tk_decode(s, f, n, 1795500000000, &r, fz_emit, o, err, sizeof(err), warn,
	    sizeof(warn));
	FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	FZ_CHECK(memchr(warn, '\0', sizeof(warn)) != NULL);
	if (rc < 0)
		FZ_CHECK(err[0] != '\0');
	for (const char *p = err; *p; p++)
		FZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	for (const char *p = warn; *p; p++)
		FZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	uint8_t reply[TK_REPLY_MAX];
	size_t rl = tk_reply(s->dialect, f, n, reply, sizeof(reply));
	FZ_CHECK(rl <= sizeof(reply));
	char id[TK_ID_MAX];
	size_t il = tk_frame_id(s->dialect, f, n, id, sizeof(id));
	FZ_CHECK(il < sizeof(id) && strlen(id) == il);
	/* ids go into frame lines as a field: printable ASCII, no space */
	for (size_t i = 0; i < il; i++)
		FZ_CHECK(id[i] >= 0x21 && id[i] <= 0x7e);
	for (size_t i = 0; s->id[i]; i++)
		FZ_CHECK(s->id[i] >= 0x21 && s->id[i] <= 0x7e);
	return rc;
}

/*
 * The frames of a decoder harness: the input split on the separator
 * "\n--\n" (seeds are made that way), so one session sees several frames
 * (logins teach ids, photo chunks accumulate).
 */
#define FZ_SEP		"\n--\n"
#define FZ_SEPLEN	4

static inline void
fz_decode_frames(enum tk_dialect d, const char *photo_dir, const uint8_t *data,
    size_t size)
{
	static struct fz_out o;
	struct tk_session s;

	tk_session_init(&s, d);
	s.photo_dir = photo_dir;
	while (size > 0) {
		const uint8_t *e = memmem(data, size, FZ_SEP, FZ_SEPLEN);
		size_t n = e ? (size_t)(e - data) : size;
		/* copy to an exact-size heap buffer so ASan sees any overread */
		uint8_t *f = malloc(n ? n : 1);
		if (f == NULL)
			abort();
		memcpy(f, data, n);
		fz_decode(&s, f, n, &o);
		FZ_CHECK(s.dialect == d);
		FZ_CHECK(memchr(s.id, '\0', sizeof(s.id)) != NULL);
		free(f);
		if (e == NULL)
			break;
		data += n + FZ_SEPLEN;
		size -= n + FZ_SEPLEN;
	}
	tk_session_free(&s);
}

#endif
