package service

import (
	"context"
	"errors"
	"log/slog"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/internal/peercred"
)

// chain is the interceptor chain every RPC passes, in this order:
// recovery (a panic becomes INTERNAL, the daemon stays up), the audit line,
// the peer uid policy, protovalidate. It used to be four interceptors
// (go-grpc-middleware's recovery and protovalidate, audit, the policy)
// joined by grpc.ChainUnaryInterceptor, which builds a closure per
// interceptor and call and wraps a stream once per stream interceptor; as
// one function the same steps cost one deferred recover, one context (the
// audit state is the context) and, for streams, one wrapper.
type chain struct {
	log       *slog.Logger
	policy    *peercred.Policy // nil: no uid policy (the TCP server)
	validator protovalidate.Validator
}

func (c *chain) panicked(ctx context.Context, method string, p any) error {
	c.log.ErrorContext(ctx, "panic in handler", "grpc.method", method, "panic", p)
	return errPanic
}

func (c *chain) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	// Recovery is outermost, as it was: a panicking call gets no audit
	// line, only the panic's.
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, c.panicked(ctx, info.FullMethod, p)
		}
	}()
	call := newAuditCall(ctx)
	resp, err = c.admitUnary(call, req, handler)
	audit(ctx, c.log, info.FullMethod, "unary", call, err)
	return resp, err
}

func (c *chain) admitUnary(ctx context.Context, req any, handler grpc.UnaryHandler) (any, error) {
	if c.policy != nil {
		if err := c.policy.Check(ctx); err != nil {
			return nil, err
		}
	}
	if err := validateMsg(c.validator, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (c *chain) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	ctx := ss.Context()
	defer func() {
		if p := recover(); p != nil {
			err = c.panicked(ss.Context(), info.FullMethod, p)
		}
	}()
	call := newAuditCall(ctx)
	err = c.admitStream(srv, &chainStream{ServerStream: ss, call: call, validator: c.validator}, handler)
	typ := "bidi_stream"
	switch {
	case info.IsServerStream && !info.IsClientStream:
		typ = "server_stream"
	case info.IsClientStream && !info.IsServerStream:
		typ = "client_stream"
	}
	audit(ctx, c.log, info.FullMethod, typ, call, err)
	return err
}

func (c *chain) admitStream(srv any, cs *chainStream, handler grpc.StreamHandler) error {
	if c.policy != nil {
		if err := c.policy.Check(cs.call); err != nil {
			return err
		}
	}
	return handler(srv, cs)
}

// chainStream carries the context with the RPC's audit state and validates
// each received message.
type chainStream struct {
	grpc.ServerStream
	call      *auditCall
	validator protovalidate.Validator
}

func (s *chainStream) Context() context.Context { return s.call }

func (s *chainStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return validateMsg(s.validator, m)
}

// validateMsg is go-grpc-middleware's protovalidate check: a message that
// breaks its rules is INVALID_ARGUMENT with the violations as a detail.
func validateMsg(v protovalidate.Validator, m any) error {
	msg, ok := m.(proto.Message)
	if !ok {
		return status.Errorf(codes.Internal, "unsupported message type: %T", m)
	}
	err := v.Validate(msg)
	if err == nil {
		return nil
	}
	var valErr *protovalidate.ValidationError
	if errors.As(err, &valErr) {
		st := status.New(codes.InvalidArgument, err.Error())
		ds, detErr := st.WithDetails(valErr.ToProto())
		if detErr != nil {
			return st.Err()
		}
		return ds.Err()
	}
	// A rule that does not compile or type-check.
	return status.Error(codes.Internal, err.Error())
}
