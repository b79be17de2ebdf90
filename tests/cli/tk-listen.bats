#!/usr/bin/env bats
# tk-listen over TCP on loopback: frame lines, handshakes per dialect,
# framing across reads, sessions, limits, signals, backpressure.
load test_helper
load listen_helper

@test "tk-listen: -p 0 binds TCP and UDP to the same free port and says so" {
	start_listen
	[[ "$PORT" =~ ^[0-9]+$ ]]
	wait_for grep -q "listening" "$TK_TMP/err"
	grep -qx "tk-listen: listening on tcp 127.0.0.1:$PORT, udp 127.0.0.1:$PORT" "$TK_TMP/err"
	stop_listen
	[ "$LRC" -eq 0 ]
}

@test "tk-listen: frames arrive as tk-frame(5) lines: open, frame, junk, close" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,4210051415,V1,120000#garbage*HQ,4210051415,V2#' >&5
	wait_out ' frame tcp .* h02 [^ ]+ - \*HQ,4210051415,V2#$'
	exec 5>&-
	wait_out ' close tcp '
	run cat "$TK_TMP/out"
	assert_line --index 0 --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z open tcp 127\.0\.0\.1:[0-9]+ 1 - - - -$'
	assert_line --index 1 --regexp ' frame tcp 127\.0\.0\.1:[0-9]+ 1 h02 [^ ]+ - \*HQ,4210051415,V1,120000#$'
	# V1 is answered with V4 and the time (docs/protocol/h02.md)
	assert_line --index 2 --regexp ' send tcp 127\.0\.0\.1:[0-9]+ 1 h02 4210051415 - \*HQ,4210051415,V4,V1,20[0-9]{12}#$'
	assert_line --index 3 --regexp ' junk tcp 127\.0\.0\.1:[0-9]+ 1 h02 4210051415 - garbage$'
	assert_line --index 4 --regexp ' frame tcp .* 1 h02 4210051415 - \*HQ,4210051415,V2#$'
	assert_line --index 5 --regexp ' close tcp .* 1 h02 4210051415 - peer-closed$'
	stop_listen
}

@test "tk-listen: a frame split over reads and frames glued in one read" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,42100' >&5
	sleep 0.2
	printf '51415,V1#*HQ,1,A#*HQ,2,B#' >&5
	wait_out ' \*HQ,2,B#$'
	exec 5>&-
	run grep -c ' frame tcp ' "$TK_TMP/out"
	assert_output 3
	out_has ' frame tcp .* \*HQ,4210051415,V1#$'
	! out_has ' junk '
	stop_listen
}

@test "tk-listen: non-printing bytes are escaped in DATA (vis), binary frames stay whole" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '\x78\x78\x04\x01\x00\x20\x5c\x0d\x0a' >&5
	wait_out ' frame tcp '
	exec 5>&-
	out_has ' frame tcp .* gt06 - - xx\\004\\001\\0\\s\\\\\\r\\n$'
	stop_listen
}

@test "tk-listen: gps103 login gets LOAD, heartbeat gets ON, byte-exact (TCP)" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '##,imei:359586015829802,A;' >&5
	run recv 5 4
	assert_output "$(hex LOAD)"
	printf '359586015829802;' >&5
	run recv 5 2
	assert_output "$(hex ON)"
	exec 5>&-
	wait_out ' close tcp '
	out_has ' frame tcp .* gps103 359586015829802 - ##,imei:359586015829802,A;$'
	out_has ' send tcp .* gps103 359586015829802 - LOAD$'
	out_has ' send tcp .* gps103 359586015829802 - ON$'
	stop_listen
}

@test "tk-listen: tk103 BP00 gets AP01HSO and BP05 gets AP05, byte-exact (TCP)" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '(027044702512BP00HSO)' >&5
	run recv 5 21
	assert_output "$(hex '(027044702512AP01HSO)')"
	printf '(088047365460BP05354188047365460150929A3258.1754S02755.4323E009.4193927301.9000000000L00000000)' >&5
	run recv 5 18
	assert_output "$(hex '(088047365460AP05)')"
	exec 5>&-
	wait_out ' close tcp '
	out_has ' frame tcp .* tk103 027044702512 - \(027044702512BP00HSO\)$'
	stop_listen
}

