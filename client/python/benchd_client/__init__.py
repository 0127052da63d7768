"""Python client for benchd (github.com/benchd/benchd).

The stubs under ``gen/`` are generated from ``proto/benchd/v1`` by
``make generate-python`` (buf with protoc's python/pyi plugins and
grpc_python_plugin) and are drift-checked by ``make check-generated``.
protoc's Python code imports its dependencies by their proto package
(``from buf.validate import validate_pb2``), so ``gen/`` is put on
``sys.path`` here; after ``import benchd_client`` the raw modules are
importable as ``benchd.v1.benchd_pb2`` and ``benchd.v1.benchd_pb2_grpc``.
"""

from __future__ import annotations

import os
import sys

_GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen")
if _GEN not in sys.path:
    sys.path.insert(0, _GEN)

from .client import (  # noqa: E402  (needs gen/ on sys.path)
    GPU,
    BenchdError,
    BenchmarkResult,
    Client,
    Event,
    MachineInfo,
    ModelInfo,
    Progress,
    Started,
    StoredBenchmark,
    Summary,
    Trial,
    advice_for,
)

__all__ = [
    "GPU",
    "BenchdError",
    "BenchmarkResult",
    "Client",
    "Event",
    "MachineInfo",
    "ModelInfo",
    "Progress",
    "Started",
    "StoredBenchmark",
    "Summary",
    "Trial",
    "advice_for",
]
