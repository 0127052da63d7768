package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/runner"
)

const ms = time.Millisecond

// schedule is the scripted stream of the token-timing tests (TEST DOUBLE:
// fakes.Stream, no ollama): 11 chunks, the first 20 ms after the handler
// began, then gaps of 10, 10, 10, 10, 50, 10, 10, 10, 10, 30 ms, and the
// final chunk 5 ms after the last. Sorted, the 10 gaps are eight of 10 ms,
// 30 and 50, so by linear interpolation between closest ranks (h =
// 9q): p50 (h 4.5) 10 ms, p90 (h 8.1) 30 + 0.1*20 = 32 ms, p99 (h 8.91)
// 30 + 0.91*20 = 48.2 ms, max 50 ms; TPOT 160/10 = 16 ms; the longest
// stall 50 ms, after 5 chunks; decode 160 + 5 = 165 ms.
//
// The transport plays Docker's exec stdio holding chunks back: the first
// six arrive together at 120 ms, the rest and the final chunk at 190 ms.
// So by arrival the decode time is 70 ms and the longest gap 70 ms, and the
// stamped figures must not move.
func schedule() *fakes.Stream {
	return &fakes.Stream{
		Delays:   []time.Duration{20 * ms, 10 * ms, 10 * ms, 10 * ms, 10 * ms, 50 * ms, 10 * ms, 10 * ms, 10 * ms, 10 * ms, 30 * ms},
		Final:    5 * ms,
		Arrivals: []time.Duration{120 * ms, 120 * ms, 120 * ms, 120 * ms, 120 * ms, 120 * ms, 190 * ms, 190 * ms, 190 * ms, 190 * ms, 190 * ms, 190 * ms},
	}
}

// runScripted runs a benchmark of reps measured trials (and one warm-up)
// against f and returns its events.
func runScripted(t *testing.T, f *fakes.Ollama, reps int) *summaryObserver {
	t.Helper()
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	obs := &summaryObserver{}
	run, err := r.Start(settings(reps), obs)
	if err != nil {
		t.Fatal(err)
	}
	<-run.Done()
	if err := run.Err(); err != nil {
		t.Fatal(err)
	}
	return obs
}

func TestTokenTimingFromAScriptedStreamIsExact(t *testing.T) {
	s := schedule()
	s.EvalDuration = 160 * ms // 165 ms decode is 3.1% off: agrees
	obs := runScripted(t, &fakes.Ollama{Stream: s}, 3)
	want := runner.TokenTiming{
		Chunks: 11,
		ITLP50: 10 * ms, ITLP90: 32 * ms, ITLP99: 48200 * time.Microsecond, ITLMax: 50 * ms,
		TPOT:         16 * ms,
		LongestStall: 50 * ms, LongestStallAfter: 5,
		Decode:         165 * ms,
		ReceivedDecode: 70 * ms, ReceivedLongestStall: 70 * ms,
		OllamaClock: true,
	}
	if len(obs.trials) != 4 {
		t.Fatalf("%d trials", len(obs.trials))
	}
	for _, tr := range obs.trials {
		if tr.Timing == nil || *tr.Timing != want {
			t.Errorf("trial %d: timing\n%+v\nwant\n%+v", tr.Index, tr.Timing, want)
		}
		if tr.DecodeMismatch != "" || tr.Invalid != "" {
			t.Errorf("trial %d flagged: %q %q", tr.Index, tr.DecodeMismatch, tr.Invalid)
		}
		if tr.TTFT != 20*ms || tr.Chunks != nil {
			t.Errorf("trial %d: ttft %v, %d chunks kept", tr.Index, tr.TTFT, len(tr.Chunks))
		}
	}
	sum := obs.finished.Summary
	for name, got := range map[string]float64{"tpot": sum.TPOT.Mean, "itl p50": sum.ITLP50.Mean, "itl p99": sum.ITLP99.Mean, "stall": sum.LongestStall.Mean} {
		w := map[string]time.Duration{"tpot": 16 * ms, "itl p50": 10 * ms, "itl p99": 48200 * time.Microsecond, "stall": 50 * ms}[name]
		if got != float64(w) {
			t.Errorf("summary %s mean %v, want %v", name, got, w)
		}
	}
	if sum.TPOT.N != 3 || sum.TPOT.CV != 0 || obs.finished.Unstable != "" || obs.finished.DecodeMismatches != 0 {
		t.Errorf("summary %+v, unstable %q, mismatches %d", sum.TPOT, obs.finished.Unstable, obs.finished.DecodeMismatches)
	}
}

