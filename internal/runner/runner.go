// Package runner runs one benchmark: warm-up and measured trials of a model,
// VRAM sampled during each trial, statistics over the measured ones. It
// admits one benchmark at a time, because two would share the GPU and spoil
// each other's numbers.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/benchd/benchd/internal/energy"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/vram"
)

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
	// idleW is the idle power measured before the first trial (the
	// baseline of net energy); set by the runner, not by the request.
	idleW vram.Value
	// Cold unloads the model before every trial.
	Cold bool
	// PromptTokens > 0 replaces Prompts with a synthetic prompt of about
	// that many tokens.
	PromptTokens int
	// Load settings (see ollama.GenerateOptions): nil / 0 leave them to
	// ollama.
	NumGPU              *int
	NumBatch, NumThread int
	// Sweep, when set, makes the run a sweep (see sweep.go).
	Sweep *Sweep
	// Concurrency, when set, makes the run a concurrency run (see
	// concurrency.go).
	Concurrency *Concurrency
}

// Ollama is what a benchmark needs from the ollama server.
type Ollama interface {
	Version(ctx context.Context) (string, error)
	Model(ctx context.Context, name string) (ollama.ModelInfo, error)
	Generate(ctx context.Context, o ollama.GenerateOptions, onToken func(n int)) (ollama.Trial, error)
	Loaded(ctx context.Context, model string) (bool, error)
	Unload(ctx context.Context, model string) error
}

// Container reports whether the container that serves ollama is usable; nil
// when ollama is reached over plain HTTP.
type Container interface {
	CheckContainer(ctx context.Context) error
}

// Domain errors; the gRPC edge chooses their codes.
var (
	// ErrPromptTooLong: prompt_tokens asks for more than the context
	// holds.
	ErrPromptTooLong = errors.New("the synthetic prompt would not fit the context")
	// ErrStalled: a generation sent no token for the stall timeout.
	ErrStalled = errors.New("ollama sent no token")
)

// contextLengther is what an Ollama may also offer: the model's context
// length, 0 when unknown (the real client asks /api/show).
type contextLengther interface {
	ContextLength(ctx context.Context, model string) (int, error)
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
	// Sweeps only.
	CellStarted  *CellStarted
	CellFinished *Cell
	// Concurrency runs only.
	LevelStarted  *LevelStarted
	LevelFinished *Level
}

type Started struct {
	ID            string
	Model         string
	Info          ollama.ModelInfo
	OllamaVersion string
	GPUs          []vram.GPU
	Settings      Settings
	At            time.Time
	Machine       Machine
	// NumParallel is OLLAMA_NUM_PARALLEL as the container is configured
	// (see NumParallelDefault, NumParallelUnknown).
	NumParallel string
	// Idle is the GPUs' idle power before the first trial; nil when no
	// GPU reports power.
	Idle *IdlePower
}

// Machine describes the host for reproducing or comparing a run.
type Machine struct {
	Hostname, Kernel, BenchdVersion string
}

type Progress struct {
	Cell      int // sweeps only
	Index     int
	Warmup    bool
	Tokens    int
	MaxTokens int
}

type Trial struct {
	Cell        int // sweeps only: the cell; Index counts within it
	Level       int // concurrency runs only: the level; Index counts within it
	Index       int
	Warmup      bool
	PromptIndex int
	ollama.Trial
	// PeakVRAM is the highest used bytes per GPU index during the trial.
	PeakVRAM map[int]uint64
	// VRAM is the timeline sampled during the trial.
	VRAM []vram.Sample
	// LoadedAtStart: the model was in memory when the trial began.
	LoadedAtStart bool
	// PromptPrefix made this trial's prompt unlike the previous ones.
	PromptPrefix string
	// Invalid, when not empty, says why the trial's figures are
	// impossible (see invalidReason); such a trial is recorded but left
	// out of the summary.
	Invalid string
	// Timing is how the tokens were streamed; nil when no output chunk
	// came. (The chunks it is computed from are dropped: Trial.Chunks is
	// nil.)
	Timing *TokenTiming
	// DecodeMismatch, when not empty, says how the stream's decode time
	// disagrees with ollama's eval_duration (see decodeMismatch); the trial
	// stays in the summary.
	DecodeMismatch string
	// SentAt is when the request was sent (benchd's clock); Queue the
	// time it waited in ollama for a parallel slot (see queueTime).
	SentAt time.Time
	Queue  time.Duration
	// Energy is what the GPUs drew during the trial; nil without power
	// readings (and for a concurrency level's requests, which overlap:
	// the level has the energy).
	Energy *energy.Span
}

