package client

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Event is one message of a running benchmark; exactly one field is set.
type Event struct {
	Started  *Started
	Progress *Progress
	Trial    *Trial
	Finished *Summary
	// Sweeps only: a cell begins, a cell ends (with its status, summary
	// and memory).
	CellStarted  *CellStarted
	CellFinished *Cell
	// Concurrency runs only: a level begins, a level ends (with its
	// throughput, latencies and queue times).
	LevelStarted  *LevelStarted
	LevelFinished *Level
	// Raw is the message as received, for protojson output or new fields.
	Raw *benchdv1.BenchmarkEvent
}

// Result is a whole benchmark.
type Result struct {
	Started
	Trials []Trial
	// Cells are a sweep's finished cells in run order (also of a failed
	// or cancelled sweep); none for a plain benchmark.
	Cells []Cell
	// Levels are a concurrency run's finished levels in run order (also
	// of a failed or cancelled run); none otherwise.
	Levels  []Level
	Summary *Summary
	// Raw is the record the rest is converted from: as benchd stores it
	// (GetBenchmark, ListBenchmarks, CancelBenchmark: with the settings and
	// the VRAM timeline), or folded from the stream by [record.Apply]
	// (RunBenchmark, WatchBenchmark: events carry no VRAM timeline).
	Raw *benchdv1.Benchmark
}

// resultFromProto converts a record: the one conversion of a benchmark,
// whether benchd sent it whole or as a stream of events.
func resultFromProto(b *benchdv1.Benchmark) Result {
	res := Result{Raw: b}
	if s := b.GetStarted(); s != nil {
		res.Started = startedFromProto(s)
	}
	for _, t := range b.GetTrials() {
		res.Trials = append(res.Trials, TrialFromProto(t))
	}
	for _, c := range b.GetCells() {
		res.Cells = append(res.Cells, CellFromProto(c))
	}
	for _, l := range b.GetLevels() {
		res.Levels = append(res.Levels, LevelFromProto(l))
	}
	if f := b.GetFinished(); f != nil {
		res.Summary = summaryFromProto(f)
	}
	return res
}

type Started struct {
	BenchmarkID   string
	Model         string
	ModelInfo     ModelInfo
	OllamaVersion string
	GPUs          []GPU
	StartedAt     time.Time
	Machine       Machine
	// OllamaNumParallel is ollama's parallel slots as its container is
	// configured: OLLAMA_NUM_PARALLEL's value, "default" when it is not
	// set (ollama then chooses), "unknown" when benchd reaches ollama over
	// HTTP or could not inspect the container; "" in older records.
	OllamaNumParallel string
	// IdlePower is the GPUs' power before the first trial, the baseline
	// of Energy.NetJoules; nil where the GPUs report no power.
	IdlePower *IdlePower
}

// IdlePower is the GPUs' power while nothing runs: the mean over Samples
// readings across Duration, summed over GPUs.
type IdlePower struct {
	Watts    float64
	Samples  int
	Duration time.Duration
}

// Energy is what the GPUs drew over a span: a trial, a sweep cell, a
// concurrency level or a whole run. See the proto's Energy.
type Energy struct {
	// Joules is the difference of the GPUs' energy counters (Method
	// "counter") or their power integrated over the samples
	// ("integrated"); NetJoules is that less the idle baseline over the
	// span (nil without one).
	Joules    float64
	NetJoules *float64
	// AverageWatts is Joules over the span, PeakWatts the highest sample.
	AverageWatts, PeakWatts float64
	// Per output token and its inverse; nil with no output token (and
	// NetJoulesPerOutputToken without a baseline).
	JoulesPerOutputToken, OutputTokensPerJoule, NetJoulesPerOutputToken *float64
	Duration                                                            time.Duration
	Method                                                              string
	// Samples is the power readings the figures come from.
	Samples int
	// ShortWindowReason, when not empty, says the span was shorter than
	// the power sensor's averaging window: the figures are uncertain.
	ShortWindowReason string
	// StartedAt is when the span began; zero for a sum of spans (a cell,
	// a run).
	StartedAt time.Time
}

// Machine is the host a benchmark ran on.
type Machine struct {
	Hostname, Kernel, BenchdVersion string
}

type ModelInfo struct {
	Digest, Family, ParameterSize, QuantizationLevel, Format string
}

type Progress struct {
	Index             int
	Warmup            bool
	Tokens, MaxTokens int
	// Cell is the sweep's cell the trial belongs to (0 outside sweeps).
	Cell int
	// Level is the concurrency run's level the request belongs to (0
	// otherwise): the level last started, as benchd's progress events do
	// not say. Index counts within the level.
	Level int
}

