// Package service is benchd's gRPC edge: it turns requests into the
// runner's settings, streams the history's messages back, and maps domain
// errors to gRPC statuses (errors.go, the one place codes are chosen).
// One file per RPC group: benchmarks.go, history.go, vram.go; audit.go is
// the audit interceptor.
package service

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/benchd/benchd/internal/history"
	"github.com/benchd/benchd/internal/peercred"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// Server implements benchd.v1.BenchmarkService.
type Server struct {
	benchdv1.UnimplementedBenchmarkServiceServer

	runner  *runner.Runner
	history *history.History
	vram    vram.Reader // nil: --vram-source none
	hub     *vram.Hub   // WatchVRAM's one sampler; nil with vram
	log     *slog.Logger
}

var _ benchdv1.BenchmarkServiceServer = (*Server)(nil)

// New returns the service. reader may be nil when VRAM sampling is off.
func New(r *runner.Runner, h *history.History, reader vram.Reader, log *slog.Logger) *Server {
	s := &Server{runner: r, history: h, vram: reader, log: log}
	if reader != nil {
		s.hub = vram.NewHub(reader)
	}
	return s
}

// ServerOptions tune NewGRPCServer.
type ServerOptions struct {
	// Policy, when set, refuses callers whose peer uid it does not allow.
	Policy *peercred.Policy
	// MaxStreams bounds one connection's concurrent RPCs; 0: grpc's
	// default (no bound).
	MaxStreams uint32
	// MaxSendBytes bounds one response message; 0: grpc's default (2 GiB).
	MaxSendBytes int
	// Extra gRPC options, e.g. transport credentials.
	Extra []grpc.ServerOption
	// Outer interceptors run before the chain (metrics: they see every
	// call, refused ones too, with its final code).
	OuterUnary  []grpc.UnaryServerInterceptor
	OuterStream []grpc.StreamServerInterceptor
}

const (
	maxConnectionIdle      = 5 * time.Minute
	connectionSetupTimeout = 10 * time.Second
)

// NewGRPCServer builds the gRPC server with the service, health and
// reflection registered and the interceptor chain every RPC passes:
// recovery (a panic becomes INTERNAL, the daemon stays up), the audit log
// (one line per RPC: caller uid/pid, method, model, code, duration), the
// peer uid policy, then protovalidate (bad input never reaches a handler).
func NewGRPCServer(svc *Server, hs *health.Server, log *slog.Logger, so ServerOptions) (*grpc.Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("create request validator: %w", err)
	}
	c := &chain{log: log, policy: so.Policy, validator: validator}
	opts := append([]grpc.ServerOption{
		// RPCs run on long-lived workers instead of a fresh goroutine
		// each: a fresh goroutine's stack starts small and is copied as it
		// grows to what a call needs (gRPC's handler path, the audit line),
		// which was about 15% of the instructions of a SampleVRAM round
		// trip (runtime.newstack/copystack, from callgrind); a worker keeps
		// its grown stack. When all are busy gRPC starts a goroutine as
		// before.
		grpc.NumStreamWorkers(streamWorkers()),
		// Fixed flow-control windows: see defaults.FlowControlWindow.
		grpc.StaticStreamWindowSize(defaults.FlowControlWindow),
		grpc.StaticConnWindowSize(defaults.FlowControlWindow),
		grpc.ChainUnaryInterceptor(append(so.OuterUnary[:len(so.OuterUnary):len(so.OuterUnary)], c.unary)...),
		grpc.ChainStreamInterceptor(append(so.OuterStream[:len(so.OuterStream):len(so.OuterStream)], c.stream)...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             defaults.KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
		// A connection that runs no RPC for this long is sent GOAWAY, so
		// that idle connections cannot hold the connection limit's slots;
		// grpc clients reconnect on their next call.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: maxConnectionIdle}),
		// A connection must finish its handshake and send HTTP/2's
		// preface within this, or it is closed (and its slot freed).
		grpc.ConnectionTimeout(connectionSetupTimeout),
	}, so.Extra...)
	if so.MaxStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(so.MaxStreams))
	}
	if so.MaxSendBytes > 0 {
		opts = append(opts, grpc.MaxSendMsgSize(so.MaxSendBytes))
	}
	gs := grpc.NewServer(opts...)
	benchdv1.RegisterBenchmarkServiceServer(gs, svc)
	healthpb.RegisterHealthServer(gs, newVersionedHealth(hs))
	reflection.Register(gs)
	return gs, nil
}

// streamWorkers is the number of gRPC stream workers: enough that the
// handlers of concurrent calls can run on every core.
func streamWorkers() uint32 { return uint32(max(4, 2*runtime.GOMAXPROCS(0))) }
