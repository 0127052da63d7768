"""A small typed wrapper over benchd's generated gRPC stubs.

Needs only the standard library, ``grpcio`` and ``protobuf`` (Debian:
``python3-grpcio python3-protobuf``)::

    from benchd_client import Client

    with Client() as c:  # $BENCHD_HOST, $BENCHD_SOCKET, or benchd's own socket
        result = c.run_benchmark("llama3.2:1b", repetitions=5,
                                 on_event=lambda ev: print(ev.kind))
        print(result.stats["eval_rate"].mean, "tok/s")
        for gpu in c.sample_vram():
            print(gpu.name, gpu.used_bytes, "/", gpu.total_bytes)

Failures raise a subclass of :class:`BenchdError` per gRPC code (e.g.
:class:`NotFoundError`), which carries benchd's message and what to do.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import grpc
from google.protobuf import duration_pb2, message as _message

from ._gen.benchd.v1 import benchd_pb2 as pb
from ._gen.benchd.v1 import benchd_pb2_grpc as pb_grpc
from .errors import BenchdError, InternalError
from .relay import Relay
from .target import default_target, parse_target

def _time(msg: _message.Message, name: str) -> Optional[_dt.datetime]:
    if not msg.HasField(name):
        return None
    t: _dt.datetime = getattr(msg, name).ToDatetime()
    return t.replace(tzinfo=_dt.timezone.utc)


def _opt(msg: _message.Message, name: str) -> Any:
    """An optional field's value; None when absent (an unset field reads 0)."""
    return getattr(msg, name) if msg.HasField(name) else None


_TELEMETRY = ("power_watts", "energy_joules", "temperature_edge_celsius", "temperature_junction_celsius",
              "temperature_memory_celsius", "busy_percent", "core_clock_mhz", "memory_clock_mhz")


@dataclass
class GPU:
    index: int
    name: str
    vendor: str
    total_bytes: int
    used_bytes: int
    source: str
    sampled_at: Optional[_dt.datetime]
    # Telemetry, each None where the GPU or its source does not report it
    # (never 0 for unknown): power in watts, averaged by the GPU over
    # power_window_s (None: instantaneous or unknown); the GPU's energy
    # counter in joules, whose differences alone mean anything;
    # temperatures in °C; graphics busy percent; shader and memory clocks.
    power_watts: Optional[float] = None
    energy_joules: Optional[float] = None
    temperature_edge_celsius: Optional[float] = None
    temperature_junction_celsius: Optional[float] = None
    temperature_memory_celsius: Optional[float] = None
    busy_percent: Optional[float] = None
    core_clock_mhz: Optional[float] = None
    memory_clock_mhz: Optional[float] = None
    power_window_s: Optional[float] = None

    @classmethod
    def from_proto(cls, g: pb.GPU) -> "GPU":
        return cls(
            index=g.index, name=g.name, vendor=g.vendor, total_bytes=g.total_bytes,
            used_bytes=g.used_bytes, source=g.source, sampled_at=_time(g, "sampled_at"),
            power_window_s=g.power_window.ToTimedelta().total_seconds() if g.HasField("power_window") else None,
            **{name: _opt(g, name) for name in _TELEMETRY},
        )


@dataclass
class Energy:
    """What the GPUs drew over a span: a trial, a sweep cell, a concurrency
    level or a whole run (see the proto's Energy)."""

    # The difference of the GPUs' energy counters (method "counter") or
    # their power integrated over the samples ("integrated"); net_joules is
    # that less the idle baseline over the span (None without one).
    joules: float
    net_joules: Optional[float]
    # Joules over the span, and the highest sampled power.
    average_watts: float
    peak_watts: float
    # Per output token and its inverse; None with no output token (the net
    # one also without a baseline).
    joules_per_output_token: Optional[float]
    output_tokens_per_joule: Optional[float]
    net_joules_per_output_token: Optional[float]
    duration_ns: int
    method: str
    # Power readings the figures come from.
    samples: int
    # Non-empty: the span was shorter than the power sensor's averaging
    # window, so the figures are uncertain.
    short_window_reason: str
    # When the span began; None for a sum of spans (a cell, a run).
    started_at: Optional[_dt.datetime]

    @classmethod
    def from_parent(cls, parent: _message.Message) -> Optional["Energy"]:
        """The energy field of parent; None when it has none."""
        if not parent.HasField("energy"):
            return None
        e = parent.energy  # type: ignore[attr-defined]
        return cls(
            joules=e.joules, net_joules=_opt(e, "net_joules"), average_watts=e.average_watts,
            peak_watts=e.peak_watts, joules_per_output_token=_opt(e, "joules_per_output_token"),
            output_tokens_per_joule=_opt(e, "output_tokens_per_joule"),
            net_joules_per_output_token=_opt(e, "net_joules_per_output_token"), duration_ns=e.duration_ns,
            method=e.method, samples=e.samples, short_window_reason=e.short_window_reason,
            started_at=_time(e, "started_at"),
        )


@dataclass
class IdlePower:
    """The GPUs' power while nothing ran, before the first trial: the mean
    of ``samples`` readings over ``duration_ns``, summed over GPUs."""

    watts: float
    samples: int
    duration_ns: int


@dataclass
class ModelInfo:
    digest: str
    family: str
    parameter_size: str
    quantization_level: str
    format: str

    @classmethod
    def from_proto(cls, mi: pb.ModelInfo) -> "ModelInfo":
        return cls(mi.digest, mi.family, mi.parameter_size, mi.quantization_level, mi.format)


@dataclass
class MachineInfo:
    hostname: str
    kernel: str
    benchd_version: str
    ollama_version: str
    gpus: List[GPU]


