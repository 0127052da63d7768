package client

import (
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/certs"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// pkiFiles makes a CA, a server certificate and a client certificate.
func pkiFiles(t *testing.T) *certs.Files {
	t.Helper()
	f, err := certs.Init(t.TempDir(), certs.InitOptions{ClientName: "hermes"})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// serveHealth serves the health service, reporting benchd's service as
// SERVING, on l with creds.
func serveHealth(t *testing.T, l net.Listener, creds credentials.TransportCredentials) {
	t.Helper()
	gs := grpc.NewServer(grpc.Creds(creds))
	hs := health.NewServer()
	hs.SetServingStatus(benchdv1.BenchmarkService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
}

func health5s(t *testing.T, c *Client) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Health(ctx)
}

// serverCreds are benchd's TLS policy in brief (the daemon's
// internal/tlsconfig has it whole): TLS 1.3 and a client certificate from
// caFile. The client's loader reads the files; only the roles differ.
func serverCreds(t *testing.T, certFile, keyFile, caFile string) credentials.TransportCredentials {
	t.Helper()
	cfg, err := loadTLS(certFile, keyFile, caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ClientCAs, cfg.RootCAs, cfg.ClientAuth = cfg.RootCAs, nil, tls.RequireAndVerifyClientCert
	return credentials.NewTLS(cfg)
}

func TestNewTCPNeedsTLS(t *testing.T) {
	if _, err := NewTCP("127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "WithTLS") {
		t.Fatalf("NewTCP without TLS: %v", err)
	}
	f := pkiFiles(t)
	if _, err := NewTCP("127.0.0.1:1", WithTLS(f.ClientCert, f.ClientKey, filepath.Join(t.TempDir(), "missing.crt"))); err == nil {
		t.Fatal("NewTCP with a missing CA file succeeded")
	}
	if _, err := NewTCP("127.0.0.1:1", WithTLS(f.ClientCert, f.ClientKey, f.ClientCert)); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Fatalf("NewTCP with a leaf as CA: %v", err)
	}
	if _, err := NewTCP("127.0.0.1:1", WithTLS(f.ClientCert, f.ServerKey, f.CACert)); err == nil {
		t.Fatal("NewTCP with a mismatched key succeeded")
	}
}

func TestNewTCPWithTLS(t *testing.T) {
	f := pkiFiles(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHealth(t, l, serverCreds(t, f.ServerCert, f.ServerKey, f.CACert))
	_, port, _ := net.SplitHostPort(l.Addr().String())

	// By IP, by name (both in the default SANs), with the tcp:// prefix,
	// through Dial.
	for _, addr := range []string{"127.0.0.1:" + port, "localhost:" + port, "tcp://127.0.0.1:" + port, "dial tcp://localhost:" + port} {
		newTCP := NewTCP
		if target, ok := strings.CutPrefix(addr, "dial "); ok {
			newTCP = func(_ string, opts ...Option) (*Client, error) { return Dial(context.Background(), target, opts...) }
		}
		c, err := newTCP(addr, WithTLS(f.ClientCert, f.ClientKey, f.CACert))
		if err != nil {
			t.Fatal(err)
		}
		st, err := health5s(t, c)
		c.Close()
		if err != nil || st != "SERVING" {
			t.Errorf("%s: %q, %v", addr, st, err)
		}
	}

	// A server certificate that does not name the address is refused.
	other, err := certs.Init(t.TempDir(), certs.InitOptions{ServerSANs: []string{"bench.example"}})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHealth(t, l2, serverCreds(t, other.ServerCert, other.ServerKey, f.CACert))
	c, err := NewTCP(l2.Addr().String(), WithTLS(f.ClientCert, f.ClientKey, other.CACert))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := health5s(t, c); status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("server certificate for another name: %v", err)
	}
}

func TestUnixWithTLS(t *testing.T) {
	f := pkiFiles(t)
	sock := filepath.Join(t.TempDir(), "b.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveHealth(t, l, serverCreds(t, f.ServerCert, f.ServerKey, f.CACert))
	c, err := Dial(context.Background(), "unix://"+sock, WithTLS(f.ClientCert, f.ClientKey, f.CACert))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st, err := health5s(t, c); err != nil || st != "SERVING" {
		t.Fatalf("unix socket with mutual TLS: %q, %v", st, err)
	}
}

func TestServerNameDefaults(t *testing.T) {
	f := pkiFiles(t)
	for _, tc := range []struct {
		tcp  bool
		want string
	}{{false, "localhost"}, {true, ""}} {
		var o options
		if err := WithTLS(f.ClientCert, f.ClientKey, f.CACert)(&o); err != nil {
			t.Fatal(err)
		}
		creds := o.transportCredentials(tc.tcp)
		//lint:ignore SA1019 ServerName is the simplest view of the config here.
		if got := creds.Info().ServerName; got != tc.want {
			t.Errorf("tcp=%v: server name %q, want %q", tc.tcp, got, tc.want)
		}
	}
}
