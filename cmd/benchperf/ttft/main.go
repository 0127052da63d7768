// Command ttft is benchperf's TTFT check: over many trials it compares the
// TTFT each benchd build stores with the same request's TTFT timed inside
// the ollama container, and prints the distribution of the difference
// (docs/performance.md, "TTFT on the way"). Nothing is asserted: it prints
// figures, with the machine's load, for a person to read.
//
//	go run ./cmd/benchperf/ttft                          # the checkout's benchd
//	go run ./cmd/benchperf/ttft -benchd /tmp/old-benchd  # and another build, side by side
//
// It needs a Docker Engine and the rig image (testdata/rig/rig.sh build).
// It makes its own container (benchd-perf-ttft, labelled
// benchd.perf.owner=ttft; it never touches another), copies the tap
// (./tap, a static proxy) into it between port -tap-port and ollama's
// 11434, and starts each benchd with --ollama-port at the tap. Each
// benchmark's /api/generate requests, as the tap saw them, are matched in
// order with the benchmark's trials. The builds take turns, a few trials
// each, so they see the same machine.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

const (
	name  = "benchd-perf-ttft"
	label = "benchd.perf.owner=ttft"
)

type builds []string

func (b *builds) String() string     { return strings.Join(*b, ",") }
func (b *builds) Set(s string) error { *b = append(*b, s); return nil }

func main() {
	var others builds
	trials := flag.Int("trials", 200, "measured trials per build")
	per := flag.Int("per", 10, "measured trials per benchmark (builds take turns)")
	tokens := flag.Int("max-tokens", 64, "tokens per trial")
	image := flag.String("image", "benchd-test/ollama:0.9.6", "the rig image")
	tapPort := flag.Int("tap-port", 11500, "the tap's port inside the container")
	self := flag.Bool("self", true, "also measure the checkout's benchd (built here)")
	flag.Var(&others, "benchd", "also measure this benchd binary (repeatable), e.g. the previous commit's")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *self, others, *trials, *per, *tokens, *image, *tapPort); err != nil {
		fmt.Fprintln(os.Stderr, "ttft:", err)
		os.Exit(1)
	}
}

func step(f string, a ...any) { fmt.Fprintf(os.Stderr, "+ "+f+"\n", a...) }

func sh(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// ours removes the harness's container, and only it (by its label).
func removeOurs() {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "name=^/"+name+"$", "--filter", "label="+label).Output()
	for _, id := range strings.Fields(string(out)) {
		_ = exec.Command("docker", "rm", "-f", id).Run()
	}
}

type build struct {
	name, bin, sock string
	cl              *client.Client
	diffs, recv     []float64 // stored TTFT - tap TTFT; received TTFT - tap TTFT (ms)
	invalid         int
}