@dataclass
class Started:
    benchmark_id: str
    model: str
    model_info: ModelInfo
    ollama_version: str
    gpus: List[GPU]
    # The request with benchd's defaults filled in, as a dict of field names.
    settings: Dict[str, Any]
    started_at: Optional[_dt.datetime]
    machine: MachineInfo
    # ollama's parallel slots as its container is configured: the value of
    # OLLAMA_NUM_PARALLEL, "default" when it is not set (ollama chooses),
    # "unknown" over HTTP or when the container could not be inspected; ""
    # in older records.
    ollama_num_parallel: str = ""
    # The baseline of Energy.net_joules; None where the GPUs report no power.
    idle_power: Optional[IdlePower] = None

    @classmethod
    def from_proto(cls, s: pb.BenchmarkStarted) -> "Started":
        settings: Dict[str, Any] = {}
        for f, v in s.settings.ListFields():
            if isinstance(v, duration_pb2.Duration):
                settings[f.name] = v.ToTimedelta().total_seconds()
            elif f.label == f.LABEL_REPEATED:
                settings[f.name] = list(v)
            else:
                settings[f.name] = v
        return cls(
            benchmark_id=s.benchmark_id, model=s.model,
            model_info=ModelInfo.from_proto(s.model_info),
            ollama_version=s.ollama_version, gpus=[GPU.from_proto(g) for g in s.gpus],
            settings=settings, started_at=_time(s, "started_at"),
            machine=MachineInfo(s.machine.hostname, s.machine.kernel, s.machine.benchd_version,
                                s.machine.ollama_version, [GPU.from_proto(g) for g in s.machine.gpus]),
            ollama_num_parallel=s.ollama_num_parallel,
            idle_power=IdlePower(s.idle_power.watts, s.idle_power.samples, s.idle_power.duration_ns)
            if s.HasField("idle_power") else None,
        )


@dataclass
class Progress:
    index: int
    warmup: bool
    tokens: int
    max_tokens: int
    # Sweeps only: the cell (Cell.index) the trial belongs to.
    cell: int = 0
    # Concurrency runs only: the level (Level.index) last started, as
    # benchd's progress events do not say; index counts within it.
    level: int = 0


@dataclass
class Trial:
    """One generation. Counts and ``*_duration_ns`` are ollama's own."""

    index: int
    warmup: bool
    prompt_index: int
    prompt_eval_count: int
    prompt_eval_duration_ns: int
    eval_count: int
    eval_duration_ns: int
    load_duration_ns: int
    total_duration_ns: int
    ttft_ns: int
    wall_ns: int
    prompt_eval_rate: float
    eval_rate: float
    peak_vram_used_bytes: int
    # GPU index -> highest used bytes sampled during the trial.
    peak_vram: Dict[int, int]
    done_reason: str
    # Whether the model was already loaded when the trial started.
    model_loaded_at_start: bool
    # The text benchd put before the prompt so KV prefix caching cannot help.
    prompt_prefix: str
    # When benchd received the first chunk (ttft_ns is on ollama's clock;
    # the difference is the transport's delay).
    received_ttft_ns: int
    # Non-empty: the trial's figures contradict each other (e.g. a TTFT
    # over total_duration); it is left out of the summary and of measured.
    invalid_reason: str
    # How the tokens were streamed (ollama's clock); None in older records
    # and for a trial that streamed no token.
    token_timing: Optional["TokenTiming"] = None
    # Non-empty: the decode time from ollama's chunk stamps and ollama's
    # eval_duration disagree by more than 10%; the trial stays in the
    # summary, but treat its token timing with care.
    decode_mismatch_reason: str = ""
    # Sweeps only: the cell (Cell.index) the trial belongs to; index then
    # counts within the cell.
    cell: int = 0
    # Concurrency runs only: the level (Level.index) the trial belongs to;
    # index then counts within the level, in the order sent.
    level: int = 0
    # Time the request waited in ollama for a parallel slot: ttft_ns -
    # load_duration_ns - prompt_eval_duration_ns, at least 0 (ollama's
    # clock). 0 in older records.
    queue_ns: int = 0
    # When benchd sent the request (its clock).
    sent_at: Optional[_dt.datetime] = None
    # What the GPUs drew during the trial; None where they report no power.
    energy: Optional[Energy] = None

    @classmethod
    def from_proto(cls, t: pb.Trial) -> "Trial":
        return cls(
            index=t.index, warmup=t.warmup, prompt_index=t.prompt_index,
            prompt_eval_count=t.prompt_eval_count, prompt_eval_duration_ns=t.prompt_eval_duration_ns,
            eval_count=t.eval_count, eval_duration_ns=t.eval_duration_ns,
            load_duration_ns=t.load_duration_ns, total_duration_ns=t.total_duration_ns,
            ttft_ns=t.ttft_ns, wall_ns=t.wall_ns, prompt_eval_rate=t.prompt_eval_rate,
            eval_rate=t.eval_rate, peak_vram_used_bytes=t.peak_vram_used_bytes,
            peak_vram={p.index: p.used_bytes for p in t.peak_vram}, done_reason=t.done_reason,
            model_loaded_at_start=t.model_loaded_at_start, prompt_prefix=t.prompt_prefix,
            received_ttft_ns=t.received_ttft_ns, invalid_reason=t.invalid_reason,
            token_timing=TokenTiming.from_proto(t.token_timing) if t.HasField("token_timing") else None,
            decode_mismatch_reason=t.decode_mismatch_reason, cell=t.cell,
            level=t.level, queue_ns=t.queue_ns, sent_at=_time(t, "sent_at"),
            energy=Energy.from_parent(t),
        )


