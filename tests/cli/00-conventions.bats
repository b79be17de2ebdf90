#!/usr/bin/env bats
# Command-line conventions shared by every tool (tk103-tools(7)).
load test_helper

tools() {
	local t
	for t in "$TK_BIN"/tk-*; do basename "$t"; done
}

@test "every tool: --help to stdout, exit 0" {
	for t in $(tools); do
		run --separate-stderr "$TK_BIN/$t" --help
		assert_success
		assert_output --partial "usage: $t"
		[ -z "$stderr" ]
	done
}

@test "every tool: -V prints the version, exit 0" {
	for t in $(tools); do
		run "$TK_BIN/$t" -V
		assert_success
		assert_output --regexp "^$t \(tk103-tools\) [0-9]+\.[0-9]+\.[0-9]+$"
	done
}

@test "every tool: an unknown option is misuse, exit 2, usage on stderr" {
	for t in $(tools); do
		run --separate-stderr "$TK_BIN/$t" --no-such-option
		assert_failure 2
		[[ "$stderr" == *"usage: $t"* ]]
		[ -z "$output" ]
	done
}

@test "every tool: --help on a full disk fails with exit 3" {
	[ -w /dev/full ]
	for t in $(tools); do
		run "$TK_BIN/$t" --help
		run sh -c "'$TK_BIN/$t' --help > /dev/full"
		assert_failure 3
	done
}
