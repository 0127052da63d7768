package ollama

// TTFT on ollama's clock. TEST DOUBLE: replayDialer (stream_fuzz_test.go)
// answers with the NDJSON written here, not with ollama.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// stream is a generate response: chunks stamped at the given offsets from
// the handler's start t0, and a final chunk with total_duration.
func stream(t0 time.Time, chunkAt []time.Duration, total time.Duration, stamp bool) []byte {
	var b strings.Builder
	ts := func(d time.Duration) string {
		if !stamp {
			return ""
		}
		return fmt.Sprintf(`"created_at":%q,`, t0.Add(d).UTC().Format(time.RFC3339Nano))
	}
	for _, d := range chunkAt {
		fmt.Fprintf(&b, `{"model":"tiny",%s"response":"x","done":false}`+"\n", ts(d))
	}
	fmt.Fprintf(&b, `{"model":"tiny",%s"response":"","done":true,"done_reason":"length","total_duration":%d,"load_duration":1000,"eval_count":%d,"eval_duration":1000}`+"\n",
		ts(total), total.Nanoseconds(), len(chunkAt))
	return asResponse([]byte(b.String()))
}

func generate(t *testing.T, raw []byte) Trial {
	t.Helper()
	c := New(&url.URL{Scheme: "http", Host: "127.0.0.1:11434"}, replayDialer(raw))
	defer c.Close()
	tr, err := c.Generate(context.Background(), GenerateOptions{Model: "tiny", Prompt: "hi", MaxTokens: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTTFTIsOnOllamasClock(t *testing.T) {
	// A stream whose stamps say: first chunk 7.25 ms after the handler
	// began, done at 33 ms. However late it reaches the client, TTFT is
	// 7.25 ms.
	t0 := time.Now().Add(-time.Hour) // far from the client's own clock
	tr := generate(t, stream(t0, []time.Duration{7250 * time.Microsecond, 9 * time.Millisecond}, 33*time.Millisecond, true))
	if !tr.OllamaClock || tr.TTFT != 7250*time.Microsecond {
		t.Errorf("TTFT %v (ollama clock %v), want 7.25ms on ollama's clock", tr.TTFT, tr.OllamaClock)
	}
	if tr.ReceivedTTFT <= 0 || tr.TotalDuration != 33*time.Millisecond {
		t.Errorf("received TTFT %v, total %v", tr.ReceivedTTFT, tr.TotalDuration)
	}
}

func TestTTFTFallsBackToReceivedWithoutStamps(t *testing.T) {
	for name, raw := range map[string][]byte{
		"no created_at": stream(time.Now(), []time.Duration{time.Millisecond}, 5*time.Millisecond, false),
		// A first chunk stamped after the final one: not ollama's
		// clock as v0.9.6 keeps it (or the clock stepped).
		"inconsistent": stream(time.Now(), []time.Duration{9 * time.Millisecond}, 5*time.Millisecond, true),
	} {
		t.Run(name, func(t *testing.T) {
			tr := generate(t, raw)
			if tr.OllamaClock || tr.TTFT != tr.ReceivedTTFT || tr.TTFT <= 0 {
				t.Errorf("TTFT %v, received %v, ollama clock %v: want the received TTFT", tr.TTFT, tr.ReceivedTTFT, tr.OllamaClock)
			}
		})
	}
}

func TestServerTTFTBounds(t *testing.T) {
	final := time.Unix(1000, 0)
	for _, c := range []struct {
		first time.Time
		total time.Duration
		want  time.Duration
		ok    bool
	}{
		{final.Add(-20 * time.Millisecond), 30 * time.Millisecond, 10 * time.Millisecond, true},
		{final.Add(-30 * time.Millisecond), 30 * time.Millisecond, 0, true}, // at the handler's start
		{final, 30 * time.Millisecond, 30 * time.Millisecond, true},         // the final chunk is the first
		{final.Add(-31 * time.Millisecond), 30 * time.Millisecond, 0, false},
		{final.Add(time.Millisecond), 30 * time.Millisecond, 0, false},
		{time.Time{}, 30 * time.Millisecond, 0, false},
		{final, 0, 0, false},
	} {
		got, ok := serverTTFT(c.first, final, c.total)
		if got != c.want || ok != c.ok {
			t.Errorf("serverTTFT(final%+v, total %v) = %v, %v; want %v, %v", c.first.Sub(final), c.total, got, ok, c.want, c.ok)
		}
	}
}

// Generate records each output chunk's stamp and arrival, and the final
// chunk's apart: what the runner's token timing is computed from.
func TestGenerateRecordsChunks(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := []time.Duration{5 * time.Millisecond, 7 * time.Millisecond, 12500 * time.Microsecond}
	tr := generate(t, stream(t0, at, 20*time.Millisecond, true))
	if len(tr.Chunks) != len(at) {
		t.Fatalf("%d chunks, want %d", len(tr.Chunks), len(at))
	}
	prev := time.Duration(0)
	for i, ch := range tr.Chunks {
		if !ch.Stamp.Equal(t0.Add(at[i])) {
			t.Errorf("chunk %d stamped %v, want %v", i, ch.Stamp, t0.Add(at[i]))
		}
		if ch.Arrived < prev || ch.Arrived > tr.Wall {
			t.Errorf("chunk %d arrived %v (previous %v, wall %v)", i, ch.Arrived, prev, tr.Wall)
		}
		prev = ch.Arrived
	}
	if !tr.Final.Stamp.Equal(t0.Add(20*time.Millisecond)) || tr.Final.Arrived < prev {
		t.Errorf("final chunk %+v", tr.Final)
	}
	if tr.Chunks[0].Arrived != tr.ReceivedTTFT {
		t.Errorf("first arrival %v, received TTFT %v", tr.Chunks[0].Arrived, tr.ReceivedTTFT)
	}
}
