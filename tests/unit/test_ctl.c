/* test_ctl.c: tk-listen's control protocol: line splitting and request
 * parsing, including over-long, malformed and hostile lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tk_ctl.h"

static struct tk_ctl_req r;
static char err[160];

static int
parse(const char *s)
{
	err[0] = '\0';
	return tk_ctl_parse(s, strlen(s), &r, err, sizeof(err));
}

static void
test_line(void **state)
{
	size_t n;
	static char big[TK_CTL_LINE_MAX + 10];
	(void)state;
	assert_int_equal(tk_ctl_line("LIST\nSTATS\n", 11, &n), TK_CTL_LINE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(tk_ctl_line("LIS", 3, &n), TK_CTL_LINE_MORE);
	assert_int_equal(tk_ctl_line("", 0, &n), TK_CTL_LINE_MORE);
	/* 8191 bytes + '\n' = 8192: the longest allowed */
	memset(big, 'A', sizeof(big));
	big[TK_CTL_LINE_MAX - 1] = '\n';
	assert_int_equal(tk_ctl_line(big, TK_CTL_LINE_MAX, &n), TK_CTL_LINE_OK);
	assert_int_equal(n, TK_CTL_LINE_MAX - 1);
	/* 8192 bytes and no '\n': too long, however many more follow */
	memset(big, 'A', sizeof(big));
	assert_int_equal(tk_ctl_line(big, TK_CTL_LINE_MAX, &n), TK_CTL_LINE_TOOLONG);
	assert_int_equal(tk_ctl_line(big, sizeof(big), &n), TK_CTL_LINE_TOOLONG);
	assert_int_equal(tk_ctl_line(big, TK_CTL_LINE_MAX - 1, &n), TK_CTL_LINE_MORE);
	/* a '\n' past the limit does not count */
	big[TK_CTL_LINE_MAX + 2] = '\n';
	assert_int_equal(tk_ctl_line(big, sizeof(big), &n), TK_CTL_LINE_TOOLONG);
}

static void
test_simple_verbs(void **state)
{
	(void)state;
	assert_int_equal(parse("LIST"), 0);
	assert_int_equal(r.verb, TK_CTL_LIST);
	assert_string_equal(r.id, "");
	/* one device, online or not */
	assert_int_equal(parse("LIST 027044702512"), 0);
	assert_int_equal(r.verb, TK_CTL_LIST);
	assert_string_equal(r.id, "027044702512");
	assert_int_equal(parse("STATS\r"), 0);	/* CR LF tolerated */
	assert_int_equal(r.verb, TK_CTL_STATS);
	assert_int_equal(parse("PENDING"), 0);
	assert_int_equal(r.verb, TK_CTL_PENDING);
	assert_string_equal(r.id, "");
	assert_int_equal(parse("PENDING 359586015829802"), 0);
	assert_string_equal(r.id, "359586015829802");
	assert_int_equal(parse("WATCH 027044702512"), 0);
	assert_int_equal(r.verb, TK_CTL_WATCH);
	assert_string_equal(r.id, "027044702512");
	assert_int_equal(parse("CANCEL 17"), 0);
	assert_int_equal(r.verb, TK_CTL_CANCEL);
	assert_int_equal(r.qid, 17);
}

static void
test_send_queue(void **state)
{
	(void)state;
	assert_int_equal(parse("SEND 027044702512 28303237303434373032353132415630302900"), 0);
	assert_int_equal(r.verb, TK_CTL_SEND);
	assert_false(r.watch);
	assert_int_equal(r.len, 19);
	assert_memory_equal(r.data, "(027044702512AV00)\0", 19);
	assert_int_equal(parse("SEND dev-1_X 4C4f4144 watch"), 0);	/* mixed case hex */
	assert_true(r.watch);
	assert_int_equal(r.len, 4);
	assert_memory_equal(r.data, "LOAD", 4);
	assert_int_equal(parse("QUEUE 359586015829802 3600 4f4e"), 0);
	assert_int_equal(r.verb, TK_CTL_QUEUE);
	assert_int_equal(r.ttl, 3600);
	assert_int_equal(r.len, 2);
	assert_int_equal(parse("QUEUE x 2592000 00"), 0);
	assert_int_equal(r.ttl, 2592000);
}

