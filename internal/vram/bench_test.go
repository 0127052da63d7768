package vram

// Benchmarks of the VRAM hot paths beyond the parsers (parse_test.go) and
// BenchmarkSysfsRead (sysfs_test.go): the sysfs reader on the repository's
// fixture tree, which cmd/benchperf also serves, and the sampler's cost per sample.
// Each reports cpu-ns/op (process CPU time per operation), which the shared
// test machines disturb far less than wall time.

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/benchd/benchd/internal/benchcpu"
)

func fixtureRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sysfs")
}

// BenchmarkSysfsReadFixture reads testdata/sysfs (one AMD card, one other
// vendor's card, a connector) as SampleVRAM does.
func BenchmarkSysfsReadFixture(b *testing.B) {
	s := &Sysfs{Root: fixtureRoot()}
	ctx := context.Background()
	if gpus, err := s.Read(ctx); err != nil || len(gpus) != 1 {
		b.Fatalf("Read: (%+v, %v), want the fixture's one GPU", gpus, err)
	}
	b.ReportAllocs()
	done := benchcpu.PerOp(b)
	for b.Loop() {
		if _, err := s.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	done()
}

// BenchmarkSamplerSysfs is the sampler's loop on the fixture tree with a
// 1ns interval, i.e. back to back: ns/op is the cost of one sample
// (read, peak update, timeline append), what 4 Hz sampling pays four times
// a second.
func BenchmarkSamplerSysfs(b *testing.B) {
	s := &Sysfs{Root: fixtureRoot()}
	ctx := context.Background()
	b.ReportAllocs()
	done := benchcpu.PerOp(b)
	var res SamplerResult
	for b.Loop() {
		sm := &Sampler{result: SamplerResult{Peak: make(map[int]uint64, 1)}}
		for range 64 {
			sm.sample(ctx, s)
		}
		res = sm.result
	}
	done()
	if len(res.Samples) != 64 || res.Failures != 0 {
		b.Fatalf("sampler saw %d samples and %d failures (%v), want 64 and 0", len(res.Samples), res.Failures, res.FirstErr)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/sample")
}
