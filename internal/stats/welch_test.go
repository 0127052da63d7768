package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Reference values below were computed two independent ways and agree to
// at least 14 significant digits:
//
//   - scipy 1.10.1: scipy.stats.ttest_ind(a, b, equal_var=False) for t and
//     p, and 2*scipy.stats.t.sf(t, df) for the distribution tails;
//   - mpmath 1.3.0 at 50 digits, from the definitions: sample means and
//     variances, t = (ma-mb)/sqrt(va/na+vb/nb), Welch–Satterthwaite df, and
//     p = mpmath.betainc(df/2, 1/2, 0, df/(df+t²), regularized=True).
//
// The constants are mpmath's, rounded to 17 digits.

func TestWelchT(t *testing.T) {
	tests := []struct {
		name      string
		a, b      []float64
		t, df, p  float64
		tol       float64 // relative, on p
		dfTol     float64
		wantExact bool
	}{
		{
			// By hand: means 2.5 and 5, variances 5/3 and 20/3, so
			// se² = 5/12 + 20/12 = 25/12 and t = -2.5/sqrt(25/12) =
			// -sqrt(3). df = (25/12)² / ((5/12)²/3 + (20/12)²/3) = 75/17.
			// p from the references.
			name: "hand", a: []float64{1, 2, 3, 4}, b: []float64{2, 4, 6, 8},
			t: -math.Sqrt(3), df: 75.0 / 17, p: 0.15158050484530394,
		},
		{
			name: "timings", a: []float64{12.1, 11.8, 12.4, 12.0, 11.9, 12.3, 12.2}, b: []float64{11.2, 11.5, 11.1, 11.4, 11.6, 11.3},
			t: 6.7082039324993691, df: 10.993485342019544, p: 3.3488840089777857e-05,
		},
		{
			name: "unequal variance",
			a:    []float64{27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4},
			b:    []float64{27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4},
			t:    -2.4553563982860051, df: 24.988529290231414, p: 0.021378001462867032,
		},
		{
			// A far tail, where p must come from the series directly and
			// not as 1 minus something near 1.
			name: "far apart", a: []float64{100, 101, 102, 103, 104}, b: []float64{1, 2, 3, 4, 5, 6},
			t: 94.635738898806496, df: 8.9893617021276596, p: 8.5995184831009353e-15,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gt, gdf, gp := WelchT(tc.a, tc.b)
			if !near(gt, tc.t, 1e-13) || !near(gdf, tc.df, 1e-13) || !near(gp, tc.p, 1e-12) {
				t.Errorf("WelchT = (t %.17g, df %.17g, p %.17g), want (%.17g, %.17g, %.17g)", gt, gdf, gp, tc.t, tc.df, tc.p)
			}
			// Swapping the samples flips t and nothing else.
			st, sdf, sp := WelchT(tc.b, tc.a)
			if st != -gt || sdf != gdf || sp != gp {
				t.Errorf("swapped: (%v, %v, %v), want (%v, %v, %v)", st, sdf, sp, -gt, gdf, gp)
			}
		})
	}
}

func TestWelchTDegenerate(t *testing.T) {
	for name, c := range map[string]struct{ a, b []float64 }{
		"a too short":    {[]float64{1}, []float64{1, 2}},
		"b empty":        {[]float64{1, 2}, nil},
		"equal constant": {[]float64{1, 1, 1}, []float64{1, 1}},
	} {
		if tt, df, p := WelchT(c.a, c.b); !math.IsNaN(tt) || !math.IsNaN(df) || !math.IsNaN(p) {
			t.Errorf("%s: (%v, %v, %v), want all NaN", name, tt, df, p)
		}
	}
	// Constant but different: certain difference. scipy agrees on t and p
	// (-inf, 0.0).
	if tt, df, p := WelchT([]float64{1, 1, 1}, []float64{2, 2, 2}); !math.IsInf(tt, -1) || !math.IsNaN(df) || p != 0 {
		t.Errorf("distinct constants: (%v, %v, %v), want (-Inf, NaN, 0)", tt, df, p)
	}
	// One constant sample: df collapses to the other's n-1 = 2; the means
	// differ by 1 and se² = 1/3 (variance 1 over n 3), so t = sqrt(3),
	// and with df = 2 the closed form below gives p = 1 - sqrt(3)/sqrt(5).
	tt, df, p := WelchT([]float64{1, 2, 3}, []float64{1, 1, 1})
	if !near(tt, math.Sqrt(3), 1e-15) || df != 2 || !near(p, 1-math.Sqrt(3.0/5), 1e-14) {
		t.Errorf("one constant: (%v, %v, %v)", tt, df, p)
	}
}

