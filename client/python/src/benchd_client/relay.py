"""A local unix socket whose connections each run a command and speak over
its stdio: how the client reaches ``ssh://`` targets.

gRPC's Python channel can only dial addresses, not commands, so for an
``ssh://`` target the client serves a socket of its own and runs
``ssh ... benchd dial-stdio`` for each connection gRPC makes to it — what the
Go client's command dialer does in-process (client/ssh.go). Standard library
only.
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
from typing import IO, List, Optional, Sequence, Set

__all__ = ["Relay", "private_dir"]


def private_dir() -> str:
    """A new directory only this user can enter (mkdtemp makes it 0700),
    under $XDG_RUNTIME_DIR when that exists, else the system's temp dir."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    return tempfile.mkdtemp(prefix="benchd-relay-", dir=runtime if os.path.isdir(runtime) else None)


def _pump_in(conn: socket.socket, stdin: IO[bytes]) -> None:
    """connection -> command's stdin; EOF closes stdin (ssh passes it on)."""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            stdin.write(data)
            stdin.flush()
    except (OSError, ValueError):
        pass  # the command or the connection is gone; the other pump ends too
    finally:
        try:
            stdin.close()
        except OSError:
            pass


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    argv: List[str]
    procs: Set["subprocess.Popen[bytes]"]
    lock: threading.Lock


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        try:
            proc = subprocess.Popen(self.server.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        except OSError:
            return  # gRPC sees the connection close: UNAVAILABLE
        with self.server.lock:
            self.server.procs.add(proc)
        assert proc.stdin is not None and proc.stdout is not None
        t = threading.Thread(target=_pump_in, args=(conn, proc.stdin), daemon=True)
        t.start()
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
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with self.server.lock:
                self.server.procs.discard(proc)


class Relay:
    """Serves ``path`` (a socket in a new private directory unless given) and
    runs ``argv`` for each connection, copying bytes both ways between the
    connection and the command's stdin/stdout. :meth:`close` stops serving,
    ends the commands still running and removes the directory."""

    def __init__(self, argv: Sequence[str], path: Optional[str] = None) -> None:
        if not argv:
            raise ValueError("benchd relay: empty command")
        self._dir = None if path is not None else private_dir()
        self.path = path if path is not None else os.path.join(self._dir or "", "benchd.sock")
        self._server = _Server(self.path, _Handler)
        self._server.argv = list(argv)
        self._server.procs = set()
        self._server.lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, name="benchd-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._server.lock:
            procs = list(self._server.procs)
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        else:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