@test "tk-listen: xexun2 frames get the binary ACK of docs/protocol/xexun2.md (TCP)" {
	# type 0x0014, index 0x0001, IMEI 861881053624335, payload 01
	local frame=faaf0014000186188105362433500001fffe01faaf
	local ack=faaf0014000186188105362433500001fffe01faaf
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	unhex "$frame" >&5
	run recv 5 21
	assert_output "$ack"
	# a command-type frame (0x0007) is not acknowledged
	unhex faaf0007000286188105362433500001fffe01faaf >&5
	wait_out ' frame tcp .* xexun2 861881053624335 - \\372\\257\\0\\a\\0\\002'
	run recv 5 1
	assert_output ''
	exec 5>&-
	stop_listen
}

@test "tk-listen | tk-decode: frame lines decode to JSON" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf 'imei:359586015829802,tracker,1509291533,,F,153328.000,A,3258.1754,S,02755.4323,E,0.00,0;' >&5
	wait_out ' frame tcp '
	exec 5>&-
	stop_listen
	run --separate-stderr timeout 10 "$TK_BIN/tk-decode" -q "$TK_TMP/out"
	assert_success
	assert_output --partial '"uniqueId":"359586015829802"'
	assert_output --partial '"protocol":"gps103"'
}

@test "tk-listen: a second connection claiming a live id is kept apart, never swapped in" {
	start_listen -S "$TK_TMP/sock"
	login 5
	login 6
	# its frame is written with no id, flagged conflict=
	wait_out ' frame tcp .* 2 gps103 - conflict=359586015829802 ##,imei:359586015829802,A;$'
	! out_has ' replaced$'
	# a command goes to the session that holds the id
	run_tk tk-cmd -S "$TK_TMP/sock" -d gps103 359586015829802 locate
	assert_success
	run recv 5 23
	assert_output "$(hex '**,imei:359586015829802')"
	run timeout 1 head -c 1 <&6
	assert_output ''
	! out_has ' send tcp .* 2 gps103 .*imei'
	# the holder hangs up: the contender's next frame takes the id
	exec 5>&-
	wait_out ' close tcp .* 1 gps103 359586015829802 - peer-closed$'
	printf '359586015829802;' >&6
	run recv 6 2
	wait_out ' frame tcp .* 2 gps103 359586015829802 - 359586015829802;$'
	# a frame claiming another id on the new session is flagged
	printf '##,imei:111111111111111,A;' >&6
	wait_out ' frame tcp .* 2 gps103 359586015829802 mismatch=111111111111111 '
	exec 6>&-
	stop_listen
}

@test "tk-listen: --takeover 0: a device reconnecting replaces its session at once" {
	start_listen --takeover 0
	login 5
	login 6
	wait_out ' close tcp .* 1 gps103 359586015829802 - replaced$'
	out_has ' frame tcp .* 2 gps103 359586015829802 - ##,imei:'
	# the old connection is closed by the server: EOF
	run timeout 3 cat <&5
	assert_success
	exec 5>&- 6>&-
	stop_listen
}

@test "tk-listen: --takeover: the holder silent that long, a contender takes over" {
	start_listen --takeover 1 -v
	login 5
	login 6
	wait_out ' 2 gps103 - conflict=359586015829802 '
	sleep 1.2
	printf '359586015829802;' >&6
	run recv 6 2
	wait_out ' close tcp .* 1 gps103 359586015829802 - replaced$'
	wait_out ' frame tcp .* 2 gps103 359586015829802 - 359586015829802;$'
	grep -q 'device 359586015829802: #2 takes over from #1' "$TK_TMP/err"
	exec 5>&- 6>&-
	stop_listen
}

@test "tk-listen: misuse of --takeover exits 2" {
	run_tk tk-listen --takeover -1
	[ "$status" -eq 2 ]
	run_tk tk-listen --takeover x
	[ "$status" -eq 2 ]
}

@test "tk-listen: -t closes an idle connection with reason idle-timeout" {
	start_listen -t 1
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,1,V1#' >&5
	wait_out ' frame tcp '
	TK_WAIT=5 wait_out ' close tcp .* idle-timeout$'
	run timeout 3 cat <&5
	assert_success
	exec 5>&-
	stop_listen
}

@test "tk-listen: an oversize frame closes only that connection (-m)" {
	start_listen -m 64
	exec 5<>/dev/tcp/127.0.0.1/"$PORT" 6<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,2,V1#' >&6
	wait_out ' frame tcp .* 2 h02 '
	printf '*HQ,1,V1,%0200d' 0 >&5
	wait_out ' close tcp .* 1 h02 [^ ]+ - protocol-error$'
	printf '*HQ,2,V2#' >&6
	wait_out ' frame tcp .* 2 h02 [^ ]+ - \*HQ,2,V2#$'
	! out_has ' close tcp .* 2 h02 '
	exec 5>&- 6>&-
	stop_listen
}

