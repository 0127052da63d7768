package service_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/benchd/benchd/internal/daemon"
)

// startDaemon builds and runs benchd in this process through
// internal/daemon, the wiring cmd/benchd uses, with its socket and store in
// temporary directories, and returns the socket. The daemon stops (as on
// SIGTERM) when the test ends.
func startDaemon(tb testing.TB, cfg daemon.Config, opts ...daemon.Option) string {
	tb.Helper()
	// A short directory: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "bd-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	cfg.Socket = filepath.Join(dir, "benchd.sock")
	if cfg.Store == "" {
		cfg.Store = filepath.Join(tb.TempDir(), "history.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, cfg, opts...)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("daemon: %v", err)
		}
	})
	return cfg.Socket
}
