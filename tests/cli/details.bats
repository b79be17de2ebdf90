#!/usr/bin/env bats
# The smaller things a new user tripped over (issue 16, item 10): each
# message, range and default says what the man page says.
load test_helper

MAN="$BATS_TEST_DIRNAME/../../man"

@test "tk-listen -G: a group that does not exist is named unknown (exit 2)" {
	run_tk tk-listen -S "$TK_TMP/ctl" -G nosuchgroup -p 0
	assert_failure 2
	[[ "$stderr" == *"-G nosuchgroup: no such group"* ]]
	[[ "$stderr" != *"expected 0 to"* ]]
}

@test "tk-listen -B: the range in the error is the one tk-listen(1) documents" {
	run_tk tk-listen -B 2000G -p 0
	assert_failure 2
	[[ "$stderr" == *"-B 2000G: not a size from 4k to 1024G"* ]]
	grep -q 'the least is 4k, the most 1024G' "$MAN/tk-listen.1"
	run_tk tk-listen -B 1k -p 0
	assert_failure 2
	[[ "$stderr" == *"from 4k to 1024G"* ]]
}

@test "tk-listen --port-file in a missing directory fails before 'listening'" {
	run_tk tk-listen -b 127.0.0.1 -p 0 --port-file /nonexistent/p
	assert_failure 3
	[[ "$stderr" == *"--port-file /nonexistent/p"* ]]
	[[ "$stderr" != *listening* ]]
}

@test "tk-sim and tk-decode take the one duration syntax (30, 30s, 5m, 1h)" {
	run_tk tk-sim -o - -n 1 -d gps103 -T 1m -i 30s --heartbeat 0 -q
	assert_success
	want=$output
	run_tk tk-sim -o - -n 1 -d gps103 -T 60 -i 30 --heartbeat 0 -q
	assert_equal "$output" "$want"
	run_tk tk-sim -o - -n 1 -d gps103 -T 0.5m -i 0.25m --heartbeat 0 -q
	[ "$(grep -c ' frame ' <<<"$output")" -eq 2 ]
	run_tk tk-sim -o - -T 2y
	assert_failure 2
	[[ "$stderr" == *"-T 2y: not a duration (seconds, or with a unit: 30s, 5m, 1h, 2d)"* ]]
	run_tk tk-sim -o - -T 400d
	assert_failure 2
	[[ "$stderr" == *"-T 400d: out of range (expected 0.001s to 365d)"* ]]
	run_tk tk-decode --nats nats://127.0.0.1:1 --idle-exit 5x
	assert_failure 2
	[[ "$stderr" == *"--idle-exit 5x: not a duration"* ]]
	run_tk tk-decode --nats nats://127.0.0.1:1 --ack-wait 2h
	assert_failure 2
	[[ "$stderr" == *"--ack-wait 2h: out of range (expected 1s to 1h)"* ]]
}

# the largest distance in km of the positions (tk-decode's JSON) from LAT LON
max_km() {
	jq -r 'select(.latitude != null) | "\(.latitude) \(.longitude)"' |
	    awk -v la="$1" -v lo="$2" 'function r(x) { return x * 3.14159265358979 / 180 }
		{ a = sin(r($1 - la) / 2) ^ 2 + cos(r(la)) * cos(r($1)) * sin(r($2 - lo) / 2) ^ 2
		  d = 2 * 6371.0088 * atan2(sqrt(a), sqrt(1 - a)); if (d > m) m = d; n++ }
		END { printf "%d %.3f\n", n, m }'
}

@test "tk-sim: devices stay within 2 km of --start, as tk-sim(1) says" {
	grep -q 'every position is within 2 km of it' "$MAN/tk-sim.1"
	for st in 52.52,13.405 -60,170; do
		"$TK_BIN/tk-sim" -o - -n 40 -d gps103 -T 30m -q --start "$st" |
		    "$TK_BIN/tk-decode" -q | max_km "${st%,*}" "${st#*,}" >"$TK_TMP/d"
		read -r n km <"$TK_TMP/d"
		[ "$n" -gt 1000 ]
		awk -v k="$km" 'BEGIN { exit !(k > 0.3 && k < 2.0) }'
	done
}

