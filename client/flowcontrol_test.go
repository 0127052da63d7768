package client

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// pingCounter is a listener whose connections count the PING frames (not
// acks) their client sends, parsing HTTP/2's frame headers from the bytes
// the server reads.
type pingCounter struct {
	net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	pings int
}

func (l *pingCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		l.count(pr)
		// Drain, so the connection's reads never block on a counter
		// that stopped at a malformed frame.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return &teeConn{Conn: c, w: pw}, nil
}

func (l *pingCounter) count(r io.Reader) {
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	if _, err := io.CopyN(io.Discard, r, int64(len(preface))); err != nil {
		return
	}
	var h [9]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		n := int64(binary.BigEndian.Uint32(append([]byte{0}, h[:3]...)))
		const typePing, flagAck = 0x6, 0x1
		if h[3] == typePing && h[4]&flagAck == 0 {
			l.mu.Lock()
			l.pings++
			l.mu.Unlock()
		}
		if _, err := io.CopyN(io.Discard, r, n); err != nil {
			return
		}
	}
}

func (l *pingCounter) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pings
}

type teeConn struct {
	net.Conn
	w *io.PipeWriter
}

func (c *teeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		_, _ = c.w.Write(b[:n])
	}
	return n, err
}

func (c *teeConn) Close() error {
	_ = c.w.Close()
	return c.Conn.Close()
}

// The client's flow-control windows are fixed, so it sends no
// bandwidth-delay pings: through an ssh forward each one's ack made about
// one call in seven wait ~40 ms (defaults.FlowControlWindow). A client
// with gRPC's defaults on the same server shows the counter sees them.
func TestClientSendsNoBandwidthPings(t *testing.T) {
	const calls = 50
	ours := pingsIn(t, calls, func(sock string) (healthpb.HealthClient, func()) {
		c, err := New(sock)
		if err != nil {
			t.Fatal(err)
		}
		return c.health, func() { c.Close() }
	})
	if ours != 0 {
		t.Errorf("the client sent %d PING frames in %d unary calls, want 0 (fixed windows)", ours, calls)
	}
	plain := pingsIn(t, calls, func(sock string) (healthpb.HealthClient, func()) {
		cc, err := grpc.NewClient("unix:"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		return healthpb.NewHealthClient(cc), func() { cc.Close() }
	})
	if plain == 0 {
		t.Errorf("a client with gRPC's default windows sent no PING frames in %d calls: the counter sees nothing", calls)
	}
}

// pingsIn serves health on a fresh socket, makes calls unary calls with
// the client dial makes, and returns the PING frames the client sent.
func pingsIn(t *testing.T, calls int, dial func(sock string) (healthpb.HealthClient, func())) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sock := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	pc := &pingCounter{Listener: l}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer())
	go func() { _ = gs.Serve(pc) }()
	hc, closeClient := dial(sock)
	for range calls {
		if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	closeClient()
	// Stopping closes the connections, which ends their counters.
	gs.Stop()
	pc.wg.Wait()
	return pc.total()
}