// invalidReason says why a trial's figures are impossible, "" when they
// are not. The first token cannot come after ollama finished: a TTFT larger
// than total_duration means the measurement, not ollama, was wrong (before
// TTFT was taken on ollama's clock, Docker's exec stdio holding the stream
// did this; docs/performance.md, "TTFT on the way").
func invalidReason(t ollama.Trial) string {
	if t.TotalDuration > 0 && t.TTFT > t.TotalDuration {
		how := "on ollama's clock"
		if !t.OllamaClock {
			how = "as received by benchd; ollama's timestamps were unusable"
		}
		return fmt.Sprintf("ttft %v (%s) exceeds ollama's total_duration %v", t.TTFT, how, t.TotalDuration)
	}
	return ""
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
	// Unstable, when not empty, names the headline metrics whose
	// coefficient of variation exceeds stats.UnstableCV (see
	// unstableReason).
	Unstable string
	// DecodeMismatches counts the measured trials with a DecodeMismatch.
	DecodeMismatches int
	// Sweeps only: the best cell's index (-1: none qualified), the
	// objective and the failed cells.
	Sweep       bool
	BestCell    int
	Objective   Objective
	CellsFailed int
}

// Summary holds the statistics of each metric over the measured trials.
type Summary struct {
	EvalRate, PromptEvalRate                 stats.Summary
	TTFT, Wall                               stats.Summary
	TotalDuration, LoadDuration              stats.Summary
	PromptEvalDuration, EvalDuration         stats.Summary
	EvalCount, PromptEvalCount, PeakVRAMUsed stats.Summary
	// Token timing, over the trials that have it.
	TPOT, ITLP50, ITLP99, LongestStall stats.Summary
	// Energy is the sum over the measured trials that have it, and
	// JoulesPerToken their joules per output token; nil / n 0 without.
	Energy         *energy.Span
	JoulesPerToken stats.Summary
}

// Observer is told of a run synchronously, in order: Begin before Start
// returns, each event as it happens (progress included), End once the run
// has stopped. The history package records and fans out runs through it, so
// each trial is durable before anyone reads it.
type Observer interface {
	Begin(run *Run)
	Event(run *Run, ev Event)
	End(run *Run, err error)
}

// Runner runs benchmarks, one at a time. Runs belong to the Runner, not to
// the call that started them: a caller that leaves does not stop a run.
type Runner struct {
	ollama    Ollama
	container Container
	vram      vram.Reader
	log       *slog.Logger
	machine   Machine
	stall     time.Duration
	idle      time.Duration
	base      context.Context
	stop      context.CancelCauseFunc
	runs      sync.WaitGroup

	mu     sync.Mutex
	active *Run
}

// Config wires a Runner. Container and VRAM may be nil.
type Config struct {
	Ollama    Ollama
	Container Container
	VRAM      vram.Reader
	Log       *slog.Logger
	Machine   Machine
	// StallTimeout ends a generation that has sent its first token and
	// then none for this long, with ErrStalled; 0: only the request's
	// timeout ends it. The wait for the first token (a model load, a long
	// prompt) is not a stall.
	StallTimeout time.Duration
	// IdleBaseline is how long the GPUs' idle power is sampled before the
	// first trial when they report power; 0: DefaultIdleBaseline,
	// negative: not measured.
	IdleBaseline time.Duration
}

// NewRunner returns a Runner.
func NewRunner(c Config) *Runner {
	base, stop := context.WithCancelCause(context.Background())
	idle := c.IdleBaseline
	if idle == 0 {
		idle = DefaultIdleBaseline
	}
	return &Runner{ollama: c.Ollama, container: c.Container, vram: c.VRAM, log: c.Log, machine: c.Machine,
		stall: c.StallTimeout, idle: idle, base: base, stop: stop}
}

