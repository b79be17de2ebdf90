/* tk_xexun.c: the xexun dialect: framing, replies, device id, decoding.
 * PLACEHOLDER: being written. */
#include "tk_decode.h"
#include "tk_dialect_int.h"

enum tk_scan
tk_xexun_scan(const uint8_t *p, size_t n, bool eof, struct tk_scan_out *o)
{
	(void)p;
	(void)eof;
	o->skip = n;
	o->junk = n > 0;
	return TK_SCAN_MORE;
}

size_t
tk_xexun_reply(const uint8_t *f, size_t n, uint8_t *out, size_t cap)
{
	(void)f; (void)n; (void)out; (void)cap;
	return 0;
}

size_t
tk_xexun_id(const uint8_t *f, size_t n, char *out, size_t cap)
{
	(void)f; (void)n; (void)out; (void)cap;
	return 0;
}

int
tk_xexun_decode(struct tk_dctx *c, const uint8_t *f, size_t n)
{
	(void)f; (void)n;
	return tk_dctx_reject(c, "xexun decoding not implemented yet");
}
