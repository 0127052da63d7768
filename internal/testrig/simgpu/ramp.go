// Package simgpu is benchd's real sysfs reader over a simulated amdgpu
// tree whose power follows a known function of time, for tests of energy
// figures end to end. (Apart from testrig, which the vram package's own
// tests import.)
package simgpu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/internal/vram"
)

// PowerRamp is benchd's sysfs reader over a simulated tree whose card's
// power1_average follows Power(t), t the time since Start: before each read
// the file is written for the instant the reader then stamps the reading
// with, so the readings are exactly Power at their SampledAt and a test
// can compare energy figures with the exact integral of Power.
type PowerRamp struct {
	sysfs *vram.Sysfs
	file  string
	start time.Time
	power func(secs float64) float64

	mu  sync.Mutex
	now time.Time
}

var _ vram.Reader = (*PowerRamp)(nil)

// New lays out gpu under root and returns the ramp over it.
func New(root string, gpu testrig.SimGPU, power func(secs float64) float64) (*PowerRamp, error) {
	if err := testrig.SimulatedSysfs(root, gpu); err != nil {
		return nil, err
	}
	r := &PowerRamp{power: power, start: time.Now(),
		file: filepath.Join(root, "class", "drm", "card"+strconv.Itoa(gpu.Card), "device", "hwmon", "hwmon"+strconv.Itoa(gpu.Card+2), "power1_average")}
	r.sysfs = &vram.Sysfs{Root: root, Now: func() time.Time { return r.now }}
	return r, nil
}

// Start is the ramp's time zero.
func (r *PowerRamp) Start() time.Time { return r.start }

// Joules is the exact integral of Power from a to b, by Simpson's rule on
// a fine grid (exact for the polynomials tests use).
func (r *PowerRamp) Joules(a, b time.Time) float64 {
	const n = 1000
	x0, x1 := a.Sub(r.start).Seconds(), b.Sub(r.start).Seconds()
	h := (x1 - x0) / n
	sum := r.power(x0) + r.power(x1)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * r.power(x0+float64(i)*h)
	}
	return sum * h / 3
}

// Source is sysfs.
func (r *PowerRamp) Source() string { return vram.SourceSysfs }

// Read writes the power for now and reads the tree.
func (r *PowerRamp) Read(ctx context.Context) ([]vram.GPU, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = time.Now()
	if err := os.WriteFile(r.file, []byte(testrig.Micro(r.power(r.now.Sub(r.start).Seconds()))+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write simulated power: %w", err)
	}
	return r.sysfs.Read(ctx)
}
