package main

// The peer comparison (issue 17): benchd beside ollama's own benchmark —
// cmd/bench, built from the same ollama module as the server and shipped
// in the rig image as ollama-bench — against the same container and model
// with the same settings, interleaved in one run. Both tools report
// ollama's own counts and durations, so their per-trial prefill and
// generation rates must agree within the noise measured in the run
// (peerRun.compare); what differs is each tool's cost around a trial: its
// wall time minus ollama's total_duration.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/stats"
	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/proto/defaults"
)

// peerAlpha is the chance, when the tools' means are no further apart
// than the tolerance, that the test still calls a disagreement: the run
// compares two rates, each at peerAlpha/2 (Bonferroni).
const peerAlpha = 0.01

// peerSettings are the settings both tools get, the same for each.
type peerSettings struct {
	Model       string
	Prompt      string // each trial puts a prefix of its own before it
	MaxTokens   int
	Seed        int
	Temperature float64
	// Trials of each tool, interleaved trial by trial (measurePeer).
	Trials int
}

func defaultPeerSettings() peerSettings {
	return peerSettings{Model: testrig.Model, Prompt: defaults.Prompt, MaxTokens: 128, Seed: 42,
		Temperature: 0, Trials: 32}
}

// peerTrial is one trial as either tool saw it.
type peerTrial struct {
	PromptTokens, EvalTokens int
	// Prefill and Generate are tokens per second from ollama's counts
	// and durations (prompt_eval_*, eval_*).
	Prefill, Generate float64
	// Total is ollama's total_duration; Wall the tool's own time for the
	// trial: benchd's from sending the request to the final chunk,
	// ollama-bench's process from start to exit (it runs one trial).
	Total, Wall time.Duration
}

// Overhead is the tool's cost around the trial: wall time ollama did not
// account for.
func (t peerTrial) Overhead() time.Duration { return t.Wall - t.Total }

// peerRun is the trials of one comparison.
type peerRun struct {
	Settings           peerSettings
	Version, Container string
	Benchd, Bench      []peerTrial
}

// peerRig is the rig version the comparison runs on: the newest listed,
// which must ship ollama-bench (ollama v0.13.5 and later have cmd/bench).
func peerRig() (testrig.Rig, error) {
	vs, err := testrig.Versions()
	if err != nil {
		return testrig.Rig{}, err
	}
	return testrig.RigFor(vs[len(vs)-1]), nil
}

// checkOllamaBench fails unless the container's image ships ollama-bench
// (rig.sh labels it).
func checkOllamaBench(ctx context.Context, r testrig.Rig) error {
	out, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", `{{ index .Config.Labels "benchd.rig.bench" }}`, r.Image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("inspect %s: %v: %s", r.Image, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "ollama-bench" {
		return fmt.Errorf("image %s has no ollama-bench (label benchd.rig.bench=%q): ollama %s's module has no cmd/bench; the peer comparison needs v0.13.5 or later last in testdata/rig/versions", r.Image, got, r.Version)
	}
	return nil
}

