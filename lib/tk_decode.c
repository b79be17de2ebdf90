/* tk_decode.c: dispatch a frame to its dialect decoder. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_decode.h"
#include "tk_h02.h"
#include "tk_util.h"

void tk_photo_free(struct tk_photo *);	/* tk_gps103.c */

void
tk_session_init(struct tk_session *s, enum tk_dialect d)
{
	memset(s, 0, sizeof(*s));
	s->dialect = d;
}

void
tk_session_free(struct tk_session *s)
{
	if (s->photo) {
		tk_photo_free(s->photo);
		s->photo = NULL;
	}
}

void
tk_dctx_begin(struct tk_dctx *c, enum tk_rtype t)
{
	struct tk_record *r = c->r;
	tk_rec_init(r, c->s->dialect, t);
	r->server_time = c->recv_ms;
	/* the session's id, NUL-terminated in an array of the same size:
	 * one fixed-size copy (bytes after the NUL are never read) */
	_Static_assert(sizeof(r->id) == sizeof(c->s->id), "id arrays differ");
	memcpy(r->id, c->s->id, sizeof(r->id));
	r->raw = c->frame;
	r->rawlen = c->framelen;
}

int
tk_dctx_emit(struct tk_dctx *c)
{
	if (c->stopped)
		return -1;
	c->nemit++;
	if (c->emit && c->emit(c->arg, c->r) != 0) {
		c->stopped = true;
		return -1;
	}
	return 0;
}

/*
 * Diagnostics quote device bytes (a bad field, a keyword): make them safe
 * to print.  Control bytes, DEL and bytes that are not valid UTF-8 (also a
 * sequence cut by truncation) become '?', so a device cannot put terminal
 * escapes or broken UTF-8 into a log.
 */
static void
clean_msg(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t k = 0;
		unsigned min = 0, cp = 0;
		if (c < 0x20 || c == 0x7f) {
			*p++ = '?';
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			k = 1, min = 0x80, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			k = 2, min = 0x800, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			k = 3, min = 0x10000, cp = c & 0x07;
		bool ok = k > 0;
		for (size_t j = 1; ok && j <= k; j++) {
			if ((p[j] & 0xC0) != 0x80)
				ok = false;
			else
				cp = cp << 6 | (p[j] & 0x3Fu);
		}
		if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
			ok = false;
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += k + 1;
	}
}

int
tk_dctx_reject(struct tk_dctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	clean_msg(c->err);
	return -1;
}

void
tk_dctx_warn(struct tk_dctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->warn, sizeof(c->warn), fmt, ap);
	va_end(ap);
	clean_msg(c->warn);
}

int
tk_decode(struct tk_session *s, const uint8_t *f, size_t n, int64_t recv_ms,
    struct tk_record *scratch, tk_emit_fn emit, void *arg,
    char *err, size_t errlen, char *warn, size_t warnlen)
{
	struct tk_dctx c;
	int rc;

	c.s = s;
	c.r = scratch;
	c.emit = emit;
	c.arg = arg;
	c.recv_ms = recv_ms;
	c.frame = f;
	c.framelen = n;
	c.nemit = 0;
	c.stopped = false;
	c.err[0] = c.warn[0] = '\0';

	switch (s->dialect) {
	case TK_D_XEXUN:
		rc = tk_xexun_decode(&c, f, n);
		break;
	case TK_D_TK103:
		rc = tk_tk103_decode(&c, f, n);
		break;
	case TK_D_GPS103:
		rc = tk_gps103_decode(&c, f, n);
		break;
	case TK_D_XEXUN2:
		rc = tk_xexun2_decode(&c, f, n);
		break;
	case TK_D_H02:
		rc = tk_h02_decode(&c, f, n);
		break;
	case TK_D_GT06:
		rc = tk_gt06_decode(&c, f, n);
		break;
	default:
		rc = tk_dctx_reject(&c, "%s frames are recognised but not decoded "
		    "(the device speaks another protocol)", tk_dialect_name(s->dialect));
		break;
	}
	/* stopped by the caller (its output died): not the frame's fault */
	if (c.stopped) {
		rc = (int)c.nemit;
		c.err[0] = '\0';
	}
	if (rc < 0 && c.err[0] == '\0')
		snprintf(c.err, sizeof(c.err), "malformed %s frame", tk_dialect_name(s->dialect));
	/* nearly always empty: no strlen for those */
	if (err && errlen)
		tk_strlcpyn(err, errlen, c.err, c.err[0] ? strlen(c.err) : 0);
	if (warn && warnlen)
		tk_strlcpyn(warn, warnlen, c.warn, c.warn[0] ? strlen(c.warn) : 0);
	return rc < 0 ? -1 : (int)c.nemit;
}
