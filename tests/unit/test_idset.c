/* test_idset.c: the set of device ids tk-listen --devices reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_idset.h"

static void
test_idset_parse(void **state)
{
	(void)state;
	char err[160];
	/* comments, blank lines, spaces and CRLF around ids, a duplicate */
	const char *t = "# the fleet\n359586015829802\n\n  027044702512\t# truck\r\n"
	    "359586015829802\nlast-one_9";
	struct tk_idset *s = tk_idset_parse(t, strlen(t), err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(tk_idset_count(s), 3);
	assert_true(tk_idset_has(s, "359586015829802"));
	assert_true(tk_idset_has(s, "027044702512"));
	assert_true(tk_idset_has(s, "last-one_9"));
	assert_false(tk_idset_has(s, "35958601582980"));	/* a prefix */
	assert_false(tk_idset_has(s, "359586015829803"));
	assert_false(tk_idset_has(s, ""));
	assert_false(tk_idset_has(s, "01234567890123456789012345678901234"));
	tk_idset_free(s);
	/* an empty list allows nothing */
	s = tk_idset_parse("# none\n", 7, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(tk_idset_count(s), 0);
	assert_false(tk_idset_has(s, "359586015829802"));
	tk_idset_free(s);
	/* NULL: no list */
	assert_false(tk_idset_has(NULL, "x"));
	assert_int_equal(tk_idset_count(NULL), 0);
}

static void
test_idset_errors(void **state)
{
	(void)state;
	char err[160];
	/* the line number of a bad id: a space inside, a bad character, too long */
	const char *bad[] = {"ok1\n\nbad id\n", "ok1\n\nbad;id\n",
	    "ok1\n\n01234567890123456789012345678901\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(tk_idset_parse(bad[i], strlen(bad[i]), err, sizeof(err)));
		assert_non_null(strstr(err, "line 3: not a device id"));
	}
	/* many ids: all found, a binary search over the sorted set */
	size_t cap = 20000 * 16 + 1, n = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	for (int i = 19999; i >= 0; i--)
		n += (size_t)snprintf(big + n, cap - n, "8600000%08d\n", i);
	struct tk_idset *s = tk_idset_parse(big, n, err, sizeof(err));
	free(big);
	assert_non_null(s);
	assert_int_equal(tk_idset_count(s), 20000);
	char id[32];
	for (int i = 0; i < 20000; i += 37) {
		snprintf(id, sizeof(id), "8600000%08d", i);
		assert_true(tk_idset_has(s, id));
	}
	assert_false(tk_idset_has(s, "860000000020000"));
	tk_idset_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idset_parse),
		cmocka_unit_test(test_idset_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
