package service_test

// Concurrency runs through the whole daemon stack in one process, without
// Docker. TEST DOUBLE: fakes.Ollama stands in for ollama, reached without
// a container (so its parallel slots are "unknown").

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func TestConcurrencyThroughTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := &fakes.Ollama{}
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, daemon.WithOllama(f))
	c := rawClient(t, sock)

	res, err := collect(ctx, c, &benchdv1.RunBenchmarkRequest{
		Model: "tiny", Warmup: proto.Uint32(1), MaxTokens: proto.Uint32(8), Timeout: durationpb.New(time.Minute),
		Concurrency: &benchdv1.Concurrency{Levels: []uint32{1, 2}},
	})
	if err != nil {
		t.Fatalf("concurrency run: %v", err)
	}
	// Default requests: 4 x the level.
	if res.levelStarts != 2 || len(res.levels) != 2 || len(res.trials) != 1+4+8 || res.finished.GetTrials() != 12 {
		t.Fatalf("%d levels started, %d finished, %d trials, finished over %d; want 2, 2, 13, 12",
			res.levelStarts, len(res.levels), len(res.trials), res.finished.GetTrials())
	}
	if got := res.started.GetOllamaNumParallel(); got != "unknown" {
		t.Errorf("ollama_num_parallel %q without a container, want unknown", got)
	}
	for i, l := range res.levels {
		want := uint32(4 * (i + 1))
		if l.GetIndex() != uint32(i) || l.GetRequests() != want || l.GetSucceeded() != want || l.GetOutputTokens() != uint64(8*want) ||
			l.GetTtftNs().GetN() != want || l.GetQueueNs().GetN() != want || l.GetFinishedAt() == nil {
			t.Errorf("level %d: %v; want %d requests of 8 tokens, all succeeded, with summaries", i, l, want)
		}
	}
	id := res.started.GetBenchmarkId()
	got, err := c.GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: id})
	if err != nil {
		t.Fatal(err)
	}
	b := got.GetBenchmark()
	if len(b.GetLevels()) != 2 || len(b.GetTrials()) != 13 || len(b.GetSettings().GetConcurrency().GetLevels()) != 2 ||
		b.GetStarted().GetOllamaNumParallel() != "unknown" {
		t.Errorf("stored: %d levels, %d trials, settings' concurrency %v, slots %q", len(b.GetLevels()), len(b.GetTrials()),
			b.GetSettings().GetConcurrency(), b.GetStarted().GetOllamaNumParallel())
	}
	for _, tr := range b.GetTrials() {
		if tr.GetSentAt() == nil {
			t.Errorf("trial %d of level %d has no sent_at", tr.GetIndex(), tr.GetLevel())
		}
	}
	// The ended run's replay: each level's start, trials and finish.
	n, _, err := watch(ctx, c, id, nil)
	if err != nil || n.started != 1 || n.levelStarted != 2 || n.levelFinished != 2 || n.trials != 13 || n.finished != 1 {
		t.Errorf("replay: %+v, err %v; want 1 started, 2 levels started and finished, 13 trials, 1 finished", n, err)
	}

	// Refused before anything runs, saying what to fix.
	before := f.Generated.Load()
	for name, tc := range map[string]struct {
		req  *benchdv1.RunBenchmarkRequest
		says string
	}{
		"repetitions":    {&benchdv1.RunBenchmarkRequest{Model: "tiny", Repetitions: proto.Uint32(3), Concurrency: &benchdv1.Concurrency{Levels: []uint32{1}}}, "repetitions is given in a concurrency run"},
		"fewer requests": {&benchdv1.RunBenchmarkRequest{Model: "tiny", Concurrency: &benchdv1.Concurrency{Levels: []uint32{8}, Requests: proto.Uint32(4)}}, "level 8 needs at least 8 requests"},
		"with a sweep":   {&benchdv1.RunBenchmarkRequest{Model: "tiny", Concurrency: &benchdv1.Concurrency{Levels: []uint32{2}}, Sweep: &benchdv1.Sweep{NumCtx: []uint32{512}}}, "either a sweep or a concurrency run"},
		"cold":           {&benchdv1.RunBenchmarkRequest{Model: "tiny", Cold: true, Concurrency: &benchdv1.Concurrency{Levels: []uint32{2}}}, "cold unloads the model"},
		"65 in flight":   {&benchdv1.RunBenchmarkRequest{Model: "tiny", Concurrency: &benchdv1.Concurrency{Levels: []uint32{65}}}, "concurrency.levels"},
		"no levels":      {&benchdv1.RunBenchmarkRequest{Model: "tiny", Concurrency: &benchdv1.Concurrency{}}, "concurrency.levels"},
		"too many":       {&benchdv1.RunBenchmarkRequest{Model: "tiny", Concurrency: &benchdv1.Concurrency{Levels: []uint32{1, 2}, Requests: proto.Uint32(600)}}, "more than 1000"},
	} {
		err := runToEnd(ctx, c, tc.req)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT saying %q", name, err, tc.says)
		}
		t.Logf("%s: %v", name, err)
	}
	if n := f.Generated.Load() - before; n != 0 {
		t.Errorf("%d generations ran for refused runs", n)
	}
}
