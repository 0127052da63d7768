package main_test

// benchctl certs, run as the real binary. No daemon or Docker needed.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/internal/testrig"
)

func certsCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(testrig.Binary(t, "benchctl"), append([]string{"certs"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestCertsInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	out, errOut, code := certsCmd(t, "init", dir, "--server-san", "bench.lan", "--server-san", "10.0.0.5", "--client-name", "hermes", "--days", "30")
	if code != 0 {
		t.Fatalf("certs init: exit %d\n%s%s", code, out, errOut)
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, k := range []string{"ca.key", "server.key", "hermes.key"} {
		if m := perm(t, p(k)); m != 0o600 {
			t.Errorf("%s mode %04o, want 0600", k, m)
		}
		if !strings.Contains(out, "wrote 0600 "+p(k)) {
			t.Errorf("output does not report %s as 0600:\n%s", k, out)
		}
	}
	for _, c := range []string{"ca.crt", "server.crt", "hermes.crt"} {
		if m := perm(t, p(c)); m != 0o644 {
			t.Errorf("%s mode %04o, want 0644", c, m)
		}
	}

	// Everything parses, pairs with its key, and chains to the CA with the
	// right usage.
	ca, err := certs.LoadCA(p("ca.crt"), p("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, leaf := range []struct {
		name  string
		usage x509.ExtKeyUsage
		cn    string
	}{{"server", x509.ExtKeyUsageServerAuth, "bench.lan"}, {"hermes", x509.ExtKeyUsageClientAuth, "hermes"}} {
		kp, err := tls.LoadX509KeyPair(p(leaf.name+".crt"), p(leaf.name+".key"))
		if err != nil {
			t.Fatalf("%s: %v", leaf.name, err)
		}
		c := kp.Leaf
		if c.Subject.CommonName != leaf.cn {
			t.Errorf("%s: CN %q, want %q", leaf.name, c.Subject.CommonName, leaf.cn)
		}
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{leaf.usage}}); err != nil {
			t.Errorf("%s: %v", leaf.name, err)
		}
		if d := c.NotAfter.Sub(c.NotBefore); d != 30*24*time.Hour {
			t.Errorf("%s: validity %v, want 30 days", leaf.name, d)
		}
	}
	srv, _ := certs.ReadCertificates(p("server.crt"))
	for _, h := range []string{"bench.lan", "10.0.0.5"} {
		if err := srv[0].VerifyHostname(h); err != nil {
			t.Error(err)
		}
	}

	// A second init does not replace the CA.
	caBefore, _ := os.ReadFile(p("ca.key"))
	if _, errOut, code := certsCmd(t, "init", dir, "--client-name", "hermes"); code != 1 || !strings.Contains(errOut, "already exist") {
		t.Errorf("second init: exit %d\n%s", code, errOut)
	}
	if caAfter, _ := os.ReadFile(p("ca.key")); !bytes.Equal(caBefore, caAfter) {
		t.Error("second init replaced ca.key")
	}

	// Rotation of a client certificate: another from the same CA.
	if out, errOut, code := certsCmd(t, "client", dir, "--name", "athena", "--key-type", "ed25519"); code != 0 {
		t.Fatalf("certs client: exit %d\n%s%s", code, out, errOut)
	}
	if m := perm(t, p("athena.key")); m != 0o600 {
		t.Errorf("athena.key mode %04o", m)
	}
	athena, err := tls.LoadX509KeyPair(p("athena.crt"), p("athena.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := athena.Leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("athena: %v", err)
	}
	if _, errOut, code := certsCmd(t, "client", dir, "--name", "athena"); code != 1 || !strings.Contains(errOut, "--force") {
		t.Errorf("client again without --force: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := certsCmd(t, "server", dir, "--force", "--days", "7"); code != 0 {
		t.Errorf("server --force: exit %d\n%s", code, errOut)
	}
}

func TestCertsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"init"},
		{"bogus", dir},
		{"init", dir, "--days", "0"},
		{"init", dir, "--key-type", "rsa"},
		{"client", dir},
	} {
		if _, errOut, code := certsCmd(t, args...); code != 2 {
			t.Errorf("certs %q: exit %d, want 2\n%s", args, code, errOut)
		}
	}
	for _, args := range [][]string{
		{"init", dir, "--client-name", "../evil"},
		{"init", dir, "--server-san", "https://x"},
	} {
		if _, errOut, code := certsCmd(t, args...); code != 1 {
			t.Errorf("certs %q: exit %d, want 1\n%s", args, code, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs left files: %v", entries)
	}
}
