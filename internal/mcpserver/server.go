// Package mcpserver serves benchd's API as Model Context Protocol tools
// (the official Go SDK), for agents that speak MCP: Hermes, Claude Code,
// Cursor, Codex. It is a client of benchd like benchctl: each tool is one
// or a few RPCs, its arguments the request message and its result the
// response message in protojson, with schemas made from the contract.
package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	rpccode "google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Bounds of what a tool returns, so that an agent's context is not flooded.
const (
	// ListPageSize is list_benchmarks' page when none is asked for, and
	// MaxListPageSize the largest page it serves.
	ListPageSize    = 10
	MaxListPageSize = 50
	// MaxResultBytes is the largest result a tool returns; a larger one is
	// a tool error saying what to leave out.
	MaxResultBytes = 256 << 10
	// MaxWait bounds run_benchmark's and wait_benchmark's wait_seconds, so
	// that a call ends well within an agent's tool timeout if it allows
	// that long; DefaultWait is wait_benchmark's.
	MaxWait     = time.Hour
	DefaultWait = time.Minute
)

// Server holds the tools' connection to benchd.
type Server struct {
	c *client.Client
}

// New returns the MCP server of benchd's tools over c.
func New(c *client.Client, version string) *mcp.Server {
	s := &Server{c: c}
	srv := mcp.NewServer(&mcp.Implementation{Name: "benchd", Title: "benchd: LLM benchmarks on ollama", Version: version}, &mcp.ServerOptions{
		Instructions: "Benchmarks of the LLMs of a host's ollama, served by benchd. A benchmark runs for minutes: " +
			"run_benchmark returns its id at once (or waits wait_seconds); wait_benchmark waits for it with progress. " +
			"check_regression says whether a run got worse than its baseline. Errors carry benchd's gRPC code and what to do.",
	})
	for _, t := range s.tools() {
		mcp.AddTool(srv, t.tool, t.handler)
	}
	return srv
}

type tool struct {
	tool    *mcp.Tool
	handler mcp.ToolHandlerFor[map[string]any, json.RawMessage]
}

func readOnly(title string) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{Title: title, ReadOnlyHint: true, OpenWorldHint: new(false)}
}

func acting(title string, destructive, idempotent bool) *mcp.ToolAnnotations {
	return &mcp.ToolAnnotations{Title: title, DestructiveHint: &destructive, IdempotentHint: idempotent, OpenWorldHint: new(false)}
}

// in is a tool input schema made from req's message, less drop, plus
// extra properties the tool itself reads.
func in(req proto.Message, extra map[string]*jsonschema.Schema, drop ...string) *jsonschema.Schema {
	sc := newSchemas(true).root(req.ProtoReflect().Descriptor(), drop...)
	for k, v := range extra {
		sc.Properties[k] = v
	}
	return sc
}

func out(res proto.Message) *jsonschema.Schema {
	return newSchemas(false).root(res.ProtoReflect().Descriptor())
}

