package runner_test

// Concurrency runs and sweep cell timeouts on the TEST DOUBLE fakes.Ollama:
// Hold lets the test finish each generation when it chooses, Block plays
// a model runner that never answers.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
)

func TestConcurrencyKeepsTheLevelInFlight(t *testing.T) {
	started := make(chan struct{}, 100)
	f := &fakes.Ollama{Started: started, Hold: make(chan struct{})}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	s := settings(0)
	s.Warmup = 1
	s.Concurrency = &runner.Concurrency{Levels: []int{1, 3}, Requests: 5}
	obs := &eventLog{end: make(chan struct{})}
	if _, err := r.Start(s, obs); err != nil {
		t.Fatal(err)
	}
	// The warm-up and level 1: one at a time.
	for range 6 {
		<-started
		if n := f.InFlight.Load(); n != 1 {
			t.Fatalf("%d generations in flight in the warm-up or level 1, want 1", n)
		}
		f.Hold <- struct{}{}
	}
	// Level 3: three start before any finishes; each that finishes is
	// replaced until 5 were sent.
	for range 3 {
		<-started
	}
	if n := f.InFlight.Load(); n != 3 {
		t.Fatalf("%d generations in flight at level 3, want 3", n)
	}
	for range 5 {
		f.Hold <- struct{}{}
	}
	<-obs.end
	if obs.ended != nil {
		t.Fatalf("run ended with %v", obs.ended)
	}
	if n := f.MaxInFlight.Load(); n != 3 {
		t.Errorf("at most %d generations in flight, want 3", n)
	}
	var kinds []string
	var levels []*runner.Level
	perLevel := map[int]map[int]bool{}
	for _, ev := range obs.events {
		switch {
		case ev.LevelStarted != nil:
			kinds = append(kinds, "start")
		case ev.LevelFinished != nil:
			kinds = append(kinds, "end")
			levels = append(levels, ev.LevelFinished)
		case ev.Trial != nil:
			kinds = append(kinds, "trial")
			if !ev.Trial.Warmup {
				if perLevel[ev.Trial.Level] == nil {
					perLevel[ev.Trial.Level] = map[int]bool{}
				}
				perLevel[ev.Trial.Level][ev.Trial.Index] = true
			}
		case ev.Finished != nil:
			kinds = append(kinds, "finished")
			if ev.Finished.Trials != 10 {
				t.Errorf("finished over %d trials, want 10", ev.Finished.Trials)
			}
		}
	}
	want := "start trial trial trial trial trial trial end start trial trial trial trial trial end finished"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events %s\nwant   %s", got, want)
	}
	for li, l := range levels {
		if l.Succeeded != 5 || l.Failed != 0 || l.Requests != 5 || l.OutputTokens != 5*s.MaxTokens || len(perLevel[li]) != 5 {
			t.Errorf("level %d: %+v with trials %v; want 5 requests of %d tokens, indices 0-4", li, l, perLevel[li], s.MaxTokens)
		}
	}
	if levels[1].InFlight != 3 || levels[1].Index != 1 {
		t.Errorf("second level: index %d, %d in flight; want 1, 3", levels[1].Index, levels[1].InFlight)
	}
}

func TestConcurrencyRefusedBeforeRunning(t *testing.T) {
	f := &fakes.Ollama{}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	for name, c := range map[string]func(s *runner.Settings){
		"nine levels":          func(s *runner.Settings) { s.Concurrency.Levels = []int{1, 2, 3, 4, 5, 6, 7, 8, 9} },
		"65 in flight":         func(s *runner.Settings) { s.Concurrency.Levels = []int{65} },
		"fewer requests":       func(s *runner.Settings) { s.Concurrency.Levels, s.Concurrency.Requests = []int{8}, 4 },
		"over 1000 requests":   func(s *runner.Settings) { s.Concurrency.Levels, s.Concurrency.Requests = []int{1, 2}, 500 },
		"with a sweep":         func(s *runner.Settings) { s.Sweep = &runner.Sweep{NumCtx: []int{64}} },
		"cold":                 func(s *runner.Settings) { s.Cold = true },
		"a level listed twice": func(s *runner.Settings) { s.Concurrency.Levels = []int{2, 2} },
	} {
		s := settings(1)
		s.Concurrency = &runner.Concurrency{Levels: []int{1, 2}}
		c(&s)
		if _, err := r.Start(s, nil); !errors.Is(err, runner.ErrConcurrencyInvalid) {
			t.Errorf("%s: %v, want ErrConcurrencyInvalid", name, err)
		}
	}
	if n := f.Generated.Load(); n != 0 {
		t.Errorf("%d generations ran for refused runs", n)
	}
}

// A cell whose model runner never answers fails after its cell timeout
// with DEADLINE_EXCEEDED's error; the cells after it run.
func TestSweepCellTimeoutFailsTheCellOnly(t *testing.T) {
	f := &fakes.Ollama{Block: func(o ollama.GenerateOptions) bool { return o.NumThread == 1024 }}
	s := settings(1)
	s.Warmup = 0
	s.Sweep = &runner.Sweep{NumThread: []int{1, 1024, 2}, CellTimeout: 50 * time.Millisecond}
	obs := runSweep(t, f, s)
	if obs.ended != nil {
		t.Fatalf("sweep ended with %v; a cell's timeout must not end it", obs.ended)
	}
	var cells []*runner.Cell
	for _, ev := range obs.events {
		if ev.CellFinished != nil {
			cells = append(cells, ev.CellFinished)
		}
	}
	if len(cells) != 3 {
		t.Fatalf("%d cells finished, want 3", len(cells))
	}
	for i, c := range cells {
		hung := c.Settings.NumThread == 1024
		switch {
		case hung && (c.Status != runner.CellFailed || !errors.Is(c.Err, runner.ErrCellTimeout) || !errors.Is(c.Err, context.DeadlineExceeded)):
			t.Errorf("cell %d (num_thread 1024): %v, %v; want FAILED with the cell timeout", i, c.Status, c.Err)
		case !hung && (c.Status != runner.CellSucceeded || c.Finished.Trials != 1):
			t.Errorf("cell %d: %v, %v; want SUCCEEDED with 1 trial", i, c.Status, c.Err)
		}
	}
}
