package history

import (
	"context"
	"fmt"
	"time"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Baseline returns the benchmark pinned as fingerprint's baseline, or "".
func (h *History) Baseline(ctx context.Context, fingerprint string) (string, error) {
	id, err := h.store.Baseline(ctx, fingerprint)
	if err != nil {
		return "", fmt.Errorf("read baseline of %s: %w", fingerprint, err)
	}
	return id, nil
}

// SetBaseline pins id as fingerprint's baseline ("" unpins) and returns
// the one pinned before.
func (h *History) SetBaseline(ctx context.Context, fingerprint, id string) (string, error) {
	return h.store.SetBaseline(ctx, fingerprint, id)
}

// ScanLimit bounds how many records Earlier reads for one call: a check
// looks back over this many runs of a model at most.
const ScanLimit = 1000

// scanPage is how many whole records Earlier decodes at a time.
const scanPage = 64

// Earlier passes fn the whole records (trials included) of model created
// before before, newest first, until fn returns false or ScanLimit records
// were read.
func (h *History) Earlier(ctx context.Context, model string, before time.Time, fn func(*benchdv1.Benchmark) bool) error {
	f := Filter{Model: model, Until: before, Limit: scanPage}
	for read := 0; read < ScanLimit; {
		recs, next, err := h.store.List(ctx, f)
		if err != nil {
			return fmt.Errorf("read earlier runs of %s: %w", model, err)
		}
		for _, r := range recs {
			read++
			if !fn(r) || read == ScanLimit {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		f.After = next
	}
	return nil
}
