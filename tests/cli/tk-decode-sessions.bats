#!/usr/bin/env bats
# tk-decode on frame lines: per-connection sessions come and go with
# open/close lines, and the session table stays sized to the connections
# that are open, not to every connection ever seen.
load test_helper

@test "140000 connections opened and closed one after another: no table overflow" {
	# one tk103 heartbeat per connection, then its close; at most one open
	awk 'BEGIN { for (i = 1; i <= 140000; i++) {
		printf "2026-11-24T08:00:00.000Z frame tcp 192.0.2.7:%d %d tk103 - - (087073005534BP00HSO)\n", 1024 + i % 60000, i
		printf "2026-11-24T08:00:00.000Z close tcp 192.0.2.7:%d %d - - - eof\n", 1024 + i % 60000, i
	} }' >"$TK_TMP/lines"
	run_tk tk-decode "$TK_TMP/lines"
	assert_success
	[[ "$stderr" != *"forgetting per-connection state"* ]]
	[[ "$stderr" == *"140000 frames, 140000 decoded, 0 rejected, 140000 records"* ]]
	[ "$(printf '%s\n' "$output" | grep -c '"type":"heartbeat"')" -eq 140000 ]
}

@test "frames flagged conflict= or refused= are not the device's: skipped and counted" {
	cat >"$TK_TMP/lines" <<'L'
2026-11-24T08:00:00.000Z frame tcp 192.0.2.7:4000 1 gps103 359586015829802 - 359586015829802;
2026-11-24T08:00:01.000Z frame udp 198.51.100.9:5000 2 gps103 - conflict=359586015829802 ##,imei:359586015829802,A;
2026-11-24T08:00:02.000Z frame udp 198.51.100.9:5001 3 tk103 - refused=087073005534 (087073005534BP00HSO)
2026-11-24T08:00:03.000Z frame tcp 192.0.2.8:4000 4 tk103 087073005534 oversize,mismatch=1 (087073005534BP00HSO)
L
	run_tk tk-decode -i lines "$TK_TMP/lines"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c .)" -eq 2 ]
	[[ "$output" != *'"protocol":"gps103","uniqueId":"359586015829802","type":"login"'* ]]
	[[ "$stderr" == *"2 frames, 2 decoded, 0 rejected, 2 records, 2 frames of sessions in identity conflict or refused (not decoded)"* ]]
}
