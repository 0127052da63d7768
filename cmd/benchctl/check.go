package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	"github.com/benchd/benchd/proto/defaults"
)

// Exit statuses of `benchctl check` beyond exitHelp's: the verdict, for
// scripts and cron jobs. OK and IMPROVED exit 0.
const (
	exitRegressed    = 3
	exitIncomparable = 4
)

// verdictExit ends a check whose verdict is not OK: the output already
// says it, the status tells a script.
type verdictExit struct {
	exit    int
	verdict string
}

func (v verdictExit) Error() string { return "verdict " + v.verdict }

func (a *app) checkCmd() *cobra.Command {
	var (
		o                client.CheckOptions
		alpha, minEffect float64
	)
	cmd := &cobra.Command{
		Use:   "check [ID]",
		Short: "Judge a run against its baseline: OK, REGRESSED, IMPROVED or INCOMPARABLE",
		Long: fmt.Sprintf(`Ask benchd whether run ID (default: the newest succeeded plain run, of
--model if given) got worse than the baseline of its fingerprint (model
digest, ollama version, settings, GPUs, benchd version): the run pinned with
"benchctl baseline ID", else per metric the median of the last --baseline-runs
runs of that fingerprint. Each metric (generation rate, prompt rate, TTFT)
is tested with Welch's t-test at --alpha / metrics and must change by at
least --min-effect to count. benchd computes the verdict, so every client
gets the same one.

Exit status: 0 OK or IMPROVED; %d REGRESSED; %d INCOMPARABLE (no baseline of
the same fingerprint, too few trials); 2 usage; 64+CODE benchd's error
(NOT_FOUND 69: no such run; FAILED_PRECONDITION 73: a sweep, concurrency or
failed run).`, exitRegressed, exitIncomparable),
		Args:              argsUsage(cobra.MaximumNArgs(1), "give at most one benchmark ID"),
		ValidArgsFunction: a.completeIDs(false),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.ID = args[0]
			}
			if cmd.Flags().Changed("alpha") {
				o.Alpha = &alpha
			}
			if cmd.Flags().Changed("min-effect") {
				o.MinEffect = &minEffect
			}
			chk, err := c.CheckRegression(ctx, o)
			if errors.Is(err, client.ErrUnknownMetric) {
				return usagef("check --metric %v", err)
			}
			if err != nil {
				return err
			}
			if a.output == report.JSON {
				err = writeProto(a.e.stdout, report.JSON, chk.Raw)
			} else {
				err = writeCheck(a.e.stdout, chk)
			}
			if err != nil {
				return err
			}
			switch chk.Verdict {
			case "REGRESSED":
				return answered{verdictExit{exitRegressed, chk.Verdict}}
			case "INCOMPARABLE":
				return answered{verdictExit{exitIncomparable, chk.Verdict}}
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "without ID: judge the newest run of this model")
	f.StringSliceVar(&o.Metrics, "metric", nil, "metrics to test: eval_rate, prompt_eval_rate, ttft (default all three)")
	f.Float64Var(&alpha, "alpha", defaults.RegressionAlpha, "significance level of the whole check, split among the metrics")
	f.Float64Var(&minEffect, "min-effect", defaults.RegressionMinEffect, "smallest change that counts, as a fraction of the baseline's mean")
	f.IntVar(&o.BaselineRuns, "baseline-runs", defaults.RegressionBaselineRuns, "recent runs of the fingerprint the median baseline is taken from")
	a.accepts(cmd, report.Table, report.JSON)
	return cmd
}

// writeCheck prints a verdict for people: a headline, a row per metric,
// the reason and any instability.
func writeCheck(w io.Writer, chk *client.Check) error {
	src := map[string]string{"PINNED": "pinned baseline", "MEDIAN": fmt.Sprintf("median of %d matching runs", chk.MatchingRuns), "NONE": "no baseline"}[chk.BaselineSource]
	fmt.Fprintf(w, "%s  %s  %s (%s, fingerprint %s)\n", chk.ID, chk.Fingerprint.Model, chk.Verdict, src, chk.Fingerprint.ID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tBASELINE\tRUN\tCHANGE\tP\tALPHA\tVERDICT\tBASELINE RUN")
	for _, m := range chk.Metrics {
		if m.Verdict == "INCOMPARABLE" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%s\t%s\n", m.Metric, m.Verdict, m.BaselineID)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.4g ±%.2g\t%.4g ±%.2g\t%+.1f%%\t%.2g\t%.3g\t%s\t%s\n", m.Metric, m.Baseline.Mean, m.Baseline.Stddev,
			m.Candidate.Mean, m.Candidate.Stddev, 100*m.Change, m.P, m.Alpha, m.Verdict, m.BaselineID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "reason: %s\n", chk.Reason)
	if chk.Unstable {
		fmt.Fprintf(w, "unstable: %s\n", chk.UnstableReason)
	}
	_, err := fmt.Fprintf(w, "alpha %.3g, min effect %.3g%%\n", chk.Alpha, 100*chk.MinEffect)
	return err
}

func (a *app) baselineCmd() *cobra.Command {
	var clear bool
	cmd := &cobra.Command{
		Use:   "baseline ID",
		Short: "Pin run ID as the baseline of its fingerprint for check (--clear: unpin)",
		Long: `Pin a succeeded plain run as the baseline "benchctl check" compares runs of
the same fingerprint with (replacing the one pinned before), or with --clear
unpin that fingerprint's baseline, so that check falls back to the median of
recent runs. A pinned run is never pruned from the history.`,
		Args:              argsUsage(cobra.ExactArgs(1), "give the benchmark ID to pin"),
		ValidArgsFunction: a.completeIDs(false),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, args []string) error {
			b, err := c.SetBaseline(ctx, args[0], clear)
			if err != nil {
				return err
			}
			line := "unpinned"
			if b.ID != "" {
				line = "pinned " + b.ID
			}
			line += " as the baseline of fingerprint " + b.Fingerprint.ID + " (" + b.Fingerprint.Model + ")"
			if b.PreviousID != "" {
				line += "; was " + b.PreviousID
			}
			_, err = fmt.Fprintln(a.e.stdout, line)
			return err
		}),
	}
	cmd.Flags().BoolVar(&clear, "clear", false, "unpin the baseline of ID's fingerprint")
	return cmd
}

// verdictOf is the verdict exit status of err, if it is one.
func verdictOf(err error) (int, bool) {
	var v verdictExit
	if errors.As(err, &v) {
		return v.exit, true
	}
	return 0, false
}
