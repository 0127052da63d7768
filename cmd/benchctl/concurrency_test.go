package main

// benchctl run --concurrency against an in-process benchd whose ollama is
// a TEST DOUBLE (fakes.Ollama: the model "tiny" only, over HTTP without a
// container, so the parallel slots are "unknown"), without Docker. With a
// scripted stream (fakes.Stream: 4 chunks, the first after 20 ms, then
// every 5 ms, the final 1 ms later; nothing waits) every request's
// latencies are exact: ttft and queue 20 ms (the fake loads nothing and
// evaluates no prompt), itl 5 ms, e2e 36 ms. The rates are over benchd's
// real clock and not asserted.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/report"
)

// levelRows are the rows under a level table's header in out.
func levelRows(t *testing.T, out string, n int) [][]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "in flight  requests  ok/failed  out tok/s") && i+n < len(lines) {
			var rows [][]string
			for _, r := range lines[i+1 : i+1+n] {
				rows = append(rows, strings.Fields(r))
			}
			return rows
		}
	}
	t.Fatalf("no level table:\n%s", out)
	return nil
}

// scripted is the fake's stream of TestConcurrencyEveryFormat.
var scripted = &fakes.Stream{Delays: []time.Duration{20 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}, Final: time.Millisecond}

func TestConcurrencyEveryFormat(t *testing.T) {
	sock := fakes.StartBenchd(t, &fakes.Ollama{Stream: scripted})
	chart := filepath.Join(t.TempDir(), "concurrency.png")
	out, errOut, code := runCLI(t, "run", "tiny", "--socket", sock, "--concurrency", "2,1", "--requests", "4", "--warmup", "1",
		"--max-tokens", "8", "--chart", chart)
	if code != 0 {
		t.Fatalf("run --concurrency: exit %d\n%s%s", code, out, errOut)
	}
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "concurrency run ") ||
		lines[1] != "concurrency: levels 2,1 in flight, closed loop, 4 requests each; ollama's parallel slots: OLLAMA_NUM_PARALLEL unknown (no container to inspect)" ||
		!strings.HasPrefix(lines[2], "each request: warm-up 1, max tokens 8,") {
		t.Errorf("header:\n%s", strings.Join(lines[:3], "\n"))
	}
	// Levels in the order asked; every request succeeded.
	for i, r := range levelRows(t, out, 2) {
		if len(r) != 11 || r[0] != []string{"2", "1"}[i] || r[1] != "4" || r[2] != "4/0" || r[3] == "0.0" || r[4] == "0.00" || r[9] != "-" || r[10] != "-" {
			t.Errorf("level row %d: %q", i, r)
		}
		if got := strings.Join(r[5:9], " "); got != "20ms/20ms/20ms 5ms/5ms/5ms 36ms/36ms/36ms 20ms/20ms/20ms" {
			t.Errorf("level row %d latencies %q", i, got)
		}
	}
	if !strings.Contains(out, "queue = ttft − load − prompt eval, the wait for a parallel slot") {
		t.Errorf("no note on the queue time:\n%s", out)
	}
	if !strings.Contains(errOut, "wrote "+chart) {
		t.Errorf("stderr: %s", errOut)
	}
	checkChart(t, chart, 1200, 1200)

	id := strings.Fields(lines[0])[2]
	show := shower(t, sock, id)
	if again := show(); again != out {
		t.Errorf("show differs from run's table:\n%s", again)
	}
	full := show("--trials")
	for _, w := range []string{"level/trial", "\nconcurrency levels (OLLAMA_NUM_PARALLEL unknown (no container to inspect))\n", "summary over 8 measured trials"} {
		if !strings.Contains(full, w) {
			t.Errorf("show --trials lacks %q:\n%s", w, full)
		}
	}

	recs, err := csv.NewReader(strings.NewReader(show("-o", "csv"))).ReadAll()
	if err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(report.LevelsCSVHeader, ",") {
		t.Fatalf("levels csv: %v, %v", recs, err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[2][i]
	}
	if row["concurrency"] != "1" || row["level"] != "1" || row["succeeded"] != "4" || row["output_tokens"] != "16" ||
		row["ollama_num_parallel"] != "unknown" || row["queue_ns_p99"] != "20000000" || row["e2e_latency_ns_p50"] != "36000000" {
		t.Errorf("level 1's csv row %v", row)
	}
	trials, err := csv.NewReader(strings.NewReader(show("--trials", "-o", "csv"))).ReadAll()
	if n := len(report.TrialsCSVHeader); err != nil || len(trials) != 10 || trials[0][n-4] != "level" ||
		trials[1][n-4] != "0" || trials[1][n-3] != "2" || trials[9][n-4] != "1" || trials[9][n-1] == "" {
		t.Errorf("trials csv: %v, %v", trials, err)
	}

	md := show("-o", "md")
	for _, w := range []string{"### Concurrency run `" + id + "`: tiny", "| in flight | requests | ok/failed |", "| 2 | 4 | 4/0 |", "| 1 | 4 | 4/0 |"} {
		if !strings.Contains(md, w) {
			t.Errorf("md lacks %q:\n%s", w, md)
		}
	}

	names := benchstatNames(show("-o", "benchstat"))
	if len(names) != 2 || names["Eval/model=tiny/concurrency=2"] != 4 || names["Eval/model=tiny/concurrency=1"] != 4 {
		t.Errorf("benchstat names %v", names)
	}

	var rec struct {
		Started struct {
			OllamaNumParallel string `json:"ollama_num_parallel"`
		} `json:"started"`
		Levels []struct {
			Concurrency int `json:"concurrency"`
			Succeeded   int `json:"succeeded"`
		} `json:"levels"`
		Trials []struct {
			Level  int    `json:"level"`
			SentAt string `json:"sent_at"`
		} `json:"trials"`
	}
	if err := json.Unmarshal([]byte(show("-o", "json")), &rec); err != nil || len(rec.Levels) != 2 || rec.Levels[0].Concurrency != 2 ||
		rec.Levels[1].Succeeded != 4 || len(rec.Trials) != 9 || rec.Trials[8].Level != 1 || rec.Trials[8].SentAt == "" || rec.Started.OllamaNumParallel != "unknown" {
		t.Errorf("json: %+v, %v", rec, err)
	}

	// chart ID of one concurrency run draws it so.
	svg := filepath.Join(t.TempDir(), "again.svg")
	if _, errOut, code := runCLI(t, "chart", id, "--socket", sock, "--out", svg); code != 0 {
		t.Fatalf("chart: exit %d: %s", code, errOut)
	}
	if data, err := os.ReadFile(svg); err != nil || !bytes.Contains(data, []byte("output tokens/s (all requests together)")) ||
		!bytes.Contains(data, []byte("queue time (waiting for a parallel slot), p50 and p99")) {
		t.Errorf("concurrency svg: %v", err)
	}

	// -o jsonl: the level events as they come.
	out, errOut, code = runCLI(t, "run", "tiny", "--socket", sock, "--concurrency", "1-2+1", "--warmup", "0", "--max-tokens", "4", "-o", "jsonl")
	if code != 0 {
		t.Fatalf("run --concurrency -o jsonl: exit %d\n%s", code, errOut)
	}
	kinds := eventKinds(t, out)
	// Default requests: 4 × the level, 4 + 8.
	if kinds["levelStarted"]+kinds["level_started"] != 2 || kinds["levelFinished"]+kinds["level_finished"] != 2 || kinds["trial"] != 12 || kinds["finished"] != 1 {
		t.Errorf("events %v", kinds)
	}
}

func TestConcurrencyUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "tiny", "--concurrency", "1,2", "--reps", "3"}, "--reps does not go with --concurrency"},
		{[]string{"run", "tiny", "--concurrency", "1", "--cold"}, "--cold does not go with --concurrency"},
		{[]string{"run", "tiny", "--requests", "8"}, "--requests is for concurrency runs: add --concurrency LIST"},
		{[]string{"run", "tiny", "--chart", "x.png"}, "--chart is for concurrency runs"},
		{[]string{"run", "tiny", "--concurrency", "2,2"}, "2 is given twice"},
		{[]string{"run", "tiny", "--concurrency", "1", "--chart", "x.jpg"}, "must end in .png or .svg"},
	} {
		_, errOut, code := runCLI(t, append(c.args, "--socket", "/nonexistent/benchd.sock")...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, code, errOut)
		}
	}
	// benchd refuses what it alone knows, before anything runs.
	sock := fakes.StartBenchd(t, &fakes.Ollama{})
	_, errOut, code := runCLI(t, "run", "tiny", "--socket", sock, "--concurrency", "1,4", "--requests", "2")
	if code != 64+3 || !strings.Contains(errOut, "InvalidArgument: level 4 needs at least 4 requests, not 2") {
		t.Errorf("requests below a level: exit %d, %s", code, errOut)
	}
	t.Log(errOut)
}

