/* fuzz_framer_gps103.c: the gps103 scanner through the framer; any chunking of
 * the input must give the same frames as the whole input at once. */
#define FZ_DIALECT TK_D_GPS103
#include "fuzz_framer.h"