// measurePeer runs the comparison against r's container, benchd through
// bd (a daemon serving that container). A warm-up trial of each tool
// comes first and is not kept: the model loaded, the paths warm.
func measurePeer(ctx context.Context, bd *client.Client, r testrig.Rig, s peerSettings) (*peerRun, error) {
	if err := checkOllamaBench(ctx, r); err != nil {
		return nil, err
	}
	run := &peerRun{Settings: s, Version: r.Version, Container: r.Container}
	benchd := func(n int) error {
		ts, err := benchdTrials(ctx, bd, s, n)
		run.Benchd = append(run.Benchd, ts...)
		return err
	}
	bench := func(n int) error {
		for range n {
			t, err := ollamaBenchTrial(ctx, r.Container, s)
			if err != nil {
				return err
			}
			run.Bench = append(run.Bench, t)
		}
		return nil
	}
	if err := errors.Join(benchd(1), bench(1)); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	run.Benchd, run.Bench = nil, nil
	// Trial by trial, the tool that goes first alternating each pair, and
	// each benchd trial a benchmark of its own: both tools then start
	// every trial alike, after a call's set-up, and a drift of the
	// machine's speed meets both within a few hundred milliseconds. (In
	// blocks of four, benchd's trials followed each other within a
	// millisecond while ollama-bench's each followed a docker exec, and
	// one CI run saw prefill rates 23% apart.)
	for i := range s.Trials {
		first, second := benchd, bench
		if i%2 == 1 {
			first, second = bench, benchd
		}
		if err := first(1); err != nil {
			return nil, err
		}
		if err := second(1); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// benchdTrials runs one benchmark of n trials without warm-up.
func benchdTrials(ctx context.Context, bd *client.Client, s peerSettings, n int) ([]peerTrial, error) {
	zero, seed := 0, int64(s.Seed)
	res, err := bd.RunBenchmark(ctx, client.BenchmarkRequest{
		Model: s.Model, Prompts: []string{s.Prompt}, Repetitions: n, Warmup: &zero, MaxTokens: s.MaxTokens,
		Temperature: s.Temperature, Seed: &seed, NoVRAMSampling: true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("benchd: RunBenchmark: %w", err)
	}
	ts := make([]peerTrial, 0, len(res.Trials))
	for _, t := range res.Trials {
		ts = append(ts, peerTrial{PromptTokens: int(t.PromptEvalCount), EvalTokens: int(t.EvalCount),
			Prefill: t.PromptEvalRate, Generate: t.EvalRate, Total: t.TotalDuration, Wall: t.Wall})
	}
	return ts, nil
}

// ollamaBenchScript runs ollama-bench for one trial inside the container
// and then prints the process's wall time (bash's time, in seconds) as
// stderr's last line: its start, connection and request, with no docker
// exec around it. One process per trial, because ollama-bench sends the
// same prompt every epoch and ollama answers all but the first from its
// prompt cache: it still counts the whole prompt, so -epochs 4 reported
// 11,606 prefill tok/s, then 353,745, 309,751 and 342,649 (v0.17.4, the
// rig). Each trial here gets a prefix of its own, as benchd's do.
const ollamaBenchScript = `TIMEFORMAT=%3R; time ollama-bench -format csv -epochs 1 -model "$1" -max-tokens "$2" -seed "$3" -temperature "$4" -p "$5"`

// ollamaBenchTrial runs one ollama-bench trial in container.
func ollamaBenchTrial(ctx context.Context, container string, s peerSettings) (peerTrial, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return peerTrial{}, err
	}
	// The shape of benchd's prefix ("<8 hex> [run <8 hex>, trial N] ",
	// internal/runner/prompt.go), random, so that both tools' prompts have
	// the same length and neither starts like an earlier one.
	prompt := fmt.Sprintf("%s [run %s, trial 1] %s", hex.EncodeToString(id[:4]), hex.EncodeToString(id[4:]), s.Prompt)
	cmd := exec.CommandContext(ctx, "docker", "exec", container, "bash", "-c", ollamaBenchScript, "ollama-bench",
		s.Model, strconv.Itoa(s.MaxTokens), strconv.Itoa(s.Seed), strconv.FormatFloat(s.Temperature, 'g', -1, 64), prompt)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return peerTrial{}, fmt.Errorf("ollama-bench in %s: %v\n%s", container, err, stderr.String())
	}
	return parseOllamaBench(stdout.Bytes(), stderr.Bytes())
}

// parseOllamaBench reads ollama-bench's CSV (NAME,STEP,COUNT,NS_PER_COUNT,
// TOKEN_PER_SEC: steps prefill and generate with their token counts and
// nanoseconds per token, load and total with nanoseconds) and the wall
// time bash printed last on stderr. ollama-bench exits 0 even when its
// request failed, saying so on stderr: a missing step is that error.
func parseOllamaBench(stdout, stderr []byte) (peerTrial, error) {
	errText := strings.TrimSpace(string(stderr))
	lines := strings.Split(errText, "\n")
	secs, err := strconv.ParseFloat(strings.TrimSpace(lines[len(lines)-1]), 64)
	if err != nil {
		return peerTrial{}, fmt.Errorf("ollama-bench: no wall time on stderr's last line: %q", errText)
	}
	rows, err := csv.NewReader(bytes.NewReader(stdout)).ReadAll()
	if err != nil {
		return peerTrial{}, fmt.Errorf("ollama-bench CSV: %w\n%s", err, stdout)
	}
	type step struct {
		count int
		d     time.Duration
	}
	steps := map[string]step{}
	for _, row := range rows {
		if len(row) != 5 || row[0] == "NAME" {
			continue
		}
		n, err1 := strconv.Atoi(row[2])
		per, err2 := strconv.ParseFloat(row[3], 64)
		if err := errors.Join(err1, err2); err != nil {
			return peerTrial{}, fmt.Errorf("ollama-bench CSV row %q: %w", row, err)
		}
		steps[row[1]] = step{count: n, d: time.Duration(math.Round(per * float64(n)))}
	}
	for _, name := range []string{"prefill", "generate", "total"} {
		if _, ok := steps[name]; !ok {
			return peerTrial{}, fmt.Errorf("ollama-bench printed no %s step (its error: %q)\n%s", name, strings.Join(lines[:len(lines)-1], "\n"), stdout)
		}
	}
	pre, gen := steps["prefill"], steps["generate"]
	return peerTrial{PromptTokens: pre.count, EvalTokens: gen.count, Prefill: tokensPerSecond(pre.count, pre.d),
		Generate: tokensPerSecond(gen.count, gen.d), Total: steps["total"].d,
		Wall: time.Duration(secs * float64(time.Second))}, nil
}

func tokensPerSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// peerComparison is one rate of both tools and the test of their means.
type peerComparison struct {
	Metric        string
	Benchd, Bench stats.Summary
	// Tolerance is how far apart, as a ratio, the tools' geometric mean
	// rates may be: one trial's spread in this run (compare).
	Tolerance float64
	T, DF, P  float64 // stats.WelchBeyond on the logarithms of the rates
	Alpha     float64 // the level this rate is tested at
	Agree     bool    // P >= Alpha: the run shows no gap beyond the tolerance
}

// Difference is benchd's mean rate relative to ollama-bench's.
func (c peerComparison) Difference() float64 { return (c.Benchd.Mean - c.Bench.Mean) / c.Bench.Mean }

// compare tests each rate on the logarithms of the trials' rates (a gap is
// a ratio, and a trial's noise is a share of its rate): the tools disagree
// when the run shows their means further apart than one trial's noise,
// the standard deviation of a log rate pooled over both tools, Welch's
// way, at peerAlpha/2 per rate.
//
// The tolerance is not zero because each tool's own CPU moves the pace it
// measures: on the rig the model runs on the same two cores as the tools,
// at 2,000–4,000 tokens/s. Every chunk wakes benchd's Docker exec bridge
// (dockerd, containerd-shim and cat in the container: about 100 µs of CPU
// per token, docs/performance.md); ollama-bench starts a process right
// before its request and reads ollama's HTTP inside the container.
// Against ollama-bench, benchd's generation rate read 0–14% lower in runs
// on the development machine and 19% lower in one CI run, which a test of
// equal means failed (p = 0.003); its prefill rate read 3% higher on
// average (−2 to +7% over seven runs). So the check is coarse: with the
// rig's spread (a fifth of the rate) and 32 trials, rates twice or half as
// high fail it and rates 25% apart do not
// (TestPeerComparisonCallsAGapBeyondTheNoise); a reader that held ollama
// back would show. The rate arithmetic itself is checked against ollama's
// own printed rates on real output (internal/ollama, verbose_test.go).
func (r *peerRun) compare() []peerComparison {
	var out []peerComparison
	for _, m := range []struct {
		name string
		f    func(peerTrial) float64
	}{
		{"prefill tok/s", func(t peerTrial) float64 { return t.Prefill }},
		{"generate tok/s", func(t peerTrial) float64 { return t.Generate }},
	} {
		a, b := values(r.Benchd, m.f), values(r.Bench, m.f)
		la, lb := logs(a), logs(b)
		sa, sb := stats.Summarize(la), stats.Summarize(lb)
		margin := math.Sqrt((sa.Stddev*sa.Stddev + sb.Stddev*sb.Stddev) / 2)
		t, df, p := stats.WelchBeyond(la, lb, margin)
		alpha := peerAlpha / 2
		out = append(out, peerComparison{Metric: m.name, Benchd: stats.Summarize(a), Bench: stats.Summarize(b),
			Tolerance: math.Exp(margin), T: t, DF: df, P: p, Alpha: alpha, Agree: p >= alpha})
	}
	return out
}

func logs(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Log(x)
	}
	return out
}

