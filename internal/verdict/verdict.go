// Package verdict judges a benchmark against the baseline of its
// fingerprint: the same model file, ollama, settings, GPUs and benchd. It
// is pure (records in, a verdict out) so that the daemon serves one answer
// to every client and tests can feed it synthetic histories.
package verdict

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/stats"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
	"github.com/benchd/benchd/proto/record"
)

// ErrNotComparable: the run is not a succeeded plain benchmark, the only
// kind a baseline is kept for (a sweep's or a concurrency run's summary
// mixes settings).
var ErrNotComparable = errors.New("not a succeeded plain benchmark")

// Comparable says why rec cannot be judged or pinned, or nil.
func Comparable(rec *benchdv1.Benchmark) error {
	switch {
	case rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED:
		return fmt.Errorf("benchmark %s is %s: %w", rec.GetBenchmarkId(), record.State(rec.GetState()), ErrNotComparable)
	case rec.GetSettings().GetSweep() != nil:
		return fmt.Errorf("benchmark %s is a sweep: %w", rec.GetBenchmarkId(), ErrNotComparable)
	case rec.GetSettings().GetConcurrency() != nil:
		return fmt.Errorf("benchmark %s is a concurrency run: %w", rec.GetBenchmarkId(), ErrNotComparable)
	}
	return nil
}

// Metric is a per-trial figure a check tests.
type Metric struct {
	Key  benchdv1.RegressionMetric
	Name string
	// HigherBetter: a rate. Otherwise a latency.
	HigherBetter bool
	Value        func(*benchdv1.Trial) float64
}

// Metrics are the metrics a check can test, in the order of the enum; all
// of them by default.
var Metrics = []Metric{
	{benchdv1.RegressionMetric_REGRESSION_METRIC_EVAL_RATE, "eval_rate", true, func(t *benchdv1.Trial) float64 { return t.GetEvalRate() }},
	{benchdv1.RegressionMetric_REGRESSION_METRIC_PROMPT_EVAL_RATE, "prompt_eval_rate", true, func(t *benchdv1.Trial) float64 { return t.GetPromptEvalRate() }},
	{benchdv1.RegressionMetric_REGRESSION_METRIC_TTFT, "ttft", false, func(t *benchdv1.Trial) float64 { return float64(t.GetTtftNs()) }},
}

func metricOf(k benchdv1.RegressionMetric) Metric {
	for _, m := range Metrics {
		if m.Key == k {
			return m
		}
	}
	panic(fmt.Sprintf("verdict: unknown metric %v", k)) // the proto's validation keeps others out
}

// Params are a check's parameters, defaults filled in by WithDefaults.
type Params struct {
	Metrics      []benchdv1.RegressionMetric
	Alpha        float64
	MinEffect    float64
	BaselineRuns int
}

// ParamsOf reads a request's parameters and fills in the defaults.
func ParamsOf(req *benchdv1.CheckRegressionRequest) Params {
	p := Params{
		Metrics:      req.GetMetrics(),
		Alpha:        defaults.RegressionAlpha,
		MinEffect:    defaults.RegressionMinEffect,
		BaselineRuns: defaults.RegressionBaselineRuns,
	}
	if len(p.Metrics) == 0 {
		for _, m := range Metrics {
			p.Metrics = append(p.Metrics, m.Key)
		}
	}
	if req.Alpha != nil {
		p.Alpha = req.GetAlpha()
	}
	if req.MinEffect != nil {
		p.MinEffect = req.GetMinEffect()
	}
	if req.BaselineRuns != nil {
		p.BaselineRuns = int(req.GetBaselineRuns())
	}
	return p
}

// Values are a metric's values over rec's measured, valid trials.
func Values(rec *benchdv1.Benchmark, m Metric) []float64 {
	var out []float64
	for _, t := range record.Measured(rec) {
		out = append(out, m.Value(t))
	}
	return out
}

// Judge checks cand against its pinned baseline (nil: none) or else, per
// metric, the median of recent: earlier succeeded runs of cand's
// fingerprint, newest first, at most p.BaselineRuns of them.
func Judge(cand, pinned *benchdv1.Benchmark, recent []*benchdv1.Benchmark, p Params) *benchdv1.CheckRegressionResponse {
	resp := &benchdv1.CheckRegressionResponse{
		BenchmarkId:    cand.GetBenchmarkId(),
		Fingerprint:    Fingerprint(cand),
		Alpha:          p.Alpha,
		MinEffect:      p.MinEffect,
		BaselineRuns:   uint32(p.BaselineRuns),
		MatchingRuns:   uint32(len(recent)),
		BaselineSource: benchdv1.BaselineSource_BASELINE_SOURCE_MEDIAN,
	}
	if pinned != nil {
		resp.BaselineSource = benchdv1.BaselineSource_BASELINE_SOURCE_PINNED
	} else if len(recent) == 0 {
		resp.BaselineSource = benchdv1.BaselineSource_BASELINE_SOURCE_NONE
	}
	// Bonferroni: each of the k metrics at alpha/k keeps the chance of any
	// false alarm at or under alpha, whatever their correlation.
	perMetric := p.Alpha / float64(len(p.Metrics))
	var unstable []string
	for _, k := range p.Metrics {
		m := metricOf(k)
		base := pinned
		if base == nil {
			base = median(recent, m)
		}
		mv := &benchdv1.MetricVerdict{Metric: k, Alpha: perMetric}
		if base == nil {
			mv.Verdict = benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE
			mv.Reason = "no earlier succeeded run of the same fingerprint"
		} else {
			mv.BaselineId = base.GetBenchmarkId()
			Test(mv, m, Values(base, m), Values(cand, m), perMetric, p.MinEffect)
			for side, s := range map[string]*benchdv1.Summary{"baseline": mv.GetBaseline(), "run": mv.GetCandidate()} {
				if s.GetCv() > stats.UnstableCV {
					unstable = append(unstable, fmt.Sprintf("%s cv %.1f%% in the %s", m.Name, 100*s.GetCv(), side))
				}
			}
		}
		resp.Metrics = append(resp.Metrics, mv)
	}
	slices.Sort(unstable)
	if len(unstable) > 0 {
		resp.Unstable = true
		resp.UnstableReason = strings.Join(unstable, "; ") + fmt.Sprintf(" (over %.0f%%)", 100*stats.UnstableCV)
	}
	resp.Verdict, resp.Reason = overall(resp.GetMetrics())
	return resp
}

