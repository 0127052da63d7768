package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	rpccode "google.golang.org/genproto/googleapis/rpc/code"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// A sweep's cells are shown a row each, as llama-bench prints its tests:
// the settings that vary, then the cell's figures; the best cell is marked
// bestMark in the first column.
const bestMark = "*"

// cellHeader names the columns of cellRow; a leading ">" marks a column
// that markdown aligns right.
var cellHeader = []string{"best", ">cell", "model", ">num_ctx", ">num_gpu", ">num_batch", ">num_thread", ">prompt tok", ">gen tok",
	">prompt tok/s", ">gen tok/s", ">ttft", ">peak VRAM", ">J/tok", ">model mem", "processor", "status"}

// IsSweep says b is a sweep: it asked for one, or has cells.
func IsSweep(b *benchdv1.Benchmark) bool {
	return settings(b).GetSweep() != nil || len(b.GetCells()) > 0
}

// isBest says c is the sweep's best cell.
func isBest(f *benchdv1.BenchmarkFinished, c *benchdv1.SweepCell) bool {
	return f != nil && f.BestCell != nil && f.GetBestCell() == c.GetIndex()
}

// optU32 is an optional setting, "-" when unset (ollama's default).
func optU32(v *uint32) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatUint(uint64(*v), 10)
}

// cellRow is a cell's row under cellHeader.
func cellRow(f *benchdv1.BenchmarkFinished, c *benchdv1.SweepCell) []string {
	mark := ""
	if isBest(f, c) {
		mark = bestMark
	}
	s := c.GetSummary()
	vram, mem, proc := "-", "-", "-"
	if c.GetPeakVramUsedBytes() > 0 {
		vram = BytesIEC(c.GetPeakVramUsedBytes())
	}
	if size := c.GetModelSizeBytes(); size > 0 {
		mem, proc = BytesIEC(size), processor(size, c.GetModelSizeVramBytes())
	}
	_, jpt := EnergyCell(c.GetEnergy())
	return []string{mark, strconv.Itoa(int(c.GetIndex())), c.GetModel(), optU32(c.NumCtx), optU32(c.NumGpu),
		optU32(c.NumBatch), optU32(c.NumThread), optU32(c.PromptTokens), strconv.Itoa(int(c.GetMaxTokens())),
		meanSD(s.GetPromptEvalRate(), rateKind), meanSD(s.GetEvalRate(), rateKind), meanSD(s.GetTtftNs(), durationKind),
		vram, jpt, mem, proc, cellStatus(c)}
}

// cellStatus is "ok" (with "unstable" when its figures vary by more than
// the threshold) or "FAILED: why".
func cellStatus(c *benchdv1.SweepCell) string {
	if c.GetStatus() != benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED {
		return "FAILED: " + c.GetErrorMessage()
	}
	if c.GetSummary().GetUnstableReason() != "" {
		return "ok, unstable"
	}
	return "ok"
}

// sweepObjective is the objective b's best cell is (to be) chosen by: as
// benchd reported it when the sweep finished, else as requested, where
// unspecified is the generation rate.
func sweepObjective(b *benchdv1.Benchmark) benchdv1.SweepObjective {
	if o := b.GetFinished().GetObjective(); o != benchdv1.SweepObjective_SWEEP_OBJECTIVE_UNSPECIFIED {
		return o
	}
	if o := settings(b).GetSweep().GetObjective(); o != benchdv1.SweepObjective_SWEEP_OBJECTIVE_UNSPECIFIED {
		return o
	}
	return benchdv1.SweepObjective_SWEEP_OBJECTIVE_EVAL_RATE
}

// objectiveName names a sweep's objective for a person.
func objectiveName(o benchdv1.SweepObjective) string {
	switch o {
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_PROMPT_EVAL_RATE:
		return "prompt tok/s"
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT:
		return "lowest ttft"
	}
	return "gen tok/s"
}

// objectiveValue is the figure a cell is judged by, as "mean unit".
func objectiveValue(o benchdv1.SweepObjective, s *benchdv1.BenchmarkFinished) string {
	switch o {
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_PROMPT_EVAL_RATE:
		return rateKind.format(s.GetPromptEvalRate().GetMean()) + " prompt tok/s"
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT:
		return "ttft " + durationKind.format(s.GetTtftNs().GetMean())
	}
	return rateKind.format(s.GetEvalRate().GetMean()) + " gen tok/s"
}

