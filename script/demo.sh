#!/usr/bin/env bash
# The demo: a real ollama in Docker (tiny model), benchd in front of it,
# benchctl asking for a benchmark and a VRAM sample. Works anywhere Docker
# runs; the first run builds ollama (about 6 minutes on 2 cores). The rig
# runs in its own container, benchd-rig; no other container is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

docker info >/dev/null 2>&1 || { echo "demo: Docker is not running (start dockerd)" >&2; exit 1; }
rig=benchd-rig
bash testdata/rig/rig.sh ensure "$rig"
make -s build  # as the package builds (see the Makefile)

dir=$(mktemp -d /tmp/benchd-demo.XXXXXX)
sock=$dir/benchd.sock
vram=(--vram-source auto)
if ! grep -qs 0x1002 /sys/class/drm/card*/device/vendor; then
	# No AMD GPU here: use the simulated sysfs tree so `benchctl vram` has
	# something to show. Its GPU is labelled as simulated.
	vram=(--vram-source sysfs --sysfs-root "$PWD/testdata/sysfs")
	echo "demo: no AMD GPU on this host; VRAM comes from the simulated tree testdata/sysfs"
fi
bin/benchd --socket "$sock" --store "$dir/history.db" --container "$rig" "${vram[@]}" 2>"$dir/benchd.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
	bin/benchctl --socket "$sock" health >/dev/null 2>&1 && break
	kill -0 $pid 2>/dev/null || { cat "$dir/benchd.log"; exit 1; }
	sleep 0.1
done

set -x
bin/benchctl --socket "$sock" run tiny
bin/benchctl --socket "$sock" vram
