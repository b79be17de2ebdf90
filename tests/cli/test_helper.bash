bats_require_minimum_version 1.5.0
# Shared bats helpers (conmon shape): run_tk wrapper, per-test temp dirs,
# bounded waits.  Every .bats file starts with: load test_helper
bats_load_library bats-support
bats_load_library bats-assert

: "${TK_BIN:=$BATS_TEST_DIRNAME/../../build/bin}"
export TK_BIN
TK_DATA="$BATS_TEST_DIRNAME/../data"
export TK_DATA

setup() {
	TK_TMP="$BATS_TEST_TMPDIR"
	export TK_TMP
	if declare -F setup_local >/dev/null; then setup_local; fi
}

teardown() {
	if declare -F teardown_local >/dev/null; then teardown_local; fi
	# never leave a background tool running after a test: the last
	# started first (clients before their servers), a bounded wait for
	# each (a tool stopping may wait for its server), then SIGKILL
	local p r=""
	for p in ${TK_PIDS:-}; do r="$p $r"; done
	for p in $r; do kill "$p" 2>/dev/null || true; done
	for p in $r; do
		timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# run_tk TOOL ARGS...: run a built tool (stdout and stderr separately kept).
run_tk() {
	local tool=$1; shift
	run --separate-stderr "$TK_BIN/$tool" "$@"
}

# wait_for CMD...: retry CMD for up to ${TK_WAIT:-5} seconds (bounded wait).
wait_for() {
	local deadline=$((SECONDS + ${TK_WAIT:-5}))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# bg TOOL ARGS...: start a tool in the background, remember its pid in TK_PIDS.
bg() {
	local tool=$1; shift
	"$TK_BIN/$tool" "$@" &
	TK_PIDS="${TK_PIDS:-} $!"
	export TK_PIDS
	BG_PID=$!
}

# no_sanitizer_reports: fail (printing it) when a tool's stderr in
# $TK_TMP/err* holds an ASan, LSan or UBSan report.
no_sanitizer_reports() {
	local f
	for f in "$TK_TMP"/err*; do
		[ -f "$f" ] || continue
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
			cat "$f" >&2
			return 1
		fi
	done
}
