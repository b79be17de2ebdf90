/*
 * tk_notify.c: sd_notify's protocol (tk_notify.h): one datagram per
 * state, "KEY=VALUE" lines, to the AF_UNIX socket named by $NOTIFY_SOCKET.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tk_notify.h"

int
tk_notify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;

	if (path == NULL || path[0] == '\0') {
		errno = 0;
		return -1;
	}
	if (path[0] != '/' && path[0] != '@') {
		errno = EAFNOSUPPORT;	/* vsock:... and the like */
		return -1;
	}
	/* a path needs its NUL in sun_path; an abstract name is counted
	 * by the length, its '@' standing for the leading NUL */
	n = strnlen(path, sizeof(sa.sun_path) + 1);
	if (n > sizeof(sa.sun_path) - (path[0] == '@' ? 0 : 1)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);	/* sun_path zeroed: NUL-terminated */
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* the abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '@' ? 0 : 1));
	while (connect(fd, (struct sockaddr *)&sa, len) != 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
tk_notify(int fd, const char *state)
{
	if (fd < 0)
		return 0;
	size_t n = strlen(state);
	for (;;) {
		/* MSG_NOSIGNAL: a manager gone is an error, not SIGPIPE */
		ssize_t w = send(fd, state, n, MSG_NOSIGNAL);
		if (w == (ssize_t)n)
			return 0;
		if (w < 0 && errno == EINTR)
			continue;
		if (w >= 0)
			errno = EMSGSIZE;
		return -1;
	}
}