// Trial is one generation; counts and durations are ollama's own.
type Trial struct {
	Index, PromptIndex               int
	Warmup                           bool
	PromptEvalCount, EvalCount       int64
	PromptEvalDuration, EvalDuration time.Duration
	LoadDuration, TotalDuration      time.Duration
	TTFT, Wall                       time.Duration
	PromptEvalRate, EvalRate         float64 // tokens per second
	PeakVRAMUsedBytes                uint64
	DoneReason                       string
	// ModelLoadedAtStart is false for a cold trial (or the first warm one).
	ModelLoadedAtStart bool
	// PromptPrefix is what made this trial's prompt unlike the others'.
	PromptPrefix string
	// ReceivedTTFT is when benchd received the first chunk; TTFT is on
	// ollama's own clock, so the difference is the transport's delay.
	ReceivedTTFT time.Duration
	// InvalidReason, when not empty, says why the trial's figures
	// contradict each other (e.g. a TTFT over TotalDuration); such a trial
	// is left out of the Summary.
	InvalidReason string
	// TokenTiming is how the tokens were streamed; nil in older records
	// and for a trial that streamed no token.
	TokenTiming *TokenTiming
	// DecodeMismatchReason, when not empty, says how the decode time from
	// ollama's chunk stamps disagrees (by more than 10%) with ollama's
	// EvalDuration; the trial stays in the Summary, but treat its token
	// timing with care.
	DecodeMismatchReason string
	// Cell is the sweep's cell the trial belongs to (0 outside sweeps);
	// Index then counts within the cell.
	Cell int
	// Level is the concurrency run's level the trial belongs to (0
	// otherwise); Index then counts within the level in the order the
	// requests were sent (trials arrive as they finish).
	Level int
	// Queue is the time the request waited in ollama for a parallel
	// slot: TTFT − LoadDuration − PromptEvalDuration, at least 0 (on
	// ollama's clock; it includes making the first token). 0 in older
	// records.
	Queue time.Duration
	// SentAt is when benchd sent the request, on benchd's clock.
	SentAt time.Time
	// Energy is what the GPUs drew during the trial; nil where they
	// report no power or nothing was sampled.
	Energy *Energy
}

// TokenTiming is how one trial's tokens were streamed, on ollama's clock
// (the created_at stamp of each chunk), so that the transport is not in
// it; the Received figures are by arrival at benchd. See the proto's
// TokenTiming.
type TokenTiming struct {
	// Chunks is the number of streamed chunks with output (about one a
	// token).
	Chunks int
	// Inter-token latency: percentiles and maximum of the gaps between
	// chunks.
	ITLP50, ITLP90, ITLP99, ITLMax time.Duration
	// TPOT is the time per output token after the first (the mean gap).
	TPOT time.Duration
	// LongestStall is the longest gap up to the final chunk, which came
	// after LongestStallAfterChunks chunks.
	LongestStall            time.Duration
	LongestStallAfterChunks int
	// Decode is the final chunk's stamp minus the first's: the span of
	// ollama's eval_duration.
	Decode time.Duration
	// ReceivedDecode and ReceivedLongestStall are by arrival at benchd.
	ReceivedDecode, ReceivedLongestStall time.Duration
	// OllamaClock is false when ollama's stamps were unusable and every
	// figure is by arrival.
	OllamaClock bool
}

// Stats summarises one metric over the measured trials. CV is the
// coefficient of variation (Stddev / |Mean|; 0 for fewer than 2 trials).
type Stats struct {
	N                                          int
	Mean, Stddev, Min, Max, P50, P90, P95, P99 float64
	CV                                         float64
}

// Summary holds statistics over the measured (non-warm-up) trials. Duration
// metrics are in nanoseconds.
type Summary struct {
	BenchmarkID                          string
	Trials                               int
	EvalRate, PromptEvalRate             Stats
	TTFTNs, WallNs                       Stats
	TotalDurationNs, LoadDurationNs      Stats
	PromptEvalDurationNs, EvalDurationNs Stats
	EvalCount, PromptEvalCount           Stats
	PeakVRAMUsedBytes                    Stats
	// Token timing over the measured trials that have it (N 0 in older
	// records): time per output token, inter-token latency p50 and p99,
	// longest stall.
	TPOTNs, ITLP50Ns, ITLP99Ns, LongestStallNs Stats
	FinishedAt                                 time.Time
	// UnstableReason, when not empty, says the run is unstable: the
	// coefficient of variation of EvalRate or TTFTNs exceeds 10%, and
	// their means are less certain than the count of trials suggests.
	UnstableReason string
	// DecodeMismatches counts the measured trials with a
	// DecodeMismatchReason.
	DecodeMismatches int
	// Sweeps only (the figures above are then over every cell's measured
	// trials together; each Cell has its own Summary). BestCell is the
	// index of the best cell by Objective among the succeeded cells that
	// fitted in VRAM (every succeeded cell on a host where none took any
	// VRAM); nil when none qualified. CellsFailed counts failed cells.
	BestCell    *int
	Objective   Objective
	CellsFailed int
	// Energy is over the measured trials (or, for a concurrency run, the
	// levels); nil where the GPUs report no power.
	Energy *Energy
}

