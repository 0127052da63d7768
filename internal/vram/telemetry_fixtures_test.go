package vram

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/testrig"
)

// telemetryFixtures lists the shared telemetry fixtures of one tool. Its
// README forbids copies in the repository, so tests read them where CI puts
// them, beside the clone; a missing folder fails under CI=true.
func telemetryFixtures(tb testing.TB, tool string) []string {
	tb.Helper()
	dir := filepath.Join(sharedFixtures, "telemetry", tool)
	_, err := os.Stat(dir)
	abs, _ := filepath.Abs(dir)
	testrig.Require(tb, err == nil, fmt.Sprintf("the shared telemetry fixtures (%s: %v)", abs, err))
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures in %s: %v", abs, err)
	}
	return files
}

func readShared(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var snapshotHeader = regexp.MustCompile(`(?m)^==> (\S+) <==\n`)

// materialise lays out a LACT snapshot (`==> path <==` then the file's
// bytes, as head -v prints them) as a tree under root/class/drm, the
// shape Sysfs reads.
func materialise(tb testing.TB, snapshot []byte, root string) {
	tb.Helper()
	locs := snapshotHeader.FindAllSubmatchIndex(snapshot, -1)
	if len(locs) == 0 {
		tb.Fatal("no `==> path <==` headers: not a snapshot")
	}
	for i, loc := range locs {
		end := len(snapshot)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		rel := string(snapshot[loc[2]:loc[3]])
		if strings.Contains(rel, "..") {
			tb.Fatalf("path %q leaves the tree", rel)
		}
		path := filepath.Join(root, "class", "drm", rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, snapshot[loc[1]:end], 0o444); err != nil {
			tb.Fatal(err)
		}
	}
}

// telWant is what one GPU of a fixture must read as; nil: absent. Values
// are the fixture's own, converted (µW → W, m°C → °C, Hz → MHz).
type telWant struct {
	power, edge, junction, mem, busy, sclk, mclk, energy *float64
	window                                               bool // power averaged over a second by the firmware
}

// check compares every field, so that a value a fixture lacks is checked
// to be absent, not zero.
func (w telWant) check(t *testing.T, tel Telemetry, window time.Duration) {
	t.Helper()
	checkValue(t, "power", tel.PowerW, w.power)
	checkValue(t, "edge", tel.TempEdgeC, w.edge)
	checkValue(t, "junction", tel.TempJunctionC, w.junction)
	checkValue(t, "mem", tel.TempMemoryC, w.mem)
	checkValue(t, "busy", tel.BusyPercent, w.busy)
	checkValue(t, "sclk", tel.CoreClockMHz, w.sclk)
	checkValue(t, "mclk", tel.MemClockMHz, w.mclk)
	checkValue(t, "energy", tel.EnergyJ, w.energy)
	if (tel.PowerWindow == window) != w.window {
		t.Errorf("power window %v, want averaged (%v): %v", tel.PowerWindow, window, w.window)
	}
}

func f(v float64) *float64 { return &v }

func sysfsFixtureWants() map[string]telWant {
	return map[string]telWant{
		// radeon driver: no power, an unlabelled temp1 only.
		"lact-hd7870.txt":     {},
		"lact-phoenix.txt":    {power: f(3.103), window: true, edge: f(25), busy: f(0), sclk: f(800)},
		"lact-r7-240.txt":     {edge: f(52), sclk: f(400), mclk: f(1150)},
		"lact-r9-280.txt":     {edge: f(37), sclk: f(300), mclk: f(150)},
		"lact-rx5500xt.txt":   {power: f(16), window: true, edge: f(48), junction: f(48), busy: f(0), sclk: f(31), mclk: f(875)}, // mem reads 0: absent
		"lact-rx5700xt.txt":   {power: f(29), window: true, edge: f(58), junction: f(58), mem: f(62), busy: f(0), sclk: f(10), mclk: f(875)},
		"lact-rx580.txt":      {power: f(41.045), window: true, edge: f(44), busy: f(11), sclk: f(798.08), mclk: f(1750)},
		"lact-rx6600.txt":     {power: f(3), window: true, edge: f(28), junction: f(28), mem: f(26), busy: f(0), sclk: f(20), mclk: f(96)},
		"lact-rx6600xt.txt":   {power: f(3), window: true, edge: f(35), junction: f(35), mem: f(36), busy: f(0), sclk: f(0), mclk: f(96)},
		"lact-rx6900xt.txt":   {power: f(36), window: true, edge: f(56), junction: f(59), mem: f(54), busy: f(3), sclk: f(500), mclk: f(1000)},
		"lact-rx7600s.txt":    {power: f(1), window: true, edge: f(53), junction: f(54), mem: f(60), busy: f(0), sclk: f(0), mclk: f(96)},
		"lact-rx7700s.txt":    {power: f(1), window: true, edge: f(34), junction: f(34), mem: f(42), busy: f(0), sclk: f(0), mclk: f(96)},
		"lact-rx7800xt.txt":   {power: f(32), window: true, edge: f(24), junction: f(31), mem: f(48), busy: f(2), sclk: f(2011), mclk: f(456)},
		"lact-rx7900xtx.txt":  {power: f(68), window: true, edge: f(53), junction: f(61), mem: f(68), busy: f(3), sclk: f(31), mclk: f(1249)},
		"lact-rx9070.txt":     {power: f(49), window: true, edge: f(48), junction: f(52), mem: f(72), busy: f(25), sclk: f(900), mclk: f(1124)},
		"lact-rx9070xt.txt":   {power: f(55), window: true, edge: f(42), junction: f(45), mem: f(68), busy: f(3), sclk: f(167), mclk: f(1258)},
		"lact-strixpoint.txt": {power: f(9.087), window: true, edge: f(38), busy: f(3), sclk: f(848)},
		// Steam Deck: power1 is slowPPT (average and input); average wins.
		"lact-vangogh.txt": {power: f(3.218), window: true, edge: f(56), busy: f(0), sclk: f(200)},
		"lact-vega56.txt":  {power: f(8), window: true, edge: f(38), junction: f(38), mem: f(39), busy: f(0), sclk: f(26), mclk: f(167)},
	}
}

func checkValue(t *testing.T, field string, got Value, want *float64) {
	t.Helper()
	switch {
	case want == nil && got.Set:
		t.Errorf("%s = %v, want absent", field, got.V)
	case want != nil && !got.Set:
		t.Errorf("%s absent, want %v", field, *want)
	case want != nil && !approx(got.V, *want):
		t.Errorf("%s = %v, want %v", field, got.V, *want)
	}
}

func approx(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}

// TestSysfsTelemetryFixtures reads every LACT snapshot through Sysfs as a
// tree on disk. Where the snapshot lacks the VRAM files (LACT trimmed
// them), the test adds them: Sysfs offers only cards whose VRAM it can
// read, and the telemetry is what is under test.
func TestSysfsTelemetryFixtures(t *testing.T) {
	wants := sysfsFixtureWants()
	seen := 0
	for _, path := range telemetryFixtures(t, "amdgpu-sysfs") {
		name := filepath.Base(path)
		if !strings.HasPrefix(name, "lact-") {
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			want, ok := wants[name]
			if !ok {
				t.Fatalf("no expectation for %s: add one to sysfsFixtureWants", name)
			}
			root := t.TempDir()
			snap := readShared(t, path)
			materialise(t, snap, root)
			cards, _ := filepath.Glob(filepath.Join(root, "class", "drm", "card*", "device"))
			if len(cards) != 1 {
				t.Fatalf("snapshot has %d cards, want 1", len(cards))
			}
			dev := cards[0]
			if bytes.Contains(snap, []byte("hwmon/hwmon")) && !bytes.Contains(snap, []byte("/name <==\namdgpu")) {
				// radeon: not an amdgpu card; VRAM files would be a lie.
				s := &Sysfs{Root: root}
				if s.Detect() {
					t.Fatal("a radeon card without mem_info files was detected")
				}
				got := (&Sysfs{}).readTelemetryLocked(ptr(discoverHwmon(dev)))
				if got.Any() {
					t.Fatalf("radeon telemetry %+v, want none (unlabelled sensors)", got)
				}
				return
			}
			for _, file := range []string{"mem_info_vram_total", "mem_info_vram_used"} {
				if _, err := os.Stat(filepath.Join(dev, file)); err != nil {
					if err := os.WriteFile(filepath.Join(dev, file), []byte("1024\n"), 0o444); err != nil {
						t.Fatal(err)
					}
				}
			}
			gpus, err := (&Sysfs{Root: root}).Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(gpus) != 1 {
				t.Fatalf("got %d GPUs, want 1", len(gpus))
			}
			want.check(t, gpus[0].Telemetry, SysfsPowerWindow)
		})
	}
	if seen != len(wants) {
		t.Errorf("%d LACT snapshots, %d expectations", seen, len(wants))
	}
}

