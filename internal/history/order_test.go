package history

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/internal/runner"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// A replay rebuilds the start of a cell that never finished from the
// stored sweep (record.SweepCellAt); the cell it names must be the one the
// runner ran at that index, over every axis at once.
func TestReplayedCellOrderIsTheRunnersOrder(t *testing.T) {
	base := runner.Settings{Model: "a", NumCtx: 256, Sweep: &runner.Sweep{
		Models: []string{"a", "b"}, NumGPU: []int{0, 99}, NumBatch: []int{64},
		NumThread: []int{1, 2}, PromptTokens: []int{8, 16}, MaxTokens: []int{16, 32},
	}}
	cells, err := base.Sweep.Cells(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 32 {
		t.Fatalf("%d cells, want 32", len(cells))
	}
	stored := settingsToProto(base)
	settingsOnly := func(c *benchdv1.SweepCell) *benchdv1.SweepCell {
		return &benchdv1.SweepCell{
			Index: c.Index, Model: c.Model, NumCtx: c.NumCtx, NumGpu: c.NumGpu, NumBatch: c.NumBatch,
			NumThread: c.NumThread, PromptTokens: c.PromptTokens, MaxTokens: c.MaxTokens,
		}
	}
	for i, s := range cells {
		want := settingsOnly(cellToProto(&runner.Cell{Index: i, Settings: s}, nil))
		if got := settingsOnly(record.SweepCellAt(stored, i)); !proto.Equal(got, want) {
			t.Errorf("cell %d: replay rebuilds %v, the runner ran %v", i, got, want)
		}
	}
}
