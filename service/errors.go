package service

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/vram"
)

type statsSummary = stats.Summary

// toStatus maps a domain error to the one gRPC status the caller sees. This
// is the only place codes are chosen; each message ends with what to do.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && !isCtxErr(err) {
		// Already a status (e.g. the stream's Send failed).
		return err
	}
	if b, ok := runner.IsBusy(err); ok {
		return status.Errorf(codes.ResourceExhausted,
			"benchmark %s of model %q is running; one benchmark runs at a time: wait for it to finish and retry", b.ID, b.Model)
	}
	var (
		code codes.Code
		hint string
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code, hint = codes.DeadlineExceeded, "raise the request's timeout (at most 1h) or lower repetitions/max_tokens"
	case errors.Is(err, context.Canceled):
		code, hint = codes.Canceled, "the benchmark was cancelled"
	case errors.Is(err, dockerx.ErrUnavailable):
		code, hint = codes.Unavailable, "the Docker Engine is not reachable from benchd; start Docker (or check DOCKER_HOST) and retry"
	case errors.Is(err, dockerx.ErrContainerNotFound):
		code, hint = codes.FailedPrecondition, "the ollama container does not exist; create and start it, then retry"
	case errors.Is(err, dockerx.ErrContainerNotRunning):
		code, hint = codes.FailedPrecondition, "the ollama container is not running; start (or unpause) it, then retry"
	case errors.Is(err, dockerx.ErrPrivilegedRefused), errors.Is(err, vram.ErrPrivilegedRefused):
		code, hint = codes.FailedPrecondition, "the Docker Engine refuses privileged execs here; run benchd without --vram-privileged or use --vram-source sysfs"
	case errors.Is(err, dockerx.ErrCommandNotFound):
		code, hint = codes.FailedPrecondition, "the VRAM tool is not installed in the ollama container; choose another benchd --vram-source (sysfs needs no tool)"
	case errors.Is(err, ollama.ErrModelNotFound):
		code, hint = codes.NotFound, "pull the model into ollama first (benchd never pulls), e.g. `docker exec ollama ollama pull MODEL`"
	case errors.Is(err, ollama.ErrModelInUse):
		code, hint = codes.FailedPrecondition, "run cold benchmarks while nothing else uses ollama, or drop cold"
	case errors.Is(err, ollama.ErrModelLoad):
		code, hint = codes.FailedPrecondition, "ollama could not load the model (corrupt or unsupported file, or too little memory); check it with `ollama run MODEL` in the container and re-create or re-pull it"
	case errors.Is(err, ollama.ErrRunnerFailed):
		code, hint = codes.Unavailable, "ollama's model runner failed mid-trial (crashed or killed; see the container's log); retry"
	case errors.Is(err, ollama.ErrIncomplete):
		code, hint = codes.Unavailable, "ollama stopped answering mid-trial (server or container restarted?); check the ollama container and retry"
	case errors.Is(err, vram.ErrNoSource), errors.Is(err, vram.ErrNoGPU):
		code, hint = codes.FailedPrecondition, "no VRAM source works on this host; pick one with benchd --vram-source"
	case errors.Is(err, dockerx.ErrOutputTooLarge):
		code, hint = codes.Internal, "the VRAM tool printed far more than expected; check the tool in the container"
	case errors.Is(err, vram.ErrToolFailed):
		// A failing or garbling nvidia-smi/rocm-smi/amd-smi is the host's
		// problem; INTERNAL ("see benchd's log") sent people to benchd.
		// (Found by internal/faults TestVRAMToolGarbage.)
		code, hint = codes.FailedPrecondition, "the VRAM tool in the container failed or printed output benchd cannot read; run it there by hand to see why, or choose another benchd --vram-source"
	default:
		code, hint = codes.Internal, "see benchd's log for details"
	}
	return status.Error(code, fmt.Sprintf("%v; %s", err, hint))
}
