#!/usr/bin/env bats
# The bus across hosts: credentials and TLS.  Real nats-server processes on
# free loopback ports, one with an authorization block (user/password), one
# with TLS (a CA and a server certificate for 127.0.0.1 made here with
# openssl); tk-listen --nats publishes, tk-cmd --nats -D lists, tk-decode
# --nats reads; refused credentials or certificates exit 3 with a message
# that says what to check.  Every wait is bounded.
load test_helper
load listen_helper
load nats_helper

json() {
	sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2"
}

# online TK-SIM-ARGS...: one simulated device in the background until the
# test ends; wait until the registry (tk-cmd --nats -D, with the test's
# credentials in NATS_CRED) has it online, its id in ID
online() {
	"$TK_BIN/tk-sim" -n 1 -i 1 -T 60 -q "$@" >/dev/null 2>&1 3>&- &
	TK_PIDS="${TK_PIDS:-} $!"
	TK_WAIT=$((${TK_WAIT:-5} + 5)) wait_for eval \
	    '"$TK_BIN/tk-cmd" --nats "$NATS_URL" $NATS_CRED -D >"$TK_TMP/fleet" 2>/dev/null && [ -s "$TK_TMP/fleet" ]'
	ID=$(awk '{ print $1; exit }' "$TK_TMP/fleet")
}

# auth_server: one JetStream node that wants user tk, password s3cret
auth_server() {
	local p
	p=$(free_port)
	printf 'authorization {\n  users = [ { user: tk, password: s3cret } ]\n}\n' \
	    >"$TK_TMP/auth.conf"
	nats_up 1 -c "$TK_TMP/auth.conf" -p "$p"
	NATS_URL="nats://127.0.0.1:$p"
	NATS_URLS=$NATS_URL
}

# certs: a CA, a server certificate it signed for 127.0.0.1 (SAN), and
# another CA that signed nothing of ours, in $TK_TMP
certs() {
	local d=$TK_TMP
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=tk-test-ca 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout "$d/srv.key" -out "$d/srv.csr" -subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/san.ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -out "$d/srv.pem" -days 2 -extfile "$d/san.ext" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -keyout "$d/other.key" -out "$d/other.pem" -days 2 -subj /CN=other-ca 2>/dev/null
	[ -s "$d/srv.pem" ] && [ -s "$d/other.pem" ]
}

tls_server() {
	local p
	certs
	p=$(free_port)
	# the handshake's timeout generous: a client under valgrind is slow
	printf 'tls {\n  cert_file: "%s"\n  key_file: "%s"\n  timeout: 30\n}\n' \
	    "$TK_TMP/srv.pem" "$TK_TMP/srv.key" >"$TK_TMP/tls.conf"
	nats_up 1 -c "$TK_TMP/tls.conf" -p "$p"
	NATS_PORT=$p
	NATS_URL="tls://127.0.0.1:$p"
	NATS_URLS=$NATS_URL
}

@test "user/password: tk-listen publishes, tk-cmd -D and tk-decode read; a wrong or missing password exits 3" {
	auth_server
	export TK_NATS_PASSWORD=s3cret
	NATS_CRED="--nats-user tk"
	listen_nats a --nats-user tk
	timeout 30 "$TK_BIN/tk-sim" -p "$PORT_a" -n 3 -d tk103 -i 0.2 -T 1 --heartbeat 0 -q \
	    --stats-json "$TK_TMP/sim"
	wait_for acked_all a
	sent=$(json frames "$TK_TMP/sim")
	[ "$sent" -gt 0 ]
	stream_frames d1 --nats-user tk >"$TK_TMP/stream"
	[ "$(wc -l <"$TK_TMP/stream")" -eq "$sent" ]
	# a device online: listed, and a command reaches it
	online -p "$PORT_a" -d tk103 --heartbeat 0
	run_tk tk-cmd --nats "$NATS_URL" --nats-user tk -D
	assert_success
	assert_line --regexp "^$ID tk103 tcp 127\\.0\\.0\\.1:[0-9]+ a "
	run_tk tk-cmd --nats "$NATS_URL" --nats-user tk -w 10 "$ID" locate
	assert_success
	assert_output --partial '"type":"position"'
	# refused: said at once, with what to check, exit 3
	TK_NATS_PASSWORD=wrong run_tk tk-cmd --nats "$NATS_URL" --nats-user tk -D
	assert_failure 3
	[[ "$stderr" == *"$NATS_URL: Authorization Violation (check --nats-user and TK_NATS_PASSWORD"* ]]
	TK_NATS_PASSWORD=wrong run_tk tk-listen -b 127.0.0.1 -p 0 --nats "$NATS_URL" --nats-user tk
	assert_failure 3
	[[ "$stderr" == *"Authorization Violation (check --nats-user"* ]]
	[[ "$stderr" != *"listening on"* ]]
	run_tk tk-listen -b 127.0.0.1 -p 0 --nats "$NATS_URL"
	assert_failure 3
	[[ "$stderr" == *"Authorization Violation"* ]]
	TK_NATS_PASSWORD=wrong run_tk tk-decode --nats "$NATS_URL" --nats-user tk --durable d2
	assert_failure 3
	[[ "$stderr" == *"Authorization Violation"* ]]
	# the listener stops cleanly, its registry writes acknowledged
	kill -TERM "$PID_a"
	st=0
	reap "$PID_a" || st=$?
	[ "$st" -eq 0 ]
	! grep -q "not acknowledged" "$TK_TMP/err.a"
}