func ptr[T any](v T) *T { return &v }

// TestSysfsTelemetryIssueExcerpts builds trees from what the issue
// excerpts show (file lists and values; they are not snapshots) and
// checks the reading each implies.
func TestSysfsTelemetryIssueExcerpts(t *testing.T) {
	files := map[string]bool{}
	for _, p := range telemetryFixtures(t, "amdgpu-sysfs") {
		if strings.HasPrefix(filepath.Base(p), "issue-") {
			files[filepath.Base(p)] = true
		}
	}
	// value extracts the line after a `cat`/`read` of name from an excerpt.
	value := func(t *testing.T, file, re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindSubmatch(readShared(t, filepath.Join(sharedFixtures, "telemetry", "amdgpu-sysfs", file)))
		if m == nil {
			t.Fatalf("%s: no match for %s", file, re)
		}
		return string(m[1])
	}
	cases := []struct {
		file  string
		tree  func(t *testing.T) map[string]string // hwmon file -> content
		check func(t *testing.T, tel Telemetry)
	}{
		{
			// RX 9060: power1_average, no power1_input.
			file: "issue-amdgpu-fan-41-rx9060-hwmon-ls.txt",
			tree: func(t *testing.T) map[string]string {
				ls := string(readShared(t, filepath.Join(sharedFixtures, "telemetry", "amdgpu-sysfs", "issue-amdgpu-fan-41-rx9060-hwmon-ls.txt")))
				tree := map[string]string{}
				for _, l := range strings.Fields(ls) {
					if strings.HasPrefix(l, "power1_") || l == "name" {
						tree[l] = "7000000\n"
					}
				}
				if _, ok := tree["power1_input"]; ok {
					t.Fatal("the listing has power1_input; this case is about its absence")
				}
				return tree
			},
			check: func(t *testing.T, tel Telemetry) {
				checkValue(t, "power", tel.PowerW, f(7))
				if tel.PowerWindow != SysfsPowerWindow {
					t.Errorf("window %v", tel.PowerWindow)
				}
			},
		},
		{
			// Radeon VII, 2019: no *_label files at all. Nothing labelled,
			// so no temperature or clock; power still reads.
			file: "issue-gpu-utils-8-radeon-vii-2019-hwmon-files.txt",
			tree: func(t *testing.T) map[string]string {
				list := value(t, "issue-gpu-utils-8-radeon-vii-2019-hwmon-files.txt", `files: ([^\n]*)`)
				tree := map[string]string{}
				for _, f := range strings.Split(list, ", ") {
					tree[strings.TrimSpace(f)] = "40000\n"
				}
				return tree
			},
			check: func(t *testing.T, tel Telemetry) {
				checkValue(t, "power", tel.PowerW, f(0.04))
				checkValue(t, "edge", tel.TempEdgeC, nil)
				checkValue(t, "sclk", tel.CoreClockMHz, nil)
			},
		},
		{
			// A clock that is not whole MHz, and power1_average.
			file: "issue-lm-sensors-261-values.txt",
			tree: func(t *testing.T) map[string]string {
				return map[string]string{
					"name": "amdgpu\n", "freq1_label": "sclk\n", "freq2_label": "mclk\n",
					"freq1_input":    value(t, "issue-lm-sensors-261-values.txt", `freq1_input\n(\d+)`) + "\n",
					"freq2_input":    value(t, "issue-lm-sensors-261-values.txt", `freq2_input \n(\d+)`) + "\n",
					"power1_average": value(t, "issue-lm-sensors-261-values.txt", `power1_average \n(\d+)`) + "\n",
				}
			},
			check: func(t *testing.T, tel Telemetry) {
				checkValue(t, "sclk", tel.CoreClockMHz, f(351.59))
				checkValue(t, "mclk", tel.MemClockMHz, f(300))
				checkValue(t, "power", tel.PowerW, f(9.103))
			},
		},
		{
			file: "issue-nvtop-183-rx6700xt-junction.txt",
			tree: func(t *testing.T) map[string]string {
				return map[string]string{
					"name":        "amdgpu\n",
					"temp2_label": value(t, "issue-nvtop-183-rx6700xt-junction.txt", `temp2_label \n(\w+)`) + "\n",
					"temp2_input": value(t, "issue-nvtop-183-rx6700xt-junction.txt", `temp2_input \n(\d+)`) + "\n",
				}
			},
			check: func(t *testing.T, tel Telemetry) {
				checkValue(t, "junction", tel.TempJunctionC, f(33))
				checkValue(t, "edge", tel.TempEdgeC, nil)
			},
		},
		{
			// strace of one read: the whole attribute in one read(2).
			file: "issue-vitals-320-strace-power1_average.txt",
			tree: func(t *testing.T) map[string]string {
				v := value(t, "issue-vitals-320-strace-power1_average.txt", `read\(3, "(\d+)\\n"`)
				return map[string]string{"name": "amdgpu\n", "power1_average": v + "\n"}
			},
			check: func(t *testing.T, tel Telemetry) { checkValue(t, "power", tel.PowerW, f(28)) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			if !files[tc.file] {
				t.Fatalf("%s is not among the shared fixtures", tc.file)
			}
			delete(files, tc.file)
			dev := filepath.Join(t.TempDir(), "device")
			hw := filepath.Join(dev, "hwmon", "hwmon0")
			if err := os.MkdirAll(hw, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, content := range tc.tree(t) {
				if err := os.WriteFile(filepath.Join(hw, name), []byte(content), 0o444); err != nil {
					t.Fatal(err)
				}
			}
			tc.check(t, (&Sysfs{}).readTelemetryLocked(ptr(discoverHwmon(dev))))
		})
	}
	for f := range files {
		t.Errorf("issue excerpt %s has no case", f)
	}
}
