/* fuzz_framer_tk103.c: the tk103 scanner through the framer; any chunking of
 * the input must give the same frames as the whole input at once. */
#define FZ_DIALECT TK_D_TK103
#include "fuzz_framer.h"
