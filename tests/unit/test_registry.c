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
	struct tk_registry *r = tk_reg_new();
	assert_non_null(r);
	assert_null(tk_reg_find(r, "359586015829802"));
	struct tk_dev *a = tk_reg_get(r, "359586015829802");
	assert_non_null(a);
	assert_string_equal(a->id, "359586015829802");
	assert_ptr_equal(tk_reg_get(r, "359586015829802"), a);	/* same entry */
	assert_ptr_equal(tk_reg_find(r, "359586015829802"), a);
	assert_null(tk_reg_get(r, ""));
	assert_null(tk_reg_get(r, "01234567890123456789012345678901"));	/* 32 chars */
	/* many devices: the table grows and every one stays findable */
	char id[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "dev%d", i);
		struct tk_dev *d = tk_reg_get(r, id);
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
		cmocka_unit_test(test_cmdq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
