#!/usr/bin/env bats
# Every example runs (as jq tests its manual): scripts/examples extracts the
# commands of every man page's EXAMPLES section and of the README's code
# blocks that use the tools; each block runs here in a sandbox holding the
# files the examples name, with the built tools first in PATH.  Where an
# example shows its output, the output must match ("..." stands for
# anything, times are compared as times).
#
# Network examples run on loopback: their port numbers become free ports,
# paths under /run, /var and /tmp become sandbox paths, http://127.0.0.1:PORT
# is a local HTTP sink; an example that talks to a tk-listen it does not
# start itself (-S PATH, -p PORT, pgrep tk-listen) gets one, with the
# examples' devices (tk103 027044702512, answering locate and engine-stop).
# A block still running after $T seconds (a server, a live pipeline) gets
# SIGINT, to the whole process group as the shell's Ctrl-C: every tool must
# then end with its documented code (0, tk103-tools(7) SIGNALS).
#
# Not run here, with the reason (keep this list tiny):
#   blocks using --nats: need a NATS server and fleet; the same commands
#     run in tk-listen-nats.bats and tk-cmd-nats.bats against a real one;
#   "tk-sim -n 19000 --source": a load test of 19000 connections.
load test_helper

EXAMPLES=$BATS_TEST_DIRNAME/../../scripts/examples
ROOT=$BATS_TEST_DIRNAME/../..

setup_file() {
	FIX=$BATS_FILE_TMPDIR/fixtures
	export FIX
	mkdir -p "$FIX"
	local d=$BATS_TEST_DIRNAME/../data
	# a day of frame lines from every dialect, with the examples' devices
	"$TK_BIN/tk-sim" -q -o "$FIX/day.log" -d mix -n 8 -i 30 -N 400
	printf '2026-11-23T08:00:00.000Z frame tcp 198.51.100.7:40122 1 gps103 359586015829802 - imei:359586015829802,tracker,2611230800,,F,080000.000,A,5231.2000,N,01324.3000,E,12.00,;\n' >>"$FIX/day.log"
	cp "$FIX/day.log" "$FIX/frames.log"
	cp "$FIX/day.log" "$FIX/log.frames"
	cp "$d/captures/tk103-glued.raw" "$FIX/capture.raw"
	cp "$d/geofence/zones.geojson" "$FIX/sites.geojson"
	cp "$d/geofence/sites.wkt" "$FIX/sites.wkt"
	cp "$d/geofence/sites.wkt" "$FIX/fences.wkt"
	cp "$d/track/fences.geojson" "$FIX/fences.geojson"
	cp "$d/demo/depot.geojson" "$FIX/depots.geojson"
	cp "$d/track/day.jsonl" "$FIX/day.jsonl"
	cp "$d/track/day.jsonl" "$FIX/positions.jsonl"
}

# free_port: a loopback TCP port nobody listens on now
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 12000))	# below the ephemeral range (32768-60999): no kernel-chosen local port collides
		if ! (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# the examples' tk103 device: logs in, answers locate and engine-stop
device() {
	exec 5<>/dev/tcp/127.0.0.1/"$1" || return 1
	printf '(027044702512BP05000027044702512260101A5228.9707N01326.3515E029.4191053285.6701000000L00000000)' >&5
	local f
	while IFS= read -r -d ')' -u 5 f; do
		case $f in
		*AP00*) printf '(027044702512BP04260101A5228.9707N01326.3515E029.4191053285.6701000000L00000000)' >&5 ;;
		*AV010*) printf '(027044702512BV010)' >&5 ;;
		esac
	done
}

# pattern LINE: the expected output line as a bash pattern ("..." is *)
pattern() {
	local l=$1
	l=${l//\\/\\\\}; l=${l//\*/\\*}; l=${l//\?/\\?}; l=${l//\[/\\[}
	printf '%s' "${l//.../*}"
}

# times in output compared as times
untime() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/TIME/g'
}

