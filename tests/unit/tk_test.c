/* tk_test.c: shared helpers for the cmocka suites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"
#include "tk_test.h"

const char *
tkt_data(const char *rel)
{
	static char path[4096];
	const char *base = getenv("TK_TESTDATA");
	snprintf(path, sizeof(path), "%s/%s", base ? base : "tests/data", rel);
	return path;
}

size_t
tkt_unescape(const char *s, uint8_t *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; s[i] && o < cap; i++) {
		if (s[i] != '\\' || s[i + 1] == '\0') {
			out[o++] = (uint8_t)s[i];
			continue;
		}
		i++;
		switch (s[i]) {
		case 'r': out[o++] = '\r'; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case '\\': out[o++] = '\\'; break;
		case 'x':
			if (tk_hexval((unsigned char)s[i + 1]) >= 0 &&
			    tk_hexval((unsigned char)s[i + 2]) >= 0) {
				out[o++] = (uint8_t)(tk_hexval((unsigned char)s[i + 1]) << 4 |
				    tk_hexval((unsigned char)s[i + 2]));
				i += 2;
				break;
			}
			__attribute__((fallthrough));	/* a bad \x escape is kept literally */
		default:
			out[o++] = '\\';
			if (o < cap)
				out[o++] = (uint8_t)s[i];
		}
	}
	return o;
}

static void
field(char **p, char *dst, size_t cap)
{
	char *t = strchr(*p, '\t');
	size_t n = t ? (size_t)(t - *p) : strlen(*p);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p = t ? t + 1 : *p + strlen(*p);
}

size_t
tkt_read_tsv(const char *path, struct tkt_row **rows)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0, alloc = 0;
	unsigned lineno = 0;
	static char msg[2 * TKT_MSG_MAX + 16];

	*rows = NULL;
	if (f == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (lineno == 1)
			continue;	/* header */
		line[strcspn(line, "\n")] = '\0';
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			*rows = realloc(*rows, alloc * sizeof(**rows));
			if (*rows == NULL)
				abort();
		}
		struct tkt_row *r = &(*rows)[n++];
		char *p = line;
		r->line = lineno;
		field(&p, r->expectation, sizeof(r->expectation));
		field(&p, msg, sizeof(msg));
		field(&p, r->checks, sizeof(r->checks));
		field(&p, r->encoding, sizeof(r->encoding));
		if (strcmp(r->encoding, "hex") == 0) {
			long l = tk_hex_decode(msg, strlen(msg), r->msg, sizeof(r->msg));
			r->len = l < 0 ? 0 : (size_t)l;
		} else
			r->len = tkt_unescape(msg, r->msg, sizeof(r->msg));
	}
	free(line);
	fclose(f);
	return n;
}

const char *
tkt_check(const char *checks, const char *key)
{
	static char val[512];
	size_t kl = strlen(key);
	const char *p = checks;
	while (p && *p) {
		const char *e = strchr(p, ';');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
			size_t vl = n - kl - 1;
			if (vl >= sizeof(val))
				vl = sizeof(val) - 1;
			memcpy(val, p + kl + 1, vl);
			val[vl] = '\0';
			return val;
		}
		p = e ? e + 1 : NULL;
	}
	return NULL;
}

static int
tkt_got_frame(void *arg, enum tk_dialect d, const uint8_t *f, size_t n, uint64_t off)
{
	struct tkt_frames *g = arg;
	(void)off;
	if (d != g->want)
		g->wrong++;
	if (g->n < TKT_MAXF && n <= sizeof(g->f[0])) {
		memcpy(g->f[g->n], f, n);
		g->len[g->n] = n;
	}
	g->n++;
	return 0;
}

static void
tkt_got_junk(void *arg, const uint8_t *j, size_t n, uint64_t off)
{
	struct tkt_frames *g = arg;
	(void)j;
	(void)off;
	g->junk += n;
}

int
tkt_feed(enum tk_dialect d, const uint8_t *s, size_t n, size_t k, struct tkt_frames *g)
{
	struct tk_framer fr;
	struct tk_framer_cb cb = {tkt_got_frame, tkt_got_junk, g};
	int rc = 0;

	memset(g, 0, sizeof(*g));
	g->want = d;
	tk_framer_init(&fr, d, 0);
	if (k == 0)
		k = n ? n : 1;
	for (size_t off = 0; off < n; off += k) {
		size_t m = n - off < k ? n - off : k;
		if (tk_framer_feed(&fr, s + off, m, &cb) != TK_FEED_OK)
			rc = -1;
	}
	tk_framer_finish(&fr, &cb);
	return rc;
}
