package ollama

// Fuzzing of ollama's HTTP responses as benchd reads them: the bytes a
// server sends back to Client.Generate, Client.Model, Client.Loaded and
// Client.Version through the Client's Dialer.
//
// TEST DOUBLE: replayConn below is not ollama. It is a net.Pipe whose far
// end reads one HTTP request and answers with the fuzzer's bytes, then
// closes. The seeds are real ollama v0.9.6 responses captured byte for byte
// (testdata/wire/README.md); the fuzzer mutates them.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Endpoints a fuzz input is replayed to (the input's first argument, mod 4).
const (
	epGenerate = iota
	epModel
	epLoaded
	epVersion
	epCount
)

// replayDialer returns a Dialer whose connections are answered with raw: a
// test double standing in for ollama, labelled as such above.
func replayDialer(raw []byte) Dialer {
	return func(ctx context.Context) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			// Bounded: a client that stops reading cannot park this
			// goroutine past the test.
			_ = server.SetDeadline(time.Now().Add(10 * time.Second))
			req, err := http.ReadRequest(bufio.NewReader(server))
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			_, _ = server.Write(raw)
		}()
		return client, nil
	}
}

// asResponse turns a fuzz input into the bytes the double sends: inputs
// that already look like an HTTP response go as they are (so the fuzzer
// explores status lines, headers and chunking), anything else becomes the
// body of a 200 NDJSON response delimited by the connection closing (so it
// explores the JSON stream itself).
func asResponse(in []byte) []byte {
	if bytes.HasPrefix(in, []byte("HTTP/")) {
		return in
	}
	head := "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\n\r\n"
	return append([]byte(head), in...)
}

func readWire(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wire", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// body returns what follows the header block of a captured response.
func body(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[i+4:]
	}
	return raw
}

// unchunk decodes a chunked body, enough for the seeds.
func unchunk(b []byte) []byte {
	out, err := io.ReadAll(httpChunked(b))
	if err != nil {
		return b
	}
	return out
}

func httpChunked(b []byte) io.Reader {
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(
		strings.NewReader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), bytes.NewReader(b))), nil)
	if err != nil {
		return bytes.NewReader(nil)
	}
	return resp.Body
}

