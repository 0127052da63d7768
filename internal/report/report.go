// Package report turns benchd's benchmark records into what people and
// tools read: tables, CSV, markdown, JSON, the Go benchmark format that
// benchstat compares, comparisons with a significance test, and charts.
// It works on the generated messages (a stored [benchdv1.Benchmark] holds
// everything: settings, machine, every trial, the summary, the VRAM
// timeline) and needs no connection to benchd.
package report

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// Format is an output format of run, show and history.
type Format string

const (
	Table     Format = "table"
	JSON      Format = "json"
	CSV       Format = "csv"
	Benchstat Format = "benchstat"
	Markdown  Format = "markdown"
)

// Formats lists every Format, for usage text.
var Formats = []Format{Table, JSON, CSV, Benchstat, Markdown}

// ParseFormat accepts a Format's name ("md" is markdown).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Table, JSON, CSV, Benchstat, Markdown:
		return f, nil
	case "md":
		return Markdown, nil
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q: want one of %s", s, strings.Join(names, ", "))
}

// Measured returns the trials that count (record.Measured).
func Measured(b *benchdv1.Benchmark) []*benchdv1.Trial { return record.Measured(b) }

// State is a benchmark's state without the enum's prefix: RUNNING,
// SUCCEEDED, FAILED or CANCELLED.
func State(b *benchdv1.Benchmark) string {
	return record.State(b.GetState())
}

// ID is the benchmark's id, wherever the record has it.
func ID(b *benchdv1.Benchmark) string {
	if id := b.GetBenchmarkId(); id != "" {
		return id
	}
	return b.GetStarted().GetBenchmarkId()
}

// Model is the model as requested.
func Model(b *benchdv1.Benchmark) string {
	if m := b.GetModel(); m != "" {
		return m
	}
	return b.GetStarted().GetModel()
}

// settings is the request with defaults filled in, from wherever the
// record has it.
func settings(b *benchdv1.Benchmark) *benchdv1.RunBenchmarkRequest {
	if s := b.GetSettings(); s != nil {
		return s
	}
	return b.GetStarted().GetSettings()
}

func ts(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// createdAt is when the benchmark started.
func createdAt(b *benchdv1.Benchmark) time.Time {
	if t := ts(b.GetCreatedAt()); !t.IsZero() {
		return t
	}
	return ts(b.GetStarted().GetStartedAt())
}

func ms(ns float64) string { return fmt.Sprintf("%.1fms", ns/float64(time.Millisecond)) }

// BytesIEC prints a byte count with a binary prefix.
func BytesIEC(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

func trimDigest(d string) string { return strings.TrimPrefix(d, "sha256:") }

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// settingsLine describes how a benchmark was run, in one line.
func settingsLine(b *benchdv1.Benchmark) string {
	s := settings(b)
	if s == nil {
		return ""
	}
	// What a sweep varies is on its own line (sweepLine), not here.
	w := s.GetSweep()
	var parts []string
	// A concurrency level's size is its requests, not the repetitions.
	if s.GetConcurrency() == nil {
		parts = append(parts, fmt.Sprintf("reps %d", s.GetRepetitions()))
	}
	parts = append(parts, fmt.Sprintf("warm-up %d", s.GetWarmup()))
	if len(w.GetMaxTokens()) == 0 {
		parts = append(parts, fmt.Sprintf("max tokens %d", s.GetMaxTokens()))
	}
	switch {
	case len(w.GetPromptTokens()) > 0:
	case s.PromptTokens != nil:
		parts = append(parts, fmt.Sprintf("prompt tokens ~%d", s.GetPromptTokens()))
	default:
		parts = append(parts, fmt.Sprintf("prompts %d", max(len(s.GetPrompts()), 1)))
	}
	if s.NumCtx != nil {
		parts = append(parts, fmt.Sprintf("num_ctx %d", s.GetNumCtx()))
	}
	parts = append(parts, fmt.Sprintf("temperature %g", s.GetTemperature()), fmt.Sprintf("seed %d", s.GetSeed()))
	if s.GetCold() {
		parts = append(parts, "cold")
	} else {
		parts = append(parts, "warm")
	}
	return strings.Join(parts, ", ")
}

// machineLine describes where a benchmark ran.
func machineLine(b *benchdv1.Benchmark) string {
	st := b.GetStarted()
	m := st.GetMachine()
	var parts []string
	if m.GetHostname() != "" {
		parts = append(parts, "host "+m.GetHostname())
	}
	if m.GetKernel() != "" {
		parts = append(parts, "kernel "+m.GetKernel())
	}
	if m.GetBenchdVersion() != "" {
		parts = append(parts, "benchd "+m.GetBenchdVersion())
	}
	gpus := st.GetGpus()
	if len(gpus) == 0 {
		gpus = m.GetGpus()
	}
	for _, g := range gpus {
		parts = append(parts, fmt.Sprintf("GPU %d %s (%s total, via %s)", g.GetIndex(), g.GetName(), BytesIEC(g.GetTotalBytes()), g.GetSource()))
	}
	return strings.Join(parts, ", ")
}

// modelLine describes the model: digest, size, quantisation.
func modelLine(b *benchdv1.Benchmark) string {
	mi := b.GetStarted().GetModelInfo()
	parts := []string{Model(b)}
	if d := trimDigest(mi.GetDigest()); d != "" {
		parts = append(parts, "digest "+short(d, 12))
	}
	for _, v := range []string{mi.GetFamily(), mi.GetParameterSize(), mi.GetQuantizationLevel()} {
		if v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "  ")
}
