package ollama

import (
	"context"
	"net/url"
	"testing"
)

// ContextLength reads <architecture>.context_length from /api/show, and
// says 0 (unknown) when the answer lacks it or is absurd.
func TestContextLength(t *testing.T) {
	base := &url.URL{Scheme: "http", Host: "127.0.0.1:11434"}
	for body, want := range map[string]int{
		`{"model_info":{"general.architecture":"llama","llama.context_length":4096}}`:  4096,
		`{"model_info":{"general.architecture":"qwen3","qwen3.context_length":40960}}`: 40960,
		`{"model_info":{"general.architecture":"llama"}}`:                              0,
		`{"model_info":{"llama.context_length":4096}}`:                                 0,
		`{"model_info":{"general.architecture":"llama","llama.context_length":-1}}`:    0,
		`{"model_info":{"general.architecture":"llama","llama.context_length":1e300}}`: 0,
	} {
		got, err := New(base, replayDialer(asResponse([]byte(body)))).ContextLength(context.Background(), "tiny")
		if err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", body, got, err, want)
		}
	}
}
