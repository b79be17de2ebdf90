/* fuzz_decode_xexun2.c: the xexun2 decoder on any bytes, several frames per
 * session (the input split on "\n--\n"); emitted records must write as
 * valid JSON. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_decode_frames(TK_D_XEXUN2, NULL, data, size);
	return 0;
}
