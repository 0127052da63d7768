package vram

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingExecer is a test double for Execer: it records each call and
// answers with canned stdout or an error.
type recordingExecer struct {
	mu     sync.Mutex
	calls  [][]string
	priv   []bool
	stdout []byte
	err    error
}

func (e *recordingExecer) Exec(ctx context.Context, argv []string, privileged bool) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, append([]string(nil), argv...))
	e.priv = append(e.priv, privileged)
	// Scribble over the slice we were given: the reader must not reuse it.
	for i := range argv {
		argv[i] = "tampered"
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.stdout, e.err
}

func TestNewToolReaderArgv(t *testing.T) {
	tests := []struct {
		source  string
		fixture string
		argv    []string
	}{
		{SourceRocmSMI, "rocm-smi/showmeminfo-vram.json", []string{"rocm-smi", "--showmeminfo", "vram", "--json"}},
		{SourceAMDSMI, "amd-smi/metric-mem-usage.json", []string{"amd-smi", "metric", "--mem-usage", "--json"}},
		{SourceNvidiaSMI, "nvidia-smi/nvsmi-20g-noheader.csv", []string{"nvidia-smi", "--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader,nounits"}},
	}
	for _, tc := range tests {
		t.Run(tc.source, func(t *testing.T) {
			ex := &recordingExecer{stdout: readFixture(t, tc.fixture)}
			r, err := NewToolReader(tc.source, ex, true)
			if err != nil {
				t.Fatal(err)
			}
			if r.Source() != tc.source {
				t.Errorf("Source() = %q, want %q", r.Source(), tc.source)
			}
			before := time.Now()
			for range 2 {
				gpus, err := r.Read(context.Background())
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if len(gpus) != 1 || gpus[0].Source != tc.source || gpus[0].SampledAt.Before(before) {
					t.Fatalf("Read = %+v, want one %s GPU stamped after %v", gpus, tc.source, before)
				}
			}
			// Both calls carry the template, although the double
			// tampered with the first call's slice.
			if want := [][]string{tc.argv, tc.argv}; !reflect.DeepEqual(ex.calls, want) {
				t.Errorf("argv = %q, want %q", ex.calls, want)
			}
			if !reflect.DeepEqual(ex.priv, []bool{true, true}) {
				t.Errorf("privileged = %v, want true on every call", ex.priv)
			}
		})
	}
}

func TestNewToolReaderRejects(t *testing.T) {
	for _, source := range []string{"", SourceSysfs, "rocm-smi --showallinfo", "nvidia-smi;reboot"} {
		if _, err := NewToolReader(source, &recordingExecer{}, false); err == nil || !strings.Contains(err.Error(), "unknown source") {
			t.Errorf("NewToolReader(%q): err %v, want unknown source", source, err)
		}
	}
	if _, err := NewToolReader(SourceRocmSMI, nil, false); err == nil {
		t.Error("NewToolReader with nil Execer: want error")
	}
}

func TestToolReaderErrors(t *testing.T) {
	refused := &recordingExecer{err: errRefused}
	r, _ := NewToolReader(SourceAMDSMI, refused, true)
	_, err := r.Read(context.Background())
	if !errors.Is(err, errRefused) || !strings.Contains(err.Error(), "read VRAM with amd-smi: exec") {
		t.Errorf("exec failure: err %v, want wrapped errRefused", err)
	}

	garbage := &recordingExecer{stdout: readFixture(t, "nvidia-smi/nvsmi-plain.txt")}
	r, _ = NewToolReader(SourceNvidiaSMI, garbage, false)
	if _, err := r.Read(context.Background()); err == nil || !strings.Contains(err.Error(), "read VRAM with nvidia-smi: parse nvidia-smi output") {
		t.Errorf("parse failure: err %v, want wrapped parse error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ = NewToolReader(SourceRocmSMI, &recordingExecer{}, false)
	if _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v, want context.Canceled", err)
	}
}

// errRefused stands in for an engine refusing a privileged exec.
var errRefused = errors.New("privileged exec refused")
