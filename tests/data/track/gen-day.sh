#!/bin/sh
# Regenerate day.jsonl: a hand-made day of one device with known answers
# (tests/unit/test_track.c and tests/cli/tk-track.bats check them).
#   08:00-08:10  parked at depot A (52.00, 4.00), speed 0, a fix a minute
#   08:11-08:29  drives north 0.01 deg a minute (1112 m, 36 kn); an sos alarm
#                at 08:15; a GPS jump to 53.5 N at 08:20:30 (dropped)
#   08:30-08:50  parked at depot B (52.20, 4.00)
#   08:50-10:00  no reports (a 70 minute gap): the stop goes on
#   10:00        at depot B again; 10:01-10:09 drives south; 10:10-10:20
#                parked at 52.10
# plus records that are not fixes (login, heartbeat), an invalid fix, a bad
# line, geofence exit/enter events, and the second half in reverse order.
set -eu
ID='truck <7> & "co"'
pos() { # time lat speed [alarm]
	a=""
	[ -n "${4:-}" ] && a=",\"alarm\":\"$4\""
	printf '{"type":"position","protocol":"gps103","uniqueId":"%s","serverTime":"2026-11-23T%s.500Z","fixTime":"2026-11-23T%s.000Z","valid":true,"latitude":%s,"longitude":4.000000,"speed":%s,"course":%s,"attributes":{"sat":7%s}}\n' \
	    "$(printf '%s' "$ID" | sed 's/"/\\"/g')" "$1" "$1" "$2" "$3" "${5:-0}" "$a"
}
{
	echo '{"type":"login","protocol":"gps103","uniqueId":"truck <7> & \"co\"","serverTime":"2026-11-23T07:59:00.000Z"}'
	for m in 00 01 02 03 04 05 06 07 08 09 10; do pos "08:$m:00" 52.000000 0; done
	i=1
	for m in 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29; do
		lat=$(printf '52.%02d0000' "$i")
		if [ "$m" = 15 ]; then pos "08:$m:00" "$lat" 36 sos 0; else pos "08:$m:00" "$lat" 36 "" 0; fi
		i=$((i + 1))
	done
	pos 08:20:30 53.500000 36
	echo '{"type":"heartbeat","protocol":"gps103","uniqueId":"truck <7> & \"co\"","serverTime":"2026-11-23T08:25:00.000Z"}'
	printf '{"type":"position","protocol":"gps103","uniqueId":"truck <7> & \\"co\\"","fixTime":"2026-11-23T08:25:30.000Z","valid":false,"latitude":10.0,"longitude":10.0,"speed":0}\n'
	echo 'this line is not JSON'
	echo '{"type":"geofenceExit","uniqueId":"truck <7> & \"co\"","geofence":"depot A","position":{"fixTime":"2026-11-23T08:11:00.000Z","latitude":52.01,"longitude":4.0}}'
	echo '{"type":"geofenceEnter","uniqueId":"truck <7> & \"co\"","geofence":"depot B","position":{"fixTime":"2026-11-23T08:30:00.000Z","latitude":52.2,"longitude":4.0}}'
} > /tmp/day.a
{
	for s in 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50; do pos "08:$s:00" 52.200000 0; done
	pos 10:00:00 52.200000 0
	i=19
	for m in 01 02 03 04 05 06 07 08 09; do pos "10:$m:00" "$(printf '52.%02d0000' "$i")" 36 "" 180; i=$((i - 1)); done
	for m in 10 11 12 13 14 15 16 17 18 19 20; do pos "10:$m:00" 52.100000 0; done
} > /tmp/day.b
cat /tmp/day.a
tac /tmp/day.b
rm -f /tmp/day.a /tmp/day.b
