package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/benchd/benchd/proto/defaults"
)

// Sweep lists values for the per-request settings; every combination is a
// cell with its own warm-up, repetitions and statistics. An empty list
// keeps the run's own setting. See docs/dev/issue13-status.md, part 3.
type Sweep struct {
	Models                              []string
	NumCtx, NumGPU, NumBatch, NumThread []int
	PromptTokens, MaxTokens             []int
	Objective                           Objective
	// CellTimeout bounds each cell; 0: the default (see cellTimeout).
	CellTimeout time.Duration
}

// Objective is what the best cell is best at, by its mean.
type Objective int

const (
	// ObjectiveEvalRate: highest generation rate.
	ObjectiveEvalRate Objective = iota
	// ObjectivePromptEvalRate: highest prompt (prefill) rate.
	ObjectivePromptEvalRate
	// ObjectiveTTFT: lowest time to first token.
	ObjectiveTTFT
)

// Sweep bounds, checked before anything runs.
const (
	MaxSweepCells  = 64
	MaxSweepTrials = 1000
)

// ErrSweepInvalid: the sweep is too large or contradicts the request.
var ErrSweepInvalid = errors.New("invalid sweep")

// ErrCellTimeout: a sweep cell ran past its cell timeout (the error also
// matches context.DeadlineExceeded); the sweep went on.
var ErrCellTimeout = errors.New("sweep cell timeout reached")

// cellTimeout is CellTimeout, or by default the run's timeout shared evenly
// among the cells, but at least defaults.MinCellTimeout: a hung cell (a
// model runner that never answers) then costs its share and the sweep can
// still finish, while a slow model load is not cut short. The run's timeout
// still bounds the whole sweep.
func (w *Sweep) cellTimeout(total time.Duration, cells int) time.Duration {
	if w.CellTimeout > 0 {
		return w.CellTimeout
	}
	return max(total/time.Duration(max(cells, 1)), defaults.MinCellTimeout)
}

// CellStatus is how a cell ended.
type CellStatus int

const (
	CellSucceeded CellStatus = iota + 1
	// CellFailed: a trial failed (out of memory, load failure, ...); the
	// sweep went on.
	CellFailed
)

// Cell is one combination of a sweep and how it went.
type Cell struct {
	Index    int
	Settings Settings // the cell's own (Sweep nil)
	Status   CellStatus
	Err      error
	// Finished summarises the cell's measured trials (nil when failed).
	Finished *Finished
	// PeakVRAM is the highest total peak of the cell's trials.
	PeakVRAM uint64
	// ModelSize and ModelSizeVRAM are /api/ps's size and size_vram of
	// the cell's model after its trials; Listed says whether they were
	// read. FitsVRAM: all of the model was in GPU memory.
	ModelSize, ModelSizeVRAM int64
	Listed, FitsVRAM         bool
	StartedAt, FinishedAt    time.Time
}

// CellStarted begins a cell.
type CellStarted struct {
	Cell  *Cell
	Cells int
}

