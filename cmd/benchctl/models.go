package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
)

func (a *app) modelsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List ollama's models and those loaded now",
		Long: `List the models ollama has, with digest (its first 12 digits are ollama's ID),
size, family, parameter size, quantisation and the context length the model was
trained for (what "ollama list" shows, and more), and those loaded now, with
the memory they take, how much of it is GPU memory (a model that spilled shows
a CPU/GPU split, as "ollama ps" does) and when they unload. Read-only.
-o csv prints a row per model, the loaded columns filled for those in memory.`,
		Args: argsUsage(cobra.NoArgs, "takes no arguments"),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, _ []string) error {
			ms, err := c.ListModels(ctx)
			if err != nil {
				return err
			}
			w := a.e.stdout
			switch a.output {
			case report.JSON, jsonLines:
				return writeProto(w, a.output, ms.Raw)
			case report.CSV:
				return report.WriteModelsCSV(w, ms.Raw)
			case report.Markdown:
				return report.WriteModelsMarkdown(w, ms.Raw)
			}
			return report.WriteModelsTable(w, ms.Raw)
		}),
	}
	a.accepts(cmd, report.Table, report.JSON, jsonLines, report.CSV, report.Markdown)
	return cmd
}