static void
test_errors(void **state)
{
	static char big[2 * TK_CTL_SEND_MAX + 64];
	(void)state;
	struct { const char *line, *code; } bad[] = {
		{"", "badrequest"},
		{"list", "badrequest"},			/* verbs are upper case */
		{"FOO", "badrequest"},
		{"LIST a b", "badrequest"},		/* one device at most */
		{"LIST bad!id", "badrequest"},
		{"LIST ", "badrequest"},		/* trailing space: empty token */
		{"SEND  1234 00", "badrequest"},	/* double space */
		{"SEND 1234", "badrequest"},
		{"SEND 1234 0", "badrequest"},		/* odd hex */
		{"SEND 1234 zz", "badrequest"},
		{"SEND 1234 00 now", "badrequest"},
		{"SEND bad/id 00", "badrequest"},
		{"SEND 0123456789012345678901234567890123 00", "badrequest"}, /* 34 chars */
		{"WATCH", "badrequest"},
		{"QUEUE 1234 0 00", "badrequest"},	/* ttl 0 */
		{"QUEUE 1234 2592001 00", "badrequest"},
		{"QUEUE 1234 -5 00", "badrequest"},
		{"QUEUE 1234 10", "badrequest"},
		{"CANCEL 0", "badrequest"},
		{"CANCEL abc", "badrequest"},
		{"CANCEL 99999999999999999999999", "badrequest"},
		{"LIST\t", "badrequest"},		/* control byte */
		{"LIST\x80", "badrequest"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].line) == 0)
			fail_msg("accepted: \"%s\"", bad[i].line);
		if (strncmp(err, bad[i].code, strlen(bad[i].code)) != 0)
			fail_msg("\"%s\": error \"%s\", want %s", bad[i].line, err, bad[i].code);
	}
	/* a NUL byte inside the line */
	assert_int_equal(tk_ctl_parse("LIST\0x", 6, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "badrequest NUL byte");
	/* more than 2048 decoded bytes: toolong */
	int n = snprintf(big, sizeof(big), "SEND 1234 ");
	memset(big + n, 'a', 2 * (TK_CTL_SEND_MAX + 1));
	big[n + 2 * (TK_CTL_SEND_MAX + 1)] = '\0';
	assert_int_equal(parse(big), -1);
	assert_memory_equal(err, "toolong", 7);
	/* exactly 2048: fine */
	big[n + 2 * TK_CTL_SEND_MAX] = '\0';
	assert_int_equal(parse(big), 0);
	assert_int_equal(r.len, TK_CTL_SEND_MAX);
	/* an over-long line handed to the parser anyway */
	static char huge[TK_CTL_LINE_MAX + 1];
	memset(huge, 'A', sizeof(huge));
	assert_int_equal(tk_ctl_parse(huge, sizeof(huge), &r, err, sizeof(err)), -1);
	assert_memory_equal(err, "badrequest", 10);
}

static void
test_ids(void **state)
{
	(void)state;
	assert_true(tk_ctl_valid_id("a", 1));
	assert_true(tk_ctl_valid_id("AZaz09_-", 8));
	assert_true(tk_ctl_valid_id("0123456789012345678901234567890", 31));
	assert_false(tk_ctl_valid_id("01234567890123456789012345678901", 32));
	assert_false(tk_ctl_valid_id("", 0));
	assert_false(tk_ctl_valid_id("a b", 3));
	assert_false(tk_ctl_valid_id("a:b", 3));
	assert_false(tk_ctl_valid_id("a\0b", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_simple_verbs),
		cmocka_unit_test(test_send_queue),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
