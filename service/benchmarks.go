package service

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// RunBenchmark starts a benchmark and follows it.
func (s *Server) RunBenchmark(req *benchdv1.RunBenchmarkRequest, stream grpc.ServerStreamingServer[benchdv1.RunBenchmarkResponse]) error {
	// The model goes into this RPC's audit line.
	addAuditAttr(stream.Context(), slog.String("model", req.GetModel()))
	if err := checkRequest(req); err != nil {
		return toStatus(err)
	}
	run, err := s.runner.Start(Resolve(req), s.history)
	if err != nil {
		return toStatus(err)
	}
	var onLeave func()
	if req.GetCancelOnDisconnect() {
		onLeave = func() { run.Cancel(errClientLeft) }
	}
	return s.follow(stream.Context(), run.ID, onLeave, func(ev *benchdv1.BenchmarkEvent) error {
		return stream.Send(&benchdv1.RunBenchmarkResponse{Event: ev})
	})
}

// WatchBenchmark follows a running benchmark, or replays a stored one.
func (s *Server) WatchBenchmark(req *benchdv1.WatchBenchmarkRequest, stream grpc.ServerStreamingServer[benchdv1.WatchBenchmarkResponse]) error {
	return s.follow(stream.Context(), req.GetBenchmarkId(), nil, func(ev *benchdv1.BenchmarkEvent) error {
		return stream.Send(&benchdv1.WatchBenchmarkResponse{Event: ev})
	})
}

// follow sends a benchmark's events — those so far, then live ones — until
// it ends (returning its outcome) or the caller leaves (calling onLeave, if
// set, which cancels the run for cancel_on_disconnect).
func (s *Server) follow(ctx context.Context, id string, onLeave func(), send func(*benchdv1.BenchmarkEvent) error) error {
	leave := func(err error) error {
		if onLeave != nil {
			onLeave()
		}
		return callerGone(ctx, err)
	}
	replay, sub, err := s.history.Watch(ctx, id)
	if sub != nil {
		defer sub.Close()
	}
	for _, ev := range replay {
		if serr := send(ev); serr != nil {
			return leave(serr)
		}
	}
	if sub == nil {
		// Ended before the call: the replay was the whole run.
		return toStatus(err)
	}
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				return toStatus(sub.Err())
			}
			if err := send(ev); err != nil {
				return leave(err)
			}
		case <-ctx.Done():
			return leave(ctx.Err())
		}
	}
}

// cancelWait bounds how long CancelBenchmark waits for the run to wind
// down; generation stops within milliseconds, recording follows at once.
const cancelWait = 10 * time.Second

// CancelBenchmark stops a running benchmark and returns its record.
func (s *Server) CancelBenchmark(ctx context.Context, req *benchdv1.CancelBenchmarkRequest) (*benchdv1.CancelBenchmarkResponse, error) {
	id := req.GetBenchmarkId()
	run := s.runner.Active(id)
	if run == nil {
		rec, err := s.history.Get(ctx, id)
		if err != nil {
			return nil, toStatus(err)
		}
		return nil, toStatus(notRunning(id, rec.GetState()))
	}
	run.Cancel(errCancelled)
	select {
	case <-run.Done():
	case <-ctx.Done():
		return nil, callerGone(ctx, ctx.Err())
	case <-time.After(cancelWait):
		return nil, toStatus(stuck(id, cancelWait))
	}
	rec, err := s.history.Get(ctx, id)
	if err != nil {
		return nil, toStatus(err)
	}
	return &benchdv1.CancelBenchmarkResponse{Benchmark: rec}, nil
}
