package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/proto/defaults"
)

// connFlags are the global flags that say where benchd is and how to
// reach it.
type connFlags struct {
	host, socket           *string
	tlsCert, tlsKey, tlsCA *string
}

func addConnFlags(fs *flag.FlagSet) connFlags {
	sock := os.Getenv("BENCHD_SOCKET")
	if sock == "" {
		sock = defaults.Socket
	}
	return connFlags{
		host:    fs.String("host", os.Getenv("BENCHD_HOST"), "where benchd is: unix:///PATH, ssh://[USER@]HOST[:PORT] or tcp://HOST:PORT"),
		socket:  fs.String("socket", sock, "benchd's unix socket (the same as --host unix://PATH)"),
		tlsCert: fs.String("tls-cert", "", "client certificate for mutual TLS (tcp://, or a socket that requires it)"),
		tlsKey:  fs.String("tls-key", "", "the client certificate's key"),
		tlsCA:   fs.String("tls-ca", "", "the CA file that signed benchd's certificate"),
	}
}

// dial makes the client the flags (parsed by fs), or else the environment,
// ask for. self is how to invoke benchctl again the same way, for hints
// ("benchctl --host ssh://gpu watch ID").
func (f connFlags) dial(ctx context.Context, fs *flag.FlagSet) (c *client.Client, self string, err error) {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["host"] && set["socket"] {
		return nil, "", usageError{errors.New("--host and --socket exclude each other (--socket PATH is --host unix://PATH)")}
	}
	self = "benchctl"
	target := *f.host
	if set["socket"] || target == "" {
		// Dial wants an absolute path; --socket has always taken a
		// relative one too.
		if target, err = filepath.Abs(*f.socket); err != nil {
			return nil, "", err
		}
		if *f.socket != defaults.Socket {
			self += " --socket " + *f.socket
		}
	} else {
		self += " --host " + target
	}
	var opts []client.Option
	switch files := []string{*f.tlsCert, *f.tlsKey, *f.tlsCA}; {
	case slices.Equal(files, []string{"", "", ""}):
	case slices.Contains(files, ""):
		return nil, "", usageError{errors.New("--tls-cert, --tls-key and --tls-ca go together")}
	default:
		opts = append(opts, client.WithTLS(*f.tlsCert, *f.tlsKey, *f.tlsCA))
		self += " --tls-cert " + *f.tlsCert + " --tls-key " + *f.tlsKey + " --tls-ca " + *f.tlsCA
	}
	// What Dial checks is what was asked for: the target and the
	// certificate files. It does not connect.
	if c, err = client.Dial(ctx, target, opts...); err != nil {
		return nil, "", usageError{err}
	}
	return c, self, nil
}
