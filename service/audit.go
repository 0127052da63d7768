package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/internal/peercred"
	"github.com/benchd/benchd/internal/tlsconfig"
)

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
