package report

import (
	"cmp"
	"errors"
	"io"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// concurrencyPanels are the panels of a concurrency chart, in rows of two:
// throughput, then latencies (each its own axis: inter-token gaps are
// milliseconds where end-to-end latencies are seconds).
var concurrencyPanels = []struct {
	title string
	// series are a panel's lines: a name and the figure of a level.
	series []levelSeries
	// latency: the figures are nanoseconds, drawn in ms or s.
	latency bool
}{
	{"output tokens/s (all requests together)", []levelSeries{{"output tok/s", (*benchdv1.ConcurrencyLevel).GetOutputTokensPerSecond}}, false},
	{"requests/s", []levelSeries{{"req/s", (*benchdv1.ConcurrencyLevel).GetRequestsPerSecond}}, false},
	{"time to first token", percentileSeries((*benchdv1.ConcurrencyLevel).GetTtftNs), true},
	{"end-to-end latency", percentileSeries((*benchdv1.ConcurrencyLevel).GetE2ELatencyNs), true},
	{"inter-token latency", percentileSeries((*benchdv1.ConcurrencyLevel).GetItlNs), true},
	{"queue time (waiting for a parallel slot)", percentileSeries((*benchdv1.ConcurrencyLevel).GetQueueNs), true},
}

type levelSeries struct {
	name string
	get  func(*benchdv1.ConcurrencyLevel) float64
}

// percentileSeries are the p50 and p99 lines of a latency summary.
func percentileSeries(get func(*benchdv1.ConcurrencyLevel) *benchdv1.Summary) []levelSeries {
	return []levelSeries{
		{"p50", func(l *benchdv1.ConcurrencyLevel) float64 { return get(l).GetP50() }},
		{"p99", func(l *benchdv1.ConcurrencyLevel) float64 { return get(l).GetP99() }},
	}
}

// ConcurrencyChart draws a concurrency run against the requests in
// flight: on top the throughput (output tokens per second and requests
// per second, each over all requests of the level), below the latencies'
// p50 and p99 (time to first token, end to end, inter-token, queue time).
// Levels are placed in order of their requests in flight; a level where
// no request succeeded has no point. 1200×1200.
func ConcurrencyChart(w io.Writer, format ChartFormat, b *benchdv1.Benchmark) error {
	if !IsConcurrency(b) {
		return errors.New("chart: not a concurrency run")
	}
	levels := slices.Clone(b.GetLevels())
	slices.SortStableFunc(levels, func(x, y *benchdv1.ConcurrencyLevel) int { return cmp.Compare(x.GetConcurrency(), y.GetConcurrency()) })
	names := make([]string, len(levels))
	for i, l := range levels {
		names[i] = strconv.Itoa(int(l.GetConcurrency()))
	}
	// The throughput's x axis says how many ollama serves at once.
	slots := "requests in flight"
	switch v := b.GetStarted().GetOllamaNumParallel(); v {
	case "":
	case "default", "unknown":
		slots += " (ollama's parallel slots: " + v + ")"
	default:
		slots += " (OLLAMA_NUM_PARALLEL=" + v + ")"
	}
	var panels []*plot.Plot
	for _, cp := range concurrencyPanels {
		p := plot.New()
		p.Title.Text = cp.title
		p.Title.TextStyle.Font.Size = 12
		p.X.Label.Text = "requests in flight"
		if !cp.latency {
			p.X.Label.Text = slots
		}
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		scale, unit := 1.0, ""
		if cp.latency {
			scale, unit = latencyScale(levels, cp.series)
			p.Title.Text += ", p50 and p99"
		}
		p.Y.Label.Text = cp.series[0].name
		if unit != "" {
			p.Y.Label.Text = unit
		}
		ymax := 0.0
		for j, s := range cp.series {
			var pts plotter.XYs
			for x, l := range levels {
				if l.GetSucceeded() == 0 {
					continue
				}
				pts = append(pts, plotter.XY{X: float64(x), Y: s.get(l) * scale})
				ymax = max(ymax, s.get(l)*scale)
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return err
			}
			line.LineStyle.Color, line.LineStyle.Width = plotutil.Color(j), vg.Points(1.5)
			points.Color, points.Shape, points.Radius = plotutil.Color(j), draw.CircleGlyph{}, vg.Points(3)
			p.Add(line, points)
			if len(cp.series) > 1 {
				p.Legend.Add(s.name, line, points)
			}
		}
		if ymax <= 0 {
			ymax = 1
			p.Title.Text += " (nothing measured)"
		}
		p.Y.Max = ymax * 1.2
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.5, float64(max(len(names), 1))-0.5
		p.Legend.Top, p.Legend.Left = true, true
		p.Legend.TextStyle.Font.Size = 9
		p.Y.Tick.Marker = plainTicks{}
		panels = append(panels, p)
	}
	const cols = 2
	height := sweepPanelHeight * vg.Length((len(panels)+cols-1)/cols)
	c, canvas, err := newCanvas(format, chartWidth, height)
	if err != nil {
		return err
	}
	drawGrid(canvas, height, panels, cols)
	_, err = c.WriteTo(w)
	return err
}

// latencyScale picks milliseconds, or seconds once the panel's largest
// figure passes 10 s, for figures in nanoseconds.
func latencyScale(levels []*benchdv1.ConcurrencyLevel, series []levelSeries) (float64, string) {
	top := 0.0
	for _, l := range levels {
		for _, s := range series {
			top = max(top, s.get(l))
		}
	}
	if top >= 10e9 {
		return 1e-9, "s"
	}
	return 1e-6, "ms"
}
