package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/benchd/benchd/proto/defaults"
)

// dialStdio bridges stdin/stdout to the daemon's socket, so an SSH key
// restricted with command="benchd dial-stdio" gives the agent benchd and
// nothing else, using only documented OpenSSH behaviour (the pattern of
// `docker system dial-stdio` and buildkit's connhelpers).
func dialStdio(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchd dial-stdio", flag.ContinueOnError)
	socket := fs.String("socket", defaults.Socket, "benchd's unix socket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", *socket)
	if err != nil {
		return fmt.Errorf("dial %s: %w", *socket, err)
	}
	conn := c.(*net.UnixConn)
	defer conn.Close()

	up := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stdin)
		// Half-close so the server sees the client finish while replies
		// still flow back.
		if cerr := conn.CloseWrite(); err == nil {
			err = cerr
		}
		up <- err
	}()
	_, err = io.Copy(stdout, conn)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("copy from %s: %w", *socket, err)
	}
	// The daemon closed its side: the session is over whatever stdin does.
	select {
	case err := <-up:
		if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrClosed) {
			return fmt.Errorf("copy to %s: %w", *socket, err)
		}
	default:
	}
	return nil
}
