#!/usr/bin/env bats
# tk-track's KML and GeoJSON as GIS programs read them: GDAL's classic KML
# driver (which ignores Google's gx:Track), LIBKML, and a trip over the
# antimeridian split as RFC 7946 3.1.9 asks.
load test_helper

DAY="$BATS_TEST_DIRNAME/../data/track/day.jsonl"

# A ship sailing east over the antimeridian near Fiji: 179.91 to -179.91,
# a fix a minute, 60 knots, none on the line itself; then back west over it.
ship() {
	local i lon t=0
	for i in $(seq 0 9) $(seq 9 -1 0); do
		lon=$(awk -v i="$i" 'BEGIN { l = 179.91 + 0.02 * i; if (l > 180) l -= 360; printf "%.2f", l }')
		printf '{"type":"position","protocol":"gps103","uniqueId":"ship","fixTime":"2026-11-23T%02d:%02d:00.000Z","valid":true,"latitude":%s,"longitude":%s,"speed":60}\n' \
		    $((8 + t / 60)) $((t % 60)) "$(awk -v i="$i" -v t="$t" 'BEGIN { printf "%.4f", -17 - 0.001 * t }')" "$lon"
		t=$((t + 1))
	done
}

@test "kml: GDAL's classic KML driver sees every trip as a line" {
	run_tk tk-track -q -f kml -o "$TK_TMP/day.kml" "$DAY"
	assert_success
	run ogrinfo -ro -al --config GDAL_SKIP LIBKML "$TK_TMP/day.kml"
	assert_success
	assert_output --partial "using driver \`KML' successful"
	[ "$(grep -c '^  MULTILINESTRING ((' <<<"$output")" -eq 2 ]
	assert_output --partial 'MULTILINESTRING ((4 52,4.0 52.01,'
	# and the stops and events as points, as before
	[ "$(grep -c '^  POINT (' <<<"$output")" -eq 6 ]
	# LIBKML (Google's library) reads the gx:Track too
	run ogrinfo -ro -al "$TK_TMP/day.kml"
	assert_output --partial "using driver \`LIBKML' successful"
	assert_output --partial 'LINESTRING Z (4 52 0,4.0 52.01 0,'
}

@test "geojson: a trip over the antimeridian is a MultiLineString cut at +-180" {
	ship >"$TK_TMP/ship.jsonl"
	run_tk tk-track -q -f geojson --max-speed 0 "$TK_TMP/ship.jsonl"
	assert_success
	printf '%s\n' "$output" >"$TK_TMP/ship.geojson"
	# one trip (the ship never stops), cut twice: east over it, back west
	run jq -c '[.features[] | select(.properties.type == "trip") | .geometry.type,
	    (.geometry.coordinates | length)]' "$TK_TMP/ship.geojson"
	assert_output '["MultiLineString",3]'
	run jq -c '.features[0].geometry.coordinates | [.[0][-1], .[1][0], .[1][-1], .[2][0]]' "$TK_TMP/ship.geojson"
	# the crossing points: on the antimeridian, at the latitude between
	# the fixes either side of it, the same on both sides
	assert_output '[[180,-17.0045],[-180,-17.0045],[-180,-17.0145],[180,-17.0145]]'
	# no part strays over the line: every longitude of a part on one side
	run jq '[.features[0].geometry.coordinates[] | (map(.[0] >= 0) | unique | length)] | max' "$TK_TMP/ship.geojson"
	assert_output 1
	# GDAL reads it as one feature with a MultiLineString inside +-180
	run ogrinfo -ro -al "$TK_TMP/ship.geojson"
	assert_success
	assert_output --partial 'MULTILINESTRING ((179.91 -17,'
	assert_output --partial 'Extent: (-180.000000, '
	assert_output --partial ') - (180.000000, '
}

@test "geojson: a trip that stays on one side is a plain LineString" {
	run_tk tk-track -q -f geojson "$DAY"
	assert_success
	run jq -r '.features[] | select(.properties.type == "trip") | .geometry.type' <<<"$output"
	assert_output $'LineString\nLineString'
}
