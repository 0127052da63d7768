package defaults

// CheckRegression defaults. MinEffect keeps a significant but tiny change
// (a long run detects 1%) from failing a check; BaselineRuns is how many
// recent runs of a fingerprint the median baseline is taken from.
const (
	RegressionAlpha        = 0.05
	RegressionMinEffect    = 0.03
	RegressionBaselineRuns = 5
)
