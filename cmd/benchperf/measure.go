package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/ollama"
	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/internal/vram"
	benchdv1 "github.com/benchd/benchd/proto/benchd/v1"
	"github.com/benchd/benchd/proto/defaults"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ---- /proc ----

var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return float64(n)
		}
	}
	return 100
}()

// cpuTime is utime+stime of pid (all its threads, alive or exited) from
// /proc/PID/stat, at clock-tick resolution.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it do not.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(float64(ut+st) / clkTck * float64(time.Second)), nil
}

// machineBusy is the busy time of all CPUs together (everything but idle
// and iowait) from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy uint64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 7 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		busy += n
	}
	return time.Duration(float64(busy) / clkTck * float64(time.Second))
}

// ---- statistics ----

type series []time.Duration

func (s series) sorted() series {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// q is the nearest-rank quantile: the smallest sample with at least
// p of the samples at or below it.
func (s series) q(p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := s.sorted()
	i := int(math.Ceil(p*float64(len(c)))) - 1
	return c[max(0, min(i, len(c)-1))]
}

func (s series) median() time.Duration { return s.q(0.5) }
func (s series) p99() time.Duration    { return s.q(0.99) }

// ---- 1. VRAM sample latency ----

type vramResult struct {
	legacy, smi, sysfsTunnel, sysfsDirect series
	// benchd's sysfs samples back to back, with nothing else running in
	// between: what benchd costs without the legacy path's processes
	// competing for the same cores.
	aloneTunnel, aloneDirect series
	// The same back-to-back tunnel samples from a client with gRPC-go's
	// default flow control (dynamic windows, bandwidth-delay pings), as
	// the Go client was before it fixed its windows
	// (defaults.FlowControlWindow).
	aloneDynamic series
	// benchd's own time for the interleaved sysfs calls: grpc.time_ms of
	// its audit lines, from the interceptor's entry to its exit.
	serverTunnel, serverDirect series
	// The legacy path taken apart: the SSH session alone, the docker CLI's
	// exec alone, and one exec through the Engine API (what benchd does).
	sshOnly, dockerCLI, engineExec series
	// The machine's wake-up floor: a 64-byte echo to another process on a
	// unix socket, interleaved with the samples and back to back.
	echo, echoAlone series
	// The same sysfs measurements of the -benchd build (before), taken in
	// the same rounds; empty without -benchd.
	beforeTunnel, beforeAlone, beforeServer series
}

func measureVRAM(ctx context.Context, r *rig, n, nFloor int, gap time.Duration) (*vramResult, error) {
	res := &vramResult{}
	direct, err := client.New(r.sysfs.cfg.Socket)
	if err != nil {
		return nil, err
	}
	defer direct.Close()
	dc, err := dockerx.New(smiContainer, slog.Default())
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	fixture, err := vram.ParseNvidiaSMI(mustRead(testrig.RepoRoot() + "/testdata/fixtures/nvidia-smi/" + smiFixture))
	if err != nil {
		return nil, err
	}
	sameAsFixture := func(what string, gpus []vram.GPU, cg []client.GPU) error {
		if gpus != nil {
			if len(gpus) != len(fixture) || gpus[0].TotalBytes != fixture[0].TotalBytes {
				return fmt.Errorf("%s read %+v, want the fixture's %+v", what, gpus, fixture)
			}
		}
		if cg != nil && (len(cg) != len(fixture) || cg[0].TotalBytes != fixture[0].TotalBytes || cg[0].Source != vram.SourceNvidiaSMI) {
			return fmt.Errorf("%s read %+v, want the fixture's %+v", what, cg, fixture)
		}
		return nil
	}
	timed := func(dst *series, f func() error) func() error {
		return func() error {
			t0 := time.Now()
			err := f()
			*dst = append(*dst, time.Since(t0))
			return err
		}
	}
	legacyCmd := append([]string{"docker", "exec", smiContainer}, nvidiaSMIArgv...)
	ssh := r.sysfs.sshd
	legacy := timed(&res.legacy, func() error {
		var out, errb bytes.Buffer
		cmd := ssh.SSH(r.legacyKey, legacyUser, nil, nil, legacyCmd...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("legacy path: %v\n%s", err, errb.String())
		}
		gpus, err := vram.ParseNvidiaSMI(out.Bytes())
		if err != nil {
			return fmt.Errorf("legacy path: %w", err)
		}
		return sameAsFixture("legacy path", gpus, nil)
	})
	smi := timed(&res.smi, func() error {
		gpus, err := r.smi.tunnel.SampleVRAM(ctx)
		if err != nil {
			return fmt.Errorf("benchd nvidia-smi through the tunnel: %w", err)
		}
		return sameAsFixture("benchd nvidia-smi", nil, gpus)
	})
	sysfsT := timed(&res.sysfsTunnel, func() error {
		gpus, err := r.sysfs.tunnel.SampleVRAM(ctx)
		if err == nil && (len(gpus) != 1 || gpus[0].Source != vram.SourceSysfs) {
			err = fmt.Errorf("got %+v, want the sysfs fixture's one GPU", gpus)
		}
		if err != nil {
			return fmt.Errorf("benchd sysfs through the tunnel: %w", err)
		}
		return nil
	})
	sysfsD := timed(&res.sysfsDirect, func() error {
		_, err := direct.SampleVRAM(ctx)
		return err
	})
	sshOnly := timed(&res.sshOnly, func() error {
		out, err := ssh.SSH(r.legacyKey, legacyUser, nil, nil, "true").CombinedOutput()
		if err != nil {
			return fmt.Errorf("ssh true: %v\n%s", err, out)
		}
		return nil
	})
	dockerCLI := timed(&res.dockerCLI, func() error {
		out, err := exec.CommandContext(ctx, "docker", legacyCmd[1:]...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("docker exec: %v\n%s", err, out)
		}
		return nil
	})
	engine := timed(&res.engineExec, func() error {
		_, err := dc.Exec(ctx, nvidiaSMIArgv, false)
		return err
	})
	peer, err := startEcho(r.cl, r.base)
	if err != nil {
		return nil, err
	}
	echo := timed(&res.echo, peer.roundTrip)
	benchdPaths := []func() error{legacy, smi, sysfsT, sysfsD, echo}
	warm := []func() error{legacy, smi, sysfsT, sysfsD, sshOnly, dockerCLI, engine}
	var beforeT func() error
	if r.before != nil {
		beforeT = timed(&res.beforeTunnel, func() error {
			_, err := r.before.tunnel.SampleVRAM(ctx)
			if err != nil {
				return fmt.Errorf("before build's benchd sysfs through the tunnel: %w", err)
			}
			return nil
		})
		benchdPaths = append(benchdPaths, beforeT)
		warm = append(warm, beforeT)
	}
	// Warm every path once (connections, page cache), unrecorded.
	for _, f := range warm {
		if err := f(); err != nil {
			return nil, err
		}
	}
	*res = vramResult{}
	aloneT := timed(&res.aloneTunnel, func() error { _, err := r.sysfs.tunnel.SampleVRAM(ctx); return err })
	aloneD := timed(&res.aloneDirect, func() error { _, err := direct.SampleVRAM(ctx); return err })
	alone := []func() error{aloneT, aloneD}
	if r.before != nil {
		alone = append(alone, timed(&res.beforeAlone, func() error { _, err := r.before.tunnel.SampleVRAM(ctx); return err }))
	}
	for range n {
		for _, f := range alone {
			if err := f(); err != nil {
				return nil, fmt.Errorf("benchd sysfs, back to back: %w", err)
			}
		}
	}
	// The echo's back-to-back floor in a block of its own: in the same
	// rotation as benchd's calls it slowed them (back to back 207 µs
	// before it joined, 383–418 µs with it, both builds).
	echoAlone := timed(&res.echoAlone, peer.roundTrip)
	for range n {
		if err := echoAlone(); err != nil {
			return nil, fmt.Errorf("echo, back to back: %w", err)
		}
	}
	// A block of its own, connection and all, after the others: ssh
	// carries every client of a forward on one TCP connection, so this
	// client's pings (and its connection's set-up) would stall the next
	// response on it, whichever client's it is.
	dynamic, err := grpc.NewClient("unix:"+r.sysfs.fwd, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer dynamic.Close()
	dynamicStub := benchdv1.NewBenchmarkServiceClient(dynamic)
	aloneDyn := timed(&res.aloneDynamic, func() error {
		_, err := dynamicStub.SampleVRAM(ctx, &benchdv1.SampleVRAMRequest{})
		return err
	})
	if err := aloneDyn(); err != nil { // its connection, unrecorded
		return nil, fmt.Errorf("benchd sysfs with gRPC's default windows: %w", err)
	}
	res.aloneDynamic = nil
	for range n {
		if err := aloneDyn(); err != nil {
			return nil, fmt.Errorf("benchd sysfs with gRPC's default windows, back to back: %w", err)
		}
	}
	// benchd writes its audit lines up to internal/logbuf.Delay late, so
	// the back-to-back calls' lines may still come after this mark; their
	// time= (when each call ended) is before since, which tells them apart.
	since := time.Now()
	mark := len(r.sysfs.d.Log())
	beforeMark := 0
	if r.before != nil {
		beforeMark = len(r.before.d.Log())
	}
	defer func() {
		res.serverTunnel, res.serverDirect = auditTimes(r.sysfs.d.Log()[mark:], since, r.agent.UID, os.Getuid())
		if r.before != nil {
			res.beforeServer, _ = auditTimes(r.before.d.Log()[beforeMark:], since, r.agent.UID, os.Getuid())
		}
	}()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs := slices.Clone(benchdPaths)
		if i < nFloor {
			fs = append(fs, sshOnly, dockerCLI, engine)
		}
		// Interleaved, and the order rotated each round so no path always
		// follows the same one. A pause between samples lets the processes
		// one sample started (sshd's session, docker's exec, containerd's
		// shim) wind down before the next sample is timed, as the legacy
		// cron had between its samples.
		for j := range fs {
			time.Sleep(gap)
			if err := fs[(i+j)%len(fs)](); err != nil {
				return nil, err
			}
		}
		if (i+1)%50 == 0 {
			step("vram: %d/%d rounds", i+1, n)
		}
	}
	return res, nil
}

// auditTimes collects grpc.time_ms of the SampleVRAM audit lines in log
// of calls that ended after since, for the callers with uid a and uid b.
func auditTimes(log string, since time.Time, a, b int) (series, series) {
	var sa, sb series
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, `msg="finished call"`) || !strings.Contains(l, " grpc.method=SampleVRAM ") {
			continue
		}
		var uid int = -1
		var ms float64 = -1
		early := false
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "caller.uid="); ok {
				uid, _ = strconv.Atoi(v)
			}
			if v, ok := strings.CutPrefix(f, "grpc.time_ms="); ok {
				ms, _ = strconv.ParseFloat(v, 64)
			}
			if v, ok := strings.CutPrefix(f, "time="); ok {
				// Millisecond stamps: a call that ended in since's
				// millisecond, before it, must not count.
				if t, err := time.Parse(time.RFC3339Nano, v); err != nil || !t.After(since) {
					early = true
				}
			}
		}
		if ms < 0 || early {
			continue
		}
		d := time.Duration(ms * float64(time.Millisecond))
		switch uid {
		case a:
			sa = append(sa, d)
		case b:
			sb = append(sb, d)
		}
	}
	return sa, sb
}

