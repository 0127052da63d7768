package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

// watchOutputs are the formats of `vram --watch`: a stream, so not one
// JSON document.
var watchOutputs = []report.Format{report.Table, jsonLines, report.CSV}

func (a *app) vramCmd() *cobra.Command {
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "vram",
		Short: "Sample GPU memory once, or every --watch interval until Ctrl-C",
		Long: `Sample every GPU's memory once, or with --watch INTERVAL a line (-o jsonl: a
record; -o csv: rows) per sample until Ctrl-C, which ends it with status 0.
--watch takes table, jsonl or csv.`,
		Args: argsUsage(cobra.NoArgs, "takes no arguments"),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, _ []string) error {
			if every > 0 {
				if !slices.Contains(watchOutputs, a.output) {
					return usagef("vram --watch: -o %s is not supported; use one of %s", outputName(a.output), outputNames(watchOutputs))
				}
				return a.watchVRAM(ctx, c, every)
			}
			gpus, err := c.SampleVRAM(ctx)
			if err != nil {
				return err
			}
			return a.writeGPUs(gpus, true)
		}),
	}
	cmd.Flags().DurationVar(&every, "watch", 0, "sample at this interval until interrupted (50ms to 60s)")
	a.oldOutputFlags(cmd, false, true)
	a.accepts(cmd, report.Table, report.JSON, jsonLines, report.CSV)
	return cmd
}

// watchVRAM prints a sample per interval until ctx ends (Ctrl-C), which
// is how a watch ends: not an error.
func (a *app) watchVRAM(ctx context.Context, c *client.Client, every time.Duration) error {
	first := true
	err := c.WatchVRAM(ctx, every, func(gpus []client.GPU) error {
		defer func() { first = false }()
		if a.output == report.Table {
			printGPULine(a.e.stdout, gpus)
			return nil
		}
		return a.writeGPUs(gpus, first)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// writeGPUs prints one sample in -o's format; header says whether CSV
// starts with its header line.
func (a *app) writeGPUs(gpus []client.GPU, header bool) error {
	switch a.output {
	case report.JSON, jsonLines:
		return writeProto(a.e.stdout, a.output, &benchdv1.SampleVRAMResponse{Gpus: rawGPUs(gpus)})
	case report.CSV:
		return gpuCSV(a.e.stdout, gpus, header)
	}
	printGPUs(a.e.stdout, gpus)
	return nil
}

func (a *app) healthCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Print benchd's serving status and version",
		Long: fmt.Sprintf(`Print benchd's health (SERVING; NOT_SERVING while the ollama container or
Docker is unusable) and the version of the benchd that answered. Anything but
SERVING exits %d (%d + UNAVAILABLE) after printing it; with -o json or jsonl
the health object is the output, with no error record.`, statusExit(codes.Unavailable), exitStatusBase),
		Args: argsUsage(cobra.NoArgs, "takes no arguments"),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, _ []string) error {
			h, err := c.HealthInfo(ctx)
			if err != nil {
				return err
			}
			if a.output == report.Table {
				line := h.Status
				if h.Version != "" { // an older benchd does not say
					line += " benchd " + h.Version
				}
				fmt.Fprintln(a.e.stdout, line)
			} else if err := writeJSON(a.e.stdout, a.output, health{Status: h.Status, BenchdVersion: h.Version}); err != nil {
				return err
			}
			if h.Status != "SERVING" {
				return answered{status.Errorf(codes.Unavailable, "benchd is %s: the ollama container or Docker is unusable", h.Status)}
			}
			return nil
		}),
	}
	a.accepts(cmd, report.Table, report.JSON, jsonLines)
	return cmd
}
