package vram

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stubReader is a test double for Reader: it returns a canned reading or
// error and counts calls. block, when set, makes Read wait for it.
type stubReader struct {
	source string
	gpus   []GPU
	err    error
	block  chan struct{}
	calls  atomic.Int32
}

func (s *stubReader) Source() string { return s.source }

func (s *stubReader) Read(ctx context.Context) ([]GPU, error) {
	s.calls.Add(1)
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	return append([]GPU(nil), s.gpus...), nil
}

func TestAutoPrefersSysfs(t *testing.T) {
	root := t.TempDir()
	writeSysfs(t, root, amdCard(0, 100, 1))
	tool := &stubReader{source: SourceRocmSMI, gpus: []GPU{{Index: 0}}}
	a := Auto(&Sysfs{Root: root}, []Reader{tool})
	if a.Source() != SourceAuto {
		t.Errorf("Source() before Read = %q, want %q", a.Source(), SourceAuto)
	}
	gpus, err := a.Read(context.Background())
	if err != nil || len(gpus) != 1 || gpus[0].Source != SourceSysfs {
		t.Fatalf("Read = (%+v, %v), want one sysfs GPU", gpus, err)
	}
	if a.Source() != SourceSysfs || tool.calls.Load() != 0 {
		t.Errorf("Source() = %q, tool calls %d; want sysfs and no tool probe", a.Source(), tool.calls.Load())
	}
}

func TestAutoFirstWorkingTool(t *testing.T) {
	broken := &stubReader{source: SourceRocmSMI, err: errRefused}
	works := &stubReader{source: SourceAMDSMI, gpus: []GPU{{Index: 0, UsedBytes: 7}}}
	unused := &stubReader{source: SourceNvidiaSMI, gpus: []GPU{{Index: 9}}}
	// An empty sysfs tree: Detect is false and sysfs is not tried.
	a := Auto(&Sysfs{Root: t.TempDir()}, []Reader{nil, broken, works, unused})
	for i := range 3 {
		gpus, err := a.Read(context.Background())
		if err != nil || len(gpus) != 1 || gpus[0].UsedBytes != 7 {
			t.Fatalf("Read %d = (%+v, %v), want amd-smi reading", i, gpus, err)
		}
	}
	if a.Source() != SourceAMDSMI {
		t.Errorf("Source() = %q, want %q", a.Source(), SourceAMDSMI)
	}
	// Probed once each; the choice is then remembered.
	if b, w, u := broken.calls.Load(), works.calls.Load(), unused.calls.Load(); b != 1 || w != 3 || u != 0 {
		t.Errorf("calls broken=%d works=%d unused=%d, want 1, 3, 0", b, w, u)
	}
	// A chosen source that starts failing is not swapped out.
	works.err = errors.New("container gone")
	if _, err := a.Read(context.Background()); err == nil || a.Source() != SourceAMDSMI {
		t.Errorf("after failure: err %v source %q, want error from amd-smi", err, a.Source())
	}
}

func TestAutoNothingWorks(t *testing.T) {
	a := Auto(nil, []Reader{
		&stubReader{source: SourceRocmSMI, err: errors.New("rocm-smi: not found")},
		&stubReader{source: SourceNvidiaSMI, err: errRefused},
	})
	_, err := a.Read(context.Background())
	if !errors.Is(err, ErrNoSource) || !errors.Is(err, errRefused) {
		t.Fatalf("err %v, want ErrNoSource and each cause", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "rocm-smi: rocm-smi: not found") {
		t.Errorf("error %q, want one line naming each source", msg)
	}
	if a.Source() != SourceAuto {
		t.Errorf("Source() = %q after failed probe, want %q (nothing remembered)", a.Source(), SourceAuto)
	}
	if _, err := Auto(nil, nil).Read(context.Background()); !errors.Is(err, ErrNoSource) {
		t.Errorf("no candidates: err %v, want ErrNoSource", err)
	}
}

func TestAutoCancelledProbeNotRemembered(t *testing.T) {
	slow := &stubReader{source: SourceRocmSMI, gpus: []GPU{{Index: 0}}, block: make(chan struct{})}
	next := &stubReader{source: SourceAMDSMI, gpus: []GPU{{Index: 1}}}
	a := Auto(nil, []Reader{slow, next})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := a.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	// The timeout was ours, not rocm-smi's fault, so next must not have
	// been chosen in its place.
	if next.calls.Load() != 0 || a.Source() != SourceAuto {
		t.Fatalf("next calls %d, source %q; want 0 and auto", next.calls.Load(), a.Source())
	}
	close(slow.block)
	if gpus, err := a.Read(context.Background()); err != nil || gpus[0].Index != 0 || a.Source() != SourceRocmSMI {
		t.Fatalf("retry = (%+v, %v) source %q, want rocm-smi", gpus, err, a.Source())
	}
}

func TestAutoConcurrentProbeOnce(t *testing.T) {
	tool := &stubReader{source: SourceNvidiaSMI, gpus: []GPU{{Index: 0}}, block: make(chan struct{})}
	a := Auto(nil, []Reader{tool})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := a.Read(context.Background()); err != nil {
				t.Errorf("Read: %v", err)
			}
		})
	}
	// A caller queued behind the probe honours its own deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	for tool.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := a.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued Read: err %v, want its own deadline", err)
	}
	close(tool.block)
	wg.Wait()
	// One probe call, then one read per waiting caller.
	if got := tool.calls.Load(); got != 8 {
		t.Errorf("tool calls = %d, want 8", got)
	}
}
