/*
 * tk_file.h: output files written whole or not at all.  Every file a tool
 * writes (tk-track's exports, tk-geofence's state, tk-decode's photos,
 * tk-listen's port file) goes to a temporary name in the same directory
 * and is renamed over its real name only when it is complete, so an
 * interrupted or failed run leaves the old file (or none), never a part.
 *
 *	struct tk_afile a;
 *	if ((e = tk_afile_open(&a, path, 0666)) != 0) ... report e, path
 *	write(a.fd, ...) ...
 *	if ((e = tk_afile_commit(&a, 0)) != 0) ... report e, path
 *
 * Errors are errno values returned to the caller (the library never
 * prints); on any failure the temporary file is removed.
 */
#ifndef TK_FILE_H
#define TK_FILE_H

#include <stdbool.h>
#include <sys/types.h>

#define TK_AFILE_PATH_MAX	4096

struct tk_afile {
	int		 fd;		/* the temporary file; -1 once closed */
	const char	*path;		/* the real name (the caller keeps it) */
	const char	*target;	/* what is renamed over: path, or real */
	bool		 direct;	/* path is a device or fifo: written in place */
	char		 tmp[TK_AFILE_PATH_MAX];	/* DIR/.NAME.XXXXXX */
	char		 real[TK_AFILE_PATH_MAX];	/* path through its symlinks */
};

/* Commit flags. */
#define TK_AFILE_NOREPLACE	0x1	/* fail with EEXIST if path exists */

/*
 * Create the temporary file beside path (mode as open(2): the umask
 * applies).  Fails at once when the directory does not exist or cannot be
 * written, or when path names a directory (EISDIR), so a tool can refuse
 * before it reads any input.  A symbolic link is followed (the file it
 * names is replaced, not the link); a path that is not a regular file (a
 * device such as /dev/stdout, a fifo) is opened and written in place, as
 * there is nothing to keep.  Returns 0 or an errno value.
 */
int	tk_afile_open(struct tk_afile *, const char *path, mode_t mode);
/*
 * Flush the file to disk, close it (unless the caller already closed fd
 * and set it to -1, as after fclose of an fdopen'd stream) and rename it to
 * path.  Returns 0 or an errno value; on failure the temporary file is
 * removed and path is untouched.
 */
int	tk_afile_commit(struct tk_afile *, unsigned flags);
/* Give up: close and remove the temporary file.  Safe to call twice. */
void	tk_afile_abort(struct tk_afile *);
/* Write all n bytes to fd (retrying short writes and EINTR): 0 or errno. */
int	tk_write_all(int fd, const void *p, size_t n);

#endif
