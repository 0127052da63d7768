package service

import (
	"context"
	"fmt"
	"log/slog"

	"google.golang.org/grpc"

	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// SampleVRAM reads the configured VRAM source once.
func (s *Server) SampleVRAM(ctx context.Context, _ *benchdv1.SampleVRAMRequest) (*benchdv1.SampleVRAMResponse, error) {
	gpus, err := s.readVRAM(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &benchdv1.SampleVRAMResponse{Gpus: gpus}, nil
}

// WatchVRAM streams samples until the caller leaves. Every watcher is
// served by one shared sampler (vram.Hub), so N watchers cost one read per
// interval; an interval shorter than the source allows (1s for the exec'd
// tools) is raised to it, and the audit line says so.
func (s *Server) WatchVRAM(req *benchdv1.WatchVRAMRequest, stream grpc.ServerStreamingServer[benchdv1.WatchVRAMResponse]) error {
	if s.hub == nil {
		return toStatus(vram.ErrOff)
	}
	every := defaults.WatchVRAMInterval
	if req.Interval != nil {
		every = req.GetInterval().AsDuration()
	}
	ctx := stream.Context()
	w := s.hub.Watch(every)
	defer w.Close()
	if w.Interval() != every {
		addAuditAttr(ctx, slog.Duration("interval", w.Interval()))
	}
	for {
		select {
		case <-ctx.Done():
			return callerGone(ctx, ctx.Err())
		case rd := <-w.C:
			if rd.Err != nil {
				return callerGone(ctx, fmt.Errorf("read VRAM from %s: %w", s.vram.Source(), rd.Err))
			}
			if err := stream.Send(&benchdv1.WatchVRAMResponse{Gpus: history.GPUsToProto(rd.GPUs)}); err != nil {
				return err
			}
		}
	}
}

func (s *Server) readVRAM(ctx context.Context) ([]*benchdv1.GPU, error) {
	if s.vram == nil {
		return nil, vram.ErrOff
	}
	gpus, err := s.vram.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read VRAM from %s: %w", s.vram.Source(), err)
	}
	return history.GPUsToProto(gpus), nil
}
