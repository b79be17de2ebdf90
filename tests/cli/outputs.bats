#!/usr/bin/env bats
# No output lost quietly (tk103-tools(7), COMMAND LINE CONVENTIONS): every
# file a tool writes goes to a temporary name beside it and is renamed when
# whole; a path that cannot be written is refused before any input is read
# (exit 3, naming it); a write that fails later is exit 3 naming it.
load test_helper

CAP="$BATS_TEST_DIRNAME/../data/captures"
DAY="$BATS_TEST_DIRNAME/../data/track/day.jsonl"
SITES="$BATS_TEST_DIRNAME/../data/geofence/sites.wkt"
CROSS="$BATS_TEST_DIRNAME/../data/geofence/track-cross.jsonl"

# no_temp DIR: no temporary file (.NAME.XXXXXX) left in DIR
no_temp() {
	[ -z "$(find "$1" -maxdepth 1 -name '.*.??????' -print)" ]
}

@test "tk-decode -o: a missing photo directory is refused before reading input" {
	run_tk tk-decode -o "$TK_TMP/nonexistent/dir" "$CAP/gps103-photo.raw"
	assert_failure 3
	[[ "$stderr" == *"-o $TK_TMP/nonexistent/dir"*"No such file or directory"* ]]
	[ -z "$output" ]	# refused before any record
}

@test "tk-decode -o: a regular file as photo directory is refused" {
	echo x >"$TK_TMP/afile"
	run_tk tk-decode -o "$TK_TMP/afile" "$CAP/gps103-photo.raw"
	assert_failure 3
	[[ "$stderr" == *"-o $TK_TMP/afile"*"Not a directory"* ]]
	[ "$(cat "$TK_TMP/afile")" = x ]
}

@test "tk-decode -o: a photo that cannot be written later is an error, -v or not" {
	mkdir "$TK_TMP/photos"
	mkfifo "$TK_TMP/in"
	"$TK_BIN/tk-decode" -o "$TK_TMP/photos" "$TK_TMP/in" >"$TK_TMP/out" 2>"$TK_TMP/err" &
	pid=$!
	exec 9>"$TK_TMP/in"		# opened: tk-decode has passed its start checks
	rmdir "$TK_TMP/photos"
	cat "$CAP/gps103-photo.raw" >&9
	exec 9>&-
	rc=0
	timeout 10 tail --pid="$pid" -f /dev/null || kill -KILL "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 3 ]
	grep -q "photo of 864180034124375 not written to $TK_TMP/photos: No such file or directory" "$TK_TMP/err"
	grep -q "1 photos not written" "$TK_TMP/err"
	# the record is still written, without an image name
	grep -q '"type":"photo".*"imageSize":23}' "$TK_TMP/out"
}

@test "tk-decode -o: photos are written whole under their final name only" {
	mkdir "$TK_TMP/photos"
	run_tk tk-decode -q -o "$TK_TMP/photos" "$CAP/gps103-photo.raw"
	assert_success
	[ "$(ls -A "$TK_TMP/photos")" = 864180034124375-20190116172750.jpg ]
}

@test "tk-track -o: a missing directory is refused before reading input" {
	mkfifo "$TK_TMP/in"		# never written: a tool reading it would hang
	run --separate-stderr timeout 10 "$TK_BIN/tk-track" -f gpx -o "$TK_TMP/nonexistent/keep.gpx" "$TK_TMP/in"
	assert_failure 3
	[[ "$stderr" == *"$TK_TMP/nonexistent/keep.gpx: No such file or directory"* ]]
}

@test "tk-track -o: the old file is kept whole until the new one is written" {
	run_tk tk-track -q -f gpx -o "$TK_TMP/keep.gpx" "$DAY"
	assert_success
	cp "$TK_TMP/keep.gpx" "$TK_TMP/before.gpx"
	[ -s "$TK_TMP/before.gpx" ]
	# a run still reading its input has not touched keep.gpx
	mkfifo "$TK_TMP/in"
	"$TK_BIN/tk-track" -q -f gpx -o "$TK_TMP/keep.gpx" "$TK_TMP/in" 2>"$TK_TMP/err" &
	pid=$!
	exec 9>"$TK_TMP/in"
	head -n 20 "$DAY" >&9
	cmp "$TK_TMP/keep.gpx" "$TK_TMP/before.gpx"
	# interrupted: the old file stays, whole
	kill -KILL "$pid"
	wait "$pid" || true
	exec 9>&-
	cmp "$TK_TMP/keep.gpx" "$TK_TMP/before.gpx"
}

@test "tk-track -o: a finished run replaces the file and leaves no temporary file" {
	echo old >"$TK_TMP/keep.json"
	run_tk tk-track -q -o "$TK_TMP/keep.json" "$DAY"
	assert_success
	[ "$(wc -l <"$TK_TMP/keep.json")" -eq 5 ]
	no_temp "$TK_TMP"
}

@test "tk-track -o: a directory is refused with exit 3" {
	run_tk tk-track -q -o "$TK_TMP" "$DAY"
	assert_failure 3
	[[ "$stderr" == *"$TK_TMP: Is a directory"* ]]
}

@test "tk-track -o /dev/stdout writes in place" {
	run --separate-stderr sh -c "'$TK_BIN/tk-track' -q -o /dev/stdout '$DAY' | wc -l"
	assert_success
	[ "$output" -eq 5 ]
	[ -c /dev/stdout ] || [ -p /dev/stdout ] || [ -L /dev/stdout ]
}

@test "tk-track -o /dev/full: the failed write is exit 3 naming the file" {
	run_tk tk-track -q -f gpx -o /dev/full "$DAY"
	assert_failure 3
	[[ "$stderr" == *"/dev/full"* ]]
	[ -c /dev/full ]
}

@test "tk-geofence -s: a state file that cannot be created is refused before reading input" {
	run_tk tk-geofence -q -e -s "$TK_TMP/nonexistent/dir/state" -f "$SITES" "$CROSS"
	assert_failure 3
	[[ "$stderr" == *"-s $TK_TMP/nonexistent/dir/state"*"No such file or directory"* ]]
	[[ "$stderr" != *".tmp"* ]]
	[ -z "$output" ]	# refused before any record
	no_temp "$TK_TMP"
}

@test "tk-geofence -s: the state is saved through a temporary file, none left behind" {
	run_tk tk-geofence -q -e -s "$TK_TMP/state" -f "$SITES" "$CROSS"
	assert_success
	[ -s "$TK_TMP/state" ]
	no_temp "$TK_TMP"
}

@test "tk-listen --port-file: an unwritable path fails before listening" {
	run --separate-stderr timeout 10 "$TK_BIN/tk-listen" -b 127.0.0.1 -p 0 --port-file /nonexistent/p
	assert_failure 3
	[[ "$stderr" == *"--port-file /nonexistent/p: No such file or directory"* ]]
	[[ "$stderr" != *"listening"* ]]
}
