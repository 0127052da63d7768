package ollama

import (
	"testing"

	"go.uber.org/goleak"
)

// Client's HTTP transport runs a read and a write loop per connection;
// Close must end them (the fuzz double's server goroutines end too).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
