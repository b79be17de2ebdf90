#!/usr/bin/env bats
# tk-decode: input forms, output formats, filters, diagnostics, exit codes.
load test_helper

setup_local() {
	# a frame-line file of two connections, built by tk-decode itself
	printf '(027044702512BP00HSO)(088047365460BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)' >"$TK_TMP/tk103.raw"
	printf '##,imei:359586015829802,A;imei:359586015829802,help me,0809231429,,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;' >"$TK_TMP/gps103.raw"
}

@test "the man page's hex example decodes a heartbeat" {
	line=$(grep -E '^\.Dl echo [0-9a-f]+ \| tk-decode -i hex$' "$BATS_TEST_DIRNAME/../../man/tk-decode.1")
	hex=$(echo "$line" | awk '{ print $3 }')
	run_tk tk-decode -q -i hex <<<"$hex"
	assert_success
	assert_output '{"type":"heartbeat","protocol":"tk103","uniqueId":"027044702512","attributes":{}}'
}

@test "raw input: the dialect is detected and every frame decoded" {
	run_tk tk-decode "$TK_TMP/tk103.raw"
	assert_success
	assert_line --index 0 --partial '"type":"heartbeat","protocol":"tk103"'
	assert_line --index 1 --partial '"fixTime":"2015-10-24T05:51:48.000Z","valid":true,"latitude":-25.922552,"longitude":28.922215'
	[[ "$stderr" == *"2 frames, 2 decoded, 0 rejected, 2 records"* ]]
}

@test "frame lines round trip: -f frames output decodes like the raw input" {
	run_tk tk-decode -q -f frames "$TK_TMP/tk103.raw" "$TK_TMP/gps103.raw"
	assert_success
	[ "${#lines[@]}" -eq 4 ]
	printf '%s\n' "${lines[@]}" >"$TK_TMP/frames.log"
	# each line: TIME frame tcp PEER CONN DIALECT ID FLAGS DATA
	run awk '$2 != "frame" || NF != 9 { bad++ } END { exit bad > 0 }' "$TK_TMP/frames.log"
	assert_success
	run_tk tk-decode -q "$TK_TMP/frames.log"
	assert_success
	assert_line --index 1 --partial '"latitude":-25.922552'
	assert_line --index 3 --partial '"alarm":"sos"'
}

@test "frame lines carry serverTime and per-connection sessions" {
	cat >"$TK_TMP/lines" <<'L'
2026-11-24T08:00:00.000Z open tcp 192.0.2.1:4000 7 - - - -
2026-11-24T08:00:00.100Z frame tcp 192.0.2.1:4000 7 gps103 - - ##,imei:359586015829802,A;
2026-11-24T08:00:01.250Z frame tcp 192.0.2.1:4000 7 gps103 - - imei:359586015829802,tracker,0809231429,,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;
2026-11-24T08:00:02.000Z close tcp 192.0.2.1:4000 7 gps103 359586015829802 - peer-closed
L
	run_tk tk-decode -q "$TK_TMP/lines"
	assert_success
	assert_line --index 0 --partial '"type":"login","protocol":"gps103","uniqueId":"359586015829802","serverTime":"2026-11-24T08:00:00.100Z"'
	assert_line --index 1 --partial '"serverTime":"2026-11-24T08:00:01.250Z"'
}

@test "a bad line is reported with its line number and the stream goes on" {
	{
		echo '2026-11-24T08:00:00.100Z frame tcp 192.0.2.1:4000 7 tk103 - - (027044702512BP00HSO)'
		echo 'this is not a frame line'
		echo '2026-11-24T08:00:00.300Z frame tcp 192.0.2.1:4000 7 tk103 - - (027044702512BR00garbage)'
		echo '2026-11-24T08:00:00.400Z frame tcp 192.0.2.1:4000 7 tk103 - - (027044702512BP00HSO)'
	} >"$TK_TMP/bad"
	run_tk tk-decode "$TK_TMP/bad"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == *"bad:2: not a frame line"* ]]
	[[ "$stderr" == *"bad:3: tcp 192.0.2.1:4000 conn 7: tk103:"* ]]
	run_tk tk-decode --strict "$TK_TMP/bad"
	assert_failure 1
}

@test "hex input: odd length and non-hex lines are named, others decoded" {
	printf '283032373034343730323531324250303048534f29\nabc\nzz\n283032373034343730323531324250303048534f29\n' >"$TK_TMP/hex"
	run_tk tk-decode -i hex "$TK_TMP/hex"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == *"hex:2: not a hex frame"* ]]
	[[ "$stderr" == *"hex:3: not a hex frame"* ]]
}