func (s *Server) tools() []tool {
	waitSeconds := &jsonschema.Schema{Type: "integer", Minimum: new(0.0), Maximum: new(MaxWait.Seconds()),
		Description: "seconds to wait for the benchmark to end, with progress notifications; 0: return the id at once"}
	getFlags := map[string]*jsonschema.Schema{
		"include_trials":        {Type: "boolean", Description: "include every trial and the prompts (large); default: the summary only"},
		"include_vram_timeline": {Type: "boolean", Description: "include the VRAM timeline (large); default: left out"},
	}
	withWait := map[string]*jsonschema.Schema{"wait_seconds": waitSeconds}
	for k, v := range getFlags {
		withWait[k] = v
	}
	waitIn := &jsonschema.Schema{Type: "object", Required: []string{"benchmark_id"}, Properties: map[string]*jsonschema.Schema{
		"benchmark_id": {Type: "string", Pattern: "^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"},
	}}
	for k, v := range withWait {
		waitIn.Properties[k] = v
	}
	compareIn := &jsonschema.Schema{Type: "object", Required: []string{"base_id", "ids"}, Properties: map[string]*jsonschema.Schema{
		"base_id": {Type: "string", Description: "the benchmark the others are compared with"},
		"ids":     {Type: "array", Items: &jsonschema.Schema{Type: "string"}, MinItems: new(1), MaxItems: new(8)},
		"alpha":   {Type: "number", ExclusiveMinimum: new(0.0), ExclusiveMaximum: new(1.0), Description: fmt.Sprintf("significance level, default %v", report.DefaultAlpha)},
	}}
	compareOut, err := jsonschema.For[report.Comparison](nil)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: schema of report.Comparison: %v", err)) // a programming error, caught by any test
	}
	return []tool{
		{&mcp.Tool{Name: "list_models", Description: "List the models ollama has (as `ollama list`, with context length) and those loaded now (as `ollama ps`, with VRAM use). Use a listed name as run_benchmark's model.",
			Annotations: readOnly("List models"), InputSchema: in(&benchdv1.ListModelsRequest{}, nil), OutputSchema: out(&benchdv1.ListModelsResponse{})},
			unary(s.c.Raw().ListModels, &benchdv1.ListModelsRequest{})},
		{&mcp.Tool{Name: "sample_vram", Description: "Read each GPU's memory (total and used) now. Served also while a benchmark runs.",
			Annotations: readOnly("Sample VRAM"), InputSchema: in(&benchdv1.SampleVRAMRequest{}, nil), OutputSchema: out(&benchdv1.SampleVRAMResponse{})},
			unary(s.c.Raw().SampleVRAM, &benchdv1.SampleVRAMRequest{})},
		{&mcp.Tool{Name: "run_benchmark", Description: "Start a benchmark of a model (the RunBenchmark request: repetitions, max_tokens, num_ctx, prompt_tokens, cold; a sweep over settings with `sweep`; a concurrency test with `concurrency`). " +
			"Returns the benchmark_id at once, or after waiting up to wait_seconds with progress notifications; the run belongs to benchd and goes on after the call (wait_benchmark, get_benchmark, cancel_benchmark). One benchmark runs at a time (RESOURCE_EXHAUSTED otherwise).",
			Annotations: acting("Run a benchmark", false, false), InputSchema: in(&benchdv1.RunBenchmarkRequest{}, withWait, "cancel_on_disconnect"), OutputSchema: runOutSchema()},
			s.run},
		{&mcp.Tool{Name: "wait_benchmark", Description: fmt.Sprintf("Wait up to wait_seconds (default %d) for a benchmark to end, with progress notifications; returns it (done: false if still running: call again).", int(DefaultWait.Seconds())),
			Annotations: readOnly("Wait for a benchmark"), InputSchema: waitIn, OutputSchema: runOutSchema()},
			s.wait},
		{&mcp.Tool{Name: "get_benchmark", Description: "Read a stored (or running) benchmark: settings, state, summary statistics; trials and the VRAM timeline on request.",
			Annotations: readOnly("Get a benchmark"), InputSchema: in(&benchdv1.GetBenchmarkRequest{}, getFlags), OutputSchema: out(&benchdv1.Benchmark{})},
			s.get},
		{&mcp.Tool{Name: "list_benchmarks", Description: fmt.Sprintf("List stored benchmarks, newest first, without trials, a page at a time (page_size default %d, at most %d; pass next_page_token as page_token for the next page).", ListPageSize, MaxListPageSize),
			Annotations: readOnly("List benchmarks"), InputSchema: listIn(), OutputSchema: out(&benchdv1.ListBenchmarksResponse{})},
			s.list},
		{&mcp.Tool{Name: "compare_benchmarks", Description: "Compare runs with a base run, metric by metric (generation and prompt rate, TTFT, wall, load, peak VRAM), with Welch's t-test over the measured trials, as `benchctl compare` does.",
			Annotations: readOnly("Compare benchmarks"), InputSchema: compareIn, OutputSchema: compareOut},
			s.compare},
		{&mcp.Tool{Name: "cancel_benchmark", Description: "Stop a running benchmark; it is stored as cancelled.",
			Annotations: acting("Cancel a benchmark", true, true), InputSchema: in(&benchdv1.CancelBenchmarkRequest{}, nil), OutputSchema: out(&benchdv1.CancelBenchmarkResponse{})},
			s.cancel},
		{&mcp.Tool{Name: "check_regression", Description: "Judge a run (default: the newest) against its fingerprint's baseline (pinned, else the median of recent matching runs): OK, REGRESSED, IMPROVED or INCOMPARABLE, per metric with Welch's t-test and a 3% minimum effect, and whether it is unstable.",
			Annotations: readOnly("Check for a regression"), InputSchema: in(&benchdv1.CheckRegressionRequest{}, nil), OutputSchema: out(&benchdv1.CheckRegressionResponse{})},
			unary(s.c.Raw().CheckRegression, &benchdv1.CheckRegressionRequest{})},
		{&mcp.Tool{Name: "set_baseline", Description: "Pin a succeeded plain run as the baseline of its fingerprint (or clear: true to unpin) for check_regression.",
			Annotations: acting("Pin a baseline", false, true), InputSchema: in(&benchdv1.SetBaselineRequest{}, nil), OutputSchema: out(&benchdv1.SetBaselineResponse{})},
			unary(s.c.Raw().SetBaseline, &benchdv1.SetBaselineRequest{})},
	}
}

// unary is a tool that is one RPC: its arguments the request, its result
// the response.
func unary[Req, Res proto.Message](rpc func(context.Context, Req, ...grpc.CallOption) (Res, error), zero Req) mcp.ToolHandlerFor[map[string]any, json.RawMessage] {
	return func(ctx context.Context, _ *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
		req := proto.Clone(zero).(Req)
		if err := decode(args, req); err != nil {
			return nil, nil, err
		}
		res, err := rpc(ctx, req)
		if err != nil {
			return nil, nil, toolError(err)
		}
		return encode(res)
	}
}

