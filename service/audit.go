package service

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

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

// auditCall is the audit state of one RPC and the context its handler
// gets: a handler adds fields to the line through it (RunBenchmark adds the
// model). Being the context itself saves context.WithValue's allocation.
type auditCall struct {
	context.Context
	start time.Time
	extra []slog.Attr
}

type auditKey struct{}

func newAuditCall(ctx context.Context) *auditCall {
	return &auditCall{Context: ctx, start: time.Now()}
}

func (c *auditCall) Value(key any) any {
	if _, ok := key.(auditKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// addAuditAttr adds a to the audit line of the RPC whose context ctx is.
func addAuditAttr(ctx context.Context, a slog.Attr) {
	if c, ok := ctx.Value(auditKey{}).(*auditCall); ok {
		c.extra = append(c.extra, a)
	}
}

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

func audit(ctx context.Context, log *slog.Logger, fullMethod, typ string, call *auditCall, err error) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	code := status.Code(err)
	lvl := auditLevel(code)
	if !log.Enabled(ctx, lvl) {
		return
	}
	start := call.start
	now := time.Now()
	elapsed := now.Sub(start)
	service, method := splitMethod(fullMethod)
	// On the stack unless a handler added many fields.
	var buf [20]slog.Attr
	attrs := appendCaller(buf[:0], ctx)
	attrs = append(attrs,
		slog.String("protocol", "grpc"),
		slog.String("grpc.component", "server"),
		slog.String("grpc.service", service),
		slog.String("grpc.method", method),
		slog.String("grpc.method_type", typ))
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer.address", p.Addr.String()))
	}
	attrs = append(attrs, slog.String("grpc.start_time", startTime(start)))
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
	// The record is built here rather than by log.LogAttrs, which would
	// also walk the stack (runtime.Callers) for a source position that
	// would only ever name this line.
	r := slog.NewRecord(now, lvl, "finished call", 0)
	r.AddAttrs(attrs...)
	_ = log.Handler().Handle(ctx, r)
}

// lastStart is the formatted grpc.start_time of the last audited call: a
// busy daemon formats the same second again and again.
var lastStart atomic.Pointer[formattedSecond]

type formattedSecond struct {
	unix int64
	loc  *time.Location
	text string
}

// startTime is t.Format(time.RFC3339), reused within a second.
func startTime(t time.Time) string {
	if f := lastStart.Load(); f != nil && f.unix == t.Unix() && f.loc == t.Location() {
		return f.text
	}
	f := &formattedSecond{unix: t.Unix(), loc: t.Location(), text: t.Format(time.RFC3339)}
	lastStart.Store(f)
	return f.text
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
