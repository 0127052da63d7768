package daemon

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"google.golang.org/grpc/credentials"

	"github.com/benchd/benchd/internal/peercred"
)

// fixedCreds is a handshake that reports the same peer every time, as the
// unix socket's peer credentials would for one process.
type fixedCreds struct {
	credentials.TransportCredentials
	uid uint32
}

func (f fixedCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c, peercred.AuthInfo{UID: f.uid}, nil
}

// A caller the uid policy refuses cannot take the slots of the callers it
// admits: its connections go to a small pool of their own (each still gets
// its PERMISSION_DENIED), and once that is full they are closed at once.
func TestRefusedCallersDoNotTakeAdmittedSlots(t *testing.T) {
	lim := newConnLimit(1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	admitted := admittedBy(peercred.NewPolicy(1000))
	stranger := lim.credentials(fixedCreds{uid: 4242}, admitted)
	agent := lim.credentials(fixedCreds{uid: 1000}, admitted)
	pipe := func() net.Conn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a
	}

	var held []net.Conn
	for i := range maxDeniedConns {
		c, _, err := stranger.ServerHandshake(pipe())
		if err != nil {
			t.Fatalf("refused caller's connection %d: %v, want it held to answer PERMISSION_DENIED", i, err)
		}
		held = append(held, c)
	}
	if _, _, err := stranger.ServerHandshake(pipe()); err != errTooManyConns {
		t.Fatalf("refused caller's connection %d: %v, want %v", maxDeniedConns, err, errTooManyConns)
	}
	// The one admitted slot is still free.
	c, info, err := agent.ServerHandshake(pipe())
	if err != nil || info.(peercred.AuthInfo).UID != 1000 {
		t.Fatalf("admitted caller with %d refused connections held: %v", len(held), err)
	}
	if _, _, err := agent.ServerHandshake(pipe()); err != errTooManyConns {
		t.Errorf("second admitted connection over --max-conns 1: %v, want refused", err)
	}
	// Closing frees each pool's own slot. (A refused caller's handshake
	// needs a free admitted slot for its moment, as every handshake does.)
	c.Close()
	held[0].Close()
	if _, _, err := stranger.ServerHandshake(pipe()); err != nil {
		t.Errorf("refused caller after one of its connections closed: %v", err)
	}
	if _, _, err := agent.ServerHandshake(pipe()); err != nil {
		t.Errorf("admitted caller after a close: %v", err)
	}
}
