package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// streamFlags are the flags of run and watch besides -o.
type streamFlags struct {
	onInterrupt string
}

func (f *streamFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.onInterrupt, "on-interrupt", onInterruptAsk, "what Ctrl-C does: ask (on a terminal; else detach), cancel or detach")
	_ = cmd.RegisterFlagCompletionFunc("on-interrupt", cobra.FixedCompletions(
		[]string{onInterruptAsk, onInterruptCancel, onInterruptDetach}, cobra.ShellCompDirectiveNoFileComp))
}

// options checks the flags once parsed.
func (f *streamFlags) options(format report.Format) (streamOptions, error) {
	o := streamOptions{format: format, onInterrupt: f.onInterrupt}
	return o, checkOnInterrupt(o.onInterrupt)
}

type streamOptions struct {
	format      report.Format
	onInterrupt string
	// write prints the finished benchmark in format (not jsonl);
	// nil: writeBenchmarks.
	write func(io.Writer, report.Format, *benchdv1.Benchmark) error
}

// jsonEvents is -o jsonl: the events as they come instead of the finished
// benchmark.
func (o streamOptions) jsonEvents() bool { return o.format == jsonLines }

// streamOutputs are what run and watch print: the finished benchmark in
// any of report's formats, or the events as they come (jsonl).
var streamOutputs = []report.Format{report.Table, report.JSON, jsonLines, report.CSV, report.Markdown, report.Benchstat}

// runFlags are the flags run and sweep share: how each trial (or cell)
// is run.
type runFlags struct {
	req          client.BenchmarkRequest
	warmup       int
	seed         int64
	vramInterval time.Duration
	sf           streamFlags
}

func (f *runFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.req.Repetitions, "reps", 0, fmt.Sprintf("measured trials (default %d)", defaults.Repetitions))
	fs.IntVar(&f.warmup, "warmup", 0, fmt.Sprintf("warm-up trials (default %d)", defaults.Warmup))
	fs.StringArrayVar(&f.req.Prompts, "prompt", nil, "prompt text; repeat for several (default: a built-in prompt)")
	fs.BoolVar(&f.req.Cold, "cold", false, "unload the model before every trial, so each measures a cold load")
	fs.Float64Var(&f.req.Temperature, "temperature", defaults.Temperature, "sampling temperature")
	fs.Int64Var(&f.seed, "seed", 0, fmt.Sprintf("sampling seed (default %d)", defaults.Seed))
	fs.DurationVar(&f.req.Timeout, "timeout", 0, fmt.Sprintf("deadline for the whole benchmark (default %s)", defaults.Timeout))
	fs.DurationVar(&f.vramInterval, "vram-interval", 0, fmt.Sprintf("VRAM sampling interval during trials (default %s; 0 turns it off)", defaults.VRAMInterval))
	f.sf.add(cmd)
}

// request is the request the flags ask for, once parsed.
func (f *runFlags) request(cmd *cobra.Command) client.BenchmarkRequest {
	req := f.req
	fs := cmd.Flags()
	if fs.Changed("warmup") {
		req.Warmup = &f.warmup
	}
	if fs.Changed("seed") {
		req.Seed = &f.seed
	}
	if fs.Changed("vram-interval") {
		req.VRAMSampleInterval, req.NoVRAMSampling = f.vramInterval, f.vramInterval == 0
	}
	return req
}

// concurrencyFlags are run's flags for a concurrency run.
type concurrencyFlags struct {
	levels   []int
	requests int
	chart    string
}

// request adds the concurrency run the flags ask for to req; none
// without --concurrency. Flags that mean nothing with it (or only with
// it) are usage errors, before anything runs.
func (f *concurrencyFlags) request(cmd *cobra.Command, req *client.BenchmarkRequest) error {
	fs := cmd.Flags()
	if len(f.levels) == 0 {
		for _, name := range []string{"requests", "chart"} {
			if fs.Changed(name) {
				return usagef("--%s is for concurrency runs: add --concurrency LIST", name)
			}
		}
		return nil
	}
	for _, name := range []string{"reps", "cold"} {
		if fs.Changed(name) {
			return usagef("--%s does not go with --concurrency: each level runs --requests requests (default 4 × the level), warm", name)
		}
	}
	req.Concurrency = &client.Concurrency{Levels: f.levels, Requests: f.requests}
	return nil
}

