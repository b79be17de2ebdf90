/* test_forward.c: tk-forward's OsmAnd query strings (what Traccar's OsmAnd
 * decoder reads) from records, table-driven; the engine itself is tested
 * against a real HTTP server in tests/cli/tk-forward.bats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tk103.h"
#include "tk_forward.h"

static const struct {
	const char	*legend;
	const char	*rec;
	const char	*query;		/* NULL: not a position */
} cases[] = {
	{"tk-decode's gps103 record: seconds since the epoch, the alarm passed on",
	 "{\"type\":\"position\",\"uniqueId\":\"359586015829802\",\"fixTime\":"
	 "\"2008-09-23T06:29:47.294Z\",\"valid\":true,\"latitude\":22.573377,"
	 "\"longitude\":113.905462,\"speed\":0,\"attributes\":{\"alarm\":\"sos\"}}",
	 "id=359586015829802&timestamp=1222151387&lat=22.573377&lon=113.905462&speed=0"
	 "&valid=true&alarm=sos"},
	{"course is bearing, altitude, accuracy; batteryLevel is batt",
	 "{\"uniqueId\":\"7\",\"fixTime\":\"1970-01-01T00:00:10.000Z\",\"latitude\":-1.5,"
	 "\"longitude\":-2.25,\"speed\":12.345,\"course\":90.5,\"altitude\":-3,"
	 "\"accuracy\":5,\"valid\":false,\"attributes\":{\"batteryLevel\":80,"
	 "\"ignition\":true,\"hdop\":0.9}}",
	 "id=7&timestamp=10&lat=-1.5&lon=-2.25&speed=12.345&bearing=90.5&altitude=-3"
	 "&accuracy=5&valid=false&batt=80&ignition=true&hdop=0.9"},
	{"no fixTime: deviceTime, then serverTime",
	 "{\"uniqueId\":\"7\",\"serverTime\":\"1970-01-01T00:01:00.000Z\",\"latitude\":1,"
	 "\"longitude\":2}",
	 "id=7&timestamp=60&lat=1&lon=2"},
	{"Traccar's forwarding envelope, its +00:00 times and zone offsets",
	 "{\"position\":{\"fixTime\":\"1970-01-01T02:00:00.000+02:00\",\"latitude\":1,"
	 "\"longitude\":2,\"deviceId\":3},\"device\":{\"id\":3,\"uniqueId\":\"abc\"}}",
	 "id=abc&timestamp=0&lat=1&lon=2"},
	{"strings percent-encoded; keys OsmAnd reads otherwise are not taken "
	 "from attributes; nested values have no query form",
	 "{\"uniqueId\":\"a b&c\",\"fixTime\":\"1970-01-01T00:00:00Z\",\"latitude\":1,"
	 "\"longitude\":2,\"attributes\":{\"lat\":9,\"id\":\"x\",\"note\":\"50% =ok/\","
	 "\"cells\":[1]}}",
	 "id=a%20b%26c&timestamp=0&lat=1&lon=2&note=50%25%20%3Dok%2F"},
	{"no uniqueId", "{\"fixTime\":\"1970-01-01T00:00:00Z\",\"latitude\":1,"
	 "\"longitude\":2}", NULL},
	{"no position (a heartbeat)", "{\"type\":\"heartbeat\",\"uniqueId\":\"1\","
	 "\"serverTime\":\"1970-01-01T00:00:00Z\"}", NULL},
	{"a latitude beyond 90", "{\"uniqueId\":\"1\",\"fixTime\":\"1970-01-01T00:00:00Z\","
	 "\"latitude\":91,\"longitude\":2}", NULL},
	{"no time at all", "{\"uniqueId\":\"1\",\"latitude\":1,\"longitude\":2}", NULL},
	{"a time without a zone", "{\"uniqueId\":\"1\",\"fixTime\":\"1970-01-01T00:00:00\","
	 "\"latitude\":1,\"longitude\":2}", NULL},
	{"a latitude as a string", "{\"uniqueId\":\"1\",\"fixTime\":\"1970-01-01T00:00:00Z\","
	 "\"latitude\":\"1\",\"longitude\":2}", NULL},
	{"not JSON", "{\"uniqueId\":", NULL},
	{"not an object", "[1,2]", NULL},
};

static void
test_osmand(void **state)
{
	char out[4096];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tk_buf b = {out, 0, sizeof(out)};
		int rc = tk_fwd_osmand_query(cases[i].rec, strlen(cases[i].rec), &b);
		if (cases[i].query == NULL) {
			if (rc != -1)
				fail_msg("%s: took it: %.*s", cases[i].legend, (int)b.len, out);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: refused", cases[i].legend);
		if (b.len != strlen(cases[i].query) || memcmp(out, cases[i].query, b.len) != 0)
			fail_msg("%s:\n got  %.*s\n want %s", cases[i].legend, (int)b.len, out,
			    cases[i].query);
	}
}

/* legend: a query that does not fit the caller's buffer is refused, not cut */
static void
test_small_buffer(void **state)
{
	char out[20];
	struct tk_buf b = {out, 0, sizeof(out)};
	(void)state;
	assert_int_equal(tk_fwd_osmand_query(cases[0].rec, strlen(cases[0].rec), &b), -1);
}

/* legend: the engine refuses what is not an http(s) URL, and an unusable spool */
static void
test_new(void **state)
{
	struct tk_fwd_opts o;
	struct tk_fwd *f;
	char err[256];
	(void)state;
	tk_fwd_defaults(&o);
	o.url = "ftp://example.org/";
	assert_int_equal(tk_fwd_new(&f, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an http"));
	o.url = "http://127.0.0.1:9/";
	o.spool_dir = "/nonexistent/spool";
	assert_int_equal(tk_fwd_new(&f, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/spool"));
	o.spool_dir = NULL;
	assert_int_equal(tk_fwd_new(&f, &o, err, sizeof(err)), 0);
	/* records are checked when queued */
	assert_int_equal(tk_fwd_put(f, "{\"a\":1}", 7), TK_FWD_OK);
	assert_int_equal(tk_fwd_put(f, "{\"a\":1", 6), TK_FWD_BAD);
	assert_int_equal(tk_fwd_put(f, "{\"a\":1}\n{}", 10), TK_FWD_BAD);
	const struct tk_fwd_stats *st = tk_fwd_stats(f);
	assert_int_equal(st->accepted, 1);
	assert_int_equal(st->bad, 2);
	assert_int_equal(st->queued, 1);
	assert_false(tk_fwd_idle(f));
	tk_fwd_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_osmand),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_new),
	};
	return cmocka_run_group_tests_name("forward", tests, NULL, NULL);
}
