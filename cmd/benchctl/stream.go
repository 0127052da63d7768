package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

// streamFlags are the output and interrupt flags of run and watch.
type streamFlags struct {
	format      *string
	jsonEvents  *bool
	onInterrupt *string
}

func addStreamFlags(fs *flag.FlagSet) streamFlags {
	return streamFlags{
		format:      formatFlag(fs),
		jsonEvents:  fs.Bool("json", false, "print each event as protojson, one per line"),
		onInterrupt: fs.String("on-interrupt", onInterruptAsk, "what Ctrl-C does: ask (on a terminal; else detach), cancel or detach"),
	}
}

// options checks the flags once parsed.
func (f streamFlags) options(fs *flag.FlagSet) (streamOptions, error) {
	o := streamOptions{jsonEvents: *f.jsonEvents, onInterrupt: *f.onInterrupt}
	if err := checkOnInterrupt(o.onInterrupt); err != nil {
		return o, err
	}
	formatSet := false
	fs.Visit(func(fl *flag.Flag) { formatSet = formatSet || fl.Name == "format" })
	if o.jsonEvents && formatSet {
		return o, usageError{errors.New("--json (events as they come) and --format (the finished benchmark) exclude each other")}
	}
	var err error
	o.format, err = parseFormat(*f.format)
	return o, err
}

type streamOptions struct {
	format      report.Format
	jsonEvents  bool
	onInterrupt string
}

func runCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		prompts      repeated
		reps         = fs.Int("reps", 0, fmt.Sprintf("measured trials (default %d)", defaults.Repetitions))
		warmup       = fs.Int("warmup", -1, fmt.Sprintf("warm-up trials (default %d)", defaults.Warmup))
		maxTokens    = fs.Int("max-tokens", 0, fmt.Sprintf("tokens per trial (default %d)", defaults.MaxTokens))
		promptTokens = fs.Int("prompt-tokens", 0, "use a synthetic prompt of about N tokens instead of --prompt")
		cold         = fs.Bool("cold", false, "unload the model before every trial, so each measures a cold load")
		numCtx       = fs.Int("num-ctx", 0, "context window (default: the model's)")
		temp         = fs.Float64("temperature", defaults.Temperature, "sampling temperature")
		seed         = fs.Int64("seed", 0, fmt.Sprintf("sampling seed (default %d)", defaults.Seed))
		timeout      = fs.Duration("timeout", 0, fmt.Sprintf("deadline for the whole benchmark (default %s)", defaults.Timeout))
		vramEvery    = fs.Duration("vram-interval", -1, fmt.Sprintf("VRAM sampling interval during trials (default %s; 0 turns it off)", defaults.VRAMInterval))
		sf           = addStreamFlags(fs)
	)
	fs.Var(&prompts, "prompt", "prompt text; repeat for several (default: a built-in prompt)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageError{errors.New("run: MODEL is required")}
	case len(pos) > 1:
		return usageError{fmt.Errorf("run: one MODEL, got %q", pos)}
	}
	o, err := sf.options(fs)
	if err != nil {
		return err
	}
	req := client.BenchmarkRequest{
		Model: pos[0], Prompts: prompts, Repetitions: *reps, MaxTokens: *maxTokens,
		NumCtx: *numCtx, Temperature: *temp, Timeout: *timeout, Cold: *cold, PromptTokens: *promptTokens,
	}
	if *warmup >= 0 {
		req.Warmup = warmup
	}
	switch {
	case *vramEvery == 0:
		req.NoVRAMSampling = true
	case *vramEvery > 0:
		req.VRAMSampleInterval = *vramEvery
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			req.Seed = seed
		}
	})
	return follow(ctx, c, e, o, "", func(ctx context.Context, onEvent func(client.Event)) (*client.Result, error) {
		return c.RunBenchmark(ctx, req, onEvent)
	})
}

func watchCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sf := addStreamFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("watch: one benchmark ID is required (benchctl history lists them)")}
	}
	o, err := sf.options(fs)
	if err != nil {
		return err
	}
	id := pos[0]
	return follow(ctx, c, e, o, id, func(ctx context.Context, onEvent func(client.Event)) (*client.Result, error) {
		return c.WatchBenchmark(ctx, id, onEvent)
	})
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
}

func (d *display) event(ev client.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ev.Started != nil {
		d.id = ev.Started.BenchmarkID
	}
	if d.o.jsonEvents {
		if ev.Progress == nil && ev.Raw != nil {
			_ = report.WriteJSONLine(d.e.stdout, ev.Raw)
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
		kind := "trial"
		if p.Warmup {
			kind = "warm-up"
		}
		fmt.Fprintf(w, "\r\033[K%s %d: %d/%d tokens", kind, p.Index, p.Tokens, p.MaxTokens)
		d.lineOpen = true
	case ev.Trial != nil:
		t := ev.Trial
		kind := "trial"
		if t.Warmup {
			kind = "warm-up"
		}
		fmt.Fprintf(w, "\r\033[K%s %d done: %.1f tok/s, prompt %.1f tok/s\n", kind, t.Index, t.EvalRate, t.PromptEvalRate)
		d.lineOpen = false
	case ev.Started != nil:
		fmt.Fprintf(w, "benchmark %s: %s (ollama %s)\n", ev.Started.BenchmarkID, ev.Started.Model, ev.Started.OllamaVersion)
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
func follow(ctx context.Context, c *client.Client, e *env, o streamOptions, id string,
	start func(context.Context, func(client.Event)) (*client.Result, error)) error {
	d := &display{e: e, o: o, live: !o.jsonEvents && isTerminal(e.stderr), id: id}
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
				return interrupted{fmt.Sprintf("interrupted before benchd named the benchmark; if it started, it runs on: find it with `%s history`", e.self)}
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
				return interrupted{detachMessage(e.self, id)}
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
				return fmt.Errorf("cancel benchmark %s: %w (it may still be running: `%s cancel %s`)", id, err, e.self, id)
			}
			return interrupted{fmt.Sprintf("cancelled benchmark %s on benchd: %s stored, state %s; see them with `%s show %s`",
				id, trials(len(b.Trials)), b.State, e.self, id)}
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
	if o.jsonEvents {
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
	return writeBenchmarks(e.stdout, o.format, b)
}

// writeBenchmarks prints whole benchmarks in a format.
func writeBenchmarks(w io.Writer, f report.Format, bs ...*benchdv1.Benchmark) error {
	switch f {
	case report.JSON:
		if len(bs) == 1 {
			return report.WriteJSON(w, bs[0])
		}
		return report.WriteHistoryJSON(w, bs)
	case report.CSV:
		return report.WriteTrialsCSV(w, bs...)
	case report.Benchstat:
		return report.WriteBenchstat(w, bs...)
	case report.Markdown:
		for _, b := range bs {
			if err := report.WriteMarkdown(w, b); err != nil {
				return err
			}
		}
		return nil
	}
	for i, b := range bs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := report.WriteTable(w, b); err != nil {
			return err
		}
	}
	return nil
}
