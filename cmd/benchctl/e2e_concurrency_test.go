package main_test

// benchctl run --concurrency against a real benchd in front of the rig's
// real ollama (tiny model, CPU only, OLLAMA_NUM_PARALLEL not set): a row
// per level with the parallel slots in the header, and the chart. It
// asserts the structure, not the speed. Set BENCHCTL_CHART_DIR to keep the
// chart.

import (
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

func TestBenchctlConcurrencyOnTheRig(t *testing.T) {
	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t))
	chart := chartPath(t, "concurrency-rig.png")
	args := []string{"run", testrig.Model, "--concurrency", "1,2", "--requests", "4", "--max-tokens", "32", "--chart", chart}
	out, errOut, code := benchctl(t, d, args...)
	if code != 0 {
		t.Fatalf("run --concurrency: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("$ benchctl %s\n%s", strings.Join(args, " "), out)
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || lines[1] != "concurrency: levels 1,2 in flight, closed loop, 4 requests each; ollama's parallel slots: OLLAMA_NUM_PARALLEL not set (ollama's default)" {
		t.Errorf("header:\n%s", out)
	}
	var rows [][]string
	for i, l := range lines {
		if strings.Contains(l, "in flight  requests  ok/failed  out tok/s") && i+2 < len(lines) {
			rows = [][]string{strings.Fields(lines[i+1]), strings.Fields(lines[i+2])}
		}
	}
	if len(rows) != 2 {
		t.Fatalf("want 2 level rows:\n%s", out)
	}
	for i, r := range rows {
		// in flight, requests, ok/failed, out tok/s, req/s, four
		// percentile columns, peak VRAM (the rig's sysfs fixture: "1.0 GiB").
		if len(r) < 10 || r[0] != []string{"1", "2"}[i] || r[1] != "4" || r[2] != "4/0" || r[3] == "0.0" || r[4] == "0.00" {
			t.Errorf("level row %d %q", i, r)
			continue
		}
		for _, p := range r[5:9] {
			if strings.Count(p, "/") != 2 || strings.Contains(p, "-") {
				t.Errorf("level row %d: %q is not p50/p90/p99", i, p)
			}
		}
	}
	checkPNG(t, chart, 1200, 1200)

	// show prints the stored run as run did.
	id := strings.Fields(lines[0])[2]
	if again, errOut, code := benchctl(t, d, "show", id); code != 0 || again != out {
		t.Errorf("show %s: exit %d, %s\n%s", id, code, errOut, again)
	}
}
