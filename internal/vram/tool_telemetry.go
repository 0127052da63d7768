package vram

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// ToolOption configures a tool reader (NewToolReader).
type ToolOption func(*toolReader)

// WithTelemetry makes a tool reader also run the source's telemetry query
// (power, energy, temperatures, busy, clocks) after each VRAM read, a second
// exec with its own fixed argv, and add what it reports to each GPU. The
// VRAM query stays as it was: a tool build that refuses a telemetry flag
// costs the telemetry, never the VRAM reading. Failures are logged on log,
// the first at warning level and the rest at debug.
func WithTelemetry(log *slog.Logger) ToolOption {
	return func(r *toolReader) {
		if log == nil {
			log = slog.Default()
		}
		r.telemetry = &toolTelemetry{log: log}
	}
}

type toolTelemetry struct {
	log    *slog.Logger
	mu     sync.Mutex
	warned bool
}

// telemetryCommand is the fixed telemetry argv of a source (paths as
// toolCommand's) and its parser.
func telemetryCommand(source string) (args []string, parse func([]byte) (map[int]Telemetry, error)) {
	switch source {
	case SourceRocmSMI:
		return []string{"--showpower", "--showtemp", "--showuse", "--showclocks", "--showenergycounter", "--json"}, ParseRocmSMITelemetry
	case SourceAMDSMI:
		return []string{"metric", "--power", "--temperature", "--usage", "--clock", "--energy", "--json"}, ParseAMDSMITelemetry
	case SourceNvidiaSMI:
		return []string{"--query-gpu=" + nvidiaTelemetryQuery, "--format=csv,nounits"}, ParseNvidiaSMITelemetry
	}
	return nil, nil
}

func (tt *toolTelemetry) add(ctx context.Context, r *toolReader, gpus []GPU) {
	paths, _, _, _ := toolCommand(r.source)
	args, parse := telemetryCommand(r.source)
	out, err := r.execAt(ctx, paths, args)
	var tel map[int]Telemetry
	if err == nil {
		tel, err = parse(out)
	}
	if err != nil {
		if ctx.Err() == nil {
			tt.failed(ctx, r.source, err)
		}
		return
	}
	for i := range gpus {
		gpus[i].Telemetry = tel[gpus[i].Index]
	}
}

func (tt *toolTelemetry) failed(ctx context.Context, source string, err error) {
	tt.mu.Lock()
	first := !tt.warned
	tt.warned = true
	tt.mu.Unlock()
	lvl := slog.LevelDebug
	if first {
		lvl = slog.LevelWarn
	}
	tt.log.Log(ctx, lvl, "GPU telemetry unavailable; VRAM readings go on without it", "source", source, "err", fmt.Errorf("telemetry query: %w", err))
}
