// Package certs makes the small private PKI that benchd's mutual TLS needs:
// one CA, a server certificate for benchd and a client certificate per
// caller. It is what `benchctl certs` runs, and what tests use to make
// certificates that are right, from the wrong CA, or expired.
//
// The CA exists only to sign benchd's certificates: it may sign leaves but
// not other CAs (path length 0), server certificates carry only the
// serverAuth usage and client certificates only clientAuth, so one can never
// stand in for the other. Keys are ECDSA P-256 (default) or Ed25519, written
// as PKCS#8 with mode 0600; certificates are written with mode 0644. Files
// are never silently replaced.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// KeyType is the algorithm of a generated key.
type KeyType string

// Supported key types. Both are accepted by TLS 1.3 in Go and by OpenSSL
// tools; P-256 is the default because more tools outside Go handle it.
const (
	ECDSAP256 KeyType = "ecdsa-p256"
	Ed25519   KeyType = "ed25519"
)

// Default validity periods and file names.
const (
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity = 365 * 24 * time.Hour
	// clockSkew backdates NotBefore so a host whose clock is a little behind
	// the issuer's accepts a certificate made a moment ago.
	clockSkew = 5 * time.Minute

	CACert     = "ca.crt"
	CAKey      = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
)

// DefaultServerSANs are the names a server certificate carries when the
// caller gives none: enough for a client on the same host, over TCP
// loopback or over the unix socket (whose TLS server name is "localhost").
var DefaultServerSANs = []string{"localhost", "127.0.0.1", "::1"}

// DefaultClientName is the client certificate's name when none is given.
const DefaultClientName = "client"

// Options set a certificate's key type and validity. Zero values take the
// defaults.
type Options struct {
	KeyType KeyType
	// NotBefore defaults to five minutes ago.
	NotBefore time.Time
	// NotAfter defaults to NotBefore plus DefaultCAValidity or
	// DefaultLeafValidity. Tests set a past NotAfter to make an expired
	// certificate.
	NotAfter time.Time
}

func (o Options) window(def time.Duration) (time.Time, time.Time, error) {
	nb, na := o.NotBefore, o.NotAfter
	if nb.IsZero() {
		nb = time.Now().Add(-clockSkew)
	}
	if na.IsZero() {
		na = nb.Add(def)
	}
	if !na.After(nb) {
		return nb, na, fmt.Errorf("validity ends (%s) before it starts (%s)", na.Format(time.RFC3339), nb.Format(time.RFC3339))
	}
	return nb.UTC().Truncate(time.Second), na.UTC().Truncate(time.Second), nil
}

// Days returns Options valid from now (less the clock-skew margin) for n
// days.
func Days(n int, kt KeyType) Options {
	nb := time.Now().Add(-clockSkew)
	return Options{KeyType: kt, NotBefore: nb, NotAfter: nb.Add(time.Duration(n) * 24 * time.Hour)}
}

// KeyPair is a certificate with its private key, parsed and as PEM.
type KeyPair struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
	KeyPEM  []byte
}

// CA is a certificate authority that can issue benchd's certificates.
type CA struct {
	KeyPair
}

// NewCA makes a self-signed CA. commonName defaults to "benchd CA" plus
// the date, so that an old and a new CA in a rotation bundle are told apart
// by name.
func NewCA(commonName string, o Options) (*CA, error) {
	nb, na, err := o.window(DefaultCAValidity)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	if commonName == "" {
		commonName = "benchd CA " + time.Now().UTC().Format("2006-01-02T150405Z")
	}
	key, err := newKey(o.KeyType)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"benchd"}},
		NotBefore:             nb,
		NotAfter:              na,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	kp, err := sign(tmpl, nil, key, key)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return &CA{*kp}, nil
}

// IssueServer makes a server certificate for the given names (DNS names or
// IP addresses; DefaultServerSANs when empty).
func (ca *CA) IssueServer(sans []string, o Options) (*KeyPair, error) {
	if len(sans) == 0 {
		sans = DefaultServerSANs
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: sans[0], Organization: []string{"benchd"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			continue
		}
		if err := checkDNSName(s); err != nil {
			return nil, err
		}
		tmpl.DNSNames = append(tmpl.DNSNames, s)
	}
	return ca.issue(tmpl, o)
}

