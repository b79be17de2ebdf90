/* test_conntab.c: decoding sessions by connection (tk-decode's table). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_conntab.h"

/* a frame line's key, as tk_fline_parse leaves it (peer NUL-padded) */
static struct tk_fline
key(uint64_t conn, const char *transport, const char *peer)
{
	struct tk_fline l;
	memset(&l, 0, sizeof(l));
	l.kind = TK_F_FRAME;
	l.conn = conn;
	memcpy(l.transport, transport, 3);
	snprintf(l.peer, sizeof(l.peer), "%s", peer);
	return l;
}

static void
test_conntab_basic(void **state)
{
	(void)state;
	struct tk_conntab t;
	bool reset = true;
	tk_conntab_init(&t, 1000, "/photos");
	struct tk_fline a = key(7, "tcp", "10.0.0.1:4000");
	uint64_t ha = tk_conntab_hash(&a);
	/* lookups on the empty table */
	assert_null(tk_conntab_find(&t, &a, ha));
	assert_false(tk_conntab_drop(&t, &a, ha));
	struct tk_conn *c = tk_conntab_get(&t, &a, ha, &reset);
	assert_non_null(c);
	assert_false(reset);
	assert_int_equal(c->s.dialect, TK_D_UNKNOWN);
	assert_string_equal(c->s.photo_dir, "/photos");
	assert_int_equal(t.live, 1);
	c->s.dialect = TK_D_TK103;
	assert_ptr_equal(tk_conntab_get(&t, &a, ha, &reset), c);
	assert_ptr_equal(tk_conntab_find(&t, &a, ha), c);
	assert_int_equal(t.live, 1);
	/* each part of the key counts */
	struct tk_fline others[] = {key(8, "tcp", "10.0.0.1:4000"),
	    key(7, "udp", "10.0.0.1:4000"), key(7, "tcp", "10.0.0.1:4001"),
	    key(7, "tcp", "10.0.0.1:40000")};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		uint64_t h = tk_conntab_hash(&others[i]);
		assert_true(h != ha);
		assert_null(tk_conntab_find(&t, &others[i], h));
		/* the same hash, another key: still another connection */
		assert_null(tk_conntab_find(&t, &others[i], ha));
	}
	/* a close line drops it, once */
	assert_true(tk_conntab_drop(&t, &a, ha));
	assert_false(tk_conntab_drop(&t, &a, ha));
	assert_null(tk_conntab_find(&t, &a, ha));
	assert_int_equal(t.live, 0);
	tk_conntab_free(&t);
	tk_conntab_free(&t);	/* twice is harmless */
}

/* the hash of a parsed line depends on the key only */
static void
test_conntab_hash_parsed(void **state)
{
	(void)state;
	uint8_t s1[256], s2[256];
	struct tk_fline l1, l2;
	char e[120];
	const char *a = "2026-01-01T00:00:00.000Z frame tcp 10.1.2.3:5000 42 tk103 "
	    "000010052875 - (000010052875BP05)";
	const char *b = "2026-01-01T00:00:09.123Z frame tcp 10.1.2.3:5000 42 tk103 "
	    "- - (000010052875BR00)";
	assert_int_equal(tk_fline_parse(a, strlen(a), &l1, s1, sizeof(s1), e, sizeof(e)), 0);
	assert_int_equal(tk_fline_parse(b, strlen(b), &l2, s2, sizeof(s2), e, sizeof(e)), 0);
	assert_true(tk_conntab_hash(&l1) == tk_conntab_hash(&l2));
	struct tk_fline k = key(42, "tcp", "10.1.2.3:5000");
	assert_true(tk_conntab_hash(&k) == tk_conntab_hash(&l1));
	/* a peer of the whole field's width (63 bytes and its NUL) */
	char peer[64];
	memset(peer, 'p', 63);
	peer[63] = '\0';
	k = key(1, "udp", peer);
	struct tk_fline k2 = key(1, "udp", peer);
	assert_true(tk_conntab_hash(&k) == tk_conntab_hash(&k2));
}

