package unixsock

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenCreatesDirAndSetsModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "benchd", "benchd.sock")
	l, err := Listen(context.Background(), path, 0o750, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got != 0o750 {
		t.Errorf("socket dir mode %o, want 750", got)
	}
	si, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if si.Mode().Type() != os.ModeSocket || si.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want socket 0660", si.Mode())
	}
}

func TestListenRejectsBadPaths(t *testing.T) {
	for _, p := range []string{"relative/benchd.sock", "/" + strings.Repeat("x", 120)} {
		if _, err := Listen(context.Background(), p, 0o750, 0o660); err == nil {
			t.Errorf("Listen(%q) succeeded, want an error", p)
		}
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchd.sock")
	// A socket file nobody listens on: bind, then close without unlinking.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket file missing: %v", err)
	}
	l2, err := Listen(context.Background(), path, 0o750, 0o660)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	l2.Close()
}

func TestLiveSocketIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchd.sock")
	live, err := Listen(context.Background(), path, 0o750, 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	_, err = Listen(context.Background(), path, 0o750, 0o660)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen: %v, want ErrInUse", err)
	}
	// The live daemon's socket is untouched.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("live socket no longer answers: %v", err)
	}
	c.Close()
}

func TestRegularFileIsNeverRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchd.sock")
	if err := os.WriteFile(path, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(context.Background(), path, 0o750, 0o660); err == nil {
		t.Fatal("Listen over a regular file succeeded")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
		t.Fatalf("regular file was changed: %q, %v", b, err)
	}
}
