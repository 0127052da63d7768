// Package metrics is benchd's Prometheus exporter: GPU telemetry and VRAM
// read at scrape time, benchmarks by state, the last result per model and
// digest, and the gRPC server's own metrics (go-grpc-middleware's
// Prometheus provider), served as OpenMetrics.
package metrics

import (
	"net/http"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
)

// Namespace prefixes every metric benchd defines.
const Namespace = "benchd"

// Exporter is the registry and what feeds it.
type Exporter struct {
	reg  *prometheus.Registry
	grpc *grpcprom.ServerMetrics
	// Runs is fed by the history (benchmarks by state, last results).
	Runs *Runs
}

// New builds an exporter over gpus (nil: no GPU metrics, as with
// --vram-source none).
func New(gpus *GPUs) (*Exporter, error) {
	e := &Exporter{
		reg: prometheus.NewRegistry(),
		grpc: grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
			// RPCs range from a SampleVRAM (well under a millisecond) to a
			// benchmark (minutes).
			grpcprom.WithHistogramBuckets([]float64{.0005, .001, .005, .01, .05, .1, .5, 1, 5, 30, 120, 600}),
		)),
		Runs: newRuns(),
	}
	cs := []prometheus.Collector{e.grpc, e.Runs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if gpus != nil {
		cs = append(cs, gpus)
	}
	for _, c := range cs {
		if err := e.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Handler serves the registry, as OpenMetrics when the scraper asks for it
// (Prometheus does) and in the text format otherwise.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, Registry: e.reg})
}

// Interceptors are the gRPC server interceptors that count and time RPCs.
func (e *Exporter) Interceptors() (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	return e.grpc.UnaryServerInterceptor(), e.grpc.StreamServerInterceptor()
}

// InitializeGRPC pre-creates the gRPC metrics of every method of gs at 0,
// so that rates work from the first scrape.
func (e *Exporter) InitializeGRPC(gs *grpc.Server) { e.grpc.InitializeMetrics(gs) }
