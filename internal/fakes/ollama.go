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
// it reports those times to first token, impossible ones included. With
// Stream it plays a scripted chunk schedule (stamps and arrivals) instead.
// ListModels reports Inventory.
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
	// a TTFT above that plays a measurement that cannot be right. With
	// Stream they override the TTFT its schedule gives (past the end:
	// the schedule's).
	TTFTs []time.Duration
	// Stream, if set, scripts the chunks of every generation (instead of
	// three unstamped ones): their created_at stamps and their arrival,
	// exact and without waiting.
	Stream *Stream
	// Inventory is what ListModels reports; nil: "tiny", loaded.
	Inventory *ollama.Inventory
	// ListErr, if set, is ListModels' error.
	ListErr error
	// Fail, if set, is asked before each generation; an error it returns
	// is Generate's (a cell that runs out of memory, say).
	Fail func(o ollama.GenerateOptions) error
	// Sent records every generation's options, if set.
	Sent chan ollama.GenerateOptions
	// Block, if set, is asked before each generation; true makes it wait
	// for its context to end, as a model runner that never answers (ollama
	// 0.9.6 with num_thread 1024).
	Block func(o ollama.GenerateOptions) bool
	// Hold, if set, makes each generation wait, after Started, for a
	// receive from it (or its context's end): the test decides when each
	// one finishes.
	Hold chan struct{}
	// MaxInFlight is the most Generate calls that ran at once.
	MaxInFlight atomic.Int32
}

// Stream is a scripted generation: the per-chunk delay schedule of a TEST
// DOUBLE, played back as the times ollama.Client.Generate would have
// recorded, with no real waiting, so that the figures computed from it are
// exact.
type Stream struct {
	// Delays are the gaps on ollama's clock before each output chunk:
	// the first from the handler's start (it is the trial's TTFT), each
	// next from the chunk before.
	Delays []time.Duration
	// Final is the gap from the last output chunk to the final one (the
	// one with the counts).
	Final time.Duration
	// Arrivals, if set, are when each output chunk and then the final one
	// reached benchd, from sending the request (len(Delays)+1 values): a
	// transport that holds chunks back and hands over a burst. Unset:
	// each arrives the moment it is made.
	Arrivals []time.Duration
	// EvalDuration is the trial's eval_duration; 0: the span from the
	// first chunk to the final one, as ollama would measure it.
	EvalDuration time.Duration
	// Unstamped leaves created_at out, as a server other than ollama
	// might.
	Unstamped bool
}

// StreamStart is the moment on ollama's clock a scripted generation's
// handler starts: far from the test's own clock, as a container's may be.
var StreamStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// play returns the trial a Stream makes: its chunks, final chunk, TTFT and
// durations.
func (s *Stream) play() ollama.Trial {
	var (
		t  ollama.Trial
		at time.Duration
	)
	stamp := func(d time.Duration) time.Time {
		if s.Unstamped {
			return time.Time{}
		}
		return StreamStart.Add(d)
	}
	arrival := func(i int, d time.Duration) time.Duration {
		if i < len(s.Arrivals) {
			return s.Arrivals[i]
		}
		return d
	}
	for i, d := range s.Delays {
		at += d
		t.Chunks = append(t.Chunks, ollama.Chunk{Stamp: stamp(at), Arrived: arrival(i, at)})
	}
	at += s.Final
	t.Final = ollama.Chunk{Stamp: stamp(at), Arrived: arrival(len(s.Delays), at)}
	t.TotalDuration, t.Wall = at, t.Final.Arrived
	t.EvalCount = len(s.Delays)
	t.EvalDuration = s.EvalDuration
	if len(s.Delays) > 0 {
		t.TTFT, t.ReceivedTTFT = s.Delays[0], t.Chunks[0].Arrived
		if t.EvalDuration == 0 {
			t.EvalDuration = at - s.Delays[0]
		}
	}
	t.OllamaClock = !s.Unstamped
	if s.Unstamped {
		t.TTFT = t.ReceivedTTFT
	}
	t.DoneReason = "length"
	return t
}

// TinyDigest is the digest the double gives "tiny" (the rig's own).
const TinyDigest = "0ce14aae6e99ff5ad23ee7096d07a71eba67c9354c08e565b2601ef6b06f1177"

// ListModels reports Inventory, or "tiny" (2048 tokens of context) loaded
// until an hour from now.
func (f *Ollama) ListModels(context.Context) (ollama.Inventory, error) {
	if f.ListErr != nil {
		return ollama.Inventory{}, f.ListErr
	}
	if f.Inventory != nil {
		return *f.Inventory, nil
	}
	info := ollama.ModelInfo{Name: "tiny:latest", Digest: TinyDigest, Family: "llama", Format: "gguf",
		ParameterSize: "123K", QuantizationLevel: "unknown"}
	return ollama.Inventory{
		Models: []ollama.Installed{{ModelInfo: info, Size: 500206, ModifiedAt: StreamStart, ContextLength: 2048}},
		Loaded: []ollama.Loaded{{ModelInfo: info, Size: 91278080, ExpiresAt: time.Now().Add(time.Hour)}},
	}, nil
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
	for n := f.InFlight.Add(1); ; {
		old := f.MaxInFlight.Load()
		if n <= old || f.MaxInFlight.CompareAndSwap(old, n) {
			break
		}
	}
	defer f.InFlight.Add(-1)
	if f.Sent != nil {
		select {
		case f.Sent <- o:
		default:
		}
	}
	if f.Fail != nil {
		if err := f.Fail(o); err != nil {
			return ollama.Trial{}, err
		}
	}
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
	if f.Block != nil && f.Block(o) {
		<-ctx.Done()
		return ollama.Trial{}, fmt.Errorf("generate: %w", context.Cause(ctx))
	}
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-ctx.Done():
			return ollama.Trial{}, fmt.Errorf("generate: %w", context.Cause(ctx))
		}
	}
	chunks := 3
	if f.Stream != nil {
		chunks = len(f.Stream.Delays)
	}
	for i := 1; i <= chunks; i++ {
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
	if f.Stream != nil {
		t := f.Stream.play()
		t.PromptEvalCount = counted
		if n < len(f.TTFTs) {
			t.TTFT = ttft
		}
		return t, nil
	}
	return ollama.Trial{PromptEvalCount: counted, EvalCount: o.MaxTokens, EvalDuration: time.Millisecond, TotalDuration: 2 * time.Millisecond,
		TTFT: ttft, ReceivedTTFT: ttft, OllamaClock: true, DoneReason: "length"}, nil
}
