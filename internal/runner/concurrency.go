package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/benchd/benchd/internal/energy"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/vram"
	"github.com/benchd/benchd/proto/defaults"
)

// Concurrency runs the model at levels of requests in flight, closed loop
// (see benchd.v1.Concurrency): each level keeps Levels[i] requests in
// flight until it has sent its requests. The run's warm-up comes first, one
// request at a time, inside the first level and outside its figures.
type Concurrency struct {
	Levels []int
	// Requests per level; 0: defaults.ConcurrencyRequests of the level.
	Requests int
}

// Concurrency bounds, checked before anything runs (the proto's rules say
// the same for the wire).
const (
	MaxConcurrencyLevels   = 8
	MaxInFlight            = 64
	MaxConcurrencyRequests = 1000
)

// ErrConcurrencyInvalid: the concurrency run is too large or contradicts
// the request.
var ErrConcurrencyInvalid = errors.New("invalid concurrency run")

// RequestsAt is the number of requests the level with inFlight requests in
// flight sends.
func (c *Concurrency) RequestsAt(inFlight int) int {
	if c.Requests > 0 {
		return c.Requests
	}
	return defaults.ConcurrencyRequests(inFlight)
}

// check refuses what cannot run: bounds, fewer requests than in flight,
// and what a concurrency run cannot be combined with.
func (c *Concurrency) check(s Settings) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrConcurrencyInvalid)
	}
	switch {
	case s.Sweep != nil:
		return bad("a run is either a sweep or a concurrency run")
	case s.Cold:
		return bad("cold unloads the model before each request, which requests in flight together cannot do")
	case len(c.Levels) == 0 || len(c.Levels) > MaxConcurrencyLevels:
		return bad("a concurrency run has 1 to %d levels, not %d", MaxConcurrencyLevels, len(c.Levels))
	}
	total := s.Warmup
	seen := map[int]bool{}
	for _, l := range c.Levels {
		switch {
		case l < 1 || l > MaxInFlight:
			return bad("level %d: 1 to %d requests in flight", l, MaxInFlight)
		case seen[l]:
			return bad("level %d is listed twice", l)
		case c.RequestsAt(l) < l:
			return bad("level %d needs at least %d requests, not %d", l, l, c.RequestsAt(l))
		}
		seen[l] = true
		total += c.RequestsAt(l)
	}
	if total > MaxConcurrencyRequests {
		return bad("the run would send %d requests (warm-up and levels), more than %d", total, MaxConcurrencyRequests)
	}
	return nil
}

// Level is one level of a concurrency run and how it went. The figures
// are over its succeeded requests (benchd.v1.ConcurrencyLevel says what
// each is).
type Level struct {
	Index, InFlight, Requests int
	Succeeded, Failed         int
	// Err is the first failed request's error.
	Err error
	// Duration: from the first request sent to the last one finished.
	Duration                time.Duration
	OutputTokens            int
	OutputRate, RequestRate float64
	TTFT, ITL, TPOT, E2E    stats.Summary
	Queue                   stats.Summary
	// PeakVRAM is the highest total VRAM use sampled during the level.
	PeakVRAM uint64
	// Energy is what the GPUs drew during the level; nil without power
	// readings.
	Energy                *energy.Span
	StartedAt, FinishedAt time.Time
}

// LevelStarted begins a level.
type LevelStarted struct {
	Level  *Level
	Levels int
}

// concurrency runs the warm-up and then each level in the order given.
// A level whose every request failed ends the run with the first error
// (ollama is down, the model does not load); otherwise failed requests are
// counted and the run goes on.
func (r *Runner) concurrency(ctx context.Context, run *Run, s Settings, ctxLen int, emit func(Event)) error {
	c := s.Concurrency
	// One prompter for every request of the run, by a running number, so
	// that no two share a prefix (ollama could reuse a cached one).
	p := &sharedPrompter{p: newPrompter(run.ID, s, ctxLen)}
	var all []*Trial
	for li, inFlight := range c.Levels {
		lv := &Level{Index: li, InFlight: inFlight, Requests: c.RequestsAt(inFlight), StartedAt: time.Now()}
		emit(Event{LevelStarted: &LevelStarted{Level: lv, Levels: len(c.Levels)}})
		if li == 0 {
			for i := range s.Warmup {
				t, err := r.trial(ctx, s, i, 0, p.p, emit)
				if err != nil {
					return fmt.Errorf("warm-up %d of %d: %w", i+1, s.Warmup, err)
				}
				p.p.observe(t)
				emit(Event{Trial: t})
			}
			p.n = s.Warmup
		}
		measured, err := r.level(ctx, s, lv, p, emit)
		if err != nil {
			return fmt.Errorf("level %d (%d in flight): %w", li+1, inFlight, err)
		}
		all = append(all, measured...)
		emit(Event{LevelFinished: lv})
	}
	emit(Event{Finished: r.finished(ctx, run.ID, all)})
	return nil
}

