#!/usr/bin/env bats
# The fleet over NATS: tk-listen instances writing the tk_devices registry,
# tk-cmd --nats reaching a device on whichever instance holds it, devices
# moving between instances, commands queued in the bus (tk_cmdq).  Real
# nats-server processes on free loopback ports; every wait is bounded;
# teardown kills every process started (TK_PIDS).
load test_helper
load listen_helper
load nats_helper

json() {
	sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"
}

# sim_bg NAME ARGS...: tk-sim devices against listener NAME in the
# background (SIM_PID), stats in $TK_TMP/sim.NAME
sim_bg() {
	local n=$1 port; shift
	eval "port=\$PORT_$n"
	"$TK_BIN/tk-sim" -p "$port" -q --stats-json "$TK_TMP/sim.$n" "$@" >/dev/null 2>&1 3>&- &
	SIM_PID=$!
	TK_PIDS="${TK_PIDS:-} $SIM_PID"
}

# fleet: tk-cmd --nats -D (the registry's online devices)
fleet() {
	timeout 20 "$TK_BIN/tk-cmd" --nats "$NATS_URLS" -D
}

# on_instance ID NAME: the registry has device ID online on instance NAME
on_instance() {
	fleet | awk -v id="$1" -v n="$2" '$1 == id && $5 == n { f = 1 } END { exit !f }'
}

# ncmd ARGS...: tk-cmd --nats, bounded
ncmd() {
	run --separate-stderr timeout 30 "$TK_BIN/tk-cmd" --nats "$NATS_URLS" "$@"
}

@test "two listeners: -D lists each device with its instance; a command reaches a device on either" {
	nats_single
	listen_nats a
	listen_nats b
	sim_bg a -d tk103 -n 1 -s 1 -i 1 -T 60 --heartbeat 0
	sim_bg b -d gps103 -n 1 -s 7 -i 1 -T 60 --heartbeat 0
	wait_for on_instance 000010000007 a
	wait_for on_instance 860000070000004 b
	run fleet
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	# id dialect transport peer instance since last frames
	assert_line --regexp '^000010000007 tk103 tcp 127\.0\.0\.1:[0-9]+ a 20[0-9-]+T[0-9:.]+Z 20[0-9-]+T[0-9:.]+Z [0-9]+$'
	assert_line --regexp '^860000070000004 gps103 tcp 127\.0\.0\.1:[0-9]+ b '
	# the answer comes back as with -S, from either instance
	ncmd -w 10 000010000007 locate
	assert_success
	assert_output --partial '"uniqueId":"000010000007"'
	assert_output --partial '"type":"position"'
	ncmd -w 10 860000070000004 locate
	assert_success
	assert_output --partial '"uniqueId":"860000070000004"'
	ncmd 860000070000004 engine-stop
	assert_success
	[ -z "$output" ]
	[ "$(stat_of a fleet_ctl_requests)" -eq 1 ]
	[ "$(stat_of b fleet_ctl_requests)" -eq 2 ]
	# same exit codes as -S: unknown and offline 5, -T needs -S (2)
	ncmd 999999999999 locate
	assert_failure 5
	[[ "$stderr" == *"unknown device"* ]]
	ncmd -T
	assert_failure 2
	# a device that went away: offline in the registry, exit 5
	kill "$SIM_PID"
	TK_WAIT=20 wait_for eval '! on_instance 860000070000004 b'
	ncmd 860000070000004 engine-stop
	assert_failure 5
	[[ "$stderr" == *"device offline"* ]]
	ncmd -d gps103 860000070000004 engine-stop
	assert_failure 5
	[[ "$stderr" == *"device offline"* ]]
}

