package service_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Runs outlive their RPCs, and the gRPC server, the ollama client and the
// Docker client each run goroutines; once a test's cleanups have stopped
// them, nothing may be left.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
