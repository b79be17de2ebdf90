#!/usr/bin/env bats
# tk-cmd as a new user types it (issue 16, item 7): options after the
# operands, unknown and offline devices told apart, an offline device's
# dialect known to tk-listen, socket errors that say what to check.
load test_helper

setup_local() {
	SOCK="$TK_TMP/ctl.sock"
	"$TK_BIN/tk-listen" -b 127.0.0.1 -p 0 --port-file "$TK_TMP/port" -S "$SOCK" \
	    >"$TK_TMP/frames" 2>"$TK_TMP/listen.err" 3>&- &
	TK_PIDS="${TK_PIDS:-} $!"
	wait_for test -s "$TK_TMP/port"
	wait_for test -S "$SOCK"
	PORT=$(cat "$TK_TMP/port")
}

# a tk103 device 027044702512 logs in on fd 5
device_in() {
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '(027044702512BP05000027044702512260101A5228.9707N01326.3515E029.4191053285.6701000000L00000000)' >&5
	wait_for grep -q ' frame .*027044702512' "$TK_TMP/frames"
}

@test "tk-cmd: options after the operands are options; a negative number is a parameter" {
	device_in
	# -w after the command: waits (and times out: the device does not answer)
	run_tk tk-cmd -S "$SOCK" 027044702512 locate -w 1
	assert_failure 6
	[[ "$stderr" == *"027044702512: no answer within 1 s"* ]]
	[[ "$stderr" != *"wrong number of parameters"* ]]
	# the command reached the device
	timeout 3 head -c 36 <&5 | grep -q 'AP00'
	# -5 stays a parameter (a time zone), -d after it an option
	run_tk tk-cmd -p -d gps103 359586015829802 timezone -5
	assert_success
	assert_output '**,imei:359586015829802,I,-5'
	run_tk tk-cmd -p 359586015829802 timezone -5 -d gps103
	assert_success
	assert_output '**,imei:359586015829802,I,-5'
	# after --, everything is an operand
	run_tk tk-cmd -p -d gps103 -- 359586015829802 timezone -5
	assert_success
	# a detached -q ttl is named, exit 2
	run_tk tk-cmd -S "$SOCK" -q 3600 -d gps103 359586015829802 locate
	assert_failure 2
	[[ "$stderr" == *"-q 3600: the ttl goes attached to -q (-q3600)"* ]]
}

@test "tk-cmd: an unknown and an offline device are told apart; -q knows an offline device's dialect" {
	run_tk tk-cmd -S "$SOCK" 027044702512 locate
	assert_failure 5
	[[ "$stderr" == *"027044702512: unknown device (never seen by tk-listen)"* ]]
	run_tk tk-cmd -S "$SOCK" -q1h 027044702512 locate
	assert_failure 5
	[[ "$stderr" == *"unknown device"*"give -d DIALECT to queue for it"* ]]
	device_in
	exec 5<&-
	wait_for grep -q ' close .*027044702512' "$TK_TMP/frames"
	run_tk tk-cmd -S "$SOCK" 027044702512 locate
	assert_failure 5
	[[ "$stderr" == *"027044702512: device offline (last heard from 20"*"-q queues"* ]]
	# queued without -d: tk-listen knows it speaks tk103
	run_tk tk-cmd -S "$SOCK" -q1h 027044702512 locate
	assert_success
	assert_output 1
	run_tk tk-cmd -S "$SOCK" -L
	assert_success
	assert_output --regexp '^1 027044702512 [0-9TZ:.-]+ \(027044702512AP00\)$'
}

@test "tk-cmd: a missing or dead control socket says what to check" {
	run_tk tk-cmd -S "$TK_TMP/nosuch.sock" 027044702512 locate
	assert_failure 3
	[[ "$stderr" == *"$TK_TMP/nosuch.sock: No such file or directory (is tk-listen running with -S $TK_TMP/nosuch.sock?)"* ]]
	# a socket file nobody listens on (a tk-listen that was killed)
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$TK_TMP/stale.sock"
	run_tk tk-cmd -S "$TK_TMP/stale.sock" -D
	assert_failure 3
	[[ "$stderr" == *"Connection refused (is tk-listen running with -S $TK_TMP/stale.sock?)"* ]]
}