// GPU is one VRAM reading and the telemetry read with it.
type GPU struct {
	Index                 int
	Name, Vendor, Source  string
	TotalBytes, UsedBytes uint64
	// SampledAt is zero when benchd did not stamp the reading.
	SampledAt time.Time
	// Telemetry, each nil where the GPU or its source does not report it
	// (never 0 for unknown): power in watts, averaged by the GPU over
	// PowerWindow (0: instantaneous or unknown); the GPU's energy counter
	// in joules, whose differences alone mean anything; temperatures in
	// °C; graphics busy percent; shader and memory clocks in MHz.
	PowerWatts, EnergyJoules                    *float64
	EdgeCelsius, JunctionCelsius, MemoryCelsius *float64
	BusyPercent, CoreClockMHz, MemoryClockMHz   *float64
	PowerWindow                                 time.Duration
	// Raw is the message as received, for protojson output or new fields.
	Raw *benchdv1.GPU
}

func eventFromProto(e *benchdv1.BenchmarkEvent) Event {
	ev := Event{Raw: e}
	switch k := e.GetKind().(type) {
	case *benchdv1.BenchmarkEvent_Started:
		s := startedFromProto(k.Started)
		ev.Started = &s
	case *benchdv1.BenchmarkEvent_Progress:
		p := k.Progress
		ev.Progress = &Progress{Index: int(p.GetIndex()), Warmup: p.GetWarmup(), Tokens: int(p.GetTokens()), MaxTokens: int(p.GetMaxTokens()), Cell: int(p.GetCell())}
	case *benchdv1.BenchmarkEvent_Trial:
		t := TrialFromProto(k.Trial)
		ev.Trial = &t
	case *benchdv1.BenchmarkEvent_Finished:
		ev.Finished = summaryFromProto(k.Finished)
	case *benchdv1.BenchmarkEvent_CellStarted:
		ev.CellStarted = &CellStarted{Cell: CellFromProto(k.CellStarted.GetCell()), Cells: int(k.CellStarted.GetCells())}
	case *benchdv1.BenchmarkEvent_CellFinished:
		c := CellFromProto(k.CellFinished.GetCell())
		ev.CellFinished = &c
	case *benchdv1.BenchmarkEvent_LevelStarted:
		ev.LevelStarted = &LevelStarted{Level: LevelFromProto(k.LevelStarted.GetLevel()), Levels: int(k.LevelStarted.GetLevels())}
	case *benchdv1.BenchmarkEvent_LevelFinished:
		l := LevelFromProto(k.LevelFinished.GetLevel())
		ev.LevelFinished = &l
	}
	return ev
}

func startedFromProto(s *benchdv1.BenchmarkStarted) Started {
	m := s.GetMachine()
	return Started{
		BenchmarkID: s.GetBenchmarkId(), Model: s.GetModel(),
		ModelInfo:     modelInfoFromProto(s.GetModelInfo()),
		OllamaVersion: s.GetOllamaVersion(), GPUs: gpusFromProto(s.GetGpus()), StartedAt: timeOf(s.GetStartedAt()),
		Machine:           Machine{Hostname: m.GetHostname(), Kernel: m.GetKernel(), BenchdVersion: m.GetBenchdVersion()},
		OllamaNumParallel: s.GetOllamaNumParallel(),
		IdlePower:         idlePowerFromProto(s.GetIdlePower()),
	}
}

func idlePowerFromProto(p *benchdv1.IdlePower) *IdlePower {
	if p == nil {
		return nil
	}
	return &IdlePower{Watts: p.GetWatts(), Samples: int(p.GetSamples()), Duration: time.Duration(p.GetDurationNs())}
}

