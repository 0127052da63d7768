from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BASELINE_SOURCE_MEDIAN: BaselineSource
BASELINE_SOURCE_NONE: BaselineSource
BASELINE_SOURCE_PINNED: BaselineSource
BASELINE_SOURCE_UNSPECIFIED: BaselineSource
BENCHMARK_STATE_CANCELLED: BenchmarkState
BENCHMARK_STATE_FAILED: BenchmarkState
BENCHMARK_STATE_RUNNING: BenchmarkState
BENCHMARK_STATE_SUCCEEDED: BenchmarkState
BENCHMARK_STATE_UNSPECIFIED: BenchmarkState
DESCRIPTOR: _descriptor.FileDescriptor
REGRESSION_METRIC_EVAL_RATE: RegressionMetric
REGRESSION_METRIC_PROMPT_EVAL_RATE: RegressionMetric
REGRESSION_METRIC_TTFT: RegressionMetric
REGRESSION_METRIC_UNSPECIFIED: RegressionMetric
REGRESSION_VERDICT_IMPROVED: RegressionVerdict
REGRESSION_VERDICT_INCOMPARABLE: RegressionVerdict
REGRESSION_VERDICT_OK: RegressionVerdict
REGRESSION_VERDICT_REGRESSED: RegressionVerdict
REGRESSION_VERDICT_UNSPECIFIED: RegressionVerdict
SWEEP_CELL_STATUS_FAILED: SweepCellStatus
SWEEP_CELL_STATUS_SUCCEEDED: SweepCellStatus
SWEEP_CELL_STATUS_UNSPECIFIED: SweepCellStatus
SWEEP_OBJECTIVE_EVAL_RATE: SweepObjective
SWEEP_OBJECTIVE_PROMPT_EVAL_RATE: SweepObjective
SWEEP_OBJECTIVE_TTFT: SweepObjective
SWEEP_OBJECTIVE_UNSPECIFIED: SweepObjective