@dataclass
class TokenTiming:
    """How one trial's tokens were streamed, from the created_at stamp ollama
    puts on each chunk (its clock, so the transport is not in it); the
    received_* figures are by arrival at benchd. Nanoseconds."""

    # Streamed chunks with output (about one a token).
    chunks: int
    # Inter-token latency: percentiles and maximum of the gaps between chunks.
    itl_p50_ns: int
    itl_p90_ns: int
    itl_p99_ns: int
    itl_max_ns: int
    # Time per output token after the first (the mean gap).
    tpot_ns: int
    # The longest gap up to the final chunk, and how many chunks came before it.
    longest_stall_ns: int
    longest_stall_after_chunks: int
    # Final chunk's stamp minus the first's: the span of ollama's eval_duration.
    decode_ns: int
    received_decode_ns: int
    received_longest_stall_ns: int
    # False: ollama's stamps were unusable and every figure is by arrival.
    ollama_clock: bool

    @classmethod
    def from_proto(cls, tt: pb.TokenTiming) -> "TokenTiming":
        return cls(**{f.name: getattr(tt, f.name) for f in fields(cls)})


@dataclass
class Summary:
    """One metric over the measured trials (stddev over n-1)."""

    n: int
    mean: float
    stddev: float
    min: float
    max: float
    p50: float
    p95: float
    p90: float = 0.0
    p99: float = 0.0
    # Coefficient of variation, stddev / |mean| (0 for n < 2, and in older
    # records).
    cv: float = 0.0

    @classmethod
    def from_proto(cls, s: pb.Summary) -> "Summary":
        return cls(s.n, s.mean, s.stddev, s.min, s.max, s.p50, s.p95, s.p90, s.p99, s.cv)


OBJECTIVES = ("EVAL_RATE", "PROMPT_EVAL_RATE", "TTFT")


@dataclass
class Sweep:
    """Lists of settings for :meth:`Client.run_benchmark`: every combination
    is a cell with the run's warm-up and repetitions and its own statistics.
    An empty list keeps the run's own setting (or benchd's default); a list
    and the same argument of run_benchmark together are refused
    (InvalidArgumentError), as are more than 64 cells or 1000 trials.
    ``objective`` picks the best cell: EVAL_RATE (highest generation rate,
    the default), PROMPT_EVAL_RATE or TTFT (lowest)."""

    # When set, run_benchmark's model must be one of them (it names the record).
    models: Sequence[str] = ()
    num_ctx: Sequence[int] = ()
    # Layers offloaded to the GPU; 0 is CPU only.
    num_gpu: Sequence[int] = ()
    num_batch: Sequence[int] = ()
    num_thread: Sequence[int] = ()
    # Context depths: synthetic prompts of about this many tokens.
    prompt_tokens: Sequence[int] = ()
    max_tokens: Sequence[int] = ()
    objective: str = "EVAL_RATE"
    # Bound on each cell; None: the run's timeout shared among the cells,
    # at least a minute.
    cell_timeout: Optional[_dt.timedelta] = None

    def to_proto(self) -> pb.Sweep:
        objective = self.objective.upper().removeprefix("SWEEP_OBJECTIVE_")
        if objective not in OBJECTIVES:
            raise ValueError(f"sweep objective {self.objective!r}: want one of {', '.join(OBJECTIVES)}")
        w = pb.Sweep(models=list(self.models), num_ctx=list(self.num_ctx), num_gpu=list(self.num_gpu),
                     num_batch=list(self.num_batch), num_thread=list(self.num_thread),
                     prompt_tokens=list(self.prompt_tokens), max_tokens=list(self.max_tokens),
                     objective=pb.SweepObjective.Value("SWEEP_OBJECTIVE_" + objective))
        if self.cell_timeout is not None:
            w.cell_timeout.FromTimedelta(self.cell_timeout)
        return w


