#!/usr/bin/env bats
# tk-decode on hostile input, in every input form (raw, frame lines, hex):
# truncated and corrupted captures, megabyte lines, NUL bytes and invalid
# UTF-8, random binary.  Every case: exit 0, a diagnostic naming the
# offset or line, later good frames still decoded, stdout valid UTF-8 JSON,
# peak RSS bounded (/usr/bin/time from the Debian package "time").
load test_helper

CAP="$BATS_TEST_DIRNAME/../data/captures"
# peak RSS bound for tk-decode (KiB); it needs ~3 MiB, its line buffer is 256 KiB.
# Under valgrind (make check-valgrind) the process measured is valgrind's, and
# inputs shrink (still past the 256 KiB line limit) and captures are cut at
# fewer points (each run starts valgrind) to keep the time bounded.
if [ -n "${TK_VALGRIND:-}" ]; then
	RSS_MAX=1048576 BIG=400000 RND=100000 TMO=300 CUTS="1 17 257"
else
	RSS_MAX=65536 BIG=4000000 RND=1000000 TMO=20 CUTS="1 2 5 17 33 64 100 257"
fi

T103='(027044702512BP05000027044702512080524A2232.9806N11404.9355E000.1101241323.8700000000L000450AC)'
G103='imei:864035052942928,,241214083746,100%,F,123746.000,A,1012.63368,N,06757.59559,W,0.00,340.61;'
XEX='GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,imei:351525010943661,'

# deterministic pseudo-random bytes: rnd SEED COUNT
rnd() {
	LC_ALL=C awk -v s="$1" -v n="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'
}

# dec ARGS...: tk-decode with a time limit, stdout to $TK_TMP/out, stderr to
# $TK_TMP/err, peak RSS (KiB) to $TK_TMP/rss; sets $rc
dec() {
	rc=0
	timeout "$TMO" /usr/bin/time -f %M -o "$TK_TMP/rss" "$TK_BIN/tk-decode" "$@" \
	    >"$TK_TMP/out" 2>"$TK_TMP/err" || rc=$?
}

# the usual postconditions: exit 0, stdout valid UTF-8 JSON lines, RSS bounded
sane() {
	[ "$rc" -eq 0 ] || { cat "$TK_TMP/err" >&2; echo "exit $rc" >&2; return 1; }
	iconv -f UTF-8 -t UTF-8 "$TK_TMP/out" >/dev/null
	if [ -s "$TK_TMP/out" ]; then
		jq -e -c 'type == "object" and has("type") and has("protocol")' "$TK_TMP/out" \
		    >"$TK_TMP/jq"
		! grep -qv '^true$' "$TK_TMP/jq"
	fi
	local rss; rss=$(tail -1 "$TK_TMP/rss")
	[ "$rss" -lt "$RSS_MAX" ] || { echo "peak RSS $rss KiB" >&2; return 1; }
}

records() { grep -c "\"uniqueId\":\"$1\"" "$TK_TMP/out" || true; }

hexof() { od -An -v -tx1 | tr -d ' \n'; }

