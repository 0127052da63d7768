package service_test

// BenchmarkRPCTokens is the per-token path through the whole daemon in this
// process: RunBenchmark over the unix socket, the runner, ollama's client
// decoding the NDJSON stream over plain HTTP from a fake ollama (the wire
// format of internal/ollama/testdata/wire), the history's fan-out and the
// stream back to the Go client. One op is one generated token; the fake
// server flushes each line, as ollama does. Its own cost is in the figures
// (it is the same before and after a change):
//
//	go test -run '^$' -bench RPCTokens -count 6 ./service/

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/benchd/benchd/internal/benchcpu"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/daemon"
	"github.com/benchd/benchd/internal/testrig"
)

const fakeTags = `{"models":[{"name":"tiny:latest","model":"tiny:latest","modified_at":"2026-11-26T11:27:21.508564982Z","size":500206,"digest":"0ce14aae6e99ff5ad23ee7096d07a71eba67c9354c08e565b2601ef6b06f1177","details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"123K","quantization_level":"unknown"}}]}`

const fakePS = `{"models":[{"name":"tiny:latest","model":"tiny:latest","size":91278080,"digest":"0ce14aae6e99ff5ad23ee7096d07a71eba67c9354c08e565b2601ef6b06f1177","details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"123K","quantization_level":"unknown"},"expires_at":"2026-11-26T11:38:52.325556158Z","size_vram":0}]}`

func fakeOllamaHTTP(b *testing.B) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/version", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, `{"version":"0.9.6"}`) })
	mux.HandleFunc("/api/tags", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, fakeTags) })
	mux.HandleFunc("/api/ps", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, fakePS) })
	mux.HandleFunc("/api/generate", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Options map[string]any `json:"options"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		n := 128
		if v, ok := req.Options["num_predict"].(float64); ok {
			n = int(v)
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		f := w.(http.Flusher)
		for range n {
			fmt.Fprint(w, `{"model":"tiny","created_at":"2026-11-26T11:33:52.31882604Z","response":" it","done":false}`+"\n")
			f.Flush()
		}
		fmt.Fprintf(w, `{"model":"tiny","created_at":"2026-11-26T11:33:52.321661439Z","response":"","done":true,"done_reason":"length","context":[259,297,294],"total_duration":6348719,"load_duration":1390504,"prompt_eval_count":7,"prompt_eval_duration":878130,"eval_count":%d,"eval_duration":2236085}`+"\n", n)
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL
}

func BenchmarkRPCTokens(b *testing.B) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { devnull.Close() })
	sock := startDaemon(b, daemon.Config{
		Ollama:     fakeOllamaHTTP(b),
		VRAMSource: "sysfs",
		SysfsRoot:  testrig.SysfsFixture(),
		Log:        slog.New(slog.NewTextHandler(devnull, nil)),
	})
	c := rpcClient(b, sock)
	ctx := context.Background()
	const tokens = 512
	zero := 0
	run := func() {
		out, err := c.RunBenchmark(ctx, client.BenchmarkRequest{Model: "tiny", Repetitions: 1, Warmup: &zero, MaxTokens: tokens, NoVRAMSampling: true}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n := out.Trials[0].EvalCount; n != tokens {
			b.Fatalf("%d tokens, want %d", n, tokens)
		}
	}
	run() // the connection to ollama, the store
	b.ReportAllocs()
	done := benchcpu.PerOp(b)
	// One op is one token: b.N tokens in trials of 512.
	for i := 0; i < b.N; i += tokens {
		run()
	}
	done()
}