@dataclass
class Cell:
    """One combination of a sweep and how it went."""

    # Place in the sweep's run order, from 0.
    index: int
    model: str
    # The cell's settings; None where neither the sweep nor the run set it
    # (ollama's default). num_gpu 0 is CPU only.
    num_ctx: Optional[int]
    num_gpu: Optional[int]
    num_batch: Optional[int]
    num_thread: Optional[int]
    prompt_tokens: Optional[int]
    max_tokens: int
    # SUCCEEDED or FAILED ("" in a cell that has only started).
    status: str
    # For FAILED: the code name (NOT_FOUND, RESOURCE_EXHAUSTED, ...) and why.
    error_code: str
    error_message: str
    # Metric name -> statistics over the cell's measured trials (as
    # BenchmarkResult.stats); None for a cell that has only started.
    stats: Optional[Dict[str, Summary]]
    # Highest VRAM reading of the cell's trials (0: not sampled).
    peak_vram_used_bytes: int
    # What ollama's /api/ps said after the cell: the model's memory and the
    # part in VRAM; fits_vram: all of it.
    model_size_bytes: int
    model_size_vram_bytes: int
    fits_vram: bool
    started_at: Optional[_dt.datetime]
    finished_at: Optional[_dt.datetime]
    # What the GPUs drew over the cell's measured trials; None where they
    # report no power.
    energy: Optional[Energy] = None

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"

    @property
    def settings(self) -> str:
        """The cell's settings that are set: "model=tiny num_ctx=512 max_tokens=128"."""
        parts = [f"model={self.model}"]
        for name in ("num_ctx", "num_gpu", "num_batch", "num_thread", "prompt_tokens"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={v}")
        return " ".join(parts + [f"max_tokens={self.max_tokens}"])

    @classmethod
    def from_proto(cls, c: pb.SweepCell) -> "Cell":
        def opt(name: str) -> Optional[int]:
            return getattr(c, name) if c.HasField(name) else None
        status = pb.SweepCellStatus.Name(c.status).removeprefix("SWEEP_CELL_STATUS_")
        return cls(
            index=c.index, model=c.model, num_ctx=opt("num_ctx"), num_gpu=opt("num_gpu"),
            num_batch=opt("num_batch"), num_thread=opt("num_thread"), prompt_tokens=opt("prompt_tokens"),
            max_tokens=c.max_tokens, status="" if status == "UNSPECIFIED" else status,
            error_code=_code_name(c.error_code), error_message=c.error_message,
            stats=_summaries(c.summary) if c.HasField("summary") else None,
            peak_vram_used_bytes=c.peak_vram_used_bytes, model_size_bytes=c.model_size_bytes,
            model_size_vram_bytes=c.model_size_vram_bytes, fits_vram=c.fits_vram,
            started_at=_time(c, "started_at"), finished_at=_time(c, "finished_at"),
            energy=Energy.from_parent(c),
        )


@dataclass
class Concurrency:
    """A concurrency run: for each of ``levels`` (requests in flight, run in
    the order given; 1 to 8 levels of 1 to 64), benchd keeps that many
    requests in flight, sending the next as soon as one ends, until the
    level's ``requests`` are sent (None: 4 x the level; at least the
    largest level). The run's warm-up goes first, one at a time, outside
    the figures. Not with a sweep, ``cold`` or ``repetitions``; at most 1000
    requests in all (InvalidArgumentError)."""

    levels: Sequence[int]
    requests: Optional[int] = None

    def to_proto(self) -> pb.Concurrency:
        c = pb.Concurrency(levels=list(self.levels))
        if self.requests is not None:
            c.requests = self.requests
        return c


@dataclass
class Level:
    """One level of a concurrency run and how it went; rates and latencies
    are over its succeeded requests."""

    # Place in Concurrency.levels, from 0.
    index: int
    # Requests kept in flight.
    concurrency: int
    # Requests the level sends; of them succeeded and failed (0 in a level
    # that has only started), and the first failure's code name and message.
    requests: int
    succeeded: int
    failed: int
    error_code: str
    error_message: str
    # From the first request sent to the last one finished (benchd's clock).
    duration_ns: int
    # Output tokens of the succeeded requests, and over duration_ns.
    output_tokens: int
    output_tokens_per_second: float
    requests_per_second: float
    # Per-request latencies (p50, p90, p99 in each Summary), nanoseconds:
    # time to first token (ollama's clock, queue time included); every gap
    # between chunks of every request, pooled; time per output token; end
    # to end (benchd sending to the final chunk received); time queued in
    # ollama for a parallel slot (Trial.queue_ns).
    ttft_ns: Summary
    itl_ns: Summary
    tpot_ns: Summary
    e2e_latency_ns: Summary
    queue_ns: Summary
    # Highest VRAM use sampled during the level (0: not sampled).
    peak_vram_used_bytes: int
    started_at: Optional[_dt.datetime]
    finished_at: Optional[_dt.datetime]
    # What the GPUs drew during the level (joules_per_output_token: over
    # output_tokens); None where they report no power.
    energy: Optional[Energy] = None

    @classmethod
    def from_proto(cls, lv: pb.ConcurrencyLevel) -> "Level":
        return cls(
            index=lv.index, concurrency=lv.concurrency, requests=lv.requests, succeeded=lv.succeeded,
            failed=lv.failed, error_code=_code_name(lv.error_code), error_message=lv.error_message,
            duration_ns=lv.duration_ns, output_tokens=lv.output_tokens,
            output_tokens_per_second=lv.output_tokens_per_second, requests_per_second=lv.requests_per_second,
            ttft_ns=Summary.from_proto(lv.ttft_ns), itl_ns=Summary.from_proto(lv.itl_ns),
            tpot_ns=Summary.from_proto(lv.tpot_ns), e2e_latency_ns=Summary.from_proto(lv.e2e_latency_ns),
            queue_ns=Summary.from_proto(lv.queue_ns), peak_vram_used_bytes=lv.peak_vram_used_bytes,
            started_at=_time(lv, "started_at"), finished_at=_time(lv, "finished_at"),
            energy=Energy.from_parent(lv),
        )


def _code_name(code: int) -> str:
    """A gRPC code's name (NOT_FOUND), "" for 0."""
    if not code:
        return ""
    return next((c.name for c in grpc.StatusCode if c.value[0] == code), str(code))


def _objective(f: pb.BenchmarkFinished) -> str:
    name = pb.SweepObjective.Name(f.objective).removeprefix("SWEEP_OBJECTIVE_")
    return "" if name == "UNSPECIFIED" else name


def _best(cells: List[Cell], best_cell: Optional[int]) -> Optional[Cell]:
    return next((c for c in cells if c.index == best_cell), None) if best_cell is not None else None


@dataclass
class BenchmarkResult:
    benchmark_id: str
    started: Started
    # Every trial, warm-ups first (see Trial.warmup).
    trials: List[Trial]
    # Metric name (eval_rate, ttft_ns, wall_ns, ...) -> statistics over the
    # measured trials. Every Summary field of BenchmarkFinished is here.
    stats: Dict[str, Summary]
    finished_at: Optional[_dt.datetime]
    # Non-empty: the run is unstable (the cv of eval_rate or ttft_ns exceeds
    # 10%): the means are less certain than the count of trials suggests.
    unstable_reason: str = ""
    # Measured trials whose decode time disagrees with ollama's
    # (Trial.decode_mismatch_reason).
    decode_mismatches: int = 0
    # Sweeps only: the cells in run order; the index of the best cell by
    # ``objective`` among the succeeded cells that fitted in VRAM (every
    # succeeded cell on a host where none took VRAM), None when none
    # qualified; the number of failed cells. ``stats`` is then over every
    # cell's measured trials together.
    cells: List[Cell] = field(default_factory=list)
    best_cell: Optional[int] = None
    objective: str = ""
    cells_failed: int = 0
    # Concurrency runs only: the finished levels in run order (ollama's
    # parallel slots: started.ollama_num_parallel). ``stats`` is then over
    # every level's measured requests together.
    levels: List[Level] = field(default_factory=list)
    # What the GPUs drew over the measured trials (or the levels); None
    # where they report no power.
    energy: Optional[Energy] = None

    @property
    def best(self) -> Optional[Cell]:
        """The sweep's best cell, None when there is none."""
        return _best(self.cells, self.best_cell)

    @property
    def measured(self) -> List[Trial]:
        """The trials that count, as benchd's summary counts them: not
        warm-ups, not invalid."""
        return [t for t in self.trials if not t.warmup and not t.invalid_reason]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (datetimes as RFC 3339 strings)."""
        d: Dict[str, Any] = _jsonable(asdict(self))
        return d


@dataclass
class StoredBenchmark:
    """A benchmark as benchd's history keeps it (GetBenchmark, ListBenchmarks,
    CancelBenchmark). ``started``/``stats`` are None until those events
    happened; list_benchmarks leaves ``trials`` empty."""

    benchmark_id: str
    state: str  # RUNNING, SUCCEEDED, FAILED or CANCELLED
    model: str
    started: Optional[Started]
    trials: List[Trial]
    stats: Optional[Dict[str, Summary]]
    finished_at: Optional[_dt.datetime]
    # For FAILED and CANCELLED: the code name and message the run ended with.
    error_code: str
    error_message: str
    created_at: Optional[_dt.datetime]
    updated_at: Optional[_dt.datetime]
    # As in BenchmarkResult.
    unstable_reason: str = ""
    decode_mismatches: int = 0
    cells: List[Cell] = field(default_factory=list)
    best_cell: Optional[int] = None
    objective: str = ""
    cells_failed: int = 0
    levels: List[Level] = field(default_factory=list)
    energy: Optional[Energy] = None

    @property
    def best(self) -> Optional[Cell]:
        """The sweep's best cell, None when there is none (or not yet)."""
        return _best(self.cells, self.best_cell)

    @classmethod
    def from_proto(cls, b: pb.Benchmark) -> "StoredBenchmark":
        state = pb.BenchmarkState.Name(b.state).removeprefix("BENCHMARK_STATE_")
        code = _code_name(b.error_code)
        return cls(
            benchmark_id=b.benchmark_id, state=state, model=b.model,
            started=Started.from_proto(b.started) if b.HasField("started") else None,
            trials=[Trial.from_proto(t) for t in b.trials],
            stats=_summaries(b.finished) if b.HasField("finished") else None,
            finished_at=_time(b.finished, "finished_at") if b.HasField("finished") else None,
            error_code=code, error_message=b.error_message,
            created_at=_time(b, "created_at"), updated_at=_time(b, "updated_at"),
            unstable_reason=b.finished.unstable_reason, decode_mismatches=b.finished.decode_mismatches,
            cells=[Cell.from_proto(c) for c in b.cells],
            best_cell=b.finished.best_cell if b.finished.HasField("best_cell") else None,
            objective=_objective(b.finished), cells_failed=b.finished.cells_failed,
            levels=[Level.from_proto(lv) for lv in b.levels],
            energy=Energy.from_parent(b.finished) if b.HasField("finished") else None,
        )


