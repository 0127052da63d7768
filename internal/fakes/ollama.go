package fakes

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benchd/benchd/internal/ollama"
)

// Ollama is a TEST DOUBLE for ollama as the runner sees it (runner.Ollama):
// version 0.9.6, one model "tiny", always loaded; Generate reports three
// tokens and returns a trial of MaxTokens tokens, or with Hang blocks until
// its context ends (a server that stops sending mid-stream). With TTFTs
// it reports those times to first token, impossible ones included.
//
// With Context set it also plays ollama's prompt counting: one token a
// word, and a prompt longer than Context (or than the request's num_ctx,
// if smaller) cut to it, as ollama cuts a prompt to its context.
type Ollama struct {
	Hang      bool          // Generate blocks until its context ends
	Started   chan struct{} // receives once per Generate call, if set (never blocks)
	InFlight  atomic.Int32  // Generate calls running now
	Generated atomic.Int32  // Generate calls that returned a trial
	// Context is the context length Generate cuts prompts to; 0: prompts
	// are not counted (prompt_eval_count 0).
	Context int
	// ContextLen is what ContextLength reports for "tiny" (0: unknown).
	ContextLen int
	// LongestPrompt is the largest prompt Generate was sent, in bytes.
	LongestPrompt atomic.Int64
	// TTFTs are the TTFT of each Generate call that returns a trial, in
	// order (past the end: 0). Against the trials' total duration of 2 ms,
	// a TTFT above that plays a measurement that cannot be right.
	TTFTs []time.Duration
}

// ContextLength reports ContextLen, as ollama's /api/show would.
func (f *Ollama) ContextLength(_ context.Context, name string) (int, error) {
	if name != "tiny" {
		return 0, fmt.Errorf("model %q: %w", name, ollama.ErrModelNotFound)
	}
	return f.ContextLen, nil
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
	for {
		old := f.LongestPrompt.Load()
		if int64(len(o.Prompt)) <= old || f.LongestPrompt.CompareAndSwap(old, int64(len(o.Prompt))) {
			break
		}
	}
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
	n := int(f.Generated.Add(1)) - 1
	var ttft time.Duration
	if n < len(f.TTFTs) {
		ttft = f.TTFTs[n]
	}
	var counted int
	if f.Context > 0 {
		limit := f.Context
		if o.NumCtx > 0 {
			limit = min(limit, o.NumCtx)
		}
		counted = min(len(strings.Fields(o.Prompt)), limit)
	}
	return ollama.Trial{PromptEvalCount: counted, EvalCount: o.MaxTokens, EvalDuration: time.Millisecond, TotalDuration: 2 * time.Millisecond,
		TTFT: ttft, ReceivedTTFT: ttft, OllamaClock: true, DoneReason: "length"}, nil
}
