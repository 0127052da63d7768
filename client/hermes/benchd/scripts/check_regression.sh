#!/usr/bin/env bash
# For a cron job: asks benchd whether the newest run (of each MODEL given,
# else the newest of all) regressed against its baseline, and prints
# nothing unless one did.
#
#   check_regression.sh [MODEL...]
#
# benchd judges (benchctl check: Welch's t-test per metric, a 3% minimum
# effect, the pinned baseline or the median of recent runs of the same
# fingerprint). For each REGRESSED run it prints benchctl's verdict table;
# OK, IMPROVED and INCOMPARABLE print nothing. Exit status: 0 checked
# (whatever the verdicts: the output says it), 1 benchd refused a check (the
# error is on stderr), 3-5 as tunnel.sh (benchd not reachable).
# Runs on bash 3.2.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
benchctl=${BENCHCTL:-benchctl}
# benchctl check's exit status for REGRESSED and INCOMPARABLE.
exit_regressed=3
exit_incomparable=4

BENCHD_SOCKET=$(python3 "$here/local_socket.py") || exit 5
export BENCHD_SOCKET
bash "$here/tunnel.sh" ensure >/dev/null || exit $?

errs=$(mktemp)
trap 'rm -f "$errs"' EXIT
failed=0
check() {
	local out rc
	out=$("$benchctl" --socket "$BENCHD_SOCKET" check ${1+"$@"} 2>"$errs")
	rc=$?
	case $rc in
	0 | "$exit_incomparable") ;;
	"$exit_regressed") printf '%s\n' "$out" ;;
	*)
		cat "$errs" >&2
		failed=1
		;;
	esac
}

if [[ $# -eq 0 ]]; then
	check
else
	for model; do
		check --model "$model"
	done
fi
exit "$failed"
