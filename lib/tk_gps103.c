/*
 * tk_gps103.c: the gps103 dialect (Coban "imei:" sentences): framing,
 * the replies a server owes, the device id of a frame, decoding, and
 * photo reassembly.  See protocol.md section 3.
 *
 * Replies (protocol.md 3.2, 6), and where this differs from Traccar:
 *   "##,imei:<IMEI>,A;"        LOAD   (also "imei:<IMEI>,A;" up to 30 bytes)
 *   "<IMEI>;" (bare digits)    ON
 *   "<IMEI>imei:<IMEI>,..."    ON, then the data is decoded
 *   "imei:<IMEI>,help me,..."  "**,imei:<IMEI>,E;"  (after ON when glued)
 * Traccar answers LOAD to any frame of at most 30 bytes containing "imei:",
 * so it also answers short data lines such as "imei:123451234512345,L,*".
 * We answer LOAD only to a real login (the "##," form, or a bare "A"
 * keyword); a short data line gets no reply and is decoded as what it is.
 * Traccar answers ON to anything starting with a digit; we answer ON only
 * when the digits are a heartbeat (digits then end, delimiter or "imei:").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tk_decode.h"
#include "tk_dialect_int.h"
#include "tk_util.h"

#define GPS103_FRAME_MAX	32768
#define GPS103_IMEI_MAX		20	/* digits in an id we accept */
#define GPS103_HB_MIN		10	/* digits in a bare heartbeat id */

/* ---- framing (protocol.md 3.1) --------------------------------------- */

/* Frame delimiters: '\n' (which also ends "\r\n"), ';' and '*'. */
static const uint8_t delim[256] = { ['\n'] = 1, [';'] = 1, ['*'] = 1 };

static inline bool
isdig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
lit(const uint8_t *p, size_t n, const char *s, size_t sl)
{
	return n >= sl && memcmp(p, s, sl) == 0;
}
#define LIT(p, n, s)	lit((p), (n), (s), sizeof(s) - 1)

/*
 * Where a gps103 frame starts inside segment p[0..n): at "imei:", "##,"
 * or a digit; junk before "imei:" is skipped (keeping a glued heartbeat
 * or a "##," just before it).  Returns n when the segment is all junk.
 */
static size_t
frame_start(const uint8_t *p, size_t n)
{
	if (isdig(p[0]) || LIT(p, n, "imei:") || LIT(p, n, "##,"))
		return 0;
	for (size_t k = 1; k + 5 <= n; k++) {
		if (p[k] != 'i' || memcmp(p + k, "imei:", 5) != 0)
			continue;
		if (k >= 3 && memcmp(p + k - 3, "##,", 3) == 0)
			return k - 3;
		size_t s = k;
		while (s > 0 && isdig(p[s - 1]))
			s--;
		return s;
	}
	return n;
}

enum tk_scan
tk_gps103_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	size_t i = 0;

	o->skip = o->len = 0;
	o->junk = false;
	for (;;) {
		while (i < n && tk_is_ws(p[i]))
			i++;
		if (i == n) {
			o->skip = n;
			return TK_SCAN_MORE;
		}
		size_t start = i, lim = n - start > GPS103_FRAME_MAX ?
		    start + GPS103_FRAME_MAX : n, j = start;
		while (j < lim && !delim[p[j]])
			j++;
		size_t end;
		if (j < lim) {
			end = j + 1;		/* the delimiter stays in the frame */
		} else if (lim < n) {
			/* no delimiter within the maximum frame: junk */
			o->skip = i = lim;
			o->junk = true;
			continue;
		} else if (eof) {
			end = n;		/* a trailing unterminated frame */
		} else {
			o->skip = start;
			return TK_SCAN_MORE;
		}
		size_t k = frame_start(p + start, end - start);
		if (k == end - start) {
			o->skip = i = end;
			o->junk = true;
			continue;
		}
		if (k > 0)
			o->junk = true;
		o->skip = start + k;
		o->len = end - start - k;
		return TK_SCAN_FRAME;
	}
}

/* ---- replies and ids (protocol.md 3.2, 6) ---------------------------- */

/* Digits at p[0..n): their count (stops at GPS103_IMEI_MAX + 1). */
static size_t
digits(const uint8_t *p, size_t n)
{
	size_t k = 0;
	while (k < n && k <= GPS103_IMEI_MAX && isdig(p[k]))
		k++;
	return k;
}