func FuzzOllamaResponses(f *testing.F) {
	gen := readWire(f, "generate-stream.http")
	ndjson := unchunk(body(gen))
	lines := bytes.SplitAfter(ndjson, []byte("\n"))
	f.Add(uint8(epGenerate), gen)
	f.Add(uint8(epGenerate), readWire(f, "generate-not-found.http"))
	f.Add(uint8(epGenerate), ndjson)                                // bare NDJSON body
	f.Add(uint8(epGenerate), gen[:len(gen)/2])                      // cut mid-chunk
	f.Add(uint8(epGenerate), bytes.Join(lines[:len(lines)-2], nil)) // no final object
	f.Add(uint8(epGenerate), []byte(`{"error":"an error was encountered while running the model"}`+"\n"))
	f.Add(uint8(epGenerate), []byte(`{"done":true,"eval_count":-5,"eval_duration":-1,"prompt_eval_duration":9223372036854775807}`+"\n"))
	f.Add(uint8(epGenerate), []byte(`{"response":"x","done":false}`+"\n"+strings.Repeat("A", 600<<10)+"\n"))
	f.Add(uint8(epGenerate), []byte("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 7\r\n\r\nnot json"))
	f.Add(uint8(epModel), readWire(f, "tags.http"))
	f.Add(uint8(epModel), []byte(`{"models":[{"name":"","model":"/"}]}`))
	f.Add(uint8(epLoaded), readWire(f, "ps.http"))
	f.Add(uint8(epVersion), readWire(f, "version.http"))
	// A current server's answers (versions_test.go).
	f.Add(uint8(epGenerate), readWire(f, "v0.17.4/generate-stream.http"))
	f.Add(uint8(epLoaded), readWire(f, "v0.17.4/ps.http"))
	f.Fuzz(func(t *testing.T, ep uint8, in []byte) {
		raw := asResponse(in)
		c := New(&url.URL{Scheme: "http", Host: "127.0.0.1:11434"}, replayDialer(raw))
		defer c.Close()
		// The double always closes after writing, so every call must end
		// on its own; the deadline only catches a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var err error
		switch ep % epCount {
		case epGenerate:
			returned := false
			last := 0
			var tr Trial
			tr, err = c.Generate(ctx, GenerateOptions{Model: "tiny", Prompt: "hello", MaxTokens: 5}, func(n int) {
				if returned {
					t.Fatal("onToken called after Generate returned")
				}
				if n != last+1 {
					t.Fatalf("onToken(%d) after onToken(%d): counts must rise by one", n, last)
				}
				last = n
			})
			returned = true
			if err != nil {
				if !reflect.DeepEqual(tr, Trial{}) {
					t.Fatalf("trial %+v returned with error %v", tr, err)
				}
				break
			}
			// Success needs ollama's final object.
			if !bytes.Contains(raw, []byte("done")) {
				t.Fatalf("success without a final (done) object in %q", raw)
			}
			if tr.ReceivedTTFT < 0 || tr.ReceivedTTFT > tr.Wall {
				t.Fatalf("received ttft %v outside [0, wall %v]", tr.ReceivedTTFT, tr.Wall)
			}
			// TTFT on ollama's clock lies within its total_duration;
			// otherwise it is the received one.
			if tr.OllamaClock && (tr.TTFT < 0 || tr.TTFT > tr.TotalDuration) ||
				!tr.OllamaClock && tr.TTFT != tr.ReceivedTTFT {
				t.Fatalf("ttft %v (ollama clock %v) with total %v, received %v", tr.TTFT, tr.OllamaClock, tr.TotalDuration, tr.ReceivedTTFT)
			}
			// One chunk recorded per onToken call, in arrival order, and
			// none after the final one.
			if len(tr.Chunks) != last {
				t.Fatalf("%d chunks recorded, onToken saw %d", len(tr.Chunks), last)
			}
			prev := time.Duration(0)
			for _, ch := range append(tr.Chunks, tr.Final) {
				if ch.Arrived < prev || ch.Arrived > tr.Wall {
					t.Fatalf("chunk arrived at %v after %v, wall %v", ch.Arrived, prev, tr.Wall)
				}
				prev = ch.Arrived
			}
			for _, r := range []float64{tr.EvalRate(), tr.PromptEvalRate()} {
				if math.IsNaN(r) || math.IsInf(r, 0) {
					t.Fatalf("rate %v from %+v", r, tr)
				}
			}
		case epModel:
			var mi ModelInfo
			mi, err = c.Model(ctx, "tiny")
			if err != nil && mi != (ModelInfo{}) {
				t.Fatalf("model info %+v returned with error %v", mi, err)
			}
			if err == nil && normalize(mi.Name) != "tiny:latest" && !bytes.Contains(bytes.ToLower(raw), []byte("tiny")) {
				t.Fatalf("matched %+v, which does not name tiny", mi)
			}
		case epLoaded:
			_, err = c.Loaded(ctx, "tiny")
		case epVersion:
			_, err = c.Version(ctx)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call hung until the deadline on %q", raw)
		}
	})
}

