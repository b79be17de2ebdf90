# Helpers for the NATS suites: real nats-server processes on free loopback
# ports, in the test's temp dir, always killed (teardown kills TK_PIDS).
#   nats_single            one JetStream node: NATS_URL
#   nats_cluster           three JetStream nodes, one cluster: NATS_URLS,
#                          NATS_URL1..3, NATS_PID1..3
#   nats_kill K / nats_restart K

command -v nats-server >/dev/null || {
	echo "nats-server is not installed (scripts/deps installs it)" >&2
	exit 1
}

# free_port: a TCP port nobody listens on (bind-tested by the kernel's
# ephemeral range, then checked free).
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 12000))	# below the ephemeral range (32768-60999)
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null &&
		    ! grep -q ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# nats_up K ARGS...: start node K with ARGS, wait until it serves clients.
nats_up() {
	local k=$1; shift
	mkdir -p "$TK_TMP/nats$k"
	nats-server -a 127.0.0.1 -js -sd "$TK_TMP/nats$k/js" --server_name "n$k" "$@" \
	    >>"$TK_TMP/nats$k/log" 2>&1 &
	eval "NATS_PID$k=$!"
	TK_PIDS="${TK_PIDS:-} $!"
	export TK_PIDS
	wait_for nats_ready "$k"
	grep -q "Server is ready" "$TK_TMP/nats$k/log"
}

# nats_ready K: node K serves clients, or it is gone (its exit ends the wait).
nats_ready() {
	local pid
	eval "pid=\$NATS_PID$1"
	grep -q "Server is ready" "$TK_TMP/nats$1/log" || ! kill -0 "$pid" 2>/dev/null
}

# nats_single: one node; a port taken between free_port's check and the
# server's bind (another test file running beside this one) is tried again.
nats_single() {
	local p _
	for _ in 1 2 3 4 5; do
		p=$(free_port)
		NATS_ARGS1="-p $p"
		if nats_up 1 $NATS_ARGS1; then
			NATS_URL="nats://127.0.0.1:$p"
			NATS_URLS=$NATS_URL
			return 0
		fi
		nats_kill 1
		grep -q "address already in use" "$TK_TMP/nats1/log" || break
		: >"$TK_TMP/nats1/log"
	done
	echo "nats-server did not start:" >&2
	cat "$TK_TMP/nats1/log" >&2
	return 1
}

nats_cluster() {
	local k c routes=""
	declare -ga NATS_CP
	for k in 1 2 3; do
		eval "NATS_P$k=$(free_port)"
		c=$(free_port)
		NATS_CP[k]=$c
		routes="${routes:+$routes,}nats://127.0.0.1:$c"
	done
	for k in 1 2 3; do
		eval "NATS_ARGS$k=\"-p \$NATS_P$k --cluster_name tk -cluster nats://127.0.0.1:${NATS_CP[k]} -routes $routes\""
		eval "nats_up $k \$NATS_ARGS$k"
		eval "NATS_URL$k=nats://127.0.0.1:\$NATS_P$k"
	done
	NATS_URLS="$NATS_URL1,$NATS_URL2,$NATS_URL3"
	NATS_URL=$NATS_URL1
	# JetStream needs a meta leader before a stream can be created
	TK_WAIT=$((${TK_WAIT:-5} + 15)) wait_for grep -qh "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" \
	    "$TK_TMP"/nats[123]/log
}

# nats_kill K: kill -9 node K.
nats_kill() {
	local pid
	eval "pid=\$NATS_PID$1"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# nats_stop K: stop node K (TERM).
nats_stop() {
	local pid
	eval "pid=\$NATS_PID$1"
	kill -TERM "$pid" 2>/dev/null || true
	timeout 10 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# nats_restart K: start node K again with its old arguments and data.
nats_restart() {
	local a
	eval "a=\$NATS_ARGS$1"
	: >"$TK_TMP/nats$1/log.old"
	cat "$TK_TMP/nats$1/log" >>"$TK_TMP/nats$1/log.old"
	: >"$TK_TMP/nats$1/log"
	nats_up "$1" $a
}

# listen_nats NAME ARGS...: a tk-listen publishing to the bus; sets
# PORT_<NAME>, PID_<NAME>; stderr in $TK_TMP/err.NAME.
listen_nats() {
	local n=$1; shift
	rm -f "$TK_TMP/port.$n"
	bg tk-listen -b 127.0.0.1 -p 0 --port-file "$TK_TMP/port.$n" --name "$n" \
	    --nats "$NATS_URLS" "$@" >"$TK_TMP/out.$n" 2>"$TK_TMP/err.$n"
	eval "PID_$n=$BG_PID"
	wait_for test -s "$TK_TMP/port.$n"
	eval "PORT_$n=$(cat "$TK_TMP/port.$n")"
}

# stat_of NAME COUNTER: ask tk-listen NAME for its counters (SIGUSR1) and
# print one (bounded wait).
stat_of() {
	local pid f=$TK_TMP/err.$1 before
	eval "pid=\$PID_$1"
	before=$(grep -c "^tk-listen: $2 " "$f" || true)
	kill -USR1 "$pid"
	wait_for eval "[ \$(grep -c '^tk-listen: $2 ' '$f') -gt $before ]" || return 1
	grep "^tk-listen: $2 " "$f" | tail -n 1 | awk '{ print $3 }'
}

# acked_all NAME [OPEN]: the devices that left are read to their end (at
# most OPEN connections still open, default 0: a listener held back by the
# bus may not have read what a finished tk-sim wrote) and every line
# tk-listen NAME took is acknowledged.
acked_all() {
	[ "$(stat_of "$1" connections_open)" -le "${2:-0}" ] &&
	    [ "$(stat_of "$1" nats_pending)" = 0 ]
}

# stream_frames DURABLE [ARGS...]: every frame line in the stream, through a
# fresh durable consumer (tk-decode -f frames), to stdout.
stream_frames() {
	local d=$1; shift
	"$TK_BIN/tk-decode" --nats "$NATS_URLS" --durable "$d" --idle-exit 2 -q -f frames "$@"
}
