package main

// benchctl sweep against an in-process benchd whose ollama is a TEST
// DOUBLE (fakes.Ollama: it knows the model "tiny" only, and reports a
// generation of max_tokens tokens in 1 ms, so a cell's generation rate is
// max_tokens × 1000 tok/s), without Docker.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
	"google.golang.org/grpc/codes"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/report"
)

// sweepArgs is a 2 models × 2 num_ctx × 2 max_tokens sweep: the four
// "absent" cells fail (ollama does not have it), and of the four "tiny"
// cells those of 8 tokens are fastest, the first of them (num_ctx 512)
// best.
func sweepArgs(sock string, more ...string) []string {
	return append([]string{"sweep", "tiny,absent", "--socket", sock, "--num-ctx", "512,1024", "--max-tokens", "4,8",
		"--reps", "2", "--warmup", "0"}, more...)
}

func TestSweepEveryFormat(t *testing.T) {
	sock := fakes.StartBenchd(t, &fakes.Ollama{})
	chart := filepath.Join(t.TempDir(), "sweep.png")
	out, errOut, code := runCLI(t, sweepArgs(sock, "--chart", chart)...)
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s%s", code, out, errOut)
	}
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "sweep ") || lines[1] != "sweep models tiny,absent × num_ctx 512,1024 × max_tokens 4,8: 8 cells, best by gen tok/s" {
		t.Errorf("header:\n%s", strings.Join(lines[:3], "\n"))
	}
	var rows [][]string
	for i, l := range lines {
		if strings.HasPrefix(l, "best  cell  model") {
			for _, r := range lines[i+1 : i+9] {
				rows = append(rows, strings.Fields(r))
			}
		}
	}
	if len(rows) != 8 {
		t.Fatalf("want 8 cell rows:\n%s", out)
	}
	// Cells in run order: model, then num_ctx, then max_tokens fastest.
	want := [][]string{
		{"0", "tiny", "512", "-", "-", "-", "-", "4", "0.0", "±", "0.0", "4000.0", "±", "0.0"},
		{"*", "1", "tiny", "512", "-", "-", "-", "-", "8", "0.0", "±", "0.0", "8000.0", "±", "0.0"},
		{"2", "tiny", "1024", "-", "-", "-", "-", "4"},
		{"3", "tiny", "1024", "-", "-", "-", "-", "8", "0.0", "±", "0.0", "8000.0"},
		{"4", "absent", "512", "-", "-", "-", "-", "4", "-", "-", "-", "-", "-", "-", "-", "FAILED:"},
	}
	for i, w := range want {
		if got := rows[i][:len(w)]; strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("row %d: %q, want %q", i, got, w)
		}
	}
	if !strings.Contains(lines[len(lines)-3], "best by gen tok/s: cell 1 (model=tiny num_ctx=512 max_tokens=8), 8000.0 gen tok/s; no cell's model took VRAM (a CPU-only host)") ||
		lines[len(lines)-2] != "4 of 8 cells failed; the sweep went on past them" {
		t.Errorf("notes:\n%s", strings.Join(lines[len(lines)-3:], "\n"))
	}
	if !strings.Contains(errOut, "wrote "+chart) {
		t.Errorf("stderr: %s", errOut)
	}
	checkChart(t, chart, 1200, 1200) // three swept settings: two rows of panels, then VRAM

	// The record, by id: every format.
	id := strings.Fields(lines[0])[1]
	show := shower(t, sock, id)
	if cells := show("--cells"); cells != out {
		t.Errorf("show --cells differs from sweep's table:\n%s", cells)
	}
	full := show()
	for _, w := range []string{"cell/trial", "\nsweep cells (best by gen tok/s)\n", "summary over 8 measured trials"} {
		if !strings.Contains(full, w) {
			t.Errorf("show lacks %q:\n%s", w, full)
		}
	}

	recs, err := csv.NewReader(strings.NewReader(show("--cells", "-o", "csv"))).ReadAll()
	if err != nil || len(recs) != 9 || strings.Join(recs[0], ",") != strings.Join(report.CellsCSVHeader, ",") {
		t.Fatalf("cells csv: %v, %v", recs, err)
	}
	col := func(name string) int {
		for i, h := range recs[0] {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	if r := recs[2]; r[col("best")] != "true" || r[col("eval_rate_mean")] != "8000" || r[col("num_ctx")] != "512" || r[col("num_gpu")] != "" ||
		r[col("status")] != "SUCCEEDED" || r[col("objective")] != "EVAL_RATE" || r[col("model_size_bytes")] != "91278080" || r[col("fits_vram")] != "false" {
		t.Errorf("best cell's csv row %v", r)
	}
	if r := recs[5]; r[col("status")] != "FAILED" || r[col("error_code")] != "NOT_FOUND" || r[col("model")] != "absent" || r[col("eval_rate_mean")] != "" {
		t.Errorf("failed cell's csv row %v", r)
	}
	trials, err := csv.NewReader(strings.NewReader(show("-o", "csv"))).ReadAll()
	cellCol := slices.Index(report.TrialsCSVHeader, "cell")
	if err != nil || len(trials) != 9 || trials[0][cellCol] != "cell" || trials[8][cellCol] != "3" {
		t.Errorf("trials csv: %v, %v", trials, err)
	}

	md := show("--cells", "-o", "md")
	for _, w := range []string{"### Sweep `" + id + "`: tiny", "| best | cell | model |", "| * | **1** | **tiny** | **512** |",
		"| FAILED: ", "- best by gen tok/s: cell 1"} {
		if !strings.Contains(md, w) {
			t.Errorf("md lacks %q:\n%s", w, md)
		}
	}
	if full := show("-o", "md"); !strings.Contains(full, "#### Sweep cells (best by gen tok/s)") || !strings.Contains(full, ">cell/trial") && !strings.Contains(full, "| cell/trial |") {
		t.Errorf("show -o md:\n%s", full)
	}

	// benchstat: a benchmark per cell, named by its swept settings.
	names := benchstatNames(show("-o", "benchstat"))
	if len(names) != 4 || names["Eval/model=tiny/num_ctx=512/max_tokens=8"] != 2 || names["Eval/model=tiny/num_ctx=1024/max_tokens=4"] != 2 {
		t.Errorf("benchstat names %v", names)
	}

	var rec struct {
		Cells []struct {
			Index     int    `json:"index"`
			Status    string `json:"status"`
			ErrorCode int    `json:"error_code"`
		} `json:"cells"`
		Finished struct {
			BestCell    int `json:"best_cell"`
			CellsFailed int `json:"cells_failed"`
		} `json:"finished"`
	}
	if err := json.Unmarshal([]byte(show("-o", "json")), &rec); err != nil || len(rec.Cells) != 8 || rec.Finished.BestCell != 1 ||
		rec.Finished.CellsFailed != 4 || rec.Cells[7].Status != "SWEEP_CELL_STATUS_FAILED" || rec.Cells[7].ErrorCode != int(codes.NotFound) {
		t.Errorf("json: %+v, %v", rec, err)
	}

	// chart ID of one sweep draws the sweep chart.
	again := filepath.Join(t.TempDir(), "again.svg")
	if _, errOut, code := runCLI(t, "chart", id, "--socket", sock, "--out", again); code != 0 {
		t.Fatalf("chart: exit %d: %s", code, errOut)
	}
	if svg, err := os.ReadFile(again); err != nil || !bytes.Contains(svg, []byte("generation rate (eval), tok/s by num_ctx")) ||
		!bytes.Contains(svg, []byte("generation rate (eval), tok/s by max_tokens")) || !bytes.Contains(svg, []byte("FAILED")) {
		t.Errorf("sweep svg: %v", err)
	}
}

// sweep -o jsonl streams the cell events; -o csv is a row per cell; the
// objective picks the best.
func TestSweepStreamsCellEvents(t *testing.T) {
	sock := fakes.StartBenchd(t, &fakes.Ollama{})
	out, errOut, code := runCLI(t, sweepArgs(sock, "-o", "jsonl")...)
	if code != 0 {
		t.Fatalf("sweep -o jsonl: exit %d\n%s", code, errOut)
	}
	kinds := eventKinds(t, out)
	if kinds["cellStarted"]+kinds["cell_started"] != 8 || kinds["cellFinished"]+kinds["cell_finished"] != 8 || kinds["trial"] != 8 || kinds["finished"] != 1 {
		t.Errorf("events %v", kinds)
	}

	out, errOut, code = runCLI(t, "sweep", "tiny", "--socket", sock, "--max-tokens", "4-16*2", "--reps", "1", "--warmup", "0", "--objective", "ttft", "-o", "csv")
	if code != 0 {
		t.Fatalf("sweep -o csv: exit %d\n%s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][10] != "4" || recs[3][10] != "16" || recs[1][3] != "TTFT" {
		t.Errorf("csv %v, %v", recs, err)
	}
}

// The Go client's sweep types over the daemon: the cells, the best cell
// and the objective, and the cell events in order.
func TestClientSweep(t *testing.T) {
	c := fakeClient(t, &fakes.Ollama{})
	warm := 0
	var events []string
	res, err := c.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: "tiny", Repetitions: 1, Warmup: &warm,
		Sweep: &client.Sweep{NumThread: []int{1, 2}, MaxTokens: []int{8, 4}, Objective: client.ObjectiveEvalRate},
	}, func(ev client.Event) {
		switch {
		case ev.CellStarted != nil:
			events = append(events, "start "+ev.CellStarted.Cell.Settings())
		case ev.CellFinished != nil:
			events = append(events, "end "+ev.CellFinished.Status)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 8 || events[0] != "start model=tiny num_thread=1 max_tokens=8" || events[1] != "end SUCCEEDED" ||
		events[6] != "start model=tiny num_thread=2 max_tokens=4" {
		t.Errorf("events %q", events)
	}
	best := res.BestCell()
	if len(res.Cells) != 4 || best == nil || best.Index != 0 || *best.NumThread != 1 || best.Summary.EvalRate.Mean != 8000 ||
		res.Summary.Objective != client.ObjectiveEvalRate || res.Summary.CellsFailed != 0 || best.ModelSizeBytes == 0 || best.FitsVRAM {
		t.Errorf("result: %d cells, best %+v, summary %+v", len(res.Cells), best, res.Summary)
	}
	stored, err := c.GetBenchmark(context.Background(), res.BenchmarkID)
	if err != nil || len(stored.Cells) != 4 || stored.BestCell() == nil || stored.BestCell().Index != 0 {
		t.Errorf("stored: %+v, %v", stored, err)
	}
	// Refused before anything runs: a list and the request's own field.
	_, err = c.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: "tiny", NumCtx: 512, Sweep: &client.Sweep{NumCtx: []int{1024}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("num_ctx twice: %v", err)
	}
}

func TestSweepUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep"}, "at least one MODEL is required"},
		{[]string{"sweep", "tiny", "--num-ctx", "512,512"}, "512 is given twice"},
		{[]string{"sweep", "tiny", "--num-ctx", "512-4096"}, "needs a step"},
		{[]string{"sweep", "tiny", "--num-thread", "1-100+1"}, "more than 16 values"},
		{[]string{"sweep", "tiny", "--num-thread", "-1"}, "is not a count"},
		{[]string{"sweep", "tiny,tiny"}, "tiny is given twice"},
		{[]string{"sweep", "tiny", "--objective", "fast"}, `--objective "fast": want one of gen, prompt, ttft`},
		{[]string{"sweep", "tiny", "--chart", "x.jpg"}, "must end in .png or .svg"},
		{[]string{"show", "--cells", "20260102T030405Z-0123abcd", "--socket", "/nonexistent"}, ""},
	} {
		_, errOut, code := runCLI(t, append(c.args, "--socket", "/nonexistent/benchd.sock")...)
		if c.want == "" {
			continue
		}
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, code, errOut)
		}
	}
	ranges := []int{}
	if err := (listValue{&ranges}).Set("1-8*2,3,10-12+1"); err != nil || len(ranges) != 8 || ranges[3] != 8 || ranges[7] != 12 {
		t.Errorf("ranges %v, %v", ranges, err)
	}
}