func values(ts []peerTrial, f func(peerTrial) float64) []float64 {
	out := make([]float64, len(ts))
	for i, t := range ts {
		out[i] = f(t)
	}
	return out
}

func overheads(ts []peerTrial) []float64 {
	return values(ts, func(t peerTrial) float64 { return float64(t.Overhead()) / float64(time.Millisecond) })
}

// markdown is the side-by-side table and the per-trial overheads.
func (r *peerRun) markdown() string {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, "## benchd beside ollama-bench (ollama %s's cmd/bench)\n\n", r.Version)
	fmt.Fprintf(&b, "Container %s, model %s, max tokens %d, seed %d, temperature %g; %d trials of each tool, interleaved trial by trial, each benchd trial a benchmark of its own (warm-up left out). Rates are from ollama's own counts and durations. "+
		"The tools agree unless the run shows their mean log rates further apart than the tolerance, one trial's spread: each tool's own CPU moves the pace of a CPU-bound model "+
		"(Welch's test of the gap beyond the tolerance, p below %.3g per rate, %.2g for the pair).\n\n",
		r.Container, s.Model, s.MaxTokens, s.Seed, s.Temperature, s.Trials, peerAlpha/2, peerAlpha)
	b.WriteString("| | benchd | ollama-bench | difference | tolerance | t (df) | p | agree |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.compare() {
		fmt.Fprintf(&b, "| %s, mean ± sd (n) | %.0f ± %.0f (%d) | %.0f ± %.0f (%d) | %+.1f%% | ×/÷ %.2f | %.2f (%.1f) | %.3f | %s |\n",
			c.Metric, c.Benchd.Mean, c.Benchd.Stddev, c.Benchd.N, c.Bench.Mean, c.Bench.Stddev, c.Bench.N,
			100*c.Difference(), c.Tolerance, c.T, c.DF, c.P, yesNo(c.Agree))
	}
	count := func(ts []peerTrial, f func(peerTrial) int) string {
		xs := make([]int, len(ts))
		for i, t := range ts {
			xs[i] = f(t)
		}
		slices.Sort(xs)
		if len(xs) == 0 {
			return "-"
		}
		return fmt.Sprintf("%d–%d", xs[0], xs[len(xs)-1])
	}
	fmt.Fprintf(&b, "| prompt tokens (min–max) | %s | %s | | | | | |\n",
		count(r.Benchd, func(t peerTrial) int { return t.PromptTokens }), count(r.Bench, func(t peerTrial) int { return t.PromptTokens }))
	fmt.Fprintf(&b, "| generated tokens (min–max) | %s | %s | | | | | |\n",
		count(r.Benchd, func(t peerTrial) int { return t.EvalTokens }), count(r.Bench, func(t peerTrial) int { return t.EvalTokens }))
	ob, oo := stats.Summarize(overheads(r.Benchd)), stats.Summarize(overheads(r.Bench))
	fmt.Fprintf(&b, "| per-trial overhead ms (wall − total_duration), median [p90] | %.1f [%.1f] | %.1f [%.1f] | | | | | |\n\n", ob.P50, ob.P90, oo.P50, oo.P90)
	b.WriteString("Overhead: benchd's is from sending the request to the final chunk through the Docker exec bridge; ollama-bench's is its whole process inside the container (start, connection, request), one process per trial.\n\n")
	b.WriteString("Per trial (tool, prompt tokens, prefill tok/s, generated tokens, generate tok/s, total_duration, wall, overhead):\n\n```\n")
	for _, side := range []struct {
		name string
		ts   []peerTrial
	}{{"benchd", r.Benchd}, {"ollama-bench", r.Bench}} {
		for _, t := range side.ts {
			fmt.Fprintf(&b, "%-12s %4d %8.0f %5d %7.0f %10v %10v %9v\n", side.name, t.PromptTokens, t.Prefill, t.EvalTokens, t.Generate,
				t.Total.Round(time.Microsecond), t.Wall.Round(time.Microsecond), t.Overhead().Round(time.Microsecond))
		}
	}
	b.WriteString("```\n")
	return b.String()
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// peerFlags registers the peer comparison's flags.
func peerFlags(c *config) {
	d := defaultPeerSettings()
	flag.BoolVar(&c.peer, "peer", true, "compare benchd with ollama's own benchmark (ollama-bench) on the newest rig version: rates and per-trial overhead")
	flag.BoolVar(&c.peerOnly, "peer-only", false, "run only the peer comparison (needs Docker, not root or sshd)")
	flag.IntVar(&c.peerTrials, "peer-trials", d.Trials, "trials of each tool in the peer comparison (interleaved trial by trial)")
}

