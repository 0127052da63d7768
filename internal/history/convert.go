package history

import (
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func settingsToProto(s runner.Settings) *benchdv1.RunBenchmarkRequest {
	r := &benchdv1.RunBenchmarkRequest{
		Model:              s.Model,
		Prompts:            s.Prompts,
		Repetitions:        ptr(uint32(s.Repetitions)),
		Warmup:             ptr(uint32(s.Warmup)),
		MaxTokens:          ptr(uint32(s.MaxTokens)),
		Temperature:        ptr(s.Temperature),
		Seed:               ptr(s.Seed),
		Timeout:            durationpb.New(s.Timeout),
		VramSampleInterval: durationpb.New(s.VRAMInterval),
	}
	if s.NumCtx > 0 {
		r.NumCtx = ptr(uint32(s.NumCtx))
	}
	r.Cold = s.Cold
	if s.PromptTokens > 0 {
		r.PromptTokens = ptr(uint32(s.PromptTokens))
	}
	if w := s.Sweep; w != nil {
		r.Sweep = &benchdv1.Sweep{Models: w.Models, NumCtx: u32s(w.NumCtx), NumGpu: u32s(w.NumGPU), NumBatch: u32s(w.NumBatch),
			NumThread: u32s(w.NumThread), PromptTokens: u32s(w.PromptTokens), MaxTokens: u32s(w.MaxTokens),
			Objective: benchdv1.SweepObjective(w.Objective + 1)}
		if w.CellTimeout > 0 {
			r.Sweep.CellTimeout = durationpb.New(w.CellTimeout)
		}
	}
	if c := s.Concurrency; c != nil {
		r.Concurrency = &benchdv1.Concurrency{Levels: u32s(c.Levels)}
		if c.Requests > 0 {
			r.Concurrency.Requests = ptr(uint32(c.Requests))
		}
	}
	return r
}

func u32s(xs []int) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = uint32(x)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// eventToProto converts a domain event: the one place it happens.
func eventToProto(ev runner.Event, statusOf StatusFunc) *benchdv1.BenchmarkEvent {
	switch {
	case ev.CellStarted != nil:
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_CellStarted{CellStarted: &benchdv1.CellStarted{
			Cell: cellToProto(ev.CellStarted.Cell, statusOf), Cells: uint32(ev.CellStarted.Cells)}}}
	case ev.CellFinished != nil:
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_CellFinished{CellFinished: &benchdv1.CellFinished{
			Cell: cellToProto(ev.CellFinished, statusOf)}}}
	case ev.LevelStarted != nil:
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_LevelStarted{LevelStarted: &benchdv1.LevelStarted{
			Level: levelToProto(ev.LevelStarted.Level, statusOf), Levels: uint32(ev.LevelStarted.Levels)}}}
	case ev.LevelFinished != nil:
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_LevelFinished{LevelFinished: &benchdv1.LevelFinished{
			Level: levelToProto(ev.LevelFinished, statusOf)}}}
	case ev.Started != nil:
		st := ev.Started
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Started{Started: &benchdv1.BenchmarkStarted{
			BenchmarkId:   st.ID,
			Model:         st.Model,
			ModelInfo:     ModelInfoToProto(st.Info),
			OllamaVersion: st.OllamaVersion,
			Gpus:          GPUsToProto(st.GPUs),
			Settings:      settingsToProto(st.Settings),
			StartedAt:     timestamppb.New(st.At),
			Machine: &benchdv1.MachineInfo{
				Hostname: st.Machine.Hostname, Kernel: st.Machine.Kernel, BenchdVersion: st.Machine.BenchdVersion,
				OllamaVersion: st.OllamaVersion, Gpus: GPUsToProto(st.GPUs),
			},
			OllamaNumParallel: st.NumParallel,
			IdlePower:         idleToProto(st.Idle),
		}}}
	case ev.Progress != nil:
		p := ev.Progress
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Progress{Progress: &benchdv1.TrialProgress{
			Cell: uint32(p.Cell), Index: uint32(p.Index), Warmup: p.Warmup, Tokens: uint32(p.Tokens), MaxTokens: uint32(p.MaxTokens),
		}}}
	case ev.Trial != nil:
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: trialToProto(ev.Trial)}}
	case ev.Finished != nil:
		return &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: finishedToProto(ev.Finished)}}
	}
	panic("bench: event with no field set")
}

