package client

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Sweep asks for every combination of its lists: each is a cell with the
// request's warm-up and repetitions and its own statistics. An empty list
// keeps the request's own setting (or benchd's default); a list and the
// request's own field together are refused (INVALID_ARGUMENT), as are more
// than 64 cells or 1000 trials. See the proto's Sweep for the order in
// which cells run and why.
type Sweep struct {
	// Models; when set, BenchmarkRequest.Model must be one of them (it
	// names the record).
	Models []string
	// NumCtx (context window), NumGPU (layers offloaded; 0 is CPU only),
	// NumBatch (prompt batch), NumThread (CPU threads): ollama's options.
	NumCtx, NumGPU, NumBatch, NumThread []int
	// PromptTokens are context depths: synthetic prompts of about this
	// many tokens.
	PromptTokens []int
	// MaxTokens are the tokens to generate per trial.
	MaxTokens []int
	// Objective picks the best cell; "" is ObjectiveEvalRate.
	Objective Objective
	// CellTimeout bounds each cell: one still running then fails with
	// DEADLINE_EXCEEDED and the sweep goes on. 0: the request's timeout
	// shared among the cells, at least a minute.
	CellTimeout time.Duration
}

// Objective is what a sweep's best cell is best at, by the cell's mean.
type Objective string

const (
	// ObjectiveEvalRate: the highest generation rate.
	ObjectiveEvalRate Objective = "EVAL_RATE"
	// ObjectivePromptEvalRate: the highest prompt (prefill) rate.
	ObjectivePromptEvalRate Objective = "PROMPT_EVAL_RATE"
	// ObjectiveTTFT: the lowest time to first token.
	ObjectiveTTFT Objective = "TTFT"
)

// objectivePrefix is what the proto's enum names add to an Objective.
const objectivePrefix = "SWEEP_OBJECTIVE_"

func objectiveFromProto(o benchdv1.SweepObjective) Objective {
	if o == benchdv1.SweepObjective_SWEEP_OBJECTIVE_UNSPECIFIED {
		return ""
	}
	return Objective(strings.TrimPrefix(o.String(), objectivePrefix))
}

func (o Objective) proto() (benchdv1.SweepObjective, error) {
	if o == "" {
		return benchdv1.SweepObjective_SWEEP_OBJECTIVE_UNSPECIFIED, nil
	}
	v, ok := benchdv1.SweepObjective_value[objectivePrefix+strings.ToUpper(string(o))]
	if !ok || v == 0 {
		return 0, status.Errorf(codes.InvalidArgument, "sweep objective %q: want %s, %s or %s",
			o, ObjectiveEvalRate, ObjectivePromptEvalRate, ObjectiveTTFT)
	}
	return benchdv1.SweepObjective(v), nil
}

func (s *Sweep) proto() (*benchdv1.Sweep, error) {
	if s == nil {
		return nil, nil
	}
	obj, err := s.Objective.proto()
	if err != nil {
		return nil, err
	}
	list := func(ns []int) []uint32 {
		if len(ns) == 0 {
			return nil
		}
		out := make([]uint32, len(ns))
		for i, n := range ns {
			out[i] = *u32(n)
		}
		return out
	}
	w := &benchdv1.Sweep{
		Models: s.Models, NumCtx: list(s.NumCtx), NumGpu: list(s.NumGPU), NumBatch: list(s.NumBatch),
		NumThread: list(s.NumThread), PromptTokens: list(s.PromptTokens), MaxTokens: list(s.MaxTokens),
		Objective: obj,
	}
	if s.CellTimeout != 0 {
		w.CellTimeout = durationpb.New(s.CellTimeout)
	}
	return w, nil
}