@test "truncated captures (head and tail cut at many points) decode without failing" {
	for f in "$CAP"/*.raw; do
		size=$(stat -c %s "$f")
		for cut in $CUTS; do
			[ "$cut" -lt "$size" ] || continue
			head -c $((size - cut)) "$f" >"$TK_TMP/t"
			dec -i raw "$TK_TMP/t"; sane
			tail -c $((size - cut)) "$f" >"$TK_TMP/t"
			dec -i raw "$TK_TMP/t"; sane
		done
	done
}

@test "a corrupted capture: junk and rejects named by offset, the later frames still decoded" {
	cp "$CAP/tk103-glued.raw" "$TK_TMP/c"
	rnd 1 60 | dd of="$TK_TMP/c" bs=1 seek=120 conv=notrunc status=none
	printf '%s' "$T103" >>"$TK_TMP/c"
	dec -v -i raw "$TK_TMP/c"; sane
	grep -Eq 'c: offset [0-9]+: ' "$TK_TMP/err"
	[ "$(records 027044702512)" -ge 1 ]		# the frame after the damage
	[ "$(grep -c '"protocol":"tk103"' "$TK_TMP/out")" -ge 5 ]
}

@test "a megabyte raw 'line' without a frame: dropped with its offset, the next frame decoded" {
	{ printf '%s' "$T103"; head -c "$BIG" /dev/zero | tr '\0' 'A'; printf '%s' "$T103"; } >"$TK_TMP/big"
	dec -i raw "$TK_TMP/big"; sane
	grep -Eq 'big: offset [0-9]+: ' "$TK_TMP/err"
	[ "$(records 027044702512)" -eq 4 ]	# 2 frames x (login + position)
	# the same with an open parenthesis: a 4 MB frame that never closes
	{ printf '%s(' "$T103"; head -c "$BIG" /dev/zero | tr '\0' '7'; printf '%s' "$T103"; } >"$TK_TMP/big"
	dec -i raw "$TK_TMP/big"; sane
	grep -Eq 'big: offset [0-9]+: ' "$TK_TMP/err"
	[ "$(records 027044702512)" -ge 2 ]
	# gps103 (32 KiB frames) with a 4 MB field
	{ printf '%s\n' "$G103"; printf 'imei:864035052942928,'; head -c "$BIG" /dev/zero | tr '\0' '9'; printf '\n%s\n' "$G103"; } >"$TK_TMP/big"
	dec -i raw "$TK_TMP/big"; sane
	grep -Eq 'big: offset [0-9]+: ' "$TK_TMP/err"
	[ "$(records 864035052942928)" -eq 2 ]
}

@test "a megabyte frame line and hex line: one diagnostic with the line number, the next line decoded" {
	printf '%s' "$T103" | "$TK_BIN/tk-decode" -q -f frames -i raw >"$TK_TMP/good"
	{ cat "$TK_TMP/good"; head -c "$BIG" /dev/zero | tr '\0' 'A'; echo; cat "$TK_TMP/good"; } >"$TK_TMP/l"
	dec -i lines "$TK_TMP/l"; sane
	grep -q 'l:2: line longer than' "$TK_TMP/err"
	[ "$(grep -c 'line longer' "$TK_TMP/err")" -eq 1 ]
	grep -q ', 1 bad lines' "$TK_TMP/err"
	[ "$(records 027044702512)" -eq 4 ]
	h=$(printf '%s' "$T103" | hexof)
	{ echo "$h"; head -c "$BIG" /dev/zero | tr '\0' 'a'; echo; echo "$h"; } >"$TK_TMP/h"
	dec -i hex "$TK_TMP/h"; sane
	grep -q 'h:2: line longer than' "$TK_TMP/err"
	grep -q ', 1 bad lines' "$TK_TMP/err"
	[ "$(records 027044702512)" -eq 4 ]
	# auto-detected forms behave the same
	dec "$TK_TMP/h"; sane
	[ "$(records 027044702512)" -eq 4 ]
}

@test "NUL bytes and invalid UTF-8 in raw frames: valid UTF-8 JSON, the stream goes on" {
	{
		printf '(087073005534BP00HSO\xff\xfe\x00\x01\x1b[2J)'
		printf '(087073005534BR00151024A2555.3531S02855.3329E004.7055148276.17\x00\xc3\x28000000L00009AA3)'
		printf '%s' "$T103"
	} >"$TK_TMP/r"
	dec -v -i raw "$TK_TMP/r"; sane
	[ "$(records 027044702512)" -eq 2 ]
	! grep -q $'\x1b' "$TK_TMP/err"		# no terminal escapes from the device
	{
		printf '%s\n' "$G103" | sed 's/,F,/,\x00\xff,/'
		printf 'imei:864035052942928,help me\xc0\xaf\xed\xa0\x80,241214083746,,F,123746.000,A,1012.63368,N,06757.59559,W,0.00,340.61;\n'
		printf '%s\n' "$G103"
	} >"$TK_TMP/g"
	dec -v -i raw -P gps103 "$TK_TMP/g"; sane
	[ "$(records 864035052942928)" -ge 1 ]
	tail -1 "$TK_TMP/out" | grep -q '"latitude":10.21056'
	{
		printf '%s\r\n' "$(printf '%s' "$XEX" | sed 's/,F,/,\xff\x00,/')"
		printf '%s\r\n' "$XEX"
	} >"$TK_TMP/x"
	dec -v -i raw -P xexun "$TK_TMP/x"; sane
	[ "$(records 351525010943661)" -ge 1 ]
}

@test "NUL bytes and invalid UTF-8 in frame lines: each bad line named, good lines decoded" {
	printf '%s' "$T103" | "$TK_BIN/tk-decode" -q -f frames -i raw >"$TK_TMP/good"
	{
		cat "$TK_TMP/good"
		printf 'garbage\000line\xff\xfe\n'
		sed 's/ frame / fr\x00me /' "$TK_TMP/good"
		sed 's/ tcp / \xff\xfe /' "$TK_TMP/good"
		printf '\000\000\000\n\xc3\n'
		cat "$TK_TMP/good"
	} >"$TK_TMP/l"
	dec -i lines "$TK_TMP/l"; sane
	grep -q 'l:2: not a frame line' "$TK_TMP/err"
	grep -q 'l:3: not a frame line' "$TK_TMP/err"
	grep -q 'l:4: not a frame line' "$TK_TMP/err"
	grep -q 'l:5: not a frame line' "$TK_TMP/err"
	grep -q 'l:6: not a frame line' "$TK_TMP/err"
	[ "$(records 027044702512)" -eq 4 ]
	! grep -q "$(printf '\xff')" "$TK_TMP/err"
}

@test "NUL bytes and invalid UTF-8 in hex input: each bad line named, good lines decoded" {
	h=$(printf '%s' "$T103" | hexof)
	{
		echo "$h"
		printf '3031\0003233\n'
		printf '\xff\xfe%s\n' "$h"
		printf '%s\n' "$(printf '(087073005534BP00HSO\xff\xfe\x00\x01)' | hexof)"
		echo "$h"
	} >"$TK_TMP/h"
	dec -i hex "$TK_TMP/h"; sane
	grep -q 'h:2: not a hex frame' "$TK_TMP/err"
	grep -q 'h:3: not a hex frame' "$TK_TMP/err"
	[ "$(records 027044702512)" -eq 4 ]
	[ "$(records 087073005534)" -eq 1 ]
}

@test "a megabyte of random binary in every form and dialect: no failure, bounded memory" {
	rnd 7 "$RND" >"$TK_TMP/rnd"
	for form in raw lines hex auto; do
		dec -i "$form" "$TK_TMP/rnd"; sane
	done
	for d in xexun tk103 gps103 xexun2; do
		dec -i raw -P "$d" "$TK_TMP/rnd"; sane
		dec -i hex -P "$d" "$TK_TMP/rnd"; sane
	done
	# random lines of hex digits: most decode to junk datagrams
	od -An -v -tx1 "$TK_TMP/rnd" | tr -d ' ' | head -2000 >"$TK_TMP/hexrnd"
	dec -i hex "$TK_TMP/hexrnd"; sane
	grep -Eq 'hexrnd:[0-9]+: ' "$TK_TMP/err"
}

@test "random binary between good frames: the frames after it are decoded (text dialects)" {
	rnd 11 $((RND / 5)) >"$TK_TMP/rnd"
	{ printf '%s' "$T103"; cat "$TK_TMP/rnd"; printf '%s' "$T103"; } >"$TK_TMP/t"
	dec -i raw "$TK_TMP/t"; sane
	[ "$(records 027044702512)" -eq 4 ]
	grep -Eq 't: offset [0-9]+: ' "$TK_TMP/err"
	{ printf '%s\n' "$G103"; cat "$TK_TMP/rnd"; printf '\n%s\n' "$G103"; } >"$TK_TMP/g"
	dec -i raw "$TK_TMP/g"; sane
	[ "$(records 864035052942928)" -eq 2 ]
	{ printf '%s\r\n' "$XEX"; tr -d '\r\n' <"$TK_TMP/rnd"; printf '\r\n%s\r\n' "$XEX"; } >"$TK_TMP/x"
	dec -i raw "$TK_TMP/x"; sane
	[ "$(records 351525010943661)" -eq 2 ]
}
