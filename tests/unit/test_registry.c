/* test_registry.c: tk-listen's device registry and held-command queue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_registry.h"

static void
test_registry(void **state)
{
	(void)state;
	struct tk_registry *r = tk_reg_new(0);
	assert_non_null(r);
	assert_null(tk_reg_find(r, "359586015829802"));
	struct tk_dev *a = tk_reg_get(r, "359586015829802", 0);
	assert_non_null(a);
	assert_string_equal(a->id, "359586015829802");
	assert_ptr_equal(tk_reg_get(r, "359586015829802", 0), a);	/* same entry */
	assert_ptr_equal(tk_reg_find(r, "359586015829802"), a);
	assert_null(tk_reg_get(r, "", 0));
	assert_null(tk_reg_get(r, "01234567890123456789012345678901", 0));	/* 32 chars */
	/* many devices: the table grows and every one stays findable */
	char id[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "dev%d", i);
		struct tk_dev *d = tk_reg_get(r, id, 0);
		assert_non_null(d);
		d->frames = (uint64_t)i;
	}
	assert_int_equal(tk_reg_count(r), 5001);
	for (int i = 0; i < 5000; i += 7) {
		snprintf(id, sizeof(id), "dev%d", i);
		struct tk_dev *d = tk_reg_find(r, id);
		assert_non_null(d);
		assert_int_equal(d->frames, i);
	}
	assert_ptr_equal(tk_reg_find(r, "359586015829802"), a);
	/* iteration visits each device once */
	size_t n = 0;
	for (struct tk_dev *d = NULL; (d = tk_reg_next(r, d)) != NULL;)
		n++;
	assert_int_equal(n, 5001);
	tk_reg_free(r);
}

/*
 * Bounds: at max entries a new id forgets the oldest unused entry; entries
 * in use (referenced by a session) are never forgotten, and when every
 * entry is in use a new id is refused (ENOSPC); unused entries expire.
 * Each step of the table: op on id at time t, then the expected count and
 * whether the listed ids are present.
 */
static void
test_registry_bounds(void **state)
{
	(void)state;
	enum { GET, REF, UNREF, EXPIRE };
	static const struct {
		int		 op;
		const char	*id;		/* EXPIRE: unused */
		int64_t		 t;		/* GET/UNREF: now; EXPIRE: before */
		bool		 ok;		/* GET succeeded / EXPIRE count > 0 */
		size_t		 count;
		const char	*present, *absent;
	} steps[] = {
		/* op      id   t    ok     n  present  absent */
		{GET,     "a",  1,   true,  1, "a",     NULL},
		{GET,     "b",  2,   true,  2, "b",     NULL},
		{GET,     "c",  3,   true,  3, "c",     NULL},	/* full (max 3) */
		{GET,     "d",  4,   true,  3, "d",     "a"},	/* a was oldest unused */
		{REF,     "b",  0,   true,  3, "b",     NULL},
		{REF,     "c",  0,   true,  3, "c",     NULL},
		{REF,     "d",  0,   true,  3, "d",     NULL},
		{GET,     "e",  5,   false, 3, NULL,    "e"},	/* all in use: refused */
		{GET,     "b",  5,   true,  3, "b",     NULL},	/* known ids still found */
		{UNREF,   "c",  6,   true,  3, "c",     NULL},
		{GET,     "e",  7,   true,  3, "e",     "c"},	/* c was the one unused */
		{UNREF,   "b",  8,   true,  3, "b",     NULL},
		{EXPIRE,  NULL, 6,   false, 3, "e",     NULL},	/* e unused since 7 */
		{EXPIRE,  NULL, 7,   true,  2, "b",     "e"},
		{EXPIRE,  NULL, 8,   true,  1, "d",     "b"},	/* d in use */
		{UNREF,   "d",  9,   true,  1, "d",     NULL},
		{EXPIRE,  NULL, 100, true,  0, NULL,    "d"},
	};
	struct tk_registry *r = tk_reg_new(3);
	assert_non_null(r);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct tk_dev *d;
		size_t k;
		switch (steps[i].op) {
		case GET:
			errno = 0;
			d = tk_reg_get(r, steps[i].id, steps[i].t);
			if ((d != NULL) != steps[i].ok)
				fail_msg("step %zu: get %s", i, steps[i].id);
			if (d == NULL)
				assert_int_equal(errno, ENOSPC);
			break;
		case REF:
			tk_reg_ref(r, tk_reg_find(r, steps[i].id));
			break;
		case UNREF:
			tk_reg_unref(r, tk_reg_find(r, steps[i].id), steps[i].t);
			break;
		case EXPIRE:
			k = tk_reg_expire(r, steps[i].t);
			if ((k > 0) != steps[i].ok)
				fail_msg("step %zu: expired %zu", i, k);
			break;
		}
		if (tk_reg_count(r) != steps[i].count)
			fail_msg("step %zu: count %zu, want %zu", i, tk_reg_count(r),
			    steps[i].count);
		if (steps[i].present && tk_reg_find(r, steps[i].present) == NULL)
			fail_msg("step %zu: %s missing", i, steps[i].present);
		if (steps[i].absent && tk_reg_find(r, steps[i].absent) != NULL)
			fail_msg("step %zu: %s still there", i, steps[i].absent);
	}
	assert_int_equal(tk_reg_evicted(r), 2);	/* a, c */
	tk_reg_free(r);

	/* many more ids than the cap: the count stays at the cap, the newest
	 * are kept, and every kept one is findable */
	r = tk_reg_new(1000);
	char id[32];
	size_t full = 0;
	for (int i = 0; i < 50000; i++) {
		snprintf(id, sizeof(id), "%015d", i);
		assert_non_null(tk_reg_get(r, id, i));
		if (i == 999)
			full = tk_reg_bytes(r);
	}
	assert_int_equal(tk_reg_count(r), 1000);
	/* memory: what 1000 entries took, not a byte more for the 49,000
	 * that came and went: 1000 entries rounded up to a slab of 512, and
	 * a table of 512 buckets */
	assert_int_equal(tk_reg_bytes(r), full);
	assert_true(full <= 1024 * sizeof(struct tk_dev) + 512 * sizeof(void *) + 256);
	assert_int_equal(tk_reg_evicted(r), 49000);
	for (int i = 49000; i < 50000; i++) {
		snprintf(id, sizeof(id), "%015d", i);
		assert_non_null(tk_reg_find(r, id));
	}
	snprintf(id, sizeof(id), "%015d", 48999);
	assert_null(tk_reg_find(r, id));
	assert_int_equal(tk_reg_expire(r, 49499), 500);
	assert_int_equal(tk_reg_count(r), 500);
	tk_reg_free(r);
	assert_int_equal(sizeof(struct tk_dev), 104);
}

