package record_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

func stream() []*benchdv1.BenchmarkEvent {
	start := timestamppb.New(time.Now().Add(-time.Second))
	return []*benchdv1.BenchmarkEvent{
		{Kind: &benchdv1.BenchmarkEvent_Started{Started: &benchdv1.BenchmarkStarted{
			BenchmarkId: "20260102T030405Z-0123abcd", Model: "tiny", StartedAt: start,
			Settings: &benchdv1.RunBenchmarkRequest{Model: "tiny"},
		}}},
		{Kind: &benchdv1.BenchmarkEvent_Progress{Progress: &benchdv1.TrialProgress{Tokens: 3}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Index: 0, Warmup: true, EvalCount: 7}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Index: 1, EvalCount: 9}}},
		{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: &benchdv1.BenchmarkFinished{
			BenchmarkId: "20260102T030405Z-0123abcd", Trials: 1, FinishedAt: timestamppb.Now(),
		}}},
	}
}

func TestFoldAndReplayAreInverse(t *testing.T) {
	evs := stream()
	rec := record.FromEvents(evs)
	if got := record.State(rec.GetState()); got != "SUCCEEDED" {
		t.Errorf("state %s, want SUCCEEDED", got)
	}
	if rec.GetBenchmarkId() != "20260102T030405Z-0123abcd" || rec.GetModel() != "tiny" || rec.GetSettings().GetModel() != "tiny" {
		t.Errorf("identity not taken from the started event: %v", rec)
	}
	if !proto.Equal(rec.GetCreatedAt(), evs[0].GetStarted().GetStartedAt()) {
		t.Errorf("created_at %v, want the start time", rec.GetCreatedAt())
	}
	if len(rec.GetTrials()) != 2 {
		t.Fatalf("%d trials, want 2", len(rec.GetTrials()))
	}
	// Replaying gives the stream back without its progress event.
	replay := record.Events(rec)
	want := append(evs[:1:1], evs[2:]...)
	if len(replay) != len(want) {
		t.Fatalf("replay has %d events, want %d", len(replay), len(want))
	}
	for i := range want {
		if !proto.Equal(replay[i], want[i]) {
			t.Errorf("event %d: got %v, want %v", i, replay[i], want[i])
		}
	}
}

func TestPartialStreamStaysRunning(t *testing.T) {
	evs := stream()
	rec := record.FromEvents(evs[:3])
	if rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING || rec.GetFinished() != nil {
		t.Errorf("a stream without finished: state %v, finished %v", rec.GetState(), rec.GetFinished())
	}
	if record.Err(rec) != nil {
		t.Errorf("a running record has error %v", record.Err(rec))
	}
}

func TestApplyKeepsWhatTheDaemonSet(t *testing.T) {
	rec := &benchdv1.Benchmark{BenchmarkId: "x", Model: "as-requested", State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING,
		Settings: &benchdv1.RunBenchmarkRequest{Model: "as-requested"}}
	record.Apply(rec, stream()[0])
	if rec.GetBenchmarkId() != "x" || rec.GetModel() != "as-requested" || rec.GetSettings().GetModel() != "as-requested" {
		t.Errorf("Apply overwrote the record's own fields: %v", rec)
	}
}

func TestErrIsTheStoredStatus(t *testing.T) {
	rec := &benchdv1.Benchmark{ErrorCode: int32(codes.NotFound), ErrorMessage: "no model; pull it"}
	st := status.Convert(record.Err(rec))
	if st.Code() != codes.NotFound || st.Message() != "no model; pull it" {
		t.Errorf("Err = %v", st)
	}
}

// The pattern is read from the contract, not typed in: an empty or wrong
// read would accept the bad ids below.
func TestIDPatternIsTheContractsRule(t *testing.T) {
	for id, ok := range map[string]bool{"20260102T030405Z-0123abcd": true, "20260102T030405Z-0123ABCD": false, "latest": false, "": false} {
		if record.IDPattern.MatchString(id) != ok {
			t.Errorf("%q: match %v, want %v", id, !ok, ok)
		}
	}
}
