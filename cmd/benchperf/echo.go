package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/benchd/benchd/internal/testrig"
)

// echoFlag makes benchperf a unix-socket echo server (a child of its own):
// it serves the listener it inherits as file descriptor 3.
const echoFlag = "echo-server"

// serveEcho echoes every read on the one connection accepted from the
// inherited listener, until it closes.
func serveEcho() error {
	l, err := net.FileListener(os.NewFile(3, "echo listener"))
	if err != nil {
		return fmt.Errorf("inherited listener: %w", err)
	}
	c, err := l.Accept()
	if err != nil {
		return err
	}
	b := make([]byte, 4096)
	for {
		n, err := c.Read(b)
		if err != nil {
			return nil
		}
		if _, err := c.Write(b[:n]); err != nil {
			return err
		}
	}
}

// echoPeer is the machine's floor for a request and its answer between two
// processes: 64 bytes to a child process on a unix socket and back, with
// no gRPC, ssh or benchd. Taken interleaved like a SampleVRAM, it shows
// what waking two idle processes costs on this machine.
type echoPeer struct {
	conn net.Conn
	buf  []byte
}

// startEcho listens in dir and starts the child with the listener, so the
// socket exists before the child runs and the dial needs no retries.
func startEcho(cl *testrig.Cleanups, dir string) (*echoPeer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", filepath.Join(dir, "echo.sock"))
	if err != nil {
		return nil, fmt.Errorf("echo peer: %w", err)
	}
	defer l.Close() // the child holds its own copy
	lf, err := l.(*net.UnixListener).File()
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	cmd := exec.Command(self, "-"+echoFlag)
	cmd.ExtraFiles = []*os.File{lf}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("echo peer: %w", err)
	}
	cl.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c, err := net.Dial("unix", l.Addr().String())
	if err != nil {
		return nil, fmt.Errorf("echo peer: %w", err)
	}
	cl.Cleanup(func() { c.Close() })
	return &echoPeer{conn: c, buf: make([]byte, 64)}, nil
}

// roundTrip sends 64 bytes and reads them back.
func (e *echoPeer) roundTrip() error {
	if _, err := e.conn.Write(e.buf); err != nil {
		return err
	}
	_, err := io.ReadFull(e.conn, e.buf)
	return err
}