@test "tk-sim -o: every close reason it writes is one tk-frame(5) lists" {
	"$TK_BIN/tk-sim" -o "$TK_TMP/f" -n 3 -d tk103 -T 60 -q
	awk '$2 == "close" { print $9 }' "$TK_TMP/f" | sort -u >"$TK_TMP/reasons"
	[ -s "$TK_TMP/reasons" ]
	while read -r r; do
		grep -q "^\.Cm $r ,\?$" "$MAN/tk-frame.5"
	done <"$TK_TMP/reasons"
}

@test "man pages render without nested quotes (two Ql on one line)" {
	local m bad=""
	for m in "$MAN"/*.[157]; do
		if mandoc -Tutf8 "$m" | col -b | grep -q "‘[^’]*‘"; then
			bad="$bad $m"
		fi
	done
	[ -z "$bad" ] || { echo "nested quotes in:$bad" >&2; return 1; }
	mandoc -Tutf8 "$MAN/tk-decode.1" | col -b | grep -q "‘latitude’, ‘longitude’"
}

# A steady run reported as 20 kn while the fixes move at 36 kn: the average
# (distance over time) is above every reported speed.
one_trip() {
	printf '%s\n' \
	    '{"type":"position","uniqueId":"1","fixTime":"2026-11-24T08:00:00.000Z","valid":true,"latitude":52.0,"longitude":4.0,"speed":20}' \
	    '{"type":"position","uniqueId":"1","fixTime":"2026-11-24T08:01:00.000Z","valid":true,"latitude":52.01,"longitude":4.0,"speed":20}' \
	    '{"type":"position","uniqueId":"1","fixTime":"2026-11-24T08:02:00.000Z","valid":true,"latitude":52.02,"longitude":4.0,"speed":20}' \
	    >"$TK_TMP/one.jsonl"
}

@test "tk-track: a trip's averageSpeed is never above its maxSpeed" {
	one_trip
	run_tk tk-track -q "$TK_TMP/one.jsonl"
	assert_success
	printf '%s\n' "$output" | jq -e -s '[.[] | select(.type == "trip")] |
	    length == 1 and all(.averageSpeed > 30 and .averageSpeed <= .maxSpeed)'
	run_tk tk-track -q "$BATS_TEST_DIRNAME/../data/track/day.jsonl"
	assert_success
	printf '%s\n' "$output" | jq -e -s '[.[] | select(.type == "trip")] |
	    length > 0 and all(.averageSpeed <= .maxSpeed)'
}

@test "tk-track: the SVG legend and the GPX description count one trip as 1 trip" {
	one_trip
	run_tk tk-track -q -f svg "$TK_TMP/one.jsonl"
	assert_success
	[[ "$output" == *"3 fixes, 1 trip, 0 stops"* ]]
	[[ "$output" == *"0 events, 0 fences, 0 jumps dropped"* ]]
	[[ "$output" != *"1 trips"* ]]
	run_tk tk-track -q -f gpx "$TK_TMP/one.jsonl"
	assert_success
	[[ "$output" == *"<desc>3 fixes, 1 trip, 0 stops</desc>"* ]]
}

# FA AF, type 0x0007, index 1, the IMEI packed, length, checksum, payload, FA AF
x2_answer() {
	python3 -c '
import sys
pl = bytes.fromhex(sys.argv[1])
ck = (~sum(pl)) & 0xFFFF
sys.stdout.buffer.write(b"\xfa\xaf\x00\x07\x00\x01" + bytes.fromhex("8621880512345670") +
    len(pl).to_bytes(2, "big") + ck.to_bytes(2, "big") + pl + b"\xfa\xaf")' "$1"
}

@test "tk-decode: an xexun2 command answer (type 0x0007 from the device) has its result" {
	x2_answer "$(printf 'tracking_send=30,30 OK\r\n' | od -An -tx1 | tr -d ' \n')" >"$TK_TMP/a.bin"
	run_tk tk-decode "$TK_TMP/a.bin"
	assert_success
	printf '%s\n' "$output" | jq -e 'select(.type == "reply") | .uniqueId == "862188051234567"
	    and .attributes.result == "tracking_send=30,30 OK" and .attributes.checksumValid'
	x2_answer 00ff10 >"$TK_TMP/b.bin"
	run_tk tk-decode "$TK_TMP/b.bin"
	assert_success
	printf '%s\n' "$output" | jq -e 'select(.type == "reply") | .attributes.result == "00FF10"'
}