/* Many connections, and every hash the same (one probe chain): growth,
 * lookups and backward-shift deletion keep every survivor reachable. */
static void
run_many(uint64_t (*hf)(const struct tk_fline *), size_t n)
{
	struct tk_conntab t;
	bool reset;
	tk_conntab_init(&t, 100000, NULL);
	struct tk_conn **got = calloc(n, sizeof(*got));
	assert_non_null(got);
	for (size_t i = 0; i < n; i++) {
		char peer[32];
		snprintf(peer, sizeof(peer), "127.0.%zu.%zu:%zu", i / 256 % 256, i % 256,
		    1024 + i);
		struct tk_fline l = key(i + 1, i % 3 ? "tcp" : "udp", peer);
		got[i] = tk_conntab_get(&t, &l, hf(&l), &reset);
		assert_non_null(got[i]);
		assert_false(reset);
		got[i]->s.tz_min = (int16_t)(i % 1000);
	}
	assert_int_equal(t.live, n);
	assert_true(t.ntab >= 2 * n);
	/* drop every third, in a scattered order */
	size_t dropped = 0;
	for (size_t s = 0; s < n; s++) {
		size_t i = (s * 7919) % n;
		if (i % 3 != 0)
			continue;
		char peer[32];
		snprintf(peer, sizeof(peer), "127.0.%zu.%zu:%zu", i / 256 % 256, i % 256,
		    1024 + i);
		struct tk_fline l = key(i + 1, i % 3 ? "tcp" : "udp", peer);
		assert_true(tk_conntab_drop(&t, &l, hf(&l)));
		dropped++;
	}
	assert_int_equal(t.live, n - dropped);
	for (size_t i = 0; i < n; i++) {
		char peer[32];
		snprintf(peer, sizeof(peer), "127.0.%zu.%zu:%zu", i / 256 % 256, i % 256,
		    1024 + i);
		struct tk_fline l = key(i + 1, i % 3 ? "tcp" : "udp", peer);
		struct tk_conn *c = tk_conntab_find(&t, &l, hf(&l));
		if (i % 3 == 0) {
			assert_null(c);
		} else {
			assert_ptr_equal(c, got[i]);
			assert_int_equal(c->s.tz_min, (int16_t)(i % 1000));
			assert_int_equal(c->conn, i + 1);
		}
	}
	tk_conntab_free(&t);
	free(got);
}

static uint64_t
same_hash(const struct tk_fline *l)
{
	(void)l;
	return 12345;
}

static void
test_conntab_many(void **state)
{
	(void)state;
	run_many(tk_conntab_hash, 20000);
	run_many(same_hash, 1500);
}

/* At max live connections the table forgets them all and says so. */
static void
test_conntab_bounded(void **state)
{
	(void)state;
	struct tk_conntab t;
	bool reset = false;
	tk_conntab_init(&t, 300, NULL);	/* rounded up to 512 */
	assert_int_equal(t.max, 512);
	for (int i = 0; i < 512; i++) {
		struct tk_fline l = key((uint64_t)i, "tcp", "10.0.0.9:1");
		assert_non_null(tk_conntab_get(&t, &l, tk_conntab_hash(&l), &reset));
		assert_false(reset);
	}
	assert_int_equal(t.live, 512);
	size_t slots = t.ntab;
	struct tk_fline l = key(100000, "tcp", "10.0.0.9:1");
	struct tk_conn *c = tk_conntab_get(&t, &l, tk_conntab_hash(&l), &reset);
	assert_non_null(c);
	assert_true(reset);
	assert_int_equal(t.live, 1);
	assert_int_equal(t.ntab, slots);	/* memory stays where it was */
	assert_ptr_equal(tk_conntab_find(&t, &l, tk_conntab_hash(&l)), c);
	struct tk_fline old = key(3, "tcp", "10.0.0.9:1");
	assert_null(tk_conntab_find(&t, &old, tk_conntab_hash(&old)));
	tk_conntab_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conntab_basic),
		cmocka_unit_test(test_conntab_hash_parsed),
		cmocka_unit_test(test_conntab_many),
		cmocka_unit_test(test_conntab_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
