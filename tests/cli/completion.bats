#!/usr/bin/env bats
# The bash completion (dist/bash-completion/tk103-tools, installed for every
# tool): options come from each tool's --help, operands are file names.
load test_helper

COMPLETION="$BATS_TEST_DIRNAME/../../dist/bash-completion/tk103-tools"

# complete WORD...: what the completion offers for the last word
complete_words() {
	PATH="$TK_BIN:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@")
	    COMP_CWORD=$(($# - 1)); _tk103_tools; printf "%s\n" "${COMPREPLY[@]}"' _ \
	    "$COMPLETION" "$@"
}

@test "completion: every tool completes --help, --version and its own long options" {
	for t in "$TK_BIN"/tk-*; do
		t=$(basename "$t")
		[ "$(complete_words "$t" --hel)" = --help ]
		[ "$(complete_words "$t" --versi)" = --version ]
		# every long option of the help is offered for "--"
		want=$("$TK_BIN/$t" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		got=$(complete_words "$t" -- | sort -u)
		[ "$want" = "$got" ]
	done
	[ "$(complete_words tk-forward --osm)" = --osmand ]
	[ "$(complete_words tk-track --min-)" = $'--min-stop\n--min-trip' ]
	# the completion is registered for every tool that is built
	for t in "$TK_BIN"/tk-*; do
		grep -q "$(basename "$t")" "$COMPLETION"
	done
}

@test "completion: short options listed in the help, file names for operands" {
	complete_words tk-forward - | grep -qx -- -s
	complete_words tk-forward - | grep -qx -- --spool
	touch "$TK_TMP/day.jsonl"
	[ "$(complete_words tk-forward http://x/ "$TK_TMP/day.js")" = "$TK_TMP/day.jsonl" ]
}
