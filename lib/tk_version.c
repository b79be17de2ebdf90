#include "tk103.h"

#ifndef TK_VERSION
#define TK_VERSION "unknown"
#endif

const char *
tk_version(void)
{
	return TK_VERSION;
}
