#!/usr/bin/env bats
# tk-sim: corpus mode (-o), reproducibility, routes and option errors.
load test_helper

# frame lines per dialect in a frame-line file: "dialect count" sorted
dialect_counts() {
	awk '$2 == "frame" { c[$6]++ } END { for (d in c) print d, c[d] }' "$1" | sort
}

@test "tk-sim -o: one open, frames and one close per device, in time order" {
	run_tk tk-sim -o "$TK_TMP/c" -n 4 -d mix -T 100 -i 10 --heartbeat 20 -s 3
	assert_success
	[[ "$stderr" == *"4 mix devices, 48 frames"* ]]
	[ "$(grep -c ' open ' "$TK_TMP/c")" -eq 4 ]
	[ "$(grep -c ' close ' "$TK_TMP/c")" -eq 4 ]
	[ "$(grep -c " frame " "$TK_TMP/c")" -eq 48 ]
	# 100 s at 10 s: 10 reports each (the first within the first 10 s);
	# tk103 and gps103 add a heartbeat every 20 s: 4
	run dialect_counts "$TK_TMP/c"
	assert_output "gps103 14
tk103 14
xexun 10
xexun2 10"
	# times never go backwards
	cut -d' ' -f1 "$TK_TMP/c" | sort -c
	# one connection number and one fake 10.x peer per device
	[ "$(awk '{ print $4, $5 }' "$TK_TMP/c" | sort -u | wc -l)" -eq 4 ]
	! awk '$4 !~ /^10\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$/' "$TK_TMP/c" | grep -q .
}

@test "tk-sim -o: every frame line parses as a frame of its dialect (tk-decode -f frames)" {
	run_tk tk-sim -o "$TK_TMP/c" -n 60 -d mix -T 300 -i 5 -a 0.2 --heartbeat 0 -q
	assert_success
	frames=$(grep -c ' frame ' "$TK_TMP/c")
	[ "$frames" -eq 3600 ]
	for d in xexun tk103 gps103 xexun2 gt06 h02; do
		want=$(awk -v d="$d" '$2 == "frame" && $6 == d' "$TK_TMP/c" | wc -l)
		[ "$want" -eq 600 ]
		run_tk tk-decode -q -f frames -d "$d" "$TK_TMP/c"
		assert_success
		[ "$(printf '%s\n' "$output" | grep -c " $d ")" -eq "$want" ]
	done
}

@test "tk-sim -o: the same seed gives the same file, another seed another" {
	"$TK_BIN/tk-sim" -q -o "$TK_TMP/a" -n 10 -d mix -N 500 -i 1 -a 0.1 -s 7
	"$TK_BIN/tk-sim" -q -o "$TK_TMP/b" -n 10 -d mix -N 500 -i 1 -a 0.1 -s 7
	"$TK_BIN/tk-sim" -q -o "$TK_TMP/c" -n 10 -d mix -N 500 -i 1 -a 0.1 -s 8
	cmp "$TK_TMP/a" "$TK_TMP/b"
	! cmp -s "$TK_TMP/a" "$TK_TMP/c"
	[ "$(grep -c ' frame ' "$TK_TMP/a")" -eq 500 ]
}

@test "tk-sim -o -: frame lines to stdout; --stats-json counts them" {
	run_tk tk-sim -o - -n 3 -d gps103 -N 30 -i 2 --heartbeat 0 --stats-json "$TK_TMP/s.json"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c ' frame ')" -eq 30 ]
	grep -q '"frames":30,' "$TK_TMP/s.json"
	grep -q '"logins":3,' "$TK_TMP/s.json"
	grep -q '"positions":27,' "$TK_TMP/s.json"
	grep -q '"transport":"file"' "$TK_TMP/s.json"
}

@test "tk-sim -o --raw: the bytes a gps103 device sends" {
	run_tk tk-sim -o "$TK_TMP/r" --raw -n 1 -d gps103 -N 3 -i 1 -s 1
	assert_success
	head -c 8 "$TK_TMP/r" | grep -qx '##,imei:'
	[ "$(tr ';' '\n' < "$TK_TMP/r" | grep -c '^imei:[0-9]\{15\},tracker,')" -eq 2 ]
	# a raw tk103 stream: three frames back to back
	"$TK_BIN/tk-sim" -q -o "$TK_TMP/t" --raw -n 1 -d tk103 -N 3 -i 1
	[ "$(tr ')' '\n' < "$TK_TMP/t" | grep -c '^([0-9]\{12\}B[PR]0[05]')" -eq 3 ]
}

@test "tk-sim -u -o: frame lines say udp" {
	run_tk tk-sim -u -o - -n 2 -d tk103 -N 4 -i 1
	assert_success
	! printf '%s\n' "$output" | awk '$3 != "udp"' | grep -q .
}

