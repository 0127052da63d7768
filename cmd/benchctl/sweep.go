package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// listValue is a flag that takes a list of counts as llama-bench does:
// "512,1024", repeated flags, and ranges "FIRST-LAST+STEP" (1-8+1) or
// "FIRST-LAST*MULT" (512-4096*2).
type listValue struct{ ns *[]int }

func (v listValue) Type() string { return "list" }

func (v listValue) String() string {
	s := make([]string, len(*v.ns))
	for i, n := range *v.ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// maxListValues is the most values a range may give: benchd takes 16 a
// list, and a range that runs away should say so rather than allocate.
const maxListValues = 16

func (v listValue) Set(s string) error {
	for _, item := range strings.Split(s, ",") {
		ns, err := parseListItem(strings.TrimSpace(item))
		if err != nil {
			return err
		}
		for _, n := range ns {
			if slices.Contains(*v.ns, n) {
				return fmt.Errorf("%d is given twice", n)
			}
			*v.ns = append(*v.ns, n)
		}
	}
	return nil
}

// parseListItem reads N, FIRST-LAST+STEP or FIRST-LAST*MULT.
func parseListItem(item string) ([]int, error) {
	notCount := fmt.Errorf("%q is not a count: want N, FIRST-LAST+STEP or FIRST-LAST*MULT", item)
	num := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, notCount
		}
		return n, nil
	}
	if strings.HasPrefix(item, "-") {
		return nil, notCount
	}
	first, rest, isRange := strings.Cut(item, "-")
	if !isRange {
		n, err := num(item)
		return []int{n}, err
	}
	op := strings.IndexAny(rest, "+*")
	if op < 0 {
		return nil, fmt.Errorf("range %q needs a step: FIRST-LAST+STEP or FIRST-LAST*MULT", item)
	}
	lo, err := num(first)
	if err != nil {
		return nil, err
	}
	hi, err := num(rest[:op])
	if err != nil {
		return nil, err
	}
	step, err := num(rest[op+1:])
	if err != nil {
		return nil, err
	}
	mult := rest[op] == '*'
	if lo > hi || step < 1 || (mult && (step < 2 || lo < 1)) {
		return nil, fmt.Errorf("range %q must rise: FIRST ≤ LAST, STEP ≥ 1, MULT ≥ 2 from FIRST ≥ 1", item)
	}
	var out []int
	for n := lo; n <= hi; {
		if len(out) == maxListValues {
			return nil, fmt.Errorf("range %q gives more than %d values", item, maxListValues)
		}
		out = append(out, n)
		if mult {
			n *= step
		} else {
			n += step
		}
	}
	return out, nil
}

// objectives are --objective's values and what they ask benchd for.
var objectives = []struct {
	name string
	o    client.Objective
	help string
}{
	{"gen", client.ObjectiveEvalRate, "highest generation rate"},
	{"prompt", client.ObjectivePromptEvalRate, "highest prompt (prefill) rate"},
	{"ttft", client.ObjectiveTTFT, "lowest time to first token"},
}

func objectiveOf(name string) (client.Objective, error) {
	names := make([]string, len(objectives))
	for i, o := range objectives {
		if strings.EqualFold(name, o.name) || strings.EqualFold(name, string(o.o)) {
			return o.o, nil
		}
		names[i] = o.name
	}
	return "", usagef("--objective %q: want one of %s", name, strings.Join(names, ", "))
}

const sweepLong = `Run every combination of the listed settings as a cell, each with its own
warm-up, repetitions and statistics, and print a row per cell as llama-bench
does, the best cell marked *. MODEL... are the models to try (the first names
the record); each list flag takes values as "512,1024", repeated flags, or a
range FIRST-LAST+STEP (1-8+1) or FIRST-LAST*MULT (512-4096*2). A setting
without a list stays ollama's default (or the model's).

The best cell is the one with the highest mean generation rate (--objective
gen), prompt rate (prompt) or lowest mean TTFT (ttft) among the cells that
succeeded and fitted entirely in VRAM, as ollama's /api/ps said after the
cell; on a host where no cell's model took any VRAM (CPU only) every
succeeded cell qualifies. A cell that fails (out of memory, a load failure,
a model ollama does not have) is shown with its error and the sweep goes on.

Cells run with the settings that make ollama reload the model (model,
num_ctx, num_gpu, num_batch, num_thread) varying slowest, so the model loads
once per group, in that group's first warm-up. At most 64 cells and 1000
trials (cells × (warm-up + reps)); --timeout bounds the whole sweep,
--cell-timeout each cell (a cell past it fails, the sweep goes on).

A sweep is a benchmark: stored, listed by history, re-attached by watch,
stopped by cancel. show ID prints it with every trial; show --cells ID as
here. -o csv prints a row per cell, -o benchstat a result line per trial
named by its cell's settings (BenchmarkEval/model=tiny/num_ctx=512), -o json
the stored record, -o jsonl the events as they come.`

