package vram

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/dockerx"
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
		{SourceRocmSMI, "rocm-smi/showmeminfo-vram.json", []string{"/opt/rocm/bin/rocm-smi", "--showmeminfo", "vram", "--json"}},
		{SourceAMDSMI, "amd-smi/metric-mem-usage.json", []string{"/opt/rocm/bin/amd-smi", "metric", "--mem-usage", "--json"}},
		{SourceNvidiaSMI, "nvidia-smi/nvsmi-20g-noheader.csv", []string{"/usr/bin/nvidia-smi", "--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader,nounits"}},
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

// pathExecer has only the executables in present; any other argv[0] is
// dockerx.ErrCommandNotFound, as the engine reports a missing command.
type pathExecer struct {
	present map[string][]byte
	calls   []string
}

func (e *pathExecer) Exec(_ context.Context, argv []string, _ bool) ([]byte, error) {
	e.calls = append(e.calls, argv[0])
	if out, ok := e.present[argv[0]]; ok {
		return out, nil
	}
	return nil, fmt.Errorf("exec %s: %w", argv[0], dockerx.ErrCommandNotFound)
}

// Tools run by absolute path only: the first of the known places that
// exists is found once and kept; none existing is ErrCommandNotFound that
// names every place looked at.
func TestToolReaderUsesAbsolutePaths(t *testing.T) {
	ex := &pathExecer{present: map[string][]byte{"/usr/bin/rocm-smi": readFixture(t, "rocm-smi/showmeminfo-vram.json")}}
	r, err := NewToolReader(SourceRocmSMI, ex, false)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := r.Read(context.Background()); err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	if want := []string{"/opt/rocm/bin/rocm-smi", "/usr/bin/rocm-smi", "/usr/bin/rocm-smi", "/usr/bin/rocm-smi"}; !reflect.DeepEqual(ex.calls, want) {
		t.Errorf("ran %q, want %q", ex.calls, want)
	}

	none := &pathExecer{}
	r, err = NewToolReader(SourceAMDSMI, none, false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Read(context.Background())
	if !errors.Is(err, dockerx.ErrCommandNotFound) || !strings.Contains(err.Error(), "/opt/rocm/bin/amd-smi, /usr/bin/amd-smi") {
		t.Errorf("no amd-smi anywhere: %v, want ErrCommandNotFound naming both places", err)
	}
	for _, c := range none.calls {
		if !strings.HasPrefix(c, "/") {
			t.Errorf("ran %q: not an absolute path", c)
		}
	}
}

// flakyExecer fails its first call with an error about the container, not
// the path, then behaves as pathExecer.
type flakyExecer struct {
	pathExecer
	failed bool
}

func (e *flakyExecer) Exec(ctx context.Context, argv []string, priv bool) ([]byte, error) {
	if !e.failed {
		e.failed = true
		e.calls = append(e.calls, argv[0])
		return nil, errors.New("container ollama is exited: container not running")
	}
	return e.pathExecer.Exec(ctx, argv, priv)
}

// A failure that says nothing about where the tool is (the container was
// down) does not pin the first path: the next read still finds the tool at
// the second. And a kept path that vanishes is looked for again.
func TestToolReaderPathSurvivesTransientErrors(t *testing.T) {
	fixture := readFixture(t, "rocm-smi/showmeminfo-vram.json")
	ex := &flakyExecer{pathExecer: pathExecer{present: map[string][]byte{"/usr/bin/rocm-smi": fixture}}}
	r, err := NewToolReader(SourceRocmSMI, ex, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(context.Background()); err == nil || errors.Is(err, dockerx.ErrCommandNotFound) {
		t.Fatalf("first read: %v, want the container's error", err)
	}
	if _, err := r.Read(context.Background()); err != nil {
		t.Fatalf("second read: %v, want the tool found at /usr/bin", err)
	}
	// The container is recreated with the tool under /opt/rocm only.
	ex.present = map[string][]byte{"/opt/rocm/bin/rocm-smi": fixture}
	ex.calls = nil
	if _, err := r.Read(context.Background()); err != nil {
		t.Fatalf("after the tool moved: %v", err)
	}
	if want := []string{"/usr/bin/rocm-smi", "/opt/rocm/bin/rocm-smi"}; !reflect.DeepEqual(ex.calls, want) {
		t.Errorf("ran %q, want %q", ex.calls, want)
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