@test "CSV: a header and one RFC 4180 line per record" {
	run_tk tk-decode -q -f csv "$TK_TMP/gps103.raw"
	assert_success
	assert_line --index 0 'type,protocol,uniqueId,serverTime,deviceTime,fixTime,valid,latitude,longitude,altitude,speed,course,alarm,attributes'
	assert_line --index 2 --partial 'position,gps103,"359586015829802",,2008-09-23T06:29:47.294Z,2008-09-23T06:29:47.294Z,true,22.573377,113.905462,,0,,sos,'
}

@test "filters: -d keeps one dialect, -u one device" {
	run_tk tk-decode -q -d gps103 "$TK_TMP/tk103.raw" "$TK_TMP/gps103.raw"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	refute_output --partial '"protocol":"tk103"'
	run_tk tk-decode -q -u 088047365460 "$TK_TMP/tk103.raw" "$TK_TMP/gps103.raw"
	[ "${#lines[@]}" -eq 1 ]
	assert_output --partial '"uniqueId":"088047365460"'
}

@test "-r carries the frame as hex" {
	run_tk tk-decode -q -r "$TK_TMP/tk103.raw"
	assert_line --index 0 --partial '"raw":"283032373034343730323531324250303048534f29"'
}

@test "-P forces the dialect of raw input" {
	printf 'GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,imei:351525010943661,' >"$TK_TMP/x.raw"
	run_tk tk-decode -q -P xexun "$TK_TMP/x.raw"
	assert_success
	assert_output --partial '"latitude":-33.774105,"longitude":150.955138'
	run_tk tk-decode -P xexun3 "$TK_TMP/x.raw"
	assert_failure 2
}

@test "foreign protocols are labelled, not decoded" {
	printf '\xfc\x00\x01\x03\x00\x00\x00' >"$TK_TMP/x3.raw"
	run_tk tk-decode "$TK_TMP/x3.raw"
	assert_success
	assert_output ''
	[[ "$stderr" == *"xexun3 frames are recognised but not decoded"* ]]
	[[ "$stderr" == *"xexun3  1 frames, 0 decoded, 1 rejected"* ]]
}

@test "TK102-clone protocols (tk102 [...], V680 #IMEI#...##) are named, never tk103 positions" {
	printf '[\x90''0200000001\x36(ONE025857A2232.0729N11356.0030E000.02109110100000000)]' >"$TK_TMP/tk102.raw"
	run_tk tk-decode "$TK_TMP/tk102.raw"
	assert_success
	assert_output ''
	[[ "$stderr" == *"tk102 frames are recognised but not decoded"* ]]
	[[ "$stderr" == *"tk102   1 frames, 0 decoded, 1 rejected"* ]]
	printf '#356823035368767##\r\n#356823035368767#00#0#0000#AUT#1#66830FFB#03855.6628,E,4716.6821,N,001.41,259#130812#143905##' >"$TK_TMP/v680.raw"
	run_tk tk-decode -f frames "$TK_TMP/v680.raw"
	assert_success
	assert_line --index 0 --regexp ' frame tcp .* v680 - - #356823035368767##$'
	assert_line --index 1 --regexp ' v680 - - #356823035368767#00#0#0000#AUT#1#.*#143905##$'
}

@test "a missing file exits 3 naming it; a closed stdout exits 4" {
	run_tk tk-decode /nonexistent/file
	assert_failure 3
	[[ "$stderr" == *"/nonexistent/file"* ]]
	# 2048 copies by doubling (not 2000 cat processes)
	cp "$TK_TMP/tk103.raw" "$TK_TMP/big.raw"
	for _ in $(seq 11); do
		cat "$TK_TMP/big.raw" "$TK_TMP/big.raw" >"$TK_TMP/big2.raw"
		mv "$TK_TMP/big2.raw" "$TK_TMP/big.raw"
	done
	run bash -c "'$TK_BIN/tk-decode' -q '$TK_TMP/big.raw' | head -c 10 >/dev/null; exit \${PIPESTATUS[0]}"
	assert_failure 4
}

@test "a closed stdout stops decoding without blaming the frame being written" {
	for d in gt06 h02 xexun2; do
		"$TK_BIN/tk-sim" -q -o "$TK_TMP/$d.sim" -d "$d" -n 20 -N 20000 -s 1 --raw
		run bash -c "'$TK_BIN/tk-decode' '$TK_TMP/$d.sim' 2>'$TK_TMP/err' | head -c 10 >/dev/null; exit \${PIPESTATUS[0]}"
		assert_failure 4
		run cat "$TK_TMP/err"
		refute_output --partial 'malformed'
		assert_output --regexp "$d +[0-9]+ frames, [0-9]+ decoded, 0 rejected"
	done
}
