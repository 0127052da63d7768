package service

import (
	"fmt"

	"github.com/benchd/benchd/internal/runner"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// Resolve fills a validated request's unset fields with the defaults.
func Resolve(req *benchdv1.RunBenchmarkRequest) runner.Settings {
	s := runner.Settings{
		Model:        req.GetModel(),
		Prompts:      req.GetPrompts(),
		Repetitions:  defaults.Repetitions,
		Warmup:       defaults.Warmup,
		MaxTokens:    defaults.MaxTokens,
		Temperature:  defaults.Temperature,
		Seed:         defaults.Seed,
		Timeout:      defaults.Timeout,
		VRAMInterval: defaults.VRAMInterval,
		Cold:         req.GetCold(),
	}
	if len(s.Prompts) == 0 {
		s.Prompts = []string{defaults.Prompt}
	}
	if req.Repetitions != nil {
		s.Repetitions = int(req.GetRepetitions())
	}
	if req.Warmup != nil {
		s.Warmup = int(req.GetWarmup())
	}
	if req.MaxTokens != nil {
		s.MaxTokens = int(req.GetMaxTokens())
	}
	if req.NumCtx != nil {
		s.NumCtx = int(req.GetNumCtx())
	}
	if req.Temperature != nil {
		s.Temperature = req.GetTemperature()
	}
	if req.Seed != nil {
		s.Seed = req.GetSeed()
	}
	if req.Timeout != nil {
		s.Timeout = req.GetTimeout().AsDuration()
	}
	if req.VramSampleInterval != nil {
		s.VRAMInterval = req.GetVramSampleInterval().AsDuration()
	}
	if req.PromptTokens != nil {
		s.PromptTokens = int(req.GetPromptTokens())
	}
	if w := req.GetSweep(); w != nil {
		s.Sweep = resolveSweep(w)
	}
	if c := req.GetConcurrency(); c != nil {
		s.Concurrency = &runner.Concurrency{Levels: ints(c.GetLevels()), Requests: int(c.GetRequests())}
	}
	return s
}

func ints(l []uint32) []int {
	if len(l) == 0 {
		return nil
	}
	out := make([]int, len(l))
	for i, v := range l {
		out[i] = int(v)
	}
	return out
}

// resolveSweep is the runner's form of a request's sweep. The runner
// checks it against the request (bounds, a list beside its scalar field,
// the request's model among the models) when the run starts.
func resolveSweep(w *benchdv1.Sweep) *runner.Sweep {
	return &runner.Sweep{
		Models:       w.GetModels(),
		NumCtx:       ints(w.GetNumCtx()),
		NumGPU:       ints(w.GetNumGpu()),
		NumBatch:     ints(w.GetNumBatch()),
		NumThread:    ints(w.GetNumThread()),
		PromptTokens: ints(w.GetPromptTokens()),
		MaxTokens:    ints(w.GetMaxTokens()),
		Objective:    objective(w.GetObjective()),
		CellTimeout:  w.GetCellTimeout().AsDuration(),
	}
}

// objective maps the wire enum to the runner's; unspecified is eval rate.
func objective(o benchdv1.SweepObjective) runner.Objective {
	switch o {
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_PROMPT_EVAL_RATE:
		return runner.ObjectivePromptEvalRate
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT:
		return runner.ObjectiveTTFT
	default:
		return runner.ObjectiveEvalRate
	}
}

// checkRequest refuses what the runner cannot see after Resolve (its
// settings always hold the defaults): max_tokens in the request and in its
// sweep, repetitions in a concurrency run.
func checkRequest(req *benchdv1.RunBenchmarkRequest) error {
	if req.MaxTokens != nil && len(req.GetSweep().GetMaxTokens()) > 0 {
		return fmt.Errorf("max_tokens is given both in the request and in its sweep: %w", runner.ErrSweepInvalid)
	}
	if req.Repetitions != nil && req.GetConcurrency() != nil {
		return fmt.Errorf("repetitions is given in a concurrency run, whose levels send concurrency.requests each: %w", runner.ErrConcurrencyInvalid)
	}
	return nil
}
