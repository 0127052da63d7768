#!/usr/bin/env bash
# Runs every fuzz target of benchd for FUZZTIME each (default 10m), one at a
# time with one worker (-parallel 1), and prints each target's final line
# (elapsed time, execs). A crasher stops its target and is written by go
# test under the package's testdata/fuzz/<Target>/: commit it as a
# regression case. CI runs only the seed corpora (plain `go test`).
#
#   bash internal/faults/fuzz.sh            # 7 targets x 10m
#   FUZZTIME=30s bash internal/faults/fuzz.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
FUZZTIME=${FUZZTIME:-10m}
targets=(
	"./internal/ollama FuzzOllamaResponses"
	"./service FuzzRunBenchmarkRequest"
	"./internal/vram FuzzParseRocmSMI"
	"./internal/vram FuzzParseAMDSMI"
	"./internal/vram FuzzParseNvidiaSMI"
	"./internal/vram FuzzSysfsAttributes"
	"./internal/ollama FuzzParseVerbose"
)
rc=0
for t in "${targets[@]}"; do
	set -- $t
	log=$(mktemp)
	if go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -timeout 0 -parallel 1 "$1" >"$log" 2>&1; then
		echo "$2: ok: $(grep -E '^fuzz: elapsed' "$log" | tail -1)"
	else
		rc=1
		echo "$2: FAILED (a crasher is under $1/testdata/fuzz/$2/):"
		tail -20 "$log"
	fi
	rm -f "$log"
done
exit $rc
