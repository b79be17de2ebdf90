#!/usr/bin/env bats
# tk-listen over UDP on loopback: one datagram = the frame(s), replies to
# the sender's address, per-address sessions.
load test_helper
load listen_helper

@test "tk-listen udp: a datagram becomes frame lines, whitespace trimmed" {
	start_listen
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	printf '\r\n*HQ,4210051415,V1,120000#\r\n' >&5
	wait_out ' frame udp '
	run cat "$TK_TMP/out"
	assert_line --index 0 --regexp ' open udp 127\.0\.0\.1:[0-9]+ 1 - - - -$'
	assert_line --index 1 --regexp ' frame udp 127\.0\.0\.1:[0-9]+ 1 h02 [^ ]+ - \*HQ,4210051415,V1,120000#$'
	# a second datagram from the same address: same session, no new open
	printf '*HQ,4210051415,V2#' >&5
	wait_out ' frame udp .* 1 h02 [^ ]+ - \*HQ,4210051415,V2#$'
	run grep -c ' open udp ' "$TK_TMP/out"
	assert_output 1
	exec 5>&-
	stop_listen
	out_has ' close udp .* 1 h02 [^ ]+ - shutdown$'
}

@test "tk-listen udp: glued frames in one datagram are separate lines; junk is reported" {
	start_listen
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	printf '*HQ,1,A#*HQ,2,B#' >&5
	wait_out ' \*HQ,2,B#$'
	run grep -c ' frame udp ' "$TK_TMP/out"
	assert_output 2
	printf 'no dialect at all, just text that is long enough to decide %040d' 0 >&5
	wait_out ' junk udp .* unknown [^ ]+ - no\\sdialect'
	exec 5>&-
	stop_listen
}

@test "tk-listen udp: an idle peer is closed with reason idle-timeout" {
	start_listen -t 1
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	printf '*HQ,1,A#' >&5
	wait_out ' frame udp '
	TK_WAIT=5 wait_out ' close udp .* idle-timeout$'
	exec 5>&-
	stop_listen
}

@test "tk-listen udp: gps103 heartbeat gets ON and login gets LOAD, sent back to the sender" {
	start_listen
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	printf '359586015829802' >&5
	run recv 5 2
	assert_output "$(hex ON)"
	printf '##,imei:359586015829802,A;' >&5
	run recv 5 4
	assert_output "$(hex LOAD)"
	exec 5>&-
	out_has ' frame udp .* gps103 359586015829802 - 359586015829802$'
	out_has ' send udp .* gps103 359586015829802 - ON$'
	stop_listen
}

@test "tk-listen udp: tk103 BP05 gets AP05 (outer parentheses kept)" {
	start_listen
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	printf '(088047365460BP05354188047365460150929A3258.1754S02755.4323E009.4193927301.9000000000L00000000)' >&5
	run recv 5 18
	assert_output "$(hex '(088047365460AP05)')"
	printf '(027044702512BP00HSO)' >&5
	run recv 5 21
	assert_output "$(hex '(027044702512AP01HSO)')"
	exec 5>&-
	stop_listen
}

@test "tk-listen udp: xexun2 ACK goes back to the sender" {
	start_listen
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	unhex faaf0014000186188105362433500001fffe01faaf >&5
	run recv 5 21
	assert_output faaf0014000186188105362433500001fffe01faaf
	exec 5>&-
	stop_listen
}

@test "tk-listen udp: a device moving to a new address takes over once the old one is silent" {
	start_listen --takeover 1
	login 5 udp
	login 6 udp
	wait_out ' frame udp .* 2 gps103 - conflict=359586015829802 359586015829802;$'
	sleep 1.2
	printf '359586015829802;' >&6
	run recv 6 2
	wait_out ' close udp .* 1 gps103 359586015829802 - replaced$'
	wait_out ' frame udp .* 2 gps103 359586015829802 - 359586015829802;$'
	exec 5>&- 6>&-
	stop_listen
}

@test "tk-listen udp: one spoofed datagram never takes a live TCP session's id" {
	start_listen -S "$TK_TMP/sock"
	login 5
	# the issue's attack: 16 bytes from another address
	login 6 udp
	wait_out ' frame udp .* gps103 - conflict=359586015829802 359586015829802;$'
	# the TCP session stays, and the command goes to it
	run_tk tk-cmd -S "$TK_TMP/sock" -d gps103 359586015829802 locate
	assert_success
	run recv 5 23
	assert_output "$(hex '**,imei:359586015829802')"
	! out_has ' close tcp '
	! out_has ' send udp .*imei'
	exec 5>&- 6>&-
	stop_listen
	grep -q 'identity: 1 session(s) claimed the id of a live session' "$TK_TMP/err"
}