const runLong = `Run a benchmark of MODEL (as ollama names it) on benchd. On a terminal a
live progress line shows, then a per-trial table and a summary. -o jsonl
prints each event as it comes; the other formats print the finished benchmark
(-o json: the stored record). To try several settings, see sweep.

--concurrency LIST makes it a concurrency run: for each level (requests in
flight, e.g. 1,2,4,8 or 1-8*2; run in the order given) benchd keeps that many
requests in flight, sending the next as soon as one ends, until the level's
--requests (default 4 × the level) are sent. The warm-up runs first, one at a
time, outside the figures. A row per level: requests in flight, ok/failed,
aggregate output tok/s and req/s, TTFT, inter-token (ITL) and end-to-end
(e2e) latency and queue time p50/p90/p99, peak VRAM; the header says how many
requests ollama serves at once (its OLLAMA_NUM_PARALLEL, "not set" for its
default). Queue time is the wait in ollama for a parallel slot: TTFT − load −
prompt eval, on ollama's clock. At most 8 levels of 1–64 and 1000 requests in
all. -o csv prints a row per level, -o benchstat a line per request named by
its level (BenchmarkEval/model=tiny/concurrency=4); show ID prints the run
the same way, show --trials ID every request; --chart FILE draws throughput
and latency against requests in flight.`

func (a *app) runCmd() *cobra.Command {
	var (
		rf runFlags
		cf concurrencyFlags
	)
	cmd := &cobra.Command{
		Use:   "run MODEL [--concurrency LIST [--requests N]]",
		Short: "Run a benchmark (or a concurrency run) and show it live",
		Long:  runLong,
		Example: "  benchctl run llama3.2:1b --reps 5 --max-tokens 64\n  benchctl run tiny --cold -o jsonl\n" +
			"  benchctl run llama3.2:1b --concurrency 1,2,4,8 --max-tokens 256 --chart load.png",
		Args:              argsUsage(cobra.ExactArgs(1), "one MODEL is required"),
		ValidArgsFunction: a.completeModels,
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, cmd *cobra.Command, args []string) error {
			o, err := rf.sf.options(a.output)
			if err != nil {
				return err
			}
			req := rf.request(cmd)
			req.Model = args[0]
			if err := cf.request(cmd, &req); err != nil {
				return err
			}
			if cf.chart != "" {
				format, err := report.ChartFormatOf(cf.chart)
				if err != nil {
					return usageError{err}
				}
				o.write = func(w io.Writer, f report.Format, b *benchdv1.Benchmark) error {
					if err := writeRuns(w, f, b); err != nil {
						return err
					}
					if err := writeChart(cf.chart, func(w io.Writer) error { return report.ConcurrencyChart(w, format, b) }); err != nil {
						return err
					}
					fmt.Fprintf(a.e.stderr, "wrote %s\n", cf.chart)
					return nil
				}
			}
			return a.follow(ctx, c, o, "", func(ctx context.Context, onEvent func(client.Event)) (*client.Result, error) {
				return c.RunBenchmark(ctx, req, onEvent)
			})
		}),
	}
	rf.add(cmd)
	fs := cmd.Flags()
	fs.IntVar(&rf.req.MaxTokens, "max-tokens", 0, fmt.Sprintf("tokens per trial (default %d)", defaults.MaxTokens))
	fs.IntVar(&rf.req.PromptTokens, "prompt-tokens", 0, "use a synthetic prompt of about N tokens instead of --prompt")
	fs.IntVar(&rf.req.NumCtx, "num-ctx", 0, "context window (default: the model's)")
	fs.Var(listValue{&cf.levels}, "concurrency", "a concurrency run: requests in flight per level, e.g. 1,2,4,8 or 1-8*2")
	fs.IntVar(&cf.requests, "requests", 0, "requests per level of a concurrency run, at least the largest level (default 4 × the level)")
	fs.StringVar(&cf.chart, "chart", "", "also draw a concurrency run's chart (see chart) into NAME.png or NAME.svg")
	_ = cmd.MarkFlagFilename("chart", "png", "svg")
	a.oldOutputFlags(cmd, true, true)
	a.accepts(cmd, streamOutputs...)
	a.ownSignals[cmd] = true
	return cmd
}

