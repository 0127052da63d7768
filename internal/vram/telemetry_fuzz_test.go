package vram

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// seedTelemetry adds every shared fixture of one tool as a seed, when the
// shared folder is there (fuzzing is run by hand, never in CI).
func seedTelemetry(f *testing.F, tool string, extra ...string) {
	files, _ := filepath.Glob(filepath.Join(sharedFixtures, "telemetry", tool, "*"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// checkTelemetry is what every successful telemetry parse promises: at
// least one GPU, indices non-negative, every value sane (so sane changes
// nothing) and a power window only with a power reading.
func checkTelemetry(t *testing.T, got map[int]Telemetry, err error) {
	t.Helper()
	if err != nil {
		if got != nil {
			t.Fatalf("readings %+v returned with error %v", got, err)
		}
		return
	}
	if len(got) == 0 {
		t.Fatal("success with no GPUs")
	}
	for idx, tel := range got {
		if idx < 0 {
			t.Fatalf("index %d", idx)
		}
		if tel != tel.sane() {
			t.Fatalf("GPU %d: insane reading %+v", idx, tel)
		}
	}
}

func FuzzParseRocmSMITelemetry(f *testing.F) {
	seedTelemetry(f, "rocm-smi",
		`{"card0": {"Average Graphics Package Power (W)": "N/A (Secondary die)", "Current Socket Graphics Package Power (W)": "1e400", "sclk clock speed:": "(12.5Mhz)"}}`,
		`{"card1": {"Temperature (Sensor mem) (c)": -3, "GPU use (%)": "101", "Accumulated Energy (uJ)": "123456789"}}`)
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseRocmSMITelemetry(in)
		checkTelemetry(t, got, err)
	})
}

func FuzzParseAMDSMITelemetry(f *testing.F) {
	seedTelemetry(f, "amd-smi",
		`{"gpu_data": [{"gpu": 0, "usage": "N/A", "clock": {"gfx_0": {"clk": {"value": 2, "unit": "GHz"}}}, "energy": {"total_energy_consumption": {"value": 5, "unit": "uJ"}}}]}`,
		`[{"gpu": 1, "temperature": {"edge": 1e3, "hotspot": {"value": "x"}}}]`)
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseAMDSMITelemetry(in)
		checkTelemetry(t, got, err)
	})
}

func FuzzParseNvidiaSMITelemetry(f *testing.F) {
	seedTelemetry(f, "nvidia-smi",
		"index, power.draw [W], total_energy_consumption [mJ], temperature.gpu, utilization.gpu [%]\n0, 70.5, 123456, 45, [N/A]\n1, [Not Supported], N/A, 40, 3\n",
		"power.draw.instant [W], power.draw.average [W]\n1 W, 2 W\n")
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := ParseNvidiaSMITelemetry(in)
		checkTelemetry(t, got, err)
	})
}

// FuzzSysfsTelemetry writes fuzzed contents into the hwmon files and
// gpu_busy_percent: whatever they hold, the VRAM reading succeeds and the
// telemetry is sane or absent.
func FuzzSysfsTelemetry(f *testing.F) {
	f.Add([]byte("68000000\n"), []byte("53000\n"), []byte("3\n"), []byte("1249000000\n"))
	f.Add([]byte("-1\n"), []byte("-273150\n"), []byte("101"), []byte("99999999999999999999999"))
	f.Add([]byte(""), []byte("\x00"), []byte("N/A"), []byte("12 34"))
	root := f.TempDir()
	writeSysfs(f, root, amdCard(0, 1<<30, 1<<20))
	dev := filepath.Join(root, "class", "drm", "card0", "device")
	hw := filepath.Join(dev, "hwmon", "hwmon3")
	if err := os.MkdirAll(hw, 0o755); err != nil {
		f.Fatal(err)
	}
	write := func(t testing.TB, path string, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(f, filepath.Join(hw, "name"), []byte("amdgpu\n"))
	write(f, filepath.Join(hw, "temp1_label"), []byte("edge\n"))
	write(f, filepath.Join(hw, "freq2_label"), []byte("mclk\n"))
	for _, p := range []string{filepath.Join(hw, "power1_average"), filepath.Join(hw, "temp1_input"), filepath.Join(dev, "gpu_busy_percent"), filepath.Join(hw, "freq2_input")} {
		write(f, p, []byte("1\n"))
	}
	f.Fuzz(func(t *testing.T, power, temp, busy, clock []byte) {
		write(t, filepath.Join(hw, "power1_average"), power)
		write(t, filepath.Join(hw, "temp1_input"), temp)
		write(t, filepath.Join(dev, "gpu_busy_percent"), busy)
		write(t, filepath.Join(hw, "freq2_input"), clock)
		s := &Sysfs{Root: root}
		gpus, err := s.Read(context.Background())
		if err != nil || len(gpus) != 1 {
			t.Fatalf("VRAM read failed because of telemetry files: %v", err)
		}
		if tel := gpus[0].Telemetry; tel != tel.sane() {
			t.Fatalf("insane %+v", tel)
		}
	})
}
