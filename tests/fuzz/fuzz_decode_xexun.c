/* fuzz_decode_xexun.c: the xexun decoder on any bytes, several frames per
 * session (the input split on "\n--\n"); emitted records must write as
 * valid JSON. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_decode_frames(TK_D_XEXUN, NULL, data, size);
	return 0;
}
