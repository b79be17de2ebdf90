#!/usr/bin/env bats
# GT06 (Concox binary) end to end: tk-listen answers the login, status and
# alarm packets byte for byte over TCP; tk-decode decodes a capture whose
# session learns its device id from the login.
load test_helper
load listen_helper

# Frames of docs/protocol/gt06.md: login (serial 9), status 0x13 (serial
# 0x01BF), a 0x12 position (serial 3).
LOGIN=78780d01086471700328358100093f040d0a
STATUS=78780a13440604000201bff8f90d0a
GPS=78781f120f0a140e150bc505e51e780293a9e800540000f601006e0055da00035f240d0a

@test "tk-listen: a GT06 login, status and position get their ACKs, byte-exact (TCP)" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	unhex "$LOGIN" >&5
	run recv 5 10
	assert_output 78780501000955940d0a
	# a status glued to a position, in one write
	unhex "$STATUS$GPS" >&5
	run recv 5 20
	assert_output 7878051301bfacdc0d0a787805120003903f0d0a
	exec 5>&-
	wait_out ' close tcp '
	out_has ' frame tcp .* gt06 864717003283581 - '
	out_has ' send tcp .* gt06 864717003283581 - '
	stop_listen
}

@test "tk-decode: a GT06 capture, split and with junk, decodes with the login's id" {
	{ printf 'junk'; unhex "$LOGIN$STATUS$GPS"; } >"$TK_TMP/gt06.raw"
	run_tk tk-decode -P gt06 "$TK_TMP/gt06.raw"
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 0 --partial '"type":"login","protocol":"gt06","uniqueId":"864717003283581"'
	assert_line --index 1 --partial '"uniqueId":"864717003283581"'
	assert_line --index 1 --partial '"batteryLevel":100'
	assert_line --index 2 --partial '"type":"position","protocol":"gt06","uniqueId":"864717003283581"'
	assert_line --index 2 --partial '"fixTime":"2015-10-20T14:21:11.000Z","valid":true,"latitude":54.945347,"longitude":24.017622'
	[[ "$stderr" == *"gt06    3 frames, 3 decoded, 0 rejected"* ]]
}

@test "tk-decode: a GT06 CRC mismatch is decoded and reported as crcValid false" {
	unhex 78780a13440604000201bff8f80d0a >"$TK_TMP/bad.raw"
	run_tk tk-decode -v "$TK_TMP/bad.raw"
	assert_success
	assert_output --partial '"crcValid":false'
	[[ "$stderr" == *"gt06 CRC mismatch"* ]]
}