# run_block FILE:LINE: run the block held in CMDS (and EXPECT); on failure
# append to $FAILED what went wrong
run_block() {
	local where=$1 sb script p ports=() n sink="" http
	sb=$TK_TMP/sb.$((++NBLOCK))
	mkdir -p "$sb/run" "$sb/var/lib/tk" "$sb/var/spool" "$sb/tmp"
	cp -r "$FIX/." "$sb/"
	script=$CMDS
	# not runnable here (see the top of this file)
	if [[ $script == *--nats* || $script == *"-n 19000 --source"* ]]; then
		SKIPPED="$SKIPPED $where"
		return 0
	fi
	# paths
	script=$(sed -E "s#(^|[ =:,<>'\"])/(run|var|tmp)/#\\1$sb/\\2/#g" <<<"$script")
	# ports: each number after -p or 127.0.0.1: a free port of its own
	for p in $(grep -oE '(-p |-p [0-9]+,|127\.0\.0\.1:)[0-9]{4,5}\b' <<<"$script" |
	    grep -oE '[0-9]{4,5}$' | sort -u); do
		n=$(free_port)
		script=$(sed -E "s/(-p |-p [0-9]+,|127\\.0\\.0\\.1:)$p\\b/\\1$n/g" <<<"$script")
		ports+=("$n")
	done
	# under valgrind, a corpus of a thousand frames stands for a million
	[ -z "${TK_VALGRIND:-}" ] || script=$(sed -E 's/-N [0-9]{5,}/-N 1000/g' <<<"$script")
	# HTTP: a sink
	if [[ $script == *http://127.0.0.1:* ]]; then
		python3 "$BATS_TEST_DIRNAME/http_sink.py" --port-file "$sb/http.port" \
		    --log "$sb/http.log" 3>&- &
		TK_PIDS="${TK_PIDS:-} $!"
		TK_WAIT=30 wait_for test -s "$sb/http.port"
		http=$(cat "$sb/http.port")
		script=$(sed -E "s#http://127\\.0\\.0\\.1:[0-9]+#http://127.0.0.1:$http#g" <<<"$script")
	fi
	# a tk-listen for examples that talk to one they do not start
	local lpid="" lport
	if [[ $script != *tk-listen\ * && ( $script =~ -S\ ([^ ]+) || $script == *"-p "* ||
	    $script == *"pgrep -x tk-listen"* ) ]]; then
		local sock=${BASH_REMATCH[1]:-$sb/run/tk-listen.sock}
		lport=${ports[0]:-$(free_port)}
		"$TK_BIN/tk-listen" -b 127.0.0.1 -p "$lport" -S "$sock" >"$sb/listen.out" \
		    2>"$sb/listen.err" 3>&- &
		lpid=$!
		TK_PIDS="${TK_PIDS:-} $lpid"
		wait_for test -S "$sock"
		script=${script//pgrep -x tk-listen/echo $lpid}
		device "$lport" 3>&- &
		TK_PIDS="${TK_PIDS:-} $!"
		wait_for grep -q 027044702512 "$sb/listen.out"
	fi
	# a block that runs until stopped (a server in the foreground, a
	# simulation for a while) gets SIGINT after $T s; others must end by
	# themselves within 120 s
	local t=120 server=0
	if grep -qE '(^|[|;] *)tk-listen [^&]*$|tk-sim .*-T ' <<<"$script"; then
		t=$T server=1
	fi
	# the block, in its own process group (setsid: its pid is the group's),
	# with SIGINT at its default (an asynchronous list inherits it
	# ignored); after $t s SIGINT to the group, 10 s later SIGKILL.  Not
	# timeout(1): it follows the signal with a SIGCONT to the group, which
	# can cancel the SIGSTOP of LeakSanitizer's exit-time stop-the-world in
	# a tool just stopping, and the sanitizer build then hangs for good
	( cd "$sb" && PATH=$TK_BIN:$PATH exec setsid env --default-signal=INT \
	    bash -e -o pipefail -c "$script" >"$sb/stdout" 2>"$sb/stderr" 3>&- ) &
	local bpid=$! rc=0
	( sleep "$t"; kill -INT -- -"$bpid" 2>/dev/null || exit 0
	  sleep 10; kill -KILL -- -"$bpid" 2>/dev/null ) 3>&- &
	local wpid=$!
	wait "$bpid" || rc=$?
	pkill -P "$wpid" sleep 2>/dev/null || true
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	# what the block left running in the background: stopped
	pkill -TERM -g "$bpid" 2>/dev/null || true
	[ -z "$lpid" ] || kill -TERM "$lpid" 2>/dev/null || true
	local err=""
	# 130 (a tool killed by SIGINT): accepted from a stopped live pipeline
	# until the pipeline's shutdown story (issue 16, item 6) lands; then
	# every tool must end with 0
	if [ "$rc" -ne 0 ] && ! { [ "$server" -eq 1 ] && [ "$rc" -eq 130 ]; }; then
		err="exit $rc"
	elif [ -n "$EXPECT" ]; then
		local got want
		got=$(untime <"$sb/stdout")
		want=$(untime <<<"$EXPECT")
		local gl wl i=0 ok=1
		mapfile -t gl <<<"$got"
		mapfile -t wl <<<"$want"
		[ "${#gl[@]}" -eq "${#wl[@]}" ] || ok=0
		for ((i = 0; ok && i < ${#wl[@]}; i++)); do
			# shellcheck disable=SC2053
			[[ ${gl[i]} == $(pattern "${wl[i]}") ]] || ok=0
		done
		[ "$ok" -eq 1 ] || err="output differs"
	fi
	if [ -n "$err" ]; then
		FAILED="$FAILED
== $where: $err
$script
-- stdout:
$(head -c 2000 "$sb/stdout")
-- stderr:
$(head -c 2000 "$sb/stderr")
-- expected:
$EXPECT"
	fi
	return 0
}

# run_examples FILE...: every block of the files; fails listing the broken
run_examples() {
	local line where=""
	FAILED="" SKIPPED="" NBLOCK=0 CMDS="" EXPECT=""
	T=${TK_EXAMPLE_WAIT:-3}
	[ -z "${TK_VALGRIND:-}" ] || T=15
	while IFS= read -r line; do
		case $line in
		"@@ "*)
			[ -z "$where" ] || run_block "$where"
			where=${line#@@ } CMDS="" EXPECT=""
			;;
		'$ '*) CMDS+="${line#\$ }"$'\n' ;;
		'> '*) CMDS="${CMDS%$'\n'}"$'\n'"${line#> }"$'\n' ;;
		'= '*) EXPECT+="${EXPECT:+$'\n'}${line#= }" ;;
		esac
	done < <(sh "$EXAMPLES" "$@")
	[ -z "$where" ] || run_block "$where"
	echo "blocks: $NBLOCK; not run here:${SKIPPED:- none}"
	if [ -n "$FAILED" ]; then
		echo "broken examples:$FAILED"
		return 1
	fi
}

@test "scripts/examples finds the examples of every man page and the README" {
	run sh "$EXAMPLES" "$ROOT"/man/*.[1-8] "$ROOT/README.md"
	assert_success
	for m in "$ROOT"/man/*.[1-8]; do
		if grep -q '^\.Sh EXAMPLES' "$m"; then
			grep -q "^@@ $m:" <<<"$output" || { echo "none from $m"; false; }
		fi
	done
	grep -q "^@@ $ROOT/README.md:" <<<"$output"
	# commands, continuations and output are told apart
	assert_output --partial '$ tk-decode -r capture.raw'
	assert_output --partial "> "
	assert_output --partial "= "
}

@test "the examples of section 1 man pages run" {
	run_examples "$ROOT"/man/*.1
}

@test "the examples of section 5 and 7 man pages run" {
	run_examples "$ROOT"/man/*.[5-8]
}

@test "the README's examples run" {
	run_examples "$ROOT/README.md"
}
