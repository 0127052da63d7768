package main

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/buildinfo"
	"github.com/benchd/benchd/internal/report"
)

// app is one invocation of benchctl: its environment, the global flags and
// the client, dialed the first time a command needs benchd.
type app struct {
	e    *env
	conn connFlags
	// output is -o (or an old --format or --json).
	output report.Format
	// outputs are the formats each command accepts; a command missing
	// here prints no data and takes no -o.
	outputs map[*cobra.Command][]report.Format
	// ownSignals are the commands (run, watch) that decide themselves what
	// a signal means; for the others it cancels the command's context.
	ownSignals map[*cobra.Command]bool
	cancel     context.CancelCauseFunc
	// ran is set once a command's own code runs: an error before it is
	// cobra's, a usage error.
	ran    bool
	client *client.Client
	// self is how to invoke benchctl again the same way, for hints
	// ("benchctl --socket /tmp/b.sock watch ID").
	self string
}

func newApp(e *env, cancel context.CancelCauseFunc) *app {
	return &app{
		e: e, cancel: cancel, output: report.Table, self: "benchctl",
		outputs: map[*cobra.Command][]report.Format{}, ownSignals: map[*cobra.Command]bool{},
	}
}

func (a *app) close() {
	if a.client != nil {
		a.client.Close()
	}
}

// dial returns the client, connecting it on first use: completion, man,
// certs, help and --version never reach for benchd.
func (a *app) dial(ctx context.Context) (*client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	c, self, err := a.conn.dial(ctx)
	if err != nil {
		return nil, err
	}
	a.client, a.self = c, self
	return c, nil
}

const rootLong = `benchctl runs benchmarks on benchd and reads its history, VRAM and health.

Flags go anywhere on the line: "benchctl run tiny --reps 5 --host ssh://gpu".
--host is where benchd is: unix:///PATH; ssh://[USER@]HOST[:PORT], which runs
"ssh HOST benchd dial-stdio" (so ~/.ssh/config applies); or tcp://HOST:PORT,
which needs mutual TLS (--tls-cert, --tls-key, --tls-ca, from benchctl certs).
It defaults to $BENCHD_HOST. --socket PATH is --host unix://PATH; without
either, the socket is $BENCHD_SOCKET, else $XDG_RUNTIME_DIR/benchd/benchd.sock
if it exists, else /run/benchd/benchd.sock.

Where an ID is expected (show, compare, chart) a FILE.json that
"show ID -o json" wrote will do, e.g. a run from another host. -o is one of
table (default), json, jsonl, csv, md, benchstat; each command's help says
which it accepts. JSON uses the proto field names and keeps zero values.
Ctrl-C during run or watch asks whether to cancel the benchmark on benchd or
detach from it (it keeps running; benchctl watch ID re-attaches); without a
terminal on stdin it detaches.

`

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:     "benchctl",
		Short:   "Benchmark the LLMs of a host's ollama through benchd",
		Long:    rootLong + exitHelp,
		Version: buildinfo.Version(),
		Args:    cobra.NoArgs,
		// A bare `benchctl` is a usage error, as it always was: a script
		// that lost its command should not pass.
		RunE: func(*cobra.Command, []string) error {
			return usagef("a command is required")
		},
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: a.preRun,
	}
	root.SetVersionTemplate("benchctl {{.Version}}\n")
	root.SetIn(a.e.stdin)
	root.SetOut(a.e.stdout)
	root.SetErr(a.e.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	a.conn.add(pf)
	pf.VarP(outputValue{&a.output}, "output", "o", "output format: "+outputNames(outputs)+" (each command's help says which it accepts)")
	_ = root.RegisterFlagCompletionFunc("output", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		fs := a.outputs[cmd]
		names := make([]string, len(fs))
		for i, f := range fs {
			names[i] = outputName(f)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	root.AddCommand(a.runCmd(), a.sweepCmd(), a.watchCmd(), a.cancelCmd(), a.historyCmd(), a.showCmd(), a.compareCmd(),
		a.chartCmd(), a.vramCmd(), a.modelsCmd(), a.healthCmd(), a.certsCmd(), a.manCmd(root))
	root.AddCommand(a.mcpCmd(), a.checkCmd(), a.baselineCmd())
	root.AddCommand(a.gpuCmd())
	// Cobra's completion command shows its help, exit 0, for a shell it
	// does not know; a script should see a usage error.
	root.InitDefaultCompletionCmd()
	if comp, _, err := root.Find([]string{"completion"}); err == nil && comp != root {
		comp.RunE = func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("completion: unknown shell %q: want bash, zsh, fish or powershell", args[0])
			}
			return usagef("completion: name a shell: bash, zsh, fish or powershell")
		}
		comp.Args = cobra.ArbitraryArgs
	}
	return root
}

// accepts records the formats cmd accepts (the first is the default) and
// says so in its help.
func (a *app) accepts(cmd *cobra.Command, fs ...report.Format) {
	a.outputs[cmd] = fs
	cmd.Long = strings.TrimSpace(cmd.Long) + "\n\nOutput (-o): " + outputNames(fs) + "."
}

// oldOutputFlags adds the spellings of -o that benchctl had before it,
// hidden and deprecated, so that scripts keep working: --format F, and
// --json (events or samples as they come, one a line).
func (a *app) oldOutputFlags(cmd *cobra.Command, format, json bool) {
	fs := cmd.Flags()
	// pflag prints the deprecation notice on the flag set's output, which
	// cobra would copy to stdout, into the JSON a script reads.
	fs.SetOutput(a.e.stderr)
	if format {
		fs.Var(outputValue{&a.output}, "format", "the output format")
		_ = fs.MarkDeprecated("format", "use -o")
	}
	if json {
		fs.VarPF(outputValue{&a.output}, "json", "", "one JSON record a line").NoOptDefVal = string(jsonLines)
		_ = fs.MarkDeprecated("json", "use -o jsonl")
	}
}

// preRun checks -o against the command and makes a signal end commands
// that do not handle it themselves.
func (a *app) preRun(cmd *cobra.Command, _ []string) error {
	var given []string
	for _, name := range []string{"output", "format", "json"} {
		if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
			given = append(given, "--"+name)
		}
	}
	if len(given) > 1 {
		return usagef("%s exclude each other (--format and --json are the old spellings of -o)", strings.Join(given, " and "))
	}
	accepted, ok := a.outputs[cmd]
	switch {
	case !ok && len(given) > 0:
		return usagef("%s takes no -o", subPath(cmd))
	case ok && !slices.Contains(accepted, a.output):
		return usagef("%s: -o %s is not supported; use one of %s", subPath(cmd), outputName(a.output), outputNames(accepted))
	}
	if !a.ownSignals[cmd] {
		ctx := cmd.Context()
		go func() {
			select {
			case <-a.e.signals:
				a.cancel(errSignal)
			case <-ctx.Done():
			}
		}()
	}
	return nil
}

// runE marks where a command's own code begins and gives it the client
// when it needs benchd.
func (a *app) runE(needsBenchd bool, fn func(ctx context.Context, c *client.Client, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.ran = true
		ctx := cmd.Context()
		var c *client.Client
		if needsBenchd {
			var err error
			if c, err = a.dial(ctx); err != nil {
				return err
			}
		}
		return fn(ctx, c, cmd, args)
	}
}

// argsUsage wraps a cobra.PositionalArgs so that its error says what the
// command wants.
func argsUsage(check cobra.PositionalArgs, want string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usagef("%s: %s", subPath(cmd), want)
		}
		return nil
	}
}

// subPath names a command in a message that benchctl already begins:
// "certs client", not "benchctl certs client".
func subPath(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}