func (a *app) watchCmd() *cobra.Command {
	var sf streamFlags
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Re-attach to a benchmark: what happened so far, then live",
		Long: `Follow benchmark ID with the live display of run: it replays what already
happened, then follows to the end (or replays a finished benchmark).`,
		Args:              argsUsage(cobra.ExactArgs(1), "one benchmark ID is required (benchctl history lists them)"),
		ValidArgsFunction: a.completeIDs(false),
		RunE: a.runE(true, func(ctx context.Context, c *client.Client, _ *cobra.Command, args []string) error {
			o, err := sf.options(a.output)
			if err != nil {
				return err
			}
			id := args[0]
			return a.follow(ctx, c, o, id, func(ctx context.Context, onEvent func(client.Event)) (*client.Result, error) {
				return c.WatchBenchmark(ctx, id, onEvent)
			})
		}),
	}
	sf.add(cmd)
	a.oldOutputFlags(cmd, true, true)
	a.accepts(cmd, streamOutputs...)
	a.ownSignals[cmd] = true
	return cmd
}

// display shows a followed benchmark as it goes: protojson events on
// stdout, or a live progress line on a terminal's stderr. It can be paused
// while benchctl asks a question.
type display struct {
	e    *env
	o    streamOptions
	live bool

	mu       sync.Mutex
	id       string
	paused   bool
	lineOpen bool // a progress line is on screen
	sweep    bool // a cell has started: trials are named by cell
	// level is the concurrency level running (nil outside concurrency
	// runs), done its requests finished so far.
	level *client.LevelStarted
	done  int
}

// cellPrefix names a trial's cell in a sweep's progress lines, by its
// index as the cell table shows it, or a concurrency run's level.
func (d *display) cellPrefix(cell int) string {
	switch {
	case d.sweep:
		return fmt.Sprintf("cell %d ", cell)
	case d.level != nil:
		return fmt.Sprintf("level %d ", d.level.Level.Index)
	}
	return ""
}

func trialWord(warmup bool) string {
	if warmup {
		return "warm-up"
	}
	return "trial"
}

func (d *display) event(ev client.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ev.Started != nil {
		d.id = ev.Started.BenchmarkID
	}
	if d.o.jsonEvents() {
		if ev.Progress == nil && ev.Raw != nil {
			_ = writeProto(d.e.stdout, jsonLines, ev.Raw)
		}
		return
	}
	if !d.live || d.paused {
		return
	}
	w := d.e.stderr
	switch {
	case ev.Progress != nil:
		p := ev.Progress
		word := trialWord(p.Warmup)
		if d.level != nil && !p.Warmup {
			word = "request"
		}
		fmt.Fprintf(w, "\r\033[K%s%s %d: %d/%d tokens", d.cellPrefix(p.Cell), word, p.Index, p.Tokens, p.MaxTokens)
		d.lineOpen = true
	case ev.Trial != nil && d.level != nil && !ev.Trial.Warmup:
		// Requests end too often for a line each: one line counts them.
		d.done++
		l := d.level.Level
		fmt.Fprintf(w, "\r\033[Klevel %d: %d of %d requests done (%d in flight)", l.Index, d.done, l.Requests, l.Concurrency)
		d.lineOpen = true
	case ev.Trial != nil:
		t := ev.Trial
		fmt.Fprintf(w, "\r\033[K%s%s %d done: %.1f tok/s, prompt %.1f tok/s\n", d.cellPrefix(t.Cell), trialWord(t.Warmup), t.Index, t.EvalRate, t.PromptEvalRate)
		d.lineOpen = false
	case ev.CellStarted != nil:
		d.sweep = true
		c := ev.CellStarted
		fmt.Fprintf(w, "\r\033[Kcell %d (%d of %d): %s\n", c.Cell.Index, c.Cell.Index+1, c.Cells, c.Cell.Settings())
		d.lineOpen = false
	case ev.CellFinished != nil:
		c := ev.CellFinished
		if c.Failed() {
			fmt.Fprintf(w, "\r\033[Kcell %d FAILED (%s): %s\n", c.Index, c.ErrorCode, c.ErrorMessage)
		} else if s := c.Summary; s != nil {
			fmt.Fprintf(w, "\r\033[Kcell %d done: %.1f ± %.1f tok/s, prompt %.1f tok/s\n", c.Index, s.EvalRate.Mean, s.EvalRate.Stddev, s.PromptEvalRate.Mean)
		}
		d.lineOpen = false
	case ev.LevelStarted != nil:
		d.level, d.done = ev.LevelStarted, 0
		l := ev.LevelStarted.Level
		fmt.Fprintf(w, "\r\033[Klevel %d (%d of %d): %d in flight, %d requests\n", l.Index, l.Index+1, ev.LevelStarted.Levels, l.Concurrency, l.Requests)
		d.lineOpen = false
	case ev.LevelFinished != nil:
		l := ev.LevelFinished
		fmt.Fprintf(w, "\r\033[Klevel %d done: %d in flight, %d/%d ok/failed, %.1f out tok/s, %.2f req/s, ttft p50 %s, queue p50 %s\n",
			l.Index, l.Concurrency, l.Succeeded, l.Failed, l.OutputTokensPerSecond, l.RequestsPerSecond,
			report.Latency(l.TTFTNs.P50), report.Latency(l.QueueNs.P50))
		d.lineOpen = false
	case ev.Started != nil:
		s := ev.Started
		fmt.Fprintf(w, "benchmark %s: %s (ollama %s", s.BenchmarkID, s.Model, s.OllamaVersion)
		if ev.Raw.GetStarted().GetSettings().GetConcurrency() != nil {
			if p := report.ParallelSlots(s.OllamaNumParallel); p != "" {
				fmt.Fprintf(w, ", %s", p)
			}
		}
		fmt.Fprintln(w, ")")
	}
}

