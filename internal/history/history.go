// Package history owns benchd's record of every benchmark. It observes the
// runner: each domain event is converted to the API's message once, folded
// into the run's record (proto/record, the one fold), written to the store
// (fsync'd) and only then handed to the run's watchers. WatchBenchmark
// subscribes here; a run that has ended is read back from the store and
// replayed with the same fold.
package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// Domain errors; the gRPC edge chooses their codes.
var (
	// ErrNotFound: no benchmark has that id.
	ErrNotFound = store.ErrNotFound
	// ErrLagged: a watcher fell SubscriberBuffer events behind and was
	// cut off; the run goes on.
	ErrLagged = errors.New("watcher fell behind")
	// ErrInterrupted: benchd stopped while the run was going.
	ErrInterrupted = errors.New("benchd stopped while this benchmark ran; the trials before that are kept")
)

// SubscriberBuffer bounds what a watcher may fall behind by. A client that
// stops reading is cut off instead of growing the daemon's memory or
// slowing the run; it can re-attach with WatchBenchmark.
const SubscriberBuffer = 256

// StatusFunc says which gRPC status an error stands for; a run's record
// keeps the code and message it ended with.
type StatusFunc func(error) *status.Status

// History is the record of every benchmark: the live ones in memory, all of
// them in the store.
type History struct {
	store    *store.Store
	statusOf StatusFunc
	log      *slog.Logger

	mu   sync.Mutex
	live map[string]*feed
	// ended are told of every run that ends (OnEnd).
	ended []func(*benchdv1.Benchmark)
}

var _ runner.Observer = (*History)(nil)

// Retention bounds what the history keeps (store.Retention).
type Retention = store.Retention

// Open opens the store at path, held to keep. Runs left RUNNING by a
// daemon that died are recorded as ended with ErrInterrupted.
func Open(path string, statusOf StatusFunc, keep Retention, log *slog.Logger) (*History, error) {
	st, err := store.Open(path, func(rec *benchdv1.Benchmark) {
		end(rec, statusOf, ErrInterrupted)
	}, keep)
	if err != nil {
		return nil, err
	}
	return &History{store: st, statusOf: statusOf, log: log, live: map[string]*feed{}}, nil
}

// Close closes the store.
func (h *History) Close() error { return h.store.Close() }

// feed is one live run: its record and its watchers.
type feed struct {
	rec  *benchdv1.Benchmark
	subs map[*Subscription]struct{}
	// running is the running sweep cell's cell_started, or concurrency
	// level's level_started (nil between them): the record keeps only
	// finished ones, and a watcher's replay needs its start
	// (record.LiveEvents).
	running *benchdv1.BenchmarkEvent
}

// Begin registers a run before its first event, so a watcher that arrives
// at once finds it.
func (h *History) Begin(run *runner.Run) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live[run.ID] = &feed{
		rec: &benchdv1.Benchmark{
			BenchmarkId: run.ID,
			State:       benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING,
			Model:       run.Model,
			Settings:    settingsToProto(run.Settings),
			CreatedAt:   timestamppb.Now(),
		},
		subs: map[*Subscription]struct{}{},
	}
}

// Event records ev and then hands it to the run's watchers. It runs in the
// benchmark's goroutine: a trial is on disk before any client reads it.
func (h *History) Event(run *runner.Run, ev runner.Event) {
	pe := eventToProto(ev, h.statusOf)
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.live[run.ID]
	if f == nil {
		return
	}
	switch {
	case pe.GetCellStarted() != nil, pe.GetLevelStarted() != nil:
		f.running = pe
	case pe.GetCellFinished() != nil, pe.GetLevelFinished() != nil:
		f.running = nil
	}
	if ev.Progress == nil {
		record.Apply(f.rec, pe)
		if ev.Trial != nil {
			f.rec.VramTimeline = append(f.rec.VramTimeline, vramTimeline(ev.Trial)...)
		}
		h.write(f.rec)
	}
	for sub := range f.subs {
		select {
		case sub.c <- pe:
		default:
			if ev.Progress != nil {
				continue // progress is disposable; the trial event follows
			}
			sub.end(fmt.Errorf("benchmark %s: this stream fell %d events behind: %w", run.ID, SubscriberBuffer, ErrLagged))
			delete(f.subs, sub)
		}
	}
}

// End records how the run ended and closes its watchers' streams.
func (h *History) End(run *runner.Run, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.live[run.ID]
	if f == nil {
		return
	}
	end(f.rec, h.statusOf, err)
	h.write(f.rec)
	h.tellEnded(f.rec)
	delete(h.live, run.ID)
	for sub := range f.subs {
		sub.end(err)
	}
}

