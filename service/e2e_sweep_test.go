package service_test

// A sweep on the rig's real ollama: each cell's num_ctx and num_thread
// reach ollama (its runner is started with them), each cell has its
// result, an impossible cell fails with its status while the others
// complete, and the best cell is named.

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/testrig"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// runnerStarts are ollama's log lines for a runner it starts with its
// context size (num_ctx × parallel), threads and parallel requests, as
// each rig version writes them (testdata/rig/versions).
var runnerStarts = []*regexp.Regexp{
	// 0.9.6 passes them on the runner's command line: `msg="starting llama
	// server" cmd="/usr/bin/ollama runner --model … --ctx-size 8192
	// --batch-size 512 --threads 1 --no-mmap --parallel 2 --port 40105"`.
	regexp.MustCompile(`starting llama server.*--ctx-size (?P<ctx>\d+) .*--threads (?P<threads>\d+) .*--parallel (?P<parallel>\d+)`),
	// 0.17.4 starts the runner with only --model and --port and sends them
	// in its load request, logged as `msg=load request="{Operation:commit
	// LoraPath:[] Parallel:1 BatchSize:512 FlashAttention:Auto KvSize:4096
	// KvCacheType: NumThreads:1 …}"` (earlier operations, fit and alloc,
	// only size the model).
	regexp.MustCompile(`msg=load request="\{Operation:commit .*Parallel:(?P<parallel>\d+) .*KvSize:(?P<ctx>\d+) .*NumThreads:(?P<threads>\d+) `),
}

// runnersStarted reads runnerStarts from ollama's log: the num_ctx and
// num_thread of each runner it started.
func runnersStarted(t *testing.T, logs string) map[[2]int]bool {
	t.Helper()
	started := map[[2]int]bool{}
	for _, re := range runnerStarts {
		for _, m := range re.FindAllStringSubmatch(logs, -1) {
			n := map[string]int{}
			for _, name := range []string{"ctx", "threads", "parallel"} {
				n[name], _ = strconv.Atoi(m[re.SubexpIndex(name)])
			}
			started[[2]int{n["ctx"] / n["parallel"], n["threads"]}] = true
			t.Logf("ollama started a runner: num_ctx %d (context %d, parallel %d), num_thread %d",
				n["ctx"]/n["parallel"], n["ctx"], n["parallel"], n["threads"])
		}
	}
	return started
}

