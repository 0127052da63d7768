package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/metrics"
	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// TestBenchmarksByStateFollowTheStoreThroughPruning: benchd_benchmarks
// says what the history holds now. Under a 3-run retention, five
// succeeded runs and a failed one leave three records, and the gauge says
// so (it counted every run ever ended before: 6).
func TestBenchmarksByStateFollowTheStoreThroughPruning(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(filepath.Join(t.TempDir(), "history.db"), nil, store.Retention{Runs: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exp, err := metrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	list := func(ctx context.Context, token string) ([]*benchdv1.Benchmark, string, error) {
		return st.List(ctx, store.Filter{After: token, Limit: 100})
	}
	if err := exp.Runs.Load(ctx, list, st.States, func() int { return 0 }); err != nil {
		t.Fatal(err)
	}
	for i, state := range []benchdv1.BenchmarkState{
		benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED, benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED, benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED, benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
	} {
		rec := &benchdv1.Benchmark{BenchmarkId: fmt.Sprintf("20261130T000000.%09dZ-%08x", i, i), Model: "tiny", State: state}
		if err := st.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
		exp.Runs.Ended(rec)
	}
	w := httptest.NewRecorder()
	exp.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, err := io.ReadAll(w.Body)
	if err != nil || w.Code != http.StatusOK {
		t.Fatalf("scrape: %d %v", w.Code, err)
	}
	var got []string
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "benchd_benchmarks{") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	want := []string{
		`benchd_benchmarks{state="cancelled"} 0`,
		`benchd_benchmarks{state="failed"} 0`,
		`benchd_benchmarks{state="running"} 0`,
		`benchd_benchmarks{state="succeeded"} 3`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("scraped\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
