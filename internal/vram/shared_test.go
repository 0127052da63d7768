package vram_test

// TEST DOUBLES (internal/fakes): fakes.StubVRAM stands in for a VRAM source
// and counts its reads; its Name makes it pass for an exec'd tool.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/vram"
)

// N watchers of one Hub cost one read per interval, not N: 50 watchers
// each take 10 readings at a 20ms interval; a sampler each would read 500
// times.
func TestHubSharesOneSamplerAmongWatchers(t *testing.T) {
	const n, k = 50, 10
	stub := &fakes.StubVRAM{Name: "stub", GPUs: used(0, 1)}
	h := vram.NewHub(stub)
	var wg sync.WaitGroup
	for range n {
		w := h.Watch(20 * time.Millisecond)
		wg.Go(func() {
			defer w.Close()
			for range k {
				if rd := <-w.C; rd.Err != nil || len(rd.GPUs) != 1 {
					t.Errorf("reading %+v", rd)
					return
				}
			}
		})
	}
	wg.Wait()
	reads := stub.Calls.Load()
	// Each reading goes to every watcher due for it; a watcher that
	// missed one (the machine busy) waits for the next, hence the slack.
	if reads > 3*k {
		t.Errorf("%d watchers × %d readings took %d reads, want at most %d (one sampler)", n, k, reads, 3*k)
	}
	t.Logf("%d watchers × %d readings at 20ms: %d reads (%d without sharing)", n, k, reads, n*k)
}

// An exec'd tool's watchers are held to MinExecInterval; sysfs's are not.
func TestHubRaisesExecIntervalsToTheMinimum(t *testing.T) {
	for src, want := range map[string]time.Duration{
		vram.SourceNvidiaSMI: vram.MinExecInterval, vram.SourceRocmSMI: vram.MinExecInterval,
		vram.SourceAMDSMI: vram.MinExecInterval, vram.SourceSysfs: 50 * time.Millisecond,
	} {
		w := vram.NewHub(&fakes.StubVRAM{Name: src, GPUs: used(0, 1)}).Watch(50 * time.Millisecond)
		<-w.C
		if w.Interval() != want {
			t.Errorf("%s: a 50ms watch runs at %v, want %v", src, w.Interval(), want)
		}
		w.Close()
	}
}

// However many callers read an exec'd tool through Limit, its runs start
// at least the interval apart: 200 concurrent reads share one run, and 5
// reads one after another take 5 runs, none of them given a stale reading
// (asserted by count; the time they took is logged).
func TestLimitRunsTheToolOncePerInterval(t *testing.T) {
	stub := &fakes.StubVRAM{Name: vram.SourceNvidiaSMI, GPUs: used(0, 1)}
	const every = 20 * time.Millisecond
	r := vram.Limit(stub, every)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			if gpus, err := r.Read(context.Background()); err != nil || len(gpus) != 1 {
				t.Errorf("read: %v, %v", gpus, err)
			}
		})
	}
	close(start)
	wg.Wait()
	concurrent := stub.Calls.Load()
	// The 200 goroutines may start on either side of the first read's
	// start: at most two runs.
	if concurrent > 2 {
		t.Errorf("200 concurrent reads ran the tool %d times, want at most 2", concurrent)
	}
	began := time.Now()
	for range 5 {
		if _, err := r.Read(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(began)
	if n := stub.Calls.Load() - concurrent; n != 5 {
		t.Errorf("5 reads one after another ran the tool %d times, want 5 (none stale)", n)
	}
	t.Logf("200 concurrent reads: %d runs; then 5 in a row: 5 runs in %v (interval %v)", concurrent, took.Round(time.Millisecond), every)
}

// A read cut short by its caller's context is not kept for the others.
func TestLimitDoesNotKeepACancelledRead(t *testing.T) {
	stub := &fakes.StubVRAM{Name: vram.SourceNvidiaSMI, GPUs: used(0, 1), Block: make(chan struct{})}
	r := vram.Limit(stub, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx); err == nil {
		t.Fatal("a cancelled read succeeded")
	}
	close(stub.Block)
	if gpus, err := r.Read(context.Background()); err != nil || len(gpus) != 1 {
		t.Fatalf("the read after a cancelled one: %v, %v", gpus, err)
	}
}
