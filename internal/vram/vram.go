// Package vram reads per-GPU VRAM usage from whichever source a host offers:
// the amdgpu sysfs files, or rocm-smi, amd-smi or nvidia-smi run inside the
// ollama container.
//
// Every source is a [Reader]. The tool outputs are parsed by pure functions
// ([ParseRocmSMI], [ParseAMDSMI], [ParseNvidiaSMI]) so that they can be tested
// and fuzzed against real captured outputs without a GPU.
package vram

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/benchd/benchd/internal/dockerx"
)

// Source names, as reported by [Reader.Source] and stored in [GPU.Source].
const (
	SourceSysfs     = "sysfs"
	SourceRocmSMI   = "rocm-smi"
	SourceAMDSMI    = "amd-smi"
	SourceNvidiaSMI = "nvidia-smi"
)

// Vendor names stored in [GPU.Vendor].
const (
	VendorAMD    = "amd"
	VendorNvidia = "nvidia"
)

var (
	// ErrNoSource is returned when no VRAM source works on this host.
	ErrNoSource = errors.New("vram: no usable VRAM source")

	// ErrNoGPU is returned when a source works but reports no GPU whose VRAM
	// can be read.
	ErrNoGPU = errors.New("vram: no GPU with readable VRAM")

	// ErrToolFailed is wrapped by a tool reader's errors when the tool ran
	// but failed (a non-zero exit) or printed output that is not what it
	// documents (truncated, binary, malformed): a problem of the tool or
	// the GPU driver on the host, not of benchd.
	ErrToolFailed = errors.New("VRAM tool failed")

	// ErrOff: benchd runs with --vram-source none.
	ErrOff = errors.New("VRAM sampling is off (benchd --vram-source none)")
)

// GPU is one VRAM reading of one GPU.
type GPU struct {
	// Index is the GPU's index as the source numbers it (N in cardN for
	// sysfs and rocm-smi). Indices from different sources need not agree.
	Index int
	// Name is best effort: a marketing name where the source has one, else
	// a placeholder such as "card1".
	Name string
	// Vendor is VendorAMD or VendorNvidia.
	Vendor     string
	TotalBytes uint64
	UsedBytes  uint64
	// Source is one of the Source* constants.
	Source string
	// SampledAt is when the reading was taken. Parsers leave it zero; readers
	// set it.
	SampledAt time.Time
	// Telemetry is power, energy, temperatures, busy percent and clocks,
	// each where the source reports it.
	Telemetry Telemetry
}

// Reader reads the current VRAM usage of every GPU a source knows of.
type Reader interface {
	// Source names the source, one of the Source* constants (or "auto" for
	// an [Auto] reader that has not chosen yet).
	Source() string
	// Read returns one reading per GPU, sorted by Index. The slice is the
	// caller's to keep.
	Read(ctx context.Context) ([]GPU, error)
}

// Execer runs a fixed argv inside the ollama container and returns its
// stdout. A non-zero exit status is an error.
type Execer interface {
	Exec(ctx context.Context, argv []string, privileged bool) (stdout []byte, err error)
}

// checkText rejects input that cannot be a tool's text output, so that the
// format parsers only ever see bounded, printable text and can report
// "not what we expected" rather than a confusing syntax error.
func checkText(b []byte) error {
	// The bound of an exec's output is also what a parser accepts: real
	// outputs for a handful of GPUs are well under 10 KiB.
	if len(b) > dockerx.MaxOutput {
		return fmt.Errorf("output is %d bytes, over the %d-byte limit", len(b), dockerx.MaxOutput)
	}
	if !utf8.Valid(b) {
		return errors.New("output is not UTF-8 text")
	}
	for i, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			return fmt.Errorf("output holds control byte %#02x at offset %d: not text", c, i)
		}
	}
	return nil
}

// checkReadings enforces what every parser promises: at least one GPU,
// unique indices, and used never above total. A reading with used > total
// means we read the wrong field or unit, which is worse than no reading.
func checkReadings(gpus []GPU) error {
	if len(gpus) == 0 {
		return ErrNoGPU
	}
	for i, g := range gpus {
		if g.UsedBytes > g.TotalBytes {
			return fmt.Errorf("GPU %d: used %d bytes exceeds total %d bytes", g.Index, g.UsedBytes, g.TotalBytes)
		}
		if i > 0 && gpus[i-1].Index == g.Index {
			return fmt.Errorf("GPU %d reported twice", g.Index)
		}
	}
	return nil
}