@dataclass
class InstalledModel:
    """One model ollama has (``ollama list``). ``name`` is what
    run_benchmark's model takes."""

    name: str
    model_info: ModelInfo
    size_bytes: int
    modified_at: Optional[_dt.datetime]
    # The context length the model was trained for; 0 when ollama does not say.
    context_length: int


@dataclass
class LoadedModel:
    """One model in memory (``ollama ps``)."""

    name: str
    model_info: ModelInfo
    # Memory it takes, and the part of it in GPU memory: less means it
    # spilled and runs partly on the CPU (0: CPU only).
    size_bytes: int
    size_vram_bytes: int
    # When ollama unloads it unless a request uses it first.
    expires_at: Optional[_dt.datetime]
    # The context it was loaded with (``ollama ps``'s CONTEXT); 0 when
    # ollama does not say (v0.9.6 does not, v0.17.4 does).
    context_length: int = 0


@dataclass
class Models:
    """What ollama has (newest first) and what it holds in memory now."""

    installed: List[InstalledModel]
    loaded: List[LoadedModel]

    @classmethod
    def from_proto(cls, r: pb.ListModelsResponse) -> "Models":
        return cls(
            installed=[InstalledModel(m.name, ModelInfo.from_proto(m.info), m.size_bytes, _time(m, "modified_at"), m.context_length)
                       for m in r.models],
            loaded=[LoadedModel(m.name, ModelInfo.from_proto(m.info), m.size_bytes, m.size_vram_bytes, _time(m, "expires_at"),
                                m.context_length)
                    for m in r.loaded],
        )


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    return str(enum.Name(value))[len(prefix):]


@dataclass
class MetricVerdict:
    """One metric of a regression check: the baseline run it was compared
    with, the means, the relative change, Welch's p-value against its alpha."""

    metric: str  # "eval_rate" | "prompt_eval_rate" | "ttft"
    verdict: str  # "OK" | "REGRESSED" | "IMPROVED" | "INCOMPARABLE"
    baseline_id: str
    baseline_mean: float
    candidate_mean: float
    change: float
    p_value: float
    alpha: float
    reason: str


