#!/usr/bin/env bats
# tk-listen tells systemd it is ready (Type=notify): the $NOTIFY_SOCKET
# datagram protocol of sd_notify(3), received here by a small python3
# unix datagram socket, as systemd's manager would.
load test_helper
load listen_helper
load nats_helper

# notify_server ADDRESS OUT: receive datagrams on ADDRESS (a path, or @name in
# the abstract namespace) into OUT, one per line, for at most 20 s (teardown
# stops it sooner); returns once it is bound.
notify_server() {
	python3 -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + a[1:] if a.startswith("@") else a)
open(sys.argv[2] + ".bound", "w").close()
s.settimeout(20)
with open(sys.argv[2], "a") as f:
    try:
        while True:
            f.write(s.recv(4096).decode() + "\n")
            f.flush()
    except socket.timeout:
        pass
' "$1" "$2" &
	TK_PIDS="${TK_PIDS:-} $!"
	wait_for test -e "$2.bound"
}

@test "tk-listen: READY=1 once bound, STOPPING=1 at SIGTERM, on NOTIFY_SOCKET" {
	notify_server "$TK_TMP/notify.sock" "$TK_TMP/states"
	NOTIFY_SOCKET=$TK_TMP/notify.sock bg tk-listen -b 127.0.0.1 -p 0 \
	    --port-file "$TK_TMP/port" >"$TK_TMP/out" 2>"$TK_TMP/err" 7<&-
	LPID=$BG_PID
	wait_for grep -qx 'READY=1' "$TK_TMP/states"
	# ready means bound: the port file is there and a device is served
	# at once, without waiting for anything else
	test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
	login 5
	exec 5>&-
	stop_listen
	[ "$LRC" -eq 0 ]
	wait_for grep -qx 'STOPPING=1' "$TK_TMP/states"
	[ "$(cat "$TK_TMP/states")" = "$(printf 'READY=1\nSTOPPING=1')" ]
	# nothing to say about the notification on stderr
	run ! grep -q NOTIFY_SOCKET "$TK_TMP/err"
}

@test "tk-listen: an abstract NOTIFY_SOCKET; one that cannot be reached is a warning" {
	name="@tk-notify-$$-$RANDOM"
	notify_server "$name" "$TK_TMP/abstract"
	NOTIFY_SOCKET=$name start_listen
	wait_for grep -qx 'READY=1' "$TK_TMP/abstract"
	stop_listen
	[ "$LRC" -eq 0 ]
	wait_for grep -qx 'STOPPING=1' "$TK_TMP/abstract"
	# nobody at the path: tk-listen says so and serves anyway
	NOTIFY_SOCKET=$TK_TMP/nobody.sock start_listen
	login 5
	exec 5>&-
	stop_listen
	[ "$LRC" -eq 0 ]
	grep -q "NOTIFY_SOCKET $TK_TMP/nobody.sock: No such file or directory" "$TK_TMP/err"
	# not run by systemd: nothing said, nothing sent
	unset NOTIFY_SOCKET
	start_listen
	stop_listen
	[ "$LRC" -eq 0 ]
	run ! grep -q NOTIFY_SOCKET "$TK_TMP/err"
}

@test "tk-listen --nats: READY=1 only once the stream is reached (the bus down at start)" {
	notify_server "$TK_TMP/notify.sock" "$TK_TMP/states"
	# the server's port is chosen, nobody serves it yet: tk-listen binds
	# its own port and retries the bus, not ready
	p=$(free_port)
	NATS_URLS=nats://127.0.0.1:$p
	NOTIFY_SOCKET=$TK_TMP/notify.sock listen_nats a
	TK_WAIT=$(( ${TK_WAIT:-5} + 5 )) wait_for grep -q 'no server reachable' "$TK_TMP/err.a"
	[ ! -s "$TK_TMP/states" ]
	NATS_ARGS1="-p $p"
	nats_up 1 $NATS_ARGS1
	TK_WAIT=$(( ${TK_WAIT:-5} + 25 )) wait_for grep -qx 'READY=1' "$TK_TMP/states"
	# ready: the stream exists, a frame goes into it
	PORT=$PORT_a
	login 5
	exec 5>&-
	TK_WAIT=$(( ${TK_WAIT:-5} + 5 )) wait_for acked_all a
	stream_frames d1 >"$TK_TMP/stream"
	grep -q 359586015829802 "$TK_TMP/stream"
	kill -TERM "$PID_a"
	reap "$PID_a"
	wait_for grep -qx 'STOPPING=1' "$TK_TMP/states"
	[ "$(cat "$TK_TMP/states")" = "$(printf 'READY=1\nSTOPPING=1')" ]
}
