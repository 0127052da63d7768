package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/verdict"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// This file is the one place gRPC codes are chosen. Domain packages return
// sentinel errors (wrapped with what was being done); each maps here to a
// code and a hint that tells the caller what to do next.

// Errors of the edge itself.
var (
	errPanic = status.Error(codes.Internal, "benchd hit an internal error; the daemon is still running, see its log")
	// Cancellation causes, recorded with the run.
	errClientLeft = fmt.Errorf("the client left and asked for cancel_on_disconnect: %w", context.Canceled)
	errCancelled  = fmt.Errorf("cancelled with CancelBenchmark: %w", context.Canceled)
	errNotRunning = errors.New("not running")
	errStuck      = errors.New("did not stop")
	// errNoCandidate: CheckRegression without an id found no run to judge.
	errNoCandidate = errors.New("nothing to check")
)

// farFuture is a time after every benchmark: "before farFuture" is all of
// them.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func notRunning(id string, st benchdv1.BenchmarkState) error {
	return fmt.Errorf("benchmark %s is %w (it ended %s)", id, errNotRunning, record.State(st))
}

func stuck(id string, wait time.Duration) error {
	return fmt.Errorf("benchmark %s %w within %s of being cancelled", id, errStuck, wait)
}

// mapping is one row of the table: errors matching err get code and hint.
type mapping struct {
	err  error
	code codes.Code
	hint string
}

// statusTable is checked in order; the first row whose error matches wins.
var statusTable = []mapping{
	// Before DeadlineExceeded, which it also matches: a cell's own bound.
	{runner.ErrCellTimeout, codes.DeadlineExceeded, "raise the sweep's cell_timeout (default: the timeout shared among the cells, at least 1m), or drop the setting that hangs ollama's model runner"},
	{context.DeadlineExceeded, codes.DeadlineExceeded, "raise the request's timeout (at most 1h) or lower repetitions/max_tokens"},
	{context.Canceled, codes.Canceled, "the benchmark was cancelled"},
	{history.ErrNotFound, codes.NotFound, "list the benchmarks with ListBenchmarks (benchctl history)"},
	{history.ErrLagged, codes.ResourceExhausted, "the benchmark continues: re-attach with WatchBenchmark and read faster"},
	{history.ErrInterrupted, codes.Unavailable, "run it again"},
	{errNotRunning, codes.FailedPrecondition, "nothing to cancel"},
	{errStuck, codes.Internal, "see benchd's log"},
	{dockerx.ErrUnavailable, codes.Unavailable, "the Docker Engine is not reachable from benchd; start Docker (or check DOCKER_HOST) and retry"},
	{dockerx.ErrContainerNotFound, codes.FailedPrecondition, "the ollama container does not exist; create and start it, then retry"},
	{dockerx.ErrContainerNotRunning, codes.FailedPrecondition, "the ollama container is not running; start (or unpause) it, then retry"},
	{dockerx.ErrPrivilegedRefused, codes.FailedPrecondition, "the Docker Engine refuses privileged execs here; run benchd without --vram-privileged or use --vram-source sysfs"},
	{dockerx.ErrCommandNotFound, codes.FailedPrecondition, "the VRAM tool is not installed in the ollama container; choose another benchd --vram-source (sysfs needs no tool)"},
	{ollama.ErrModelNotFound, codes.NotFound, "pull the model into ollama first (benchd never pulls), e.g. `docker exec CONTAINER ollama pull MODEL` on the host"},
	{ollama.ErrModelInUse, codes.FailedPrecondition, "run cold benchmarks while nothing else uses ollama, or drop cold"},
	{ollama.ErrModelLoad, codes.FailedPrecondition, "ollama could not load the model (corrupt or unsupported file, or too little memory); check it with `ollama run MODEL` in the container and re-create or re-pull it"},
	{ollama.ErrRunnerFailed, codes.Unavailable, "ollama's model runner failed mid-trial (crashed or killed; see the container's log); retry"},
	{runner.ErrPromptTooLong, codes.InvalidArgument, "ask for at most the context's tokens in prompt_tokens, or a larger num_ctx"},
	{runner.ErrSweepInvalid, codes.InvalidArgument, "keep a sweep within 64 cells and 1000 trials (cells x (warmup+repetitions)), give each setting either in the request or in its sweep, and list the request's model among the sweep's models"},
	{runner.ErrConcurrencyInvalid, codes.InvalidArgument, "give a concurrency run 1 to 8 levels of 1 to 64 requests in flight, at least as many requests per level as its largest level and at most 1000 requests in all (warmup included), and no sweep, cold or repetitions"},
	{runner.ErrStalled, codes.Unavailable, "the generation was stopped; check the ollama container (its log, a hung GPU) and retry, or raise benchd --stall-timeout for a model that pauses that long"},
	{ollama.ErrUnreachable, codes.Unavailable, "nothing answers at ollama's address: check that ollama runs (`docker logs CONTAINER`) and listens where benchd looks (benchd --ollama, --ollama-port), then retry"},
	{ollama.ErrIncomplete, codes.Unavailable, "ollama stopped answering mid-trial (server or container restarted?); check the ollama container and retry"},
	{vram.ErrOff, codes.FailedPrecondition, "restart benchd with --vram-source auto, sysfs, rocm-smi, amd-smi or nvidia-smi"},
	{vram.ErrNoSource, codes.FailedPrecondition, "no VRAM source works on this host; pick one with benchd --vram-source"},
	{vram.ErrNoGPU, codes.FailedPrecondition, "no VRAM source works on this host; pick one with benchd --vram-source"},
	{dockerx.ErrOutputTooLarge, codes.Internal, "the VRAM tool printed far more than expected; check the tool in the container"},
	// A failing or garbling nvidia-smi/rocm-smi/amd-smi is the host's
	// problem; INTERNAL ("see benchd's log") sent people to benchd.
	// (Found by internal/faults TestVRAMToolGarbage.)
	{vram.ErrToolFailed, codes.FailedPrecondition, "the VRAM tool in the container failed or printed output benchd cannot read; run it there by hand to see why, or choose another benchd --vram-source"},
	{verdict.ErrNotComparable, codes.FailedPrecondition, "baselines and regression checks take succeeded plain benchmarks (no sweep or concurrency); pick one with ListBenchmarks (benchctl history)"},
	{errNoCandidate, codes.NotFound, "run a benchmark first (benchctl run MODEL), or name one with benchmark_id"},
}

// StatusOf is the status the caller sees for err: the code of its row in
// statusTable and a message ending with what to do. The history records a
// run's end with it.
func StatusOf(err error) *status.Status {
	if st, ok := status.FromError(err); ok && !isCtxErr(err) {
		// Already a status: a stored outcome, or a failed Send.
		return st
	}
	if b, ok := runner.IsBusy(err); ok {
		return status.Newf(codes.ResourceExhausted,
			"benchmark %s of model %q is running; one benchmark runs at a time: wait for it to finish and retry", b.ID, b.Model)
	}
	code, hint := codes.Internal, "see benchd's log for details"
	for _, m := range statusTable {
		if errors.Is(err, m.err) {
			code, hint = m.code, m.hint
			break
		}
	}
	return status.New(code, fmt.Sprintf("%v; %s", err, hint))
}

// toStatus is StatusOf as an error; nil stays nil.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	return StatusOf(err).Err()
}

// callerGone is how a call ends when its caller left (or its deadline
// passed) while err happened: the caller's own context decides the code.
func callerGone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return toStatus(err)
}

// isCtxErr separates "the client or the timeout ended the call" from failures.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
