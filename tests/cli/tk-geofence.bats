#!/usr/bin/env bats
# tk-geofence: filter, annotate and events modes on hand-made fences and
# tracks (tests/data/geofence: depot lat 10..11 lon 20..21, yard a 1000 m
# circle at lat 10.5 lon 25, route a 2000 m corridor along lat 12).
load test_helper

setup_local() {
	G=$TK_DATA/geofence
	SITES=$G/sites.wkt
	ZONES=$G/zones.geojson
}

# jq-free field extraction for our own fixed-shape output
types() { grep -o '"type":"geofence[A-Za-z]*","uniqueId":"[^"]*","geofenceId":"[^"]*"' | sed 's/"type":"geofence//; s/","uniqueId":"/ /; s/","geofenceId":"/ /; s/"$//'; }

@test "tk-geofence: --inside passes inside positions and other records unchanged" {
	run_tk tk-geofence -q -i --pass-invalid -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	# the positions inside depot/yard/route, byte for byte, and the 3 others
	expected=$(grep -E '"longitude":(20\.5|20\.6|20\.7|25\.001|20),|"latitude":12,|"type":"(login|heartbeat)"|not json' "$G/track-cross.jsonl")
	assert_equal "$output" "$expected"
	[[ "$stderr" == *"track-cross.jsonl:11: not a JSON object: passed through"* ]]
}

@test "tk-geofence: --outside, --drop-other and -n" {
	run_tk tk-geofence -q -o -D -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	assert_equal "$(echo "$output" | wc -l)" 4
	refute_output --partial '"type":"login"'
	refute_output --partial 'not json'
	assert_output --partial '"longitude":19.5,'
	# only the yard counts: the depot positions are now outside
	run_tk tk-geofence -q -i -D -n yard -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	assert_output --partial '"longitude":25.001,'
	assert_equal "$(echo "$output" | wc -l)" 1
	run_tk tk-geofence -q -i -n nosuch -f "$SITES" "$G/track-cross.jsonl"
	assert_failure 1
	[[ "$stderr" == *"no fence named 'nosuch'"* ]]
}

@test "tk-geofence: --annotate adds geofenceIds at the top level" {
	printf '%s\n' \
	  '{"type":"position","uniqueId":"1","latitude":5,"longitude":1}' \
	  '{"type":"position","uniqueId":"1","latitude":0,"longitude":-175,"valid":true}' \
	  '{"type":"position","uniqueId":"1","latitude":10.5,"longitude":20.5}' \
	  '{"type":"position","uniqueId":"1","latitude":5,"longitude":5,"geofenceIds":["old"]}' \
	  '{"type":"position","uniqueId":"\u0031","latitude":5,"longitude":4}' \
	  '{"type":"event","uniqueId":"1","attributes":{"alarm":"sos"}}' > "$TK_TMP/in"
	run_tk tk-geofence -q -a -f "$SITES" -f "$ZONES" "$TK_TMP/in"
	assert_success
	assert_line -n 0 '{"type":"position","uniqueId":"1","latitude":5,"longitude":1,"geofenceIds":["z1"]}'
	assert_line -n 1 '{"type":"position","uniqueId":"1","latitude":0,"longitude":-175,"valid":true,"geofenceIds":["Dateline"]}'
	assert_line -n 2 '{"type":"position","uniqueId":"1","latitude":10.5,"longitude":20.5,"geofenceIds":["depot"]}'
	# an existing geofenceIds is replaced (json-c path), not duplicated
	assert_line -n 3 '{"type":"position","uniqueId":"1","latitude":5,"longitude":5,"geofenceIds":[]}'
	# the point on the hole's edge is inside: fences are closed
	assert_line -n 4 --partial '"geofenceIds":["z1"]}'
	assert_line -n 5 '{"type":"event","uniqueId":"1","attributes":{"alarm":"sos"}}'
}

