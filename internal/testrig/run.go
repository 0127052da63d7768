package testrig

import (
	"context"
	"io"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// RunStored runs req over c to its end (every event read) and returns the
// record benchd stored of it, as GetBenchmark gives it.
func RunStored(t TB, ctx context.Context, c benchdv1.BenchmarkServiceClient, req *benchdv1.RunBenchmarkRequest) *benchdv1.Benchmark {
	t.Helper()
	stream, err := c.RunBenchmark(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if s := res.GetEvent().GetStarted(); s != nil {
			id = s.GetBenchmarkId()
		}
	}
	got, err := c.GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		t.Fatal(err)
	}
	return got.GetBenchmark()
}
