package client

import (
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// sweepEvents is a 2-cell sweep (num_gpu 0 and 99) as benchd streams it:
// cell 0 succeeded, cell 1 failed out of memory; the best cell is 0.
func sweepEvents() []*benchdv1.BenchmarkEvent {
	id := "20260102T030405Z-0123abcd"
	started := &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Started{Started: &benchdv1.BenchmarkStarted{BenchmarkId: id, Model: "tiny"}}}
	cell := func(i, gpu uint32) *benchdv1.SweepCell {
		return &benchdv1.SweepCell{Index: i, Model: "tiny", NumGpu: proto.Uint32(gpu), MaxTokens: 8}
	}
	ok, oom := cell(0, 0), cell(1, 99)
	ok.Status, ok.Summary, ok.ModelSizeBytes = benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED,
		&benchdv1.BenchmarkFinished{Trials: 1, EvalRate: &benchdv1.Summary{N: 1, Mean: 50}}, 1000
	oom.Status, oom.ErrorCode, oom.ErrorMessage = benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED, int32(codes.ResourceExhausted), "out of memory"
	return []*benchdv1.BenchmarkEvent{
		started,
		{Kind: &benchdv1.BenchmarkEvent_CellStarted{CellStarted: &benchdv1.CellStarted{Cell: cell(0, 0), Cells: 2}}},
		{Kind: &benchdv1.BenchmarkEvent_Progress{Progress: &benchdv1.TrialProgress{Cell: 0, Tokens: 3}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Cell: 0, EvalRate: 50}}},
		{Kind: &benchdv1.BenchmarkEvent_CellFinished{CellFinished: &benchdv1.CellFinished{Cell: ok}}},
		{Kind: &benchdv1.BenchmarkEvent_CellStarted{CellStarted: &benchdv1.CellStarted{Cell: cell(1, 99), Cells: 2}}},
		{Kind: &benchdv1.BenchmarkEvent_CellFinished{CellFinished: &benchdv1.CellFinished{Cell: oom}}},
		{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: &benchdv1.BenchmarkFinished{BenchmarkId: id, Trials: 1,
			BestCell: proto.Uint32(0), Objective: benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT, CellsFailed: 1}}},
	}
}

// A sweep's stream becomes cells, cell events and the best cell; NumGPU 0
// (CPU only) is kept apart from unset.
func TestSweepResultAndEvents(t *testing.T) {
	var starts []CellStarted
	var ends []Cell
	var cellOfTrial []int
	res, err := collect(stream(sweepEvents(), io.EOF), func(ev Event) {
		switch {
		case ev.CellStarted != nil:
			starts = append(starts, *ev.CellStarted)
		case ev.CellFinished != nil:
			ends = append(ends, *ev.CellFinished)
		case ev.Trial != nil:
			cellOfTrial = append(cellOfTrial, ev.Trial.Cell)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || starts[1].Cells != 2 || starts[1].Cell.Index != 1 || *starts[1].Cell.NumGPU != 99 || starts[0].Cell.Status != "" {
		t.Errorf("cell starts %+v", starts)
	}
	if len(ends) != 2 || ends[0].Failed() || !ends[1].Failed() || ends[1].ErrorCode != codes.ResourceExhausted || ends[1].Status != "FAILED" {
		t.Errorf("cell ends %+v", ends)
	}
	if len(cellOfTrial) != 1 || cellOfTrial[0] != 0 {
		t.Errorf("trials' cells %v", cellOfTrial)
	}
	if len(res.Cells) != 2 || res.Cells[0].NumGPU == nil || *res.Cells[0].NumGPU != 0 || res.Cells[0].NumCtx != nil {
		t.Fatalf("cells %+v", res.Cells)
	}
	if s := res.Cells[0].Summary; s == nil || s.EvalRate.Mean != 50 || res.Cells[1].Summary != nil {
		t.Errorf("cell summaries %+v, %+v", res.Cells[0].Summary, res.Cells[1].Summary)
	}
	best := res.BestCell()
	if best == nil || best.Index != 0 || best.Settings() != "model=tiny num_gpu=0 max_tokens=8" {
		t.Errorf("best cell %+v", best)
	}
	if res.Summary.Objective != ObjectiveTTFT || res.Summary.CellsFailed != 1 {
		t.Errorf("summary %+v", res.Summary)
	}

	// No best cell: nil, also for a plain run.
	evs := sweepEvents()
	evs[len(evs)-1].GetFinished().BestCell = nil
	if res, _ := collect(stream(evs, io.EOF), nil); res.BestCell() != nil || res.Summary.BestCell != nil {
		t.Errorf("no best cell: %+v", res.BestCell())
	}
}

func TestSweepRequest(t *testing.T) {
	req := BenchmarkRequest{Model: "tiny", Sweep: &Sweep{Models: []string{"tiny", "big"}, NumGPU: []int{0, 99},
		NumCtx: []int{512}, MaxTokens: []int{8, 16}, Objective: ObjectivePromptEvalRate, CellTimeout: 90 * time.Second}}
	p, err := req.proto()
	if err != nil {
		t.Fatal(err)
	}
	want := &benchdv1.Sweep{Models: []string{"tiny", "big"}, NumGpu: []uint32{0, 99}, NumCtx: []uint32{512},
		MaxTokens: []uint32{8, 16}, Objective: benchdv1.SweepObjective_SWEEP_OBJECTIVE_PROMPT_EVAL_RATE, CellTimeout: durationpb.New(90 * time.Second)}
	if !proto.Equal(p.GetSweep(), want) {
		t.Errorf("sweep %v, want %v", p.GetSweep(), want)
	}
	if p, _ := (BenchmarkRequest{Model: "tiny"}).proto(); p.Sweep != nil {
		t.Errorf("plain request has a sweep: %v", p.Sweep)
	}
	for o, want := range map[Objective]benchdv1.SweepObjective{
		"": benchdv1.SweepObjective_SWEEP_OBJECTIVE_UNSPECIFIED, "ttft": benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT,
		ObjectiveEvalRate: benchdv1.SweepObjective_SWEEP_OBJECTIVE_EVAL_RATE,
	} {
		if got, err := o.proto(); err != nil || got != want {
			t.Errorf("objective %q: %v, %v", o, got, err)
		}
	}
	req.Sweep.Objective = "fastest"
	if _, err := req.proto(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("objective fastest: %v", err)
	}
	if _, err := Objective("unspecified").proto(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("objective unspecified: %v", err)
	}
}
