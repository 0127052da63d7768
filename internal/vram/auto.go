package vram

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
)

// SourceAuto is what an Auto reader's Source returns before it has chosen.
const SourceAuto = "auto"

// autoReader defers the choice of source to the first Read, because the
// tools run inside a container that may not be up when the reader is
// built.
type autoReader struct {
	sysfs *Sysfs
	tools []Reader

	chosen atomic.Pointer[chosenReader]
	// probing is a one-slot semaphore rather than a mutex so that a Read
	// waiting behind another's probe still honours its own context.
	probing chan struct{}
}

type chosenReader struct{ r Reader }

// Auto returns a Reader that uses sysfs when it finds an AMD GPU there,
// and otherwise the first of tools whose Read succeeds. The choice is made
// on the first Read and then kept for good, even if that source later
// fails: switching sources mid-run would mix readings that are not
// comparable. A probe where nothing works is not remembered, so a later
// Read tries again; its error wraps ErrNoSource. Either argument may be
// nil or empty. Auto is safe for concurrent use.
func Auto(sysfs *Sysfs, tools []Reader) Reader {
	return &autoReader{
		sysfs:   sysfs,
		tools:   append([]Reader(nil), tools...),
		probing: make(chan struct{}, 1),
	}
}

// Source returns the chosen source's name, or SourceAuto before the choice.
func (a *autoReader) Source() string {
	if c := a.chosen.Load(); c != nil {
		return c.r.Source()
	}
	return SourceAuto
}

func (a *autoReader) Read(ctx context.Context) ([]GPU, error) {
	if c := a.chosen.Load(); c != nil {
		return c.r.Read(ctx)
	}
	select {
	case a.probing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("choose VRAM source: %w", ctx.Err())
	}
	defer func() { <-a.probing }()
	// Another Read may have chosen while we waited.
	if c := a.chosen.Load(); c != nil {
		return c.r.Read(ctx)
	}
	return a.probe(ctx)
}

func (a *autoReader) probe(ctx context.Context) ([]GPU, error) {
	var candidates []Reader
	if a.sysfs != nil && a.sysfs.Detect() {
		candidates = append(candidates, a.sysfs)
	}
	for _, t := range a.tools {
		if t != nil {
			candidates = append(candidates, t)
		}
	}
	var errs []error
	for _, r := range candidates {
		gpus, err := r.Read(ctx)
		if err == nil {
			a.chosen.Store(&chosenReader{r: r})
			return gpus, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The failure says nothing about the source; do not let
			// it count against any.
			return nil, fmt.Errorf("choose VRAM source: %w", ctxErr)
		}
		errs = append(errs, fmt.Errorf("%s: %w", r.Source(), err))
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("choose VRAM source: no AMD GPU in sysfs and no tools: %w", ErrNoSource)
	}
	// One line, every cause still reachable with errors.Is/As (a refused
	// privileged exec, say).
	format := "choose VRAM source: %w: " + strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; ")
	args := make([]any, 0, 1+len(errs))
	args = append(args, ErrNoSource)
	for _, err := range errs {
		args = append(args, err)
	}
	return nil, fmt.Errorf(format, args...)
}
