package runner_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
)

// stoppedContainer is a container check that fails.
type stoppedContainer struct{ err error }

func (c stoppedContainer) CheckContainer(context.Context) error { return c.err }

// ListModels passes ollama's inventory through, checks the container
// first, and runs beside a benchmark (TEST DOUBLE: fakes.Ollama).
func TestListModels(t *testing.T) {
	f := &fakes.Ollama{Hang: true, Started: make(chan struct{}, 1)}
	r, _ := newRunner(f)
	defer r.Shutdown(context.Canceled)
	run, err := r.Start(settings(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	<-f.Started
	inv, err := r.ListModels(context.Background())
	if err != nil || len(inv.Models) != 1 || inv.Models[0].Digest != fakes.TinyDigest || inv.Models[0].ContextLength != 2048 || len(inv.Loaded) != 1 {
		t.Errorf("while a benchmark runs: %+v, %v", inv, err)
	}
	run.Cancel(context.Canceled)
	<-run.Done()

	f.ListErr = ollama.ErrUnreachable
	if _, err := r.ListModels(context.Background()); !errors.Is(err, ollama.ErrUnreachable) {
		t.Errorf("ollama unreachable: %v", err)
	}

	stopped := errors.New("container stopped")
	rc := runner.NewRunner(runner.Config{Ollama: &fakes.Ollama{}, Container: stoppedContainer{stopped}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer rc.Shutdown(context.Canceled)
	if _, err := rc.ListModels(context.Background()); !errors.Is(err, stopped) {
		t.Errorf("container stopped: %v", err)
	}
}
