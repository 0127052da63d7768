package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/benchd/benchd/internal/stats"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// DefaultAlpha is the significance level of Compare: a difference with a
// p-value below it is reported as real.
const DefaultAlpha = 0.05

// Metric is one per-trial quantity that Compare tests.
type Metric struct {
	Key  string // as in the proto: "eval_rate"
	Name string // for people: "gen tok/s"
	// Better is +1 when higher is better (rates), -1 when lower is.
	Better int
	kind   unitKind
	value  func(*benchdv1.Trial) float64
}

// Metrics are the metrics Compare tests, the headline ones first.
var Metrics = []Metric{
	{"eval_rate", "gen tok/s", +1, rateKind, func(t *benchdv1.Trial) float64 { return t.GetEvalRate() }},
	{"prompt_eval_rate", "prompt tok/s", +1, rateKind, func(t *benchdv1.Trial) float64 { return t.GetPromptEvalRate() }},
	{"ttft_ns", "ttft", -1, durationKind, func(t *benchdv1.Trial) float64 { return float64(t.GetTtftNs()) }},
	{"wall_ns", "wall", -1, durationKind, func(t *benchdv1.Trial) float64 { return float64(t.GetWallNs()) }},
	{"load_duration_ns", "load", -1, durationKind, func(t *benchdv1.Trial) float64 { return float64(t.GetLoadDurationNs()) }},
	{"peak_vram_used_bytes", "peak VRAM", -1, bytesKind, func(t *benchdv1.Trial) float64 { return float64(t.GetPeakVramUsedBytes()) }},
}

// Verdicts of a MetricDelta.
const (
	NoDifference = "no significant difference"
	Faster       = "faster"
	Slower       = "slower"
	MoreMemory   = "more memory"
	LessMemory   = "less memory"
	NotTestable  = "not testable"
)

// Sample is one run's values of a metric over its measured trials.
type Sample struct {
	N      int     `json:"n"`
	Mean   float64 `json:"mean"`
	Stddev float64 `json:"stddev"`
}

// MetricDelta compares one metric of a run with the base run.
type MetricDelta struct {
	Metric string `json:"metric"`
	Name   string `json:"name"`
	Base   Sample `json:"base"`
	Run    Sample `json:"run"`
	// DeltaPct is the change of the mean, in percent of the base's mean;
	// nil when the base's mean is 0.
	DeltaPct *float64 `json:"delta_pct"`
	// Welch's t-test of equal means: t, degrees of freedom and the
	// two-sided p-value; nil where the test has no answer (fewer than
	// two trials, or both runs constant).
	T       *float64 `json:"t"`
	DF      *float64 `json:"df"`
	P       *float64 `json:"p"`
	Verdict string   `json:"verdict"`
	// Significant is true when P < alpha.
	Significant bool `json:"significant"`
	kind        unitKind
	better      int
}

// RunComparison compares one run with the base run.
type RunComparison struct {
	Base    string        `json:"base"`
	Run     string        `json:"run"`
	Model   string        `json:"model"`
	Metrics []MetricDelta `json:"metrics"`
	// Overall sums up the headline metrics (generation and prompt rate).
	Overall string `json:"overall"`
	// Notes say what differs between the runs besides chance: model,
	// settings, machine.
	Notes []string `json:"notes,omitempty"`
}

// Comparison is the result of Compare.
type Comparison struct {
	Base     string          `json:"base"`
	Model    string          `json:"model"`
	Alpha    float64         `json:"alpha"`
	Test     string          `json:"test"`
	Runs     []RunComparison `json:"runs"`
	baseRec  *benchdv1.Benchmark
	otherRec []*benchdv1.Benchmark
}

func fp(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Compare tests each metric of each run against base with Welch's t-test
// over the per-trial values of the measured trials, and gives a verdict at
// significance level alpha.
func Compare(base *benchdv1.Benchmark, runs []*benchdv1.Benchmark, alpha float64) *Comparison {
	c := &Comparison{Base: ID(base), Model: Model(base), Alpha: alpha, Test: "Welch's t-test (two-sided)", baseRec: base, otherRec: runs}
	baseT := Measured(base)
	for _, r := range runs {
		rc := RunComparison{Base: ID(base), Run: ID(r), Model: Model(r), Notes: differences(base, r)}
		runT := Measured(r)
		for _, m := range Metrics {
			rc.Metrics = append(rc.Metrics, compareMetric(m, values(baseT, m), values(runT, m), alpha))
		}
		rc.Overall = overall(rc.Metrics[:2], alpha)
		c.Runs = append(c.Runs, rc)
	}
	return c
}

func values(ts []*benchdv1.Trial, m Metric) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = m.value(t)
	}
	return out
}

