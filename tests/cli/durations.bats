#!/usr/bin/env bats
# One duration syntax (tk103-tools(7)): 30, 30s, 5m, 1h, 2d in every tool
# that takes a time span, through one parser.
load test_helper

SITES="$BATS_TEST_DIRNAME/../data/geofence/sites.wkt"
PARKED="$BATS_TEST_DIRNAME/../data/geofence/parked.jsonl"
DAY="$BATS_TEST_DIRNAME/../data/track/day.jsonl"

@test "tk-geofence -t: 1m is the same dwell as 60" {
	{ cat "$PARKED"
	  for m in 02:00 02:30 03:00 03:01; do
	    printf '{"type":"position","uniqueId":"222","fixTime":"2026-11-24T08:%s.000Z","valid":true,"latitude":10.5,"longitude":20.9,"speed":0}\n' "$m"
	  done; } >"$TK_TMP/in"
	run_tk tk-geofence -q -e -t 60 -f "$SITES" "$TK_TMP/in"
	assert_success
	want=$output
	[ -n "$want" ]
	run_tk tk-geofence -q -e -t 1m -f "$SITES" "$TK_TMP/in"
	assert_success
	assert_equal "$output" "$want"
	run_tk tk-geofence -q -e -t 60s -f "$SITES" "$TK_TMP/in"
	assert_equal "$output" "$want"
	# 1h is accepted too (and is longer than the stay: no event)
	run_tk tk-geofence -q -e -t 1h -f "$SITES" "$TK_TMP/in"
	assert_success
	assert_output ""
}

@test "tk-track --gap/--min-stop: units give the same trips as seconds" {
	run_tk tk-track -q --gap 3600 --min-stop 300 "$DAY"
	assert_success
	want=$output
	run_tk tk-track -q --gap 1h --min-stop 5m "$DAY"
	assert_success
	assert_equal "$output" "$want"
}

@test "tk-listen -t and tk-cmd -w/-q take units" {
	run_tk tk-listen -t 5x
	assert_failure 2
	[[ "$stderr" == *"-t 5x: not a duration"* ]]
	# a good one gets past option parsing to the bind (port 1 as non-root
	# or an address that is not ours fails there, not as usage)
	run_tk tk-listen -t 10m -b 192.0.2.1 -p 0
	assert_failure 3
	run_tk tk-cmd -S /nonexistent/sock -w 5m 123456789012345 locate
	[ "$status" -ne 2 ]
	run_tk tk-cmd -S /nonexistent/sock -q1d 123456789012345 locate
	[ "$status" -ne 2 ]
	run_tk tk-cmd -S /nonexistent/sock -w 2d 123456789012345 locate
	assert_failure 2
	[[ "$stderr" == *"-w 2d: out of range (expected 0s to 1d)"* ]]
}

@test "every time option refuses a bad duration with exit 2 naming it" {
	run_tk tk-geofence -e -t 1.5h -f "$SITES" /dev/null
	assert_failure 2
	[[ "$stderr" == *"--dwell 1.5h: not a duration"* ]]
	run_tk tk-track --gap 5M /dev/null
	assert_failure 2
	[[ "$stderr" == *"--gap 5M: not a duration"* ]]
	run_tk tk-listen -t 32d
	assert_failure 2
	[[ "$stderr" == *"-t 32d: out of range (expected 0s to 31d)"* ]]
	run_tk tk-cmd -S x -q0 123456789012345 locate
	assert_failure 2
	[[ "$stderr" == *"-q 0: out of range (expected 1s to 30d)"* ]]
}
