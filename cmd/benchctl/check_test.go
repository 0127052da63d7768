package main

// benchctl check and baseline against an in-process benchd over a history
// written beforehand (synthetic runs; fakes.Ollama, a TEST DOUBLE, is there
// because the daemon needs one: no run is started).

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// syntheticRun is a succeeded run i minutes after a fixed time with one
// measured trial per eval rate.
func syntheticRun(i int, rates ...float64) *benchdv1.Benchmark {
	at := time.Date(2026, 11, 1, 10, i, 0, 0, time.UTC)
	rec := &benchdv1.Benchmark{
		BenchmarkId: fmt.Sprintf("%s-%08x", at.Format("20060102T150405Z"), i),
		State:       benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		Model:       "tiny",
		Settings:    &benchdv1.RunBenchmarkRequest{Model: "tiny"},
		Started:     &benchdv1.BenchmarkStarted{ModelInfo: &benchdv1.ModelInfo{Digest: "sha256:aa"}, OllamaVersion: "0.9.6"},
		CreatedAt:   timestamppb.New(at),
	}
	for j, r := range rates {
		rec.Trials = append(rec.Trials, &benchdv1.Trial{Index: uint32(j), EvalRate: r, PromptEvalRate: 10 * r, TtftNs: int64(1e10 / r)})
	}
	return rec
}

func TestCheckExitCodes(t *testing.T) {
	runs := []*benchdv1.Benchmark{
		syntheticRun(0, 99, 100, 101),
		syntheticRun(1, 100, 101, 102),
		syntheticRun(2, 98, 99, 100),
		syntheticRun(3, 84, 85, 86), // -15%
		syntheticRun(4, 99.5, 100.5, 100),
	}
	path := filepath.Join(t.TempDir(), "history.db")
	st, err := store.Open(path, nil, store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if err := st.Put(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	sock := fakes.StartBenchdOn(t, &fakes.Ollama{}, path)
	check := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := runCLI(t, append([]string{"--socket", sock}, args...)...)
		if code != want {
			t.Fatalf("benchctl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		t.Logf("$ benchctl %s   (exit %d)\n%s%s", strings.Join(args, " "), code, out, errOut)
		return out
	}

	out := check(exitRegressed, "check", runs[3].GetBenchmarkId())
	for _, want := range []string{runs[3].GetBenchmarkId() + "  tiny  REGRESSED (median of 3 matching runs", "eval_rate ", "-15.0%", "reason: eval_rate regressed -15.0%"} {
		if !strings.Contains(out, want) {
			t.Errorf("check table lacks %q", want)
		}
	}
	check(exitIncomparable, "check", runs[0].GetBenchmarkId())
	// The newest run by default: back to normal.
	out = check(exitOK, "check", "-o", "json")
	var res struct {
		BenchmarkID string `json:"benchmark_id"`
		Verdict     string `json:"verdict"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.BenchmarkID != runs[4].GetBenchmarkId() || res.Verdict != "REGRESSION_VERDICT_OK" {
		t.Errorf("check -o json: %+v %v", res, err)
	}
	// Pinned to the regressed run, the newest is an improvement: exit 0.
	if out := check(exitOK, "baseline", runs[3].GetBenchmarkId()); !strings.Contains(out, "pinned "+runs[3].GetBenchmarkId()) {
		t.Errorf("baseline printed %q", out)
	}
	if out := check(exitOK, "check"); !strings.Contains(out, "IMPROVED (pinned baseline") {
		t.Errorf("check against the pin:\n%s", out)
	}
	// Re-pinned: the line names the pin it replaced, as one sentence.
	if out := check(exitOK, "baseline", runs[2].GetBenchmarkId()); !strings.HasSuffix(strings.TrimSpace(out), "); was "+runs[3].GetBenchmarkId()) {
		t.Errorf("re-pinning printed %q; want it to end \"); was %s\"", out, runs[3].GetBenchmarkId())
	}
	check(exitUsage, "check", "--metric", "watts")
	check(statusExit(5), "check", "20990101T000000Z-00000000") // NOT_FOUND
}
