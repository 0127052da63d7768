package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/record"
)

// maxPageSize is the most ListBenchmarks returns in one page.
const maxPageSize = 1000

func historyCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		model  = fs.String("model", "", "only benchmarks of this model (as requested)")
		since  = fs.String("since", "", "only benchmarks started at or after this: a duration back from now (36h, 7d) or a time (RFC 3339, or 2006-01-02)")
		until  = fs.String("until", "", "only benchmarks started before this (same forms as --since)")
		limit  = fs.Int("limit", 20, "at most this many, newest first (0: all)")
		page   = fs.Int("page-size", maxPageSize, fmt.Sprintf("benchmarks per ListBenchmarks call (1 to %d)", maxPageSize))
		format = formatFlag(fs)
	)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("history takes no arguments, got %q (filter with --model)", pos)}
	}
	f, err := parseFormat(*format)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usageError{errors.New("--limit must be 0 (all) or more")}
	}
	if *page < 1 || *page > maxPageSize {
		return usageError{fmt.Errorf("--page-size must be between 1 and %d", maxPageSize)}
	}
	now := time.Now()
	opts := client.ListOptions{Model: *model}
	if opts.Since, err = parseWhen(*since, now); err != nil {
		return usageError{fmt.Errorf("--since: %w", err)}
	}
	if opts.Until, err = parseWhen(*until, now); err != nil {
		return usageError{fmt.Errorf("--until: %w", err)}
	}
	var bs []*benchdv1.Benchmark
	for {
		opts.PageSize = *page
		if *limit > 0 {
			opts.PageSize = min(*limit-len(bs), *page)
		}
		page, next, err := c.ListBenchmarks(ctx, opts)
		if err != nil {
			return err
		}
		for _, b := range page {
			bs = append(bs, b.Raw)
		}
		if next == "" || (*limit > 0 && len(bs) >= *limit) {
			break
		}
		opts.PageToken = next
	}
	switch f {
	case report.JSON:
		return report.WriteHistoryJSON(e.stdout, bs)
	case report.CSV:
		return report.WriteHistoryCSV(e.stdout, bs)
	case report.Markdown:
		return report.WriteHistoryMarkdown(e.stdout, bs)
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
		return report.WriteBenchstat(e.stdout, full...)
	}
	return report.WriteHistoryTable(e.stdout, bs)
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
// `benchctl show ID --format json` wrote (so that runs from different
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
		return nil, usageError{fmt.Errorf("%q is neither a benchmark ID (like 20260102T030405Z-0123abcd) nor a file", arg)}
	}
	if err != nil {
		return nil, err
	}
	var b benchdv1.Benchmark
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, &b); err != nil || report.ID(&b) == "" {
		if err == nil {
			err = errors.New("it has no benchmark_id")
		}
		return nil, fmt.Errorf("%s: not a benchmark as `benchctl show ID --format json` writes it: %w", arg, err)
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

func showCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	format := formatFlag(fs)
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError{errors.New("show: a benchmark ID is required (benchctl history lists them)")}
	}
	f, err := parseFormat(*format)
	if err != nil {
		return err
	}
	bs, err := getAll(ctx, c, ids)
	if err != nil {
		return err
	}
	return writeBenchmarks(e.stdout, f, bs...)
}

func cancelCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return usageError{errors.New("cancel: one benchmark ID is required")}
	}
	b, err := c.CancelBenchmark(ctx, ids[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "cancelled benchmark %s: %s stored, state %s\n", b.ID, trials(len(b.Trials)), b.State)
	return nil
}

func compareCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	format := fs.String("format", "table", "output: table, json or markdown")
	alpha := fs.Float64("alpha", report.DefaultAlpha, "significance level: a p-value below it is a real difference")
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(ids) < 2 {
		return usageError{errors.New("compare: give a base benchmark ID and at least one more")}
	}
	if *alpha <= 0 || *alpha >= 1 {
		return usageError{errors.New("--alpha must be between 0 and 1")}
	}
	f, err := parseFormat(*format)
	if err != nil {
		return err
	}
	bs, err := getAll(ctx, c, ids)
	if err != nil {
		return err
	}
	cmp := report.Compare(bs[0], bs[1:], *alpha)
	switch f {
	case report.Table:
		return report.WriteComparisonTable(e.stdout, cmp)
	case report.JSON:
		return report.WriteComparisonJSON(e.stdout, cmp)
	case report.Markdown:
		return report.WriteComparisonMarkdown(e.stdout, cmp)
	}
	return usageError{fmt.Errorf("compare: --format %s is not supported: use table, json or markdown", f)}
}

func chartCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("chart", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	out := fs.String("o", "", "the chart file: NAME.png or NAME.svg")
	vramID := fs.String("vram", "", "whose VRAM timeline to draw (default: the first ID's)")
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError{errors.New("chart: at least one benchmark ID is required")}
	}
	if *out == "" {
		return usageError{errors.New("chart: -o FILE.png or -o FILE.svg is required")}
	}
	cf, err := report.ChartFormatOf(*out)
	if err != nil {
		return usageError{err}
	}
	bs, err := getAll(ctx, c, ids)
	if err != nil {
		return err
	}
	vram := bs[0]
	if *vramID != "" {
		vram = nil
		for _, b := range bs {
			if report.ID(b) == *vramID {
				vram = b
			}
		}
		if vram == nil {
			if vram, err = load(ctx, c, *vramID); err != nil {
				return err
			}
		}
	}
	// Write to a temporary file beside the target, then rename: an
	// interrupted chart leaves no half-written image.
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := report.Chart(tmp, cf, bs, vram); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", *out)
	return nil
}
