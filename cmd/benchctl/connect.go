package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"

	"github.com/spf13/pflag"

	"github.com/benchd/benchd/client"
)

// connFlags are the global flags that say where benchd is and how to
// reach it.
type connFlags struct {
	host, socket           string
	tlsCert, tlsKey, tlsCA string
	fs                     *pflag.FlagSet
}

// add registers the flags on fs (the root's persistent flags, so that they
// go anywhere on the line). Their defaults are empty: the environment is
// read when dialing, by client.DefaultTarget, so that help shows no
// machine-specific path.
func (f *connFlags) add(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.host, "host", "", "where benchd is: unix:///PATH, ssh://[USER@]HOST[:PORT] or tcp://HOST:PORT (default $BENCHD_HOST, else the socket)")
	fs.StringVar(&f.socket, "socket", "", "benchd's unix socket, the same as --host unix://PATH (default $BENCHD_SOCKET, else $XDG_RUNTIME_DIR/benchd/benchd.sock if it exists, else /run/benchd/benchd.sock)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate for mutual TLS (tcp://, or a socket that requires it)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the client certificate's key")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "the CA file that signed benchd's certificate")
}

// dial makes the client the flags, or else the environment, ask for. self
// is how to invoke benchctl again the same way, for hints
// ("benchctl --host ssh://gpu watch ID").
func (f *connFlags) dial(ctx context.Context) (c *client.Client, self string, err error) {
	hostSet, socketSet := f.fs.Changed("host"), f.fs.Changed("socket")
	if hostSet && socketSet {
		return nil, "", usageError{errors.New("--host and --socket exclude each other (--socket PATH is --host unix://PATH)")}
	}
	self = "benchctl"
	var target string
	switch {
	case socketSet:
		// Dial wants an absolute path; --socket has always taken a
		// relative one too.
		if target, err = filepath.Abs(f.socket); err != nil {
			return nil, "", usageError{err}
		}
		self += " --socket " + f.socket
	case hostSet:
		target = f.host
		self += " --host " + target
	default:
		// The environment, which a hint's command inherits.
		target = client.DefaultTarget()
		if target == client.DefaultSocket() {
			// A socket path, which may be relative in $BENCHD_SOCKET.
			if target, err = filepath.Abs(target); err != nil {
				return nil, "", usageError{err}
			}
		}
	}
	var opts []client.Option
	switch files := []string{f.tlsCert, f.tlsKey, f.tlsCA}; {
	case slices.Equal(files, []string{"", "", ""}):
	case slices.Contains(files, ""):
		return nil, "", usageError{errors.New("--tls-cert, --tls-key and --tls-ca go together")}
	default:
		opts = append(opts, client.WithTLS(f.tlsCert, f.tlsKey, f.tlsCA))
		self += " --tls-cert " + f.tlsCert + " --tls-key " + f.tlsKey + " --tls-ca " + f.tlsCA
	}
	// What Dial checks is what was asked for: the target and the
	// certificate files. It does not connect.
	if c, err = client.Dial(ctx, target, opts...); err != nil {
		return nil, "", usageError{err}
	}
	return c, self, nil
}
