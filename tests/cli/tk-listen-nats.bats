#!/usr/bin/env bats
# tk-listen --nats into real nats-server processes (one node, and a 3-node
# JetStream cluster with an R3 stream) on free loopback ports; tk-sim
# devices; tk-decode --nats workers.  Every wait is bounded; teardown kills
# every process started (TK_PIDS).
load test_helper
load listen_helper
load nats_helper

# the -T of the simulator runs, shorter under valgrind
SIM_T=3
[ -n "${TK_VALGRIND:-}" ] && SIM_T=2

json() {
	sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"
}

# sim NAME ARGS...: tk-sim against listener NAME, stats in $TK_TMP/sim.NAME
sim_to() {
	local n=$1 port; shift
	eval "port=\$PORT_$n"
	timeout 60 "$TK_BIN/tk-sim" -p "$port" -q --stats-json "$TK_TMP/sim.$n" "$@"
}

@test "without --reuseport a second tk-listen on a port in use exits 3; with it both serve" {
	start_listen
	run_tk tk-listen -b 127.0.0.1 -p "$PORT"
	assert_failure 3
	[[ "$stderr" == *"Address already in use"* ]]
	stop_listen
	OUT=$TK_TMP/out1 start_listen --reuseport
	run timeout 2 "$TK_BIN/tk-listen" -b 127.0.0.1 -p "$PORT" --reuseport
	[ "$status" -eq 124 ]	# still serving when timeout stopped it
}

@test "--nats options: misuse exits 2" {
	run_tk tk-listen --nats-replicas 3
	assert_failure 2
	run_tk tk-listen --nats nats://127.0.0.1:1 --nats-replicas 9
	assert_failure 2
	run_tk tk-decode --nats nats://127.0.0.1:1
	assert_failure 2
	[[ "$stderr" == *"--durable"* ]]
	run_tk tk-decode --durable w
	assert_failure 2
	run_tk tk-decode --nats nats://127.0.0.1:1 --durable w --partition 3/2
	assert_failure 2
}

@test "one node: every frame is in the stream exactly once, acknowledged, counted" {
	nats_single
	listen_nats a
	sim_to a -n 20 -d mix -i 0.2 -T "$SIM_T" --check
	wait_for acked_all a
	sent=$(json frames "$TK_TMP/sim.a")
	[ "$sent" -gt 50 ]
	stream_frames d1 >"$TK_TMP/stream"
	[ "$(wc -l <"$TK_TMP/stream")" -eq "$sent" ]
	[ "$(stat_of a nats_acked)" -ge "$sent" ]
	[ "$(stat_of a out_lines_lost)" -eq 0 ]
	# stdout carries nothing with --nats
	[ ! -s "$TK_TMP/out.a" ]
	grep -q "nats: connected to $NATS_URL" "$TK_TMP/err.a"
	# the worker resumes: nothing left for the same durable
	stream_frames d1 >"$TK_TMP/stream2"
	[ ! -s "$TK_TMP/stream2" ]
}

@test "xexun2: the ACK waits for the stream (held while the bus is down, sent after)" {
	nats_single
	nats_stop 1
	listen_nats a
	grep -q "no server reachable" "$TK_TMP/err.a"
	sim_to a -n 3 -d xexun2 -i 0.3 -T 1.5 --grace 0.5 || true
	# reports arrived, no ACK went out
	[ "$(stat_of a frames_xexun2)" -gt 0 ]
	[ "$(stat_of a replies_waiting)" -gt 0 ]
	[ "$(json replies_ok "$TK_TMP/sim.a")" -eq 0 ]
	nats_restart 1
	wait_for acked_all a
	[ "$(stat_of a replies_waiting)" -eq 0 ]
	# the devices had gone: their ACKs were dropped (they resend), none lost in the stream
	stream_frames d1 >"$TK_TMP/stream"
	[ "$(wc -l <"$TK_TMP/stream")" -eq "$(json frames "$TK_TMP/sim.a")" ]
	# with the bus up the ACK comes after the stream's, every one
	sim_to a -n 3 -d xexun2 -i 0.3 -T 1.5 --check
	[ "$(json replies_ok "$TK_TMP/sim.a")" -gt 0 ]
	[ "$(json replies_missing "$TK_TMP/sim.a")" -eq 0 ]
}

@test "all nodes down for 5 s: TCP devices back-pressured, nothing lost, the flow resumes" {
	nats_single
	listen_nats a -B 16k
	sim_to a -n 20 -d tk103 -i 0.05 -T 9 --heartbeat 0 &
	SIM=$!
	sleep 1.5
	nats_kill 1
	sleep 2
	[ "$(stat_of a nats_connected)" -eq 0 ]
	[ "$(stat_of a output_paused)" -eq 1 ]
	sleep 3
	nats_restart 1
	wait "$SIM"
	TK_WAIT=30 wait_for acked_all a
	sent=$(json frames "$TK_TMP/sim.a")
	stream_frames d1 >"$TK_TMP/stream"
	[ "$(wc -l <"$TK_TMP/stream")" -eq "$sent" ]
	# the state changes, said once each
	[ "$(grep -c 'nats: disconnected' "$TK_TMP/err.a")" -eq 1 ]
	[ "$(grep -c 'nats: reconnected to' "$TK_TMP/err.a")" -eq 1 ]
	[ "$(stat_of a udp_drops)" -eq 0 ]
}