@test "tk-listen: bytes of no known dialect close with reason unknown-dialect" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n%0100d' 0 >&5
	wait_out ' close tcp .* unknown-dialect$'
	out_has ' junk tcp .* unknown - - GET'
	exec 5>&-
	stop_listen
}

@test "tk-listen: -c and -C refuse extra connections with reason limit" {
	start_listen -c 1
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,1,V1#' >&5
	wait_out ' frame tcp '
	exec 6<>/dev/tcp/127.0.0.1/"$PORT"
	wait_out ' close tcp .* 2 - - - limit$'
	exec 5>&- 6>&-
	stop_listen
	start_listen -C 1
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,1,V1#' >&5
	wait_out ' frame tcp '
	exec 6<>/dev/tcp/127.0.0.1/"$PORT"
	wait_out ' close tcp .* 2 - - - limit$'
	exec 5>&- 6>&-
	stop_listen
}

@test "tk-listen: SIGTERM flushes everything, closes with reason shutdown, exit 0" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	local i
	for i in $(seq 1 200); do printf '*HQ,%d,V1#' "$i"; done >&5
	wait_out '\*HQ,200,V1#$'
	printf '*HQ,201,unterminated' >&5
	sleep 0.2
	stop_listen
	[ "$LRC" -eq 0 ]
	run grep -c ' frame tcp ' "$TK_TMP/out"
	assert_output 201
	run tail -n 1 "$TK_TMP/out"
	assert_output --regexp ' close tcp .* 1 h02 [^ ]+ - shutdown$'
	# the control socket is removed
	exec 5>&-
}

@test "tk-listen: SIGUSR1 prints counters to stderr and the run goes on" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,1,V1#' >&5
	wait_out ' frame tcp '
	kill -USR1 "$LPID"
	wait_for grep -q 'tk-listen: out_buffer_highwater ' "$TK_TMP/err"
	grep -qx 'tk-listen: frames_h02 1' "$TK_TMP/err"
	grep -qx 'tk-listen: connections_open 1' "$TK_TMP/err"
	grep -q 'tk-listen: udp_drops 0' "$TK_TMP/err"
	grep -q 'tk-listen: replies_sent ' "$TK_TMP/err"
	grep -q 'tk-listen: protocol_errors ' "$TK_TMP/err"
	kill -0 "$LPID"
	exec 5>&-
	stop_listen
	[ "$LRC" -eq 0 ]
}

@test "tk-listen: a slow consumer loses nothing (backpressure)" {
	# the reader starts late: tk-listen must hold the devices back meanwhile,
	# and a device held back longer than -t is not idle
	fifo_listen -B 4096 -t 1
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	local i
	for i in $(seq 1 3000); do printf '*HQ,%d,V2,%0100d#' "$i" 0; done >&5 &
	local wpid=$!
	sleep 2
	# nothing read yet: the pipe (64 KiB) and the 4 KiB buffer are full
	timeout 20 head -n 3001 <&8 >"$TK_TMP/got"
	reap "$wpid"
	exec 5>&-
	run grep -c ' frame tcp ' "$TK_TMP/got"
	assert_output 3000
	grep -q '\*HQ,3000,V2,' "$TK_TMP/got"
	kill -USR1 "$LPID"
	wait_for grep -q 'tk-listen: output_paused' "$TK_TMP/err"
	! grep -q 'tk-listen: out_buffer_highwater 0$' "$TK_TMP/err"
	kill -TERM "$LPID"
	timeout 10 cat <&8 >"$TK_TMP/rest"
	reap "$LPID"
	exec 8<&-
	# the rest: the close line
	run cat "$TK_TMP/rest"
	assert_output --regexp ' close tcp .* 1 h02 [^ ]+ - (peer-closed|idle-timeout|shutdown)$'
}

@test "tk-listen: stdout closed by its reader ends the run with exit 4" {
	fifo_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,1,V1#' >&5
	timeout 5 head -n 2 <&8 >/dev/null
	exec 8<&-
	printf '*HQ,2,V1#' >&5
	local rc=0
	timeout 10 tail --pid="$LPID" -f /dev/null || kill -KILL "$LPID" 2>/dev/null
	wait "$LPID" || rc=$?
	[ "$rc" -eq 4 ]
	grep -q 'broken pipe' "$TK_TMP/err"
	exec 5>&-
}

