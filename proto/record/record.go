// Package record is the one fold between a benchmark's event stream and its
// stored record: Apply adds an event to a benchd.v1.Benchmark, Events
// replays a record as the events it streamed. The daemon persists runs with
// it, WatchBenchmark replays with it, and clients assemble a result from a
// live stream with it, so a record means the same thing everywhere.
package record

import (
	"regexp"
	"strings"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/protobuf/proto"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Apply folds ev into rec. Progress events are not part of a record and
// are ignored. A finished event marks the record SUCCEEDED: nothing follows
// it but the end of the stream.
func Apply(rec *benchdv1.Benchmark, ev *benchdv1.BenchmarkEvent) {
	switch k := ev.GetKind().(type) {
	case *benchdv1.BenchmarkEvent_Started:
		s := k.Started
		rec.Started = s
		if rec.BenchmarkId == "" {
			rec.BenchmarkId = s.GetBenchmarkId()
		}
		if rec.Model == "" {
			rec.Model = s.GetModel()
		}
		if rec.Settings == nil {
			rec.Settings = s.GetSettings()
		}
		rec.CreatedAt = s.GetStartedAt()
		if rec.State == benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED {
			rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING
		}
	case *benchdv1.BenchmarkEvent_Trial:
		rec.Trials = append(rec.Trials, k.Trial)
	case *benchdv1.BenchmarkEvent_CellFinished:
		rec.Cells = append(rec.Cells, k.CellFinished.GetCell())
	case *benchdv1.BenchmarkEvent_Finished:
		rec.Finished = k.Finished
		rec.UpdatedAt = k.Finished.GetFinishedAt()
		rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED
	}
}

// FromEvents folds evs into a new record: what a client holds after reading
// a stream, without asking benchd for the stored copy (which also has the
// VRAM timeline, which events do not carry).
func FromEvents(evs []*benchdv1.BenchmarkEvent) *benchdv1.Benchmark {
	rec := &benchdv1.Benchmark{State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING}
	for _, ev := range evs {
		Apply(rec, ev)
	}
	return rec
}

// Events replays rec as the events it streamed, progress aside. Each event
// shares its message with rec.
func Events(rec *benchdv1.Benchmark) []*benchdv1.BenchmarkEvent {
	evs := make([]*benchdv1.BenchmarkEvent, 0, len(rec.GetTrials())+2)
	if s := rec.GetStarted(); s != nil {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Started{Started: s}})
	}
	for _, t := range rec.GetTrials() {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: t}})
	}
	if f := rec.GetFinished(); f != nil {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: f}})
	}
	return evs
}

// Err is the status a record's run ended with: nil when it succeeded or
// still runs, else the gRPC status stored with it.
func Err(rec *benchdv1.Benchmark) error {
	if rec.GetErrorCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(rec.GetErrorCode()), rec.GetErrorMessage())
}

// State is a state's name without the enum's prefix: RUNNING, SUCCEEDED,
// FAILED or CANCELLED.
func State(s benchdv1.BenchmarkState) string {
	return strings.TrimPrefix(s.String(), "BENCHMARK_STATE_")
}

// IDPattern matches a benchmark id. It is read from the contract's own
// validation rule (GetBenchmarkRequest.benchmark_id), so the daemon's ids,
// the server's validation and the client's argument checks agree.
var IDPattern = regexp.MustCompile(idRule())

func idRule() string {
	fd := (&benchdv1.GetBenchmarkRequest{}).ProtoReflect().Descriptor().Fields().ByName("benchmark_id")
	rules, _ := proto.GetExtension(fd.Options(), validate.E_Field).(*validate.FieldRules)
	return rules.GetString().GetPattern()
}
