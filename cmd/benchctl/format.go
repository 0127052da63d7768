package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

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

// rawGPUs are the messages benchd sent, for protojson output.
func rawGPUs(gpus []client.GPU) []*benchdv1.GPU {
	out := make([]*benchdv1.GPU, len(gpus))
	for i, g := range gpus {
		out[i] = g.Raw
	}
	return out
}
