package main_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// TestBenchctlGPU: `benchctl gpu` against a benchd whose GPU is a
// simulated amdgpu sysfs tree shows the tree's values (report's tests
// cover "-" for values a GPU does not report).
func TestBenchctlGPU(t *testing.T) {
	root := filepath.Join(t.TempDir(), "sys")
	if err := testrig.SimulatedSysfs(root, testrig.SimGPU{Card: 1, TotalBytes: 24 << 30, UsedBytes: 3 << 30, PowerW: 212.5,
		EdgeC: 61, JunctionC: 74, MemC: 82, Busy: 97, CoreMHz: 2482, MemMHz: 1249}); err != nil {
		t.Fatal(err)
	}
	d := testrig.StartDaemon(t, "--ollama", "http://127.0.0.1:9", "--vram-source", "sysfs", "--sysfs-root", root)
	out := mustBenchctl(t, d, "gpu")
	t.Logf("benchctl gpu:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a header and one GPU line, got:\n%s", out)
	}
	row := regexp.MustCompile(`^\s*1\s+card1\s+3\.0 GiB\s+24\.0 GiB\s+212\.5 W\s+61 °C\s+74 °C\s+82 °C\s+97%\s+2482 MHz\s+1249 MHz\s+sysfs\s*$`)
	if !row.MatchString(lines[1]) {
		t.Fatalf("GPU line %q does not show the tree's values", lines[1])
	}
	out = mustBenchctl(t, d, "gpu", "-o", "jsonl")
	for _, want := range []string{`"power_watts":212.5`, `"temperature_junction_celsius":74`, `"busy_percent":97`, `"power_window":"1s"`} {
		if !strings.Contains(out, want) {
			t.Errorf("jsonl lacks %s:\n%s", want, out)
		}
	}
}