@test "tk-listen: misuse exits 2" {
	run_tk tk-listen -4 -6
	assert_failure 2
	run_tk tk-listen -p 70000
	assert_failure 2
	run_tk tk-listen -G wheel
	assert_failure 2
	run_tk tk-listen extra
	assert_failure 2
	run_tk tk-listen -B 100
	assert_failure 2
}

@test "tk-listen: a bad bind address is an error, exit 3" {
	run_tk tk-listen -b 999.1.1.1 -p 0
	assert_failure 3
	[[ "$stderr" == *"bind address 999.1.1.1: not a numeric address"* ]]
}

@test "tk-listen: two listeners share one port with --reuseport (SO_REUSEPORT)" {
	start_listen --reuseport
	local first=$LPID
	bg tk-listen -b 127.0.0.1 -p "$PORT" --reuseport >"$TK_TMP/out2" 2>"$TK_TMP/err2"
	wait_for grep -q "listening on tcp 127.0.0.1:$PORT, udp 127.0.0.1:$PORT" "$TK_TMP/err2"
	kill -0 "$BG_PID"
	kill -TERM "$BG_PID"
	reap "$BG_PID"
	LPID=$first
	stop_listen
	[ "$LRC" -eq 0 ]
}

@test "tk-listen: without -b it listens on IPv4 and IPv6 at once" {
	rm -f "$TK_TMP/port"
	bg tk-listen -p 0 --port-file "$TK_TMP/port" >"$TK_TMP/out" 2>"$TK_TMP/err"
	LPID=$BG_PID
	wait_for test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
	grep -qx "tk-listen: listening on tcp 0.0.0.0:$PORT, tcp \[::\]:$PORT, udp 0.0.0.0:$PORT, udp \[::\]:$PORT" "$TK_TMP/err"
	exec 5<>/dev/tcp/127.0.0.1/"$PORT" 6<>/dev/tcp/::1/"$PORT"
	printf '*HQ,4,V1#' >&5
	printf '*HQ,6,V1#' >&6
	wait_out ' frame tcp \[::1\]:[0-9]+ [0-9]+ h02 [^ ]+ - \*HQ,6,V1#$'
	wait_out ' frame tcp 127\.0\.0\.1:[0-9]+ [0-9]+ h02 [^ ]+ - \*HQ,4,V1#$'
	printf '*HQ,7,U#' >/dev/udp/::1/"$PORT"
	wait_out ' frame udp \[::1\]:[0-9]+ [0-9]+ h02 [^ ]+ - \*HQ,7,U#$'
	exec 5>&- 6>&-
	stop_listen
	[ "$LRC" -eq 0 ]
}

@test "tk-listen: -4 and -6 restrict the families" {
	run_tk tk-listen -6 -b 127.0.0.1 -p 0
	assert_failure 3
	[[ "$stderr" == *"not a numeric IPv6 address"* ]]
	rm -f "$TK_TMP/port"
	bg tk-listen -4 -p 0 --port-file "$TK_TMP/port" >"$TK_TMP/out" 2>"$TK_TMP/err"
	LPID=$BG_PID
	wait_for test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
	grep -qx "tk-listen: listening on tcp 0.0.0.0:$PORT, udp 0.0.0.0:$PORT" "$TK_TMP/err"
	stop_listen
}

@test "tk-listen: out of file descriptors, accepting backs off instead of spinning" {
	rm -f "$TK_TMP/port"
	# valgrind keeps descriptors of its own at the top of the limit
	local lim=16
	[ -z "${TK_VALGRIND:-}" ] || lim=64
	(ulimit -n "$lim"; exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec "$TK_BIN/tk-listen" -b 127.0.0.1 -p 0 --port-file "$TK_TMP/port" \
	    >"$TK_TMP/out" 2>"$TK_TMP/err") &
	LPID=$!
	TK_PIDS="${TK_PIDS:-} $LPID"
	wait_for test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
	local i fd fds=()
	for i in $(seq 1 "$lim"); do
		exec {fd}<>/dev/tcp/127.0.0.1/"$PORT"
		fds+=("$fd")
	done
	wait_for grep -q 'accept: Too many open files: pausing for 100 ms' "$TK_TMP/err"
	# not a busy loop: well under a tenth of a CPU second over half a second
	local t0 t1
	t0=$(awk '{print $14 + $15}' /proc/"$LPID"/stat)
	sleep 0.5
	t1=$(awk '{print $14 + $15}' /proc/"$LPID"/stat)
	[ $((t1 - t0)) -lt 10 ]
	# free descriptors (every connection but the last, so however many
	# the listener held, the last fits): the waiting ones are accepted
	for ((i = 0; i < lim - 1; i++)); do fd=${fds[$i]}; exec {fd}>&-; done
	printf '*HQ,25,V1#' >&"${fds[lim - 1]}"
	wait_out ' frame tcp .* \*HQ,25,V1#$' || {
		echo "descriptors held: $(ls /proc/"$LPID"/fd | wc -l)"
		grep -c ' open tcp ' "$TK_TMP/out"
		grep -c ' close tcp ' "$TK_TMP/out"
		tail -n 5 "$TK_TMP/out"
		cat "$TK_TMP/err"
		return 1
	} >&2
	fd=${fds[lim - 1]}; exec {fd}>&-
	stop_listen
	[ "$LRC" -eq 0 ]
}

