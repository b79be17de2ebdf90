/* test_harden.c: the seccomp profiles really confine a process. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tk103.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

/* Run fn in a child after tk_harden(p); return its wait status. */
static int
in_child(enum tk_harden_profile p, int (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (tk_harden(p) != 0)
			_exit(100);
		_exit(fn());
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int
try_open(void)
{
	int fd = open("/dev/null", O_RDONLY);
	return fd >= 0 ? 0 : errno == EPERM ? 1 : 2;
}

static int __attribute__((unused))
try_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	return fd >= 0 ? 0 : errno == EPERM ? 1 : 2;
}

static int __attribute__((unused))
try_exec(void)
{
	char *argv[] = {(char *)"true", NULL};
	execv("/bin/true", argv);
	return 3;
}

static int __attribute__((unused))
try_write(void)
{
	return write(STDERR_FILENO, "", 0) == 0 ? 0 : 1;
}

static void *
thread_fn(void *arg)
{
	return arg;
}

/* 0: a thread ran; 1: pthread_create failed */
static int __attribute__((unused))
try_thread(void)
{
	pthread_t t;
	void *r = NULL;
	if (pthread_create(&t, NULL, thread_fn, (void *)&r) != 0)
		return 1;
	pthread_join(t, &r);
	return r == &r ? 0 : 2;
}

static int __attribute__((unused))
try_fork(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	return p > 0 ? 0 : 1;
}

static void
test_profiles(void **state)
{
	(void)state;
	unsetenv("TK_NOHARDEN");
#ifdef ASAN
	/* the sanitizer runtime needs more: hardening is off in such builds */
	int st = in_child(TK_HARDEN_STDIO, try_open);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
#else
	int st = in_child(TK_HARDEN_STDIO, try_open);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);		/* open: EPERM */
	st = in_child(TK_HARDEN_STDIO, try_write);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);		/* write still works */
	st = in_child(TK_HARDEN_STDIO, try_socket);
	assert_int_equal(WEXITSTATUS(st), 1);		/* no sockets */
	st = in_child(TK_HARDEN_FILES, try_open);
	assert_int_equal(WEXITSTATUS(st), 0);		/* files allowed */
	st = in_child(TK_HARDEN_NET, try_socket);
	assert_int_equal(WEXITSTATUS(st), 0);		/* sockets allowed */
	st = in_child(TK_HARDEN_NET, try_exec);
	assert_true(WIFSIGNALED(st));			/* exec kills */
	assert_int_equal(WTERMSIG(st), SIGSYS);
	st = in_child(TK_HARDEN_NET, try_thread);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);	/* no thread in the net profile */
	st = in_child(TK_HARDEN_CLIENT, try_thread);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);		/* threads (libnats's) */
	st = in_child(TK_HARDEN_CLIENT, try_socket);
	assert_int_equal(WEXITSTATUS(st), 0);
	st = in_child(TK_HARDEN_CLIENT, try_fork);
	assert_true(WIFSIGNALED(st));			/* a process still kills */
	assert_int_equal(WTERMSIG(st), SIGSYS);
	st = in_child(TK_HARDEN_CLIENT, try_exec);
	assert_true(WIFSIGNALED(st));
#endif
	setenv("TK_NOHARDEN", "1", 1);
	st = in_child(TK_HARDEN_STDIO, try_open);
	assert_int_equal(WEXITSTATUS(st), 0);		/* the escape hatch */
	unsetenv("TK_NOHARDEN");
	errno = 0;
	assert_int_equal(tk_harden((enum tk_harden_profile)42), -1);
	assert_int_equal(errno, EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles),
	};
	return cmocka_run_group_tests_name("harden", tests, NULL, NULL);
}
