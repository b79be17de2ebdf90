/*
 * tk_tk103.c: the tk103 dialect (parenthesised frames): streaming framing,
 * the replies a server owes, the device id of a frame, and decoding.
 *
 * Wire reference: protocol.md section 2.  Two layouts share the dialect:
 *   classic  "(" id(11..12, alphanumeric) code(4) payload ")"
 *   comma    "(" id "," code "," fields ")"
 * The message code is found by pattern, not at a fixed offset, because
 * 11-character ids exist.  UDP datagrams may lack the outer parentheses.
 */
#include <string.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_util.h"

/* Traccar's rule: an unterminated frame longer than this is given up. */
#define TK103_GIVEUP	1024

/* ---- framing ----------------------------------------------------------- */

static bool
only_ws(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!tk_is_ws(p[i]))
			return false;
	return true;
}

/*
 * Find the end of the frame that starts at p[0] == '(': the first ')' with
 * an even number of '$' since the '('.  *restart is set to the offset of a
 * '(' met outside a $...$ region before any such ')' (a truncated frame
 * followed by a new one), or 0.  Returns the frame length, or 0.
 */
static size_t
frame_end(const uint8_t *p, size_t n, size_t *restart)
{
	bool odd = false;

	*restart = 0;
	for (size_t i = 1; i < n; i++) {
		uint8_t c = p[i];
		if (c == '$')
			odd = !odd;
		else if (c == ')' && !odd)
			return i + 1;
		else if (c == '(' && !odd) {
			*restart = i;
			return 0;
		}
	}
	return 0;
}

enum tk_scan
tk_tk103_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t skip = 0;
	bool junk = false;

	o->len = 0;
	for (;;) {
		const uint8_t *q = memchr(p + skip, '(', n - skip);
		if (q == NULL) {
			if (!junk)
				junk = !only_ws(p + skip, n - skip);
			o->skip = n;
			o->junk = junk;
			return TK_SCAN_MORE;
		}
		size_t s = (size_t)(q - p);
		if (!junk && s > skip)
			junk = !only_ws(p + skip, s - skip);
		skip = s;
		size_t restart, len = frame_end(p + s, n - s, &restart);
		if (len) {
			o->skip = s;
			o->len = len;
			o->junk = junk;
			return TK_SCAN_FRAME;
		}
		if (restart) {
			/* "(" ... "(": the first one never ended */
			skip = s + restart;
			junk = true;
			continue;
		}
		if (n - s > TK103_GIVEUP) {
			/* too long without an end: drop up to the next "(" */
			q = memchr(p + s + 1, '(', n - s - 1);
			skip = q ? (size_t)(q - p) : n;
			junk = true;
			continue;
		}
		if (eof) {
			size_t e = n;
			while (e > s && tk_is_ws(p[e - 1]))
				e--;
			o->skip = s;
			o->len = e - s;
			o->junk = junk;
			return TK_SCAN_FRAME;
		}
		o->skip = s;
		o->junk = junk;
		return TK_SCAN_MORE;
	}
}

/* ---- frame head: id and code ------------------------------------------- */

struct head {
	const char	*id;
	size_t		 idn;
	const char	*code;		/* 4 bytes */
	const char	*pay;		/* after the code (and its ',' in comma form) */
	size_t		 payn;
	bool		 comma;		/* comma layout */
};

static inline bool
isdig(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool
isup(int c)
{
	return c >= 'A' && c <= 'Z';
}

static inline bool
isalnum_(int c)
{
	return isdig(c) || isup(c) || (c >= 'a' && c <= 'z');
}

/* A device message code we know the shape of: B?dd, ZCdd, DWxx. */
static bool
known_code(const char *c)
{
	if (c[0] == 'B')
		return isup(c[1]) && isdig(c[2]) && isdig(c[3]);
	if (c[0] == 'Z' && c[1] == 'C')
		return isdig(c[2]) && isdig(c[3]);
	if (c[0] == 'D' && c[1] == 'W')
		return tk_hexval(c[2]) >= 0 && tk_hexval(c[3]) >= 0;
	return false;
}

/* Any code: [A-Z][A-Z0-9][0-9A-F][0-9A-F]. */
static bool
any_code(const char *c)
{
	return isup(c[0]) && (isup(c[1]) || isdig(c[1])) &&
	    tk_hexval(c[2]) >= 0 && tk_hexval(c[3]) >= 0;
}

static bool
id_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum_((unsigned char)p[i]))
			return false;
	return true;
}

