#!/usr/bin/env bash
# Opens, checks and closes the SSH forward of benchd's socket:
#
#   tunnel.sh open     ssh -f -N -L $BENCHD_SOCKET:$BENCHD_REMOTE_SOCKET $BENCHD_HOST (backgrounded)
#   tunnel.sh status   prints "open" (exit 0) or "closed" (exit 1)
#   tunnel.sh close    ends that ssh
#   tunnel.sh ensure   succeeds when benchd answers on $BENCHD_SOCKET, opening
#                      (or reopening) the tunnel first when it does not
#   tunnel.sh path     prints the local socket's path (for benchctl --socket)
#
# Environment (the skill's config):
#   BENCHD_HOST           ssh destination, e.g. ai-worker@gpu-host (required for open)
#   BENCHD_SSH_KEY        the agent's restricted key (optional: else ssh's defaults)
#   BENCHD_SOCKET         local end of the forward (default benchd.sock in a
#                         0700 directory of this user's: $XDG_RUNTIME_DIR/benchd-agent,
#                         else /tmp/benchd-agent-UID; see local_socket.py)
#   BENCHD_REMOTE_SOCKET  benchd's socket on the host (default /run/benchd/benchd.sock;
#                         the host's sshd policy permits forwards to this path only)
#   BENCHD_SSH_OPTS       extra ssh options, one string (e.g. "-p 2222")
#
# The ssh runs as a control master on $BENCHD_SOCKET.ctl, so status and close
# find it without a pid file. Exit status: 0 ok, 1 not open (status), 2 usage,
# 3 ssh failed (its stderr is printed: wrong key, host unreachable, forward
# refused), 4 (ensure) the tunnel is up but benchd does not answer behind it,
# 5 the local socket or its directory is not this user's alone (another
# user's, or writable by others): refused, since whatever answers there
# might not be benchd (local_socket.py says why).
set -euo pipefail

usage() {
	echo "usage: tunnel.sh ensure|open|status|close|path  (env: BENCHD_HOST, BENCHD_SSH_KEY, BENCHD_SOCKET)" >&2
	exit 2
}
case ${1:-} in
ensure | open | status | close | path) ;;
*) usage ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The checked path: local_socket.py refuses (exit 5) a socket or directory
# that is not this user's alone, and creates the default directory.
sock=$(python3 "$here/local_socket.py") || exit 5
remote=${BENCHD_REMOTE_SOCKET:-/run/benchd/benchd.sock}
ctl="$sock.ctl"
host=${BENCHD_HOST:-}

# ssh_base sets base to the ssh options every call shares. (An array set
# here rather than read back with mapfile: bash 3.2, macOS's, has no
# mapfile; and it is never empty, which 3.2's set -u would call unbound.)
ssh_base() {
	base=(-o BatchMode=yes -S "$ctl")
	if [[ -n ${BENCHD_SSH_OPTS:-} ]]; then
		# shellcheck disable=SC2206 # BENCHD_SSH_OPTS is split on purpose
		base+=(${BENCHD_SSH_OPTS})
	fi
	if [[ -n ${BENCHD_SSH_KEY:-} ]]; then
		base+=(-i "${BENCHD_SSH_KEY/#\~/$HOME}" -o IdentitiesOnly=yes)
	fi
}

is_open() {
	[[ -S $ctl ]] || return 1
	ssh_base
	ssh "${base[@]}" -O check "${host:-benchd-tunnel}" >/dev/null 2>&1 # bash32: never empty
}

# Prints benchd's health (SERVING / NOT_SERVING) if something answers on the
# socket, nothing otherwise. (benchctl health prints "STATUS benchd VERSION".)
health() {
	local out
	out=$("${BENCHCTL:-benchctl}" --socket "$sock" health 2>/dev/null) || true
	echo "${out%% *}"
}

case ${1:-} in
ensure)
	st=$(health)
	if [[ -n $st ]]; then
		echo "benchd answers on $sock ($st)"
		exit 0
	fi
	if [[ -z $host ]]; then
		echo "tunnel.sh: nothing answers on $sock and BENCHD_HOST is unset: set it to open the tunnel" >&2
		exit 2
	fi
	if is_open; then
		# A forward whose far end does not answer: reopen once in case the
		# connection died under a live control master.
		"$0" close >/dev/null
	fi
	"$0" open
	for _ in 1 2 3 4 5; do
		st=$(health)
		[[ -z $st ]] || { echo "benchd answers on $sock ($st)"; exit 0; }
		sleep 1
	done
	echo "tunnel.sh: the tunnel to $host is open but benchd does not answer behind it: benchd is down on the host (or $remote is not the socket the host's sshd permits); tell a human" >&2
	exit 4
	;;
open)
	if is_open; then
		echo "tunnel already open: $sock -> $remote"
		exit 0
	fi
	[[ -n $host ]] || { echo "tunnel.sh: set BENCHD_HOST (e.g. ai-worker@gpu-host)" >&2; exit 2; }
	rm -f "$ctl"
	ssh_base
	# -f: go to the background once the forward is set up (ExitOnForwardFailure
	# makes a refused forward an error instead of a silent no-op);
	# StreamLocalBindUnlink replaces a stale socket file from an earlier ssh.
	# bash32: never empty
	if ! ssh "${base[@]}" -M -f -N \
		-o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes \
		-o ServerAliveInterval=30 -o ServerAliveCountMax=3 \
		-L "$sock:$remote" "$host"; then
		echo "tunnel.sh: ssh could not open the forward to $host (see above)" >&2
		exit 3
	fi
	echo "tunnel open: $sock -> $host:$remote"
	;;
status)
	if is_open; then echo open; else echo closed; exit 1; fi
	;;
close)
	if is_open; then
		ssh_base
		ssh "${base[@]}" -O exit "${host:-benchd-tunnel}" 2>/dev/null || true # bash32: never empty
	fi
	rm -f "$sock" "$ctl"
	echo "tunnel closed"
	;;
path)
	echo "$sock"
	;;
esac
