package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// chartAxis is a setting a sweep varied, for a chart: its values in the
// sweep's order and a cell's value among them.
type chartAxis struct {
	name   string
	values []string
	of     func(*benchdv1.SweepCell) string
}

// sweptAxes are the settings b's sweep varied over two values or more,
// slowest first.
func sweptAxes(b *benchdv1.Benchmark) []chartAxis {
	w := settings(b).GetSweep()
	var out []chartAxis
	if ms := w.GetModels(); len(ms) > 1 {
		out = append(out, chartAxis{"model", ms, (*benchdv1.SweepCell).GetModel})
	}
	for _, a := range sweepAxes {
		if vs := a.values(w); len(vs) > 1 {
			out = append(out, chartAxis{a.name, vs, func(c *benchdv1.SweepCell) string { return optU32(a.of(c)) }})
		}
	}
	return out
}

// objectiveMetric is the figure of a cell's summary the objective judges,
// with its axis label and scale (TTFT in milliseconds).
func objectiveMetric(o benchdv1.SweepObjective) (label string, get func(*benchdv1.BenchmarkFinished) *benchdv1.Summary, scale float64) {
	switch o {
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_PROMPT_EVAL_RATE:
		return "prompt eval rate, tok/s", (*benchdv1.BenchmarkFinished).GetPromptEvalRate, 1
	case benchdv1.SweepObjective_SWEEP_OBJECTIVE_TTFT:
		return "time to first token, ms", (*benchdv1.BenchmarkFinished).GetTtftNs, 1e-6
	}
	return "generation rate (eval), tok/s", (*benchdv1.BenchmarkFinished).GetEvalRate, 1
}

// Sizes of a sweep chart: 1200 pixels wide; a row of up to two setting
// panels and the VRAM panel are 400 pixels high each (800 for one or two
// swept settings, as Chart).
const (
	sweepPanelHeight = 4 * vg.Inch
	sweepColumns     = 2
	// maxSeriesLegend is the most lines a panel names in its legend; more
	// would cover the panel.
	maxSeriesLegend = 8
)

// SweepChart draws a sweep: for each setting it varied, the objective's
// figure (generation rate by default; mean ± 1 stddev) against the
// setting's values, a line for each combination of the other settings and
// the best cell ringed; below, per cell, the peak VRAM sampled and the
// model's memory from ollama's /api/ps (all of it, and the part in VRAM: a
// gap between them is what spilled to the CPU). Failed cells are named
// there.
func SweepChart(w io.Writer, format ChartFormat, b *benchdv1.Benchmark) error {
	if !IsSweep(b) {
		return errors.New("chart: not a sweep")
	}
	axes := sweptAxes(b)
	var panels []*plot.Plot
	for _, a := range axes {
		p, err := axisPanel(b, a, axes)
		if err != nil {
			return err
		}
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		// One cell (or lists of one value): its figure by cell.
		p, err := axisPanel(b, chartAxis{"cell", cellNames(b), func(c *benchdv1.SweepCell) string { return fmt.Sprint(c.GetIndex()) }}, nil)
		if err != nil {
			return err
		}
		panels = append(panels, p)
	}
	vram, err := cellVRAMPanel(b)
	if err != nil {
		return err
	}

	cols := min(len(panels), sweepColumns)
	rows := (len(panels) + cols - 1) / cols
	height := sweepPanelHeight * vg.Length(rows+1)
	c, canvas, err := newCanvas(format, chartWidth, height)
	if err != nil {
		return err
	}
	drawGrid(canvas, height, panels, cols)
	vram.Draw(draw.Crop(canvas, panelPad, -panelPad, panelPad, -(height - sweepPanelHeight)))
	_, err = c.WriteTo(w)
	return err
}

// panelPad is the space around and between a chart's panels.
const panelPad = vg.Length(8)

