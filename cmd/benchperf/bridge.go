package main

// Bridge vs HTTP: the whole CPU cost of a streamed token over benchd's
// Docker exec bridge (benchd, dockerd, the container's containerd-shim and
// the bridge's own processes in the container: bash and two cats), against
// the same daemon build reaching the same ollama over plain HTTP, in one
// run, alternating.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// procCPU is the CPU time of the processes a streamed token passes through.
type procCPU struct {
	benchd, dockerd, shim, bridge, ollama time.Duration
}

func (p procCPU) sub(q procCPU) procCPU {
	return procCPU{p.benchd - q.benchd, p.dockerd - q.dockerd, p.shim - q.shim, p.bridge - q.bridge, p.ollama - q.ollama}
}

func (p procCPU) add(q procCPU) procCPU {
	return procCPU{p.benchd + q.benchd, p.dockerd + q.dockerd, p.shim + q.shim, p.bridge + q.bridge, p.ollama + q.ollama}
}

// transportTotal is what the transport costs beyond ollama itself.
func (p procCPU) transportTotal() time.Duration { return p.benchd + p.dockerd + p.shim + p.bridge }

type transportRun struct {
	cpu    procCPU
	tokens int64
	wall   time.Duration
	trials []client.Trial
}

type bridgeResult struct {
	maxTokens, reps, rounds int
	bridge, http            transportRun
	// inFlight: a concurrency run of that many requests in flight each
	// way (0: not measured), requests of inFlightTokens tokens.
	inFlight, inFlightRequests, inFlightTokens int
	bridgeInFlight, httpInFlight               transportRun
}

// procs lists /proc once: pid → (comm, ppid, cmdline).
type procInfo struct {
	pid, ppid int
	comm, cmd string
}

func listProcs() map[int]procInfo {
	out := map[int]procInfo{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i, j := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(string(b[j+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[pid] = procInfo{pid: pid, ppid: ppid, comm: string(b[i+1 : j]), cmd: strings.ReplaceAll(string(cmd), "\x00", " ")}
	}
	return out
}

// sampleCPU reads the CPU time of benchd (pid), dockerd, the shim of
// container id, the bridge processes under it (the bash running
// "benchd-bridge" and its descendants) and ollama (the rest under the shim).
func sampleCPU(pid int, containerID string) procCPU {
	var c procCPU
	c.benchd, _ = cpuTime(pid)
	ps := listProcs()
	var shim int
	for _, p := range ps {
		switch {
		case p.comm == "dockerd":
			t, _ := cpuTime(p.pid)
			c.dockerd += t
		case strings.HasPrefix(p.comm, "containerd-shim") && strings.Contains(p.cmd, containerID):
			shim = p.pid
			t, _ := cpuTime(p.pid)
			c.shim += t
		}
	}
	if shim == 0 {
		return c
	}
	// Walk the shim's descendants: the bridge's processes are those at or
	// below a bash whose command line names benchd-bridge.
	under := func(p procInfo, root int) bool {
		for q, n := p, 0; n < 64; n++ {
			if q.ppid == root {
				return true
			}
			var ok bool
			if q, ok = ps[q.ppid]; !ok {
				return false
			}
		}
		return false
	}
	inBridge := func(p procInfo) bool {
		for q, n := p, 0; n < 64; n++ {
			if strings.Contains(q.cmd, "benchd-bridge") {
				return true
			}
			var ok bool
			if q, ok = ps[q.ppid]; !ok {
				return false
			}
		}
		return false
	}
	for _, p := range ps {
		if !under(p, shim) {
			continue
		}
		t, _ := cpuTime(p.pid)
		if inBridge(p) {
			c.bridge += t
		} else {
			c.ollama += t
		}
	}
	return c
}

// measureBridgeVsHTTP runs the same benchmark (sampling off) through the
// bridge daemon and the HTTP daemon, alternating, rounds times each.
func measureBridgeVsHTTP(ctx context.Context, r *rig, maxTokens, reps, rounds int) (*bridgeResult, error) {
	id, err := containerID(ctx, ollamaContainer)
	if err != nil {
		return nil, err
	}
	res := &bridgeResult{maxTokens: maxTokens, reps: reps, rounds: rounds}
	zero := 0
	one := func(d *daemon, dst *transportRun) error {
		req := client.BenchmarkRequest{Model: testrig.Model, Repetitions: reps, Warmup: &zero, MaxTokens: maxTokens,
			NoVRAMSampling: true, Timeout: 10 * time.Minute}
		return runMeasured(ctx, d, id, req, dst)
	}
	// Warm both: the model loaded, the bridge's exec started.
	var scratch transportRun
	for _, d := range []*daemon{r.bridge, r.http} {
		if err := one(d, &scratch); err != nil {
			return nil, err
		}
	}
	for i := range rounds {
		order := []*daemon{r.bridge, r.http}
		dst := []*transportRun{&res.bridge, &res.http}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
			dst[0], dst[1] = dst[1], dst[0]
		}
		for k := range order {
			step("bridge vs HTTP: round %d/%d, %s", i+1, rounds, order[k].name)
			if err := one(order[k], dst[k]); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// measureInFlight adds to res a concurrency run of inFlight requests in
// flight (requests in all, maxTokens each) through the bridge daemon and
// then the HTTP daemon: benchd's CPU per token with many streams open.
func measureInFlight(ctx context.Context, r *rig, res *bridgeResult, inFlight, requests, maxTokens int) error {
	id, err := containerID(ctx, ollamaContainer)
	if err != nil {
		return err
	}
	res.inFlight, res.inFlightRequests, res.inFlightTokens = inFlight, requests, maxTokens
	zero := 0
	req := client.BenchmarkRequest{Model: testrig.Model, Warmup: &zero, MaxTokens: maxTokens, NoVRAMSampling: true,
		Timeout: 10 * time.Minute, Concurrency: &client.Concurrency{Levels: []int{inFlight}, Requests: requests}}
	for _, x := range []struct {
		d   *daemon
		dst *transportRun
	}{{r.bridge, &res.bridgeInFlight}, {r.http, &res.httpInFlight}} {
		step("%d requests in flight: %s", inFlight, x.d.name)
		if err := runMeasured(ctx, x.d, id, req, x.dst); err != nil {
			return err
		}
	}
	return nil
}

// runMeasured runs req on d and adds to dst the CPU of every process a
// token passes through (container id), the wall time, the measured trials
// and their output tokens.
func runMeasured(ctx context.Context, d *daemon, id string, req client.BenchmarkRequest, dst *transportRun) error {
	c0 := sampleCPU(d.d.PID(), id)
	t0 := time.Now()
	out, err := d.tunnel.RunBenchmark(ctx, req, nil)
	wall := time.Since(t0)
	c1 := sampleCPU(d.d.PID(), id)
	if err != nil {
		return fmt.Errorf("%s daemon: %w", d.name, err)
	}
	dst.cpu = dst.cpu.add(c1.sub(c0))
	dst.wall += wall
	for _, t := range out.Trials {
		if !t.Warmup {
			dst.tokens += t.EvalCount
			dst.trials = append(dst.trials, t)
		}
	}
	return nil
}

func containerID(ctx context.Context, name string) (string, error) {
	out, err := execOutput(ctx, "docker", "container", "inspect", "-f", "{{.Id}}", name)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

func execOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
