package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/benchd/benchd/certs"
)

// WithTLS makes the connection mutual TLS: certFile and keyFile are this
// client's certificate and key, caFile the CA (or the old and new CAs during
// a rotation) that must have signed benchd's server certificate — and only
// it: the system roots are not trusted, since benchd's certificates come
// from a private CA (`benchctl certs init`). TLS 1.3 is the minimum. The
// files are read when the option is applied, so a bad path fails Dial (or
// New, NewTCP, …), not the first call.
//
// Over TCP the server name checked is the target's host. Over a unix
// socket or a command it is "localhost", which `benchctl certs init` puts
// in the server certificate by default; use WithTLSConfig to check another
// name.
func WithTLS(certFile, keyFile, caFile string) Option {
	return func(o *options) error {
		cfg, err := loadTLS(certFile, keyFile, caFile)
		if err != nil {
			return err
		}
		o.tls = cfg
		return nil
	}
}

// WithTLSConfig makes the connection TLS with a caller-built configuration
// (e.g. certificates from a secret store rather than files). The config is
// cloned; benchd will refuse it unless it presents a client certificate.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) error {
		if cfg == nil {
			return errors.New("benchd client: WithTLSConfig(nil)")
		}
		o.tls = cfg.Clone()
		return nil
	}
}

// NewTCP returns a client for benchd's TCP listener (benchd --listen
// tcp://ADDR) at addr, "host:port" with or without a "tcp://" prefix; it
// is Dial with a tcp:// target. It needs WithTLS or WithTLSConfig: benchd
// serves TCP only with mutual TLS, and a plaintext client would only fail
// later with a less clear error. It does not connect until the first call.
func NewTCP(addr string, opts ...Option) (*Client, error) {
	return newClient(endpoint{addr: strings.TrimPrefix(addr, "tcp://")}, opts)
}

// transportCredentials are insecure (no TLS) unless a TLS option was given:
// on a unix socket the socket's mode and benchd's peer-uid check protect the
// connection.
func (o *options) transportCredentials(tcp bool) credentials.TransportCredentials {
	if o.tls == nil {
		return insecure.NewCredentials()
	}
	cfg := o.tls.Clone()
	if !tcp && cfg.ServerName == "" {
		// gRPC would check the target's authority: "localhost" for a unix
		// socket, but "benchd" for a command. Make both "localhost".
		cfg.ServerName = "localhost"
	}
	return credentials.NewTLS(cfg)
}

func loadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("benchd client: client certificate: %w", err)
	}
	pool, _, err := certs.LoadCAPool(caFile)
	if err != nil {
		return nil, fmt.Errorf("benchd client: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{kp},
		RootCAs:      pool,
	}, nil
}
