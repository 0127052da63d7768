// Command benchctl is the command line for benchd: run a benchmark, sample
// VRAM, check health. It talks to benchd's socket (or the local end of an SSH
// forward of it) with the client package.
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
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/benchd/benchd/client"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
)

const usage = `usage: benchctl [--socket PATH] COMMAND [flags]

commands:
  run MODEL [--reps N] [--warmup N] [--max-tokens N] [--prompt TEXT]... [--json]
  vram [--json]
  health
  certs init DIR [--server-san NAME]... [--client-name NAME] [--days N]   (and certs client|server; certs help)

The socket defaults to $BENCHD_SOCKET, else /run/benchd/benchd.sock.
Exit status: 0 on success, 1 with benchd's message on failure, 2 on bad usage.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	top := flag.NewFlagSet("benchctl", flag.ContinueOnError)
	top.SetOutput(stderr)
	top.Usage = func() { fmt.Fprint(stderr, usage) }
	defSock := os.Getenv("BENCHD_SOCKET")
	if defSock == "" {
		defSock = "/run/benchd/benchd.sock"
	}
	socket := top.String("socket", defSock, "benchd's unix socket")
	if err := top.Parse(args); err != nil {
		return 2
	}
	if top.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	c, err := client.New(*socket)
	if err != nil {
		fmt.Fprintln(stderr, "benchctl:", err)
		return 1
	}
	defer c.Close()

	cmd, rest := top.Arg(0), top.Args()[1:]
	switch cmd {
	case "run":
		err = runCmd(ctx, c, rest, stdout, stderr)
	case "vram":
		err = vramCmd(ctx, c, rest, stdout)
	case "certs":
		err = certsCmd(rest, stdout, stderr)
	case "health":
		var st string
		if st, err = c.Health(ctx); err == nil {
			fmt.Fprintln(stdout, st)
			if st != "SERVING" {
				return 1
			}
		}
	default:
		fmt.Fprintf(stderr, "benchctl: unknown command %q\n%s", cmd, usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "benchctl:", err)
		return 2
	}
	if st, ok := status.FromError(err); ok {
		fmt.Fprintf(stderr, "benchctl: %s: %s\n", st.Code(), st.Message())
	} else {
		fmt.Fprintln(stderr, "benchctl:", err)
	}
	return 1
}

type usageError struct{ error }

func runCmd(ctx context.Context, c *client.Client, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		prompts   repeated
		reps      = fs.Int("reps", 0, "measured trials (default 3)")
		warmup    = fs.Int("warmup", -1, "warm-up trials (default 1)")
		maxTokens = fs.Int("max-tokens", 0, "tokens per trial (default 128)")
		numCtx    = fs.Int("num-ctx", 0, "context window (default: the model's)")
		temp      = fs.Float64("temperature", 0, "sampling temperature")
		seed      = fs.Int64("seed", 0, "sampling seed (default: benchd's fixed seed)")
		timeout   = fs.Duration("timeout", 0, "deadline for the whole benchmark (default 10m)")
		asJSON    = fs.Bool("json", false, "print each event as protojson, one per line")
	)
	fs.Var(&prompts, "prompt", "prompt text; repeat for several (default: a built-in prompt)")
	// Flags may follow the model name, as in `benchctl run tiny --reps 5`.
	model := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		model, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if model == "" && fs.NArg() > 0 {
		model = fs.Arg(0)
	}
	if model == "" {
		return usageError{errors.New("run: MODEL is required")}
	}
	req := client.BenchmarkRequest{
		Model: model, Prompts: prompts, Repetitions: *reps, MaxTokens: *maxTokens,
		NumCtx: *numCtx, Temperature: *temp, Timeout: *timeout,
	}
	if *warmup >= 0 {
		req.Warmup = warmup
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			req.Seed = seed
		}
	})

	live := !*asJSON && isTerminal(stderr)
	res, err := c.RunBenchmark(ctx, req, func(ev client.Event) {
		switch {
		case *asJSON:
			if ev.Progress == nil {
				printJSON(stdout, ev.Raw)
			}
		case live && ev.Progress != nil:
			p := ev.Progress
			kind := "trial"
			if p.Warmup {
				kind = "warm-up"
			}
			fmt.Fprintf(stderr, "\r\033[K%s %d: %d/%d tokens", kind, p.Index, p.Tokens, p.MaxTokens)
		case live && ev.Trial != nil:
			t := ev.Trial
			fmt.Fprintf(stderr, "\r\033[Ktrial %d done: %.1f tok/s\n", t.Index, t.EvalRate)
		case live && ev.Started != nil:
			fmt.Fprintf(stderr, "benchmark %s: %s (ollama %s)\n", ev.Started.BenchmarkID, ev.Started.Model, ev.Started.OllamaVersion)
		}
	})
	if live {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return err
	}
	if !*asJSON {
		printResult(stdout, res)
	}
	return nil
}

func vramCmd(ctx context.Context, c *client.Client, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("vram", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the response as protojson")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *asJSON {
		res, err := c.Raw().SampleVRAM(ctx, &benchdv1.SampleVRAMRequest{})
		if err != nil {
			return err
		}
		printJSON(stdout, res)
		return nil
	}
	gpus, err := c.SampleVRAM(ctx)
	if err != nil {
		return err
	}
	printGPUs(stdout, gpus)
	return nil
}

func printJSON(w io.Writer, m proto.Message) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		// Marshalling a message we just received cannot fail in practice;
		// say so rather than print half a line.
		fmt.Fprintf(w, "{\"error\":%q}\n", err.Error())
		return
	}
	fmt.Fprintf(w, "%s\n", b)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