// Cells expands the sweep over base in run order: the settings that make
// ollama reload the model (model, num_ctx, num_gpu, num_batch,
// num_thread) vary slowest, so cells sharing a load follow each other and
// the model loads once per group, in its first warm-up; prompt_tokens and
// then max_tokens vary fastest.
func (w *Sweep) Cells(base Settings) ([]Settings, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrSweepInvalid)
	}
	if len(w.Models) > 0 {
		found := false
		for _, m := range w.Models {
			found = found || m == base.Model
		}
		if !found {
			return nil, bad("sweep models %s must include the request's model %q", strings.Join(w.Models, ", "), base.Model)
		}
	}
	for _, c := range []struct {
		name  string
		list  int
		fixed bool
	}{
		{"num_ctx", len(w.NumCtx), base.NumCtx > 0},
		{"num_gpu", len(w.NumGPU), base.NumGPU != nil},
		{"num_batch", len(w.NumBatch), base.NumBatch > 0},
		{"num_thread", len(w.NumThread), base.NumThread > 0},
		{"prompt_tokens", len(w.PromptTokens), base.PromptTokens > 0},
	} {
		if c.list > 0 && c.fixed {
			return nil, bad("%s is given both in the request and in its sweep", c.name)
		}
	}
	n := 1
	for _, l := range []int{len(w.Models), len(w.NumCtx), len(w.NumGPU), len(w.NumBatch), len(w.NumThread), len(w.PromptTokens), len(w.MaxTokens)} {
		n *= max(l, 1)
		if n > MaxSweepCells {
			return nil, bad("the sweep has more than %d cells", MaxSweepCells)
		}
	}
	if trials := n * (base.Warmup + base.Repetitions); trials > MaxSweepTrials {
		return nil, bad("the sweep would run %d trials (%d cells x %d), more than %d", trials, n, base.Warmup+base.Repetitions, MaxSweepTrials)
	}

	base.Sweep = nil
	cells := []Settings{base}
	// axis multiplies cells by one list, in order: each existing cell is
	// followed by its variants, so the earlier an axis the slower it varies.
	axis := func(l int, set func(s *Settings, i int)) {
		if l == 0 {
			return
		}
		out := make([]Settings, 0, len(cells)*l)
		for _, c := range cells {
			for i := range l {
				v := c
				set(&v, i)
				out = append(out, v)
			}
		}
		cells = out
	}
	axis(len(w.Models), func(s *Settings, i int) { s.Model = w.Models[i] })
	axis(len(w.NumCtx), func(s *Settings, i int) { s.NumCtx = w.NumCtx[i] })
	axis(len(w.NumGPU), func(s *Settings, i int) { g := w.NumGPU[i]; s.NumGPU = &g })
	axis(len(w.NumBatch), func(s *Settings, i int) { s.NumBatch = w.NumBatch[i] })
	axis(len(w.NumThread), func(s *Settings, i int) { s.NumThread = w.NumThread[i] })
	axis(len(w.PromptTokens), func(s *Settings, i int) { s.PromptTokens = w.PromptTokens[i] })
	axis(len(w.MaxTokens), func(s *Settings, i int) { s.MaxTokens = w.MaxTokens[i] })
	return cells, nil
}

// sweep runs every cell of s.Sweep in order. A cell that fails is
// recorded as failed and the sweep goes on; only the run's own end
// (cancel, timeout) stops it.
func (r *Runner) sweep(ctx context.Context, run *Run, s Settings, emit func(Event)) error {
	settings, err := s.Sweep.Cells(s)
	if err != nil {
		return err
	}
	var all []*Trial
	cells := make([]*Cell, 0, len(settings))
	for i, cs := range settings {
		c := &Cell{Index: i, Settings: cs, StartedAt: time.Now()}
		emit(Event{CellStarted: &CellStarted{Cell: c, Cells: len(settings)}})
		measured, err := r.boundedCell(ctx, fmt.Sprintf("%s/cell%d", run.ID, i), c, s.Sweep.cellTimeout(s.Timeout, len(settings)), emit)
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("sweep cell %d of %d: %w", i+1, len(settings), err)
		}
		c.FinishedAt = time.Now()
		if err != nil {
			c.Status, c.Err = CellFailed, err
			r.log.WarnContext(ctx, "sweep cell failed, going on", "cell", i, "err", err)
		} else {
			c.Status = CellSucceeded
			c.Finished = r.finished(ctx, run.ID, measured)
			all = append(all, measured...)
		}
		cells = append(cells, c)
		emit(Event{CellFinished: c})
	}
	fin := r.finished(ctx, run.ID, all)
	fin.Sweep, fin.Objective, fin.BestCell = true, s.Sweep.Objective, bestCell(cells, s.Sweep.Objective)
	for _, c := range cells {
		if c.Status == CellFailed {
			fin.CellsFailed++
		}
	}
	emit(Event{Finished: fin})
	return nil
}