static void
test_cmdq(void **state)
{
	(void)state;
	struct tk_cmdq q;
	tk_cmdq_init(&q, 3);
	uint64_t a = tk_cmdq_add(&q, "A", 1000, (const uint8_t *)"x1", 2);
	uint64_t b = tk_cmdq_add(&q, "B", 2000, (const uint8_t *)"y", 1);
	uint64_t c = tk_cmdq_add(&q, "A", 3000, (const uint8_t *)"x2", 2);
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	errno = 0;
	assert_int_equal(tk_cmdq_add(&q, "C", 1, (const uint8_t *)"z", 1), 0);	/* full */
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(tk_cmdq_add(&q, "", 1, (const uint8_t *)"z", 1), 0);
	/* take: oldest first, per device */
	struct tk_cmd *t = tk_cmdq_take(&q, "A");
	assert_non_null(t);
	assert_int_equal(t->qid, a);
	assert_memory_equal(t->data, "x1", 2);
	tk_cmd_free(t);
	assert_null(tk_cmdq_take(&q, "Z"));
	assert_int_equal(q.n, 2);
	/* cancel */
	assert_int_equal(tk_cmdq_cancel(&q, b), 0);
	assert_int_equal(tk_cmdq_cancel(&q, b), -1);
	assert_int_equal(q.n, 1);
	uint64_t d = tk_cmdq_add(&q, "D", 500, (const uint8_t *)"w", 1);
	assert_int_equal(d, 4);
	/* expiry: D (500) goes at 2999; A's x2 (3000) at 3000 */
	assert_int_equal(tk_cmdq_expire(&q, 2999), 1);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.head->qid, c);
	assert_ptr_equal(q.tail, q.head);
	assert_int_equal(tk_cmdq_expire(&q, 3000), 1);
	assert_null(q.head);
	assert_null(q.tail);
	/* the queue is usable again after emptying */
	assert_int_equal(tk_cmdq_add(&q, "E", 9, (const uint8_t *)"v", 1), 5);
	tk_cmdq_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_registry_bounds),
		cmocka_unit_test(test_cmdq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
