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

// sweepStream is a 2×2 sweep (num_ctx × num_thread) as the daemon streams
// it: each cell's start, trials and finish; cell 1 failed after a trial.
func sweepStream() []*benchdv1.BenchmarkEvent {
	id := "20260102T030405Z-0123abcd"
	settings := &benchdv1.RunBenchmarkRequest{Model: "tiny", MaxTokens: proto.Uint32(8), Repetitions: proto.Uint32(1),
		Sweep: &benchdv1.Sweep{NumCtx: []uint32{512, 1024}, NumThread: []uint32{1, 2}}}
	evs := []*benchdv1.BenchmarkEvent{{Kind: &benchdv1.BenchmarkEvent_Started{Started: &benchdv1.BenchmarkStarted{
		BenchmarkId: id, Model: "tiny", StartedAt: timestamppb.Now(), Settings: settings,
	}}}}
	at := time.Now()
	for i, s := range [][2]uint32{{512, 1}, {512, 2}, {1024, 1}, {1024, 2}} {
		start := timestamppb.New(at.Add(time.Duration(i) * time.Second))
		cell := func() *benchdv1.SweepCell {
			return &benchdv1.SweepCell{Index: uint32(i), Model: "tiny", NumCtx: proto.Uint32(s[0]), NumThread: proto.Uint32(s[1]),
				MaxTokens: 8, StartedAt: start}
		}
		evs = append(evs,
			&benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_CellStarted{CellStarted: &benchdv1.CellStarted{Cell: cell(), Cells: 4}}},
			&benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Progress{Progress: &benchdv1.TrialProgress{Cell: uint32(i), Tokens: 2}}},
			&benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Cell: uint32(i), Index: 0, EvalCount: int64(10 + i)}}})
		done := cell()
		done.FinishedAt = timestamppb.New(at.Add(time.Duration(i)*time.Second + 500*time.Millisecond))
		if i == 1 {
			done.Status, done.ErrorCode, done.ErrorMessage = benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED, int32(codes.ResourceExhausted), "out of memory"
		} else {
			evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Cell: uint32(i), Index: 1, EvalCount: int64(20 + i)}}})
			done.Status = benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED
			done.Summary = &benchdv1.BenchmarkFinished{Trials: 2}
		}
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_CellFinished{CellFinished: &benchdv1.CellFinished{Cell: done}}})
	}
	return append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: &benchdv1.BenchmarkFinished{
		BenchmarkId: id, Trials: 7, BestCell: proto.Uint32(2), CellsFailed: 1, FinishedAt: timestamppb.Now(),
	}}})
}

func withoutProgress(evs []*benchdv1.BenchmarkEvent) []*benchdv1.BenchmarkEvent {
	var out []*benchdv1.BenchmarkEvent
	for _, ev := range evs {
		if ev.GetProgress() == nil {
			out = append(out, ev)
		}
	}
	return out
}

func sameEvents(t *testing.T, got, want []*benchdv1.BenchmarkEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("replay has %d events, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("event %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// A finished sweep replays as it streamed: each cell's start (rebuilt
// from the stored cell), its trials, its finish, in order.
func TestSweepReplaysCellEvents(t *testing.T) {
	evs := sweepStream()
	rec := record.FromEvents(evs)
	if len(rec.GetCells()) != 4 || len(rec.GetTrials()) != 7 {
		t.Fatalf("record has %d cells, %d trials; want 4, 7", len(rec.GetCells()), len(rec.GetTrials()))
	}
	sameEvents(t, record.Events(rec), withoutProgress(evs))
}

// A sweep that ended (or is watched) inside a cell: the cell with trials
// but no finish gets its start rebuilt from the sweep's settings, with no
// start time; a live watcher gets the running cell's own start instead,
// also when the cell has no trial yet.
func TestSweepReplayInsideACell(t *testing.T) {
	evs := withoutProgress(sweepStream())
	// Up to cell 2's first trial: started, cells 0 and 1 (3+4 events),
	// cell 2's start and trial.
	cut := 1 + 4 + 3 + 2
	rec := record.FromEvents(evs[:cut])
	want := append([]*benchdv1.BenchmarkEvent{}, evs[:cut]...)
	rebuilt := proto.Clone(evs[cut-2]).(*benchdv1.BenchmarkEvent)
	rebuilt.GetCellStarted().GetCell().StartedAt = nil
	want[cut-2] = rebuilt
	sameEvents(t, record.Events(rec), want)
	// Live, with the running cell's own start: exactly the stream.
	running := evs[cut-2]
	sameEvents(t, record.LiveEvents(rec, running), evs[:cut])
	// Live, before the running cell's first trial: its start ends the replay.
	rec = record.FromEvents(evs[:cut-1])
	sameEvents(t, record.Events(rec), evs[:cut-2])
	sameEvents(t, record.LiveEvents(rec, running), evs[:cut-1])
}

func TestSweepCellAtFollowsTheRunOrder(t *testing.T) {
	s := &benchdv1.RunBenchmarkRequest{Model: "a", MaxTokens: proto.Uint32(64), PromptTokens: proto.Uint32(100),
		Sweep: &benchdv1.Sweep{Models: []string{"a", "b"}, NumGpu: []uint32{0, 99}, MaxTokens: []uint32{16, 32, 48}}}
	if n := record.SweepCells(s); n != 12 {
		t.Fatalf("SweepCells %d, want 12", n)
	}
	c := record.SweepCellAt(s, 11)
	if c.GetIndex() != 11 || c.GetModel() != "b" || c.GetNumGpu() != 99 || c.GetMaxTokens() != 48 || c.GetPromptTokens() != 100 || c.NumCtx != nil || c.NumThread != nil {
		t.Errorf("cell 11: %v", c)
	}
	c = record.SweepCellAt(s, 4) // a, num_gpu 99, max_tokens 32
	if c.GetModel() != "a" || c.GetNumGpu() != 99 || c.GetMaxTokens() != 32 {
		t.Errorf("cell 4: %v", c)
	}
	if record.SweepCells(&benchdv1.RunBenchmarkRequest{Model: "a"}) != 0 {
		t.Error("a run without a sweep has cells")
	}
}
