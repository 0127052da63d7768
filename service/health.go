package service

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/benchd/benchd/internal/buildinfo"
	"github.com/benchd/benchd/proto/defaults"
)

// versionedHealth is grpc-go's health server that also sends benchd's
// version in a response header, so `grpcurl -v … grpc.health.v1.Health/Check`
// and `benchctl health` say which benchd answered.
type versionedHealth struct {
	*health.Server
	header metadata.MD
}

func newVersionedHealth(hs *health.Server) *versionedHealth {
	return &versionedHealth{Server: hs, header: metadata.Pairs(defaults.VersionHeader, buildinfo.Version())}
}

func (h *versionedHealth) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	// A failed SetHeader only loses the header; the check itself stands.
	_ = grpc.SetHeader(ctx, h.header)
	return h.Server.Check(ctx, req)
}

func (h *versionedHealth) Watch(req *healthpb.HealthCheckRequest, stream healthpb.Health_WatchServer) error {
	_ = stream.SetHeader(h.header)
	return h.Server.Watch(req, stream)
}
