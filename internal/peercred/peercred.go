// Package peercred identifies who is on the other end of a unix socket. Like
// SPIRE's peertracker, it reads SO_PEERCRED once, when gRPC accepts the
// connection, carries the result as the connection's AuthInfo, and lets an
// interceptor refuse callers whose uid is not allowed. Over an SSH forward
// the peer is the sshd session process, i.e. the account the key logs in as.
package peercred

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// AuthInfo is the kernel's account of the connecting process.
type AuthInfo struct {
	credentials.CommonAuthInfo
	UID, GID uint32
	PID      int32
}

// AuthType implements credentials.AuthInfo.
func (AuthInfo) AuthType() string { return "peercred" }

// Credentials returns gRPC transport credentials for a unix listener that
// record each peer's uid, gid and pid. They add no encryption: the socket's
// file mode and these checks are the protection.
func Credentials() credentials.TransportCredentials { return creds{} }

type creds struct{}

func (creds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, nil, fmt.Errorf("peercred: %T is not a unix socket connection", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, nil, fmt.Errorf("peercred: raw conn: %w", err)
	}
	var (
		cred    *unix.Ucred
		credErr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, nil, fmt.Errorf("peercred: control: %w", err)
	}
	if credErr != nil {
		return nil, nil, fmt.Errorf("peercred: read SO_PEERCRED: %w", credErr)
	}
	return conn, AuthInfo{
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity},
		UID:            cred.Uid, GID: cred.Gid, PID: cred.Pid,
	}, nil
}

func (creds) ClientHandshake(_ context.Context, _ string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("peercred: server-side credentials only")
}

func (creds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "peercred"}
}
func (c creds) Clone() credentials.TransportCredentials { return c }
func (creds) OverrideServerName(string) error           { return nil }

// FromContext returns the caller's credentials, if the call came over a
// connection accepted with Credentials.
func FromContext(ctx context.Context) (AuthInfo, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return AuthInfo{}, false
	}
	ai, ok := p.AuthInfo.(AuthInfo)
	return ai, ok
}

// Policy admits callers by uid.
type Policy struct {
	allowed []uint32
}

// NewPolicy allows exactly the given uids.
func NewPolicy(uids ...uint32) *Policy {
	p := &Policy{allowed: slices.Clone(uids)}
	slices.Sort(p.allowed)
	p.allowed = slices.Compact(p.allowed)
	return p
}

// Check returns PERMISSION_DENIED unless ctx's caller is allowed. A call
// that carries no peer credentials is refused too (fail closed): the policy
// sits only on the unix socket's server, whose transport credentials always
// record them, so a call without them means the wiring changed (another
// transport, a wrapper that dropped the AuthInfo), and an unidentified
// caller must not be taken for an allowed one. The TCP server, whose
// identity is the client certificate, has no such policy.
func (p *Policy) Check(ctx context.Context) error {
	ai, ok := FromContext(ctx)
	if !ok {
		return status.Error(codes.PermissionDenied,
			"benchd could not identify the caller: the connection carries no peer credentials (SO_PEERCRED); connect over benchd's unix socket")
	}
	if slices.Contains(p.allowed, ai.UID) {
		return nil
	}
	ids := make([]string, len(p.allowed))
	for i, u := range p.allowed {
		ids[i] = fmt.Sprint(u)
	}
	return status.Errorf(codes.PermissionDenied,
		"uid %d (pid %d) may not call benchd, which allows uids %s; connect as one of them or start benchd with --allow-user NAME (or --allow-uid %d)",
		ai.UID, ai.PID, strings.Join(ids, ","), ai.UID)
}

// UnaryServerInterceptor enforces the policy on unary calls.
func (p *Policy) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := p.Check(ctx); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// StreamServerInterceptor enforces the policy on streaming calls.
func (p *Policy) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := p.Check(ss.Context()); err != nil {
			return err
		}
		return h(srv, ss)
	}
}