func end(rec *benchdv1.Benchmark, statusOf StatusFunc, err error) {
	if rec.GetStarted() == nil {
		// A run that never started (unknown model, container down, busy
		// ollama) measured nothing; its prompts, up to 1 MiB a request,
		// would only fill the store. The rest of its settings stay.
		dropPrompts(rec.GetSettings())
	}
	switch {
	case err == nil:
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED
	case errors.Is(err, context.Canceled):
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_CANCELLED
	default:
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED
	}
	if err != nil {
		st := statusOf(err)
		rec.ErrorCode, rec.ErrorMessage = int32(st.Code()), st.Message()
	}
}

func (h *History) write(rec *benchdv1.Benchmark) {
	rec.UpdatedAt = timestamppb.Now()
	// A write failure must not fail the benchmark whose numbers are still
	// streaming to the client; it is logged loudly instead.
	if err := h.store.Put(context.Background(), rec); err != nil {
		h.log.Error("write benchmark to history store", "benchmark", rec.GetBenchmarkId(), "err", err)
	}
}

// Subscription is one watcher of a live run.
type Subscription struct {
	// C delivers the run's events; it is closed when the run ends or the
	// watcher falls behind, and then Err says which.
	C   <-chan *benchdv1.BenchmarkEvent
	c   chan *benchdv1.BenchmarkEvent
	h   *History
	id  string
	err error
}

func (s *Subscription) end(err error) {
	s.err = err
	close(s.c)
}

// Err is how the stream ended once C is closed: nil when the run
// succeeded, the run's error, or ErrLagged.
func (s *Subscription) Err() error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.err
}

// Close stops delivery to this subscription.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if f := s.h.live[s.id]; f != nil {
		if _, ok := f.subs[s]; ok {
			delete(f.subs, s)
			close(s.c)
		}
	}
}

// Watch returns a benchmark's events so far and, while it runs, a
// subscription for the rest (nil once it has ended: the replay is then the
// whole run, and err its outcome as stored).
func (h *History) Watch(ctx context.Context, id string) (replay []*benchdv1.BenchmarkEvent, sub *Subscription, err error) {
	h.mu.Lock()
	if f := h.live[id]; f != nil {
		defer h.mu.Unlock()
		c := make(chan *benchdv1.BenchmarkEvent, SubscriberBuffer)
		sub = &Subscription{C: c, c: c, h: h, id: id}
		f.subs[sub] = struct{}{}
		return record.LiveEvents(f.rec, f.running), sub, nil
	}
	h.mu.Unlock()
	// End writes the record before it drops the live feed, so a run that
	// is not live is complete in the store.
	rec, err := h.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return record.Events(rec), nil, record.Err(rec)
}

// Get reads one benchmark, running or ended.
func (h *History) Get(ctx context.Context, id string) (*benchdv1.Benchmark, error) {
	rec, err := h.store.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read benchmark %s: %w", id, err)
	}
	return rec, err
}

// Filter selects benchmarks for List.
type Filter = store.Filter

// ListPageBytes bounds the encoded size of one page of List: a page ends
// before the record that would take it over. A listed record is small
// (no prompts, trials or VRAM timeline; its error message cut to
// listErrorBytes), so a page of the largest size (1000) fits unless the
// records carry unusually large GPU lists or machine names.
const ListPageBytes = 1 << 20

// listErrorBytes is how much of a run's error message a listing keeps;
// GetBenchmark has all of it.
const listErrorBytes = 1024

// List returns one page of benchmarks, newest first, without prompts,
// trials or VRAM timeline (those come with Get), at most ListPageBytes
// large, and the token of the next page.
func (h *History) List(ctx context.Context, f Filter) ([]*benchdv1.Benchmark, string, error) {
	f.Summarize, f.MaxBytes = listed, ListPageBytes
	recs, next, err := h.store.List(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list benchmarks: %w", err)
	}
	return recs, next, nil
}

func dropPrompts(s *benchdv1.RunBenchmarkRequest) {
	if s != nil {
		s.Prompts = nil
	}
}

// listed turns a stored record into its listed form.
func listed(r *benchdv1.Benchmark) {
	r.Trials, r.VramTimeline = nil, nil
	dropPrompts(r.GetSettings())
	dropPrompts(r.GetStarted().GetSettings())
	if m := r.GetErrorMessage(); len(m) > listErrorBytes {
		r.ErrorMessage = strings.ToValidUTF8(m[:listErrorBytes], "") + "… (GetBenchmark has the whole message)"
	}
}
