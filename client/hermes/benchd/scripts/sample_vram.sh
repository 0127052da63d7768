#!/usr/bin/env bash
# Reads GPU memory through benchd once and keeps it in the skill's history.
#
#   sample_vram.sh
#
# Makes sure benchd answers (tunnel.sh ensure), runs
# `benchctl --socket $BENCHD_SOCKET vram -o json`, appends one record to the
# history and prints it: {"kind":"vram","ok":true,"gpus":[{"index":0,"name":...,
# "used_bytes":...,"total_bytes":...,"source":"sysfs"}],...} or an
# {"ok":false,"code":...,"advice":...} record. SampleVRAM is served also while
# a benchmark runs. Exit status as run_benchmark.sh.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
benchctl=${BENCHCTL:-benchctl}

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
	python3 "$here/history.py" record-error --op vram --exit "$rc" \
		--code "$code" --message "$(tr -s '\n' ' ' <"$tmp/tunnel")"
	exit "$rc"
fi
"$benchctl" --socket "$BENCHD_SOCKET" vram -o json >"$tmp/vram.json" 2>"$tmp/stderr"
rc=$?
if [[ $rc -eq 0 ]]; then
	python3 "$here/history.py" record-vram --file "$tmp/vram.json"
	exit $?
fi
cat "$tmp/stderr" >&2
# benchd's errors (64 + code) are this script's 1; usage stays 2.
if [[ $rc -ge 64 && $rc -lt 128 ]]; then rc=1; fi
python3 "$here/history.py" record-error --op vram --stderr "$tmp/stderr" --output "$tmp/vram.json" --exit "$rc"
exit "$rc"
