/*
 * tk_harden.c: seccomp filters per tool profile.
 *
 * Default action: EPERM, so a library that probes something optional (a
 * random seed from /dev/urandom, say) fails softly.  Starting programs,
 * creating processes and tracing are fatal in every profile.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include <seccomp.h>

#include "tk_harden.h"
#include "tk_asan_int.h"


static const int base_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(lseek), SCMP_SYS(brk), SCMP_SYS(mmap),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(futex),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(fcntl), SCMP_SYS(getrandom), SCMP_SYS(restart_syscall),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(sched_yield), SCMP_SYS(getrusage),
	SCMP_SYS(prlimit64), SCMP_SYS(sysinfo),
};

static const int file_calls[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(fsync),
	SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(mkdirat), SCMP_SYS(mkdir),
	SCMP_SYS(fchmod), SCMP_SYS(statx), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(getdents64), SCMP_SYS(readlink),
	SCMP_SYS(link), SCMP_SYS(linkat),
};

static const int net_calls[] = {
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(accept), SCMP_SYS(accept4),
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(shutdown), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(epoll_create1),
	SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(ioctl),
	SCMP_SYS(pipe2), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(kill), SCMP_SYS(tgkill), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(alarm), SCMP_SYS(setitimer), SCMP_SYS(sigaltstack),
};

/* what creating and running a thread needs besides clone(CLONE_THREAD);
 * libcurl's resolver thread reports back through a socketpair, libnats's
 * threads hand their events over through an eventfd */
static const int thread_calls[] = {
	SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_getaffinity), SCMP_SYS(uname), SCMP_SYS(membarrier),
	SCMP_SYS(socketpair), SCMP_SYS(eventfd2),
};

static const int fatal_calls[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(kexec_load), SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(mount), SCMP_SYS(chroot), SCMP_SYS(setuid), SCMP_SYS(setgid),
	SCMP_SYS(setresuid), SCMP_SYS(setresgid),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
allow(scmp_filter_ctx f, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (calls[i] >= 0 && seccomp_rule_add(f, SCMP_ACT_ALLOW, calls[i], 0) != 0)
			return -1;
	return 0;
}

int
tk_harden(enum tk_harden_profile p)
{
	if (p != TK_HARDEN_STDIO && p != TK_HARDEN_FILES && p != TK_HARDEN_NET &&
	    p != TK_HARDEN_CLIENT && p != TK_HARDEN_NONE) {
		errno = EINVAL;
		return -1;
	}
#ifdef TK_ASAN
	return 0;
#endif
	if (getenv("TK_NOHARDEN") != NULL || p == TK_HARDEN_NONE)
		return 0;

	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (f == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int rc = allow(f, base_calls, NELEM(base_calls));
	if (rc == 0 && p != TK_HARDEN_STDIO)
		rc = allow(f, file_calls, NELEM(file_calls));
	if (rc == 0 && (p == TK_HARDEN_NET || p == TK_HARDEN_CLIENT))
		rc = allow(f, net_calls, NELEM(net_calls));
	if (rc == 0 && p == TK_HARDEN_CLIENT)
		rc = allow(f, thread_calls, NELEM(thread_calls));
	/* a new process never; threads only in the client profile */
	for (size_t i = 0; rc == 0 && i < NELEM(fatal_calls); i++)
		if (fatal_calls[i] >= 0)
			rc = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, fatal_calls[i], 0);
	if (rc == 0 && p == TK_HARDEN_CLIENT) {
		/* clone3's flags are out of reach of a filter: ENOSYS makes the C
		 * library fall back to clone, whose flags are checked */
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		if (rc == 0)
			rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		if (rc == 0)
			rc = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
			    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	} else if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 0);
	if (rc == 0)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc != 0) {
		errno = rc < 0 ? -rc : EINVAL;
		return -1;
	}
	return 0;
}
