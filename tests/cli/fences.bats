#!/usr/bin/env bats
# One fence reader for every tool (lib/tk_fence.c): KML, the 3-D GeoJSON
# ogr2ogr makes of it, Traccar's /api/geofences export, WKT in OGC lon lat
# or Traccar lat lon order; tk-geofence and tk-track -g read them alike.
load test_helper

G="$BATS_TEST_DIRNAME/../data/geofence"

# Positions: depot (not the hole), the hole, each yard, the open sea.
positions() {
	local p
	for p in "10.2 20.2" "10.5 20.5" "10.5 24.5" "10.5 26.5" "0 0.5"; do
		set -- $p
		printf '{"type":"position","uniqueId":"1","latitude":%s,"longitude":%s}\n' "$1" "$2"
	done
}

ids() { grep -o '"geofenceIds":\[[^]]*\]' | tr '\n' ' '; }

@test "fences: KML (as written by hand and by GDAL's KML and LIBKML drivers) and the 3-D GeoJSON ogr2ogr makes of it give the same result" {
	positions > "$TK_TMP/in"
	ogr2ogr -f GeoJSON "$TK_TMP/sites.geojson" "$G/sites.kml"
	# ogr2ogr keeps the altitudes and names the property "Name"
	grep -q '"Name": "depot"' "$TK_TMP/sites.geojson"
	grep -q '\[ 20.0, 10.0, 0.0 \]' "$TK_TMP/sites.geojson"
	run_tk tk-geofence -a -f "$G/sites.kml" "$TK_TMP/in"
	assert_success
	kml=$(ids <<<"$output")
	assert_equal "$kml" '"geofenceIds":["depot"] "geofenceIds":[] "geofenceIds":["two yards"] "geofenceIds":["two yards"] "geofenceIds":[] '
	[[ "$stderr" == *"sites.kml: 1 placemark without a Polygon (pins, paths) skipped"* ]]
	run_tk tk-geofence -a -f "$TK_TMP/sites.geojson" "$TK_TMP/in"
	assert_success
	assert_equal "$(ids <<<"$output")" "$kml"
	[[ "$stderr" == *"('office'): a Point without properties.radius is not a fence: skipped"* ]]
	# KML as GDAL's two KML writers make it (a Schema and ExtendedData;
	# libkml's nested Documents, one coordinate per line)
	for drv in KML LIBKML; do
		ogr2ogr -f "$drv" "$TK_TMP/$drv.kml" "$G/sites.kml" 2>/dev/null
		grep -q '<Polygon>' "$TK_TMP/$drv.kml"
		run_tk tk-geofence -a -f "$TK_TMP/$drv.kml" "$TK_TMP/in"
		assert_success
		assert_equal "$(ids <<<"$output")" "$kml"
	done
	grep -q '<SchemaData' "$TK_TMP/KML.kml"
	[ "$(grep -c '<Document' "$TK_TMP/LIBKML.kml")" -eq 2 ]
	# tk-track -g draws the same fences from either file
	run_tk tk-track -q -f svg -g "$G/sites.kml" -o "$TK_TMP/k.svg" "$TK_TMP/in"
	assert_success
	run_tk tk-track -q -f svg -g "$TK_TMP/sites.geojson" -o "$TK_TMP/g.svg" "$TK_TMP/in"
	assert_success
	xmllint --noout "$TK_TMP/k.svg"
	k=$(grep -o '<path [^>]*class="fence"[^>]*>' "$TK_TMP/k.svg")
	assert_equal "$(grep -o '<path [^>]*class="fence"[^>]*>' "$TK_TMP/g.svg")" "$k"
	# the depot with its hole (two subpaths), the two yards (two)
	[ "$(grep -o 'M' <<<"$k" | wc -l)" -eq 4 ]
	grep -q '>two yards<' "$TK_TMP/k.svg"
}

