// Package defaults holds what benchd assumes when a request leaves a field
// unset, and the connection settings both ends must agree on. The daemon
// applies these values, the client documents them and benchctl prints them
// in its help, all from here: a default changed here changes everywhere.
package defaults

import (
	"path/filepath"
	"time"
)

// RunBenchmark request defaults; the bounds live in the proto as
// protovalidate rules.
const (
	Repetitions  = 3
	Warmup       = 1
	MaxTokens    = 128
	Seed         = 42
	Temperature  = 0.0
	Timeout      = 10 * time.Minute
	VRAMInterval = 250 * time.Millisecond
	// Prompt is used when a request names none.
	Prompt = "Write a short story about a lighthouse keeper who finds a message in a bottle."
)

// ConcurrencyRequests is a concurrency level's request count when the
// request sets none: 4 x the requests in flight, so each of them is sent
// again several times and the level is not one burst that ends together.
func ConcurrencyRequests(inFlight int) int { return 4 * inFlight }

// MinCellTimeout is the least a sweep cell gets when its timeout is left
// to the default (the run's timeout shared among the cells): a model load
// must fit.
const MinCellTimeout = time.Minute

// ListPageSize is the page size of ListBenchmarks when the request sets none.
const ListPageSize = 50

// WatchVRAMInterval is WatchVRAM's interval when the request sets none.
const WatchVRAMInterval = time.Second

// Socket is the daemon's unix socket when it runs as the system service.
const Socket = "/run/benchd/benchd.sock"

// UserSocket is the socket of a benchd that a user runs outside systemd:
// benchd/benchd.sock under their $XDG_RUNTIME_DIR (runtimeDir); "" when
// runtimeDir is.
func UserSocket(runtimeDir string) string {
	if runtimeDir == "" {
		return ""
	}
	return filepath.Join(runtimeDir, "benchd", "benchd.sock")
}

// VersionHeader is the response header in which benchd's health check sends
// benchd's version (the standard health messages have no field for it).
const VersionHeader = "benchd-version"

// Keepalive: the client pings an idle connection every KeepaliveTime so a
// dead SSH forward is noticed within KeepaliveTime+KeepaliveTimeout; the
// server admits pings as often as KeepaliveMinTime, or it would close the
// connection with ENHANCE_YOUR_CALM.
const (
	KeepaliveTime    = 30 * time.Second
	KeepaliveTimeout = 10 * time.Second
	KeepaliveMinTime = 10 * time.Second
)

// FlowControlWindow is the fixed HTTP/2 flow-control window, per stream and
// per connection, of benchd's server and the Go client. With gRPC's dynamic
// windows the receiver pings the sender after data arrives (bandwidth-delay
// estimation), a frame out and an ack back per call. Through an `ssh -L`
// forward that ack costs ~40 ms on about one call in seven: sshd does not
// set TCP_NODELAY on a session without a shell, so the response written
// right behind the ack waits for the client's delayed ACK (Nagle). Requests
// are at most a few MiB (prompts), so 1 MiB costs a round of window updates
// only for the largest.
const FlowControlWindow = 1 << 20
