package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/verdict"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// Each domain error, wrapped as the domain packages wrap it, maps to one
// code, keeps what was being done, and ends with what to do next.
func TestStatusOfEachDomainError(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("doing something: %w", err) }
	cases := []struct {
		err  error
		code codes.Code
		hint string
	}{
		{wrap(context.DeadlineExceeded), codes.DeadlineExceeded, "raise the request's timeout"},
		{errCancelled, codes.Canceled, "was cancelled"},
		{errClientLeft, codes.Canceled, "was cancelled"},
		{&runner.BusyError{ID: "20260102T030405Z-0123abcd", Model: "tiny"}, codes.ResourceExhausted, "wait for it to finish"},
		{wrap(history.ErrNotFound), codes.NotFound, "ListBenchmarks"},
		{wrap(history.ErrLagged), codes.ResourceExhausted, "re-attach with WatchBenchmark"},
		{wrap(history.ErrInterrupted), codes.Unavailable, "run it again"},
		{notRunning("x", benchdv1.BenchmarkState_BENCHMARK_STATE_SUCCEEDED), codes.FailedPrecondition, "nothing to cancel"},
		{stuck("x", 0), codes.Internal, "see benchd's log"},
		{wrap(dockerx.ErrUnavailable), codes.Unavailable, "start Docker"},
		{wrap(dockerx.ErrContainerNotFound), codes.FailedPrecondition, "create and start it"},
		{wrap(dockerx.ErrContainerNotRunning), codes.FailedPrecondition, "start (or unpause) it"},
		{wrap(dockerx.ErrPrivilegedRefused), codes.FailedPrecondition, "without --vram-privileged"},
		{wrap(dockerx.ErrCommandNotFound), codes.FailedPrecondition, "choose another benchd --vram-source"},
		{wrap(dockerx.ErrOutputTooLarge), codes.Internal, "printed far more than expected"},
		{wrap(ollama.ErrModelNotFound), codes.NotFound, "pull the model"},
		{wrap(ollama.ErrModelInUse), codes.FailedPrecondition, "drop cold"},
		{wrap(ollama.ErrModelLoad), codes.FailedPrecondition, "re-create or re-pull it"},
		{wrap(ollama.ErrRunnerFailed), codes.Unavailable, "runner failed mid-trial"},
		{wrap(runner.ErrPromptTooLong), codes.InvalidArgument, "or a larger num_ctx"},
		{wrap(runner.ErrSweepInvalid), codes.InvalidArgument, "within 64 cells and 1000 trials"},
		{wrap(runner.ErrConcurrencyInvalid), codes.InvalidArgument, "1 to 8 levels of 1 to 64 requests in flight"},
		{fmt.Errorf("cell 2: %w after 1m (%w)", runner.ErrCellTimeout, context.DeadlineExceeded), codes.DeadlineExceeded, "raise the sweep's cell_timeout"},
		{wrap(runner.ErrStalled), codes.Unavailable, "raise benchd --stall-timeout"},
		{wrap(verdict.ErrNotComparable), codes.FailedPrecondition, "succeeded plain benchmarks"},
		{wrap(errNoCandidate), codes.NotFound, "run a benchmark first"},
		{wrap(ollama.ErrUnreachable), codes.Unavailable, "check that ollama runs"},
		{wrap(ollama.ErrIncomplete), codes.Unavailable, "stopped answering mid-trial"},
		{wrap(vram.ErrOff), codes.FailedPrecondition, "restart benchd with --vram-source"},
		{wrap(vram.ErrNoSource), codes.FailedPrecondition, "pick one with benchd --vram-source"},
		{wrap(vram.ErrNoGPU), codes.FailedPrecondition, "pick one with benchd --vram-source"},
		{wrap(vram.ErrToolFailed), codes.FailedPrecondition, "run it there by hand"},
		{errors.New("something nobody expected"), codes.Internal, "see benchd's log for details"},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			st := StatusOf(tc.err)
			if st.Code() != tc.code {
				t.Errorf("code %v, want %v", st.Code(), tc.code)
			}
			if !strings.HasPrefix(st.Message(), tc.err.Error()) || !strings.Contains(st.Message(), tc.hint) {
				t.Errorf("message %q: want the error, then a hint containing %q", st.Message(), tc.hint)
			}
		})
	}
	// Every row of the table is exercised above.
	for _, m := range statusTable {
		found := false
		for _, tc := range cases {
			if errors.Is(tc.err, m.err) {
				found = true
			}
		}
		if !found {
			t.Errorf("no case for table row %v", m.err)
		}
	}
}

// A status passes through unchanged (a stored outcome replayed, a failed
// Send); a context error does not count as one.
func TestStatusOfKeepsStatuses(t *testing.T) {
	in := status.Error(codes.NotFound, "stored: no model; pull it")
	if got := StatusOf(in); got.Code() != codes.NotFound || got.Message() != "stored: no model; pull it" {
		t.Errorf("StatusOf(status) = %v", got)
	}
	if toStatus(nil) != nil {
		t.Error("toStatus(nil) is not nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := status.Code(callerGone(ctx, errors.New("send failed"))); got != codes.Canceled {
		t.Errorf("callerGone after the caller left: %v, want Canceled", got)
	}
}
