/* fuzz_framer_xexun2.c: the xexun2 scanner through the framer; any chunking of
 * the input must give the same frames as the whole input at once. */
#define FZ_DIALECT TK_D_XEXUN2
#include "fuzz_framer.h"
