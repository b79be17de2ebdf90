#!/usr/bin/env bats
# tk-forward against a real HTTP server (python3's http.server, in
# http_sink.py) on 127.0.0.1: batches, order across an outage, an endpoint
# not up at start, the spool and its bound, OsmAnd requests, 4xx and 5xx.
load test_helper

SINK="$BATS_TEST_DIRNAME/http_sink.py"

# start_sink [PORT] [ARGS...]: the server on PORT (0: any); sets PORT, SPID.
start_sink() {
	local port=${1:-0}; shift || true
	rm -f "$TK_TMP/port"
	python3 "$SINK" --port "$port" --port-file "$TK_TMP/port" --log "$TK_TMP/log" "$@" 3>&- 6>&- &
	SPID=$!
	TK_PIDS="${TK_PIDS:-} $SPID"
	TK_WAIT=$(( ${TK_WAIT:-5} + 5 )) wait_for test -s "$TK_TMP/port"
	PORT=$(cat "$TK_TMP/port")
}

stop_sink() {
	kill -TERM "$SPID"
	wait "$SPID" || true
}

# records N [FROM]: N synthetic records with a sequence number.
records() {
	local i from=${2:-1}
	for ((i = from; i < from + $1; i++)); do
		printf '{"type":"position","uniqueId":"000070000012","seq":%d,"latitude":52.1,"longitude":4.3,"fixTime":"2026-11-23T08:00:%02d.000Z"}\n' "$i" $((i % 60))
	done
}

# the seq numbers the server took (2xx), in arrival order, one per line
seqs() {
	jq -r 'select(.status < 300) | .body' "$TK_TMP/log" | jq -c '.[]?' | jq -r .seq
}

# count of records the server took
n_taken() {
	[ -f "$TK_TMP/log" ] || { echo 0; return; }
	seqs | wc -l
}

taken_is() {
	[ "$(n_taken)" -eq "$1" ]
}

# reap_fwd: wait (bounded) for the tk-forward in FPID; sets FRC.
reap_fwd() {
	FRC=0
	timeout $(( ${TK_WAIT:-5} * 4 )) tail --pid="$FPID" -f /dev/null ||
		kill -KILL "$FPID" 2>/dev/null || true
	wait "$FPID" || FRC=$?
}

@test "tk-forward: batches of -b records as JSON arrays, exit 0 when all delivered" {
	start_sink
	records 7 >"$TK_TMP/in"
	run_tk tk-forward -b 3 "http://127.0.0.1:$PORT/hook" "$TK_TMP/in"
	assert_success
	[ "$(wc -l <"$TK_TMP/log")" -eq 3 ]
	[ "$(jq -r .ctype "$TK_TMP/log" | sort -u)" = application/json ]
	[ "$(jq -r .path "$TK_TMP/log" | sort -u)" = /hook ]
	[ "$(jq -r '.body | fromjson | length' "$TK_TMP/log" | tr '\n' ' ')" = "3 3 1 " ]
	[ "$(seqs | tr '\n' ' ')" = "1 2 3 4 5 6 7 " ]
	[[ "$stderr" == *"7 lines, 7 delivered in 3 requests"* ]]
}

@test "tk-forward --lines: a batch is JSON lines, the records unchanged; -H adds a header" {
	start_sink
	records 4 >"$TK_TMP/in"
	run_tk tk-forward --lines -b 10 -H 'Authorization: Bearer s3cret' \
	    "http://127.0.0.1:$PORT/" <"$TK_TMP/in"
	assert_success
	[ "$(wc -l <"$TK_TMP/log")" -eq 1 ]
	[ "$(jq -r .ctype "$TK_TMP/log")" = application/x-ndjson ]
	[ "$(jq -r .auth "$TK_TMP/log")" = "Bearer s3cret" ]
	jq -j .body "$TK_TMP/log" >"$TK_TMP/got"
	cmp "$TK_TMP/in" "$TK_TMP/got"
}

