package main

// benchctl models, and the flags of a run in benchctl's table, against an
// in-process benchd whose ollama is a TEST DOUBLE (fakes.Ollama: a canned
// inventory and a scripted chunk schedule), without Docker.

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/report"
)

func TestModelsEveryFormat(t *testing.T) {
	sock := fakes.StartBenchd(t, &fakes.Ollama{})
	models := func(format string) string {
		t.Helper()
		out, errOut, code := runCLI(t, "models", "--socket", sock, "-o", format)
		if code != 0 {
			t.Fatalf("models -o %s: exit %d\n%s%s", format, code, out, errOut)
		}
		return out
	}

	table := strings.Join(strings.Fields(models("table")), " ")
	for _, want := range []string{"NAME ID SIZE FAMILY PARAMETERS QUANTIZATION CONTEXT MODIFIED",
		"tiny:latest 0ce14aae6e99 488.5 KiB llama 123K unknown 2048", "loaded: NAME ID SIZE VRAM PROCESSOR UNLOADS",
		"tiny:latest 0ce14aae6e99 87.0 MiB 0 B 100% CPU in "} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	var res struct {
		Models []struct {
			Name          string `json:"name"`
			SizeBytes     string `json:"size_bytes"`
			ContextLength int    `json:"context_length"`
			Info          struct {
				Digest string `json:"digest"`
			} `json:"info"`
		} `json:"models"`
		Loaded []struct {
			Name          string `json:"name"`
			SizeVramBytes string `json:"size_vram_bytes"`
			ExpiresAt     string `json:"expires_at"`
		} `json:"loaded"`
	}
	for _, f := range []string{"json", "jsonl"} {
		out := models(f)
		if f == "jsonl" && strings.Count(out, "\n") != 1 {
			t.Errorf("jsonl: %d lines, want the answer on one", strings.Count(out, "\n"))
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("-o %s: %v\n%s", f, err, out)
		}
		if len(res.Models) != 1 || res.Models[0].Name != "tiny:latest" || res.Models[0].SizeBytes != "500206" ||
			res.Models[0].ContextLength != 2048 || res.Models[0].Info.Digest != fakes.TinyDigest ||
			len(res.Loaded) != 1 || res.Loaded[0].SizeVramBytes != "0" || res.Loaded[0].ExpiresAt == "" {
			t.Errorf("-o %s: %+v", f, res)
		}
	}

	recs, err := csv.NewReader(strings.NewReader(models("csv"))).ReadAll()
	if err != nil || len(recs) != 2 || strings.Join(recs[0], ",") != strings.Join(report.ModelsCSVHeader, ",") ||
		recs[1][0] != "tiny:latest" || recs[1][7] != "2048" || recs[1][9] != "true" || recs[1][12] != "100% CPU" {
		t.Errorf("csv: %v, %v", recs, err)
	}

	md := models("md")
	if !strings.Contains(md, "| `tiny:latest` | 0ce14aae6e99 | 488.5 KiB | llama | 123K | unknown | 2048 |") || !strings.Contains(md, "#### Loaded") {
		t.Errorf("md:\n%s", md)
	}

	if _, errOut, code := runCLI(t, "models", "--socket", sock, "-o", "benchstat"); code != 2 || !strings.Contains(errOut, "-o benchstat is not supported") {
		t.Errorf("models -o benchstat: exit %d, %s", code, errOut)
	}
}

// A run's flags reach benchctl's table: the marks column, the line under
// the trials, the unstable line under the summary. The scripted stream's
// eval_duration (10 ms) is far from its 7 ms decode time; its TTFTs vary
// by 20%.
func TestRunTableShowsFlags(t *testing.T) {
	ms := time.Millisecond
	sock := fakes.StartBenchd(t, &fakes.Ollama{
		Stream: &fakes.Stream{Delays: []time.Duration{5 * ms, 2 * ms, 4 * ms}, Final: ms, EvalDuration: 10 * ms},
		TTFTs:  []time.Duration{5 * ms, 5 * ms, 5 * ms, 7 * ms},
	})
	out, errOut, code := runCLI(t, "run", "tiny", "--socket", sock, "--reps", "3", "--max-tokens", "3")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	out = strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"peak VRAM itl p50 itl p99 stall marks",
		"1 measured yes 0 0.0 3 300.0 5.0ms 0.0ms 12.0ms 12.0ms - 3.0ms 4.0ms 4.0ms D",
		"D trial 1: decode time 7ms (from ollama's chunk stamps) differs from ollama's eval_duration 10ms by 30.0%, more than 10%",
		"unstable: ttft_ns cv 20.4% (over 10%)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("run table lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = runCLI(t, "history", "--socket", sock)
	if !strings.Contains(out, "unstable, 3 decode mismatch") {
		t.Errorf("history:\n%s", out)
	}
}
