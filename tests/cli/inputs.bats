#!/usr/bin/env bats
# Inputs (tk103-tools(7), COMMAND LINE CONVENTIONS): a directory or an
# unreadable input is exit 3 in every tool, before any output; a frame-line
# log is recognised past leading blank and comment lines; input where nothing
# decodes says what to try and fails --strict; junk lines are kept out of the
# JSON stream, their warnings capped.
load test_helper

setup_local() {
	SITES=$TK_DATA/geofence/sites.wkt
	# 100 KB of pseudo-random bytes, the same every run
	LC_ALL=C awk 'BEGIN { srand(7); for (i = 0; i < 100000; i++)
		printf "%c", int(rand() * 256) }' >"$TK_TMP/random"
}

@test "a directory as input is exit 3 naming it, in every tool" {
	mkdir "$TK_TMP/dir"
	D=$TK_TMP/dir
	for cmd in "tk-decode $D" "tk-decode -r $D" "tk-geofence -i -f $SITES $D" \
	    "tk-geofence -i -f $D" "tk-geofence -i -A $D -f $SITES" "tk-track $D" \
	    "tk-track -f svg -g $D $TK_DATA/track/day.jsonl" \
	    "tk-forward http://127.0.0.1:9/ $D" "tk-sim -r $D -o $TK_TMP/x -N 1"; do
		run --separate-stderr $TK_BIN/$cmd </dev/null
		echo "$cmd: $status $stderr"
		[ "$status" -eq 3 ]
		[[ "$stderr" == *"$D: Is a directory"* ]]
		[ -z "$output" ]
	done
	# standard input a directory
	run --separate-stderr "$TK_BIN/tk-decode" <"$D"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"(stdin): Is a directory"* ]]
}

@test "an unreadable input is exit 3 naming it" {
	echo '{}' >"$TK_TMP/locked"
	chmod 000 "$TK_TMP/locked"
	if cat "$TK_TMP/locked" 2>/dev/null; then
		# root reads anything: a dangling path stands in for it
		rm -f "$TK_TMP/locked"
	fi
	for t in "tk-decode" "tk-geofence -i -f $SITES" "tk-track" \
	    "tk-forward http://127.0.0.1:9/"; do
		run --separate-stderr $TK_BIN/$t "$TK_TMP/locked"
		echo "$t: $status $stderr"
		[ "$status" -eq 3 ]
		[[ "$stderr" == *"$TK_TMP/locked: "* ]]
	done
}

@test "tk-decode: a frame-line log is recognised past leading blank and comment lines" {
	"$TK_BIN/tk-sim" -q -o "$TK_TMP/sim.log" -d mix -n 4 -i 1 -N 20
	{ printf '\n  \r\n# exported from tk-listen\n\n'; cat "$TK_TMP/sim.log"; } >"$TK_TMP/c.log"
	run_tk tk-decode -q "$TK_TMP/sim.log"
	want=$output
	[ -n "$want" ]
	run_tk tk-decode -s "$TK_TMP/c.log"
	assert_success
	assert_equal "$output" "$want"
	[[ "$stderr" == *"20 frames, 20 decoded, 0 rejected"* ]]
	[[ "$stderr" != *"junk"* ]]
	# hex frames after a comment, too
	printf '# one heartbeat\n283032373034343730323531324250303048534f29\n' >"$TK_TMP/h"
	run_tk tk-decode -q "$TK_TMP/h"
	assert_success
	assert_output --partial '"type":"heartbeat","protocol":"tk103","uniqueId":"027044702512"'
}

@test "tk-decode: when nothing decodes the summary says what to try, and -s fails" {
	run_tk tk-decode "$TK_TMP/random"
	assert_success
	[[ "$stderr" == *"nothing decoded"*"-i lines"*"-P DIALECT"* ]]
	run_tk tk-decode -s "$TK_TMP/random"
	assert_failure 1
	[ -z "$output" ]
	# empty input is not a failure
	run_tk tk-decode -s /dev/null
	assert_success
	[[ "$stderr" != *"nothing decoded"* ]]
}

@test "tk-geofence: lines that are not JSON are dropped and counted, warnings capped" {
	run_tk tk-geofence -i -f "$SITES" "$TK_TMP/random"
	assert_success
	[ -z "$output" ]		# nothing of the junk in the JSON stream
	n=$(grep -c 'not a JSON object: dropped' <<<"$stderr")
	[ "$n" -eq 5 ]
	[[ "$stderr" == *"(further warnings of this kind are counted, not shown)"* ]]
	[[ "$stderr" =~ ([0-9]+)\ lines\ that\ are\ not\ JSON\ objects\ in\ all\ \(the\ first\ 5\ shown\) ]]
	nlines=${BASH_REMATCH[1]}
	[ "$nlines" -gt 300 ]
	[[ "$stderr" == *"0 records written, $nlines not JSON, $nlines dropped"* ]]
	# --pass-invalid passes them on as before
	{ cat "$TK_DATA/geofence/parked.jsonl"; echo 'not json'; } >"$TK_TMP/in"
	run_tk tk-geofence -q -a --pass-invalid -f "$SITES" "$TK_TMP/in"
	assert_success
	assert_equal "$(tail -n 1 <<<"$output")" 'not json'
	run_tk tk-geofence -q -a -f "$SITES" "$TK_TMP/in"
	refute_output --partial 'not json'
}

@test "tk-geofence: the summary counts what was written" {
	in=$TK_DATA/geofence/track-cross.jsonl
	run_tk tk-geofence -a -f "$SITES" "$in"
	assert_success
	n=$(grep -c '' <<<"$output")
	[[ "$stderr" == *", $n records written"* ]]
	[ "$n" -gt 2 ]
}

@test "tk-track: warnings about bad lines are capped, the total counted" {
	run_tk tk-track -f csv "$TK_TMP/random"
	assert_success
	[ "$(grep -c ': skipped$' <<<"$stderr")" -eq 5 ]
	[[ "$stderr" =~ ([0-9]+)\ lines\ that\ are\ not\ records\ in\ all\ \(the\ first\ 5\ shown\) ]]
	nlines=${BASH_REMATCH[1]}
	[ "$nlines" -gt 300 ]
	[[ "$stderr" == *"$nlines bad lines"* ]]
}