@test "tk-forward: a partial batch goes out after the linger, input still open" {
	start_sink
	mkfifo "$TK_TMP/fifo"
	"$TK_BIN/tk-forward" -q -b 100 -l 1 "http://127.0.0.1:$PORT/" <"$TK_TMP/fifo" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	exec 6>"$TK_TMP/fifo"
	records 2 >&6
	wait_for test -s "$TK_TMP/log"
	[ "$(seqs | tr '\n' ' ')" = "1 2 " ]
	exec 6>&-
	reap_fwd
	[ "$FRC" -eq 0 ]
}

@test "tk-forward: the endpoint stopped for seconds mid-run, between requests: every record arrives exactly once, in order" {
	start_sink
	mkfifo "$TK_TMP/fifo"
	"$TK_BIN/tk-forward" -b 7 -l 0 -r 1 -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/in" \
	    <"$TK_TMP/fifo" 2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	exec 6>"$TK_TMP/fifo"
	records 50 1 >&6
	wait_for taken_is 50
	stop_sink
	records 50 51 >&6
	# down: it says so once, and the records wait in the spool on disk
	wait_for grep -q "retrying" "$TK_TMP/err"
	wait_for test -s "$TK_TMP/spool/0000000000000001.spool"
	sleep 2
	[ "$(n_taken)" -eq 50 ]
	start_sink "$PORT"
	records 50 101 >&6
	exec 6>&-
	reap_fwd
	cat "$TK_TMP/err"
	[ "$FRC" -eq 0 ]
	[ "$(seqs | tr '\n' ' ')" = "$(seq 1 150 | tr '\n' ' ')" ]
	grep -q "reachable again after" "$TK_TMP/err"
	grep -q "150 lines, 150 delivered" "$TK_TMP/err"
}

# the bodies of the requests in the log, one per line, as seq lists ("11 12 13")
bodies() {
	jq -c 'select(.status < 300) | .body | fromjson | map(.seq)' "$TK_TMP/log" | tr -d '[]' | tr ',' ' '
}

@test "tk-forward: the endpoint dies after taking a batch, back seconds later: at least once, that batch again whole, then the rest in order" {
	start_sink 0 --die-at 2
	records 30 >"$TK_TMP/in"
	"$TK_BIN/tk-forward" -b 10 -l 0 -r 1 "http://127.0.0.1:$PORT/" <"$TK_TMP/in" \
	    2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	wait_for grep -q "retrying" "$TK_TMP/err"
	wait "$SPID" || true
	sleep 2
	start_sink "$PORT"
	reap_fwd
	cat "$TK_TMP/err"
	[ "$FRC" -eq 0 ]
	# the batch taken without an answer is the one sent again, next
	lost=$(jq -c 'select(.answered == false) | .body | fromjson | map(.seq)' "$TK_TMP/log")
	[ -n "$lost" ]
	mapfile -t b < <(bodies)
	i=$(jq -s 'map(select(.status < 300)) | map(.answered) | index(false)' "$TK_TMP/log")
	[ "${b[i + 1]}" = "$(tr -d '[]' <<<"$lost" | tr ',' ' ')" ]
	# every record, in order, the repeated batch once more
	[ "$(seqs | awk '!seen[$0]++' | tr '\n' ' ')" = "$(seq 1 30 | tr '\n' ' ')" ]
	[ "$(n_taken)" -eq $((30 + $(jq length <<<"$lost"))) ]
}

@test "tk-forward -s killed -9 while the endpoint holds a batch: the next run sends it again, first" {
	start_sink 0 --hang-at 2
	records 30 >"$TK_TMP/in"
	"$TK_BIN/tk-forward" -b 10 -l 0 -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" \
	    <"$TK_TMP/in" 2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	wait_for eval '[ "$(wc -l <"$TK_TMP/log")" -eq 2 ]'
	kill -KILL "$FPID"
	reap_fwd
	stop_sink
	lost=$(jq -c 'select(.answered == false) | .body | fromjson | map(.seq)' "$TK_TMP/log")
	[ -n "$lost" ]
	start_sink
	records 5 31 >"$TK_TMP/in2"
	run_tk tk-forward -b 10 -l 0 -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" "$TK_TMP/in2"
	assert_success
	[[ "$stderr" == *"records were left by an earlier run"* ]]
	# the first request of the new run is the batch that had no answer
	[ "$(jq -s -c 'map(select(.answered == true))[0].body | fromjson | map(.seq)' <(tail -n +3 "$TK_TMP/log"))" = "$lost" ]
	[ "$(seqs | awk '!seen[$0]++' | tr '\n' ' ')" = "$(seq 1 35 | tr '\n' ' ')" ]
	[ "$(n_taken)" -eq $((35 + $(jq length <<<"$lost"))) ]
}

