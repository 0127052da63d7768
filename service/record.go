package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// recorder keeps each run's record up to date in the store. It runs in the
// benchmark's goroutine, before subscribers see an event, so a trial is on
// disk before any client has read it.
type recorder struct {
	store *store.Store
	log   *slog.Logger

	mu   sync.Mutex
	recs map[string]*benchdv1.Benchmark
}

func newRecorder(st *store.Store, log *slog.Logger) *recorder {
	return &recorder{store: st, log: log, recs: map[string]*benchdv1.Benchmark{}}
}

var _ runner.Observer = (*recorder)(nil)

func (r *recorder) record(run *runner.Run) *benchdv1.Benchmark {
	rec, ok := r.recs[run.ID]
	if !ok {
		now := timestamppb.Now()
		rec = &benchdv1.Benchmark{
			BenchmarkId: run.ID,
			State:       benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING,
			Model:       run.Model,
			Settings:    settingsToProto(run.Settings),
			CreatedAt:   now,
		}
		r.recs[run.ID] = rec
	}
	return rec
}

// Event applies one event to the run's record and writes it.
func (r *recorder) Event(run *runner.Run, ev runner.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.record(run)
	pe := eventToProto(ev)
	switch {
	case pe.GetStarted() != nil:
		rec.Started = pe.GetStarted()
		rec.CreatedAt = rec.Started.GetStartedAt()
	case pe.GetTrial() != nil:
		rec.Trials = append(rec.Trials, pe.GetTrial())
		rec.VramTimeline = append(rec.VramTimeline, vramTimeline(ev.Trial)...)
	case pe.GetFinished() != nil:
		rec.Finished = pe.GetFinished()
	}
	r.write(rec)
}

// End records the run's outcome and forgets it.
func (r *recorder) End(run *runner.Run, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.record(run)
	delete(r.recs, run.ID)
	switch {
	case err == nil:
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED
	case errors.Is(err, context.Canceled):
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_CANCELLED
	default:
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED
	}
	if err != nil {
		st := status.Convert(toStatus(err))
		rec.ErrorCode, rec.ErrorMessage = int32(st.Code()), st.Message()
	}
	r.write(rec)
}

func (r *recorder) write(rec *benchdv1.Benchmark) {
	rec.UpdatedAt = timestamppb.Now()
	// A write failure must not fail the benchmark whose numbers are still
	// streaming to the client; it is logged loudly instead.
	if err := r.store.Put(context.Background(), rec); err != nil {
		r.log.Error("write benchmark to history store", "benchmark", rec.GetBenchmarkId(), "err", err)
	}
}
