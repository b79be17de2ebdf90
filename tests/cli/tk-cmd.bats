#!/usr/bin/env bats
# tk-cmd without a tk-listen: the catalogue, --print and --sms encodings,
# parameter checks, option conflicts and the documented exit codes.
load test_helper

@test "tk-cmd -p: Traccar's bytes per dialect" {
	run_tk tk-cmd -p -d tk103 123456789012345 track 60
	assert_success
	assert_output '(123456789012345AR00003C0000)'
	run_tk tk-cmd -p -d gps103 123456789012345 track 300
	assert_output '**,imei:123456789012345,C,05m'
	run_tk tk-cmd -p -d gps103 -t 123456789012345 engine-stop
	assert_output '**,imei:123456789012345,J;'
	run_tk tk-cmd -p -a 123456789012345 set-server 1.2.3.4 5555
	assert_output '[begin]sms2,*setip*1*2*3*4*5555*,[end]'
	run_tk tk-cmd -p -a -P 232323 123456789012345 sos-number +55555555555
	assert_output '[begin]sms2,*master*232323*+55555555555*,[end]'
	run_tk tk-cmd -p -d xexun -P 654321 359586015829802 engine-stop
	assert_output 'powercar654321 11'
}

@test "tk-cmd -p -R: xexun2 frames byte-exact (power-off, track 150)" {
	run sh -c "'$TK_BIN/tk-cmd' -p -R -d xexun2 123456789012345 power-off | od -An -tx1 | tr -d ' \n'"
	assert_success
	assert_output 'faaf0007000112345678901234500004febc6f663d31faaf'
	run sh -c "'$TK_BIN/tk-cmd' -p -R -d xexun2 123456789012345 track 150 | od -An -tx1 | tr -d ' \n'"
	assert_output 'faaf0007000112345678901234500015f90e747261636b696e675f73656e643d3135302c313530faaf'
}

@test "tk-cmd -p escapes control bytes; -R writes them as they are" {
	run_tk tk-cmd -p -r -d gps103 1 custom "$(printf 'B\r')"
	assert_success
	assert_output '**,imei:1,B\r'
	run sh -c "'$TK_BIN/tk-cmd' -p -R -d tk103 027044702512 locate | wc -c"
	assert_output 18
	run_tk tk-cmd -p -R -d tk103 027044702512 locate
	assert_output '(027044702512AP00)'
}

@test "tk-cmd -s: SMS sets with the password (man page example)" {
	local out=""
	for c in begin 'sos-number +436763737552' 'set-apn internet.example' \
	    'set-server 192.0.2.7 5006' 'gprs on' 'track 30s'; do
		# shellcheck disable=SC2086
		out+=$("$TK_BIN/tk-cmd" -s -d xexun $c)$'\n'
	done
	[ "$out" = $'begin123456\nadmin123456 +436763737552\napn123456 internet.example\nadminip123456 192.0.2.7 5006\ngprs123456\nt030s***n123456\n' ]
	run_tk tk-cmd -s -d gps103 -P 000000 track 5m
	assert_output 'fix005m***n000000'
	run_tk tk-cmd -s -d xexun set-apn apn.example user secret
	assert_output $'apn123456 apn.example\nup123456 user secret'
	run_tk tk-cmd -s -d xexun geofence -34.1 18.4 -33.9 18.6
	assert_output 'stockade123456 33.9S,18.4E;34.1S,18.6E'
}

@test "tk-cmd: the man page's --print example is what the tool prints" {
	run_tk tk-cmd -p -d gps103 359586015829802 track 5m
	assert_output '**,imei:359586015829802,C,05m'
	grep -qF 'tk-cmd -p -d gps103 359586015829802 track 5m' "$BATS_TEST_DIRNAME/../../man/tk-cmd.1"
	grep -qF '**,imei:359586015829802,C,05m' "$BATS_TEST_DIRNAME/../../man/tk-cmd.1"
}

@test "tk-cmd: h02 bytes carry TK_CMD_TIME; the man page's example is what it prints" {
	TK_CMD_TIME=010203 run_tk tk-cmd -p -d h02 4210051415 engine-stop
	assert_output '*HQ,4210051415,S20,010203,1,1#'
	grep -qF 'TK_CMD_TIME=010203 tk-cmd -p -d h02 4210051415 engine-stop' "$BATS_TEST_DIRNAME/../../man/tk-cmd.1"
	grep -qF '*HQ,4210051415,S20,010203,1,1#' "$BATS_TEST_DIRNAME/../../man/tk-cmd.1"
	# every h02 row of Traccar's encoder tests
	TK_CMD_TIME=010203 run_tk tk-cmd -p -d h02 123456789012345 arm
	assert_output '*HQ,123456789012345,SCF,010203,0,0#'
	TK_CMD_TIME=010203 run_tk tk-cmd -p -d h02 123456789012345 disarm
	assert_output '*HQ,123456789012345,SCF,010203,1,1#'
	TK_CMD_TIME=010203 run_tk tk-cmd -p -d h02 123456789012345 engine-resume
	assert_output '*HQ,123456789012345,S20,010203,1,0#'
	TK_CMD_TIME=010203 run_tk tk-cmd -p -d h02 123456789012345 track 10
	assert_output '*HQ,123456789012345,S71,010203,22,10#'
	TK_CMD_TIME=010203 run_tk tk-cmd -p -d h02 4210051415 custom 'S23,192.0.2.7,5013'
	assert_output '*HQ,4210051415,S23,010203,192.0.2.7,5013#'
	# the clock: six digits
	run_tk tk-cmd -p -d h02 1 arm
	assert_output --regexp '^\*HQ,1,SCF,[0-2][0-9][0-5][0-9][0-5][0-9],0,0#$'
	TK_CMD_TIME=256000 run_tk tk-cmd -p -d h02 1 arm
	assert_failure 2
}

