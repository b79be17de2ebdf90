/* test_notify.c: tk_notify, the $NOTIFY_SOCKET datagram protocol of
 * sd_notify(3), against a datagram socket bound here as systemd binds it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tk_notify.h"

/* a receiver: a path (fx.dir/notify) or an abstract name */
struct fx {
	char	 dir[64];
	char	 path[128];
	int	 fd;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/tk-test-notify.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/notify", f->dir);
	f->fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	if (f->fd >= 0)
		close(f->fd);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

/* bind a receiver at name ("@..." abstract), as the manager does */
static int
receiver(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '@' ? 0 : 1))), 0);
	return fd;
}

/* the next datagram, or "" when none is waiting */
static const char *
next(int fd)
{
	static char b[256];
	ssize_t r = recv(fd, b, sizeof(b) - 1, MSG_DONTWAIT);
	b[r > 0 ? r : 0] = '\0';
	return b;
}

static void
test_unset_is_nothing(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	errno = EINVAL;
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, 0);
	setenv("NOTIFY_SOCKET", "", 1);
	errno = EINVAL;
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, 0);
	/* no socket: sending is a success that does nothing */
	assert_int_equal(tk_notify(-1, "READY=1"), 0);
}

static void
test_path(void **state)
{
	struct fx *f = *state;
	f->fd = receiver(f->path);
	setenv("NOTIFY_SOCKET", f->path, 1);
	int fd = tk_notify_open();
	assert_true(fd >= 0);
	assert_int_equal(tk_notify(fd, "READY=1"), 0);
	assert_int_equal(tk_notify(fd, "STOPPING=1"), 0);
	assert_string_equal(next(f->fd), "READY=1");
	assert_string_equal(next(f->fd), "STOPPING=1");
	assert_string_equal(next(f->fd), "");
	/* the manager gone: an error with errno, no SIGPIPE */
	close(f->fd);
	f->fd = -1;
	errno = 0;
	assert_int_equal(tk_notify(fd, "STOPPING=1"), -1);
	assert_int_not_equal(errno, 0);
	close(fd);
}

static void
test_abstract(void **state)
{
	struct fx *f = *state;
	char name[64];
	snprintf(name, sizeof(name), "@tk-test-notify-%ld", (long)getpid());
	f->fd = receiver(name);
	setenv("NOTIFY_SOCKET", name, 1);
	int fd = tk_notify_open();
	assert_true(fd >= 0);
	assert_int_equal(tk_notify(fd, "READY=1"), 0);
	assert_string_equal(next(f->fd), "READY=1");
	close(fd);
	/* a name that is neither a path nor "@..." is no address we speak */
	setenv("NOTIFY_SOCKET", name + 1, 1);
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	char big[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];

	/* nobody bound at the path */
	setenv("NOTIFY_SOCKET", f->path, 1);
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, ENOENT);
	/* vsock: and other address kinds are not spoken */
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
	/* a path that does not fit sun_path with its NUL */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	big[sizeof(big) - 8] = '\0';	/* exactly sizeof(sun_path) bytes */
	setenv("NOTIFY_SOCKET", big, 1);
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	/* an abstract name may fill it (no NUL): reached, nobody there */
	big[0] = '@';
	setenv("NOTIFY_SOCKET", big, 1);
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, ECONNREFUSED);
	/* one byte more does not fit either way */
	big[sizeof(big) - 8] = 'a';
	big[sizeof(big) - 7] = '\0';
	setenv("NOTIFY_SOCKET", big, 1);
	assert_int_equal(tk_notify_open(), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unset_is_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abstract, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