func compareMetric(m Metric, a, b []float64, alpha float64) MetricDelta {
	sa, sb := stats.Summarize(a), stats.Summarize(b)
	d := MetricDelta{
		Metric: m.Key, Name: m.Name,
		Base: Sample{N: sa.N, Mean: sa.Mean, Stddev: sa.Stddev},
		Run:  Sample{N: sb.N, Mean: sb.Mean, Stddev: sb.Stddev},
		kind: m.kind, better: m.Better,
	}
	if sa.N > 0 && sa.Mean != 0 {
		d.DeltaPct = fp((sb.Mean - sa.Mean) / math.Abs(sa.Mean) * 100)
	}
	t, df, p := stats.WelchT(b, a) // t > 0: the run's mean is the larger
	d.T, d.DF, d.P = fp(t), fp(df), fp(p)
	switch {
	case sa.N < 2 || sb.N < 2:
		d.Verdict = NotTestable
	case math.IsNaN(p):
		// Both runs constant and equal: nothing differs.
		d.Verdict = NoDifference
	case p >= alpha:
		d.Verdict = NoDifference
	default:
		d.Significant = true
		higher := sb.Mean > sa.Mean
		switch {
		case m.kind == bytesKind && higher:
			d.Verdict = MoreMemory
		case m.kind == bytesKind:
			d.Verdict = LessMemory
		case higher == (m.Better > 0):
			d.Verdict = Faster
		default:
			d.Verdict = Slower
		}
	}
	return d
}

// describe is a metric's verdict with its change and p-value:
// "faster (+12.3%, p=0.002)".
func (d MetricDelta) describe() string {
	var extra []string
	if d.DeltaPct != nil && d.Verdict != NotTestable {
		extra = append(extra, fmt.Sprintf("%+.1f%%", *d.DeltaPct))
	}
	if d.P != nil {
		extra = append(extra, "p="+pValue(*d.P))
	}
	if d.Verdict == NotTestable {
		extra = append(extra, "needs ≥2 measured trials in each run")
	}
	if len(extra) == 0 {
		return d.Verdict
	}
	return fmt.Sprintf("%s (%s)", d.Verdict, strings.Join(extra, ", "))
}

func pValue(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

// overall sums up the headline metrics: no difference, faster, slower or
// mixed.
func overall(head []MetricDelta, alpha float64) string {
	var faster, slower, untestable []string
	for _, d := range head {
		switch d.Verdict {
		case Faster:
			faster = append(faster, d.Name+" "+d.describe())
		case Slower:
			slower = append(slower, d.Name+" "+d.describe())
		case NotTestable:
			untestable = append(untestable, d.Name)
		}
	}
	switch {
	case len(untestable) == len(head):
		return "not testable: each run needs at least 2 measured trials"
	case len(faster) > 0 && len(slower) > 0:
		return "mixed: " + strings.Join(append(faster, slower...), "; ")
	case len(faster) > 0:
		return "faster: " + strings.Join(faster, "; ")
	case len(slower) > 0:
		return "slower: " + strings.Join(slower, "; ")
	}
	return fmt.Sprintf("no significant difference in generation or prompt speed (α=%g)", alpha)
}

// differences lists what differs between two runs other than chance.
func differences(a, b *benchdv1.Benchmark) []string {
	var out []string
	diff := func(what, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("different %s: %s vs %s", what, x, y))
		}
	}
	diff("model", Model(a), Model(b))
	diff("model digest", short(trimDigest(a.GetStarted().GetModelInfo().GetDigest()), 12), short(trimDigest(b.GetStarted().GetModelInfo().GetDigest()), 12))
	if x, y := settingsDiff(a, b); x != "" || y != "" {
		diff("settings", x, y)
	}
	diff("ollama", a.GetStarted().GetOllamaVersion(), b.GetStarted().GetOllamaVersion())
	diff("host", a.GetStarted().GetMachine().GetHostname(), b.GetStarted().GetMachine().GetHostname())
	for _, r := range []*benchdv1.Benchmark{a, b} {
		if s := State(r); s != "SUCCEEDED" {
			out = append(out, fmt.Sprintf("%s is %s: only its %d stored measured trials count", ID(r), s, len(Measured(r))))
		}
	}
	return out
}

