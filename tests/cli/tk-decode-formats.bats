#!/usr/bin/env bats
# tk-decode's formats for other programs, each checked by the real reader:
# GeoJSON (GDAL's ogrinfo), CSV with its .csvt (ogrinfo), Traccar's
# forwarding envelope (jq, on the paths Traccar's consumers read).
load test_helper

setup_local() {
	# two devices whose ids start with zeros, a position each, a login and
	# an alarm without a location
	printf '(000070000012BP05000000070000012151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)(000070000012BR00151024A2555.3531S02855.3329E004.7055148276.1701000000L00009AA3)' >"$TK_TMP/a.raw"
	printf '##,imei:000000015829802,A;imei:000000015829802,help me,0809231429,,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;imei:000000015829802,ac alarm,0809231429,,L,;' >"$TK_TMP/b.raw"
}

@test "-f geojson: one Feature per line that ogrinfo opens, ids as strings, points in lon lat" {
	run_tk tk-decode -f geojson "$TK_TMP/a.raw" "$TK_TMP/b.raw"
	assert_success
	# every line is a Feature with a Point; the logins and the alarm
	# without a location are counted, not written
	[ "${#lines[@]}" -eq 3 ]
	for l in "${lines[@]}"; do
		[ "$(jq -r '.type + " " + .geometry.type' <<<"$l")" = "Feature Point" ]
	done
	[[ "$stderr" == *"3 not written (no location)"* ]]
	printf '%s\n' "${lines[@]}" >"$TK_TMP/out.geojsonl"
	run ogrinfo -ro -al "$TK_TMP/out.geojsonl"
	assert_success
	assert_output --partial "using driver \`GeoJSONSeq' successful"
	assert_output --partial 'Feature Count: 3'
	assert_output --partial 'uniqueId: String'
	assert_output --partial 'uniqueId (String) = 000070000012'
	assert_output --partial 'uniqueId (String) = 000000015829802'
	assert_output --partial 'fixTime: DateTime'
	# the attributes are columns of their own
	assert_output --partial 'alarm (String) = sos'
	assert_output --partial 'POINT (28.922215 -25.922552)'
	assert_output --partial 'POINT (113.905462 22.573377)'
	# and ogr2ogr converts it to a GeoJSON FeatureCollection GDAL reads back
	run ogr2ogr -f GeoJSON "$TK_TMP/fc.geojson" "$TK_TMP/out.geojsonl"
	assert_success
	[ "$(jq '.features | length' "$TK_TMP/fc.geojson")" -eq 3 ]
	[ "$(jq -r '.features[0].properties.uniqueId' "$TK_TMP/fc.geojson")" = 000070000012 ]
}

@test "-f geojson from standard input is read by ogrinfo through /vsistdin/" {
	run bash -c "'$TK_BIN/tk-decode' -q -f geojson '$TK_TMP/b.raw' | ogrinfo -ro -al -so /vsistdin/"
	assert_success
	assert_output --partial 'Geometry: Point'
	assert_output --partial 'Feature Count: 1'
}

@test "-f csv: ids quoted; with --csvt, ogrinfo keeps them as text and finds the points" {
	run_tk tk-decode -q -f csv --csvt "$TK_TMP/day.csvt" "$TK_TMP/a.raw" "$TK_TMP/b.raw"
	assert_success
	assert_line --index 1 'login,tk103,"000070000012",,,,,,,,,,,{}'
	assert_line --index 2 --partial 'position,tk103,"000070000012",'
	printf '%s\n' "${lines[@]}" >"$TK_TMP/day.csv"
	run ogrinfo -ro -al "$TK_TMP/day.csv"
	assert_success
	assert_output --partial 'uniqueId: String'
	assert_output --partial 'latitude: Real'
	assert_output --partial 'fixTime: DateTime'
	assert_output --partial 'uniqueId (String) = 000070000012'
	assert_output --partial 'uniqueId (String) = 000000015829802'
	refute_output --partial 'uniqueId (String) = 70000012'
	assert_output --partial 'POINT (28.922215 -25.922552)'
	assert_output --partial 'POINT (113.905462 22.573377)'
	# without the sidecar: GDAL reads every column as text by default, and
	# with type detection the quotes keep the id text when asked to
	rm "$TK_TMP/day.csvt"
	run ogrinfo -ro -al "$TK_TMP/day.csv"
	assert_output --partial 'uniqueId (String) = 000070000012'
	run ogrinfo -ro -al -oo AUTODETECT_TYPE=YES -oo QUOTED_FIELDS_AS_STRING=YES "$TK_TMP/day.csv"
	assert_output --partial 'uniqueId (String) = 000070000012'
	assert_output --partial 'latitude (Real) = -25.922552'
}

