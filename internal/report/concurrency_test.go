package report

import (
	"bytes"
	"encoding/csv"
	"image/png"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/protobuf/proto"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// concurrencyFixture is runA as a concurrency run at 4 then 1 in flight
// (levels in the order asked), default requests, with 4 parallel slots;
// at 4 in flight one request failed.
func concurrencyFixture() *benchdv1.Benchmark {
	b := proto.Clone(runA).(*benchdv1.Benchmark)
	b.Settings.Concurrency = &benchdv1.Concurrency{Levels: []uint32{4, 1}}
	b.Started.OllamaNumParallel = "4"
	pct := func(p50, p90, p99 float64) *benchdv1.Summary {
		return &benchdv1.Summary{N: 4, Mean: p50, P50: p50, P90: p90, P99: p99, Max: p99}
	}
	b.Levels = []*benchdv1.ConcurrencyLevel{
		{Index: 0, Concurrency: 4, Requests: 16, Succeeded: 15, Failed: 1, ErrorCode: int32(code.Code_UNAVAILABLE), ErrorMessage: "ollama went away",
			DurationNs: 8e9, OutputTokens: 960, OutputTokensPerSecond: 120, RequestsPerSecond: 1.875,
			TtftNs: pct(917.6e6, 920.2e6, 920.4e6), ItlNs: pct(8.5e6, 21.2e6, 71.5e6), TpotNs: pct(9e6, 9e6, 9e6),
			E2ELatencyNs: pct(25.81e9, 25.82e9, 25.82e9), QueueNs: pct(14.2e6, 15.7e6, 16e6), PeakVramUsedBytes: 1 << 30},
		{Index: 1, Concurrency: 1, Requests: 4, Succeeded: 4, DurationNs: 2e9, OutputTokens: 256, OutputTokensPerSecond: 128, RequestsPerSecond: 2,
			TtftNs: pct(10.8e6, 14.1e6, 14.8e6), ItlNs: pct(800e3, 1.5e6, 4e6), TpotNs: pct(1e6, 1e6, 1e6),
			E2ELatencyNs: pct(1.81e9, 1.93e9, 1.98e9), QueueNs: pct(1.4e6, 1.9e6, 2.1e6)},
	}
	for i, t := range b.Trials {
		t.Level, t.QueueNs = uint32(i%2), int64(i)*1e6
	}
	return b
}

func TestLevelsTable(t *testing.T) {
	b := concurrencyFixture()
	jpt := 0.25
	b.Levels[0].Energy = &benchdv1.Energy{Joules: 240, JoulesPerOutputToken: &jpt}
	var buf bytes.Buffer
	if err := WriteLevelsTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Log("\n" + out)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "concurrency run "+ID(b)+"  model tiny  state SUCCEEDED") ||
		lines[1] != "concurrency: levels 4,1 in flight, closed loop, 16,4 requests (4 × in flight); ollama's parallel slots: OLLAMA_NUM_PARALLEL=4" ||
		!strings.HasPrefix(lines[2], "each request: warm-up 1, max tokens 64") {
		t.Errorf("header:\n%s", strings.Join(lines[:3], "\n"))
	}
	var rows [][]string
	for i, l := range lines {
		if strings.Contains(l, "in flight  requests  ok/failed") {
			for _, r := range lines[i+1 : i+3] {
				rows = append(rows, strings.Fields(r))
			}
		}
	}
	want := [][]string{
		{"4", "16", "15/1", "120.0", "1.88", "918ms/920ms/920ms", "8.5ms/21.2ms/71.5ms", "25.8s/25.8s/25.8s", "14.2ms/15.7ms/16ms", "1.0", "GiB", "0.250"},
		{"1", "4", "4/0", "128.0", "2.00", "10.8ms/14.1ms/14.8ms", "800µs/1.5ms/4ms", "1.81s/1.93s/1.98s", "1.4ms/1.9ms/2.1ms", "-", "-"},
	}
	if len(rows) != 2 {
		t.Fatalf("want 2 level rows:\n%s", out)
	}
	for i, w := range want {
		if strings.Join(rows[i], " ") != strings.Join(w, " ") {
			t.Errorf("row %d %q, want %q", i, rows[i], w)
		}
	}
	if !strings.Contains(out, "4 in flight: 1 of 16 requests failed, the first with UNAVAILABLE: ollama went away") {
		t.Errorf("no failure note")
	}

	// Not every level ran; the slots as the other strings say.
	b.Levels, b.State, b.Started.OllamaNumParallel = b.Levels[:1], benchdv1.BenchmarkState_BENCHMARK_STATE_CANCELLED, "default"
	buf.Reset()
	if err := WriteLevelsTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); !strings.Contains(out, "1 of 2 levels finished (state CANCELLED)") || !strings.Contains(out, "OLLAMA_NUM_PARALLEL not set (ollama's default)") {
		t.Errorf("cancelled run:\n%s", out)
	}
	if ParallelSlots("unknown") != "OLLAMA_NUM_PARALLEL unknown (no container to inspect)" || ParallelSlots("") != "" {
		t.Errorf("slots: %q, %q", ParallelSlots("unknown"), ParallelSlots(""))
	}
	if IsConcurrency(runA) || !IsConcurrency(concurrencyFixture()) {
		t.Error("IsConcurrency")
	}
}

