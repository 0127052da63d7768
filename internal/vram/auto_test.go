package vram_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/fakes"
	"github.com/benchd/benchd/internal/vram"
)

func TestAutoPrefersSysfs(t *testing.T) {
	root := t.TempDir()
	vram.WriteSysfs(t, root, vram.AMDCard(0, 100, 1))
	tool := &fakes.StubVRAM{Name: vram.SourceRocmSMI, GPUs: []vram.GPU{{Index: 0}}}
	a := vram.Auto(&vram.Sysfs{Root: root}, []vram.Reader{tool})
	if a.Source() != vram.SourceAuto {
		t.Errorf("Source() before Read = %q, want %q", a.Source(), vram.SourceAuto)
	}
	gpus, err := a.Read(context.Background())
	if err != nil || len(gpus) != 1 || gpus[0].Source != vram.SourceSysfs {
		t.Fatalf("Read = (%+v, %v), want one sysfs vram.GPU", gpus, err)
	}
	if a.Source() != vram.SourceSysfs || tool.Calls.Load() != 0 {
		t.Errorf("Source() = %q, tool calls %d; want sysfs and no tool probe", a.Source(), tool.Calls.Load())
	}
}

func TestAutoFirstWorkingTool(t *testing.T) {
	broken := &fakes.StubVRAM{Name: vram.SourceRocmSMI, Err: errRefused}
	works := &fakes.StubVRAM{Name: vram.SourceAMDSMI, GPUs: []vram.GPU{{Index: 0, UsedBytes: 7}}}
	unused := &fakes.StubVRAM{Name: vram.SourceNvidiaSMI, GPUs: []vram.GPU{{Index: 9}}}
	// An empty sysfs tree: Detect is false and sysfs is not tried.
	a := vram.Auto(&vram.Sysfs{Root: t.TempDir()}, []vram.Reader{nil, broken, works, unused})
	for i := range 3 {
		gpus, err := a.Read(context.Background())
		if err != nil || len(gpus) != 1 || gpus[0].UsedBytes != 7 {
			t.Fatalf("Read %d = (%+v, %v), want amd-smi reading", i, gpus, err)
		}
	}
	if a.Source() != vram.SourceAMDSMI {
		t.Errorf("Source() = %q, want %q", a.Source(), vram.SourceAMDSMI)
	}
	// Probed once each; the choice is then remembered.
	if b, w, u := broken.Calls.Load(), works.Calls.Load(), unused.Calls.Load(); b != 1 || w != 3 || u != 0 {
		t.Errorf("calls broken=%d works=%d unused=%d, want 1, 3, 0", b, w, u)
	}
	// A chosen source that starts failing is not swapped out.
	works.Err = errors.New("container gone")
	if _, err := a.Read(context.Background()); err == nil || a.Source() != vram.SourceAMDSMI {
		t.Errorf("after failure: err %v source %q, want error from amd-smi", err, a.Source())
	}
}

func TestAutoNothingWorks(t *testing.T) {
	a := vram.Auto(nil, []vram.Reader{
		&fakes.StubVRAM{Name: vram.SourceRocmSMI, Err: errors.New("rocm-smi: not found")},
		&fakes.StubVRAM{Name: vram.SourceNvidiaSMI, Err: errRefused},
	})
	_, err := a.Read(context.Background())
	if !errors.Is(err, vram.ErrNoSource) || !errors.Is(err, errRefused) {
		t.Fatalf("err %v, want vram.ErrNoSource and each cause", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "rocm-smi: rocm-smi: not found") {
		t.Errorf("error %q, want one line naming each source", msg)
	}
	if a.Source() != vram.SourceAuto {
		t.Errorf("Source() = %q after failed probe, want %q (nothing remembered)", a.Source(), vram.SourceAuto)
	}
	if _, err := vram.Auto(nil, nil).Read(context.Background()); !errors.Is(err, vram.ErrNoSource) {
		t.Errorf("no candidates: err %v, want vram.ErrNoSource", err)
	}
}

func TestAutoCancelledProbeNotRemembered(t *testing.T) {
	slow := &fakes.StubVRAM{Name: vram.SourceRocmSMI, GPUs: []vram.GPU{{Index: 0}}, Block: make(chan struct{})}
	next := &fakes.StubVRAM{Name: vram.SourceAMDSMI, GPUs: []vram.GPU{{Index: 1}}}
	a := vram.Auto(nil, []vram.Reader{slow, next})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := a.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	// The timeout was ours, not rocm-smi's fault, so next must not have
	// been chosen in its place.
	if next.Calls.Load() != 0 || a.Source() != vram.SourceAuto {
		t.Fatalf("next calls %d, source %q; want 0 and auto", next.Calls.Load(), a.Source())
	}
	close(slow.Block)
	if gpus, err := a.Read(context.Background()); err != nil || gpus[0].Index != 0 || a.Source() != vram.SourceRocmSMI {
		t.Fatalf("retry = (%+v, %v) source %q, want rocm-smi", gpus, err, a.Source())
	}
}

func TestAutoConcurrentProbeOnce(t *testing.T) {
	tool := &fakes.StubVRAM{Name: vram.SourceNvidiaSMI, GPUs: []vram.GPU{{Index: 0}}, Block: make(chan struct{})}
	a := vram.Auto(nil, []vram.Reader{tool})
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
	for tool.Calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := a.Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued Read: err %v, want its own deadline", err)
	}
	close(tool.Block)
	wg.Wait()
	// One probe call, then one read per waiting caller.
	if got := tool.Calls.Load(); got != 8 {
		t.Errorf("tool calls = %d, want 8", got)
	}
}

// errRefused stands in for an engine refusing a privileged exec.
var errRefused = errors.New("privileged exec refused")
