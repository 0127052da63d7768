package verdict

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/benchd/benchd/internal/stats"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// run is a synthetic succeeded record: one warm-up trial (whose figures
// must never count) and a measured trial per value of eval rate, with the
// prompt rate and TTFT given alongside (nil: the same shape scaled).
func run(id string, eval, prompt, ttft []float64) *benchdv1.Benchmark {
	rec := &benchdv1.Benchmark{
		BenchmarkId: id,
		State:       benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED,
		Model:       "tiny",
		Settings:    &benchdv1.RunBenchmarkRequest{Model: "tiny", Repetitions: ptr(uint32(len(eval))), MaxTokens: ptr(uint32(128)), Seed: ptr(int64(42)), Prompts: []string{"p"}},
		Started: &benchdv1.BenchmarkStarted{
			ModelInfo:     &benchdv1.ModelInfo{Digest: "sha256:aa"},
			OllamaVersion: "0.9.6",
			Machine:       &benchdv1.MachineInfo{BenchdVersion: "v1"},
			Gpus:          []*benchdv1.GPU{{Index: 0, Vendor: "amd", Name: "gfx1100", TotalBytes: 24 << 30}},
		},
		Trials: []*benchdv1.Trial{{Warmup: true, EvalRate: 1, PromptEvalRate: 1, TtftNs: 1}},
	}
	for i, e := range eval {
		t := &benchdv1.Trial{Index: uint32(i + 1), EvalRate: e, PromptEvalRate: 10 * e, TtftNs: int64(1e9 / e)}
		if prompt != nil {
			t.PromptEvalRate = prompt[i]
		}
		if ttft != nil {
			t.TtftNs = int64(ttft[i])
		}
		rec.Trials = append(rec.Trials, t)
	}
	return rec
}

func ptr[T any](v T) *T { return &v }

func defaultParams() Params { return ParamsOf(&benchdv1.CheckRegressionRequest{}) }

func metric(t *testing.T, r *benchdv1.CheckRegressionResponse, k benchdv1.RegressionMetric) *benchdv1.MetricVerdict {
	t.Helper()
	for _, m := range r.GetMetrics() {
		if m.GetMetric() == k {
			return m
		}
	}
	t.Fatalf("no verdict for %v in %v", k, r)
	return nil
}

const (
	ok           = benchdv1.RegressionVerdict_REGRESSION_VERDICT_OK
	regressed    = benchdv1.RegressionVerdict_REGRESSION_VERDICT_REGRESSED
	improved     = benchdv1.RegressionVerdict_REGRESSION_VERDICT_IMPROVED
	incomparable = benchdv1.RegressionVerdict_REGRESSION_VERDICT_INCOMPARABLE
	evalRate     = benchdv1.RegressionMetric_REGRESSION_METRIC_EVAL_RATE
	ttft         = benchdv1.RegressionMetric_REGRESSION_METRIC_TTFT
)

func TestClearRegressionIsRegressed(t *testing.T) {
	base := run("base", []float64{100, 101, 99, 100.5, 99.5}, nil, nil)
	cand := run("cand", []float64{90, 91, 89, 90.5, 89.5}, nil, nil)
	r := Judge(cand, base, nil, defaultParams())
	if r.GetVerdict() != regressed {
		t.Fatalf("verdict %v, want REGRESSED: %s", r.GetVerdict(), r.GetReason())
	}
	m := metric(t, r, evalRate)
	if m.GetVerdict() != regressed || math.Abs(m.GetChange()-(-0.1)) > 1e-9 || m.GetBaselineId() != "base" {
		t.Errorf("eval_rate %v change %v baseline %q, want REGRESSED -10%% against base", m.GetVerdict(), m.GetChange(), m.GetBaselineId())
	}
	// Lower rate, so higher TTFT (1e9/rate): worse too.
	if v := metric(t, r, ttft).GetVerdict(); v != regressed {
		t.Errorf("ttft %v, want REGRESSED", v)
	}
	if !strings.Contains(r.GetReason(), "eval_rate regressed -10.0%") {
		t.Errorf("reason %q does not name the eval_rate change", r.GetReason())
	}
	if r.GetBaselineSource() != benchdv1.BaselineSource_BASELINE_SOURCE_PINNED {
		t.Errorf("source %v, want PINNED", r.GetBaselineSource())
	}
	if m.GetAlpha() != r.GetAlpha()/3 {
		t.Errorf("per-metric alpha %v, want alpha/3 = %v", m.GetAlpha(), r.GetAlpha()/3)
	}
}

