package mcpserver_test

// The MCP tools through the Go SDK's own client, in process, against the
// real daemon over a TEST DOUBLE ollama (fakes.Ollama: scripted
// generations the test releases one by one). The same tools against the
// real ollama rig, through sshd and from the TypeScript SDK, are tested in
// internal/e2e and cmd/benchctl.

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/mcpserver"
)

// session connects an MCP client to a server over the daemon at sock;
// progress receives the notifications.
func session(t *testing.T, sock string, progress func(*mcp.ProgressNotificationParams)) *mcp.ClientSession {
	t.Helper()
	c, err := client.New(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := mcpserver.New(c, "test").Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cl := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			if progress != nil {
				progress(r.Params)
			}
		},
	})
	cs, err := cl.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and decodes its structured result into out; it
// returns the result's text when the call is a tool error.
func call(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any, meta mcp.Meta) (errText string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args, Meta: meta})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	if res.IsError {
		return res.Content[0].(*mcp.TextContent).Text
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", name, err, b)
		}
	}
	return ""
}

type runOut struct {
	BenchmarkID string `json:"benchmark_id"`
	Done        bool   `json:"done"`
	Next        string `json:"next"`
	Benchmark   struct {
		State    string            `json:"state"`
		Trials   []json.RawMessage `json:"trials"`
		Finished struct {
			Trials int `json:"trials"`
		} `json:"finished"`
	} `json:"benchmark"`
}

