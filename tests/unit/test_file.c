/* test_file.c: tk_afile, output files written whole or not at all. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tk103.h"

struct fx {
	char	 dir[64];
	char	 path[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/tk-test-file.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/out.gpx", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(f->dir);
	struct dirent *e;
	char p[512];
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The number of entries in dir (temporary files included). */
static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void
assert_content(const char *path, const char *want)
{
	char buf[256];
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, want);
}

/* commit: the new file replaces the old one, no temporary file is left */
static void
test_commit_replaces(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;

	put(f->path, "old");
	assert_int_equal(tk_afile_open(&a, f->path, 0644), 0);
	assert_int_equal(entries(f->dir), 2);		/* old + temporary */
	assert_non_null(strstr(a.tmp, "/.out.gpx."));	/* same directory, hidden */
	assert_content(f->path, "old");			/* untouched until commit */
	assert_int_equal(tk_write_all(a.fd, "new", 3), 0);
	assert_int_equal(tk_afile_commit(&a, 0), 0);
	assert_content(f->path, "new");
	assert_int_equal(entries(f->dir), 1);
	assert_int_equal(a.tmp[0], '\0');
	tk_afile_abort(&a);				/* after commit: nothing */
	assert_content(f->path, "new");
}

/* abort (an interrupted or failed run): the old file is kept whole */
static void
test_abort_keeps_old(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;

	put(f->path, "old");
	assert_int_equal(tk_afile_open(&a, f->path, 0644), 0);
	assert_int_equal(tk_write_all(a.fd, "half", 4), 0);
	tk_afile_abort(&a);
	tk_afile_abort(&a);				/* twice is harmless */
	assert_content(f->path, "old");
	assert_int_equal(entries(f->dir), 1);
}

/* refused at open, before any work: the caller can fail at start */
static void
test_open_refusals(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;
	char p[256];

	snprintf(p, sizeof(p), "%s/nonexistent/out.gpx", f->dir);
	assert_int_equal(tk_afile_open(&a, p, 0644), ENOENT);	/* no such directory */
	assert_int_equal(tk_afile_open(&a, f->dir, 0644), EISDIR);	/* a directory */
	snprintf(p, sizeof(p), "%s/", f->dir);
	assert_int_equal(tk_afile_open(&a, p, 0644), EISDIR);	/* "dir/" */
	put(f->path, "x");
	snprintf(p, sizeof(p), "%s/sub", f->path);
	assert_int_equal(tk_afile_open(&a, p, 0644), ENOTDIR);	/* a file as directory */
	char *longp = malloc(TK_AFILE_PATH_MAX + 16);
	assert_non_null(longp);
	memset(longp, 'a', TK_AFILE_PATH_MAX + 15);
	longp[TK_AFILE_PATH_MAX + 15] = '\0';
	assert_int_equal(tk_afile_open(&a, longp, 0644), ENAMETOOLONG);
	free(longp);
	assert_int_equal(entries(f->dir), 1);		/* nothing created */
}

/* a name without a directory: the temporary file is in the working one */
static void
test_relative_name(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;
	char cwd[4096];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(tk_afile_open(&a, "rel.txt", 0644), 0);
	assert_int_equal(strncmp(a.tmp, ".rel.txt.", 9), 0);
	assert_int_equal(tk_write_all(a.fd, "r", 1), 0);
	assert_int_equal(tk_afile_commit(&a, 0), 0);
	assert_content("rel.txt", "r");
	assert_int_equal(chdir(cwd), 0);
}

/* NOREPLACE: an existing file is never overwritten (photos) */
static void
test_noreplace(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;

	put(f->path, "first");
	assert_int_equal(tk_afile_open(&a, f->path, 0644), 0);
	assert_int_equal(tk_write_all(a.fd, "second", 6), 0);
	assert_int_equal(tk_afile_commit(&a, TK_AFILE_NOREPLACE), EEXIST);
	assert_content(f->path, "first");
	assert_int_equal(entries(f->dir), 1);		/* temporary removed */
	unlink(f->path);
	assert_int_equal(tk_afile_open(&a, f->path, 0644), 0);
	assert_int_equal(tk_write_all(a.fd, "third", 5), 0);
	assert_int_equal(tk_afile_commit(&a, TK_AFILE_NOREPLACE), 0);
	assert_content(f->path, "third");
}

/* the mode given, less the umask, as open(2) */
static void
test_mode(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;
	struct stat st;
	mode_t old = umask(022);

	assert_int_equal(tk_afile_open(&a, f->path, 0666), 0);
	assert_int_equal(tk_afile_commit(&a, 0), 0);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
}

/* a commit after the caller closed the descriptor itself (fdopen/fclose) */
static void
test_commit_after_fclose(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;

	assert_int_equal(tk_afile_open(&a, f->path, 0644), 0);
	FILE *fp = fdopen(a.fd, "w");
	assert_non_null(fp);
	fputs("via stdio", fp);
	assert_int_equal(fclose(fp), 0);
	a.fd = -1;
	assert_int_equal(tk_afile_commit(&a, 0), 0);
	assert_content(f->path, "via stdio");
	assert_int_equal(tk_afile_commit(&a, 0), EBADF);	/* committed already */
}

/* a device (or fifo) is written in place, never replaced by a file */
static void
test_device_in_place(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;
	struct stat st;
	(void)f;

	assert_int_equal(tk_afile_open(&a, "/dev/null", 0644), 0);
	assert_true(a.direct);
	assert_int_equal(a.tmp[0], '\0');
	assert_int_equal(tk_write_all(a.fd, "gone", 4), 0);
	assert_int_equal(tk_afile_commit(&a, 0), 0);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_true(S_ISCHR(st.st_mode));
}

/* a symbolic link: the file it names is replaced, the link stays */
static void
test_symlink_followed(void **state)
{
	struct fx *f = *state;
	struct tk_afile a;
	struct stat st;
	char link[160];

	put(f->path, "old");
	snprintf(link, sizeof(link), "%s/link", f->dir);
	assert_int_equal(symlink("out.gpx", link), 0);
	assert_int_equal(tk_afile_open(&a, link, 0644), 0);
	assert_int_equal(tk_write_all(a.fd, "new", 3), 0);
	assert_int_equal(tk_afile_commit(&a, 0), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_content(f->path, "new");
	assert_int_equal(entries(f->dir), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_replaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noreplace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_after_fclose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_followed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