/* Is p[0..n) only delimiters, commas and white space (a frame's end)? */
static bool
at_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!delim[p[i]] && !tk_is_ws(p[i]) && p[i] != ',')
			return false;
	return true;
}

/*
 * The shape of a frame, enough for replies and ids.
 */
struct shape {
	size_t		 hb;		/* leading heartbeat digits (0: none) */
	bool		 login;		/* "##,imei:" */
	const uint8_t	*imei;		/* digits after "imei:" (NULL: none) */
	size_t		 imeilen;
	const uint8_t	*kw;		/* the keyword after the imei (NULL: none) */
	size_t		 kwlen;
	const uint8_t	*rest;		/* from "imei:" on */
	size_t		 restlen;
};

static bool
shape_of(const uint8_t *f, size_t n, struct shape *s)
{
	memset(s, 0, sizeof(*s));
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	if (n == 0)
		return false;
	if (isdig(f[0])) {
		size_t k = 0;
		while (k < n && isdig(f[k]))
			k++;
		if (k > GPS103_IMEI_MAX)
			return false;
		if (LIT(f + k, n - k, "imei:")) {
			s->hb = k;
		} else if (at_end(f + k, n - k)) {
			if (k < GPS103_HB_MIN)
				return false;
			s->hb = k;
			return true;
		} else {
			return false;
		}
		f += k;
		n -= k;
	} else if (LIT(f, n, "##,imei:")) {
		s->login = true;
		f += 3;
		n -= 3;
	} else if (!LIT(f, n, "imei:")) {
		return false;
	}
	s->rest = f;
	s->restlen = n;
	size_t d = digits(f + 5, n - 5);
	if (d == 0 || d > GPS103_IMEI_MAX)
		return false;
	s->imei = f + 5;
	s->imeilen = d;
	size_t k = 5 + d;
	if (k < n && f[k] == ',') {
		k++;
		const uint8_t *c = memchr(f + k, ',', n - k);
		size_t e = c ? (size_t)(c - f) : n;
		while (e > k && (delim[f[e - 1]] || tk_is_ws(f[e - 1])))
			e--;
		s->kw = f + k;
		s->kwlen = e - k;
	}
	return true;
}

static size_t
put(uint8_t *out, size_t cap, size_t at, const void *s, size_t n)
{
	if (at + n > cap)
		return SIZE_MAX;
	memcpy(out + at, s, n);
	return at + n;
}

size_t
tk_gps103_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	struct shape s;
	size_t at = 0;

	if (!shape_of(f, n, &s))
		return 0;
	if (s.hb)
		at = put(out, cap, at, "ON", 2);
	if (s.imei == NULL)
		return at == SIZE_MAX ? 0 : at;
	bool short_login = !s.hb && s.restlen <= 30 && s.kw && s.kwlen == 1 &&
	    s.kw[0] == 'A';
	if (s.login || short_login)
		at = put(out, cap, at, "LOAD", 4);
	else if (s.kw && s.kwlen == 7 && memcmp(s.kw, "help me", 7) == 0) {
		/* acknowledge the SOS so the device stops repeating it */
		at = put(out, cap, at, "**,imei:", 8);
		if (at != SIZE_MAX)
			at = put(out, cap, at, s.imei, s.imeilen);
		if (at != SIZE_MAX)
			at = put(out, cap, at, ",E;", 3);
	}
	return at == SIZE_MAX ? 0 : at;
}

size_t
tk_gps103_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	struct shape s;

	if (cap)
		out[0] = '\0';
	if (cap == 0 || !shape_of(f, n, &s))
		return 0;
	if (s.imei)
		return tk_strlcpyn(out, cap, s.imei, s.imeilen);
	while (n && tk_is_ws(*f)) {
		f++;
		n--;
	}
	return tk_strlcpyn(out, cap, f, s.hb);
}

/* ---- decoding -------------------------------------------------------- */

int
tk_gps103_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	(void)f; (void)n;
	return tk_dctx_reject(c, "gps103 decoding not implemented yet");
}

void tk_photo_free(struct tk_photo *);
void
tk_photo_free(struct tk_photo *p)
{
	(void)p;
}
