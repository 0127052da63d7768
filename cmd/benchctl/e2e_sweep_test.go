package main_test

// benchctl sweep against a real benchd in front of the rig's real ollama
// (tiny model, CPU only): a row per cell with the settings that reached
// ollama, the best cell marked by the CPU-only rule, and the sweep chart.
// Set BENCHCTL_CHART_DIR to keep the chart.

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

func TestBenchctlSweepOnTheRig(t *testing.T) {
	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t))
	chart := chartPath(t, "sweep-rig.png")
	out, errOut, code := benchctl(t, d, "sweep", testrig.Model, "--num-ctx", "512,1024", "--num-thread", "1,2",
		"--max-tokens", "64", "--reps", "3", "--chart", chart)
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("$ benchctl sweep %s --num-ctx 512,1024 --num-thread 1,2 --max-tokens 64 --reps 3 --chart %s\n%s", testrig.Model, chart, out)
	var rows [][]string
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "best  cell  model") {
			for _, r := range lines[i+1 : i+5] {
				rows = append(rows, strings.Fields(r))
			}
		}
	}
	if len(rows) != 4 {
		t.Fatalf("want 4 cell rows:\n%s", out)
	}
	best := -1
	for i, r := range rows {
		if r[0] == "*" {
			best, r = i, r[1:]
		}
		// cell, model, num_ctx, num_gpu, num_batch, num_thread: in run order.
		want := []string{[]string{"0", "1", "2", "3"}[i], testrig.Model, []string{"512", "512", "1024", "1024"}[i], "-", "-", []string{"1", "2", "1", "2"}[i]}
		// "ok, unstable" too: on a busy host the rates of such short
		// trials vary by more than 10%.
		row := strings.Join(r, " ")
		if strings.Join(r[:6], " ") != strings.Join(want, " ") || !strings.Contains(row, "100% CPU ok") {
			t.Errorf("row %d %q, want %q… 100%% CPU ok", i, r, want)
		}
	}
	if best < 0 || !strings.Contains(out, "no cell's model took VRAM (a CPU-only host), so every succeeded cell qualified") {
		t.Errorf("no best cell by the CPU-only rule:\n%s", out)
	}
	checkPNG(t, chart, 1200, 800) // two swept settings
}

// chartPath is where a rig test writes its chart NAME: in
// $BENCHCTL_CHART_DIR, to keep it, else a temporary directory.
func chartPath(t *testing.T, name string) string {
	dir := os.Getenv("BENCHCTL_CHART_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	return filepath.Join(dir, name)
}

// checkPNG decodes a PNG and checks its size.
func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("%s: %v, want %dx%d", path, b, w, h)
	}
}