// drawGrid draws panels from the top of a canvas height high, in rows of
// cols panels sweepPanelHeight high.
func drawGrid(canvas draw.Canvas, height vg.Length, panels []*plot.Plot, cols int) {
	width := chartWidth - 2*panelPad
	cellW := (width - panelPad*vg.Length(cols-1)) / vg.Length(cols)
	for i, p := range panels {
		r, col := i/cols, i%cols
		left := panelPad + vg.Length(col)*(cellW+panelPad)
		top := height - panelPad - vg.Length(r)*sweepPanelHeight
		p.Draw(draw.Crop(canvas, left, -(chartWidth - left - cellW), top-sweepPanelHeight+panelPad, -(height - top)))
	}
}

// cellNames are the cells' indexes as text, for a panel by cell.
func cellNames(b *benchdv1.Benchmark) []string {
	out := make([]string, len(b.GetCells()))
	for i, c := range b.GetCells() {
		out[i] = fmt.Sprint(c.GetIndex())
	}
	return out
}

// axisPanel draws the objective's figure of each succeeded cell against
// axis a: one series per combination of the other swept settings.
func axisPanel(b *benchdv1.Benchmark, a chartAxis, axes []chartAxis) (*plot.Plot, error) {
	f := b.GetFinished()
	label, get, scale := objectiveMetric(sweepObjective(b))
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s by %s", label, a.name)
	p.Title.TextStyle.Font.Size = 12
	p.X.Label.Text = a.name
	p.Y.Label.Text = label + " (mean ± 1 stddev)"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())

	// A series is the cells that agree on every other swept setting.
	type series struct {
		name string
		pts  plotter.XYs
		errs plotter.YErrors
		best plotter.XYs
	}
	var order []string
	byKey := map[string]*series{}
	for _, c := range b.GetCells() {
		s := c.GetSummary()
		m := get(s)
		x := slices.Index(a.values, a.of(c))
		if c.GetStatus() != benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED || m.GetN() == 0 || x < 0 {
			continue
		}
		var others []string
		for _, o := range axes {
			if o.name != a.name {
				others = append(others, o.name+"="+o.of(c))
			}
		}
		key := strings.Join(others, " ")
		sr := byKey[key]
		if sr == nil {
			sr = &series{name: key}
			byKey[key] = sr
			order = append(order, key)
		}
		pt := plotter.XY{X: float64(x), Y: m.GetMean() * scale}
		sr.pts = append(sr.pts, pt)
		sr.errs = append(sr.errs, struct{ Low, High float64 }{m.GetStddev() * scale, m.GetStddev() * scale})
		if isBest(f, c) {
			sr.best = append(sr.best, pt)
		}
	}
	ymax := 0.0
	for i, key := range order {
		sr := byKey[key]
		// Spread the series a little along x, so that error bars at one
		// value stay apart.
		shift := (float64(i) - float64(len(order)-1)/2) * 0.04
		for j := range sr.pts {
			sr.pts[j].X += shift
			ymax = max(ymax, sr.pts[j].Y+sr.errs[j].High)
		}
		for j := range sr.best {
			sr.best[j].X += shift
		}
		l, pts, err := plotter.NewLinePoints(sr.pts)
		if err != nil {
			return nil, err
		}
		l.LineStyle.Color, l.LineStyle.Width = plotutil.Color(i), vg.Points(1.5)
		pts.Color, pts.Shape, pts.Radius = plotutil.Color(i), draw.CircleGlyph{}, vg.Points(3)
		p.Add(l, pts)
		eb, err := plotter.NewYErrorBars(errPoints{XYs: sr.pts, YErrors: sr.errs})
		if err != nil {
			return nil, err
		}
		eb.Color, eb.CapWidth = plotutil.Color(i), vg.Points(8)
		p.Add(eb)
		if sr.best != nil {
			ring, err := plotter.NewScatter(sr.best)
			if err != nil {
				return nil, err
			}
			ring.Shape, ring.Radius, ring.Color = draw.RingGlyph{}, vg.Points(9), color.RGBA{R: 220, A: 255}
			p.Add(ring)
			p.Legend.Add("best cell", ring)
		}
		if key != "" && len(order) <= maxSeriesLegend {
			p.Legend.Add(key, l, pts)
		}
	}
	if len(order) == 0 {
		p.Title.Text += ": no cell succeeded"
	}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = 8
	p.NominalX(a.values...)
	p.X.Min, p.X.Max = -0.5, float64(len(a.values))-0.5
	if ymax <= 0 {
		ymax = 1
	}
	p.Y.Max = ymax * 1.3
	p.Y.Tick.Marker = plainTicks{}
	return p, nil
}

