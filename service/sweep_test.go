package service_test

// Sweeps through the whole daemon stack in one process, without Docker.
// TEST DOUBLE: fakes.Ollama stands in for ollama (one model, "tiny",
// loaded with no VRAM, as on a CPU-only host, so every succeeded cell
// qualifies for best).

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/ollama"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// eventCounts counts a stream's events by kind.
type eventCounts struct {
	started, cellStarted, cellFinished, trials, finished int
	levelStarted, levelFinished                          int
}

func (n *eventCounts) add(ev *benchdv1.BenchmarkEvent) {
	switch {
	case ev.GetStarted() != nil:
		n.started++
	case ev.GetCellStarted() != nil:
		n.cellStarted++
	case ev.GetCellFinished() != nil:
		n.cellFinished++
	case ev.GetLevelStarted() != nil:
		n.levelStarted++
	case ev.GetLevelFinished() != nil:
		n.levelFinished++
	case ev.GetTrial() != nil:
		n.trials++
	case ev.GetFinished() != nil:
		n.finished++
	}
}

// watch follows WatchBenchmark to its end.
// watch counts a WatchBenchmark stream's events; attached, if not nil, is
// closed once the first arrives (the watcher is then in the run's feed).
func watch(ctx context.Context, c benchdv1.BenchmarkServiceClient, id string, attached chan<- struct{}) (eventCounts, *benchdv1.BenchmarkFinished, error) {
	var n eventCounts
	var fin *benchdv1.BenchmarkFinished
	s, err := c.WatchBenchmark(ctx, &benchdv1.WatchBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		return n, nil, err
	}
	for {
		r, err := s.Recv()
		if err == io.EOF {
			return n, fin, nil
		}
		if err != nil {
			return n, fin, err
		}
		if attached != nil {
			close(attached)
			attached = nil
		}
		n.add(r.GetEvent())
		if f := r.GetEvent().GetFinished(); f != nil {
			fin = f
		}
	}
}

