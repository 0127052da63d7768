package service_test

// Concurrency on the rig's real ollama, in two containers of the test's
// own: with OLLAMA_NUM_PARALLEL=1 four requests in flight are served one
// after another (each waits for those before it), with 4 they overlap; the
// reported parallel slots are 1 and 4. The assertions compare the
// requests with each other and with the measured generation time, never
// with a fixed duration, so a busy host slows both sides alike.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/testrig"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func TestConcurrencyOnTheRig(t *testing.T) {
	for _, tc := range []struct {
		container string
		parallel  int
	}{{"benchd-rig-p1", 1}, {"benchd-rig-p4", 4}} {
		t.Run(fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", tc.parallel), func(t *testing.T) {
			container := testrig.OllamaNamed(t, tc.container, fmt.Sprintf("OLLAMA_NUM_PARALLEL=%d", tc.parallel))
			st := newStack(t, container)
			c := rawClient(t, st.sock)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			// 2048 tokens a request (in a 4096-token context: no shift):
			// generation, not the few ms of sending, dominates.
			res, err := collect(ctx, c, &benchdv1.RunBenchmarkRequest{
				Model: testrig.Model, Warmup: proto.Uint32(1), MaxTokens: proto.Uint32(2048), NumCtx: proto.Uint32(4096),
				Timeout:     durationpb.New(3 * time.Minute),
				Concurrency: &benchdv1.Concurrency{Levels: []uint32{1, 2, 4}, Requests: proto.Uint32(4)},
			})
			if err != nil {
				t.Fatalf("concurrency run: %v", err)
			}
			if got := res.started.GetOllamaNumParallel(); got != fmt.Sprint(tc.parallel) {
				t.Errorf("ollama_num_parallel %q, want %q", got, fmt.Sprint(tc.parallel))
			}
			if len(res.levels) != 3 || res.levelStarts != 3 || res.finished == nil {
				t.Fatalf("%d levels started, %d finished, finished %v; want 3, 3", res.levelStarts, len(res.levels), res.finished)
			}
			t.Logf("OLLAMA_NUM_PARALLEL=%d (reported %q), 4 requests a level, 2048 tokens each:\n%s",
				tc.parallel, res.started.GetOllamaNumParallel(), levelTable(res.levels))
			for i, l := range res.levels {
				if l.GetSucceeded() != 4 || l.GetFailed() != 0 || l.GetOutputTokensPerSecond() <= 0 || l.GetQueueNs().GetN() != 4 {
					t.Errorf("level %d: %v; want 4 succeeded, a rate, 4 queue times", i, l)
				}
			}

			// The level with four in flight: its trials.
			var four []*benchdv1.Trial
			for _, tr := range res.trials {
				if tr.GetLevel() == 2 && !tr.GetWarmup() {
					four = append(four, tr)
				}
			}
			if len(four) != 4 {
				t.Fatalf("%d trials at 4 in flight, want 4", len(four))
			}
			// One generation: the median eval_duration at that level.
			var evals, queues []int64
			var lastFirst, firstEnd time.Time
			var firsts []time.Time
			for _, tr := range four {
				evals = append(evals, tr.GetEvalDurationNs())
				queues = append(queues, tr.GetQueueNs())
				first := tr.GetSentAt().AsTime().Add(time.Duration(tr.GetReceivedTtftNs()))
				end := tr.GetSentAt().AsTime().Add(time.Duration(tr.GetWallNs()))
				firsts = append(firsts, first)
				if first.After(lastFirst) {
					lastFirst = first
				}
				if firstEnd.IsZero() || end.Before(firstEnd) {
					firstEnd = end
				}
				t.Logf("request %d: sent %s, queue %v, ttft %v, prompt eval %v, eval %v (%d tokens), e2e %v",
					tr.GetIndex(), tr.GetSentAt().AsTime().Format("15:04:05.000"), time.Duration(tr.GetQueueNs()),
					time.Duration(tr.GetTtftNs()), time.Duration(tr.GetPromptEvalDurationNs()),
					time.Duration(tr.GetEvalDurationNs()), tr.GetEvalCount(), time.Duration(tr.GetWallNs()))
			}
			slices.Sort(evals)
			slices.Sort(queues)
			gen := time.Duration(evals[1]+evals[2]) / 2
			spread := slices.MaxFunc(firsts, time.Time.Compare).Sub(slices.MinFunc(firsts, time.Time.Compare))
			overlap := lastFirst.Before(firstEnd)
			t.Logf("one generation (median eval) %v; queue times %v; first tokens within %v; all four generating at once: %v",
				gen, durs(queues), spread, overlap)

			switch tc.parallel {
			case 1:
				// Served one after another: the k-th waits for the k-1
				// before it (half a generation each, for slack).
				for k, q := range queues {
					if want := time.Duration(k) * gen / 2; time.Duration(q) < want {
						t.Errorf("queue time %d of 4 is %v, want at least %v ((k-1) x half a generation of %v)", k+1, time.Duration(q), want, gen)
					}
				}
				if overlap {
					t.Errorf("with one slot the last request's first token (%v) came before the first request ended (%v)", lastFirst, firstEnd)
				}
			case 4:
				// Overlapping: all four are generating at one moment, and
				// their first tokens come within half a generation.
				if !overlap {
					t.Errorf("with four slots the last first token (%v) came after the first request ended (%v)", lastFirst, firstEnd)
				}
				if spread >= gen/2 {
					t.Errorf("first tokens spread over %v, want less than half a generation (%v)", spread, gen/2)
				}
				if q := time.Duration(queues[3]); q >= gen/2 {
					t.Errorf("the longest queue time is %v, want less than half a generation (%v)", q, gen/2)
				}
			}
		})
	}
}

func durs(ns []int64) []time.Duration {
	out := make([]time.Duration, len(ns))
	for i, n := range ns {
		out[i] = time.Duration(n).Round(time.Millisecond)
	}
	return out
}

// levelTable prints levels as the lead quotes them.
func levelTable(levels []*benchdv1.ConcurrencyLevel) string {
	var b strings.Builder
	ms := func(ns float64) string { return time.Duration(ns).Round(time.Millisecond / 10).String() }
	pct := func(s *benchdv1.Summary) string {
		return fmt.Sprintf("%s/%s/%s", ms(s.GetP50()), ms(s.GetP90()), ms(s.GetP99()))
	}
	fmt.Fprintf(&b, "%-9s %-4s %-7s %-9s %-6s %-26s %-26s %-26s %-26s %s\n",
		"in flight", "reqs", "ok/fail", "out tok/s", "req/s", "ttft p50/p90/p99", "itl p50/p90/p99", "e2e p50/p90/p99", "queue p50/p90/p99", "peak VRAM")
	for _, l := range levels {
		fmt.Fprintf(&b, "%-9d %-4d %-7s %-9.0f %-6.2f %-26s %-26s %-26s %-26s %d\n",
			l.GetConcurrency(), l.GetRequests(), fmt.Sprintf("%d/%d", l.GetSucceeded(), l.GetFailed()),
			l.GetOutputTokensPerSecond(), l.GetRequestsPerSecond(), pct(l.GetTtftNs()), pct(l.GetItlNs()),
			pct(l.GetE2ELatencyNs()), pct(l.GetQueueNs()), l.GetPeakVramUsedBytes())
	}
	return b.String()
}