@dataclass
class RegressionCheck:
    """benchd's verdict on a run against its fingerprint's baseline."""

    benchmark_id: str
    verdict: str  # "OK" | "REGRESSED" | "IMPROVED" | "INCOMPARABLE"
    reason: str
    fingerprint_id: str
    baseline_source: str  # "NONE" | "PINNED" | "MEDIAN"
    metrics: List[MetricVerdict]
    unstable: bool
    unstable_reason: str
    alpha: float
    min_effect: float
    matching_runs: int

    @classmethod
    def from_proto(cls, r: pb.CheckRegressionResponse) -> "RegressionCheck":
        v = "REGRESSION_VERDICT_"
        return cls(
            benchmark_id=r.benchmark_id, verdict=_enum_name(pb.RegressionVerdict, r.verdict, v), reason=r.reason,
            fingerprint_id=r.fingerprint.id,
            baseline_source=_enum_name(pb.BaselineSource, r.baseline_source, "BASELINE_SOURCE_"),
            metrics=[MetricVerdict(_enum_name(pb.RegressionMetric, m.metric, "REGRESSION_METRIC_").lower(),
                                   _enum_name(pb.RegressionVerdict, m.verdict, v), m.baseline_id, m.baseline.mean,
                                   m.candidate.mean, m.change, m.p_value, m.alpha, m.reason) for m in r.metrics],
            unstable=r.unstable, unstable_reason=r.unstable_reason, alpha=r.alpha, min_effect=r.min_effect,
            matching_runs=r.matching_runs,
        )


@dataclass
class Event:
    """One streamed message; ``kind`` names the one payload that is set."""

    # "started" | "progress" | "trial" | "finished"; sweeps: "cell_started" |
    # "cell_finished" (``cell`` set; ``cells``: the sweep's number of cells);
    # concurrency runs: "level_started" | "level_finished" (``level`` set;
    # ``levels``: the run's number of levels).
    kind: str
    started: Optional[Started] = None
    progress: Optional[Progress] = None
    trial: Optional[Trial] = None
    # Statistics of the finished event (as in BenchmarkResult.stats).
    finished: Optional[Dict[str, Summary]] = None
    cell: Optional[Cell] = None
    cells: int = 0
    level: Optional[Level] = None
    levels: int = 0
    raw: Optional[pb.BenchmarkEvent] = field(default=None, repr=False)


def _summaries(f: pb.BenchmarkFinished) -> Dict[str, Summary]:
    out: Dict[str, Summary] = {}
    for fd in f.DESCRIPTOR.fields:
        if fd.message_type is not None and fd.message_type.full_name == "benchd.v1.Summary":
            s = getattr(f, fd.name)
            out[fd.name] = Summary.from_proto(s)
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    return v


