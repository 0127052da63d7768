package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/internal/store"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// WatchBenchmark follows a running benchmark, or replays a stored one.
func (s *Server) WatchBenchmark(req *benchdv1.WatchBenchmarkRequest, stream grpc.ServerStreamingServer[benchdv1.WatchBenchmarkResponse]) error {
	send := func(ev *benchdv1.BenchmarkEvent) error {
		return stream.Send(&benchdv1.WatchBenchmarkResponse{Event: ev})
	}
	if run := s.runner.Active(req.GetBenchmarkId()); run != nil {
		return follow(stream.Context(), run, false, send)
	}
	rec, err := s.get(stream.Context(), req.GetBenchmarkId())
	if err != nil {
		return err
	}
	for _, ev := range recordEvents(rec) {
		if err := send(ev); err != nil {
			return err
		}
	}
	return recordStatus(rec)
}

// GetBenchmark returns one stored benchmark.
func (s *Server) GetBenchmark(ctx context.Context, req *benchdv1.GetBenchmarkRequest) (*benchdv1.GetBenchmarkResponse, error) {
	rec, err := s.get(ctx, req.GetBenchmarkId())
	if err != nil {
		return nil, err
	}
	return &benchdv1.GetBenchmarkResponse{Benchmark: rec}, nil
}

const defaultPageSize = 50

// ListBenchmarks pages through the history, newest first.
func (s *Server) ListBenchmarks(ctx context.Context, req *benchdv1.ListBenchmarksRequest) (*benchdv1.ListBenchmarksResponse, error) {
	f := store.Filter{Model: req.GetModel(), Limit: int(req.GetPageSize()), After: req.GetPageToken()}
	if f.Limit == 0 {
		f.Limit = defaultPageSize
	}
	if req.Since != nil {
		f.Since = req.GetSince().AsTime()
	}
	if req.Until != nil {
		f.Until = req.GetUntil().AsTime()
	}
	recs, next, err := s.store.List(ctx, f)
	if err != nil {
		return nil, toStatus(fmt.Errorf("list benchmarks: %w", err))
	}
	out := &benchdv1.ListBenchmarksResponse{NextPageToken: next}
	for _, r := range recs {
		// A listing is for choosing; the trials and timeline come with
		// GetBenchmark.
		r = proto.CloneOf(r)
		r.Trials, r.VramTimeline = nil, nil
		out.Benchmarks = append(out.Benchmarks, r)
	}
	return out, nil
}

// cancelWait bounds how long CancelBenchmark waits for the run to wind
// down; generation stops within milliseconds, recording follows at once.
const cancelWait = 10 * time.Second

// CancelBenchmark stops a running benchmark and returns its record.
func (s *Server) CancelBenchmark(ctx context.Context, req *benchdv1.CancelBenchmarkRequest) (*benchdv1.CancelBenchmarkResponse, error) {
	id := req.GetBenchmarkId()
	run := s.runner.Active(id)
	if run == nil {
		rec, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		return nil, status.Errorf(codes.FailedPrecondition, "benchmark %s is not running (it ended %s); nothing to cancel",
			id, rec.GetState())
	}
	run.Cancel(errCancelled)
	select {
	case <-run.Done():
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-time.After(cancelWait):
		return nil, status.Errorf(codes.Internal, "benchmark %s did not stop within %s of being cancelled; see benchd's log", id, cancelWait)
	}
	rec, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &benchdv1.CancelBenchmarkResponse{Benchmark: rec}, nil
}

// WatchVRAM streams samples until the caller leaves.
func (s *Server) WatchVRAM(req *benchdv1.WatchVRAMRequest, stream grpc.ServerStreamingServer[benchdv1.WatchVRAMResponse]) error {
	if s.vram == nil {
		return errVRAMOff
	}
	every := time.Second
	if req.Interval != nil {
		every = req.GetInterval().AsDuration()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	ctx := stream.Context()
	for {
		gpus, err := s.vram.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			return toStatus(fmt.Errorf("read VRAM from %s: %w", s.vram.Source(), err))
		}
		if err := stream.Send(&benchdv1.WatchVRAMResponse{Gpus: gpusToProto(gpus)}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
	}
}

func (s *Server) get(ctx context.Context, id string) (*benchdv1.Benchmark, error) {
	rec, err := s.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no benchmark %s in benchd's history; list them with ListBenchmarks (benchctl history)", id)
	}
	if err != nil {
		return nil, toStatus(fmt.Errorf("read benchmark %s: %w", id, err))
	}
	return rec, nil
}

// recordEvents replays a stored benchmark as the events it streamed.
func recordEvents(rec *benchdv1.Benchmark) []*benchdv1.BenchmarkEvent {
	var evs []*benchdv1.BenchmarkEvent
	if rec.GetStarted() != nil {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Started{Started: rec.GetStarted()}})
	}
	for _, t := range rec.GetTrials() {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Trial{Trial: t}})
	}
	if rec.GetFinished() != nil {
		evs = append(evs, &benchdv1.BenchmarkEvent{Kind: &benchdv1.BenchmarkEvent_Finished{Finished: rec.GetFinished()}})
	}
	return evs
}

// recordStatus is the status a stored benchmark ended with.
func recordStatus(rec *benchdv1.Benchmark) error {
	if rec.GetErrorCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(rec.GetErrorCode()), rec.GetErrorMessage())
}