// Shutdown cancels the running benchmark with cause (which should wrap
// context.Canceled so it is recorded as cancelled), refuses new ones, and
// waits until the run has been recorded.
func (r *Runner) Shutdown(cause error) {
	r.stop(cause)
	r.runs.Wait()
}

// trialReadPace batches a trial's streamed chunks (ollama.GenerateOptions
// .ReadPace): a trial's figures are on ollama's clock, so reading at most
// 50 times a second costs none of them and cuts benchd's CPU per token
// severalfold (docs/performance.md). Its cost: a trial's wall time, and
// the moment a stall or the end is noticed, up to this much later.
const trialReadPace = 20 * time.Millisecond

// progressEvery throttles progress events: enough for a live progress line,
// few enough that a slow client cannot make the stream the bottleneck.
const progressEvery = 200 * time.Millisecond

// Start begins a benchmark in the background. It returns a *BusyError when
// another one runs.
func (r *Runner) Start(s Settings, obs Observer) (*Run, error) {
	if s.Concurrency != nil {
		if err := s.Concurrency.check(s); err != nil {
			return nil, err
		}
	}
	if s.Sweep != nil {
		cells, err := s.Sweep.Cells(s)
		if err != nil {
			return nil, err
		}
		// The record keeps the cell timeout used, the default too.
		w := *s.Sweep
		w.CellTimeout = w.cellTimeout(s.Timeout, len(cells))
		s.Sweep = &w
	} else if s.PromptTokens > 0 && s.NumCtx > 0 && s.PromptTokens > s.NumCtx {
		return nil, fmt.Errorf("prompt_tokens %d is larger than num_ctx %d: %w", s.PromptTokens, s.NumCtx, ErrPromptTooLong)
	}
	ctx, cancel := context.WithCancelCause(r.base)
	run := &Run{
		ID: newID(), Model: s.Model, Settings: s,
		cancel: cancel, done: make(chan struct{}),
	}
	r.mu.Lock()
	if r.active != nil {
		busy := &BusyError{ID: r.active.ID, Model: r.active.Model}
		r.mu.Unlock()
		cancel(nil)
		return nil, busy
	}
	if err := context.Cause(r.base); err != nil {
		r.mu.Unlock()
		cancel(nil)
		return nil, err
	}
	r.active = run
	r.runs.Add(1)
	r.mu.Unlock()
	if obs != nil {
		obs.Begin(run)
	}

	go func() {
		defer r.runs.Done()
		err := r.run(ctx, run, obs)
		cancel(nil)
		// The slot is free before End: End ends the run's streams, and a
		// client that starts the next run as soon as it has this one's
		// outcome must not find it still taken.
		r.mu.Lock()
		r.active = nil
		r.mu.Unlock()
		if obs != nil {
			obs.End(run, err)
		}
		run.finish(err)
	}()
	return run, nil
}

// Active returns the running benchmark with that id, or nil.
func (r *Runner) Active(id string) *Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.active != nil && r.active.ID == id {
		return r.active
	}
	return nil
}

func (r *Runner) run(ctx context.Context, run *Run, obs Observer) error {
	s := run.Settings
	ctx, cancel := context.WithTimeoutCause(ctx, s.Timeout,
		fmt.Errorf("benchmark timeout of %s reached: %w", s.Timeout, context.DeadlineExceeded))
	defer cancel()
	emit := func(ev Event) {
		if obs != nil {
			obs.Event(run, ev)
		}
	}

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
	ctxLen, err := r.contextLength(ctx, s)
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
	if r.vram != nil && s.VRAMInterval > 0 {
		// An exec'd source runs at most once a second (vram.Limit); a
		// shorter interval would record the same reading many times. The
		// started event carries the interval used.
		s.VRAMInterval = max(s.VRAMInterval, vram.MinInterval(r.vram.Source()))
	}
	idle, err := r.idleBaseline(ctx, s, gpus)
	if err != nil {
		return err
	}
	if idle != nil {
		s.idleW = vram.Of(idle.Watts)
	}
	emit(Event{Started: &Started{
		ID: run.ID, Model: s.Model, Info: info, OllamaVersion: version,
		GPUs: gpus, Settings: s, At: time.Now(), Machine: r.machine,
		NumParallel: r.numParallel(ctx), Idle: idle,
	}})

	switch {
	case s.Sweep != nil:
		return r.sweep(ctx, run, s, emit)
	case s.Concurrency != nil:
		return r.concurrency(ctx, run, s, ctxLen, emit)
	}
	measured, err := r.trials(ctx, run.ID, s, ctxLen, -1, emit)
	if err != nil {
		return err
	}
	emit(Event{Finished: r.finished(ctx, run.ID, measured)})
	return nil
}