class Client:
    """A connection to benchd at ``target``, one of

    - ``unix:///ABS/PATH`` or ``/ABS/PATH``: benchd's socket, or the local end
      of an SSH forward of it;
    - ``ssh://[USER@]HOST[:PORT]``: runs ``ssh -T [-p PORT] -- [USER@]HOST
      benchd dial-stdio`` for each connection, with the local ssh (so
      ~/.ssh/config and the agent apply), through a relay socket of this
      client's own in a private directory;
    - ``tcp://HOST:PORT``: benchd's TCP listener, which needs mutual TLS:
      ``tls_cert`` and ``tls_key`` (this client's certificate and key) and
      ``tls_ca`` (the CA that signed benchd's certificate; the system roots
      are not trusted), as the Go client's WithTLS.

    Without a target: :func:`default_target` ($BENCHD_HOST, else
    $BENCHD_SOCKET, else the user's own benchd's socket if it exists, else
    /run/benchd/benchd.sock), as benchctl. A malformed target raises
    ValueError naming the accepted forms. TLS works over the other
    transports too, checking the server name "localhost" there.

    The channel connects lazily; a closed tunnel or stopped daemon shows as
    :class:`UnavailableError` on the first call.
    """

    def __init__(self, target: Optional[str] = None, *, tls_cert: Optional[str] = None,
                 tls_key: Optional[str] = None, tls_ca: Optional[str] = None,
                 options: Sequence[Tuple[str, Any]] = ()) -> None:
        if target is None:
            target = default_target()
        ep = parse_target(target)
        opts: List[Tuple[str, Any]] = [
            # As the Go client (defaults.KeepaliveTime/KeepaliveTimeout): a
            # dead SSH forward is noticed within ~40 s. benchd's server
            # admits pings this frequent.
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
        ]
        creds = _tls_credentials(target, tls_cert, tls_key, tls_ca)
        if ep.addr and creds is None:
            raise ValueError(f"benchd client: {target}: tcp:// needs tls_cert, tls_key and tls_ca "
                             "(benchd serves TCP only with mutual TLS)")
        if creds is not None and not ep.addr:
            # gRPC would check the target's authority ("localhost" for a
            # unix socket); `benchctl certs init` puts "localhost" in the
            # server certificate, and the Go client checks it here too.
            opts.append(("grpc.ssl_target_name_override", "localhost"))
        opts.extend(options)
        self._relay: Optional[Relay] = Relay(ep.argv) if ep.argv else None
        address = ep.addr or "unix:" + (self._relay.path if self._relay is not None else ep.path)
        if creds is not None:
            self._channel = grpc.secure_channel(address, creds, options=opts)
        else:
            self._channel = grpc.insecure_channel(address, options=opts)
        self._stub = pb_grpc.BenchmarkServiceStub(self._channel)

    @property
    def stub(self) -> pb_grpc.BenchmarkServiceStub:
        """The generated stub, for anything this wrapper does not cover."""
        return self._stub

    def close(self) -> None:
        """Closes the channel and, for an ssh:// target, the relay and its
        ssh processes."""
        self._channel.close()
        if self._relay is not None:
            self._relay.close()
            self._relay = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_benchmark(
        self,
        model: str,
        *,
        prompts: Optional[Sequence[str]] = None,
        repetitions: Optional[int] = None,
        warmup: Optional[int] = None,
        max_tokens: Optional[int] = None,
        num_ctx: Optional[int] = None,
        temperature: Optional[float] = None,
        seed: Optional[int] = None,
        timeout: Optional[_dt.timedelta] = None,
        vram_sample_interval: Optional[_dt.timedelta] = None,
        cold: bool = False,
        prompt_tokens: Optional[int] = None,
        cancel_on_disconnect: bool = False,
        sweep: Optional[Sweep] = None,
        concurrency: Optional[Concurrency] = None,
        on_event: Optional[Callable[[Event], None]] = None,
    ) -> BenchmarkResult:
        """Runs one benchmark and returns it once finished.

        Unset arguments take benchd's defaults (3 repetitions, 1 warm-up, 128
        tokens, temperature 0, seed 42, 10 min timeout). ``on_event`` sees
        every event as it arrives. The run belongs to benchd: if the
        connection breaks, it goes on and is stored (the BenchdError carries
        its ``benchmark_id`` for :meth:`watch_benchmark`), unless
        ``cancel_on_disconnect``. If ``on_event`` raises (or on Ctrl-C), the
        benchmark is cancelled with CancelBenchmark and the exception
        propagates.

        With ``sweep`` it is a sweep: a cell for every combination of the
        sweep's lists (``result.cells``, ``result.best``); a bad objective
        raises ValueError before anything is sent.

        With ``concurrency`` it is a concurrency run: levels of requests in
        flight together (``result.levels``; ollama's parallel slots in
        ``result.started.ollama_num_parallel``).
        """
        req = pb.RunBenchmarkRequest(model=model, prompts=list(prompts or ()), cold=cold,
                                     cancel_on_disconnect=cancel_on_disconnect)
        for name, value in (
            ("repetitions", repetitions), ("warmup", warmup), ("max_tokens", max_tokens),
            ("num_ctx", num_ctx), ("temperature", temperature), ("seed", seed),
            ("prompt_tokens", prompt_tokens),
        ):
            if value is not None:
                setattr(req, name, value)
        if timeout is not None:
            req.timeout.FromTimedelta(timeout)
        if vram_sample_interval is not None:
            req.vram_sample_interval.FromTimedelta(vram_sample_interval)
        if sweep is not None:
            req.sweep.CopyFrom(sweep.to_proto())
        if concurrency is not None:
            req.concurrency.CopyFrom(concurrency.to_proto())
        return self._follow(self._stub.RunBenchmark(req), on_event)

    def watch_benchmark(self, benchmark_id: str, *,
                        on_event: Optional[Callable[[Event], None]] = None) -> BenchmarkResult:
        """Follows a benchmark, running or stored: its events so far, then
        live ones, until it ends (e.g. after a dropped tunnel). Unlike
        run_benchmark, an exception in ``on_event`` only stops watching."""
        call = self._stub.WatchBenchmark(pb.WatchBenchmarkRequest(benchmark_id=benchmark_id))
        return self._follow(call, on_event, cancel_run=False)

    def _follow(self, call: Any, on_event: Optional[Callable[[Event], None]],
                cancel_run: bool = True) -> BenchmarkResult:
        started: Optional[Started] = None
        trials: List[Trial] = []
        stats: Optional[Dict[str, Summary]] = None
        finished_at: Optional[_dt.datetime] = None
        unstable_reason, decode_mismatches = "", 0
        cells: List[Cell] = []
        levels: List[Level] = []
        # Progress events carry no level: it is the last level started.
        level = 0
        finished: Optional[pb.BenchmarkFinished] = None
        done = False
        try:
            for msg in call:
                ev = self._event(msg.event)
                if ev.started is not None:
                    started = ev.started
                elif ev.trial is not None:
                    trials.append(ev.trial)
                elif ev.kind == "cell_finished" and ev.cell is not None:
                    cells.append(ev.cell)
                elif ev.kind == "level_started" and ev.level is not None:
                    level = ev.level.index
                elif ev.kind == "level_finished" and ev.level is not None:
                    levels.append(ev.level)
                elif ev.progress is not None:
                    ev.progress.level = level
                elif ev.finished is not None:
                    finished = msg.event.finished
                    stats = ev.finished
                    finished_at = _time(msg.event.finished, "finished_at")
                    unstable_reason = msg.event.finished.unstable_reason
                    decode_mismatches = msg.event.finished.decode_mismatches
                if on_event is not None:
                    on_event(ev)
            done = True
        except grpc.RpcError as err:
            done = True
            raise BenchdError.from_rpc(err, started.benchmark_id if started else "") from None
        finally:
            if not done:
                call.cancel()
                if cancel_run and started is not None:
                    try:
                        self._stub.CancelBenchmark(
                            pb.CancelBenchmarkRequest(benchmark_id=started.benchmark_id), timeout=10)
                    except grpc.RpcError:
                        pass  # already ended, or benchd gone: nothing to stop
        if started is None or stats is None:
            raise InternalError("benchd ended the stream without started/finished events",
                                started.benchmark_id if started else "")
        assert finished is not None
        return BenchmarkResult(started.benchmark_id, started, trials, stats, finished_at,
                               unstable_reason, decode_mismatches, cells=cells,
                               best_cell=finished.best_cell if finished.HasField("best_cell") else None,
                               objective=_objective(finished), cells_failed=finished.cells_failed,
                               levels=levels, energy=Energy.from_parent(finished))

    @staticmethod
    def _event(msg: pb.BenchmarkEvent) -> Event:
        kind = msg.WhichOneof("kind") or ""
        if kind == "started":
            return Event(kind, started=Started.from_proto(msg.started), raw=msg)
        if kind == "progress":
            p = msg.progress
            return Event(kind, progress=Progress(p.index, p.warmup, p.tokens, p.max_tokens, p.cell), raw=msg)
        if kind == "trial":
            return Event(kind, trial=Trial.from_proto(msg.trial), raw=msg)
        if kind == "finished":
            return Event(kind, finished=_summaries(msg.finished), raw=msg)
        if kind == "cell_started":
            return Event(kind, cell=Cell.from_proto(msg.cell_started.cell), cells=msg.cell_started.cells, raw=msg)
        if kind == "cell_finished":
            return Event(kind, cell=Cell.from_proto(msg.cell_finished.cell), raw=msg)
        if kind == "level_started":
            return Event(kind, level=Level.from_proto(msg.level_started.level), levels=msg.level_started.levels, raw=msg)
        if kind == "level_finished":
            return Event(kind, level=Level.from_proto(msg.level_finished.level), raw=msg)
        return Event(kind, raw=msg)

    def get_benchmark(self, benchmark_id: str, *, timeout: float = 30.0) -> StoredBenchmark:
        """One benchmark from benchd's history (or running), every trial included."""
        try:
            res = self._stub.GetBenchmark(pb.GetBenchmarkRequest(benchmark_id=benchmark_id), timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        return StoredBenchmark.from_proto(res.benchmark)

    def list_benchmarks(self, *, model: str = "", page_size: int = 0, page_token: str = "",
                        timeout: float = 30.0) -> Tuple[List[StoredBenchmark], str]:
        """One page of benchd's history, newest first, without trials, and the
        token of the next page ("" on the last)."""
        req = pb.ListBenchmarksRequest(model=model, page_size=page_size, page_token=page_token)
        try:
            res = self._stub.ListBenchmarks(req, timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        return [StoredBenchmark.from_proto(b) for b in res.benchmarks], res.next_page_token

    def cancel_benchmark(self, benchmark_id: str, *, timeout: float = 30.0) -> StoredBenchmark:
        """Stops a running benchmark (ollama stops within 2 s); returns it as stored."""
        try:
            res = self._stub.CancelBenchmark(pb.CancelBenchmarkRequest(benchmark_id=benchmark_id), timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        return StoredBenchmark.from_proto(res.benchmark)

    def list_models(self, *, timeout: float = 60.0) -> Models:
        """The models ollama has (``ollama list``, with details and context
        length) and those loaded now (``ollama ps``, with their GPU memory and
        expiry). Read-only."""
        try:
            res = self._stub.ListModels(pb.ListModelsRequest(), timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        return Models.from_proto(res)

    def check_regression(self, benchmark_id: str = "", *, model: str = "", metrics: Sequence[str] = (),
                         alpha: Optional[float] = None, min_effect: Optional[float] = None,
                         baseline_runs: Optional[int] = None, timeout: float = 60.0) -> RegressionCheck:
        """benchd's verdict on run ``benchmark_id`` (default: the newest, of
        ``model`` if given) against the baseline of its fingerprint. ``metrics``:
        "eval_rate", "prompt_eval_rate", "ttft" (default all); ``None`` takes
        benchd's defaults (alpha 0.05, min_effect 0.03, 5 baseline runs)."""
        req = pb.CheckRegressionRequest(
            benchmark_id=benchmark_id, model=model,
            metrics=[pb.RegressionMetric.Value("REGRESSION_METRIC_" + m.upper()) for m in metrics])
        if alpha is not None:
            req.alpha = alpha
        if min_effect is not None:
            req.min_effect = min_effect
        if baseline_runs is not None:
            req.baseline_runs = baseline_runs
        try:
            return RegressionCheck.from_proto(self._stub.CheckRegression(req, timeout=timeout))
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None

    def set_baseline(self, benchmark_id: str, *, clear: bool = False, timeout: float = 30.0) -> Tuple[str, str]:
        """Pins run ``benchmark_id`` as its fingerprint's baseline (``clear``:
        unpins it); returns (the pinned id now, "" after clear; the one before)."""
        try:
            res = self._stub.SetBaseline(pb.SetBaselineRequest(benchmark_id=benchmark_id, clear=clear), timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        return res.baseline_id, res.previous_id

    def sample_vram(self, *, timeout: float = 30.0) -> List[GPU]:
        """One VRAM reading per GPU (served also while a benchmark runs)."""
        try:
            res = self._stub.SampleVRAM(pb.SampleVRAMRequest(), timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        return [GPU.from_proto(g) for g in res.gpus]

    def health(self, *, timeout: float = 10.0) -> str:
        """grpc.health.v1 status of benchd: "SERVING" or "NOT_SERVING" (the
        ollama container is unusable). The two tiny health messages are
        coded by hand so that no grpcio-health-checking package is needed."""
        check = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda _: b"",  # HealthCheckRequest{service: ""}
            response_deserializer=lambda b: b,
        )
        try:
            raw: bytes = check(None, timeout=timeout)
        except grpc.RpcError as err:
            raise BenchdError.from_rpc(err) from None
        status = 0
        # HealthCheckResponse{status = 1 (enum, varint)}; absent means UNKNOWN.
        if len(raw) >= 2 and raw[0] == 0x08:
            status = raw[1]
        return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(status, str(status))


def _tls_credentials(target: str, cert: Optional[str], key: Optional[str],
                     ca: Optional[str]) -> Optional[grpc.ChannelCredentials]:
    """Mutual TLS from PEM files, or None when none is given. The files are
    read here, so a bad path fails the constructor, not the first call."""
    given = [x is not None for x in (cert, key, ca)]
    if not any(given):
        return None
    if not all(given):
        raise ValueError(f"benchd client: {target}: tls_cert, tls_key and tls_ca go together")
    pem = []
    for path in (ca, key, cert):
        assert path is not None
        with open(path, "rb") as f:
            pem.append(f.read())
    return grpc.ssl_channel_credentials(root_certificates=pem[0], private_key=pem[1], certificate_chain=pem[2])


def iter_gpus(gpus: Sequence[GPU]) -> Iterator[Dict[str, Any]]:
    """GPUs as JSON-ready dicts."""
    for g in gpus:
        yield _jsonable(asdict(g))
