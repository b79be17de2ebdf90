#!/usr/bin/env bats
# tk-decode on gps103 (Coban) captures: \n\r line ends, glued heartbeat +
# data, junk between frames, split reads, a bare-IMEI datagram, photos.
load test_helper

CAP="$TK_DATA/captures"

@test "gps103 session: login, heartbeat, offset rule, sos, glued frame, LBS, OBD, '*' format" {
	run_tk tk-decode "$CAP/gps103-session.raw"
	assert_success
	assert_output --partial '{"type":"login","protocol":"gps103","uniqueId":"359586015829802"'
	assert_output --partial '{"type":"heartbeat","protocol":"gps103","uniqueId":"359586015829802"'
	# local 151027025958 with UTC 235957: +3 h, so the day before
	assert_output --partial '"fixTime":"2015-10-26T23:59:57.000Z","valid":true,"latitude":22.573377,"longitude":113.905462'
	assert_output --partial '"attributes":{"alarm":"sos"}'
	assert_output --partial '"cellTowers":[{"locationAreaCode":10602,"cellId":20983}]},"attributes":{"alarm":"powerCut"}'
	assert_output --partial '"odometer":51442,"fuelConsumption":15.88'
	assert_output --partial '"dtcs":"P0137"'
	assert_output --partial '"latitude":-33.42317,"longitude":-70.6193'
	[ "$(grep -c '' <<<"$output")" -eq 10 ]
	[[ "$stderr" == *"9 frames, 9 decoded, 0 rejected, 10 records"* ]]
}

@test "gps103 glued heartbeat + data: the heartbeat comes first" {
	run_tk tk-decode "$CAP/gps103-session.raw"
	assert_success
	hb=$(grep -n '"type":"heartbeat","protocol":"gps103","uniqueId":"359769031878322"' <<<"$output" | cut -d: -f1)
	pos=$(grep -n '"uniqueId":"359769031878322","deviceTime":"2016-02-15T22:18:11.000Z"' <<<"$output" | cut -d: -f1)
	[ -n "$hb" ] && [ -n "$pos" ]
	[ "$pos" -eq $((hb + 1)) ]
}

@test "gps103 split reads give the same records" {
	whole=$("$TK_BIN/tk-decode" -q "$CAP/gps103-session.raw")
	run bash -c "{ head -c 37 '$CAP/gps103-session.raw'; sleep 0.2; tail -c +38 '$CAP/gps103-session.raw' | head -c 200; sleep 0.2; tail -c +238 '$CAP/gps103-session.raw'; } | '$TK_BIN/tk-decode' -q -P gps103"
	assert_success
	[ "$output" = "$whole" ]
}

@test "gps103 junk between frames is skipped, reported, and the stream goes on" {
	run_tk tk-decode "$CAP/gps103-garbage.raw"
	assert_success
	assert_output --partial '{"type":"login","protocol":"gps103","uniqueId":"359586015829802"'
	assert_output --partial '"speed":1.5,"attributes":{"alarm":"movement"}'
	[[ "$stderr" == *"bytes of junk skipped"* ]]
	[[ "$stderr" == *"field 5 is 'Q', not F or L"* ]]
	[[ "$stderr" == *"1 rejected"* ]]
	run_tk tk-decode -s "$CAP/gps103-garbage.raw"
	assert_failure 1
}

@test "gps103 bare IMEI heartbeat datagram (no delimiter) as hex" {
	run_tk tk-decode -i hex <(echo 333539353836303135383239383032)
	assert_success
	assert_output '{"type":"heartbeat","protocol":"gps103","uniqueId":"359586015829802","attributes":{}}'
}

@test "gps103 photo: vt02 + 2 vr chunks written to -o DIR" {
	mkdir "$TK_TMP/photos"
	run_tk tk-decode -o "$TK_TMP/photos" "$CAP/gps103-photo.raw"
	assert_success
	assert_output --partial '{"type":"photo","protocol":"gps103","uniqueId":"864180034124375","deviceTime":"2019-01-16T17:27:50.000Z","attributes":{"imageSize":23,"image":"864180034124375-20190116172750.jpg"}}'
	f="$TK_TMP/photos/864180034124375-20190116172750.jpg"
	[ -f "$f" ]
	printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9' >"$TK_TMP/want.jpg"
	cmp "$f" "$TK_TMP/want.jpg"
	[ "$(stat -c %a "$f")" = 644 ]
	# a second run never overwrites: a new name
	run_tk tk-decode -o "$TK_TMP/photos" "$CAP/gps103-photo.raw"
	assert_success
	assert_output --partial '"image":"864180034124375-20190116172750-1.jpg"'
}

@test "gps103 photo without -o: the size only, no file" {
	mkdir "$TK_TMP/cwd"
	cd "$TK_TMP/cwd"
	run_tk tk-decode "$CAP/gps103-photo.raw"
	assert_success
	assert_output --partial '"type":"photo","protocol":"gps103","uniqueId":"864180034124375","deviceTime":"2019-01-16T17:27:50.000Z","attributes":{"imageSize":23}}'
	[ -z "$(ls -A "$TK_TMP/cwd")" ]
}
