package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// timed is runA with token timing on every trial, trial 2's decode time
// disagreeing with ollama's, trial 3's timing by arrival, and the run
// unstable.
func timed() *benchdv1.Benchmark {
	b := proto.Clone(runA).(*benchdv1.Benchmark)
	for _, t := range b.Trials {
		t.TokenTiming = &benchdv1.TokenTiming{Chunks: 64, ItlP50Ns: 1_500_000, ItlP90Ns: 1_800_000, ItlP99Ns: 2_250_000, ItlMaxNs: 9_000_000,
			TpotNs: 1_600_000, LongestStallNs: 9_000_000, LongestStallAfterChunks: 40, DecodeNs: 100_800_000,
			ReceivedDecodeNs: 104_000_000, ReceivedLongestStallNs: 30_000_000, OllamaClock: true}
	}
	b.Trials[2].DecodeMismatchReason = "decode time 100.8ms (from ollama's chunk stamps) differs from ollama's eval_duration 80ms by 26.0%, more than 10%"
	b.Trials[3].TokenTiming.OllamaClock = false
	f := b.Finished
	f.TpotNs = &benchdv1.Summary{N: 5, Mean: 1.6e6, Min: 1.6e6, Max: 1.6e6, P50: 1.6e6, P90: 1.6e6, P95: 1.6e6, P99: 1.6e6}
	f.EvalRate.P90, f.EvalRate.P99, f.EvalRate.Cv = 101.6, 101.96, 0.0158
	f.TtftNs = &benchdv1.Summary{N: 5, Mean: 11e6, Stddev: 1.65e6, Cv: 0.15, Min: 9e6, Max: 14e6, P50: 11e6, P90: 13e6, P95: 13.5e6, P99: 13.9e6}
	f.UnstableReason = "ttft_ns cv 15.0% (over 10%)"
	f.DecodeMismatches = 1
	return b
}

func TestTokenTimingInEveryFormat(t *testing.T) {
	b := timed()
	var buf bytes.Buffer
	if err := WriteTable(&buf, b); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"itl p50  itl p99  stall  marks", "1.5ms    2.2ms  9.0ms", // the trial table's timing columns
		"D trial 2: decode time 100.8ms (from ollama's chunk stamps) differs from ollama's eval_duration 80ms",
		"R trial 3: ollama's chunk stamps were unusable",
		"metric  mean  stddev  cv  min  p50  p90  p95  p99  max",
		"tpot", "1.6ms", "15.0%", "13.9ms",
		"unstable: ttft_ns cv 15.0% (over 10%); the means are less certain than 5 trials suggest",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The marks column: D on trial 2, R on trial 3, nothing elsewhere.
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] != "measured" && f[1] != "warm-up" {
			continue
		}
		last := f[len(f)-1]
		switch f[0] {
		case "2":
			if last != "D" {
				t.Errorf("trial 2 marks %q: %s", last, line)
			}
		case "3":
			if last != "R" {
				t.Errorf("trial 3 marks %q: %s", last, line)
			}
		default:
			if last == "D" || last == "R" {
				t.Errorf("unmarked trial marked: %s", line)
			}
		}
	}

	buf.Reset()
	if err := WriteMarkdown(&buf, b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| ITL p50 | ITL p99 | stall | marks |", "| 1.5ms | 2.2ms | 9.0ms | D |",
		"- D trial 2: decode time", "**unstable: ttft_ns cv 15.0%", "| metric | mean | stddev | cv |"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, buf.String())
		}
	}

	buf.Reset()
	if err := WriteTrialsCSV(&buf, b); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		for i, h := range TrialsCSVHeader {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	row := recs[3] // trial 2
	if row[col("itl_p99_ns")] != "2250000" || row[col("tpot_ns")] != "1600000" || row[col("longest_stall_after_chunks")] != "40" ||
		row[col("received_decode_ns")] != "104000000" || row[col("timing_ollama_clock")] != "true" ||
		!strings.HasPrefix(row[col("decode_mismatch_reason")], "decode time 100.8ms") || len(row) != len(TrialsCSVHeader) {
		t.Errorf("trial 2's CSV row: %v", row)
	}

	buf.Reset()
	if err := WriteHistoryCSV(&buf, []*benchdv1.Benchmark{b}); err != nil {
		t.Fatal(err)
	}
	recs, err = csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	h := recs[0]
	got := map[string]string{}
	for i, v := range recs[1] {
		got[h[i]] = v
	}
	if got["ttft_ns_cv"] != "0.15" || got["tpot_ns_mean"] != "1600000" || got["unstable_reason"] != f(b).GetUnstableReason() || got["decode_mismatches"] != "1" {
		t.Errorf("history CSV: %v", got)
	}

	buf.Reset()
	if err := WriteHistoryTable(&buf, []*benchdv1.Benchmark{b, runB}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "unstable, 1 decode mismatch") || !strings.Contains(buf.String(), "FLAGS") {
		t.Errorf("history table:\n%s", buf.String())
	}

	buf.Reset()
	if err := WriteBenchstat(&buf, b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1600000 tpot-ns\t2250000 itl-p99-ns\n") {
		t.Errorf("benchstat:\n%s", buf.String())
	}
}

