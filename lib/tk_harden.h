/*
 * tk_harden.h: privilege reduction after start-up, called by every tool
 * right after option parsing and opening its files, where OpenBSD would
 * call pledge(2).  On Linux this installs a seccomp filter (libseccomp).
 */
#ifndef TK_HARDEN_H
#define TK_HARDEN_H

enum tk_harden_profile {
	TK_HARDEN_STDIO,	/* read/write open descriptors, memory, exit: tk-decode, tk-geofence */
	TK_HARDEN_FILES,	/* + open/create/rename files: tk-track, tk-decode -o, tk-geofence --state */
	TK_HARDEN_NET,		/* + sockets, epoll, timers: tk-listen, tk-sim, tk-cmd */
	TK_HARDEN_CLIENT,	/* + threads: tk-forward (libcurl's resolver), --nats (libnats) */
	TK_HARDEN_NONE
};

/*
 * Returns 0, or -1 with errno set.  System calls outside the profile fail
 * with EPERM; the ones that would start other programs or trace processes
 * (execve, fork/clone of a process, ptrace, ...) kill the process.
 * Does nothing when TK_NOHARDEN is set in the environment (for debugging
 * under strace or valgrind), or in builds with AddressSanitizer, whose
 * runtime needs more than the profiles allow.
 */
int	tk_harden(enum tk_harden_profile);

#endif
