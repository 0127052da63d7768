package service

import (
	"context"
	"fmt"
	"time"

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

// WatchVRAM streams samples until the caller leaves.
func (s *Server) WatchVRAM(req *benchdv1.WatchVRAMRequest, stream grpc.ServerStreamingServer[benchdv1.WatchVRAMResponse]) error {
	every := defaults.WatchVRAMInterval
	if req.Interval != nil {
		every = req.GetInterval().AsDuration()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	ctx := stream.Context()
	for {
		gpus, err := s.readVRAM(ctx)
		if err != nil {
			return callerGone(ctx, err)
		}
		if err := stream.Send(&benchdv1.WatchVRAMResponse{Gpus: gpus}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return callerGone(ctx, ctx.Err())
		case <-t.C:
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
