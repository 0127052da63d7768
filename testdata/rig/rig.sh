#!/usr/bin/env bash
# Real-ollama test rig: a Docker container running ollama (CPU) with a tiny
# random-weight model "tiny", for each ollama version in ./versions. See
# README.md.
#
#   rig.sh build        build ollama + tiny.gguf, docker import the image
#   rig.sh up [NAME [VAR=VALUE...]]
#                       (re)start container NAME (default "benchd-rig"), create
#                       "tiny"; VAR=VALUE (OLLAMA_* only, e.g.
#                       OLLAMA_NUM_PARALLEL=4) go into ollama's environment
#   rig.sh ensure [NAME [VAR=VALUE...]]
#                       like up, but keep NAME if it already runs this rig
#                       with that environment
#   rig.sh down [NAME]  remove container NAME
#   rig.sh bridge [NAME] connect stdin/stdout to ollama's TCP port in NAME
#                       (the same docker exec bridge the daemon uses)
#   rig.sh hash         print the rig source hash (cache key / image label)
#   rig.sh versions     print the versions the rig builds, the default first
#   rig.sh name         print the default container name of the version
#
# The rig only ever removes, restarts or execs into containers it created:
# those carrying the label benchd.rig.owner=rig.sh. A container of the
# requested name without it (say, the host's own ollama) is left alone and
# the command fails.
#
# Env: BENCHD_RIG_OLLAMA (the ollama version, one of ./versions; default
#      the first), BENCHD_RIG_CACHE (default $HOME/.cache/benchd-rig),
#      BENCHD_RIG_IMAGE (default benchd-test/ollama:VERSION),
#      BENCHD_RIG_TIMEOUT (readiness timeout in seconds, default 60).
set -euo pipefail

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '+ rig: %s\n' "$*" >&2; }
die() { printf 'rig: error: %s\n' "$*" >&2; exit 1; }

# versions prints ./versions without comments, one version a line.
versions() { sed -e 's/#.*//' "$RIG_DIR/versions" | awk 'NF { print $1 }'; }

DEFAULT_VERSION=$(versions | head -n 1)
[ -n "$DEFAULT_VERSION" ] || die "$RIG_DIR/versions lists no version"
OLLAMA_VERSION=${BENCHD_RIG_OLLAMA:-$DEFAULT_VERSION}
versions | grep -qxF -- "$OLLAMA_VERSION" ||
	die "BENCHD_RIG_OLLAMA=$OLLAMA_VERSION is not one of the rig's versions ($(versions | paste -sd ' ')): add it to $RIG_DIR/versions"
IMAGE=${BENCHD_RIG_IMAGE:-benchd-test/ollama:${OLLAMA_VERSION}}
CACHE_ROOT=${BENCHD_RIG_CACHE:-${HOME:-/root}/.cache/benchd-rig}
TIMEOUT=${BENCHD_RIG_TIMEOUT:-60}
LABEL=benchd.rig.hash
# OWNER marks the containers rig.sh creates (not the image: a container
# someone else made from the rig's image inherits the image's labels).
OWNER=benchd.rig.owner=rig.sh
# DEFAULT_NAME: each version has a container of its own, so that a test
# run against one version never replaces another's (the default version's
# is plain benchd-rig).
DEFAULT_NAME=benchd-rig
[ "$OLLAMA_VERSION" = "$DEFAULT_VERSION" ] || DEFAULT_NAME=benchd-rig-$OLLAMA_VERSION
# ENV_LABEL records the VAR=VALUE a container was started with, so that
# ensure keeps it only when they are the ones asked for.
ENV_LABEL=benchd.rig.env

# BRIDGE is the recommended bridge script: run as
#   docker exec -i NAME bash -c "$BRIDGE"
# stdin/stdout of the exec become one TCP connection to 127.0.0.1:11434.
# Client closes stdin (or the exec attach drops) -> whole bridge dies at once
# -> socket closed -> ollama cancels the request. ollama closes the
# connection -> reader cat ends -> bridge dies -> the exec ends (exit 0).
# kill 0 signals the exec's own process group (docker exec starts the
# process as a session/group leader). exec 2>/dev/null hides bash's
# "Terminated" notices; a connect failure is still reported (exit 1).
BRIDGE='exec 3<>/dev/tcp/127.0.0.1/11434 || exit 1; exec 2>/dev/null; trap "exit 0" TERM; { cat >&3; kill 0; } <&0 & cat <&3; kill 0'

