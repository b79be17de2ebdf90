/* tk_file.c: output files written to a temporary name, renamed when whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tk_file.h"

int
tk_write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (w == 0)
			return EIO;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Six characters of [A-Za-z0-9] for a temporary name. */
static void
suffix(char out[7])
{
	static const char set[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned count;
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)++count * 0x9e3779b97f4a7c15ull);
	}
	for (int i = 0; i < 6; i++) {
		out[i] = set[r % (sizeof(set) - 1)];
		r /= sizeof(set) - 1;
	}
	out[6] = '\0';
}

int
tk_afile_open(struct tk_afile *a, const char *path, mode_t mode)
{
	struct stat st;

	a->fd = -1;
	a->path = a->target = path;
	a->direct = false;
	a->tmp[0] = '\0';
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* replace the file the link names, keep the link */
		if (realpath(path, a->real) != NULL)
			a->target = a->real;
		else if (errno != ENOENT)
			return errno;
	}
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return EISDIR;
		if (!S_ISREG(st.st_mode)) {
			a->direct = true;
			a->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
			return a->fd >= 0 ? 0 : errno;
		}
	}

	const char *tpath = a->target, *slash = strrchr(tpath, '/');
	size_t dirlen = slash ? (size_t)(slash - tpath) + 1 : 0;
	const char *base = tpath + dirlen;
	if (*base == '\0')
		return EISDIR;			/* "dir/" */
	/* DIR/.NAME.XXXXXX: the same directory, so the rename is atomic */
	if (dirlen + 1 + strlen(base) + 8 > sizeof(a->tmp))
		return ENAMETOOLONG;
	for (int tries = 0; tries < 100; tries++) {
		char sfx[7];
		suffix(sfx);
		snprintf(a->tmp, sizeof(a->tmp), "%.*s.%s.%s", (int)dirlen, tpath, base, sfx);
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode);
		if (a->fd >= 0)
			return 0;
		if (errno != EEXIST) {
			int e = errno;
			a->tmp[0] = '\0';
			return e;
		}
	}
	a->tmp[0] = '\0';
	return EEXIST;
}

void
tk_afile_abort(struct tk_afile *a)
{
	a->direct = false;
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	if (a->tmp[0] != '\0') {
		unlink(a->tmp);
		a->tmp[0] = '\0';
	}
}

static int
fail(struct tk_afile *a, int e)
{
	tk_afile_abort(a);
	return e;
}

int
tk_afile_commit(struct tk_afile *a, unsigned flags)
{
	if (a->direct) {
		int e = 0;
		if (a->fd >= 0 && close(a->fd) != 0)
			e = errno;
		a->fd = -1;
		a->direct = false;
		return e;
	}
	if (a->tmp[0] == '\0')
		return EBADF;
	if (a->fd >= 0) {
		int fd = a->fd;
		a->fd = -1;
		if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
			int e = errno;
			close(fd);
			return fail(a, e);
		}
		if (close(fd) != 0)
			return fail(a, errno);
	}
	if (flags & TK_AFILE_NOREPLACE) {
		if (renameat2(AT_FDCWD, a->tmp, AT_FDCWD, a->target, RENAME_NOREPLACE) != 0) {
			if (errno != EINVAL && errno != ENOSYS)
				return fail(a, errno);
			/* a file system without RENAME_NOREPLACE: link, then unlink */
			if (link(a->tmp, a->target) != 0)
				return fail(a, errno);
			unlink(a->tmp);
		}
	} else if (rename(a->tmp, a->target) != 0) {
		return fail(a, errno);
	}
	a->tmp[0] = '\0';
	return 0;
}
