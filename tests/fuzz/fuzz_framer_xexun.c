/* fuzz_framer_xexun.c: the xexun scanner through the framer; any chunking of
 * the input must give the same frames as the whole input at once. */
#define FZ_DIALECT TK_D_XEXUN
#include "fuzz_framer.h"
