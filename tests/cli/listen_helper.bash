# Helpers for the tk-listen suites: start the server on a free loopback
# port, talk to it as a device with bash's /dev/tcp and /dev/udp.

# start_listen ARGS...: tk-listen on 127.0.0.1, port 0; sets PORT, LPID.
# stdout goes to $TK_TMP/out (or $OUT if set), stderr to $TK_TMP/err.
start_listen() {
	local out=${OUT:-$TK_TMP/out}
	rm -f "$TK_TMP/port"
	bg tk-listen -b 127.0.0.1 -p 0 --port-file "$TK_TMP/port" "$@" >"$out" 2>"$TK_TMP/err" 7<&-
	LPID=$BG_PID
	wait_for test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
}

# stop_listen: SIGTERM and wait; sets LRC to the exit status.
stop_listen() {
	kill -TERM "$LPID"
	LRC=0
	timeout 10 tail --pid="$LPID" -f /dev/null || kill -KILL "$LPID" 2>/dev/null || true
	wait "$LPID" || LRC=$?
}

# out_has PATTERN: the output has a line matching the extended regex.
out_has() {
	grep -Eq -- "$1" "${OUT:-$TK_TMP/out}"
}

# wait_out PATTERN: wait (bounded) until the output has such a line.
wait_out() {
	wait_for out_has "$1"
}

# login FD [tcp|udp]: open FD to the listener and log a gps103 device
# (359586015829802) in on it; the reply (LOAD over TCP, ON over UDP) is
# checked and consumed.
login() {
	local fd=$1 proto=${2:-tcp}
	eval "exec $fd<>/dev/$proto/127.0.0.1/$PORT"
	if [ "$proto" = tcp ]; then
		printf '##,imei:359586015829802,A;' >&"$fd"
		[ "$(recv "$fd" 4)" = "$(hex LOAD)" ]
	else
		printf '359586015829802;' >&"$fd"
		[ "$(recv "$fd" 2)" = "$(hex ON)" ]
	fi
}

# recv FD N: read N bytes the server sent on FD, as hex (bounded wait).
recv() {
	timeout 3 head -c "$2" <&"$1" | od -An -tx1 -v | tr -d ' \n'
}

# hex STRING: the bytes of STRING as hex (to compare with recv).
hex() {
	printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'
}

# unhex HEX: write the bytes.
unhex() {
	local h=$1 out=''
	while [ -n "$h" ]; do
		out="$out\\x${h:0:2}"
		h=${h:2}
	done
	printf '%b' "$out"
}

# uids_are PID UIDS: real, effective, saved and fs uid, concatenated.
uids_are() {
	[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' /proc/"$1"/status)" = "$2" ]
}

# A sanitizer build reports on stderr: any report fails the test.
teardown_local() {
	no_sanitizer_reports
}

# reap PID: wait (bounded) for a background process; returns its status.
reap() {
	timeout 20 tail --pid="$1" -f /dev/null || kill -KILL "$1" 2>/dev/null || true
	wait "$1"
}

# fifo_listen ARGS...: tk-listen writing into a fifo nobody reads yet;
# the test reads it later on fd 8 (which sees EOF when tk-listen exits).
fifo_listen() {
	mkfifo "$TK_TMP/fifo"
	exec 7<>"$TK_TMP/fifo"		# a reader, so that tk-listen can open it
	OUT=$TK_TMP/fifo start_listen "$@"
	exec 8<"$TK_TMP/fifo"		# tk-listen is the writer now
	exec 7>&-
}