@test "tk-forward: an endpoint not up at start gets everything once it is" {
	start_sink
	stop_sink
	records 20 >"$TK_TMP/in"
	"$TK_BIN/tk-forward" -b 5 -r 1 "http://127.0.0.1:$PORT/" <"$TK_TMP/in" 2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	wait_for grep -q "Couldn't connect\|Connection refused" "$TK_TMP/err"
	start_sink "$PORT"
	reap_fwd
	[ "$FRC" -eq 0 ]
	[ "$(seqs | tr '\n' ' ')" = "$(seq 1 20 | tr '\n' ' ')" ]
}

@test "tk-forward: 5xx is retried, 4xx rejects that batch only (counted, exit 1)" {
	start_sink 0 --fail-first 2 --reject '"seq":4,'
	records 9 >"$TK_TMP/in"
	run_tk tk-forward -b 3 -r 1 "http://127.0.0.1:$PORT/" "$TK_TMP/in"
	assert_failure 1
	# two 503s for the first batch, then 1-3, the 4-6 batch refused, 7-9
	[ "$(jq -r .status "$TK_TMP/log" | tr '\n' ' ')" = "503 503 200 400 200 " ]
	[ "$(seqs | tr '\n' ' ')" = "1 2 3 7 8 9 " ]
	[[ "$stderr" == *"HTTP 503"*"retrying"* ]]
	[[ "$stderr" == *"HTTP 400 for 3 records: rejected, not retried: no thanks"* ]]
	[[ "$stderr" == *"6 delivered in 5 requests, 2 retried requests, 3 rejected"* ]]
}

@test "tk-forward -s: SIGTERM while down keeps the spool; the next run delivers it first" {
	start_sink
	stop_sink
	mkfifo "$TK_TMP/fifo"
	"$TK_BIN/tk-forward" -r 1 -w 1 -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" \
	    <"$TK_TMP/fifo" 2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	exec 6>"$TK_TMP/fifo"
	records 30 1 >&6
	wait_for grep -q "retrying" "$TK_TMP/err"
	# as in a pipeline stopped by one signal: the writer closes the pipe
	kill -TERM "$FPID"
	exec 6>&-
	reap_fwd
	cat "$TK_TMP/err"
	[ "$FRC" -eq 0 ]
	grep -q "30 records not delivered: kept in the spool" "$TK_TMP/err"
	start_sink "$PORT"
	records 5 31 >"$TK_TMP/in"
	run_tk tk-forward -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" "$TK_TMP/in"
	assert_success
	[[ "$stderr" == *"30 records were left by an earlier run"* ]]
	[ "$(seqs | tr '\n' ' ')" = "$(seq 1 35 | tr '\n' ' ')" ]
	# delivered: the spool holds nothing more
	run_tk tk-forward -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" </dev/null
	assert_success
	[[ "$stderr" != *"earlier run"* ]]
}

@test "tk-forward: a spool in use by another tk-forward is refused (exit 3)" {
	mkfifo "$TK_TMP/fifo"
	"$TK_BIN/tk-forward" -s "$TK_TMP/spool" http://127.0.0.1:9/ <"$TK_TMP/fifo" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	exec 6>"$TK_TMP/fifo"
	wait_for test -e "$TK_TMP/spool/lock"
	sleep 0.2
	run_tk tk-forward -s "$TK_TMP/spool" http://127.0.0.1:9/ </dev/null
	assert_failure 3
	[[ "$stderr" == *"in use by another process"* ]]
	exec 6>&-
	reap_fwd
	[ "$FRC" -eq 0 ]
}

