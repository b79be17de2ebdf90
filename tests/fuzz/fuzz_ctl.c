/* fuzz_ctl.c: the control-protocol line splitter and request parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tk_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tk_ctl_req r;
	char err[160];
	size_t len;

	if (tk_ctl_line((const char *)data, size, &len) == TK_CTL_LINE_OK && len >= size)
		abort();
	if (tk_ctl_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
		if (r.len > TK_CTL_SEND_MAX || strlen(r.id) >= sizeof(r.id))
			abort();
		if (r.id[0] && !tk_ctl_valid_id(r.id, strlen(r.id)))
			abort();
	} else if (strlen(err) == 0) {
		abort();
	}
	return 0;
}
