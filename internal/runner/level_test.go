package runner

// A level's figures from a scripted schedule of three requests, on a
// clock the test sets: every figure is exact.

import (
	"math"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/ollama"
)

func TestLevelFiguresFromAScriptedSchedule(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := time.Millisecond
	// Three requests sent together to one slot: each waits for the ones
	// before it (queue 0, 100, 200 ms), has 10 ms of prompt and 100 ms of
	// generation; the third also waited 5 ms for the model (load).
	req := func(sent, wall, ttft, load time.Duration, tokens int, gaps ...time.Duration) *Trial {
		tr := ollama.Trial{TTFT: ttft, LoadDuration: load, PromptEvalDuration: 10 * ms, EvalCount: tokens, Wall: wall}
		at := ttft
		for _, g := range append([]time.Duration{0}, gaps...) {
			at += g
			tr.Chunks = append(tr.Chunks, ollama.Chunk{Stamp: t0.Add(at), Arrived: at})
		}
		tr.Final = ollama.Chunk{Stamp: t0.Add(at + ms), Arrived: at + ms}
		t := &Trial{Trial: tr, SentAt: t0.Add(sent), Queue: queueTime(tr)}
		t.Timing = tokenTiming(tr)
		return t
	}
	ts := []*Trial{
		req(0, 120*ms, 10*ms, 0, 4, 10*ms, 20*ms, 30*ms),
		req(0, 230*ms, 110*ms, 0, 2, 40*ms),
		req(5*ms, 335*ms, 215*ms, 5*ms, 3, 50*ms, 60*ms),
	}
	var gaps []float64
	for _, tr := range ts {
		gaps = append(gaps, gapsOf(tr)...)
	}
	lv := &Level{InFlight: 3, Requests: 3}
	summarizeLevel(lv, ts, gaps)

	// Span: from the first sending (0) to the last end (5 + 335 ms).
	if lv.Duration != 340*ms || lv.Succeeded != 3 || lv.OutputTokens != 9 {
		t.Errorf("duration %v, succeeded %d, tokens %d; want 340ms, 3, 9", lv.Duration, lv.Succeeded, lv.OutputTokens)
	}
	if want := 9 / 0.34; math.Abs(lv.OutputRate-want) > 1e-9 {
		t.Errorf("output rate %v, want %v", lv.OutputRate, want)
	}
	if want := 3 / 0.34; math.Abs(lv.RequestRate-want) > 1e-9 {
		t.Errorf("request rate %v, want %v", lv.RequestRate, want)
	}
	// Queue = ttft - load - prompt eval: 0, 100 ms, 200 ms.
	for i, want := range []time.Duration{0, 100 * ms, 200 * ms} {
		if ts[i].Queue != want {
			t.Errorf("request %d: queue %v, want %v", i, ts[i].Queue, want)
		}
	}
	q := lv.Queue
	if q.N != 3 || q.P50 != float64(100*ms) || q.Max != float64(200*ms) || q.P90 != float64(180*ms) || q.P99 != float64(198*ms) {
		t.Errorf("queue summary %+v; want n 3, p50 100ms, p90 180ms, p99 198ms, max 200ms", q)
	}
	if lv.TTFT.P50 != float64(110*ms) || lv.E2E.P50 != float64(230*ms) || lv.E2E.Max != float64(335*ms) {
		t.Errorf("ttft p50 %v, e2e p50 %v max %v; want 110ms, 230ms, 335ms", lv.TTFT.P50, lv.E2E.P50, lv.E2E.Max)
	}
	// Pooled gaps: 10 20 30 40 50 60 ms.
	itl := lv.ITL
	if itl.N != 6 || itl.P50 != float64(35*ms) || itl.Max != float64(60*ms) || itl.P90 != float64(55*ms) {
		t.Errorf("itl %+v; want n 6, p50 35ms, p90 55ms, max 60ms", itl)
	}
	// TPOT per request: 20, 40, 55 ms.
	if lv.TPOT.N != 3 || lv.TPOT.P50 != float64(40*ms) || lv.TPOT.Max != float64(55*ms) {
		t.Errorf("tpot %+v; want n 3, p50 40ms, max 55ms", lv.TPOT)
	}
}

func TestQueueTimeNeverNegative(t *testing.T) {
	if q := queueTime(ollama.Trial{TTFT: time.Millisecond, LoadDuration: 2 * time.Millisecond}); q != 0 {
		t.Errorf("queue %v, want 0", q)
	}
}

func TestReservoirKeepsAtMostItsCapacity(t *testing.T) {
	r := newReservoir(4)
	r.add([]float64{1, 2, 3})
	r.add([]float64{4, 5, 6, 7, 8})
	if len(r.xs) != 4 || r.seen != 8 {
		t.Fatalf("kept %d of %d, want 4 of 8", len(r.xs), r.seen)
	}
}

func TestCellTimeoutDefault(t *testing.T) {
	w := &Sweep{}
	for _, tc := range []struct {
		total time.Duration
		cells int
		want  time.Duration
	}{
		{10 * time.Minute, 4, 150 * time.Second},
		{10 * time.Minute, 64, time.Minute}, // the floor
		{time.Hour, 2, 30 * time.Minute},
	} {
		if got := w.cellTimeout(tc.total, tc.cells); got != tc.want {
			t.Errorf("cellTimeout(%v, %d) = %v, want %v", tc.total, tc.cells, got, tc.want)
		}
	}
	w.CellTimeout = 5 * time.Second
	if got := w.cellTimeout(time.Hour, 2); got != 5*time.Second {
		t.Errorf("explicit cell timeout: %v, want 5s", got)
	}
}
