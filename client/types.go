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
	// Raw is the message as received, for protojson output or new fields.
	Raw *benchdv1.BenchmarkEvent
}

// Result is a whole benchmark.
type Result struct {
	Started
	Trials  []Trial
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
}

// Stats summarises one metric over the measured trials.
type Stats struct {
	N                                int
	Mean, Stddev, Min, Max, P50, P95 float64
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
	FinishedAt                           time.Time
}

// GPU is one VRAM reading.
type GPU struct {
	Index                 int
	Name, Vendor, Source  string
	TotalBytes, UsedBytes uint64
	// SampledAt is zero when benchd did not stamp the reading.
	SampledAt time.Time
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
		ev.Progress = &Progress{Index: int(p.GetIndex()), Warmup: p.GetWarmup(), Tokens: int(p.GetTokens()), MaxTokens: int(p.GetMaxTokens())}
	case *benchdv1.BenchmarkEvent_Trial:
		t := TrialFromProto(k.Trial)
		ev.Trial = &t
	case *benchdv1.BenchmarkEvent_Finished:
		ev.Finished = summaryFromProto(k.Finished)
	}
	return ev
}

func startedFromProto(s *benchdv1.BenchmarkStarted) Started {
	mi, m := s.GetModelInfo(), s.GetMachine()
	return Started{
		BenchmarkID: s.GetBenchmarkId(), Model: s.GetModel(),
		ModelInfo: ModelInfo{
			Digest: mi.GetDigest(), Family: mi.GetFamily(), ParameterSize: mi.GetParameterSize(),
			QuantizationLevel: mi.GetQuantizationLevel(), Format: mi.GetFormat(),
		},
		OllamaVersion: s.GetOllamaVersion(), GPUs: gpusFromProto(s.GetGpus()), StartedAt: timeOf(s.GetStartedAt()),
		Machine: Machine{Hostname: m.GetHostname(), Kernel: m.GetKernel(), BenchdVersion: m.GetBenchdVersion()},
	}
}

// summaryFromProto converts a finished event.
func summaryFromProto(f *benchdv1.BenchmarkFinished) *Summary {
	return &Summary{
		BenchmarkID: f.GetBenchmarkId(), Trials: int(f.GetTrials()),
		EvalRate: statsFromProto(f.GetEvalRate()), PromptEvalRate: statsFromProto(f.GetPromptEvalRate()),
		TTFTNs: statsFromProto(f.GetTtftNs()), WallNs: statsFromProto(f.GetWallNs()),
		TotalDurationNs: statsFromProto(f.GetTotalDurationNs()), LoadDurationNs: statsFromProto(f.GetLoadDurationNs()),
		PromptEvalDurationNs: statsFromProto(f.GetPromptEvalDurationNs()), EvalDurationNs: statsFromProto(f.GetEvalDurationNs()),
		EvalCount: statsFromProto(f.GetEvalCount()), PromptEvalCount: statsFromProto(f.GetPromptEvalCount()),
		PeakVRAMUsedBytes: statsFromProto(f.GetPeakVramUsedBytes()), FinishedAt: timeOf(f.GetFinishedAt()),
	}
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
	}
}

func statsFromProto(s *benchdv1.Summary) Stats {
	return Stats{N: int(s.GetN()), Mean: s.GetMean(), Stddev: s.GetStddev(), Min: s.GetMin(), Max: s.GetMax(), P50: s.GetP50(), P95: s.GetP95()}
}

func gpusFromProto(gs []*benchdv1.GPU) []GPU {
	out := make([]GPU, 0, len(gs))
	for _, g := range gs {
		out = append(out, GPU{
			Index: int(g.GetIndex()), Name: g.GetName(), Vendor: g.GetVendor(), Source: g.GetSource(),
			TotalBytes: g.GetTotalBytes(), UsedBytes: g.GetUsedBytes(), SampledAt: timeOf(g.GetSampledAt()),
			Raw: g,
		})
	}
	return out
}

// timeOf is a timestamp's time; zero (not 1970) for none.
func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
