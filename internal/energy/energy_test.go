package energy_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/energy"
	"github.com/benchd/benchd/internal/vram"
)

// rampTree is a simulated amdgpu sysfs tree whose power1_average (and,
// with counter, energy1_input) follow a known function of simulated time:
// read i happens at t0 + i*dt, and the files are written for that instant
// just before Sysfs reads them. After n reads it blocks until the sampler
// is stopped, so the test knows exactly which samples were taken without
// sleeping.
type rampTree struct {
	sysfs   *vram.Sysfs
	hwmon   string
	t0      time.Time
	dt      time.Duration
	n       int
	power   func(secs float64) float64 // W
	energy  func(secs float64) float64 // J, the exact integral
	counter bool

	i    int
	now  time.Time
	done chan struct{}
	once sync.Once
}

func newRampTree(t *testing.T, n int, dt time.Duration, power, energy func(float64) float64, counter bool) *rampTree {
	t.Helper()
	root := t.TempDir()
	dev := filepath.Join(root, "class", "drm", "card0", "device")
	hw := filepath.Join(dev, "hwmon", "hwmon2")
	if err := os.MkdirAll(hw, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{
		filepath.Join(dev, "vendor"):              "0x1002\n",
		filepath.Join(dev, "mem_info_vram_total"): "17163091968\n",
		filepath.Join(dev, "mem_info_vram_used"):  "1073741824\n",
		filepath.Join(hw, "name"):                 "amdgpu\n",
		filepath.Join(hw, "power1_average"):       "0\n",
	} {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if counter {
		if err := os.WriteFile(filepath.Join(hw, "energy1_input"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &rampTree{hwmon: hw, t0: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), dt: dt, n: n,
		power: power, energy: energy, counter: counter, done: make(chan struct{})}
	r.sysfs = &vram.Sysfs{Root: root, Now: func() time.Time { return r.now }}
	return r
}

func (r *rampTree) Source() string { return vram.SourceSysfs }

func (r *rampTree) Read(ctx context.Context) ([]vram.GPU, error) {
	if r.i == r.n {
		r.once.Do(func() { close(r.done) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	r.now = r.t0.Add(time.Duration(r.i) * r.dt)
	secs := r.now.Sub(r.t0).Seconds()
	// The kernel prints whole microwatts and microjoules.
	if err := os.WriteFile(filepath.Join(r.hwmon, "power1_average"), []byte(strconv.FormatInt(int64(r.power(secs)*1e6), 10)+"\n"), 0o644); err != nil {
		return nil, err
	}
	if r.counter {
		if err := os.WriteFile(filepath.Join(r.hwmon, "energy1_input"), []byte(strconv.FormatInt(int64(r.energy(secs)*1e6), 10)+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	r.i++
	return r.sysfs.Read(ctx)
}

// sample runs the real sampler over the tree until it has read it n
// times.
func (r *rampTree) sample(t *testing.T) []vram.Sample {
	t.Helper()
	s, err := vram.StartSampler(t.Context(), r, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-r.done
	res := s.Stop()
	if len(res.Samples) != r.n || res.Failures != 0 {
		t.Fatalf("%d samples, %d failures (%v); want %d samples", len(res.Samples), res.Failures, res.FirstErr, r.n)
	}
	return res.Samples
}

// TestRampIntegral: a trial of 10 s sampled at 4 Hz while power climbs
// linearly from 80 W to 280 W and then falls as a quadratic arc; the
// integral must be within 1% of the exact one.
func TestRampIntegral(t *testing.T) {
	const n = 41 // 0 s … 10 s at 250 ms
	power := func(s float64) float64 {
		if s <= 6 {
			return 80 + 200*s/6
		}
		return 280 - 10*(s-6)*(s-6)
	}
	exact := func(s float64) float64 {
		if s <= 6 {
			return 80*s + 100*s*s/6
		}
		d := s - 6
		return 80*6 + 100*36/6.0 + 280*d - 10*d*d*d/3
	}
	for _, counter := range []bool{false, true} {
		name := map[bool]string{false: energy.MethodIntegrated, true: energy.MethodCounter}[counter]
		t.Run(name, func(t *testing.T) {
			r := newRampTree(t, n, 250*time.Millisecond, power, exact, counter)
			samples := r.sample(t)
			end := r.t0.Add(10 * time.Second)
			span, ok := energy.Of(samples, r.t0, end, vram.Of(50))
			if !ok {
				t.Fatal("no power found in the samples")
			}
			want := exact(10)
			if rel := math.Abs(span.Joules-want) / want; rel > 0.01 {
				t.Fatalf("energy %.3f J, exact %.3f J: off by %.3f%%", span.Joules, want, 100*rel)
			}
			if span.Method != name || span.Samples != n || span.Duration != 10*time.Second {
				t.Fatalf("method %q samples %d duration %v", span.Method, span.Samples, span.Duration)
			}
			if math.Abs(span.PeakW-280) > 1e-6 || math.Abs(span.AvgW-span.Joules/10) > 1e-9 {
				t.Fatalf("peak %v W avg %v W", span.PeakW, span.AvgW)
			}
			if math.Abs(span.Net.V-(span.Joules-500)) > 1e-9 || span.ShortWindow != "" {
				t.Fatalf("net %+v short %q", span.Net, span.ShortWindow)
			}
			span.OutputTokens = 1000
			if jpt := span.PerToken(); !jpt.Set || math.Abs(jpt.V*1000-span.Joules) > 1e-9 {
				t.Fatalf("J/token %+v", jpt)
			}
			t.Logf("%s: %.2f J (exact %.2f J), avg %.1f W, peak %.1f W, %.4f J/token, %.2f tokens/J",
				name, span.Joules, want, span.AvgW, span.PeakW, span.PerToken().V, span.TokensPerJoule().V)
		})
	}
}

// TestShortTrialFlagged: a span under the sensor's one-second window is
// flagged; a longer one is not.
func TestShortTrialFlagged(t *testing.T) {
	r := newRampTree(t, 3, 200*time.Millisecond, func(float64) float64 { return 100 }, nil, false)
	samples := r.sample(t)
	span, ok := energy.Of(samples, r.t0, r.t0.Add(500*time.Millisecond), vram.Value{})
	if !ok || span.ShortWindow == "" || span.Net.Set {
		t.Fatalf("ok %v short %q net %+v: want flagged, no net without baseline", ok, span.ShortWindow, span.Net)
	}
	if math.Abs(span.Joules-50) > 1e-6 {
		t.Fatalf("constant 100 W for 0.5 s gave %v J", span.Joules)
	}
	if long, _ := energy.Of(samples, r.t0, r.t0.Add(2*time.Second), vram.Value{}); long.ShortWindow != "" {
		t.Fatalf("2 s span flagged: %s", long.ShortWindow)
	}
}

// TestNoPowerIsAbsent: samples without power give no span at all, not a
// zero one.
func TestNoPowerIsAbsent(t *testing.T) {
	at := time.Now()
	samples := []vram.Sample{{At: at, GPUs: []vram.GPU{{Index: 0, UsedBytes: 1, SampledAt: at}}}}
	if s, ok := energy.Of(samples, at, at.Add(time.Second), vram.Of(10)); ok {
		t.Fatalf("got %+v from samples without power", s)
	}
	if _, _, ok := energy.Baseline(samples); ok {
		t.Fatal("baseline from samples without power")
	}
}

func TestSum(t *testing.T) {
	a := energy.Span{Joules: 10, Net: vram.Of(4), PeakW: 30, Duration: time.Second, Method: energy.MethodCounter, Samples: 5, OutputTokens: 20}
	b := energy.Span{Joules: 30, PeakW: 50, Duration: 3 * time.Second, Method: energy.MethodIntegrated, Samples: 13, OutputTokens: 60, ShortWindow: "x"}
	s, ok := energy.Sum([]energy.Span{a, b})
	if !ok || s.Joules != 40 || s.Net.Set || s.PeakW != 50 || s.Duration != 4*time.Second || s.Method != energy.MethodIntegrated ||
		s.AvgW != 10 || s.OutputTokens != 80 || s.PerToken().V != 0.5 || s.ShortWindow != "1 of 2 trials are shorter than the power sensor's averaging window" {
		t.Fatalf("%+v", s)
	}
}
