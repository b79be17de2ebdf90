/* tk_dialect.c: dialect names, first-bytes classification, the framer. */
#include <stdlib.h>
#include <string.h>

#include "tk_dialect.h"
#include "tk_dialect_int.h"
#include "tk_h02.h"

/* Each name in an array of TK_DNAME_SIZE bytes (tk_dialect_int.h): the
 * JSON writer copies a name with one fixed-size load. */
static const char names[TK_D__COUNT][TK_DNAME_SIZE] = {
	"unknown", "xexun", "tk103", "gps103", "xexun2", "xexun3", "gt06", "h02",
	"tk102", "v680"
};

const char *
tk_dialect_name(enum tk_dialect d)
{
	return names[(unsigned)d < TK_D__COUNT ? d : TK_D_UNKNOWN];
}

int
tk_dialect_parse(const char *name, enum tk_dialect *d)
{
	for (int i = 1; i < TK_D__COUNT; i++)
		if (strcmp(name, names[i]) == 0) {
			*d = (enum tk_dialect)i;
			return 0;
		}
	return -1;
}

bool
tk_dialect_decodable(enum tk_dialect d)
{
	return d == TK_D_XEXUN || d == TK_D_TK103 || d == TK_D_GPS103 || d == TK_D_XEXUN2 ||
	    d == TK_D_GT06 || d == TK_D_H02;
}

/* ---- classification (docs/protocol/README.md, Detection order and rules) ------------------------ */

