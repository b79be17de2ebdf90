/* fuzz_decode_h02.c: the h02 decoder on any bytes (text sentences and
 * binary records), several frames per session (the input split on
 * "\n--\n"); emitted records must write as valid JSON. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_decode_frames(TK_D_H02, NULL, data, size);
	return 0;
}
