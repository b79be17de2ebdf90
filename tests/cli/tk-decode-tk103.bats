#!/usr/bin/env bats
# tk-decode on tk103 captures: glued and split frames, garbage, the
# $...$ free text, a truncated final frame, and hex vector rows.
load test_helper

CAP="$BATS_TEST_DIRNAME/../data/captures"

@test "tk103 glued capture: every frame decoded, junk reported" {
	run_tk tk-decode "$CAP/tk103-glued.raw"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c '"protocol":"tk103"')" -eq 7 ]
	assert_output --partial '{"type":"heartbeat","protocol":"tk103","uniqueId":"087073005534","attributes":{}}'
	assert_output --partial '"fixTime":"2015-10-24T05:51:48.000Z","valid":true,"latitude":-25.922552,"longitude":28.922215,"speed":2.538,"course":276.17,"attributes":{"charge":true,"ignition":true,"fuel":0,"odometer":39587}'
	assert_output --partial '"result":"1 .Check interval is set to 240 minute(s).\r\n2 .SOS: On"'
	assert_output --partial '"odometer":12497108,"temp1":17.7'
	assert_output --partial '"wifiAccessPoints":[{"macAddress":"58:f3:bb:3b:aa:82","signalStrength":-65,"channel":1}'
	assert_output --partial '"attributes":{"batteryLevel":100,"battery":4.21,"power":11.2,"installed":false}'
	[[ "$stderr" == *"7 frames, 7 decoded, 0 rejected"* ]]
	[[ "$stderr" == *"26 junk bytes"* ]]
}

@test "tk103 capture read from a pipe (stdin) decodes the same" {
	run bash -c "cat '$CAP/tk103-glued.raw' | '$TK_BIN/tk-decode' -q -P tk103 -i raw"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c '"protocol":"tk103"')" -eq 7 ]
}

@test "tk103 garbage capture: resync after 1500 junk bytes, a truncated frame and a bad one" {
	run_tk tk-decode -v "$CAP/tk103-garbage.raw"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c '"type":"heartbeat"')" -eq 2 ]
	assert_output --partial '"uniqueId":"013666666666","fixTime":"2011-09-25T02:59:48.000Z"'
	assert_output --partial '"alarm":"sos"'
	assert_output --partial '{"type":"login","protocol":"tk103","uniqueId":"352606090042050","attributes":{}}'
	[[ "$stderr" == *"position block: no date"* ]]
	[[ "$stderr" == *"1524 bytes of junk"* ]]
	[[ "$stderr" == *"5 frames, 4 decoded, 1 rejected"* ]]
}

@test "tk103 garbage capture with --strict exits 1 (a frame was rejected)" {
	run_tk tk-decode -s "$CAP/tk103-garbage.raw"
	assert_failure 1
}

@test "tk103 hex vector rows: exact values" {
	run_tk tk-decode -q -i hex -P tk103 "$CAP/tk103-vectors.hex"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c '"protocol":"tk103"')" -eq 12 ]
	assert_output --partial '"batteryTemp2":26'
	assert_output --partial '"vin":"5J6RW2H53HL066029"'
	assert_output --partial '"uniqueId":"027023361470","fixTime":"2020-06-17T17:37:25.000Z","valid":true,"latitude":40.009625,"longitude":-84.256793'
	assert_output --partial '"uniqueId":"01602009983","fixTime":"2016-08-30T00:27:29.000Z","valid":false'
	assert_output --partial '"in2":true,"fuel":358,"odometer":890745'
}

@test "tk103 ids of 13 to 15 characters are detected and decoded (issue 13)" {
	printf '(357593060760397BP02,G,2,170304A6015.7466N01101.8460E001.609445591.048,7)' >"$TK_TMP/a.raw"
	run_tk tk-decode "$TK_TMP/a.raw"
	assert_success
	assert_output '{"type":"position","protocol":"tk103","uniqueId":"357593060760397","fixTime":"2017-03-04T09:44:55.000Z","valid":true,"latitude":60.262443,"longitude":11.030767,"speed":0.864,"course":91.05,"attributes":{"result":"G,2"}}'
	printf '(0354776034724BP00HSO)' >"$TK_TMP/b.raw"
	run_tk tk-decode "$TK_TMP/b.raw"
	assert_output '{"type":"heartbeat","protocol":"tk103","uniqueId":"0354776034724","attributes":{}}'
}

@test "tk103 without a date and a fix (000000, 000007, V) is an event, not a position at 0,0" {
	printf '(0354776034724BR00000000V0000.0000N00000.0000E000.0000000000.0001000000L00000000)(087072009461BR00000007V0000.0000N00000.0000E000.00014039900000000L00000000)' >"$TK_TMP/a.raw"
	run_tk tk-decode "$TK_TMP/a.raw"
	assert_success
	assert_line --index 0 '{"type":"event","protocol":"tk103","uniqueId":"0354776034724","attributes":{"charge":true,"ignition":true,"fuel":0,"odometer":0}}'
	assert_line --index 1 '{"type":"event","protocol":"tk103","uniqueId":"087072009461","attributes":{"charge":true,"ignition":false,"fuel":0,"odometer":0}}'
	run_tk tk-decode -f geojson "$TK_TMP/a.raw"
	assert_output ''
}
