/*
 * tk_spool.c: tk-forward's queue of records, in memory or in a spool
 * directory (tk_spool.h describes the layout and the guarantees).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tk_spool.h"
#include "tk_util.h"

#define SEG_SUFFIX	".spool"
#define SEG_NAME_LEN	(16 + sizeof(SEG_SUFFIX) - 1)
#define SEG_MAX		(4u << 20)	/* a new segment after this many bytes */
#define SEG_MIN		(16u << 10)
#define MAX_SEGS	(1u << 20)	/* segment files of an old spool we take up */
#define HEAD_LEN	34		/* "%016x %016x\n" */
#define SCAN_CHUNK	(64u << 10)

struct seg {
	uint64_t	 num;
	uint64_t	 size;
};

struct tk_spool {
	uint64_t	 max, bytes, records, skipped;
	/* in memory: the records are mem[mhead, mlen) */
	char		*mem;
	size_t		 mlen, mcap, mhead;
	/* on disk */
	int		 dirfd, lockfd, headfd, rfd, wfd;
	struct seg	*seg;		/* oldest first */
	size_t		 nseg, capseg;
	uint64_t	 rnum;		/* segment rfd reads */
	uint64_t	 hoff;		/* head offset in seg[0] */
	uint64_t	 hnum;		/* segment last written to the head file */
	uint64_t	 seg_max;
	char		*rbuf;
	size_t		 rcap;
	const char	*dir;
};

bool
tk_spool_on_disk(const struct tk_spool *s)
{
	return s->dirfd >= 0;
}

uint64_t
tk_spool_records(const struct tk_spool *s)
{
	return s->records;
}

uint64_t
tk_spool_bytes(const struct tk_spool *s)
{
	return s->bytes;
}

uint64_t
tk_spool_skipped(const struct tk_spool *s)
{
	return s->skipped;
}

bool
tk_spool_fits(const struct tk_spool *s, size_t n)
{
	return n < s->max && s->bytes + n + 1 <= s->max;
}

static void
seg_name(char out[SEG_NAME_LEN + 1], uint64_t num)
{
	snprintf(out, SEG_NAME_LEN + 1, "%016" PRIx64 SEG_SUFFIX, num);
}

static int
parse_seg_name(const char *name, uint64_t *num)
{
	if (strlen(name) != SEG_NAME_LEN || strcmp(name + 16, SEG_SUFFIX) != 0)
		return -1;
	for (int i = 0; i < 16; i++)
		if (tk_hexval((unsigned char)name[i]) < 0 || (name[i] >= 'A' && name[i] <= 'F'))
			return -1;
	return tk_parse_hex(name, 16, num);
}

static int
write_head(struct tk_spool *s, char *err, size_t errlen)
{
	char b[HEAD_LEN + 1];
	uint64_t num = s->nseg ? s->seg[0].num : s->hnum;

	snprintf(b, sizeof(b), "%016" PRIx64 " %016" PRIx64 "\n", num, s->hoff);
	if (pwrite(s->headfd, b, HEAD_LEN, 0) != HEAD_LEN)
		return tk_errf(err, errlen, "%s/head: %s", s->dir, strerror(errno ? errno : EIO));
	s->hnum = num;
	return 0;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Drop the oldest segment (fully delivered). */
static int
drop_head_seg(struct tk_spool *s, char *err, size_t errlen)
{
	char name[SEG_NAME_LEN + 1];

	seg_name(name, s->seg[0].num);
	if (s->rnum == s->seg[0].num)
		close_fd(&s->rfd);
	if (s->nseg == 1)
		close_fd(&s->wfd);
	if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
		return tk_errf(err, errlen, "%s/%s: %s", s->dir, name, strerror(errno));
	s->bytes -= s->seg[0].size - s->hoff;
	memmove(s->seg, s->seg + 1, (s->nseg - 1) * sizeof(*s->seg));
	s->nseg--;
	s->hoff = 0;
	return write_head(s, err, errlen);
}

static int
cmp_seg(const void *a, const void *b)
{
	uint64_t x = ((const struct seg *)a)->num, y = ((const struct seg *)b)->num;
	return x < y ? -1 : x > y;
}

static int
add_seg(struct tk_spool *s, uint64_t num, uint64_t size)
{
	if (s->nseg == s->capseg) {
		size_t nc = s->capseg ? 2 * s->capseg : 16;
		struct seg *n = reallocarray(s->seg, nc, sizeof(*n));
		if (n == NULL)
			return -1;
		s->seg = n;
		s->capseg = nc;
	}
	s->seg[s->nseg].num = num;
	s->seg[s->nseg].size = size;
	s->nseg++;
	return 0;
}

static int
list_segs(struct tk_spool *s, char *err, size_t errlen)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return tk_errf(err, errlen, "%s: %s", s->dir, strerror(errno));
	}
	while ((e = readdir(d)) != NULL) {
		uint64_t num;
		struct stat st;
		if (parse_seg_name(e->d_name, &num) != 0)
			continue;
		if (fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (s->nseg == MAX_SEGS || add_seg(s, num, (uint64_t)st.st_size) != 0) {
			closedir(d);
			return tk_errf(err, errlen, "%s: too many segment files", s->dir);
		}
	}
	closedir(d);
	if (s->nseg > 1)
		qsort(s->seg, s->nseg, sizeof(*s->seg), cmp_seg);
	return 0;
}

