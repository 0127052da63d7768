package main_test

// benchd's TCP listener with mutual TLS, against the real binary. They need
// no Docker: the sysfs VRAM source and the health service answer without it.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// pki is a CA with a server and client certificates in a temp dir, plus a
// second, unrelated CA and certificates that must be refused.
type pki struct {
	dir                             string
	ca, serverCert, serverKey       string
	goodCert, goodKey               string
	wrongCACert, wrongCAKey         string
	expiredCert, expiredKey         string
	serverAsClientCert, serverAsKey string
	otherCA                         string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{dir: dir}
	f, err := certs.Init(dir, certs.InitOptions{ClientName: "hermes"})
	if err != nil {
		t.Fatal(err)
	}
	p.ca, p.serverCert, p.serverKey, p.goodCert, p.goodKey = f.CACert, f.ServerCert, f.ServerKey, f.ClientCert, f.ClientKey
	p.serverAsClientCert, p.serverAsKey = f.ServerCert, f.ServerKey

	ca, err := certs.LoadCA(f.CACert, f.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	exp, err := ca.IssueClient("hermes", certs.Options{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	p.expiredCert, p.expiredKey = filepath.Join(dir, "expired.crt"), filepath.Join(dir, "expired.key")
	write(t, exp, p.expiredCert, p.expiredKey)

	other, err := certs.NewCA("impostor CA", certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.otherCA = filepath.Join(dir, "other", "ca.crt")
	write(t, &other.KeyPair, p.otherCA, filepath.Join(dir, "other", "ca.key"))
	wrong, err := other.IssueClient("hermes", certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.wrongCACert, p.wrongCAKey = filepath.Join(dir, "other", "hermes.crt"), filepath.Join(dir, "other", "hermes.key")
	write(t, wrong, p.wrongCACert, p.wrongCAKey)
	return p
}

func write(t *testing.T, kp *certs.KeyPair, cert, key string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(cert), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := kp.WriteFiles(cert, key, false); err != nil {
		t.Fatal(err)
	}
}

func (p *pki) tlsArgs() []string {
	return []string{"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.ca}
}

// startTLSDaemon starts benchd with a TCP listener on a free loopback port
// and returns it with that port's address.
func startTLSDaemon(t *testing.T, p *pki, extra ...string) (*testrig.Daemon, string) {
	t.Helper()
	args := append([]string{"--vram-source", "sysfs", "--sysfs-root", testrig.SysfsFixture(),
		"--listen", "tcp://127.0.0.1:0"}, p.tlsArgs()...)
	d := testrig.StartDaemon(t, append(args, extra...)...)
	if d.TCPAddr == "" {
		t.Fatalf("benchd's READY=1 carried no X_BENCHD_TCP address:\n%s", d.Log())
	}
	return d, d.TCPAddr
}

func sampleVRAM(t *testing.T, c *client.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gpus, err := c.SampleVRAM(ctx)
	if err == nil && len(gpus) == 0 {
		t.Errorf("SampleVRAM: no GPUs from the sysfs fixture")
	}
	return err
}

func tcpClient(t *testing.T, addr string, opt client.Option) *client.Client {
	t.Helper()
	c, err := client.NewTCP(addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTCPMutualTLS(t *testing.T) {
	p := newPKI(t)
	d, addr := startTLSDaemon(t, p)

	t.Run("right client certificate works", func(t *testing.T) {
		c := tcpClient(t, addr, client.WithTLS(p.goodCert, p.goodKey, p.ca))
		if err := sampleVRAM(t, c); err != nil {
			t.Fatalf("SampleVRAM over TCP with the right certificate: %v\n%s", err, d.Log())
		}
		// The audit line names the caller by its certificate.
		waitLog(t, d, `grpc.method=SampleVRAM`, `caller.cn=hermes`)
	})

	// A refusal is asserted three ways: the gRPC call fails Unavailable; a
	// raw TLS connection that reads before writing gets the exact alert
	// (over gRPC the alert races with the client's first write, which may
	// fail with EPIPE instead); and benchd logs why it refused. The probe
	// configs present their certificate whatever the server asks for, as a
	// hostile client would: crypto/tls itself withholds a certificate whose
	// issuer is not among the CAs the server names.
	refusals := []struct {
		name      string
		cfg       *tls.Config
		alert     string // "remote error: tls: ALERT" on the probe
		serverLog string // in benchd's "TLS handshake refused" line
	}{
		{"no client certificate", presenting(t, p.ca, "", ""), "certificate required", "didn't provide a certificate"},
		{"certificate from another CA", presenting(t, p.ca, p.wrongCACert, p.wrongCAKey), "unknown certificate authority", "certificate signed by unknown authority"},
		{"expired certificate", presenting(t, p.ca, p.expiredCert, p.expiredKey), "expired certificate", "certificate has expired"},
		// Right CA, wrong usage: a server certificate is no client's.
		{"server certificate as client certificate", presenting(t, p.ca, p.serverAsClientCert, p.serverAsKey), "bad certificate", "incompatible key usage"},
	}
	for _, r := range refusals {
		t.Run(r.name+" is refused", func(t *testing.T) {
			c := tcpClient(t, addr, client.WithTLSConfig(r.cfg))
			err := sampleVRAM(t, c)
			if code := status.Code(err); code != codes.Unavailable {
				t.Errorf("SampleVRAM: code %v (%v), want Unavailable", code, err)
			}
			err = probe("tcp", addr, r.cfg)
			if err == nil || !strings.Contains(err.Error(), "remote error: tls: "+r.alert) {
				t.Errorf("TLS probe: %v, want the %q alert", err, r.alert)
			}
			waitLog(t, d, `msg="TLS handshake refused"`, r.serverLog)
		})
	}

	t.Run("WithTLS with another CA's certificate is refused", func(t *testing.T) {
		c := tcpClient(t, addr, client.WithTLS(p.wrongCACert, p.wrongCAKey, p.ca))
		if err := sampleVRAM(t, c); status.Code(err) != codes.Unavailable {
			t.Fatalf("SampleVRAM: %v, want Unavailable", err)
		}
	})

	t.Run("client refuses a server from another CA", func(t *testing.T) {
		c := tcpClient(t, addr, client.WithTLS(p.goodCert, p.goodKey, p.otherCA))
		err := sampleVRAM(t, c)
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("want an unknown-authority error, got %v", err)
		}
	})

	t.Run("plaintext gRPC is refused", func(t *testing.T) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if code := status.Code(err); code != codes.Unavailable {
			t.Fatalf("plaintext health check: code %v (%v), want Unavailable", code, err)
		}
		waitLog(t, d, `msg="TLS handshake refused"`, "first record does not look like a TLS handshake")
	})

	t.Run("unix socket keeps working without TLS", func(t *testing.T) {
		c, err := client.New(d.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := sampleVRAM(t, c); err != nil {
			t.Fatalf("SampleVRAM on the unix socket: %v", err)
		}
	})

	t.Run("SIGTERM stops both listeners", func(t *testing.T) {
		if err := d.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-d.Exited():
		case <-time.After(20 * time.Second):
			t.Fatal("benchd did not exit after SIGTERM")
		}
		if code := d.ExitCode(); code != 0 {
			t.Errorf("exit code %d, want 0\n%s", code, d.Log())
		}
	})
}

// presenting is a client config trusting caFile that presents the given
// certificate unconditionally (none when certFile is empty).
func presenting(t *testing.T, caFile, certFile, keyFile string) *tls.Config {
	t.Helper()
	pool, _, err := certs.LoadCAPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool}
	if certFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	}
	return cfg
}

// probe completes a TLS 1.3 handshake (the client's side ends before the
// server has checked the client certificate) and reads, returning the
// server's alert if it refuses the certificate.
func probe(network, addr string, cfg *tls.Config) error {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"h2"}
	if network == "unix" {
		cfg.ServerName = "localhost"
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, network, addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	return err
}

// waitLog waits for a daemon log line holding all of parts: the audit line
// is written when the call finishes, the refusal when the handshake fails,
// both possibly a moment after the client sees the result.
func waitLog(t *testing.T, d *testrig.Daemon, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(d.Log(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no benchd log line with %q:\n%s", parts, d.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestListenWithoutTLSFlagsRefusesToStart(t *testing.T) {
	p := newPKI(t)
	sock := filepath.Join(t.TempDir(), "benchd.sock")
	cases := []struct {
		name    string
		args    []string
		missing string
	}{
		{"no TLS flags", nil, "--tls-cert, --tls-key, --tls-client-ca"},
		{"no client CA", []string{"--tls-cert", p.serverCert, "--tls-key", p.serverKey}, "requires --tls-client-ca:"},
		{"no key", []string{"--tls-cert", p.serverCert, "--tls-client-ca", p.ca}, "requires --tls-key:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--socket", sock, "--vram-source", "none", "--listen", "tcp://127.0.0.1:0"}, tc.args...)
			out, err := exec.Command(testrig.Binary(t, "benchd"), args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("want exit status 2, got %v\n%s", err, out)
			}
			for _, want := range []string{"--listen tcp://127.0.0.1:0 requires", tc.missing, "mutual TLS"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "benchd serving") {
				t.Errorf("benchd served:\n%s", out)
			}
			if _, err := os.Stat(sock); err == nil {
				t.Errorf("benchd created its socket before refusing")
			}
		})
	}

	t.Run("not tcp://", func(t *testing.T) {
		args := append([]string{"--socket", sock, "--listen", "127.0.0.1:7443"}, p.tlsArgs()...)
		out, err := exec.Command(testrig.Binary(t, "benchd"), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "want tcp://HOST:PORT") {
			t.Fatalf("--listen without a scheme: %v\n%s", err, out)
		}
	})
	t.Run("client certificate as server certificate", func(t *testing.T) {
		args := []string{"--socket", sock, "--vram-source", "none", "--listen", "tcp://127.0.0.1:0",
			"--tls-cert", p.goodCert, "--tls-key", p.goodKey, "--tls-client-ca", p.ca}
		out, err := exec.Command(testrig.Binary(t, "benchd"), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "is not a server certificate") {
			t.Fatalf("client certificate as --tls-cert: %v\n%s", err, out)
		}
	})
	t.Run("leaf as client CA", func(t *testing.T) {
		args := []string{"--socket", sock, "--vram-source", "none", "--listen", "tcp://127.0.0.1:0",
			"--tls-cert", p.serverCert, "--tls-key", p.serverKey, "--tls-client-ca", p.goodCert}
		out, err := exec.Command(testrig.Binary(t, "benchd"), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "is not a CA certificate") {
			t.Fatalf("client certificate as --tls-client-ca: %v\n%s", err, out)
		}
	})
}

func TestUnixSocketMutualTLS(t *testing.T) {
	p := newPKI(t)
	d := testrig.StartDaemon(t, append([]string{"--vram-source", "sysfs", "--sysfs-root", testrig.SysfsFixture(), "--unix-tls"}, p.tlsArgs()...)...)

	t.Run("right client certificate works and the uid is audited", func(t *testing.T) {
		c, err := client.New(d.Socket, client.WithTLS(p.goodCert, p.goodKey, p.ca))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := sampleVRAM(t, c); err != nil {
			t.Fatalf("SampleVRAM over unix+mTLS: %v\n%s", err, d.Log())
		}
		// caller.uid proves the peer credentials, and so the uid policy,
		// survived the TLS layer.
		waitLog(t, d, "grpc.method=SampleVRAM", "caller.uid="+strconv.Itoa(os.Getuid()))
	})
	t.Run("plaintext is refused", func(t *testing.T) {
		c, err := client.New(d.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := sampleVRAM(t, c); status.Code(err) != codes.Unavailable {
			t.Fatalf("plaintext on a --unix-tls socket: %v, want Unavailable", err)
		}
	})
	t.Run("expired certificate is refused", func(t *testing.T) {
		c, err := client.New(d.Socket, client.WithTLS(p.expiredCert, p.expiredKey, p.ca))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := sampleVRAM(t, c); status.Code(err) != codes.Unavailable {
			t.Errorf("SampleVRAM: %v, want Unavailable", err)
		}
		err = probe("unix", d.Socket, presenting(t, p.ca, p.expiredCert, p.expiredKey))
		if err == nil || !strings.Contains(err.Error(), "remote error: tls: expired certificate") {
			t.Errorf("TLS probe: %v, want the expired-certificate alert", err)
		}
		waitLog(t, d, `msg="TLS handshake refused"`, "caller.uid="+strconv.Itoa(os.Getuid()), "certificate has expired")
	})
}
