package testrig

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// notify sends one datagram to the socket at path, as sd_notify(3) does.
func notify(t testing.TB, path, msg string) {
	t.Helper()
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyReadyCarriesFields(t *testing.T) {
	n, err := listenNotify(t)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(n.path); err != nil || fi.Mode().Perm() != 0o666 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("notify socket %s: %v %v; want a socket every user may send to", n.path, fi.Mode(), err)
	}
	// A status before readiness is not readiness.
	notify(t, n.path, "STATUS=opening the store\n")
	notify(t, n.path, "READY=1\nSTATUS=serving\nX_BENCHD_TCP=127.0.0.1:4242\n")
	fields, err := n.waitReady(os.Getpid(), nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fields["STATUS"] != "serving" || fields["X_BENCHD_TCP"] != "127.0.0.1:4242" {
		t.Errorf("fields %v, want the READY=1 datagram's", fields)
	}
}

// A READY=1 from any process but the one waited for does not count
// (NotifyAccess=main).
func TestNotifyOtherSenderIgnored(t *testing.T) {
	if path := os.Getenv("TESTRIG_NOTIFY_SEND"); path != "" {
		notify(t, path, "READY=1\nSTATUS=not the main process\n")
		return
	}
	n, err := listenNotify(t)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestNotifyOtherSenderIgnored$")
	child.Env = append(os.Environ(), "TESTRIG_NOTIFY_SEND="+n.path)
	if out, err := child.CombinedOutput(); err != nil {
		t.Fatalf("sender process: %v\n%s", err, out)
	}
	notify(t, n.path, "READY=1\nSTATUS=main\n")
	fields, err := n.waitReady(os.Getpid(), nil, 10*time.Second)
	if err != nil || fields["STATUS"] != "main" {
		t.Fatalf("got %v, %v; want the main process's READY=1", fields, err)
	}
}

func TestNotifyExitEndsTheWait(t *testing.T) {
	n, err := listenNotify(t)
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	close(exited)
	start := time.Now()
	if _, err := n.waitReady(os.Getpid(), exited, time.Minute); !errors.Is(err, errNotReady) {
		t.Fatalf("err %v, want errNotReady", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the exit ended the wait after %v", d)
	}
	// The socket still serves the next start (Daemon.Restart).
	notify(t, n.path, "READY=1\n")
	if _, err := n.waitReady(os.Getpid(), make(chan struct{}), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyTimeout(t *testing.T) {
	n, err := listenNotify(t)
	if err != nil {
		t.Fatal(err)
	}
	notify(t, n.path, "READY=0\n")
	if _, err := n.waitReady(os.Getpid(), nil, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "within") {
		t.Fatalf("err %v, want a timeout", err)
	}
}
