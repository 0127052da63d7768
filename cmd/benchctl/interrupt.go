package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// action is what benchctl does with a benchmark it follows when
// interrupted.
type action int

const (
	// detach leaves the benchmark running on benchd; `benchctl watch ID`
	// re-attaches.
	detach action = iota
	// cancelRun stops the benchmark on benchd (CancelBenchmark).
	cancelRun
)

func (a action) String() string {
	if a == cancelRun {
		return "cancel"
	}
	return "detach"
}

// Values of --on-interrupt.
const (
	onInterruptAsk    = "ask"
	onInterruptCancel = "cancel"
	onInterruptDetach = "detach"
)

func checkOnInterrupt(mode string) error {
	switch mode {
	case onInterruptAsk, onInterruptCancel, onInterruptDetach:
		return nil
	}
	return usageError{fmt.Errorf("--on-interrupt %q: want ask, cancel or detach", mode)}
}

// interruptPrompt is the question a Ctrl-C asks on a terminal.
const interruptPrompt = "cancel the benchmark on the server, or detach (it keeps running)? [c/D] "

// decideInterrupt says what a signal does to a followed benchmark. mode is
// --on-interrupt. SIGTERM (a supervisor, timeout(1)) never asks and
// detaches unless mode is cancel: nothing is lost, the run goes on and is
// stored. SIGINT with mode ask asks the person at the terminal (ask is
// called only then); without a terminal on stdin it detaches.
func decideInterrupt(mode string, sig os.Signal, interactive bool, ask func() action) action {
	switch mode {
	case onInterruptCancel:
		return cancelRun
	case onInterruptDetach:
		return detach
	}
	if sig == syscall.SIGTERM || !interactive {
		return detach
	}
	return ask()
}

// parseAnswer reads the answer to interruptPrompt: "c" or "cancel"
// cancels; anything else, an empty line included, detaches (the default:
// it loses nothing).
func parseAnswer(s string) action {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "c", "cancel":
		return cancelRun
	}
	return detach
}

// askInterrupt asks interruptPrompt on out and reads the answer from in. A
// second signal while it waits (Ctrl-C again) detaches at once, as does the
// end of in.
func askInterrupt(in io.Reader, out io.Writer, id string, again <-chan os.Signal) action {
	fmt.Fprintf(out, "benchmark %s: %s", id, interruptPrompt)
	answer := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(in).ReadString('\n')
		answer <- s
	}()
	select {
	case s := <-answer:
		return parseAnswer(s)
	case <-again:
		fmt.Fprintln(out)
		return detach
	}
}