func run(ctx context.Context, self bool, others []string, trials, per, tokens int, image string, tapPort int) error {
	tmp, err := os.MkdirTemp("", "benchperf-ttft-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	root := testrig.RepoRoot()

	var bs []*build
	if self {
		step("building the checkout's benchd")
		bin := filepath.Join(tmp, "benchd-checkout")
		if _, err := sh(ctx, "go", "build", "-C", root, "-o", bin, "./cmd/benchd"); err != nil {
			return err
		}
		bs = append(bs, &build{name: "checkout", bin: bin})
	}
	for i, o := range others {
		bs = append(bs, &build{name: fmt.Sprintf("benchd#%d (%s)", i+1, o), bin: o})
	}
	if len(bs) == 0 {
		return errors.New("nothing to measure")
	}
	tap := filepath.Join(tmp, "tap")
	cmd := exec.CommandContext(ctx, "go", "build", "-C", root, "-o", tap, "./cmd/benchperf/ttft/tap")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build tap: %v: %s", err, out)
	}

	step("container %s from %s", name, image)
	removeOurs()
	defer removeOurs()
	if _, err := sh(ctx, "docker", "run", "-d", "--name", name, "--label", label, "--network", "none", image, "ollama", "serve"); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := sh(ctx, "docker", "exec", name, "ollama", "list"); err == nil {
			break
		} else if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := sh(ctx, "docker", "exec", name, "ollama", "create", "tiny", "-f", "/models/Modelfile"); err != nil {
		return err
	}
	if _, err := sh(ctx, "docker", "cp", tap, name+":/tmp/tap"); err != nil {
		return err
	}
	tc := exec.CommandContext(ctx, "docker", "exec", name, "/tmp/tap", "-listen", fmt.Sprintf("127.0.0.1:%d", tapPort), "-to", "127.0.0.1:11434")
	tout, err := tc.StdoutPipe()
	if err != nil {
		return err
	}
	tc.Stderr = os.Stderr
	if err := tc.Start(); err != nil {
		return err
	}
	defer func() { _ = tc.Process.Kill(); _ = tc.Wait() }()
	var (
		mu   sync.Mutex
		reqs []tapReq
	)
	sc := bufio.NewScanner(tout)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening") {
		return fmt.Errorf("tap did not start: %q", sc.Text())
	}
	go func() {
		for sc.Scan() {
			if r, ok := parseTap(sc.Text()); ok {
				mu.Lock()
				reqs = append(reqs, r)
				mu.Unlock()
			}
		}
	}()

	for i, b := range bs {
		b.sock = filepath.Join(tmp, fmt.Sprintf("b%d.sock", i))
		d := exec.CommandContext(ctx, b.bin, "--container", name, "--ollama-port", strconv.Itoa(tapPort),
			"--socket", b.sock, "--store", filepath.Join(tmp, fmt.Sprintf("b%d.db", i)), "--log-level", "error")
		d.Stderr = os.Stderr
		if err := d.Start(); err != nil {
			return err
		}
		defer func() { _ = d.Process.Signal(syscall.SIGTERM); _ = d.Wait() }()
		for j := 0; ; j++ {
			if _, err := os.Stat(b.sock); err == nil {
				break
			} else if j > 100 {
				return fmt.Errorf("%s: no socket", b.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if b.cl, err = client.New(b.sock); err != nil {
			return err
		}
		defer b.cl.Close()
	}

	load0 := loadavg()
	start := time.Now()
	warm, seed := 1, int64(42)
	for round := 0; ; round++ {
		left := false
		for _, b := range bs {
			n := min(per, trials-len(b.diffs)-b.invalid)
			if n <= 0 {
				continue
			}
			left = true
			mu.Lock()
			before := len(reqs)
			mu.Unlock()
			res, err := b.cl.RunBenchmark(ctx, client.BenchmarkRequest{Model: "tiny", Repetitions: n, Warmup: &warm,
				MaxTokens: tokens, Seed: &seed, NoVRAMSampling: true, Prompts: []string{fmt.Sprintf("round %d: why is the sky blue?", round)}}, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			time.Sleep(50 * time.Millisecond) // the tap's last line
			mu.Lock()
			var gens []tapReq
			for _, r := range reqs[before:] {
				if r.method == "POST" && r.path == "/api/generate" {
					gens = append(gens, r)
				}
			}
			mu.Unlock()
			tr := res.Raw.GetTrials()
			if len(gens) != len(tr) {
				return fmt.Errorf("%s: %d trials but the tap saw %d generate requests", b.name, len(tr), len(gens))
			}
			for k, t := range tr {
				if t.GetWarmup() {
					continue
				}
				if t.GetInvalidReason() != "" {
					b.invalid++
					continue
				}
				in := float64(gens[k].first - gens[k].req)
				b.diffs = append(b.diffs, (float64(t.GetTtftNs())-in)/1e6)
				if r := t.GetReceivedTtftNs(); r > 0 {
					b.recv = append(b.recv, (float64(r)-in)/1e6)
				}
			}
		}
		if !left {
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	fmt.Printf("TTFT check: %d measured trials per build, %d tokens each, builds taking turns %d trials at a time; %s; load average %s at start, %s at end\n\n",
		trials, tokens, per, time.Since(start).Round(time.Second), load0, loadavg())
	fmt.Println("| build | figure | n | p1 | p50 | p99 | p99 of \\|d\\| | max \\|d\\| | \\|p50\\| ≤ 1 ms and p99 of \\|d\\| ≤ 5 ms |")
	fmt.Println("|---|---|---:|---:|---:|---:|---:|---:|---|")
	for _, b := range bs {
		row(b.name, "stored ttft_ns − in-container TTFT", b.diffs)
		if len(b.recv) > 0 {
			row(b.name, "received_ttft_ns − in-container TTFT (the way there and back)", b.recv)
		}
		if b.invalid > 0 {
			fmt.Printf("| %s | trials marked invalid (left out above) | %d | | | | |\n", b.name, b.invalid)
		}
	}
	return nil
}

func row(build, what string, xs []float64) {
	if len(xs) == 0 {
		return
	}
	abs := make([]float64, len(xs))
	for i, x := range xs {
		abs[i] = math.Abs(x)
	}
	p50, a99 := q(xs, 0.5), q(abs, 0.99)
	ok := "**met**"
	if math.Abs(p50) > 1 || a99 > 5 {
		ok = "**missed**"
	}
	fmt.Printf("| %s | %s | %d | %+.2f ms | %+.2f ms | %+.2f ms | %.2f ms | %.2f ms | %s |\n",
		build, what, len(xs), q(xs, 0.01), p50, q(xs, 0.99), a99, slices.Max(abs), ok)
}

// q is the p-quantile, linear between closest ranks.
func q(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	h := p * float64(len(s)-1)
	lo := int(h)
	if lo+1 >= len(s) {
		return s[lo]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

type tapReq struct {
	method, path string
	req, first   int64
}

func parseTap(line string) (tapReq, bool) {
	f := strings.Fields(line)
	if len(f) != 6 || f[0] != "req" {
		return tapReq{}, false
	}
	a, err1 := strconv.ParseInt(f[4], 10, 64)
	b, err2 := strconv.ParseInt(f[5], 10, 64)
	return tapReq{method: f[2], path: f[3], req: a, first: b}, err1 == nil && err2 == nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:min(3, len(strings.Fields(string(b))))], " ")
}