// energyFromProto converts an Energy message; nil for none.
func energyFromProto(e *benchdv1.Energy) *Energy {
	if e == nil {
		return nil
	}
	return &Energy{
		Joules: e.GetJoules(), NetJoules: e.NetJoules, AverageWatts: e.GetAverageWatts(), PeakWatts: e.GetPeakWatts(),
		JoulesPerOutputToken: e.JoulesPerOutputToken, OutputTokensPerJoule: e.OutputTokensPerJoule,
		NetJoulesPerOutputToken: e.NetJoulesPerOutputToken, Duration: time.Duration(e.GetDurationNs()),
		Method: e.GetMethod(), Samples: int(e.GetSamples()), ShortWindowReason: e.GetShortWindowReason(),
		StartedAt: timeOf(e.GetStartedAt()),
	}
}

// summaryFromProto converts a finished event.
func summaryFromProto(f *benchdv1.BenchmarkFinished) *Summary {
	s := &Summary{
		BenchmarkID: f.GetBenchmarkId(), Trials: int(f.GetTrials()),
		EvalRate: statsFromProto(f.GetEvalRate()), PromptEvalRate: statsFromProto(f.GetPromptEvalRate()),
		TTFTNs: statsFromProto(f.GetTtftNs()), WallNs: statsFromProto(f.GetWallNs()),
		TotalDurationNs: statsFromProto(f.GetTotalDurationNs()), LoadDurationNs: statsFromProto(f.GetLoadDurationNs()),
		PromptEvalDurationNs: statsFromProto(f.GetPromptEvalDurationNs()), EvalDurationNs: statsFromProto(f.GetEvalDurationNs()),
		EvalCount: statsFromProto(f.GetEvalCount()), PromptEvalCount: statsFromProto(f.GetPromptEvalCount()),
		PeakVRAMUsedBytes: statsFromProto(f.GetPeakVramUsedBytes()), FinishedAt: timeOf(f.GetFinishedAt()),
		TPOTNs: statsFromProto(f.GetTpotNs()), ITLP50Ns: statsFromProto(f.GetItlP50Ns()),
		ITLP99Ns: statsFromProto(f.GetItlP99Ns()), LongestStallNs: statsFromProto(f.GetLongestStallNs()),
		UnstableReason: f.GetUnstableReason(), DecodeMismatches: int(f.GetDecodeMismatches()),
		Objective: objectiveFromProto(f.GetObjective()), CellsFailed: int(f.GetCellsFailed()),
		Energy: energyFromProto(f.GetEnergy()),
	}
	if f.BestCell != nil {
		best := int(f.GetBestCell())
		s.BestCell = &best
	}
	return s
}

// TrialFromProto converts a generated Trial message.
func TrialFromProto(t *benchdv1.Trial) Trial {
	return Trial{
		Index: int(t.GetIndex()), PromptIndex: int(t.GetPromptIndex()), Warmup: t.GetWarmup(),
		PromptEvalCount: t.GetPromptEvalCount(), EvalCount: t.GetEvalCount(),
		PromptEvalDuration: time.Duration(t.GetPromptEvalDurationNs()), EvalDuration: time.Duration(t.GetEvalDurationNs()),
		LoadDuration: time.Duration(t.GetLoadDurationNs()), TotalDuration: time.Duration(t.GetTotalDurationNs()),
		TTFT: time.Duration(t.GetTtftNs()), Wall: time.Duration(t.GetWallNs()),
		PromptEvalRate: t.GetPromptEvalRate(), EvalRate: t.GetEvalRate(),
		PeakVRAMUsedBytes: t.GetPeakVramUsedBytes(), DoneReason: t.GetDoneReason(),
		ModelLoadedAtStart: t.GetModelLoadedAtStart(), PromptPrefix: t.GetPromptPrefix(),
		ReceivedTTFT: time.Duration(t.GetReceivedTtftNs()), InvalidReason: t.GetInvalidReason(),
		TokenTiming: tokenTimingFromProto(t.GetTokenTiming()), DecodeMismatchReason: t.GetDecodeMismatchReason(),
		Cell: int(t.GetCell()), Level: int(t.GetLevel()), Queue: time.Duration(t.GetQueueNs()), SentAt: timeOf(t.GetSentAt()),
		Energy: energyFromProto(t.GetEnergy()),
	}
}

func tokenTimingFromProto(tt *benchdv1.TokenTiming) *TokenTiming {
	if tt == nil {
		return nil
	}
	d := func(ns int64) time.Duration { return time.Duration(ns) }
	return &TokenTiming{
		Chunks: int(tt.GetChunks()),
		ITLP50: d(tt.GetItlP50Ns()), ITLP90: d(tt.GetItlP90Ns()), ITLP99: d(tt.GetItlP99Ns()), ITLMax: d(tt.GetItlMaxNs()),
		TPOT: d(tt.GetTpotNs()), LongestStall: d(tt.GetLongestStallNs()), LongestStallAfterChunks: int(tt.GetLongestStallAfterChunks()),
		Decode: d(tt.GetDecodeNs()), ReceivedDecode: d(tt.GetReceivedDecodeNs()), ReceivedLongestStall: d(tt.GetReceivedLongestStallNs()),
		OllamaClock: tt.GetOllamaClock(),
	}
}

