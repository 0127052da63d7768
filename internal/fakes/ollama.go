package fakes

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/benchd/benchd/internal/ollama"
)

// Ollama is a TEST DOUBLE for ollama as the runner sees it (runner.Ollama):
// version 0.9.6, one model "tiny", always loaded; Generate reports three
// tokens and returns a trial of MaxTokens tokens, or with Hang blocks until
// its context ends.
type Ollama struct {
	Hang      bool          // Generate blocks until its context ends
	Started   chan struct{} // receives once per Generate call, if set (never blocks)
	InFlight  atomic.Int32  // Generate calls running now
	Generated atomic.Int32  // Generate calls that returned a trial
}

// Version is ollama's version.
func (f *Ollama) Version(context.Context) (string, error) { return "0.9.6", nil }

// Model knows "tiny" only; others are ollama.ErrModelNotFound.
func (f *Ollama) Model(_ context.Context, name string) (ollama.ModelInfo, error) {
	if name != "tiny" {
		return ollama.ModelInfo{}, fmt.Errorf("model %q: %w", name, ollama.ErrModelNotFound)
	}
	return ollama.ModelInfo{Name: "tiny:latest", Digest: "0ce14aae6e99"}, nil
}

// Loaded says every model is loaded.
func (f *Ollama) Loaded(context.Context, string) (bool, error) { return true, nil }

// Unload does nothing.
func (f *Ollama) Unload(context.Context, string) error { return nil }

// Generate streams tokens 1..3 to onToken, then returns a trial of
// o.MaxTokens tokens, or with Hang waits for ctx and returns its cause.
func (f *Ollama) Generate(ctx context.Context, o ollama.GenerateOptions, onToken func(int)) (ollama.Trial, error) {
	f.InFlight.Add(1)
	defer f.InFlight.Add(-1)
	if f.Started != nil {
		select {
		case f.Started <- struct{}{}:
		default:
		}
	}
	for i := 1; i <= 3; i++ {
		onToken(i)
	}
	if f.Hang {
		<-ctx.Done()
		return ollama.Trial{}, fmt.Errorf("generate: %w", context.Cause(ctx))
	}
	f.Generated.Add(1)
	return ollama.Trial{EvalCount: o.MaxTokens, EvalDuration: time.Millisecond, TotalDuration: 2 * time.Millisecond, DoneReason: "length"}, nil
}
