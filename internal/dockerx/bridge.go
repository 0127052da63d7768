package dockerx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"
)

// bridgeScript connects the exec's stdio to a TCP port inside the container
// using bash's /dev/tcp, so the daemon needs no network of its own. Either
// side ending ends the whole bridge at once with `kill 0` (docker exec makes
// the shell a process-group leader, so that reaches only the bridge):
//   - benchd closes the connection → Docker closes the process's stdin → the
//     writing cat ends → kill 0 closes the socket → ollama's request context
//     is cancelled and generation stops (measured: last token within 5 ms);
//   - ollama closes the connection → the reading cat ends → kill 0 → the exec
//     ends even though stdin is still open.
//
// Every process reaps its children before it exits: the ollama image runs
// `ollama serve` as PID 1, which never reaps, so an orphan would stay a
// zombie for the container's lifetime. bash runs a trap only after its
// foreground child has exited, so each shell first collects the cat that
// kill 0 also hit, then exits (the outer one after `wait` for the writer).
// The background writer needs an explicit <&0: non-interactive bash gives
// background jobs /dev/null as stdin. The port arrives as $1 and must be a
// number, so no caller text is ever parsed by the shell. Connection errors
// reach stderr (and the daemon's error message) before 2 is silenced.
const bridgeScript = `PATH=/usr/bin:/bin
case "$1" in ''|*[!0-9]*) echo "bad port" >&2; exit 2;; esac
exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
exec 2>/dev/null
trap 'wait; exit 0' TERM
{ trap 'exit 0' TERM; cat >&3; kill 0; } <&0 &
cat <&3
kill 0
wait`

// BridgeArgv is the fixed command each bridged connection execs.
func BridgeArgv(port int) []string {
	return []string{Bash, "-c", bridgeScript, "benchd-bridge", fmt.Sprint(port)}
}

// DialBridge starts a bridge exec to 127.0.0.1:port inside the container and
// returns it as a net.Conn: writes go to the process's stdin, reads come from
// its demultiplexed stdout. Closing the conn ends the exec.
func (c *Client) DialBridge(ctx context.Context, port int) (net.Conn, error) {
	hr, id, err := c.start(ctx, BridgeArgv(port), false, true, newMarker())
	if err != nil {
		return nil, err
	}
	return &bridgeConn{
		hr:     hr,
		execID: id,
		stderr: &limitedBuffer{max: maxStderr, truncate: true},
	}, nil
}

// bridgeConn is a net.Conn over an attached exec. Read takes Docker's
// multiplexed stream apart itself, frame by frame, in the caller's
// goroutine: a demultiplexing goroutine and a pipe would cost a hand-off
// per streamed token (docs/performance.md).
type bridgeConn struct {
	hr     client.HijackedResponse
	execID string

	// Read state; one reader at a time, as net.Conn's users read.
	left    int // bytes of the current stdout frame not yet read
	header  [8]byte
	gotData bool // stdout carried a byte: an EOF before means the bridge failed to connect
	stderr  *limitedBuffer
	// err ends every Read once one failed: after an error inside a frame
	// (a deadline, a reset) the position in the stream is lost, and the
	// next bytes would be taken for the wrong frame's.
	err error

	closeOnce sync.Once
}

// Docker's stream header: one byte naming the stream, three zero bytes, and
// the payload's length, big-endian (the format stdcopy reads).
const (
	streamStdin  = 0
	streamStdout = 1
	streamStderr = 2
	streamSystem = 3
)

func (b *bridgeConn) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.read(p)
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *bridgeConn) read(p []byte) (int, error) {
	for b.left == 0 {
		if _, err := io.ReadFull(b.hr.Reader, b.header[:]); err != nil {
			return 0, b.endOfStream(err)
		}
		size := int(binary.BigEndian.Uint32(b.header[4:]))
		switch b.header[0] {
		case streamStdin, streamStdout:
			b.left = size
		case streamStderr:
			if _, err := io.CopyN(b.stderr, b.hr.Reader, int64(size)); err != nil {
				return 0, b.endOfStream(err)
			}
		case streamSystem:
			msg := make([]byte, min(size, maxStderr))
			n, _ := io.ReadFull(b.hr.Reader, msg)
			return 0, fmt.Errorf("bridge to ollama in container: docker: %s", strings.TrimSpace(string(msg[:n])))
		default:
			return 0, fmt.Errorf("bridge to ollama in container: unknown stream %d in docker's output", b.header[0])
		}
	}
	n, err := b.hr.Reader.Read(p[:min(len(p), b.left)])
	b.left -= n
	if n > 0 {
		b.gotData = true
	}
	if err != nil && n == 0 {
		return 0, b.endOfStream(err)
	}
	return n + b.readBuffered(p[n:]), nil
}

// readBuffered copies into p the stdout frames that are already buffered,
// without reading the connection again: every chunk ollama streams is a
// frame of its own, so a caller that reads after a pause (ollama.pacedConn)
// gets every frame that arrived meanwhile in one Read instead of one Read
// per frame.
func (b *bridgeConn) readBuffered(p []byte) int {
	r, n := b.hr.Reader, 0
	for n < len(p) {
		if b.left == 0 {
			if r.Buffered() < len(b.header) {
				return n // Peek would wait for the rest of the header
			}
			h, _ := r.Peek(len(b.header))
			if h[0] != streamStdout {
				// Another stream's frame: the next Read takes it, with
				// its error paths.
				return n
			}
			b.left = int(binary.BigEndian.Uint32(h[4:]))
			_, _ = r.Discard(len(b.header))
			continue
		}
		k := min(len(p)-n, b.left, r.Buffered())
		if k == 0 {
			return n
		}
		k, _ = r.Read(p[n : n+k]) // served from the buffer: no error, no wait
		b.left -= k
		n += k
	}
	return n
}

// endOfStream is the error Read returns when the stream ends: EOF, or,
// when stdout never carried a byte, what the bridge said on stderr (it
// could not connect to ollama).
func (b *bridgeConn) endOfStream(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = io.EOF
	}
	if errors.Is(err, io.EOF) && !b.gotData {
		if msg := strings.TrimSpace(b.stderr.String()); msg != "" {
			return fmt.Errorf("bridge to ollama in container: %s", msg)
		}
	}
	return err
}

func (b *bridgeConn) Write(p []byte) (int, error) { return b.hr.Conn.Write(p) }

// Close ends the attach, which closes the process's stdin and so ends the
// bridge inside the container (see bridgeScript).
func (b *bridgeConn) Close() error {
	b.closeOnce.Do(b.hr.Close)
	return nil
}

func (b *bridgeConn) LocalAddr() net.Addr  { return bridgeAddr("benchd") }
func (b *bridgeConn) RemoteAddr() net.Addr { return bridgeAddr("exec:" + b.execID) }

// Deadlines apply to the hijacked connection, which Read reads directly.
func (b *bridgeConn) SetDeadline(t time.Time) error      { return b.hr.Conn.SetDeadline(t) }
func (b *bridgeConn) SetReadDeadline(t time.Time) error  { return b.hr.Conn.SetReadDeadline(t) }
func (b *bridgeConn) SetWriteDeadline(t time.Time) error { return b.hr.Conn.SetWriteDeadline(t) }

type bridgeAddr string

func (a bridgeAddr) Network() string { return "docker-exec" }
func (a bridgeAddr) String() string  { return string(a) }