func TestStudentTwoSided(t *testing.T) {
	tests := []struct {
		t, df, want float64
		tol         float64
	}{
		// Closed forms, independent of any library. df = 1 is the Cauchy
		// distribution: P(|T| >= t) = 1 - (2/π) atan(t).
		{1, 1, 0.5, 1e-15},
		{3, 1, 1 - 2/math.Pi*math.Atan(3), 1e-14},
		// df = 2: P(|T| >= t) = 1 - t/sqrt(2+t²).
		{2, 2, 1 - 2/math.Sqrt(6), 1e-14},
		{0.3, 2, 1 - 0.3/math.Sqrt(2.09), 1e-14},
		{0, 7, 1, 0},
		// References (see the comment at the top of this file).
		{2, 10, 0.073388034770740366, 1e-13},
		{0.5, 3.5, 0.64685043932255102, 1e-14},
		{3, 30, 0.0053899640656519466, 1e-13},
		{10, 5, 0.00017094757574296359, 1e-13},
		{1.5, 1000, 0.13393003882208617, 1e-12},
		{40, 3, 3.4380680789158528e-05, 1e-13},
		// Near-normal: big df loses a few digits in the log-gamma terms.
		{4, 1e6, 6.3347034010048105e-05, 1e-8},
	}
	for _, tc := range tests {
		for _, sign := range []float64{1, -1} {
			if got := studentTwoSided(sign*tc.t, tc.df); !near(got, tc.want, tc.tol) {
				t.Errorf("studentTwoSided(%v, %v) = %.17g, want %.17g", sign*tc.t, tc.df, got, tc.want)
			}
		}
	}
	for _, c := range [][2]float64{{math.NaN(), 3}, {1, 0}, {1, -2}, {1, math.NaN()}} {
		if got := studentTwoSided(c[0], c[1]); !math.IsNaN(got) {
			t.Errorf("studentTwoSided(%v, %v) = %v, want NaN", c[0], c[1], got)
		}
	}
	if got := studentTwoSided(math.Inf(1), 4); got != 0 {
		t.Errorf("studentTwoSided(+Inf, 4) = %v, want 0", got)
	}
}

// TestStudentTwoSidedProperties sweeps t and df for what must hold
// everywhere: a probability, falling as |t| grows.
func TestStudentTwoSidedProperties(t *testing.T) {
	for _, df := range []float64{0.5, 1, 2.5, 7, 30, 123.4, 5000} {
		prev := 1.0
		for tv := 0.0; tv <= 60; tv += 0.05 {
			p := studentTwoSided(tv, df)
			if math.IsNaN(p) || p < 0 || p > 1 || p > prev+1e-15 {
				t.Fatalf("df %v t %v: p %v after %v", df, tv, p, prev)
			}
			prev = p
		}
	}
}

func TestLogBeta(t *testing.T) {
	// log B(a, b) from mpmath at 40 digits: mpmath.log(mpmath.beta(a, b)).
	// The cases cover each branch: both arguments small, one at least 10,
	// both at least 10. log B(1/2, 1/2) = log π is a closed-form check.
	tests := []struct{ a, b, want float64 }{
		{0.5, 0.5, math.Log(math.Pi)},
		{0.5, 10, -0.56643279639759393},
		{0.5, 500, -2.5346891063280624},
		{0.5, 5e5, -5.9888164957774643},
		{3, 1e5, -33.845659214100743},
		{10, 10, -13.736229227036555},
		{123.4, 567.8, -325.67124473277999},
	}
	for _, tc := range tests {
		for _, ab := range [][2]float64{{tc.a, tc.b}, {tc.b, tc.a}} {
			if got := logBeta(ab[0], ab[1]); !near(got, tc.want, 1e-15) {
				t.Errorf("logBeta(%v, %v) = %.17g, want %.17g", ab[0], ab[1], got, tc.want)
			}
		}
	}
}

func BenchmarkWelchT(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float64, 30), make([]float64, 30)
	for i := range x {
		x[i], y[i] = 100+r.NormFloat64(), 100.5+2*r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		WelchT(x, y)
	}
}

// TestWelchBeyond: with no margin it is WelchT's test; a margin moves t
// by margin/se, and a gap inside it gives p 1; the sign of the gap does
// not matter.
func TestWelchBeyond(t *testing.T) {
	a := []float64{12.1, 11.8, 12.4, 12.0, 11.9, 12.3, 12.2}
	b := []float64{11.2, 11.5, 11.1, 11.4, 11.6, 11.3}
	wt, wdf, wp := WelchT(a, b)
	bt, bdf, bp := WelchBeyond(a, b, 0)
	if !near(bt, wt, 1e-15) || !near(bdf, wdf, 1e-15) || !near(bp, wp, 1e-15) {
		t.Errorf("margin 0: (%v, %v, %v), want WelchT's (%v, %v, %v)", bt, bdf, bp, wt, wdf, wp)
	}
	// The means differ by 0.75 (12.1 − 11.35); se is 0.75/t.
	se := 0.75 / wt
	for _, tc := range []struct {
		margin float64
		wantT  float64
		wantP  float64
	}{
		{0.5, 0.25 / se, studentTwoSided(0.25/se, wdf)},
		{0.75, 0, 1},
		{1.0, -0.25 / se, 1},
	} {
		gt, gdf, gp := WelchBeyond(a, b, tc.margin)
		rt, _, rp := WelchBeyond(b, a, tc.margin)
		if math.Abs(gt-tc.wantT) > 1e-12 || !near(gp, tc.wantP, 1e-12) || gdf != wdf {
			t.Errorf("margin %v: (t %v, df %v, p %v), want (%v, %v, %v)", tc.margin, gt, gdf, gp, tc.wantT, wdf, tc.wantP)
		}
		if gt != rt || gp != rp {
			t.Errorf("margin %v: swapping the samples changed (t, p) from (%v, %v) to (%v, %v)", tc.margin, gt, gp, rt, rp)
		}
	}
	if p := studentTwoSided(0.25/se, wdf); !(p > 0.01 && p < 0.5) {
		t.Errorf("the margin-0.5 case's p %v is not between the ends: it tests nothing", p)
	}
	if _, _, p := WelchBeyond(a, b, -1); !math.IsNaN(p) {
		t.Errorf("a negative margin: p %v, want NaN", p)
	}
}
