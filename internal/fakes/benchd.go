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
	dir, err := os.MkdirTemp("", "bd-") // short: a socket path has at most 107 bytes
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	socket = filepath.Join(dir, "benchd.sock")
	ctx, cancel := context.WithCancel(context.Background())
	d, err := daemon.New(ctx, daemon.Config{
		Socket: socket, Store: store, VRAMSource: "none",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, daemon.WithOllama(o))
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
	return socket
}