/* Strip the outer parentheses (optional: UDP) and trailing CR/LF. */
static void
inner(const uint8_t **f, size_t *n)
{
	const uint8_t *p = *f;
	size_t m = *n;
	while (m && tk_is_ws(p[0])) {
		p++;
		m--;
	}
	while (m && tk_is_ws(p[m - 1]))
		m--;
	if (m && p[0] == '(') {
		p++;
		m--;
	}
	if (m && p[m - 1] == ')')
		m--;
	*f = p;
	*n = m;
}

/* Split the frame into id, code and payload.  0 on success. */
static int
head(const uint8_t *f, size_t n, struct head *h)
{
	inner(&f, &n);
	const char *p = (const char *)f;
	static const size_t offs[2] = {12, 11};

	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < 2; k++) {
			size_t o = offs[k];
			if (n < o + 4 || !id_ok(p, o))
				continue;
			if (pass == 0 ? !known_code(p + o) : !any_code(p + o))
				continue;
			h->id = p;
			h->idn = o;
			h->code = p + o;
			h->pay = p + o + 4;
			h->payn = n - o - 4;
			h->comma = false;
			return 0;
		}
	}
	/* comma layout: id "," code ("," | end) */
	const char *c = memchr(p, ',', n < 22 ? n : 22);
	if (c == NULL)
		return -1;
	size_t k = (size_t)(c - p);
	if (k == 0 || !id_ok(p, k) || n < k + 5 || !any_code(p + k + 1))
		return -1;
	if (n > k + 5 && p[k + 5] != ',')
		return -1;
	h->id = p;
	h->idn = k;
	h->code = p + k + 1;
	h->pay = n > k + 5 ? p + k + 6 : p + n;
	h->payn = n > k + 5 ? n - k - 6 : 0;
	h->comma = true;
	return 0;
}

static bool
code_is(const struct head *h, const char *c)
{
	return memcmp(h->code, c, 4) == 0;
}

/* ---- replies and ids --------------------------------------------------- */

static size_t
put(uint8_t *out, size_t cap, size_t at, const void *s, size_t n)
{
	if (at + n > cap)
		return cap + 1;
	memcpy(out + at, s, n);
	return at + n;
}

size_t
tk_tk103_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	struct head h;
	const char *tail;
	size_t tn;
	char buf[8];

	if (head(f, n, &h) != 0 || h.comma)
		return 0;	/* Traccar sends nothing to comma-form logins */
	if (code_is(&h, "BP00")) {
		tail = "AP01HSO";
		tn = 7;
	} else if (code_is(&h, "BP05")) {
		tail = "AP05";
		tn = 4;
	} else if (code_is(&h, "BO01") && h.payn > 0 && isdig((unsigned char)h.pay[0])) {
		memcpy(buf, "AS01", 4);
		buf[4] = h.pay[0];
		tail = buf;
		tn = 5;
	} else
		return 0;
	size_t at = put(out, cap, 0, "(", 1);
	if (at <= cap)
		at = put(out, cap, at, h.id, h.idn);
	if (at <= cap)
		at = put(out, cap, at, tail, tn);
	if (at <= cap)
		at = put(out, cap, at, ")", 1);
	return at <= cap ? at : 0;
}

size_t
tk_tk103_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	struct head h;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (head(f, n, &h) != 0)
		return 0;
	if (h.idn >= cap)
		return 0;
	return tk_strlcpyn(out, cap, h.id, h.idn);
}

/* ---- decoding ---------------------------------------------------------- */

int
tk_tk103_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	(void)f; (void)n;
	return tk_dctx_reject(c, "tk103 decoding not implemented yet");
}
