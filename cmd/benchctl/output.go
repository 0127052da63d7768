package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// jsonLines is the one output that is benchctl's own rather than report's:
// one JSON record a line, written as the records come (run and watch
// events, VRAM samples, history rows).
const jsonLines report.Format = "jsonl"

// outputs are the values of -o, in the order help lists them.
var outputs = []report.Format{report.Table, report.JSON, jsonLines, report.CSV, report.Markdown, report.Benchstat}

// outputName is how help and errors spell a format: md is shorter than
// report's markdown, which -o still accepts.
func outputName(f report.Format) string {
	if f == report.Markdown {
		return "md"
	}
	return string(f)
}

func outputNames(fs []report.Format) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = outputName(f)
	}
	return strings.Join(names, ", ")
}

// outputValue is the pflag.Value of -o and of its deprecated aliases
// --format and --json, which all write one format.
type outputValue struct{ f *report.Format }

func (v outputValue) String() string { return outputName(*v.f) }
func (v outputValue) Type() string   { return "format" }

func (v outputValue) Set(s string) error {
	if s == string(jsonLines) {
		*v.f = jsonLines
		return nil
	}
	f, err := report.ParseFormat(s)
	if err != nil {
		if _, chartErr := report.ChartFormatOf(s); chartErr == nil {
			return fmt.Errorf("%q is a file name: -o is the output format (%s); chart writes its file with --out FILE", s, outputNames(outputs))
		}
		return fmt.Errorf("unknown format %q: want one of %s", s, outputNames(outputs))
	}
	*v.f = f
	return nil
}

// writeProto writes m as indented protojson (json) or on one line (jsonl).
func writeProto(w io.Writer, f report.Format, m proto.Message) error {
	if f == report.JSON {
		return report.WriteJSON(w, m)
	}
	return report.WriteJSONLine(w, m)
}

// writeJSON writes a value that is not a message (health, the error
// record) the way writeProto would.
func writeJSON(w io.Writer, f report.Format, v any) error {
	enc := json.NewEncoder(w)
	if f == report.JSON {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// errorRecord is the last line of stdout of a command that fails with -o
// json or jsonl.
type errorRecord struct {
	Error struct {
		// Code is the canonical gRPC name: NOT_FOUND, INVALID_ARGUMENT, ...
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// health is `health -o json`, with proto-style names.
type health struct {
	Status        string `json:"status"`
	BenchdVersion string `json:"benchd_version"`
}

func printGPUs(w io.Writer, gpus []client.GPU) {
	if len(gpus) == 0 {
		fmt.Fprintln(w, "no GPUs")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "gpu\tname\tvendor\tused\ttotal\tsource")
	for _, g := range gpus {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", g.Index, g.Name, g.Vendor, report.BytesIEC(g.UsedBytes), report.BytesIEC(g.TotalBytes), g.Source)
	}
	tw.Flush()
}

// printGPULine prints one WatchVRAM sample on one line.
func printGPULine(w io.Writer, gpus []client.GPU) {
	at := time.Now()
	parts := make([]string, 0, len(gpus))
	for _, g := range gpus {
		if !g.SampledAt.IsZero() {
			at = g.SampledAt
		}
		parts = append(parts, fmt.Sprintf("gpu%d %s / %s", g.Index, report.BytesIEC(g.UsedBytes), report.BytesIEC(g.TotalBytes)))
	}
	if len(parts) == 0 {
		parts = append(parts, "no GPUs")
	}
	fmt.Fprintf(w, "%s  %s\n", at.Local().Format("15:04:05.000"), strings.Join(parts, "  "))
}

// gpuCSVHeader names the columns of `vram -o csv` after the GPU message's
// fields.
var gpuCSVHeader = []string{"sampled_at", "index", "name", "vendor", "used_bytes", "total_bytes", "source"}

// gpuCSV writes VRAM samples as CSV rows, the header first when header is
// set (once for a --watch stream).
func gpuCSV(w io.Writer, gpus []client.GPU, header bool) error {
	cw := csv.NewWriter(w)
	if header {
		_ = cw.Write(gpuCSVHeader)
	}
	for _, g := range gpus {
		at := ""
		if !g.SampledAt.IsZero() {
			at = g.SampledAt.UTC().Format(time.RFC3339Nano)
		}
		_ = cw.Write([]string{at, strconv.Itoa(g.Index), g.Name, g.Vendor,
			strconv.FormatUint(g.UsedBytes, 10), strconv.FormatUint(g.TotalBytes, 10), g.Source})
	}
	cw.Flush()
	return cw.Error()
}

// rawGPUs are the messages benchd sent, for protojson output.
func rawGPUs(gpus []client.GPU) []*benchdv1.GPU {
	out := make([]*benchdv1.GPU, len(gpus))
	for i, g := range gpus {
		out[i] = g.Raw
	}
	return out
}
