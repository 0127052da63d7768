package runner_test

// Unit tests of the runner's goroutine hygiene: every run, sampler and
// subscription goroutine ends (goleak checks the whole package at exit),
// whatever way a run ends.
//
// TEST DOUBLES (internal/fakes): fakes.Ollama stands in for ollama; its
// Generate streams a few tokens, or hangs until its context ends.
// fakes.StubVRAM stands in for a VRAM source that always reads one GPU.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

func newRunner(o runner.Ollama) (*runner.Runner, *fakes.StubVRAM) {
	v := &fakes.StubVRAM{Name: "sysfs", GPUs: []vram.GPU{{Index: 0, TotalBytes: 100, UsedBytes: 10, Vendor: "amd", Source: "sysfs"}}}
	return runner.NewRunner(runner.Config{Ollama: o, VRAM: v, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), v
}

func TestRunCompletesAndEveryGoroutineEnds(t *testing.T) {
	r, v := newRunner(&fakes.Ollama{})
	defer r.Shutdown(context.Canceled)
	obs := newObserver()
	run, err := r.Start(settings(5), obs)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if run.Err() != nil || v.Calls.Load() == 0 {
		t.Fatalf("run ended with %v after %d VRAM reads", run.Err(), v.Calls.Load())
	}
	<-obs.end
	if obs.events < 1+6+1 {
		t.Errorf("observer saw %d events, want started, 6 trials, finished (and progress)", obs.events)
	}
}

func TestCancelMidGenerateEndsTheRun(t *testing.T) {
	f := &fakes.Ollama{Hang: true, Started: make(chan struct{}, 1)}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	obs := newObserver()
	run, err := r.Start(settings(3), obs)
	if err != nil {
		t.Fatal(err)
	}
	<-f.Started
	cause := fmt.Errorf("test cancelled it: %w", context.Canceled)
	run.Cancel(cause)
	<-run.Done()
	<-obs.end
	if !errors.Is(run.Err(), context.Canceled) || !errors.Is(obs.ended, context.Canceled) {
		t.Fatalf("run ended with %v, observer saw %v; want the cancel cause", run.Err(), obs.ended)
	}
	if n := f.InFlight.Load(); n != 0 {
		t.Errorf("%d Generate calls still running after the run ended", n)
	}
}

func TestTimeoutEndsAHangingRun(t *testing.T) {
	f := &fakes.Ollama{Hang: true}
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
	f := &fakes.Ollama{Hang: true, Started: make(chan struct{}, 1)}
	r, _ := newRunner(f)
	run, err := r.Start(settings(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-f.Started
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
	r, _ := newRunner(&fakes.Ollama{})
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

// endStarts is an Observer whose End starts the next run, as a client does
// the moment its stream ends with the outcome.
type endStarts struct {
	r    *runner.Runner
	next chan error
}

func (o *endStarts) Begin(*runner.Run)               {}
func (o *endStarts) Event(*runner.Run, runner.Event) {}
func (o *endStarts) End(*runner.Run, error) {
	run, err := o.r.Start(settings(1), nil)
	if err == nil {
		<-run.Done()
	}
	o.next <- err
}

// The one-run slot is free by the time a run's observers hear its end.
func TestSlotIsFreeWhenTheEndIsTold(t *testing.T) {
	r, _ := newRunner(&fakes.Ollama{})
	defer r.Shutdown(context.Canceled)
	o := &endStarts{r: r, next: make(chan error, 1)}
	if _, err := r.Start(settings(1), o); err != nil {
		t.Fatal(err)
	}
	if err := <-o.next; err != nil {
		t.Fatalf("a run started from the first run's End: %v", err)
	}
}