@test "tk-listen: -u drops privileges after binding (root only; otherwise refused)" {
	if [ "$(id -u)" -eq 0 ]; then
		start_listen -u nobody -S "$TK_TMP/ctl"
		local n
		n=$(id -u nobody)
		wait_for uids_are "$LPID" "$n$n$n$n"
		exec 5<>/dev/tcp/127.0.0.1/"$PORT"
		printf '*HQ,1,V1#' >&5
		wait_out ' frame tcp '
		exec 5>&-
		stop_listen
		[ "$LRC" -eq 0 ]
	else
		run_tk tk-listen -b 127.0.0.1 -p 0 -u nobody
		assert_failure 3
		[[ "$stderr" == *"dropping privileges"* ]]
	fi
}

@test "tk-listen: UDP datagrams that cannot be buffered are counted and reported" {
	fifo_listen -B 4096 -v
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	local i
	# fill the pipe and the buffer: nobody reads the fifo yet
	for i in $(seq 1 1500); do printf '*HQ,%d,V1,%0100d#' "$i" 0 >&5; done
	wait_for grep -q 'tk-listen: udp: .* datagram(s) dropped: output buffer full' "$TK_TMP/err"
	kill -USR1 "$LPID"
	wait_for grep -q 'tk-listen: udp_drops ' "$TK_TMP/err"
	local drops got
	drops=$(awk '$2 == "udp_drops" {print $3}' "$TK_TMP/err" | tail -n 1)
	[ "$drops" -gt 0 ]
	kill -TERM "$LPID"
	timeout 10 cat <&8 >"$TK_TMP/got"
	exec 8<&- 5>&-
	reap "$LPID"
	# -v prints the final counters at exit
	drops=$(awk '$2 == "udp_drops" {print $3}' "$TK_TMP/err" | tail -n 1)
	# every datagram is either a frame line or counted as dropped
	got=$(grep -c ' frame udp ' "$TK_TMP/got")
	[ $((got + drops)) -eq 1500 ]
}

@test "tk-listen: gps103 and tk103 frames split across reads and glued in one read" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT" 6<>/dev/tcp/127.0.0.1/"$PORT"
	# gps103: a heartbeat glued to a report, then a report split in three
	printf '359586015829802;imei:359586015829802,tracker,1509291533,,F,153328.000,A,3258.1754,S,02755.4323,E,0.00,0;imei:3595860' >&5
	sleep 0.2
	printf '15829802,tracker,1509291534,,F,153329.000,A,3258.17' >&5
	sleep 0.2
	printf '54,S,02755.4323,E,0.00,0;' >&5
	run recv 5 2
	assert_output "$(hex ON)"
	# tk103: two frames in one write, then one split inside its id
	printf '(027044702512BP00HSO)(027044702512BP05000027044702512080525A2934.0133N10627.2544E000.0141830309.6200000000L0000024F)(0270447' >&6
	sleep 0.2
	printf '02512BR00080525A2934.0133N10627.2544E000.0141830309.6200000000L0000024F)' >&6
	run recv 6 39
	assert_output "$(hex '(027044702512AP01HSO)(027044702512AP05)')"
	wait_out ' frame tcp .* tk103 027044702512 - \(027044702512BR00080525'
	wait_out ' frame tcp .* gps103 359586015829802 - imei:359586015829802,tracker,1509291534,'
	exec 5>&- 6>&-
	stop_listen
	run grep -c ' frame tcp .* gps103 ' "$TK_TMP/out"
	assert_output 3
	run grep -c ' frame tcp .* tk103 ' "$TK_TMP/out"
	assert_output 3
	! out_has ' junk '
	run --separate-stderr timeout 10 "$TK_BIN/tk-decode" -q "$TK_TMP/out"
	assert_success
	run grep -c '"type":"position"' <<<"$output"
	assert_output 4
}

