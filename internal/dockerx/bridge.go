package dockerx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
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
	pr, pw := io.Pipe()
	bc := &bridgeConn{
		hr:     hr,
		execID: id,
		pr:     pr,
		stderr: &limitedBuffer{max: maxStderr, truncate: true},
		done:   make(chan struct{}),
	}
	go bc.demux(pw)
	return bc, nil
}

// bridgeConn is a net.Conn over an attached exec.
type bridgeConn struct {
	hr     client.HijackedResponse
	execID string
	pr     *io.PipeReader

	mu     sync.Mutex // guards stderr and gotData
	stderr *limitedBuffer
	// gotData records whether stdout ever carried a byte: an EOF before any
	// data means the bridge failed to connect, and stderr says why.
	gotData bool

	closeOnce sync.Once
	done      chan struct{}
}

func (b *bridgeConn) demux(pw *io.PipeWriter) {
	defer close(b.done)
	_, err := stdcopy.StdCopy(pw, lockedWriter{b}, b.hr.Reader)
	if err == nil {
		err = io.EOF
	}
	pw.CloseWithError(err)
}

type lockedWriter struct{ b *bridgeConn }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.stderr.Write(p)
}

func (b *bridgeConn) Read(p []byte) (int, error) {
	n, err := b.pr.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > 0 {
		b.gotData = true
	}
	if errors.Is(err, io.EOF) && !b.gotData {
		if msg := strings.TrimSpace(b.stderr.String()); msg != "" {
			return n, fmt.Errorf("bridge to ollama in container: %s", msg)
		}
	}
	return n, err
}

func (b *bridgeConn) Write(p []byte) (int, error) { return b.hr.Conn.Write(p) }

// Close ends the attach, which closes the process's stdin and so ends the
// bridge inside the container (see bridgeScript).
func (b *bridgeConn) Close() error {
	b.closeOnce.Do(func() {
		b.hr.Close()
		b.pr.Close()
	})
	return nil
}

func (b *bridgeConn) LocalAddr() net.Addr  { return bridgeAddr("benchd") }
func (b *bridgeConn) RemoteAddr() net.Addr { return bridgeAddr("exec:" + b.execID) }

// Deadlines apply to the hijacked connection; an expired read deadline makes
// the demux copy fail, which surfaces as a read error.
func (b *bridgeConn) SetDeadline(t time.Time) error      { return b.hr.Conn.SetDeadline(t) }
func (b *bridgeConn) SetReadDeadline(t time.Time) error  { return b.hr.Conn.SetReadDeadline(t) }
func (b *bridgeConn) SetWriteDeadline(t time.Time) error { return b.hr.Conn.SetWriteDeadline(t) }

type bridgeAddr string

func (a bridgeAddr) Network() string { return "docker-exec" }
func (a bridgeAddr) String() string  { return string(a) }
