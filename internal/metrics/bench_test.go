package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// BenchmarkScrape is one Prometheus scrape (OpenMetrics) of an exporter
// over two simulated amdgpu GPUs in sysfs and 20 models' last results:
// "cached" reuses the GPU reading (a scrape within the sampling
// interval), "read" reads sysfs on every scrape.
func BenchmarkScrape(b *testing.B) {
	root := filepath.Join(b.TempDir(), "sys")
	gpu := testrig.SimGPU{TotalBytes: 24 << 30, UsedBytes: 3 << 30, PowerW: 212.5, EdgeC: 61, JunctionC: 74, MemC: 82, Busy: 97, CoreMHz: 2482, MemMHz: 1249}
	gpu2 := gpu
	gpu2.Card = 1
	if err := testrig.SimulatedSysfs(root, gpu, gpu2); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", time.Hour}, {"read", 0}} {
		b.Run(c.name, func(b *testing.B) {
			exp, err := New(NewGPUs(&vram.Sysfs{Root: root}, c.ttl, nil))
			if err != nil {
				b.Fatal(err)
			}
			jpt := 0.1
			for i := range 20 {
				exp.Runs.Ended(&benchdv1.Benchmark{BenchmarkId: fmt.Sprint(i), Model: fmt.Sprintf("model-%d", i), State: benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
					Started: &benchdv1.BenchmarkStarted{ModelInfo: &benchdv1.ModelInfo{Digest: fmt.Sprintf("%064d", i)}},
					Finished: &benchdv1.BenchmarkFinished{EvalRate: &benchdv1.Summary{Mean: 100}, TtftNs: &benchdv1.Summary{P50: 2e7},
						FinishedAt: timestamppb.Now(), Energy: &benchdv1.Energy{JoulesPerOutputToken: &jpt}}})
			}
			h := exp.Handler()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
				_, _ = io.Copy(io.Discard, w.Body)
			}
		})
	}
}
