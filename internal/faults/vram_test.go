package faults_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/testrig"
)

// TestVRAMToolGarbage plays a broken nvidia-smi (testdata/nvidia-smi, a
// test double) in the test's own container: huge, truncated and binary
// output, and a failing tool. Each read is bounded and ends in a clear
// error, benchd's memory stays put, benchmarks still run (VRAM is context,
// not a reason to fail), and a good reading works again afterwards.
func TestVRAMToolGarbage(t *testing.T) {
	c := startRig(t, shared)
	c.installNvidiaSMIDouble(t)
	d := startDaemon(t, c.name, "--vram-source", "nvidia-smi")
	mode := func(m string) { c.setNvidiaSMIMode(t, m) }
	sample := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := d.cl.SampleVRAM(ctx)
		return err
	}

	mode("good")
	gpus, err := d.cl.SampleVRAM(context.Background())
	if err != nil || len(gpus) != 1 || gpus[0].TotalBytes != 81559<<20 || gpus[0].UsedBytes != 1024<<20 {
		t.Fatalf("the double's good output: %+v, %v", gpus, err)
	}
	pid := d.ServingPID(t)
	rssBefore := testrig.RSSKiB(t, pid)

	for _, tc := range []struct {
		mode string
		code codes.Code
		says string
	}{
		{"huge", codes.Internal, "more than 1048576 bytes of output"},
		{"truncated", codes.FailedPrecondition, "got 3 comma-separated fields"},
		{"binary", codes.FailedPrecondition, "not UTF-8 text"},
		{"fail", codes.FailedPrecondition, "couldn't communicate with the NVIDIA driver"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			mode(tc.mode)
			for range 5 {
				err := sample()
				if status.Code(err) != tc.code {
					t.Fatalf("got %v, want %v", err, tc.code)
				}
			}
			wantCode(t, sample(), tc.code, tc.says)
			// A benchmark still runs; its trials just have no VRAM peak.
			res, err := d.cl.RunBenchmark(context.Background(), quickRun(), nil)
			if err != nil {
				t.Fatalf("benchmark while the VRAM tool prints %s: %v", tc.mode, err)
			}
			if res.Trials[0].PeakVRAMUsedBytes != 0 {
				t.Errorf("peak VRAM %d from a broken tool", res.Trials[0].PeakVRAMUsedBytes)
			}
		})
	}
	rssAfter := testrig.RSSKiB(t, pid)
	t.Logf("benchd RSS %d KiB before 24 broken reads (6 of them 2.4 MB), %d KiB after", rssBefore, rssAfter)
	if rssAfter-rssBefore > 32<<10 {
		t.Errorf("benchd grew by %d KiB reading broken tool output", rssAfter-rssBefore)
	}
	testrig.Poll(t, 10*time.Second, "no nvidia-smi left running", func() bool { return c.nvidiaSMIRunning(t) == "" })
	mode("good")
	if err := sample(); err != nil {
		t.Errorf("SampleVRAM once the tool works again: %v", err)
	}
}

// installNvidiaSMIDouble copies testdata/nvidia-smi into the container as
// /usr/bin/nvidia-smi.
func (c *rigContainer) installNvidiaSMIDouble(t *testing.T) {
	t.Helper()
	// docker cp keeps the file's mode: make sure it is executable
	// whatever the checkout did with the bit.
	script, err := os.ReadFile(filepath.Join(testrig.RepoRoot(), "internal", "faults", "testdata", "nvidia-smi"))
	if err != nil {
		t.Fatal(err)
	}
	double := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(double, script, 0o755); err != nil {
		t.Fatal(err)
	}
	c.eng.Docker(t, "cp", double, c.name+":/usr/bin/nvidia-smi")
}

// setNvidiaSMIMode chooses what the double prints (see testdata/nvidia-smi).
func (c *rigContainer) setNvidiaSMIMode(t testing.TB, mode string) {
	t.Helper()
	c.exec(t, "bash", "-c", `echo "$1" > /tmp/nvsmi-mode`, "mode", mode)
}

// nvidiaSMIRunning lists the container's nvidia-smi processes (container
// pids, space-separated; "" when none), read with bash builtins.
func (c *rigContainer) nvidiaSMIRunning(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(c.exec(t, "bash", "-c", `for p in /proc/[0-9]*; do read -r n < $p/comm 2>/dev/null; [ "$n" = nvidia-smi ] && echo "${p#/proc/}"; done; true`))
}
