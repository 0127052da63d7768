// Command benchctl is the command line for benchd: run a benchmark, follow
// or cancel one, read and compare the history, export it and chart it,
// sample VRAM, check health. It talks to benchd's socket (or the local end
// of an SSH forward of it) with the client package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/report"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
)

const usage = `usage: benchctl [--host TARGET | --socket PATH] [--tls-cert F --tls-key F --tls-ca F] COMMAND [flags]

commands:
  run MODEL [--reps N] [--warmup N] [--max-tokens N] [--prompt TEXT]... [--prompt-tokens N] [--cold]
            [--num-ctx N] [--temperature T] [--seed N] [--timeout D] [--vram-interval D]
            [--format F | --json] [--on-interrupt ask|cancel|detach]
  watch ID [--format F | --json] [--on-interrupt ask|cancel|detach]   re-attach to a benchmark
  cancel ID                                                           stop a running benchmark
  history [--model M] [--since DUR|TIME] [--until DUR|TIME] [--limit N] [--page-size N] [--format F]
  show ID... [--format F]
  compare BASE ID... [--format table|json|markdown] [--alpha P]       per-metric Welch's t-test and verdict
  chart ID... -o FILE.png|FILE.svg [--vram ID]                        rates ± stddev per run, VRAM timeline
  vram [--json] [--watch INTERVAL]
  health
  certs init DIR [--server-san NAME]... [--client-name NAME] [--days N]   (and certs client|server; certs help)

Where an ID is expected (show, compare, chart) a FILE.json that
"show ID --format json" wrote will do, e.g. a run from another host.
F is one of table (default), json, csv, benchstat, markdown. --json prints
run's and watch's events as protojson, one per line; --format json prints the
stored benchmark. Ctrl-C during run or watch asks whether to cancel the
benchmark on benchd or detach from it (it keeps running; benchctl watch ID
re-attaches); without a terminal on stdin it detaches.

--host is where benchd is: unix:///PATH; ssh://[USER@]HOST[:PORT], which runs
"ssh HOST benchd dial-stdio" (so ~/.ssh/config applies); or tcp://HOST:PORT,
which needs mutual TLS (--tls-cert, --tls-key, --tls-ca, from benchctl certs).
It defaults to $BENCHD_HOST. --socket PATH is --host unix://PATH; without
either, the socket is $BENCHD_SOCKET, else ` + defaults.Socket + `.
Exit status: 0 on success, 1 with benchd's message on failure, 2 on bad usage,
130 after Ctrl-C (detached or cancelled).
`

// env is what a command may use of the process: its streams, its signals
// and whether a person sits at stdin.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// signals delivers SIGINT and SIGTERM.
	signals <-chan os.Signal
	// interactive is true when stdin is a terminal, so a question can be
	// asked and answered.
	interactive bool
	// self is how to invoke benchctl again with the same socket, for
	// hints ("benchctl --socket /tmp/b.sock watch ID").
	self string
}

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	e := &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, signals: sigs,
		interactive: term.IsTerminal(int(os.Stdin.Fd())),
	}
	os.Exit(run(context.Background(), os.Args[1:], e))
}

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

func run(ctx context.Context, args []string, e *env) int {
	top := flag.NewFlagSet("benchctl", flag.ContinueOnError)
	top.SetOutput(e.stderr)
	top.Usage = func() { fmt.Fprint(e.stderr, usage) }
	conn := addConnFlags(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if top.NArg() == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	c, self, err := conn.dial(ctx, top)
	if err != nil {
		return exitCode(err, e)
	}
	defer c.Close()
	e.self = self

	cmd, rest := top.Arg(0), top.Args()[1:]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cmd != "run" && cmd != "watch" {
		// run and watch decide themselves what a signal means; for the
		// others it ends the call.
		go func() {
			select {
			case <-e.signals:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	switch cmd {
	case "run":
		err = runCmd(ctx, c, rest, e)
	case "watch":
		err = watchCmd(ctx, c, rest, e)
	case "cancel":
		err = cancelCmd(ctx, c, rest, e)
	case "history":
		err = historyCmd(ctx, c, rest, e)
	case "show":
		err = showCmd(ctx, c, rest, e)
	case "compare":
		err = compareCmd(ctx, c, rest, e)
	case "chart":
		err = chartCmd(ctx, c, rest, e)
	case "vram":
		err = vramCmd(ctx, c, rest, e)
	case "certs":
		err = certsCmd(rest, e.stdout, e.stderr)
	case "health":
		var st string
		if st, err = c.Health(ctx); err == nil {
			fmt.Fprintln(e.stdout, st)
			if st != "SERVING" {
				return exitFailed
			}
		}
	case "help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "benchctl: unknown command %q\n%s", cmd, usage)
		return exitUsage
	}
	return exitCode(err, e)
}

// exitCode reports err, if any, and returns the exit status it means.
func exitCode(err error, e *env) int {
	var (
		ue usageError
		ie interrupted
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(e.stderr, "benchctl:", err)
		return exitUsage
	case errors.As(err, &ie):
		fmt.Fprintln(e.stderr, err)
		return exitInterrupted
	}
	if st, ok := status.FromError(err); ok {
		fmt.Fprintf(e.stderr, "benchctl: %s: %s\n", st.Code(), st.Message())
	} else {
		fmt.Fprintln(e.stderr, "benchctl:", err)
	}
	return exitFailed
}

type usageError struct{ error }

// interrupted ends a command that a signal stopped; its text says what
// became of the benchmark.
type interrupted struct{ msg string }

func (i interrupted) Error() string { return i.msg }

// parseArgs parses fs's flags wherever they stand among the positional
// arguments ("show ID --format csv" and "show --format csv ID" alike) and
// returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// formatFlag registers --format.
func formatFlag(fs *flag.FlagSet) *string {
	return fs.String("format", "table", "output: table, json, csv, benchstat or markdown")
}

func parseFormat(s string) (report.Format, error) {
	f, err := report.ParseFormat(s)
	if err != nil {
		return "", usageError{err}
	}
	return f, nil
}

func vramCmd(ctx context.Context, c *client.Client, args []string, e *env) error {
	fs := flag.NewFlagSet("vram", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the response as protojson")
	every := fs.Duration("watch", 0, "sample at this interval until interrupted (50ms to 60s)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *every > 0 {
		err := c.WatchVRAM(ctx, *every, func(gpus []client.GPU) error {
			if *asJSON {
				return report.WriteJSONLine(e.stdout, &benchdv1.WatchVRAMResponse{Gpus: rawGPUs(gpus)})
			}
			printGPULine(e.stdout, gpus)
			return nil
		})
		if ctx.Err() != nil {
			return nil // interrupted: the watch is over
		}
		return err
	}
	gpus, err := c.SampleVRAM(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return report.WriteJSONLine(e.stdout, &benchdv1.SampleVRAMResponse{Gpus: rawGPUs(gpus)})
	}
	printGPUs(e.stdout, gpus)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
