// Package logbuf batches benchd's log writes: the audit line of every RPC
// is a write(2) of its own otherwise, to journald's socket under systemd,
// which is about a tenth of the daemon's CPU time per SampleVRAM call and a
// wake-up of journald per call.
//
// What a crash can cost: lines below WARN are written at most Delay after
// they were logged (or when the buffer fills), so a process killed
// (SIGKILL, an unrecovered panic, the OOM killer) loses at most the last
// Delay of them. A line at WARN or above is written at once, with every
// line buffered before it, in order; so is everything when the daemon
// exits (Flush).
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Delay is how long a buffered line may wait: long enough to batch a busy
// daemon's audit lines, short enough that `journalctl -f` shows a call as
// it ends.
const Delay = 100 * time.Millisecond

// maxBuffered is the most bytes held before they are written at once.
const maxBuffered = 32 << 10

// Writer buffers writes to w and writes them out Delay after the first
// one (or once maxBuffered bytes wait, or on Flush). Safe for concurrent
// use.
type Writer struct {
	w io.Writer

	mu    sync.Mutex
	buf   []byte
	timer *time.Timer // armed while buf holds bytes
}

// New returns a Writer to w.
func New(w io.Writer) *Writer {
	lw := &Writer{w: w}
	lw.timer = time.AfterFunc(time.Hour, func() { _ = lw.Flush() })
	lw.timer.Stop()
	return lw
}

// Write buffers p (slog's handlers write one whole line per call).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		w.timer.Reset(Delay)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= maxBuffered {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

func (w *Writer) flushLocked() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.timer.Stop()
	_, err := w.w.Write(w.buf)
	// A failed write (journald gone) drops the lines rather than
	// growing without bound; slog ignores the error as it did before.
	w.buf = w.buf[:0]
	if cap(w.buf) > 4*maxBuffered {
		w.buf = nil
	}
	return err
}

// Handler wraps h, which writes to w, so that a record at WARN or above
// is written out at once, with what was buffered before it.
func Handler(h slog.Handler, w *Writer) slog.Handler { return &handler{Handler: h, w: w} }

type handler struct {
	slog.Handler
	w *Writer
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{Handler: h.Handler.WithAttrs(as), w: h.w}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{Handler: h.Handler.WithGroup(name), w: h.w}
}