@test "tk-geofence: events on a track crossing fences several times" {
	run_tk tk-geofence -e -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	assert_equal "$(echo "$output" | types | tr '\n' ';')" \
	  "Enter 111 depot;Exit 111 depot;Enter 111 depot;Exit 111 depot;Enter 111 yard;Enter 111 depot;Exit 111 yard;Exit 111 depot;Enter 111 route;Exit 111 route;"
	# the invalid fix at 08:03 (back in the depot) triggered nothing
	refute_output --partial '"eventTime":"2026-11-24T08:03:00.000Z"'
	# the exact shape, with the triggering position embedded unchanged
	pos=$(sed -n 3p "$G/track-cross.jsonl")
	assert_line -n 1 "{\"type\":\"geofenceEnter\",\"uniqueId\":\"111\",\"geofenceId\":\"depot\",\"geofence\":\"depot\",\"eventTime\":\"2026-11-24T08:01:00.000Z\",\"position\":$pos}"
	[[ "$stderr" == *"5 enter, 5 exit, 1 devices"* ]]
	# with -I the invalid fix counts
	run_tk tk-geofence -q -e -I -D -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	assert_output --partial '"eventTime":"2026-11-24T08:03:00.000Z"'
	# -p also writes the positions, each before its events
	run_tk tk-geofence -q -e -p -D -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	assert_equal "$(echo "$output" | wc -l)" 20
	assert_line -n 1 --partial '"fixTime":"2026-11-24T08:01:00.000Z"'
	assert_line -n 2 --partial '"type":"geofenceEnter"'
}

@test "tk-geofence: GeoJSON properties ride along in events" {
	printf '%s\n' '{"type":"position","uniqueId":"9","fixTime":"2026-01-01T00:00:00Z","latitude":1,"longitude":1}' > "$TK_TMP/in"
	run_tk tk-geofence -q -e -f "$ZONES" "$TK_TMP/in"
	assert_success
	assert_output --partial '"geofenceId":"z1","geofence":"Ring","eventTime":"2026-01-01T00:00:00Z","geofenceAttributes":{"name":"Ring","colour":"red"},"position":{'
}

@test "tk-geofence: a device parked on a boundary: a storm, then none with --buffer or --dwell" {
	run_tk tk-geofence -e -f "$SITES" "$G/parked.jsonl"
	assert_success
	assert_equal "$(echo "$output" | grep -c geofence)" 10
	run_tk tk-geofence -e -b 20 -f "$SITES" "$G/parked.jsonl"
	assert_success
	assert_output ""
	[[ "$stderr" == *"0 enter, 0 exit"* ]]
	run_tk tk-geofence -e -t 60 -f "$SITES" "$G/parked.jsonl"
	assert_success
	assert_output ""
	# staying inside long enough does enter, with the confirming position
	{ cat "$G/parked.jsonl"
	  for m in 02:00 02:30 03:00 03:01; do
	    printf '{"type":"position","uniqueId":"222","fixTime":"2026-11-24T08:%s.000Z","valid":true,"latitude":10.5,"longitude":20.9,"speed":0}\n' "$m"
	  done; } > "$TK_TMP/in"
	run_tk tk-geofence -q -e -t 60 -f "$SITES" "$TK_TMP/in"
	assert_success
	assert_equal "$(echo "$output" | types)" "Enter 222 depot"
	assert_output --partial '"eventTime":"2026-11-24T08:03:00.000Z"'
}

@test "tk-geofence: a restart with --state does not re-announce" {
	# split while the device is inside the depot
	head -n 3 "$G/track-cross.jsonl" > "$TK_TMP/part1"
	tail -n +4 "$G/track-cross.jsonl" > "$TK_TMP/part2"
	run_tk tk-geofence -q -e -D -f "$SITES" "$G/track-cross.jsonl"
	assert_success
	whole=$output
	run_tk tk-geofence -q -e -D -s "$TK_TMP/state" -f "$SITES" "$TK_TMP/part1"
	assert_success
	first=$output
	head -n 1 "$TK_TMP/state" | grep -qx 'tk-geofence-state 1'
	grep -q "$(printf '^device\t111\t')" "$TK_TMP/state"
	run_tk tk-geofence -q -e -D -s "$TK_TMP/state" -f "$SITES" "$TK_TMP/part2"
	assert_success
	assert_equal "$first
$output" "$whole"
	assert_output --partial '"type":"geofenceExit","uniqueId":"111","geofenceId":"depot","geofence":"depot","eventTime":"2026-11-24T08:02:00.000Z"'
	# without the state, the restart misses that exit
	run_tk tk-geofence -q -e -D -f "$SITES" "$TK_TMP/part2"
	refute_output --partial '"eventTime":"2026-11-24T08:02:00.000Z"'
	# and a restart inside re-announces the enter; with the state it does not
	head -n 2 "$G/track-cross.jsonl" > "$TK_TMP/p1"
	sed -n 3p "$G/track-cross.jsonl" > "$TK_TMP/p2"
	run_tk tk-geofence -q -e -D -s "$TK_TMP/s2" -f "$SITES" "$TK_TMP/p2"
	assert_output --partial geofenceEnter
	run_tk tk-geofence -q -e -D -s "$TK_TMP/s2" -f "$SITES" "$TK_TMP/p2"
	assert_output ""
	# a corrupt state file is an error naming it
	echo garbage > "$TK_TMP/bad"
	run_tk tk-geofence -q -e -s "$TK_TMP/bad" -f "$SITES" "$TK_TMP/part2"
	assert_failure 1
	[[ "$stderr" == *"bad:1: not a tk-geofence state file"* ]]
}

