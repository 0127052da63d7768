// Package energy turns GPU power and energy readings, as a sampler took
// them during a span of work (a trial, a concurrency level), into joules,
// average and peak power and joules per output token.
package energy

import (
	"fmt"
	"math"
	"time"

	"github.com/benchd/benchd/internal/vram"
)

// Methods, as Span.Method reports them.
const (
	// MethodCounter: the difference of the GPUs' own energy counters.
	MethodCounter = "counter"
	// MethodIntegrated: power integrated over the samples.
	MethodIntegrated = "integrated"
)

// Span is what the GPUs drew during one span of work, summed over GPUs.
type Span struct {
	Joules float64
	// Start is when the span began; zero for a Sum.
	Start time.Time
	// Net is Joules less the idle baseline times Duration; absent without
	// a baseline.
	Net          vram.Value
	AvgW, PeakW  float64
	Duration     time.Duration
	Method       string
	Samples      int
	OutputTokens int
	// ShortWindow, when not empty, says that the span is shorter than the
	// power sensor's averaging window.
	ShortWindow string
}

// PerToken is joules per output token; absent without output tokens.
func (s Span) PerToken() vram.Value {
	if s.OutputTokens <= 0 {
		return vram.Value{}
	}
	return vram.Of(s.Joules / float64(s.OutputTokens))
}

// TokensPerJoule is the inverse of PerToken; absent without tokens or
// energy.
func (s Span) TokensPerJoule() vram.Value {
	if s.OutputTokens <= 0 || s.Joules <= 0 {
		return vram.Value{}
	}
	return vram.Of(float64(s.OutputTokens) / s.Joules)
}

// NetPerToken is net joules per output token.
func (s Span) NetPerToken() vram.Value {
	if s.OutputTokens <= 0 || !s.Net.Set {
		return vram.Value{}
	}
	return vram.Of(s.Net.V / float64(s.OutputTokens))
}

// point is one GPU's reading at one time.
type point struct {
	at     time.Time
	power  vram.Value
	energy vram.Value
}

// Of computes the span [start, end] from samples taken during it. Each
// GPU's energy is the difference of its energy counter between its first
// and last sample where every sample has one and it never goes back,
// else the trapezoid integral of its power; before its first and after its
// last sample its power is held (the first sample is taken as the span
// starts, the last at most one interval before it ends). baselineW is the
// idle power (all GPUs) for Net. ok is false when no GPU reported power.
func Of(samples []vram.Sample, start, end time.Time, baselineW vram.Value) (Span, bool) {
	series := map[int][]point{}
	var order []int
	peak := 0.0
	window := time.Duration(0)
	for _, smp := range samples {
		sum, any := 0.0, false
		for _, g := range smp.GPUs {
			at := g.SampledAt
			if at.IsZero() {
				at = smp.At
			}
			if _, ok := series[g.Index]; !ok {
				order = append(order, g.Index)
			}
			series[g.Index] = append(series[g.Index], point{at: at, power: g.Telemetry.PowerW, energy: g.Telemetry.EnergyJ})
			if g.Telemetry.PowerW.Set {
				sum, any = sum+g.Telemetry.PowerW.V, true
				window = max(window, g.Telemetry.PowerWindow)
			}
		}
		if any {
			peak = max(peak, sum)
		}
	}
	s := Span{Start: start, Duration: end.Sub(start), Method: MethodCounter, PeakW: peak}
	found := false
	for _, idx := range order {
		pts := powered(series[idx])
		if len(pts) == 0 {
			continue
		}
		found = true
		s.Samples = max(s.Samples, len(pts))
		j, counted := counter(series[idx])
		if !counted {
			j = trapezoid(pts)
			s.Method = MethodIntegrated
		}
		first, last := pts[0], pts[len(pts)-1]
		if d := first.at.Sub(start); d > 0 {
			j += first.power.V * d.Seconds()
		}
		if d := end.Sub(last.at); d > 0 {
			j += last.power.V * d.Seconds()
		}
		s.Joules += j
	}
	if !found {
		return Span{}, false
	}
	if secs := s.Duration.Seconds(); secs > 0 {
		s.AvgW = s.Joules / secs
	}
	if baselineW.Set {
		s.Net = vram.Of(s.Joules - baselineW.V*s.Duration.Seconds())
	}
	if window > 0 && s.Duration < window {
		s.ShortWindow = fmt.Sprintf("the span (%v) is shorter than the power sensor's %v averaging window: its readings mostly reflect what came before", s.Duration.Round(time.Millisecond), window)
	}
	return s, true
}

// powered is the points that have a power reading.
func powered(pts []point) []point {
	out := make([]point, 0, len(pts))
	for _, p := range pts {
		if p.power.Set {
			out = append(out, p)
		}
	}
	return out
}

// counter is the energy counter's rise over pts, when every point has the
// counter, there are two or more, and it never decreases (a wrap or a
// driver reload makes it useless).
func counter(pts []point) (float64, bool) {
	if len(pts) < 2 {
		return 0, false
	}
	for i, p := range pts {
		if !p.energy.Set || (i > 0 && p.energy.V < pts[i-1].energy.V) {
			return 0, false
		}
	}
	return pts[len(pts)-1].energy.V - pts[0].energy.V, true
}

// trapezoid integrates power over time, in joules.
func trapezoid(pts []point) float64 {
	j := 0.0
	for i := 1; i < len(pts); i++ {
		dt := pts[i].at.Sub(pts[i-1].at).Seconds()
		if dt > 0 {
			j += (pts[i].power.V + pts[i-1].power.V) / 2 * dt
		}
	}
	return j
}

// Baseline is the mean over samples of the GPUs' summed power: the idle
// power when the samples were taken while nothing ran. ok is false when
// no sample has power.
func Baseline(samples []vram.Sample) (watts float64, n int, ok bool) {
	total := 0.0
	for _, smp := range samples {
		sum, any := 0.0, false
		for _, g := range smp.GPUs {
			if g.Telemetry.PowerW.Set {
				sum, any = sum+g.Telemetry.PowerW.V, true
			}
		}
		if any {
			total += sum
			n++
		}
	}
	if n == 0 {
		return 0, 0, false
	}
	return total / float64(n), n, true
}

// Sum adds spans (a sweep cell's trials): joules, net joules (only when
// every span has them), durations, samples and tokens add up, the peak is
// the highest, the method is "counter" only when every span's is, and the
// spans shorter than their window are counted.
func Sum(spans []Span) (Span, bool) {
	if len(spans) == 0 {
		return Span{}, false
	}
	out := Span{Method: MethodCounter, Net: vram.Of(0)}
	short := 0
	for _, s := range spans {
		out.Joules += s.Joules
		out.Duration += s.Duration
		out.Samples += s.Samples
		out.OutputTokens += s.OutputTokens
		out.PeakW = math.Max(out.PeakW, s.PeakW)
		if s.Method != MethodCounter {
			out.Method = MethodIntegrated
		}
		if s.Net.Set && out.Net.Set {
			out.Net.V += s.Net.V
		} else {
			out.Net = vram.Value{}
		}
		if s.ShortWindow != "" {
			short++
		}
	}
	if secs := out.Duration.Seconds(); secs > 0 {
		out.AvgW = out.Joules / secs
	}
	if short > 0 {
		out.ShortWindow = fmt.Sprintf("%d of %d trials are shorter than the power sensor's averaging window", short, len(spans))
	}
	return out, true
}