func (d *display) benchmarkID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.id
}

// pause stops live output and clears the progress line, for a question.
func (d *display) pause() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paused = true
	if d.live && d.lineOpen {
		fmt.Fprint(d.e.stderr, "\r\033[K")
		d.lineOpen = false
	}
}

func (d *display) resume() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paused = false
}

// clear removes the progress line before the final output.
func (d *display) clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live && d.lineOpen {
		fmt.Fprint(d.e.stderr, "\r\033[K")
		d.lineOpen = false
	}
}

type streamResult struct {
	res *client.Result
	err error
}

// cancelWait bounds the CancelBenchmark call of an interrupted run.
const cancelWait = 30 * time.Second

// follow runs start (RunBenchmark or WatchBenchmark) and shows its events.
// A signal asks, or decides by --on-interrupt, whether to cancel the
// benchmark on benchd or detach from it. id is the benchmark's id when
// known before its started event (watch).
func (a *app) follow(ctx context.Context, c *client.Client, o streamOptions, id string,
	start func(context.Context, func(client.Event)) (*client.Result, error)) error {
	e := a.e
	d := &display{e: e, o: o, live: !o.jsonEvents() && isTerminal(e.stderr), id: id}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan streamResult, 1)
	go func() {
		res, err := start(sctx, d.event)
		done <- streamResult{res, err}
	}()
	for {
		select {
		case r := <-done:
			d.clear()
			return finish(ctx, c, e, o, r)
		case sig := <-e.signals:
			id := d.benchmarkID()
			if id == "" {
				stop()
				<-done
				d.clear()
				return interrupted{fmt.Sprintf("interrupted before benchd named the benchmark; if it started, it runs on: find it with `%s history`", a.self)}
			}
			d.pause()
			act := decideInterrupt(o.onInterrupt, sig, e.interactive, func() action {
				return askInterrupt(e.stdin, e.stderr, id, e.signals)
			})
			// It may have ended while the question was open.
			select {
			case r := <-done:
				d.clear()
				return finish(ctx, c, e, o, r)
			default:
			}
			if act == detach {
				stop()
				<-done
				d.clear()
				return interrupted{detachMessage(a.self, id)}
			}
			cctx, cancel := context.WithTimeout(context.Background(), cancelWait)
			b, err := c.CancelBenchmark(cctx, id)
			cancel()
			if status.Code(err) == codes.FailedPrecondition {
				// It ended on its own meanwhile: show how.
				d.resume()
				continue
			}
			stop()
			<-done
			d.clear()
			if err != nil {
				return fmt.Errorf("cancel benchmark %s: %w (it may still be running: `%s cancel %s`)", id, err, a.self, id)
			}
			return interrupted{fmt.Sprintf("cancelled benchmark %s on benchd: %s stored, state %s; see them with `%s show %s`",
				id, trials(len(b.Trials)), b.State, a.self, id)}
		}
	}
}

