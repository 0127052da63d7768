package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/stats"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

func u32(v uint32) *uint32 { return &v }

// fake builds a finished benchmark whose measured trials have the given
// generation rates; prompt rates are 5× those, and the VRAM timeline
// climbs by 100 MiB per sample.
func fake(id, model string, rates []float64) *benchdv1.Benchmark {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &benchdv1.BenchmarkStarted{
		BenchmarkId: id, Model: model, OllamaVersion: "0.9.6", StartedAt: timestamppb.New(start),
		ModelInfo: &benchdv1.ModelInfo{Digest: "sha256:0ce14aae6e99ff5ad23ee7096d07a71e", Family: "llama", ParameterSize: "123K", QuantizationLevel: "F32"},
		Gpus:      []*benchdv1.GPU{{Index: 0, Name: "Test GPU", TotalBytes: 24 << 30, Source: "sysfs"}},
		Settings:  &benchdv1.RunBenchmarkRequest{Model: model, Repetitions: u32(uint32(len(rates))), Warmup: u32(1), MaxTokens: u32(64)},
		Machine:   &benchdv1.MachineInfo{Hostname: "host", Kernel: "6.1.0", BenchdVersion: "v1"},
	}
	b := &benchdv1.Benchmark{
		BenchmarkId: id, Model: model, State: benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		Settings: st.Settings, Started: st, CreatedAt: st.StartedAt,
	}
	all := append([]float64{rates[0] / 2}, rates...) // a slow warm-up first
	var evals, prompts []float64
	at := start
	for i, r := range all {
		t := &benchdv1.Trial{
			Index: uint32(i), Warmup: i == 0, PromptEvalCount: 98, EvalCount: 64,
			EvalRate: r, PromptEvalRate: 5 * r, EvalDurationNs: int64(64 / r * 1e9),
			TtftNs: int64(10e6 + float64(i)*1e5), WallNs: int64(30e6 + float64(i)*1e5), LoadDurationNs: 1e6, TotalDurationNs: 29e6,
			PeakVramUsedBytes: 1 << 30, PeakVram: []*benchdv1.GPUPeak{{Index: 0, UsedBytes: 1 << 30}},
			DoneReason: "length", ModelLoadedAtStart: i > 0,
		}
		b.Trials = append(b.Trials, t)
		for k := range 3 {
			at = at.Add(10 * time.Millisecond)
			b.VramTimeline = append(b.VramTimeline, &benchdv1.VRAMSample{
				SampledAt: timestamppb.New(at), TrialIndex: uint32(i),
				Gpus: []*benchdv1.GPUPeak{{Index: 0, UsedBytes: uint64(1<<30 + (3*i+k)*100<<20)}},
			})
		}
		if i > 0 {
			evals, prompts = append(evals, r), append(prompts, 5*r)
		}
	}
	sum := func(xs []float64) *benchdv1.Summary {
		s := stats.Summarize(xs)
		return &benchdv1.Summary{N: uint32(s.N), Mean: s.Mean, Stddev: s.Stddev, Min: s.Min, Max: s.Max, P50: s.P50, P95: s.P95}
	}
	b.Finished = &benchdv1.BenchmarkFinished{
		BenchmarkId: id, Trials: uint32(len(rates)), EvalRate: sum(evals), PromptEvalRate: sum(prompts),
		TtftNs: sum([]float64{10e6}), WallNs: sum([]float64{30e6}), PeakVramUsedBytes: sum([]float64{1 << 30}),
		FinishedAt: timestamppb.New(at),
	}
	return b
}

var (
	runA = fake("20260102T030405Z-0000000a", "tiny", []float64{100, 102, 98, 101, 99})
	runB = fake("20260102T031405Z-0000000b", "tiny", []float64{101, 99, 100, 98, 102})
	// runFast generates about 20% faster.
	runFast = fake("20260102T032405Z-0000000c", "tiny", []float64{120, 122, 118, 121, 119})
)

func TestTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, runA); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"benchmark 20260102T030405Z-0000000a", "model tiny", "state SUCCEEDED", "warm-up", "measured",
		"summary over 5 measured trials", "gen tok/s", "100.0", "GPU 0 Test GPU"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	buf.Reset()
	if err := WriteHistoryTable(&buf, []*benchdv1.Benchmark{runB, runA}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(buf.String()), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], ID(runB)) {
		t.Errorf("history table:\n%s", buf.String())
	}
}

