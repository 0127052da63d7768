// Package service is benchd's gRPC edge: it turns requests into benchmark
// settings, streams domain events back as protobuf messages, and maps domain
// errors to gRPC status codes whose messages tell the caller what to do.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	protovalidatemw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/service/bench"
	"github.com/benchd/benchd/service/peercred"
	"github.com/benchd/benchd/service/store"
	"github.com/benchd/benchd/service/tlsconfig"
	"github.com/benchd/benchd/service/vram"
)

// Request defaults; the bounds live in the proto.
const (
	DefaultRepetitions  = 3
	DefaultWarmup       = 1
	DefaultMaxTokens    = 128
	DefaultSeed         = 42
	DefaultTimeout      = 10 * time.Minute
	DefaultVRAMInterval = 250 * time.Millisecond
)

// Keepalive policy shared with the client package: the client pings every
// KeepaliveTime so a dead SSH forward is noticed, and the server must allow
// pings that often or it would close the connection with ENHANCE_YOUR_CALM.
const (
	KeepaliveTime    = 30 * time.Second
	KeepaliveTimeout = 10 * time.Second
	KeepaliveMinTime = 10 * time.Second
)

// Server implements benchd.v1.BenchmarkService.
type Server struct {
	benchdv1.UnimplementedBenchmarkServiceServer

	runner *bench.Runner
	store  *store.Store
	rec    *recorder
	vram   vram.Reader // nil: --vram-source none
	log    *slog.Logger
}

var _ benchdv1.BenchmarkServiceServer = (*Server)(nil)

// New returns the service. reader may be nil when VRAM sampling is off.
func New(runner *bench.Runner, st *store.Store, reader vram.Reader, log *slog.Logger) *Server {
	return &Server{runner: runner, store: st, rec: newRecorder(st, log), vram: reader, log: log}
}

// ServerOptions tune NewGRPCServer.
type ServerOptions struct {
	// Policy, when set, refuses callers whose peer uid it does not allow.
	Policy *peercred.Policy
	// Extra gRPC options, e.g. transport credentials.
	Extra []grpc.ServerOption
}

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
	rec := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "panic", p)
		return status.Error(codes.Internal, "benchd hit an internal error; the daemon is still running, see its log")
	})
	lg := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(callerFields),
	}
	unary := []grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(rec),
		logging.UnaryServerInterceptor(lg, logOpts...),
	}
	stream := []grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(rec),
		logging.StreamServerInterceptor(lg, logOpts...),
	}
	if so.Policy != nil {
		unary = append(unary, so.Policy.UnaryServerInterceptor())
		stream = append(stream, so.Policy.StreamServerInterceptor())
	}
	unary = append(unary, protovalidatemw.UnaryServerInterceptor(validator))
	stream = append(stream, protovalidatemw.StreamServerInterceptor(validator))
	opts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
	}, so.Extra...)
	gs := grpc.NewServer(opts...)
	benchdv1.RegisterBenchmarkServiceServer(gs, svc)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	return gs, nil
}

// RunBenchmark starts a benchmark and follows it.
func (s *Server) RunBenchmark(req *benchdv1.RunBenchmarkRequest, stream grpc.ServerStreamingServer[benchdv1.RunBenchmarkResponse]) error {
	// The model goes into this RPC's audit line.
	logging.AddFields(stream.Context(), logging.Fields{"model", req.GetModel()})
	run, err := s.runner.Start(Resolve(req), s.rec)
	if err != nil {
		return toStatus(err)
	}
	return follow(stream.Context(), run, req.GetCancelOnDisconnect(), func(ev *benchdv1.BenchmarkEvent) error {
		return stream.Send(&benchdv1.RunBenchmarkResponse{Event: ev})
	})
}

var errVRAMOff = status.Error(codes.FailedPrecondition,
	"VRAM sampling is off (benchd --vram-source none); restart benchd with --vram-source auto, sysfs, rocm-smi, amd-smi or nvidia-smi")

// Cancellation causes, recorded with the run.
var (
	errClientLeft = fmt.Errorf("the client left and asked for cancel_on_disconnect: %w", context.Canceled)
	errCancelled  = fmt.Errorf("cancelled with CancelBenchmark: %w", context.Canceled)
)

// follow sends a run's events — those so far, then live ones — until the
// run ends (returning its outcome) or the caller leaves (cancelling the run
// only if asked to).
func follow(ctx context.Context, run *bench.Run, cancelOnLeave bool, send func(*benchdv1.BenchmarkEvent) error) error {
	replay, sub := run.Subscribe()
	defer sub.Close()
	for _, ev := range replay {
		if err := send(eventToProto(ev)); err != nil {
			return leave(ctx, run, cancelOnLeave, err)
		}
	}
	for {
		select {
		case ev, ok := <-sub.C:
			if !ok {
				if sub.Lagged() {
					return status.Errorf(codes.ResourceExhausted,
						"this stream fell %d events behind and was cut off; benchmark %s continues: re-attach with WatchBenchmark",
						bench.SubscriberBuffer, run.ID)
				}
				<-run.Done()
				return toStatus(run.Err())
			}
			if err := send(eventToProto(ev)); err != nil {
				return leave(ctx, run, cancelOnLeave, err)
			}
		case <-ctx.Done():
			return leave(ctx, run, cancelOnLeave, ctx.Err())
		}
	}
}

func leave(ctx context.Context, run *bench.Run, cancelOnLeave bool, err error) error {
	if cancelOnLeave {
		run.Cancel(errClientLeft)
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return err
}

// SampleVRAM reads the configured VRAM source once.
func (s *Server) SampleVRAM(ctx context.Context, _ *benchdv1.SampleVRAMRequest) (*benchdv1.SampleVRAMResponse, error) {
	if s.vram == nil {
		return nil, errVRAMOff
	}
	gpus, err := s.vram.Read(ctx)
	if err != nil {
		return nil, toStatus(fmt.Errorf("read VRAM from %s: %w", s.vram.Source(), err))
	}
	return &benchdv1.SampleVRAMResponse{Gpus: gpusToProto(gpus)}, nil
}

// callerFields puts the caller's identity into each RPC's log line: uid and
// pid on the unix socket, the client certificate's CN and serial over TLS.
func callerFields(ctx context.Context) logging.Fields {
	var f logging.Fields
	if ai, ok := peercred.FromContext(ctx); ok {
		f = append(f, "caller.uid", ai.UID, "caller.pid", ai.PID)
	}
	return append(f, tlsconfig.CallerFields(ctx)...)
}

// isCtxErr separates "the client or the timeout ended the call" from failures.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
