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
// files are read when the client is created, so a bad path fails New or
// NewTCP, not the first call.
//
// Over TCP the server name checked is the host of NewTCP's address. Over a
// unix socket or a command it is "localhost", which `benchctl certs init`
// puts in the server certificate by default; use WithTLSConfig to check
// another name.
func WithTLS(certFile, keyFile, caFile string) Option {
	return func(o *options) {
		o.tls = func() (*tls.Config, error) { return loadTLS(certFile, keyFile, caFile) }
	}
}

// WithTLSConfig makes the connection TLS with a caller-built configuration
// (e.g. certificates from a secret store rather than files). The config is
// cloned; benchd will refuse it unless it presents a client certificate.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(o *options) {
		o.tls = func() (*tls.Config, error) {
			if cfg == nil {
				return nil, errors.New("benchd client: WithTLSConfig(nil)")
			}
			return cfg.Clone(), nil
		}
	}
}

// NewTCP returns a client for benchd's TCP listener (benchd --listen
// tcp://ADDR) at addr, "host:port" with or without a "tcp://" prefix. It
// needs WithTLS or WithTLSConfig: benchd serves TCP only with mutual TLS,
// and a plaintext client would only fail later with a less clear error. It
// does not connect until the first call.
func NewTCP(addr string, opts ...Option) (*Client, error) {
	addr = strings.TrimPrefix(addr, "tcp://")
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.tls == nil {
		return nil, errors.New("benchd client: NewTCP needs WithTLS (benchd serves TCP only with mutual TLS)")
	}
	return newClient("dns:///"+addr, append(opts, func(o *options) { o.tcp = true })...)
}

// transportCredentials are insecure (no TLS) unless a TLS option was given:
// on a unix socket the socket's mode and benchd's peer-uid check protect the
// connection.
func (o *options) transportCredentials() (credentials.TransportCredentials, error) {
	if o.tls == nil {
		return insecure.NewCredentials(), nil
	}
	cfg, err := o.tls()
	if err != nil {
		return nil, err
	}
	if !o.tcp && cfg.ServerName == "" {
		// gRPC would check the target's authority: "localhost" for a unix
		// socket, but "benchd" for a command. Make both "localhost".
		cfg.ServerName = "localhost"
	}
	return credentials.NewTLS(cfg), nil
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
