package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// maxPageSize is the most ListBenchmarks returns in one page.
const maxPageSize = 1000

func (a *app) historyCmd() *cobra.Command {
	var (
		opts         client.ListOptions
		since, until string
		limit, page  int
	)
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List benchmarks, newest first",
		Long: `List benchmarks newest first (20 by default; --limit 0 for all, read with
ListBenchmarks page by page, --page-size at a time), filtered by --model (the
name as requested: tiny and tiny:latest are different names) and start time.
-o jsonl prints one benchmark a line, -o benchstat every trial of each.`,
		Args: argsUsage(cobra.NoArgs, "takes no arguments (filter with --model)"),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, _ []string) error {
			if limit < 0 {
				return usagef("--limit must be 0 (all) or more")
			}
			if page < 1 || page > maxPageSize {
				return usagef("--page-size must be between 1 and %d", maxPageSize)
			}
			now := time.Now()
			var err error
			if opts.Since, err = parseWhen(since, now); err != nil {
				return usagef("--since: %w", err)
			}
			if opts.Until, err = parseWhen(until, now); err != nil {
				return usagef("--until: %w", err)
			}
			bs, err := list(ctx, c, opts, limit, page)
			if err != nil {
				return err
			}
			return a.writeHistory(ctx, c, bs)
		}),
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Model, "model", "", "only benchmarks of this model (as requested)")
	fs.StringVar(&since, "since", "", "only benchmarks started at or after this: a duration back from now (36h, 7d) or a time (RFC 3339, or 2006-01-02)")
	fs.StringVar(&until, "until", "", "only benchmarks started before this (same forms as --since)")
	fs.IntVar(&limit, "limit", 20, "at most this many, newest first (0: all)")
	fs.IntVar(&page, "page-size", maxPageSize, fmt.Sprintf("benchmarks per ListBenchmarks call (1 to %d)", maxPageSize))
	_ = cmd.RegisterFlagCompletionFunc("model", a.completeModels)
	a.oldOutputFlags(cmd, true, false)
	a.accepts(cmd, outputs...)
	return cmd
}

// list reads up to limit benchmarks (0: all), newest first, page by page.
func list(ctx context.Context, c *client.Client, opts client.ListOptions, limit, page int) ([]*benchdv1.Benchmark, error) {
	var bs []*benchdv1.Benchmark
	for {
		opts.PageSize = page
		if limit > 0 {
			opts.PageSize = min(limit-len(bs), page)
		}
		got, next, err := c.ListBenchmarks(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, b := range got {
			bs = append(bs, b.Raw)
		}
		if next == "" || (limit > 0 && len(bs) >= limit) {
			return bs, nil
		}
		opts.PageToken = next
	}
}

// writeHistory prints a listing in -o's format.
func (a *app) writeHistory(ctx context.Context, c *client.Client, bs []*benchdv1.Benchmark) error {
	w := a.e.stdout
	switch a.output {
	case report.JSON:
		return writeProto(w, a.output, &benchdv1.ListBenchmarksResponse{Benchmarks: bs})
	case jsonLines:
		return writeBenchmarks(w, a.output, bs...)
	case report.CSV:
		return report.WriteHistoryCSV(w, bs)
	case report.Markdown:
		return report.WriteHistoryMarkdown(w, bs)
	case report.Benchstat:
		// Listings carry no trials; benchstat needs them.
		full := make([]*benchdv1.Benchmark, 0, len(bs))
		for _, b := range bs {
			g, err := c.GetBenchmark(ctx, report.ID(b))
			if err != nil {
				return err
			}
			full = append(full, g.Raw)
		}
		return report.WriteBenchstat(w, full...)
	}
	return report.WriteHistoryTable(w, bs)
}

// parseWhen reads --since and --until: empty (no bound), a duration back
// from now ("36h", "90m", "7d"), an RFC 3339 time or a date (local
// midnight).
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 {
			return now.Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must not be negative", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (36h, 7d) nor a time (2006-01-02T15:04:05Z07:00, 2006-01-02)", s)
}

