#!/usr/bin/env bats
# tk-track: output read back by the tools people use (gpsbabel, ogrinfo,
# xmllint, rsvg-convert), and trips/stops with known answers.
# tests/data/track/day.jsonl (see gen-day.sh there): one device named
# 'truck <7> & "co"', 72 good fixes in 2 segments, a GPS jump, an invalid
# fix, a bad line, 3 events; 2 trips and 3 stops.
load test_helper

DAY="$BATS_TEST_DIRNAME/../data/track/day.jsonl"
FENCES="$BATS_TEST_DIRNAME/../data/track/fences.geojson"

@test "tk-track: json lines of trips and stops with the known answers" {
	run_tk tk-track "$DAY"
	assert_success
	[ "${#lines[@]}" -eq 5 ]
	[[ "${lines[0]}" == '{"type":"stop","uniqueId":"truck <7> & \"co\"","latitude":52,"longitude":4,"arrival":"2026-11-23T08:00:00.000Z","departure":"2026-11-23T08:10:00.000Z","duration":600}' ]]
	[[ "${lines[1]}" == *'"type":"trip"'*'"startTime":"2026-11-23T08:10:00.000Z","endTime":"2026-11-23T08:30:00.000Z"'*'"distance":22239,"duration":1200,"maxSpeed":36.02,"averageSpeed":36.02,"points":21}' ]]
	[[ "${lines[2]}" == *'"arrival":"2026-11-23T08:30:00.000Z","departure":"2026-11-23T10:00:00.000Z","duration":5400}' ]]
	[[ "${lines[3]}" == *'"type":"trip"'*'"distance":11119.5,"duration":600,'* ]]
	[[ "${lines[4]}" == *'"arrival":"2026-11-23T10:10:00.000Z","departure":"2026-11-23T10:20:00.000Z","duration":600}' ]]
	[[ "$stderr" == *"72 fixes kept, 1 jumps dropped"*"2 trips, 3 stops, 3 events"* ]]
	[[ "$stderr" == *"day.jsonl:35: not JSON"* ]]
	[[ "$stderr" == *"1 invalid fixes"* ]]
}

@test "tk-track: gpx is well formed and gpsbabel reads 72 track points and 3 waypoints" {
	run_tk tk-track -q -f gpx -o "$TK_TMP/day.gpx" "$DAY"
	assert_success
	xmllint --noout "$TK_TMP/day.gpx"
	run gpsbabel -t -i gpx -f "$TK_TMP/day.gpx" -o unicsv -F "$TK_TMP/t.csv"
	assert_success
	[ "$(tail -n +2 "$TK_TMP/t.csv" | wc -l)" -eq 72 ]
	run gpsbabel -w -i gpx -f "$TK_TMP/day.gpx" -o unicsv -F "$TK_TMP/w.csv"
	assert_success
	[ "$(tail -n +2 "$TK_TMP/w.csv" | wc -l)" -eq 3 ]
	grep -q 'sos' "$TK_TMP/w.csv"
	# two segments: the 70 minute gap splits the track
	[ "$(grep -c '<trkseg>' "$TK_TMP/day.gpx")" -eq 2 ]
	# the device name is escaped, never pasted
	grep -q '<name>truck &lt;7&gt; &amp; &quot;co&quot;</name>' "$TK_TMP/day.gpx"
	# speed in m/s: 36 kn = 18.52 m/s
	grep -q '<gpxtpx:speed>18.52</gpxtpx:speed>' "$TK_TMP/day.gpx"
}

@test "tk-track: gpsbabel converts the gpx to kml and back without losing points" {
	"$TK_BIN/tk-track" -q -f gpx "$DAY" > "$TK_TMP/day.gpx"
	run gpsbabel -t -i gpx -f "$TK_TMP/day.gpx" -o kml -F "$TK_TMP/conv.kml"
	assert_success
	xmllint --noout "$TK_TMP/conv.kml"
	run gpsbabel -t -i kml -f "$TK_TMP/conv.kml" -o unicsv -F "$TK_TMP/back.csv"
	assert_success
	[ "$(tail -n +2 "$TK_TMP/back.csv" | wc -l)" -eq 72 ]
}

@test "tk-track: kml is well formed; gpsbabel reads the 32 trip points with times" {
	run_tk tk-track -q -f kml "$DAY"
	assert_success
	printf '%s\n' "$output" > "$TK_TMP/day.kml"
	xmllint --noout "$TK_TMP/day.kml"
	run gpsbabel -t -i kml -f "$TK_TMP/day.kml" -o unicsv -F "$TK_TMP/k.csv"
	assert_success
	# each trip twice: the timed gx:Track and the plain LineString beside it
	[ "$(tail -n +2 "$TK_TMP/k.csv" | wc -l)" -eq 64 ]
	[ "$(grep -c ',0.0,2026/11/23,' "$TK_TMP/k.csv")" -eq 32 ]
	[ "$(grep -c '<gx:Track>' "$TK_TMP/day.kml")" -eq 2 ]
	[ "$(grep -c '<LineString>' "$TK_TMP/day.kml")" -eq 2 ]
	[ "$(grep -c '<TimeSpan>' "$TK_TMP/day.kml")" -eq 5 ]
}

