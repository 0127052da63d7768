package service_test

import (
	"testing"

	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/fakes"
)

// startDaemon runs benchd in this process (fakes.RunDaemon) and returns
// its socket.
func startDaemon(tb testing.TB, cfg daemon.Config, opts ...daemon.Option) string {
	tb.Helper()
	return fakes.RunDaemon(tb, cfg, opts...)
}