// trials runs s's warm-up and measured trials (of one cell, cell >= 0, in
// a sweep) and returns the measured valid ones.
func (r *Runner) trials(ctx context.Context, seed string, s Settings, ctxLen, cell int, emit func(Event)) ([]*Trial, error) {
	prompts := newPrompter(seed, s, ctxLen)
	total := s.Warmup + s.Repetitions
	var measured []*Trial
	for i := range total {
		t, err := r.trial(ctx, s, i, max(cell, 0), prompts, emit)
		if err != nil {
			return measured, fmt.Errorf("trial %d of %d: %w", i+1, total, err)
		}
		prompts.observe(t)
		if t.Invalid != "" {
			r.log.WarnContext(ctx, "trial invalid, left out of the summary", "trial", i, "reason", t.Invalid)
		}
		emit(Event{Trial: t})
		if !t.Warmup && t.Invalid == "" {
			measured = append(measured, t)
		}
	}
	return measured, nil
}

// finished summarises measured trials.
func (r *Runner) finished(ctx context.Context, id string, measured []*Trial) *Finished {
	sum := summarize(measured)
	fin := &Finished{ID: id, Trials: len(measured), Summary: sum, At: time.Now(), Unstable: unstableReason(sum), BestCell: -1}
	for _, t := range measured {
		if t.DecodeMismatch != "" {
			fin.DecodeMismatches++
		}
	}
	if fin.Unstable != "" {
		r.log.WarnContext(ctx, "run unstable", "reason", fin.Unstable)
	}
	return fin
}

// contextLength is the context a synthetic prompt must fit: num_ctx when
// the request gives one, else the model's own context length when ollama
// says, else 0 (unknown; the prompter then learns it from ollama's
// counts). A prompt_tokens beyond the model's context is refused.
func (r *Runner) contextLength(ctx context.Context, s Settings) (int, error) {
	if s.PromptTokens <= 0 || s.NumCtx > 0 {
		return s.NumCtx, nil
	}
	cl, ok := r.ollama.(contextLengther)
	if !ok {
		return 0, nil
	}
	n, err := cl.ContextLength(ctx, s.Model)
	if err != nil {
		return 0, err
	}
	if n > 0 && s.PromptTokens > n {
		return 0, fmt.Errorf("prompt_tokens %d is larger than %s's context length %d (num_ctx not given): %w", s.PromptTokens, s.Model, n, ErrPromptTooLong)
	}
	return n, nil
}

