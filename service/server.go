// Package service is benchd's gRPC edge: it turns requests into benchmark
// settings, streams domain events back as protobuf messages, and maps domain
// errors to gRPC status codes whose messages tell the caller what to do.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	protovalidatemw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/peercred"
	"github.com/benchd/benchd/internal/runner"
	"github.com/benchd/benchd/internal/store"
	"github.com/benchd/benchd/internal/tlsconfig"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
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

	runner *runner.Runner
	store  *store.Store
	rec    *recorder
	vram   vram.Reader // nil: --vram-source none
	log    *slog.Logger
}

var _ benchdv1.BenchmarkServiceServer = (*Server)(nil)

// New returns the service. reader may be nil when VRAM sampling is off.
func New(runner *runner.Runner, st *store.Store, reader vram.Reader, log *slog.Logger) *Server {
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
	unary := []grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(rec),
		auditUnary(log),
	}
	stream := []grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(rec),
		auditStream(log),
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
	addAuditAttr(stream.Context(), slog.String("model", req.GetModel()))
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
func follow(ctx context.Context, run *runner.Run, cancelOnLeave bool, send func(*benchdv1.BenchmarkEvent) error) error {
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
						runner.SubscriberBuffer, run.ID)
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

func leave(ctx context.Context, run *runner.Run, cancelOnLeave bool, err error) error {
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

// The audit line: one per RPC, written when it finishes —
//
//	time=… level=INFO msg="finished call" caller.uid=1000 caller.pid=4242
//	protocol=grpc grpc.component=server grpc.service=benchd.v1.BenchmarkService
//	grpc.method=SampleVRAM grpc.method_type=unary peer.address=@
//	grpc.start_time=2026-01-02T03:04:05Z [grpc.request.deadline=…] [model=…]
//	grpc.code=OK [grpc.error=…] grpc.time_ms=0.255
//
// the same fields, order and levels as go-grpc-middleware's logging
// interceptor with FinishCall events (which wrote it before), built directly
// as slog attributes. That interceptor assembled []any field lists several
// times per call (common fields, context fields, de-duplication, an
// injected context); replacing it took 70 allocations and about 30% of the
// CPU time off a whole SampleVRAM round trip, client and server together
// (BenchmarkRPCSampleVRAM in service/bench_rpc_test.go).

// auditCall is the audit state of one RPC, reachable from its context so a
// handler can add fields (RunBenchmark adds the model).
type auditCall struct{ extra []slog.Attr }

type auditKey struct{}

// addAuditAttr adds a to the audit line of the RPC whose context ctx is.
func addAuditAttr(ctx context.Context, a slog.Attr) {
	if c, ok := ctx.Value(auditKey{}).(*auditCall); ok {
		c.extra = append(c.extra, a)
	}
}

func auditUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		call := &auditCall{}
		resp, err := handler(context.WithValue(ctx, auditKey{}, call), req)
		audit(ctx, log, info.FullMethod, "unary", start, call, err)
		return resp, err
	}
}

func auditStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		call := &auditCall{}
		ctx := ss.Context()
		err := handler(srv, &auditedStream{ServerStream: ss, ctx: context.WithValue(ctx, auditKey{}, call)})
		typ := "bidi_stream"
		switch {
		case info.IsServerStream && !info.IsClientStream:
			typ = "server_stream"
		case info.IsClientStream && !info.IsServerStream:
			typ = "client_stream"
		}
		audit(ctx, log, info.FullMethod, typ, start, call, err)
		return err
	}
}

// auditedStream carries the context with the RPC's audit state.
type auditedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *auditedStream) Context() context.Context { return s.ctx }

// auditLevel is go-grpc-middleware's DefaultServerCodeToLevel.
func auditLevel(code codes.Code) slog.Level {
	switch code {
	case codes.OK, codes.NotFound, codes.Canceled, codes.AlreadyExists, codes.InvalidArgument, codes.Unauthenticated:
		return slog.LevelInfo
	case codes.DeadlineExceeded, codes.PermissionDenied, codes.ResourceExhausted, codes.FailedPrecondition, codes.Aborted,
		codes.OutOfRange, codes.Unavailable:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func audit(ctx context.Context, log *slog.Logger, fullMethod, typ string, start time.Time, call *auditCall, err error) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	code := status.Code(err)
	lvl := auditLevel(code)
	if !log.Enabled(ctx, lvl) {
		return
	}
	elapsed := time.Since(start)
	service, method := splitMethod(fullMethod)
	attrs := make([]slog.Attr, 0, 16+len(call.extra))
	attrs = appendCaller(attrs, ctx)
	attrs = append(attrs,
		slog.String("protocol", "grpc"),
		slog.String("grpc.component", "server"),
		slog.String("grpc.service", service),
		slog.String("grpc.method", method),
		slog.String("grpc.method_type", typ))
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer.address", p.Addr.String()))
	}
	attrs = append(attrs, slog.String("grpc.start_time", start.Format(time.RFC3339)))
	if d, ok := ctx.Deadline(); ok {
		attrs = append(attrs, slog.String("grpc.request.deadline", d.Format(time.RFC3339)))
	}
	attrs = append(attrs, call.extra...)
	attrs = append(attrs, slog.String("grpc.code", code.String()))
	if err != nil {
		attrs = append(attrs, slog.String("grpc.error", err.Error()))
	}
	// Milliseconds with microsecond precision, as float32 text.
	ms := float32(elapsed.Nanoseconds()/1000) / 1000
	attrs = append(attrs, slog.String("grpc.time_ms", strconv.FormatFloat(float64(ms), 'g', -1, 32)))
	log.LogAttrs(ctx, lvl, "finished call", attrs...)
}

// splitMethod splits "/pkg.Service/Method".
func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.IndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", "unknown"
}

// appendCaller adds the caller's identity: uid and pid on the unix socket,
// the client certificate's CN and serial over TLS.
func appendCaller(attrs []slog.Attr, ctx context.Context) []slog.Attr {
	if ai, ok := peercred.FromContext(ctx); ok {
		attrs = append(attrs, slog.Uint64("caller.uid", uint64(ai.UID)), slog.Int64("caller.pid", int64(ai.PID)))
	}
	f := tlsconfig.CallerFields(ctx)
	for i := 0; i+1 < len(f); i += 2 {
		if k, ok := f[i].(string); ok {
			attrs = append(attrs, slog.Any(k, f[i+1]))
		}
	}
	return attrs
}

// isCtxErr separates "the client or the timeout ended the call" from failures.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