// settingsDiff returns the parts of each run's settings line that the
// other lacks, leaving out the number of trials, which may differ without
// making runs incomparable.
func settingsDiff(a, b *benchdv1.Benchmark) (onlyA, onlyB string) {
	parts := func(r *benchdv1.Benchmark) []string {
		return slices.DeleteFunc(strings.Split(settingsLine(r), ", "), func(p string) bool {
			return p == "" || strings.HasPrefix(p, "reps ") || strings.HasPrefix(p, "warm-up ")
		})
	}
	pa, pb := parts(a), parts(b)
	var xa, xb []string
	for _, p := range pa {
		if !slices.Contains(pb, p) {
			xa = append(xa, p)
		}
	}
	for _, p := range pb {
		if !slices.Contains(pa, p) {
			xb = append(xb, p)
		}
	}
	return strings.Join(xa, ", "), strings.Join(xb, ", ")
}

// WriteComparisonTable prints a comparison for a person.
func WriteComparisonTable(w io.Writer, c *Comparison) error {
	fmt.Fprintf(w, "base %s  %s  %d measured trials\n", c.Base, c.Model, len(Measured(c.baseRec)))
	for i, rc := range c.Runs {
		fmt.Fprintf(w, "\nvs   %s  %s  %d measured trials\n", rc.Run, rc.Model, len(Measured(c.otherRec[i])))
		for _, n := range rc.Notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "metric\tbase mean ± sd\tthis mean ± sd\tdelta\tp\tverdict")
		for _, d := range rc.Metrics {
			delta, p := "-", "-"
			if d.DeltaPct != nil {
				delta = fmt.Sprintf("%+.1f%%", *d.DeltaPct)
			}
			if d.P != nil {
				p = pValue(*d.P)
			}
			verdict := d.Verdict
			if d.Significant && d.DeltaPct != nil {
				verdict = fmt.Sprintf("%s (%+.1f%%)", d.Verdict, *d.DeltaPct)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, sampleText(d.Base, d.kind), sampleText(d.Run, d.kind), delta, p, verdict)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "overall: %s\n", rc.Overall)
	}
	_, err := fmt.Fprintf(w, "\n%s over the measured trials' values; a p-value under %g counts as a real difference.\n", c.Test, c.Alpha)
	return err
}

func sampleText(s Sample, k unitKind) string {
	if s.N == 0 {
		return "-"
	}
	return k.format(s.Mean) + " ± " + k.format(s.Stddev)
}

// WriteComparisonMarkdown writes a comparison as markdown tables.
func WriteComparisonMarkdown(w io.Writer, c *Comparison) error {
	for i, rc := range c.Runs {
		fmt.Fprintf(w, "### `%s` vs base `%s`\n\n", rc.Run, c.Base)
		fmt.Fprintf(w, "%s, %d vs %d measured trials. **Overall: %s.**\n\n", rc.Model, len(Measured(c.otherRec[i])), len(Measured(c.baseRec)), rc.Overall)
		for _, n := range rc.Notes {
			fmt.Fprintf(w, "- note: %s\n", n)
		}
		if len(rc.Notes) > 0 {
			fmt.Fprintln(w)
		}
		mdHeader(w, "metric", ">base mean ± sd", ">this mean ± sd", ">delta", ">p", "verdict")
		for _, d := range rc.Metrics {
			delta, p := "-", "-"
			if d.DeltaPct != nil {
				delta = fmt.Sprintf("%+.1f%%", *d.DeltaPct)
			}
			if d.P != nil {
				p = pValue(*d.P)
			}
			mdRow(w, d.Name, sampleText(d.Base, d.kind), sampleText(d.Run, d.kind), delta, p, d.Verdict)
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintf(w, "%s over the measured trials' values; p < %g counts as a real difference.\n", c.Test, c.Alpha)
	return err
}

// WriteComparisonJSON writes a comparison as JSON.
func WriteComparisonJSON(w io.Writer, c *Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}
