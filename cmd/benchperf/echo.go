package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/benchd/benchd/internal/testrig"
)

// echoFlag makes benchperf a unix-socket echo server (a child of its own).
const echoFlag = "echo-server"

// serveEcho echoes every read on the one connection accepted at path, until
// it closes.
func serveEcho(path string) error {
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
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

func startEcho(cl *testrig.Cleanups, dir string) (*echoPeer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "echo.sock")
	cmd := exec.Command(self, "-"+echoFlag, path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("echo peer: %w", err)
	}
	cl.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", path)
		if err == nil {
			cl.Cleanup(func() { c.Close() })
			return &echoPeer{conn: c, buf: make([]byte, 64)}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("echo peer at %s: %w", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roundTrip sends 64 bytes and reads them back.
func (e *echoPeer) roundTrip() error {
	if _, err := e.conn.Write(e.buf); err != nil {
		return err
	}
	for got := 0; got < len(e.buf); {
		n, err := e.conn.Read(e.buf[got:])
		if err != nil {
			return err
		}
		got += n
	}
	return nil
}