@test "3-node cluster, R3: two listeners, a node killed -9 mid-run: every frame exactly once" {
	nats_cluster
	listen_nats a --nats-replicas 3
	listen_nats b --nats-replicas 3
	# --grace 30: at the end each device waits for its listener to read all
	# it sent and close, however long the election held the listener back
	sim_to a -n 10 -d mix -i 0.1 -T "$((SIM_T + 2))" --grace 30 &
	SA=$!
	sim_to b -n 10 -d mix -i 0.1 -T "$((SIM_T + 2))" --grace 30 -s 2 &
	SB=$!
	# one more device on each listener, to be sent a command (not counted):
	# online until the teardown stops it, however long the steps before the
	# command take on a loaded machine, and quiet after its first report so
	# the stream goes idle for the worker that reads it back
	"$TK_BIN/tk-sim" -p "$PORT_a" -d tk103 -n 1 -s 3 -i 600 --heartbeat 0 -T 900 -q >/dev/null 2>&1 3>&- &
	TK_PIDS="${TK_PIDS:-} $!"
	"$TK_BIN/tk-sim" -p "$PORT_b" -d tk103 -n 1 -s 4 -i 600 --heartbeat 0 -T 900 -q >/dev/null 2>&1 3>&- &
	TK_PIDS="${TK_PIDS:-} $!"
	sleep 2
	nats_kill 2
	wait "$SA"
	wait "$SB"
	# the command devices stay connected: one on each
	TK_WAIT=30 wait_for acked_all a 1
	TK_WAIT=30 wait_for acked_all b 1
	# every connection closed by its listener: all that was sent was read
	[ "$(json unconfirmed "$TK_TMP/sim.a")" -eq 0 ]
	[ "$(json unconfirmed "$TK_TMP/sim.b")" -eq 0 ]
	sent=$(($(json frames "$TK_TMP/sim.a") + $(json frames "$TK_TMP/sim.b")))
	NATS_URLS="$NATS_URL1,$NATS_URL3" stream_frames d1 |
	    awk '$7 != "000030000003" && $7 != "000040000001"' >"$TK_TMP/stream"
	[ "$(wc -l <"$TK_TMP/stream")" -eq "$sent" ] || {
		echo "sent $sent, in the stream $(wc -l <"$TK_TMP/stream"), $(sort "$TK_TMP/stream" | uniq -d | wc -l) twice"
		return 1
	} >&2
	# a command reaches a device on either listener, the node still down
	# (a retry while the cluster elects the registry's leader)
	for id in 000030000003 000040000001; do
		TK_WAIT=40 wait_for eval 'timeout 30 "$TK_BIN/tk-cmd" --nats "$NATS_URL1,$NATS_URL3" \
		    -w 10 $id locate >"$TK_TMP/cmd.$id"'
		grep -q "\"type\":\"position\".*\"uniqueId\":\"$id\"" "$TK_TMP/cmd.$id"
	done
	[ "$(stat_of a fleet_ctl_requests)" -ge 1 ]
	[ "$(stat_of b fleet_ctl_requests)" -ge 1 ]
}

@test "xexun2 devices lose no report when their listener is killed -9: each frame lost was never ACKed (the device sends it again)" {
	nats_single
	listen_nats a
	listen_nats b
	# ten devices at a, b their backup server
	timeout 60 "$TK_BIN/tk-sim" -H "127.0.0.1:$PORT_a,127.0.0.1:$PORT_b" -d xexun2 -n 10 \
	    -i 0.1 -T "$((SIM_T + 3))" -q --stats-json "$TK_TMP/sim" &
	SIM=$!
	sleep 2
	kill -KILL "$PID_a"
	wait "$PID_a" || true
	wait "$SIM" || true
	TK_WAIT=30 wait_for acked_all b
	sent=$(json frames "$TK_TMP/sim")
	acked=$(json replies_ok "$TK_TMP/sim")
	unacked=$(json replies_missing "$TK_TMP/sim")
	stream_frames d1 >"$TK_TMP/stream"
	got=$(wc -l <"$TK_TMP/stream")
	# the devices went on at b
	[ "$(stat_of b frames_xexun2)" -gt 0 ]
	# no frame twice, every ACKed one there, the lost ones all unACKed
	[ "$(sort "$TK_TMP/stream" | uniq -d | wc -l)" -eq 0 ]
	[ "$got" -ge "$acked" ]
	[ "$((sent - got))" -le "$unacked" ]
}

