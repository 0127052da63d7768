package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/benchd/benchd/internal/stats"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// ChartFormat is an image format of Chart.
type ChartFormat string

const (
	PNG ChartFormat = "png"
	SVG ChartFormat = "svg"
)

// ChartFormatOf picks the format from a file name's extension.
func ChartFormatOf(name string) (ChartFormat, error) {
	switch {
	case strings.HasSuffix(strings.ToLower(name), ".png"):
		return PNG, nil
	case strings.HasSuffix(strings.ToLower(name), ".svg"):
		return SVG, nil
	}
	return "", fmt.Errorf("%s: the chart's file name must end in .png or .svg", name)
}

// Chart sizes: 12×8 inches, which at the PNG's 100 dpi is 1200×800 pixels.
const (
	chartWidth  = 12 * vg.Inch
	chartHeight = 8 * vg.Inch
	chartDPI    = 100
)

// Chart draws runs side by side: on top the mean generation rate and the
// mean prompt eval rate of each run with ±1 stddev error bars over its
// measured trials (two panels, since prompt rates are often ten times
// generation rates and would flatten them on one axis; each run keeps its
// colour and place in both), below the VRAM timeline of vramRun.
func Chart(w io.Writer, format ChartFormat, runs []*benchdv1.Benchmark, vramRun *benchdv1.Benchmark) error {
	if len(runs) == 0 {
		return errors.New("chart: no benchmarks")
	}
	gen, err := ratePanel("generation rate (eval), tok/s", runs, func(t *benchdv1.Trial) float64 { return t.GetEvalRate() })
	if err != nil {
		return err
	}
	prompt, err := ratePanel("prompt eval rate, tok/s", runs, func(t *benchdv1.Trial) float64 { return t.GetPromptEvalRate() })
	if err != nil {
		return err
	}
	vram, err := vramPanel(vramRun)
	if err != nil {
		return err
	}
	power, hasPower, err := powerPanel(vramRun)
	if err != nil {
		return err
	}

	c, canvas, err := newCanvas(format, chartWidth, chartHeight)
	if err != nil {
		return err
	}

	const pad = vg.Length(8)
	top := draw.Crop(canvas, pad, -pad, chartHeight*0.45, -pad)
	bottom := draw.Crop(canvas, pad, -pad, pad, -(chartHeight*0.55 + pad))
	half := top.Rectangle.Size().X / 2
	gen.Draw(draw.Crop(top, 0, -(half + pad/2), 0, 0))
	prompt.Draw(draw.Crop(top, half+pad/2, 0, 0, 0))
	if hasPower {
		// VRAM above, power below, on the same time axis.
		h := bottom.Rectangle.Size().Y / 2
		vram.Draw(draw.Crop(bottom, 0, 0, h+pad/2, 0))
		power.Draw(draw.Crop(bottom, 0, 0, 0, -(h + pad/2)))
	} else {
		vram.Draw(bottom)
	}
	_, err = c.WriteTo(w)
	return err
}

// newCanvas is a white canvas of the size in format; c writes it out.
func newCanvas(format ChartFormat, width, height vg.Length) (c io.WriterTo, canvas draw.Canvas, err error) {
	switch format {
	case PNG:
		img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(chartDPI))
		c, canvas = vgimg.PngCanvas{Canvas: img}, draw.New(img)
	case SVG:
		svg := vgsvg.New(width, height)
		c, canvas = svgFallbacks{svg}, draw.New(svg)
	default:
		return nil, draw.Canvas{}, fmt.Errorf("chart: unknown format %q", format)
	}
	canvas.SetColor(color.White)
	canvas.Fill(canvas.Rectangle.Path())
	return c, canvas, nil
}

// The chart's text is in Liberation Sans, which has Arial's and
// Helvetica's metrics, so an SVG viewer without it that falls back to either
// (see svgFallbacks) lays text out as it was measured.
var chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

func init() { plot.DefaultFont, plotter.DefaultFont = chartFont, chartFont }

// svgFallbacks writes the SVG with fallback fonts: gonum names only the
// font it measured with. (Embedding the font instead makes a 0.5 MB file
// that some renderers, librsvg among them, ignore anyway.)
type svgFallbacks struct{ c *vgsvg.Canvas }