// load reads a benchmark: by id from benchd, or from a file that
// `benchctl show ID -o json` wrote (so that runs from different
// hosts, or from two benchds, can be shown, compared and charted together).
func load(ctx context.Context, c *client.Client, arg string) (*benchdv1.Benchmark, error) {
	if record.IDPattern.MatchString(arg) {
		b, err := c.GetBenchmark(ctx, arg)
		if err != nil {
			return nil, err
		}
		return b.Raw, nil
	}
	data, err := os.ReadFile(arg)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, usagef("%q is neither a benchmark ID (like 20260102T030405Z-0123abcd) nor a file", arg)
	}
	if err != nil {
		return nil, err
	}
	var b benchdv1.Benchmark
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &b); err != nil || report.ID(&b) == "" {
		if err == nil {
			err = errors.New("it has no benchmark_id")
		}
		return nil, fmt.Errorf("%s: not a benchmark as `benchctl show ID -o json` writes it: %w", arg, err)
	}
	return &b, nil
}

// getAll loads benchmarks by id or file, in order.
func getAll(ctx context.Context, c *client.Client, args []string) ([]*benchdv1.Benchmark, error) {
	out := make([]*benchdv1.Benchmark, 0, len(args))
	for _, a := range args {
		b, err := load(ctx, c, a)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func (a *app) showCmd() *cobra.Command {
	var cells, trials bool
	cmd := &cobra.Command{
		Use:   "show ID...",
		Short: "Print benchmarks with every trial",
		Long: `Print benchmarks with every trial, the settings, the model (digest, family,
size, quantisation), the machine (host, kernel, GPUs, benchd and ollama
versions) and the summary. A concurrency run is printed as run printed it, a
row per level (--trials: every request, then the levels). An ID may be a
FILE.json that "show ID -o json" wrote.`,
		Args:              argsUsage(cobra.MinimumNArgs(1), "a benchmark ID is required (benchctl history lists them)"),
		ValidArgsFunction: a.completeIDs(true),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, args []string) error {
			bs, err := getAll(ctx, c, args)
			if err != nil {
				return err
			}
			if cells {
				for _, b := range bs {
					if !report.IsSweep(b) {
						return usagef("show --cells: %s is not a sweep", report.ID(b))
					}
				}
				return writeSweeps(a.e.stdout, a.output, bs...)
			}
			if trials {
				return writeBenchmarks(a.e.stdout, a.output, bs...)
			}
			return writeRuns(a.e.stdout, a.output, bs...)
		}),
	}
	cmd.Flags().BoolVar(&cells, "cells", false, "print sweeps as sweep does: a row per cell (-o table, md, csv)")
	cmd.Flags().BoolVar(&trials, "trials", false, "print concurrency runs by every request (trial), not a row per level")
	a.oldOutputFlags(cmd, true, false)
	a.accepts(cmd, outputs...)
	return cmd
}

func (a *app) cancelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:               "cancel ID",
		Short:             "Stop a running benchmark (its trials so far are stored)",
		Args:              argsUsage(cobra.ExactArgs(1), "one benchmark ID is required"),
		ValidArgsFunction: a.completeIDs(false),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, args []string) error {
			b, err := c.CancelBenchmark(ctx, args[0])
			if err != nil {
				return err
			}
			if a.output != report.Table {
				return writeProto(a.e.stdout, a.output, b.Raw)
			}
			fmt.Fprintf(a.e.stdout, "cancelled benchmark %s: %s stored, state %s\n", b.ID, trials(len(b.Trials)), b.State)
			return nil
		}),
	}
	a.accepts(cmd, report.Table, report.JSON, jsonLines)
	return cmd
}

