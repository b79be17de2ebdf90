/*
 * test_fleet.c: the fleet's values (tk_devices registry entries, tk_cmdq
 * queued commands) written and read back, and hostile ones refused.  The
 * bus itself is exercised against real nats-server processes by
 * tests/cli/tk-cmd-nats.bats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_ctl.h"
#include "tk_fleet.h"
#include "tk_registry.h"

static void
test_value_roundtrip(void **state)
{
	(void)state;
	struct tk_fleet_value v = {
		.instance = "host \"a\"\\:8888", .dialect = "xexun2", .transport = "udp",
		.peer = "[2001:db8::1]:40000", .since = 1796414751295, .last = 1796414755000,
		.frames = 42, .online = true,
	}, w;
	struct tk_buf b = {NULL, 0, 0};

	assert_int_equal(tk_fleet_value_json(&b, &v), 0);
	assert_non_null(strstr(b.p, "\"since\":\"2026-12-04T20:05:51.295Z\""));
	assert_non_null(strstr(b.p, "\"instance\":\"host \\\"a\\\"\\\\:8888\""));
	assert_int_equal(tk_fleet_value_parse(b.p, b.len, &w), 0);
	assert_string_equal(w.instance, v.instance);
	assert_string_equal(w.dialect, "xexun2");
	assert_string_equal(w.transport, "udp");
	assert_string_equal(w.peer, v.peer);
	assert_int_equal(w.since, v.since);
	assert_int_equal(w.last, v.last);
	assert_int_equal(w.frames, 42);
	assert_true(w.online);
	free(b.p);
}

/* Values that are not registry entries: each refused (-1). */
static void
test_value_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *legend, *json;
	} t[] = {
		{"empty", ""},
		{"not JSON", "online"},
		{"an array", "[1,2]"},
		{"truncated", "{\"instance\":\"a\",\"online\":true"},
		{"trailing garbage", "{\"instance\":\"a\",\"online\":true,\"transport\":\"tcp\","
		    "\"peer\":\"p\",\"dialect\":\"tk103\",\"since\":\"2026-12-04T21:05:51.295Z\","
		    "\"last\":\"2026-12-04T21:05:51.295Z\",\"frames\":1}x"},
		{"online not a boolean", "{\"instance\":\"a\",\"online\":1,\"transport\":\"tcp\","
		    "\"peer\":\"p\",\"dialect\":\"tk103\",\"since\":\"2026-12-04T21:05:51.295Z\","
		    "\"last\":\"2026-12-04T21:05:51.295Z\",\"frames\":1}"},
		{"bad time", "{\"instance\":\"a\",\"online\":true,\"transport\":\"tcp\","
		    "\"peer\":\"p\",\"dialect\":\"tk103\",\"since\":\"2026-13-04T21:05:51.295Z\","
		    "\"last\":\"2026-12-04T21:05:51.295Z\",\"frames\":1}"},
		{"negative frames", "{\"instance\":\"a\",\"online\":true,\"transport\":\"tcp\","
		    "\"peer\":\"p\",\"dialect\":\"tk103\",\"since\":\"2026-12-04T21:05:51.295Z\","
		    "\"last\":\"2026-12-04T21:05:51.295Z\",\"frames\":-1}"},
		{"instance too long", "{\"instance\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaa\",\"online\":true,\"transport\":\"tcp\","
		    "\"peer\":\"p\",\"dialect\":\"tk103\",\"since\":\"2026-12-04T21:05:51.295Z\","
		    "\"last\":\"2026-12-04T21:05:51.295Z\",\"frames\":1}"},
		{"peer missing", "{\"instance\":\"a\",\"online\":true,\"transport\":\"tcp\","
		    "\"dialect\":\"tk103\",\"since\":\"2026-12-04T21:05:51.295Z\","
		    "\"last\":\"2026-12-04T21:05:51.295Z\",\"frames\":1}"},
	};
	struct tk_fleet_value v;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (tk_fleet_value_parse(t[i].json, strlen(t[i].json), &v) != -1)
			fail_msg("accepted: %s", t[i].legend);
	}
	/* a value of bytes with no NUL after them: the length bounds it */
	char raw[8];
	memcpy(raw, "{\"a\":1}}", 8);
	assert_int_equal(tk_fleet_value_parse(raw, 8, &v), -1);
}