// trials counts trials in words: "1 trial", "3 trials".
func trials(n int) string {
	if n == 1 {
		return "1 trial"
	}
	return fmt.Sprintf("%d trials", n)
}

func detachMessage(self, id string) string {
	return strings.Join([]string{
		fmt.Sprintf("detached from benchmark %s; it keeps running on benchd.", id),
		fmt.Sprintf("  re-attach: %s watch %s", self, id),
		fmt.Sprintf("  cancel:    %s cancel %s", self, id),
		fmt.Sprintf("  results:   %s show %s", self, id),
	}, "\n")
}

// finish prints a followed benchmark that ended.
func finish(ctx context.Context, c *client.Client, e *env, o streamOptions, r streamResult) error {
	if r.err != nil {
		return r.err
	}
	if o.jsonEvents() {
		return nil
	}
	b := r.res.Raw
	if o.format == report.JSON {
		// The stored record: settings, machine, every trial, the VRAM
		// timeline. The events make do if the store cannot be read.
		if stored, err := c.GetBenchmark(ctx, report.ID(b)); err == nil {
			b = stored.Raw
		} else {
			fmt.Fprintf(e.stderr, "benchctl: reading the stored benchmark failed (%v); printing it from its events\n", err)
		}
	}
	if o.write != nil {
		return o.write(e.stdout, o.format, b)
	}
	return writeRuns(e.stdout, o.format, b)
}

// views are how the formats that show one benchmark at a time (table,
// markdown) and CSV show a benchmark: by its trials, or a sweep by its
// cells. json, jsonl and benchstat are the same for both.
type views struct {
	table, markdown func(io.Writer, *benchdv1.Benchmark) error
	csv             func(io.Writer, ...*benchdv1.Benchmark) error
}

var (
	trialViews = views{report.WriteTable, report.WriteMarkdown, report.WriteTrialsCSV}
	cellViews  = views{report.WriteSweepTable, report.WriteSweepMarkdown, report.WriteCellsCSV}
	levelViews = views{report.WriteLevelsTable, report.WriteLevelsMarkdown, report.WriteLevelsCSV}
)

// writeBenchmarks prints whole benchmarks in a format, by their trials.
func writeBenchmarks(w io.Writer, f report.Format, bs ...*benchdv1.Benchmark) error {
	return trialViews.write(w, f, bs...)
}

// writeRuns prints benchmarks as run shows them: concurrency runs by
// their levels (when all are), others by their trials.
func writeRuns(w io.Writer, f report.Format, bs ...*benchdv1.Benchmark) error {
	for _, b := range bs {
		if !report.IsConcurrency(b) {
			return writeBenchmarks(w, f, bs...)
		}
	}
	return levelViews.write(w, f, bs...)
}

// writeSweeps prints sweeps by their cells: a row per cell (table, md,
// csv); json, jsonl and benchstat as any benchmark (benchstat names each
// trial by its cell's settings).
func writeSweeps(w io.Writer, f report.Format, bs ...*benchdv1.Benchmark) error {
	return cellViews.write(w, f, bs...)
}

func (v views) write(w io.Writer, f report.Format, bs ...*benchdv1.Benchmark) error {
	switch f {
	case report.JSON:
		if len(bs) == 1 {
			return writeProto(w, f, bs[0])
		}
		return writeProto(w, f, &benchdv1.ListBenchmarksResponse{Benchmarks: bs})
	case jsonLines:
		for _, b := range bs {
			if err := writeProto(w, f, b); err != nil {
				return err
			}
		}
		return nil
	case report.CSV:
		return v.csv(w, bs...)
	case report.Benchstat:
		return report.WriteBenchstat(w, bs...)
	case report.Markdown:
		for _, b := range bs {
			if err := v.markdown(w, b); err != nil {
				return err
			}
		}
		return nil
	}
	for i, b := range bs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := v.table(w, b); err != nil {
			return err
		}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
