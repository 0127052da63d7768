package ollama

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func TestParseVerboseFixture(t *testing.T) {
	b, err := os.ReadFile("../../testdata/fixtures/ollama/verbose-stderr-basic.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseVerbose(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Trial{
		TotalDuration:      1279118717 * time.Nanosecond,
		LoadDuration:       891933 * time.Nanosecond,
		PromptEvalCount:    21,
		PromptEvalDuration: 231416 * time.Microsecond,
		EvalCount:          25,
		EvalDuration:       1042407 * time.Microsecond,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	// The fixture's own printed rates, recomputed from the parsed values.
	if r := got.PromptEvalRate(); r < 90.745 || r > 90.755 {
		t.Errorf("prompt eval rate %.3f, fixture prints 90.75", r)
	}
	if r := got.EvalRate(); r < 23.975 || r > 23.985 {
		t.Errorf("eval rate %.3f, fixture prints 23.98", r)
	}
}

func TestParseVerboseSpinnerAndCachedPrompt(t *testing.T) {
	// Spinner escapes and carriage returns before the block; no prompt-eval
	// lines, as when the prompt was cached.
	in := "\x1b[?25l⠙ \x1b[?25h\x1b[?25l\r\x1b[K⠹ \x1b[?25h\rtotal duration:       2m27.989997625s\n" +
		"load duration:        12ms\neval count:           3 token(s)\neval duration:        1.5s\neval rate:            2.00 tokens/s\n"
	got, err := ParseVerbose([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalDuration != 2*time.Minute+27989997625*time.Nanosecond || got.PromptEvalCount != 0 || got.EvalCount != 3 {
		t.Errorf("got %+v", got)
	}
}

// TestParseVerboseSpinnerOnTheStatsLine is the output that failed a
// legacy-path trial of the performance harness (cmd/benchperf): the
// spinner's frames, their cursor escapes stripped, share the line with the
// first statistic, so "total duration" was not recognised and the whole
// block read as missing.
func TestParseVerboseSpinnerOnTheStatsLine(t *testing.T) {
	for name, in := range map[string]string{
		"as seen": "⠙ ⠙ total duration:       1.279118717s\n" +
			"load duration:        891.933µs\neval count:           25 token(s)\neval duration:        1.042407s\n",
		"with its escapes": "\x1b[?25l\x1b[?2026h\x1b[?25l\x1b[1G\x1b[K⠙ \x1b[?25h\x1b[?2026l\x1b[?25l\x1b[1G⠙ \x1b[?25h" +
			"total duration:       1.279118717s\nload duration:        891.933µs\neval count:           25 token(s)\neval duration:        1.042407s\n",
		"every frame": "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ total duration: 1.279118717s\nload duration: 891.933µs\neval count: 25 token(s)\neval duration: 1.042407s\n",
	} {
		got, err := ParseVerbose([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		want := Trial{TotalDuration: 1279118717 * time.Nanosecond, LoadDuration: 891933 * time.Nanosecond,
			EvalCount: 25, EvalDuration: 1042407 * time.Microsecond}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

func TestParseVerboseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no stats":       "hello world\n",
		"bad duration":   "total duration: soon\n",
		"bad count":      "total duration: 1s\neval count: many token(s)\n",
		"negative count": "total duration: 1s\neval count: -4 token(s)\n",
	} {
		if _, err := ParseVerbose([]byte(in)); err == nil {
			t.Errorf("%s: parsed %q without error", name, in)
		}
	}
}

func FuzzParseVerbose(f *testing.F) {
	b, err := os.ReadFile("../../testdata/fixtures/ollama/verbose-stderr-basic.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("total duration: 1s\n"))
	f.Add([]byte("⠙ ⠙ total duration: 1s\neval count: 2 token(s)\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := ParseVerbose(in)
		if err == nil && (tr.TotalDuration <= 0 || tr.EvalCount < 0 || tr.PromptEvalCount < 0) {
			t.Fatalf("accepted %q as %+v", in, tr)
		}
	})
}