func TestLowerTTFTIsImproved(t *testing.T) {
	base := run("base", []float64{100, 101, 99}, nil, []float64{200e6, 202e6, 198e6})
	cand := run("cand", []float64{100, 101, 99}, nil, []float64{150e6, 151e6, 149e6})
	r := Judge(cand, base, nil, defaultParams())
	if r.GetVerdict() != improved || metric(t, r, ttft).GetVerdict() != improved || metric(t, r, evalRate).GetVerdict() != ok {
		t.Fatalf("verdict %v (%s), want IMPROVED by ttft alone", r.GetVerdict(), r.GetReason())
	}
}

func TestSignificantButSmallChangeIsOK(t *testing.T) {
	// 1% slower with 0.1% noise: p is tiny, the change under 3%.
	base := run("base", []float64{100, 100.1, 99.9, 100.05, 99.95}, nil, nil)
	cand := run("cand", []float64{99, 99.1, 98.9, 99.05, 98.95}, nil, nil)
	r := Judge(cand, base, nil, defaultParams())
	m := metric(t, r, evalRate)
	if m.GetPValue() >= m.GetAlpha() {
		t.Fatalf("p %v not significant; the test needs a significant change", m.GetPValue())
	}
	if r.GetVerdict() != ok || m.GetVerdict() != ok {
		t.Fatalf("verdict %v / %v, want OK: %.1f%% is under the 3%% minimum effect", r.GetVerdict(), m.GetVerdict(), 100*m.GetChange())
	}
	// With no minimum effect the same change counts.
	p := defaultParams()
	p.MinEffect = 0
	if v := Judge(cand, base, nil, p).GetVerdict(); v != regressed {
		t.Errorf("min_effect 0: verdict %v, want REGRESSED", v)
	}
}

func TestNoBaselineIsIncomparable(t *testing.T) {
	r := Judge(run("cand", []float64{1, 2, 3}, nil, nil), nil, nil, defaultParams())
	if r.GetVerdict() != incomparable || r.GetBaselineSource() != benchdv1.BaselineSource_BASELINE_SOURCE_NONE {
		t.Fatalf("verdict %v source %v, want INCOMPARABLE, NONE", r.GetVerdict(), r.GetBaselineSource())
	}
	if !strings.Contains(r.GetReason(), "no earlier succeeded run") {
		t.Errorf("reason %q", r.GetReason())
	}
}

func TestOneTrialIsIncomparable(t *testing.T) {
	r := Judge(run("cand", []float64{50}, nil, nil), run("base", []float64{100, 101}, nil, nil), nil, defaultParams())
	if r.GetVerdict() != incomparable || !strings.Contains(metric(t, r, evalRate).GetReason(), "1 in the run") {
		t.Fatalf("verdict %v (%s), want INCOMPARABLE for 1 trial", r.GetVerdict(), r.GetReason())
	}
}

func TestMedianOfRecentRuns(t *testing.T) {
	// Newest first, as the daemon passes them; means 80, 120, 100, 95, 105.
	recent := []*benchdv1.Benchmark{
		run("r80", []float64{79, 80, 81}, nil, nil),
		run("r120", []float64{119, 120, 121}, nil, nil),
		run("r100", []float64{99, 100, 101}, nil, nil),
		run("r95", []float64{94, 95, 96}, nil, nil),
		run("r105", []float64{104, 105, 106}, nil, nil),
	}
	cand := run("cand", []float64{99.5, 100.5, 100}, nil, nil)
	r := Judge(cand, nil, recent, defaultParams())
	if r.GetBaselineSource() != benchdv1.BaselineSource_BASELINE_SOURCE_MEDIAN || r.GetMatchingRuns() != 5 {
		t.Fatalf("source %v matching %d, want MEDIAN of 5", r.GetBaselineSource(), r.GetMatchingRuns())
	}
	if id := metric(t, r, evalRate).GetBaselineId(); id != "r100" {
		t.Errorf("eval_rate baseline %s, want r100 (the median)", id)
	}
	// TTFT is 1e9/rate: its median run is the same one.
	if id := metric(t, r, ttft).GetBaselineId(); id != "r100" {
		t.Errorf("ttft baseline %s, want r100", id)
	}
	if r.GetVerdict() != ok {
		t.Errorf("verdict %v (%s), want OK", r.GetVerdict(), r.GetReason())
	}
	// Even count: the lower median (95 of 80, 95, 100, 120).
	if id := metric(t, Judge(cand, nil, recent[:4], defaultParams()), evalRate).GetBaselineId(); id != "r95" {
		t.Errorf("of four runs: baseline %s, want r95 (the lower median)", id)
	}
}

