package report

import (
	"fmt"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// powerPanel is the power drawn over the VRAM timeline's samples, on the
// same time axis as vramPanel; ok is false when no sample has power (the
// chart then keeps its VRAM-only layout).
func powerPanel(b *benchdv1.Benchmark) (p *plot.Plot, ok bool, err error) {
	samples := b.GetVramTimeline()
	t0 := ts(b.GetStarted().GetStartedAt())
	if len(samples) > 0 {
		if first := ts(samples[0].GetSampledAt()); t0.IsZero() || first.Before(t0) {
			t0 = first
		}
	}
	// A line per GPU and trial, as in vramPanel: nothing is sampled
	// between trials.
	type key struct{ gpu, trial uint32 }
	lines := map[key]plotter.XYs{}
	var keys []key
	var order []uint32
	ymax, xmax := 0.0, 0.0
	for _, s := range samples {
		x := ts(s.GetSampledAt()).Sub(t0).Seconds()
		xmax = max(xmax, x)
		for _, g := range s.GetGpus() {
			if g.PowerWatts == nil {
				continue
			}
			k := key{g.GetIndex(), s.GetTrialIndex()}
			if _, seen := lines[k]; !seen {
				keys = append(keys, k)
			}
			if !slices.Contains(order, g.GetIndex()) {
				order = append(order, g.GetIndex())
			}
			ymax = max(ymax, g.GetPowerWatts())
			lines[k] = append(lines[k], plotter.XY{X: x, Y: g.GetPowerWatts()})
		}
	}
	if len(keys) == 0 {
		return nil, false, nil
	}
	slices.Sort(order)
	p = plot.New()
	p.Title.TextStyle.Font.Size = 12
	p.Title.Text = "GPU power, W" + energyTitle(b.GetFinished().GetEnergy())
	p.X.Label.Text = "seconds since the benchmark started"
	p.Y.Label.Text = "power, W"
	p.Add(plotter.NewGrid())
	for i, idx := range order {
		labelled := false
		for _, k := range keys {
			if k.gpu != idx {
				continue
			}
			l, err := plotter.NewLine(lines[k])
			if err != nil {
				return nil, false, err
			}
			l.LineStyle.Color = plotutil.Color(i)
			l.LineStyle.Width = vg.Points(1.5)
			p.Add(l)
			if !labelled {
				p.Legend.Add(fmt.Sprintf("GPU %d", idx), l)
				labelled = true
			}
		}
	}
	if idle := b.GetStarted().GetIdlePower(); idle != nil {
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: idle.GetWatts()}, {X: xmax * 1.02, Y: idle.GetWatts()}})
		if err != nil {
			return nil, false, err
		}
		l.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("idle %.1f W", idle.GetWatts()), l)
	}
	p.Y.Min, p.Y.Max = 0, max(ymax, 1)*1.25
	p.X.Min, p.X.Max = 0, max(xmax, 1)*1.02
	p.X.Tick.Marker = durationTicks{}
	p.Legend.Top = true
	return p, true, nil
}

func energyTitle(e *benchdv1.Energy) string {
	if e == nil {
		return ""
	}
	s := fmt.Sprintf(" (measured trials: %.1f J", e.GetJoules())
	if e.JoulesPerOutputToken != nil {
		s += fmt.Sprintf(", %.3f J/token", e.GetJoulesPerOutputToken())
	}
	return s + ")"
}
