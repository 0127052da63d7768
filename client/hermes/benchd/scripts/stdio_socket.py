#!/usr/bin/env python3
"""A local unix socket for benchd's dial-stdio transport.

    stdio_socket.py [--socket PATH] -- ssh -T ai-worker@HOST benchd dial-stdio

Listens on --socket (default: $BENCHD_SOCKET, else the skill's socket in a
0700 directory of this user's, as `tunnel.sh path` prints; local_socket.py
checks it and refuses, exit 5, a socket or directory that is not this
user's alone); for each connection it starts the command after "--" and
copies bytes both ways between the connection and the command's
stdin/stdout. benchctl, grpcurl, the Python client and the skill's other
scripts then use the socket as if it were benchd's own. Use this where the
agent's key on the host is restricted to command="benchd dial-stdio" (no
port forwarding) instead of the forward-only policy that `ssh -N -L` needs.
Runs until killed (SIGTERM/SIGINT); with --background it returns once the
socket listens and serves on in the background, like `ssh -f`. --pid-file
records the serving process's pid, so `kill "$(cat PIDFILE)"` stops it.

Standard library only, on purpose: the skill is copied to the agent's
machine on its own (hermes copies the skill's folder), where the Python
client (client/python, benchd_client.relay: the same relay for its ssh://
targets) and its grpcio/protobuf need not be installed, and one code path
is what the skill's test runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import List

import local_socket  # this script's folder


def pump_in(conn: socket.socket, proc: "subprocess.Popen[bytes]") -> None:
    """connection -> command stdin; EOF closes stdin (ssh then sends EOF on)."""
    assert proc.stdin is not None
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            proc.stdin.write(data)
            proc.stdin.flush()
    except OSError:
        pass
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass


def serve_one(conn: socket.socket, argv: List[str]) -> None:
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    except OSError as e:
        print(f"stdio_socket.py: start {argv[0]}: {e}", file=sys.stderr)
        conn.close()
        return
    t = threading.Thread(target=pump_in, args=(conn, proc), daemon=True)
    t.start()
    assert proc.stdout is not None
    try:
        while True:
            data = proc.stdout.read(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description="Serve a unix socket through a dial-stdio command.")
    ap.add_argument("--socket", help="default: $BENCHD_SOCKET, else the skill's socket (tunnel.sh path)")
    ap.add_argument("--pid-file")
    ap.add_argument("--background", action="store_true",
                    help="return once listening; serve from a background process")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS... (e.g. ssh -T host benchd dial-stdio)")
    a = ap.parse_args()
    argv = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not argv:
        ap.error("give the command after --")
    try:
        path = local_socket.socket_path(a.socket)
    except local_socket.UnsafeSocket as e:
        print(f"stdio_socket.py: {local_socket.refusal(e)}", file=sys.stderr)
        return local_socket.EXIT_UNSAFE

    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            print(f"stdio_socket.py: something already listens on {path}", file=sys.stderr)
            return 1
        except OSError:
            os.unlink(path)  # stale
        finally:
            probe.close()
    srv = socket.socket(socket.AF_UNIX)
    old = os.umask(0o177)  # the socket is for this user only
    try:
        srv.bind(path)
    finally:
        os.umask(old)
    srv.listen(16)
    print(f"stdio_socket.py: serving {path} through: {' '.join(argv)}", file=sys.stderr, flush=True)

    def write_pid(pid: int) -> None:
        if a.pid_file:
            with open(a.pid_file, "w") as f:
                f.write(f"{pid}\n")

    if a.background:
        child = os.fork()
        if child != 0:
            # The socket already listens and the pid file is written: the
            # caller may use both as soon as this returns.
            write_pid(child)
            os._exit(0)
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    else:
        write_pid(os.getpid())

    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve_one, args=(conn, argv), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
        try:
            os.unlink(path)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