func mustRead(p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		panic(err)
	}
	return b
}

// ---- 2. per-trial overhead ----

type trialResult struct {
	legacy, benchd series // wall - ollama's total duration
	legacyWall     series
	benchdSetup    series // RunBenchmark call -> started event
	legacyEval     []int
	benchdEval     []int
	benchdWall     series // per trial
	// retries are the failed attempts, each retried: none is hidden, the
	// report lists them with their errors.
	retries []retry
}

type retry struct {
	what string // "legacy" or "benchd"
	err  string
}

// tail is the end of b without terminal escape sequences.
func tail(b []byte, n int) string {
	s := ansiEscape.ReplaceAllString(string(b), "")
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func measureTrials(ctx context.Context, r *rig, rounds, perRound int) (*trialResult, error) {
	res := &trialResult{}
	prompt := defaults.Prompt
	legacy := func() error {
		var out, errb bytes.Buffer
		cmd := r.sysfs.sshd.SSH(r.legacyKey, legacyUser, nil, nil,
			"docker", "exec", testrig.Container, "ollama", "run", "--verbose", testrig.Model, shellQuote(prompt))
		cmd.Stdout, cmd.Stderr = &out, &errb
		t0 := time.Now()
		err := cmd.Run()
		wall := time.Since(t0)
		if err != nil {
			return fmt.Errorf("legacy: ollama run: %v\n%s", err, errb.String())
		}
		t, err := ollama.ParseVerbose(errb.Bytes())
		if err != nil {
			return fmt.Errorf("legacy: %w; the output ended with %q", err, tail(errb.Bytes(), 300))
		}
		res.legacy = append(res.legacy, wall-t.TotalDuration)
		res.legacyWall = append(res.legacyWall, wall)
		res.legacyEval = append(res.legacyEval, t.EvalCount)
		return nil
	}
	zero := 0
	run := func() error {
		t0 := time.Now()
		var setup time.Duration
		out, err := r.sysfs.tunnel.RunBenchmark(ctx, client.BenchmarkRequest{
			Model: testrig.Model, Prompts: []string{prompt}, Repetitions: perRound, Warmup: &zero, MaxTokens: 128,
		}, func(ev client.Event) {
			if ev.Started != nil {
				setup = time.Since(t0)
			}
		})
		if err != nil {
			return fmt.Errorf("benchd: RunBenchmark: %w", err)
		}
		res.benchdSetup = append(res.benchdSetup, setup)
		for _, t := range out.Trials {
			res.benchd = append(res.benchd, t.Wall-t.TotalDuration)
			res.benchdWall = append(res.benchdWall, t.Wall)
			res.benchdEval = append(res.benchdEval, int(t.EvalCount))
		}
		return nil
	}
	// The shared rig container may be busy with, or restarted by, other
	// jobs on the machine: a failed run is retried, not fatal, and every
	// failure is recorded with its error for the report (warm-up included).
	var retries []retry
	withRetry := func(what string, f func() error) func() error {
		return func() error {
			var err error
			for attempt := range 3 {
				if err = f(); err == nil || ctx.Err() != nil {
					return err
				}
				retries = append(retries, retry{what: what, err: err.Error()})
				step("trials: %s attempt %d failed, retrying in 3s: %v", what, attempt+1, err)
				time.Sleep(3 * time.Second)
			}
			return err
		}
	}
	legacy, run = withRetry("legacy", legacy), withRetry("benchd", run)
	defer func() { res.retries = retries }()
	// Warm-up: the model loaded, the bridge connection up.
	if err := legacy(); err != nil {
		return nil, err
	}
	if err := run(); err != nil {
		return nil, err
	}
	*res = trialResult{}
	for i := range rounds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Alternate which side goes first.
		steps := []func() error{func() error {
			for range perRound {
				if err := legacy(); err != nil {
					return err
				}
			}
			return nil
		}, run}
		if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// ---- 3. throughput ----

type throughputResult struct {
	clients   int
	window    time.Duration
	calls     int
	lat       series
	errors    int64
	benchdCPU time.Duration
	selfCPU   time.Duration
	// busy is the whole machine's CPU time in the window (all cores).
	busy time.Duration
}

// merge adds o's window to t's (t may be nil).
func (t *throughputResult) merge(o *throughputResult) *throughputResult {
	if t == nil {
		return o
	}
	m := *t
	m.window += o.window
	m.calls += o.calls
	m.lat = append(slices.Clone(m.lat), o.lat...)
	m.errors += o.errors
	m.benchdCPU += o.benchdCPU
	m.selfCPU += o.selfCPU
	m.busy += o.busy
	return &m
}

func measureThroughput(ctx context.Context, socket string, pid, nClients int, window time.Duration) (*throughputResult, error) {
	cs := make([]*client.Client, nClients)
	for i := range cs {
		c, err := client.New(socket)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		if _, err := c.SampleVRAM(ctx); err != nil {
			return nil, err
		}
		cs[i] = c
	}
	var (
		phase   atomic.Int32 // 0 warm-up, 1 measured, 2 stop
		errs    atomic.Int64
		wg      sync.WaitGroup
		perConn = make([]series, nClients)
	)
	for i, c := range cs {
		perConn[i] = make(series, 0, 1<<15)
		wg.Go(func() {
			for {
				p := phase.Load()
				if p == 2 {
					return
				}
				t0 := time.Now()
				_, err := c.SampleVRAM(ctx)
				d := time.Since(t0)
				if err != nil {
					errs.Add(1)
					continue
				}
				if p == 1 && phase.Load() == 1 {
					perConn[i] = append(perConn[i], d)
				}
			}
		})
	}
	time.Sleep(time.Second)
	c0, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	s0, _ := cpuTime(os.Getpid())
	b0 := machineBusy()
	t0 := time.Now()
	phase.Store(1)
	select {
	case <-time.After(window):
	case <-ctx.Done():
	}
	phase.Store(2)
	elapsed := time.Since(t0)
	c1, err := cpuTime(pid)
	if err != nil {
		return nil, err
	}
	s1, _ := cpuTime(os.Getpid())
	b1 := machineBusy()
	wg.Wait()
	res := &throughputResult{clients: nClients, window: elapsed, errors: errs.Load(), benchdCPU: c1 - c0, selfCPU: s1 - s0, busy: b1 - b0}
	for _, s := range perConn {
		res.lat = append(res.lat, s...)
	}
	res.calls = len(res.lat)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return res, nil
}

// ---- 4. sampler cost ----

type samplerRun struct {
	interval time.Duration // 0: off
	wall     time.Duration
	cpu      time.Duration
	trials   int
	tokens   int64
	samples  int
}

func (s samplerRun) share() float64 { return s.cpu.Seconds() / s.wall.Seconds() }

type samplerResult struct {
	maxTokens, reps int
	on, off         samplerRun
}

// measureSampler runs the same ~target-long benchmark with 4 Hz VRAM
// sampling and with sampling off, and reads benchd's CPU time around each.
func measureSampler(ctx context.Context, r *rig, d *daemon, perToken time.Duration, target time.Duration) (*samplerResult, error) {
	// Trials of about a second, as many as fill the target (the API allows
	// 100 repetitions and 16384 tokens).
	maxTokens := int(min(max(time.Second/max(perToken, time.Microsecond), 128), 2048))
	trial := time.Duration(maxTokens) * perToken
	reps := int(min(max(int64(target/max(trial, time.Millisecond)), 3), 100))
	res := &samplerResult{maxTokens: maxTokens, reps: reps}
	pid := d.d.PID()
	zero := 0
	one := func(interval time.Duration) (samplerRun, error) {
		req := client.BenchmarkRequest{Model: testrig.Model, Repetitions: reps, Warmup: &zero, MaxTokens: maxTokens,
			Timeout: 10 * time.Minute}
		if interval == 0 {
			req.NoVRAMSampling = true
		} else {
			req.VRAMSampleInterval = interval
		}
		c0, err := cpuTime(pid)
		if err != nil {
			return samplerRun{}, err
		}
		t0 := time.Now()
		out, err := d.tunnel.RunBenchmark(ctx, req, nil)
		wall := time.Since(t0)
		c1, err2 := cpuTime(pid)
		if err := errors.Join(err, err2); err != nil {
			return samplerRun{}, err
		}
		run := samplerRun{interval: interval, wall: wall, cpu: c1 - c0, trials: len(out.Trials)}
		for _, t := range out.Trials {
			run.tokens += t.EvalCount
		}
		rec, err := d.tunnel.Raw().GetBenchmark(ctx, &benchdv1.GetBenchmarkRequest{BenchmarkId: out.BenchmarkID})
		if err != nil {
			return samplerRun{}, err
		}
		run.samples = len(rec.GetBenchmark().GetVramTimeline())
		return run, nil
	}
	var err error
	step("sampler (%s): %d trials of %d tokens with 4 Hz sampling", d.name, reps, maxTokens)
	if res.on, err = one(250 * time.Millisecond); err != nil {
		return nil, err
	}
	step("sampler (%s): the same with sampling off", d.name)
	if res.off, err = one(0); err != nil {
		return nil, err
	}
	return res, nil
}

// ---- 5. footprint ----

type footprint struct {
	start, after, end testrig.Mem
	rpcs              int
}

// rpcs calls SampleVRAM n times on one connection to the socket.
func rpcs(ctx context.Context, socket string, n int) error {
	c, err := client.New(socket)
	if err != nil {
		return err
	}
	defer c.Close()
	for range n {
		if _, err := c.SampleVRAM(ctx); err != nil {
			return err
		}
	}
	return nil
}

// ---- machine ----

type machine struct {
	cpu, kernel, docker, goVersion string
	cores                          int
	loadStart, loadEnd             string
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func machineInfo() machine {
	m := machine{cores: runtime.NumCPU(), goVersion: runtime.Version(), loadStart: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").Output(); err == nil {
		m.docker = strings.TrimSpace(string(out))
	}
	return m
}
