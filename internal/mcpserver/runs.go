package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"google.golang.org/protobuf/encoding/protojson"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
	"github.com/benchd/benchd/proto/record"
)

// runResult is what run_benchmark and wait_benchmark return.
type runResult struct {
	BenchmarkID string `json:"benchmark_id"`
	// Done: the benchmark ended (benchmark.state says how).
	Done      bool            `json:"done"`
	Benchmark json.RawMessage `json:"benchmark,omitempty"`
	// Next says what to call while it runs.
	Next string `json:"next,omitempty"`
}

func runOutSchema() *jsonschema.Schema {
	s := newSchemas(false)
	b := s.ref((&benchdv1.Benchmark{}).ProtoReflect().Descriptor())
	return &jsonschema.Schema{Type: "object", Required: []string{"benchmark_id", "done"}, Defs: s.defs, Properties: map[string]*jsonschema.Schema{
		"benchmark_id": {Type: "string"},
		"done":         {Type: "boolean", Description: "the benchmark ended; benchmark.state says how"},
		"benchmark":    b,
		"next":         {Type: "string", Description: "what to call while it runs"},
	}}
}

// waitOf reads wait_seconds.
func waitOf(own map[string]any, def time.Duration) time.Duration {
	if v, ok := own["wait_seconds"].(float64); ok {
		return min(time.Duration(v*float64(time.Second)), MaxWait)
	}
	return def
}

func (s *Server) run(ctx context.Context, call *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	own := pop(args, "wait_seconds", "include_trials", "include_vram_timeline")
	req := &benchdv1.RunBenchmarkRequest{}
	if err := decode(args, req); err != nil {
		return nil, nil, err
	}
	wait := waitOf(own, 0)
	// The stream lasts for the wait only; the run is benchd's and goes on
	// when it ends (cancel_on_disconnect is not offered).
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.c.Raw().RunBenchmark(sctx, req)
	if err != nil {
		return nil, nil, toolError(err)
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, nil, toolError(err)
	}
	id := first.GetEvent().GetStarted().GetBenchmarkId()
	if id == "" {
		return nil, nil, errNoBenchmark
	}
	p := newProgress(call)
	p.event(ctx, first.GetEvent())
	recv := func() (*benchdv1.BenchmarkEvent, error) {
		m, err := stream.Recv()
		return m.GetEvent(), err
	}
	return s.follow(ctx, id, wait, cancel, recv, p, own)
}

func (s *Server) wait(ctx context.Context, call *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	own := pop(args, "wait_seconds", "include_trials", "include_vram_timeline")
	req := &benchdv1.WatchBenchmarkRequest{}
	if err := decode(args, req); err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.c.Raw().WatchBenchmark(sctx, req)
	if err != nil {
		return nil, nil, toolError(err)
	}
	recv := func() (*benchdv1.BenchmarkEvent, error) {
		m, err := stream.Recv()
		return m.GetEvent(), err
	}
	return s.follow(ctx, req.GetBenchmarkId(), waitOf(own, DefaultWait), cancel, recv, newProgress(call), own)
}

// follow reads a benchmark's events for up to wait, reporting progress,
// then returns the benchmark as stored: done if its stream ended, else
// running. stop ends the stream.
func (s *Server) follow(ctx context.Context, id string, wait time.Duration, stop context.CancelFunc,
	recv func() (*benchdv1.BenchmarkEvent, error), p *progress, own map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	timer := time.AfterFunc(wait, stop)
	defer timer.Stop()
	done := false
	var streamErr error
	for wait > 0 {
		ev, err := recv()
		if err != nil {
			// The stream ends at the end of the run (EOF, or the run's
			// error status), or when the wait is up (stop cancelled it).
			if timer.Stop() || errors.Is(err, io.EOF) {
				done, streamErr = true, err
			}
			break
		}
		p.event(ctx, ev)
	}
	stop()
	res, err := s.c.Raw().GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		if done && !errors.Is(streamErr, io.EOF) {
			err = streamErr
		}
		return nil, nil, toolError(err)
	}
	b := res.GetBenchmark()
	done = b.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING
	bj, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(trim(b, own))
	if err != nil {
		return nil, nil, err
	}
	out := runResult{BenchmarkID: id, Done: done, Benchmark: bj}
	if !done {
		out.Next = fmt.Sprintf("still running: call wait_benchmark with benchmark_id %s (or get_benchmark, cancel_benchmark)", id)
	}
	o, err := json.Marshal(out)
	if err != nil {
		return nil, nil, err
	}
	if len(o) > MaxResultBytes {
		return nil, nil, fmt.Errorf("RESOURCE_EXHAUSTED: the result is %d bytes, over the %d this server returns; ask without include_trials or include_vram_timeline", len(o), MaxResultBytes)
	}
	return nil, o, nil
}

