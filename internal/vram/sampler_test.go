package vram_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/vram"
)

func used(pairs ...uint64) []vram.GPU {
	var gpus []vram.GPU
	for i := 0; i < len(pairs); i += 2 {
		gpus = append(gpus, vram.GPU{Index: int(pairs[i]), UsedBytes: pairs[i+1], TotalBytes: 1 << 40})
	}
	return gpus
}

func TestSamplerPeak(t *testing.T) {
	r := &fakes.ScriptedVRAM{
		Script: [][]vram.GPU{
			used(0, 10, 1, 5),
			nil,
			used(0, 30, 1, 4),
			nil,
			used(0, 20, 1, 50, 2, 1), // a GPU appearing late is tracked too
			used(0, 20, 1, 6),
		},
		Calls: make(chan int, 100),
	}
	s, err := vram.StartSampler(context.Background(), r, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for n := range r.Calls {
		if n >= 8 {
			break
		}
	}
	res := s.Stop()
	want := map[int]uint64{0: 30, 1: 50, 2: 1}
	if len(res.Peak) != len(want) {
		t.Fatalf("Peak = %v, want %v", res.Peak, want)
	}
	for idx, w := range want {
		if res.Peak[idx] != w {
			t.Errorf("Peak[%d] = %d, want %d", idx, res.Peak[idx], w)
		}
	}
	if res.Failures != 2 || res.FirstErr == nil || res.FirstErr.Error() != "scripted failure" {
		t.Errorf("Failures = %d, FirstErr = %v; want 2 scripted failures", res.Failures, res.FirstErr)
	}
	if len(res.Samples) < 6 {
		t.Fatalf("%d samples, want at least 6", len(res.Samples))
	}
	for i, smp := range res.Samples {
		if i > 0 && smp.At.Before(res.Samples[i-1].At) {
			t.Errorf("sample %d at %v is before sample %d", i, smp.At, i-1)
		}
	}
	if got := res.Samples[1].GPUs[0].UsedBytes; got != 30 {
		t.Errorf("timeline sample 1 vram.GPU 0 used %d, want 30", got)
	}
	// Stop is idempotent.
	if again := s.Stop(); again.Failures != res.Failures || len(again.Samples) != len(res.Samples) {
		t.Errorf("second Stop returned a different result")
	}
}

func TestSamplerFirstSampleImmediate(t *testing.T) {
	r := &fakes.ScriptedVRAM{Script: [][]vram.GPU{used(0, 42)}, Calls: make(chan int, 1)}
	s, err := vram.StartSampler(context.Background(), r, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	<-r.Calls
	res := s.Stop()
	if len(res.Samples) != 1 || res.Peak[0] != 42 {
		t.Fatalf("got %d samples, peak %v; want the one immediate sample", len(res.Samples), res.Peak)
	}
}

func TestSamplerStopCancelsInflightRead(t *testing.T) {
	blocked := &fakes.StubVRAM{Name: "slow", Block: make(chan struct{})}
	s, err := vram.StartSampler(context.Background(), blocked, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for blocked.Calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	res := s.Stop() // returns only once the goroutine has exited
	if res.Failures != 0 || len(res.Samples) != 0 {
		t.Errorf("Failures %d, samples %d; a cancelled read is neither", res.Failures, len(res.Samples))
	}
}

func TestSamplerParentContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &fakes.ScriptedVRAM{Script: [][]vram.GPU{used(0, 1)}, Calls: make(chan int, 1)}
	s, err := vram.StartSampler(ctx, r, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-r.Calls
	cancel()
	select {
	case <-vram.SamplerDone(s):
	case <-time.After(10 * time.Second):
		t.Fatal("sampler still running after its context was cancelled")
	}
	if res := s.Stop(); len(res.Samples) == 0 {
		t.Error("no samples kept after the context ended")
	}
}

func TestSamplerNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 50 {
		s, err := vram.StartSampler(context.Background(), &fakes.StubVRAM{GPUs: used(0, 1)}, time.Microsecond)
		if err != nil {
			t.Fatal(err)
		}
		s.Stop()
	}
	// Stop waits for the goroutine, so none may be left; allow the
	// runtime a moment for unrelated goroutines (timers) to settle.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}

func TestStartSamplerRejects(t *testing.T) {
	if _, err := vram.StartSampler(context.Background(), nil, time.Second); err == nil {
		t.Error("nil Reader: want error")
	}
	if _, err := vram.StartSampler(context.Background(), &fakes.StubVRAM{}, 0); err == nil {
		t.Error("zero interval: want error")
	}
}
