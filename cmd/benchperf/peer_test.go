package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// TestRatesAgreeWithOllamaBench: benchd and ollama's own benchmark, on the
// same container, model and settings, interleaved, report prefill and
// generation rates whose means do not differ beyond what the noise of
// both, measured in this run, explains (Welch's test at peerAlpha/2 per
// rate). Both read ollama's own counts and durations; a benchd that, say,
// counted the final chunk's tokens wrongly, timed on its own clock, sent
// other options or slowed ollama by reading slowly would show here.
func TestRatesAgreeWithOllamaBench(t *testing.T) {
	r, err := peerRig()
	if err != nil {
		t.Fatal(err)
	}
	container := testrig.OllamaOf(t, r)
	d := testrig.StartDaemon(t, "--container", container, "--vram-source", "none")
	bd, err := client.New(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer bd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := defaultPeerSettings()
	run, err := measurePeer(ctx, bd, r, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + run.markdown())
	for _, c := range run.compare() {
		if !c.Agree {
			t.Errorf("%s: benchd %.0f ± %.0f, ollama-bench %.0f ± %.0f: Welch t %.2f (df %.1f), p %.4f < %.4f",
				c.Metric, c.Benchd.Mean, c.Benchd.Stddev, c.Bench.Mean, c.Bench.Stddev, c.T, c.DF, c.P, c.Alpha)
		}
	}
	// The settings reached both: the tiny model never stops early, so
	// every trial generates exactly max tokens.
	for tool, ts := range map[string][]peerTrial{"benchd": run.Benchd, "ollama-bench": run.Bench} {
		if len(ts) != s.Trials {
			t.Errorf("%s ran %d trials, want %d", tool, len(ts), s.Trials)
		}
		for i, tr := range ts {
			if tr.EvalTokens != s.MaxTokens || tr.PromptTokens < 1 || tr.Overhead() < 0 {
				t.Errorf("%s trial %d: %+v; want %d generated tokens, a prompt, wall ≥ total_duration", tool, i, tr, s.MaxTokens)
			}
		}
	}
}

// TestParseOllamaBench reads what ollama-bench v0.17.4 printed for one
// trial in the rig (testdata/ollama-bench-0.17.4.{csv,stderr}, captured
// with ollamaBenchScript), and refuses a run whose request failed (it
// exits 0 then, with the error on stderr and no metrics).
func TestParseOllamaBench(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got, err := parseOllamaBench(read("ollama-bench-0.17.4.csv"), read("ollama-bench-0.17.4.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	want := peerTrial{PromptTokens: 99, EvalTokens: 128}
	if got.PromptTokens != want.PromptTokens || got.EvalTokens != want.EvalTokens ||
		got.Prefill <= 0 || got.Generate <= 0 || got.Total <= 0 || got.Wall < got.Total {
		t.Errorf("parsed %+v; want %d prompt and %d generated tokens, rates, wall ≥ total", got, want.PromptTokens, want.EvalTokens)
	}
	_, err = parseOllamaBench(nil, []byte("ERROR: Couldn't chat with model 'absent': model 'absent' not found\n0.012\n"))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a failed request: %v, want an error carrying ollama-bench's", err)
	}
}
