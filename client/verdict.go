package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// CheckOptions select the run a regression check judges and how. Zero
// values take benchd's defaults (proto/defaults: alpha 0.05, a 3% minimum
// effect, the median of the last 5 matching runs).
type CheckOptions struct {
	// ID of the run; "": the newest succeeded plain run (of Model, if set).
	ID    string
	Model string
	// Metrics: "eval_rate", "prompt_eval_rate", "ttft"; none: all three.
	Metrics []string
	// Alpha and MinEffect; nil: the default. MinEffect 0 counts any
	// significant change.
	Alpha, MinEffect *float64
	// BaselineRuns; 0: the default.
	BaselineRuns int
}

// Check is benchd's verdict on a run. Verdict is OK, REGRESSED, IMPROVED
// or INCOMPARABLE.
type Check struct {
	ID             string
	Verdict        string
	Reason         string
	Fingerprint    Fingerprint
	BaselineSource string // NONE, PINNED or MEDIAN
	Metrics        []MetricCheck
	Unstable       bool
	UnstableReason string
	Alpha          float64
	MinEffect      float64
	BaselineRuns   int
	MatchingRuns   int
	// Raw is the response as received, for protojson output.
	Raw *benchdv1.CheckRegressionResponse
}

// MetricCheck is one metric of a Check.
type MetricCheck struct {
	Metric     string // eval_rate, prompt_eval_rate, ttft
	Verdict    string
	BaselineID string
	Baseline   Stats
	Candidate  Stats
	// Change is (run - baseline) / baseline of the means.
	Change   float64
	T, DF, P float64
	Alpha    float64
	Reason   string
}

// Fingerprint is what runs must share to be compared.
type Fingerprint struct {
	ID, Model, ModelDigest, OllamaVersion, BenchdVersion string
	GPUs                                                 []string
}

// Baseline is the outcome of SetBaseline.
type Baseline struct {
	Fingerprint Fingerprint
	// ID is the pinned run now ("" after clearing); PreviousID the one
	// before ("" if none).
	ID, PreviousID string
}

// metricPrefix and friends are the enums' prefixes; names without them
// are what people and scripts write.
const (
	metricPrefix  = "REGRESSION_METRIC_"
	verdictPrefix = "REGRESSION_VERDICT_"
	sourcePrefix  = "BASELINE_SOURCE_"
)

// ErrUnknownMetric: a CheckOptions metric benchd does not test.
var ErrUnknownMetric = errors.New("unknown metric: want eval_rate, prompt_eval_rate or ttft")

// CheckRegression asks benchd for a regression verdict.
func (c *Client) CheckRegression(ctx context.Context, o CheckOptions) (*Check, error) {
	req := &benchdv1.CheckRegressionRequest{BenchmarkId: o.ID, Model: o.Model, Alpha: o.Alpha, MinEffect: o.MinEffect}
	for _, m := range o.Metrics {
		v, ok := benchdv1.RegressionMetric_value[metricPrefix+strings.ToUpper(m)]
		if !ok || v == 0 {
			return nil, fmt.Errorf("%q: %w", m, ErrUnknownMetric)
		}
		req.Metrics = append(req.Metrics, benchdv1.RegressionMetric(v))
	}
	if o.BaselineRuns > 0 {
		n := uint32(o.BaselineRuns)
		req.BaselineRuns = &n
	}
	res, err := c.raw.CheckRegression(ctx, req)
	if err != nil {
		return nil, err
	}
	return checkFromProto(res), nil
}

// SetBaseline pins run id as the baseline of its fingerprint, or with
// clear unpins that fingerprint's baseline.
func (c *Client) SetBaseline(ctx context.Context, id string, clear bool) (*Baseline, error) {
	res, err := c.raw.SetBaseline(ctx, &benchdv1.SetBaselineRequest{BenchmarkId: id, Clear: clear})
	if err != nil {
		return nil, err
	}
	return &Baseline{Fingerprint: fingerprintFromProto(res.GetFingerprint()), ID: res.GetBaselineId(), PreviousID: res.GetPreviousId()}, nil
}

func checkFromProto(r *benchdv1.CheckRegressionResponse) *Check {
	c := &Check{
		ID:             r.GetBenchmarkId(),
		Verdict:        strings.TrimPrefix(r.GetVerdict().String(), verdictPrefix),
		Reason:         r.GetReason(),
		Fingerprint:    fingerprintFromProto(r.GetFingerprint()),
		BaselineSource: strings.TrimPrefix(r.GetBaselineSource().String(), sourcePrefix),
		Unstable:       r.GetUnstable(),
		UnstableReason: r.GetUnstableReason(),
		Alpha:          r.GetAlpha(),
		MinEffect:      r.GetMinEffect(),
		BaselineRuns:   int(r.GetBaselineRuns()),
		MatchingRuns:   int(r.GetMatchingRuns()),
		Raw:            r,
	}
	for _, m := range r.GetMetrics() {
		c.Metrics = append(c.Metrics, MetricCheck{
			Metric:     strings.ToLower(strings.TrimPrefix(m.GetMetric().String(), metricPrefix)),
			Verdict:    strings.TrimPrefix(m.GetVerdict().String(), verdictPrefix),
			BaselineID: m.GetBaselineId(),
			Baseline:   statsFromProto(m.GetBaseline()),
			Candidate:  statsFromProto(m.GetCandidate()),
			Change:     m.GetChange(),
			T:          m.GetT(),
			DF:         m.GetDf(),
			P:          m.GetPValue(),
			Alpha:      m.GetAlpha(),
			Reason:     m.GetReason(),
		})
	}
	return c
}

func fingerprintFromProto(f *benchdv1.Fingerprint) Fingerprint {
	return Fingerprint{ID: f.GetId(), Model: f.GetModel(), ModelDigest: f.GetModelDigest(),
		OllamaVersion: f.GetOllamaVersion(), BenchdVersion: f.GetBenchdVersion(), GPUs: f.GetGpus()}
}