// decode reads a tool's arguments as the request message, as protojson
// reads it: an unknown field is an error.
func decode(args map[string]any, m proto.Message) error {
	if args == nil {
		args = map[string]any{}
	}
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	if err := protojson.Unmarshal(b, m); err != nil {
		return fmt.Errorf("INVALID_ARGUMENT: arguments do not fit %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}

// encode is m as a tool's result: protojson with the proto's field names,
// zero values left out to keep results small.
func encode(m proto.Message) (*mcp.CallToolResult, json.RawMessage, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	if len(b) > MaxResultBytes {
		return nil, nil, fmt.Errorf("RESOURCE_EXHAUSTED: the result is %d bytes, over the %d this server returns; ask for less (no trials or VRAM timeline, a smaller page)", len(b), MaxResultBytes)
	}
	return nil, json.RawMessage(b), nil
}

// toolError is benchd's error as the tool's: its gRPC code, as the proto
// names it, and benchd's message, which ends with what to do.
func toolError(err error) error {
	if st, ok := status.FromError(err); ok {
		return fmt.Errorf("%s: %s", rpccode.Code(st.Code()), st.Message())
	}
	return err
}

// errNoBenchmark: a stream ended before saying which benchmark it was.
var errNoBenchmark = errors.New("UNKNOWN: benchd ended the stream before the benchmark started")

// trim leaves out of b what the tool was not asked for.
func trim(b *benchdv1.Benchmark, args map[string]any) *benchdv1.Benchmark {
	b = proto.CloneOf(b)
	if v, _ := args["include_trials"].(bool); !v {
		b.Trials = nil
		for _, s := range []*benchdv1.RunBenchmarkRequest{b.GetSettings(), b.GetStarted().GetSettings()} {
			if s != nil {
				s.Prompts = nil
			}
		}
	}
	if v, _ := args["include_vram_timeline"].(bool); !v {
		b.VramTimeline = nil
	}
	return b
}

// pop removes the tool's own arguments from args and returns them.
func pop(args map[string]any, keys ...string) map[string]any {
	own := map[string]any{}
	for _, k := range keys {
		if v, ok := args[k]; ok {
			own[k] = v
			delete(args, k)
		}
	}
	return own
}

func (s *Server) get(ctx context.Context, _ *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	own := pop(args, "include_trials", "include_vram_timeline")
	req := &benchdv1.GetBenchmarkRequest{}
	if err := decode(args, req); err != nil {
		return nil, nil, err
	}
	res, err := s.c.Raw().GetBenchmark(ctx, req)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return encode(trim(res.GetBenchmark(), own))
}

func (s *Server) cancel(ctx context.Context, _ *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	req := &benchdv1.CancelBenchmarkRequest{}
	if err := decode(args, req); err != nil {
		return nil, nil, err
	}
	res, err := s.c.Raw().CancelBenchmark(ctx, req)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return encode(&benchdv1.CancelBenchmarkResponse{Benchmark: trim(res.GetBenchmark(), nil)})
}

func listIn() *jsonschema.Schema {
	sc := in(&benchdv1.ListBenchmarksRequest{}, nil)
	sc.Properties["page_size"].Maximum = new(float64(MaxListPageSize))
	sc.Properties["page_size"].Description = fmt.Sprintf("default %d", ListPageSize)
	return sc
}

func (s *Server) list(ctx context.Context, _ *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	req := &benchdv1.ListBenchmarksRequest{}
	if err := decode(args, req); err != nil {
		return nil, nil, err
	}
	if req.GetPageSize() == 0 {
		req.PageSize = ListPageSize
	}
	req.PageSize = min(req.GetPageSize(), MaxListPageSize)
	res, err := s.c.Raw().ListBenchmarks(ctx, req)
	if err != nil {
		return nil, nil, toolError(err)
	}
	return encode(res)
}

func (s *Server) compare(ctx context.Context, _ *mcp.CallToolRequest, args map[string]any) (*mcp.CallToolResult, json.RawMessage, error) {
	var in struct {
		BaseID string   `json:"base_id"`
		IDs    []string `json:"ids"`
		Alpha  float64  `json:"alpha"`
	}
	b, _ := json.Marshal(args)
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, nil, fmt.Errorf("INVALID_ARGUMENT: %w", err)
	}
	if in.Alpha == 0 {
		in.Alpha = report.DefaultAlpha
	}
	var recs []*benchdv1.Benchmark
	for _, id := range append([]string{in.BaseID}, in.IDs...) {
		res, err := s.c.Raw().GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: id})
		if err != nil {
			return nil, nil, toolError(err)
		}
		recs = append(recs, res.GetBenchmark())
	}
	out, err := json.Marshal(report.Compare(recs[0], recs[1:], in.Alpha))
	return nil, out, err
}