func (a *app) sweepCmd() *cobra.Command {
	var (
		rf        runFlags
		sweep     client.Sweep
		objective string
		chart     string
	)
	cmd := &cobra.Command{
		Use:   "sweep MODEL... [--num-ctx LIST] [--num-gpu LIST] [--num-batch LIST] [--num-thread LIST] [--prompt-tokens LIST] [--max-tokens LIST]",
		Short: "Run every combination of settings and show a row per cell, the best marked",
		Long:  sweepLong,
		Example: "  benchctl sweep llama3.2:1b qwen2.5:1.5b --num-ctx 2048,8192 --num-gpu 0,99\n" +
			"  benchctl sweep tiny --num-thread 1-8*2 --prompt-tokens 128,1024 --objective prompt --chart sweep.png",
		Args:              argsUsage(cobra.MinimumNArgs(1), "at least one MODEL is required"),
		ValidArgsFunction: a.completeModels,
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, cmd *cobra.Command, args []string) error {
			o, err := rf.sf.options(a.output)
			if err != nil {
				return err
			}
			if sweep.Objective, err = objectiveOf(objective); err != nil {
				return err
			}
			var cf report.ChartFormat
			if chart != "" {
				if cf, err = report.ChartFormatOf(chart); err != nil {
					return usageError{err}
				}
			}
			req := rf.request(cmd)
			if sweep.Models, err = modelList(args); err != nil {
				return err
			}
			req.Model = sweep.Models[0]
			if len(sweep.Models) == 1 {
				sweep.Models = nil // the request's model
			}
			req.Sweep = &sweep
			o.write = func(w io.Writer, f report.Format, b *benchdv1.Benchmark) error {
				if err := writeSweeps(w, f, b); err != nil {
					return err
				}
				if chart == "" {
					return nil
				}
				if err := writeChart(chart, func(w io.Writer) error { return report.SweepChart(w, cf, b) }); err != nil {
					return err
				}
				fmt.Fprintf(a.e.stderr, "wrote %s\n", chart)
				return nil
			}
			return a.follow(ctx, c, o, "", func(ctx context.Context, onEvent func(client.Event)) (*client.Result, error) {
				return c.RunBenchmark(ctx, req, onEvent)
			})
		}),
	}
	rf.add(cmd)
	fs := cmd.Flags()
	fs.Var(listValue{&sweep.NumCtx}, "num-ctx", "context windows (ollama num_ctx; default: the model's)")
	fs.Var(listValue{&sweep.NumGPU}, "num-gpu", "layers offloaded to the GPU (ollama num_gpu; 0: CPU only; default: ollama decides)")
	fs.Var(listValue{&sweep.NumBatch}, "num-batch", "prompt batch sizes (ollama num_batch)")
	fs.Var(listValue{&sweep.NumThread}, "num-thread", "CPU threads (ollama num_thread)")
	fs.Var(listValue{&sweep.PromptTokens}, "prompt-tokens", "context depths: synthetic prompts of about N tokens (instead of --prompt)")
	fs.Var(listValue{&sweep.MaxTokens}, "max-tokens", fmt.Sprintf("tokens to generate per trial (default %d)", defaults.MaxTokens))
	help := make([]string, len(objectives))
	names := make([]string, len(objectives))
	for i, o := range objectives {
		help[i], names[i] = o.name+" ("+o.help+")", o.name
	}
	fs.StringVar(&objective, "objective", objectives[0].name, "what the best cell is best at: "+strings.Join(help, ", "))
	_ = cmd.RegisterFlagCompletionFunc("objective", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	fs.DurationVar(&sweep.CellTimeout, "cell-timeout", 0, "bound on each cell: one still running then fails and the sweep goes on (default: --timeout shared among the cells, at least 1m)")
	fs.StringVar(&chart, "chart", "", "also draw the sweep's chart (see chart) into NAME.png or NAME.svg")
	_ = cmd.MarkFlagFilename("chart", "png", "svg")
	a.accepts(cmd, streamOutputs...)
	a.ownSignals[cmd] = true
	return cmd
}

// modelList reads MODEL...: names, also comma-separated as llama-bench's
// -m takes them, each once.
func modelList(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		for _, m := range strings.Split(arg, ",") {
			m = strings.TrimSpace(m)
			switch {
			case m == "":
				return nil, usagef("MODEL: an empty name in %q", arg)
			case slices.Contains(out, m):
				return nil, usagef("MODEL: %s is given twice", m)
			}
			out = append(out, m)
		}
	}
	return out, nil
}