func TestToolsListed(t *testing.T) {
	cs := session(t, fakes.StartBenchd(t, &fakes.Ollama{}), nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	readOnly := map[string]bool{}
	byName := map[string]*mcp.Tool{}
	for _, tl := range res.Tools {
		readOnly[tl.Name] = tl.Annotations.ReadOnlyHint
		byName[tl.Name] = tl
	}
	want := map[string]bool{
		"list_models": true, "sample_vram": true, "run_benchmark": false, "wait_benchmark": true, "get_benchmark": true,
		"list_benchmarks": true, "compare_benchmarks": true, "cancel_benchmark": false, "check_regression": true, "set_baseline": false,
	}
	for name, ro := range want {
		if got, ok := readOnly[name]; !ok || got != ro {
			t.Errorf("tool %s: listed %v, read-only %v; want read-only %v", name, ok, got, ro)
		}
	}
	if len(res.Tools) != len(want) {
		t.Errorf("%d tools, want %d", len(res.Tools), len(want))
	}
	in, _ := json.Marshal(byName["run_benchmark"].InputSchema)
	for _, s := range []string{`"required":["model"]`, `"wait_seconds"`, `"sweep"`, `"concurrency"`, `"maximum":100`} {
		if !strings.Contains(string(in), s) {
			t.Errorf("run_benchmark's input schema has no %s: %s", s, in)
		}
	}
	if strings.Contains(string(in), "cancel_on_disconnect") {
		t.Errorf("run_benchmark offers cancel_on_disconnect")
	}
	if d := byName["cancel_benchmark"].Annotations.DestructiveHint; d == nil || !*d {
		t.Errorf("cancel_benchmark not marked destructive")
	}
}

func TestToolsRunWaitAndErrors(t *testing.T) {
	f := &fakes.Ollama{Hold: make(chan struct{})}
	sock := fakes.StartBenchd(t, f)
	var mu sync.Mutex
	var notes []*mcp.ProgressNotificationParams
	cs := session(t, sock, func(p *mcp.ProgressNotificationParams) {
		mu.Lock()
		notes = append(notes, p)
		mu.Unlock()
	})

	var vram struct {
		Gpus []any `json:"gpus"`
	}
	if e := call(t, cs, "sample_vram", nil, &vram, nil); !strings.HasPrefix(e, "FAILED_PRECONDITION: ") || !strings.Contains(e, "--vram-source") {
		t.Errorf("sample_vram with VRAM off: %q, want FAILED_PRECONDITION and the hint", e)
	}
	var models struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	if e := call(t, cs, "list_models", map[string]any{}, &models, nil); e != "" || len(models.Models) == 0 {
		t.Fatalf("list_models: %q %+v", e, models)
	}

	// Started, returned at once, held running by the fake.
	var r runOut
	args := map[string]any{"model": "tiny", "repetitions": 2, "warmup": 0, "max_tokens": 8}
	if e := call(t, cs, "run_benchmark", args, &r, nil); e != "" {
		t.Fatalf("run_benchmark: %s", e)
	}
	if r.BenchmarkID == "" || r.Done || r.Benchmark.State != "BENCHMARK_STATE_RUNNING" || !strings.Contains(r.Next, "wait_benchmark") {
		t.Fatalf("run_benchmark returned %+v, want a running benchmark and what to call next", r)
	}
	// One at a time: benchd's refusal with its code and hint.
	if e := call(t, cs, "run_benchmark", args, nil, nil); !strings.HasPrefix(e, "RESOURCE_EXHAUSTED: ") || !strings.Contains(e, r.BenchmarkID) {
		t.Errorf("second run: %q", e)
	}
	// Waiting with a progress token; the fake lets the two trials finish.
	go func() {
		f.Hold <- struct{}{}
		f.Hold <- struct{}{}
	}()
	var w runOut
	if e := call(t, cs, "wait_benchmark", map[string]any{"benchmark_id": r.BenchmarkID, "wait_seconds": 60, "include_trials": true}, &w, mcp.Meta{"progressToken": "p1"}); e != "" {
		t.Fatal(e)
	}
	if !w.Done || w.Benchmark.State != "BENCHMARK_STATE_SUCCEEDED" || w.Benchmark.Finished.Trials != 2 || len(w.Benchmark.Trials) != 2 {
		t.Fatalf("wait_benchmark: %+v", w)
	}
	mu.Lock()
	got := notes
	mu.Unlock()
	if len(got) < 2 || got[len(got)-1].Progress != 2 || got[len(got)-1].Total != 2 {
		t.Fatalf("progress notifications %+v, want them to end at 2 of 2", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Progress <= got[i-1].Progress || got[i].ProgressToken != "p1" {
			t.Errorf("notification %d: %+v after %+v: progress must grow, under the caller's token", i, got[i], got[i-1])
		}
	}

	// get_benchmark: the summary by default, bounded.
	var g struct {
		Trials   []any `json:"trials"`
		Finished any   `json:"finished"`
	}
	if e := call(t, cs, "get_benchmark", map[string]any{"benchmark_id": r.BenchmarkID}, &g, nil); e != "" || g.Trials != nil || g.Finished == nil {
		t.Errorf("get_benchmark: %q %+v, want the summary without trials", e, g)
	}
	if e := call(t, cs, "get_benchmark", map[string]any{"benchmark_id": "20990101T000000Z-00000000"}, nil, nil); !strings.HasPrefix(e, "NOT_FOUND: ") || !strings.Contains(e, "ListBenchmarks") {
		t.Errorf("unknown id: %q", e)
	}
	// Arguments that do not fit the proto are refused before benchd.
	if e := call(t, cs, "run_benchmark", map[string]any{"model": "tiny", "repetitions": 0}, nil, nil); !strings.Contains(e, "repetitions") {
		t.Errorf("repetitions 0: %q", e)
	}
	if e := call(t, cs, "run_benchmark", map[string]any{"model": "tiny", "reps": 3}, nil, nil); !strings.Contains(e, "reps") {
		t.Errorf("an unknown argument: %q", e)
	}

	// A second run, finished within its wait.
	go func() {
		f.Hold <- struct{}{}
		f.Hold <- struct{}{}
	}()
	var r2 runOut
	if e := call(t, cs, "run_benchmark", map[string]any{"model": "tiny", "repetitions": 2, "warmup": 0, "max_tokens": 8, "wait_seconds": 60}, &r2, nil); e != "" || !r2.Done {
		t.Fatalf("run_benchmark waiting: %q %+v", e, r2)
	}
	var list struct {
		Benchmarks []struct {
			BenchmarkID string `json:"benchmark_id"`
		} `json:"benchmarks"`
		NextPageToken string `json:"next_page_token"`
	}
	if e := call(t, cs, "list_benchmarks", map[string]any{"page_size": 1}, &list, nil); e != "" || len(list.Benchmarks) != 1 || list.Benchmarks[0].BenchmarkID != r2.BenchmarkID || list.NextPageToken == "" {
		t.Errorf("list_benchmarks page 1: %q %+v", e, list)
	}
	var cmp struct {
		Runs []struct {
			Run     string `json:"run"`
			Metrics []any  `json:"metrics"`
		} `json:"runs"`
	}
	if e := call(t, cs, "compare_benchmarks", map[string]any{"base_id": r.BenchmarkID, "ids": []string{r2.BenchmarkID}}, &cmp, nil); e != "" || len(cmp.Runs) != 1 || cmp.Runs[0].Run != r2.BenchmarkID {
		t.Errorf("compare_benchmarks: %q %+v", e, cmp)
	}
	var chk struct {
		BenchmarkID string `json:"benchmark_id"`
		Verdict     string `json:"verdict"`
		Metrics     []any  `json:"metrics"`
	}
	if e := call(t, cs, "check_regression", map[string]any{}, &chk, nil); e != "" || chk.BenchmarkID != r2.BenchmarkID || chk.Verdict == "" || len(chk.Metrics) != 3 {
		t.Errorf("check_regression: %q %+v", e, chk)
	}
	if e := call(t, cs, "cancel_benchmark", map[string]any{"benchmark_id": r2.BenchmarkID}, nil, nil); !strings.HasPrefix(e, "FAILED_PRECONDITION: ") {
		t.Errorf("cancel of an ended run: %q", e)
	}
}
