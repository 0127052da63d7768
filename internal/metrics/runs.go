package metrics

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

var (
	descRuns     = prometheus.NewDesc(Namespace+"_benchmarks", "Benchmarks in the history, by state (running: in progress now).", []string{"state"}, nil)
	resultLabels = []string{"model", "digest"}
	descRate     = prometheus.NewDesc(Namespace+"_last_generation_rate_tokens_per_second", "Mean generation rate (eval_rate) of the last successful benchmark of the model.", resultLabels, nil)
	descTTFT     = prometheus.NewDesc(Namespace+"_last_ttft_p50_seconds", "Median time to first token of the last successful benchmark of the model.", resultLabels, nil)
	descJPT      = prometheus.NewDesc(Namespace+"_last_joules_per_output_token", "Energy per output token of the last successful benchmark of the model (only with power readings).", resultLabels, nil)
	descLastAt   = prometheus.NewDesc(Namespace+"_last_result_timestamp_seconds", "When the last successful benchmark of the model finished.", resultLabels, nil)
)

// Runs holds what the exporter says about benchmarks: counts by state and
// the last successful result per model and digest. The counts are the
// store's own, kept as it writes and prunes; the results are loaded once
// from the history and then kept current by Ended. A scrape reads memory
// only.
type Runs struct {
	mu      sync.Mutex
	results map[resultKey]result
	stored  func() map[benchdv1.BenchmarkState]int
	running func() int
}

type resultKey struct{ model, digest string }

type result struct {
	rate, ttft, at float64
	jpt            *float64
	id             string
}

func newRuns() *Runs {
	return &Runs{results: map[resultKey]result{}}
}

// ListFunc is one page of the stored benchmarks, newest first, and the
// next page's token ("" on the last).
type ListFunc func(ctx context.Context, pageToken string) (recs []*benchdv1.Benchmark, next string, err error)

// Load finds each model's last result in the stored benchmarks, page by
// page. stored says how many records the history holds in each state, and
// running how many runs are in progress now (a run is stored only from its
// first event, so the stored RUNNING records can lag it).
func (r *Runs) Load(ctx context.Context, list ListFunc, stored func() map[benchdv1.BenchmarkState]int, running func() int) error {
	r.mu.Lock()
	r.stored, r.running = stored, running
	r.mu.Unlock()
	token := ""
	for {
		recs, next, err := list(ctx, token)
		if err != nil {
			return fmt.Errorf("load benchmarks for metrics: %w", err)
		}
		for _, rec := range recs {
			r.add(rec, false)
		}
		if next == "" {
			return nil
		}
		token = next
	}
}

// Ended records a benchmark that has just ended.
func (r *Runs) Ended(rec *benchdv1.Benchmark) { r.add(rec, true) }

// add takes a succeeded rec as its model's result if newer, or always when
// latest (it has just ended).
func (r *Runs) add(rec *benchdv1.Benchmark, latest bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fin := rec.GetFinished()
	if rec.GetState() != benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED || fin == nil {
		return
	}
	k := resultKey{model: rec.GetModel(), digest: rec.GetStarted().GetModelInfo().GetDigest()}
	res := result{
		rate: fin.GetEvalRate().GetMean(),
		ttft: fin.GetTtftNs().GetP50() / 1e9,
		at:   float64(fin.GetFinishedAt().AsTime().UnixNano()) / 1e9,
		id:   rec.GetBenchmarkId(),
	}
	if e := fin.GetEnergy(); e != nil && e.JoulesPerOutputToken != nil {
		v := e.GetJoulesPerOutputToken()
		res.jpt = &v
	}
	if old, ok := r.results[k]; !ok || latest || old.at < res.at {
		r.results[k] = res
	}
}

// Describe sends the descriptors of the benchmark metrics.
func (r *Runs) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descRate, descTTFT, descJPT, descLastAt} {
		ch <- d
	}
}

// Collect sends the counts (every state, 0 included, so that alerts on a
// rate work from the start) and the last results.
func (r *Runs) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var stored map[benchdv1.BenchmarkState]int
	if r.stored != nil {
		stored = r.stored()
	}
	for v, name := range benchdv1.BenchmarkState_name {
		st := benchdv1.BenchmarkState(v)
		if st == benchdv1.BenchmarkState_BENCHMARK_STATE_UNSPECIFIED {
			continue
		}
		n := stored[st]
		if st == benchdv1.BenchmarkState_BENCHMARK_STATE_RUNNING && r.running != nil {
			n = r.running()
		}
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, float64(n),
			strings.ToLower(strings.TrimPrefix(name, "BENCHMARK_STATE_")))
	}
	for k, res := range r.results {
		ch <- prometheus.MustNewConstMetric(descRate, prometheus.GaugeValue, res.rate, k.model, k.digest)
		ch <- prometheus.MustNewConstMetric(descTTFT, prometheus.GaugeValue, res.ttft, k.model, k.digest)
		ch <- prometheus.MustNewConstMetric(descLastAt, prometheus.GaugeValue, res.at, k.model, k.digest)
		if res.jpt != nil {
			ch <- prometheus.MustNewConstMetric(descJPT, prometheus.GaugeValue, *res.jpt, k.model, k.digest)
		}
	}
}
