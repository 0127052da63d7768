package service

import (
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
	return s
}