@test "tk-geofence: SIGTERM still saves the state" {
	mkfifo "$TK_TMP/fifo"
	"$TK_BIN/tk-geofence" -q -e -s "$TK_TMP/state" -f "$SITES" < "$TK_TMP/fifo" > "$TK_TMP/out" &
	pid=$!
	TK_PIDS="$pid"
	exec 5> "$TK_TMP/fifo"
	head -n 3 "$G/track-cross.jsonl" >&5
	wait_for grep -q geofenceEnter "$TK_TMP/out"
	kill -TERM "$pid"
	# bounded: the writer stays open, so only the signal can end the run
	# (valgrind may hold a signal back while the tool sits in read(2): ask again)
	stopped() { kill -0 "$pid" 2>/dev/null && { kill -TERM "$pid"; return 1; }; return 0; }
	wait_for stopped
	wait "$pid" || true
	exec 5>&-
	grep -q "$(printf '^fence\t111\tdepot\tinside')" "$TK_TMP/state"
}

@test "tk-geofence: --assign decides which devices are checked against which fences" {
	{ cat "$G/track-cross.jsonl"; cat "$G/parked.jsonl"; } > "$TK_TMP/in"
	run_tk tk-geofence -q -e -D -A "$G/assign.txt" -f "$SITES" "$TK_TMP/in"
	assert_success
	refute_output --partial '"geofenceId":"yard"'
	refute_output --partial '"geofenceId":"route"'
	assert_output --partial '"uniqueId":"222","geofenceId":"depot"'
	printf 'x nowhere\n' > "$TK_TMP/a"
	run_tk tk-geofence -q -e -A "$TK_TMP/a" -f "$SITES" "$TK_TMP/in"
	assert_failure 1
	[[ "$stderr" == *"a:1: no fence named 'nowhere'"* ]]
}

@test "tk-geofence: an invalid fence names file, fence and reason; --repair fixes it" {
	run_tk tk-geofence -i -f "$G/bowtie.wkt" < /dev/null
	assert_failure 1
	[[ "$stderr" == *"bowtie.wkt:1: fence 'bowtie': invalid Polygon: Self-intersection at (0.5 0.5)"* ]]
	printf '{"latitude":0.5,"longitude":0.25}\n{"latitude":0.25,"longitude":0.5}\n' > "$TK_TMP/in"
	run_tk tk-geofence -q -i -r -f "$G/bowtie.wkt" "$TK_TMP/in"
	assert_success
	[[ "$stderr" == *"Self-intersection at (0.5 0.5): repaired"* ]]
	# lon lat order: the repaired bow tie is two triangles, left and right
	assert_output '{"latitude":0.5,"longitude":0.25}'
}

@test "tk-geofence: an unclosed ring is closed, as Traccar does" {
	printf 'x\tPOLYGON ((0 0, 1 0, 1 1))\n' > "$TK_TMP/open.wkt"
	printf '{"latitude":0.25,"longitude":0.75}\n{"latitude":0.75,"longitude":0.25}\n' > "$TK_TMP/in"
	run_tk tk-geofence -q -i -f "$TK_TMP/open.wkt" "$TK_TMP/in"
	assert_success
	assert_output '{"latitude":0.25,"longitude":0.75}'
	# too few positions even closed: an error naming file and fence
	printf 'y\tPOLYGON ((0 0, 1 0))\n' > "$TK_TMP/two.wkt"
	run_tk tk-geofence -i -f "$TK_TMP/two.wkt" < /dev/null
	assert_failure 1
	[[ "$stderr" == *"two.wkt:1: fence 'y': invalid Polygon: Too few points"* ]]
}

