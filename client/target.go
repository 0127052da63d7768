package client

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/benchd/benchd/proto/defaults"
)

// Target forms, for error messages.
const targetForms = "unix:///ABS/PATH (or /ABS/PATH), ssh://[USER@]HOST[:PORT] or tcp://HOST:PORT"

// endpoint is where a client connects: a unix socket, a command whose
// stdio carries the connection (ssh ... benchd dial-stdio), or a TCP
// address (mutual TLS). Exactly one of path, argv and addr is set.
type endpoint struct {
	path string   // unix socket
	argv []string // command, e.g. ssh
	addr string   // TCP host:port
}

// parseTarget reads Dial's target.
func parseTarget(target string) (endpoint, error) {
	bad := func(why string) (endpoint, error) {
		return endpoint{}, fmt.Errorf("benchd client: target %q: %s; want %s", target, why, targetForms)
	}
	if target == "" {
		return bad("empty")
	}
	if strings.HasPrefix(target, "/") {
		return endpoint{path: target}, nil
	}
	scheme, rest, ok := strings.Cut(target, "://")
	if !ok {
		if strings.HasPrefix(target, "unix:") {
			// gRPC's unix:/ABS form.
			scheme, rest, ok = "unix", strings.TrimPrefix(target, "unix:"), true
			if !strings.HasPrefix(rest, "/") {
				return bad("a unix socket path must be absolute")
			}
			return endpoint{path: rest}, nil
		}
		return bad("neither an absolute path nor a URL")
	}
	switch scheme {
	case "unix":
		// Not url.Parse: a path may hold '%', '?' or '#'.
		if !strings.HasPrefix(rest, "/") {
			return bad("a unix socket path must be absolute (unix:///ABS/PATH: three slashes)")
		}
		return endpoint{path: rest}, nil
	case "ssh", "tcp":
	default:
		return bad(fmt.Sprintf("unknown scheme %q", scheme))
	}
	u, err := url.Parse(target)
	if err != nil {
		return bad(err.Error())
	}
	switch {
	case u.Hostname() == "":
		return bad("no host")
	case strings.HasPrefix(u.Hostname(), "-"):
		return bad("a host must not start with '-'")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return bad("nothing may follow the host and port")
	}
	port := u.Port()
	if port == "" && strings.HasSuffix(u.Host, ":") {
		return bad("empty port")
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("port %q is not a number from 1 to 65535", port))
		}
	}
	if scheme == "tcp" {
		if u.User != nil {
			return bad("tcp:// takes no user (the client certificate names you)")
		}
		if port == "" {
			return bad("tcp:// needs a port")
		}
		return endpoint{addr: net.JoinHostPort(u.Hostname(), port)}, nil
	}
	dest := u.Hostname()
	if u.User != nil {
		if _, hasPassword := u.User.Password(); hasPassword {
			return bad("ssh:// takes no password (use a key or the ssh agent)")
		}
		if u.User.Username() == "" {
			return bad("empty user")
		}
		dest = u.User.Username() + "@" + dest
	}
	var sshArgs []string
	if port != "" {
		sshArgs = []string{"-p", port}
	}
	return endpoint{argv: sshArgv(dest, sshArgs)}, nil
}

// DefaultTarget is where a client goes when told nothing: $BENCHD_HOST if
// set, else DefaultSocket.
func DefaultTarget() string {
	if h := os.Getenv("BENCHD_HOST"); h != "" {
		return h
	}
	return DefaultSocket()
}

// DefaultSocket is the socket a client uses when told no target:
// $BENCHD_SOCKET if set; else the socket of the user's own benchd
// ($XDG_RUNTIME_DIR/benchd/benchd.sock, where benchd listens when a user
// runs it outside systemd) if it exists; else the system service's
// (/run/benchd/benchd.sock).
func DefaultSocket() string {
	if s := os.Getenv("BENCHD_SOCKET"); s != "" {
		return s
	}
	if s := defaults.UserSocket(os.Getenv("XDG_RUNTIME_DIR")); s != "" {
		if _, err := os.Stat(s); err == nil {
			return s
		}
	}
	return defaults.Socket
}