func finishedToProto(f *runner.Finished) *benchdv1.BenchmarkFinished {
	sm := f.Summary
	pf := &benchdv1.BenchmarkFinished{
		BenchmarkId:          f.ID,
		Trials:               uint32(f.Trials),
		EvalRate:             SummaryToProto(sm.EvalRate),
		PromptEvalRate:       SummaryToProto(sm.PromptEvalRate),
		TtftNs:               SummaryToProto(sm.TTFT),
		WallNs:               SummaryToProto(sm.Wall),
		TotalDurationNs:      SummaryToProto(sm.TotalDuration),
		LoadDurationNs:       SummaryToProto(sm.LoadDuration),
		PromptEvalDurationNs: SummaryToProto(sm.PromptEvalDuration),
		EvalDurationNs:       SummaryToProto(sm.EvalDuration),
		EvalCount:            SummaryToProto(sm.EvalCount),
		PromptEvalCount:      SummaryToProto(sm.PromptEvalCount),
		PeakVramUsedBytes:    SummaryToProto(sm.PeakVRAMUsed),
		FinishedAt:           timestamppb.New(f.At),
		TpotNs:               SummaryToProto(sm.TPOT),
		ItlP50Ns:             SummaryToProto(sm.ITLP50),
		ItlP99Ns:             SummaryToProto(sm.ITLP99),
		LongestStallNs:       SummaryToProto(sm.LongestStall),
		UnstableReason:       f.Unstable,
		DecodeMismatches:     uint32(f.DecodeMismatches),
		Energy:               EnergyToProto(sm.Energy),
		JoulesPerOutputToken: SummaryToProto(sm.JoulesPerToken),
	}
	if f.Sweep {
		pf.Objective = benchdv1.SweepObjective(f.Objective + 1)
		pf.CellsFailed = uint32(f.CellsFailed)
		if f.BestCell >= 0 {
			pf.BestCell = ptr(uint32(f.BestCell))
		}
	}
	return pf
}

// cellToProto is a sweep cell; a failed cell's error has its gRPC code.
func cellToProto(c *runner.Cell, statusOf StatusFunc) *benchdv1.SweepCell {
	s := c.Settings
	pc := &benchdv1.SweepCell{
		Index: uint32(c.Index), Model: s.Model, MaxTokens: uint32(s.MaxTokens),
		Status:            benchdv1.SweepCellStatus(c.Status),
		PeakVramUsedBytes: c.PeakVRAM,
		ModelSizeBytes:    uint64(max(c.ModelSize, 0)), ModelSizeVramBytes: uint64(max(c.ModelSizeVRAM, 0)),
		FitsVram:  c.FitsVRAM,
		StartedAt: timestamppb.New(c.StartedAt),
	}
	opt := func(v int) *uint32 {
		if v > 0 {
			return ptr(uint32(v))
		}
		return nil
	}
	pc.NumCtx, pc.NumBatch, pc.NumThread, pc.PromptTokens = opt(s.NumCtx), opt(s.NumBatch), opt(s.NumThread), opt(s.PromptTokens)
	if s.NumGPU != nil {
		pc.NumGpu = ptr(uint32(*s.NumGPU))
	}
	if !c.FinishedAt.IsZero() {
		pc.FinishedAt = timestamppb.New(c.FinishedAt)
	}
	if c.Finished != nil {
		pc.Summary = finishedToProto(c.Finished)
		pc.Energy = EnergyToProto(c.Finished.Summary.Energy)
	}
	if c.Err != nil && statusOf != nil {
		st := statusOf(c.Err)
		pc.ErrorCode, pc.ErrorMessage = int32(st.Code()), st.Message()
	}
	return pc
}

// levelToProto is a concurrency level; a level that has not finished
// carries only its index, size and start.
func levelToProto(l *runner.Level, statusOf StatusFunc) *benchdv1.ConcurrencyLevel {
	pl := &benchdv1.ConcurrencyLevel{
		Index: uint32(l.Index), Concurrency: uint32(l.InFlight), Requests: uint32(l.Requests),
		StartedAt: timestamppb.New(l.StartedAt),
	}
	if l.FinishedAt.IsZero() {
		return pl
	}
	pl.Succeeded, pl.Failed = uint32(l.Succeeded), uint32(l.Failed)
	pl.DurationNs = l.Duration.Nanoseconds()
	pl.OutputTokens = uint64(l.OutputTokens)
	pl.OutputTokensPerSecond, pl.RequestsPerSecond = l.OutputRate, l.RequestRate
	pl.TtftNs, pl.ItlNs, pl.TpotNs = SummaryToProto(l.TTFT), SummaryToProto(l.ITL), SummaryToProto(l.TPOT)
	pl.E2ELatencyNs, pl.QueueNs = SummaryToProto(l.E2E), SummaryToProto(l.Queue)
	pl.PeakVramUsedBytes = l.PeakVRAM
	pl.Energy = EnergyToProto(l.Energy)
	pl.FinishedAt = timestamppb.New(l.FinishedAt)
	if l.Err != nil && statusOf != nil {
		st := statusOf(l.Err)
		pl.ErrorCode, pl.ErrorMessage = int32(st.Code()), st.Message()
	}
	return pl
}

