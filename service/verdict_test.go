package service_test

// CheckRegression and SetBaseline through the whole daemon over a history
// written beforehand (synthetic records, no ollama needed: the checks read
// the history only). TEST DOUBLE: fakes.Ollama is there because the daemon
// needs an ollama; no run is started.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

var t0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// synthetic is a succeeded run started i minutes after t0 with one
// measured trial per eval rate (TTFT and prompt rate steady).
func synthetic(i int, numCtx uint32, rates ...float64) *benchdv1.Benchmark {
	at := t0.Add(time.Duration(i) * time.Minute)
	settings := &benchdv1.RunBenchmarkRequest{Model: "tiny", Prompts: []string{"p"}}
	if numCtx > 0 {
		settings.NumCtx = &numCtx
	}
	rec := &benchdv1.Benchmark{
		BenchmarkId: fmt.Sprintf("%s-%08x", at.Format("20060102T150405Z"), i),
		State:       benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		Model:       "tiny",
		Settings:    settings,
		Started:     &benchdv1.BenchmarkStarted{ModelInfo: &benchdv1.ModelInfo{Digest: "sha256:aa"}, OllamaVersion: "0.9.6", Machine: &benchdv1.MachineInfo{BenchdVersion: "test"}},
		CreatedAt:   timestamppb.New(at),
	}
	for j, r := range rates {
		rec.Trials = append(rec.Trials, &benchdv1.Trial{Index: uint32(j), EvalRate: r, PromptEvalRate: 1000 + float64(j), TtftNs: 2e8 + int64(j)*1e6})
	}
	return rec
}

func historyDaemon(t *testing.T, recs ...*benchdv1.Benchmark) *client.Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := store.Open(path, nil, store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := st.Put(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	sock := startDaemon(t, daemon.Config{VRAMSource: "none", Store: path, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, daemon.WithOllama(&fakes.Ollama{}))
	c, err := client.New(sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRegressionVerdictsThroughTheAPI(t *testing.T) {
	sweep := synthetic(6, 0, 100, 100)
	sweep.Settings.Sweep = &benchdv1.Sweep{NumCtx: []uint32{64, 128}}
	recs := []*benchdv1.Benchmark{
		synthetic(0, 0, 99, 100, 101), // older than the 5 the median is taken from
		synthetic(1, 0, 109, 110, 111),
		synthetic(2, 0, 99, 100, 101),
		synthetic(3, 2048, 49, 50, 51), // another fingerprint: ignored
		synthetic(4, 0, 101, 102, 103),
		synthetic(5, 0, 97, 98, 99),
		sweep, // not a plain run: ignored
		synthetic(7, 0, 104, 105, 106),
		synthetic(8, 0, 84, 85, 86), // the run judged: -15%
	}
	c := historyDaemon(t, recs...)
	ctx := context.Background()

	// No id: the newest plain run.
	chk, err := c.CheckRegression(ctx, client.CheckOptions{Metrics: []string{"eval_rate"}})
	if err != nil {
		t.Fatal(err)
	}
	if chk.ID != recs[8].GetBenchmarkId() || chk.Verdict != "REGRESSED" || chk.BaselineSource != "MEDIAN" || chk.MatchingRuns != 5 {
		t.Fatalf("check %s: %s from %s of %d runs (%s); want %s REGRESSED from MEDIAN of 5", chk.ID, chk.Verdict, chk.BaselineSource, chk.MatchingRuns, chk.Reason, recs[8].GetBenchmarkId())
	}
	// Means of the five: 110, 100, 102, 98, 105 -> the median is 102 (run 4).
	if m := chk.Metrics[0]; m.BaselineID != recs[4].GetBenchmarkId() || m.Change > -0.16 || m.Change < -0.17 {
		t.Errorf("baseline %s change %.3f, want run 4 and -16.7%%", m.BaselineID, m.Change)
	}

	// Pin run 1 (110): the judged run is further below it.
	b, err := c.SetBaseline(ctx, recs[1].GetBenchmarkId(), false)
	if err != nil || b.ID != recs[1].GetBenchmarkId() || b.PreviousID != "" || b.Fingerprint.ID != chk.Fingerprint.ID {
		t.Fatalf("SetBaseline: %+v, %v", b, err)
	}
	chk, err = c.CheckRegression(ctx, client.CheckOptions{ID: recs[8].GetBenchmarkId(), Metrics: []string{"eval_rate"}})
	if err != nil || chk.BaselineSource != "PINNED" || chk.Metrics[0].BaselineID != recs[1].GetBenchmarkId() {
		t.Fatalf("after pinning: %+v, %v", chk, err)
	}
	// Run 7 against the pin: -4.5%, t large: REGRESSED; with a 5% minimum OK.
	five := 0.05
	chk, err = c.CheckRegression(ctx, client.CheckOptions{ID: recs[7].GetBenchmarkId(), Metrics: []string{"eval_rate"}, MinEffect: &five})
	if err != nil || chk.Verdict != "OK" || chk.MinEffect != five {
		t.Fatalf("run 7 with min effect 5%%: %+v, %v", chk, err)
	}
	// Unpin: the previous pin is named.
	if b, err = c.SetBaseline(ctx, recs[2].GetBenchmarkId(), true); err != nil || b.ID != "" || b.PreviousID != recs[1].GetBenchmarkId() {
		t.Fatalf("clear: %+v, %v", b, err)
	}

	// The oldest run has nothing before it.
	chk, err = c.CheckRegression(ctx, client.CheckOptions{ID: recs[0].GetBenchmarkId()})
	if err != nil || chk.Verdict != "INCOMPARABLE" || chk.BaselineSource != "NONE" {
		t.Fatalf("oldest run: %+v, %v", chk, err)
	}

	for _, tc := range []struct {
		name string
		call func() error
		code codes.Code
		hint string
	}{
		{"pin a sweep", func() error { _, err := c.SetBaseline(ctx, sweep.GetBenchmarkId(), false); return err }, codes.FailedPrecondition, "succeeded plain benchmarks"},
		{"check a sweep", func() error {
			_, err := c.CheckRegression(ctx, client.CheckOptions{ID: sweep.GetBenchmarkId()})
			return err
		}, codes.FailedPrecondition, "is a sweep"},
		{"unknown id", func() error {
			_, err := c.CheckRegression(ctx, client.CheckOptions{ID: "20990101T000000Z-00000000"})
			return err
		}, codes.NotFound, "ListBenchmarks"},
		{"unknown model", func() error { _, err := c.CheckRegression(ctx, client.CheckOptions{Model: "nope"}); return err }, codes.NotFound, "run a benchmark first"},
		{"alpha too large", func() error {
			a := 0.9
			_, err := c.CheckRegression(ctx, client.CheckOptions{Alpha: &a})
			return err
		}, codes.InvalidArgument, "alpha"},
	} {
		err := tc.call()
		if st, _ := status.FromError(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.hint) {
			t.Errorf("%s: %v, want %v with %q", tc.name, err, tc.code, tc.hint)
		}
	}
	// The daemon is still up.
	if _, err := c.CheckRegression(ctx, client.CheckOptions{}); err != nil {
		t.Errorf("after the errors: %v", err)
	}
}
