#!/usr/bin/env bats
# make demo (scripts/demo): the README's first command, the main job on the
# built-in sample data.  Run here for a few seconds instead of fifteen.
load test_helper

@test "demo: six dialects through tk-listen | tk-decode | tk-geofence, a command, a picture" {
	local root=$BATS_TEST_DIRNAME/../..
	run env TK_BIN="$TK_BIN" TK_DEMO_DIR="$TK_TMP/demo" TK_DEMO_SECONDS=6 \
	    timeout 180 bash "$root/scripts/demo"
	echo "$output" | tail -30
	[ "$status" -eq 0 ]
	local d=$TK_TMP/demo
	# under valgrind the tools are too slow for every simulated device's
	# reply deadline; the rest holds there too
	[ -n "${TK_VALGRIND:-}" ] ||
	    [[ "$output" == *"every simulated device got every handshake reply it expected"* ]]
	local p
	for p in tk103 gps103 xexun xexun2 gt06 h02; do
		grep -q "\"type\":\"position\",\"protocol\":\"$p\"" "$d/records.jsonl" || {
			echo "no $p position"; return 1; }
	done
	# the located device answered through the control socket
	[[ "$output" == *'tk-cmd -S ctl -w 5 '*' locate'* ]]
	grep -q '"type":"geofenceEnter"' "$d/geofence.jsonl"
	# tk-decode rejected nothing, and decoded frames of all six dialects
	grep -Eq '^tk-decode: [1-9][0-9]* frames, [0-9]+ decoded, 0 rejected' "$d/decode.log"
	[ "$(grep -Ec '^tk-decode: +[a-z0-9]+ +[1-9][0-9]* frames, [0-9]+ decoded, 0 rejected$' "$d/decode.log")" -eq 6 ]
	xmllint --noout "$d/demo.svg"
	[ "$(head -c 4 "$d/demo.png" | od -An -c | tr -d ' ')" = '211PNG' ]
}
