package stats

// The thresholds benchd flags runs and trials by, in one place: the runner
// that sets a flag and the reports that explain it both read them here.
const (
	// UnstableCV is the coefficient of variation (stddev / |mean| over a
	// run's measured trials) above which a headline metric makes the run
	// unstable (BenchmarkFinished.unstable_reason).
	UnstableCV = 0.10
	// DecodeTolerance is how far, as a fraction of ollama's eval_duration,
	// the decode time from ollama's chunk stamps may differ from
	// eval_duration before a trial is flagged
	// (Trial.decode_mismatch_reason).
	DecodeTolerance = 0.10
)