// boundedCell is cell within the cell timeout d: past it the cell fails
// with ErrCellTimeout (and context.DeadlineExceeded), whatever the
// interrupted step made of its context's end.
func (r *Runner) boundedCell(ctx context.Context, seed string, c *Cell, d time.Duration, emit func(Event)) ([]*Trial, error) {
	timeout := fmt.Errorf("%w after %s (the sweep's cell_timeout; the sweep goes on): %w", ErrCellTimeout, d, context.DeadlineExceeded)
	cctx, cancel := context.WithTimeoutCause(ctx, d, timeout)
	defer cancel()
	measured, err := r.cell(cctx, seed, c, emit)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(cctx), ErrCellTimeout) && !errors.Is(err, ErrCellTimeout) {
		err = fmt.Errorf("%w (it was in: %v)", timeout, err)
	}
	return measured, err
}

// cell runs one cell's trials and reads its model's memory from /api/ps.
func (r *Runner) cell(ctx context.Context, seed string, c *Cell, emit func(Event)) ([]*Trial, error) {
	s := c.Settings
	if s.PromptTokens > 0 && s.NumCtx > 0 && s.PromptTokens > s.NumCtx {
		return nil, fmt.Errorf("prompt_tokens %d is larger than num_ctx %d: %w", s.PromptTokens, s.NumCtx, ErrPromptTooLong)
	}
	if _, err := r.ollama.Model(ctx, s.Model); err != nil {
		return nil, err
	}
	ctxLen, err := r.contextLength(ctx, s)
	if err != nil {
		return nil, err
	}
	measured, err := r.trials(ctx, seed, s, ctxLen, c.Index, func(ev Event) {
		if ev.Trial != nil {
			c.PeakVRAM = max(c.PeakVRAM, ev.Trial.PeakVRAMTotal())
		}
		emit(ev)
	})
	if err != nil {
		return nil, err
	}
	if ml, ok := r.ollama.(modelLister); ok {
		inv, err := ml.ListModels(ctx)
		if err != nil {
			r.log.WarnContext(ctx, "read loaded models after sweep cell", "cell", c.Index, "err", err)
		}
		want := withTag(s.Model)
		for _, l := range inv.Loaded {
			if withTag(l.Name) == want {
				c.Listed, c.ModelSize, c.ModelSizeVRAM = true, l.Size, l.SizeVRAM
				c.FitsVRAM = l.Size > 0 && l.SizeVRAM >= l.Size
			}
		}
	}
	return measured, nil
}

// withTag is a model name with ollama's default tag made explicit, as
// /api/ps names it.
func withTag(name string) string {
	if i := strings.LastIndex(name, "/"); !strings.Contains(name[i+1:], ":") {
		return name + ":latest"
	}
	return name
}

// bestCell is the index of the best succeeded cell with measured trials by
// objective, among those whose model fitted in VRAM; when no cell's model
// took any VRAM (a CPU-only host) among all of them. -1: none.
func bestCell(cells []*Cell, o Objective) int {
	anyVRAM := false
	for _, c := range cells {
		anyVRAM = anyVRAM || c.ModelSizeVRAM > 0
	}
	best, bestV := -1, 0.0
	for _, c := range cells {
		if c.Status != CellSucceeded || c.Finished == nil || c.Finished.Trials == 0 || (anyVRAM && !c.FitsVRAM) {
			continue
		}
		var v float64
		switch o {
		case ObjectivePromptEvalRate:
			v = c.Finished.Summary.PromptEvalRate.Mean
		case ObjectiveTTFT:
			v = -c.Finished.Summary.TTFT.Mean
		default:
			v = c.Finished.Summary.EvalRate.Mean
		}
		if best < 0 || v > bestV {
			best, bestV = c.Index, v
		}
	}
	return best
}