func TestPinnedWinsOverRecent(t *testing.T) {
	recent := []*benchdv1.Benchmark{run("r100", []float64{99, 100, 101}, nil, nil)}
	pinned := run("pin", []float64{119, 120, 121}, nil, nil)
	r := Judge(run("cand", []float64{99, 100, 101}, nil, nil), pinned, recent, defaultParams())
	if r.GetBaselineSource() != benchdv1.BaselineSource_BASELINE_SOURCE_PINNED || metric(t, r, evalRate).GetBaselineId() != "pin" || r.GetVerdict() != regressed {
		t.Fatalf("source %v baseline %s verdict %v, want PINNED pin REGRESSED", r.GetBaselineSource(), metric(t, r, evalRate).GetBaselineId(), r.GetVerdict())
	}
}

func TestUnstableFlagged(t *testing.T) {
	// cv of eval rate ≈ 25% in the run.
	r := Judge(run("cand", []float64{60, 100, 140}, nil, nil), run("base", []float64{99, 100, 101}, nil, nil), nil, defaultParams())
	if !r.GetUnstable() || !strings.Contains(r.GetUnstableReason(), "eval_rate cv 40.0% in the run") {
		t.Fatalf("unstable %v %q, want eval_rate's cv named", r.GetUnstable(), r.GetUnstableReason())
	}
	r = Judge(run("cand", []float64{99, 100, 101}, nil, nil), run("base", []float64{99, 100, 101}, nil, nil), nil, defaultParams())
	if r.GetUnstable() {
		t.Errorf("a 1%% cv flagged unstable: %s", r.GetUnstableReason())
	}
}

func TestFingerprint(t *testing.T) {
	a := run("a", []float64{1, 2}, nil, nil)
	same := run("b", []float64{1, 2, 3}, nil, nil) // other repetitions
	same.Settings.Timeout = durationpb.New(5e9)
	same.Settings.Warmup = ptr(uint32(3))
	if Fingerprint(a).GetId() != Fingerprint(same).GetId() {
		t.Errorf("repetitions, warmup or timeout changed the fingerprint")
	}
	for name, change := range map[string]func(*benchdv1.Benchmark){
		"num_ctx": func(r *benchdv1.Benchmark) { r.Settings.NumCtx = ptr(uint32(4096)) },
		"prompt":  func(r *benchdv1.Benchmark) { r.Settings.Prompts = []string{"q"} },
		"digest":  func(r *benchdv1.Benchmark) { r.Started.ModelInfo.Digest = "sha256:bb" },
		"ollama":  func(r *benchdv1.Benchmark) { r.Started.OllamaVersion = "0.9.7" },
		"benchd":  func(r *benchdv1.Benchmark) { r.Started.Machine.BenchdVersion = "v2" },
		"gpu":     func(r *benchdv1.Benchmark) { r.Started.Gpus[0].TotalBytes = 16 << 30 },
		"cold":    func(r *benchdv1.Benchmark) { r.Settings.Cold = true },
	} {
		b := run("b", []float64{1, 2}, nil, nil)
		change(b)
		if Fingerprint(a).GetId() == Fingerprint(b).GetId() {
			t.Errorf("%s did not change the fingerprint", name)
		}
	}
	fp := Fingerprint(a)
	if fp.GetSettings().GetPrompts() != nil || fp.GetSettings().Repetitions != nil || len(fp.GetGpus()) != 1 || fp.GetGpus()[0] != "amd gfx1100 25769803776" {
		t.Errorf("fingerprint shows %v", fp)
	}
	if a.GetSettings().GetPrompts() == nil || a.GetSettings().Repetitions == nil {
		t.Errorf("Fingerprint changed the record's settings")
	}
}

func TestComparable(t *testing.T) {
	r := run("a", []float64{1, 2}, nil, nil)
	if err := Comparable(r); err != nil {
		t.Fatal(err)
	}
	r.Settings.Sweep = &benchdv1.Sweep{NumCtx: []uint32{64}}
	if err := Comparable(r); !errors.Is(err, ErrNotComparable) || !strings.Contains(err.Error(), "sweep") {
		t.Errorf("sweep: %v", err)
	}
	r = run("a", []float64{1, 2}, nil, nil)
	r.State = benchdv1.BenchmarkState_BENCHMARK_STATE_FAILED
	if err := Comparable(r); !errors.Is(err, ErrNotComparable) || !strings.Contains(err.Error(), "FAILED") {
		t.Errorf("failed run: %v", err)
	}
}

