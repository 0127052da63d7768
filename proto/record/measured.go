package record

import benchdv1 "github.com/benchd/benchd/proto/benchd/v1"

// Measured returns the trials that count: those after the warm-ups that
// benchd did not mark invalid (their figures contradict each other, e.g. a
// TTFT over ollama's total_duration), as the stored summary counts them.
func Measured(b *benchdv1.Benchmark) []*benchdv1.Trial {
	var out []*benchdv1.Trial
	for _, t := range b.GetTrials() {
		if !t.GetWarmup() && t.GetInvalidReason() == "" {
			out = append(out, t)
		}
	}
	return out
}
