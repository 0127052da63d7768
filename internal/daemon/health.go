package daemon

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/benchd/benchd/internal/runner"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// watchHealth reports NOT_SERVING while the ollama container cannot be used,
// so monitoring and `benchctl health` tell a Docker problem from a benchd one.
func watchHealth(ctx context.Context, hs *health.Server, c runner.Container, every time.Duration,
	last healthpb.HealthCheckResponse_ServingStatus, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last = checkHealth(ctx, hs, c, every, last, log)
	}
}

// checkHealth checks the container once and publishes a changed status.
func checkHealth(ctx context.Context, hs *health.Server, c runner.Container, every time.Duration,
	last healthpb.HealthCheckResponse_ServingStatus, log *slog.Logger) healthpb.HealthCheckResponse_ServingStatus {
	cctx, cancel := context.WithTimeout(ctx, every)
	err := c.CheckContainer(cctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		return last
	}
	st := servingStatus(err)
	if st != last {
		attrs := []any{"status", st.String()}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		log.Info("health changed", attrs...)
		setHealth(hs, st)
	}
	return st
}

func servingStatus(containerErr error) healthpb.HealthCheckResponse_ServingStatus {
	if containerErr != nil {
		return healthpb.HealthCheckResponse_NOT_SERVING
	}
	return healthpb.HealthCheckResponse_SERVING
}

func setHealth(hs *health.Server, st healthpb.HealthCheckResponse_ServingStatus) {
	hs.SetServingStatus("", st)
	hs.SetServingStatus(benchdv1.BenchmarkService_ServiceDesc.ServiceName, st)
}