@test "--csvt goes with -f csv; an unwritable sidecar is an I/O error before any input" {
	run_tk tk-decode --csvt "$TK_TMP/x.csvt" "$TK_TMP/a.raw"
	assert_failure 2
	[[ "$stderr" == *"--csvt goes with -f csv"* ]]
	run_tk tk-decode -f csv --csvt /nonexistent/dir/x.csvt "$TK_TMP/a.raw"
	assert_failure 3
	[[ "$stderr" == *"/nonexistent/dir/x.csvt"* ]]
	[ -z "$output" ]
	run_tk tk-decode -r -f traccar "$TK_TMP/a.raw"
	assert_failure 2
}

@test "-f traccar: Traccar's forwarding envelope, with its time format" {
	run_tk tk-decode -f traccar "$TK_TMP/a.raw" "$TK_TMP/b.raw"
	assert_success
	# the logins are not Traccar positions; the alarm without a location is,
	# outdated
	[ "${#lines[@]}" -eq 4 ]
	[[ "$stderr" == *"2 not written (logins, heartbeats and records without a device id)"* ]]
	printf '%s\n' "${lines[@]}" >"$TK_TMP/t.jsonl"
	run jq -r '[.device.uniqueId, .device.name, .position.latitude, .position.longitude,
	    .position.fixTime, .position.valid, .position.outdated, (.position.deviceId == .device.id),
	    (.position.attributes.alarm // "-")] | @tsv' "$TK_TMP/t.jsonl"
	assert_success
	assert_line --index 0 $'000070000012\t000070000012\t-25.922552\t28.922215\t2015-10-24T05:51:48.000+00:00\ttrue\tfalse\ttrue\t-'
	assert_line --index 2 $'000000015829802\t000000015829802\t22.573377\t113.905462\t2008-09-23T06:29:47.294+00:00\ttrue\tfalse\ttrue\tsos'
	assert_line --index 3 --partial $'000000015829802\t000000015829802\t0\t0\t'
	assert_line --index 3 --partial $'\tfalse\ttrue\ttrue\t'
	# a device keeps one deviceId; two devices have two
	[ "$(jq -s 'map(.position.deviceId) | unique | length' "$TK_TMP/t.jsonl")" -eq 2 ]
	[ "$(jq -s 'map(.position.deviceId) | max < 9007199254740992' "$TK_TMP/t.jsonl")" = true ]
}

@test "the man page's GeoJSON, CSV and Traccar examples run" {
	cd "$TK_TMP"
	"$TK_BIN/tk-decode" -q -f frames "$TK_DATA/captures/gps103-session.raw" "$TK_TMP/a.raw" >day.log
	n=0
	while IFS= read -r cmd; do
		run env PATH="$TK_BIN:$PATH" sh -c "$cmd"
		assert_success
		n=$((n + 1))
	done < <(sed -n '/^\.Sh EXAMPLES/,/^\.Sh/s/^\.Dl //p' "$BATS_TEST_DIRNAME/../../man/tk-decode.1" |
	    grep -E 'geojson|traccar|csvt')
	[ "$n" -eq 3 ]
	grep -q '"String","String","String"' day.csvt
	grep -q '"000070000012"' day.csv
	[ "$(wc -l <day.geojsonl)" -gt 1 ]
}
