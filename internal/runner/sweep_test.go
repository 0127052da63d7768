package runner_test

// Sweeps on the TEST DOUBLE fakes.Ollama: its trials take 1 ms of eval
// for max_tokens tokens, so a larger max_tokens is a higher eval rate, and
// Fail plays a cell that runs out of memory.

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
)

type eventLog struct {
	mu     sync.Mutex
	events []runner.Event
	ended  error
	end    chan struct{}
}

func (o *eventLog) Begin(*runner.Run) {}
func (o *eventLog) Event(_ *runner.Run, ev runner.Event) {
	o.mu.Lock()
	o.events = append(o.events, ev)
	o.mu.Unlock()
}
func (o *eventLog) End(_ *runner.Run, err error) { o.ended = err; close(o.end) }

func runSweep(t *testing.T, f *fakes.Ollama, s runner.Settings) *eventLog {
	t.Helper()
	r, _ := newRunner(f)
	obs := &eventLog{end: make(chan struct{})}
	if _, err := r.Start(s, obs); err != nil {
		t.Fatal(err)
	}
	<-obs.end
	return obs
}

func TestSweepFailedCellRecordedAndBestNamed(t *testing.T) {
	oom := errors.New("model requires more system memory than is available")
	sent := make(chan ollama.GenerateOptions, 100)
	f := &fakes.Ollama{Sent: sent, Fail: func(o ollama.GenerateOptions) error {
		if o.NumCtx == 128 && o.NumThread == 2 {
			return oom
		}
		return nil
	}}
	s := settings(2)
	s.Sweep = &runner.Sweep{NumCtx: []int{64, 128}, NumThread: []int{1, 2}, MaxTokens: []int{8, 16}}
	obs := runSweep(t, f, s)
	if obs.ended != nil {
		t.Fatalf("sweep ended with %v; a failed cell must not end it", obs.ended)
	}
	var cells []*runner.Cell
	var fin *runner.Finished
	trialsOf := map[int]int{}
	for _, ev := range obs.events {
		switch {
		case ev.CellFinished != nil:
			cells = append(cells, ev.CellFinished)
		case ev.Finished != nil:
			fin = ev.Finished
		case ev.Trial != nil:
			trialsOf[ev.Trial.Cell]++
		}
	}
	if len(cells) != 8 || fin == nil {
		t.Fatalf("%d cells, finished %v; want 8 and a finished event", len(cells), fin)
	}
	// Order: num_ctx slowest, then num_thread, max_tokens fastest.
	type key struct{ ctx, thr, max int }
	var got []key
	for _, c := range cells {
		got = append(got, key{c.Settings.NumCtx, c.Settings.NumThread, c.Settings.MaxTokens})
	}
	want := []key{{64, 1, 8}, {64, 1, 16}, {64, 2, 8}, {64, 2, 16}, {128, 1, 8}, {128, 1, 16}, {128, 2, 8}, {128, 2, 16}}
	if !slices.Equal(got, want) {
		t.Fatalf("cell order %v, want %v", got, want)
	}
	for i, c := range cells {
		failed := i == 6 || i == 7
		if c.Index != i || failed != (c.Status == runner.CellFailed) {
			t.Errorf("cell %d: index %d status %v err %v", i, c.Index, c.Status, c.Err)
		}
		if failed && !errors.Is(c.Err, oom) {
			t.Errorf("cell %d error %v, want ollama's", i, c.Err)
		}
		if !failed && (c.Finished == nil || c.Finished.Trials != 2 || trialsOf[i] != 3) {
			t.Errorf("cell %d: finished %+v, %d trials; want 2 measured of 3", i, c.Finished, trialsOf[i])
		}
	}
	// max_tokens 16 is the higher eval rate; the first such cell wins ties.
	if !fin.Sweep || fin.BestCell != 1 || fin.CellsFailed != 2 || fin.Trials != 12 {
		t.Errorf("finished: sweep %v best %d failed %d trials %d; want true, 1, 2, 12", fin.Sweep, fin.BestCell, fin.CellsFailed, fin.Trials)
	}
	close(sent)
	threads := map[int]bool{}
	for o := range sent {
		threads[o.NumThread] = true
	}
	if !threads[1] || !threads[2] {
		t.Errorf("num_thread sent to ollama: %v; want 1 and 2", threads)
	}
}

func TestSweepBestOnlyAmongCellsThatFit(t *testing.T) {
	inv, _ := (&fakes.Ollama{}).ListModels(t.Context())
	inv.Loaded[0].SizeVRAM = inv.Loaded[0].Size / 2 // spilled to the CPU
	f := &fakes.Ollama{Inventory: &inv}
	s := settings(1)
	s.Sweep = &runner.Sweep{MaxTokens: []int{8, 16}, Objective: runner.ObjectiveTTFT}
	obs := runSweep(t, f, s)
	for _, ev := range obs.events {
		if c := ev.CellFinished; c != nil && (!c.Listed || c.FitsVRAM || c.ModelSizeVRAM != inv.Loaded[0].SizeVRAM) {
			t.Errorf("cell %d: listed %v fits %v vram %d", c.Index, c.Listed, c.FitsVRAM, c.ModelSizeVRAM)
		}
		if ev.Finished != nil && ev.Finished.BestCell != -1 {
			t.Errorf("best cell %d; no cell fitted, want none (-1)", ev.Finished.BestCell)
		}
	}
}

func TestSweepBoundsRefusedBeforeRunning(t *testing.T) {
	r, _ := newRunner(&fakes.Ollama{})
	big := settings(1)
	big.Sweep = &runner.Sweep{NumCtx: []int{64, 128, 256, 512, 1024}, NumThread: []int{1, 2, 3, 4}, MaxTokens: []int{1, 2, 3, 4}}
	both := settings(1)
	both.NumCtx = 64
	both.Sweep = &runner.Sweep{NumCtx: []int{128}}
	trials := settings(100)
	trials.Sweep = &runner.Sweep{MaxTokens: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	model := settings(1)
	model.Sweep = &runner.Sweep{Models: []string{"other"}}
	for name, s := range map[string]runner.Settings{"80 cells": big, "num_ctx twice": both, "1010 trials": trials, "model not swept": model} {
		if _, err := r.Start(s, nil); !errors.Is(err, runner.ErrSweepInvalid) {
			t.Errorf("%s: %v, want ErrSweepInvalid", name, err)
		}
	}
}