func (r *Runner) trial(ctx context.Context, s Settings, i, cell int, prompts *prompter, emit func(Event)) (*Trial, error) {
	warmup := i < s.Warmup
	if s.Cold {
		if err := r.ollama.Unload(ctx, s.Model); err != nil {
			return nil, err
		}
	}
	loaded, err := r.ollama.Loaded(ctx, s.Model)
	if err != nil {
		return nil, err
	}
	pi, prefix, prompt := prompts.next(i)

	var sampler *vram.Sampler
	spanStart := time.Now()
	if r.vram != nil && s.VRAMInterval > 0 {
		if sampler, err = vram.StartSampler(ctx, r.vram, s.VRAMInterval); err != nil {
			return nil, fmt.Errorf("start VRAM sampler: %w", err)
		}
	}
	var last time.Time
	t, err := r.request(ctx, s, prompt, trialReadPace, func(n int) {
		if now := time.Now(); now.Sub(last) >= progressEvery {
			last = now
			emit(Event{Progress: &Progress{Cell: cell, Index: i, Warmup: warmup, Tokens: n, MaxTokens: s.MaxTokens}})
		}
	})
	t.Cell, t.Index, t.Warmup, t.PromptIndex, t.LoadedAtStart, t.PromptPrefix = cell, i, warmup, pi, loaded, prefix
	t.Chunks = nil // up to 32 bytes a token; the timing is what is kept
	spanEnd := time.Now()
	if sampler != nil {
		sr := sampler.Stop()
		t.Energy = spanEnergy(sr.Samples, spanStart, spanEnd, t.EvalCount, s.idleW)
		t.PeakVRAM, t.VRAM = sr.Peak, thinTimeline(sr.Samples, maxTimelineSamples)
		if sr.Failures > 0 {
			r.log.WarnContext(ctx, "VRAM samples failed during trial", "trial", i, "failures", sr.Failures, "err", sr.FirstErr)
		}
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// request sends one generation with s's settings and makes its Trial:
// validity, token timing, the decode check and the queue time. The trial's
// Chunks are left for the caller to drop; on error the Trial holds what
// ollama.Generate returned. pace is ollama.GenerateOptions.ReadPace.
func (r *Runner) request(ctx context.Context, s Settings, prompt string, pace time.Duration, progress func(n int)) (*Trial, error) {
	sent := time.Now()
	gctx, tokens, stop := r.watchStall(ctx)
	res, err := r.ollama.Generate(gctx, ollama.GenerateOptions{
		Model: s.Model, Prompt: prompt, MaxTokens: s.MaxTokens,
		NumCtx: s.NumCtx, Temperature: s.Temperature, Seed: s.Seed,
		NumGPU: s.NumGPU, NumBatch: s.NumBatch, NumThread: s.NumThread,
		ReadPace: pace,
	}, func(n int) {
		tokens()
		progress(n)
	})
	stop()
	t := &Trial{Trial: res, SentAt: sent}
	if err != nil {
		return t, err
	}
	t.Invalid = invalidReason(res)
	t.Timing = tokenTiming(res)
	t.DecodeMismatch = decodeMismatch(res, t.Timing)
	t.Queue = queueTime(res)
	if t.DecodeMismatch != "" {
		r.log.WarnContext(ctx, "trial's decode time disagrees with ollama's", "reason", t.DecodeMismatch)
	}
	return t, nil
}

// queueTime is how long a request waited in ollama for a parallel slot:
// the time to its first token less what ollama accounts for in it, the
// wait for a loaded model (load_duration) and the prompt's processing
// (prompt_eval_duration); never negative. (ollama 0.9.6 takes a slot
// after load_duration's end, in its llm server, before the runner starts
// on the prompt; benchd.v1.Trial.queue_ns says what else is in it.)
func queueTime(t ollama.Trial) time.Duration {
	return max(t.TTFT-t.LoadDuration-t.PromptEvalDuration, 0)
}

// watchStall returns a context for one generation that ends with
// ErrStalled when, after the first token, StallTimeout passes without
// another; token is to be called on each token, and stop once the
// generation has returned.
func (r *Runner) watchStall(ctx context.Context) (gctx context.Context, token func(), stop func()) {
	if r.stall <= 0 {
		return ctx, func() {}, func() {}
	}
	gctx, cancel := context.WithCancelCause(ctx)
	stalled := fmt.Errorf("%w for %s mid-generation (benchd --stall-timeout); ollama or its model runner hangs", ErrStalled, r.stall)
	var (
		mu    sync.Mutex
		timer *time.Timer
	)
	token = func() {
		mu.Lock()
		defer mu.Unlock()
		if timer == nil {
			timer = time.AfterFunc(r.stall, func() { cancel(stalled) })
		} else {
			timer.Reset(r.stall)
		}
	}
	stop = func() {
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(nil)
	}
	return gctx, token, stop
}

// Run is one benchmark in progress. Its events go to the Observer given to
// Start; the Run itself is the handle to stop it and learn how it ended.
type Run struct {
	ID       string
	Model    string
	Settings Settings

	cancel context.CancelCauseFunc
	done   chan struct{}

	mu  sync.Mutex
	err error
}

// Cancel stops the run; cause is what it ends with.
func (r *Run) Cancel(cause error) { r.cancel(cause) }

// Done is closed when the run has ended and been recorded.
func (r *Run) Done() <-chan struct{} { return r.done }

// Err is the run's outcome once Done is closed.
func (r *Run) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Run) finish(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
	close(r.done)
}

// newID returns a unique benchmark id that sorts by start time: the UTC
// second, then 4 hex digits of the fraction of that second (1/65536 s) and
// 4 random ones. The history store lists by id, so ids started within one
// second must still sort in order.
func newID() string {
	now := time.Now().UTC()
	var b [2]byte
	_, _ = rand.Read(b[:])
	frac := uint16(uint64(now.Nanosecond()) * 65536 / uint64(time.Second))
	return fmt.Sprintf("%s-%04x%s", now.Format("20060102T150405Z"), frac, hex.EncodeToString(b[:]))
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
		PeakVRAMUsed:       peakVRAMSummary(ts),
		Energy:             measuredEnergy(ts),
		JoulesPerToken:     joulesPerTokenSummary(ts),
		TPOT:               timingSummary(ts, func(tt *TokenTiming) time.Duration { return tt.TPOT }),
		ITLP50:             timingSummary(ts, func(tt *TokenTiming) time.Duration { return tt.ITLP50 }),
		ITLP99:             timingSummary(ts, func(tt *TokenTiming) time.Duration { return tt.ITLP99 }),
		LongestStall:       timingSummary(ts, func(tt *TokenTiming) time.Duration { return tt.LongestStall }),
	}
}

