"""Where a client connects: the target forms and the default target.

Both mirror the Go client (client/target.go: parseTarget, DefaultTarget,
DefaultSocket) and proto/defaults/defaults.go (Socket, UserSocket), so that
benchctl and this package go to the same place when told the same thing;
internal/e2e/pyclient's tests compare the two.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional
from urllib.parse import urlsplit

__all__ = ["SYSTEM_SOCKET", "TARGET_FORMS", "Endpoint", "default_socket", "default_target", "parse_target",
           "user_socket"]

# The forms parse_target accepts, for error messages (client.targetForms).
TARGET_FORMS = "unix:///ABS/PATH (or /ABS/PATH), ssh://[USER@]HOST[:PORT] or tcp://HOST:PORT"

# benchd's socket when it runs as the system service (defaults.Socket).
SYSTEM_SOCKET = "/run/benchd/benchd.sock"


def user_socket(runtime_dir: str) -> str:
    """The socket of a benchd a user runs outside systemd, under their
    $XDG_RUNTIME_DIR (runtime_dir); "" when runtime_dir is (defaults.UserSocket)."""
    return os.path.join(runtime_dir, "benchd", "benchd.sock") if runtime_dir else ""


def default_socket() -> str:
    """$BENCHD_SOCKET if set; else the user's own benchd's socket if it
    exists; else the system service's (client.DefaultSocket)."""
    s = os.environ.get("BENCHD_SOCKET", "")
    if s:
        return s
    s = user_socket(os.environ.get("XDG_RUNTIME_DIR", ""))
    if s and os.path.exists(s):
        return s
    return SYSTEM_SOCKET


def default_target() -> str:
    """Where a client goes when told nothing: $BENCHD_HOST if set, else
    :func:`default_socket` (client.DefaultTarget)."""
    return os.environ.get("BENCHD_HOST", "") or default_socket()


@dataclass(frozen=True)
class Endpoint:
    """A parsed target: exactly one of ``path`` (unix socket), ``argv`` (a
    command whose stdio carries the connection: ssh) and ``addr`` (TCP
    host:port, mutual TLS) is set."""

    path: str = ""
    argv: List[str] = field(default_factory=list)
    addr: str = ""


def _ssh_argv(destination: str, port: Optional[int]) -> List[str]:
    # As client.sshArgv: the local ssh, so ~/.ssh/config (aliases, User,
    # IdentityFile, ProxyJump) applies; "--" so the destination is never an
    # option.
    return ["ssh", "-T"] + (["-p", str(port)] if port is not None else []) + ["--", destination, "benchd",
                                                                                "dial-stdio"]


def parse_target(target: str) -> Endpoint:
    """Reads a target in one of :data:`TARGET_FORMS`; a ValueError naming
    them for anything else."""

    def bad(why: str) -> ValueError:
        return ValueError(f"benchd client: target {target!r}: {why}; want {TARGET_FORMS}")

    if not target:
        raise bad("empty")
    if target.startswith("/"):
        return Endpoint(path=target)
    scheme, sep, rest = target.partition("://")
    if not sep:
        if target.startswith("unix:"):  # gRPC's unix:/ABS form
            rest = target[len("unix:"):]
            if not rest.startswith("/"):
                raise bad("a unix socket path must be absolute")
            return Endpoint(path=rest)
        raise bad("neither an absolute path nor a URL")
    if scheme == "unix":
        # Not urlsplit: a path may hold '%', '?' or '#'.
        if not rest.startswith("/"):
            raise bad("a unix socket path must be absolute (unix:///ABS/PATH: three slashes)")
        return Endpoint(path=rest)
    if scheme not in ("ssh", "tcp"):
        raise bad(f"unknown scheme {scheme!r}")
    try:
        u = urlsplit(target)
        port = u.port
        host = u.hostname or ""
    except ValueError as e:  # a port that is not a number from 0 to 65535, a bad IPv6 literal
        raise bad(str(e)) from None
    if not host:
        raise bad("no host")
    if host.startswith("-"):
        raise bad("a host must not start with '-'")
    if u.path not in ("", "/") or u.query or u.fragment:
        raise bad("nothing may follow the host and port")
    if port is None and u.netloc.endswith(":"):
        raise bad("empty port")
    if port == 0:
        raise bad("port '0' is not a number from 1 to 65535")
    has_user = "@" in u.netloc
    if scheme == "tcp":
        if has_user:
            raise bad("tcp:// takes no user (the client certificate names you)")
        if port is None:
            raise bad("tcp:// needs a port")
        return Endpoint(addr=f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    dest = host
    if has_user:
        if u.password is not None:
            raise bad("ssh:// takes no password (use a key or the ssh agent)")
        if not u.username:
            raise bad("empty user")
        dest = f"{u.username}@{host}"
    return Endpoint(argv=_ssh_argv(dest, port))