// checkChart decodes a PNG and checks its size.
func checkChart(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %v, want %dx%d", path, b, w, h)
	}
	if dir := os.Getenv("BENCHCTL_CHART_DIR"); dir != "" {
		data, _ := os.ReadFile(path)
		_ = os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o644)
	}
}

// eventKinds counts -o jsonl's events by kind: each line one event.
func eventKinds(t *testing.T, out string) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &ev); err != nil || len(ev) != 1 {
			t.Fatalf("line %q: %v", l, err)
		}
		for k := range ev {
			kinds[k]++
		}
	}
	return kinds
}

// benchstatNames counts the results of benchstat output by name.
func benchstatNames(out string) map[string]int {
	bs := benchfmt.NewReader(strings.NewReader(out), "benchstat.txt")
	names := map[string]int{}
	for bs.Scan() {
		if r, ok := bs.Result().(*benchfmt.Result); ok {
			names[string(r.Name)]++
		}
	}
	return names
}

// fakeClient is a Go client of an in-process benchd over o.
func fakeClient(t *testing.T, o *fakes.Ollama) *client.Client {
	t.Helper()
	c, err := client.New(fakes.StartBenchd(t, o))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// shower runs benchctl show ID with more arguments and returns its output.
func shower(t *testing.T, sock, id string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, errOut, code := runCLI(t, append([]string{"show", id, "--socket", sock}, args...)...)
		if code != 0 {
			t.Fatalf("show %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
}
