#!/usr/bin/env bats
# GT06 (Concox binary) end to end: tk-listen answers the login, status and
# alarm packets byte for byte over TCP; tk-decode decodes a capture whose
# session learns its device id from the login; tk-cmd sends 0x80 commands
# through tk-listen and -w prints the 0x15/0x21 answer.
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

# gt06_cmd TEXT: the 0x80 frame the wire reference gives for a command
# text (server flag 0, serial 0, CRC-16/X-25 over length .. serial), as
# hex; computed here, independently of lib/.
gt06_cmd() {
	python3 - "$1" <<'PY'
import sys
t = sys.argv[1].encode()
body = bytes([len(t) + 10, 0x80, len(t) + 4, 0, 0, 0, 0]) + t + b"\0\0"
crc = 0xFFFF
for b in body:
    crc ^= b
    for _ in range(8):
        crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
crc ^= 0xFFFF
print((b"\x78\x78" + body + crc.to_bytes(2, "big") + b"\r\n").hex())
PY
}

# recv_cmd FD N: as recv, but waits as long as wait_for (tk-cmd starts
# under valgrind in CI before its bytes arrive)
recv_cmd() {
	timeout "${TK_WAIT:-5}" head -c "$2" <&"$1" | od -An -tx1 -v | tr -d ' \n'
}

# answers of real units (vectors/gt06.tsv): 0x15 "Cut off the fuel supply:
# Success!", 0x21 (79 79) "Current position!Lat:N54.739332,...", and a 0x15
# whose command length is 0 and whose text is NUL padded ("DYD=Success!")
ANS_STOP=78782d152500000000437574206f666620746865206675656c20737570706c793a2053756363657373210002013b898a0d0a
ANS_WHERE=7979007121000000000143757272656e7420706f736974696f6e214c61743a4e35342e3733393333322c4c6f6e3a4532352e3237333237302c436f757273653a3132362e35332c53706565643a302e303030302c4461746554696d653a323031372d30352d3236202031303a32373a3437000bbee30d0a
ANS_DYD=7878661500000000004459443d537563636573732100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010009e82b0d0a

@test "tk-cmd -w gt06: engine-stop and locate go out as 0x80 frames, the 0x15/0x21 answers come back with result" {
	[ "$(gt06_cmd 'Relay,1#')" = 787812800c0000000052656c61792c312300009dee0d0a ]
	start_listen -S "$TK_TMP/ctl"
	wait_for test -S "$TK_TMP/ctl"
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	unhex "$LOGIN" >&5
	run recv 5 10
	assert_output 78780501000955940d0a
	wait_out ' frame tcp .* gt06 864717003283581 '

	# the dialect is asked of tk-listen: no -d
	bg tk-cmd -S "$TK_TMP/ctl" -w 10 864717003283581 engine-stop >"$TK_TMP/ans1"
	local cpid=$BG_PID
	run recv_cmd 5 23
	assert_output "$(gt06_cmd 'Relay,1#')"
	unhex "$ANS_STOP" >&5
	reap "$cpid"
	run recv 5 10		# tk-listen acknowledges the 0x15 like any 78 78 packet
	assert_output 78780515013bb8290d0a
	run cat "$TK_TMP/ans1"
	assert_line --index 0 --partial '"type":"reply","protocol":"gt06","uniqueId":"864717003283581"'
	assert_output --partial '"result":"Cut off the fuel supply: Success!"'
	[ "${#lines[@]}" -eq 1 ]

	bg tk-cmd -S "$TK_TMP/ctl" -w 5 864717003283581 locate >"$TK_TMP/ans2"
	cpid=$BG_PID
	run recv_cmd 5 21
	assert_output "$(gt06_cmd 'WHERE#')"
	# a position report first: not the answer; then the 0x21 text
	unhex "$GPS$ANS_WHERE" >&5
	reap "$cpid"
	run recv 5 10		# the position's ACK; a 0x21 gets none
	assert_output 787805120003903f0d0a
	run cat "$TK_TMP/ans2"
	assert_output --partial '"type":"position","protocol":"gt06","uniqueId":"864717003283581"'
	assert_output --partial '"latitude":54.739332,"longitude":25.27327'
	assert_output --partial '"result":"Current position!Lat:N54.739332,Lon:E25.273270,'
	[ "${#lines[@]}" -eq 1 ]

	# the alternative set with a password; the padded answer's text ends
	# at its first NUL
	bg tk-cmd -S "$TK_TMP/ctl" -a -d gt06 -P 000000 -w 5 864717003283581 engine-stop \
	    >"$TK_TMP/ans3"
	cpid=$BG_PID
	run recv_cmd 5 26
	assert_output "$(gt06_cmd 'DYD,000000#')"
	unhex "$ANS_DYD" >&5
	reap "$cpid"
	run cat "$TK_TMP/ans3"
	assert_output --partial '"result":"DYD=Success!"}'
	exec 5>&-
	stop_listen
}

@test "tk-cmd gt06: -p prints the frame; what gt06 cannot say is refused" {
	run sh -c "'$TK_BIN/tk-cmd' -p -R -d gt06 1 track 5m | od -An -tx1 -v | tr -d ' \n'"
	assert_success
	assert_output "$(gt06_cmd 'TIMER,300#')"
	run_tk tk-cmd -p -d gt06 1 custom "$(printf 'A%.0s' {1..241})"
	assert_failure 2
	[[ "$stderr" == *"longer than 240"* ]]
	run_tk tk-cmd -p -d gt06 1 set-server 192.0.2.7 5023
	assert_failure 2
	[[ "$stderr" == *"gt06 does not support set-server; it supports: locate, track,"* ]]
	run_tk tk-cmd -p -a -d gt06 1 locate
	assert_failure 2
	[[ "$stderr" == *"gt06-alt does not support locate"* ]]
}
