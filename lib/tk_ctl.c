/* tk_ctl.c: control protocol request parsing (tk-listen -S). */
#include <stdio.h>
#include <string.h>

#include "tk_ctl.h"
#include "tk_util.h"

enum tk_ctl_line
tk_ctl_line(const char *buf, size_t n, size_t *len)
{
	size_t lim = n < TK_CTL_LINE_MAX ? n : TK_CTL_LINE_MAX;
	const char *nl = memchr(buf, '\n', lim);

	if (nl != NULL) {
		*len = (size_t)(nl - buf);
		return TK_CTL_LINE_OK;
	}
	*len = 0;
	return n >= TK_CTL_LINE_MAX ? TK_CTL_LINE_TOOLONG : TK_CTL_LINE_MORE;
}

bool
tk_ctl_valid_id(const char *p, size_t n)
{
	if (n == 0 || n >= TK_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static const struct {
	const char	*name;
	enum tk_ctl_verb verb;
	size_t		 min, max;	/* argument counts */
} verbs[] = {
	{"LIST", TK_CTL_LIST, 0, 1},
	{"STATS", TK_CTL_STATS, 0, 0},
	{"SEND", TK_CTL_SEND, 2, 3},
	{"WATCH", TK_CTL_WATCH, 1, 1},
	{"QUEUE", TK_CTL_QUEUE, 3, 3},
	{"PENDING", TK_CTL_PENDING, 0, 1},
	{"CANCEL", TK_CTL_CANCEL, 1, 1},
};

static int
parse_hex(struct tk_span s, struct tk_ctl_req *r, char *err, size_t errlen)
{
	if (s.n == 0 || s.n % 2)
		FAIL("badrequest hex must have an even, non-zero length");
	if (s.n / 2 > TK_CTL_SEND_MAX)
		FAIL("toolong %zu bytes (at most %d)", s.n / 2, TK_CTL_SEND_MAX);
	long k = tk_hex_decode(s.p, s.n, r->data, sizeof(r->data));
	if (k < 0)
		FAIL("badrequest bad hex digit");
	r->len = (size_t)k;
	return 0;
}

static int
parse_id(struct tk_span s, struct tk_ctl_req *r, char *err, size_t errlen)
{
	if (!tk_ctl_valid_id(s.p, s.n))
		FAIL("badrequest bad device id (1-31 of A-Za-z0-9_-)");
	tk_strlcpyn(r->id, sizeof(r->id), s.p, s.n);
	return 0;
}

int
tk_ctl_parse(const char *line, size_t n, struct tk_ctl_req *r, char *err, size_t errlen)
{
	struct tk_span f[5];

	memset(r, 0, offsetof(struct tk_ctl_req, data));
	if (n && line[n - 1] == '\r')
		n--;
	if (n >= TK_CTL_LINE_MAX)
		FAIL("badrequest line too long");
	if (memchr(line, '\0', n) != NULL)
		FAIL("badrequest NUL byte");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			FAIL("badrequest non-ASCII or control byte at %zu", i + 1);
	if (n == 0)
		FAIL("badrequest empty request");
	size_t nf = tk_split(line, n, ' ', f, 5);
	for (size_t i = 0; i < nf && i < 5; i++)
		if (f[i].n == 0)
			FAIL("badrequest tokens must be separated by single spaces");
	size_t v;
	for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (tk_span_eq(f[0], verbs[v].name))
			break;
	if (v == sizeof(verbs) / sizeof(verbs[0]))
		FAIL("badrequest unknown verb");
	if (nf - 1 < verbs[v].min || nf - 1 > verbs[v].max)
		FAIL("badrequest %s takes %zu to %zu arguments", verbs[v].name,
		    verbs[v].min, verbs[v].max);
	r->verb = verbs[v].verb;
	switch (r->verb) {
	case TK_CTL_LIST:
		if (nf == 2)
			return parse_id(f[1], r, err, errlen);
		break;
	case TK_CTL_STATS:
		break;
	case TK_CTL_SEND:
		if (parse_id(f[1], r, err, errlen) || parse_hex(f[2], r, err, errlen))
			return -1;
		if (nf == 4) {
			if (!tk_span_eq(f[3], "watch"))
				FAIL("badrequest third SEND argument must be watch");
			r->watch = true;
		}
		break;
	case TK_CTL_WATCH:
		return parse_id(f[1], r, err, errlen);
	case TK_CTL_QUEUE: {
		uint64_t t;
		if (parse_id(f[1], r, err, errlen))
			return -1;
		if (tk_parse_uint(f[2].p, f[2].n, TK_CTL_TTL_MAX, &t) != 0 || t == 0)
			FAIL("badrequest ttl must be 1 to %d seconds", TK_CTL_TTL_MAX);
		r->ttl = (uint32_t)t;
		return parse_hex(f[3], r, err, errlen);
	}
	case TK_CTL_PENDING:
		if (nf == 2)
			return parse_id(f[1], r, err, errlen);
		break;
	case TK_CTL_CANCEL:
		if (f[1].n > 19 || tk_parse_uint(f[1].p, f[1].n, UINT64_MAX, &r->qid) != 0 ||
		    r->qid == 0)
			FAIL("badrequest bad command id");
		break;
	}
	return 0;
}
