package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
)

func (a *app) gpuCmd() *cobra.Command {
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "gpu",
		Short: "Show each GPU's memory, power, temperatures, busy percent and clocks",
		Long: `Show every GPU's VRAM and telemetry once, or with --watch INTERVAL a table per
sample until Ctrl-C, which ends it with status 0. A value the GPU (or its
source: amdgpu sysfs, rocm-smi, amd-smi, nvidia-smi) does not report is "-",
never 0. -o jsonl prints each sample as a SampleVRAMResponse message (the GPU
fields of docs/api.md), one a line.`,
		Args: argsUsage(cobra.NoArgs, "takes no arguments"),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, _ []string) error {
			if every <= 0 {
				gpus, err := c.SampleVRAM(ctx)
				if err != nil {
					return err
				}
				return a.writeGPUTable(gpus)
			}
			err := c.WatchVRAM(ctx, every, func(gpus []client.GPU) error {
				if a.output == report.Table {
					fmt.Fprintln(a.e.stdout, time.Now().Local().Format("15:04:05.000"))
				}
				return a.writeGPUTable(gpus)
			})
			if ctx.Err() != nil {
				return nil
			}
			return err
		}),
	}
	cmd.Flags().DurationVar(&every, "watch", 0, "sample at this interval until interrupted (50ms to 60s)")
	a.accepts(cmd, report.Table, jsonLines)
	return cmd
}

func (a *app) writeGPUTable(gpus []client.GPU) error {
	if a.output == jsonLines {
		return a.writeGPUs(gpus, false)
	}
	return report.GPUTable(a.e.stdout, rawGPUs(gpus))
}
