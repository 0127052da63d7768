package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/metrics"
	"github.com/benchd/benchd/internal/vram"
	"github.com/benchd/benchd/proto/defaults"
	"github.com/benchd/benchd/service"
)

// Metrics is the Prometheus exporter's listener.
type Metrics struct {
	// Listen is tcp://HOST:PORT; empty: no exporter. TLS.Metrics puts the
	// mutual TLS of --listen on it: a scraper then needs a client
	// certificate the CA signed.
	Listen string
}

func (m Metrics) check(t TLS) error {
	if m.Listen == "" {
		if t.Metrics {
			return errors.New("--metrics-tls is given without --metrics tcp://HOST:PORT")
		}
		return nil
	}
	return checkTCP("--metrics", m.Listen)
}

func (m Metrics) addr() string { return strings.TrimPrefix(m.Listen, "tcp://") }

// metricsServer is the exporter's HTTP server and its listener.
type metricsServer struct {
	exp *metrics.Exporter
	srv *http.Server
	l   net.Listener
}

// metricsHeaderTimeout bounds a scrape request's headers, so that an idle
// or slow peer cannot hold a connection.
const metricsHeaderTimeout = 10 * time.Second

// newMetrics builds the exporter, loads the history's counts and opens
// its listener. It returns the interceptors the gRPC servers put first.
func (d *Daemon) newMetrics(ctx context.Context, reader vram.Reader, h *history.History, tlsCfg *tls.Config) (service.ServerOptions, error) {
	var none service.ServerOptions
	if d.cfg.Metrics.Listen == "" {
		return none, nil
	}
	var gpus *metrics.GPUs
	if reader != nil {
		// A scrape reuses a reading for up to the sampling interval; the
		// exec'd tools are held to their own minimum by vram.Limit.
		gpus = metrics.NewGPUs(reader, defaults.VRAMInterval, d.log)
	}
	exp, err := metrics.New(gpus)
	if err != nil {
		return none, fmt.Errorf("build metrics exporter: %w", err)
	}
	if err := exp.Runs.Load(ctx, h.ListAll, h.StoredStates, h.Running); err != nil {
		return none, err
	}
	h.OnEnd(exp.Runs.Ended)
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", d.cfg.Metrics.addr())
	if err != nil {
		return none, fmt.Errorf("--metrics %s: %w", d.cfg.Metrics.Listen, err)
	}
	d.closers = append(d.closers, func() { l.Close() })
	if d.cfg.TLS.Metrics {
		l = tls.NewListener(l, tlsCfg)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", exp.Handler())
	d.metrics = &metricsServer{exp: exp, l: l, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: metricsHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}}
	unary, stream := exp.Interceptors()
	return service.ServerOptions{OuterUnary: []grpc.UnaryServerInterceptor{unary}, OuterStream: []grpc.StreamServerInterceptor{stream}}, nil
}

// MetricsAddr is the bound address of the exporter ("" without one), so
// that --metrics tcp://HOST:0 can be found.
func (d *Daemon) MetricsAddr() string {
	if d.metrics == nil {
		return ""
	}
	return d.metrics.l.Addr().String()
}
