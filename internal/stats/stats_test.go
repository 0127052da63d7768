package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// close reports whether got is within rel (relative) of want, treating
// exact equality, including of infinities, as close.
func near(got, want, rel float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want Summary
	}{
		{name: "empty", xs: nil, want: Summary{}},
		// One value: no spread, every quantile is the value.
		{name: "one", xs: []float64{3}, want: Summary{N: 1, Mean: 3, Min: 3, Max: 3, P50: 3, P95: 3}},
		// 1..4: mean 2.5; squared deviations 2.25+0.25+0.25+2.25 = 5, over
		// n-1 = 3 gives variance 5/3. P50: h = 3*0.5 = 1.5, halfway
		// between 2 and 3. P95: h = 3*0.95 = 2.85, 3 + 0.85*(4-3) = 3.85.
		{name: "1..4", xs: []float64{4, 1, 3, 2}, want: Summary{N: 4, Mean: 2.5, Stddev: math.Sqrt(5.0 / 3), Min: 1, Max: 4, P50: 2.5, P95: 3.85}},
		// The textbook set: mean 40/8 = 5; squared deviations
		// 9+1+1+1+0+0+4+16 = 32, variance 32/7. P50: h = 3.5, between 4
		// and 5. P95: h = 7*0.95 = 6.65, 7 + 0.65*(9-7) = 8.3.
		{name: "textbook", xs: []float64{2, 4, 4, 4, 5, 5, 7, 9}, want: Summary{N: 8, Mean: 5, Stddev: math.Sqrt(32.0 / 7), Min: 2, Max: 9, P50: 4.5, P95: 8.3}},
		// Odd n: the median is a data point (h = 2 exactly). P95: h = 3.8,
		// 4 + 0.8*(5-4) = 4.8. Variance (4+1+0+1+4)/4 = 2.5.
		{name: "odd", xs: []float64{5, 1, 4, 2, 3}, want: Summary{N: 5, Mean: 3, Stddev: math.Sqrt(2.5), Min: 1, Max: 5, P50: 3, P95: 4.8}},
		// Two values: variance (0.25+0.25)/1 = 0.5; P95: h = 0.95, 1.95.
		{name: "two", xs: []float64{2, 1}, want: Summary{N: 2, Mean: 1.5, Stddev: math.Sqrt(0.5), Min: 1, Max: 2, P50: 1.5, P95: 1.95}},
		// Constant values must give exactly zero spread, not rounding
		// noise or a NaN from a tiny negative variance.
		{name: "constant", xs: []float64{0.1, 0.1, 0.1}, want: Summary{N: 3, Mean: 0.1, Stddev: 0, Min: 0.1, Max: 0.1, P50: 0.1, P95: 0.1}},
		// Large values close together (ns timestamps-scale): deviations
		// are -1, 0, 1, variance 2/2 = 1. A one-pass sum of squares loses
		// this entirely.
		{name: "large offset", xs: []float64{1e9 + 1, 1e9 + 2, 1e9 + 3}, want: Summary{N: 3, Mean: 1e9 + 2, Stddev: 1, Min: 1e9 + 1, Max: 1e9 + 3, P50: 1e9 + 2, P95: 1e9 + 2.9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.xs)
			got := Summarize(in)
			if !slices.Equal(in, tc.xs) {
				t.Errorf("Summarize modified its input: %v", in)
			}
			w := tc.want
			if got.N != w.N || !near(got.Mean, w.Mean, 1e-15) || !near(got.Stddev, w.Stddev, 1e-14) ||
				got.Min != w.Min || got.Max != w.Max || !near(got.P50, w.P50, 1e-15) || !near(got.P95, w.P95, 1e-15) {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
}

// TestSummarizeTailAndCV checks P90, P99 and CV by hand, as TestSummarize
// does the rest.
func TestSummarizeTailAndCV(t *testing.T) {
	for _, tc := range []struct {
		name         string
		xs           []float64
		p90, p99, cv float64
	}{
		// One value: every quantile is it; no spread, so no CV.
		{"one", []float64{3}, 3, 3, 0},
		// 1..4: P90 h = 3*0.9 = 2.7, 3 + 0.7 = 3.7; P99 h = 2.97, 3.97;
		// CV sqrt(5/3) / 2.5.
		{"1..4", []float64{4, 1, 3, 2}, 3.7, 3.97, math.Sqrt(5.0/3) / 2.5},
		// textbook: P90 h = 7*0.9 = 6.3, 7 + 0.3*2 = 7.6; P99 h = 6.93,
		// 7 + 0.93*2 = 8.86; CV sqrt(32/7) / 5.
		{"textbook", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 7.6, 8.86, math.Sqrt(32.0/7) / 5},
		// A negative mean: the CV is of its size, positive.
		{"negative", []float64{-1, -3}, -1.2, -1.02, math.Sqrt(2) / 2},
		// A zero mean has no relative spread.
		{"zero mean", []float64{-1, 1}, 0.8, 0.98, 0},
	} {
		got := Summarize(tc.xs)
		if !near(got.P90, tc.p90, 1e-15) || !near(got.P99, tc.p99, 1e-15) || !near(got.CV, tc.cv, 1e-14) {
			t.Errorf("%s: P90 %v P99 %v CV %v; want %v %v %v", tc.name, got.P90, got.P99, got.CV, tc.p90, tc.p99, tc.cv)
		}
	}
}

func TestSummarizeNaN(t *testing.T) {
	got := Summarize([]float64{1, math.NaN(), 3})
	if got.N != 3 {
		t.Errorf("N = %d, want 3", got.N)
	}
	for name, v := range map[string]float64{"Mean": got.Mean, "Stddev": got.Stddev, "Min": got.Min, "Max": got.Max,
		"P50": got.P50, "P90": got.P90, "P95": got.P95, "P99": got.P99, "CV": got.CV} {
		if !math.IsNaN(v) {
			t.Errorf("%s = %v, want NaN", name, v)
		}
	}
}

// TestQuantileMonotonic checks the property the two-sided interpolation
// exists for: a higher q never gives a lower value.
func TestQuantileMonotonic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		xs := make([]float64, 1+r.IntN(20))
		for i := range xs {
			xs[i] = r.NormFloat64() * 1e3
		}
		slices.Sort(xs)
		prev := math.Inf(-1)
		for q := 0.0; q <= 1; q += 0.001 {
			v := quantileSorted(xs, q)
			if v < prev || v < xs[0] || v > xs[len(xs)-1] {
				t.Fatalf("quantile(%v, %v) = %v after %v", xs, q, v, prev)
			}
			prev = v
		}
		if quantileSorted(xs, 0) != xs[0] || quantileSorted(xs, 1) != xs[len(xs)-1] {
			t.Fatalf("quantile ends of %v are not the extremes", xs)
		}
	}
}

func BenchmarkSummarize(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 1000)
	for i := range xs {
		xs[i] = 100 + r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		Summarize(xs)
	}
}
