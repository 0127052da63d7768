package dockerx_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Each bridge runs a demux goroutine until its exec ends, and the Docker
// client keeps connections; Close of both must leave nothing running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
