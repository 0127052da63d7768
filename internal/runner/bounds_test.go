package runner_test

// Tests that try to exceed the runner's bounds: the synthetic prompt's
// length, and a generation that stops sending.
//
// TEST DOUBLES (internal/fakes): fakes.Ollama, with Context set, counts a
// prompt's words as tokens and cuts the count at its context, as ollama
// cuts a prompt longer than its context; with Hang it sends three tokens
// and then nothing.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
)

// trialObserver keeps every trial.
type trialObserver struct {
	recordingObserver
	mu     sync.Mutex
	trials []*runner.Trial
}

func (o *trialObserver) Event(r *runner.Run, ev runner.Event) {
	if ev.Trial != nil {
		o.mu.Lock()
		o.trials = append(o.trials, ev.Trial)
		o.mu.Unlock()
	}
	o.recordingObserver.Event(r, ev)
}

func quietRunner(o runner.Ollama, stall time.Duration) *runner.Runner {
	return runner.NewRunner(runner.Config{Ollama: o, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), StallTimeout: stall})
}

// runTrials runs s to its end against f and returns every trial.
func runTrials(t *testing.T, f *fakes.Ollama, s runner.Settings) []*runner.Trial {
	t.Helper()
	r := quietRunner(f, 0)
	defer r.Shutdown(context.Canceled)
	obs := &trialObserver{recordingObserver: recordingObserver{end: make(chan struct{})}}
	run, err := r.Start(s, obs)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if err := run.Err(); err != nil || len(obs.trials) != s.Warmup+s.Repetitions {
		t.Fatalf("run: %v after %d trials, want %d", err, len(obs.trials), s.Warmup+s.Repetitions)
	}
	return obs.trials
}

// The largest prompt_tokens against a 4,096-token context that the
// request does not name: ollama counts 4,096 whatever it is sent. The
// prompt used to grow 32-fold a trial (131,072 words, then 4 million, then
// 134 million) until benchd died; now it never exceeds twice the words
// asked for, and once the context is seen full it is what the context
// holds.
func TestPromptCalibrationCannotRunAway(t *testing.T) {
	f := &fakes.Ollama{Context: 4096}
	s := settings(20)
	s.PromptTokens = 131072
	trials := runTrials(t, f, s)
	// The longest filler word is 9 bytes; a word and its space at most 10.
	longest := f.LongestPrompt.Load()
	if bound := int64(2 * s.PromptTokens * 10); longest > bound {
		t.Errorf("longest prompt %d bytes, over %d (twice the words asked for)", longest, bound)
	}
	if last := trials[20].PromptEvalCount; last != 4096 {
		t.Errorf("last trial's prompt counted %d tokens, want the full context, 4096", last)
	}
	t.Logf("prompt_tokens 131072 against a 4096-token context, 21 trials: longest prompt %d bytes, last trial's prompt %d tokens", longest, trials[20].PromptEvalCount)
}

// Where the prompt fits, calibration still reaches the length asked for.
func TestPromptCalibrationReachesTheTarget(t *testing.T) {
	s := settings(3)
	s.PromptTokens = 1000
	trials := runTrials(t, &fakes.Ollama{Context: 1 << 20}, s)
	// The prefix adds a few words to the first trial's count.
	if got := trials[3].PromptEvalCount; got < 995 || got > 1010 {
		t.Errorf("last trial's prompt counted %d tokens, want about 1000", got)
	}
}

// prompt_tokens above num_ctx is refused before anything runs, naming both.
func TestPromptTokensOverNumCtxIsRefused(t *testing.T) {
	f := &fakes.Ollama{}
	r := quietRunner(f, 0)
	defer r.Shutdown(context.Canceled)
	s := settings(1)
	s.PromptTokens, s.NumCtx = 131072, 4096
	_, err := r.Start(s, nil)
	if !errors.Is(err, runner.ErrPromptTooLong) || !strings.Contains(err.Error(), "131072") || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("Start: %v, want ErrPromptTooLong naming 131072 and 4096", err)
	}
	if f.Generated.Load() != 0 {
		t.Error("a generation ran")
	}
}

// Without num_ctx, prompt_tokens above the model's own context length is
// refused before any generation, naming both.
func TestPromptTokensOverModelContextIsRefused(t *testing.T) {
	f := &fakes.Ollama{ContextLen: 4096}
	r := quietRunner(f, 0)
	defer r.Shutdown(context.Canceled)
	s := settings(1)
	s.PromptTokens = 8192
	run, err := r.Start(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if err := run.Err(); !errors.Is(err, runner.ErrPromptTooLong) || !strings.Contains(err.Error(), "8192") || !strings.Contains(err.Error(), "4096") {
		t.Fatalf("run: %v, want ErrPromptTooLong naming 8192 and 4096", err)
	}
	if f.Generated.Load()+f.InFlight.Load() != 0 {
		t.Error("a generation ran")
	}
}

// A generation that sends three tokens and then nothing ends with
// ErrStalled, well before the request's hour-long timeout.
func TestStalledGenerationEnds(t *testing.T) {
	f := &fakes.Ollama{Hang: true}
	r := quietRunner(f, 20*time.Millisecond)
	defer r.Shutdown(context.Canceled)
	s := settings(3)
	s.Timeout = time.Hour
	start := time.Now()
	run, err := r.Start(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if err := run.Err(); !errors.Is(err, runner.ErrStalled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("run: %v, want ErrStalled", err)
	}
	if n := f.InFlight.Load(); n != 0 {
		t.Errorf("%d generations still running", n)
	}
	t.Logf("a generation silent after 3 tokens ended after %v (stall timeout 20ms, request timeout 1h): %v", time.Since(start).Round(time.Millisecond), run.Err())
}

// startedObserver keeps the started event.
type startedObserver struct {
	recordingObserver
	started *runner.Started
}

func (o *startedObserver) Event(r *runner.Run, ev runner.Event) {
	if ev.Started != nil {
		o.mu.Lock()
		o.started = ev.Started
		o.mu.Unlock()
	}
	o.recordingObserver.Event(r, ev)
}

// A trial's VRAM sampling of an exec'd tool runs at most once a second: a
// 10ms vram_sample_interval is raised to 1s, and the started event (so the
// record) says so; sysfs keeps 10ms.
func TestExecVRAMIntervalIsRaisedToTheMinimum(t *testing.T) {
	for src, want := range map[string]time.Duration{vram.SourceNvidiaSMI: vram.MinExecInterval, vram.SourceSysfs: 10 * time.Millisecond} {
		v := &fakes.StubVRAM{Name: src, GPUs: []vram.GPU{{Index: 0, TotalBytes: 100, UsedBytes: 10}}}
		r := runner.NewRunner(runner.Config{Ollama: &fakes.Ollama{}, VRAM: v, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		obs := &startedObserver{recordingObserver: recordingObserver{end: make(chan struct{})}}
		run, err := r.Start(settings(1), obs)
		if err != nil {
			t.Fatal(err)
		}
		<-run.Done()
		r.Shutdown(context.Canceled)
		if run.Err() != nil || obs.started == nil || obs.started.Settings.VRAMInterval != want {
			t.Errorf("%s: run %v, started with %+v; want VRAM interval %v", src, run.Err(), obs.started, want)
		}
	}
}
