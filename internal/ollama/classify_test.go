package ollama

// TEST DOUBLE: replayDialer (stream_fuzz_test.go) answers with the bytes
// given here, not with ollama.

import (
	"context"
	"errors"
	"net/url"
	"testing"
)

// Bytes that are not an HTTP response (what a bridge started into a
// stopping container carried in internal/faults) are a broken connection,
// as an EOF is: ErrIncomplete, not an internal error.
func TestUnparsableResponseIsIncomplete(t *testing.T) {
	c := New(&url.URL{Scheme: "http", Host: "127.0.0.1:11434"}, replayDialer([]byte("cannot exec in a stopped state: unknown\r\n")))
	defer c.Close()
	_, err := c.Loaded(context.Background(), "tiny")
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Loaded over garbage: %v, want ErrIncomplete", err)
	}
}
