package vram

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// nvidiaFields is the --query-gpu list the parser expects, in order.
const nvidiaFields = "index, name, memory.total, memory.used"

// ParseNvidiaSMI parses the output of
// `nvidia-smi --query-gpu=index,name,memory.total,memory.used --format=csv,noheader,nounits`:
// one "index, name, total, used" line per GPU, sizes in MiB.
//
// Only that exact form is accepted. A header line, unit suffixes, the
// human-readable table, or a different field list (for example a
// --query-compute-apps output) is rejected with an error saying what was
// seen, because guessing at columns is how a memory reading ends up holding
// a PID. A field nvidia-smi cannot provide prints as "[N/A]" (or another
// bracketed reason); that is an error naming the GPU and field, since
// nvidia-smi has no partial per-GPU output to fall back on.
func ParseNvidiaSMI(out []byte) ([]GPU, error) {
	gpus, err := parseNvidiaSMI(out)
	if err != nil {
		return nil, fmt.Errorf("parse nvidia-smi output: %w", err)
	}
	return gpus, nil
}

func parseNvidiaSMI(out []byte) ([]GPU, error) {
	if err := checkText(out); err != nil {
		return nil, err
	}
	if bytes.Contains(out, []byte("NVIDIA-SMI")) || bytes.Contains(out, []byte("+-----")) {
		return nil, errors.New("got the human-readable nvidia-smi table, want --format=csv,noheader,nounits output")
	}
	var gpus []GPU
	lineNo := 0
	for rest := out; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		lineNo++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		g, err := nvidiaLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		gpus = append(gpus, g)
	}
	if len(gpus) == 0 {
		return nil, fmt.Errorf("output is empty: %w", ErrNoGPU)
	}
	slices.SortFunc(gpus, func(a, b GPU) int { return a.Index - b.Index })
	if err := checkReadings(gpus); err != nil {
		return nil, err
	}
	return gpus, nil
}

func nvidiaLine(line string) (GPU, error) {
	fields := strings.Split(line, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	if strings.EqualFold(fields[0], "index") {
		return GPU{}, errors.New("got a CSV header line, want --format=csv,noheader,nounits output")
	}
	if len(fields) != 4 {
		return GPU{}, fmt.Errorf("got %d comma-separated fields, want 4 (%s)", len(fields), nvidiaFields)
	}
	idx, err := strconv.ParseUint(fields[0], 10, 31)
	if err != nil {
		return GPU{}, fmt.Errorf("index %.20q is not a small non-negative integer", fields[0])
	}
	g := GPU{
		Index:  int(idx),
		Name:   fields[1],
		Vendor: VendorNvidia,
		Source: SourceNvidiaSMI,
	}
	if g.TotalBytes, err = nvidiaMiB(fields[2]); err != nil {
		return GPU{}, fmt.Errorf("GPU %d memory.total: %w", g.Index, err)
	}
	if g.UsedBytes, err = nvidiaMiB(fields[3]); err != nil {
		return GPU{}, fmt.Errorf("GPU %d memory.used: %w", g.Index, err)
	}
	return g, nil
}

func nvidiaMiB(s string) (uint64, error) {
	if strings.HasPrefix(s, "[") {
		// "[N/A]", "[Not Supported]", "[Insufficient Permissions]", ...
		return 0, fmt.Errorf("nvidia-smi reports %.40s", s)
	}
	if strings.HasSuffix(s, "MiB") {
		return 0, fmt.Errorf("value %.20q has a unit, want --format=...,nounits output", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("value %.20q is not a whole number of MiB", s)
	}
	if n > ^uint64(0)>>20 {
		return 0, fmt.Errorf("%d MiB overflows 64 bits of bytes", n)
	}
	return n << 20, nil
}
