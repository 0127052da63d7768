package vram

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sample is one successful reading taken by a Sampler.
type Sample struct {
	At   time.Time
	GPUs []GPU
}

// SamplerResult is what a Sampler saw between its start and Stop.
type SamplerResult struct {
	// Peak is the highest UsedBytes seen per GPU index.
	Peak map[int]uint64
	// Samples is every successful reading, oldest first.
	Samples []Sample
	// Failures counts reads that failed; FirstErr is the first of them,
	// usually the one that explains the rest.
	Failures int
	FirstErr error
}

// Sampler reads VRAM at a fixed interval in its own goroutine, to catch the
// peak usage of a trial that a single before/after reading would miss.
type Sampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	result SamplerResult // written by run, read after done closes
}

// StartSampler starts sampling r every interval until ctx is cancelled or
// Stop is called; either way the caller must call Stop, which releases the
// sampler's context and returns the result. The first reading is taken at
// once, so even a trial shorter than interval gets one. Reads that take
// longer than interval delay the next tick rather than pile up.
func StartSampler(ctx context.Context, r Reader, interval time.Duration) (*Sampler, error) {
	if r == nil {
		return nil, errors.New("start VRAM sampler: nil Reader")
	}
	if interval <= 0 {
		return nil, fmt.Errorf("start VRAM sampler: interval %v is not positive", interval)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sampler{
		cancel: cancel,
		done:   make(chan struct{}),
		result: SamplerResult{Peak: make(map[int]uint64)},
	}
	go s.run(ctx, r, interval)
	return s, nil
}

// Stop ends sampling, waits for the sampling goroutine to exit, and returns
// what it saw. A read in flight is cancelled; if that makes it fail, the
// failure is not counted. Stop may be called more than once and returns
// the same result each time.
func (s *Sampler) Stop() SamplerResult {
	s.once.Do(s.cancel)
	<-s.done
	return s.result
}

func (s *Sampler) run(ctx context.Context, r Reader, interval time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		s.sample(ctx, r)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (s *Sampler) sample(ctx context.Context, r Reader) {
	gpus, err := r.Read(ctx)
	res := &s.result
	if err != nil {
		if ctx.Err() != nil {
			// Stopped mid-read: the failure says nothing about the
			// source. A reading that made it is still kept below.
			return
		}
		if res.Failures == 0 {
			res.FirstErr = err
		}
		res.Failures++
		return
	}
	for _, g := range gpus {
		if used, ok := res.Peak[g.Index]; !ok || g.UsedBytes > used {
			res.Peak[g.Index] = g.UsedBytes
		}
	}
	res.Samples = append(res.Samples, Sample{At: time.Now(), GPUs: gpus})
}