static bool
isdig(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
isup(uint8_t c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
ishexup(uint8_t c)
{
	return isdig(c) || (c >= 'A' && c <= 'F');
}

static bool
has(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n >= l && memcmp(p, lit, l) == 0;
}

/*
 * tk103 confirmation: classic "(" + 11..15 id chars + [A-Z][A-Z0-9]\d\d,
 * or comma form "(" + 5..20 non-comma chars + "," + [A-Z]{2}[0-9A-F]{2} ",".
 * Returns 1 confirmed, 0 need more, -1 no.
 */
static int
tk103_confirm(const uint8_t *p, size_t n, bool eof)
{
	bool more = false;

	/* comma form */
	const uint8_t *c = memchr(p + 1, ',', n - 1 < 22 ? n - 1 : 22);
	if (c != NULL) {
		size_t idl = (size_t)(c - p) - 1;
		if (idl >= 5 && idl <= 20) {
			size_t k = (size_t)(c - p) + 1;
			if (n < k + 5)
				more = true;
			else if (isup(p[k]) && isup(p[k + 1]) && ishexup(p[k + 2]) &&
			    ishexup(p[k + 3]) && p[k + 4] == ',')
				return 1;
		}
	} else if (n < 23)
		more = true;
	/* classic form: ids of 11 to 15 characters (an IMEI) */
	for (size_t idl = 11; idl <= 15; idl++) {
		size_t k = 1 + idl;
		if (n < k + 4) {
			more = true;
			continue;
		}
		bool idok = true;
		for (size_t i = 1; i < k; i++)
			if (p[i] == '(' || p[i] == ')' || p[i] == ',' || p[i] < 0x20)
				idok = false;
		if (idok && isup(p[k]) && (isup(p[k + 1]) || isdig(p[k + 1])) &&
		    isdig(p[k + 2]) && isdig(p[k + 3]))
			return 1;
	}
	return (more && !eof) ? 0 : -1;
}

/* Does p[0..n) end in a proper prefix of lit (a literal cut by the buffer's end)? */
static bool
cut(const uint8_t *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n < l && memcmp(p, lit, n) == 0;
}

/*
 * Signatures that may start a frame after junk (section 8 fallback).
 * Returns 1 (found: *d, *at), 0 (none), or -1 when the answer depends on
 * bytes not seen yet (only without eof): a signature cut by the end of the
 * buffer, before any complete one.  That keeps the choice independent of
 * how the stream was chunked: the first signature in the stream wins.
 */
static int
find_signature(const uint8_t *p, size_t n, bool eof, enum tk_dialect *d, size_t *at)
{
	/* a signature must start within the first TK_CLASSIFY_MAX bytes */
	for (size_t i = 0; i < n && i < TK_CLASSIFY_MAX; i++) {
		if (p[i] == '(') {
			int r = tk103_confirm(p + i, n - i, eof);
			if (r == 1) {
				*d = TK_D_TK103;
				*at = i;
				return 1;
			}
			if (r == 0)
				return -1;
		}
		if (p[i] == 0xFA) {
			if (i + 1 < n && p[i + 1] == 0xAF) {
				*d = TK_D_XEXUN2;
				*at = i;
				return 1;
			}
			if (i + 1 == n && !eof)
				return -1;
		}
		if (has(p + i, n - i, "imei:")) {
			/* xexun puts imei: after GPRMC; gps103 starts with it */
			bool rmc = false;
			for (size_t j = 0; j + 5 <= i; j++)
				if (has(p + j, i - j, "GPRMC,") || has(p + j, i - j, "GNRMC,"))
					rmc = true;
			/* xexun without GPRMC: "<serial>,<phone>,,L,, imei:" */
			if (!rmc && tk_xexun_nofix_head(p, i))
				rmc = true;
			*d = rmc ? TK_D_XEXUN : TK_D_GPS103;
			size_t st = i;
			if (!rmc) {
				/* keep a "##," login prefix or a glued heartbeat's digits */
				if (st >= 3 && memcmp(p + st - 3, "##,", 3) == 0)
					st -= 3;
				else
					while (st > 0 && isdig(p[st - 1]))
						st--;
			}
			*at = rmc ? 0 : st;
			return 1;
		}
		if (has(p + i, n - i, "GPRMC,") || has(p + i, n - i, "GNRMC,")) {
			*d = TK_D_XEXUN;
			*at = 0;
			return 1;
		}
		if (!eof && (cut(p + i, n - i, "imei:") || cut(p + i, n - i, "GPRMC,") ||
		    cut(p + i, n - i, "GNRMC,")))
			return -1;
	}
	return 0;
}

enum tk_class
tk_classify(const uint8_t *buf, size_t n, bool eof, enum tk_dialect *d, size_t *skip)
{
	size_t s = 0;

	while (s < n && tk_is_ws(buf[s]))
		s++;
	*skip = s;
	const uint8_t *p = buf + s;
	size_t m = n - s;
	if (m == 0)
		return eof ? TK_CLASS_UNKNOWN : TK_CLASS_MORE;

#define NEED(k) do { if (m < (k)) goto short_input; } while (0)
	switch (p[0]) {
	case 0xFA:
		NEED(2);
		if (p[1] == 0xAF) {
			*d = TK_D_XEXUN2;
			return TK_CLASS_OK;
		}
		break;
	case 0xFC:
		NEED(4);
		if (p[3] == 0x03) {
			*d = TK_D_XEXUN3;
			return TK_CLASS_OK;
		}
		break;
	case 0x78:
	case 0x79:
		NEED(2);
		if (p[1] == p[0]) {
			*d = TK_D_GT06;
			return TK_CLASS_OK;
		}
		break;
	case '*':
	case '$':
	case 'X': {
		/* H02 text "*XX,id,TYPE" or a binary record with a BCD id, time
		 * and date (docs/protocol/h02.md section 2) */
		int r = tk_h02_classify(p, m, eof);
		if (r == 1) {
			*d = TK_D_H02;
			return TK_CLASS_OK;
		}
		if (r == 0)
			goto short_input;
		break;
	}
	case '(': {
		int r = tk103_confirm(p, m, eof);
		if (r == 1) {
			*d = TK_D_TK103;
			return TK_CLASS_OK;
		}
		if (r == 0)
			goto short_input;
		break;
	}
	case '#':
		if (m >= 2 && isdig(p[1])) {
			/* V680: "#" IMEI "#" (the login "#IMEI##", reports
			 * "#IMEI#user#pass#...##") */
			size_t k = 1;
			while (k < m && k <= 17 && isdig(p[k]))
				k++;
			if (k == m && !eof)
				goto short_input;
			if (k < m && p[k] == '#' && k - 1 >= 10 && k - 1 <= 16) {
				*d = TK_D_V680;
				return TK_CLASS_OK;
			}
			break;
		}
		NEED(8);
		if (has(p, m, "##,imei:")) {
			*d = TK_D_GPS103;
			return TK_CLASS_OK;
		}
		break;
	case '[': {
		/* Traccar's tk102: "[" type serial(10 digits) length payload "]" */
		NEED(12);
		size_t k = 2;
		while (k < 12 && isdig(p[k]))
			k++;
		if (k == 12) {
			*d = TK_D_TK102;
			return TK_CLASS_OK;
		}
		break;
	}
	case 'i':
		NEED(5);
		if (has(p, m, "imei:")) {
			size_t k = 5;
			while (k < m && isdig(p[k]))
				k++;
			if (k == m && !eof)
				goto short_input;
			if (k + 3 <= m && memcmp(p + k, "rmc", 3) == 0)
				break;	/* Sanav, not gps103 */
			*d = TK_D_GPS103;
			return TK_CLASS_OK;
		}
		break;
	case 'L':
		NEED(4);
		if (has(p, m, "LOG") && isdig(p[3])) {
			*d = TK_D_XEXUN;
			return TK_CLASS_OK;
		}
		break;
	case 'G':
		NEED(6);
		if (has(p, m, "GPRMC,") || has(p, m, "GNRMC,")) {
			*d = TK_D_XEXUN;
			return TK_CLASS_OK;
		}
		break;
	case ',':
		/* xexun with an empty serial: ",phone,GPRMC..." or ",...,L,, imei:" */
		*d = TK_D_XEXUN;
		return TK_CLASS_OK;
	default:
		if (isdig(p[0])) {
			/* at most an IMEI's 16 digits lead a frame (xexun's serial
			 * has 10-12): a longer run decides now, whatever follows
			 * it, so a stream's answer does not depend on its reads */
			size_t k = 0;
			while (k < m && k <= 16 && isdig(p[k]))
				k++;
			if (k > 16)
				goto fallback;
			if (k == m) {
				if (eof && k >= 14 && k <= 16) {
					*d = TK_D_GPS103;	/* bare IMEI heartbeat datagram */
					return TK_CLASS_OK;
				}
				goto short_input;
			}
			uint8_t c = p[k];
			if ((c == ';' || c == '\r' || c == '\n') && k >= 14 && k <= 16) {
				*d = TK_D_GPS103;
				return TK_CLASS_OK;
			}
			if (has(p + k, m - k, "imei:")) {
				*d = TK_D_GPS103;
				return TK_CLASS_OK;
			}
			if (c == 'i' && m - k < 5 && !eof)
				goto short_input;
			if (c == ',' && k >= 10 && k <= 12) {
				*d = TK_D_XEXUN;
				return TK_CLASS_OK;
			}
		}
		break;
	}
	goto fallback;
short_input:
	if (!eof && m < TK_CLASSIFY_MAX)
		return TK_CLASS_MORE;
fallback:
	/*
	 * Maybe junk before a real frame: the first signature starting within
	 * the first TK_CLASSIFY_MAX bytes.  Undecided while those bytes have
	 * not all arrived or a signature is cut by the end of the buffer, so
	 * the answer does not depend on how the stream was chunked.
	 */
	{
		size_t at;
		int r = find_signature(p, m, eof, d, &at);
		if (r == 1) {
			*skip = s + at;
			return TK_CLASS_OK;
		}
		if (r < 0 || (!eof && m < TK_CLASSIFY_MAX))
			return TK_CLASS_MORE;
	}
	return TK_CLASS_UNKNOWN;
#undef NEED
}

/* ---- dispatch ------------------------------------------------------ */

struct ops {
	enum tk_scan	(*scan)(const uint8_t *, size_t, bool, struct tk_scan_out *);
	size_t		(*reply)(const uint8_t *, size_t, uint8_t *, size_t);
	size_t		(*id)(const uint8_t *, size_t, char *, size_t);
	size_t		 max;
};

static const struct ops dops[TK_D__COUNT] = {
	[TK_D_XEXUN]  = {tk_xexun_scan,  tk_xexun_reply,  tk_xexun_id,  2048},
	[TK_D_TK103]  = {tk_tk103_scan,  tk_tk103_reply,  tk_tk103_id,  4096},
	[TK_D_GPS103] = {tk_gps103_scan, tk_gps103_reply, tk_gps103_id, 32768},
	[TK_D_XEXUN2] = {tk_xexun2_scan, tk_xexun2_reply, tk_xexun2_id, 4096},
	[TK_D_XEXUN3] = {tk_xexun3_scan, tk_xexun3_reply, tk_xexun3_id, 4096},
	[TK_D_GT06]   = {tk_gt06_scan,   tk_gt06_reply,   tk_gt06_id,   4096},
	[TK_D_H02]    = {tk_h02_scan,    tk_h02_reply,    tk_h02_id,    2048},
	[TK_D_TK102]  = {tk_tk102_scan,  tk_tk102_reply,  tk_tk102_id,  2048},
	[TK_D_V680]   = {tk_v680_scan,   tk_v680_reply,   tk_v680_id,   2048},
};

enum tk_scan
tk_scan(enum tk_dialect d, const uint8_t *buf, size_t n, bool eof, struct tk_scan_out *o)
{
	o->skip = o->len = 0;
	o->junk = false;
	if ((unsigned)d >= TK_D__COUNT || dops[d].scan == NULL) {
		o->skip = n;
		o->junk = n > 0;
		return TK_SCAN_MORE;
	}
	return dops[d].scan(buf, n, eof, o);
}

size_t
tk_frame_max(enum tk_dialect d)
{
	return ((unsigned)d < TK_D__COUNT && dops[d].max) ? dops[d].max : 65536;
}

size_t
tk_reply(enum tk_dialect d, const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	if ((unsigned)d >= TK_D__COUNT || dops[d].reply == NULL)
		return 0;
	return dops[d].reply(f, n, out, cap);
}

size_t
tk_frame_id(enum tk_dialect d, const uint8_t *f, size_t n, char *out, size_t cap)
{
	if (cap)
		out[0] = '\0';
	if ((unsigned)d >= TK_D__COUNT || dops[d].id == NULL || cap == 0)
		return 0;
	return dops[d].id(f, n, out, cap);
}

/* ---- framer -------------------------------------------------------- */

void
tk_framer_init(struct tk_framer *fr, enum tk_dialect given, size_t max)
{
	memset(fr, 0, sizeof(*fr));
	fr->dialect = given;
	fr->given = given != TK_D_UNKNOWN;
	if (max == 0)
		max = tk_frame_max(given);
	fr->max = max > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)max;
}

void
tk_framer_free(struct tk_framer *fr)
{
	free(fr->buf);
	fr->buf = NULL;
	fr->len = fr->cap = 0;
}

size_t
tk_framer_pending(const struct tk_framer *fr)
{
	return fr->len;
}

static void
junk(const struct tk_framer_cb *cb, const uint8_t *p, size_t n, uint64_t off)
{
	if (n && cb->junk)
		cb->junk(cb->arg, p, n, off);
}

/* Run the classifier and scanner over p[0..n); *used = bytes consumed. */
static enum tk_feed
run(struct tk_framer *fr, const uint8_t *p, size_t n, bool eof,
    const struct tk_framer_cb *cb, size_t *used)
{
	size_t pos = 0;
	enum tk_feed rc = TK_FEED_OK;

	while (pos < n) {
		if (fr->failed) {
			junk(cb, p + pos, n - pos, fr->offset + pos);
			pos = n;
			rc = TK_FEED_UNKNOWN;
			break;
		}
		if (fr->dialect == TK_D_UNKNOWN) {
			enum tk_dialect d;
			size_t skip;
			enum tk_class c = tk_classify(p + pos, n - pos, eof, &d, &skip);
			if (c == TK_CLASS_MORE)
				break;
			if (c == TK_CLASS_UNKNOWN) {
				fr->failed = true;
				continue;
			}
			size_t ws = 0;
			while (ws < skip && tk_is_ws(p[pos + ws]))
				ws++;
			if (ws < skip)
				junk(cb, p + pos, skip, fr->offset + pos);
			pos += skip;
			fr->dialect = d;
			if (!fr->given)
				fr->max = (uint32_t)tk_frame_max(d);
			continue;
		}
		/*
		 * The scanner sees at most max bytes from pos: the reassembly
		 * buffer's view when bytes come in small reads, so a large read
		 * scanned in place gives the same frames (the streaming contract:
		 * any chunking of a stream gives the same frames).
		 */
		struct tk_scan_out o;
		size_t view = n - pos;
		bool cut = view > fr->max;
		if (cut)
			view = fr->max;
		enum tk_scan s = tk_scan(fr->dialect, p + pos, view, eof && !cut, &o);
		if (o.skip > view || (s == TK_SCAN_FRAME && o.len > view - o.skip)) {
			/* a scanner bug must not become an overread */
			o.skip = view;
			o.len = 0;
			s = TK_SCAN_MORE;
			o.junk = true;
		}
		if (o.skip) {
			if (o.junk)
				junk(cb, p + pos, o.skip, fr->offset + pos);
			pos += o.skip;
		}
		if (s != TK_SCAN_FRAME) {
			if (o.skip && pos < n)
				continue;	/* junk dropped: a whole frame may follow */
			if (o.skip == 0 && view == fr->max) {
				/* max bytes buffered without a frame: protocol error;
				 * drop them and go on after them */
				junk(cb, p + pos, view, fr->offset + pos);
				pos += view;
				rc = TK_FEED_OVERFLOW;
				continue;
			}
			if (eof && pos < n) {
				junk(cb, p + pos, n - pos, fr->offset + pos);
				pos = n;
			}
			break;
		}
		if (o.len == 0)
			continue;
		int stop = cb->frame ? cb->frame(cb->arg, fr->dialect, p + pos, o.len,
		    fr->offset + pos) : 0;
		pos += o.len;
		if (stop) {
			rc = TK_FEED_STOPPED;
			break;
		}
	}
	*used = pos;
	return rc;
}

/* Make the reassembly buffer hold n bytes (n <= max), doubling from 256. */
static int
grow(struct tk_framer *fr, size_t n)
{
	if (n <= fr->cap)
		return 0;
	size_t c = fr->cap ? fr->cap : 256;
	while (c < n)
		c *= 2;
	if (c > fr->max)
		c = fr->max;
	uint8_t *nb = realloc(fr->buf, c);
	if (nb == NULL)
		return -1;
	fr->buf = nb;
	fr->cap = (uint32_t)c;
	return 0;
}

static enum tk_feed
keep(struct tk_framer *fr, const uint8_t *p, size_t n)
{
	if (n == 0) {
		free(fr->buf);
		fr->buf = NULL;
		fr->len = fr->cap = 0;
		return TK_FEED_OK;
	}
	if (grow(fr, n) != 0)
		return TK_FEED_NOMEM;
	memmove(fr->buf, p, n);
	fr->len = (uint32_t)n;
	return TK_FEED_OK;
}

enum tk_feed
tk_framer_feed(struct tk_framer *fr, const uint8_t *p, size_t n,
    const struct tk_framer_cb *cb)
{
	enum tk_feed rc = TK_FEED_OK;

	while (n > 0) {
		const uint8_t *q;
		size_t qn, used, take;

		if (fr->len == 0) {
			/* zero-copy: scan the caller's bytes directly */
			q = p;
			qn = n;
			take = n;
		} else {
			take = fr->max - fr->len;
			if (take > n)
				take = n;
			if (grow(fr, fr->len + take) != 0)
				return TK_FEED_NOMEM;
			memcpy(fr->buf + fr->len, p, take);
			fr->len += (uint32_t)take;
			q = fr->buf;
			qn = fr->len;
		}
		p += take;
		n -= take;
		enum tk_feed r = run(fr, q, qn, false, cb, &used);
		size_t rest = qn - used;
		fr->offset += used;
		if (rest > fr->max) {
			/* only after a stop in a large read: more than the buffer
			 * holds is left; the caller abandons the stream */
			fr->offset += rest;
			rest = 0;
		}
		if (keep(fr, q + used, rest) != TK_FEED_OK)
			return TK_FEED_NOMEM;
		/* an overflow is reported once the whole input has been scanned:
		 * the bytes after the dropped ones are still the stream */
		if (r == TK_FEED_OVERFLOW)
			rc = r;
		else if (r != TK_FEED_OK)
			return r;
	}
	return rc;
}

enum tk_feed
tk_framer_finish(struct tk_framer *fr, const struct tk_framer_cb *cb)
{
	size_t used;
	enum tk_feed rc = TK_FEED_OK;

	if (fr->len) {
		rc = run(fr, fr->buf, fr->len, true, cb, &used);
		if (used < fr->len)
			junk(cb, fr->buf + used, fr->len - used, fr->offset + used);
		fr->offset += fr->len;
	}
	tk_framer_free(fr);
	return rc;
}
