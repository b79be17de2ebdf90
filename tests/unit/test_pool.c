/* test_pool.c: fixed-size objects from slabs (tk_pool). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "tk_pool.h"

struct obj {
	uint64_t	 a;
	void		*p;
	char		 s[13];
};

/* Objects are zeroed, distinct, aligned; slabs are added as needed. */
static void
test_pool_get(void **state)
{
	(void)state;
	struct tk_pool p;
	struct obj *o[10];

	tk_pool_init(&p, sizeof(struct obj), 4);
	assert_true(p.size >= sizeof(struct obj) && p.size % 8 == 0);
	assert_int_equal(tk_pool_bytes(&p), 0);
	for (int i = 0; i < 10; i++) {
		o[i] = tk_pool_get(&p);
		assert_non_null(o[i]);
		assert_int_equal((uintptr_t)o[i] % 8, 0);
		assert_int_equal(o[i]->a, 0);
		assert_null(o[i]->p);
		assert_int_equal(o[i]->s[12], 0);
		memset(o[i], 0xa5, sizeof(struct obj));
		for (int j = 0; j < i; j++)
			assert_ptr_not_equal(o[i], o[j]);
	}
	assert_int_equal(p.nslabs, 3);		/* 10 objects, 4 a slab */
	assert_int_equal(p.live, 10);
	size_t b = tk_pool_bytes(&p);
	assert_true(b >= 12 * sizeof(struct obj) && b < 12 * sizeof(struct obj) + 3 * 64);
	tk_pool_fini(&p);
	assert_int_equal(tk_pool_bytes(&p), 0);
}

/* A freed object is reused, zeroed, after the older free ones (first in,
 * first out), and churn never adds a slab. */
static void
test_pool_reuse(void **state)
{
	(void)state;
	struct tk_pool p;
	struct obj *o[4];

	tk_pool_init(&p, sizeof(struct obj), 4);
	for (int i = 0; i < 4; i++)
		o[i] = tk_pool_get(&p);
	tk_pool_put(&p, o[2]);
	tk_pool_put(&p, o[0]);
	tk_pool_put(&p, NULL);		/* nothing */
	assert_int_equal(p.live, 2);
	struct obj *x = tk_pool_get(&p), *y = tk_pool_get(&p);
	assert_ptr_equal(x, o[2]);
	assert_ptr_equal(y, o[0]);
	assert_int_equal(y->a, 0);
	assert_int_equal(p.nslabs, 1);
	/* 100,000 objects made and freed, 3 live at a time: one slab */
	struct obj *live[3] = {x, y, o[1]};
	for (int i = 0; i < 100000; i++) {
		tk_pool_put(&p, live[i % 3]);
		live[i % 3] = tk_pool_get(&p);
		assert_non_null(live[i % 3]);
	}
	assert_int_equal(p.nslabs, 1);
	assert_int_equal(p.live, 4);
	tk_pool_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_get),
		cmocka_unit_test(test_pool_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
