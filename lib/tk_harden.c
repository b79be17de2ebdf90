/* tk_harden.c: privilege reduction.  The seccomp filters arrive with the
 * hardening work (issue 7); until then this only checks its argument. */
#include <errno.h>
#include <stdlib.h>

#include "tk_harden.h"

int
tk_harden(enum tk_harden_profile p)
{
	if (getenv("TK_NOHARDEN") != NULL || p == TK_HARDEN_NONE)
		return 0;
	if (p != TK_HARDEN_STDIO && p != TK_HARDEN_NET) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}
