package history

import (
	"context"

	"google.golang.org/protobuf/proto"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// OnEnd has fn told of every run that ends, with a copy of its final
// record (in listed form: no prompts, trials or timeline). fn runs under
// the history's lock, in the run's goroutine: it must be quick and must
// not call the History.
func (h *History) OnEnd(fn func(*benchdv1.Benchmark)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = append(h.ended, fn)
}

func (h *History) tellEnded(rec *benchdv1.Benchmark) {
	if len(h.ended) == 0 {
		return
	}
	c := proto.Clone(rec).(*benchdv1.Benchmark)
	listed(c)
	for _, fn := range h.ended {
		fn(c)
	}
}

// Running is how many runs are in progress.
func (h *History) Running() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live)
}

// StoredStates is how many records the store holds in each state, kept
// by the store as it writes and prunes: what the metrics exporter counts.
func (h *History) StoredStates() map[benchdv1.BenchmarkState]int { return h.store.States() }

// ListAll pages through every stored benchmark, newest first, in listed
// form: what the metrics exporter loads at start.
func (h *History) ListAll(ctx context.Context, pageToken string) ([]*benchdv1.Benchmark, string, error) {
	return h.List(ctx, Filter{Limit: 1000, After: pageToken})
}