// The decode check: the stamps' 165 ms against eval_duration. 150 ms is
// 10% off, on the line, and passes; 149 ms is 10.7% off and is flagged
// (the trial stays in the summary).
func TestDecodeTimeCheckedAgainstEvalDuration(t *testing.T) {
	for _, c := range []struct {
		eval    time.Duration
		flagged bool
	}{{150 * ms, false}, {149 * ms, true}, {183334 * time.Microsecond, true}, {183333 * time.Microsecond, false}} {
		s := schedule()
		s.EvalDuration = c.eval
		obs := runScripted(t, &fakes.Ollama{Stream: s}, 2)
		for _, tr := range obs.trials {
			if got := tr.DecodeMismatch != ""; got != c.flagged {
				t.Errorf("eval_duration %v: trial %d flagged %v (%q), want %v", c.eval, tr.Index, got, tr.DecodeMismatch, c.flagged)
			}
			if c.flagged && !strings.Contains(tr.DecodeMismatch, "decode time 165ms (from ollama's chunk stamps) differs from ollama's eval_duration "+c.eval.String()) {
				t.Errorf("reason %q", tr.DecodeMismatch)
			}
		}
		wantCount := 0
		if c.flagged {
			wantCount = 2
		}
		if obs.finished.DecodeMismatches != wantCount || obs.finished.Trials != 2 {
			t.Errorf("eval_duration %v: %d mismatches over %d trials, want %d over 2", c.eval, obs.finished.DecodeMismatches, obs.finished.Trials, wantCount)
		}
	}
}

// Without ollama's stamps the figures are by arrival, and say so.
func TestTokenTimingWithoutStampsIsByArrival(t *testing.T) {
	s := schedule()
	s.Unstamped = true
	obs := runScripted(t, &fakes.Ollama{Stream: s}, 1)
	tt := obs.trials[1].Timing
	// Arrival gaps: five of 0, 70 ms, four of 0; sorted, nine of 0 and
	// 70: p50 0, p90 (h 8.1) 0.1*70 = 7 ms, p99 (h 8.91) 0.91*70 = 63.7
	// ms; TPOT 70/10 = 7 ms.
	want := runner.TokenTiming{Chunks: 11, ITLP90: 7 * ms, ITLP99: 63700 * time.Microsecond, ITLMax: 70 * ms, TPOT: 7 * ms,
		LongestStall: 70 * ms, LongestStallAfter: 6, Decode: 70 * ms, ReceivedDecode: 70 * ms, ReceivedLongestStall: 70 * ms}
	if tt == nil || *tt != want {
		t.Fatalf("timing\n%+v\nwant\n%+v", tt, want)
	}
	// eval_duration defaults to the 165 ms the stamps would have said: 70
	// ms by arrival is far off, and the reason says whose clock.
	if r := obs.trials[1].DecodeMismatch; !strings.Contains(r, "as received by benchd") {
		t.Errorf("decode check %q", r)
	}
}

// A run whose TTFT varies by more than 10% (cv) is unstable; eval rate
// here is constant.
func TestUnstableRun(t *testing.T) {
	for _, c := range []struct {
		ttfts []time.Duration
		want  string
	}{
		// 10, 10, 14 ms: mean 34/3, sd sqrt(16/3) = 2.309: cv 20.4%.
		{[]time.Duration{0, 10 * ms, 10 * ms, 14 * ms}, "ttft_ns cv 20.4% (over 10%)"},
		// 10, 10, 11 ms: sd 0.577, mean 10.33: cv 5.6%.
		{[]time.Duration{0, 10 * ms, 10 * ms, 11 * ms}, ""},
	} {
		obs := runScripted(t, &fakes.Ollama{Stream: schedule(), TTFTs: c.ttfts}, 3)
		if got := obs.finished.Unstable; got != c.want {
			t.Errorf("TTFTs %v: unstable %q, want %q", c.ttfts, got, c.want)
		}
	}
}
