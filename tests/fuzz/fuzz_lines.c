/* fuzz_lines.c: the frame-line reader (and its FLAGS), the hex reader and
 * the number parsers, on any bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tk103.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t scratch[1 << 17];
	struct tk_fline l;
	char err[120];

	if (size > sizeof(scratch))
		return 0;
	tk_fline_probe((const char *)data, size);
	if (tk_fline_parse((const char *)data, size, &l, scratch, sizeof(scratch), err,
	    sizeof(err)) == 0) {
		if (l.len > sizeof(scratch) || l.data != scratch)
			abort();
		/* what parses must write back and parse to the same bytes */
		static char out[4 * (1 << 17) + 512];
		static uint8_t again[1 << 17];
		struct tk_buf b = {out, 0, sizeof(out)};
		struct tk_fline l2;
		if (tk_fline_write(&b, &l) != 0)
			abort();
		if (tk_fline_parse(out, b.len, &l2, again, sizeof(again), err, sizeof(err)) != 0)
			abort();
		if (l2.len != l.len || memcmp(l2.data, l.data, l.len) != 0 || l2.conn != l.conn ||
		    l2.kind != l.kind || l2.time_ms != l.time_ms)
			abort();
		/* the FLAGS tokens tk-decode and tk-listen read */
		if (tk_fline_disowned(&l) != tk_fline_disowned(&l2) ||
		    tk_fline_flag(l.flags, "mismatch") != tk_fline_flag(l2.flags, "mismatch") ||
		    strcmp(l.flags, l2.flags) != 0)
			abort();
		tk_fkind_name(l.kind);
	}
	tk_hex_decode((const char *)data, size, scratch, sizeof(scratch));
	double d;
	uint64_t u;
	tk_parse_dec((const char *)data, size, &d);
	tk_parse_nmea((const char *)data, size, &d);
	tk_parse_uint((const char *)data, size, UINT64_MAX, &u);
	tk_parse_hex((const char *)data, size, &u);
	return 0;
}