// TestNoVRAMSamples: a run whose trials had no VRAM samples (sampling off,
// or no source on this host) shows "-" as each trial's peak and no peak
// VRAM summary, never a peak of 0 B.
func TestNoVRAMSamples(t *testing.T) {
	b := proto.Clone(runA).(*benchdv1.Benchmark)
	for _, tr := range b.Trials {
		tr.PeakVram, tr.PeakVramUsedBytes = nil, 0
	}
	b.Finished.PeakVramUsedBytes = &benchdv1.Summary{}
	for name, write := range map[string]func(io.Writer, *benchdv1.Benchmark) error{"table": WriteTable, "markdown": WriteMarkdown} {
		var buf bytes.Buffer
		if err := write(&buf, b); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "0 B") || strings.Count(out, "peak VRAM") != 1 {
			t.Errorf("%s: want no 0 B and \"peak VRAM\" only as the trials' column header:\n%s", name, out)
		}
		if !strings.Contains(out, "-") {
			t.Errorf("%s: no \"-\" for the missing peaks:\n%s", name, out)
		}
	}
	var with bytes.Buffer
	if err := WriteTable(&with, runA); err != nil {
		t.Fatal(err)
	}
	if strings.Count(with.String(), "peak VRAM") != 2 || !strings.Contains(with.String(), "1.0 GiB") {
		t.Errorf("a run with samples shows its peaks and their summary:\n%s", with.String())
	}
}

// An invalid trial (benchd's invalid_reason) is shown as such with its
// reason, and counts in no comparison, chart or benchstat line.
func TestInvalidTrial(t *testing.T) {
	b := proto.Clone(runA).(*benchdv1.Benchmark)
	b.Trials[2].InvalidReason = "ttft 34.0ms exceeds ollama's total_duration 33.2ms"
	if got, want := len(Measured(b)), len(Measured(runA))-1; got != want {
		t.Errorf("Measured: %d trials, want %d (the invalid one left out)", got, want)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "invalid") || !strings.Contains(out, "trial 2 is invalid, left out of the summary: ttft 34.0ms exceeds") {
		t.Errorf("table does not show the invalid trial and its reason:\n%s", out)
	}
	buf.Reset()
	if err := WriteTrialsCSV(&buf, b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ",ttft 34.0ms exceeds ollama's total_duration 33.2ms") {
		t.Errorf("CSV lacks the invalid_reason column's value:\n%s", buf.String())
	}
}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTrialsCSV(&buf, runA, runB); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+6+6 || strings.Join(recs[0], ",") != strings.Join(TrialsCSVHeader, ",") {
		t.Fatalf("trials CSV: %d records, header %v", len(recs), recs[0])
	}
	if recs[1][0] != ID(runA) || recs[1][3] != "true" || recs[2][3] != "false" || recs[2][11] != "100" {
		t.Errorf("rows: %v / %v", recs[1], recs[2])
	}
	buf.Reset()
	if err := WriteHistoryCSV(&buf, []*benchdv1.Benchmark{runA}); err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 2 || len(recs[1]) != len(HistoryCSVHeader) || recs[1][5] != "100" {
		t.Errorf("history CSV: %v %v", recs, err)
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, runA); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\| trial \| kind \|.*\|\n\|---:\|---\|`).MatchString(buf.String()) {
		t.Errorf("no trial table header:\n%s", buf.String())
	}
	buf.Reset()
	bad := fake("20260102T030405Z-0000000d", "tiny", []float64{1, 2})
	bad.ErrorMessage = "a|b"
	if err := WriteMarkdown(&buf, bad); err != nil || !strings.Contains(buf.String(), `a\|b`) {
		t.Errorf("a pipe in a cell is not escaped:\n%s", buf.String())
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, runA); err != nil {
		t.Fatal(err)
	}
	var got struct {
		BenchmarkID string `json:"benchmark_id"`
		Trials      []struct {
			EvalRate float64 `json:"eval_rate"`
		} `json:"trials"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil || got.BenchmarkID != ID(runA) || len(got.Trials) != 6 {
		t.Errorf("json: %+v, %v", got, err)
	}
}

// benchLine is the result line grammar of the Go benchmark format: name,
// iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^Benchmark[^\sa-z]\S*\s+[0-9]+(\s+[-+0-9.eE]+\s+\S+)+$`)

