// Command benchctl is the command line for benchd: run a benchmark, follow
// or cancel one, read and compare the history, export it and chart it,
// sample VRAM, check health. It talks to benchd's socket (or the local end
// of an SSH forward of it) with the client package.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

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

// run runs benchctl with args and returns its exit status.
func run(ctx context.Context, args []string, e *env) int {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a := newApp(e, cancel)
	defer a.close()
	root := a.rootCmd()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	cobraErr := err != nil && !a.ran
	if cobraErr {
		// Cobra's own errors (an unknown command or flag, a wrong number
		// of arguments) come before any command ran: all are usage.
		if _, ok := err.(usageError); !ok {
			err = usageError{err}
		}
	}
	code := reportError(ctx, err, a.output, e.stdout, e.stderr)
	if cobraErr {
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}