@test "tk-cmd -l: every set, every usage; the man page lists them all" {
	run_tk tk-cmd -l
	assert_success
	for s in tk103 tk103-alt gps103 xexun xexun2 xexun-sms coban-sms h02; do
		assert_line "$s:"
	done
	# each usage line of -l appears in the man page's catalogue
	local man="$BATS_TEST_DIRNAME/../../man/tk-cmd.1" u n=0
	while IFS= read -r u; do
		grep -qF ".It Ql $u" "$man" || { echo "missing in man: $u"; return 1; }
		n=$((n + 1))
	done < <("$TK_BIN/tk-cmd" -l | sed -n 's/^  \([a-z][^ ]*\( [^ ]\{1,\}\)*\)  \{2,\}[a-z(].*/\1/p' | grep -v '^bytes:\|^answer:')
	[ "$n" -gt 60 ]
}

@test "tk-cmd -l -d xexun: only the xexun sets" {
	run_tk tk-cmd -l -d xexun
	assert_success
	assert_line 'xexun:'
	assert_line 'xexun-sms:'
	refute_line 'tk103:'
	run_tk tk-cmd -l -d xexun2 -s
	assert_failure 2
}

@test "tk-cmd: unsupported command lists what the dialect supports (exit 2)" {
	run_tk tk-cmd -p -d xexun 1 locate
	assert_failure 2
	[[ "$stderr" == *"xexun does not support locate; it supports: engine-stop, engine-resume"* ]]
	run_tk tk-cmd -p -d tk103 1 launch
	assert_failure 2
	[[ "$stderr" == *"unknown command 'launch'"* ]]
}

@test "tk-cmd: bad and injecting parameters are refused (exit 2), --raw allows delimiters" {
	run_tk tk-cmd -p -d tk103 027044702512 custom 'AP00)(027044702512AV010'
	assert_failure 2
	[[ "$stderr" == *"inject"* ]]
	run_tk tk-cmd -p -d gps103 1 custom 'B;**,imei:1,J'
	assert_failure 2
	run_tk tk-cmd -p -a 1 custom 'x,[end][begin]sms2,88888888'
	assert_failure 2
	run_tk tk-cmd -p -r -d tk103 027044702512 custom 'AP00)(x'
	assert_success
	assert_output '(027044702512AP00)(x)'
	run_tk tk-cmd -p -d gps103 1 track 90s
	assert_failure 2
	[[ "$stderr" == *"cannot be said exactly"* ]]
	run_tk tk-cmd -p -d gps103 1 geofence 91 0 1 1
	assert_failure 2
	run_tk tk-cmd -p -a 1 set-server example.com 5002
	assert_failure 2
	run_tk tk-cmd -p -d tk103 '0270)(' locate
	assert_failure 2
	run_tk tk-cmd -p -d xexun2 12345 reboot
	assert_failure 2
	[[ "$stderr" == *"15-digit IMEI"* ]]
}

@test "tk-cmd: option misuse exits 2 with the usage" {
	run_tk tk-cmd -P 12345 -p -d xexun 1 engine-stop
	assert_failure 2
	run_tk tk-cmd -p 1 locate
	assert_failure 2
	[[ "$stderr" == *"--print needs -d"* ]]
	run_tk tk-cmd -p -w 5 -d tk103 1 locate
	assert_failure 2
	run_tk tk-cmd -q -w 5 -S /nonexistent 1 locate
	assert_failure 2
	run_tk tk-cmd -a -s -d tk103 locate
	assert_failure 2
	run_tk tk-cmd -a -d h02 -p 1 locate
	assert_failure 2
	run_tk tk-cmd -l -L
	assert_failure 2
	run_tk tk-cmd -s locate
	assert_failure 2
	run_tk tk-cmd -q0 -S /x 1 locate
	assert_failure 2
	run_tk tk-cmd -w -1 -S /x 1 locate
	assert_failure 2
	run_tk tk-cmd -C abc -S /x
	assert_failure 2
}

@test "tk-cmd: no control socket given is misuse; an absent one is an I/O error (3)" {
	TK_LISTEN_SOCKET= run_tk tk-cmd 027044702512 locate
	assert_failure 2
	[[ "$stderr" == *"no control socket"* ]]
	run_tk tk-cmd -S "$TK_TMP/nonexistent.sock" 027044702512 locate
	assert_failure 3
	TK_LISTEN_SOCKET="$TK_TMP/nonexistent.sock" run_tk tk-cmd -L
	assert_failure 3
	run_tk tk-cmd -S "$TK_TMP/nonexistent.sock" -C 5
	assert_failure 3
}
