package service_test

// Tests that try to exceed each of benchd's resource bounds through the
// gRPC API, and log the figure they reached.
//
// TEST DOUBLES (internal/fakes): fakes.Ollama stands in for ollama (one
// model, "tiny"; any other is not found), so that thousands of requests
// run in seconds; fakes.StubVRAM stands in for a VRAM source and counts
// its reads.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// shmDir is a temporary directory on tmpfs where there is one: the store
// fsyncs every record, which costs nothing there, so that thousands of
// requests (or a fuzzer's inputs) run fast. Any directory works.
func shmDir(tb testing.TB) string {
	tb.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "benchd-bounds-"); err == nil {
			tb.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return tb.TempDir()
}

// rawClient is the generated stub on a fresh connection to sock.
func rawClient(tb testing.TB, sock string, opts ...grpc.DialOption) benchdv1.BenchmarkServiceClient {
	tb.Helper()
	conn, err := grpc.NewClient("unix:"+sock, append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64 << 20)),
	}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return benchdv1.NewBenchmarkServiceClient(conn)
}

// runToEnd calls RunBenchmark and returns the status the stream ended with.
func runToEnd(ctx context.Context, c benchdv1.BenchmarkServiceClient, req *benchdv1.RunBenchmarkRequest) error {
	stream, err := c.RunBenchmark(ctx, req)
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// 10,000 requests with the largest prompts a request may carry (16 × 64
// KiB) for a model ollama does not have: each is stored as a failed run,
// without its prompts, and the store stays under its retention — in runs,
// in record bytes and in file size.
func TestHostileRequestsLeaveTheStoreUnderItsCap(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1000
	}
	const retainRuns, retainBytes = 1000, 256 << 10
	store := filepath.Join(shmDir(t), "history.db")
	sock := startDaemon(t, daemon.Config{
		Store: store, VRAMSource: "none", RetainRuns: retainRuns, RetainBytes: retainBytes,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, daemon.WithOllama(&fakes.Ollama{}))
	c := rawClient(t, sock)
	prompts := make([]string, 16)
	for i := range prompts {
		prompts[i] = strings.Repeat("A", 64<<10)
	}
	req := &benchdv1.RunBenchmarkRequest{Model: "no-such-model", Prompts: prompts}
	ctx := context.Background()
	var maxFile int64
	for i := range n {
		if err := runToEnd(ctx, c, req); status.Code(err) != codes.NotFound {
			t.Fatalf("request %d: %v, want NOT_FOUND", i, err)
		}
		if i%100 == 99 {
			fi, err := os.Stat(store)
			if err != nil {
				t.Fatal(err)
			}
			maxFile = max(maxFile, fi.Size())
		}
	}
	var runs, listed int
	var page []*benchdv1.Benchmark
	for token := ""; ; {
		resp, err := c.ListBenchmarks(ctx, &benchdv1.ListBenchmarksRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		runs += len(resp.GetBenchmarks())
		listed = max(listed, proto.Size(resp))
		if page == nil {
			page = resp.GetBenchmarks()
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if runs > retainRuns || runs == 0 {
		t.Errorf("%d runs stored after %d requests, want 1..%d", runs, n, retainRuns)
	}
	rec, err := c.GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: page[0].GetBenchmarkId()})
	if err != nil {
		t.Fatal(err)
	}
	if p := len(rec.GetBenchmark().GetSettings().GetPrompts()); p != 0 || rec.GetBenchmark().GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED {
		t.Errorf("a run that never started is stored %v with %d prompts, want FAILED with none", rec.GetBenchmark().GetState(), p)
	}
	// bbolt grows a small file by doubling: four times the byte limit is
	// the doubling above twice it.
	if bound := int64(4 * retainBytes); maxFile > bound {
		t.Errorf("store file reached %d bytes, over %d (4 × the %d-byte limit)", maxFile, bound, retainBytes)
	}
	t.Logf("%d requests of %d KiB of prompts: %d runs stored (limit %d), record %d bytes, file at most %d bytes (limit %d bytes of records), largest ListBenchmarks page %d bytes",
		n, proto.Size(req)>>10, runs, retainRuns, proto.Size(rec.GetBenchmark()), maxFile, retainBytes, listed)
}

// A generation that sends three tokens and then nothing ends with
// UNAVAILABLE after the stall timeout, not at the request's timeout, and
// the daemon serves the next request.
func TestStalledGenerationIsUnavailable(t *testing.T) {
	f := &fakes.Ollama{Hang: true}
	sock := startDaemon(t, daemon.Config{
		VRAMSource: "none", StallTimeout: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, daemon.WithOllama(f))
	c := rawClient(t, sock)
	start := time.Now()
	err := runToEnd(context.Background(), c, &benchdv1.RunBenchmarkRequest{Model: "tiny", Timeout: durationpb.New(time.Hour)})
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "--stall-timeout") {
		t.Fatalf("stalled run: %v, want UNAVAILABLE naming --stall-timeout", err)
	}
	if n := f.InFlight.Load(); n != 0 {
		t.Errorf("%d generations still running", n)
	}
	if _, err := c.ListBenchmarks(context.Background(), &benchdv1.ListBenchmarksRequest{}); err != nil {
		t.Errorf("after the stall: %v", err)
	}
	t.Logf("stalled after 3 tokens: %v after %v (stall timeout 50ms, request timeout 1h)", err, time.Since(start).Round(time.Millisecond))
}

// prompt_tokens beyond num_ctx, or beyond the model's context length when
// num_ctx is not given, is INVALID_ARGUMENT naming both numbers, and no
// generation runs.
func TestPromptTokensOverTheContextIsInvalid(t *testing.T) {
	f := &fakes.Ollama{ContextLen: 4096}
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, daemon.WithOllama(f))
	c := rawClient(t, sock)
	for _, req := range []*benchdv1.RunBenchmarkRequest{
		{Model: "tiny", PromptTokens: proto.Uint32(131072), NumCtx: proto.Uint32(4096)},
		{Model: "tiny", PromptTokens: proto.Uint32(8192)},
	} {
		err := runToEnd(context.Background(), c, req)
		want := fmt.Sprint(req.GetPromptTokens())
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "4096") {
			t.Errorf("prompt_tokens %d: %v, want INVALID_ARGUMENT naming %s and 4096", req.GetPromptTokens(), err, want)
		}
		t.Logf("%v", err)
	}
	if n := f.Generated.Load() + f.InFlight.Load(); n != 0 {
		t.Errorf("%d generations ran", n)
	}
}

