package peercred

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// serve runs a gRPC health server on l with creds and the policy's
// interceptors until the test ends.
func serve(t *testing.T, l net.Listener, creds credentials.TransportCredentials, p *Policy) {
	t.Helper()
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(p.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(p.StreamServerInterceptor()),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	gs := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
}

// call makes one unary and one streaming call to target and returns their
// codes.
func call(t *testing.T, target string) (codes.Code, codes.Code) {
	t.Helper()
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hc := healthpb.NewHealthClient(cc)
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{})
	unary := status.Code(err)
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = w.Recv()
	}
	return unary, status.Code(err)
}

func unixListener(t *testing.T) (net.Listener, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return l, "unix://" + path
}

// TestPolicyOverUnixSocket: with the package's credentials the caller's uid
// decides, both ways.
func TestPolicyOverUnixSocket(t *testing.T) {
	me := uint32(os.Getuid())
	for _, tc := range []struct {
		name    string
		allowed uint32
		want    codes.Code
	}{
		{"own uid allowed", me, codes.OK},
		{"other uid only", me + 4242, codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, target := unixListener(t)
			serve(t, l, Credentials(), NewPolicy(tc.allowed))
			if u, s := call(t, target); u != tc.want || s != tc.want {
				t.Errorf("unary %v, stream %v; want %v for both", u, s, tc.want)
			}
		})
	}
}

// TestPolicyFailsClosedWithoutCredentials: a connection that carries no
// peer credentials — the policy behind transports that do not record them,
// over a unix socket and over TCP — is refused, even though the caller's uid
// (this process's) is the allowed one.
func TestPolicyFailsClosedWithoutCredentials(t *testing.T) {
	me := uint32(os.Getuid())
	t.Run("unix socket, insecure transport", func(t *testing.T) {
		l, target := unixListener(t)
		serve(t, l, nil, NewPolicy(me))
		if u, s := call(t, target); u != codes.PermissionDenied || s != codes.PermissionDenied {
			t.Errorf("unary %v, stream %v; want PermissionDenied for both", u, s)
		}
	})
	t.Run("tcp, insecure transport", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serve(t, l, nil, NewPolicy(me))
		if u, s := call(t, l.Addr().String()); u != codes.PermissionDenied || s != codes.PermissionDenied {
			t.Errorf("unary %v, stream %v; want PermissionDenied for both", u, s)
		}
	})
	// Directly: no peer at all, and a peer whose AuthInfo is another type.
	for name, ctx := range map[string]context.Context{
		"no peer":          context.Background(),
		"foreign AuthInfo": peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{}}),
	} {
		t.Run(name, func(t *testing.T) {
			called := false
			_, err := NewPolicy(me).UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{},
				func(context.Context, any) (any, error) { called = true; return nil, nil })
			if status.Code(err) != codes.PermissionDenied || called {
				t.Errorf("err %v, handler called %v; want PermissionDenied and no call", err, called)
			}
		})
	}
}
