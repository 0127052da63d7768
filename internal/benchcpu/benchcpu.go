// Package benchcpu reports a Go benchmark's CPU time per operation, for the
// benchmarks of several packages and the performance harness that reads
// their output.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// PerOp reports the process's CPU time (user+system, client and server
// together where both run in the benchmark) per operation as cpu-ns/op: on
// a shared, noisy machine it moves much less than wall time, which waits
// for other jobs' time slices. Call it right before the loop and its result
// right after.
func PerOp(b *testing.B) func() {
	b.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0 := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
		}
	}
}
