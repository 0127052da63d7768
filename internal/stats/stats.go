// Package stats summarizes benchmark measurements and compares two sets of
// them.
package stats

import (
	"math"
	"slices"
)

// Summary describes a sample of measurements.
type Summary struct {
	N int
	// Mean is the arithmetic mean.
	Mean float64
	// Stddev is the sample standard deviation (n-1 denominator), the
	// estimate of the population's spread a benchmark wants; 0 when N < 2.
	Stddev float64
	Min    float64
	Max    float64
	// P50 and P95 are quantiles by linear interpolation between the
	// closest ranks: for sorted x and quantile q, with h = (N-1)q, the
	// value x[floor(h)] + (h-floor(h))(x[floor(h)+1]-x[floor(h)]). This is
	// numpy's default (method="linear", Hyndman & Fan type 7) and R's, so
	// numbers can be checked against either.
	P50 float64
	P90 float64
	P95 float64
	P99 float64
	// CV is the coefficient of variation, Stddev / |Mean|: the spread
	// relative to the size, comparable across metrics and units. 0 when
	// N < 2 (no spread to speak of) or Mean is 0.
	CV float64
}

// Summarize describes xs, which it does not modify. Empty input gives the
// zero Summary. If xs holds a NaN, every field but N is NaN: a NaN has no
// place in an order, so the quantiles and extremes would otherwise depend
// on where it happened to sort.
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted) // NaNs sort first
	if math.IsNaN(sorted[0]) {
		nan := math.NaN()
		return Summary{N: n, Mean: nan, Stddev: nan, Min: nan, Max: nan, P50: nan, P90: nan, P95: nan, P99: nan, CV: nan}
	}
	mean, variance := meanVar(sorted)
	sd := math.Sqrt(variance)
	var cv float64
	if n >= 2 && mean != 0 {
		cv = sd / math.Abs(mean)
	}
	return Summary{
		N:      n,
		Mean:   mean,
		Stddev: sd,
		Min:    sorted[0],
		Max:    sorted[n-1],
		P50:    quantileSorted(sorted, 0.50),
		P90:    quantileSorted(sorted, 0.90),
		P95:    quantileSorted(sorted, 0.95),
		P99:    quantileSorted(sorted, 0.99),
		CV:     cv,
	}
}

// meanVar returns the mean and sample variance (0 for fewer than two
// values). It makes two passes and applies the correction term of the
// corrected two-pass algorithm (Chan, Golub & LeVeque): the one-pass
// sum-of-squares formula loses every digit when values are large and close
// together, which is exactly what repeated timings of one benchmark are.
func meanVar(xs []float64) (mean, variance float64) {
	n := float64(len(xs))
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean = sum / n
	if len(xs) < 2 {
		return mean, 0
	}
	var ss, comp float64
	for _, x := range xs {
		d := x - mean
		ss += d * d
		comp += d
	}
	variance = (ss - comp*comp/n) / (n - 1)
	if variance < 0 { // rounding when all values are (nearly) equal
		variance = 0
	}
	return mean, variance
}

// quantileSorted is the type 7 quantile described on Summary.P50. The
// interpolation is written, as numpy writes it, from whichever end is
// nearer, so that the result is monotonic in q and exact at the ends.
func quantileSorted(sorted []float64, q float64) float64 {
	h := float64(len(sorted)-1) * q
	lo := int(math.Floor(h))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	a, b, t := sorted[lo], sorted[lo+1], h-float64(lo)
	if t >= 0.5 {
		return b - (b-a)*(1-t)
	}
	return a + (b-a)*t
}
