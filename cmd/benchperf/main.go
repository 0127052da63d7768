// Command benchperf is benchd's performance harness: it measures
// benchd side by side with the legacy way of doing the same work — a fresh
// `ssh ... docker exec ...` for every VRAM sample and every generation — on
// the real deployment (the rig's ollama, benchd started per the shipped unit
// as ai-worker, Debian's sshd with the shipped policy, an `ssh -N -L`
// forward), in one run, and prints a markdown table of medians, p99s and
// ratios. Then it runs the Go benchmarks of the hot paths (-count 6,
// benchstat's input format).
//
//	sudo go run ./cmd/benchperf    # or: make perf
//
// It needs what `make test` needs (root, a running Docker Engine, sshd,
// util-linux) and builds the ollama rig on first use. Nothing is asserted:
// the box may be shared and noisy, so it prints the machine and its load
// average at the start and the end next to the numbers.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/benchd/benchd/internal/testrig"
)

type config struct {
	samples, floorSamples int
	gap                   time.Duration
	trialRounds, perRound int
	clients               int
	window                time.Duration
	samplerTarget         time.Duration
	footprintRPCs         int
	benchd                string
	goBench               bool
	goBenchCount          int
	out                   string
}

func main() {
	var c config
	flag.IntVar(&c.samples, "samples", 200, "VRAM samples per path (interleaved)")
	flag.DurationVar(&c.gap, "gap", 50*time.Millisecond, "pause before each VRAM sample, so one path's teardown does not land in the next one's timing")
	flag.IntVar(&c.floorSamples, "floor-samples", 50, "samples of each part of the legacy path (ssh alone, docker CLI alone, Engine API exec)")
	flag.IntVar(&c.trialRounds, "trial-rounds", 5, "rounds of the per-trial comparison")
	flag.IntVar(&c.perRound, "per-round", 4, "legacy runs and benchd trials per round")
	flag.IntVar(&c.clients, "clients", 32, "concurrent clients of the throughput test")
	flag.DurationVar(&c.window, "window", 10*time.Second, "measured window of the throughput test")
	flag.DurationVar(&c.samplerTarget, "sampler-benchmark", 30*time.Second, "length of the sampler-cost benchmark")
	flag.IntVar(&c.footprintRPCs, "rpcs", 1000, "RPCs before the second RSS reading")
	flag.StringVar(&c.benchd, "benchd", "", "measure this benchd binary instead of building the checkout's (e.g. an older build, for a before/after comparison)")
	flag.BoolVar(&c.goBench, "gobench", true, "also run the Go benchmarks (go test -bench, after the daemons are stopped)")
	flag.IntVar(&c.goBenchCount, "gobench-count", 6, "go test -count for the Go benchmarks")
	flag.StringVar(&c.out, "out", filepath.Join(testrig.RepoRoot(), "cmd", "benchperf", "out"), "directory for the report and the raw Go benchmark output")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "benchperf:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	m := machineInfo()
	rep := &report{machine: &m, cfg: c}

	measureErr := measureRig(ctx, c, rep)
	m.loadEnd = loadavg()
	table := rep.markdown()
	if measureErr != nil {
		// What was measured before the failure is still worth seeing.
		table += fmt.Sprintf("\nThe run stopped early: %v\n", measureErr)
	}
	fmt.Println()
	fmt.Print(table)
	path := filepath.Join(c.out, "perf-"+stamp+".md")
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		return err
	}
	step("report written to %s", path)
	if measureErr != nil {
		return measureErr
	}

	if c.goBench {
		raw := filepath.Join(c.out, "gobench-"+stamp+".txt")
		summary, err := goBench(ctx, c.goBenchCount, raw)
		if err != nil {
			return err
		}
		fmt.Println()
		fmt.Print(summary)
		if err := appendFile(path, "\n"+summary); err != nil {
			return err
		}
		step("Go benchmarks: raw output (benchstat's input) in %s", raw)
	}
	return nil
}

// measureRig sets the deployment up, measures, and tears it down (also on
// error or Ctrl-C).
func measureRig(ctx context.Context, c config, rep *report) error {
	cl := &testrig.Cleanups{}
	defer func() {
		step("tearing down")
		cl.Run()
	}()
	r, err := setupRig(ctx, cl, c.benchd)
	if err != nil {
		return err
	}
	pid := r.sysfs.d.PID()
	if fi, err := os.Stat(r.binary); err == nil {
		rep.binarySize = fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
	}

	// 5. Footprint first, before anything else has touched the daemon.
	fp := &footprint{rpcs: c.footprintRPCs}
	time.Sleep(time.Second)
	if fp.start, err = testrig.ProcMem(pid); err != nil {
		return err
	}
	step("footprint: %d SampleVRAM calls on the socket", c.footprintRPCs)
	if err := rpcs(ctx, r.sysfs.cfg.Socket, c.footprintRPCs); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if fp.after, err = testrig.ProcMem(pid); err != nil {
		return err
	}
	rep.footprint = fp

	step("vram: %d interleaved samples per path, %v apart", c.samples, c.gap)
	if rep.vram, err = measureVRAM(ctx, r, c.samples, c.floorSamples, c.gap); err != nil {
		return err
	}
	step("trials: %d rounds of %d legacy runs and a %d-trial benchmark", c.trialRounds, c.perRound, c.perRound)
	if rep.trials, err = measureTrials(ctx, r, c.trialRounds, c.perRound); err != nil {
		return err
	}
	step("throughput: %d clients for %v on %s", c.clients, c.window, r.sysfs.cfg.Socket)
	if rep.throughput, err = measureThroughput(ctx, r.sysfs.cfg.Socket, pid, c.clients, c.window); err != nil {
		return err
	}
	perToken := rep.trials.benchdWall.median() / 128
	if rep.sampler, err = measureSampler(ctx, r, perToken, c.samplerTarget); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	if fp.end, err = testrig.ProcMem(pid); err != nil {
		return err
	}
	return nil
}

// goBench runs the hot-path Go benchmarks, writes go test's output to raw
// (what benchstat reads) and returns a markdown summary.
func goBench(ctx context.Context, count int, raw string) (string, error) {
	pkgs := []string{"./internal/vram/", "./internal/stats/", "./service/"}
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", fmt.Sprint(count)}, pkgs...)
	step("go %s", strings.Join(args, " "))
	f, err := os.Create(raw)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = testrig.RepoRoot()
	cmd.Stdout = io.MultiWriter(f, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go test -bench: %w", err)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		return "", err
	}
	return goBenchSummary(string(b)), nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(s)
	return err
}