// cellVRAMPanel draws, per cell, three bars: the peak VRAM the sampler
// read during its trials, and the model's memory from /api/ps after them,
// all of it and the part in VRAM.
func cellVRAMPanel(b *benchdv1.Benchmark) (*plot.Plot, error) {
	p := plot.New()
	p.Title.TextStyle.Font.Size = 12
	p.X.Label.Text = "cell"
	cells := b.GetCells()
	top := 0.0
	for _, c := range cells {
		top = max(top, float64(c.GetPeakVramUsedBytes()), float64(c.GetModelSizeBytes()))
	}
	unit, div := "MiB", float64(1<<20)
	if top >= gib {
		unit, div = "GiB", gib
	}
	p.Title.Text = fmt.Sprintf("memory per cell, %s: peak VRAM sampled; the model as ollama's /api/ps put it, all of it and in VRAM", unit)
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	bars := []struct {
		name string
		get  func(*benchdv1.SweepCell) uint64
	}{
		{"peak VRAM sampled", (*benchdv1.SweepCell).GetPeakVramUsedBytes},
		{"model memory (/api/ps size)", (*benchdv1.SweepCell).GetModelSizeBytes},
		{"model in VRAM (/api/ps size_vram)", (*benchdv1.SweepCell).GetModelSizeVramBytes},
	}
	width := vg.Points(min(24, 600/float64(3*max(len(cells), 1))))
	for i, bar := range bars {
		vs := make(plotter.Values, len(cells))
		for j, c := range cells {
			vs[j] = float64(bar.get(c)) / div
		}
		bc, err := plotter.NewBarChart(vs, width)
		if err != nil {
			return nil, err
		}
		bc.Color = plotutil.Color(i)
		bc.LineStyle.Width = 0
		bc.Offset = vg.Length(i-1) * width
		p.Add(bc)
		p.Legend.Add(bar.name, bc)
	}
	var failed plotter.XYLabels
	names := make([]string, len(cells))
	for j, c := range cells {
		names[j] = fmt.Sprint(c.GetIndex())
		if isBest(b.GetFinished(), c) {
			names[j] += " *"
		}
		if c.GetStatus() != benchdv1.SweepCellStatus_SWEEP_CELL_STATUS_SUCCEEDED {
			failed.XYs = append(failed.XYs, plotter.XY{X: float64(j), Y: 0})
			failed.Labels = append(failed.Labels, "FAILED")
		}
	}
	ymax := top / div
	if ymax <= 0 {
		ymax = 1
		p.Title.Text += " (nothing recorded)"
	}
	p.Y.Max = ymax * 1.3
	if len(failed.Labels) > 0 {
		lbl, err := plotter.NewLabels(failed)
		if err != nil {
			return nil, err
		}
		for j := range lbl.TextStyle {
			lbl.TextStyle[j].Font.Size = 8
			lbl.TextStyle[j].Color = color.RGBA{R: 200, A: 255}
			lbl.TextStyle[j].Rotation = math.Pi / 2 // upright, so that it fits one cell's width
			lbl.TextStyle[j].XAlign, lbl.TextStyle[j].YAlign = text.XLeft, text.YCenter
		}
		lbl.Offset = vg.Point{Y: vg.Points(4)}
		p.Add(lbl)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = 8
	p.X.Min, p.X.Max = -0.6, float64(len(cells))-0.4
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = 8
	p.Y.Tick.Marker = plainTicks{}
	return p, nil
}