@test "a device reconnecting to another instance moves there; the old instance closes its stale session" {
	nats_single
	listen_nats a -v
	listen_nats b -v
	# the device at a, then silent there (its connection stays open)
	exec 5<>/dev/tcp/127.0.0.1/"$PORT_a"
	printf '(000010000007BP05000010000007260101A5228.9707N01326.3515E029.4191053285.6701000000L00000000)' >&5
	wait_for on_instance 000010000007 a
	# it comes back through b (a new address, another listener)
	sim_bg b -d tk103 -n 1 -s 1 -i 1 -T 60 --heartbeat 0
	TK_WAIT=20 wait_for on_instance 000010000007 b
	wait_for grep -q "000010000007: closed (replaced)" "$TK_TMP/err.a"
	grep -q "device 000010000007: now on another instance" "$TK_TMP/err.a"
	[ "$(stat_of a fleet_moved_away)" -eq 1 ]
	# a closed the old connection
	run timeout 5 cat <&5
	assert_success
	exec 5<&-
	# the command reaches it on b
	ncmd -w 10 000010000007 locate
	assert_success
	assert_output --partial '"uniqueId":"000010000007"'
	[ "$(stat_of b fleet_ctl_requests)" -eq 1 ]
	[ "$(stat_of a fleet_ctl_requests)" -eq 0 ]
	# still on b, once
	[ "$(fleet | grep -c '^000010000007 ')" -eq 1 ]
}

@test "a listener killed -9: its devices reconnect to their backup (the other listener), the registry moves, a command reaches them there" {
	nats_single
	listen_nats a
	listen_nats b
	# three devices with a backup server, all at a first
	"$TK_BIN/tk-sim" -H "127.0.0.1:$PORT_a,127.0.0.1:$PORT_b" -d tk103 -n 3 -i 0.5 -T 60 \
	    --heartbeat 0 -q >/dev/null 2>&1 3>&- &
	SIM_PID=$!
	TK_PIDS="${TK_PIDS:-} $SIM_PID"
	TK_WAIT=20 wait_for eval '[ "$(fleet | awk "\$5 == \"a\"" | wc -l)" -eq 3 ]'
	kill -KILL "$PID_a"
	wait "$PID_a" || true
	# each comes back through b, which takes the registry's key over
	TK_WAIT=30 wait_for eval '[ "$(fleet | awk "\$5 == \"b\"" | wc -l)" -eq 3 ]'
	[ "$(fleet | wc -l)" -eq 3 ]
	ncmd -w 10 000010000007 locate
	assert_success
	assert_output --partial '"uniqueId":"000010000007"'
	[ "$(stat_of b fleet_ctl_requests)" -eq 1 ]
}

@test "queued commands (-q) wait in the bus: -L, -C, a listener killed -9 and the server restarted; sent once where the device comes" {
	nats_single
	listen_nats a
	# not online anywhere: the dialect is needed, the command waits in tk_cmdq
	ncmd -q1h 000010000007 locate
	assert_failure 5
	ncmd -d tk103 -q1h 000010000007 locate
	assert_success
	[[ "$output" =~ ^[0-9]+$ ]]
	keep=$output
	ncmd -d tk103 -q1h 000010000007 reboot
	assert_success
	drop=$output
	ncmd -L
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	assert_line --regexp "^$keep 000010000007 20[0-9T:.-]+Z \(000010000007AP00\)$"
	ncmd -C "$drop"
	assert_success
	ncmd -C "$drop"
	assert_failure 1
	ncmd -L 000010000007
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	# the listener that mirrored it dies, so does the server (file storage)
	wait_for eval '[ "$(stat_of a commands_pending)" -eq 1 ]'
	kill -KILL "$PID_a"
	wait "$PID_a" || true
	nats_stop 1
	nats_restart 1
	ncmd -L
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	# the device comes to a new instance: the command goes out there, once
	listen_nats b
	sim_bg b -d tk103 -n 1 -s 1 -i 1 -T 60 --heartbeat 0
	TK_WAIT=20 wait_for eval '[ "$(stat_of b fleet_cmds_sent)" -eq 1 ]'
	wait_for eval '[ -z "$(timeout 20 "$TK_BIN/tk-cmd" --nats "$NATS_URLS" -L)" ]'
	kill "$SIM_PID"
	wait "$SIM_PID" || true
	[ "$(json commands "$TK_TMP/sim.b")" -eq 1 ]
	# gone from the bucket: an instance started now has nothing to send
	listen_nats c
	TK_WAIT=10 wait_for eval '[ "$(stat_of c nats_connected)" -eq 1 ]'
	sleep 1
	[ "$(stat_of c commands_pending)" -eq 0 ]
	[ "$(stat_of c fleet_cmds_mirrored)" -eq 0 ]
	# a command for an online device goes out at once, not through the bucket
	sim_bg b -d tk103 -n 1 -s 1 -i 1 -T 60 --heartbeat 0
	TK_WAIT=20 wait_for on_instance 000010000007 b
	ncmd -q1h 000010000007 reboot
	assert_success
	[ -z "$output" ]
	[ "$(stat_of b fleet_cmds_mirrored)" -eq 1 ]
}