func (a *app) compareCmd() *cobra.Command {
	var alpha float64
	cmd := &cobra.Command{
		Use:   "compare BASE ID...",
		Short: "Test each run's metrics against BASE (Welch's t-test) and give a verdict",
		Long: `Test each metric of each run against BASE (generation and prompt tok/s, TTFT,
wall time, load time, peak VRAM) with Welch's t-test over the measured trials,
and say whether a difference is significant (p < --alpha).`,
		Args:              argsUsage(cobra.MinimumNArgs(2), "give a base benchmark ID and at least one more"),
		ValidArgsFunction: a.completeIDs(true),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, args []string) error {
			if alpha <= 0 || alpha >= 1 {
				return usagef("--alpha must be between 0 and 1")
			}
			bs, err := getAll(ctx, c, args)
			if err != nil {
				return err
			}
			cmp := report.Compare(bs[0], bs[1:], alpha)
			switch a.output {
			case report.JSON:
				return report.WriteComparisonJSON(a.e.stdout, cmp)
			case report.Markdown:
				return report.WriteComparisonMarkdown(a.e.stdout, cmp)
			}
			return report.WriteComparisonTable(a.e.stdout, cmp)
		}),
	}
	cmd.Flags().Float64Var(&alpha, "alpha", report.DefaultAlpha, "significance level: a p-value below it is a real difference")
	a.oldOutputFlags(cmd, true, false)
	a.accepts(cmd, report.Table, report.JSON, report.Markdown)
	return cmd
}

func (a *app) chartCmd() *cobra.Command {
	var out, vramID string
	cmd := &cobra.Command{
		Use:   "chart ID... --out FILE.png|FILE.svg",
		Short: "Draw rates ± stddev per run and a VRAM timeline",
		Long: `Draw, for each run, the mean generation and prompt eval rates with ±1 stddev
error bars (two panels), and below them the VRAM timeline of the first run
(--vram ID picks another). The file's name says its format: .png or .svg
(1200×800).

One sweep (see sweep) is drawn as a sweep: for each setting it varied, the
objective's figure (mean ± 1 stddev) against that setting's values, a line
for each combination of the other settings, the best cell ringed; below, per
cell, the peak VRAM sampled and the model's memory as ollama's /api/ps put
it (all of it, and the part in VRAM). 1200 wide; 400 high per row of two
settings' panels, plus 400 for memory.

One concurrency run (see run --concurrency) is drawn against the requests in
flight: output tok/s and req/s, then the p50 and p99 of TTFT, end-to-end
latency, inter-token latency and queue time (1200×1200).`,
		Args:              argsUsage(cobra.MinimumNArgs(1), "at least one benchmark ID is required"),
		ValidArgsFunction: a.completeIDs(true),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, args []string) error {
			if out == "" {
				return usagef("chart: --out FILE.png or --out FILE.svg is required")
			}
			cf, err := report.ChartFormatOf(out)
			if err != nil {
				return usageError{err}
			}
			bs, err := getAll(ctx, c, args)
			if err != nil {
				return err
			}
			vram := bs[0]
			if vramID != "" {
				if vram, err = pick(ctx, c, bs, vramID); err != nil {
					return err
				}
			}
			draw := func(w io.Writer) error { return report.Chart(w, cf, bs, vram) }
			switch {
			case len(bs) != 1 || vramID != "":
			case report.IsSweep(bs[0]):
				draw = func(w io.Writer) error { return report.SweepChart(w, cf, bs[0]) }
			case report.IsConcurrency(bs[0]):
				draw = func(w io.Writer) error { return report.ConcurrencyChart(w, cf, bs[0]) }
			}
			if err := writeChart(out, draw); err != nil {
				return err
			}
			fmt.Fprintf(a.e.stderr, "wrote %s\n", out)
			return nil
		}),
	}
	cmd.Flags().StringVar(&out, "out", "", "the chart file: NAME.png or NAME.svg")
	cmd.Flags().StringVar(&vramID, "vram", "", "whose VRAM timeline to draw (default: the first ID's)")
	_ = cmd.MarkFlagFilename("out", "png", "svg")
	_ = cmd.RegisterFlagCompletionFunc("vram", a.completeIDs(true))
	a.accepts(cmd, report.Table)
	return cmd
}

// pick returns the benchmark id among bs, or loads it.
func pick(ctx context.Context, c *client.Client, bs []*benchdv1.Benchmark, id string) (*benchdv1.Benchmark, error) {
	for _, b := range bs {
		if report.ID(b) == id {
			return b, nil
		}
	}
	return load(ctx, c, id)
}

// writeChart writes to a temporary file beside the target, then renames
// it: an interrupted chart leaves no half-written image.
func writeChart(out string, draw func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := draw(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("chart: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
