"""benchd's failures as exceptions: one class per gRPC status code.

Every call of :class:`benchd_client.Client` raises a subclass of
:class:`BenchdError`, chosen by the status code benchd (or gRPC, for a
broken connection) returned, so callers catch what they can handle::

    try:
        client.run_benchmark("llama3.2:1b")
    except ResourceExhaustedError:
        ...  # another benchmark runs: wait and retry
    except BenchdError as e:
        print(e.code, e.message, e.advice)
"""

from __future__ import annotations

from typing import ClassVar, Dict, Optional, Type

import grpc

__all__ = [
    "ADVICE",
    "AbortedError",
    "AlreadyExistsError",
    "BenchdError",
    "CancelledError",
    "DataLossError",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "InternalError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "advice_for",
]

_NO_ADVICE = "unexpected error: report it with the message"


class BenchdError(Exception):
    """A failed call to benchd.

    ``code`` is the gRPC code's name (``"NOT_FOUND"``, ...), ``message``
    benchd's own text, ``advice`` what to do about it. ``benchmark_id`` is
    set when a benchmark's stream broke after it started: the run goes on in
    benchd; follow it with :meth:`Client.watch_benchmark`.

    Raise the subclass of a code (``NotFoundError(message)``), or get it from
    :meth:`for_code` when the code is data.
    """

    code: ClassVar[str] = "UNKNOWN"
    # What the code means coming from benchd, and what to do. The Hermes
    # skill's scripts/history.py keeps its own wording of the same advice.
    advice: ClassVar[str] = _NO_ADVICE

    def __init__(self, message: str, benchmark_id: str = "") -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message
        self.benchmark_id = benchmark_id

    @staticmethod
    def for_code(code: str, message: str, benchmark_id: str = "") -> "BenchdError":
        """The exception for code, a gRPC code name (``NOT_FOUND`` or
        ``NotFound``); UnknownError for a name that is none."""
        return _BY_CODE.get(_norm(code), UnknownError)(message, benchmark_id)

    @staticmethod
    def from_rpc(err: grpc.RpcError, benchmark_id: str = "") -> "BenchdError":
        """The exception for a failed gRPC call."""
        # grpc raises RpcError objects that are also grpc.Call (code(),
        # details()); an RpcError without them carries no status.
        code: Optional[grpc.StatusCode] = err.code() if hasattr(err, "code") else None
        details = err.details() if hasattr(err, "details") else str(err)
        name = code.name if code is not None else "UNKNOWN"
        return BenchdError.for_code(name, details or "", benchmark_id)


# One class per grpc.StatusCode except OK, in the enum's order.


class CancelledError(BenchdError):
    code = "CANCELLED"
    advice = "the call was cancelled"


class UnknownError(BenchdError):
    code = "UNKNOWN"


class InvalidArgumentError(BenchdError):
    code = "INVALID_ARGUMENT"
    advice = "a request field is out of bounds: fix the field the message names"


class DeadlineExceededError(BenchdError):
    code = "DEADLINE_EXCEEDED"
    advice = "the benchmark hit its timeout: raise timeout or lower the work"


class NotFoundError(BenchdError):
    code = "NOT_FOUND"
    advice = "the model is not in ollama: pull it first (benchd never pulls)"


class AlreadyExistsError(BenchdError):
    code = "ALREADY_EXISTS"


class PermissionDeniedError(BenchdError):
    code = "PERMISSION_DENIED"
    advice = "this account's uid is not allowed by benchd: connect as the agent account (ai-worker)"


class ResourceExhaustedError(BenchdError):
    code = "RESOURCE_EXHAUSTED"
    advice = "another benchmark is running (one at a time): wait for it and retry"


class FailedPreconditionError(BenchdError):
    code = "FAILED_PRECONDITION"
    advice = ("the ollama container is missing/stopped/paused or the VRAM source is missing: "
              "tell a human")


class AbortedError(BenchdError):
    code = "ABORTED"


class OutOfRangeError(BenchdError):
    code = "OUT_OF_RANGE"


class UnimplementedError(BenchdError):
    code = "UNIMPLEMENTED"


class InternalError(BenchdError):
    code = "INTERNAL"


class UnavailableError(BenchdError):
    code = "UNAVAILABLE"
    advice = ("benchd is unreachable (tunnel closed, daemon down) or Docker/ollama is: "
              "reopen the tunnel, else tell a human")


class DataLossError(BenchdError):
    code = "DATA_LOSS"


class UnauthenticatedError(BenchdError):
    code = "UNAUTHENTICATED"


def _norm(code: str) -> str:
    return code.replace("_", "").upper()


_CLASSES = (
    CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError, NotFoundError,
    AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError, FailedPreconditionError,
    AbortedError, OutOfRangeError, UnimplementedError, InternalError, UnavailableError,
    DataLossError, UnauthenticatedError,
)
_BY_CODE: Dict[str, Type[BenchdError]] = {_norm(c.code): c for c in _CLASSES}

# Code name -> advice, for the codes benchd gives advice for.
ADVICE: Dict[str, str] = {c.code: c.advice for c in _CLASSES if c.advice != _NO_ADVICE}


def advice_for(code: str) -> str:
    """What to do about a benchd error code (``NOT_FOUND`` or ``NotFound``)."""
    return _BY_CODE.get(_norm(code), BenchdError).advice
