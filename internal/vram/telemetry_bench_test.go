package vram

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/benchcpu"
)

// telemetryTree is the RX 7900 XTX's LACT snapshot as a tree (with VRAM
// files added: LACT trimmed them), the richest card of the shared
// fixtures: power, three temperatures, busy, two clocks.
func telemetryTree(b *testing.B) string {
	b.Helper()
	path := filepath.Join(sharedFixtures, "telemetry", "amdgpu-sysfs", "lact-rx7900xtx.txt")
	snap, err := os.ReadFile(path)
	if err != nil {
		b.Skipf("shared telemetry fixtures not beside this checkout: %v", err)
	}
	root := b.TempDir()
	materialise(b, snap, root)
	dev := filepath.Join(root, "class", "drm", "card0", "device")
	for _, f := range []string{"mem_info_vram_total", "mem_info_vram_used"} {
		if err := os.WriteFile(filepath.Join(dev, f), []byte("25753026560\n"), 0o444); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

// BenchmarkSysfsReadTelemetry is one sample of VRAM and telemetry from
// sysfs: what the sampler, SampleVRAM and a metrics scrape each cost.
func BenchmarkSysfsReadTelemetry(b *testing.B) {
	s := &Sysfs{Root: telemetryTree(b)}
	ctx := context.Background()
	gpus, err := s.Read(ctx)
	if err != nil || !gpus[0].Telemetry.PowerW.Set || !gpus[0].Telemetry.MemClockMHz.Set {
		b.Fatalf("Read: (%+v, %v), want telemetry", gpus, err)
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

// BenchmarkSamplerCPUAt4Hz runs the trial sampler at 4 Hz over the
// telemetry tree for 4 s per iteration and reports the process's CPU time
// over that wall time as a percentage of one core (cpu-%). The budget is
// 1%.
func BenchmarkSamplerCPUAt4Hz(b *testing.B) {
	s := &Sysfs{Root: telemetryTree(b)}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var busy, wall time.Duration
	samples := 0
	for b.Loop() {
		c0, w0 := cpu(), time.Now()
		sm, err := StartSampler(context.Background(), s, 250*time.Millisecond)
		if err != nil {
			b.Fatal(err)
		}
		// The wall time is what is measured here: a timed wait, not a
		// synchronisation.
		time.Sleep(4 * time.Second)
		res := sm.Stop()
		busy += cpu() - c0
		wall += time.Since(w0)
		samples += len(res.Samples)
	}
	b.ReportMetric(100*busy.Seconds()/wall.Seconds(), "cpu-%")
	b.ReportMetric(float64(samples)/wall.Seconds(), "samples/s")
}