// IssueClient makes a client certificate whose subject CN is name; benchd
// writes that name into the audit line of every call made with it.
func (ca *CA) IssueClient(name string, o Options) (*KeyPair, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"benchd"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return ca.issue(tmpl, o)
}

func (ca *CA) issue(tmpl *x509.Certificate, o Options) (*KeyPair, error) {
	nb, na, err := o.window(DefaultLeafValidity)
	if err != nil {
		return nil, fmt.Errorf("certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	// A leaf that outlives its CA stops working on the CA's expiry date
	// with no warning; say so now instead.
	if na.After(ca.Cert.NotAfter) {
		return nil, fmt.Errorf("certificate for %q would be valid until %s, after its CA expires (%s): issue it for fewer days or rotate the CA (certs/README.md)",
			tmpl.Subject.CommonName, na.Format(time.DateOnly), ca.Cert.NotAfter.Format(time.DateOnly))
	}
	tmpl.NotBefore, tmpl.NotAfter = nb, na
	tmpl.BasicConstraintsValid = true
	key, err := newKey(o.KeyType)
	if err != nil {
		return nil, err
	}
	kp, err := sign(tmpl, ca.Cert, key, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("certificate for %q: %w", tmpl.Subject.CommonName, err)
	}
	return kp, nil
}

func newKey(kt KeyType) (crypto.Signer, error) {
	switch kt {
	case "", ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case Ed25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("key type %q: want %s or %s", kt, ECDSAP256, Ed25519)
}

func sign(tmpl, parent *x509.Certificate, key, parentKey crypto.Signer) (*KeyPair, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1)) // never zero
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &KeyPair{
		Cert:    cert,
		Key:     key,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}, nil
}

// TLSCertificate is the pair as crypto/tls wants it.
func (kp *KeyPair) TLSCertificate() (tls.Certificate, error) {
	return tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
}

// WriteFiles writes the certificate (0644) and the key (0600). Unless
// overwrite is set it refuses to replace an existing file; either way a
// file is replaced atomically, never left half-written.
func (kp *KeyPair) WriteFiles(certFile, keyFile string, overwrite bool) error {
	if !overwrite {
		for _, f := range []string{certFile, keyFile} {
			if _, err := os.Lstat(f); err == nil {
				return fmt.Errorf("%s already exists; not replacing it", f)
			}
		}
	}
	// The key first: a certificate without its key is useless, a key
	// without its certificate is harmless.
	if err := writeFile(keyFile, kp.KeyPEM, 0o600, overwrite); err != nil {
		return err
	}
	return writeFile(certFile, kp.CertPEM, 0o644, overwrite)
}

// writeFile creates a temp file (0600 from the start, so a key is never
// readable by others even for a moment), sets mode, and moves it into place:
// with rename when replacing, with link when not, since link fails on an
// existing name instead of replacing it.
func writeFile(path string, data []byte, mode os.FileMode, overwrite bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if overwrite {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadCA reads a CA written by this package (or any CA certificate with a
// PKCS#8, SEC 1 or PKCS#1 key) to issue more certificates from it.
func LoadCA(certFile, keyFile string) (*CA, error) {
	certs, err := ReadCertificates(certFile)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%s: %d certificates, want exactly the CA's (a rotation bundle cannot sign)", certFile, len(certs))
	}
	cert := certs[0]
	if !cert.IsCA {
		return nil, fmt.Errorf("%s: %q is not a CA certificate", certFile, cert.Subject.CommonName)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	if !publicKeyEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not hold the key of %s", keyFile, certFile)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	return &CA{KeyPair{Cert: cert, Key: key, CertPEM: certPEM, KeyPEM: keyPEM}}, nil
}

func parseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM private key found")
		}
		var (
			k   any
			err error
		)
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key type %T cannot sign", k)
		}
		return s, nil
	}
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ae, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ae.Equal(b)
}

// ReadCertificates returns every certificate in a PEM file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			if strings.Contains(blk.Type, "PRIVATE KEY") {
				return nil, fmt.Errorf("%s holds a private key; it should hold certificates only", path)
			}
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", path)
	}
	return out, nil
}

