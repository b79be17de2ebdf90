#!/usr/bin/env bats
# tk-sim against a real tk-listen on loopback (port 0, read from --port-file):
# replies checked byte for byte, UDP, reconnects, source ranges, misbehaving
# devices.  Every run is bounded by -T and timeout(1).
load test_helper

# start_listen ARGS...: tk-listen on a free port; sets PORT, LISTEN_PID
start_listen() {
	rm -f "$TK_TMP/port"	# a listener before this one's
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

@test "tk-sim -d gt06 | tk-listen: login ACK before any report, every ACK right" {
	start_listen -C 0
	sim -n 6 -d gt06 -i 0.2 -T 2 --heartbeat 0.5 -a 0.3 --check --stats-json "$TK_TMP/s"
	assert_success
	[[ "$stderr" == *"6 gt06 devices over tcp"* ]]
	[[ "$stderr" == *", wrong 0, missing 0"* ]]
	[ "$(json logins "$TK_TMP/s")" -eq 6 ]
	[ "$(json positions "$TK_TMP/s")" -gt 20 ]
	[ "$(json alarms "$TK_TMP/s")" -gt 0 ]
	[ "$(json heartbeats "$TK_TMP/s")" -gt 6 ]
	# every frame (login 0x01, 0x22, 0x13, 0x26) is acknowledged
	frames=$(json frames "$TK_TMP/s")
	[ "$(json replies_ok "$TK_TMP/s")" -eq "$frames" ]
	stop_listen
	# per connection: the login, its ACK sent, and only then the reports
	awk '$2 == "frame" || $2 == "send" { k[$5] = k[$5] $2 " " }
	     END { for (c in k) if (k[c] !~ /^frame send /) { print c, k[c]; bad = 1 }
	           exit bad }' "$TK_TMP/frames"
	run_tk tk-decode -s "$TK_TMP/frames"
	assert_success
	[[ "$stderr" == *"$frames frames, $frames decoded, 0 rejected"* ]]
	[ "$(printf '%s\n' "$output" | grep -c '"type":"login","protocol":"gt06"')" -eq 6 ]
}

@test "tk-sim -d h02 | tk-listen, TCP and UDP: every V4 (with the time) and HTBT right" {
	start_listen -C 0
	for u in "" -u; do
		# shellcheck disable=SC2086
		sim $u -n 5 -d h02 -i 0.2 -T 1.5 --heartbeat 0.4 -a 0.3 --check \
			--stats-json "$TK_TMP/s"
		assert_success
		[[ "$stderr" == *", wrong 0, missing 0"* ]]
		[ "$(json logins "$TK_TMP/s")" -eq 0 ]		# h02 has no login
		[ "$(json heartbeats "$TK_TMP/s")" -gt 5 ]
		frames=$(json frames "$TK_TMP/s")
		[ "$(json replies_ok "$TK_TMP/s")" -eq "$frames" ]
	done
	stop_listen
	grep -q ' frame tcp .* h02 ' "$TK_TMP/frames"
	grep -q ' frame udp .* h02 ' "$TK_TMP/frames"
	grep -q ' send udp .* h02 .*,V4,V1,' "$TK_TMP/frames"
}

@test "tk-sim -d h02 --h02-binary | tk-listen: binary records framed and decoded, HTBT answered" {
	start_listen -C 0
	for u in "" -u; do
		# shellcheck disable=SC2086
		sim $u -n 4 -d h02 --h02-binary -i 0.2 -T 1.5 --heartbeat 0.4 -a 0.3 --check \
			--stats-json "$TK_TMP/s"
		assert_success
		[[ "$stderr" == *", wrong 0, missing 0"* ]]
		# only the heartbeats are answered
		[ "$(json replies_ok "$TK_TMP/s")" -eq "$(json heartbeats "$TK_TMP/s")" ]
		[ "$(json positions "$TK_TMP/s")" -gt 10 ]
	done
	stop_listen
	run_tk tk-decode -s "$TK_TMP/frames"
	assert_success
	[[ "$stderr" == *" 0 rejected,"* ]]
	# every record sent came through, over TCP (framed as the next frame
	# began, or at the close) and over UDP
	printf '%s\n' "$output" | grep '"type":"position","protocol":"h02"' > "$TK_TMP/p"
	[ "$(wc -l < "$TK_TMP/p")" -gt 20 ]
	grep -q ' frame tcp .* h02 [0-9]* - \$' "$TK_TMP/frames"
	grep -q ' frame udp .* h02 [0-9]* - \$' "$TK_TMP/frames"
}

# peer MODE [--udp]: the tiny wrong server of sim_peer.py on a free port
peer() {
	python3 "$BATS_TEST_DIRNAME/sim_peer.py" --port-file "$TK_TMP/pport" --mode "$@" 3>&- &
	TK_PIDS="${TK_PIDS:-} $!"
	# python3 can take seconds to start on a loaded machine (a pyenv shim)
	TK_WAIT=$(( ${TK_WAIT:-5} + 15 )) wait_for test -s "$TK_TMP/pport"
	PORT=$(cat "$TK_TMP/pport")
	rm -f "$TK_TMP/pport"
}

@test "tk-sim -d gt06 --check: a wrong or missing login ACK fails, and no report goes out" {
	for m in gt06-serial gt06-crc silent; do
		peer "$m"
		sim -n 2 -d gt06 -i 0.2 -T 1 --grace 0.5 --check --stats-json "$TK_TMP/s"
		assert_failure 1
		[ "$(json logins "$TK_TMP/s")" -ge 2 ]
		[ "$(json positions "$TK_TMP/s")" -eq 0 ]	# a unit waits for its ACK
		[ "$(json replies_ok "$TK_TMP/s")" -eq 0 ]
		if [ "$m" = silent ]; then
			[ "$(json replies_missing "$TK_TMP/s")" -eq 2 ]
		else
			[ "$(json replies_wrong "$TK_TMP/s")" -ge 2 ]
		fi
	done
}

@test "tk-sim -d h02 --check: a V4 answer an hour off is wrong, none at all is missing" {
	for u in "" --udp; do
		peer h02-skew $u
		# shellcheck disable=SC2086
		sim ${u:+-u} -n 2 -d h02 -i 0.2 -T 1 --heartbeat 0 --grace 0.5 --check \
			--stats-json "$TK_TMP/s"
		assert_failure 1
		[ "$(json replies_ok "$TK_TMP/s")" -eq 0 ]
		[ "$(json replies_wrong "$TK_TMP/s")" -ge 4 ]
		[[ "$stderr" == *"wrong "[1-9]* ]]
	done
	peer silent
	sim -n 2 -d h02 -i 0.2 -T 1 --heartbeat 0 --grace 0.5 --check --stats-json "$TK_TMP/s"
	assert_failure 1
	[ "$(json replies_missing "$TK_TMP/s")" -ge 4 ]
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

@test "tk-sim waits at the end for the server to read all it sent and close; a server that does not is counted and fails --check" {
	start_listen -C 0
	# as fast as possible: the sockets' queues are full when the run stops
	sim -n 4 -d mix -i 0 -T 1 --grace 30 --check --stats-json "$TK_TMP/s"
	assert_success
	[ "$(json unconfirmed "$TK_TMP/s")" -eq 0 ]
	[ "$(json unacked_bytes "$TK_TMP/s")" -eq 0 ]
	[ "$(json closed_by_peer "$TK_TMP/s")" -eq 0 ]
	stop_listen
	[ "$(grep -c ' frame tcp ' "$TK_TMP/frames")" -eq "$(json frames "$TK_TMP/s")" ]
	# a server that stops reading once both devices logged in and report
	start_listen -C 0
	timeout 60 "$TK_BIN/tk-sim" -p "$PORT" -n 2 -d tk103 -i 0 -T 4 --grace 0.5 --check \
	    --stats-json "$TK_TMP/s2" 2>"$TK_TMP/sim.err" &
	local sim=$! rc=0
	wait_for sh -c "[ \$(grep BR00 '$TK_TMP/frames' | cut -d' ' -f7 | sort -u | wc -l) -eq 2 ]"
	kill -STOP "$LISTEN_PID"
	wait "$sim" || rc=$?
	kill -CONT "$LISTEN_PID"
	[ "$rc" -eq 1 ]
	[ "$(json unconfirmed "$TK_TMP/s2")" -eq 2 ]
	[ "$(json unacked_bytes "$TK_TMP/s2")" -gt 0 ]
	grep -q '2 connections not closed by the server in the grace, [1-9][0-9]* bytes' "$TK_TMP/sim.err"
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

# ---- backup servers ------------------------------------------------------

# listen_at NAME ARGS...: a tk-listen writing $TK_TMP/NAME.frames; sets
# NAME_PORT and NAME_PID.
listen_at() {
	local name=$1; shift
	"$TK_BIN/tk-listen" -p 0 --port-file "$TK_TMP/$name.port" "$@" \
		> "$TK_TMP/$name.frames" 2> "$TK_TMP/$name.err" &
	printf -v "${name}_PID" '%s' "$!"
	TK_PIDS="${TK_PIDS:-} $!"
	wait_for test -s "$TK_TMP/$name.port"
	printf -v "${name}_PORT" '%s' "$(cat "$TK_TMP/$name.port")"
}

# ids FILE: distinct device ids in a listener's frame lines
ids() {
	awk '$2 == "frame" && $7 != "-" { print $7 }' "$1" | sort -u | wc -l
}

# ids_at_least FILE N
ids_at_least() {
	[ "$(ids "$1")" -ge "$2" ]
}

# frames_at_least FILE N
frames_at_least() {
	[ "$(grep -c ' frame ' "$1")" -ge "$2" ]
}

# server_field N KEY FILE: KEY of the Nth (1-based) server in --stats-json
server_field() {
	sed -n 's/.*"servers":\[\(.*\)\]}$/\1/p' "$3" | sed 's/},{/}\n{/g' |
		sed -n "$1p" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# failover TRANSPORT_FLAG DIALECT: 12 devices start on A; A dies with -9;
# every device goes on reporting to B, and the counts add up.
failover() {
	listen_at A -C 0
	listen_at B -C 0
	"$TK_BIN/tk-sim" $1 -p "$A_PORT,$B_PORT" -n 12 -d "$2" -i 0.1 -T 60 \
		--stats-json "$TK_TMP/s" 2> "$TK_TMP/sim.err" &
	local sim=$!
	TK_PIDS="$TK_PIDS $sim"
	wait_for ids_at_least "$TK_TMP/A.frames" 12
	kill -KILL "$A_PID"
	wait "$A_PID" || true
	# every device reports to the backup, and goes on reporting
	wait_for ids_at_least "$TK_TMP/B.frames" 12
	wait_for frames_at_least "$TK_TMP/B.frames" 48
	kill -TERM "$sim"
	wait "$sim"
	kill -TERM "$B_PID"
	wait "$B_PID"
	cat "$TK_TMP/sim.err"
	local frames a_sent b_sent
	frames=$(json frames "$TK_TMP/s")
	a_sent=$(server_field 1 sent "$TK_TMP/s")
	b_sent=$(server_field 2 sent "$TK_TMP/s")
	# every device connected to A first, lost it, and connected to B
	[ "$(server_field 1 connected "$TK_TMP/s")" -eq 12 ]
	[ "$(server_field 1 closed_by_server "$TK_TMP/s")" -eq 12 ]
	[ "$(server_field 2 connected "$TK_TMP/s")" -eq 12 ]
	[ "$(server_field 2 closed_by_server "$TK_TMP/s")" -eq 0 ]
	# every frame sent went to one of them; B (stopped cleanly) logged all of
	# its share, A (killed) at most what it was sent
	[ $((a_sent + b_sent)) -eq "$frames" ]
	[ "$(grep -c ' frame ' "$TK_TMP/B.frames")" -eq "$b_sent" ]
	[ "$(grep -c ' frame ' "$TK_TMP/A.frames")" -le "$a_sent" ]
	[ "$b_sent" -gt 0 ] && [ "$a_sent" -gt 0 ]
	# every reply awaited is accounted for: none wrong, none missing at B
	[ $(($(json replies_ok "$TK_TMP/s") + $(json replies_wrong "$TK_TMP/s") + \
		$(json replies_missing "$TK_TMP/s"))) -eq "$(json replies_due "$TK_TMP/s")" ]
	[ "$(json replies_wrong "$TK_TMP/s")" -eq 0 ]
	[ "$(server_field 2 unanswered "$TK_TMP/s")" -eq 0 ]
	[ "$(server_field 2 answered "$TK_TMP/s")" -gt 0 ]
	[[ "$(cat "$TK_TMP/sim.err")" == *"server 127.0.0.1:$B_PORT: connected 12 "* ]]
}

@test "tk-sim -p A,B: TCP devices whose server dies (-9) report to the backup" {
	failover "" mix
}

@test "tk-sim -u -p A,B: UDP devices move on when the server's port is refused" {
	failover -u gps103
}

@test "tk-sim --spread: devices start on every server of the list, none fails" {
	listen_at A -C 0
	listen_at B -C 0
	run --separate-stderr timeout 30 "$TK_BIN/tk-sim" -H "127.0.0.1:$A_PORT,127.0.0.1:$B_PORT" \
		--spread -n 10 -d gps103 -i 0.2 -T 1 --check --stats-json "$TK_TMP/s"
	assert_success
	[ "$(server_field 1 connected "$TK_TMP/s")" -eq 5 ]
	[ "$(server_field 2 connected "$TK_TMP/s")" -eq 5 ]
	kill -TERM "$A_PID" "$B_PID"
	wait "$A_PID" "$B_PID"
	[ "$(ids "$TK_TMP/A.frames")" -eq 5 ]
	[ "$(ids "$TK_TMP/B.frames")" -eq 5 ]
	# a server list whose first entry is down: every device uses the second
	listen_at C -C 0
	PORT="1,$C_PORT"
	sim -n 4 -i 0.1 -T 2 --stats-json "$TK_TMP/s" -q
	assert_success
	[ "$(server_field 1 failed "$TK_TMP/s")" -ge 4 ]
	[ "$(server_field 2 connected "$TK_TMP/s")" -eq 4 ]
}

@test "tk-sim: server list errors exit 2" {
	local bad=(
		"-p 1,0"
		"-p 1,"
		"-H [::1 -p 1"
		"-H [::1]x -p 1"
		"-H host:0"
		"-H host:"
		"-H :1"
		"-H a,b"
		"-p 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"
		"-H a,b,c,d,e,f,g,h,i -p 1,2"
	)
	for args in "${bad[@]}"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$TK_BIN/tk-sim" $args
		[ "$status" -eq 2 ] || { echo "args: $args -> $status"; return 1; }
		[[ "$stderr" == "tk-sim: "* ]]
	done
}
