package dockerx

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// frame is one frame of Docker's multiplexed stream.
func frame(stream byte, payload string) []byte {
	h := make([]byte, 8, 8+len(payload))
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	return append(h, payload...)
}

func bridgeOver(t *testing.T, stream []byte) *bridgeConn {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return &bridgeConn{
		hr:     client.HijackedResponse{Conn: a, Reader: bufio.NewReaderSize(bytes.NewReader(stream), 16)},
		stderr: &limitedBuffer{max: maxStderr, truncate: true},
	}
}

// Read takes the frames apart itself: stdout (and stdin-tagged) payloads in
// order, whatever the reader's buffer sizes, stderr kept aside.
func TestBridgeReadDemultiplexes(t *testing.T) {
	var s []byte
	s = append(s, frame(streamStdout, `{"response":"a"}`)...)
	s = append(s, frame(streamStderr, "noise\n")...)
	s = append(s, frame(streamStdout, "")...)
	s = append(s, frame(streamStdin, `{"response":"b"}`)...)
	s = append(s, frame(streamStdout, strings.Repeat("x", 100))...)
	bc := bridgeOver(t, s)
	var got bytes.Buffer
	buf := make([]byte, 7) // smaller than a frame: frames span reads
	for {
		n, err := bc.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := `{"response":"a"}{"response":"b"}` + strings.Repeat("x", 100); got.String() != want {
		t.Errorf("read %q, want %q", got.String(), want)
	}
	if bc.stderr.String() != "noise\n" {
		t.Errorf("stderr %q", bc.stderr.String())
	}
}

// A bridge that could not connect says so on stderr and prints nothing:
// Read's EOF becomes that message. Docker's own error frame is an error too.
func TestBridgeReadFailures(t *testing.T) {
	bc := bridgeOver(t, frame(streamStderr, "bash: connect: Connection refused\n"))
	if _, err := bc.Read(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("failed bridge: %v, want its stderr", err)
	}
	bc = bridgeOver(t, frame(streamSystem, "exec failed"))
	if _, err := bc.Read(make([]byte, 16)); err == nil || !strings.Contains(err.Error(), "docker: exec failed") {
		t.Errorf("system frame: %v", err)
	}
	// A stream cut inside a header after data is a plain EOF.
	bc = bridgeOver(t, append(frame(streamStdout, "ok"), 1, 0, 0))
	b := make([]byte, 16)
	if n, err := bc.Read(b); n != 2 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if _, err := bc.Read(b); err != io.EOF {
		t.Errorf("cut header after data: %v, want EOF", err)
	}
}

// errReader returns its data, then err once, then the rest: a read that
// failed in the middle of a frame (a deadline) and a stream that goes on.
type errReader struct {
	first, rest []byte
	err         error
	failed      bool
}

func (r *errReader) Read(p []byte) (int, error) {
	switch {
	case len(r.first) > 0:
		n := copy(p, r.first)
		r.first = r.first[n:]
		return n, nil
	case !r.failed:
		r.failed = true
		return 0, r.err
	}
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// After an error inside a frame's header the stream's position is lost:
// every later Read fails too, instead of taking payload bytes for data.
func TestBridgeReadErrorIsSticky(t *testing.T) {
	f := frame(streamStdout, "hello")
	timeout := errors.New("i/o timeout")
	bc := bridgeOver(t, nil)
	bc.hr.Reader = bufio.NewReaderSize(&errReader{first: f[:3], rest: f[3:], err: timeout}, 16)
	b := make([]byte, 16)
	for i := range 3 {
		if n, err := bc.Read(b); n != 0 || !errors.Is(err, timeout) {
			t.Fatalf("read %d after the error: %d, %v (%q), want the error again", i, n, err, b[:n])
		}
	}
}

// One Read returns every stdout frame already buffered (ollama's chunks are
// a frame each), stops before a frame of another stream, and never waits
// for a frame that has not fully arrived: the rest comes with the next Read.
func TestBridgeReadTakesBufferedFramesAtOnce(t *testing.T) {
	var s []byte
	for _, p := range []string{"a1", "b22", "c333"} {
		s = append(s, frame(streamStdout, p)...)
	}
	s = append(s, frame(streamStderr, "noise")...)
	s = append(s, frame(streamStdout, "d4444")...)
	partial := frame(streamStdout, "e55555")
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	src := io.MultiReader(bytes.NewReader(s), bytes.NewReader(partial[:10]), bytes.NewReader(partial[10:]))
	// MultiReader returns one part per Read, as a socket returns what has
	// arrived: the partial frame's rest is not buffered with the rest.
	bc := &bridgeConn{
		hr:     client.HijackedResponse{Conn: a, Reader: bufio.NewReaderSize(src, 4096)},
		stderr: &limitedBuffer{max: maxStderr, truncate: true},
	}
	buf := make([]byte, 1024)
	for i, want := range []string{"a1b22c333", "d4444", "e5", "5555"} {
		n, err := bc.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("Read %d = %q, %v; want %q", i, buf[:n], err, want)
		}
	}
	if bc.stderr.String() != "noise" {
		t.Errorf("stderr %q", bc.stderr.String())
	}
}