// 32 WatchVRAM clients cost one read of the source per interval: each
// takes 10 samples at 50ms, and the source is read about 10 times, not
// 320. On an exec'd tool, a 50ms interval is raised to 1s.
func TestWatchVRAMSharesOneSampler(t *testing.T) {
	const n, k = 32, 10
	stub := &fakes.StubVRAM{Name: "sysfs", GPUs: []vram.GPU{{Index: 0, TotalBytes: 100, UsedBytes: 10, Vendor: "amd", Source: "sysfs"}}}
	sock := startDaemon(t, daemon.Config{Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		daemon.WithOllama(&fakes.Ollama{}), daemon.WithVRAM(stub))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range n {
		// A client each: one connection runs at most MaxStreams RPCs.
		stream, err := rawClient(t, sock).WatchVRAM(ctx, &benchdv1.WatchVRAMRequest{Interval: durationpb.New(50 * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range k {
				if _, err := stream.Recv(); err != nil {
					t.Errorf("WatchVRAM: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	reads := stub.Calls.Load()
	if reads > 3*k {
		t.Errorf("%d streams × %d samples read the source %d times, want at most %d", n, k, reads, 3*k)
	}
	t.Logf("%d WatchVRAM streams × %d samples at 50ms: %d reads of the source (%d with a sampler each)", n, k, reads, n*k)
}

// Over --max-conns, a connection is closed at once: 100 raw connections
// beyond 4 held ones each read EOF, a gRPC call on a new connection is
// UNAVAILABLE, and once the held ones close, calls are served again.
func TestConnectionLimit(t *testing.T) {
	const limit = 4
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", MaxConns: limit, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		daemon.WithOllama(&fakes.Ollama{}))
	// Raw connections that send nothing hold a slot each (until the
	// server's 10s setup timeout, longer than this test needs). The
	// server's HTTP/2 settings frame, sent once the handshake took the
	// slot, says a connection holds one.
	var held []net.Conn
	for i := range limit {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err != nil {
			t.Fatalf("connection %d within the limit: %v", i+1, err)
		}
	}
	refused := 0
	for i := range 100 {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
		if err == io.EOF {
			refused++
		} else {
			t.Fatalf("connection %d over the limit: read %v, want EOF (closed by benchd)", i+1, err)
		}
	}
	c := rawClient(t, sock)
	if _, err := c.ListBenchmarks(context.Background(), &benchdv1.ListBenchmarksRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("a call over the connection limit: %v, want UNAVAILABLE", err)
	}
	for _, conn := range held {
		conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.ListBenchmarks(ctx, &benchdv1.ListBenchmarksRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Errorf("a call once the held connections closed: %v", err)
	}
	t.Logf("%d connections held, %d of 100 more closed by benchd at once", limit, refused)
}

// A connection runs at most MaxStreams RPCs at once: with 2 WatchVRAM
// streams open, a third on the same connection waits (here until its
// deadline), while another connection is served; when one ends, the next
// call on the first connection runs.
func TestMaxConcurrentStreams(t *testing.T) {
	stub := &fakes.StubVRAM{Name: "sysfs", GPUs: []vram.GPU{{Index: 0, TotalBytes: 100, UsedBytes: 10, Vendor: "amd", Source: "sysfs"}}}
	sock := startDaemon(t, daemon.Config{MaxStreams: 2, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		daemon.WithOllama(&fakes.Ollama{}), daemon.WithVRAM(stub))
	c := rawClient(t, sock)
	watch := func(ctx context.Context, c benchdv1.BenchmarkServiceClient) error {
		stream, err := c.WatchVRAM(ctx, &benchdv1.WatchVRAMRequest{Interval: durationpb.New(time.Minute)})
		if err == nil {
			_, err = stream.Recv()
		}
		return err
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	for range 2 {
		if err := watch(ctx1, c); err != nil {
			t.Fatal(err)
		}
	}
	ctx3, cancel3 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel3()
	if err := watch(ctx3, c); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("a third stream on a connection with 2 open: %v, want to wait (DEADLINE_EXCEEDED here)", err)
	}
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	if err := watch(other, rawClient(t, sock)); err != nil {
		t.Errorf("a stream on another connection: %v", err)
	}
	cancel1()
	ctx4, cancel4 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel4()
	if err := watch(ctx4, c); err != nil {
		t.Errorf("a stream once the others ended: %v", err)
	}
	t.Logf("2 streams allowed a connection: the third waited until its deadline, another connection was served")
}

// A response larger than MaxSendBytes fails with RESOURCE_EXHAUSTED and
// benchd goes on: here a 64 KiB limit and a run with 1 MiB of prompts,
// whose started event and record are too large to send, while its
// listing (no prompts) is not.
func TestMaxSendBytes(t *testing.T) {
	const limit = 64 << 10
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", MaxSendBytes: limit, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		daemon.WithOllama(&fakes.Ollama{}))
	c := rawClient(t, sock)
	prompts := make([]string, 16)
	for i := range prompts {
		prompts[i] = strings.Repeat("A", 64<<10)
	}
	ctx := context.Background()
	rerr := runToEnd(ctx, c, &benchdv1.RunBenchmarkRequest{Model: "tiny", Prompts: prompts, Repetitions: proto.Uint32(1), Warmup: proto.Uint32(0)})
	if status.Code(rerr) != codes.ResourceExhausted {
		t.Fatalf("RunBenchmark whose started event is over the limit: %v, want RESOURCE_EXHAUSTED", rerr)
	}
	list, err := c.ListBenchmarks(ctx, &benchdv1.ListBenchmarksRequest{})
	if err != nil || len(list.GetBenchmarks()) != 1 {
		t.Fatalf("ListBenchmarks: %v", err)
	}
	_, gerr := c.GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: list.GetBenchmarks()[0].GetBenchmarkId()})
	if status.Code(gerr) != codes.ResourceExhausted {
		t.Errorf("GetBenchmark of a record over the limit: %v, want RESOURCE_EXHAUSTED", gerr)
	}
	t.Logf("send limit %d bytes: RunBenchmark %v; GetBenchmark %v; listing %d bytes", limit, rerr, gerr, proto.Size(list))
}