@test "the registry's last-seen follows a reporting device (--registry-refresh), offline when it leaves" {
	nats_single
	listen_nats a --registry-refresh 1s
	sim_bg a -d tk103 -n 1 -s 1 -i 0.5 -T 60 --heartbeat 0
	wait_for on_instance 000010000007 a
	first=$(fleet | awk '{ print $7 }')
	TK_WAIT=10 wait_for eval '[ "$(fleet | awk "{ print \$7 }")" \> "$first" ]'
	# throttled: a put per second at most, not one per frame
	sleep 2
	writes=$(stat_of a fleet_writes)
	frames=$(stat_of a frames_total)
	[ "$writes" -lt "$frames" ]
	kill "$SIM_PID"
	TK_WAIT=20 wait_for eval '[ -z "$(fleet)" ]'
	[ "$(stat_of a fleet_devices)" -eq 0 ]
}

@test "--registry-refresh needs --nats; a stopped listener marks its devices offline" {
	run_tk tk-listen --registry-refresh 5s
	assert_failure 2
	nats_single
	listen_nats a
	sim_bg a -d tk103 -n 3 -i 1 -T 60 --heartbeat 0
	TK_WAIT=20 wait_for eval '[ "$(fleet | wc -l)" -eq 3 ]'
	kill -TERM "$PID_a"
	reap "$PID_a"
	[ -z "$(fleet)" ]
	! grep -q "not acknowledged" "$TK_TMP/err.a"
}

@test "man page examples: tk-cmd(1) and tk103-scaling(7) with --nats" {
	local m=$BATS_TEST_DIRNAME/../../man
	grep -qF 'tk-cmd --nats $N -D' "$m/tk-cmd.1"
	grep -qF 'tk-cmd --nats $N -w 30 027044702512 locate' "$m/tk-cmd.1"
	grep -qF 'tk-cmd --nats $N -q1d -d gps103 359586015829802 locate' "$m/tk-cmd.1"
	grep -qF 'tk-cmd --nats $N -D' "$m/tk103-scaling.7"
	grep -qF 'tk-cmd --nats $N -w 30 027044702512 locate' "$m/tk103-scaling.7"
	nats_single
	N=$NATS_URLS
	listen_nats a
	# the examples' device: tk103 id 027044702512
	exec 5<>/dev/tcp/127.0.0.1/"$PORT_a"
	printf '(027044702512BP05000027044702512260101A5228.9707N01326.3515E029.4191053285.6701000000L00000000)' >&5
	wait_for on_instance 027044702512 a
	run_tk tk-cmd --nats $N -D
	assert_success
	assert_output --regexp '^027044702512 tk103 tcp 127\.0\.0\.1:[0-9]+ a [0-9TZ:.-]+ [0-9TZ:.-]+ 1$'
	# -w: the "device" answers the locate it is sent (after its login's
	# ACK, 18 bytes each) with a position
	( timeout 20 head -c 36 <&5 >/dev/null
	  printf '(027044702512BP04260101A5228.9707N01326.3515E029.4191053285.6701000000L00000000)' >&5 ) 3>&- &
	run_tk tk-cmd --nats $N -w 30 027044702512 locate
	assert_success
	assert_output --partial '"type":"position","protocol":"tk103","uniqueId":"027044702512"'
	exec 5<&-
	run_tk tk-cmd --nats $N -q1d -d gps103 359586015829802 locate
	assert_success
	assert_output --regexp '^[0-9]{16}$'
}
