package service

import (
	"context"

	"github.com/benchd/benchd/internal/history"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// GetBenchmark returns one stored benchmark.
func (s *Server) GetBenchmark(ctx context.Context, req *benchdv1.GetBenchmarkRequest) (*benchdv1.GetBenchmarkResponse, error) {
	rec, err := s.history.Get(ctx, req.GetBenchmarkId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &benchdv1.GetBenchmarkResponse{Benchmark: rec}, nil
}

// ListBenchmarks pages through the history, newest first.
func (s *Server) ListBenchmarks(ctx context.Context, req *benchdv1.ListBenchmarksRequest) (*benchdv1.ListBenchmarksResponse, error) {
	f := history.Filter{Model: req.GetModel(), Limit: int(req.GetPageSize()), After: req.GetPageToken()}
	if f.Limit == 0 {
		f.Limit = defaults.ListPageSize
	}
	if req.Since != nil {
		f.Since = req.GetSince().AsTime()
	}
	if req.Until != nil {
		f.Until = req.GetUntil().AsTime()
	}
	recs, next, err := s.history.List(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	return &benchdv1.ListBenchmarksResponse{Benchmarks: recs, NextPageToken: next}, nil
}
