#!/usr/bin/env bats
# tk-cmd end to end on loopback: tk-listen with a control socket, tk-sim
# devices that answer commands (through tk_cmd_recognize), tk-cmd sending,
# waiting for answers, queueing and cancelling.
load test_helper

setup_local() {
	SOCK="$TK_TMP/ctl.sock"
}

# start_listen: tk-listen on a free port with a control socket; its frame
# lines go to $TK_TMP/frames.
start_listen() {
	"$TK_BIN/tk-listen" -p 0 --port-file "$TK_TMP/port" -S "$SOCK" >"$TK_TMP/frames" 2>"$TK_TMP/listen.err" 3>&- &
	LISTEN_PID=$!
	TK_PIDS="${TK_PIDS:-} $LISTEN_PID"
	wait_for test -s "$TK_TMP/port"
	wait_for test -S "$SOCK"
	PORT=$(cat "$TK_TMP/port")
}

# start_sim DIALECT [tk-sim options]: one device, reporting every second.
start_sim() {
	local d=$1; shift
	"$TK_BIN/tk-sim" -q -d "$d" -p "$PORT" -i 1 -T 60 --heartbeat 0 "$@" >/dev/null 2>&1 3>&- &
	SIM_PID=$!
	TK_PIDS="${TK_PIDS:-} $SIM_PID"
}

# dev_id DIALECT: the device id tk-listen learned (from its frame lines).
has_dev() {
	awk -v d="$1" '$2 == "frame" && $6 == d && $7 != "-" { f = 1 } END { exit !f }' "$TK_TMP/frames"
}
dev_id() {
	wait_for has_dev "$1" || return 1
	awk -v d="$1" '$2 == "frame" && $6 == d && $7 != "-" { print $7; exit }' "$TK_TMP/frames"
}

# e2e DIALECT COMMAND... with -w: the answer must come back as JSON.
answered() {
	local d=$1; shift
	local id
	id=$(dev_id "$d")
	run_tk tk-cmd -S "$SOCK" -w 5 "$id" "$@"
	assert_success
	assert_output --partial "\"uniqueId\":\"$id\""
	assert_output --partial "\"protocol\":\"$d\""
}

@test "tk103 over TCP: locate, engine-stop, reboot, track, version answered through -w" {
	start_listen
	start_sim tk103
	answered tk103 locate
	assert_output --partial '"type":"position"'
	answered tk103 engine-stop
	assert_output --partial '"type":"reply"'
	# the raw answer frame is (<id>BV010)
	assert_output --partial "$(printf '%s' "BV010" | od -An -tx1 | tr -d ' \n')"
	answered tk103 reboot
	answered tk103 track 30s
	answered tk103 version
	# tk-listen logged what was sent
	grep -q " send tcp .*AV010)" "$TK_TMP/frames"
}

@test "tk103 over UDP: engine-resume answered" {
	start_listen
	start_sim tk103 -u
	answered tk103 engine-resume
	grep -q " send udp .*AV011)" "$TK_TMP/frames"
}

@test "tk103 alternative syntax: the ZC03 result answers" {
	start_listen
	start_sim tk103
	local id
	id=$(dev_id tk103)
	run_tk tk-cmd -S "$SOCK" -a -w 5 "$id" status
	assert_success
	assert_output --partial '"result":"status OK"'
}

@test "gps103 over TCP: locate and engine-stop answered" {
	start_listen
	start_sim gps103
	answered gps103 locate
	assert_output --partial '"type":"position"'
	answered gps103 engine-stop
	grep -q " send tcp .*imei:[0-9]*,J" "$TK_TMP/frames"
}

@test "gps103 over UDP: arm answered" {
	start_listen
	start_sim gps103 -u
	answered gps103 arm
	grep -q " send udp .*imei:[0-9]*,L" "$TK_TMP/frames"
}

@test "xexun over TCP: engine-stop, the next report answers" {
	start_listen
	start_sim xexun
	answered xexun engine-stop
	grep -q " send tcp .*powercar123456\\\\s11" "$TK_TMP/frames"
}

@test "xexun2 over TCP: reboot answered by a type 0x0007 frame" {
	start_listen
	start_sim xexun2
	answered xexun2 reboot
	assert_output --partial '"type":"reply"'
	assert_output --partial '"result":"OK"'
}

@test "send without -w: exit 0; the device gets it" {
	start_listen
	start_sim tk103
	local id
	id=$(dev_id tk103)
	run_tk tk-cmd -S "$SOCK" "$id" output 1 on
	assert_success
	[ -z "$output" ]
	wait_for grep -q " send tcp .*AV001)" "$TK_TMP/frames"
	# the simulated device answered it
	wait_for grep -q " frame tcp .*BV001)" "$TK_TMP/frames"
}

