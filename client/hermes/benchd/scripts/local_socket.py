#!/usr/bin/env python3
"""The skill's local socket: where it is, and whether it can be trusted.

    local_socket.py     prints the socket's path (exit 0), or why it is refused (exit 5)

The socket is $BENCHD_SOCKET when set, else benchd.sock in a directory only
this user can enter: $XDG_RUNTIME_DIR/benchd-agent, or, without
XDG_RUNTIME_DIR, /tmp/benchd-agent-UID. (Not $XDG_RUNTIME_DIR/benchd: a benchd
the same user runs listens there, and the tunnel must not replace its socket.) A missing directory is created with mode 0700. What
answers on the socket is taken for benchd: whoever could put their own socket
there would get every request and answer in benchd's name. So before the
socket is used, its directory must be this user's and writable by no one
else (the default one: mode 0700 exactly, not a symlink), and a socket
already there must be this user's and writable by no one else; anything
else is refused, naming the path and its owner. tunnel.sh, stdio_socket.py,
run_benchmark.sh and sample_vram.sh all take the path from here. Standard
library only.
"""

from __future__ import annotations

import os
import pwd
import stat
import sys
from typing import Optional

EXIT_UNSAFE = 5


class UnsafeSocket(Exception):
    """The socket's path is not this user's alone."""


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def default_dir() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "benchd-agent")
    return f"/tmp/benchd-agent-{os.getuid()}"


def check_dir(path: str, private: bool) -> None:
    """Refuses a directory that is not this user's, or that others may write
    to (private: that others may enter at all), or that is not a directory."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise UnsafeSocket(f"the socket's directory {path} does not exist") from None
    me = os.getuid()
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeSocket(f"{path} is a symlink, not a directory of {_owner(me)}")
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeSocket(f"{path} is not a directory")
    if st.st_uid != me:
        raise UnsafeSocket(f"the socket's directory {path} belongs to {_owner(st.st_uid)}, not to you, {_owner(me)}")
    mode = stat.S_IMODE(st.st_mode)
    if private and mode & 0o077:
        raise UnsafeSocket(f"the socket's directory {path} has mode {mode:04o}; it must be 0700")
    if mode & 0o022:
        raise UnsafeSocket(f"the socket's directory {path} has mode {mode:04o}: others can write to it")


def check_socket(path: str) -> None:
    """Refuses an existing path that is not a socket of this user's alone; a
    missing one is fine (it is about to be made)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    me = os.getuid()
    if not stat.S_ISSOCK(st.st_mode):
        raise UnsafeSocket(f"{path} exists and is not a socket")
    if st.st_uid != me:
        raise UnsafeSocket(f"the socket {path} belongs to {_owner(st.st_uid)}, not to you, {_owner(me)}")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        raise UnsafeSocket(f"the socket {path} has mode {mode:04o}: others can write to it")


def socket_path(explicit: Optional[str] = None) -> str:
    """The checked path of the skill's local socket: explicit, else
    $BENCHD_SOCKET, else the default (see the module's doc)."""
    explicit = (explicit or os.environ.get("BENCHD_SOCKET", "")).removeprefix("unix://")
    if explicit:
        path = os.path.abspath(os.path.expanduser(explicit))
        os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
        check_dir(os.path.dirname(path), private=False)
    else:
        d = default_dir()
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass  # checked below: it must be ours and 0700
        path = os.path.join(d, "benchd.sock")
        check_dir(d, private=True)
    check_socket(path)
    return path


def refusal(e: UnsafeSocket) -> str:
    return (f"refusing the local socket: {e}. Whatever answers there might not be benchd. "
            "Remove it if it is yours to remove, or set BENCHD_SOCKET to a path in a directory "
            "of your own (mode 0700); tell a human if someone else made it.")


def main() -> int:
    try:
        print(socket_path())
    except UnsafeSocket as e:
        print(f"local_socket.py: {refusal(e)}", file=sys.stderr)
        return EXIT_UNSAFE
    return 0


if __name__ == "__main__":
    sys.exit(main())
