// Package bench runs one benchmark: warm-up and measured trials of a model,
// VRAM sampled during each trial, statistics over the measured ones. It
// admits one benchmark at a time, because two would share the GPU and spoil
// each other's numbers.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/benchd/benchd/service/ollama"
	"github.com/benchd/benchd/service/stats"
	"github.com/benchd/benchd/service/vram"
)

// DefaultPrompt is used when a request names none.
const DefaultPrompt = "Write a short story about a lighthouse keeper who finds a message in a bottle."

// Settings is a request with every default resolved.
type Settings struct {
	Model        string
	Prompts      []string
	Repetitions  int
	Warmup       int
	MaxTokens    int
	NumCtx       int // 0: the model's default
	Temperature  float64
	Seed         int64
	Timeout      time.Duration
	VRAMInterval time.Duration // 0: no sampling
}

// Ollama is what a benchmark needs from the ollama server.
type Ollama interface {
	Version(ctx context.Context) (string, error)
	Model(ctx context.Context, name string) (ollama.ModelInfo, error)
	Generate(ctx context.Context, o ollama.GenerateOptions, onToken func(n int)) (ollama.Trial, error)
}

// Container reports whether the container that serves ollama is usable; nil
// when ollama is reached over plain HTTP.
type Container interface {
	CheckContainer(ctx context.Context) error
}

// BusyError says another benchmark holds the GPU.
type BusyError struct {
	ID    string
	Model string
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("benchmark %s of model %q is running", e.ID, e.Model)
}

// Event is one step of a benchmark; exactly one field is set.
type Event struct {
	Started  *Started
	Progress *Progress
	Trial    *Trial
	Finished *Finished
}

type Started struct {
	ID            string
	Model         string
	Info          ollama.ModelInfo
	OllamaVersion string
	GPUs          []vram.GPU
	Settings      Settings
	At            time.Time
}

type Progress struct {
	Index     int
	Warmup    bool
	Tokens    int
	MaxTokens int
}

type Trial struct {
	Index       int
	Warmup      bool
	PromptIndex int
	ollama.Trial
	// PeakVRAM is the highest used bytes per GPU index during the trial.
	PeakVRAM map[int]uint64
}

// PeakVRAMTotal sums the per-GPU peaks.
func (t *Trial) PeakVRAMTotal() uint64 {
	var sum uint64
	for _, v := range t.PeakVRAM {
		sum += v
	}
	return sum
}

type Finished struct {
	ID      string
	Trials  int
	Summary Summary
	At      time.Time
}

// Summary holds the statistics of each metric over the measured trials.
type Summary struct {
	EvalRate, PromptEvalRate                 stats.Summary
	TTFT, Wall                               stats.Summary
	TotalDuration, LoadDuration              stats.Summary
	PromptEvalDuration, EvalDuration         stats.Summary
	EvalCount, PromptEvalCount, PeakVRAMUsed stats.Summary
}

// Runner runs benchmarks, one at a time.
type Runner struct {
	ollama    Ollama
	container Container
	vram      vram.Reader
	log       *slog.Logger

	mu     sync.Mutex
	active *BusyError
}

// NewRunner wires a Runner. container and reader may be nil.
func NewRunner(o Ollama, container Container, reader vram.Reader, log *slog.Logger) *Runner {
	return &Runner{ollama: o, container: container, vram: reader, log: log}
}

// progressEvery throttles progress events: enough for a live progress line,
// few enough that a slow client cannot make the stream the bottleneck.
const progressEvery = 200 * time.Millisecond

// Run executes the benchmark, calling emit for each event in order. It
// returns a *BusyError when another benchmark runs, the error of the first
// failing step otherwise. Cancelling ctx stops the running generation.
func (r *Runner) Run(ctx context.Context, s Settings, emit func(Event) error) error {
	id := newID()
	if err := r.acquire(id, s.Model); err != nil {
		return err
	}
	defer r.release()

	ctx, cancel := context.WithTimeoutCause(ctx, s.Timeout,
		fmt.Errorf("benchmark timeout of %s reached: %w", s.Timeout, context.DeadlineExceeded))
	defer cancel()

	if r.container != nil {
		if err := r.container.CheckContainer(ctx); err != nil {
			return err
		}
	}
	version, err := r.ollama.Version(ctx)
	if err != nil {
		return err
	}
	info, err := r.ollama.Model(ctx, s.Model)
	if err != nil {
		return err
	}
	var gpus []vram.GPU
	if r.vram != nil {
		// GPUs are context for the reader of the results; a failing source
		// must not stop a benchmark.
		if gpus, err = r.vram.Read(ctx); err != nil {
			r.log.WarnContext(ctx, "read VRAM before benchmark", "err", err)
		}
	}
	if err := emit(Event{Started: &Started{
		ID: id, Model: s.Model, Info: info, OllamaVersion: version,
		GPUs: gpus, Settings: s, At: time.Now(),
	}}); err != nil {
		return err
	}

	total := s.Warmup + s.Repetitions
	var measured []*Trial
	for i := range total {
		t, err := r.trial(ctx, s, i, emit)
		if err != nil {
			return fmt.Errorf("trial %d of %d: %w", i+1, total, err)
		}
		if err := emit(Event{Trial: t}); err != nil {
			return err
		}
		if !t.Warmup {
			measured = append(measured, t)
		}
	}
	return emit(Event{Finished: &Finished{ID: id, Trials: len(measured), Summary: summarize(measured), At: time.Now()}})
}

