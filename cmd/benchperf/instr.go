package main

// Instruction counts: perf_event_open has no hardware counters on a VM
// without a PMU (perf stat says "<not supported>"), so the counts come from
// valgrind's callgrind, which counts every user-space instruction a program
// executes (Ir). A Go benchmark binary runs twice under it, for N1 and N2
// operations, and (Ir(N2) − Ir(N1)) / (N2 − N1) is the instructions per
// operation without the start-up. Two settings make that count repeatable
// (within about 1%): GOMAXPROCS=1, because valgrind runs one thread at a
// time and Go's idle processors would spin on their run queues while they
// wait for it (counts varied 25-fold without it), and
// GODEBUG=asyncpreemptoff=1, because callgrind aborts on the preemption
// signals. Kernel time (system calls) is not in these counts; CPU time is.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/benchd/benchd/internal/testrig"
)

type instrBench struct {
	name   string
	n1, n2 int
}

var instrBenchmarks = []instrBench{
	{"RPCSampleVRAM", 300, 1500},
	{"RPCHealth", 300, 1500},
	{"RPCTokens", 2048, 10240},
}

type instrResult struct {
	benchmarks    []string
	before, after map[string]float64
}

// buildBefore checks rev out into a temporary worktree and builds its
// benchd (as nix/package.nix does) and its service test binary, with this
// checkout's benchmark files, so that both sides run the same benchmarks.
func buildBefore(ctx context.Context, cl *testrig.Cleanups, rev string) (benchd, serviceTest, serviceDir string, err error) {
	dir, err := os.MkdirTemp("", "benchperf-before-")
	if err != nil {
		return "", "", "", err
	}
	wt := filepath.Join(dir, "src")
	root := testrig.RepoRoot()
	if _, err := execOutputIn(ctx, root, nil, "git", "worktree", "add", "--detach", wt, rev); err != nil {
		return "", "", "", err
	}
	cl.Cleanup(func() {
		_ = exec.Command("git", "-C", root, "worktree", "remove", "--force", wt).Run()
		os.RemoveAll(dir)
	})
	// internal/benchcpu (the benchmarks' CPU reporter) too: revisions
	// older than it lack it.
	helpers, err := filepath.Glob(filepath.Join(root, "internal", "benchcpu", "*.go"))
	if err != nil {
		return "", "", "", err
	}
	if err := os.MkdirAll(filepath.Join(wt, "internal", "benchcpu"), 0o755); err != nil {
		return "", "", "", err
	}
	files := []string{"service/bench_rpc_test.go", "service/bench_token_test.go"}
	for _, h := range helpers {
		rel, _ := filepath.Rel(root, h)
		files = append(files, rel)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", "", "", err
		}
		if err := os.WriteFile(filepath.Join(wt, f), b, 0o644); err != nil {
			return "", "", "", err
		}
	}
	step("before: building benchd and the service benchmarks at %s", rev)
	benchd = filepath.Join(dir, "benchd")
	// As that revision's nix/package.nix built it.
	if err := testrig.BuildPackageIn(wt, benchd); err != nil {
		return "", "", "", err
	}
	serviceTest = filepath.Join(dir, "service.test")
	if _, err := execOutputIn(ctx, wt, nil, "go", "test", "-c", "-o", serviceTest, "./service"); err != nil {
		return "", "", "", err
	}
	return benchd, serviceTest, filepath.Join(wt, "service"), nil
}

func execOutputIn(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// irefs runs one benchmark of bin for n ops under callgrind and returns
// the program's total instructions. callgrind occasionally dies on a Go
// signal; that run is repeated.
func irefs(ctx context.Context, bin, dir, bench string, n int) (int64, error) {
	var last string
	for range 4 {
		cmd := exec.CommandContext(ctx, "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
			bin, "-test.run", "^$", "-test.bench", "^Benchmark"+bench+"$", "-test.benchtime", fmt.Sprintf("%dx", n), "-test.count", "1")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "GODEBUG=asyncpreemptoff=1")
		out, _ := cmd.CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if _, v, ok := strings.Cut(l, "I   refs:"); ok {
				return strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(v), ",", ""), 10, 64)
			}
		}
		last = tail(out, 300)
	}
	return 0, fmt.Errorf("callgrind %s %s: no count; output ended %q", bin, bench, last)
}

func instrPerOp(ctx context.Context, bin, dir string, b instrBench) (float64, error) {
	a, err := irefs(ctx, bin, dir, b.name, b.n1)
	if err != nil {
		return 0, err
	}
	z, err := irefs(ctx, bin, dir, b.name, b.n2)
	if err != nil {
		return 0, err
	}
	return float64(z-a) / float64(b.n2-b.n1), nil
}

// measureInstructions counts instructions per op of instrBenchmarks for
// the checkout and, when beforeBin is set, the before build.
func measureInstructions(ctx context.Context, beforeBin, beforeDir string) (*instrResult, error) {
	if _, err := exec.LookPath("valgrind"); err != nil {
		return nil, fmt.Errorf("instruction counts need valgrind (Debian: apt-get install valgrind): %w", err)
	}
	dir, err := os.MkdirTemp("", "benchperf-instr-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	after := filepath.Join(dir, "service.test")
	if _, err := execOutputIn(ctx, testrig.RepoRoot(), nil, "go", "test", "-c", "-o", after, "./service"); err != nil {
		return nil, err
	}
	res := &instrResult{before: map[string]float64{}, after: map[string]float64{}}
	for _, b := range instrBenchmarks {
		res.benchmarks = append(res.benchmarks, b.name)
		step("instructions: %s (callgrind, %d and %d ops)", b.name, b.n1, b.n2)
		v, err := instrPerOp(ctx, after, filepath.Join(testrig.RepoRoot(), "service"), b)
		if err != nil {
			return nil, err
		}
		res.after[b.name] = v
		if beforeBin != "" {
			v, err := instrPerOp(ctx, beforeBin, beforeDir, b)
			if err != nil {
				return nil, err
			}
			res.before[b.name] = v
		}
	}
	return res, nil
}

func (r *report) instrTable(b *strings.Builder) {
	in := r.instr
	if in == nil {
		return
	}
	b.WriteString("\n#### Instructions per operation (valgrind callgrind, user space)\n\n" +
		"`GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind` on the `./service` benchmark binary, for N1 and N2 ops: (Ir(N2) − Ir(N1)) / (N2 − N1). " +
		"Client and server share the process (RPCTokens: the fake ollama too); system calls count as one instruction each.\n\n" +
		"| benchmark | op | before | after | change |\n|---|---|---:|---:|---:|\n")
	for _, name := range in.benchmarks {
		op := "one round trip"
		if name == "RPCTokens" {
			op = "one streamed token"
		}
		bv, hasB := in.before[name]
		av := in.after[name]
		bs, ch := "–", ""
		if hasB {
			bs = thousands(int(bv))
			ch = fmt.Sprintf("%+.1f%%", 100*(av-bv)/bv)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, op, bs, thousands(int(av)), ch)
	}
}
