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
	bridgeVsHTTP          bool
	inFlight              int
	inFlightTokens        int
	trials, sampler       bool
	features              bool
	bridgeTokens          int
	bridgeReps            int
	bridgeRounds          int
	before                string
	instructions          bool
	goBench               bool
	goBenchCount          int
	out                   string
	// The peer comparison (peer.go).
	peer, peerOnly bool
	peerTrials     int
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
	flag.StringVar(&c.benchd, "benchd", "", "the before build: this benchd binary (e.g. the base commit's) runs side by side with the checkout's build and fills the before column")
	flag.StringVar(&c.before, "before", "", "a git revision for the before/after instruction counts of the Go benchmarks (built in a temporary worktree); with -benchd unset, its benchd is the before build too")
	flag.BoolVar(&c.instructions, "instructions", true, "count instructions per call of the Go RPC benchmarks under valgrind (callgrind), before and after when -before is set")
	flag.BoolVar(&c.bridgeVsHTTP, "bridge", true, "measure the CPU per streamed token of the Docker exec bridge against plain HTTP (the harness's own ollama container, host network)")
	flag.IntVar(&c.bridgeTokens, "bridge-tokens", 2048, "max tokens per trial of the bridge-vs-HTTP benchmark")
	flag.IntVar(&c.bridgeReps, "bridge-reps", 6, "trials per benchmark of the bridge-vs-HTTP comparison")
	flag.IntVar(&c.bridgeRounds, "bridge-rounds", 2, "alternating rounds of the bridge-vs-HTTP comparison")
	flag.IntVar(&c.inFlight, "in-flight", 32, "with -bridge: also a concurrency run of this many requests in flight each way, for benchd's CPU per token with many streams (0: off)")
	flag.IntVar(&c.inFlightTokens, "in-flight-tokens", 256, "max tokens per request of the in-flight run")
	flag.BoolVar(&c.features, "features", true, "measure the later features' costs: SampleVRAM with GPU telemetry and --metrics on, and a /metrics scrape (a daemon of their own)")
	flag.BoolVar(&c.trials, "trials", true, "compare per-trial overhead with the legacy path (ollama generations; minutes)")
	flag.BoolVar(&c.sampler, "sampler", true, "measure benchd's CPU per generated token with sampling on and off (needs -trials)")
	flag.BoolVar(&c.goBench, "gobench", true, "also run the Go benchmarks (go test -bench, after the daemons are stopped)")
	flag.IntVar(&c.goBenchCount, "gobench-count", 6, "go test -count for the Go benchmarks")
	peerFlags(&c)
	echoChild := flag.Bool(echoFlag, false, "internal: serve the wake-up floor's echo on the inherited listener")
	flag.StringVar(&c.out, "out", filepath.Join(testrig.RepoRoot(), "cmd", "benchperf", "out"), "directory for the report and the raw Go benchmark output")
	flag.Parse()
	if *echoChild {
		if err := serveEcho(); err != nil {
			fmt.Fprintln(os.Stderr, "benchperf echo:", err)
			os.Exit(1)
		}
		return
	}

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

	if c.peerOnly {
		table, err := peerSection(ctx, c)
		fmt.Print(table)
		return err
	}
	cl := &testrig.Cleanups{}
	defer cl.Run()
	var beforeTest, beforeDir string
	if c.before != "" {
		bin, test, dir, err := buildBefore(ctx, cl, c.before)
		if err != nil {
			return err
		}
		beforeTest, beforeDir = test, dir
		if c.benchd == "" {
			c.benchd = bin
			rep.cfg.benchd = bin
		}
	}
	measureErr := measureRig(ctx, c, rep)
	if measureErr == nil && c.instructions {
		// After the daemons are gone: valgrind is slow and takes a core.
		rep.instr, measureErr = measureInstructions(ctx, beforeTest, beforeDir)
	}
	var peerTable string
	if measureErr == nil && c.peer {
		peerTable, measureErr = peerSection(ctx, c)
	}
	m.loadEnd = loadavg()
	table := rep.markdown() + peerTable
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
	r, err := setupRig(ctx, cl, c.benchd, c.bridgeVsHTTP, c.features)
	if err != nil {
		return err
	}
	pid := r.sysfs.d.PID()
	var beforePID int
	if r.before != nil {
		beforePID = r.before.d.PID()
	}
	if fi, err := os.Stat(r.binary); err == nil {
		rep.binarySize = fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
	}

	// 5. Footprint first, before anything else has touched the daemons.
	footprintOf := func(d *daemon) (*footprint, error) {
		fp := &footprint{rpcs: c.footprintRPCs}
		var err error
		if fp.start, err = testrig.ProcMem(d.d.PID()); err != nil {
			return nil, err
		}
		step("footprint (%s): %d SampleVRAM calls on the socket", d.name, c.footprintRPCs)
		if err := rpcs(ctx, d.cfg.Socket, c.footprintRPCs); err != nil {
			return nil, err
		}
		time.Sleep(2 * time.Second)
		if fp.after, err = testrig.ProcMem(d.d.PID()); err != nil {
			return nil, err
		}
		return fp, nil
	}
	time.Sleep(time.Second)
	fp, err := footprintOf(r.sysfs)
	if err != nil {
		return err
	}
	rep.footprint = fp
	if r.before != nil {
		if rep.beforeFootprint, err = footprintOf(r.before); err != nil {
			return err
		}
	}

	step("vram: %d interleaved samples per path, %v apart", c.samples, c.gap)
	if rep.vram, err = measureVRAM(ctx, r, c.samples, c.floorSamples, c.gap); err != nil {
		return err
	}
	if c.trials {
		step("trials: %d rounds of %d legacy runs and a %d-trial benchmark", c.trialRounds, c.perRound, c.perRound)
		if rep.trials, err = measureTrials(ctx, r, c.trialRounds, c.perRound); err != nil {
			return err
		}
	}
	// Throughput: with a before build, the two alternate in half windows
	// (after, before, before, after), so both see the same machine.
	if r.before == nil {
		step("throughput: %d clients for %v on %s", c.clients, c.window, r.sysfs.cfg.Socket)
		if rep.throughput, err = measureThroughput(ctx, r.sysfs.cfg.Socket, pid, c.clients, c.window); err != nil {
			return err
		}
	} else {
		half := c.window / 2
		for i, who := range []string{"after", "before", "before", "after"} {
			sock, p, dst := r.sysfs.cfg.Socket, pid, &rep.throughput
			if who == "before" {
				sock, p, dst = r.before.cfg.Socket, beforePID, &rep.beforeThroughput
			}
			step("throughput %d/4 (%s): %d clients for %v on %s", i+1, who, c.clients, half, sock)
			th, err := measureThroughput(ctx, sock, p, c.clients, half)
			if err != nil {
				return err
			}
			*dst = (*dst).merge(th)
		}
	}
	if r.features != nil {
		step("features: %d SampleVRAM calls each on the plain and the telemetry+metrics daemon, %d scrapes of %s/metrics", 2000, 100, r.featuresAddr)
		if rep.features, err = measureFeatures(ctx, r, r.featuresAddr, 2000, 100); err != nil {
			return err
		}
	}
	if c.sampler && rep.trials != nil {
		perToken := rep.trials.benchdWall.median() / 128
		if rep.sampler, err = measureSampler(ctx, r, r.sysfs, perToken, c.samplerTarget); err != nil {
			return err
		}
		if r.before != nil {
			if rep.beforeSampler, err = measureSampler(ctx, r, r.before, perToken, c.samplerTarget); err != nil {
				return err
			}
		}
	}
	if r.bridge != nil {
		step("bridge vs HTTP: %d rounds of %d × %d-token trials each way", c.bridgeRounds, c.bridgeReps, c.bridgeTokens)
		if rep.bridge, err = measureBridgeVsHTTP(ctx, r, c.bridgeTokens, c.bridgeReps, c.bridgeRounds); err != nil {
			return err
		}
		if c.inFlight > 0 {
			if err := measureInFlight(ctx, r, rep.bridge, c.inFlight, 2*c.inFlight, c.inFlightTokens); err != nil {
				return err
			}
		}
	}
	time.Sleep(2 * time.Second)
	if fp.end, err = testrig.ProcMem(pid); err != nil {
		return err
	}
	if r.before != nil {
		if rep.beforeFootprint.end, err = testrig.ProcMem(beforePID); err != nil {
			return err
		}
	}
	return nil
}

// goBench runs the hot-path Go benchmarks, writes go test's output to raw
// (what benchstat reads) and returns a markdown summary.
func goBench(ctx context.Context, count int, raw string) (string, error) {
	pkgs := []string{"./internal/vram/", "./internal/stats/", "./internal/metrics/", "./service/"}
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