class Benchmark(_message.Message):
    __slots__ = ["benchmark_id", "cells", "created_at", "error_code", "error_message", "finished", "levels", "model", "settings", "started", "state", "trials", "updated_at", "vram_timeline"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VRAM_TIMELINE_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    cells: _containers.RepeatedCompositeFieldContainer[SweepCell]
    created_at: _timestamp_pb2.Timestamp
    error_code: int
    error_message: str
    finished: BenchmarkFinished
    levels: _containers.RepeatedCompositeFieldContainer[ConcurrencyLevel]
    model: str
    settings: RunBenchmarkRequest
    started: BenchmarkStarted
    state: BenchmarkState
    trials: _containers.RepeatedCompositeFieldContainer[Trial]
    updated_at: _timestamp_pb2.Timestamp
    vram_timeline: _containers.RepeatedCompositeFieldContainer[VRAMSample]
    def __init__(self, benchmark_id: _Optional[str] = ..., state: _Optional[_Union[BenchmarkState, str]] = ..., model: _Optional[str] = ..., settings: _Optional[_Union[RunBenchmarkRequest, _Mapping]] = ..., started: _Optional[_Union[BenchmarkStarted, _Mapping]] = ..., trials: _Optional[_Iterable[_Union[Trial, _Mapping]]] = ..., finished: _Optional[_Union[BenchmarkFinished, _Mapping]] = ..., vram_timeline: _Optional[_Iterable[_Union[VRAMSample, _Mapping]]] = ..., error_code: _Optional[int] = ..., error_message: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cells: _Optional[_Iterable[_Union[SweepCell, _Mapping]]] = ..., levels: _Optional[_Iterable[_Union[ConcurrencyLevel, _Mapping]]] = ...) -> None: ...

class BenchmarkEvent(_message.Message):
    __slots__ = ["cell_finished", "cell_started", "finished", "level_finished", "level_started", "progress", "started", "trial"]
    CELL_FINISHED_FIELD_NUMBER: _ClassVar[int]
    CELL_STARTED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FINISHED_FIELD_NUMBER: _ClassVar[int]
    LEVEL_STARTED_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    TRIAL_FIELD_NUMBER: _ClassVar[int]
    cell_finished: CellFinished
    cell_started: CellStarted
    finished: BenchmarkFinished
    level_finished: LevelFinished
    level_started: LevelStarted
    progress: TrialProgress
    started: BenchmarkStarted
    trial: Trial
    def __init__(self, started: _Optional[_Union[BenchmarkStarted, _Mapping]] = ..., progress: _Optional[_Union[TrialProgress, _Mapping]] = ..., trial: _Optional[_Union[Trial, _Mapping]] = ..., finished: _Optional[_Union[BenchmarkFinished, _Mapping]] = ..., cell_started: _Optional[_Union[CellStarted, _Mapping]] = ..., cell_finished: _Optional[_Union[CellFinished, _Mapping]] = ..., level_started: _Optional[_Union[LevelStarted, _Mapping]] = ..., level_finished: _Optional[_Union[LevelFinished, _Mapping]] = ...) -> None: ...

class BenchmarkFinished(_message.Message):
    __slots__ = ["benchmark_id", "best_cell", "cells_failed", "decode_mismatches", "energy", "eval_count", "eval_duration_ns", "eval_rate", "finished_at", "itl_p50_ns", "itl_p99_ns", "joules_per_output_token", "load_duration_ns", "longest_stall_ns", "objective", "peak_vram_used_bytes", "prompt_eval_count", "prompt_eval_duration_ns", "prompt_eval_rate", "total_duration_ns", "tpot_ns", "trials", "ttft_ns", "unstable_reason", "wall_ns"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    BEST_CELL_FIELD_NUMBER: _ClassVar[int]
    CELLS_FAILED_FIELD_NUMBER: _ClassVar[int]
    DECODE_MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    EVAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    EVAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    EVAL_RATE_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ITL_P50_NS_FIELD_NUMBER: _ClassVar[int]
    ITL_P99_NS_FIELD_NUMBER: _ClassVar[int]
    JOULES_PER_OUTPUT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOAD_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    LONGEST_STALL_NS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    PEAK_VRAM_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_EVAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_EVAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_EVAL_RATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    TPOT_NS_FIELD_NUMBER: _ClassVar[int]
    TRIALS_FIELD_NUMBER: _ClassVar[int]
    TTFT_NS_FIELD_NUMBER: _ClassVar[int]
    UNSTABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    WALL_NS_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    best_cell: int
    cells_failed: int
    decode_mismatches: int
    energy: Energy
    eval_count: Summary
    eval_duration_ns: Summary
    eval_rate: Summary
    finished_at: _timestamp_pb2.Timestamp
    itl_p50_ns: Summary
    itl_p99_ns: Summary
    joules_per_output_token: Summary
    load_duration_ns: Summary
    longest_stall_ns: Summary
    objective: SweepObjective
    peak_vram_used_bytes: Summary
    prompt_eval_count: Summary
    prompt_eval_duration_ns: Summary
    prompt_eval_rate: Summary
    total_duration_ns: Summary
    tpot_ns: Summary
    trials: int
    ttft_ns: Summary
    unstable_reason: str
    wall_ns: Summary
    def __init__(self, benchmark_id: _Optional[str] = ..., trials: _Optional[int] = ..., eval_rate: _Optional[_Union[Summary, _Mapping]] = ..., prompt_eval_rate: _Optional[_Union[Summary, _Mapping]] = ..., ttft_ns: _Optional[_Union[Summary, _Mapping]] = ..., wall_ns: _Optional[_Union[Summary, _Mapping]] = ..., total_duration_ns: _Optional[_Union[Summary, _Mapping]] = ..., load_duration_ns: _Optional[_Union[Summary, _Mapping]] = ..., prompt_eval_duration_ns: _Optional[_Union[Summary, _Mapping]] = ..., eval_duration_ns: _Optional[_Union[Summary, _Mapping]] = ..., eval_count: _Optional[_Union[Summary, _Mapping]] = ..., prompt_eval_count: _Optional[_Union[Summary, _Mapping]] = ..., peak_vram_used_bytes: _Optional[_Union[Summary, _Mapping]] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., tpot_ns: _Optional[_Union[Summary, _Mapping]] = ..., itl_p50_ns: _Optional[_Union[Summary, _Mapping]] = ..., itl_p99_ns: _Optional[_Union[Summary, _Mapping]] = ..., longest_stall_ns: _Optional[_Union[Summary, _Mapping]] = ..., unstable_reason: _Optional[str] = ..., decode_mismatches: _Optional[int] = ..., best_cell: _Optional[int] = ..., objective: _Optional[_Union[SweepObjective, str]] = ..., cells_failed: _Optional[int] = ..., energy: _Optional[_Union[Energy, _Mapping]] = ..., joules_per_output_token: _Optional[_Union[Summary, _Mapping]] = ...) -> None: ...

class BenchmarkStarted(_message.Message):
    __slots__ = ["benchmark_id", "gpus", "idle_power", "machine", "model", "model_info", "ollama_num_parallel", "ollama_version", "settings", "started_at"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    IDLE_POWER_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_INFO_FIELD_NUMBER: _ClassVar[int]
    OLLAMA_NUM_PARALLEL_FIELD_NUMBER: _ClassVar[int]
    OLLAMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    gpus: _containers.RepeatedCompositeFieldContainer[GPU]
    idle_power: IdlePower
    machine: MachineInfo
    model: str
    model_info: ModelInfo
    ollama_num_parallel: str
    ollama_version: str
    settings: RunBenchmarkRequest
    started_at: _timestamp_pb2.Timestamp
    def __init__(self, benchmark_id: _Optional[str] = ..., model: _Optional[str] = ..., model_info: _Optional[_Union[ModelInfo, _Mapping]] = ..., ollama_version: _Optional[str] = ..., gpus: _Optional[_Iterable[_Union[GPU, _Mapping]]] = ..., settings: _Optional[_Union[RunBenchmarkRequest, _Mapping]] = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., machine: _Optional[_Union[MachineInfo, _Mapping]] = ..., ollama_num_parallel: _Optional[str] = ..., idle_power: _Optional[_Union[IdlePower, _Mapping]] = ...) -> None: ...

class CancelBenchmarkRequest(_message.Message):
    __slots__ = ["benchmark_id"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    def __init__(self, benchmark_id: _Optional[str] = ...) -> None: ...

class CancelBenchmarkResponse(_message.Message):
    __slots__ = ["benchmark"]
    BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    benchmark: Benchmark
    def __init__(self, benchmark: _Optional[_Union[Benchmark, _Mapping]] = ...) -> None: ...

class CellFinished(_message.Message):
    __slots__ = ["cell"]
    CELL_FIELD_NUMBER: _ClassVar[int]
    cell: SweepCell
    def __init__(self, cell: _Optional[_Union[SweepCell, _Mapping]] = ...) -> None: ...

class CellStarted(_message.Message):
    __slots__ = ["cell", "cells"]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    CELL_FIELD_NUMBER: _ClassVar[int]
    cell: SweepCell
    cells: int
    def __init__(self, cell: _Optional[_Union[SweepCell, _Mapping]] = ..., cells: _Optional[int] = ...) -> None: ...

class CheckRegressionRequest(_message.Message):
    __slots__ = ["alpha", "baseline_runs", "benchmark_id", "metrics", "min_effect", "model"]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BASELINE_RUNS_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MIN_EFFECT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    alpha: float
    baseline_runs: int
    benchmark_id: str
    metrics: _containers.RepeatedScalarFieldContainer[RegressionMetric]
    min_effect: float
    model: str
    def __init__(self, benchmark_id: _Optional[str] = ..., model: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[RegressionMetric, str]]] = ..., alpha: _Optional[float] = ..., min_effect: _Optional[float] = ..., baseline_runs: _Optional[int] = ...) -> None: ...

class CheckRegressionResponse(_message.Message):
    __slots__ = ["alpha", "baseline_runs", "baseline_source", "benchmark_id", "fingerprint", "matching_runs", "metrics", "min_effect", "reason", "unstable", "unstable_reason", "verdict"]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BASELINE_RUNS_FIELD_NUMBER: _ClassVar[int]
    BASELINE_SOURCE_FIELD_NUMBER: _ClassVar[int]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    MATCHING_RUNS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MIN_EFFECT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNSTABLE_FIELD_NUMBER: _ClassVar[int]
    UNSTABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    alpha: float
    baseline_runs: int
    baseline_source: BaselineSource
    benchmark_id: str
    fingerprint: Fingerprint
    matching_runs: int
    metrics: _containers.RepeatedCompositeFieldContainer[MetricVerdict]
    min_effect: float
    reason: str
    unstable: bool
    unstable_reason: str
    verdict: RegressionVerdict
    def __init__(self, benchmark_id: _Optional[str] = ..., verdict: _Optional[_Union[RegressionVerdict, str]] = ..., reason: _Optional[str] = ..., fingerprint: _Optional[_Union[Fingerprint, _Mapping]] = ..., baseline_source: _Optional[_Union[BaselineSource, str]] = ..., metrics: _Optional[_Iterable[_Union[MetricVerdict, _Mapping]]] = ..., unstable: bool = ..., unstable_reason: _Optional[str] = ..., alpha: _Optional[float] = ..., min_effect: _Optional[float] = ..., baseline_runs: _Optional[int] = ..., matching_runs: _Optional[int] = ...) -> None: ...

class Concurrency(_message.Message):
    __slots__ = ["levels", "requests"]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedScalarFieldContainer[int]
    requests: int
    def __init__(self, levels: _Optional[_Iterable[int]] = ..., requests: _Optional[int] = ...) -> None: ...

class ConcurrencyLevel(_message.Message):
    __slots__ = ["concurrency", "duration_ns", "e2e_latency_ns", "energy", "error_code", "error_message", "failed", "finished_at", "index", "itl_ns", "output_tokens", "output_tokens_per_second", "peak_vram_used_bytes", "queue_ns", "requests", "requests_per_second", "started_at", "succeeded", "tpot_ns", "ttft_ns"]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    E2E_LATENCY_NS_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ITL_NS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    PEAK_VRAM_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    QUEUE_NS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    TPOT_NS_FIELD_NUMBER: _ClassVar[int]
    TTFT_NS_FIELD_NUMBER: _ClassVar[int]
    concurrency: int
    duration_ns: int
    e2e_latency_ns: Summary
    energy: Energy
    error_code: int
    error_message: str
    failed: int
    finished_at: _timestamp_pb2.Timestamp
    index: int
    itl_ns: Summary
    output_tokens: int
    output_tokens_per_second: float
    peak_vram_used_bytes: int
    queue_ns: Summary
    requests: int
    requests_per_second: float
    started_at: _timestamp_pb2.Timestamp
    succeeded: int
    tpot_ns: Summary
    ttft_ns: Summary
    def __init__(self, index: _Optional[int] = ..., concurrency: _Optional[int] = ..., requests: _Optional[int] = ..., succeeded: _Optional[int] = ..., failed: _Optional[int] = ..., error_code: _Optional[int] = ..., error_message: _Optional[str] = ..., duration_ns: _Optional[int] = ..., output_tokens: _Optional[int] = ..., output_tokens_per_second: _Optional[float] = ..., requests_per_second: _Optional[float] = ..., ttft_ns: _Optional[_Union[Summary, _Mapping]] = ..., itl_ns: _Optional[_Union[Summary, _Mapping]] = ..., tpot_ns: _Optional[_Union[Summary, _Mapping]] = ..., e2e_latency_ns: _Optional[_Union[Summary, _Mapping]] = ..., queue_ns: _Optional[_Union[Summary, _Mapping]] = ..., peak_vram_used_bytes: _Optional[int] = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., energy: _Optional[_Union[Energy, _Mapping]] = ...) -> None: ...

class Energy(_message.Message):
    __slots__ = ["average_watts", "duration_ns", "joules", "joules_per_output_token", "method", "net_joules", "net_joules_per_output_token", "output_tokens_per_joule", "peak_watts", "samples", "short_window_reason", "started_at"]
    AVERAGE_WATTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    JOULES_FIELD_NUMBER: _ClassVar[int]
    JOULES_PER_OUTPUT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    NET_JOULES_FIELD_NUMBER: _ClassVar[int]
    NET_JOULES_PER_OUTPUT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_PER_JOULE_FIELD_NUMBER: _ClassVar[int]
    PEAK_WATTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    SHORT_WINDOW_REASON_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    average_watts: float
    duration_ns: int
    joules: float
    joules_per_output_token: float
    method: str
    net_joules: float
    net_joules_per_output_token: float
    output_tokens_per_joule: float
    peak_watts: float
    samples: int
    short_window_reason: str
    started_at: _timestamp_pb2.Timestamp
    def __init__(self, joules: _Optional[float] = ..., net_joules: _Optional[float] = ..., average_watts: _Optional[float] = ..., peak_watts: _Optional[float] = ..., joules_per_output_token: _Optional[float] = ..., output_tokens_per_joule: _Optional[float] = ..., net_joules_per_output_token: _Optional[float] = ..., duration_ns: _Optional[int] = ..., method: _Optional[str] = ..., samples: _Optional[int] = ..., short_window_reason: _Optional[str] = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Fingerprint(_message.Message):
    __slots__ = ["benchd_version", "gpus", "id", "model", "model_digest", "ollama_version", "settings"]
    BENCHD_VERSION_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_DIGEST_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OLLAMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    benchd_version: str
    gpus: _containers.RepeatedScalarFieldContainer[str]
    id: str
    model: str
    model_digest: str
    ollama_version: str
    settings: RunBenchmarkRequest
    def __init__(self, id: _Optional[str] = ..., model: _Optional[str] = ..., model_digest: _Optional[str] = ..., ollama_version: _Optional[str] = ..., benchd_version: _Optional[str] = ..., gpus: _Optional[_Iterable[str]] = ..., settings: _Optional[_Union[RunBenchmarkRequest, _Mapping]] = ...) -> None: ...

class GPU(_message.Message):
    __slots__ = ["busy_percent", "core_clock_mhz", "energy_joules", "index", "memory_clock_mhz", "name", "power_watts", "power_window", "sampled_at", "source", "temperature_edge_celsius", "temperature_junction_celsius", "temperature_memory_celsius", "total_bytes", "used_bytes", "vendor"]
    BUSY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CORE_CLOCK_MHZ_FIELD_NUMBER: _ClassVar[int]
    ENERGY_JOULES_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_CLOCK_MHZ_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    POWER_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_EDGE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_JUNCTION_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_MEMORY_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    busy_percent: float
    core_clock_mhz: float
    energy_joules: float
    index: int
    memory_clock_mhz: float
    name: str
    power_watts: float
    power_window: _duration_pb2.Duration
    sampled_at: _timestamp_pb2.Timestamp
    source: str
    temperature_edge_celsius: float
    temperature_junction_celsius: float
    temperature_memory_celsius: float
    total_bytes: int
    used_bytes: int
    vendor: str
    def __init__(self, index: _Optional[int] = ..., name: _Optional[str] = ..., vendor: _Optional[str] = ..., total_bytes: _Optional[int] = ..., used_bytes: _Optional[int] = ..., source: _Optional[str] = ..., sampled_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., power_watts: _Optional[float] = ..., energy_joules: _Optional[float] = ..., temperature_edge_celsius: _Optional[float] = ..., temperature_junction_celsius: _Optional[float] = ..., temperature_memory_celsius: _Optional[float] = ..., busy_percent: _Optional[float] = ..., core_clock_mhz: _Optional[float] = ..., memory_clock_mhz: _Optional[float] = ..., power_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GPUPeak(_message.Message):
    __slots__ = ["index", "power_watts", "used_bytes"]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    POWER_WATTS_FIELD_NUMBER: _ClassVar[int]
    USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    index: int
    power_watts: float
    used_bytes: int
    def __init__(self, index: _Optional[int] = ..., used_bytes: _Optional[int] = ..., power_watts: _Optional[float] = ...) -> None: ...

class GetBenchmarkRequest(_message.Message):
    __slots__ = ["benchmark_id"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    def __init__(self, benchmark_id: _Optional[str] = ...) -> None: ...

class GetBenchmarkResponse(_message.Message):
    __slots__ = ["benchmark"]
    BENCHMARK_FIELD_NUMBER: _ClassVar[int]
    benchmark: Benchmark
    def __init__(self, benchmark: _Optional[_Union[Benchmark, _Mapping]] = ...) -> None: ...

class IdlePower(_message.Message):
    __slots__ = ["duration_ns", "samples", "watts"]
    DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    WATTS_FIELD_NUMBER: _ClassVar[int]
    duration_ns: int
    samples: int
    watts: float
    def __init__(self, watts: _Optional[float] = ..., samples: _Optional[int] = ..., duration_ns: _Optional[int] = ...) -> None: ...

class InstalledModel(_message.Message):
    __slots__ = ["context_length", "info", "modified_at", "name", "size_bytes"]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    context_length: int
    info: ModelInfo
    modified_at: _timestamp_pb2.Timestamp
    name: str
    size_bytes: int
    def __init__(self, name: _Optional[str] = ..., info: _Optional[_Union[ModelInfo, _Mapping]] = ..., size_bytes: _Optional[int] = ..., modified_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., context_length: _Optional[int] = ...) -> None: ...

class LevelFinished(_message.Message):
    __slots__ = ["level"]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    level: ConcurrencyLevel
    def __init__(self, level: _Optional[_Union[ConcurrencyLevel, _Mapping]] = ...) -> None: ...

class LevelStarted(_message.Message):
    __slots__ = ["level", "levels"]
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    level: ConcurrencyLevel
    levels: int
    def __init__(self, level: _Optional[_Union[ConcurrencyLevel, _Mapping]] = ..., levels: _Optional[int] = ...) -> None: ...

class ListBenchmarksRequest(_message.Message):
    __slots__ = ["model", "page_size", "page_token", "since", "until"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    model: str
    page_size: int
    page_token: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, model: _Optional[str] = ..., since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBenchmarksResponse(_message.Message):
    __slots__ = ["benchmarks", "next_page_token"]
    BENCHMARKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    benchmarks: _containers.RepeatedCompositeFieldContainer[Benchmark]
    next_page_token: str
    def __init__(self, benchmarks: _Optional[_Iterable[_Union[Benchmark, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ["loaded", "models"]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    loaded: _containers.RepeatedCompositeFieldContainer[LoadedModel]
    models: _containers.RepeatedCompositeFieldContainer[InstalledModel]
    def __init__(self, models: _Optional[_Iterable[_Union[InstalledModel, _Mapping]]] = ..., loaded: _Optional[_Iterable[_Union[LoadedModel, _Mapping]]] = ...) -> None: ...

class LoadedModel(_message.Message):
    __slots__ = ["context_length", "expires_at", "info", "name", "size_bytes", "size_vram_bytes"]
    CONTEXT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SIZE_VRAM_BYTES_FIELD_NUMBER: _ClassVar[int]
    context_length: int
    expires_at: _timestamp_pb2.Timestamp
    info: ModelInfo
    name: str
    size_bytes: int
    size_vram_bytes: int
    def __init__(self, name: _Optional[str] = ..., info: _Optional[_Union[ModelInfo, _Mapping]] = ..., size_bytes: _Optional[int] = ..., size_vram_bytes: _Optional[int] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., context_length: _Optional[int] = ...) -> None: ...

class MachineInfo(_message.Message):
    __slots__ = ["benchd_version", "gpus", "hostname", "kernel", "ollama_version"]
    BENCHD_VERSION_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    KERNEL_FIELD_NUMBER: _ClassVar[int]
    OLLAMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    benchd_version: str
    gpus: _containers.RepeatedCompositeFieldContainer[GPU]
    hostname: str
    kernel: str
    ollama_version: str
    def __init__(self, hostname: _Optional[str] = ..., kernel: _Optional[str] = ..., benchd_version: _Optional[str] = ..., ollama_version: _Optional[str] = ..., gpus: _Optional[_Iterable[_Union[GPU, _Mapping]]] = ...) -> None: ...

class MetricVerdict(_message.Message):
    __slots__ = ["alpha", "baseline", "baseline_id", "candidate", "change", "df", "metric", "p_value", "reason", "t", "verdict"]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    DF_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    T_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    alpha: float
    baseline: Summary
    baseline_id: str
    candidate: Summary
    change: float
    df: float
    metric: RegressionMetric
    p_value: float
    reason: str
    t: float
    verdict: RegressionVerdict
    def __init__(self, metric: _Optional[_Union[RegressionMetric, str]] = ..., verdict: _Optional[_Union[RegressionVerdict, str]] = ..., baseline_id: _Optional[str] = ..., baseline: _Optional[_Union[Summary, _Mapping]] = ..., candidate: _Optional[_Union[Summary, _Mapping]] = ..., change: _Optional[float] = ..., t: _Optional[float] = ..., df: _Optional[float] = ..., p_value: _Optional[float] = ..., alpha: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ["digest", "family", "format", "parameter_size", "quantization_level"]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_SIZE_FIELD_NUMBER: _ClassVar[int]
    QUANTIZATION_LEVEL_FIELD_NUMBER: _ClassVar[int]
    digest: str
    family: str
    format: str
    parameter_size: str
    quantization_level: str
    def __init__(self, digest: _Optional[str] = ..., family: _Optional[str] = ..., parameter_size: _Optional[str] = ..., quantization_level: _Optional[str] = ..., format: _Optional[str] = ...) -> None: ...

class RunBenchmarkRequest(_message.Message):
    __slots__ = ["cancel_on_disconnect", "cold", "concurrency", "max_tokens", "model", "num_ctx", "prompt_tokens", "prompts", "repetitions", "seed", "sweep", "temperature", "timeout", "vram_sample_interval", "warmup"]
    CANCEL_ON_DISCONNECT_FIELD_NUMBER: _ClassVar[int]
    COLD_FIELD_NUMBER: _ClassVar[int]
    CONCURRENCY_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    NUM_CTX_FIELD_NUMBER: _ClassVar[int]
    PROMPTS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    REPETITIONS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    VRAM_SAMPLE_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    WARMUP_FIELD_NUMBER: _ClassVar[int]
    cancel_on_disconnect: bool
    cold: bool
    concurrency: Concurrency
    max_tokens: int
    model: str
    num_ctx: int
    prompt_tokens: int
    prompts: _containers.RepeatedScalarFieldContainer[str]
    repetitions: int
    seed: int
    sweep: Sweep
    temperature: float
    timeout: _duration_pb2.Duration
    vram_sample_interval: _duration_pb2.Duration
    warmup: int
    def __init__(self, model: _Optional[str] = ..., prompts: _Optional[_Iterable[str]] = ..., repetitions: _Optional[int] = ..., warmup: _Optional[int] = ..., max_tokens: _Optional[int] = ..., num_ctx: _Optional[int] = ..., temperature: _Optional[float] = ..., seed: _Optional[int] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., vram_sample_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., cold: bool = ..., prompt_tokens: _Optional[int] = ..., cancel_on_disconnect: bool = ..., sweep: _Optional[_Union[Sweep, _Mapping]] = ..., concurrency: _Optional[_Union[Concurrency, _Mapping]] = ...) -> None: ...

class RunBenchmarkResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BenchmarkEvent
    def __init__(self, event: _Optional[_Union[BenchmarkEvent, _Mapping]] = ...) -> None: ...

class SampleVRAMRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class SampleVRAMResponse(_message.Message):
    __slots__ = ["gpus"]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    gpus: _containers.RepeatedCompositeFieldContainer[GPU]
    def __init__(self, gpus: _Optional[_Iterable[_Union[GPU, _Mapping]]] = ...) -> None: ...

class SetBaselineRequest(_message.Message):
    __slots__ = ["benchmark_id", "clear"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    CLEAR_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    clear: bool
    def __init__(self, benchmark_id: _Optional[str] = ..., clear: bool = ...) -> None: ...

class SetBaselineResponse(_message.Message):
    __slots__ = ["baseline_id", "fingerprint", "previous_id"]
    BASELINE_ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ID_FIELD_NUMBER: _ClassVar[int]
    baseline_id: str
    fingerprint: Fingerprint
    previous_id: str
    def __init__(self, fingerprint: _Optional[_Union[Fingerprint, _Mapping]] = ..., baseline_id: _Optional[str] = ..., previous_id: _Optional[str] = ...) -> None: ...

class Summary(_message.Message):
    __slots__ = ["cv", "max", "mean", "min", "n", "p50", "p90", "p95", "p99", "stddev"]
    CV_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    P50_FIELD_NUMBER: _ClassVar[int]
    P90_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    P99_FIELD_NUMBER: _ClassVar[int]
    STDDEV_FIELD_NUMBER: _ClassVar[int]
    cv: float
    max: float
    mean: float
    min: float
    n: int
    p50: float
    p90: float
    p95: float
    p99: float
    stddev: float
    def __init__(self, n: _Optional[int] = ..., mean: _Optional[float] = ..., stddev: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., p50: _Optional[float] = ..., p95: _Optional[float] = ..., p90: _Optional[float] = ..., p99: _Optional[float] = ..., cv: _Optional[float] = ...) -> None: ...

class Sweep(_message.Message):
    __slots__ = ["cell_timeout", "max_tokens", "models", "num_batch", "num_ctx", "num_gpu", "num_thread", "objective", "prompt_tokens"]
    CELL_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NUM_BATCH_FIELD_NUMBER: _ClassVar[int]
    NUM_CTX_FIELD_NUMBER: _ClassVar[int]
    NUM_GPU_FIELD_NUMBER: _ClassVar[int]
    NUM_THREAD_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    cell_timeout: _duration_pb2.Duration
    max_tokens: _containers.RepeatedScalarFieldContainer[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    num_batch: _containers.RepeatedScalarFieldContainer[int]
    num_ctx: _containers.RepeatedScalarFieldContainer[int]
    num_gpu: _containers.RepeatedScalarFieldContainer[int]
    num_thread: _containers.RepeatedScalarFieldContainer[int]
    objective: SweepObjective
    prompt_tokens: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, models: _Optional[_Iterable[str]] = ..., num_ctx: _Optional[_Iterable[int]] = ..., num_gpu: _Optional[_Iterable[int]] = ..., num_batch: _Optional[_Iterable[int]] = ..., num_thread: _Optional[_Iterable[int]] = ..., prompt_tokens: _Optional[_Iterable[int]] = ..., max_tokens: _Optional[_Iterable[int]] = ..., objective: _Optional[_Union[SweepObjective, str]] = ..., cell_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SweepCell(_message.Message):
    __slots__ = ["energy", "error_code", "error_message", "finished_at", "fits_vram", "index", "max_tokens", "model", "model_size_bytes", "model_size_vram_bytes", "num_batch", "num_ctx", "num_gpu", "num_thread", "peak_vram_used_bytes", "prompt_tokens", "started_at", "status", "summary"]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    FITS_VRAM_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MODEL_SIZE_VRAM_BYTES_FIELD_NUMBER: _ClassVar[int]
    NUM_BATCH_FIELD_NUMBER: _ClassVar[int]
    NUM_CTX_FIELD_NUMBER: _ClassVar[int]
    NUM_GPU_FIELD_NUMBER: _ClassVar[int]
    NUM_THREAD_FIELD_NUMBER: _ClassVar[int]
    PEAK_VRAM_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    energy: Energy
    error_code: int
    error_message: str
    finished_at: _timestamp_pb2.Timestamp
    fits_vram: bool
    index: int
    max_tokens: int
    model: str
    model_size_bytes: int
    model_size_vram_bytes: int
    num_batch: int
    num_ctx: int
    num_gpu: int
    num_thread: int
    peak_vram_used_bytes: int
    prompt_tokens: int
    started_at: _timestamp_pb2.Timestamp
    status: SweepCellStatus
    summary: BenchmarkFinished
    def __init__(self, index: _Optional[int] = ..., model: _Optional[str] = ..., num_ctx: _Optional[int] = ..., num_gpu: _Optional[int] = ..., num_batch: _Optional[int] = ..., num_thread: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., max_tokens: _Optional[int] = ..., status: _Optional[_Union[SweepCellStatus, str]] = ..., error_code: _Optional[int] = ..., error_message: _Optional[str] = ..., summary: _Optional[_Union[BenchmarkFinished, _Mapping]] = ..., peak_vram_used_bytes: _Optional[int] = ..., model_size_bytes: _Optional[int] = ..., model_size_vram_bytes: _Optional[int] = ..., fits_vram: bool = ..., started_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., energy: _Optional[_Union[Energy, _Mapping]] = ...) -> None: ...

class TokenTiming(_message.Message):
    __slots__ = ["chunks", "decode_ns", "itl_max_ns", "itl_p50_ns", "itl_p90_ns", "itl_p99_ns", "longest_stall_after_chunks", "longest_stall_ns", "ollama_clock", "received_decode_ns", "received_longest_stall_ns", "tpot_ns"]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    DECODE_NS_FIELD_NUMBER: _ClassVar[int]
    ITL_MAX_NS_FIELD_NUMBER: _ClassVar[int]
    ITL_P50_NS_FIELD_NUMBER: _ClassVar[int]
    ITL_P90_NS_FIELD_NUMBER: _ClassVar[int]
    ITL_P99_NS_FIELD_NUMBER: _ClassVar[int]
    LONGEST_STALL_AFTER_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    LONGEST_STALL_NS_FIELD_NUMBER: _ClassVar[int]
    OLLAMA_CLOCK_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_DECODE_NS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_LONGEST_STALL_NS_FIELD_NUMBER: _ClassVar[int]
    TPOT_NS_FIELD_NUMBER: _ClassVar[int]
    chunks: int
    decode_ns: int
    itl_max_ns: int
    itl_p50_ns: int
    itl_p90_ns: int
    itl_p99_ns: int
    longest_stall_after_chunks: int
    longest_stall_ns: int
    ollama_clock: bool
    received_decode_ns: int
    received_longest_stall_ns: int
    tpot_ns: int
    def __init__(self, chunks: _Optional[int] = ..., itl_p50_ns: _Optional[int] = ..., itl_p90_ns: _Optional[int] = ..., itl_p99_ns: _Optional[int] = ..., itl_max_ns: _Optional[int] = ..., tpot_ns: _Optional[int] = ..., longest_stall_ns: _Optional[int] = ..., longest_stall_after_chunks: _Optional[int] = ..., decode_ns: _Optional[int] = ..., received_decode_ns: _Optional[int] = ..., received_longest_stall_ns: _Optional[int] = ..., ollama_clock: bool = ...) -> None: ...

class Trial(_message.Message):
    __slots__ = ["cell", "decode_mismatch_reason", "done_reason", "energy", "eval_count", "eval_duration_ns", "eval_rate", "index", "invalid_reason", "level", "load_duration_ns", "model_loaded_at_start", "peak_vram", "peak_vram_used_bytes", "prompt_eval_count", "prompt_eval_duration_ns", "prompt_eval_rate", "prompt_index", "prompt_prefix", "queue_ns", "received_ttft_ns", "sent_at", "token_timing", "total_duration_ns", "ttft_ns", "wall_ns", "warmup"]
    CELL_FIELD_NUMBER: _ClassVar[int]
    DECODE_MISMATCH_REASON_FIELD_NUMBER: _ClassVar[int]
    DONE_REASON_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    EVAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    EVAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    EVAL_RATE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    INVALID_REASON_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LOAD_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    MODEL_LOADED_AT_START_FIELD_NUMBER: _ClassVar[int]
    PEAK_VRAM_FIELD_NUMBER: _ClassVar[int]
    PEAK_VRAM_USED_BYTES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_EVAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_EVAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_EVAL_RATE_FIELD_NUMBER: _ClassVar[int]
    PROMPT_INDEX_FIELD_NUMBER: _ClassVar[int]
    PROMPT_PREFIX_FIELD_NUMBER: _ClassVar[int]
    QUEUE_NS_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_TTFT_NS_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TIMING_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DURATION_NS_FIELD_NUMBER: _ClassVar[int]
    TTFT_NS_FIELD_NUMBER: _ClassVar[int]
    WALL_NS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_FIELD_NUMBER: _ClassVar[int]
    cell: int
    decode_mismatch_reason: str
    done_reason: str
    energy: Energy
    eval_count: int
    eval_duration_ns: int
    eval_rate: float
    index: int
    invalid_reason: str
    level: int
    load_duration_ns: int
    model_loaded_at_start: bool
    peak_vram: _containers.RepeatedCompositeFieldContainer[GPUPeak]
    peak_vram_used_bytes: int
    prompt_eval_count: int
    prompt_eval_duration_ns: int
    prompt_eval_rate: float
    prompt_index: int
    prompt_prefix: str
    queue_ns: int
    received_ttft_ns: int
    sent_at: _timestamp_pb2.Timestamp
    token_timing: TokenTiming
    total_duration_ns: int
    ttft_ns: int
    wall_ns: int
    warmup: bool
    def __init__(self, index: _Optional[int] = ..., warmup: bool = ..., prompt_index: _Optional[int] = ..., prompt_eval_count: _Optional[int] = ..., prompt_eval_duration_ns: _Optional[int] = ..., eval_count: _Optional[int] = ..., eval_duration_ns: _Optional[int] = ..., load_duration_ns: _Optional[int] = ..., total_duration_ns: _Optional[int] = ..., ttft_ns: _Optional[int] = ..., wall_ns: _Optional[int] = ..., prompt_eval_rate: _Optional[float] = ..., eval_rate: _Optional[float] = ..., peak_vram_used_bytes: _Optional[int] = ..., peak_vram: _Optional[_Iterable[_Union[GPUPeak, _Mapping]]] = ..., done_reason: _Optional[str] = ..., model_loaded_at_start: bool = ..., prompt_prefix: _Optional[str] = ..., received_ttft_ns: _Optional[int] = ..., invalid_reason: _Optional[str] = ..., token_timing: _Optional[_Union[TokenTiming, _Mapping]] = ..., decode_mismatch_reason: _Optional[str] = ..., cell: _Optional[int] = ..., level: _Optional[int] = ..., queue_ns: _Optional[int] = ..., sent_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., energy: _Optional[_Union[Energy, _Mapping]] = ...) -> None: ...

class TrialProgress(_message.Message):
    __slots__ = ["cell", "index", "max_tokens", "tokens", "warmup"]
    CELL_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MAX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    WARMUP_FIELD_NUMBER: _ClassVar[int]
    cell: int
    index: int
    max_tokens: int
    tokens: int
    warmup: bool
    def __init__(self, index: _Optional[int] = ..., warmup: bool = ..., tokens: _Optional[int] = ..., max_tokens: _Optional[int] = ..., cell: _Optional[int] = ...) -> None: ...

class VRAMSample(_message.Message):
    __slots__ = ["gpus", "sampled_at", "trial_index"]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_AT_FIELD_NUMBER: _ClassVar[int]
    TRIAL_INDEX_FIELD_NUMBER: _ClassVar[int]
    gpus: _containers.RepeatedCompositeFieldContainer[GPUPeak]
    sampled_at: _timestamp_pb2.Timestamp
    trial_index: int
    def __init__(self, sampled_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., trial_index: _Optional[int] = ..., gpus: _Optional[_Iterable[_Union[GPUPeak, _Mapping]]] = ...) -> None: ...

class WatchBenchmarkRequest(_message.Message):
    __slots__ = ["benchmark_id"]
    BENCHMARK_ID_FIELD_NUMBER: _ClassVar[int]
    benchmark_id: str
    def __init__(self, benchmark_id: _Optional[str] = ...) -> None: ...

class WatchBenchmarkResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: BenchmarkEvent
    def __init__(self, event: _Optional[_Union[BenchmarkEvent, _Mapping]] = ...) -> None: ...

class WatchVRAMRequest(_message.Message):
    __slots__ = ["interval"]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    interval: _duration_pb2.Duration
    def __init__(self, interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WatchVRAMResponse(_message.Message):
    __slots__ = ["gpus"]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    gpus: _containers.RepeatedCompositeFieldContainer[GPU]
    def __init__(self, gpus: _Optional[_Iterable[_Union[GPU, _Mapping]]] = ...) -> None: ...

class SweepObjective(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SweepCellStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BenchmarkState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RegressionMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RegressionVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BaselineSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