func (s svgFallbacks) WriteTo(w io.Writer) (int64, error) {
	var buf bytes.Buffer
	if _, err := s.c.WriteTo(&buf); err != nil {
		return 0, err
	}
	out := bytes.ReplaceAll(buf.Bytes(), []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	n, err := w.Write(out)
	return int64(n), err
}

// runLabel names a run on the x axis: the model (and "cold" for a cold
// run), then the time and hash of its id.
func runLabel(b *benchdv1.Benchmark) string {
	model := Model(b)
	if settings(b).GetCold() {
		model += " (cold)"
	}
	id := ID(b)
	when, hash, ok := strings.Cut(id, "-")
	if t, err := time.Parse("20060102T150405Z", when); ok && err == nil {
		return fmt.Sprintf("%s\n%s\n%s", model, t.Format("2006-01-02 15:04:05Z"), hash)
	}
	return model + "\n" + id
}

// errPoints are points with vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

func ratePanel(title string, runs []*benchdv1.Benchmark, value func(*benchdv1.Trial) float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 12
	p.Y.Label.Text = "tok/s (mean ± 1 stddev)"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	names := make([]string, len(runs))
	ymax := 0.0
	for i, b := range runs {
		names[i] = runLabel(b)
		var vs []float64
		for _, t := range Measured(b) {
			vs = append(vs, value(t))
		}
		s := stats.Summarize(vs)
		if s.N == 0 {
			continue
		}
		bar, err := plotter.NewBarChart(plotter.Values{s.Mean}, vg.Points(60))
		if err != nil {
			return nil, err
		}
		bar.XMin = float64(i)
		bar.Color = plotutil.Color(i)
		bar.LineStyle.Width = vg.Points(0.5)
		p.Add(bar)
		if s.N > 1 {
			eb, err := plotter.NewYErrorBars(errPoints{
				XYs:     plotter.XYs{{X: float64(i), Y: s.Mean}},
				YErrors: plotter.YErrors{{Low: s.Stddev, High: s.Stddev}},
			})
			if err != nil {
				return nil, err
			}
			eb.LineStyle.Width = vg.Points(1.5)
			eb.CapWidth = vg.Points(14)
			p.Add(eb)
		}
		top := s.Mean + s.Stddev
		ymax = max(ymax, top)
		lbl, err := plotter.NewLabels(plotter.XYLabels{
			XYs:    plotter.XYs{{X: float64(i), Y: top}},
			Labels: []string{fmt.Sprintf("%.1f ± %.1f (n=%d)", s.Mean, s.Stddev, s.N)},
		})
		if err != nil {
			return nil, err
		}
		for j := range lbl.TextStyle {
			lbl.TextStyle[j].XAlign = text.XCenter
			lbl.TextStyle[j].Font.Size = 9
		}
		lbl.Offset = vg.Point{Y: vg.Points(4)}
		p.Add(lbl)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = 9
	p.X.Min, p.X.Max = -0.6, float64(len(runs))-0.4
	if ymax <= 0 {
		ymax = 1
	}
	p.Y.Max = ymax * 1.15
	p.Y.Tick.Marker = plainTicks{}
	return p, nil
}

// plainTicks are the default ticks with labels free of needless decimals
// ("2500", not "2500.00").
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', -1, 64)
		}
	}
	return ticks
}

const gib = 1 << 30