static int
open_seg(struct tk_spool *s, uint64_t num, int flags, char *err, size_t errlen)
{
	char name[SEG_NAME_LEN + 1];
	int fd;

	seg_name(name, num);
	fd = openat(s->dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		tk_errf(err, errlen, "%s/%s: %s", s->dir, name, strerror(errno));
	return fd;
}

/* Read exactly n bytes at off (short only at end of file). */
static ssize_t
pread_full(int fd, char *p, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Cut a torn last line off the newest segment, count every record. */
static int
recover(struct tk_spool *s, char *err, size_t errlen)
{
	char *buf = malloc(SCAN_CHUNK);
	int rc = 0;

	if (buf == NULL)
		return tk_errf(err, errlen, "out of memory");
	for (size_t i = 0; i < s->nseg && rc == 0; i++) {
		uint64_t off = i == 0 ? s->hoff : 0, last_nl = off;
		bool any = false;
		int fd = open_seg(s, s->seg[i].num, i + 1 == s->nseg ? O_RDWR : O_RDONLY,
		    err, errlen);
		if (fd < 0) {
			rc = -1;
			break;
		}
		while (off < s->seg[i].size) {
			size_t want = s->seg[i].size - off < SCAN_CHUNK ?
			    (size_t)(s->seg[i].size - off) : SCAN_CHUNK;
			ssize_t r = pread_full(fd, buf, want, off);
			if (r <= 0) {
				if (r < 0)
					rc = tk_errf(err, errlen, "%s: %s", s->dir, strerror(errno));
				s->seg[i].size = off;	/* shorter than it said */
				break;
			}
			for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p)));
			    p++) {
				s->records++;
				last_nl = off + (uint64_t)(p - buf) + 1;
				any = true;
			}
			off += (uint64_t)r;
		}
		if (rc == 0 && i + 1 == s->nseg && last_nl < s->seg[i].size) {
			/* a torn line: the writer died in the middle of it */
			uint64_t keep = any ? last_nl : (i == 0 ? s->hoff : 0);
			if (ftruncate(fd, (off_t)keep) != 0)
				rc = tk_errf(err, errlen, "%s: truncating a torn record: %s",
				    s->dir, strerror(errno));
			s->seg[i].size = keep;
		}
		close(fd);
		s->bytes += s->seg[i].size - (i == 0 ? s->hoff : 0);
	}
	free(buf);
	return rc;
}

static int
open_disk(struct tk_spool *s, const char *dir, char *err, size_t errlen)
{
	char hb[HEAD_LEN + 1];
	ssize_t r;
	uint64_t hnum = 0, hoff = 0;

	s->dir = dir;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return tk_errf(err, errlen, "%s: %s", dir, strerror(errno));
	if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tk_errf(err, errlen, "%s: %s", dir, strerror(errno));
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0)
		return tk_errf(err, errlen, "%s/lock: %s", dir, strerror(errno));
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0)
		return tk_errf(err, errlen, "%s: %s", dir, errno == EWOULDBLOCK ?
		    "in use by another process" : strerror(errno));
	s->headfd = openat(s->dirfd, "head", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->headfd < 0)
		return tk_errf(err, errlen, "%s/head: %s", dir, strerror(errno));
	if (list_segs(s, err, errlen) != 0)
		return -1;
	r = pread(s->headfd, hb, HEAD_LEN, 0);
	if (r == HEAD_LEN && hb[16] == ' ' && hb[33] == '\n' &&
	    tk_parse_hex(hb, 16, &hnum) == 0 && tk_parse_hex(hb + 17, 16, &hoff) == 0) {
		/* segments before the head were delivered */
		while (s->nseg && s->seg[0].num < hnum) {
			s->hoff = s->seg[0].size;
			if (drop_head_seg(s, err, errlen) != 0)
				return -1;
		}
		s->hnum = hnum;
		if (s->nseg && s->seg[0].num == hnum)
			s->hoff = hoff < s->seg[0].size ? hoff : s->seg[0].size;
	}
	s->bytes = 0;
	if (recover(s, err, errlen) != 0)
		return -1;
	if (s->nseg && (s->wfd = open_seg(s, s->seg[s->nseg - 1].num,
	    O_WRONLY | O_APPEND, err, errlen)) < 0)
		return -1;
	return write_head(s, err, errlen);
}

