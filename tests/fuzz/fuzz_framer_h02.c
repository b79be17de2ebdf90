/* fuzz_framer_h02.c: the h02 scanner (text and binary records interleaved)
 * through the framer; any chunking of the input must give the same frames
 * as the whole input at once. */
#define FZ_DIALECT TK_D_H02
#include "fuzz_framer.h"
