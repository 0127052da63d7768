"""Python client for benchd (github.com/benchd/benchd).

:class:`Client` wraps stubs generated from ``proto/benchd/v1`` (``make
generate-python``; ``make check-generated`` catches drift). They live in
``benchd_client._gen`` and import each other from there, so installing this
package adds no top-level module but ``benchd_client``. ``benchd_client.pb``
and ``benchd_client.pb_grpc`` are the raw message and stub modules.
"""

from __future__ import annotations

from ._gen.benchd.v1 import benchd_pb2 as pb
from ._gen.benchd.v1 import benchd_pb2_grpc as pb_grpc
from .client import (
    GPU,
    OBJECTIVES,
    BenchmarkResult,
    Cell,
    Client,
    Concurrency,
    Event,
    InstalledModel,
    Level,
    LoadedModel,
    MachineInfo,
    MetricVerdict,
    ModelInfo,
    Models,
    Progress,
    RegressionCheck,
    Started,
    StoredBenchmark,
    Summary,
    Sweep,
    TokenTiming,
    Trial,
)
from .errors import (
    ADVICE,
    AbortedError,
    AlreadyExistsError,
    BenchdError,
    CancelledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
    advice_for,
)
from .target import TARGET_FORMS, default_socket, default_target, parse_target

__all__ = [
    "ADVICE",
    "GPU",
    "OBJECTIVES",
    "TARGET_FORMS",
    "AbortedError",
    "AlreadyExistsError",
    "BenchdError",
    "BenchmarkResult",
    "CancelledError",
    "Cell",
    "Client",
    "Concurrency",
    "DataLossError",
    "DeadlineExceededError",
    "Event",
    "FailedPreconditionError",
    "InstalledModel",
    "InternalError",
    "InvalidArgumentError",
    "Level",
    "LoadedModel",
    "MachineInfo",
    "MetricVerdict",
    "ModelInfo",
    "Models",
    "NotFoundError",
    "OutOfRangeError",
    "PermissionDeniedError",
    "Progress",
    "RegressionCheck",
    "ResourceExhaustedError",
    "Started",
    "StoredBenchmark",
    "Summary",
    "Sweep",
    "TokenTiming",
    "Trial",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "advice_for",
    "default_socket",
    "default_target",
    "parse_target",
    "pb",
    "pb_grpc",
]