@test "tk-sim -r: positions stay on the GeoJSON route" {
	cat > "$TK_TMP/route.json" <<-'EOF'
	{"type":"Feature","properties":{},"geometry":{"type":"LineString",
	 "coordinates":[[13.0,52.0],[13.0,52.01]]}}
	EOF
	run_tk tk-sim -o - -n 5 -d gps103 -T 600 -i 6 --heartbeat 0 -r "$TK_TMP/route.json" -q
	assert_success
	# gps103 fields: ...,A,<lat>,N,<lon>,E,...  latitude 5200.0000 to 5200.6000, lon 01300.0000
	printf '%s\n' "$output" | grep ' frame .*tracker' | tr ',' ' ' > "$TK_TMP/pos"
	[ "$(wc -l < "$TK_TMP/pos")" -eq 495 ]
	! awk '{ for (i = 1; i <= NF; i++) if ($i == "A") {
		if ($(i+1) < 5199.9999 || $(i+1) > 5200.6001 || $(i+3) != "01300.0000") print; break } }' \
		"$TK_TMP/pos" | grep -q .
}

@test "tk-sim -r: a file that is not a LineString is rejected (exit 1)" {
	echo '{"type":"Point","coordinates":[1,2]}' > "$TK_TMP/p.json"
	run_tk tk-sim -o - -r "$TK_TMP/p.json"
	assert_failure 1
	[[ "$stderr" == *"p.json: no GeoJSON LineString"* ]]
	printf '{"type":"LineString","coordinates":[[1,2],[3' > "$TK_TMP/t.json"
	run_tk tk-sim -o - -r "$TK_TMP/t.json"
	assert_failure 1
	run_tk tk-sim -o - -r "$TK_TMP/missing.json"
	assert_failure 3
}

@test "tk-sim: option errors exit 2 with the usage" {
	local bad=(
		""				# no port, no -o
		"-p 0"
		"-p 70000"
		"-p 1 -d gt06 -u"		# GT06 units use TCP only
		"-p 1 -d nonsense"
		"-p 1 -a 1.5"
		"-p 1 -n 0"
		"-p 1 -i -1"
		"-p 1 -i 0.0001"
		"-p 1 -T 0"
		"-p 1 --misbehave rude"
		"-p 1 --source 127.0.0.300"
		"-p 1 --source 127.0.0.9-127.0.0.2"
		"-p 1 --start 95,10"
		"-p 1 --raw"
		"-o - --misbehave idle"
		"-o - -i 0"
		"-o - --check"
		"-p 1 extra"
	)
	for args in "${bad[@]}"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$TK_BIN/tk-sim" $args
		[ "$status" -eq 2 ] || { echo "args: $args -> $status"; return 1; }
		# a diagnostic naming the problem (and the usage for misuse)
		[[ "$stderr" == "tk-sim: "* ]]
		[ -z "$output" ]
	done
}

@test "tk-sim: nobody listening: exit 3, bounded" {
	# a port nobody listens on: bind one and close it again is racy; use port 1
	run --separate-stderr timeout 10 "$TK_BIN/tk-sim" -p 1 -n 3 -T 0.5 --grace 0 -q
	assert_failure 3
	run --separate-stderr timeout 10 "$TK_BIN/tk-sim" -p 1 -n 3 -T 0.5 --grace 0
	[[ "$stderr" == *"no device could connect"* ]]
}

@test "tk-sim -o: a full disk is an I/O error (exit 3)" {
	run_tk tk-sim -q -o /dev/full -n 10 -N 100000 -i 1
	assert_failure 3
	run_tk tk-sim -q -o "$TK_TMP/no/such/dir/f" -N 1
	assert_failure 3
}

@test "tk-sim -o | tk-decode: every frame decodes, positions and alarms come back" {
	run_tk tk-sim -o "$TK_TMP/c" -n 60 -d mix -T 300 -i 5 -a 0.2 --heartbeat 60 \
		--stats-json "$TK_TMP/s.json" -q
	assert_success
	run_tk tk-decode -s "$TK_TMP/c"
	assert_success
	# 10 devices of each of the six dialects, 60 reports each; 4 heartbeats
	# each from tk103, gps103, gt06 and h02
	[[ "$stderr" == *"3760 frames, 3760 decoded, 0 rejected"* ]]
	printf '%s\n' "$output" > "$TK_TMP/j"
	# the tk103 login (BP05) carries a position too, h02 has no login
	for d in xexun tk103 gps103 xexun2 gt06 h02; do
		n=$(grep -c "\"type\":\"position\",\"protocol\":\"$d\"" "$TK_TMP/j")
		want=600
		# their logins (##, 0x01) have no position
		[ "$d" = gps103 ] || [ "$d" = gt06 ] && want=590
		[ "$n" -eq "$want" ] || { echo "$d: $n positions"; return 1; }
	done
	# tk103, gps103 and h02 HTBT heartbeats; the gt06 0x13 status is an event
	[ "$(grep -c '"type":"heartbeat"' "$TK_TMP/j")" -eq 120 ]
	[ "$(grep -c '"type":"event","protocol":"gt06"' "$TK_TMP/j")" -eq 40 ]
	alarms=$(sed -n 's/.*"alarms":\([0-9]*\),.*/\1/p' "$TK_TMP/s.json")
	[ "$alarms" -gt 300 ]
	[ "$(grep -c '"alarm":' "$TK_TMP/j")" -eq "$alarms" ]
	# every position within the default area (52.52,13.405 +- 0.2 deg + 3 km)
	! grep -o '"latitude":[-0-9.]*,"longitude":[-0-9.]*' "$TK_TMP/j" | tr ':,' '  ' |
		awk '$2 < 52.29 || $2 > 52.75 || $4 < 13.16 || $4 > 13.65' | grep -q .
}

