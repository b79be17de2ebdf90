#!/usr/bin/env bats
# One shutdown story (issue 16, item 6; tk103-tools(7), SIGNALS): SIGINT to
# a pipeline's process group, as Ctrl-C sends it, ends every tool in order
# with its documented code, and nothing written upstream is lost.
#
# Each pipeline runs from a script in its own session (setsid: its pid is
# the process group), each tool's exit status in rc.NAME.  The script
# starts its tools with SIGINT ignored, so a signal that came before a tool
# installed its handler (a slow start under valgrind) is lost, not fatal:
# the tool then ends at the end of its input, as the drain would make it.
load test_helper

# run_group SCRIPT: start bash SCRIPT in a session of its own; sets GPID.
run_group() {
	setsid bash "$1" &
	GPID=$!
	TK_PIDS="${TK_PIDS:-} $GPID"
}

# a failed test leaves no tool of the group running (SIGTERM, a bounded
# wait, SIGKILL); a sanitizer report fails the test
teardown_local() {
	if [ -n "${GPID:-}" ] && kill -TERM -- "-$GPID" 2>/dev/null; then
		local i
		for i in $(seq 100); do
			kill -0 -- "-$GPID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$GPID" 2>/dev/null || true
	fi
	no_sanitizer_reports
}

# end_group: SIGINT to the group, then a bounded wait for the script.
end_group() {
	kill -INT -- "-$GPID"
	timeout 60 tail --pid="$GPID" -f /dev/null
	wait "$GPID"
}

# count_ge N FILE [PATTERN]: FILE has at least N lines (matching PATTERN).
count_ge() {
	[ -f "$2" ] && [ "$(grep -c -- "${3:-}" "$2")" -ge "$1" ]
}

rc_is() {
	[ "$(cat "$TK_TMP/rc.$1")" = "$2" ] || {
		echo "rc.$1: $(cat "$TK_TMP/rc.$1"), expected $2" >&2
		cat "$TK_TMP/err.$1" >&2
		return 1
	}
}

@test "Ctrl-C on tk-listen | tk-decode | tk-geofence: close lines written and read, every tool exits 0" {
	cd "$TK_TMP"
	# tee -i (it ignores SIGINT) keeps what tk-listen wrote, to compare
	cat >pipe <<EOF
trap '' INT
cd "$TK_TMP"
{ "$TK_BIN/tk-listen" -b 127.0.0.1 -p 0 --port-file port 2>err.listen; echo \$? >rc.listen; } |
	tee -i frames |
	{ "$TK_BIN/tk-decode" 2>err.decode; echo \$? >rc.decode; } |
	{ "$TK_BIN/tk-geofence" -a -f "$TK_DATA/demo/fences.geojson" >out.jsonl 2>err.geo; echo \$? >rc.geo; }
EOF
	run_group pipe
	wait_for test -s port
	bg tk-sim -p "$(cat port)" -n 3 -d gps103 -i 0.2 -T 600 -q
	# every device has sent positions through the whole pipeline
	wait_for count_ge 6 out.jsonl '"type":"position"'
	end_group
	rc_is listen 0
	rc_is decode 0
	rc_is geo 0
	# tk-listen closed the three connections with reason shutdown...
	[ "$(awk '$2 == "close" && $9 == "shutdown"' frames | wc -l)" -eq 3 ]
	[ "$(tail -n 1 frames | awk '{print $2, $9}')" = "close shutdown" ]
	# ... and every frame it wrote was decoded and went through tk-geofence
	local n
	n=$(awk '$2 == "frame"' frames | wc -l)
	grep -q "^tk-decode: $n frames, $n decoded, 0 rejected, $n records" err.decode
	grep -q "tk-geofence: 2 fences, $n records, .* $n records written" err.geo
	[ "$(wc -l <out.jsonl)" -eq "$n" ]
}

@test "Ctrl-C on tk-decode FILE | tk-geofence | tk-track: 130 for the file left unread, 0 after, the track written" {
	cd "$TK_TMP"
	"$TK_BIN/tk-sim" -o frames -n 3 -d gps103 -i 10 -N 30 -q
	# 30 positions, then a terabyte of zeros (sparse: no disk) that
	# tk-decode is still reading when the signal comes
	cp frames big
	truncate -s +1T big
	cat >pipe <<EOF
trap '' INT
cd "$TK_TMP"
{ "$TK_BIN/tk-decode" big 2>err.decode; echo \$? >rc.decode; } |
	{ "$TK_BIN/tk-geofence" -a -f "$TK_DATA/demo/fences.geojson" 2>err.geo; echo \$? >rc.geo; } |
	{ "$TK_BIN/tk-track" -f gpx -o day.gpx 2>err.track; echo \$? >rc.track; }
EOF
	echo keep >day.gpx
	run_group pipe
	# past the frames: in the zeros (one line too long, skipped)
	wait_for grep -q 'line longer than' err.decode
	end_group
	rc_is decode 130
	grep -q 'stopped by SIGINT before the end of the input' err.decode
	# every frame before the zeros decoded, went through and was tracked
	local n p
	n=$(awk '$2 == "frame"' frames | wc -l)
	grep -q "^tk-decode: $n frames, $n decoded, 0 rejected, $n records" err.decode
	rc_is geo 0
	grep -q "^tk-geofence: 2 fences, $n records, .* $n records written" err.geo
	p=$(sed -n 's/^tk-geofence: 2 fences, [0-9]* records, \([0-9]*\) positions.*/\1/p' err.geo)
	[ "$p" -gt 0 ]
	rc_is track 0
	[ "$(grep -o '<trkpt' day.gpx | wc -l)" -eq "$p" ]
}

@test "a second SIGINT ends the drain at once: exit 130, what was read is decoded" {
	cd "$TK_TMP"
	"$TK_BIN/tk-sim" -o frames -n 2 -d tk103 -i 10 -N 10 -q
	# the writer upstream ignores SIGINT and keeps the pipe open
	cat >pipe <<EOF
trap '' INT
cd "$TK_TMP"
{ cat frames; exec sleep 600; } |
	{ "$TK_BIN/tk-decode" >out.jsonl 2>err.decode; echo \$? >rc.decode; }
EOF
	run_group pipe
	wait_for count_ge 10 out.jsonl
	kill -INT -- "-$GPID"
	sleep 0.5
	kill -INT -- "-$GPID"
	# the decoder is done; the writer (sleep, ignoring SIGINT) is not
	wait_for test -s rc.decode
	kill -TERM -- "-$GPID"
	wait "$GPID" || true
	rc_is decode 130
	grep -q '^tk-decode: 10 frames, 10 decoded' err.decode
}