// A 2×2 sweep (num_ctx × num_thread) over RunBenchmark: four cells in load
// order, each with its trials, a best cell; watched while it runs and after
// it ended; stored with its four cells. Too large a sweep, and max_tokens
// given twice, are INVALID_ARGUMENT before anything runs.
func TestSweepThroughTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reached, release := make(chan struct{}), make(chan struct{})
	var gate sync.Once
	f := &fakes.Ollama{Fail: func(o ollama.GenerateOptions) error {
		// Hold the third cell's first generation, so the sweep is live
		// while a watcher attaches.
		if o.NumCtx == 1024 && o.NumThread == 1 {
			gate.Do(func() { close(reached); <-release })
		}
		return nil
	}}
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, daemon.WithOllama(f))
	c := rawClient(t, sock)

	req := &benchdv1.RunBenchmarkRequest{
		Model: "tiny", Repetitions: proto.Uint32(2), Warmup: proto.Uint32(0), MaxTokens: proto.Uint32(8),
		Timeout: durationpb.New(time.Minute),
		Sweep: &benchdv1.Sweep{
			NumCtx: []uint32{512, 1024}, NumThread: []uint32{1, 2},
			Objective: benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT,
		},
	}
	stream, err := c.RunBenchmark(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var run eventCounts
	var id string
	var order [][2]uint32
	var fin *benchdv1.BenchmarkFinished
	runDone := make(chan error, 1)
	idc := make(chan string, 1)
	go func() {
		for {
			r, err := stream.Recv()
			if err == io.EOF {
				runDone <- nil
				return
			}
			if err != nil {
				runDone <- err
				return
			}
			ev := r.GetEvent()
			run.add(ev)
			if s := ev.GetStarted(); s != nil {
				idc <- s.GetBenchmarkId()
			}
			if cs := ev.GetCellStarted(); cs != nil {
				order = append(order, [2]uint32{cs.GetCell().GetNumCtx(), cs.GetCell().GetNumThread()})
			}
			if f := ev.GetFinished(); f != nil {
				fin = f
			}
		}
	}()
	select {
	case id = <-idc:
	case err := <-runDone:
		t.Fatalf("run ended before it started: %v", err)
	}
	select {
	case <-reached:
	case err := <-runDone:
		t.Fatalf("run ended before its third cell: %v", err)
	}

	// Watch the live sweep: the replay so far, then the rest.
	type watched struct {
		n   eventCounts
		fin *benchdv1.BenchmarkFinished
		err error
	}
	live, attached := make(chan watched, 1), make(chan struct{})
	go func() {
		n, f, err := watch(ctx, c, id, attached)
		live <- watched{n, f, err}
	}()
	select { // the sweep goes on once the watcher is in
	case <-attached:
	case w := <-live:
		t.Fatalf("watch ended before its first event: %v", w.err)
	}
	close(release)

	if err := <-runDone; err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if run.started != 1 || run.cellStarted != 4 || run.cellFinished != 4 || run.trials != 8 || run.finished != 1 {
		t.Errorf("RunBenchmark events %+v; want 1 started, 4 cells started and finished, 8 trials, 1 finished", run)
	}
	if want := [][2]uint32{{512, 1}, {512, 2}, {1024, 1}, {1024, 2}}; len(order) != 4 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Errorf("cells ran in order %v, want %v", order, want)
	}
	if fin == nil || fin.BestCell == nil || fin.GetBestCell() >= 4 || fin.GetCellsFailed() != 0 ||
		fin.GetObjective() != benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT {
		t.Errorf("finished %v; want a best cell < 4, no failed cell, objective TTFT", fin)
	}
	w := <-live
	if w.err != nil || w.fin == nil || w.fin.GetBestCell() != fin.GetBestCell() || w.n.trials != 8 {
		t.Errorf("live watch: %+v, finished %v, err %v; want 8 trials and the same best cell", w.n, w.fin, w.err)
	}
	// It attached inside the third cell, before its first trial: the
	// replay has the first two cells and the third's start, the live
	// stream the rest.
	if w.n.started != 1 || w.n.cellStarted != 4 || w.n.cellFinished != 4 || w.n.finished != 1 {
		t.Errorf("live watch saw %+v; want 1 started, 4 cells started and finished, 1 finished", w.n)
	}
	t.Logf("live watch after two cells: %+v", w.n)

	// Stored: four cells, each succeeded with its summary, and the sweep.
	got, err := c.GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		t.Fatal(err)
	}
	b := got.GetBenchmark()
	if b.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED || len(b.GetCells()) != 4 || len(b.GetTrials()) != 8 {
		t.Fatalf("stored: state %v, %d cells, %d trials; want SUCCEEDED, 4, 8", b.GetState(), len(b.GetCells()), len(b.GetTrials()))
	}
	for i, cell := range b.GetCells() {
		if cell.GetIndex() != uint32(i) || cell.GetStatus() != benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED || cell.GetSummary() == nil || cell.GetMaxTokens() != 8 {
			t.Errorf("cell %d: %v", i, cell)
		}
	}
	if b.GetFinished().GetBestCell() != fin.GetBestCell() || len(b.GetSettings().GetSweep().GetNumCtx()) != 2 {
		t.Errorf("stored finished %v, settings' sweep %v", b.GetFinished(), b.GetSettings().GetSweep())
	}

	// Watching the ended sweep replays it: each cell's start, trials and
	// finish, and the finished event with its best cell.
	n, rfin, err := watch(ctx, c, id, nil)
	if err != nil || rfin.GetBestCell() != fin.GetBestCell() || n.trials != 8 || n.started != 1 ||
		n.cellStarted != 4 || n.cellFinished != 4 || n.finished != 1 {
		t.Errorf("replay: %+v, finished %v, err %v; want 1 started, 4 cells started and finished, 8 trials, 1 finished", n, rfin, err)
	}
	t.Logf("replay of the ended sweep: %+v", n)

	// Refused before anything runs.
	before := f.Generated.Load()
	for name, r := range map[string]*benchdv1.RunBenchmarkRequest{
		"80 cells": {Model: "tiny", Sweep: &benchdv1.Sweep{
			NumCtx: []uint32{512, 1024, 2048, 4096, 8192}, NumThread: []uint32{1, 2, 3, 4}, MaxTokens: []uint32{1, 2, 3, 4},
		}},
		"max_tokens twice": {Model: "tiny", MaxTokens: proto.Uint32(8), Sweep: &benchdv1.Sweep{MaxTokens: []uint32{4, 8}}},
		"model not listed": {Model: "tiny", Sweep: &benchdv1.Sweep{Models: []string{"other"}}},
	} {
		err := runToEnd(ctx, c, r)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "invalid sweep") {
			t.Errorf("%s: %v, want INVALID_ARGUMENT (invalid sweep)", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if n := f.Generated.Load() - before; n != 0 {
		t.Errorf("%d generations ran for refused sweeps", n)
	}
}
