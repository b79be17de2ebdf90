/* test_spool.c: tk_spool, tk-forward's queue, in memory and on disk: order,
 * the byte bound, batches by count and size, what a later run finds (an
 * earlier run's records, a torn last record, segments delivered before the
 * head), the lock, and records longer than a peek may take. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tk_spool.h"

static char tmpl[64];

static int
mkdir_tmp(void **state)
{
	(void)state;
	snprintf(tmpl, sizeof(tmpl), "/tmp/test_spool.XXXXXX");
	return mkdtemp(tmpl) == NULL ? -1 : 0;
}

static int
rm_tmp(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
spool_dir(void)
{
	static char d[96];
	snprintf(d, sizeof(d), "%s/spool", tmpl);
	return d;
}

static void
put(struct tk_spool *s, const char *rec)
{
	char err[256];
	assert_int_equal(tk_spool_put(s, rec, strlen(rec), err, sizeof(err)), TK_SPOOL_OK);
}

/* Peek at most max records and pop them; returns them joined ("a\nb\n"). */
static char *
take(struct tk_spool *s, size_t max, size_t max_bytes)
{
	static char out[4096];
	char err[256];
	const char *p;
	size_t len, n;
	assert_int_equal(tk_spool_peek(s, max, max_bytes, &p, &len, &n, err, sizeof(err)), 0);
	assert_true(len < sizeof(out));
	memcpy(out, p ? p : "", len);
	out[len] = '\0';
	assert_int_equal(tk_spool_pop(s, len, n, err, sizeof(err)), 0);
	return out;
}

/* legend: the same order and batching whatever the backend */
static void
fifo(struct tk_spool *s)
{
	put(s, "one");
	put(s, "two");
	put(s, "three");
	assert_int_equal(tk_spool_records(s), 3);
	assert_int_equal(tk_spool_bytes(s), 14);
	assert_string_equal(take(s, 2, 1000), "one\ntwo\n");
	put(s, "four");
	/* by size: "three\n" is 6 bytes, "three\nfour\n" 11 */
	assert_string_equal(take(s, 10, 10), "three\n");
	assert_string_equal(take(s, 10, 10), "four\n");
	assert_int_equal(tk_spool_records(s), 0);
	assert_int_equal(tk_spool_bytes(s), 0);
	assert_string_equal(take(s, 10, 10), "");
}

static void
test_memory(void **state)
{
	struct tk_spool *s;
	char err[256];
	(void)state;
	assert_int_equal(tk_spool_open(&s, NULL, 4096, err, sizeof(err)), 0);
	assert_false(tk_spool_on_disk(s));
	fifo(s);
	tk_spool_close(s);
}

static void
test_disk(void **state)
{
	struct tk_spool *s;
	char err[256];
	(void)state;
	assert_int_equal(tk_spool_open(&s, spool_dir(), 4096, err, sizeof(err)), 0);
	assert_true(tk_spool_on_disk(s));
	fifo(s);
	tk_spool_close(s);
}

/* legend: the bound counts bytes with their newline; a record that does
 * not fit is refused, one that fits after a pop is taken */
