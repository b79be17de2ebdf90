/*
 * fuzz_cmd.c: the command catalogue on any bytes.  The first byte picks a
 * dialect; the rest are device-bound bytes for tk_cmd_recognize().  What it
 * recognises must encode, recognise again as the same command, and encode
 * to the same bytes (a round trip); answer matching and the simulated
 * answers must stay in bounds.  The same bytes, split on NUL, are also
 * parsed as an argv for every command set; what a GPRS set encodes must
 * be recognised and encode again to the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static void
roundtrip(enum tk_dialect d, const uint8_t *p, size_t n)
{
	struct tk_cmd c, c2;
	char id[64], id2[64], err[256];
	static uint8_t a[TK_CMD_OUT_MAX], b[TK_CMD_OUT_MAX], ans[512];

	if (tk_cmd_recognize(d, p, n, &c, id, sizeof(id), err, sizeof(err)) != 0)
		return;
	const char *devid = id[0] ? id : "123456789012";
	long k = tk_cmd_encode(&c, devid, NULL, a, sizeof(a), err, sizeof(err));
	if (k < 0) {
		/* only the device id or the password can be what fails */
		if (strstr(err, "id") == NULL && strstr(err, "IMEI") == NULL &&
		    strstr(err, "password") == NULL)
			FZ_CHECK(!"cmd round trip");
		return;
	}
	if (tk_cmd_recognize(d, a, (size_t)k, &c2, id2, sizeof(id2), err, sizeof(err)) != 0)
		FZ_CHECK(!"cmd round trip");
	if (c2.set != c.set)
		FZ_CHECK(!"cmd round trip");
	long k2 = tk_cmd_encode(&c2, id2[0] ? id2 : devid, NULL, b, sizeof(b), err, sizeof(err));
	if (k2 != k || memcmp(a, b, (size_t)k) != 0)
		FZ_CHECK(!"cmd round trip");
	long s = tk_cmd_sim_answer(&c, devid, 1700000000000, ans, sizeof(ans));
	if (s > (long)sizeof(ans))
		FZ_CHECK(!"cmd round trip");
	tk_cmd_answer_frame(&c, p, n);
}

static void
fz_cmd_check(const uint8_t *data, size_t size)
{
	static const enum tk_dialect ds[] = {TK_D_TK103, TK_D_GPS103, TK_D_XEXUN, TK_D_XEXUN2};

	if (size < 1 || size > 4096)
		return;
	enum tk_dialect d = ds[data[0] % 4];
	roundtrip(d, data + 1, size - 1);

	/* the bytes as an argv: NUL-separated words */
	static char buf[4097];
	char *argv[16];
	int argc = 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (size_t i = 0; i < size - 1 && argc < 15;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	if (argc == 0)
		return;
	for (int s = 0; s < TK_CS__COUNT; s++) {
		struct tk_cmd c;
		char err[256];
		static uint8_t out[TK_CMD_OUT_MAX];
		if (tk_cmd_parse((enum tk_cmd_set)s, argc, argv, (unsigned)(data[0] >> 4) & 3, &c, err,
		    sizeof(err)) != 0)
			continue;
		long k = tk_cmd_encode(&c, "861881053624335", NULL, out, sizeof(out), err,
		    sizeof(err));
		if (k < 0 || (size_t)k > sizeof(out))
			FZ_CHECK(!"cmd round trip");
		/*
		 * The round trip the listener's QUEUE and tk-sim rely on: what a
		 * GPRS set encodes is recognised as a command of that set's
		 * dialect, and that command encodes to the very same bytes.
		 */
		if (tk_cmd_set_is_sms((enum tk_cmd_set)s) || (c.flags & TK_CMD_F_RAW))
			continue;	/* raw text may carry the delimiters: no round trip */
		struct tk_cmd c2;
		char id2[64];
		static uint8_t out2[TK_CMD_OUT_MAX];
		if (tk_cmd_recognize(tk_cmd_set_dialect((enum tk_cmd_set)s), out, (size_t)k, &c2,
		    id2, sizeof(id2), err, sizeof(err)) != 0) {
			fprintf(stderr, "set %s: encoded %.*s not recognised: %s\n",
			    tk_cmd_set_name((enum tk_cmd_set)s), (int)k, out, err);
			FZ_CHECK(!"cmd round trip");
		}
		long k2 = tk_cmd_encode(&c2, id2[0] ? id2 : "861881053624335", NULL, out2,
		    sizeof(out2), err, sizeof(err));
		if (k2 != k || memcmp(out, out2, (size_t)k) != 0) {
			fprintf(stderr, "set %s: %.*s recognised as %s, encodes to %.*s\n",
			    tk_cmd_set_name((enum tk_cmd_set)s), (int)k, out,
			    tk_cmd_name(c2.id), (int)(k2 > 0 ? k2 : 0), out2);
			FZ_CHECK(!"cmd round trip");
		}
	}
}

#ifndef FZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_cmd_check(data, size);
	return 0;
}
#endif