func (r *Runner) trial(ctx context.Context, s Settings, i int, emit func(Event) error) (*Trial, error) {
	warmup := i < s.Warmup
	pi := i % len(s.Prompts)
	var sampler *vram.Sampler
	if r.vram != nil && s.VRAMInterval > 0 {
		var err error
		if sampler, err = vram.StartSampler(ctx, r.vram, s.VRAMInterval); err != nil {
			return nil, fmt.Errorf("start VRAM sampler: %w", err)
		}
	}
	var (
		last    time.Time
		emitErr error
	)
	gctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res, err := r.ollama.Generate(gctx, ollama.GenerateOptions{
		Model: s.Model, Prompt: s.Prompts[pi], MaxTokens: s.MaxTokens,
		NumCtx: s.NumCtx, Temperature: s.Temperature, Seed: s.Seed,
	}, func(n int) {
		if now := time.Now(); now.Sub(last) >= progressEvery {
			last = now
			if err := emit(Event{Progress: &Progress{Index: i, Warmup: warmup, Tokens: n, MaxTokens: s.MaxTokens}}); err != nil && emitErr == nil {
				emitErr = err
				cancel(err)
			}
		}
	})
	var peak map[int]uint64
	if sampler != nil {
		sr := sampler.Stop()
		peak = sr.Peak
		if sr.Failures > 0 {
			r.log.WarnContext(ctx, "VRAM samples failed during trial", "trial", i, "failures", sr.Failures, "err", sr.FirstErr)
		}
	}
	if emitErr != nil {
		return nil, emitErr
	}
	if err != nil {
		return nil, err
	}
	return &Trial{Index: i, Warmup: warmup, PromptIndex: pi, Trial: res, PeakVRAM: peak}, nil
}

func (r *Runner) acquire(id, model string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active != nil {
		busy := *r.active
		return &busy
	}
	r.active = &BusyError{ID: id, Model: model}
	return nil
}

func (r *Runner) release() {
	r.mu.Lock()
	r.active = nil
	r.mu.Unlock()
}

// newID returns a sortable, unique benchmark id: start time plus randomness.
func newID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func summarize(ts []*Trial) Summary {
	col := func(f func(*Trial) float64) stats.Summary {
		xs := make([]float64, len(ts))
		for i, t := range ts {
			xs[i] = f(t)
		}
		return stats.Summarize(xs)
	}
	ns := func(d time.Duration) float64 { return float64(d.Nanoseconds()) }
	return Summary{
		EvalRate:           col(func(t *Trial) float64 { return t.EvalRate() }),
		PromptEvalRate:     col(func(t *Trial) float64 { return t.PromptEvalRate() }),
		TTFT:               col(func(t *Trial) float64 { return ns(t.TTFT) }),
		Wall:               col(func(t *Trial) float64 { return ns(t.Wall) }),
		TotalDuration:      col(func(t *Trial) float64 { return ns(t.TotalDuration) }),
		LoadDuration:       col(func(t *Trial) float64 { return ns(t.LoadDuration) }),
		PromptEvalDuration: col(func(t *Trial) float64 { return ns(t.PromptEvalDuration) }),
		EvalDuration:       col(func(t *Trial) float64 { return ns(t.EvalDuration) }),
		EvalCount:          col(func(t *Trial) float64 { return float64(t.EvalCount) }),
		PromptEvalCount:    col(func(t *Trial) float64 { return float64(t.PromptEvalCount) }),
		PeakVRAMUsed:       col(func(t *Trial) float64 { return float64(t.PeakVRAMTotal()) }),
	}
}

// SortedPeaks returns the per-GPU peaks ordered by GPU index.
func SortedPeaks(peak map[int]uint64) []int {
	idx := make([]int, 0, len(peak))
	for k := range peak {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	return idx
}

// IsBusy reports whether err says another benchmark is running.
func IsBusy(err error) (*BusyError, bool) {
	var b *BusyError
	ok := errors.As(err, &b)
	return b, ok
}