@test "a listener started while the server is down, refused when it comes up: says why and exits 3" {
	local p
	p=$(free_port)
	TK_NATS_PASSWORD=wrong bg tk-listen -b 127.0.0.1 -p 0 --nats "nats://127.0.0.1:$p" \
	    --nats-user tk 2>"$TK_TMP/err"
	L=$BG_PID
	wait_for grep -q "no server reachable" "$TK_TMP/err"
	printf 'authorization {\n  users = [ { user: tk, password: s3cret } ]\n}\n' \
	    >"$TK_TMP/auth.conf"
	nats_up 1 -c "$TK_TMP/auth.conf" -p "$p"
	TK_WAIT=$((${TK_WAIT:-5} + 10)) wait_for eval '! kill -0 $L 2>/dev/null'
	run wait "$L"
	[ "$status" -eq 3 ]
	grep -q "nats: connection closed: Authorization Violation" "$TK_TMP/err"
}

@test "TLS: tls:// with --nats-ca publishes and lists; another CA or a nats:// URL exits 3" {
	tls_server
	NATS_CRED="--nats-ca $TK_TMP/ca.pem"
	listen_nats a --nats-ca "$TK_TMP/ca.pem"
	grep -q "nats: connected to tls://127.0.0.1:$NATS_PORT" "$TK_TMP/err.a"
	timeout 30 "$TK_BIN/tk-sim" -p "$PORT_a" -n 2 -d gps103 -i 0.2 -T 1 --heartbeat 0 -q \
	    --stats-json "$TK_TMP/sim"
	wait_for acked_all a
	sent=$(json frames "$TK_TMP/sim")
	[ "$sent" -gt 0 ]
	stream_frames d1 --nats-ca "$TK_TMP/ca.pem" >"$TK_TMP/stream"
	[ "$(wc -l <"$TK_TMP/stream")" -eq "$sent" ]
	online -p "$PORT_a" -d gps103 --heartbeat 0
	run_tk tk-cmd --nats "$NATS_URL" --nats-ca "$TK_TMP/ca.pem" -D
	assert_success
	assert_line --regexp "^$ID gps103 tcp 127\\.0\\.0\\.1:[0-9]+ a "
	run_tk tk-cmd --nats "$NATS_URL" --nats-ca "$TK_TMP/ca.pem" -w 10 "$ID" locate
	assert_success
	assert_output --partial '"type":"position"'
	# a certificate of a CA we do not trust
	run_tk tk-cmd --nats "$NATS_URL" --nats-ca "$TK_TMP/other.pem" -D
	assert_failure 3
	[[ "$stderr" == *"SSL handshake error"*"(check the tls:// URL and --nats-ca)"* ]]
	run_tk tk-listen -b 127.0.0.1 -p 0 --nats "$NATS_URL" --nats-ca "$TK_TMP/other.pem"
	assert_failure 3
	[[ "$stderr" == *"SSL handshake error"* ]]
	[[ "$stderr" != *"listening on"* ]]
	# the system's CAs do not know ours either
	run_tk tk-decode --nats "$NATS_URL" --durable d2
	assert_failure 3
	[[ "$stderr" == *"--nats-ca"* ]]
	# a TLS server asked for plain text
	run_tk tk-cmd --nats "nats://127.0.0.1:$NATS_PORT" -D
	assert_failure 3
	[[ "$stderr" == *"--nats-ca"* ]]
	# a missing CA file: said at once
	run_tk tk-cmd --nats "$NATS_URL" --nats-ca "$TK_TMP/none.pem" -D
	assert_failure 3
	[[ "$stderr" == *"--nats-ca $TK_TMP/none.pem: No such file or directory"* ]]
	kill -TERM "$PID_a"
	st=0
	reap "$PID_a" || st=$?
	[ "$st" -eq 0 ]
	! grep -q "not acknowledged" "$TK_TMP/err.a"
}
