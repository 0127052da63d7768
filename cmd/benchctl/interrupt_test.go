package main

// The decisions behind Ctrl-C, and parsing of times, without a daemon. The
// real prompt on a real terminal is driven in e2e_test.go through a pty.

import (
	"bytes"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDecideInterrupt(t *testing.T) {
	asked := 0
	ask := func(a action) func() action {
		return func() action { asked++; return a }
	}
	for _, tc := range []struct {
		mode        string
		sig         os.Signal
		interactive bool
		answer      action
		want        action
		wantAsked   bool
	}{
		{onInterruptAsk, os.Interrupt, true, cancelRun, cancelRun, true},
		{onInterruptAsk, os.Interrupt, true, detach, detach, true},
		// No terminal on stdin: nobody to ask; detaching loses nothing.
		{onInterruptAsk, os.Interrupt, false, cancelRun, detach, false},
		// SIGTERM is a supervisor, not a person.
		{onInterruptAsk, syscall.SIGTERM, true, cancelRun, detach, false},
		{onInterruptCancel, os.Interrupt, false, detach, cancelRun, false},
		{onInterruptCancel, syscall.SIGTERM, true, detach, cancelRun, false},
		{onInterruptDetach, os.Interrupt, true, cancelRun, detach, false},
	} {
		asked = 0
		got := decideInterrupt(tc.mode, tc.sig, tc.interactive, ask(tc.answer))
		if got != tc.want || (asked > 0) != tc.wantAsked {
			t.Errorf("decideInterrupt(%s, %v, interactive=%v) = %v (asked %d); want %v (asked %v)",
				tc.mode, tc.sig, tc.interactive, got, asked, tc.want, tc.wantAsked)
		}
	}
}

func TestParseAnswer(t *testing.T) {
	for in, want := range map[string]action{
		"c\n": cancelRun, "C\n": cancelRun, " cancel \n": cancelRun,
		"\n": detach, "d\n": detach, "D": detach, "detach\n": detach, "": detach, "yes\n": detach,
	} {
		if got := parseAnswer(in); got != want {
			t.Errorf("parseAnswer(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestAskInterrupt(t *testing.T) {
	var out bytes.Buffer
	if got := askInterrupt(strings.NewReader("c\n"), &out, "20260102T030405Z-0123abcd", nil); got != cancelRun {
		t.Errorf("answer c: %v", got)
	}
	if want := "benchmark 20260102T030405Z-0123abcd: " + interruptPrompt; out.String() != want {
		t.Errorf("prompt %q, want %q", out.String(), want)
	}
	if got := askInterrupt(strings.NewReader("\n"), io.Discard, "x", nil); got != detach {
		t.Errorf("Enter: %v", got)
	}
	if got := askInterrupt(strings.NewReader(""), io.Discard, "x", nil); got != detach {
		t.Errorf("end of input: %v", got)
	}
	// Ctrl-C again while the question is open detaches at once.
	again := make(chan os.Signal, 1)
	again <- os.Interrupt
	pr, pw := io.Pipe() // never answered
	defer pw.Close()
	done := make(chan action, 1)
	go func() { done <- askInterrupt(pr, io.Discard, "x", again) }()
	select {
	case got := <-done:
		if got != detach {
			t.Errorf("second Ctrl-C: %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second Ctrl-C did not end the question")
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"36h":                  now.Add(-36 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"1.5d":                 now.Add(-36 * time.Hour),
		"2026-05-01T08:00:00Z": time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC),
		"2026-05-01":           time.Date(2026, 5, 1, 0, 0, 0, 0, time.Local),
	} {
		got, err := parseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-3h", "5x"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}

func TestCheckOnInterrupt(t *testing.T) {
	for _, ok := range []string{"ask", "cancel", "detach"} {
		if err := checkOnInterrupt(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := checkOnInterrupt("kill"); err == nil {
		t.Error("kill accepted")
	}
}
