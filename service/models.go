package service

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/benchd/benchd/internal/history"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// ListModels reports what ollama has and has loaded (`ollama list`,
// `ollama ps`). Read-only; served beside a running benchmark.
func (s *Server) ListModels(ctx context.Context, _ *benchdv1.ListModelsRequest) (*benchdv1.ListModelsResponse, error) {
	inv, err := s.runner.ListModels(ctx)
	if err != nil {
		return nil, callerGone(ctx, err)
	}
	res := &benchdv1.ListModelsResponse{
		Models: make([]*benchdv1.InstalledModel, 0, len(inv.Models)),
		Loaded: make([]*benchdv1.LoadedModel, 0, len(inv.Loaded)),
	}
	for _, m := range inv.Models {
		res.Models = append(res.Models, &benchdv1.InstalledModel{
			Name: m.Name, Info: history.ModelInfoToProto(m.ModelInfo), SizeBytes: nonNegative(m.Size),
			ModifiedAt: timeToProto(m.ModifiedAt), ContextLength: contextLength(m.ContextLength),
		})
	}
	for _, m := range inv.Loaded {
		res.Loaded = append(res.Loaded, &benchdv1.LoadedModel{
			Name: m.Name, Info: history.ModelInfoToProto(m.ModelInfo), SizeBytes: nonNegative(m.Size),
			SizeVramBytes: nonNegative(m.SizeVRAM), ExpiresAt: timeToProto(m.ExpiresAt),
			ContextLength: contextLength(m.ContextLength),
		})
	}
	return res, nil
}

// contextLength is a context length ollama gave, within what the proto's
// uint32 holds and a model could have.
func contextLength(n int) uint32 { return uint32(min(max(n, 0), 1<<30)) }

// timeToProto leaves a time ollama did not give unset rather than 0001-01-01.
func timeToProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func nonNegative(n int64) uint64 { return uint64(max(n, 0)) }
