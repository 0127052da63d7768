package vram

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SysfsPowerWindow is how long amdgpu's power1_average is averaged over:
// the SMU firmware reports a running average of about a second (the
// driver's documentation calls it "average power"). power1_input, where an
// APU has it, is the instantaneous reading.
const SysfsPowerWindow = time.Second

// hwmonFiles are the telemetry attributes one card has, found and opened
// once at discovery and then read with one pread(2) each, as the VRAM
// counters are (attrFile): a sample reads up to eight of them, and
// open/read/close of each by path tripled what a SampleVRAM of a card with
// hwmon cost. nil: absent.
type hwmonFiles struct {
	power       *attrFile // µW
	powerWindow time.Duration
	energy      *attrFile // µJ
	edge        *attrFile // m°C
	junction    *attrFile
	mem         *attrFile
	busy        *attrFile // %
	sclk        *attrFile // Hz
	mclk        *attrFile
}

func (f *hwmonFiles) all() []**attrFile {
	return []**attrFile{&f.power, &f.energy, &f.edge, &f.junction, &f.mem, &f.busy, &f.sclk, &f.mclk}
}

func (f *hwmonFiles) close() {
	for _, a := range f.all() {
		if *a != nil {
			(*a).f.Close()
		}
	}
}

// held opens path for hwmonFiles; nil when it cannot be opened.
func held(path string) *attrFile {
	a, err := openAttr(path)
	if err != nil {
		return nil
	}
	return a
}

// discoverHwmon finds the telemetry attributes of the amdgpu device
// directory dev: device/gpu_busy_percent and the hwmon directory's files.
//
// Temperatures and clocks are taken only where a *_label names them
// (temp: edge, junction, mem; freq: sclk, mclk): kernels before the labels
// existed, and the radeon driver, number their sensors differently, and a
// guessed sensor is worse than none. Power is power1_average (what the
// SMU averages, and what tools such as rocm-smi show) and else
// power1_input.
func discoverHwmon(dev string) hwmonFiles {
	var f hwmonFiles
	if exists(filepath.Join(dev, "gpu_busy_percent")) {
		f.busy = held(filepath.Join(dev, "gpu_busy_percent"))
	}
	dirs, _ := filepath.Glob(filepath.Join(dev, "hwmon", "hwmon*"))
	slices.Sort(dirs)
	for _, dir := range dirs {
		if !exists(filepath.Join(dir, "name")) {
			continue
		}
		switch {
		case exists(filepath.Join(dir, "power1_average")):
			f.power, f.powerWindow = held(filepath.Join(dir, "power1_average")), SysfsPowerWindow
		case exists(filepath.Join(dir, "power1_input")):
			f.power = held(filepath.Join(dir, "power1_input"))
		}
		if p := filepath.Join(dir, "energy1_input"); exists(p) {
			f.energy = held(p)
		}
		labels, _ := filepath.Glob(filepath.Join(dir, "*_label"))
		for _, l := range labels {
			b, err := os.ReadFile(l)
			if err != nil {
				continue
			}
			input := strings.TrimSuffix(l, "_label") + "_input"
			if !exists(input) {
				continue
			}
			kind := strings.TrimRight(strings.TrimSuffix(filepath.Base(l), "_label"), "0123456789")
			switch label := strings.TrimSpace(string(b)); {
			case kind == "temp" && label == "edge":
				f.edge = held(input)
			case kind == "temp" && label == "junction":
				f.junction = held(input)
			case kind == "temp" && label == "mem":
				f.mem = held(input)
			case kind == "freq" && label == "sclk":
				f.sclk = held(input)
			case kind == "freq" && label == "mclk":
				f.mclk = held(input)
			}
		}
		// amdgpu has one hwmon directory per device.
		break
	}
	return f
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readTelemetryLocked reads f's attributes. A file that fails to read
// leaves its field absent: some kernels refuse power1_average while the
// GPU sleeps, and telemetry must never cost the VRAM reading. A held file
// that was replaced (a fixture tree off sysfs) is opened again by its path.
func (s *Sysfs) readTelemetryLocked(f *hwmonFiles) Telemetry {
	var t Telemetry
	read := func(a *attrFile, scale float64) Value {
		if a == nil {
			return Value{}
		}
		b, err := s.readHeldLocked(a)
		if errors.Is(err, errReplaced) {
			if na, oerr := openAttr(a.path); oerr == nil {
				a.f.Close()
				*a = *na
				b, err = s.readHeldLocked(a)
			}
		}
		if err != nil {
			return Value{}
		}
		n, ok := parseIntLine(b)
		if !ok {
			return Value{}
		}
		return Of(float64(n) * scale)
	}
	t.PowerW = read(f.power, 1e-6)
	t.PowerWindow = f.powerWindow
	t.EnergyJ = read(f.energy, 1e-6)
	t.TempEdgeC = nonZero(read(f.edge, 1e-3))
	t.TempJunctionC = nonZero(read(f.junction, 1e-3))
	t.TempMemoryC = nonZero(read(f.mem, 1e-3))
	t.BusyPercent = read(f.busy, 1)
	t.CoreClockMHz = read(f.sclk, 1e-6)
	t.MemClockMHz = read(f.mclk, 1e-6)
	return t.sane()
}

// parseIntLine is parseUintLine with an optional minus sign: hwmon
// temperatures are signed.
func parseIntLine(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	v, ok := parseUintLine(b)
	if !ok || v > 1<<62 {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}

// nonZero drops a temperature of exactly 0 °C: amdgpu reports that for a
// labelled sensor the board lacks (the RX 5500 XT's "mem" reads 0 beside a
// 48 °C edge; shared/fixtures/telemetry lact-rx5500xt), and no running GPU
// is at the freezing point to the millidegree.
func nonZero(v Value) Value {
	if v.Set && v.V == 0 {
		return Value{}
	}
	return v
}