@test "tk-listen: -S makes a 0600 control socket (0660 and the group with -G), removed at exit" {
	start_listen -S "$TK_TMP/ctl"
	wait_for test -S "$TK_TMP/ctl"
	[ "$(stat -c %a "$TK_TMP/ctl")" = 600 ]
	# a second listener may not take over a live control socket
	run_tk tk-listen -b 127.0.0.1 -p 0 -S "$TK_TMP/ctl"
	assert_failure 3
	[[ "$stderr" == *"another tk-listen is using it"* ]]
	stop_listen
	[ "$LRC" -eq 0 ]
	[ ! -e "$TK_TMP/ctl" ]
	start_listen -S "$TK_TMP/ctl" -G "$(id -gn)"
	wait_for test -S "$TK_TMP/ctl"
	[ "$(stat -c '%a %g' "$TK_TMP/ctl")" = "660 $(id -g)" ]
	# killed hard, it leaves the socket behind: the next run replaces it
	kill -KILL "$LPID"
	reap "$LPID" || true
	[ -S "$TK_TMP/ctl" ]
	start_listen -S "$TK_TMP/ctl"
	wait_for grep -q listening "$TK_TMP/err"
	[ "$(stat -c %a "$TK_TMP/ctl")" = 600 ]
	stop_listen
	# a path that is not a socket is never removed
	: >"$TK_TMP/file"
	run_tk tk-listen -b 127.0.0.1 -p 0 -S "$TK_TMP/file"
	assert_failure 3
	[ -f "$TK_TMP/file" ]
}

@test "tk-listen: xexun reports arrive as frames and get no reply (TCP and UDP)" {
	local f='GPRMC,150120.000,A,3346.4463,S,15057.3083,E,0.0,117.4,010911,,,A*76,F,imei:351525010943661,'
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '%s\r\n%s\r\n' "$f" "$f" >&5
	wait_out ' frame tcp .* xexun 351525010943661 '
	run recv 5 1
	assert_output ''
	# the same device over UDP once its TCP session is gone
	exec 5>&-
	wait_out ' close tcp '
	printf '%s\r\n' "$f" >/dev/udp/127.0.0.1/"$PORT"
	wait_out ' frame udp .* xexun 351525010943661 '
	stop_listen
	! out_has ' send '
	run --separate-stderr timeout 10 "$TK_BIN/tk-decode" -q "$TK_TMP/out"
	assert_success
	run grep -c '"protocol":"xexun"' <<<"$output"
	assert_output 3
}

@test "tk-listen: alarms are acknowledged (gps103 help me, tk103 BO01)" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf 'imei:100000000000000,help me,1004171910,,F,010203.000,A,0102.0003,N,00102.0003,E,1.02,;' >&5
	run recv 5 26
	assert_output "$(hex '**,imei:100000000000000,E;')"
	exec 5>&- 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '(013612345678BO012061830A2934.0133N10627.2544E040.0080331309.6200000000L000770AD)' >&5
	run recv 5 19
	assert_output "$(hex '(013612345678AS012)')"
	exec 5>&-
	stop_listen
	out_has ' send tcp .* gps103 100000000000000 - \*\*,imei:100000000000000,E;$'
	out_has ' send tcp .* tk103 013612345678 - \(013612345678AS012\)$'
}

@test "tk-listen | tk-decode: a live pipe gives JSON as devices report" {
	mkfifo "$TK_TMP/pipe"
	bg tk-decode -q "$TK_TMP/pipe" >"$TK_TMP/json"
	local dpid=$BG_PID
	OUT=$TK_TMP/pipe start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '##,imei:359586015829802,A;' >&5
	run recv 5 4
	printf 'imei:359586015829802,tracker,1509291533,,F,153328.000,A,3258.1754,S,02755.4323,E,0.00,0;' >&5
	# the record comes out while tk-listen is still running
	wait_for grep -q '"latitude":-32.96959' "$TK_TMP/json"
	kill -0 "$LPID"
	exec 5>&-
	stop_listen
	[ "$LRC" -eq 0 ]
	reap "$dpid"
	grep -q '"uniqueId":"359586015829802"' "$TK_TMP/json"
}
