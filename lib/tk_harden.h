/*
 * tk_harden.h: privilege reduction after start-up, called by every tool
 * right after option parsing (and again once files and sockets are open).
 */
#ifndef TK_HARDEN_H
#define TK_HARDEN_H

enum tk_harden_profile {
	TK_HARDEN_STDIO,	/* read, write, exit: tk-decode, tk-geofence, tk-track */
	TK_HARDEN_NET,		/* + sockets and epoll: tk-listen, tk-sim, tk-cmd */
	TK_HARDEN_NONE
};

/* Returns 0, or -1 with errno set.  Does nothing when TK_NOHARDEN is set
 * in the environment (for debugging under strace/valgrind). */
int	tk_harden(enum tk_harden_profile);

#endif
