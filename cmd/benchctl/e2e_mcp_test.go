package main_test

// benchctl mcp from a client nobody here wrote: the MCP TypeScript SDK
// (npm, pinned in testrig.MCPSDK) runs testdata/mcp/ts_client.cjs, which
// starts `benchctl --socket SOCK mcp`, lists the tools and calls
// sample_vram and run_benchmark against a real benchd on the real ollama
// rig. The transcript is logged.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/testrig"
)

func TestMCPFromTheTypeScriptSDK(t *testing.T) {
	mods := testrig.NodeModules(t, testrig.MCPSDK)
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	script := filepath.Join(testrig.RepoRoot(), "testdata", "mcp", "ts_client.cjs")
	cmd := exec.CommandContext(ctx, "node", script, testrig.Binary(t, "benchctl"), "--socket", d.Socket, "mcp")
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods, "BENCHD_MODEL="+testrig.Model)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s%s\nbenchd:\n%s", script, err, stdout.String(), stderr.String(), d.Log())
	}
	t.Logf("transcript (one line per step, as the TypeScript SDK returned it):\n%s", stdout.String())
	steps := map[string]json.RawMessage{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s struct {
			Step  string          `json:"step"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		steps[s.Step] = s.Value
	}

	var tools []struct {
		Name     string `json:"name"`
		ReadOnly bool   `json:"readOnly"`
	}
	mustJSON(t, steps["tools"], &tools)
	listed := map[string]bool{}
	for _, tl := range tools {
		listed[tl.Name] = tl.ReadOnly
	}
	for name, ro := range map[string]bool{"list_models": true, "sample_vram": true, "run_benchmark": false, "wait_benchmark": true,
		"get_benchmark": true, "list_benchmarks": true, "compare_benchmarks": true, "cancel_benchmark": false, "check_regression": true, "set_baseline": false} {
		if got, ok := listed[name]; !ok || got != ro {
			t.Errorf("tool %s: listed %v read-only %v, want read-only %v", name, ok, got, ro)
		}
	}

	var vram struct {
		IsError    bool `json:"isError"`
		Structured struct {
			Gpus []struct {
				Source     string `json:"source"`
				TotalBytes string `json:"total_bytes"`
			} `json:"gpus"`
		} `json:"structured"`
	}
	mustJSON(t, steps["sample_vram"], &vram)
	if vram.IsError || len(vram.Structured.Gpus) != 1 || vram.Structured.Gpus[0].Source != "sysfs" || vram.Structured.Gpus[0].TotalBytes == "" {
		t.Errorf("sample_vram: %s, want the fixture's one sysfs GPU", steps["sample_vram"])
	}

	var run struct {
		IsError    bool `json:"isError"`
		Structured struct {
			BenchmarkID string `json:"benchmark_id"`
			Done        bool   `json:"done"`
			Benchmark   struct {
				State    string `json:"state"`
				Model    string `json:"model"`
				Finished struct {
					Trials   int `json:"trials"`
					EvalRate struct {
						Mean float64 `json:"mean"`
					} `json:"eval_rate"`
				} `json:"finished"`
			} `json:"benchmark"`
		} `json:"structured"`
	}
	mustJSON(t, steps["run_benchmark"], &run)
	b := run.Structured.Benchmark
	if run.IsError || !run.Structured.Done || b.State != "BENCHMARK_STATE_SUCCEEDED" || b.Model != testrig.Model || b.Finished.Trials != 2 || b.Finished.EvalRate.Mean <= 0 {
		t.Errorf("run_benchmark: %s", steps["run_benchmark"])
	}
	var progress []struct {
		Progress float64 `json:"progress"`
		Total    float64 `json:"total"`
	}
	mustJSON(t, steps["progress"], &progress)
	if n := len(progress); n == 0 || progress[n-1].Progress != 2 || progress[n-1].Total != 2 {
		t.Errorf("progress notifications %s, want them to end at 2 of 2", steps["progress"])
	}
	// The run is benchd's: stored as the tool said.
	if out := mustBenchctl(t, d, "show", run.Structured.BenchmarkID, "-o", "json"); !strings.Contains(out, "BENCHMARK_STATE_SUCCEEDED") {
		t.Errorf("benchctl show %s: %s", run.Structured.BenchmarkID, out)
	}

	var bad struct {
		IsError bool   `json:"isError"`
		Text    string `json:"text"`
	}
	mustJSON(t, steps["get_benchmark_unknown"], &bad)
	if !bad.IsError || !strings.HasPrefix(bad.Text, "NOT_FOUND: ") || !strings.Contains(bad.Text, "ListBenchmarks") {
		t.Errorf("get_benchmark of an unknown id: %+v, want a NOT_FOUND tool error with the hint", bad)
	}
}

func mustJSON(t *testing.T, b json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}