int
tk_spool_open(struct tk_spool **out, const char *dir, uint64_t max_bytes, char *err,
    size_t errlen)
{
	struct tk_spool *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL)
		return tk_errf(err, errlen, "out of memory");
	s->dirfd = s->lockfd = s->headfd = s->rfd = s->wfd = -1;
	s->max = max_bytes < TK_SPOOL_MIN ? TK_SPOOL_MIN : max_bytes;
	s->seg_max = s->max / 8;
	if (s->seg_max > SEG_MAX)
		s->seg_max = SEG_MAX;
	if (s->seg_max < SEG_MIN)
		s->seg_max = SEG_MIN;
	if (dir != NULL && open_disk(s, dir, err, errlen) != 0) {
		tk_spool_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void
tk_spool_close(struct tk_spool *s)
{
	if (s == NULL)
		return;
	close_fd(&s->rfd);
	close_fd(&s->wfd);
	close_fd(&s->headfd);
	close_fd(&s->lockfd);	/* releases the lock */
	close_fd(&s->dirfd);
	free(s->seg);
	free(s->rbuf);
	free(s->mem);
	free(s);
}

static enum tk_spool_put
put_mem(struct tk_spool *s, const char *rec, size_t n, char *err, size_t errlen)
{
	if (s->mcap - s->mlen < n + 1 && s->mhead > 0) {
		memmove(s->mem, s->mem + s->mhead, s->mlen - s->mhead);
		s->mlen -= s->mhead;
		s->mhead = 0;
	}
	if (s->mcap - s->mlen < n + 1) {
		size_t nc = s->mcap ? s->mcap : 4096;
		while (nc - s->mlen < n + 1)
			nc *= 2;
		char *m = realloc(s->mem, nc);
		if (m == NULL) {
			tk_errf(err, errlen, "out of memory");
			return TK_SPOOL_ERR;
		}
		s->mem = m;
		s->mcap = nc;
	}
	memcpy(s->mem + s->mlen, rec, n);
	s->mem[s->mlen + n] = '\n';
	s->mlen += n + 1;
	return TK_SPOOL_OK;
}

static enum tk_spool_put
put_disk(struct tk_spool *s, const char *rec, size_t n, char *err, size_t errlen)
{
	struct seg *t = s->nseg ? &s->seg[s->nseg - 1] : NULL;

	if (t == NULL || (t->size > 0 && t->size + n + 1 > s->seg_max)) {
		uint64_t num = (t ? t->num : s->hnum) + 1;
		int fd = open_seg(s, num, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC, err, errlen);
		if (fd < 0)
			return TK_SPOOL_ERR;
		if (add_seg(s, num, 0) != 0) {
			close(fd);
			tk_errf(err, errlen, "out of memory");
			return TK_SPOOL_ERR;
		}
		close_fd(&s->wfd);
		s->wfd = fd;
		t = &s->seg[s->nseg - 1];
	}
	struct iovec iov[2] = {{(void *)(uintptr_t)rec, n}, {(void *)(uintptr_t)"\n", 1}};
	ssize_t w;
	do
		w = writev(s->wfd, iov, 2);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)(n + 1)) {
		int e = w < 0 ? errno : ENOSPC;
		/* never leave half a record behind */
		if (w > 0 && ftruncate(s->wfd, (off_t)t->size) != 0)
			e = errno;
		tk_errf(err, errlen, "%s: writing a record: %s", s->dir, strerror(e));
		return TK_SPOOL_ERR;
	}
	t->size += n + 1;
	return TK_SPOOL_OK;
}

enum tk_spool_put
tk_spool_put(struct tk_spool *s, const char *rec, size_t n, char *err, size_t errlen)
{
	enum tk_spool_put r;

	if (!tk_spool_fits(s, n))
		return TK_SPOOL_FULL;
	r = s->dirfd >= 0 ? put_disk(s, rec, n, err, errlen) : put_mem(s, rec, n, err, errlen);
	if (r == TK_SPOOL_OK) {
		s->bytes += n + 1;
		s->records++;
	}
	return r;
}

/* Take whole records from p[0, n): at most max_recs.  Returns bytes. */
static size_t
whole_records(const char *p, size_t n, size_t max_recs, size_t *nrecs)
{
	size_t len = 0, k = 0;
	const char *nl;

	while (k < max_recs && (nl = memchr(p + len, '\n', n - len)) != NULL) {
		len = (size_t)(nl - p) + 1;
		k++;
	}
	*nrecs = k;
	return len;
}