// CellSettings describes a cell's settings that are set:
// "model=tiny num_ctx=512 num_thread=2 max_tokens=128".
func CellSettings(c *benchdv1.SweepCell) string {
	parts := []string{"model=" + c.GetModel()}
	for _, s := range []struct {
		name string
		v    *uint32
	}{{"num_ctx", c.NumCtx}, {"num_gpu", c.NumGpu}, {"num_batch", c.NumBatch}, {"num_thread", c.NumThread}, {"prompt_tokens", c.PromptTokens}} {
		if s.v != nil {
			parts = append(parts, fmt.Sprintf("%s=%d", s.name, *s.v))
		}
	}
	return strings.Join(append(parts, fmt.Sprintf("max_tokens=%d", c.GetMaxTokens())), " ")
}

// sweepAxis is one setting a sweep can vary: its name, the sweep's list
// of values and a cell's value, both as text ("-": unset).
type sweepAxis struct {
	name string
	list func(*benchdv1.Sweep) []uint32
	of   func(*benchdv1.SweepCell) *uint32
}

// sweepAxes are the settings a sweep can vary but the model, in the order
// cells run, slowest first (the model is slower still).
var sweepAxes = []sweepAxis{
	{"num_ctx", (*benchdv1.Sweep).GetNumCtx, func(c *benchdv1.SweepCell) *uint32 { return c.NumCtx }},
	{"num_gpu", (*benchdv1.Sweep).GetNumGpu, func(c *benchdv1.SweepCell) *uint32 { return c.NumGpu }},
	{"num_batch", (*benchdv1.Sweep).GetNumBatch, func(c *benchdv1.SweepCell) *uint32 { return c.NumBatch }},
	{"num_thread", (*benchdv1.Sweep).GetNumThread, func(c *benchdv1.SweepCell) *uint32 { return c.NumThread }},
	{"prompt_tokens", (*benchdv1.Sweep).GetPromptTokens, func(c *benchdv1.SweepCell) *uint32 { return c.PromptTokens }},
	{"max_tokens", (*benchdv1.Sweep).GetMaxTokens, func(c *benchdv1.SweepCell) *uint32 { m := c.GetMaxTokens(); return &m }},
}

// values are the axis's swept values as text.
func (a sweepAxis) values(w *benchdv1.Sweep) []string {
	xs := a.list(w)
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.FormatUint(uint64(x), 10)
	}
	return out
}

// sweepLine describes what a sweep varies: "num_ctx 512,1024 × num_thread
// 1,2: 4 cells, best by gen tok/s".
func sweepLine(b *benchdv1.Benchmark) string {
	s := settings(b)
	w := s.GetSweep()
	parts := []string{"model " + Model(b)}
	if ms := w.GetModels(); len(ms) > 0 {
		parts[0] = "models " + strings.Join(ms, ",")
	}
	for _, a := range sweepAxes {
		if vs := a.values(w); len(vs) > 0 {
			parts = append(parts, a.name+" "+strings.Join(vs, ","))
		}
	}
	n := record.SweepCells(s)
	if n == 0 {
		n = len(b.GetCells())
	}
	return fmt.Sprintf("sweep %s: %d cells, best by %s", strings.Join(parts, " × "), n, objectiveName(sweepObjective(b)))
}

// sweepNotes are the lines under a sweep's cells: the best cell and why,
// or why there is none, and the failed cells.
func sweepNotes(b *benchdv1.Benchmark) []string {
	f := b.GetFinished()
	if f == nil {
		if len(b.GetCells()) == 0 {
			return nil
		}
		return []string{fmt.Sprintf("%d of %d cells finished; no best cell: the sweep did not finish", len(b.GetCells()), max(record.SweepCells(settings(b)), len(b.GetCells())))}
	}
	var out []string
	succeeded, tookVRAM := 0, false
	for _, c := range b.GetCells() {
		if c.GetStatus() == benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED {
			succeeded++
			tookVRAM = tookVRAM || c.GetModelSizeVramBytes() > 0
		}
	}
	for _, c := range b.GetCells() {
		if !isBest(f, c) {
			continue
		}
		line := fmt.Sprintf("best by %s: cell %d (%s), %s", objectiveName(sweepObjective(b)), c.GetIndex(), CellSettings(c), objectiveValue(sweepObjective(b), c.GetSummary()))
		if !tookVRAM {
			line += "; no cell's model took VRAM (a CPU-only host), so every succeeded cell qualified"
		}
		out = append(out, line)
	}
	if f.BestCell == nil {
		switch {
		case succeeded == 0:
			out = append(out, "no best cell: no cell succeeded")
		default:
			out = append(out, "no best cell: no succeeded cell fitted entirely in VRAM (ollama put part of each model on the CPU)")
		}
	}
	if n := f.GetCellsFailed(); n > 0 {
		out = append(out, fmt.Sprintf("%d of %d cells failed; the sweep went on past them", n, len(b.GetCells())))
	}
	return out
}

