package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/buildinfo"
)

// Completion asks benchd for one page of the history, briefly: a shell
// waits for it on every Tab.
const (
	completeTimeout = 2 * time.Second
	completePage    = 100
)

// recent lists the newest benchmarks for completion; nil when benchd does
// not answer in time, so Tab falls back to nothing (or to files).
func (a *app) recent(cmd *cobra.Command) []client.Benchmark {
	ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
	defer cancel()
	c, err := a.dial(ctx)
	if err != nil {
		return nil
	}
	bs, _, err := c.ListBenchmarks(ctx, client.ListOptions{PageSize: completePage})
	if err != nil {
		return nil
	}
	return bs
}

// completeIDs completes benchmark IDs from the history, each described by
// its model and state; files too where a FILE.json may stand for an ID.
func (a *app) completeIDs(files bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, b := range a.recent(cmd) {
			out = append(out, cobra.CompletionWithDesc(b.ID, b.Model+" "+b.State))
		}
		if files {
			return out, cobra.ShellCompDirectiveDefault
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeModels completes model names: for run (and each of sweep's
// MODEL...), first the models ollama
// has (ListModels), described by size and quantisation; then, and for
// --model filters only, the names benchmarked before (as requested: "tiny"
// beside ollama's "tiny:latest").
func (a *app) completeModels(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if cmd.Name() == "run" && len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	if cmd.Name() == "run" || cmd.Name() == "sweep" {
		for _, m := range a.installed(cmd) {
			seen[m.Name] = true
			out = append(out, cobra.CompletionWithDesc(m.Name, strings.TrimSpace(m.ModelInfo.ParameterSize+" "+m.ModelInfo.QuantizationLevel)))
		}
	}
	for _, b := range a.recent(cmd) {
		if !seen[b.Model] {
			seen[b.Model] = true
			out = append(out, b.Model)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// installed lists ollama's models for completion; nil when benchd does not
// answer in time (or has no ListModels).
func (a *app) installed(cmd *cobra.Command) []client.InstalledModel {
	ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
	defer cancel()
	c, err := a.dial(ctx)
	if err != nil {
		return nil
	}
	ms, err := c.ListModels(ctx)
	if err != nil {
		return nil
	}
	return ms.Installed
}

// manCmd writes benchctl's man pages, one a command, from the same
// definitions as --help (what packagers install). Their date is
// $SOURCE_DATE_EPOCH's when set, for reproducible builds.
func (a *app) manCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages (benchctl.1, benchctl-run.1, ...) into DIR",
		Hidden: true,
		Args:   argsUsage(cobra.ExactArgs(1), "the directory to write into is required"),
		RunE: a.runE(false, func(_ context.Context, _ *client.Client, _ *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			hdr := &doc.GenManHeader{Title: "BENCHCTL", Section: "1", Source: "benchd " + buildinfo.Version(), Manual: "benchd"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return fmt.Errorf("man pages: %w", err)
			}
			return nil
		}),
	}
}