static int
pop_disk(struct tk_spool *s, size_t len, char *err, size_t errlen)
{
	s->hoff += len;
	if (s->nseg == 1 && s->hoff == s->seg[0].size && s->wfd >= 0) {
		/* all delivered: start the segment over */
		if (ftruncate(s->wfd, 0) != 0)
			return tk_errf(err, errlen, "%s: %s", s->dir, strerror(errno));
		s->seg[0].size = 0;
		s->hoff = 0;
	}
	return write_head(s, err, errlen);
}

int
tk_spool_pop(struct tk_spool *s, size_t len, size_t nrecs, char *err, size_t errlen)
{
	if (len > s->bytes)
		len = (size_t)s->bytes;
	if (nrecs > s->records)
		nrecs = (size_t)s->records;
	s->bytes -= len;
	s->records -= nrecs;
	if (s->dirfd >= 0)
		return pop_disk(s, len, err, errlen);
	s->mhead += len;
	if (s->mhead == s->mlen)
		s->mhead = s->mlen = 0;
	else if (s->mhead > s->mcap / 2) {
		memmove(s->mem, s->mem + s->mhead, s->mlen - s->mhead);
		s->mlen -= s->mhead;
		s->mhead = 0;
	}
	return 0;
}

/* A record longer than max_bytes at the head: skip past its newline. */
static int
skip_long(struct tk_spool *s, char *err, size_t errlen)
{
	size_t len;

	if (s->dirfd < 0) {
		const char *p = s->mem + s->mhead, *nl = memchr(p, '\n', s->mlen - s->mhead);
		len = nl ? (size_t)(nl - p) + 1 : s->mlen - s->mhead;
	} else {
		uint64_t off = s->hoff, end = s->seg[0].size;
		len = (size_t)(end - off);	/* no newline: the rest of the segment */
		while (off < end) {
			size_t want = end - off < s->rcap ? (size_t)(end - off) : s->rcap;
			ssize_t r = pread_full(s->rfd, s->rbuf, want, off);
			if (r <= 0)
				return tk_errf(err, errlen, "%s: %s", s->dir,
				    r < 0 ? strerror(errno) : "segment shorter than expected");
			const char *nl = memchr(s->rbuf, '\n', (size_t)r);
			if (nl != NULL) {
				len = (size_t)(off + (uint64_t)(nl - s->rbuf) + 1 - s->hoff);
				break;
			}
			off += (uint64_t)r;
		}
	}
	s->skipped++;
	return tk_spool_pop(s, len, 1, err, errlen);
}

int
tk_spool_peek(struct tk_spool *s, size_t max_recs, size_t max_bytes, const char **p,
    size_t *len, size_t *nrecs, char *err, size_t errlen)
{
	*p = NULL;
	*len = *nrecs = 0;
	if (max_bytes == 0 || max_recs == 0)
		return 0;
	for (;;) {
		if (s->records == 0)
			return 0;
		if (s->dirfd < 0) {
			size_t avail = s->mlen - s->mhead;
			*p = s->mem + s->mhead;
			*len = whole_records(*p, avail < max_bytes ? avail : max_bytes,
			    max_recs, nrecs);
		} else {
			while (s->nseg > 1 && s->hoff >= s->seg[0].size)
				if (drop_head_seg(s, err, errlen) != 0)
					return -1;
			if (s->nseg == 0 || s->hoff >= s->seg[0].size) {
				/* the count says more: it was wrong, the segments are right */
				s->records = 0;
				return 0;
			}
			if (s->rcap < max_bytes) {
				char *b = realloc(s->rbuf, max_bytes);
				if (b == NULL)
					return tk_errf(err, errlen, "out of memory");
				s->rbuf = b;
				s->rcap = max_bytes;
			}
			if (s->rfd < 0 || s->rnum != s->seg[0].num) {
				close_fd(&s->rfd);
				if ((s->rfd = open_seg(s, s->seg[0].num, O_RDONLY, err, errlen)) < 0)
					return -1;
				s->rnum = s->seg[0].num;
			}
			uint64_t avail = s->seg[0].size - s->hoff;
			ssize_t r = pread_full(s->rfd, s->rbuf,
			    avail < max_bytes ? (size_t)avail : max_bytes, s->hoff);
			if (r < 0)
				return tk_errf(err, errlen, "%s: %s", s->dir, strerror(errno));
			*p = s->rbuf;
			*len = whole_records(s->rbuf, (size_t)r, max_recs, nrecs);
		}
		if (*nrecs > 0)
			return 0;
		if (skip_long(s, err, errlen) != 0)
			return -1;
	}
}