func trialToProto(t *runner.Trial) *benchdv1.Trial {
	out := &benchdv1.Trial{
		Cell:                 uint32(t.Cell),
		Level:                uint32(t.Level),
		QueueNs:              t.Queue.Nanoseconds(),
		Index:                uint32(t.Index),
		Warmup:               t.Warmup,
		PromptIndex:          uint32(t.PromptIndex),
		PromptEvalCount:      int64(t.PromptEvalCount),
		PromptEvalDurationNs: t.PromptEvalDuration.Nanoseconds(),
		EvalCount:            int64(t.EvalCount),
		EvalDurationNs:       t.EvalDuration.Nanoseconds(),
		LoadDurationNs:       t.LoadDuration.Nanoseconds(),
		TotalDurationNs:      t.TotalDuration.Nanoseconds(),
		TtftNs:               t.TTFT.Nanoseconds(),
		WallNs:               t.Wall.Nanoseconds(),
		PromptEvalRate:       t.PromptEvalRate(),
		EvalRate:             t.EvalRate(),
		PeakVramUsedBytes:    t.PeakVRAMTotal(),
		DoneReason:           t.DoneReason,
		ModelLoadedAtStart:   t.LoadedAtStart,
		PromptPrefix:         t.PromptPrefix,
		ReceivedTtftNs:       t.ReceivedTTFT.Nanoseconds(),
		InvalidReason:        t.Invalid,
		TokenTiming:          timingToProto(t.Timing),
		DecodeMismatchReason: t.DecodeMismatch,
		Energy:               EnergyToProto(t.Energy),
	}
	if !t.SentAt.IsZero() {
		out.SentAt = timestamppb.New(t.SentAt)
	}
	for _, i := range runner.SortedPeaks(t.PeakVRAM) {
		out.PeakVram = append(out.PeakVram, &benchdv1.GPUPeak{Index: uint32(i), UsedBytes: t.PeakVRAM[i]})
	}
	return out
}

// SummaryToProto is a stats.Summary on the wire.
func SummaryToProto(s stats.Summary) *benchdv1.Summary {
	return &benchdv1.Summary{
		N: uint32(s.N), Mean: s.Mean, Stddev: s.Stddev, Min: s.Min, Max: s.Max, P50: s.P50, P95: s.P95,
		P90: s.P90, P99: s.P99, Cv: s.CV,
	}
}

// timingToProto converts a trial's token timing; nil stays nil (no output
// chunk).
func timingToProto(tt *runner.TokenTiming) *benchdv1.TokenTiming {
	if tt == nil {
		return nil
	}
	return &benchdv1.TokenTiming{
		Chunks:                  uint32(tt.Chunks),
		ItlP50Ns:                tt.ITLP50.Nanoseconds(),
		ItlP90Ns:                tt.ITLP90.Nanoseconds(),
		ItlP99Ns:                tt.ITLP99.Nanoseconds(),
		ItlMaxNs:                tt.ITLMax.Nanoseconds(),
		TpotNs:                  tt.TPOT.Nanoseconds(),
		LongestStallNs:          tt.LongestStall.Nanoseconds(),
		LongestStallAfterChunks: uint32(tt.LongestStallAfter),
		DecodeNs:                tt.Decode.Nanoseconds(),
		ReceivedDecodeNs:        tt.ReceivedDecode.Nanoseconds(),
		ReceivedLongestStallNs:  tt.ReceivedLongestStall.Nanoseconds(),
		OllamaClock:             tt.OllamaClock,
	}
}

// ModelInfoToProto converts a model's details, for events and for
// ListModels.
func ModelInfoToProto(mi ollama.ModelInfo) *benchdv1.ModelInfo {
	return &benchdv1.ModelInfo{
		Digest:            mi.Digest,
		Family:            mi.Family,
		ParameterSize:     mi.ParameterSize,
		QuantizationLevel: mi.QuantizationLevel,
		Format:            mi.Format,
	}
}

// GPUsToProto converts VRAM readings, for events and for SampleVRAM.
func GPUsToProto(gpus []vram.GPU) []*benchdv1.GPU {
	out := make([]*benchdv1.GPU, 0, len(gpus))
	for _, g := range gpus {
		pg := &benchdv1.GPU{
			Index:      uint32(g.Index),
			Name:       g.Name,
			Vendor:     g.Vendor,
			TotalBytes: g.TotalBytes,
			UsedBytes:  g.UsedBytes,
			Source:     g.Source,
			SampledAt:  timestamppb.New(g.SampledAt),
		}
		telemetryToProto(g.Telemetry, pg)
		out = append(out, pg)
	}
	return out
}

// vramTimeline converts a trial's samples for the stored timeline.
func vramTimeline(t *runner.Trial) []*benchdv1.VRAMSample {
	out := make([]*benchdv1.VRAMSample, 0, len(t.VRAM))
	for _, smp := range t.VRAM {
		v := &benchdv1.VRAMSample{SampledAt: timestamppb.New(smp.At), TrialIndex: uint32(t.Index)}
		for _, g := range smp.GPUs {
			v.Gpus = append(v.Gpus, &benchdv1.GPUPeak{Index: uint32(g.Index), UsedBytes: g.UsedBytes, PowerWatts: g.Telemetry.PowerW.Ptr()})
		}
		out = append(out, v)
	}
	return out
}
