package e2e

// benchctl mcp through the real sshd with the shipped dial-stdio policy: a
// person's MCP client (the official Go SDK's, as an agent host would run
// it) starts `benchctl --host ssh://gpu-host mcp` from their ~/.ssh/config;
// the server reaches benchd through sshd's forced `benchd dial-stdio`
// bridge. Run from TestSSHDialStdio's shipped layer.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/benchd/benchd/internal/testrig"
)

// readableBenchctl is benchctl copied where any account can run it.
func readableBenchctl(t *testing.T) string {
	t.Helper()
	dir, err := testrig.ReadableDir(t, "", "bd-benchctl-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "benchctl")
	b, err := os.ReadFile(testrig.Binary(t, "benchctl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func (r *rig) mcpOverSSH(t *testing.T, s *testrig.SSHD, forced string) {
	human := r.person(t, s)
	bin := readableBenchctl(t)
	mark := s.Mark()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := as(human, nil, bin, "--host", "ssh://gpu-host", "mcp")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	var mu sync.Mutex
	var progress []*mcp.ProgressNotificationParams
	cl := mcp.NewClient(&mcp.Implementation{Name: "benchd-e2e", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progress = append(progress, req.Params)
			mu.Unlock()
		},
	})
	cs, err := cl.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to benchctl mcp: %v\n%s", err, stderr.String())
	}
	defer cs.Close()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s\nbenchctl's stderr:\n%s\nsshd:\n%s\nbenchd:\n%s", fmt.Sprintf(format, args...), stderr.String(), strings.Join(s.Lines(mark), "\n"), r.daemon.Log())
	}
	callTool := func(name string, args map[string]any, meta mcp.Meta, out any) {
		t.Helper()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
		if err != nil || res.IsError {
			fail("%s: %v %+v", name, err, res)
		}
		b, _ := json.Marshal(res.StructuredContent)
		t.Logf("%s -> %s", name, b)
		if err := json.Unmarshal(b, out); err != nil {
			fail("%s: %v", name, err)
		}
	}

	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		fail("tools/list: %v", err)
	}
	var names []string
	for _, tl := range tools.Tools {
		names = append(names, tl.Name)
	}
	t.Logf("tools through sshd: %s", strings.Join(names, ", "))
	for _, want := range []string{"sample_vram", "run_benchmark", "wait_benchmark", "check_regression"} {
		if !slices.Contains(names, want) {
			t.Errorf("no tool %s in %v", want, names)
		}
	}

	var vram struct {
		Gpus []struct {
			Source     string `json:"source"`
			TotalBytes string `json:"total_bytes"`
			UsedBytes  string `json:"used_bytes"`
		} `json:"gpus"`
	}
	callTool("sample_vram", nil, nil, &vram)
	total, used := fixtureBytes(t, "mem_info_vram_total"), fixtureBytes(t, "mem_info_vram_used")
	if len(vram.Gpus) != 1 || vram.Gpus[0].Source != "sysfs" || vram.Gpus[0].TotalBytes != strconv.FormatUint(total, 10) || vram.Gpus[0].UsedBytes != strconv.FormatUint(used, 10) {
		t.Errorf("sample_vram: %+v, want the fixture's GPU (%d bytes, %d used)", vram, total, used)
	}

	var run struct {
		BenchmarkID string `json:"benchmark_id"`
		Done        bool   `json:"done"`
		Benchmark   struct {
			State    string `json:"state"`
			Finished struct {
				Trials int `json:"trials"`
			} `json:"finished"`
		} `json:"benchmark"`
	}
	callTool("run_benchmark", map[string]any{"model": testrig.Model, "repetitions": 2, "warmup": 0, "max_tokens": 8, "wait_seconds": 240}, mcp.Meta{"progressToken": 7}, &run)
	if !run.Done || run.Benchmark.State != "BENCHMARK_STATE_SUCCEEDED" || run.Benchmark.Finished.Trials != 2 {
		t.Errorf("run_benchmark: %+v", run)
	}
	mu.Lock()
	last := progress[len(progress)-1]
	mu.Unlock()
	if last.Progress != 2 || last.Total != 2 {
		t.Errorf("last progress notification %+v, want 2 of 2", last)
	}

	var chk struct {
		BenchmarkID string `json:"benchmark_id"`
		Verdict     string `json:"verdict"`
	}
	callTool("check_regression", map[string]any{"benchmark_id": run.BenchmarkID}, nil, &chk)
	if chk.BenchmarkID != run.BenchmarkID || !strings.HasPrefix(chk.Verdict, "REGRESSION_VERDICT_") {
		t.Errorf("check_regression: %+v", chk)
	}

	if _, err := s.WaitFor(mark, forced, 15*time.Second); err != nil {
		t.Errorf("%v: the session was not the forced bridge; sshd said:\n%s", err, strings.Join(s.Lines(mark), "\n"))
	}
	uid := fmt.Sprintf("caller.uid=%d", r.acct.UID)
	if !slices.ContainsFunc(strings.Split(r.daemon.Log(), "\n"), func(l string) bool {
		return strings.Contains(l, "grpc.method=RunBenchmark") && strings.Contains(l, uid) && strings.Contains(l, "grpc.code=OK")
	}) {
		t.Errorf("benchd logged no RunBenchmark with %s:\n%s", uid, r.daemon.Log())
	}
}
