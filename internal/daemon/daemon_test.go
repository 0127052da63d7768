package daemon_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/daemon"
)

// A Config that cannot be built is an error naming what to fix, and
// whatever New opened before it failed is closed again: the socket file is
// gone and the store can be opened by the next daemon.
func TestNewFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	base := daemon.Config{
		Socket: filepath.Join(dir, "benchd.sock"),
		Store:  filepath.Join(dir, "history.db"),
		Ollama: "http://127.0.0.1:1",
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	cases := []struct {
		name string
		edit func(*daemon.Config)
		want string
	}{
		{"relative socket", func(c *daemon.Config) { c.Socket = "benchd.sock" }, "absolute"},
		{"bad ollama", func(c *daemon.Config) { c.Ollama = "ftp://x" }, "--ollama"},
		{"bad VRAM source", func(c *daemon.Config) { c.VRAMSource = "bogus" }, "--vram-source"},
		{"VRAM tool without a container", func(c *daemon.Config) { c.VRAMSource = "nvidia-smi" }, "name it with --container"},
		{"listen without TLS", func(c *daemon.Config) { c.TLS.Listen = "tcp://127.0.0.1:0" }, "mutual TLS"},
		{"TCP port taken by nothing valid", func(c *daemon.Config) {
			c.TLS = daemon.TLS{Listen: "tcp://127.0.0.1:0", Cert: "/nonexistent", Key: "/nonexistent", ClientCA: "/nonexistent"}
		}, "nonexistent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			d, err := daemon.New(context.Background(), cfg)
			if err == nil || d != nil {
				t.Fatalf("New = %v, %v; want an error", d, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if _, err := os.Stat(base.Socket); !os.IsNotExist(err) {
				t.Errorf("socket left behind: %v", err)
			}
		})
	}
	// Nothing holds the store: a daemon builds and stops.
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := d.Run(ctx); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}