func TestBenchstat(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteBenchstat(&buf, runA, runB); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			n++
			if !benchLine.MatchString(l) {
				t.Errorf("not a benchmark line: %q", l)
			}
		}
	}
	if n != 10 {
		t.Errorf("%d benchmark lines, want 10 (one per measured trial)", n)
	}
	// benchstat's own reader.
	r := benchfmt.NewReader(bytes.NewReader(buf.Bytes()), "runs.txt")
	results := 0
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Errorf("benchfmt: %v", rec)
		case *benchfmt.Result:
			results++
			if string(rec.Name) != "Eval/model=tiny" || rec.Iters != 1 || len(rec.Values) != 6 {
				t.Errorf("result %s iters %d values %v", rec.Name, rec.Iters, rec.Values)
			}
			if v, ok := rec.Value("tok/s"); !ok || v < 98 || v > 102 {
				t.Errorf("tok/s = %v", v)
			}
			if v, ok := rec.Value("sec/op"); !ok || math.Abs(v-0.0301) > 0.001 {
				t.Errorf("sec/op = %v (ns/op tidied)", v)
			}
		}
	}
	if r.Err() != nil || results != 10 {
		t.Errorf("benchfmt read %d results, err %v", results, r.Err())
	}
	if better := r.Units().GetBetter("tok/s"); better != 1 {
		t.Errorf("tok/s better = %d, want higher (+1)", better)
	}
}

func TestBenchstatName(t *testing.T) {
	for in, want := range map[string]string{
		"tiny":                "BenchmarkEval/model=tiny",
		"llama3.2:1b":         "BenchmarkEval/model=llama3.2:1b",
		"library/qwen2:0.5b":  "BenchmarkEval/model=library_qwen2:0.5b",
		"phi3:3.8b-mini-4k-1": "BenchmarkEval/model=phi3:3.8b-mini-4k-1-1",
	} {
		if got := BenchstatName(in); got != want {
			t.Errorf("BenchstatName(%q) = %q, want %q", in, got, want)
		}
	}
}

func verdict(t *testing.T, c *Comparison, metric string) MetricDelta {
	t.Helper()
	for _, d := range c.Runs[0].Metrics {
		if d.Metric == metric {
			return d
		}
	}
	t.Fatalf("no metric %s", metric)
	return MetricDelta{}
}

func TestCompare(t *testing.T) {
	same := Compare(runA, []*benchdv1.Benchmark{runB}, DefaultAlpha)
	if d := verdict(t, same, "eval_rate"); d.Verdict != NoDifference || d.P == nil || *d.P < 0.5 {
		t.Errorf("same rates: %+v", d)
	}
	// Constant and equal in both: no difference, though the test has no p.
	if d := verdict(t, same, "peak_vram_used_bytes"); d.Verdict != NoDifference || d.P != nil {
		t.Errorf("equal constants: %+v", d)
	}
	if !strings.HasPrefix(same.Runs[0].Overall, "no significant difference") {
		t.Errorf("overall: %s", same.Runs[0].Overall)
	}

	fast := Compare(runA, []*benchdv1.Benchmark{runFast}, DefaultAlpha)
	d := verdict(t, fast, "eval_rate")
	if d.Verdict != Faster || !d.Significant || math.Abs(*d.DeltaPct-20) > 0.01 || *d.P > 0.001 {
		t.Errorf("20%% faster: %+v", d)
	}
	// The same p as WelchT's on the measured trials' values.
	_, _, p := stats.WelchT([]float64{120, 122, 118, 121, 119}, []float64{100, 102, 98, 101, 99})
	if *d.P != p {
		t.Errorf("p = %v, WelchT says %v", *d.P, p)
	}
	if !strings.HasPrefix(fast.Runs[0].Overall, "faster: ") {
		t.Errorf("overall: %s", fast.Runs[0].Overall)
	}
	slow := Compare(runFast, []*benchdv1.Benchmark{runA}, DefaultAlpha)
	if d := verdict(t, slow, "eval_rate"); d.Verdict != Slower || *d.DeltaPct > -16 {
		t.Errorf("slower: %+v", d)
	}
	// Lower is better for durations: ttft grows 1e5 ns per trial index in
	// both, so no difference; make one run's ttft clearly shorter.
	quick := fake("20260102T033405Z-0000000e", "tiny", []float64{100, 102, 98, 101, 99})
	for _, tr := range quick.Trials {
		tr.TtftNs /= 2
	}
	if d := verdict(t, Compare(runA, []*benchdv1.Benchmark{quick}, DefaultAlpha), "ttft_ns"); d.Verdict != Faster || *d.DeltaPct > -45 {
		t.Errorf("halved ttft: %+v", d)
	}

	one := fake("20260102T034405Z-0000000f", "other", []float64{100})
	c := Compare(runA, []*benchdv1.Benchmark{one}, DefaultAlpha)
	if d := verdict(t, c, "eval_rate"); d.Verdict != NotTestable {
		t.Errorf("one trial: %+v", d)
	}
	if notes := strings.Join(c.Runs[0].Notes, "; "); !strings.Contains(notes, "different model: tiny vs other") {
		t.Errorf("notes: %s", notes)
	}

	for name, write := range map[string]func(*bytes.Buffer) error{
		"table":    func(b *bytes.Buffer) error { return WriteComparisonTable(b, fast) },
		"markdown": func(b *bytes.Buffer) error { return WriteComparisonMarkdown(b, fast) },
		"json":     func(b *bytes.Buffer) error { return WriteComparisonJSON(b, fast) },
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(buf.String(), "faster") {
			t.Errorf("%s lacks the verdict:\n%s", name, buf.String())
		}
		if name == "json" {
			var v Comparison
			if err := json.Unmarshal(buf.Bytes(), &v); err != nil || v.Runs[0].Metrics[0].Verdict != Faster {
				t.Errorf("json: %v %+v", err, v)
			}
		}
	}
}

