#!/usr/bin/env bash
# Runs one benchmark through benchd and keeps it in the skill's history.
#
#   run_benchmark.sh MODEL [benchctl run flags: --reps N --warmup N --max-tokens N --prompt TEXT ...]
#
# 1. makes sure benchd answers on the local socket (tunnel.sh ensure: opens the
#    SSH forward to $BENCHD_HOST when needed); the socket is $BENCHD_SOCKET, by
#    default in a 0700 directory of this user's, and is refused unless it and
#    its directory are this user's alone (local_socket.py);
# 2. runs `benchctl --socket $BENCHD_SOCKET run MODEL ... -o jsonl`; while
#    another benchmark runs (RESOURCE_EXHAUSTED, benchctl's exit 72) it waits
#    $BENCHD_BUSY_WAIT seconds (default 30) and retries, at most
#    $BENCHD_BUSY_RETRIES times (default 20);
# 3. appends one record to the history (history.py) and prints it: one JSON
#    line on stdout, {"kind":"benchmark","ok":true,...,"stats":{...}} or
#    {"ok":false,"code":"NOT_FOUND","message":...,"advice":...}.
#
# Exit status: 0 ok; 1 benchd refused or failed (the record says why);
# 2 bad usage or BENCHD_HOST unset; 3 ssh could not open the tunnel; 4 the
# tunnel is open but benchd does not answer (3 and 4 are recorded as UNAVAILABLE);
# 5 the local socket or its directory is not this user's alone (recorded as
# UNSAFE_LOCAL_SOCKET).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
benchctl=${BENCHCTL:-benchctl}
retries=${BENCHD_BUSY_RETRIES:-20}
wait_s=${BENCHD_BUSY_WAIT:-30}
# benchctl's exit statuses: 64 + the gRPC code for benchd's errors.
exit_resource_exhausted=72

if [[ $# -lt 1 || $1 == -* ]]; then
	echo "usage: run_benchmark.sh MODEL [--reps N] [--warmup N] [--max-tokens N] [--prompt TEXT]..." >&2
	exit 2
fi
model=$1
shift

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The local socket, checked (exit 5: not this user's alone), then benchd
# answering on it.
if BENCHD_SOCKET=$(python3 "$here/local_socket.py" 2>"$tmp/tunnel") && export BENCHD_SOCKET &&
	bash "$here/tunnel.sh" ensure >&2 2>"$tmp/tunnel"; then
	rc=0
else
	rc=$?
fi
if [[ $rc -ne 0 ]]; then
	cat "$tmp/tunnel" >&2
	code=UNAVAILABLE
	[[ $rc -ne 5 ]] || code=UNSAFE_LOCAL_SOCKET
	python3 "$here/history.py" record-error --op benchmark --model "$model" --exit "$rc" \
		--code "$code" --message "$(tr -s '\n' ' ' <"$tmp/tunnel")"
	exit "$rc"
fi
for ((try = 0; ; try++)); do
	"$benchctl" --socket "$BENCHD_SOCKET" run "$model" ${1+"$@"} -o jsonl >"$tmp/events.jsonl" 2>"$tmp/stderr"
	rc=$?
	if [[ $rc -eq 0 ]]; then
		python3 "$here/history.py" record-run --events "$tmp/events.jsonl"
		exit $?
	fi
	cat "$tmp/stderr" >&2
	# RESOURCE_EXHAUSTED before any event: another benchmark holds benchd's
	# one slot. (After our own "started" it means this client fell behind and
	# was cut off while the run goes on: not a reason to start another.)
	if [[ $rc -eq $exit_resource_exhausted && $try -lt $retries ]] && ! grep -q '"started"' "$tmp/events.jsonl"; then
		echo "run_benchmark.sh: another benchmark is running; retry $((try + 1))/$retries in ${wait_s}s" >&2
		sleep "$wait_s"
		continue
	fi
	# benchd's errors (64 + code) are this script's 1; usage stays 2.
	if [[ $rc -ge 64 && $rc -lt 128 ]]; then rc=1; fi
	python3 "$here/history.py" record-error --op benchmark --model "$model" --stderr "$tmp/stderr" --exit "$rc" \
		--events "$tmp/events.jsonl"
	exit "$rc"
done