// TestWelchAgreesWithGonum checks the p-value the verdict rests on
// (internal/stats' own Student's t) against gonum's distribution.
func TestWelchAgreesWithGonum(t *testing.T) {
	a, b := []float64{100, 101, 99, 100.5, 99.5}, []float64{98, 99.5, 97, 99, 98.5}
	tt, df, p := stats.WelchT(a, b)
	want := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(-math.Abs(tt))
	if math.Abs(p-want) > 1e-12*want {
		t.Fatalf("p %v, gonum %v", p, want)
	}
}

// noChange draws n trials of each metric from one distribution: 5% noise
// on the rates, 5% on TTFT.
func noChange(rng *rand.Rand, id string, n int) *benchdv1.Benchmark {
	e, p, f := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		e[i] = 100 * (1 + 0.05*rng.NormFloat64())
		p[i] = 1000 * (1 + 0.05*rng.NormFloat64())
		f[i] = 2e8 * (1 + 0.05*rng.NormFloat64())
	}
	return run(id, e, p, f)
}

// alarmBound is the most false alarms out of n checks that a rate of alpha
// allows by chance: the smallest c with P(X > c) <= 1e-3 for
// X ~ Binomial(n, alpha). A deterministic seed makes the count fixed; the
// bound says the count is what a correct rate gives, not one lucky draw.
func alarmBound(n int, alpha float64) int {
	b := distuv.Binomial{N: float64(n), P: alpha}
	c := 0
	for 1-b.CDF(float64(c)) > 1e-3 {
		c++
	}
	return c
}

// TestFalseAlarmsAtMostAlpha simulates 1,000 pairs of runs with no real
// change, for a pinned baseline and for the median of five recent runs,
// and counts the checks that say REGRESSED or IMPROVED.
func TestFalseAlarmsAtMostAlpha(t *testing.T) {
	const pairs = 1000
	p := defaultParams()
	bound := alarmBound(pairs, p.Alpha)
	for _, tc := range []struct {
		name   string
		recent int
	}{{"pinned", 0}, {"median of 5", 5}} {
		rng := rand.New(rand.NewPCG(15, 2026))
		alarms := 0
		for range pairs {
			var pinned *benchdv1.Benchmark
			var recent []*benchdv1.Benchmark
			if tc.recent == 0 {
				pinned = noChange(rng, "base", 5)
			}
			for range tc.recent {
				recent = append(recent, noChange(rng, "recent", 5))
			}
			if v := Judge(noChange(rng, "cand", 5), pinned, recent, p).GetVerdict(); v != ok {
				if v == incomparable {
					t.Fatalf("a simulated pair was INCOMPARABLE")
				}
				alarms++
			}
		}
		t.Logf("%s: %d false alarms in %d no-change pairs (%.1f%%; alpha %.0f%%, bound %d)", tc.name, alarms, pairs, 100*float64(alarms)/pairs, 100*p.Alpha, bound)
		if alarms > bound {
			t.Errorf("%s: %d false alarms in %d pairs, more than alpha=%v allows (%d)", tc.name, alarms, pairs, p.Alpha, bound)
		}
	}
}

// TestSimulationDetectsARealRegression keeps the false-alarm test honest:
// the same noise with a 10% slower generation is caught most of the time.
func TestSimulationDetectsARealRegression(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 2027))
	caught := 0
	for range 200 {
		base := noChange(rng, "base", 5)
		cand := noChange(rng, "cand", 5)
		for _, tr := range cand.GetTrials()[1:] {
			tr.EvalRate *= 0.9
		}
		if metric(t, Judge(cand, base, nil, defaultParams()), evalRate).GetVerdict() == regressed {
			caught++
		}
	}
	// More than chance would give if the test could not see it.
	bound := alarmBound(200, defaultParams().Alpha)
	t.Logf("a 10%% regression caught in %d of 200 pairs (chance alone: at most %d)", caught, bound)
	if caught <= bound {
		t.Errorf("a 10%% regression with 5%% noise and 5 trials caught in %d of 200, no more than chance (%d)", caught, bound)
	}
}
