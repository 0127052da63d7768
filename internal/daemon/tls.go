package daemon

import (
	"crypto/tls"
	"errors"
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

// TLS is the TCP listener and its mutual TLS.
type TLS struct {
	// Listen is tcp://HOST:PORT; empty for no TCP listener.
	Listen string
	// Cert and Key are the server's PEM certificate and key; ClientCA the
	// CA certificate(s) a client certificate must chain to.
	Cert, Key, ClientCA string
	// Unix requires the same mutual TLS on the unix socket too.
	Unix bool
	// Metrics requires it on the Prometheus exporter (--metrics) too.
	Metrics bool
}

// check validates the flags before anything starts: a TCP listener
// without mutual TLS is refused, not started in plaintext.
func (t TLS) check() error {
	if t.Listen != "" {
		if err := checkListen(t.Listen); err != nil {
			return err
		}
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"--tls-cert", t.Cert}, {"--tls-key", t.Key}, {"--tls-client-ca", t.ClientCA}} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	var users []string
	if t.Listen != "" {
		users = append(users, "--listen "+t.Listen)
	}
	if t.Unix {
		users = append(users, "--unix-tls")
	}
	if t.Metrics {
		users = append(users, "--metrics-tls")
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

func checkListen(v string) error { return checkTCP("--listen", v) }

// checkTCP checks a tcp://HOST:PORT flag.
func checkTCP(flag, v string) error {
	addr, ok := strings.CutPrefix(v, "tcp://")
	if !ok {
		return fmt.Errorf("%s %q: want tcp://HOST:PORT (the unix socket is set with --socket)", flag, v)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || strings.ContainsAny(host+port, "/?#@") {
		return fmt.Errorf("%s %q: want tcp://HOST:PORT, e.g. tcp://127.0.0.1:7443 or tcp://[::1]:7443", flag, v)
	}
	return nil
}

func (t TLS) addr() string { return strings.TrimPrefix(t.Listen, "tcp://") }

// load reads the TLS files when a listener needs them, and logs what it
// loaded so the operator sees the expiry date in the journal.
func (t TLS) load(log *slog.Logger) (*tls.Config, error) {
	if t.Listen == "" && !t.Unix && !t.Metrics {
		return nil, nil
	}
	cfg, info, err := tlsconfig.Server(t.Cert, t.Key, t.ClientCA)
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
