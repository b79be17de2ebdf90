/*
 * test_gt06.c: the gt06 dialect (docs/protocol/gt06.md): CRC-16/X-25,
 * framing of split, glued, irregular and garbage input, the replies
 * byte for byte, the login's IMEI and time zone carried by the session,
 * and decoded values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "tk103.h"
#include "tk_test.h"
#include "tk_gt06.h"

static size_t
hex(const char *s, uint8_t *out, size_t cap)
{
	long n = tk_hex_decode(s, strlen(s), out, cap);
	assert_true(n >= 0);
	return (size_t)n;
}

#define LOGIN	"78780D01086471700328358100093F040D0A"
#define GPS12	"78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a"
#define STAT13	"78780A134406040002" "01BFF8F90D0A"
/* WiFi 0x69: the count (0) where the length goes, no serial, no CRC */
#define WIFI69	"787800691709261259400700cc0400d376714600d37a3d5000d37a3c5000d393505a" \
	"00d3765d5a00d376735a00d32e6b640d0a"
/* a miscounted length (8, carries 10) */
#define BADLEN	"787808134606020002044dc5050d0a"

static void
test_crc(void **state)
{
	(void)state;
	/* the CRC-16/X-25 check value */
	assert_int_equal(tk_gt06_crc((const uint8_t *)"123456789", 9), 0x906E);
	uint8_t f[64];
	size_t n = hex(LOGIN, f, sizeof(f));
	assert_int_equal(tk_gt06_crc(f + 2, n - 6), 0x3F04);
}

struct scan_case {
	const char	*legend;
	const char	*in;
	int		 nframes;
	const char	*frame[3];
	bool		 junk;
};

static const struct scan_case scans[] = {
	{"one login", LOGIN, 1, {LOGIN}, false},
	{"three frames glued", LOGIN GPS12 STAT13, 3, {LOGIN, GPS12, STAT13}, false},
	{"garbage before and between", "010203" LOGIN "AA55" GPS12, 2,
	    {LOGIN, GPS12}, true},
	{"a WiFi packet framed by its stop bytes", WIFI69 LOGIN, 2, {WIFI69, LOGIN}, false},
	{"a miscounted length framed by its stop bytes", BADLEN STAT13, 2,
	    {BADLEN, STAT13}, false},
	{"a truncated frame, then frames: back in step", "78781f120f0a140e15" LOGIN, 1,
	    {LOGIN}, true},
	{"a 79 79 frame", "79790008940b02e3048614200d0a", 1,
	    {"79790008940b02e3048614200d0a"}, false},
};

static void
test_scan(void **state)
{
	(void)state;
	static uint8_t in[1024], want[1024];
	for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
		const struct scan_case *c = &scans[i];
		size_t n = hex(c->in, in, sizeof(in));
		/* every chunking gives the same frames */
		for (size_t k = 0; k <= 7; k++) {
			struct tkt_frames g;
			memset(&g, 0, sizeof(g));
			g.want = TK_D_GT06;
			assert_int_equal(tkt_feed(TK_D_GT06, in, n, k, &g), 0);
			if (g.n != c->nframes)
				fail_msg("%s (chunk %zu): %d frames, want %d", c->legend, k,
				    g.n, c->nframes);
			for (int j = 0; j < c->nframes; j++) {
				size_t wl = hex(c->frame[j], want, sizeof(want));
				assert_int_equal(g.len[j], wl);
				assert_memory_equal(g.f[j], want, wl);
			}
			assert_int_equal(g.junk > 0, c->junk);
		}
	}
}

static void
reply_is(const char *frame, const char *want)
{
	uint8_t f[512], r[TK_REPLY_MAX], w[TK_REPLY_MAX];
	size_t n = hex(frame, f, sizeof(f));
	size_t rn = tk_reply(TK_D_GT06, f, n, r, sizeof(r));
	if (want == NULL) {
		assert_int_equal(rn, 0);
		return;
	}
	size_t wn = hex(want, w, sizeof(w));
	assert_int_equal(rn, wn);
	assert_memory_equal(r, w, wn);
}

static void
test_reply(void **state)
{
	(void)state;
	/* the worked examples of docs/protocol/gt06.md */
	reply_is(LOGIN, "787805010009" "55940D0A");
	reply_is(GPS12, "787805120003" "903F0D0A");
	reply_is(STAT13, "7878051301BF" "ACDC0D0A");
	reply_is(WIFI69, "78780069170926125940" "0D0A");
	/* an alarm (0x16) is acknowledged with its serial */
	reply_is("78782516160908063736c0006e70110442fc8000000008000000000000000003"
	    "00002512000473fb0d0a", "787805160004" "87E10D0A");
	/* no reply to 0x94 information or a 0x21 command answer */
	reply_is("79790008940b02e3048614200d0a", NULL);
	reply_is("7979006f210000000001426174746572793a352e3536562c4e4f524d414c3b20"
	    "475052532a4c696e6b2055702047534d205369676e616c204c6576656c3a5374"
	    "726f6e673b204750533a4f46463b2020204c4f434b3a4f46463b204254204d41"
	    "433a4234413832383034343436323b007260880d0a", NULL);
	/* the time answer: 2024-01-02 03:04:05Z, serial 0 */
	uint8_t r[64], w[64];
	size_t n = tk_gt06_time_reply(1704164645000LL, r, sizeof(r));
	size_t wn = hex("78780B8A1801020304050000E9050D0A", w, sizeof(w));
	assert_int_equal(n, wn);
	assert_memory_equal(r, w, wn);
	/* a time request gets a well-formed 0x8A answer */
	uint8_t f[64];
	n = hex("7878058A000688290D0A", f, sizeof(f));
	size_t rn = tk_reply(TK_D_GT06, f, n, r, sizeof(r));
	assert_int_equal(rn, 16);
	assert_int_equal(r[3], 0x8A);
	assert_int_equal(tk_gt06_crc(r + 2, 10), (uint16_t)(r[12] << 8 | r[13]));
	/* what is acknowledged after persisting, and what is a handshake */
	n = hex(LOGIN, f, sizeof(f));
	assert_false(tk_gt06_reply_is_ack(f, n));
	uint8_t g[64];
	n = hex(STAT13, g, sizeof(g));
	assert_true(tk_gt06_reply_is_ack(g, n));
}