@test "tk-track: ogrinfo opens the geojson: 8 features (2 trips, 3 stops, 3 events)" {
	run_tk tk-track -q -f geojson -o "$TK_TMP/day.geojson" "$DAY"
	assert_success
	run ogrinfo -ro -al -so "$TK_TMP/day.geojson"
	assert_success
	assert_output --partial "Feature Count: 8"
	run ogrinfo -ro -al "$TK_TMP/day.geojson"
	assert_success
	[ "$(grep -c 'LINESTRING' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'POINT' <<<"$output")" -eq 6 ]
	assert_output --partial 'truck <7> & "co"'
}

@test "tk-track: csv summary: a header and a row per trip and stop" {
	run_tk tk-track -q -f csv "$DAY"
	assert_success
	[ "${#lines[@]}" -eq 6 ]
	assert_line --index 0 "type,uniqueId,start,end,duration,distance,maxSpeed,averageSpeed,startLatitude,startLongitude,endLatitude,endLongitude"
	assert_line --index 2 'trip,"truck <7> & ""co""",2026-11-23T08:10:00.000Z,2026-11-23T08:30:00.000Z,1200,22239,36.02,36.02,52,4,52.2,4'
}

@test "tk-track: svg with fences is well formed and renders to a png" {
	run_tk tk-track -q -f svg -g "$FENCES" -o "$TK_TMP/day.svg" "$DAY"
	assert_success
	xmllint --noout "$TK_TMP/day.svg"
	grep -q 'Legend' "$TK_TMP/day.svg"
	grep -q 'depot &lt;A&gt;' "$TK_TMP/day.svg"
	run rsvg-convert -o "$TK_TMP/day.png" "$TK_TMP/day.svg"
	assert_success
	[ "$(head -c 4 "$TK_TMP/day.png" | od -An -c | tr -d ' ')" = '211PNG' ]
	[ "$(stat -c %s "$TK_TMP/day.png")" -gt 5000 ]
}

@test "tk-track: filters: --from/--to, -u, --all-fixes" {
	run_tk tk-track -q --from 2026-11-23T10:00:00Z "$DAY"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	run_tk tk-track -q --from 2026-11-23T08:00 --to '2026-11-23 08:45:00' -f gpx "$DAY"
	assert_success
	[ "$(grep -c '<trkpt' <<<"$output")" -eq 45 ]
	run_tk tk-track -q -u nobody -f gpx "$DAY"
	assert_success
	[ "$(grep -c '<trkpt' <<<"$output")" -eq 0 ]
	run_tk tk-track -q -u 'truck <7> & "co"' -a -f gpx --max-speed 0 "$DAY"
	assert_success
	[ "$(grep -c '<trkpt' <<<"$output")" -eq 74 ]
	grep -q '<fix>none</fix>' <<<"$output"
}

@test "tk-track: thresholds change the answer" {
	# 3 hours minimum stop: only the one across the gap is left, joined
	run_tk tk-track -q --min-stop 3600 -f csv "$DAY"
	assert_success
	[ "$(grep -c '^stop,' <<<"$output")" -eq 1 ]
	# a trip must cover 15 km: the second drive (11 km) is not one
	run_tk tk-track -q --min-trip 15000 -f csv "$DAY"
	assert_success
	[ "$(grep -c '^trip,' <<<"$output")" -eq 1 ]
	# --stop-speed in km/h: 70 km/h > 36 kn, so nothing moves
	run_tk tk-track -q --stop-speed 70kmh -f csv "$DAY"
	assert_success
	[ "$(grep -c '^trip,' <<<"$output")" -eq 0 ]
	# a short --gap splits every fix into its own segment
	run_tk tk-track -q --gap 30 -f gpx "$DAY"
	assert_success
	[ "$(grep -c '<trkseg>' <<<"$output")" -eq 72 ]
}

@test "tk-track: the memory bound drops fixes, says so and exits 1" {
	run_tk tk-track --max-points 10 "$DAY"
	assert_failure 1
	[[ "$stderr" == *"memory bound reached"* ]]
}

@test "tk-track: misuse exits 2" {
	run_tk tk-track -f png
	assert_failure 2
	run_tk tk-track --stop-speed fast
	assert_failure 2
	run_tk tk-track --from yesterday
	assert_failure 2
	run_tk tk-track --from 2026-11-23 --to 2026-11-22
	assert_failure 2
	run_tk tk-track -g "$FENCES" -f gpx
	assert_failure 2
}