@test "fences: Traccar's /api/geofences export, as it comes" {
	for p in "10.9 20.9" "10.5 25.001" "12.005 21"; do
		set -- $p
		printf '{"type":"position","uniqueId":"1","latitude":%s,"longitude":%s}\n' "$1" "$2"
	done > "$TK_TMP/in"
	run_tk tk-geofence -q -e -D -f "$G/traccar-geofences.json" "$TK_TMP/in"
	assert_success
	# the unclosed depot polygon is closed; the ids are Traccar's
	assert_line -n 0 --partial '"type":"geofenceEnter","uniqueId":"1","geofenceId":"3","geofence":"depot","geofenceAttributes":{"id":3,"attributes":{},"calendarId":0,"name":"depot","description":"as GET /api/geofences returns it"},'
	assert_line -n 1 --partial '"type":"geofenceExit","uniqueId":"1","geofenceId":"3"'
	assert_line -n 2 --partial '"type":"geofenceEnter","uniqueId":"1","geofenceId":"4","geofence":"yard"'
	assert_line -n 3 --partial '"type":"geofenceExit","uniqueId":"1","geofenceId":"4"'
	# polylineDistance 1000 m each side of the route
	assert_line -n 4 --partial '"type":"geofenceEnter","uniqueId":"1","geofenceId":"5"'
	[ "${#lines[@]}" -eq 5 ]
	run_tk tk-track -q -f svg -g "$G/traccar-geofences.json" -o "$TK_TMP/t.svg" "$TK_TMP/in"
	assert_success
	grep -q '<circle' "$TK_TMP/t.svg"
}

@test "fences: WKT is OGC lon lat by default, Traccar's lat lon with --wkt-order" {
	positions | head -n 1 > "$TK_TMP/in"
	printf 'depot\tPOLYGON ((10 20, 10 21, 11 21, 11 20))\n' > "$TK_TMP/traccar.wkt"
	printf 'depot\tPOLYGON ((20 10, 21 10, 21 11, 20 11, 20 10))\n' > "$TK_TMP/ogc.wkt"
	run_tk tk-geofence -q -i -f "$TK_TMP/ogc.wkt" "$TK_TMP/in"
	assert_output '{"type":"position","uniqueId":"1","latitude":10.2,"longitude":20.2}'
	run_tk tk-geofence -q -i --wkt-order traccar -f "$TK_TMP/traccar.wkt" "$TK_TMP/in"
	assert_output '{"type":"position","uniqueId":"1","latitude":10.2,"longitude":20.2}'
	run_tk tk-geofence -q -i --wkt-order latlon -f "$TK_TMP/ogc.wkt" "$TK_TMP/in"
	assert_output ''
	# tk-track -g takes the same option
	run_tk tk-track -q -f svg --wkt-order latlon -g "$TK_TMP/traccar.wkt" "$TK_TMP/in"
	assert_success
	assert_output --partial 'class="fence"'
}

@test "fences: an order that looks swapped is a warning, or an error with the fix" {
	# Rotterdam in Traccar's order read as lon lat: the Indian Ocean
	printf 'rdam\tPOLYGON ((51.9 4.4, 51.9 4.5, 52 4.5, 52 4.4, 51.9 4.4))\n' > "$TK_TMP/r.wkt"
	printf '{"type":"position","uniqueId":"1","latitude":51.95,"longitude":4.45}\n' > "$TK_TMP/in"
	run_tk tk-geofence -q -i -f "$TK_TMP/r.wkt" "$TK_TMP/in"
	assert_success
	assert_output ''
	[[ "$stderr" == *"fence 'rdam' (line 1): no position came within"*"is its axis order swapped? (--wkt-order)"* ]]
	run_tk tk-geofence -q -i --wkt-order latlon -f "$TK_TMP/r.wkt" "$TK_TMP/in"
	assert_output '{"type":"position","uniqueId":"1","latitude":51.95,"longitude":4.45}'
	[ -z "$stderr" ]
	# Tokyo in Traccar's order: a latitude of 139 is an error naming the fix
	printf 'tokyo\tPOLYGON ((35 139, 35 140, 36 140, 36 139, 35 139))\n' > "$TK_TMP/t.wkt"
	run_tk tk-geofence -q -i -f "$TK_TMP/t.wkt" "$TK_TMP/in"
	assert_failure 1
	[[ "$stderr" == *"t.wkt:1: fence 'tokyo': coordinate (longitude 35, latitude 139) out of range"*"--wkt-order latlon"* ]]
	run_tk tk-track -q -f svg -g "$TK_TMP/t.wkt" "$TK_TMP/in"
	assert_failure 1
	[[ "$stderr" == *"--wkt-order latlon"* ]]
}
