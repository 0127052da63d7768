package vram

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// toolReader runs one SMI tool through an Execer and parses its stdout.
type toolReader struct {
	source     string
	ex         Execer
	privileged bool
	parse      func([]byte) ([]GPU, error)
	now        func() time.Time
}

// toolCommand returns the fixed argv and parser for a tool. The argv is
// built fresh on each call, from literals only, so that nothing a caller
// passes and nothing an Execer does to a previous slice can reach the
// command line.
func toolCommand(source string) ([]string, func([]byte) ([]GPU, error), bool) {
	switch source {
	case SourceRocmSMI:
		return []string{"rocm-smi", "--showmeminfo", "vram", "--json"}, ParseRocmSMI, true
	case SourceAMDSMI:
		return []string{"amd-smi", "metric", "--mem-usage", "--json"}, ParseAMDSMI, true
	case SourceNvidiaSMI:
		return []string{"nvidia-smi", "--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader,nounits"}, ParseNvidiaSMI, true
	}
	return nil, nil, false
}

// NewToolReader returns a Reader that runs source's tool (SourceRocmSMI,
// SourceAMDSMI or SourceNvidiaSMI) through ex with a fixed argv and parses
// its output. privileged is passed through to ex: some hosts only expose
// the GPU counters to a privileged exec.
func NewToolReader(source string, ex Execer, privileged bool) (Reader, error) {
	if ex == nil {
		return nil, errors.New("new VRAM tool reader: nil Execer")
	}
	_, parse, ok := toolCommand(source)
	if !ok {
		return nil, fmt.Errorf("new VRAM tool reader: unknown source %q (want %s, %s or %s)",
			source, SourceRocmSMI, SourceAMDSMI, SourceNvidiaSMI)
	}
	return &toolReader{source: source, ex: ex, privileged: privileged, parse: parse, now: time.Now}, nil
}

func (r *toolReader) Source() string { return r.source }

func (r *toolReader) Read(ctx context.Context) ([]GPU, error) {
	argv, _, _ := toolCommand(r.source)
	out, err := r.ex.Exec(ctx, argv, r.privileged)
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
	return gpus, nil
}
