package service

import (
	"context"
	"fmt"

	"github.com/benchd/benchd/internal/verdict"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// CheckRegression judges a run against its fingerprint's baseline.
func (s *Server) CheckRegression(ctx context.Context, req *benchdv1.CheckRegressionRequest) (*benchdv1.CheckRegressionResponse, error) {
	cand, err := s.candidate(ctx, req)
	if err != nil {
		return nil, toStatus(err)
	}
	p := verdict.ParamsOf(req)
	fp := verdict.Fingerprint(cand)
	pinned, err := s.pinned(ctx, fp.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	var recent []*benchdv1.Benchmark
	err = s.history.Earlier(ctx, cand.GetModel(), cand.GetCreatedAt().AsTime(), func(r *benchdv1.Benchmark) bool {
		if verdict.Comparable(r) == nil && verdict.Fingerprint(r).GetId() == fp.GetId() {
			recent = append(recent, r)
		}
		return len(recent) < p.BaselineRuns
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return verdict.Judge(cand, pinned, recent, p), nil
}

// candidate is the run a check judges: the one named, else the newest
// comparable run (of the model, if named).
func (s *Server) candidate(ctx context.Context, req *benchdv1.CheckRegressionRequest) (*benchdv1.Benchmark, error) {
	if id := req.GetBenchmarkId(); id != "" {
		rec, err := s.history.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		return rec, verdict.Comparable(rec)
	}
	var cand *benchdv1.Benchmark
	err := s.history.Earlier(ctx, req.GetModel(), farFuture, func(r *benchdv1.Benchmark) bool {
		if verdict.Comparable(r) == nil {
			cand = r
		}
		return cand == nil
	})
	if err == nil && cand == nil {
		err = fmt.Errorf("no succeeded plain benchmark%s among the latest runs: %w", ofModel(req.GetModel()), errNoCandidate)
	}
	return cand, err
}

func ofModel(m string) string {
	if m == "" {
		return ""
	}
	return fmt.Sprintf(" of model %q", m)
}

// pinned reads the run pinned for fingerprint; nil when none is, or it is
// gone (a store edited by hand).
func (s *Server) pinned(ctx context.Context, fingerprint string) (*benchdv1.Benchmark, error) {
	id, err := s.history.Baseline(ctx, fingerprint)
	if err != nil || id == "" {
		return nil, err
	}
	rec, err := s.history.Get(ctx, id)
	if err != nil {
		s.log.Warn("pinned baseline unreadable; using recent runs", "fingerprint", fingerprint, "benchmark", id, "err", err)
		return nil, nil
	}
	return rec, nil
}

// SetBaseline pins (or unpins) a run as its fingerprint's baseline.
func (s *Server) SetBaseline(ctx context.Context, req *benchdv1.SetBaselineRequest) (*benchdv1.SetBaselineResponse, error) {
	rec, err := s.history.Get(ctx, req.GetBenchmarkId())
	if err == nil {
		err = verdict.Comparable(rec)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	fp := verdict.Fingerprint(rec)
	id := rec.GetBenchmarkId()
	if req.GetClear() {
		id = ""
	}
	prev, err := s.history.SetBaseline(ctx, fp.GetId(), id)
	if err != nil {
		return nil, toStatus(err)
	}
	s.log.Info("baseline", "fingerprint", fp.GetId(), "benchmark", id, "previous", prev)
	return &benchdv1.SetBaselineResponse{Fingerprint: fp, BaselineId: id, PreviousId: prev}, nil
}