// TestReplayOfRealResponses checks the double and the seeds: replayed, the
// captured responses give what real ollama gives.
func TestReplayOfRealResponses(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "wire", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := &url.URL{Scheme: "http", Host: "127.0.0.1:11434"}
	ctx := context.Background()

	tr, err := New(base, replayDialer(read("generate-stream.http"))).Generate(ctx, GenerateOptions{Model: "tiny"}, nil)
	if err != nil || tr.EvalCount != 5 || tr.DoneReason != "length" || tr.EvalDuration <= 0 {
		t.Errorf("generate: %+v, %v; want 5 tokens, done_reason length", tr, err)
	}
	if _, err := New(base, replayDialer(read("generate-not-found.http"))).Generate(ctx, GenerateOptions{Model: "nope"}, nil); !errors.Is(err, ErrModelNotFound) {
		t.Errorf("generate of a missing model: %v, want ErrModelNotFound", err)
	}
	gen := read("generate-stream.http")
	if _, err := New(base, replayDialer(gen[:len(gen)/2])).Generate(ctx, GenerateOptions{Model: "tiny"}, nil); !errors.Is(err, ErrIncomplete) {
		t.Errorf("generate cut off mid-stream: %v, want ErrIncomplete", err)
	}
	// A kept-alive connection whose far end died: the request gets no
	// answer at all.
	if _, err := New(base, replayDialer(nil)).Generate(ctx, GenerateOptions{Model: "tiny"}, nil); !errors.Is(err, ErrIncomplete) {
		t.Errorf("generate answered by a closed connection: %v, want ErrIncomplete", err)
	}
	if _, err := New(base, replayDialer(nil)).Version(ctx); !errors.Is(err, ErrIncomplete) {
		t.Errorf("version answered by a closed connection: %v, want ErrIncomplete", err)
	}
	if _, err := New(base, replayDialer(asResponse([]byte(`{"error":"an error was encountered while running the model: unexpected EOF"}`+"\n")))).Generate(ctx, GenerateOptions{Model: "tiny"}, nil); !errors.Is(err, ErrRunnerFailed) {
		t.Errorf("runner killed mid-stream: %v, want ErrRunnerFailed", err)
	}
	if _, err := New(base, replayDialer([]byte("HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"+`{"error":"unable to load model: /root/.ollama/models/blobs/sha256-28aa"}`))).Generate(ctx, GenerateOptions{Model: "broken"}, nil); !errors.Is(err, ErrModelLoad) {
		t.Errorf("model that fails to load: %v, want ErrModelLoad", err)
	}
	if mi, err := New(base, replayDialer(read("tags.http"))).Model(ctx, "tiny"); err != nil || mi.Family != "llama" {
		t.Errorf("model: %+v, %v", mi, err)
	}
	if ok, err := New(base, replayDialer(read("ps.http"))).Loaded(ctx, "tiny"); err != nil || !ok {
		t.Errorf("loaded: %v, %v", ok, err)
	}
	if v, err := New(base, replayDialer(read("version.http"))).Version(ctx); err != nil || v != "0.9.6" {
		t.Errorf("version: %q, %v", v, err)
	}
}

// TestEveryCutOfTheStreamIsIncomplete replays the captured stream cut
// short at every byte, as when ollama or its container dies mid-response:
// each cut is ErrIncomplete (UNAVAILABLE at the edge), never a decoding
// error (INTERNAL), unless the final object had already arrived whole.
func TestEveryCutOfTheStreamIsIncomplete(t *testing.T) {
	gen, err := os.ReadFile(filepath.Join("testdata", "wire", "generate-stream.http"))
	if err != nil {
		t.Fatal(err)
	}
	base := &url.URL{Scheme: "http", Host: "127.0.0.1:11434"}
	final := bytes.LastIndex(gen, []byte(`"done":true`))
	finalEnd := final + bytes.IndexByte(gen[final:], '\n')
	// Cuts inside the header block read as a malformed response (an
	// HTTP-level error, INTERNAL); ollama's server writes the headers
	// with the first chunk, so the cuts that happen are in the body.
	for n := bytes.Index(gen, []byte("\r\n\r\n")) + 4; n < len(gen); n++ {
		c := New(base, replayDialer(gen[:n]))
		tr, err := c.Generate(context.Background(), GenerateOptions{Model: "tiny"}, nil)
		c.Close()
		switch {
		case n >= finalEnd && err == nil && tr.EvalCount == 5: // the final object is whole
		case !errors.Is(err, ErrIncomplete):
			t.Fatalf("stream cut after %d of %d bytes: %v, want ErrIncomplete", n, len(gen), err)
		}
	}
}