struct got {
	int		 n;
	struct tk_record r[4];
};

static int
collect(void *arg, struct tk_record *r)
{
	struct got *g = arg;
	if (g->n < 4)
		g->r[g->n] = *r;
	g->n++;
	return 0;
}

static int
decode(struct tk_session *s, const char *h, struct got *g, char *warn)
{
	static uint8_t f[1024];
	static struct tk_record scratch;
	char err[200];
	size_t n = hex(h, f, sizeof(f));
	memset(g, 0, sizeof(*g));
	return tk_decode(s, f, n, TK_TIME_NONE, &scratch, collect, g, err, sizeof(err),
	    warn, 200);
}

static int64_t
attr_i(const struct tk_record *r, const char *k)
{
	const struct tk_attr *a = tk_rec_get(r, k);
	assert_non_null(a);
	return a->v.i;
}

static void
test_session(void **state)
{
	(void)state;
	struct tk_session s;
	struct got g;
	char warn[200];
	char id[TK_ID_MAX];
	uint8_t f[64];

	size_t n = hex(LOGIN, f, sizeof(f));
	assert_int_equal(tk_frame_id(TK_D_GT06, f, n, id, sizeof(id)), 15);
	assert_string_equal(id, "864717003283581");
	n = hex(GPS12, f, sizeof(f));
	assert_int_equal(tk_frame_id(TK_D_GT06, f, n, id, sizeof(id)), 0);

	tk_session_init(&s, TK_D_GT06);
	assert_int_equal(decode(&s, LOGIN, &g, warn), 1);
	assert_int_equal(g.r[0].type, TK_R_LOGIN);
	assert_string_equal(g.r[0].id, "864717003283581");
	/* later frames carry no id: the login's is theirs */
	assert_int_equal(decode(&s, GPS12, &g, warn), 1);
	const struct tk_record *p = &g.r[0];
	assert_int_equal(p->type, TK_R_POSITION);
	assert_string_equal(p->id, "864717003283581");
	char t[32];
	tk_fmt_time(t, p->fix_time);
	assert_string_equal(t, "2015-10-20T14:21:11.000Z");
	assert_true(p->valid);
	assert_true(fabs(p->lat - 54.94535) < 1e-5 && fabs(p->lon - 24.01762) < 1e-5);
	assert_int_equal(p->ncell, 1);
	assert_int_equal(p->cell[0].mcc, 246);
	assert_int_equal(p->cell[0].cid, 21978);
	assert_int_equal(attr_i(p, "crcValid"), 1);
	assert_int_equal(attr_i(p, "sat"), 5);

	/* a login at GMT+8:00: the binary dates that follow are local */
	assert_int_equal(decode(&s, "787811010864717003283581220332010001"
	    "643A0D0A", &g, warn), 1);
	assert_int_equal(attr_i(&g.r[0], "timezone"), 480);
	assert_int_equal(decode(&s, GPS12, &g, warn), 1);
	tk_fmt_time(t, g.r[0].fix_time);
	assert_string_equal(t, "2015-10-20T06:21:11.000Z");
	tk_session_free(&s);

	/* status: battery level, GSM, charge; a CRC mismatch is a warning */
	tk_session_init(&s, TK_D_GT06);
	assert_int_equal(decode(&s, "78780A134406040002" "01BFF8F80D0A", &g, warn), 1);
	assert_non_null(strstr(warn, "CRC mismatch"));
	assert_int_equal(attr_i(&g.r[0], "crcValid"), 0);
	assert_int_equal(attr_i(&g.r[0], "batteryLevel"), 100);
	assert_int_equal(attr_i(&g.r[0], "rssi"), 4);
	assert_int_equal(attr_i(&g.r[0], "charge"), 1);
	/* a command answer (0x15) is a reply record with its text */
	assert_int_equal(decode(&s, "78782d152500000000437574206f666620746865206675656c"
	    "20737570706c793a2053756363657373210002013b898a0d0a", &g, warn), 1);
	assert_int_equal(g.r[0].type, TK_R_REPLY);
	const struct tk_attr *a = tk_rec_get(&g.r[0], "result");
	assert_non_null(a);
	assert_int_equal(a->len, strlen("Cut off the fuel supply: Success!"));
	assert_memory_equal(g.r[0].sbuf + a->v.off, "Cut off the fuel supply: Success!",
	    a->len);
	/* hostile: cut frames and lengths that run past the content */
	assert_int_equal(decode(&s, "78780d0d0a", &g, warn), -1);
	assert_true(decode(&s, "7878ff16010d0a", &g, warn) >= 0);
	assert_true(decode(&s, "7979ffff70ffffffff0d0a", &g, warn) >= 0);
	tk_session_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_session),
	};
	return cmocka_run_group_tests_name("gt06", tests, NULL, NULL);
}