# MINIAUDIO is the Go module whose miniaudio.h stands in for the one
# ollama's module zips lack (v0.11 and later: llama.cpp's mtmd includes
# "miniaudio/miniaudio.h"); it holds the same single-header library.
MINIAUDIO=github.com/gen2brain/malgo@v0.11.24

# rig_hash hashes the rig sources (file names and contents) and the ollama
# version: one image per version, each rebuilt when the rig changes.
rig_hash() {
	(
		cd "$RIG_DIR"
		printf 'ollama %s\n' "$OLLAMA_VERSION"
		for f in go.mod go.sum rig.sh $(ls gguf/*.go | LC_ALL=C sort); do
			printf '%s\n' "$f"
			sha256sum <"$f"
		done
	) | sha256sum | cut -c1-16
}

# claim NAME sets cid to the id of the container named NAME, "" if there is
# none, and dies if that container is not one rig.sh created.
claim() {
	local name=$1 info
	cid=
	info=$(docker container inspect -f "{{.Name}} {{.Id}} {{ index .Config.Labels \"${OWNER%%=*}\" }}" "$name" 2>/dev/null) || return 0
	# shellcheck disable=SC2086
	set -- $info
	# inspect also takes an id prefix: only the exact name counts.
	[ "$1" = "/$name" ] || return 0
	if [ "${3:-}" != "${OWNER#*=}" ]; then
		die "container $name ($(printf %.12s "$2")) was not created by rig.sh (it lacks the label $OWNER): not touching it. It may be your own ollama; give the rig another name (rig.sh up OTHER) or remove that container yourself."
	fi
	cid=$2
}

ensure_docker() {
	docker info >/dev/null 2>&1 || die "docker daemon not reachable (start dockerd first)"
}

image_hash() {
	docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

# copy_with_libs copies executable $1 to $root$2 and every library ldd lists
# (plus the dynamic loader) to the same path under $root.
copy_with_libs() {
	local src=$1 dst=$2 lib
	install -D -m 0755 "$src" "$root$dst"
	for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

# module_dir downloads module@version from the module proxy (checked
# against the checksum database) and prints where it is.
module_dir() {
	(cd / && go mod download -json "$1") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# lacks_header DIR HEADER: the C sources in DIR include "HEADER" but DIR
# does not hold it (a header ollama's module zip left out).
lacks_header() {
	grep -rqF --include='*.c' --include='*.cpp' --include='*.h' "#include \"$2\"" "$1" &&
		[ -z "$(find "$1" -path "*/$2" -print -quit)" ]
}

# build_ollama builds ollama into $1/ollama with `go install
# github.com/ollama/ollama@vVERSION`: ollama's own go.mod and go.sum pin
# every dependency. Where the module has ollama's benchmark, cmd/bench, it
# is built from the same module as $1/ollama-bench (pure Go, static).
build_ollama() {
	local out=$1 src gobin inc cppflags=${CGO_CPPFLAGS:-} t0=$SECONDS
	command -v go >/dev/null || die "go not found"
	src=$(module_dir "github.com/ollama/ollama@v$OLLAMA_VERSION")
	[ -d "$src" ] || die "download github.com/ollama/ollama@v$OLLAMA_VERSION from the module proxy failed"
	# Newer module zips lack two vendored single-header libraries; both
	# exist elsewhere. The include directory's path is fixed (not under
	# the hash's cache directory): it is part of the Go build cache's key.
	if lacks_header "$src" stb/stb_image.h && [ ! -f /usr/include/stb/stb_image.h ]; then
		die "ollama v$OLLAMA_VERSION's module lacks stb/stb_image.h: install it (Debian: apt-get install libstb-dev)"
	fi
	if lacks_header "$src" miniaudio/miniaudio.h; then
		inc=$CACHE_ROOT/include/${MINIAUDIO//[@\/]/_}
		if [ ! -f "$inc/miniaudio/miniaudio.h" ]; then
			local malgo
			malgo=$(module_dir "$MINIAUDIO")
			[ -f "$malgo/miniaudio.h" ] || die "download $MINIAUDIO (for miniaudio.h) from the module proxy failed"
			install -D -m 0644 "$malgo/miniaudio.h" "$inc/miniaudio/miniaudio.h"
		fi
		log "miniaudio.h from $MINIAUDIO"
		cppflags="$cppflags -I$inc"
	fi
	log "building ollama v$OLLAMA_VERSION with cgo (on 2 cores with a cold Go build cache: v0.9.6 3-6 min, v0.17.4 10-12 min)"
	gobin=$out/bin.tmp.$$
	local ldflags="-s -w -X github.com/ollama/ollama/version.Version=$OLLAMA_VERSION"
	(cd / && GOBIN=$gobin CGO_ENABLED=1 CGO_CPPFLAGS=$cppflags go install -trimpath -ldflags "$ldflags" \
		"github.com/ollama/ollama@v$OLLAMA_VERSION")
	if [ -d "$src/cmd/bench" ]; then
		log "building ollama-bench (ollama's cmd/bench) v$OLLAMA_VERSION"
		(cd / && GOBIN=$gobin CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
			"github.com/ollama/ollama/cmd/bench@v$OLLAMA_VERSION")
		mv "$gobin/bench" "$out/ollama-bench"
	fi
	# ollama last: its presence says the step finished.
	mv "$gobin/ollama" "$out/ollama"
	rm -rf "$gobin"
	log "built ollama in $((SECONDS - t0))s"
}

# prune_images removes dangling (superseded, unused) rig images.
prune_images() {
	docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
}

cmd_build() {
	ensure_docker
	local hash dir
	hash=$(rig_hash)
	dir=$CACHE_ROOT/$hash
	log "rig hash $hash, cache $dir"
	if [ "$(image_hash)" = "$hash" ]; then
		log "image $IMAGE already built from this hash; nothing to do"
		return 0
	fi
	mkdir -p "$dir"

	if [ -x "$dir/ollama" ]; then
		log "cached ollama binary: $dir/ollama"
	else
		build_ollama "$dir"
	fi

	if [ -f "$dir/tiny.gguf" ]; then
		log "cached model: $dir/tiny.gguf"
	else
		log "writing tiny.gguf"
		(cd "$RIG_DIR" && go run ./gguf -o "$dir/tiny.gguf.tmp.$$")
		mv "$dir/tiny.gguf.tmp.$$" "$dir/tiny.gguf"
	fi

	log "assembling root filesystem"
	root=$(mktemp -d "${TMPDIR:-/tmp}/benchd-rig-root.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$root'" EXIT
	mkdir -p "$root"/{usr/bin,etc,models,root/.ollama/models,tmp,proc,sys,dev}
	chmod 0755 "$root"
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
	ln -s usr/bin "$root/bin"
	copy_with_libs "$dir/ollama" /usr/bin/ollama
	local bench=none
	if [ -x "$dir/ollama-bench" ]; then
		install -D -m 0755 "$dir/ollama-bench" "$root/usr/bin/ollama-bench"
		bench=ollama-bench
	fi
	copy_with_libs "$(type -P bash)" /usr/bin/bash
	copy_with_libs "$(type -P cat)" /usr/bin/cat
	copy_with_libs "$(type -P kill)" /usr/bin/kill
	ln -s bash "$root/usr/bin/sh"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	install -m 0644 "$dir/tiny.gguf" "$root/models/tiny.gguf"
	cat >"$root/models/Modelfile" <<'EOF'
FROM /models/tiny.gguf
TEMPLATE "{{ .Prompt }}"
PARAMETER num_predict 128
PARAMETER num_thread 1
EOF
	(cd "$root" && find . -type f -o -type l | LC_ALL=C sort | sed 's/^/    /') >&2

	log "docker import -> $IMAGE"
	tar -C "$root" --numeric-owner --owner=0 --group=0 -cf - . |
		docker import \
			--change "LABEL $LABEL=$hash" \
			--change "LABEL benchd.rig.ollama=$OLLAMA_VERSION" \
			--change "LABEL benchd.rig.bench=$bench" \
			--change 'ENV PATH=/usr/bin:/bin' \
			--change 'ENV HOME=/root' \
			--change 'ENV OLLAMA_MODELS=/root/.ollama/models' \
			--change 'ENV OLLAMA_HOST=127.0.0.1:11434' \
			--change 'WORKDIR /root' \
			--change 'CMD ["ollama", "serve"]' \
			- "$IMAGE" >/dev/null
	rm -rf "$root"
	trap - EXIT
	prune_images
	docker image ls "$IMAGE" >&2
}

# check_env dies unless every argument is OLLAMA_NAME=value with a plain
# value: the rig passes ollama's settings, nothing else reaches docker run.
check_env() {
	local kv
	for kv in "$@"; do
		[[ $kv =~ ^OLLAMA_[A-Z0-9_]+=[A-Za-z0-9._:/-]*$ ]] ||
			die "environment '$kv': give OLLAMA_NAME=value (letters, digits, ._:/-)"
	done
}

cmd_up() {
	local name=${1:-$DEFAULT_NAME}
	shift || true
	check_env "$@"
	local envargs=() kv
	for kv in "$@"; do envargs+=(--env "$kv"); done
	claim "$name"
	cmd_build
	claim "$name"
	if [ -n "$cid" ]; then
		log "removing existing rig container $name"
		docker rm -f "$cid" >/dev/null
		prune_images
	fi
	log "docker run -d --name $name --label $OWNER --label $ENV_LABEL=$* ${envargs[*]} --network none $IMAGE ollama serve"
	docker run -d --name "$name" --label "$OWNER" --label "$ENV_LABEL=$*" "${envargs[@]}" --network none "$IMAGE" ollama serve >/dev/null

	log "waiting for ollama in $name (up to ${TIMEOUT}s)"
	local deadline=$((SECONDS + TIMEOUT))
	until docker exec "$name" ollama list >/dev/null 2>&1; do
		if [ "$(docker container inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
			docker logs "$name" >&2 || true
			die "container $name exited"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			docker logs "$name" >&2 || true
			die "ollama in $name not ready after ${TIMEOUT}s"
		fi
		sleep 0.2
	done

	log "docker exec $name ollama create tiny -f /models/Modelfile"
	docker exec "$name" ollama create tiny -f /models/Modelfile >/dev/null 2>&1 ||
		docker exec "$name" ollama create tiny -f /models/Modelfile
	docker exec "$name" ollama list
}

# cmd_ensure starts NAME unless it already runs the current image with the
# model, so test packages and the demo share one container instead of
# recreating it under each other. flock makes check-and-start atomic.
cmd_ensure() {
	local name=${1:-$DEFAULT_NAME}
	shift || true
	check_env "$@"
	claim "$name"
	mkdir -p "$CACHE_ROOT"
	exec 9>"$CACHE_ROOT/ensure.lock"
	flock 9
	cmd_build
	local hash running
	hash=$(rig_hash)
	running=$(docker container inspect -f "{{.State.Running}} {{ index .Config.Labels \"$LABEL\" }} {{ index .Config.Labels \"$ENV_LABEL\" }}" "$name" 2>/dev/null || true)
	if [ "$running" = "true $hash $*" ] && docker exec "$name" ollama list 2>/dev/null | grep -q '^tiny:latest'; then
		log "container $name already runs this rig with tiny${*:+ and $*}"
		return 0
	fi
	cmd_up "$name" "$@"
}

cmd_down() {
	local name=${1:-$DEFAULT_NAME}
	claim "$name"
	if [ -n "$cid" ]; then
		log "docker rm -f $name"
		docker rm -f "$cid" >/dev/null
	else
		log "no container $name"
	fi
}

case ${1:-} in
build) cmd_build ;;
bridge)
	claim "${2:-$DEFAULT_NAME}"
	[ -n "$cid" ] || die "no container ${2:-$DEFAULT_NAME}"
	exec docker exec -i "$cid" bash -c "$BRIDGE"
	;;
up) shift; cmd_up "$@" ;;
ensure) shift; cmd_ensure "$@" ;;
down) shift; cmd_down "$@" ;;
hash) rig_hash ;;
versions) versions ;;
name) echo "$DEFAULT_NAME" ;;
*)
	echo "usage: [BENCHD_RIG_OLLAMA=VERSION] $0 build | up [NAME [OLLAMA_VAR=VALUE...]] | ensure [NAME [OLLAMA_VAR=VALUE...]] | down [NAME] | bridge [NAME] | hash | versions | name" >&2
	exit 2
	;;
esac