// The Go client's concurrency types over the daemon: the levels, their
// events in order with the progress's level, and the stored record.
func TestClientConcurrency(t *testing.T) {
	c := fakeClient(t, &fakes.Ollama{})
	warm := 1
	var events []string
	progressLevels := map[int]bool{}
	res, err := c.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: "tiny", Warmup: &warm, MaxTokens: 4, Concurrency: &client.Concurrency{Levels: []int{1, 3}, Requests: 3},
	}, func(ev client.Event) {
		switch {
		case ev.LevelStarted != nil:
			events = append(events, fmt.Sprint("start ", ev.LevelStarted.Level.Concurrency))
		case ev.LevelFinished != nil:
			events = append(events, fmt.Sprint("end ", ev.LevelFinished.Succeeded))
		case ev.Progress != nil:
			progressLevels[ev.Progress.Level] = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(events, " ") != "start 1 end 3 start 3 end 3" {
		t.Errorf("events %q", events)
	}
	// Each level's first token makes a progress event (benchd throttles
	// them per level).
	if len(progressLevels) != 2 || !progressLevels[0] || !progressLevels[1] {
		t.Errorf("progress levels %v, want 0 and 1", progressLevels)
	}
	if len(res.Levels) != 2 || res.Levels[1].Concurrency != 3 || res.Levels[1].OutputTokens != 12 || res.Levels[1].QueueNs.N != 3 ||
		res.OllamaNumParallel != "unknown" || len(res.Trials) != 7 || res.Trials[6].Level != 1 || res.Trials[6].SentAt.IsZero() {
		t.Errorf("result: %d levels %+v, slots %q, %d trials", len(res.Levels), res.Levels, res.OllamaNumParallel, len(res.Trials))
	}
	stored, err := c.GetBenchmark(context.Background(), res.BenchmarkID)
	if err != nil || len(stored.Levels) != 2 || stored.Levels[0].Requests != 3 {
		t.Errorf("stored: %+v, %v", stored, err)
	}
}

// The live display of a concurrency run (what a terminal's stderr shows):
// the parallel slots, a line per level start and end, the warm-up's line,
// and one progress line counting the level's requests.
func TestConcurrencyLiveLines(t *testing.T) {
	c := fakeClient(t, &fakes.Ollama{Stream: scripted})
	var stderr bytes.Buffer
	d := &display{e: &env{stderr: &stderr}, live: true}
	warm := 1
	if _, err := c.RunBenchmark(context.Background(), client.BenchmarkRequest{
		Model: "tiny", Warmup: &warm, Concurrency: &client.Concurrency{Levels: []int{1, 2}, Requests: 2},
	}, d.event); err != nil {
		t.Fatal(err)
	}
	// A progress line is cleared by the next line: keep what stays.
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if i := strings.LastIndex(l, "\r\033[K"); i >= 0 {
			l = l[i+len("\r\033[K"):]
		}
		lines = append(lines, l)
	}
	t.Log("\n" + strings.Join(lines, "\n"))
	want := []string{
		"(ollama 0.9.6, OLLAMA_NUM_PARALLEL unknown (no container to inspect))",
		"level 0 (1 of 2): 1 in flight, 2 requests",
		"level 0 warm-up 0 done:",
		"level 0 done: 1 in flight, 2/0 ok/failed, ",
		"level 1 (2 of 2): 2 in flight, 2 requests",
		"level 1 done: 2 in flight, 2/0 ok/failed, ",
	}
	if len(lines) < len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d %q, want %q", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[3], "ttft p50 20ms, queue p50 20ms") || !strings.Contains(stderr.String(), "level 1: 2 of 2 requests done (2 in flight)") {
		t.Errorf("level figures or request count missing:\n%q", stderr.String())
	}
}
