#!/usr/bin/env bats
# tk-decode on xexun and xexun2 captures: structural framing (binary CRC
# bytes that look like delimiters, \n\r line ends, a CRLF inside a
# message), garbage, glued and truncated binary frames, hex input.
load test_helper

XEXUN=captures/xexun-mixed.raw
XEXUN2=captures/xexun2-stream.raw

@test "xexun capture: every message framed, junk line reported" {
	run_tk tk-decode -v "$TK_DATA/$XEXUN"
	assert_success
	assert_equal "${#lines[@]}" 6
	[[ "$stderr" == *"7 bytes of junk"* ]]
	[[ "$stderr" == *"6 frames, 6 decoded, 0 rejected"* ]]
}

@test "xexun capture: a binary CRC with an LF byte verifies (short trailer)" {
	run_tk tk-decode "$TK_DATA/$XEXUN"
	assert_success
	assert_line --index 0 --partial '"uniqueId":"359587014718392"'
	assert_line --index 0 --partial '"latitude":51.673917,"longitude":5.01781'
	assert_line --index 0 --partial '"speed":2.1'
	assert_line --index 0 --partial '"crcValid":true'
}

@test "xexun capture: a comma CRC byte does not swallow the next message" {
	run_tk tk-decode "$TK_DATA/$XEXUN"
	assert_line --index 1 --partial '"speed":1.64'
	assert_line --index 2 --partial '"uniqueId":"013949002026675"'
	assert_line --index 2 --partial '"altitude":3522.9'
	assert_line --index 2 --partial '"sat":4,"power":3.72,"crcValid":true'
}

@test "xexun capture: CRLF after *hh stays inside the message; an edited CRC warns" {
	run_tk tk-decode -v "$TK_DATA/$XEXUN"
	assert_line --index 3 --partial '"uniqueId":"359853000144328"'
	assert_line --index 3 --partial '"crcValid":false'
	[[ "$stderr" == *"CRC 2689 does not match"* ]]
}

@test "xexun capture: a no-fix line is an event with its cell tower" {
	run_tk tk-decode "$TK_DATA/$XEXUN"
	assert_line --index 4 --partial '"type":"event"'
	assert_line --index 4 --partial '"mobileCountryCode":247,"mobileNetworkCode":1,"locationAreaCode":14,"cellId":8133'
	assert_line --index 5 --partial '"event":"ACCStart","ignition":true'
}

@test "xexun capture: fed as raw with -P xexun gives the same records" {
	run_tk tk-decode -i raw -P xexun "$TK_DATA/$XEXUN"
	assert_success
	assert_equal "${#lines[@]}" 6
}

@test "xexun2 capture: garbage, three frames, a truncated tail" {
	run_tk tk-decode -v "$TK_DATA/$XEXUN2"
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 --partial '"fixTime":"2024-03-12T19:53:38.000Z","valid":true,"latitude":37.097721,"longitude":-121.645313'
	assert_line --index 1 --partial '"altitude":89.7'
	assert_line --index 2 --partial '"alarm":"sos"'
	assert_line --index 2 --partial '"charge":true,"batteryLevel":80'
	[[ "$stderr" == *"3 frames, 3 decoded, 0 rejected"* ]]
	[[ "$stderr" == *"junk"* ]]
}

@test "xexun2 hex lines: decoded; a bad record count is rejected with a reason" {
	printf '%s\n' \
	    FAAF0014000086220505123456700016F86F0100130065F0B2C200000002010Ac63daae045679dd0FAAF \
	    FAAF001400008622050512345670000200F50900FAAF \
	    > "$TK_TMP/x2.hex"
	run_tk tk-decode -i hex -P xexun2 "$TK_TMP/x2.hex"
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --partial '"uniqueId":"862205051234567"'
	[[ "$stderr" == *"record count 9 does not fit"* ]]
	run_tk tk-decode -s -i hex -P xexun2 "$TK_TMP/x2.hex"
	assert_failure 1
}

@test "xexun hex line: an extended message with its \\n\\r line end" {
	printf '%s\n' 3135303631353132333733312c2b33333634373338343631312c4750524d432c3130333733312e3633362c412c343534352e353236362c4e2c30303434382e383235392c452c32312e31322c3237362e30312c3135303631352c2c2c412a35372c4c2c2c20696d65693a3031333934393030323032363637352c30342c333532322e392c463a332e3732562c302c3134322c32313734342c3230382c30312c303730322c394338430a0d > "$TK_TMP/x.hex"
	run_tk tk-decode -i hex -P xexun "$TK_TMP/x.hex"
	assert_success
	assert_output --partial '"latitude":45.758777,"longitude":4.813765'
	assert_output --partial '"locationAreaCode":1794,"cellId":40076'
	assert_output --partial '"crcValid":true'
}

@test "xexun2 hex line: a frame whose length field disagrees is junk, not a frame" {
	printf '%s\n' FAAF0014000086220505123456700017F86F0100130065F0B2C200000002010Ac63daae045679dd0FAAF > "$TK_TMP/bad.hex"
	run_tk tk-decode -v -i hex -P xexun2 "$TK_TMP/bad.hex"
	assert_success
	assert_output ''
	[[ "$stderr" == *"42 bytes of junk"* ]]
}

@test "xexun without a fix (GPRMC with no position, binary serial): events with power, ADC, cell (issue 13)" {
	printf '150205112037,+66961544651,GPRMC,.000,A,,,,,0.00,0.00,,,,A*55,L,,imei:865328028306149,,,F:4.10V/ADC1=0.66V/ADC2=0.00V,0,119,16374,520,01,5DE8,0399,0.00km\n\r\x15\x02\x05\x11\x23\x37,+66961544651,,L,, imei:865328028306149,,,F:4.10V/ADC1=0.66V/ADC2=0.00V,0,80,28949,520,01,5DE8,0399,0.00km\n\r' >"$TK_TMP/a.raw"
	run_tk tk-decode -v "$TK_TMP/a.raw"
	assert_success
	local want='{"type":"event","protocol":"xexun","uniqueId":"865328028306149","network":{"cellTowers":[{"mobileCountryCode":520,"mobileNetworkCode":1,"locationAreaCode":24040,"cellId":921}]},"attributes":{'
	assert_line --index 0 "$want"'"checksumValid":true,"power":4.1,"adc1":0.66,"adc2":0,"crcValid":true,"odometer":0}}'
	assert_line --index 1 "$want"'"power":4.1,"adc1":0.66,"adc2":0,"crcValid":true,"odometer":0}}'
	[[ "$stderr" != *junk* ]]
	[[ "$stderr" == *"2 frames, 2 decoded, 0 rejected, 2 records"* ]]
}
