#!/usr/bin/env bats
# An MQTT client follows the positions of tk-decode --nats --publish through
# nats-server's MQTT gateway, as tk103-scaling(7) says: a real nats-server
# with an mqtt block (JetStream on, a server_name) on free loopback ports,
# mosquitto_sub subscribed to tk/pos/#.  Every wait is bounded.
load test_helper
load listen_helper
load nats_helper

command -v mosquitto_sub >/dev/null || {
	echo "mosquitto_sub is not installed (scripts/deps installs mosquitto-clients)" >&2
	exit 1
}

@test "MQTT: mosquitto_sub on tk/pos/# receives every record tk-decode --publish puts on tk.pos.<id>" {
	local p m n
	p=$(free_port)
	m=$(free_port)
	printf 'mqtt {\n  listen: 127.0.0.1:%s\n}\n' "$m" >"$TK_TMP/mqtt.conf"
	nats_up 1 -c "$TK_TMP/mqtt.conf" -p "$p"
	NATS_URL="nats://127.0.0.1:$p"
	NATS_URLS=$NATS_URL
	grep -q "Listening for MQTT clients on" "$TK_TMP/nats1/log"
	listen_nats a
	timeout 30 "$TK_BIN/tk-sim" -p "$PORT_a" -n 3 -d mix -i 0.2 -T 1 --heartbeat 0 -q
	wait_for acked_all a
	# the records a worker decodes, to know how many to expect
	stream_frames ref -f json >"$TK_TMP/ref"
	n=$(wc -l <"$TK_TMP/ref")
	[ "$n" -gt 0 ]
	# the subscriber first (tk.pos is not stored: a follower sees what is
	# published while it listens), its SUBACK seen (line-buffered output)
	timeout 60 stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$m" -i tk-test -t 'tk/pos/#' -v -d \
	    -C "$n" -W 50 >"$TK_TMP/sub" 2>"$TK_TMP/sub.err" &
	SUB=$!
	TK_PIDS="${TK_PIDS:-} $SUB"
	TK_WAIT=$((${TK_WAIT:-5} + 5)) wait_for grep -q "SUBACK" "$TK_TMP/sub"
	run --separate-stderr "$TK_BIN/tk-decode" --nats "$NATS_URL" --durable pub --publish \
	    --idle-exit 2 -f json
	assert_success
	[[ "$stderr" == *", $n published"* ]]
	echo "$output" >"$TK_TMP/records"
	[ "$(wc -l <"$TK_TMP/records")" -eq "$n" ]
	# every record came to the MQTT client, on the topic of its device
	st=0
	wait "$SUB" || st=$?
	[ "$st" -eq 0 ]
	grep '^tk/pos/' "$TK_TMP/sub" >"$TK_TMP/got"
	[ "$(wc -l <"$TK_TMP/got")" -eq "$n" ]
	while read -r topic rec; do
		id=$(printf '%s\n' "$rec" | sed -n 's/.*"uniqueId":"\([^"]*\)".*/\1/p')
		[ "$topic" = "tk/pos/$id" ]
		grep -qxF -- "$rec" "$TK_TMP/records"
	done <"$TK_TMP/got"
	kill -TERM "$PID_a"
	st=0
	reap "$PID_a" || st=$?
	[ "$st" -eq 0 ]
}