func vramPanel(b *benchdv1.Benchmark) (*plot.Plot, error) {
	p := plot.New()
	p.Title.TextStyle.Font.Size = 12
	p.X.Label.Text = "seconds since the benchmark started"
	p.Y.Label.Text = "VRAM used, GiB"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	samples := b.GetVramTimeline()
	if len(samples) == 0 {
		p.Title.Text = fmt.Sprintf("VRAM timeline of %s (%s): no samples recorded (sampling off, or no GPU found)", ID(b), Model(b))
		p.X.Max, p.Y.Max = 1, 1
		return p, nil
	}
	p.Title.Text = fmt.Sprintf("VRAM used during %s (%s), %d samples", ID(b), Model(b), len(samples))
	t0 := ts(b.GetStarted().GetStartedAt())
	if first := ts(samples[0].GetSampledAt()); t0.IsZero() || first.Before(t0) {
		t0 = first
	}
	secs := func(s *benchdv1.VRAMSample) float64 { return ts(s.GetSampledAt()).Sub(t0).Seconds() }

	// A line per GPU and trial: between trials nothing is sampled, and a
	// line across the gap would show readings that were never taken.
	type key struct{ gpu, trial uint32 }
	lines := map[key]plotter.XYs{}
	var order []uint32
	var keys []key
	ymax, xmax := 0.0, 0.0
	for _, s := range samples {
		x := secs(s)
		xmax = max(xmax, x)
		for _, g := range s.GetGpus() {
			if !slices.Contains(order, g.GetIndex()) {
				order = append(order, g.GetIndex())
			}
			k := key{g.GetIndex(), s.GetTrialIndex()}
			if _, ok := lines[k]; !ok {
				keys = append(keys, k)
			}
			y := float64(g.GetUsedBytes()) / gib
			ymax = max(ymax, y)
			lines[k] = append(lines[k], plotter.XY{X: x, Y: y})
		}
	}
	slices.Sort(order)
	names := map[uint32]string{}
	for _, g := range b.GetStarted().GetGpus() {
		names[g.GetIndex()] = fmt.Sprintf("%s, %.1f GiB total", g.GetName(), float64(g.GetTotalBytes())/gib)
	}
	if ymax <= 0 {
		ymax = 1
	}
	p.Y.Max = ymax * 1.25

	// Where each trial's samples begin.
	type mark struct {
		x      float64
		label  string
		warmup bool
	}
	warm := map[uint32]bool{}
	for _, t := range b.GetTrials() {
		warm[t.GetIndex()] = t.GetWarmup()
	}
	var marks []mark
	for i, s := range samples {
		if i == 0 || s.GetTrialIndex() != samples[i-1].GetTrialIndex() {
			l := fmt.Sprintf("trial %d", s.GetTrialIndex())
			if warm[s.GetTrialIndex()] {
				l = fmt.Sprintf("warm-up %d", s.GetTrialIndex())
			}
			marks = append(marks, mark{secs(s), l, warm[s.GetTrialIndex()]})
		}
	}
	for _, m := range marks {
		l, err := plotter.NewLine(plotter.XYs{{X: m.x, Y: 0}, {X: m.x, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		l.LineStyle.Color = color.Gray{Y: 150}
		if m.warmup {
			l.LineStyle.Color = color.RGBA{R: 230, G: 160, B: 60, A: 255}
		}
		l.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
	}
	if len(marks) <= 20 {
		xys := make(plotter.XYs, len(marks))
		labels := make([]string, len(marks))
		for i, m := range marks {
			xys[i] = plotter.XY{X: m.x, Y: p.Y.Max}
			labels[i] = m.label
		}
		lbl, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return nil, err
		}
		for j := range lbl.TextStyle {
			lbl.TextStyle[j].Font.Size = 8
			lbl.TextStyle[j].YAlign = text.YTop
			lbl.TextStyle[j].Color = color.Gray{Y: 90}
		}
		lbl.Offset = vg.Point{X: vg.Points(2), Y: -vg.Points(2)}
		p.Add(lbl)
	}

	for i, idx := range order {
		var first []plot.Thumbnailer
		for _, k := range keys {
			if k.gpu != idx {
				continue
			}
			l, pts, err := plotter.NewLinePoints(lines[k])
			if err != nil {
				return nil, err
			}
			l.LineStyle.Color = plotutil.Color(i)
			l.LineStyle.Width = vg.Points(1.5)
			pts.Color = plotutil.Color(i)
			pts.Shape = draw.CircleGlyph{}
			pts.Radius = vg.Points(2)
			p.Add(l, pts)
			if first == nil {
				first = []plot.Thumbnailer{l, pts}
			}
		}
		name := names[idx]
		if name == "" {
			name = "used"
		}
		p.Legend.Add(fmt.Sprintf("GPU %d: %s", idx, name), first...)
	}
	// Bottom right: usage climbs from 0, so that corner is rarely drawn on.
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = vg.Points(8)
	if xmax <= 0 {
		xmax = 1
	}
	p.X.Min, p.X.Max = 0, xmax*1.02
	p.X.Tick.Marker = durationTicks{}
	return p, nil
}

// durationTicks labels seconds compactly (0.5, 1, 1m30s).
type durationTicks struct{}

func (durationTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label == "" {
			continue
		}
		if v := ticks[i].Value; math.Abs(v) >= 120 {
			ticks[i].Label = (time.Duration(v * float64(time.Second))).Round(time.Second).String()
		}
	}
	return ticks
}