func statsFromProto(s *benchdv1.Summary) Stats {
	return Stats{N: int(s.GetN()), Mean: s.GetMean(), Stddev: s.GetStddev(), Min: s.GetMin(), Max: s.GetMax(),
		P50: s.GetP50(), P90: s.GetP90(), P95: s.GetP95(), P99: s.GetP99(), CV: s.GetCv()}
}

func gpusFromProto(gs []*benchdv1.GPU) []GPU {
	out := make([]GPU, 0, len(gs))
	for _, g := range gs {
		out = append(out, GPU{
			Index: int(g.GetIndex()), Name: g.GetName(), Vendor: g.GetVendor(), Source: g.GetSource(),
			TotalBytes: g.GetTotalBytes(), UsedBytes: g.GetUsedBytes(), SampledAt: timeOf(g.GetSampledAt()),
			PowerWatts: g.PowerWatts, EnergyJoules: g.EnergyJoules, EdgeCelsius: g.TemperatureEdgeCelsius,
			JunctionCelsius: g.TemperatureJunctionCelsius, MemoryCelsius: g.TemperatureMemoryCelsius,
			BusyPercent: g.BusyPercent, CoreClockMHz: g.CoreClockMhz, MemoryClockMHz: g.MemoryClockMhz,
			PowerWindow: g.GetPowerWindow().AsDuration(), Raw: g,
		})
	}
	return out
}

func modelInfoFromProto(mi *benchdv1.ModelInfo) ModelInfo {
	return ModelInfo{
		Digest: mi.GetDigest(), Family: mi.GetFamily(), ParameterSize: mi.GetParameterSize(),
		QuantizationLevel: mi.GetQuantizationLevel(), Format: mi.GetFormat(),
	}
}

// Models is what ollama has and what it holds in memory: ListModels,
// `ollama list` and `ollama ps` in one answer.
type Models struct {
	// Installed are the models ollama has, newest first.
	Installed []InstalledModel
	// Loaded are the models in memory now.
	Loaded []LoadedModel
	// Raw is the message as received, for protojson output or new fields.
	Raw *benchdv1.ListModelsResponse
}

// InstalledModel is one model ollama has. Name is what
// BenchmarkRequest.Model takes.
type InstalledModel struct {
	Name      string
	ModelInfo ModelInfo
	// SizeBytes is the size of the model's files.
	SizeBytes  uint64
	ModifiedAt time.Time
	// ContextLength is the context the model was trained for; 0 when
	// ollama does not say.
	ContextLength int
}

// LoadedModel is one model in memory.
type LoadedModel struct {
	Name      string
	ModelInfo ModelInfo
	// SizeBytes is the memory the model takes, SizeVRAMBytes the part of
	// it in GPU memory: less means it spilled and runs partly on the CPU.
	SizeBytes, SizeVRAMBytes uint64
	// ExpiresAt is when ollama unloads it unless a request uses it first.
	ExpiresAt time.Time
	// ContextLength is the context it was loaded with (`ollama ps`'s
	// CONTEXT); 0 when ollama does not say (v0.9.6 does not, v0.17.4 does).
	ContextLength int
}

func modelsFromProto(r *benchdv1.ListModelsResponse) *Models {
	ms := &Models{Raw: r}
	for _, m := range r.GetModels() {
		ms.Installed = append(ms.Installed, InstalledModel{
			Name: m.GetName(), ModelInfo: modelInfoFromProto(m.GetInfo()), SizeBytes: m.GetSizeBytes(),
			ModifiedAt: timeOf(m.GetModifiedAt()), ContextLength: int(m.GetContextLength()),
		})
	}
	for _, m := range r.GetLoaded() {
		ms.Loaded = append(ms.Loaded, LoadedModel{
			Name: m.GetName(), ModelInfo: modelInfoFromProto(m.GetInfo()), SizeBytes: m.GetSizeBytes(),
			SizeVRAMBytes: m.GetSizeVramBytes(), ExpiresAt: timeOf(m.GetExpiresAt()), ContextLength: int(m.GetContextLength()),
		})
	}
	return ms
}

// timeOf is a timestamp's time; zero (not 1970) for none.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
