// Package tlsconfig is benchd's mutual-TLS policy: the server's tls.Config
// (TLS 1.3 only, a client certificate from the configured CAs required),
// gRPC transport credentials that log refused handshakes, credentials for
// the unix socket that keep the peer-uid check when TLS is added, and the
// audit fields that name the caller by its certificate. It is the TCP
// counterpart of package peercred and lives beside it; package certs makes
// the files it reads.
package tlsconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/internal/peercred"
)

// ExpiryWarning is how close to its end a server certificate makes Server
// report it as expiring.
const ExpiryWarning = 30 * 24 * time.Hour

// Info describes what Server loaded, for the daemon's start-up log.
type Info struct {
	Cert      *x509.Certificate
	ClientCAs []*x509.Certificate
}

// Server builds the TLS configuration of benchd's listeners from PEM
// files: the server certificate and key, and the CA certificates that sign
// client certificates (one, or the old and the new during a CA rotation).
// It refuses what would make a listener that no client can use or that
// trusts the wrong thing: a certificate that is not for servers, one that
// has expired, a key that does not match, a CA file holding a leaf.
func Server(certFile, keyFile, clientCAFile string) (*tls.Config, *Info, error) {
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	leaf := kp.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(kp.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("--tls-cert %s: %w", certFile, err)
		}
	}
	if leaf.IsCA {
		return nil, nil, fmt.Errorf("--tls-cert %s is a CA certificate; give the server certificate (%s)", certFile, certs.ServerCert)
	}
	if !hasUsage(leaf, x509.ExtKeyUsageServerAuth) {
		return nil, nil, fmt.Errorf("--tls-cert %s (%q) is not a server certificate (no serverAuth usage); did you give a client certificate?", certFile, leaf.Subject.CommonName)
	}
	now := time.Now()
	if now.After(leaf.NotAfter) {
		return nil, nil, fmt.Errorf("--tls-cert %s expired on %s; renew it with `benchctl certs server DIR --force`", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return nil, nil, fmt.Errorf("--tls-cert %s is not valid before %s; check this host's clock", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	pool, cas, err := certs.LoadCAPool(clientCAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-client-ca: %w", err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{kp},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}
	return cfg, &Info{Cert: leaf, ClientCAs: cas}, nil
}

func hasUsage(c *x509.Certificate, u x509.ExtKeyUsage) bool {
	if len(c.ExtKeyUsage) == 0 {
		return true // no EKU extension: any usage, as crypto/x509 treats it
	}
	for _, e := range c.ExtKeyUsage {
		if e == u || e == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// Credentials are gRPC transport credentials for a TCP listener with cfg.
// A refused handshake (no client certificate, one from another CA, an
// expired one) is logged at warn level with the peer's address, since gRPC
// itself only reports it to its own logger.
func Credentials(cfg *tls.Config, log *slog.Logger) credentials.TransportCredentials {
	return &logged{TransportCredentials: credentials.NewTLS(cfg), log: log}
}

type logged struct {
	credentials.TransportCredentials
	log *slog.Logger
}

func (l *logged) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c, ai, err := l.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		l.log.Warn("TLS handshake refused", "peer.address", conn.RemoteAddr().String(), "err", err)
	}
	return c, ai, err
}

func (l *logged) Clone() credentials.TransportCredentials {
	return &logged{TransportCredentials: l.TransportCredentials.Clone(), log: l.log}
}

// UnixCredentials are transport credentials for the unix socket with
// mutual TLS on top of peer credentials: SO_PEERCRED is read from the raw
// socket first, then the TLS handshake runs. The AuthInfo is still a
// peercred.AuthInfo, so the uid policy keeps applying — that policy refuses
// calls without peer credentials, so any other AuthInfo type would lock
// every caller out. The TLS identity is therefore not in the audit line on the unix
// socket; the kernel's uid and pid are.
func UnixCredentials(cfg *tls.Config, log *slog.Logger) credentials.TransportCredentials {
	return &unixTLS{pc: peercred.Credentials(), tls: credentials.NewTLS(cfg), log: log}
}

type unixTLS struct {
	pc, tls credentials.TransportCredentials
	log     *slog.Logger
}

func (u *unixTLS) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	raw, pai, err := u.pc.ServerHandshake(conn)
	if err != nil {
		return nil, nil, err
	}
	ai, ok := pai.(peercred.AuthInfo)
	if !ok {
		return nil, nil, fmt.Errorf("tlsconfig: peer credentials of type %T", pai)
	}
	tc, tai, err := u.tls.ServerHandshake(raw)
	if err != nil {
		u.log.Warn("TLS handshake refused", "caller.uid", ai.UID, "caller.pid", ai.PID, "err", err)
		return nil, nil, err
	}
	if ti, ok := tai.(credentials.TLSInfo); ok {
		ai.CommonAuthInfo = ti.CommonAuthInfo
	}
	return tc, ai, nil
}

func (u *unixTLS) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return u.tls.ClientHandshake(ctx, authority, conn)
}

func (u *unixTLS) Info() credentials.ProtocolInfo { return u.tls.Info() }

func (u *unixTLS) Clone() credentials.TransportCredentials {
	return &unixTLS{pc: u.pc.Clone(), tls: u.tls.Clone(), log: u.log}
}

func (u *unixTLS) OverrideServerName(string) error { return nil }

// FromContext returns the verified client certificate of the call, if it
// came over a mutual-TLS connection.
func FromContext(ctx context.Context) (*x509.Certificate, bool) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, false
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil, false
	}
	return ti.State.VerifiedChains[0][0], true
}

// CallerFields are the audit-log fields naming a TLS caller: its
// certificate's subject CN and serial number (the serial tells apart two
// certificates issued to the same name, e.g. before and after a rotation).
// It returns nil for calls without a verified client certificate.
func CallerFields(ctx context.Context) logging.Fields {
	c, ok := FromContext(ctx)
	if !ok {
		return nil
	}
	return logging.Fields{"caller.cn", c.Subject.CommonName, "caller.cert_serial", c.SerialNumber.Text(16)}
}