@test "tk-track: a bad fences file or a missing input is an error" {
	printf '{"type":' > "$TK_TMP/bad.geojson"
	run_tk tk-track -f svg -g "$TK_TMP/bad.geojson" "$DAY"
	assert_failure 1
	[[ "$stderr" == *"bad.geojson: not valid JSON"* ]]
	run_tk tk-track "$TK_TMP/missing.jsonl"
	assert_failure 3
}

@test "tk-track: reads standard input, in any order" {
	run bash -c "sort -r '$DAY' | '$TK_BIN/tk-track' -q -f gpx"
	assert_success
	[ "$(grep -c '<trkpt' <<<"$output")" -eq 72 ]
	# the fix times come out sorted
	grep -o '<time>[^<]*' <<<"$output" | sed -n '4,$p' > "$TK_TMP/times"
	sort -c "$TK_TMP/times"
}

@test "tk-track: stdout closed early exits 4, quietly" {
	for i in $(seq 1 60); do sed "s/truck <7>/truck $i/g" "$DAY"; done > "$TK_TMP/big.jsonl"
	# GPX of 60 devices is 1.4 MB, far more than a pipe buffer
	for f in gpx; do
		run bash -c "'$TK_BIN/tk-track' -q -f $f '$TK_TMP/big.jsonl' 2>'$TK_TMP/err' | head -c 10 >/dev/null; echo \${PIPESTATUS[0]}"
		assert_output 4
		grep -v -e 'not JSON' -e 'further warnings' "$TK_TMP/err" > "$TK_TMP/err2" || true
		[ ! -s "$TK_TMP/err2" ]
	done
}

@test "tk-track: scripts/track-picture renders the README picture" {
	cd "$BATS_TEST_DIRNAME/../.."
	run sh scripts/track-picture "$TK_TMP/pic"
	assert_success
	xmllint --noout "$TK_TMP/pic/tk-track-demo.svg"
	[ "$(head -c 4 "$TK_TMP/pic/tk-track-demo.png" | od -An -c | tr -d ' ')" = '211PNG' ]
	grep -q 'No-go &amp; toll zone' "$TK_TMP/pic/tk-track-demo.svg"
}

@test "tk-track: the pipe tk-decode | tk-track -f gpx, with an SOS as a waypoint" {
	# a gps103 login, three fixes a minute apart, the middle one "help me"
	run bash -c "'$TK_BIN/tk-decode' -q '$BATS_TEST_DIRNAME/../data/track/gps103-sos.raw' | '$TK_BIN/tk-track' -q -f gpx -o '$TK_TMP/p.gpx'"
	assert_success
	xmllint --noout "$TK_TMP/p.gpx"
	run gpsbabel -t -i gpx -f "$TK_TMP/p.gpx" -o unicsv -F "$TK_TMP/p.csv"
	assert_success
	[ "$(tail -n +2 "$TK_TMP/p.csv" | wc -l)" -eq 3 ]
	grep -q '<name>sos</name>' "$TK_TMP/p.gpx"
	grep -q '<name>359710049090138</name>' "$TK_TMP/p.gpx"
}

@test "tk-track: implausible fixes (1e308, NaN, out of range, years 1970 and 9999) are counted and make no trip" {
	local p='{"type":"position","uniqueId":"v1","fixTime":"2026-11-24T08:%02d:00.000Z","valid":true,"latitude":%s,"longitude":%s,"speed":30}\n'
	{
		printf "$p" 0 52.00 4.00
		printf "$p" 1 1e308 4.00
		printf "$p" 2 NaN 4.00
		printf "$p" 3 52.00 181
		printf '{"type":"position","uniqueId":"v1","fixTime":"1970-01-01T00:00:00.000Z","valid":true,"latitude":52,"longitude":4}\n'
		printf '{"type":"position","uniqueId":"v1","fixTime":"9999-12-31T00:00:00.000Z","valid":true,"latitude":52.5,"longitude":4.5}\n'
		printf "$p" 10 52.00 4.00
	} >"$TK_TMP/in"
	run_tk tk-track "$TK_TMP/in"
	assert_success
	# two plausible fixes at one place: no trip, and no 8,000-year stop
	refute_output --partial '"type":"trip"'
	refute_output --partial '9999'
	refute_output --partial '1970'
	[[ "$stderr" == *"2 fixes kept"* ]]
	[[ "$stderr" == *"5 implausible"* ]]
	[[ "$stderr" == *"in:2: implausible fix (latitude out of range): skipped"* ]]
	[[ "$stderr" == *"in:6: implausible fix (time more than a day ahead): skipped"* ]]
}
