#!/usr/bin/env bats
# tk-sim against a real tk-listen on loopback (port 0, read from --port-file):
# replies checked byte for byte, UDP, reconnects, source ranges, misbehaving
# devices.  Every run is bounded by -T and timeout(1).
load test_helper

# start_listen ARGS...: tk-listen on a free port; sets PORT, LISTEN_PID
start_listen() {
	"$TK_BIN/tk-listen" -p 0 --port-file "$TK_TMP/port" "$@" \
		> "$TK_TMP/frames" 2> "$TK_TMP/listen.err" &
	LISTEN_PID=$!
	TK_PIDS="${TK_PIDS:-} $LISTEN_PID"
	wait_for test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
	[ -n "$PORT" ] && [ "$PORT" -gt 0 ]
}

stop_listen() {
	kill -TERM "$LISTEN_PID"
	wait_for sh -c "! kill -0 $LISTEN_PID 2>/dev/null"
}

# json FIELD FILE: a number from --stats-json output
json() {
	sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"
}

sim() {
	run --separate-stderr timeout 30 "$TK_BIN/tk-sim" -p "$PORT" "$@"
}

@test "tk-sim | tk-listen, TCP: every reply right, every frame logged and decoded" {
	start_listen -C 0
	sim -n 20 -d mix -i 0.2 -T 2 --heartbeat 0.5 -a 0.3 --check --stats-json "$TK_TMP/s"
	assert_success
	[[ "$stderr" == *"connected 20 "* ]]
	[[ "$stderr" == *", wrong 0, missing 0"* ]]
	[[ "$stderr" == *"login latency p50 "* ]]
	[ "$(json replies_ok "$TK_TMP/s")" -gt 40 ]
	# the tk103 BP05/BP00, gps103 ##/IMEI;/help me and every xexun2 frame
	[ "$(json replies_missing "$TK_TMP/s")" -eq 0 ]
	stop_listen
	frames=$(json frames "$TK_TMP/s")
	[ "$(grep -c ' frame tcp ' "$TK_TMP/frames")" -eq "$frames" ]
	run_tk tk-decode -s "$TK_TMP/frames"
	assert_success
	[[ "$stderr" == *"$frames frames, $frames decoded, 0 rejected"* ]]
}

@test "tk-sim | tk-listen, UDP: tk103 and gps103 datagrams get their replies" {
	start_listen
	for d in tk103 gps103; do
		sim -u -n 10 -d "$d" -i 0.2 -T 1.5 --heartbeat 0.4 -a 0.3 --check \
			--stats-json "$TK_TMP/s"
		assert_success
		[ "$(json replies_ok "$TK_TMP/s")" -ge 20 ]
	done
	stop_listen
	grep -q ' frame udp .* tk103 ' "$TK_TMP/frames"
	grep -q ' frame udp .* gps103 ' "$TK_TMP/frames"
}

@test "tk-sim --reconnect: new connections from new ports, logging in again" {
	start_listen -C 0
	sim -n 4 -d gps103 --reconnect 0.5 -T 2.2 -i 0.1 --check --stats-json "$TK_TMP/s"
	assert_success
	[ "$(json connects "$TK_TMP/s")" -ge 12 ]
	[ "$(json logins "$TK_TMP/s")" -eq "$(json connects "$TK_TMP/s")" ]
	stop_listen
	[ "$(awk '$2 == "open" { print $4 }' "$TK_TMP/frames" | sort -u | wc -l)" -ge 12 ]
}

@test "tk-sim --source: connections come from every address of the range" {
	start_listen -C 0
	sim -n 9 --source 127.0.0.2-127.0.0.4 -T 0.5 -i 0.1 --check
	assert_success
	stop_listen
	run sh -c "awk '\$2 == \"open\" { split(\$4, a, \":\"); print a[1] }' '$TK_TMP/frames' | sort | uniq -c"
	assert_output --regexp '^ +3 127\.0\.0\.2
 +3 127\.0\.0\.3
 +3 127\.0\.0\.4$'
}

@test "tk-sim --check fails when replies are missing (a server that never answers)" {
	start_listen
	# xexun2 wants an ACK for every frame; a silent peer is simulated by
	# stopping tk-listen (SIGSTOP) after the connections are accepted
	sim -n 2 -d xexun2 -i 0.2 -T 0.3 --grace 0 -q
	assert_success
	kill -STOP "$LISTEN_PID"
	sim -n 2 -d xexun2 -i 0.2 -T 1 --grace 0.5 --check --stats-json "$TK_TMP/s"
	kill -CONT "$LISTEN_PID"
	assert_failure 1
	[ "$(json replies_missing "$TK_TMP/s")" -gt 0 ]
	[[ "$stderr" == *"missing "[1-9]* ]]
}

@test "tk-sim --misbehave: tk-listen survives oversize, random, idle, slow and flood peers" {
	start_listen -C 0 -t 1
	# no delimiter for 1 MiB: past the longest frame the server cuts a gps103
	# or xexun2 connection (a tk103 one has its junk dropped instead)
	for d in gps103 xexun2; do
		sim -n 3 -d "$d" -T 1.5 --misbehave oversize --stats-json "$TK_TMP/s" -q
		assert_success
		[ "$(json closed_by_peer "$TK_TMP/s")" -ge 3 ]
	done
	sim -n 2 -d tk103 -T 1 --misbehave oversize -q
	assert_success
	sim -n 3 -i 0.1 -T 1 --misbehave random -q
	assert_success
	# idle connections are closed by tk-listen -t 1
	sim -n 3 -T 2.5 --misbehave idle --stats-json "$TK_TMP/s" -q
	assert_success
	[ "$(json closed_by_peer "$TK_TMP/s")" -ge 3 ]
	sim -n 2 -T 1 --misbehave slow -q
	assert_success
	sim -n 4 -T 1 --misbehave flood --stats-json "$TK_TMP/s" -q
	assert_success
	[ "$(json connects "$TK_TMP/s")" -ge 100 ]
	# and it still serves a well-behaved device correctly
	sim -n 2 -d mix -i 0.2 -T 1 --check
	assert_success
	kill -0 "$LISTEN_PID"
	stop_listen
}
