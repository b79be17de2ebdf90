#!/usr/bin/env bats
# The h02 dialect end to end (docs/protocol/h02.md): tk-listen over TCP and
# UDP with text sentences and binary records (V4 answers, heartbeat echo,
# nothing for binary), tk-decode on a capture, tk-cmd -w through tk-listen.
load test_helper
load listen_helper

B32=2441060116601245431311165035313006004318210e000000fffffbffff0024
B45=24410600082621532131081504419390060740418306000000fffffbfdff0015060000002c02dc0c000000001f

@test "h02 tcp: V1 is answered with V4 and the time, HTBT echoed; binary records framed, not answered" {
	start_listen
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,4210051415,V1,164549,A,0956.3869,N,08406.7068,W,000.00,000,221215,FFFFFBFF#' >&5
	run recv 5 36
	[[ "$(printf '%s' "$output" | xxd -r -p)" =~ ^\*HQ,4210051415,V4,V1,20[0-9]{12}#$ ]]
	# two binary records glued, then a heartbeat: the records are framed
	# by what follows them, and only the heartbeat is answered
	{ unhex "$B45"; unhex "$B32"; printf '*HQ,4210051415,HTBT,80#'; } >&5
	run recv 5 20
	assert_output "$(hex '*HQ,4210051415,HTBT#')"
	wait_out ' frame tcp .* h02 4210051415 mismatch=4106011660 '
	out_has ' frame tcp .* h02 4210051415 mismatch=4106000826 '
	run grep -c ' send tcp ' "$TK_TMP/out"
	assert_output 2
	exec 5>&-
	stop_listen
}

@test "h02 udp: one datagram one record (binary of any length too); answers go to the sender" {
	start_listen
	exec 5<>/dev/udp/127.0.0.1/"$PORT"
	printf '*HQ,7401004662,NBR,160453,234,10,0,2,21580,27766,-67,21580,27767,-60,291019,FFFFFBFF,6#\r\n' >&5
	run recv 5 37
	[[ "$(printf '%s' "$output" | xxd -r -p)" =~ ^\*HQ,7401004662,V4,NBR,20[0-9]{12}#$ ]]
	unhex "$B45" >&5
	wait_out ' frame udp .* h02 7401004662 mismatch=4106000826 '
	# the 42-byte form with the IMEI: a datagram of its own
	unhex 2435248308419329301047591808172627335900074412294E024138FEFFFFFFFF01120064BA73005ECC >&5
	wait_out ' frame udp .* h02 7401004662 mismatch=352483084193293 '
	exec 5>&-
	stop_listen
	# the frame lines decode to the positions
	run_tk tk-decode -q "$TK_TMP/out"
	assert_success
	[ "$(grep -c '"protocol":"h02"' <<<"$output")" -eq 3 ]
	[[ "$output" == *'"uniqueId":"352483084193293"'* ]]
	[[ "$output" == *'"fixTime":"2017-08-18T10:47:59.000Z"'* ]]
}

@test "h02 tk-decode: a capture of both forms, glued, with junk" {
	run_tk tk-decode "$BATS_TEST_DIRNAME/../data/captures/h02-mixed.raw"
	assert_success
	[ "${#lines[@]}" -eq 5 ]
	assert_line --index 0 --partial '"uniqueId":"4210051415","deviceTime":"2015-12-22T16:45:49.000Z"'
	assert_line --index 1 --partial '"uniqueId":"4106011660"'
	assert_line --index 2 --partial '"result":"S20,DONE,130305"'
	assert_line --index 3 --partial '"alarm":"sos","batteryLevel":100'
	assert_line --index 4 --partial '"type":"heartbeat","protocol":"h02","uniqueId":"135790246811220"'
	[[ "$stderr" == *"3 bytes of junk skipped"* ]]
	[[ "$stderr" == *"h02     5 frames, 5 decoded, 0 rejected"* ]]
}

@test "h02 tk-cmd -w: the command goes out with its time, the V4 answer comes back" {
	start_listen -S "$TK_TMP/ctl"
	wait_for test -S "$TK_TMP/ctl"
	exec 5<>/dev/tcp/127.0.0.1/"$PORT"
	printf '*HQ,4210051415,V2,164549,A,0956.3869,N,08406.7068,W,000.00,000,221215,FFFFFBFF#' >&5
	wait_out ' frame tcp .* h02 4210051415 '
	TK_CMD_TIME=130305 bg tk-cmd -S "$TK_TMP/ctl" -w 10 4210051415 engine-stop >"$TK_TMP/ans"
	local cpid=$BG_PID
	run recv 5 30
	assert_output "$(hex '*HQ,4210051415,S20,130305,1,1#')"
	printf '*HQ,4210051415,V4,S20,DONE,130305,164600,A,0956.3869,N,08406.7068,W,000.00,000,221215,FFFFFBFF#' >&5
	wait "$cpid"
	grep -q '"result":"S20,DONE,130305"' "$TK_TMP/ans"
	exec 5>&-
	stop_listen
}