func TestChart(t *testing.T) {
	var buf bytes.Buffer
	if err := Chart(&buf, PNG, []*benchdv1.Benchmark{runA, runFast}, runA); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 800 || buf.Len() < 10<<10 {
		t.Errorf("png %v, %d bytes", b, buf.Len())
	}
	buf.Reset()
	if err := Chart(&buf, SVG, []*benchdv1.Benchmark{runA}, &benchdv1.Benchmark{BenchmarkId: "x"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "<svg") || !strings.Contains(buf.String(), "no samples recorded") {
		t.Errorf("svg without a timeline: %.300s", buf.String())
	}
	if _, err := ChartFormatOf("x.jpg"); err == nil {
		t.Error("x.jpg accepted")
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(strings.ToUpper(string(f))); err != nil || got != f {
			t.Errorf("ParseFormat(%s) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil {
		t.Error("yaml accepted")
	}
}

// TestFromEvents: a record folded from a run's events (what benchctl
// prints right after a run) reads like the stored one.
func TestFromEvents(t *testing.T) {
	b := record.FromEvents(record.Events(runA))
	if ID(b) != ID(runA) || len(b.Trials) != 6 || State(b) != "SUCCEEDED" || b.GetSettings().GetMaxTokens() != 64 {
		t.Errorf("FromEvents: %v", b)
	}
}

// A sweep's record prints a row per cell, the best marked, a failed cell
// with its error.
func TestTableSweepCells(t *testing.T) {
	b := proto.Clone(runA).(*benchdv1.Benchmark)
	sum := func(rate float64) *benchdv1.BenchmarkFinished {
		return &benchdv1.BenchmarkFinished{Trials: 1, EvalRate: &benchdv1.Summary{N: 1, Mean: rate}}
	}
	b.Cells = []*benchdv1.SweepCell{
		{Index: 0, Model: "tiny", NumCtx: proto.Uint32(512), NumThread: proto.Uint32(1), MaxTokens: 8,
			Status: benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED, Summary: sum(90)},
		{Index: 1, Model: "tiny", NumCtx: proto.Uint32(512), NumThread: proto.Uint32(2), MaxTokens: 8,
			Status: benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED, Summary: sum(140)},
		{Index: 2, Model: "absent", NumCtx: proto.Uint32(512), NumThread: proto.Uint32(1), MaxTokens: 8,
			Status: benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED, ErrorMessage: "model not found"},
	}
	b.Finished.BestCell, b.Finished.CellsFailed = proto.Uint32(1), 1
	var buf bytes.Buffer
	if err := WriteTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	var rows []string
	for i, l := range lines {
		if strings.HasPrefix(l, "sweep cells (best by gen tok/s)") {
			rows = lines[i+2 : i+5]
		}
	}
	if len(rows) != 3 {
		t.Fatalf("no cell table:\n%s", out)
	}
	if f := strings.Fields(rows[1]); f[0] != "*" || f[1] != "1" || f[2] != "tiny" || f[3] != "512" || f[6] != "2" {
		t.Errorf("best row %q: want * 1 tiny 512 - - 2", rows[1])
	}
	if strings.HasPrefix(rows[0], "*") || !strings.Contains(rows[0], "90.0") || !strings.Contains(rows[2], "FAILED: model not found") {
		t.Errorf("rows:\n%s", strings.Join(rows, "\n"))
	}
	var plain bytes.Buffer
	if err := WriteTable(&plain, runA); err != nil || strings.Contains(plain.String(), "sweep cells") {
		t.Errorf("a plain run has no cell table: %v\n%s", err, plain.String())
	}
}

// sweepFixture is a finished 2-cell sweep over num_gpu on a GPU host:
// cell 0 (num_gpu 0) ran on the CPU, cell 1 (num_gpu 99) fitted in VRAM
// and is best.
func sweepFixture() *benchdv1.Benchmark {
	b := proto.Clone(runA).(*benchdv1.Benchmark)
	b.Settings.Sweep = &benchdv1.Sweep{NumGpu: []uint32{0, 99}, Objective: benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT}
	sum := func(ttft float64) *benchdv1.BenchmarkFinished {
		return &benchdv1.BenchmarkFinished{Trials: 2, TtftNs: &benchdv1.Summary{N: 2, Mean: ttft}, EvalRate: &benchdv1.Summary{N: 2, Mean: 10}}
	}
	b.Cells = []*benchdv1.SweepCell{
		{Index: 0, Model: "tiny", NumGpu: proto.Uint32(0), MaxTokens: 64, Status: benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED,
			Summary: sum(9e6), ModelSizeBytes: 1 << 30},
		{Index: 1, Model: "tiny", NumGpu: proto.Uint32(99), MaxTokens: 64, Status: benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED,
			Summary: sum(3e6), ModelSizeBytes: 1 << 30, ModelSizeVramBytes: 1 << 30, FitsVram: true, PeakVramUsedBytes: 2 << 30},
	}
	for i, t := range b.Trials {
		t.Cell = uint32(i % 2)
	}
	b.Finished.BestCell, b.Finished.Objective = proto.Uint32(1), benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT
	return b
}

// The lines under a sweep's cells say which is best and why, or why none
// is: the best-cell rule's three cases.
func TestSweepNotes(t *testing.T) {
	b := sweepFixture()
	jpt := 0.5
	b.Cells[1].Energy = &benchdv1.Energy{Joules: 32, JoulesPerOutputToken: &jpt}
	var buf bytes.Buffer
	if err := WriteSweepTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	for _, want := range []string{"sweep model tiny × num_gpu 0,99: 2 cells, best by lowest ttft", "each cell: reps 5, warm-up 1, max tokens 64",
		"-      1.0 GiB    100% CPU", "2.0 GiB    0.500  1.0 GiB    100% GPU", "best by lowest ttft: cell 1 (model=tiny num_gpu=99 max_tokens=64), ttft 3.0ms\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q", want)
		}
	}
	// Only the spilled cell succeeded: no best cell, and why.
	b.Cells[1].Status, b.Cells[1].ErrorMessage, b.Finished.BestCell, b.Finished.CellsFailed = benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED, "out of memory", nil, 1
	notes := strings.Join(sweepNotes(b), "\n")
	if notes != "no best cell: no succeeded cell fitted entirely in VRAM (ollama put part of each model on the CPU)\n1 of 2 cells failed; the sweep went on past them" {
		t.Errorf("notes %q", notes)
	}
	b.Cells[0].Status = benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED
	if notes := sweepNotes(b); notes[0] != "no best cell: no cell succeeded" {
		t.Errorf("notes %q", notes)
	}
	// Unfinished: the cells so far, no best.
	b.Finished = nil
	if notes := sweepNotes(b); len(notes) != 1 || notes[0] != "2 of 2 cells finished; no best cell: the sweep did not finish" {
		t.Errorf("notes %q", notes)
	}
}

// benchstat names a trial of a cell that did not finish by the sweep's
// settings for it.
func TestBenchstatNamesUnfinishedCell(t *testing.T) {
	b := sweepFixture()
	b.Cells = b.Cells[:1]
	var buf bytes.Buffer
	if err := WriteBenchstat(&buf, b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"BenchmarkEval/model=tiny/num_gpu=0\t", "BenchmarkEval/model=tiny/num_gpu=99\t"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestSweepChart(t *testing.T) {
	var buf bytes.Buffer
	if err := SweepChart(&buf, PNG, sweepFixture()); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// One swept setting: one panel above the memory panel.
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 800 {
		t.Errorf("png %v", b)
	}
	buf.Reset()
	if err := SweepChart(&buf, SVG, sweepFixture()); err != nil {
		t.Fatal(err)
	}
	if s := buf.String(); !strings.Contains(s, "time to first token, ms by num_gpu") || !strings.Contains(s, "best cell") || !strings.Contains(s, "1 *") {
		t.Errorf("svg: %.300s", s)
	}
	if err := SweepChart(&buf, PNG, runA); err == nil {
		t.Error("a plain run drawn as a sweep")
	}
}