// timingSummary is over the trials with token timing of at least two
// chunks (a single chunk has no gaps); N is 0 when none had.
func timingSummary(ts []*Trial, f func(*TokenTiming) time.Duration) stats.Summary {
	var xs []float64
	for _, t := range ts {
		if t.Timing != nil && t.Timing.Chunks >= 2 {
			xs = append(xs, float64(f(t.Timing)))
		}
	}
	return stats.Summarize(xs)
}

// unstableMetrics are the metrics whose spread makes a run unstable: the
// two an optimisation is judged by, throughput and latency. Names are the
// proto's (BenchmarkFinished's fields).
var unstableMetrics = []struct {
	name string
	get  func(Summary) stats.Summary
}{
	{"eval_rate", func(s Summary) stats.Summary { return s.EvalRate }},
	{"ttft_ns", func(s Summary) stats.Summary { return s.TTFT }},
}

// unstableReason names each of unstableMetrics whose coefficient of
// variation exceeds stats.UnstableCV, with it; "" when none does.
func unstableReason(s Summary) string {
	var parts []string
	for _, m := range unstableMetrics {
		if cv := m.get(s).CV; cv > stats.UnstableCV {
			parts = append(parts, fmt.Sprintf("%s cv %.1f%%", m.name, 100*cv))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf("%s (over %.0f%%)", strings.Join(parts, ", "), 100*stats.UnstableCV)
}

// peakVRAMSummary is over the trials that had VRAM samples: a trial without
// any (sampling off, or no source works on this host) has no peak, not a
// peak of 0 bytes. N is 0 when no trial had one.
func peakVRAMSummary(ts []*Trial) stats.Summary {
	var xs []float64
	for _, t := range ts {
		if len(t.PeakVRAM) > 0 {
			xs = append(xs, float64(t.PeakVRAMTotal()))
		}
	}
	return stats.Summarize(xs)
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

// maxTimelineSamples bounds the VRAM timeline a trial stores. The peak is
// taken from every sample; the timeline is for charts, and unthinned a long
// trial at a short interval (an hour at 10 ms: 360,000 samples) would make
// one record larger than a response may be (4 MiB) and every per-trial
// write of it slow.
const maxTimelineSamples = 1000

// thinTimeline keeps at most max samples, evenly spread, first and last
// included.
func thinTimeline(ss []vram.Sample, max int) []vram.Sample {
	if len(ss) <= max {
		return ss
	}
	out := make([]vram.Sample, max)
	for i := range out {
		out[i] = ss[i*(len(ss)-1)/(max-1)]
	}
	return out
}