static void
test_cmd(void **state)
{
	(void)state;
	struct tk_buf b = {NULL, 0, 0};
	uint8_t bytes[TK_CTL_SEND_MAX], big[TK_CTL_SEND_MAX + 1];
	int64_t exp;
	size_t n;

	assert_int_equal(tk_fleet_cmd_json(&b, "000010000007", 1796414751295,
	    (const uint8_t *)"(000010000007AP00)", 18), 0);
	assert_non_null(strstr(b.p, "\"expires\":\"2026-12-04T20:05:51.295Z\""));
	assert_int_equal(tk_fleet_cmd_parse(b.p, b.len, &exp, bytes, sizeof(bytes), &n), 0);
	assert_int_equal(exp, 1796414751295);
	assert_int_equal(n, 18);
	assert_memory_equal(bytes, "(000010000007AP00)", 18);
	/* more bytes than a command holds: refused */
	memset(big, 'x', sizeof(big));
	b.len = 0;
	assert_int_equal(tk_fleet_cmd_json(&b, "x", 1, big, sizeof(big)), 0);
	assert_int_equal(tk_fleet_cmd_parse(b.p, b.len, &exp, bytes, sizeof(bytes), &n), -1);
	free(b.p);

	static const struct {
		const char *legend, *json;
	} bad[] = {
		{"odd hex", "{\"expires_ms\":1,\"data\":\"abc\"}"},
		{"not hex", "{\"expires_ms\":1,\"data\":\"zz\"}"},
		{"no data", "{\"expires_ms\":1,\"data\":\"\"}"},
		{"negative expiry", "{\"expires_ms\":-5,\"data\":\"00\"}"},
		{"expiry a string", "{\"expires_ms\":\"1\",\"data\":\"00\"}"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tk_fleet_cmd_parse(bad[i].json, strlen(bad[i].json), &exp, bytes,
		    sizeof(bytes), &n) != -1)
			fail_msg("accepted: %s", bad[i].legend);
}

/* Keys of the tk_cmdq bucket: "<id>.<qid>". */
static void
test_cmd_key(void **state)
{
	(void)state;
	static const struct {
		const char *legend, *key, *id;
		uint64_t qid;		/* 0: refused */
	} t[] = {
		{"a command", "000010000007.1796414751295334", "000010000007", 1796414751295334},
		{"an id with - and _", "a-b_c.5", "a-b_c", 5},
		{"no qid", "000010000007", NULL, 0},
		{"qid 0", "a.0", NULL, 0},
		{"qid not a number", "a.12x", NULL, 0},
		{"empty id", ".5", NULL, 0},
		{"an id with a dot", "a.b.5", NULL, 0},
		{"an id too long", "01234567890123456789012345678901.5", NULL, 0},
	};
	char id[TK_ID_MAX];
	uint64_t qid;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = tk_fleet_cmd_key(t[i].key, id, sizeof(id), &qid);
		if (t[i].qid == 0) {
			if (r != -1)
				fail_msg("accepted: %s", t[i].legend);
			continue;
		}
		if (r != 0 || qid != t[i].qid || strcmp(id, t[i].id) != 0)
			fail_msg("%s: %d %s %llu", t[i].legend, r, id, (unsigned long long)qid);
	}
}

/* tk_cmdq_put: the caller's qid (fleet-wide), refused twice. */
static void
test_cmdq_put(void **state)
{
	(void)state;
	struct tk_cmdq q;
	tk_cmdq_init(&q, 2);
	assert_int_equal(tk_cmdq_put(&q, 1796414751295334, "A", 1000, (const uint8_t *)"x", 1),
	    1796414751295334);
	assert_int_equal(tk_cmdq_put(&q, 1796414751295334, "A", 1000, (const uint8_t *)"y", 1), 0);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(tk_cmdq_put(&q, 0, "A", 1000, (const uint8_t *)"y", 1), 0);
	/* a local qid beside it */
	assert_int_equal(tk_cmdq_add(&q, "A", 1000, (const uint8_t *)"z", 1), 1);
	assert_int_equal(tk_cmdq_put(&q, 7, "A", 1000, (const uint8_t *)"w", 1), 0);
	assert_int_equal(errno, ENOSPC);
	struct tk_cmd *c = tk_cmdq_take(&q, "A");
	assert_int_equal(c->qid, 1796414751295334);
	tk_cmd_free(c);
	tk_cmdq_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_roundtrip),
		cmocka_unit_test(test_value_hostile),
		cmocka_unit_test(test_cmd),
		cmocka_unit_test(test_cmd_key),
		cmocka_unit_test(test_cmdq_put),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