@test "tk-sim -u: nobody answers: replies counted missing, --check exits 1, -N is exact" {
	# UDP port 9 (discard): the datagrams go out, no reply comes back
	run --separate-stderr timeout 10 "$TK_BIN/tk-sim" -u -p 9 -n 5 -d gps103 -i 0.05 -N 37 \
		--grace 0.3 --check --stats-json "$TK_TMP/s"
	assert_failure 1
	grep -q '"frames":37,' "$TK_TMP/s"
	grep -q '"logins":5,' "$TK_TMP/s"
	grep -q '"replies_ok":0,"replies_wrong":0,"replies_missing":5,' "$TK_TMP/s"
	[[ "$stderr" == *"replies ok 0, wrong 0, missing 5"* ]]
	# without --check the same run succeeds
	run --separate-stderr timeout 10 "$TK_BIN/tk-sim" -u -p 9 -n 2 -N 4 -i 0.05 --grace 0 -q
	assert_success
}

@test "tk-sim -o - -d gt06|h02 | tk-decode: logins, positions and Traccar's alarm names" {
	# gt06: a login (IMEI BCD) then 0x26 alarms only (-a 1), CRC-16/X-25 right
	"$TK_BIN/tk-sim" -o - -d gt06 -n 3 -N 60 -i 1 -a 1 --heartbeat 0 -q |
		"$TK_BIN/tk-decode" > "$TK_TMP/g"
	[ "$(grep -c '"type":"login","protocol":"gt06","uniqueId":"86[0-9]\{13\}"' "$TK_TMP/g")" -eq 3 ]
	[ "$(grep -c '"type":"position","protocol":"gt06","uniqueId":"86' "$TK_TMP/g")" -eq 57 ]
	! grep '"protocol":"gt06"' "$TK_TMP/g" | grep -v '"crcValid":true' | grep -v '"type":"login"' |
		grep -q .
	run sh -c "grep -o '\"alarm\":\"[A-Za-z]*\"' '$TK_TMP/g' | sort -u | tr '\n' ' '"
	assert_output '"alarm":"accident" "alarm":"geofenceEnter" "alarm":"lowBattery" "alarm":"overspeed" "alarm":"sos" "alarm":"vibration" '
	# h02: V1 positions, alarms in the negative-logic status word
	"$TK_BIN/tk-sim" -o - -d h02 -n 3 -N 60 -i 1 -a 1 --heartbeat 0 -q |
		"$TK_BIN/tk-decode" > "$TK_TMP/h"
	[ "$(grep -c '"type":"position","protocol":"h02","uniqueId":"[0-9]\{10\}"' "$TK_TMP/h")" -eq 60 ]
	run sh -c "grep -o '\"alarm\":\"[A-Za-z]*\"' '$TK_TMP/h' | sort -u | tr '\n' ' '"
	assert_output '"alarm":"overspeed" "alarm":"powerCut" "alarm":"sos" "alarm":"vibration" '
	# --h02-binary: the same as 32-byte $ records
	"$TK_BIN/tk-sim" -o - -d h02 --h02-binary -n 3 -N 30 -i 1 -a 1 --heartbeat 0 -q \
		> "$TK_TMP/hb"
	[ "$(grep -c ' frame tcp .* h02 [0-9]\{10\} - \$' "$TK_TMP/hb")" -eq 30 ]
	"$TK_BIN/tk-decode" "$TK_TMP/hb" > "$TK_TMP/h"
	[ "$(grep -c '"type":"position","protocol":"h02","uniqueId":"[0-9]\{10\}"' "$TK_TMP/h")" -eq 30 ]
	# every report is an alarm but each device's first (no login: it opens)
	[ "$(grep -c '"alarm":"' "$TK_TMP/h")" -eq 27 ]
	# without -a: positions with no alarm at all
	"$TK_BIN/tk-sim" -o - -d h02 -n 2 -N 10 -i 1 --heartbeat 0 -q | "$TK_BIN/tk-decode" > "$TK_TMP/h"
	[ "$(grep -c '"type":"position"' "$TK_TMP/h")" -eq 10 ]
	! grep -q '"alarm"' "$TK_TMP/h"
}