func f(b *benchdv1.Benchmark) *benchdv1.BenchmarkFinished { return b.GetFinished() }

// squeeze collapses runs of spaces, so that tabwriter's padding does not
// matter to a comparison.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// A record from before p90, p99 and cv shows "-" for them, not 0.
func TestOlderSummaryShowsNoTail(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, runA); err != nil { // fake() sets no p90/p99
		t.Fatal(err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "gen tok/s") {
			// gen tok/s mean stddev cv min p50 p90 p95 p99 max
			if f := strings.Fields(line); len(f) != 11 || f[4] != "-" || f[7] != "-" || f[9] != "-" {
				t.Errorf("gen tok/s row: %q", line)
			}
		}
	}
}

func TestProcessor(t *testing.T) {
	for _, c := range []struct {
		size, vram uint64
		want       string
	}{
		{100, 0, "100% CPU"}, {100, 100, "100% GPU"}, {100, 75, "25%/75% CPU/GPU"}, {100, 101, "unknown"}, {0, 0, "100% CPU"},
	} {
		if got := Processor(&benchdv1.LoadedModel{SizeBytes: c.size, SizeVramBytes: c.vram}); got != c.want {
			t.Errorf("size %d, vram %d: %q, want %q", c.size, c.vram, got, c.want)
		}
	}
}

func models() *benchdv1.ListModelsResponse {
	mod := time.Date(2026, 11, 26, 11, 27, 21, 0, time.UTC)
	info := &benchdv1.ModelInfo{Digest: "0ce14aae6e99ff5ad23ee7096d07a71eba67c9354c08e565b2601ef6b06f1177", Family: "llama",
		ParameterSize: "123K", QuantizationLevel: "unknown", Format: "gguf"}
	return &benchdv1.ListModelsResponse{
		Models: []*benchdv1.InstalledModel{
			{Name: "tiny:latest", Info: info, SizeBytes: 500206, ModifiedAt: timestamppb.New(mod), ContextLength: 2048},
			{Name: "other:1b", Info: &benchdv1.ModelInfo{Digest: "sha256:abcdef0123456789"}, SizeBytes: 1 << 30},
		},
		Loaded: []*benchdv1.LoadedModel{
			{Name: "tiny:latest", Info: info, SizeBytes: 4 << 30, SizeVramBytes: 3 << 30, ExpiresAt: timestamppb.New(time.Now().Add(4 * time.Minute))},
			{Name: "gone:latest", Info: &benchdv1.ModelInfo{Digest: "ffff"}, SizeBytes: 10, SizeVramBytes: 10},
		},
	}
}

func TestModelsFormats(t *testing.T) {
	r := models()
	var buf bytes.Buffer
	if err := WriteModelsTable(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := squeeze(buf.String())
	for _, want := range []string{
		"NAME ID SIZE FAMILY PARAMETERS QUANTIZATION CONTEXT MODIFIED",
		"tiny:latest 0ce14aae6e99 488.5 KiB llama 123K unknown 2048",
		"other:1b abcdef012345 1.0 GiB - ", // no context length
		"loaded: NAME ID SIZE VRAM PROCESSOR UNLOADS",
		"tiny:latest 0ce14aae6e99 4.0 GiB 3.0 GiB 25%/75% CPU/GPU in 4m",
		"gone:latest ffff 10 B 10 B 100% GPU -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
	buf.Reset()
	if err := WriteModelsTable(&buf, &benchdv1.ListModelsResponse{}); err != nil || squeeze(buf.String()) != "no models loaded: none" {
		t.Errorf("empty: %q, %v", buf.String(), err)
	}

	buf.Reset()
	if err := WriteModelsMarkdown(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| name | id | size | family |", "| `tiny:latest` | 0ce14aae6e99 | 488.5 KiB | llama | 123K | unknown | 2048 |",
		"#### Loaded", "| `tiny:latest` | 0ce14aae6e99 | 4.0 GiB | 3.0 GiB | 25%/75% CPU/GPU |"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, buf.String())
		}
	}

	buf.Reset()
	if err := WriteModelsCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(ModelsCSVHeader, ",") {
		t.Fatalf("CSV: %v", recs)
	}
	want := [][]string{
		{"tiny:latest", r.Models[0].Info.Digest, "llama", "123K", "unknown", "gguf", "500206", "2048", "2026-11-26T11:27:21Z", "true", "4294967296", "3221225472", "25%/75% CPU/GPU"},
		{"other:1b", "sha256:abcdef0123456789", "", "", "", "", "1073741824", "0", "", "false", "", "", "", ""},
		{"gone:latest", "ffff", "", "", "", "", "", "", "", "true", "10", "10", "100% GPU", ""},
	}
	for i, w := range want {
		if got := recs[i+1]; strings.Join(got[:len(w)], ",") != strings.Join(w, ",") {
			t.Errorf("CSV row %d: %v\nwant %v", i+1, got, w)
		}
	}
}