@test "tk-decode worker killed -9 mid-stream: the restarted one holds every frame, per-device order kept" {
	nats_single
	listen_nats a
	sim_to a -n 40 -d tk103 -i 0.02 -T 4 --heartbeat 0 &
	SIM=$!
	bg tk-decode --nats "$NATS_URL" --durable w --ack-wait 1 -f frames >"$TK_TMP/w1" 2>"$TK_TMP/w1.err"
	W=$BG_PID
	TK_WAIT=30 wait_for eval '[ "$(wc -l <"$TK_TMP/w1")" -gt 1000 ]'
	kill -KILL "$W"
	wait "$W" || true
	wait "$SIM"
	TK_WAIT=30 wait_for acked_all a
	sent=$(json frames "$TK_TMP/sim.a")
	[ "$(wc -l <"$TK_TMP/w1")" -lt "$sent" ]
	# what the dead worker had fetched and not acknowledged comes again after --ack-wait
	run --separate-stderr "$TK_BIN/tk-decode" --nats "$NATS_URL" --durable w --ack-wait 1 \
	    -f frames --idle-exit 3
	assert_success
	echo "$output" >"$TK_TMP/w2"
	[ -s "$TK_TMP/w2" ]
	# every frame of the stream (a fresh consumer reads it whole), at least
	# as often as it is there; more only by what was redelivered
	stream_frames ref >"$TK_TMP/ref"
	[ "$(wc -l <"$TK_TMP/ref")" -eq "$sent" ]
	cat "$TK_TMP/w1" "$TK_TMP/w2" | awk 'NF' >"$TK_TMP/got"
	awk 'FNR == NR { ref[$0]++; next } { got[$0]++ }
		END { for (k in ref) if (got[k] < ref[k]) { print "missing: " k; bad = 1 }
		exit bad }' "$TK_TMP/ref" "$TK_TMP/got"
	redelivered=$(echo "$stderr" | sed -n 's/.* \([0-9]*\) redelivered.*/\1/p')
	[ "$(wc -l <"$TK_TMP/got")" -le "$((sent + redelivered))" ]
	# per device, first occurrences in order of time
	cat "$TK_TMP/w1" "$TK_TMP/w2" | awk 'NF && !seen[$0]++ {
		if ($7 in last && $1 < last[$7]) { print "out of order: " $0; bad = 1 }
		last[$7] = $1 } END { exit bad }'
	[[ "$stderr" == *" redelivered"* ]]
}

@test "two partitioned workers: each device on one worker, together every frame" {
	nats_single
	listen_nats a
	sim_to a -n 20 -d mix -i 0.1 -T 2
	wait_for acked_all a
	sent=$(json frames "$TK_TMP/sim.a")
	stream_frames p --partition 1/2 >"$TK_TMP/p1"
	stream_frames p --partition 2/2 >"$TK_TMP/p2"
	[ "$(cat "$TK_TMP/p1" "$TK_TMP/p2" | wc -l)" -eq "$sent" ]
	[ -s "$TK_TMP/p1" ] && [ -s "$TK_TMP/p2" ]
	awk '{ print $7 }' "$TK_TMP/p1" | sort -u >"$TK_TMP/i1"
	awk '{ print $7 }' "$TK_TMP/p2" | sort -u >"$TK_TMP/i2"
	[ -z "$(comm -12 "$TK_TMP/i1" "$TK_TMP/i2")" ]
}

@test "man page examples: two listeners sharing a port into a local server, workers, --publish" {
	# tk-listen(1), tk-decode(1) and tk103-scaling(7) EXAMPLES, on free ports
	local np lp
	np=$(free_port)
	lp=$(free_port)
	nats-server -js -sd "$TK_TMP/js" -a 127.0.0.1 -p "$np" >"$TK_TMP/ns.log" 2>&1 &
	TK_PIDS="${TK_PIDS:-} $!"
	wait_for grep -q "Server is ready" "$TK_TMP/ns.log"
	bg tk-listen -p "$lp" --reuseport --nats "nats://127.0.0.1:$np" --name a 2>"$TK_TMP/a.err"
	A=$BG_PID
	bg tk-listen -p "$lp" --reuseport --nats "nats://127.0.0.1:$np" --name b 2>"$TK_TMP/b.err"
	B=$BG_PID
	wait_for grep -q "listening on" "$TK_TMP/a.err"
	wait_for grep -q "listening on" "$TK_TMP/b.err"
	timeout 30 "$TK_BIN/tk-sim" -p "$lp" -n 20 -d mix -i 0.2 -T 2 -q --stats-json "$TK_TMP/sim"
	kill -TERM "$A" "$B"
	reap "$A"
	reap "$B"
	sent=$(json frames "$TK_TMP/sim")
	run --separate-stderr "$TK_BIN/tk-decode" --nats "nats://127.0.0.1:$np" --durable decoder \
	    --idle-exit 2 -f frames
	assert_success
	[ "${#lines[@]}" -eq "$sent" ]
	for k in 1 2; do
		run --separate-stderr "$TK_BIN/tk-decode" --nats "nats://127.0.0.1:$np" \
		    --durable dec --partition "$k/2" --publish --idle-exit 2
		assert_success
		[[ "$stderr" == *" published"* ]]
	done
}
