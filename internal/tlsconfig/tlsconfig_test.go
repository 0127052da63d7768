package tlsconfig

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/internal/peercred"
)

type files struct{ dir string }

func (f files) write(t *testing.T, name string, kp *certs.KeyPair) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(f.dir, name+".crt"), filepath.Join(f.dir, name+".key")
	if err := kp.WriteFiles(cert, key, true); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func (f files) bundle(t *testing.T, name string, cas ...*certs.CA) string {
	t.Helper()
	var b []byte
	for _, ca := range cas {
		b = append(b, ca.CertPEM...)
	}
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newCA(t *testing.T, name string) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA(name, certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func server(t *testing.T, ca *certs.CA, o certs.Options) *certs.KeyPair {
	t.Helper()
	kp, err := ca.IssueServer(nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func client(t *testing.T, ca *certs.CA, name string) *certs.KeyPair {
	t.Helper()
	kp, err := ca.IssueClient(name, certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func TestServerConfig(t *testing.T) {
	f := files{t.TempDir()}
	ca := newCA(t, "")
	caFile := f.bundle(t, "ca.crt", ca)
	sc, sk := f.write(t, "server", server(t, ca, certs.Options{}))
	cfg, info, err := Server(sc, sk, caFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil {
		t.Errorf("config: min %x auth %v CAs %v", cfg.MinVersion, cfg.ClientAuth, cfg.ClientCAs)
	}
	if info.Cert.Subject.CommonName != "localhost" || len(info.ClientCAs) != 1 {
		t.Errorf("info %+v", info)
	}

	cc, ck := f.write(t, "client", client(t, ca, "hermes"))
	now := time.Now()
	ec, ek := f.write(t, "expired-server", server(t, ca, certs.Options{NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)}))
	caCert, caKey := f.write(t, "ca", &ca.KeyPair)
	for _, tc := range []struct {
		name, cert, key, ca, want string
	}{
		{"client certificate as server certificate", cc, ck, caFile, "not a server certificate"},
		{"CA as server certificate", caCert, caKey, caFile, "is a CA certificate"},
		{"expired server certificate", ec, ek, caFile, "expired on"},
		{"key of another certificate", sc, ck, caFile, "private key does not match"},
		{"leaf as client CA", sc, sk, cc, "not a CA certificate"},
		{"missing CA file", sc, sk, filepath.Join(f.dir, "nope.crt"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Server(tc.cert, tc.key, tc.ca)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// serve runs a gRPC server with the health service on l and records the
// context of each call, so tests can look at the caller's identity.
func serve(t *testing.T, l net.Listener, creds credentials.TransportCredentials, policy *peercred.Policy) *[]context.Context {
	t.Helper()
	var (
		mu   sync.Mutex
		ctxs []context.Context
	)
	record := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		ctxs = append(ctxs, ctx)
		mu.Unlock()
		return h(ctx, req)
	}
	chain := []grpc.UnaryServerInterceptor{record}
	if policy != nil {
		chain = append(chain, policy.UnaryServerInterceptor())
	}
	gs := grpc.NewServer(grpc.Creds(creds), grpc.ChainUnaryInterceptor(chain...))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	return &ctxs
}

func check(t *testing.T, target string, cfg *tls.Config) error {
	t.Helper()
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func clientConfig(t *testing.T, kp *certs.KeyPair, roots ...*certs.CA) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r.Cert)
	}
	c, err := kp.TLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "localhost",
		// Present the certificate whatever CAs the server names.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil },
	}
}

// The CA rotation of certs/README.md: while --tls-client-ca is a bundle of
// the old and the new CA, clients with certificates from either are
// accepted, and a client trusting the bundle accepts a server certificate
// from either; a third CA stays out.
func TestRotationBundle(t *testing.T) {
	f := files{t.TempDir()}
	oldCA, newCA_, stranger := newCA(t, "benchd CA old"), newCA(t, "benchd CA new"), newCA(t, "stranger")
	bundle := f.bundle(t, "bundle.crt", oldCA, newCA_)

	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	for _, srv := range []struct {
		name string
		ca   *certs.CA
	}{{"server cert from old CA", oldCA}, {"server cert from new CA", newCA_}} {
		t.Run(srv.name, func(t *testing.T) {
			sc, sk := f.write(t, "server", server(t, srv.ca, certs.Options{}))
			cfg, _, err := Server(sc, sk, bundle)
			if err != nil {
				t.Fatal(err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctxs := serve(t, l, Credentials(cfg, log), nil)
			addr := l.Addr().String()

			for _, cl := range []struct {
				name string
				ca   *certs.CA
			}{{"old-client", oldCA}, {"new-client", newCA_}} {
				kp := client(t, cl.ca, cl.name)
				if err := check(t, addr, clientConfig(t, kp, oldCA, newCA_)); err != nil {
					t.Errorf("%s: %v", cl.name, err)
					continue
				}
				ctx := (*ctxs)[len(*ctxs)-1]
				fields := CallerFields(ctx)
				want := []any{"caller.cn", cl.name, "caller.cert_serial", kp.Cert.SerialNumber.Text(16)}
				if len(fields) != 4 || fields[0] != want[0] || fields[1] != want[1] || fields[2] != want[2] || fields[3] != want[3] {
					t.Errorf("%s: CallerFields %v, want %v", cl.name, fields, want)
				}
			}
			kp := client(t, stranger, "mallory")
			if err := check(t, addr, clientConfig(t, kp, oldCA, newCA_)); status.Code(err) != codes.Unavailable {
				t.Errorf("client from a third CA: %v, want Unavailable", err)
			}
		})
	}
	if !strings.Contains(logBuf.String(), `msg="TLS handshake refused"`) || !strings.Contains(logBuf.String(), "unknown authority") {
		t.Errorf("refusal not logged:\n%s", logBuf.String())
	}
}

// On the unix socket, TLS must not switch the uid policy off: the policy
// passes calls without peer credentials, so the credentials must still be
// peercred.AuthInfo after the TLS handshake.
func TestUnixCredentialsKeepUIDPolicy(t *testing.T) {
	f := files{t.TempDir()}
	ca := newCA(t, "")
	sc, sk := f.write(t, "server", server(t, ca, certs.Options{}))
	cfg, _, err := Server(sc, sk, f.bundle(t, "ca.crt", ca))
	if err != nil {
		t.Fatal(err)
	}
	cli := clientConfig(t, client(t, ca, "hermes"), ca)
	me := uint32(os.Getuid())
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))

	for _, tc := range []struct {
		name    string
		allowed uint32
		want    codes.Code
	}{{"own uid allowed", me, codes.OK}, {"own uid not allowed", me + 1, codes.PermissionDenied}} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "s.sock")
			l, err := net.Listen("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			ctxs := serve(t, l, UnixCredentials(cfg, log), peercred.NewPolicy(tc.allowed))
			err = check(t, "unix:"+sock, cli)
			if got := status.Code(err); got != tc.want {
				t.Fatalf("code %v (%v), want %v", got, err, tc.want)
			}
			ai, ok := peercred.FromContext((*ctxs)[0])
			if !ok || ai.UID != me || ai.SecurityLevel != credentials.PrivacyAndIntegrity {
				t.Errorf("AuthInfo %+v (%v), want peer credentials of uid %d at PrivacyAndIntegrity", ai, ok, me)
			}
		})
	}

	t.Run("plaintext refused", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "s.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		serve(t, l, UnixCredentials(cfg, log), peercred.NewPolicy(me))
		conn, err := grpc.NewClient("unix:"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext: %v, want Unavailable", err)
		}
	})
}

func TestCallerFieldsWithoutTLS(t *testing.T) {
	if f := CallerFields(context.Background()); f != nil {
		t.Errorf("fields without a peer: %v", f)
	}
}
