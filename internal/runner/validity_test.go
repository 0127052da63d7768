package runner_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/runner"
)

// summaryObserver keeps the trial and finished events.
type summaryObserver struct {
	mu       sync.Mutex
	trials   []*runner.Trial
	finished *runner.Finished
}

func (o *summaryObserver) Begin(*runner.Run)      {}
func (o *summaryObserver) End(*runner.Run, error) {}
func (o *summaryObserver) Event(_ *runner.Run, ev runner.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ev.Trial != nil {
		o.trials = append(o.trials, ev.Trial)
	}
	if ev.Finished != nil {
		o.finished = ev.Finished
	}
}

// A trial whose TTFT exceeds ollama's total_duration cannot be right (the
// first token came before ollama finished): it is recorded with the
// reason, never as valid, and left out of the summary; the run goes on.
// TEST DOUBLE: fakes.Ollama, whose trials take 2 ms in total.
func TestTTFTOverTotalDurationIsInvalid(t *testing.T) {
	f := &fakes.Ollama{TTFTs: []time.Duration{
		3 * time.Millisecond,    // warm-up, impossible too
		time.Millisecond,        // valid
		2100 * time.Microsecond, // impossible: 2.1 ms > 2 ms
		2 * time.Millisecond,    // equal to total_duration: possible
	}}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	obs := &summaryObserver{}
	run, err := r.Start(settings(3), obs)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if err := run.Err(); err != nil {
		t.Fatalf("run ended with %v; an invalid trial must not end it", err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.trials) != 4 {
		t.Fatalf("%d trial events, want 4 (all recorded)", len(obs.trials))
	}
	for i, wantInvalid := range []bool{true, false, true, false} {
		tr := obs.trials[i]
		if got := tr.Invalid != ""; got != wantInvalid {
			t.Errorf("trial %d (ttft %v, total %v): invalid %q, want invalid=%v", i, tr.TTFT, tr.TotalDuration, tr.Invalid, wantInvalid)
		}
		if wantInvalid && !strings.Contains(tr.Invalid, "exceeds ollama's total_duration") {
			t.Errorf("trial %d: reason %q does not say which figures", i, tr.Invalid)
		}
	}
	f2 := obs.finished
	if f2 == nil {
		t.Fatal("no finished event")
	}
	if f2.Trials != 2 || f2.Summary.TTFT.N != 2 || f2.Summary.TTFT.Max != float64(2*time.Millisecond) || f2.Summary.TotalDuration.N != 2 {
		t.Errorf("summary over %d trials, TTFT %+v: want the 2 valid measured trials (max 2ms)", f2.Trials, f2.Summary.TTFT)
	}
}