// overall is the worst of the metrics' verdicts and a line saying why.
func overall(ms []*benchdv1.MetricVerdict) (benchdv1.RegressionVerdict, string) {
	var moved, incomparable []string
	worst := benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE
	rank := map[benchdv1.RegressionVerdict]int{
		benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE: 0,
		benchdv1.RegressionVerdict_REGRESSION_VERDICT_OK:           1,
		benchdv1.RegressionVerdict_REGRESSION_VERDICT_IMPROVED:     2,
		benchdv1.RegressionVerdict_REGRESSION_VERDICT_REGRESSED:    3,
	}
	for _, mv := range ms {
		name := metricOf(mv.GetMetric()).Name
		switch mv.GetVerdict() {
		case benchdv1.RegressionVerdict_REGRESSION_VERDICT_REGRESSED, benchdv1.RegressionVerdict_REGRESSION_VERDICT_IMPROVED:
			moved = append(moved, fmt.Sprintf("%s %s %+.1f%% (p=%.2g)", name, verdictWord(mv.GetVerdict()), 100*mv.GetChange(), mv.GetPValue()))
		case benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE:
			incomparable = append(incomparable, name+": "+mv.GetReason())
		}
		if rank[mv.GetVerdict()] > rank[worst] {
			worst = mv.GetVerdict()
		}
	}
	switch {
	case worst == benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE:
		return worst, strings.Join(incomparable, "; ")
	case len(moved) > 0:
		return worst, strings.Join(moved, "; ")
	}
	return worst, "no metric changed significantly by the minimum effect or more"
}

func verdictWord(v benchdv1.RegressionVerdict) string {
	return strings.ToLower(strings.TrimPrefix(v.String(), "REGRESSION_VERDICT_"))
}

// Test fills mv with Welch's t-test of cand against base at alpha: a
// change is REGRESSED or IMPROVED when it is significant (p < alpha) and
// at least minEffect of the baseline's mean; otherwise OK. Fewer than two
// values on a side is INCOMPARABLE.
func Test(mv *benchdv1.MetricVerdict, m Metric, base, cand []float64, alpha, minEffect float64) {
	sb, sc := stats.Summarize(base), stats.Summarize(cand)
	mv.Baseline, mv.Candidate = history.SummaryToProto(sb), history.SummaryToProto(sc)
	if sb.N < 2 || sc.N < 2 {
		mv.Verdict = benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE
		mv.Reason = fmt.Sprintf("%d measured trials in the baseline and %d in the run; 2 are needed on each side", sb.N, sc.N)
		return
	}
	if sb.Mean != 0 {
		mv.Change = (sc.Mean - sb.Mean) / math.Abs(sb.Mean)
	}
	t, df, p := stats.WelchT(cand, base)
	mv.Verdict = benchdv1.RegressionVerdict_REGRESSION_VERDICT_OK
	if math.IsNaN(p) {
		// Both sides constant and equal: nothing changed.
		mv.PValue = 1
		return
	}
	mv.T, mv.PValue = t, p
	if !math.IsNaN(df) {
		mv.Df = df
	}
	if p >= alpha || math.Abs(mv.Change) < minEffect {
		return
	}
	if (mv.Change > 0) == m.HigherBetter {
		mv.Verdict = benchdv1.RegressionVerdict_REGRESSION_VERDICT_IMPROVED
	} else {
		mv.Verdict = benchdv1.RegressionVerdict_REGRESSION_VERDICT_REGRESSED
	}
}

// median is the run among recent whose mean of m is the median (the lower
// one of an even count), among those with at least two values; nil if none.
func median(recent []*benchdv1.Benchmark, m Metric) *benchdv1.Benchmark {
	type run struct {
		rec  *benchdv1.Benchmark
		mean float64
	}
	var rs []run
	for _, r := range recent {
		if s := stats.Summarize(Values(r, m)); s.N >= 2 {
			rs = append(rs, run{r, s.Mean})
		}
	}
	if len(rs) == 0 {
		return nil
	}
	slices.SortStableFunc(rs, func(a, b run) int { return cmp.Compare(a.mean, b.mean) })
	return rs[(len(rs)-1)/2].rec
}