// progress turns a benchmark's events into MCP progress notifications,
// when the caller asked for them with a progress token: the trials done
// (and the running trial's share of its tokens) out of the trials the
// settings call for.
type progress struct {
	call        *mcp.CallToolRequest
	token       any
	done, total float64
	sent        float64
	stage       string
}

func newProgress(call *mcp.CallToolRequest) *progress {
	p := &progress{call: call, sent: -1}
	if call != nil && call.Params != nil {
		p.token = call.Params.GetProgressToken()
	}
	return p
}

func (p *progress) event(ctx context.Context, ev *benchdv1.BenchmarkEvent) {
	if p.token == nil {
		return
	}
	at, msg := p.done, ""
	switch k := ev.GetKind().(type) {
	case *benchdv1.BenchmarkEvent_Started:
		p.total = float64(trials(k.Started.GetSettings()))
		msg = fmt.Sprintf("started %s (%s)", k.Started.GetBenchmarkId(), k.Started.GetModel())
	case *benchdv1.BenchmarkEvent_CellStarted:
		p.stage = fmt.Sprintf("cell %d/%d: ", k.CellStarted.GetCell().GetIndex()+1, k.CellStarted.GetCells())
		return
	case *benchdv1.BenchmarkEvent_LevelStarted:
		l := k.LevelStarted
		p.stage = fmt.Sprintf("level %d/%d (%d in flight): ", l.GetLevel().GetIndex()+1, l.GetLevels(), l.GetLevel().GetConcurrency())
		return
	case *benchdv1.BenchmarkEvent_Progress:
		pr := k.Progress
		if pr.GetMaxTokens() > 0 {
			at += min(float64(pr.GetTokens())/float64(pr.GetMaxTokens()), 0.99)
		}
		msg = fmt.Sprintf("%strial %d: %d/%d tokens", p.stage, pr.GetIndex()+1, pr.GetTokens(), pr.GetMaxTokens())
	case *benchdv1.BenchmarkEvent_Trial:
		p.done++
		at = p.done
		t := k.Trial
		msg = fmt.Sprintf("%strial %d done: %.1f tok/s", p.stage, t.GetIndex()+1, t.GetEvalRate())
		if t.GetWarmup() {
			msg += " (warm-up)"
		}
	case *benchdv1.BenchmarkEvent_Finished:
		at, msg = max(p.total, p.done), "finished"
	default:
		return
	}
	// The protocol wants progress to grow with each notification.
	if at <= p.sent {
		return
	}
	p.sent = at
	_ = p.call.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: p.token, Progress: at, Total: p.total, Message: msg})
}

// trials is how many trials settings (defaults filled in, as the started
// event has them) call for.
func trials(s *benchdv1.RunBenchmarkRequest) int {
	warmup, reps := int(s.GetWarmup()), int(s.GetRepetitions())
	if s.Warmup == nil {
		warmup = defaults.Warmup
	}
	if s.Repetitions == nil {
		reps = defaults.Repetitions
	}
	if c := s.GetConcurrency(); c != nil {
		n := warmup
		for i := range c.GetLevels() {
			n += int(record.LevelAt(s, i).GetRequests())
		}
		return n
	}
	if cells := record.SweepCells(s); cells > 0 {
		return cells * (warmup + reps)
	}
	return warmup + reps
}
