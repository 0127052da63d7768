package fakes

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/benchd/benchd/internal/daemon"
)

// StartBenchd runs the real daemon in this process with the TEST DOUBLE o
// as its ollama (no Docker, no VRAM source, a fresh store) until the test
// ends, and returns its socket: for tests of the clients and benchctl that
// want exact figures from o's scripted streams.
func StartBenchd(tb testing.TB, o *Ollama) (socket string) {
	tb.Helper()
	return StartBenchdOn(tb, o, filepath.Join(tb.TempDir(), "history.db"))
}

// StartBenchdOn is StartBenchd with the history store at store, which the
// test may have written beforehand (a synthetic history).
func StartBenchdOn(tb testing.TB, o *Ollama, store string) (socket string) {
	tb.Helper()
	return RunDaemon(tb, daemon.Config{
		Store: store, VRAMSource: "none",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, daemon.WithOllama(o))
}

// RunDaemon builds and runs benchd in this process through
// internal/daemon, the wiring cmd/benchd uses, with its socket in a fresh
// temporary directory (and its store too, unless cfg names one), and
// returns the socket. The daemon stops (as on SIGTERM) when the test ends.
func RunDaemon(tb testing.TB, cfg daemon.Config, opts ...daemon.Option) (socket string) {
	tb.Helper()
	dir, err := os.MkdirTemp("", "bd-") // short: a socket path has at most 107 bytes
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