// Every format of a concurrency run: level CSV, markdown, the trial views
// (level/trial, the levels section, the level columns) and benchstat.
func TestLevelsFormats(t *testing.T) {
	b := concurrencyFixture()
	var buf bytes.Buffer
	if err := WriteLevelsCSV(&buf, b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv %v, %v", recs, err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	if row["concurrency"] != "4" || row["failed"] != "1" || row["error_code"] != "UNAVAILABLE" || row["ollama_num_parallel"] != "4" ||
		row["queue_ns_p99"] != "16000000" || row["e2e_latency_ns_p50"] != "25810000000" || row["output_tokens_per_second"] != "120" ||
		row["peak_vram_used_bytes"] != "1073741824" || len(recs[0]) != len(LevelsCSVHeader) {
		t.Errorf("csv row %v", row)
	}

	buf.Reset()
	if err := WriteLevelsMarkdown(&buf, b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"### Concurrency run `" + ID(b) + "`: tiny", "| in flight | requests | ok/failed |", "| 4 | 16 | 15/1 | 120.0 |",
		"OLLAMA_NUM_PARALLEL=4", "- 4 in flight: 1 of 16 requests failed"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("md lacks %q:\n%s", w, buf.String())
		}
	}

	buf.Reset()
	if err := WriteTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"level/trial", "      1/3  measured", "\nconcurrency levels (OLLAMA_NUM_PARALLEL=4)\n", "summary over"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("table lacks %q:\n%s", w, buf.String())
		}
	}
	if strings.Contains(buf.String(), "reps 5") {
		t.Errorf("a concurrency run's table shows repetitions:\n%s", buf.String())
	}
	buf.Reset()
	if err := WriteMarkdown(&buf, b); err != nil || !strings.Contains(buf.String(), "#### Concurrency levels (OLLAMA_NUM_PARALLEL=4)") {
		t.Errorf("markdown: %v\n%s", err, buf.String())
	}

	buf.Reset()
	if err := WriteTrialsCSV(&buf, b); err != nil {
		t.Fatal(err)
	}
	trials, err := csv.NewReader(&buf).ReadAll()
	n := len(TrialsCSVHeader)
	if err != nil || len(trials) != 1+len(b.Trials) || strings.Join(trials[0][n-4:], ",") != "level,concurrency,queue_ns,sent_at" ||
		strings.Join(trials[2][n-4:n-1], ",") != "1,1,1000000" {
		t.Errorf("trials csv: %v, %v", trials, err)
	}

	buf.Reset()
	if err := WriteBenchstat(&buf, b); err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	rd := benchfmt.NewReader(&buf, "c.txt")
	for rd.Scan() {
		if r, ok := rd.Result().(*benchfmt.Result); ok {
			names[string(r.Name)]++
			// The reader tidies ns units into seconds.
			if _, ok := r.Value("queue-sec"); !ok {
				t.Errorf("%s: no queue-ns", r.Name)
			}
		}
	}
	if len(names) != 2 || names["Eval/model=tiny/concurrency=4"] == 0 || names["Eval/model=tiny/concurrency=1"] == 0 {
		t.Errorf("benchstat names %v", names)
	}
}

func TestConcurrencyChart(t *testing.T) {
	var buf bytes.Buffer
	if err := ConcurrencyChart(&buf, PNG, concurrencyFixture()); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	// Three rows of two panels: throughput, then four latencies.
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1200 {
		t.Errorf("png %v", b)
	}
	buf.Reset()
	if err := ConcurrencyChart(&buf, SVG, concurrencyFixture()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"output tokens/s (all requests together)", "requests in flight (OLLAMA_NUM_PARALLEL=4)", "requests/s",
		"end-to-end latency, p50 and p99", "queue time (waiting for a parallel slot), p50 and p99", ">p99<"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("svg lacks %q", w)
		}
	}
	if err := ConcurrencyChart(&buf, PNG, runA); err == nil {
		t.Error("a plain run drawn as a concurrency run")
	}
}