@test "tk-geofence: WKT axis order and corridor width options" {
	printf 'sq\tPOLYGON ((20 10, 21 10, 21 11, 20 11, 20 10))\n' > "$TK_TMP/xy.wkt"
	printf '{"latitude":10.5,"longitude":20.5}\n' > "$TK_TMP/in"
	run_tk tk-geofence -q -i -f "$TK_TMP/xy.wkt" "$TK_TMP/in"
	assert_output '{"latitude":10.5,"longitude":20.5}'
	run_tk tk-geofence -q -i --wkt-order ogc -f "$TK_TMP/xy.wkt" "$TK_TMP/in"
	assert_output '{"latitude":10.5,"longitude":20.5}'
	run_tk tk-geofence -q -i --wkt-order latlon -f "$TK_TMP/xy.wkt" "$TK_TMP/in"
	assert_output ""
	printf 'road\tLINESTRING (20 10.5, 21 10.5)\n' > "$TK_TMP/road.wkt"
	run_tk tk-geofence -q -i -f "$TK_TMP/road.wkt" "$TK_TMP/in"
	assert_failure 1
	[[ "$stderr" == *"fence 'road': corridor needs a width"* ]]
	run_tk tk-geofence -q -i -w 100 -f "$TK_TMP/road.wkt" "$TK_TMP/in"
	assert_success
	assert_output '{"latitude":10.5,"longitude":20.5}'
}

@test "tk-geofence: misuse exits 2" {
	run_tk tk-geofence -f "$SITES"
	assert_failure 2
	[[ "$stderr" == *"one of -i, -o, -a, -e"* ]]
	run_tk tk-geofence -i
	assert_failure 2
	run_tk tk-geofence -i -o -f "$SITES"
	assert_failure 2
	run_tk tk-geofence -i -b 10 -f "$SITES"
	assert_failure 2
	run_tk tk-geofence -e -b -3 -f "$SITES"
	assert_failure 2
	run_tk tk-geofence -e --wkt-order yx -f "$SITES"
	assert_failure 2
	run_tk tk-geofence -i -f "$TK_TMP/missing"
	assert_failure 3
}

@test "tk-geofence: --full-parse gives the same output as the fast scan" {
	run_tk tk-geofence -q -a -f "$SITES" -f "$ZONES" "$G/track-cross.jsonl"
	fast=$output
	run_tk tk-geofence -q -a --full-parse -f "$SITES" -f "$ZONES" "$G/track-cross.jsonl"
	assert_equal "$output" "$fast"
	run_tk tk-geofence -q -e -f "$SITES" "$G/track-cross.jsonl"
	fast=$output
	run_tk tk-geofence -q -e --full-parse -f "$SITES" "$G/track-cross.jsonl"
	assert_equal "$output" "$fast"
}

@test "tk-geofence: implausible records (1e308, NaN, |lat| > 90, |lon| > 180, years 1970 and 9999) make no event" {
	local p='{"type":"position","uniqueId":"111","fixTime":"2026-11-24T08:0%d:00.000Z","valid":true,"latitude":%s,"longitude":%s}\n'
	{
		printf "$p" 1 10.5 20.5
		printf "$p" 2 1e308 20.5
		printf "$p" 3 NaN 20.5
		printf "$p" 4 91 20.5
		printf "$p" 5 10.5 -180.5
		printf '{"type":"position","uniqueId":"111","fixTime":"1970-01-01T00:00:00.000Z","valid":true,"latitude":0,"longitude":0}\n'
		printf '{"type":"position","uniqueId":"111","fixTime":"9999-12-31T00:00:00.000Z","valid":true,"latitude":0,"longitude":0}\n'
		printf "$p" 8 10.5 20.5
	} >"$TK_TMP/in"
	run_tk tk-geofence -e -f "$SITES" "$TK_TMP/in"
	assert_success
	# the device entered the depot once and never left
	assert_equal "$(echo "$output" | types | tr '\n' ';')" "Enter 111 depot;"
	[[ "$stderr" == *"in:2: implausible record (latitude out of range): no event"* ]]
	[[ "$stderr" == *"in:5: implausible record (longitude out of range): no event"* ]]
	[[ "$stderr" == *"implausible records in all (the first 5 shown)"* ]]
	[[ "$stderr" == *", 6 implausible"* ]]
	# annotating: they are records that are not positions, passed on as they are
	run_tk tk-geofence -q -a -f "$SITES" "$TK_TMP/in"
	assert_success
	[ "$(echo "$output" | grep -c '"fixTime":"9999.*geofenceIds')" -eq 0 ]
	[ "$(echo "$output" | grep -c '"fixTime":"9999')" -eq 1 ]
	[ "$(echo "$output" | grep -c 'geofenceIds')" -eq 2 ]
}
