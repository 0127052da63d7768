package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/benchd/benchd/internal/energy"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/vram"
)

// DefaultIdleBaseline is how long the idle power is sampled before the
// first trial: twice the one-second window the GPUs average power over,
// so that the baseline is not the tail of whatever ran before.
const DefaultIdleBaseline = 2 * time.Second

// IdlePower is the GPUs' summed power while idle, the baseline of net
// energy.
type IdlePower struct {
	Watts    float64
	Samples  int
	Duration time.Duration
}

// idleBaseline samples the GPUs for r.idle before the first trial when
// gpus (the reading before the run) show power; nil otherwise. Only a
// cancelled run fails it.
func (r *Runner) idleBaseline(ctx context.Context, s Settings, gpus []vram.GPU) (*IdlePower, error) {
	if r.vram == nil || s.VRAMInterval <= 0 || r.idle <= 0 || !hasPower(gpus) {
		return nil, nil
	}
	sampler, err := vram.StartSampler(ctx, r.vram, s.VRAMInterval)
	if err != nil {
		return nil, fmt.Errorf("start idle power sampler: %w", err)
	}
	start := time.Now()
	t := time.NewTimer(r.idle)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	sr := sampler.Stop()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	w, n, ok := energy.Baseline(sr.Samples)
	if !ok {
		r.log.WarnContext(ctx, "idle power: no sample had power", "failures", sr.Failures, "err", sr.FirstErr)
		return nil, nil
	}
	return &IdlePower{Watts: w, Samples: n, Duration: time.Since(start)}, nil
}

func hasPower(gpus []vram.GPU) bool {
	for _, g := range gpus {
		if g.Telemetry.PowerW.Set {
			return true
		}
	}
	return false
}

// spanEnergy is the energy of [start, end] from its samples, with tokens
// output tokens; nil without power readings.
func spanEnergy(samples []vram.Sample, start, end time.Time, tokens int, idleW vram.Value) *energy.Span {
	s, ok := energy.Of(samples, start, end, idleW)
	if !ok {
		return nil
	}
	s.OutputTokens = tokens
	return &s
}

// measuredEnergy sums the energy of the trials that have it.
func measuredEnergy(ts []*Trial) *energy.Span {
	var spans []energy.Span
	for _, t := range ts {
		if t.Energy != nil {
			spans = append(spans, *t.Energy)
		}
	}
	s, ok := energy.Sum(spans)
	if !ok {
		return nil
	}
	return &s
}

func joulesPerTokenSummary(ts []*Trial) stats.Summary {
	var xs []float64
	for _, t := range ts {
		if t.Energy == nil {
			continue
		}
		if v := t.Energy.PerToken(); v.Set {
			xs = append(xs, v.V)
		}
	}
	return stats.Summarize(xs)
}