// Cell is one combination of a sweep and how it went.
type Cell struct {
	// Index is the cell's place in the sweep's run order, from 0.
	Index int
	Model string
	// The cell's settings; nil where neither the sweep nor the request set
	// it (ollama's default). NumGPU 0 means CPU only, so these are
	// pointers.
	NumCtx, NumGPU, NumBatch, NumThread, PromptTokens *int
	MaxTokens                                         int
	// Status is SUCCEEDED or FAILED ("" in a cell that has only started).
	Status string
	// For FAILED: why (ollama's error: out of memory, a load failure, a
	// model it does not have), with its gRPC code.
	ErrorCode    codes.Code
	ErrorMessage string
	// Summary is over the cell's measured trials; nil for a cell that
	// has only started.
	Summary *Summary
	// PeakVRAMUsedBytes is the highest VRAM reading of the cell's trials
	// (0: not sampled).
	PeakVRAMUsedBytes uint64
	// ModelSizeBytes and ModelSizeVRAMBytes are what ollama's /api/ps said
	// of the model after the cell's trials: the memory it took, and the
	// part in GPU memory. FitsVRAM: all of it (only such cells can be
	// best, except on a host where no cell took any VRAM).
	ModelSizeBytes, ModelSizeVRAMBytes uint64
	FitsVRAM                           bool
	StartedAt, FinishedAt              time.Time
	// Energy is what the GPUs drew over the cell's measured trials; nil
	// where they report no power.
	Energy *Energy
	// Raw is the message as received, for protojson output or new fields.
	Raw *benchdv1.SweepCell
}

// Failed says the cell failed (Status FAILED).
func (c Cell) Failed() bool {
	return c.Status == cellStatus(benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED)
}

// Settings describes the cell's settings that are set, in run order:
// "model=tiny num_ctx=512 num_thread=2 max_tokens=128".
func (c Cell) Settings() string {
	parts := []string{"model=" + c.Model}
	for _, s := range []struct {
		name string
		v    *int
	}{{"num_ctx", c.NumCtx}, {"num_gpu", c.NumGPU}, {"num_batch", c.NumBatch}, {"num_thread", c.NumThread}, {"prompt_tokens", c.PromptTokens}} {
		if s.v != nil {
			parts = append(parts, fmt.Sprintf("%s=%d", s.name, *s.v))
		}
	}
	return strings.Join(append(parts, fmt.Sprintf("max_tokens=%d", c.MaxTokens)), " ")
}

// CellStarted begins a sweep's cell: the trials that follow are its own.
type CellStarted struct {
	Cell Cell
	// Cells is the number of cells in the sweep.
	Cells int
}

// cellStatus is a cell status's name without the enum's prefix.
func cellStatus(s benchdv1.SweepCellStatus) string {
	if s == benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_UNSPECIFIED {
		return ""
	}
	return strings.TrimPrefix(s.String(), "SWEEP_CELL_STATUS_")
}

// CellFromProto converts a generated SweepCell message.
func CellFromProto(c *benchdv1.SweepCell) Cell {
	opt := func(v *uint32) *int {
		if v == nil {
			return nil
		}
		n := int(*v)
		return &n
	}
	out := Cell{
		Index: int(c.GetIndex()), Model: c.GetModel(),
		NumCtx: opt(c.NumCtx), NumGPU: opt(c.NumGpu), NumBatch: opt(c.NumBatch), NumThread: opt(c.NumThread),
		PromptTokens: opt(c.PromptTokens), MaxTokens: int(c.GetMaxTokens()),
		Status: cellStatus(c.GetStatus()), ErrorCode: codes.Code(c.GetErrorCode()), ErrorMessage: c.GetErrorMessage(),
		PeakVRAMUsedBytes: c.GetPeakVramUsedBytes(), ModelSizeBytes: c.GetModelSizeBytes(),
		ModelSizeVRAMBytes: c.GetModelSizeVramBytes(), FitsVRAM: c.GetFitsVram(),
		StartedAt: timeOf(c.GetStartedAt()), FinishedAt: timeOf(c.GetFinishedAt()),
		Energy: energyFromProto(c.GetEnergy()), Raw: c,
	}
	if s := c.GetSummary(); s != nil {
		out.Summary = summaryFromProto(s)
	}
	return out
}

// BestCell is the sweep's best cell by its objective, nil for a plain
// benchmark, a sweep that has not finished, or one where no cell
// qualified (every cell failed, or none fitted in VRAM on a host where
// some did).
func (r *Result) BestCell() *Cell {
	if r.Summary == nil || r.Summary.BestCell == nil {
		return nil
	}
	for i := range r.Cells {
		if r.Cells[i].Index == *r.Summary.BestCell {
			return &r.Cells[i]
		}
	}
	return nil
}