static void
test_bound(void **state)
{
	struct tk_spool *s;
	char err[256], rec[600];
	(void)state;
	memset(rec, 'x', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\0';
	for (int disk = 0; disk < 2; disk++) {
		assert_int_equal(tk_spool_open(&s, disk ? spool_dir() : NULL, 1024, err,
		    sizeof(err)), 0);
		put(s, rec);		/* 600 bytes */
		assert_false(tk_spool_fits(s, 500));
		assert_true(tk_spool_fits(s, 423));	/* 600 + 424 = 1024 */
		assert_false(tk_spool_fits(s, 424));
		assert_int_equal(tk_spool_put(s, rec, 500, err, sizeof(err)), TK_SPOOL_FULL);
		assert_int_equal(tk_spool_records(s), 1);
		take(s, 1, 4096);
		assert_int_equal(tk_spool_put(s, rec, 500, err, sizeof(err)), TK_SPOOL_OK);
		take(s, 1, 4096);
		tk_spool_close(s);
	}
}

/* legend: what an earlier run left is queued first, in order, across
 * segments; delivered records are not sent again */
static void
test_reopen(void **state)
{
	struct tk_spool *s;
	char err[256], rec[64];
	(void)state;
	/* a bound of 64 KiB makes 16 KiB segments: 2000 records span several */
	assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err, sizeof(err)), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(rec, sizeof(rec), "record %04d", i);
		if (tk_spool_put(s, rec, strlen(rec), err, sizeof(err)) != TK_SPOOL_OK)
			fail_msg("put %d: %s", i, err);
	}
	assert_string_equal(take(s, 2, 4096), "record 0000\nrecord 0001\n");
	tk_spool_close(s);
	assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err, sizeof(err)), 0);
	assert_int_equal(tk_spool_records(s), 1998);
	for (int i = 2; i < 2000; i++) {
		snprintf(rec, sizeof(rec), "record %04d\n", i);
		assert_string_equal(take(s, 1, 4096), rec);
		if (i == 1000) {	/* and once more in the middle of a segment */
			tk_spool_close(s);
			assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err,
			    sizeof(err)), 0);
			assert_int_equal(tk_spool_records(s), 999);
		}
	}
	assert_int_equal(tk_spool_records(s), 0);
	tk_spool_close(s);
	/* delivered segments are gone: one (emptied) file is left */
	assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err, sizeof(err)), 0);
	assert_int_equal(tk_spool_records(s), 0);
	assert_int_equal(tk_spool_bytes(s), 0);
	tk_spool_close(s);
}

/* legend: a writer that died in the middle of a record leaves a torn
 * line: it is cut off, the whole records before it stay */
static void
test_torn(void **state)
{
	struct tk_spool *s;
	char err[256], path[128];
	(void)state;
	assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err, sizeof(err)), 0);
	put(s, "{\"a\":1}");
	put(s, "{\"a\":2}");
	tk_spool_close(s);
	snprintf(path, sizeof(path), "%s/0000000000000001.spool", spool_dir());
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"a\":", 5), 5);
	close(fd);
	assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err, sizeof(err)), 0);
	assert_int_equal(tk_spool_records(s), 2);
	put(s, "{\"a\":3}");
	assert_string_equal(take(s, 10, 4096), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
	tk_spool_close(s);
}

/* legend: one process at a time; the lock goes with the spool */
static void
test_lock(void **state)
{
	struct tk_spool *s, *t;
	char err[256];
	(void)state;
	assert_int_equal(tk_spool_open(&s, spool_dir(), 65536, err, sizeof(err)), 0);
	if (fork() == 0) {
		/* flock locks belong to the open file: another process is refused */
		int rc = tk_spool_open(&t, spool_dir(), 65536, err, sizeof(err));
		_exit(rc == -1 && strstr(err, "in use by another process") ? 0 : 1);
	}
	int st = -1;
	wait(&st);
	assert_int_equal(st, 0);
	tk_spool_close(s);
	assert_int_equal(tk_spool_open(&t, spool_dir(), 65536, err, sizeof(err)), 0);
	tk_spool_close(t);
	/* a directory whose parent does not exist */
	assert_int_equal(tk_spool_open(&t, "/nonexistent/x/spool", 65536, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x/spool"));
}

/* legend: a record longer than a peek may take is skipped and counted,
 * the records after it go on */
static void
test_long(void **state)
{
	char err[256], big[300];
	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int disk = 0; disk < 2; disk++) {
		struct tk_spool *s;
		assert_int_equal(tk_spool_open(&s, disk ? spool_dir() : NULL, 65536, err,
		    sizeof(err)), 0);
		put(s, big);
		put(s, "small");
		assert_string_equal(take(s, 10, 100), "small\n");
		assert_int_equal(tk_spool_skipped(s), 1);
		assert_int_equal(tk_spool_records(s), 0);
		tk_spool_close(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test_setup_teardown(test_disk, mkdir_tmp, rm_tmp),
		cmocka_unit_test_setup_teardown(test_bound, mkdir_tmp, rm_tmp),
		cmocka_unit_test_setup_teardown(test_reopen, mkdir_tmp, rm_tmp),
		cmocka_unit_test_setup_teardown(test_torn, mkdir_tmp, rm_tmp),
		cmocka_unit_test_setup_teardown(test_lock, mkdir_tmp, rm_tmp),
		cmocka_unit_test_setup_teardown(test_long, mkdir_tmp, rm_tmp),
	};
	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
