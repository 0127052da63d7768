package ollama

// Paced reads of a streamed generation. TEST DOUBLE: an HTTP server on
// loopback streams ollama-shaped chunks (the shape of stream() in
// ttft_test.go), not ollama.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// With ReadPace set, the first chunk is read as it comes and, after it,
// one paced read takes every chunk that arrived during the wait; the
// figures on ollama's clock are those of an unpaced read.
func TestPacedReadTakesTheChunksThatArrivedMeanwhile(t *testing.T) {
	const chunks = 10
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	line := func(i int) string {
		return fmt.Sprintf(`{"model":"tiny","created_at":%q,"response":"x","done":false}`+"\n",
			t0.Add(time.Duration(i+1)*time.Millisecond).Format(time.RFC3339Nano))
	}
	release, written := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fl := w.(http.Flusher)
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, line(0))
		fl.Flush()
		<-release // the client is in its paced wait
		for i := 1; i < chunks; i++ {
			fmt.Fprint(w, line(i))
			fl.Flush() // a chunk of its own on the wire, as ollama writes them
		}
		fmt.Fprintf(w, `{"model":"tiny","created_at":%q,"response":"","done":true,"done_reason":"length","total_duration":%d,"eval_count":%d,"eval_duration":9000000}`+"\n",
			t0.Add(20*time.Millisecond).Format(time.RFC3339Nano), (20 * time.Millisecond).Nanoseconds(), chunks)
		fl.Flush()
		close(written)
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	c := New(base, func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", base.Host)
	})
	defer c.Close()
	const pace = 20 * time.Millisecond
	var waits []time.Duration
	c.waitRead = func(_ context.Context, d time.Duration) {
		waits = append(waits, d)
		if len(waits) == 1 {
			close(release)
			<-written // loopback: what the server wrote is in this socket's buffer
		}
	}
	tr, err := c.Generate(context.Background(), GenerateOptions{Model: "tiny", Prompt: "hi", MaxTokens: chunks, ReadPace: pace}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One wait before the read that takes chunks 2..10 and the final one,
	// at most one more before the read that sees the end of the body.
	if len(waits) < 1 || len(waits) > 2 {
		t.Errorf("%d paced waits for %d chunks, want 1 or 2: %v", len(waits), chunks, waits)
	}
	for _, w := range waits {
		if w <= 0 || w > pace {
			t.Errorf("waited %v, want within (0, %v]", w, pace)
		}
	}
	if len(tr.Chunks) != chunks || !tr.OllamaClock || tr.TTFT != 1*time.Millisecond {
		t.Errorf("%d chunks, TTFT %v (ollama clock %v); want %d, 1ms on ollama's clock", len(tr.Chunks), tr.TTFT, tr.OllamaClock, chunks)
	}
	for i, ch := range tr.Chunks {
		if want := t0.Add(time.Duration(i+1) * time.Millisecond); !ch.Stamp.Equal(want) {
			t.Errorf("chunk %d stamped %v, want %v", i, ch.Stamp, want)
		}
	}
}

// Without ReadPace no read waits.
func TestUnpacedReadsDoNotWait(t *testing.T) {
	c := New(&url.URL{Scheme: "http", Host: "127.0.0.1:11434"}, replayDialer(stream(time.Now(), []time.Duration{time.Millisecond, 2 * time.Millisecond}, 5*time.Millisecond, true)))
	defer c.Close()
	c.waitRead = func(context.Context, time.Duration) { t.Error("an unpaced read waited") }
	if _, err := c.Generate(context.Background(), GenerateOptions{Model: "tiny", Prompt: "hi", MaxTokens: 2}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestEndWithin(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	const pace = 20 * time.Millisecond
	for _, c := range []struct {
		chunks, max int
		span        time.Duration // first to last stamp
		want        bool
	}{
		{chunks: 2, max: 10, span: 10 * time.Millisecond, want: false}, // 8 left × 10 ms
		{chunks: 8, max: 10, span: 70 * time.Millisecond, want: true},  // 2 left × 10 ms = pace
		{chunks: 7, max: 10, span: 60 * time.Millisecond, want: false}, // 3 left × 10 ms
		{chunks: 10, max: 10, span: 90 * time.Millisecond, want: true}, // none left
		{chunks: 12, max: 10, span: 90 * time.Millisecond, want: true}, // more chunks than tokens
		{chunks: 9, max: 0, span: 80 * time.Millisecond, want: false},  // no known end
		{chunks: 1, max: 2, span: 0, want: false},                      // no gap yet
		{chunks: 5, max: 6, span: 0, want: false},                      // equal stamps: no gap
	} {
		if got := endWithin(c.chunks, c.max, t0, t0.Add(c.span), pace); got != c.want {
			t.Errorf("endWithin(%d chunks of %d, span %v, pace %v) = %v, want %v", c.chunks, c.max, c.span, pace, got, c.want)
		}
	}
}

// Once the last chunk is due within a pace, the reads that fetch it do not
// wait: the trial's Wall ends when the final chunk arrives, not up to a
// pace later. Without MaxTokens the end is not foreseen and the read waits.
func TestPacedReadDoesNotWaitForAForeseenEnd(t *testing.T) {
	const chunks, pace = 10, 20 * time.Millisecond
	for _, c := range []struct {
		maxTokens          int
		minWaits, maxWaits int // the read of the body's end may come with the final chunk's
	}{{maxTokens: chunks, minWaits: 1, maxWaits: 1}, {maxTokens: 0, minWaits: 2, maxWaits: 3}} {
		t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		line := func(i int) string { // 10 ms apart on ollama's clock
			return fmt.Sprintf(`{"model":"tiny","created_at":%q,"response":"x","done":false}`+"\n",
				t0.Add(time.Duration(i)*10*time.Millisecond).Format(time.RFC3339Nano))
		}
		release, written, finalGo := make(chan struct{}), make(chan struct{}), make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fl := w.(http.Flusher)
			w.Header().Set("Content-Type", "application/x-ndjson")
			fmt.Fprint(w, line(0))
			fl.Flush()
			<-release
			for i := 1; i < chunks; i++ {
				fmt.Fprint(w, line(i))
			}
			fl.Flush()
			close(written)
			<-finalGo // the client has seen every token
			fmt.Fprintf(w, `{"model":"tiny","created_at":%q,"response":"","done":true,"done_reason":"length","total_duration":%d,"eval_count":%d,"eval_duration":90000000}`+"\n",
				t0.Add(100*time.Millisecond).Format(time.RFC3339Nano), (100 * time.Millisecond).Nanoseconds(), chunks)
			fl.Flush()
		}))
		base, _ := url.Parse(srv.URL)
		cl := New(base, func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", base.Host)
		})
		var waits []time.Duration
		cl.waitRead = func(_ context.Context, d time.Duration) {
			waits = append(waits, d)
			if len(waits) == 1 {
				close(release)
				<-written
			}
		}
		_, err := cl.Generate(context.Background(), GenerateOptions{Model: "tiny", Prompt: "hi", MaxTokens: c.maxTokens, ReadPace: pace}, func(n int) {
			if n == chunks {
				close(finalGo)
			}
		})
		cl.Close()
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(waits) < c.minWaits || len(waits) > c.maxWaits {
			t.Errorf("MaxTokens %d: %d paced waits (%v), want %d to %d", c.maxTokens, len(waits), waits, c.minWaits, c.maxWaits)
		}
	}
}