@test "unknown device: exit 5" {
	start_listen
	run_tk tk-cmd -S "$SOCK" -d tk103 999999999999 locate
	assert_failure 5
	[[ "$stderr" == *"unknown device"* ]]
	# without -d the dialect is asked of tk-listen: not online, exit 5
	run_tk tk-cmd -S "$SOCK" 999999999999 locate
	assert_failure 5
}

@test "offline device: exit 5" {
	start_listen
	start_sim tk103
	local id
	id=$(dev_id tk103)
	kill "$SIM_PID"
	timeout 10 tail --pid="$SIM_PID" -f /dev/null || kill -KILL "$SIM_PID" 2>/dev/null
	wait "$SIM_PID" 2>/dev/null || true
	wait_for grep -q " close tcp " "$TK_TMP/frames"
	run_tk tk-cmd -S "$SOCK" -d tk103 "$id" locate
	assert_failure 5
	[[ "$stderr" == *"offline"* ]]
}

@test "no answer in time: exit 6" {
	start_listen
	start_sim tk103
	local id
	id=$(dev_id tk103)
	# the device hangs: the connection stays open, nothing answers
	kill -STOP "$SIM_PID"
	run_tk tk-cmd -S "$SOCK" -w 1 "$id" locate
	kill -CONT "$SIM_PID"
	assert_failure 6
	[[ "$stderr" == *"no answer within 1 s"* ]]
}

@test "custom text: the device's next non-routine frame answers" {
	start_listen
	start_sim tk103
	answered tk103 custom AP12
	assert_output --partial "\"type\":\"reply\""
	wait_for grep -q " frame tcp .*BP12)" "$TK_TMP/frames"
}

@test "queued command: listed, delivered when the device reconnects, then gone" {
	start_listen
	start_sim gps103
	local id
	id=$(dev_id gps103)
	kill "$SIM_PID"
	timeout 10 tail --pid="$SIM_PID" -f /dev/null || kill -KILL "$SIM_PID" 2>/dev/null
	wait "$SIM_PID" 2>/dev/null || true
	wait_for grep -q " close tcp " "$TK_TMP/frames"
	run_tk tk-cmd -S "$SOCK" -q600 -d gps103 "$id" engine-stop
	assert_success
	local qid=$output
	[[ "$qid" =~ ^[0-9]+$ ]]
	run_tk tk-cmd -S "$SOCK" -L
	assert_success
	assert_output --regexp "^$qid $id [0-9T:.-]+Z \*\*,imei:$id,J$"
	run_tk tk-cmd -S "$SOCK" -L "$id"
	assert_output --partial "$qid $id "
	# the device comes back: the command is delivered and answered
	start_sim gps103
	wait_for grep -q " send tcp .*imei:$id,J" "$TK_TMP/frames"
	wait_for grep -q " frame tcp .*imei:$id,jt," "$TK_TMP/frames"
	run_tk tk-cmd -S "$SOCK" -L
	assert_success
	[ -z "$output" ]
}

@test "queued command cancelled: gone; cancelling again is exit 1" {
	start_listen
	run_tk tk-cmd -S "$SOCK" -q -d tk103 027044702512 reboot
	assert_success
	local qid=$output
	run_tk tk-cmd -S "$SOCK" -C "$qid"
	assert_success
	run_tk tk-cmd -S "$SOCK" -L
	[ -z "$output" ]
	run_tk tk-cmd -S "$SOCK" -C "$qid"
	assert_failure 1
}

@test "queue for an online device sends at once" {
	start_listen
	start_sim tk103
	local id
	id=$(dev_id tk103)
	run_tk tk-cmd -S "$SOCK" -q "$id" reboot
	assert_success
	[ -z "$output" ]
	wait_for grep -q " send tcp .*AT00)" "$TK_TMP/frames"
}

@test "tk-cmd -D lists the online devices and -T reads tk-listen's counters" {
	start_listen
	start_sim gps103
	id=$(dev_id gps103)
	run_tk tk-cmd -S "$SOCK" -D
	assert_success
	assert_output --regexp "^$id gps103 tcp 127\.0\.0\.1:[0-9]+ [0-9]+ 20[0-9-]+T[0-9:.]+Z 20[0-9-]+T[0-9:.]+Z [0-9]+$"
	run_tk tk-cmd -S "$SOCK" -T
	assert_success
	run grep -E '^frames_total [1-9][0-9]*$' <<<"$output"
	assert_success
	run_tk tk-cmd -S "$SOCK" -T
	assert_output --partial "connections_open 1"
	run_tk tk-cmd -S "$SOCK" -D extra
	assert_failure 2
	run_tk tk-cmd -D
	assert_failure 2
}