// writeCells prints a sweep's finished cells under WriteTable's trials.
func writeCells(w io.Writer, b *benchdv1.Benchmark) error {
	fmt.Fprintf(w, "\nsweep cells (best by %s)\n", objectiveName(sweepObjective(b)))
	return writeCellTable(w, b)
}

// writeCellTable prints the cells a row each and the notes under them.
func writeCellTable(w io.Writer, b *benchdv1.Benchmark) error {
	rows := make([][]string, len(b.GetCells()))
	for i, c := range b.GetCells() {
		rows[i] = cellRow(b.GetFinished(), c)
	}
	// Aligned left, no tab after the status: a long error is not padded.
	return writeRows(w, cellHeader, rows, false, "no cell finished", sweepNotes(b))
}

// writeRows prints a view's table (header as cellHeader's, ">" dropped),
// or none when there are no rows, then the notes. alignRight aligns
// every column right, as numbers read best.
func writeRows(w io.Writer, header []string, rows [][]string, alignRight bool, none string, notes []string) error {
	if len(rows) == 0 {
		fmt.Fprintln(w, none)
	} else {
		flags, end := uint(0), ""
		if alignRight {
			// tabwriter aligns a cell only when a tab ends it.
			flags, end = tabwriter.AlignRight, "\t"
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', flags)
		cols := make([]string, len(header))
		for i, h := range header {
			cols[i] = strings.TrimPrefix(h, ">")
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t")+end)
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t")+end)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, l := range notes {
		fmt.Fprintln(w, l)
	}
	return nil
}

// sweepHeader are the lines above a sweep's cells: what, where, how.
func sweepHeader(b *benchdv1.Benchmark) []string {
	return viewHeader(b, "sweep", sweepLine(b), "each cell: ")
}

// viewHeader are the lines above a sweep's or a concurrency run's rows:
// the kind of run, its id and where it ran; what it varied; how each
// trial ran, prefixed with each; the machine; how it ended.
func viewHeader(b *benchdv1.Benchmark, kind, varied, each string) []string {
	st := b.GetStarted()
	head := fmt.Sprintf("%s %s  model %s  state %s", kind, ID(b), Model(b), State(b))
	if v := st.GetOllamaVersion(); v != "" {
		head += "  ollama " + v
	}
	if t := createdAt(b); !t.IsZero() {
		head += "  started " + t.Local().Format(time.DateTime)
	}
	lines := []string{head, varied}
	if s := settingsLine(b); s != "" {
		lines = append(lines, each+s)
	}
	if m := machineLine(b); m != "" {
		lines = append(lines, m)
	}
	if msg := b.GetErrorMessage(); msg != "" {
		lines = append(lines, "ended with: "+msg)
	}
	return lines
}

// WriteSweepTable prints a sweep for a person as llama-bench prints its
// tests: a row per cell, the best marked, and what was swept above.
// Every trial is in WriteTable.
func WriteSweepTable(w io.Writer, b *benchdv1.Benchmark) error {
	for _, l := range sweepHeader(b) {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w)
	return writeCellTable(w, b)
}

// WriteSweepMarkdown writes a sweep as a markdown section: what and where,
// then a row per cell with the best in bold.
func WriteSweepMarkdown(w io.Writer, b *benchdv1.Benchmark) error {
	mdViewHeader(w, "Sweep", b, sweepHeader(b))
	return writeCellsMarkdown(w, b)
}

// mdViewHeader writes a view's title and its header lines but the first
// (which the title says) as a list.
func mdViewHeader(w io.Writer, kind string, b *benchdv1.Benchmark, header []string) {
	fmt.Fprintf(w, "### %s `%s`: %s\n\n", kind, ID(b), Model(b))
	for _, l := range header[1:] {
		fmt.Fprintf(w, "- %s\n", mdCell(l))
	}
	fmt.Fprintln(w)
}

// writeCellsMarkdown writes the cell table and its notes.
func writeCellsMarkdown(w io.Writer, b *benchdv1.Benchmark) error {
	mdHeader(w, append([]string(nil), cellHeader...)...)
	for _, c := range b.GetCells() {
		row := cellRow(b.GetFinished(), c)
		if isBest(b.GetFinished(), c) {
			for i := 1; i < len(row); i++ {
				row[i] = "**" + row[i] + "**"
			}
		}
		mdRow(w, row...)
	}
	fmt.Fprintln(w)
	for _, l := range sweepNotes(b) {
		fmt.Fprintf(w, "- %s\n", mdCell(l))
	}
	fmt.Fprintln(w)
	return nil
}

// CellsCSVHeader is the header of WriteCellsCSV: a row per sweep cell, its
// settings (empty: unset, ollama's default), outcome and statistics
// (nanoseconds, tokens per second, bytes).
var CellsCSVHeader = []string{
	"benchmark_id", "cell", "best", "objective", "model", "num_ctx", "num_gpu", "num_batch", "num_thread", "prompt_tokens", "max_tokens",
	"status", "error_code", "error_message", "measured_trials",
	"eval_rate_mean", "eval_rate_stddev", "eval_rate_cv", "prompt_eval_rate_mean", "prompt_eval_rate_stddev",
	"ttft_ns_mean", "ttft_ns_stddev", "tpot_ns_mean", "itl_p99_ns_mean", "unstable_reason",
	"peak_vram_used_bytes", "model_size_bytes", "model_size_vram_bytes", "fits_vram", "started_at", "finished_at",
}

// WriteCellsCSV writes the cells of the sweeps among bs with
// CellsCSVHeader.
func WriteCellsCSV(w io.Writer, bs ...*benchdv1.Benchmark) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CellsCSVHeader); err != nil {
		return err
	}
	opt := func(v *uint32) string {
		if v == nil {
			return ""
		}
		return strconv.FormatUint(uint64(*v), 10)
	}
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, b := range bs {
		f := b.GetFinished()
		obj := strings.TrimPrefix(sweepObjective(b).String(), "SWEEP_OBJECTIVE_")
		for _, c := range b.GetCells() {
			s := c.GetSummary()
			code := ""
			if c.GetErrorCode() != 0 {
				code = rpccode.Code(c.GetErrorCode()).String()
			}
			status := strings.TrimPrefix(c.GetStatus().String(), "SWEEP_CELL_STATUS_")
			if err := cw.Write([]string{
				ID(b), strconv.Itoa(int(c.GetIndex())), strconv.FormatBool(isBest(f, c)), obj, c.GetModel(),
				opt(c.NumCtx), opt(c.NumGpu), opt(c.NumBatch), opt(c.NumThread), opt(c.PromptTokens), strconv.Itoa(int(c.GetMaxTokens())),
				status, code, c.GetErrorMessage(), strconv.Itoa(int(s.GetTrials())),
				csvNum(s.GetEvalRate(), s.GetEvalRate().GetMean()), csvNum(s.GetEvalRate(), s.GetEvalRate().GetStddev()),
				csvNum(s.GetEvalRate(), s.GetEvalRate().GetCv()),
				csvNum(s.GetPromptEvalRate(), s.GetPromptEvalRate().GetMean()), csvNum(s.GetPromptEvalRate(), s.GetPromptEvalRate().GetStddev()),
				csvNum(s.GetTtftNs(), s.GetTtftNs().GetMean()), csvNum(s.GetTtftNs(), s.GetTtftNs().GetStddev()),
				csvNum(s.GetTpotNs(), s.GetTpotNs().GetMean()), csvNum(s.GetItlP99Ns(), s.GetItlP99Ns().GetMean()), s.GetUnstableReason(),
				u64(c.GetPeakVramUsedBytes()), u64(c.GetModelSizeBytes()), u64(c.GetModelSizeVramBytes()), strconv.FormatBool(c.GetFitsVram()),
				csvStamp(c.GetStartedAt()), csvStamp(c.GetFinishedAt()),
			}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvNum is a summary's figure v for CSV, empty without measurements.
func csvNum(s *benchdv1.Summary, v float64) string {
	if s.GetN() == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// trialCell is the cell of a sweep's trial: a finished cell, or for a
// trial of a cell that did not finish, its settings from the sweep.
func trialCell(b *benchdv1.Benchmark, t *benchdv1.Trial) *benchdv1.SweepCell {
	for _, c := range b.GetCells() {
		if c.GetIndex() == t.GetCell() {
			return c
		}
	}
	return record.SweepCellAt(settings(b), int(t.GetCell()))
}

// cellKeys are the sub-benchmark keys of a sweep trial's cell in
// benchstat's name: the swept settings but the model, "num_ctx=512".
func cellKeys(b *benchdv1.Benchmark, c *benchdv1.SweepCell) []string {
	var keys []string
	w := settings(b).GetSweep()
	for _, a := range sweepAxes {
		if len(a.list(w)) > 0 {
			keys = append(keys, a.name+"="+optU32(a.of(c)))
		}
	}
	return keys
}
