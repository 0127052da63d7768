package vram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/benchd/benchd/internal/dockerx"
)

// toolReader runs one SMI tool through an Execer and parses its stdout.
type toolReader struct {
	source     string
	ex         Execer
	privileged bool
	parse      func([]byte) ([]GPU, error)
	now        func() time.Time
	// telemetry, when set, runs the source's telemetry query after each
	// VRAM read (toolTelemetry).
	telemetry *toolTelemetry
	// found is the index in toolCommand's paths of the one that exists in
	// the container, -1 until a read found it.
	found atomic.Int32
}

// toolCommand returns where a tool may be installed, its fixed arguments
// and its parser. The paths are absolute, so the container's PATH (and
// whatever an image puts first on it) cannot choose what runs: ROCm
// installs its tools in /opt/rocm/bin and links them into /usr/bin; the
// NVIDIA container toolkit mounts nvidia-smi at /usr/bin. Everything is
// built fresh on each call, from literals only, so that nothing a caller
// passes and nothing an Execer does to a previous slice can reach the
// command line.
func toolCommand(source string) (paths, args []string, parse func([]byte) ([]GPU, error), ok bool) {
	switch source {
	case SourceRocmSMI:
		return []string{"/opt/rocm/bin/rocm-smi", "/usr/bin/rocm-smi"}, []string{"--showmeminfo", "vram", "--json"}, ParseRocmSMI, true
	case SourceAMDSMI:
		return []string{"/opt/rocm/bin/amd-smi", "/usr/bin/amd-smi"}, []string{"metric", "--mem-usage", "--json"}, ParseAMDSMI, true
	case SourceNvidiaSMI:
		return []string{"/usr/bin/nvidia-smi"}, []string{"--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader,nounits"}, ParseNvidiaSMI, true
	}
	return nil, nil, nil, false
}

// NewToolReader returns a Reader that runs source's tool (SourceRocmSMI,
// SourceAMDSMI or SourceNvidiaSMI) through ex with a fixed argv and parses
// its output. privileged is passed through to ex: some hosts only expose
// the GPU counters to a privileged exec.
func NewToolReader(source string, ex Execer, privileged bool, opts ...ToolOption) (Reader, error) {
	if ex == nil {
		return nil, errors.New("new VRAM tool reader: nil Execer")
	}
	_, _, parse, ok := toolCommand(source)
	if !ok {
		return nil, fmt.Errorf("new VRAM tool reader: unknown source %q (want %s, %s or %s)",
			source, SourceRocmSMI, SourceAMDSMI, SourceNvidiaSMI)
	}
	r := &toolReader{source: source, ex: ex, privileged: privileged, parse: parse, now: time.Now}
	r.found.Store(-1)
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

func (r *toolReader) Source() string { return r.source }

// exec runs the tool at the path found before, or else tries each path in
// turn until one exists. A path is kept only once the tool ran there: an
// error that says nothing about the path (the container stopped, Docker
// unreachable) must not make the next path look missing. A kept path that
// later is not found (the container was recreated from another image) is
// forgotten and the search starts again.
func (r *toolReader) exec(ctx context.Context) ([]byte, error) {
	paths, args, _, _ := toolCommand(r.source)
	return r.execAt(ctx, paths, args)
}

func (r *toolReader) execAt(ctx context.Context, paths, args []string) ([]byte, error) {
	if i := r.found.Load(); i >= 0 {
		out, err := r.ex.Exec(ctx, append([]string{paths[i]}, args...), r.privileged)
		if !errors.Is(err, dockerx.ErrCommandNotFound) {
			return out, err
		}
		r.found.CompareAndSwap(i, -1)
	}
	var err error
	for i, p := range paths {
		var out []byte
		out, err = r.ex.Exec(ctx, append([]string{p}, args...), r.privileged)
		switch {
		case err == nil:
			r.found.Store(int32(i))
			return out, nil
		case !errors.Is(err, dockerx.ErrCommandNotFound):
			return out, err
		}
	}
	return nil, fmt.Errorf("%w (looked for %s)", err, strings.Join(paths, ", "))
}

// ToolTimeout bounds one run of a VRAM tool. The tools answer in tens of
// milliseconds; one that hangs would otherwise hold the shared reader, and
// with it every SampleVRAM, WatchVRAM and trial sampler, until each
// caller's own deadline. The exec it leaves behind is stopped (dockerx).
const ToolTimeout = 10 * time.Second

func (r *toolReader) Read(ctx context.Context) ([]GPU, error) {
	ctx, cancel := context.WithTimeout(ctx, ToolTimeout)
	defer cancel()
	out, err := r.exec(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("read VRAM with %s: exec: %w", r.source, err)
		}
		// The Execer's own sentinels (Docker unreachable, container
		// stopped, tool missing, output too large, …) stay reachable and
		// are matched first; what is left is the tool failing.
		return nil, fmt.Errorf("read VRAM with %s: exec: %w: %w", r.source, err, ErrToolFailed)
	}
	// Stamp when the tool returned rather than when we asked: the exec
	// round trip (container exec plus tool start-up) can take tens of
	// milliseconds, and the counters are read near its end.
	at := r.now()
	gpus, err := r.parse(out)
	if err != nil {
		return nil, fmt.Errorf("read VRAM with %s: %w: %w", r.source, err, ErrToolFailed)
	}
	for i := range gpus {
		gpus[i].SampledAt = at
	}
	if r.telemetry != nil {
		r.telemetry.add(ctx, r, gpus)
	}
	return gpus, nil
}
