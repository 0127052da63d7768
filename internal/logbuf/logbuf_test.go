package logbuf

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink records the writes that reach the underlying writer.
type sink struct {
	mu     sync.Mutex
	writes []string
	wrote  chan struct{}
}

func newSink() *sink { return &sink{wrote: make(chan struct{}, 100)} }

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.writes = append(s.writes, string(p))
	s.mu.Unlock()
	s.wrote <- struct{}{}
	return len(p), nil
}

func (s *sink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.writes, "")
}

func TestWarnWritesBufferedLinesFirstInOrder(t *testing.T) {
	s := newSink()
	w := New(s)
	log := slog.New(Handler(slog.NewTextHandler(w, nil), w))
	log.Info("one")
	log.Info("two")
	log.Warn("three")
	got := s.text()
	i1, i2, i3 := strings.Index(got, "msg=one"), strings.Index(got, "msg=two"), strings.Index(got, "msg=three")
	if i1 < 0 || i2 < i1 || i3 < i2 {
		t.Fatalf("after a WARN, the underlying writer has %q; want one, two, three in order", got)
	}
	// Derived loggers keep the flush.
	log.With("k", "v").WithGroup("g").Error("four", "x", 1)
	if !strings.Contains(s.text(), "msg=four") {
		t.Fatalf("an ERROR through a derived logger was not written at once: %q", s.text())
	}
}

func TestBufferedLineIsWrittenWithoutFlush(t *testing.T) {
	s := newSink()
	w := New(s)
	if _, err := w.Write([]byte("line\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.wrote:
	case <-time.After(10 * time.Second):
		t.Fatalf("a buffered line was not written within 10s (Delay is %v)", Delay)
	}
	if s.text() != "line\n" {
		t.Fatalf("wrote %q, want the line", s.text())
	}
}

func TestFullBufferIsWrittenAtOnce(t *testing.T) {
	s := newSink()
	w := New(s)
	line := bytes.Repeat([]byte("x"), 1000)
	line[len(line)-1] = '\n'
	for range maxBuffered/len(line) + 1 {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.text()); got < maxBuffered {
		t.Fatalf("%d bytes written after %d were buffered, want at least %d", got, maxBuffered+len(line), maxBuffered)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(s.text()), (maxBuffered/len(line)+1)*len(line); got != want {
		t.Fatalf("%d bytes written after Flush, want %d", got, want)
	}
}
