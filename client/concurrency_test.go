package client

import (
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// concurrencyEvents is a run at 1 then 2 in flight as benchd streams it:
// the warm-up inside level 0, a progress event of level 1 (which names no
// level), level 1 with one request failed.
func concurrencyEvents() []*benchdv1.BenchmarkEvent {
	id := "20260102T030405Z-0123abcd"
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	level := func(i, n uint32) *benchdv1.ConcurrencyLevel {
		return &benchdv1.ConcurrencyLevel{Index: i, Concurrency: n, Requests: 2 * n}
	}
	one, two := level(0, 1), level(1, 2)
	one.Succeeded, one.OutputTokens, one.OutputTokensPerSecond, one.RequestsPerSecond = 2, 16, 80, 10
	one.QueueNs = &benchdv1.Summary{N: 2, P50: 1e6, P90: 2e6, P99: 3e6}
	two.Succeeded, two.Failed, two.ErrorCode, two.ErrorMessage = 3, 1, int32(codes.Unavailable), "ollama went away"
	two.DurationNs, two.E2ELatencyNs = 5e8, &benchdv1.Summary{N: 3, P99: 4e8}
	return []*benchdv1.BenchmarkEvent{
		{Kind: &benchdv1.BenchmarkEvent_Started{Started: &benchdv1.BenchmarkStarted{BenchmarkId: id, Model: "tiny", OllamaNumParallel: "4"}}},
		{Kind: &benchdv1.BenchmarkEvent_LevelStarted{LevelStarted: &benchdv1.LevelStarted{Level: level(0, 1), Levels: 2}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Warmup: true}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Index: 0, QueueNs: 1e6, SentAt: timestamppb.New(sent)}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Index: 1, QueueNs: 3e6}}},
		{Kind: &benchdv1.BenchmarkEvent_LevelFinished{LevelFinished: &benchdv1.LevelFinished{Level: one}}},
		{Kind: &benchdv1.BenchmarkEvent_LevelStarted{LevelStarted: &benchdv1.LevelStarted{Level: level(1, 2), Levels: 2}}},
		{Kind: &benchdv1.BenchmarkEvent_Progress{Progress: &benchdv1.TrialProgress{Index: 3, Tokens: 5}}},
		{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: &benchdv1.Trial{Level: 1, Index: 3, QueueNs: 7e6}}},
		{Kind: &benchdv1.BenchmarkEvent_LevelFinished{LevelFinished: &benchdv1.LevelFinished{Level: two}}},
		{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: &benchdv1.BenchmarkFinished{BenchmarkId: id, Trials: 3}}},
	}
}

// A concurrency run's stream becomes levels, level events, and trials and
// progress that know their level; the parallel slots are on Started.
func TestConcurrencyResultAndEvents(t *testing.T) {
	var starts []LevelStarted
	var ends []Level
	var progress []Progress
	var trials []Trial
	res, err := collect(stream(concurrencyEvents(), io.EOF), func(ev Event) {
		switch {
		case ev.LevelStarted != nil:
			starts = append(starts, *ev.LevelStarted)
		case ev.LevelFinished != nil:
			ends = append(ends, *ev.LevelFinished)
		case ev.Progress != nil:
			progress = append(progress, *ev.Progress)
		case ev.Trial != nil:
			trials = append(trials, *ev.Trial)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || starts[1].Levels != 2 || starts[1].Level.Concurrency != 2 || starts[1].Level.Requests != 4 || starts[0].Level.Succeeded != 0 {
		t.Errorf("level starts %+v", starts)
	}
	if len(ends) != 2 || ends[1].Failed != 1 || ends[1].ErrorCode != codes.Unavailable || ends[1].Duration != 500*time.Millisecond {
		t.Errorf("level ends %+v", ends)
	}
	if len(progress) != 1 || progress[0].Level != 1 || progress[0].Index != 3 {
		t.Errorf("progress %+v: want level 1 from the level started before it", progress)
	}
	if len(trials) != 4 || !trials[0].Warmup || trials[1].Queue != time.Millisecond || !trials[1].SentAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		!trials[2].SentAt.IsZero() || trials[3].Level != 1 || trials[3].Queue != 7*time.Millisecond {
		t.Errorf("trials %+v", trials)
	}
	if res.OllamaNumParallel != "4" || len(res.Levels) != 2 {
		t.Fatalf("result: slots %q, %d levels", res.OllamaNumParallel, len(res.Levels))
	}
	l := res.Levels[0]
	if l.OutputTokens != 16 || l.OutputTokensPerSecond != 80 || l.RequestsPerSecond != 10 || l.QueueNs.P99 != 3e6 || l.Raw == nil {
		t.Errorf("level 0 %+v", l)
	}
	if res.Levels[1].E2ELatencyNs.P99 != 4e8 || res.Levels[1].ErrorMessage != "ollama went away" {
		t.Errorf("level 1 %+v", res.Levels[1])
	}
}

func TestConcurrencyRequest(t *testing.T) {
	p, err := (BenchmarkRequest{Model: "tiny", Concurrency: &Concurrency{Levels: []int{4, 1, 2}, Requests: 8}}).proto()
	if err != nil {
		t.Fatal(err)
	}
	if want := (&benchdv1.Concurrency{Levels: []uint32{4, 1, 2}, Requests: proto.Uint32(8)}); !proto.Equal(p.GetConcurrency(), want) {
		t.Errorf("concurrency %v, want %v", p.GetConcurrency(), want)
	}
	// Requests 0 is benchd's default, not zero requests.
	if p, _ := (BenchmarkRequest{Model: "tiny", Concurrency: &Concurrency{Levels: []int{2}}}).proto(); p.GetConcurrency().Requests != nil {
		t.Errorf("default requests sent as %v", p.GetConcurrency().Requests)
	}
	if p, _ := (BenchmarkRequest{Model: "tiny"}).proto(); p.Concurrency != nil {
		t.Errorf("plain request has concurrency: %v", p.Concurrency)
	}
}