// LoadCAPool reads a file of one or more CA certificates (a rotation
// bundle holds the old and the new CA) into a pool. A leaf certificate in
// it is an error: trusting a leaf as a root is the classic mix-up of
// server.crt and ca.crt.
func LoadCAPool(path string) (*x509.CertPool, []*x509.Certificate, error) {
	certs, err := ReadCertificates(path)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	for i, c := range certs {
		if !c.IsCA || !c.BasicConstraintsValid {
			return nil, nil, fmt.Errorf("%s: certificate %d (%q) is not a CA certificate; give the CA file (%s), not a server or client certificate",
				path, i+1, c.Subject.CommonName, CACert)
		}
		pool.AddCert(c)
	}
	return pool, certs, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckName accepts client names that are safe both as a certificate CN in
// an audit line and as a file name: letters, digits, '.', '_', '-', at most
// 64, not starting with a dot or dash.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("client name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", name)
	}
	return nil
}

var labelRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?|\*)$`)

func checkDNSName(s string) error {
	if len(s) > 253 || s == "" {
		return fmt.Errorf("server name %q: not a DNS name or IP address", s)
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	for i, l := range labels {
		if !labelRE.MatchString(l) || (l == "*" && i != 0) {
			return fmt.Errorf("server name %q: not a DNS name or IP address (no scheme, port or path)", s)
		}
	}
	return nil
}

// InitOptions configure Init.
type InitOptions struct {
	// ServerSANs default to DefaultServerSANs.
	ServerSANs []string
	// ClientName defaults to DefaultClientName; the files are NAME.crt and
	// NAME.key.
	ClientName string
	KeyType    KeyType
	// LeafDays (server and client certificates) defaults to 365, CADays
	// to 3650.
	LeafDays, CADays int
}

// Files are the paths Init wrote.
type Files struct {
	CACert, CAKey, ServerCert, ServerKey, ClientCert, ClientKey string
}

// ClientFiles are the file names of a client's certificate and key in dir.
func ClientFiles(dir, name string) (cert, key string) {
	return filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
}

// Init makes a CA, a server and a client certificate in dir (created 0700
// when missing). It refuses to run if any of the files exists, so an
// existing CA is never replaced by accident.
func Init(dir string, o InitOptions) (*Files, error) {
	if o.ClientName == "" {
		o.ClientName = DefaultClientName
	}
	if err := CheckName(o.ClientName); err != nil {
		return nil, err
	}
	if o.ClientName == "ca" || o.ClientName == "server" {
		return nil, fmt.Errorf("client name %q would clash with the %s.crt/%s.key files", o.ClientName, o.ClientName, o.ClientName)
	}
	if o.LeafDays == 0 {
		o.LeafDays = int(DefaultLeafValidity / (24 * time.Hour))
	}
	if o.CADays == 0 {
		o.CADays = int(DefaultCAValidity / (24 * time.Hour))
	}
	if o.LeafDays < 0 || o.CADays < 0 {
		return nil, errors.New("validity in days must be positive")
	}
	f := &Files{
		CACert: filepath.Join(dir, CACert), CAKey: filepath.Join(dir, CAKey),
		ServerCert: filepath.Join(dir, ServerCert), ServerKey: filepath.Join(dir, ServerKey),
	}
	f.ClientCert, f.ClientKey = ClientFiles(dir, o.ClientName)
	var exist []string
	for _, p := range []string{f.CACert, f.CAKey, f.ServerCert, f.ServerKey, f.ClientCert, f.ClientKey} {
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		}
	}
	if len(exist) > 0 {
		return nil, fmt.Errorf("%s already exist; not replacing them (to issue another certificate from this CA use `benchctl certs client` or `certs server`)", strings.Join(exist, ", "))
	}
	ca, err := NewCA("", Days(o.CADays, o.KeyType))
	if err != nil {
		return nil, err
	}
	srv, err := ca.IssueServer(o.ServerSANs, Days(o.LeafDays, o.KeyType))
	if err != nil {
		return nil, err
	}
	cli, err := ca.IssueClient(o.ClientName, Days(o.LeafDays, o.KeyType))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for _, w := range []struct {
		kp        *KeyPair
		cert, key string
	}{{&ca.KeyPair, f.CACert, f.CAKey}, {srv, f.ServerCert, f.ServerKey}, {cli, f.ClientCert, f.ClientKey}} {
		if err := w.kp.WriteFiles(w.cert, w.key, false); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Describe is a one-line summary of a certificate for humans and logs.
func Describe(c *x509.Certificate) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%q", c.Subject.CommonName)
	names := append([]string{}, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(names, " "))
	}
	fmt.Fprintf(&b, " valid until %s", c.NotAfter.UTC().Format(time.RFC3339))
	return b.String()
}