// peerSection runs the comparison against the newest rig version, with a
// benchd of its own (built as nix/package.nix does, like the rest of the
// harness), and returns its markdown.
func peerSection(ctx context.Context, c config) (string, error) {
	cl := &testrig.Cleanups{}
	defer cl.Run()
	r, err := peerRig()
	if err != nil {
		return "", err
	}
	step("peer: rig.sh ensure for ollama %s (%s; builds on first use, about 12 min on 2 busy cores)", r.Version, r.Container)
	if err := r.Ensure(); err != nil {
		return "", err
	}
	bin, err := testrig.BuildPackage(cl)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "bd-peer-")
	if err != nil {
		return "", err
	}
	cl.Cleanup(func() { os.RemoveAll(dir) })
	d, err := testrig.LaunchDaemon(cl, bin, "--socket", filepath.Join(dir, "benchd.sock"), "--store", filepath.Join(dir, "history.db"),
		"--container", r.Container, "--vram-source", "none")
	if err != nil {
		return "", err
	}
	bd, err := client.New(d.Socket)
	if err != nil {
		return "", err
	}
	defer bd.Close()
	s := defaultPeerSettings()
	s.Trials = c.peerTrials
	step("peer: %d trials each of benchd and of ollama-bench, interleaved, against %s", s.Trials, r.Container)
	run, err := measurePeer(ctx, bd, r, s)
	if err != nil {
		return "", fmt.Errorf("peer comparison: %w", err)
	}
	return run.markdown(), nil
}
