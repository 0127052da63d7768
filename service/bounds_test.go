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
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// shmDir is a temporary directory on tmpfs where there is one: the store
// fsyncs every record, which costs nothing there, so that thousands of
// requests run fast. Any directory works.
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