@test "tk-forward --drop: at the spool bound new records are dropped and counted (exit 1)" {
	start_sink
	stop_sink
	mkfifo "$TK_TMP/fifo"
	"$TK_BIN/tk-forward" --drop -m 4k -r 1 -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" \
	    <"$TK_TMP/fifo" 2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	exec 6>"$TK_TMP/fifo"
	records 100 >&6		# 100 records of about 125 bytes: some 30 fit in 4 KiB
	wait_for grep -q "the queue is full: dropping" "$TK_TMP/err"
	start_sink "$PORT"
	exec 6>&-
	reap_fwd
	cat "$TK_TMP/err"
	[ "$FRC" -eq 1 ]
	# the first n records arrive, in order; the 100 - n after them are counted
	n=$(n_taken)
	[ "$n" -ge 25 ] && [ "$n" -le 35 ]
	[ "$(seqs | tr '\n' ' ')" = "$(seq 1 "$n" | tr '\n' ' ')" ]
	grep -q "dropped: 0 not records, 0 long lines, $((100 - n)) at the queue bound" "$TK_TMP/err"
}

@test "tk-forward: at the bound without --drop the input waits; nothing is lost" {
	start_sink
	stop_sink
	records 100 >"$TK_TMP/in"
	"$TK_BIN/tk-forward" -m 4k -r 1 "http://127.0.0.1:$PORT/" <"$TK_TMP/in" \
	    2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	wait_for grep -q "retrying" "$TK_TMP/err"
	start_sink "$PORT"
	reap_fwd
	[ "$FRC" -eq 0 ]
	[ "$(seqs | tr '\n' ' ')" = "$(seq 1 100 | tr '\n' ' ')" ]
}

@test "tk-forward -w: at the end of input it gives up after the wait (exit 3), nothing silent" {
	records 3 >"$TK_TMP/in"
	run_tk tk-forward -w 1 -r 1 http://127.0.0.1:9/ "$TK_TMP/in"
	assert_failure 3
	[[ "$stderr" == *"3 records not delivered: lost"* ]]
}

@test "tk-forward --osmand: Traccar's query string from tk-decode's records" {
	start_sink
	printf 'imei:359586015829802,help me,0809231429,,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;' |
	    "$TK_BIN/tk-decode" -q >"$TK_TMP/in"
	printf '%s\n' '(027044702512BR00080612A2232.9806N11404.9355E000.1101241323.8700000000L0000)' |
	    "$TK_BIN/tk-decode" -q -P tk103 >>"$TK_TMP/in"
	echo '{"type":"heartbeat","uniqueId":"1"}' >>"$TK_TMP/in"
	run_tk tk-forward --osmand "http://127.0.0.1:$PORT/?key=x" "$TK_TMP/in"
	assert_success
	[[ "$stderr" == *"/in:3: not a position record: skipped"* ]]
	[ "$(wc -l <"$TK_TMP/log")" -eq 2 ]
	q1=$(jq -r 'select(.status == 200) | .query' "$TK_TMP/log" | sed -n 1p)
	q2=$(jq -r 'select(.status == 200) | .query' "$TK_TMP/log" | sed -n 2p)
	# gps103: 2008-09-23 06:29:47.294 UTC = 1222151387 s, sos alarm
	[ "$q1" = "key=x&id=359586015829802&timestamp=1222151387&lat=22.573377&lon=113.905462&speed=0&valid=true&alarm=sos" ]
	# tk103: speed in knots as decoded, course as bearing, attributes passed on
	[[ "$q2" == "key=x&id=027044702512&timestamp="* ]]
	[[ "$q2" == *"&lat=22.549677&lon=114.082258&speed=0.054&bearing=323.87&valid=true&charge=true&ignition=false&fuel=0&odometer=0" ]]
	[ "$(jq -r .method "$TK_TMP/log" | sort -u)" = POST ]
	[ "$(jq -r .body "$TK_TMP/log" | sort -u)" = "" ]
}

@test "tk-forward: misuse exits 2 (no URL, not http, --lines with --osmand, bad -m)" {
	run_tk tk-forward
	assert_failure 2
	run_tk tk-forward ftp://example.org/
	assert_failure 2
	[[ "$stderr" == *"not an http:// or https:// URL"* ]]
	run_tk tk-forward --lines --osmand http://127.0.0.1:9/
	assert_failure 2
	run_tk tk-forward -m 12 http://127.0.0.1:9/
	assert_failure 2
	run_tk tk-forward --osmand -b 5 http://127.0.0.1:9/
	assert_failure 2
}

