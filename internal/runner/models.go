package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benchd/benchd/internal/ollama"
)

// modelLister is what an Ollama may also offer: what ollama has and what
// it holds in memory (the real client asks /api/tags, /api/show, /api/ps).
type modelLister interface {
	ListModels(ctx context.Context) (ollama.Inventory, error)
}

// errNoModelList: the Ollama given to the Runner cannot list models.
var errNoModelList = errors.New("this benchd's ollama client cannot list models")

// listTimeout bounds ListModels: a few small requests, and /api/show for
// each model benchd has not seen before.
const listTimeout = time.Minute

// ListModels reports what ollama has and has loaded. It checks the
// container first, as a benchmark does, so that a stopped container says
// so rather than "connection refused". It changes nothing and does not
// take the one benchmark's place: it runs beside a benchmark.
func (r *Runner) ListModels(ctx context.Context) (ollama.Inventory, error) {
	ml, ok := r.ollama.(modelLister)
	if !ok {
		return ollama.Inventory{}, errNoModelList
	}
	ctx, cancel := context.WithTimeoutCause(ctx, listTimeout,
		fmt.Errorf("listing ollama's models took over %s: %w", listTimeout, context.DeadlineExceeded))
	defer cancel()
	if r.container != nil {
		if err := r.container.CheckContainer(ctx); err != nil {
			return ollama.Inventory{}, err
		}
	}
	inv, err := ml.ListModels(ctx)
	if err != nil && ctx.Err() != nil {
		return ollama.Inventory{}, fmt.Errorf("list ollama's models: %w", context.Cause(ctx))
	}
	return inv, err
}
