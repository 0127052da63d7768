package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"sync"
	"time"
)

// NewSSH returns a client that reaches benchd by running
// `ssh -T [sshArgs...] -- destination benchd dial-stdio` for each connection
// and speaking gRPC over the command's stdio — the docker/buildkit
// connhelper pattern. It needs no local socket; the agent's key may be
// restricted to command="benchd dial-stdio", in which case the remote
// command is forced and the one sent here is ignored. Dial with an ssh://
// target is the same without extra ssh arguments.
func NewSSH(destination string, sshArgs []string, opts ...Option) (*Client, error) {
	return newClient(endpoint{argv: sshArgv(destination, sshArgs)}, opts)
}

// sshArgv is the command line that runs dial-stdio on destination. It runs
// the local ssh, so ~/.ssh/config (Host aliases, User, Port, IdentityFile,
// ProxyJump) applies.
func sshArgv(destination string, sshArgs []string) []string {
	return append(append([]string{"ssh", "-T"}, sshArgs...), "--", destination, "benchd", "dial-stdio")
}

// NewCommand returns a client that runs argv for each connection and speaks
// gRPC over its stdin and stdout, e.g. {"benchd", "dial-stdio"} on the host
// itself or an ssh command line.
func NewCommand(argv []string, opts ...Option) (*Client, error) {
	if len(argv) == 0 {
		return nil, errors.New("benchd client: empty command")
	}
	return newClient(endpoint{argv: argv}, opts)
}

// commandDialer starts argv for each connection gRPC makes.
func commandDialer(argv []string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		return dialCommand(ctx, argv[0], argv[1:]...)
	}
}

// commandConn is a net.Conn over a child process's stdin and stdout.
type commandConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	once   sync.Once
	err    error
}

func dialCommand(ctx context.Context, name string, args ...string) (net.Conn, error) {
	// Not CommandContext: the connection outlives the dial's context.
	cmd := exec.Command(name, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return &commandConn{cmd: cmd, stdin: stdin, stdout: stdout}, nil
}

func (c *commandConn) Read(p []byte) (int, error)  { return c.stdout.Read(p) }
func (c *commandConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// Close ends the command: closing stdin lets ssh exit cleanly; a command
// that does not follow within a second is killed.
func (c *commandConn) Close() error {
	c.once.Do(func() {
		_ = c.stdin.Close()
		done := make(chan error, 1)
		go func() { done <- c.cmd.Wait() }()
		select {
		case err := <-done:
			c.err = err
		case <-time.After(time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
		var ee *exec.ExitError
		if errors.As(c.err, &ee) {
			c.err = nil // the exit status of a closed session is not an error
		}
	})
	return c.err
}

func (c *commandConn) LocalAddr() net.Addr              { return cmdAddr("local") }
func (c *commandConn) RemoteAddr() net.Addr             { return cmdAddr(c.cmd.String()) }
func (c *commandConn) SetDeadline(time.Time) error      { return nil }
func (c *commandConn) SetReadDeadline(time.Time) error  { return nil }
func (c *commandConn) SetWriteDeadline(time.Time) error { return nil }

type cmdAddr string

func (a cmdAddr) Network() string { return "command" }
func (a cmdAddr) String() string  { return string(a) }