@test "tk-forward: lines that are not JSON objects are reported with their line and skipped" {
	start_sink
	{ records 1; echo 'not json'; echo '[1,2]'; records 1 2; } >"$TK_TMP/in"
	run_tk tk-forward "http://127.0.0.1:$PORT/" "$TK_TMP/in"
	assert_success
	[[ "$stderr" == *"in:2: not a JSON object: skipped"* ]]
	[[ "$stderr" == *"in:3: not a JSON object: skipped"* ]]
	[[ "$stderr" == *"dropped: 2 not records"* ]]
	[ "$(seqs | tr '\n' ' ')" = "1 2 " ]
}

# ---- the man page's EXAMPLES, with the local server's URL ------------------

day_log() {
	cat "$TK_DATA"/captures/gps103-session.raw >"$TK_TMP/day.log"
}

@test "tk-forward(1) example: a day's positions to a webhook with -b and -H" {
	start_sink
	day_log
	"$TK_BIN/tk-decode" -q <"$TK_TMP/day.log" >"$TK_TMP/want.jsonl"
	run bash -c "'$TK_BIN/tk-decode' < '$TK_TMP/day.log' | '$TK_BIN/tk-forward' -b 500 \
	    -H 'Authorization: Bearer s3cret' http://127.0.0.1:$PORT/positions"
	assert_success
	[ "$(jq -r .auth "$TK_TMP/log")" = "Bearer s3cret" ]
	[ "$(jq -r .path "$TK_TMP/log")" = /positions ]
	jq -c '.body | fromjson | .[]' "$TK_TMP/log" >"$TK_TMP/got.jsonl"
	[ -s "$TK_TMP/got.jsonl" ]
	jq -c . "$TK_TMP/want.jsonl" | cmp - "$TK_TMP/got.jsonl"
}

@test "tk-forward(1) example: tk-listen | tk-decode | tk-forward --osmand -s, live" {
	start_sink
	bash -c 'echo $$ >"$1/lpid"; exec "$2/tk-listen" -b 127.0.0.1 -p 0 --port-file "$1/lport"' \
	    _ "$TK_TMP" "$TK_BIN" 2>"$TK_TMP/lerr" 3>&- |
	    "$TK_BIN/tk-decode" 2>/dev/null 3>&- |
	    "$TK_BIN/tk-forward" --osmand -s "$TK_TMP/spool" "http://127.0.0.1:$PORT/" \
	    2>"$TK_TMP/err" 3>&- &
	FPID=$!
	TK_PIDS="${TK_PIDS:-} $FPID"
	wait_for test -s "$TK_TMP/lport"
	TK_PIDS="${TK_PIDS:-} $(cat "$TK_TMP/lpid")"
	exec 5<>"/dev/tcp/127.0.0.1/$(cat "$TK_TMP/lport")"
	printf 'imei:359586015829802,help me,0809231429,,F,062947.294,A,2234.4026,N,11354.3277,E,0.00,;' >&5
	wait_for test -s "$TK_TMP/log"
	exec 5>&-
	[[ "$(jq -r .query "$TK_TMP/log")" == "id=359586015829802&timestamp=1222151387&lat=22.573377&lon=113.905462&"* ]]
	kill -TERM "$(cat "$TK_TMP/lpid")"
	reap_fwd
	[ "$FRC" -eq 0 ]
}

@test "tk-forward(1) example: replay decoded records into Traccar's OsmAnd port" {
	start_sink
	day_log
	"$TK_BIN/tk-decode" -q <"$TK_TMP/day.log" >"$TK_TMP/day.jsonl"
	npos=$(jq -r 'select(.latitude != null and (.fixTime // .deviceTime // .serverTime) != null) | .uniqueId' "$TK_TMP/day.jsonl" | wc -l)
	[ "$npos" -gt 0 ]
	cd "$TK_TMP"
	run_tk tk-forward --osmand "http://127.0.0.1:$PORT/" day.jsonl
	assert_success
	[ "$(jq -r 'select(.status == 200) | .query' "$TK_TMP/log" | grep -c '^id=')" -eq "$npos" ]
}
