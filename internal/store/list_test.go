package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "h.db")
	s, err := Open(path, markFailed, Retention{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// put10 stores ten records a minute apart, alternating two models.
func put10(t *testing.T, s *Store) time.Time {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Minute)
		rec := &benchdv1.Benchmark{
			BenchmarkId: at.Format("20060102T150405Z") + fmt.Sprintf("-%08x", i),
			Model:       []string{"a", "b"}[i%2],
			State:       benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
			CreatedAt:   timestamppb.New(at),
		}
		if err := s.Put(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	return t0
}

func ids(recs []*benchdv1.Benchmark) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.GetBenchmarkId()[len(r.GetBenchmarkId())-1:])
	}
	return out
}

func TestListNewestFirstWithPages(t *testing.T) {
	s, _ := open(t)
	put10(t, s)
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		recs, next, err := s.List(context.Background(), Filter{Limit: 4, After: after})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(recs)...)
		if next == "" {
			if pages != 2 {
				t.Errorf("got %d pages, want 3", pages+1)
			}
			break
		}
		after = next
	}
	if fmt.Sprint(got) != "[9 8 7 6 5 4 3 2 1 0]" {
		t.Errorf("order %v", got)
	}
}

func TestListFilters(t *testing.T) {
	s, _ := open(t)
	t0 := put10(t, s)
	recs, _, err := s.List(context.Background(), Filter{Limit: 50, Model: "b"})
	if err != nil || fmt.Sprint(ids(recs)) != "[9 7 5 3 1]" {
		t.Errorf("model b: %v %v", ids(recs), err)
	}
	recs, _, err = s.List(context.Background(), Filter{Limit: 50, Since: t0.Add(3 * time.Minute), Until: t0.Add(6 * time.Minute)})
	if err != nil || fmt.Sprint(ids(recs)) != "[5 4 3]" {
		t.Errorf("since/until: %v %v", ids(recs), err)
	}
}

func TestReopenMarksInterruptedRunsFailed(t *testing.T) {
	s, path := open(t)
	running := &benchdv1.Benchmark{
		BenchmarkId: "20261126T100000Z-00000001", State: benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING,
		Trials: []*benchdv1.Trial{{Index: 0}, {Index: 1}},
	}
	if err := s.Put(context.Background(), running); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(path, markFailed, Retention{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, err := s2.Get(context.Background(), running.GetBenchmarkId())
	if err != nil {
		t.Fatal(err)
	}
	if got.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED || len(got.GetTrials()) != 2 || got.GetErrorMessage() == "" {
		t.Errorf("after reopen: %v", got)
	}
}

// markFailed stands in for the daemon's history, which decides how a run
// interrupted by a dead daemon ended; store only has to apply it.
func markFailed(rec *benchdv1.Benchmark) {
	rec.State = benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED
	rec.ErrorCode, rec.ErrorMessage = 14, "interrupted"
}

// MarkFailed is markFailed for the external test package.
var MarkFailed = markFailed
