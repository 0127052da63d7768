package certs

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func verify(c *x509.Certificate, ca *CA, usage x509.ExtKeyUsage, at time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}, CurrentTime: at})
	return err
}

func TestIssueBothKeyTypes(t *testing.T) {
	for _, kt := range []KeyType{"", ECDSAP256, Ed25519} {
		t.Run(string(kt), func(t *testing.T) {
			ca, err := NewCA("", Options{KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			if !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero || ca.Cert.MaxPathLen != 0 {
				t.Errorf("CA: IsCA=%v MaxPathLen=%d zero=%v, want a CA that signs leaves only", ca.Cert.IsCA, ca.Cert.MaxPathLen, ca.Cert.MaxPathLenZero)
			}
			if !strings.HasPrefix(ca.Cert.Subject.CommonName, "benchd CA ") {
				t.Errorf("CA CN %q", ca.Cert.Subject.CommonName)
			}
			switch kt {
			case Ed25519:
				if _, ok := ca.Key.(ed25519.PrivateKey); !ok {
					t.Errorf("key %T, want ed25519", ca.Key)
				}
			default:
				k, ok := ca.Key.(*ecdsa.PrivateKey)
				if !ok || k.Curve.Params().Name != "P-256" {
					t.Errorf("key %T, want ECDSA P-256", ca.Key)
				}
			}

			srv, err := ca.IssueServer(nil, Options{KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			if err := verify(srv.Cert, ca, x509.ExtKeyUsageServerAuth, now); err != nil {
				t.Errorf("server certificate does not verify for serverAuth: %v", err)
			}
			for _, h := range DefaultServerSANs {
				if err := srv.Cert.VerifyHostname(h); err != nil {
					t.Errorf("server certificate: %v", err)
				}
			}
			if err := verify(srv.Cert, ca, x509.ExtKeyUsageClientAuth, now); err == nil {
				t.Error("server certificate verifies as a client certificate")
			}

			cli, err := ca.IssueClient("hermes", Options{KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			if cli.Cert.Subject.CommonName != "hermes" {
				t.Errorf("client CN %q", cli.Cert.Subject.CommonName)
			}
			if err := verify(cli.Cert, ca, x509.ExtKeyUsageClientAuth, now); err != nil {
				t.Errorf("client certificate does not verify for clientAuth: %v", err)
			}
			if err := verify(cli.Cert, ca, x509.ExtKeyUsageServerAuth, now); err == nil {
				t.Error("client certificate verifies as a server certificate")
			}
			if _, err := cli.TLSCertificate(); err != nil {
				t.Errorf("client pair is not a TLS certificate: %v", err)
			}
			if cli.Cert.SerialNumber.Cmp(srv.Cert.SerialNumber) == 0 {
				t.Error("two certificates share a serial number")
			}

			other, err := NewCA("other", Options{KeyType: kt})
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(cli.Cert, other, x509.ExtKeyUsageClientAuth, now); err == nil {
				t.Error("client certificate verifies against an unrelated CA")
			}
		})
	}
}

func TestServerSANs(t *testing.T) {
	ca, err := NewCA("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.IssueServer([]string{"bench.example.org", "*.gpu.example.org", "10.1.2.3", "fd00::7"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"bench.example.org", "a.gpu.example.org", "10.1.2.3", "fd00::7"} {
		if err := srv.Cert.VerifyHostname(h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if err := srv.Cert.VerifyHostname("localhost"); err == nil {
		t.Error("explicit SANs still include localhost")
	}
	for _, bad := range []string{"https://bench.example.org", "bench.example.org:7443", "a b", "", "a..b", "x.*.example", "-bad.example"} {
		if _, err := ca.IssueServer([]string{bad}, Options{}); err == nil {
			t.Errorf("server name %q accepted", bad)
		}
	}
}

func TestValidity(t *testing.T) {
	ca, err := NewCA("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	exp, err := ca.IssueClient("old", Options{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	err = verify(exp.Cert, ca, x509.ExtKeyUsageClientAuth, now)
	var ci x509.CertificateInvalidError
	if !errors.As(err, &ci) || ci.Reason != x509.Expired {
		t.Errorf("expired certificate: %v, want x509.Expired", err)
	}

	d := Days(30, "")
	c, err := ca.IssueClient("monthly", d)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cert.NotAfter.Sub(c.Cert.NotBefore); got < 30*24*time.Hour-time.Second || got > 30*24*time.Hour {
		t.Errorf("Days(30): validity %v", got)
	}
	if c.Cert.NotBefore.After(now) {
		t.Errorf("NotBefore %v is in the future; want a clock-skew margin", c.Cert.NotBefore)
	}

	if _, err := ca.IssueClient("forever", Options{NotAfter: ca.Cert.NotAfter.Add(time.Hour)}); err == nil || !strings.Contains(err.Error(), "after its CA expires") {
		t.Errorf("leaf outliving its CA: %v", err)
	}
	if _, err := ca.IssueClient("backwards", Options{NotBefore: now, NotAfter: now.Add(-time.Hour)}); err == nil {
		t.Error("NotAfter before NotBefore accepted")
	}
	if _, err := NewCA("", Options{KeyType: "rsa"}); err == nil {
		t.Error("unknown key type accepted")
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"hermes", "ci-runner.2", "A_b"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "-x", "../etc/passwd", "a/b", "a b", "x\n", strings.Repeat("a", 65)} {
		if err := CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestWriteFilesModesAndNoClobber(t *testing.T) {
	ca, err := NewCA("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The modes must not depend on the caller's umask, in either
	// direction. No test here runs in parallel, so the process-wide
	// umask may change for a moment.
	for _, umask := range []int{0, 0o077} {
		old := syscall.Umask(umask)
		dir := t.TempDir()
		cert, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
		err := ca.WriteFiles(cert, key, false)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		if m := mode(t, key); m != 0o600 {
			t.Errorf("umask %03o: key mode %04o, want 0600", umask, m)
		}
		if m := mode(t, cert); m != 0o644 {
			t.Errorf("umask %03o: cert mode %04o, want 0644", umask, m)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("temp files left behind: %v", entries)
		}
	}

	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := ca.WriteFiles(cert, key, false); err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.WriteFiles(cert, key, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second write without overwrite: %v", err)
	}
	if got, _ := os.ReadFile(key); string(got) != string(ca.KeyPEM) {
		t.Fatal("existing key replaced without overwrite")
	}
	if err := other.WriteFiles(cert, key, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(key); string(got) != string(other.KeyPEM) {
		t.Fatal("overwrite did not replace the key")
	}
	if m := mode(t, key); m != 0o600 {
		t.Errorf("replaced key mode %04o", m)
	}
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	f, err := Init(dir, InitOptions{ClientName: "hermes", ServerSANs: []string{"bench.lan", "192.0.2.7"}, LeafDays: 10, KeyType: Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("dir mode %04o, want 0700", m)
	}
	if f.ClientCert != filepath.Join(dir, "hermes.crt") || f.ClientKey != filepath.Join(dir, "hermes.key") {
		t.Errorf("client files %s %s", f.ClientCert, f.ClientKey)
	}
	for _, k := range []string{f.CAKey, f.ServerKey, f.ClientKey} {
		if m := mode(t, k); m != 0o600 {
			t.Errorf("%s mode %04o, want 0600", k, m)
		}
	}
	for _, c := range []string{f.CACert, f.ServerCert, f.ClientCert} {
		if m := mode(t, c); m != 0o644 {
			t.Errorf("%s mode %04o, want 0644", c, m)
		}
	}
	ca, err := LoadCA(f.CACert, f.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ReadCertificates(f.ServerCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(srv[0], ca, x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
		t.Error(err)
	}
	if err := srv[0].VerifyHostname("192.0.2.7"); err != nil {
		t.Error(err)
	}
	if got := srv[0].NotAfter.Sub(srv[0].NotBefore); got != 10*24*time.Hour {
		t.Errorf("server validity %v, want 10 days", got)
	}

	// Issuing from the loaded CA works and chains to the written CA.
	more, err := ca.IssueClient("athena", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(more.Cert, ca, x509.ExtKeyUsageClientAuth, time.Now()); err != nil {
		t.Error(err)
	}

	if _, err := Init(dir, InitOptions{ClientName: "hermes"}); err == nil || !strings.Contains(err.Error(), "already exist") {
		t.Errorf("second Init in the same dir: %v", err)
	}
	if _, err := Init(t.TempDir(), InitOptions{ClientName: "ca"}); err == nil {
		t.Error("client name ca accepted")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	f, err := Init(dir, InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCA(f.CACert, f.ServerKey); err == nil || !strings.Contains(err.Error(), "does not hold the key") {
		t.Errorf("CA with the server's key: %v", err)
	}
	if _, err := LoadCA(f.ServerCert, f.ServerKey); err == nil || !strings.Contains(err.Error(), "not a CA") {
		t.Errorf("server certificate as CA: %v", err)
	}

	other, err := NewCA("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle.crt")
	caPEM, _ := os.ReadFile(f.CACert)
	if err := os.WriteFile(bundle, append(caPEM, other.CertPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, cas, err := LoadCAPool(bundle); err != nil || len(cas) != 2 {
		t.Errorf("bundle of two CAs: %d, %v", len(cas), err)
	}
	if _, err := LoadCA(bundle, f.CAKey); err == nil {
		t.Error("LoadCA accepted a bundle")
	}
	if _, _, err := LoadCAPool(f.ClientCert); err == nil || !strings.Contains(err.Error(), "not a CA certificate") {
		t.Errorf("leaf as CA pool: %v", err)
	}
	if _, _, err := LoadCAPool(f.CAKey); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("key as CA pool: %v", err)
	}
	empty := filepath.Join(dir, "empty.crt")
	_ = os.WriteFile(empty, []byte("not pem\n"), 0o644)
	if _, _, err := LoadCAPool(empty); err == nil {
		t.Error("empty CA file accepted")
	}
}
