package runner_test

// Unit tests of the runner's goroutine hygiene: every run, sampler and
// subscription goroutine ends (goleak checks the whole package at exit),
// whatever way a run ends.
//
// TEST DOUBLE: fakeOllama stands in for ollama; its Generate streams a few
// tokens, or hangs until its context ends.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fakeOllama struct {
	hang      bool          // Generate blocks until its context ends
	inFlight  atomic.Int32  // Generate calls running now
	started   chan struct{} // receives once per Generate call, if set
	generated atomic.Int32
}

func (f *fakeOllama) Version(context.Context) (string, error) { return "0.9.6", nil }
func (f *fakeOllama) Model(_ context.Context, name string) (ollama.ModelInfo, error) {
	if name != "tiny" {
		return ollama.ModelInfo{}, fmt.Errorf("model %q: %w", name, ollama.ErrModelNotFound)
	}
	return ollama.ModelInfo{Name: "tiny:latest", Digest: "0ce14aae6e99"}, nil
}
func (f *fakeOllama) Loaded(context.Context, string) (bool, error) { return true, nil }
func (f *fakeOllama) Unload(context.Context, string) error         { return nil }
func (f *fakeOllama) Generate(ctx context.Context, o ollama.GenerateOptions, onToken func(int)) (ollama.Trial, error) {
	f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	if f.started != nil {
		select {
		case f.started <- struct{}{}:
		default:
		}
	}
	for i := 1; i <= 3; i++ {
		onToken(i)
	}
	if f.hang {
		<-ctx.Done()
		return ollama.Trial{}, fmt.Errorf("generate: %w", context.Cause(ctx))
	}
	f.generated.Add(1)
	return ollama.Trial{EvalCount: o.MaxTokens, EvalDuration: time.Millisecond, TotalDuration: 2 * time.Millisecond, DoneReason: "length"}, nil
}

// constVRAM is a VRAM source that always reads one GPU.
type constVRAM struct{ reads atomic.Int64 }

func (c *constVRAM) Source() string { return "sysfs" }
func (c *constVRAM) Read(context.Context) ([]vram.GPU, error) {
	c.reads.Add(1)
	return []vram.GPU{{Index: 0, TotalBytes: 100, UsedBytes: 10, Vendor: "amd", Source: "sysfs"}}, nil
}

// recordingObserver notes the outcome.
type recordingObserver struct {
	mu     sync.Mutex
	events int
	ended  error
	end    chan struct{}
}

func newObserver() *recordingObserver          { return &recordingObserver{end: make(chan struct{})} }
func (o *recordingObserver) Begin(*runner.Run) {}
func (o *recordingObserver) Event(*runner.Run, runner.Event) {
	o.mu.Lock()
	o.events++
	o.mu.Unlock()
}
func (o *recordingObserver) End(_ *runner.Run, err error) {
	o.mu.Lock()
	o.ended = err
	o.mu.Unlock()
	close(o.end)
}

func settings(reps int) runner.Settings {
	return runner.Settings{Model: "tiny", Prompts: []string{"hi"}, Repetitions: reps, Warmup: 1, MaxTokens: 8,
		Timeout: time.Minute, VRAMInterval: 10 * time.Millisecond}
}

func newRunner(o runner.Ollama) (*runner.Runner, *constVRAM) {
	v := &constVRAM{}
	return runner.NewRunner(runner.Config{Ollama: o, VRAM: v, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), v
}

func TestRunCompletesAndEveryGoroutineEnds(t *testing.T) {
	r, v := newRunner(&fakeOllama{})
	defer r.Shutdown(context.Canceled)
	obs := newObserver()
	run, err := r.Start(settings(5), obs)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if run.Err() != nil || v.reads.Load() == 0 {
		t.Fatalf("run ended with %v after %d VRAM reads", run.Err(), v.reads.Load())
	}
	<-obs.end
	if obs.events < 1+6+1 {
		t.Errorf("observer saw %d events, want started, 6 trials, finished (and progress)", obs.events)
	}
}

func TestCancelMidGenerateEndsTheRun(t *testing.T) {
	f := &fakeOllama{hang: true, started: make(chan struct{}, 1)}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	obs := newObserver()
	run, err := r.Start(settings(3), obs)
	if err != nil {
		t.Fatal(err)
	}
	<-f.started
	cause := fmt.Errorf("test cancelled it: %w", context.Canceled)
	run.Cancel(cause)
	<-run.Done()
	<-obs.end
	if !errors.Is(run.Err(), context.Canceled) || !errors.Is(obs.ended, context.Canceled) {
		t.Fatalf("run ended with %v, observer saw %v; want the cancel cause", run.Err(), obs.ended)
	}
	if n := f.inFlight.Load(); n != 0 {
		t.Errorf("%d Generate calls still running after the run ended", n)
	}
}

func TestTimeoutEndsAHangingRun(t *testing.T) {
	f := &fakeOllama{hang: true}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	s := settings(3)
	s.Timeout = 50 * time.Millisecond
	run, err := r.Start(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if !errors.Is(run.Err(), context.DeadlineExceeded) {
		t.Fatalf("run ended with %v, want DeadlineExceeded", run.Err())
	}
}

func TestOneRunAtATimeAndShutdownRefusesNew(t *testing.T) {
	f := &fakeOllama{hang: true, started: make(chan struct{}, 1)}
	r, _ := newRunner(f)
	run, err := r.Start(settings(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-f.started
	if _, err := r.Start(settings(1), nil); err == nil {
		t.Fatal("a second run started beside the first")
	} else if b, ok := runner.IsBusy(err); !ok || b.ID != run.ID {
		t.Fatalf("second run: %v, want BusyError naming %s", err, run.ID)
	}
	r.Shutdown(fmt.Errorf("shutting down: %w", context.Canceled))
	if !errors.Is(run.Err(), context.Canceled) {
		t.Fatalf("run after Shutdown: %v", run.Err())
	}
	if _, err := r.Start(settings(1), nil); err == nil {
		t.Fatal("a run started after Shutdown")
	}
}

// Many runs, cancelled at once or left to finish: nothing may be left
// running (goleak at exit).
func TestManyRunsLeaveNoGoroutines(t *testing.T) {
	r, _ := newRunner(&fakeOllama{})
	defer r.Shutdown(context.Canceled)
	for i := range 50 {
		run, err := r.Start(settings(2), newObserver())
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			run.Cancel(context.Canceled)
		}
		<-run.Done()
	}
}
