package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/internal/tlsconfig"
)

// tlsHandshakeTimeout bounds a TCP connection's TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// tlsFlags are the TCP listener and mutual-TLS flags.
type tlsFlags struct {
	listen              string
	cert, key, clientCA string
	unix                bool
}

func (t *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.listen, "listen", "", "also serve on tcp://HOST:PORT, with mutual TLS only (needs --tls-cert, --tls-key, --tls-client-ca)")
	fs.StringVar(&t.cert, "tls-cert", "", "PEM server certificate for --listen and --unix-tls (benchctl certs init makes server.crt)")
	fs.StringVar(&t.key, "tls-key", "", "PEM private key of --tls-cert (server.key)")
	fs.StringVar(&t.clientCA, "tls-client-ca", "", "PEM CA certificate(s) a client certificate must chain to (ca.crt; old+new CA bundle while rotating)")
	fs.BoolVar(&t.unix, "unix-tls", false, "require mutual TLS on the unix socket too (the peer uid policy still applies)")
}

// check validates the flags before anything starts: a TCP listener
// without mutual TLS is refused, not started in plaintext.
func (t *tlsFlags) check() error {
	if t.listen != "" {
		if err := checkListen(t.listen); err != nil {
			return err
		}
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"--tls-cert", t.cert}, {"--tls-key", t.key}, {"--tls-client-ca", t.clientCA}} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	var users []string
	if t.listen != "" {
		users = append(users, "--listen "+t.listen)
	}
	if t.unix {
		users = append(users, "--unix-tls")
	}
	switch {
	case len(users) > 0 && len(missing) > 0:
		return fmt.Errorf("%s requires %s: benchd serves TCP only with mutual TLS (server certificate and key, and the CA that signs client certificates); make them with `benchctl certs init DIR`",
			strings.Join(users, " and "), strings.Join(missing, ", "))
	case len(users) == 0 && len(missing) < 3:
		return errors.New("--tls-cert/--tls-key/--tls-client-ca are given but nothing uses them: add --listen tcp://HOST:PORT or --unix-tls")
	}
	return nil
}

func checkListen(v string) error {
	addr, ok := strings.CutPrefix(v, "tcp://")
	if !ok {
		return fmt.Errorf("--listen %q: want tcp://HOST:PORT (the unix socket is set with --socket)", v)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || strings.ContainsAny(host+port, "/?#@") {
		return fmt.Errorf("--listen %q: want tcp://HOST:PORT, e.g. tcp://127.0.0.1:7443 or tcp://[::1]:7443", v)
	}
	return nil
}

func (t *tlsFlags) addr() string { return strings.TrimPrefix(t.listen, "tcp://") }

// load reads the TLS files when a listener needs them, and logs what it
// loaded so the operator sees the expiry date in the journal.
func (t *tlsFlags) load(log *slog.Logger) (*tls.Config, error) {
	if t.listen == "" && !t.unix {
		return nil, nil
	}
	cfg, info, err := tlsconfig.Server(t.cert, t.key, t.clientCA)
	if err != nil {
		return nil, err
	}
	cas := make([]string, len(info.ClientCAs))
	for i, c := range info.ClientCAs {
		cas[i] = certs.Describe(c)
	}
	log.Info("mutual TLS", "cert", certs.Describe(info.Cert), "client_cas", strings.Join(cas, "; "))
	if left := time.Until(info.Cert.NotAfter); left < tlsconfig.ExpiryWarning {
		log.Warn("server certificate expires soon; renew it with `benchctl certs server DIR --force`", "not_after", info.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	for _, c := range info.ClientCAs {
		if time.Now().After(c.NotAfter) {
			log.Warn("a client CA has expired; no certificate it signed is accepted", "ca", certs.Describe(c))
		}
	}
	return cfg, nil
}