// The impossible cells are those of a model ollama does not have: tried
// against ollama 0.9.6 on the rig (0.17.4 answers the same), it is the one setting a sweep can vary
// that ollama refuses outright (/api/show and /api/generate: 404 "model
// 'x' not found"). Within the request bounds the others are accepted:
// num_ctx beyond the model's trained context is clamped to it, num_batch
// 65536 runs, and num_thread 1024 starts a runner that does not answer
// for minutes (no error: the run's timeout would end the whole sweep).
func TestSweepOnTheRig(t *testing.T) {
	container := testrig.Ollama(t)
	st := newStack(t, container)
	c := rawClient(t, st.sock)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	since := time.Now().Add(-time.Second)

	const absent = "no-such-model"
	res, err := collect(ctx, c, &benchdv1.RunBenchmarkRequest{
		Model: testrig.Model, Repetitions: proto.Uint32(1), Warmup: proto.Uint32(0), MaxTokens: proto.Uint32(8),
		Timeout: durationpb.New(2 * time.Minute),
		Sweep: &benchdv1.Sweep{
			Models: []string{testrig.Model, absent}, NumCtx: []uint32{512, 1024}, NumThread: []uint32{1, 2},
		},
	})
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	fin := res.finished
	if len(res.cells) != 8 || len(res.trials) != 4 || fin == nil {
		t.Fatalf("%d cells finished, %d trials, finished %v; want 8 cells, 4 trials", len(res.cells), len(res.trials), fin)
	}
	logs := testrig.Docker(t, "logs", "--since", since.UTC().Format(time.RFC3339Nano), container)
	started := runnersStarted(t, logs)

	for i, cell := range res.cells {
		t.Logf("cell %d: %s num_ctx %d num_thread %d: %v %s eval %.0f tok/s, ttft %v ns, ps %d B",
			i, cell.GetModel(), cell.GetNumCtx(), cell.GetNumThread(), cell.GetStatus(), cell.GetErrorMessage(),
			cell.GetSummary().GetEvalRate().GetMean(), cell.GetSummary().GetTtftNs().GetMean(), cell.GetModelSizeBytes())
		if cell.GetIndex() != uint32(i) {
			t.Errorf("cell %d has index %d", i, cell.GetIndex())
		}
		if cell.GetModel() == absent {
			if cell.GetStatus() != benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_FAILED || codes.Code(cell.GetErrorCode()) != codes.NotFound ||
				cell.GetErrorMessage() == "" || cell.GetSummary().GetTrials() != 0 {
				t.Errorf("cell %d of the absent model: %v; want FAILED, NOT_FOUND, a message, no trials", i, cell)
			}
			continue
		}
		if cell.GetStatus() != benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED || cell.GetSummary().GetTrials() != 1 ||
			cell.GetSummary().GetEvalRate().GetMean() <= 0 || cell.GetMaxTokens() != 8 {
			t.Errorf("cell %d: %v; want SUCCEEDED with 1 trial and an eval rate", i, cell)
		}
		if !cell.GetFitsVram() && cell.GetModelSizeBytes() == 0 {
			t.Errorf("cell %d: no /api/ps figures: %v", i, cell)
		}
		if !started[[2]int{int(cell.GetNumCtx()), int(cell.GetNumThread())}] {
			t.Errorf("cell %d (num_ctx %d, num_thread %d): ollama started no runner with these settings", i, cell.GetNumCtx(), cell.GetNumThread())
		}
	}
	for i, tr := range res.trials {
		if want := uint32(i); tr.GetCell() != want || tr.GetEvalCount() == 0 || tr.GetEvalCount() > 8 {
			t.Errorf("trial %d: cell %d, eval_count %d; want cell %d, 1..8 tokens", i, tr.GetCell(), tr.GetEvalCount(), want)
		}
	}
	if fin.BestCell == nil || fin.GetBestCell() >= 4 || fin.GetCellsFailed() != 4 ||
		fin.GetObjective() != benchdv1.SweepObjective_SWEEP_OBJECTIVE_EVAL_RATE {
		t.Errorf("finished %v; want a best cell among the first four, 4 failed, objective EVAL_RATE", fin)
	}
	best := res.cells[fin.GetBestCell()].GetSummary().GetEvalRate().GetMean()
	for i, cell := range res.cells[:4] {
		if r := cell.GetSummary().GetEvalRate().GetMean(); r > best {
			t.Errorf("cell %d's eval rate %.1f beats the best cell %d's %.1f", i, r, fin.GetBestCell(), best)
		}
	}
	t.Logf("best cell: %d", fin.GetBestCell())
}

// sweepRun is what a RunBenchmark stream carried.
type sweepRun struct {
	started  *benchdv1.BenchmarkStarted
	cells    []*benchdv1.SweepCell
	trials   []*benchdv1.Trial
	finished *benchdv1.BenchmarkFinished
	// Concurrency runs: the levels started and finished.
	levelStarts int
	levels      []*benchdv1.ConcurrencyLevel
}

// collect runs req to its end and keeps its start, cells, levels, trials
// and finish.
func collect(ctx context.Context, c benchdv1.BenchmarkServiceClient, req *benchdv1.RunBenchmarkRequest) (sweepRun, error) {
	var r sweepRun
	s, err := c.RunBenchmark(ctx, req)
	if err != nil {
		return r, err
	}
	for {
		m, err := s.Recv()
		if err != nil {
			if err == io.EOF {
				return r, nil
			}
			return r, err
		}
		ev := m.GetEvent()
		switch {
		case ev.GetStarted() != nil:
			r.started = ev.GetStarted()
		case ev.GetLevelStarted() != nil:
			r.levelStarts++
		case ev.GetLevelFinished() != nil:
			r.levels = append(r.levels, ev.GetLevelFinished().GetLevel())
		case ev.GetCellFinished() != nil:
			r.cells = append(r.cells, ev.GetCellFinished().GetCell())
		case ev.GetTrial() != nil:
			r.trials = append(r.trials, ev.GetTrial())
		case ev.GetFinished() != nil:
			r.finished = ev.GetFinished()
		}
	}
}