// sharedPrompter hands out prompts to requests in flight together.
type sharedPrompter struct {
	mu sync.Mutex
	p  *prompter
	n  int // requests so far: the next one's number
}

func (sp *sharedPrompter) next() (n, promptIndex int, prefix, prompt string) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	n = sp.n
	sp.n++
	promptIndex, prefix, prompt = sp.p.next(n)
	return n, promptIndex, prefix, prompt
}

func (sp *sharedPrompter) observe(t *Trial) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.p.observe(t)
}

// levelResult is one request of a level.
type levelResult struct {
	t    *Trial
	gaps []float64
	err  error
}

// level runs one level closed loop: InFlight workers each send the next
// request as soon as their last one finished, until Requests have been
// sent. Trials are emitted as they finish, from this goroutine; progress
// (from the workers) at most every progressEvery for the whole level.
func (r *Runner) level(ctx context.Context, s Settings, lv *Level, p *sharedPrompter, emit func(Event)) ([]*Trial, error) {
	loaded, err := r.ollama.Loaded(ctx, s.Model)
	if err != nil {
		return nil, err
	}
	if err := r.openConnections(ctx, lv.InFlight); err != nil {
		return nil, err
	}
	var sampler *vram.Sampler
	spanStart := time.Now()
	if r.vram != nil && s.VRAMInterval > 0 {
		if sampler, err = vram.StartSampler(ctx, r.vram, s.VRAMInterval); err != nil {
			return nil, fmt.Errorf("start VRAM sampler: %w", err)
		}
	}
	var (
		emitMu sync.Mutex
		last   time.Time
	)
	locked := func(ev Event) {
		emitMu.Lock()
		defer emitMu.Unlock()
		emit(ev)
	}
	jobs := make(chan int)
	results := make(chan levelResult)
	var wg sync.WaitGroup
	for range lv.InFlight {
		wg.Go(func() {
			for i := range jobs {
				n, pi, prefix, prompt := p.next()
				// Unpaced: the loop sends the next request when one ends,
				// and an end noticed a pace late would leave a slot idle.
				t, err := r.request(ctx, s, prompt, 0, func(tokens int) {
					emitMu.Lock()
					defer emitMu.Unlock()
					if now := time.Now(); now.Sub(last) >= progressEvery {
						last = now
						emit(Event{Progress: &Progress{Index: i, Tokens: tokens, MaxTokens: s.MaxTokens}})
					}
				})
				res := levelResult{t: t, err: err}
				if err == nil {
					t.Level, t.Index, t.PromptIndex, t.PromptPrefix, t.LoadedAtStart = lv.Index, i, pi, prefix, loaded
					res.gaps = gapsOf(t)
					t.Chunks = nil // the timing and the gaps are what is kept
					p.observe(t)
				} else {
					res.err = fmt.Errorf("request %d (%d of the run): %w", i+1, n+1, err)
				}
				results <- res
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range lv.Requests {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	var (
		done []*Trial
		gaps = newReservoir(maxPooledGaps)
	)
	for res := range results {
		if res.err != nil {
			lv.Failed++
			if lv.Err == nil {
				lv.Err = res.err
			}
			if ctx.Err() == nil {
				r.log.WarnContext(ctx, "concurrency request failed, going on", "level", lv.Index, "err", res.err)
			}
			continue
		}
		done = append(done, res.t)
		gaps.add(res.gaps)
		locked(Event{Trial: res.t})
	}
	lv.FinishedAt = time.Now()
	if sampler != nil {
		sr := sampler.Stop()
		for _, v := range sr.Peak {
			lv.PeakVRAM += v
		}
		tokens := 0
		for _, t := range done {
			tokens += t.EvalCount
		}
		lv.Energy = spanEnergy(sr.Samples, spanStart, lv.FinishedAt, tokens, s.idleW)
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if len(done) == 0 {
		return nil, fmt.Errorf("all %d requests failed, the first: %w", lv.Failed, lv.Err)
	}
	summarizeLevel(lv, done, gaps.xs)
	var measured []*Trial
	for _, t := range done {
		if t.Invalid == "" {
			measured = append(measured, t)
		}
	}
	return measured, nil
}

// openConnections opens n connections to ollama before a level sends n
// requests together, when the Ollama can (connector). Through the Docker
// exec bridge a new connection costs an exec, which on the busy rig took
// up to 2 s while another request streamed: a request's own setup then
// held it back before ollama saw it, hiding its wait for a slot behind the
// transport (TestConcurrencyOnTheRig).
func (r *Runner) openConnections(ctx context.Context, n int) error {
	if c, ok := r.ollama.(connector); ok {
		return c.Connect(ctx, n)
	}
	return nil
}

// connector is what an Ollama may also offer: n connections opened ahead
// (ollama.Client.Connect).
type connector interface {
	Connect(ctx context.Context, n int) error
}

// summarizeLevel fills in lv's figures from its succeeded requests and the
// pooled inter-token gaps (ns). The level's span is on benchd's clock,
// from the first request's sending to the last one's end (SentAt + Wall).
func summarizeLevel(lv *Level, ts []*Trial, gaps []float64) {
	lv.Succeeded = len(ts)
	var first, end time.Time
	col := func(f func(*Trial) time.Duration) stats.Summary {
		xs := make([]float64, len(ts))
		for i, t := range ts {
			xs[i] = float64(f(t))
		}
		return stats.Summarize(xs)
	}
	for i, t := range ts {
		if i == 0 || t.SentAt.Before(first) {
			first = t.SentAt
		}
		if e := t.SentAt.Add(t.Wall); e.After(end) {
			end = e
		}
		lv.OutputTokens += t.EvalCount
	}
	lv.Duration = end.Sub(first)
	if lv.Duration > 0 {
		lv.OutputRate = float64(lv.OutputTokens) / lv.Duration.Seconds()
		lv.RequestRate = float64(len(ts)) / lv.Duration.Seconds()
	}
	lv.TTFT = col(func(t *Trial) time.Duration { return t.TTFT })
	lv.E2E = col(func(t *Trial) time.Duration { return t.Wall })
	lv.Queue = col(func(t *Trial) time.Duration { return t.Queue })
	lv.TPOT = timingSummary(ts, func(tt *TokenTiming) time.Duration { return tt.TPOT })
	lv.ITL = stats.Summarize(gaps)
}

// maxPooledGaps bounds the inter-token gaps a level keeps for its ITL
// percentiles (8 bytes each): 1000 requests of 16384 tokens would be 128
// MiB. Beyond it the gaps are a uniform sample (reservoir sampling, with a
// fixed seed, so the same run gives the same figures).
const maxPooledGaps = 1 << 18

type reservoir struct {
	xs   []float64
	seen int
	cap  int
	rng  *rand.Rand
}

func newReservoir(capacity int) *reservoir {
	return &reservoir{cap: capacity, rng: rand.New(rand.NewPCG(1, 2))}
}

func (r *reservoir) add(xs []float64) {
	for _, x := range xs {
		r.seen++
		if len(r.xs) < r.cap {
			r.xs = append(r.xs, x)
		} else if j := r.rng.IntN(r.seen); j < r.cap {
			r.xs[j] = x
		}
	}
}

// numParallel is OLLAMA_NUM_PARALLEL from the container's configuration:
// its value, NumParallelDefault when it is not set, NumParallelUnknown when
// there is no container (ollama over HTTP) or it could not be read.
func (r *Runner) numParallel(ctx context.Context) string {
	e, ok := r.container.(containerEnv)
	if !ok {
		return NumParallelUnknown
	}
	v, set, err := e.Env(ctx, "OLLAMA_NUM_PARALLEL")
	switch {
	case err != nil:
		r.log.WarnContext(ctx, "read OLLAMA_NUM_PARALLEL from the container", "err", err)
		return NumParallelUnknown
	case !set:
		return NumParallelDefault
	}
	return v
}

// What Started.NumParallel says when it has no number.
const (
	NumParallelDefault = "default"
	NumParallelUnknown = "unknown"
)

// containerEnv is what a Container may also offer: a variable of the
// container's configured environment (dockerx.Client.Env).
type containerEnv interface {
	Env(ctx context.Context, name string) (value string, set bool, err error)
}
