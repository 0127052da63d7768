package vram

import (
	"testing"

	"go.uber.org/goleak"
)

// The sampler starts a goroutine per trial; none may outlive its Stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
