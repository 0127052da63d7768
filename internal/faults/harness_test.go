package faults_test

// The harness: a private Docker Engine, uniquely named rig containers, a
// benchd process pointed at them, and the checks every fault test shares.
// Nothing here touches the shared dockerd or its "ollama" container.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// sharedDockerHost is the engine the process started with (DOCKER_HOST, or
// the default socket when empty); tests may repoint DOCKER_HOST.
var sharedDockerHost = func() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}()

// rigImage is the image testdata/rig builds (testrig.Ollama builds it).
const rigImage = "benchd-test/ollama:0.9.6"

var nameSeq atomic.Int64

// uniqueName is a container name no other test or engineer uses.
func uniqueName(what string) string {
	return fmt.Sprintf("benchd-faults-%s-%d-%d", what, os.Getpid(), nameSeq.Add(1))
}

// dockerCmd runs the docker CLI against host ("" is the shared engine).
func dockerCmd(ctx context.Context, host string, args ...string) *exec.Cmd {
	if host == "" {
		host = sharedDockerHost
	}
	return exec.CommandContext(ctx, "docker", append([]string{"-H", host}, args...)...)
}

func tryDocker(host string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := dockerCmd(ctx, host, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func docker(t testing.TB, host string, args ...string) string {
	t.Helper()
	out, err := tryDocker(host, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// poll calls cond until it returns true or the deadline passes; it is how
// these tests wait for a state, never a bare sleep.
func poll(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// --- a private Docker Engine ---

// engine is a dockerd of this test's own: its own socket, data root, exec
// root (and so its own managed containerd) and no networking. Stopping it
// is a real "dockerd restarted" for whatever uses it, and nothing else.
type engine struct {
	dir  string
	host string // unix://…/docker.sock

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	testrig.RequireDocker(t)
	_, err := exec.LookPath("dockerd")
	testrig.Require(t, err == nil, "dockerd on PATH (a private engine for Docker-level faults)")
	// A short path: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "bdf-")
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{dir: dir, host: "unix://" + filepath.Join(dir, "docker.sock")}
	t.Cleanup(func() {
		if e.running() {
			if out, err := tryDocker(e.host, "ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
				_, _ = tryDocker(e.host, append([]string{"rm", "-f"}, strings.Fields(out)...)...)
			}
			e.stop(t)
		}
		_ = os.RemoveAll(dir)
	})
	return e
}

func (e *engine) sockPath() string { return strings.TrimPrefix(e.host, "unix://") }

func (e *engine) running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exited == nil {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// start runs dockerd and waits until it answers.
func (e *engine) start(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dockerd",
		"--host", e.host,
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C of the test does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start private dockerd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	e.mu.Lock()
	e.cmd, e.exited = cmd, exited
	e.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := tryDocker(e.host, "version", "--format", "{{.Server.Version}}"); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("private dockerd exited while starting:\n%s", e.log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private dockerd did not answer within 60s:\n%s", e.log())
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// stop sends dockerd SIGTERM (its normal shutdown: it stops the containers)
// and waits for it to exit.
func (e *engine) stop(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("private dockerd did not stop within 60s of SIGTERM")
	}
}

func (e *engine) log() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// loadImage copies the rig image from the shared engine into this one.
func (e *engine) loadImage(t testing.TB) {
	t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", `docker save "$1" | docker -H "$2" load`, "load", rigImage, e.host)
	// The image comes from the shared engine even while a test has
	// pointed DOCKER_HOST at the private one.
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+sharedDockerHost)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("load rig image into private dockerd: %v\n%s", err, out)
	}
}

// --- rig containers ---

var (
	imageOnce sync.Once
	imageErr  error
)

// ensureImage builds the rig image on the shared engine if needed
// (rig.sh build: cached, no container is touched).
func ensureImage(t testing.TB) {
	t.Helper()
	testrig.RequireDocker(t)
	imageOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(testrig.RepoRoot(), "testdata", "rig", "rig.sh"), "build")
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+sharedDockerHost)
		if out, err := cmd.CombinedOutput(); err != nil {
			imageErr = fmt.Errorf("rig.sh build: %w\n%s", err, out)
		}
	})
	if imageErr != nil {
		t.Fatal(imageErr)
	}
}

// rigContainer is a container of the rig image with a unique name.
type rigContainer struct {
	host, name string
}

// startRig runs a rig container on host ("" is the default engine) with
// extra docker-run flags, waits for ollama and creates the tiny model. It
// is removed when the test ends.
func startRig(t *testing.T, host string, runFlags ...string) *rigContainer {
	t.Helper()
	ensureImage(t)
	c := &rigContainer{host: host, name: uniqueName(strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))}
	if len(c.name) > 120 {
		c.name = uniqueName("rig")
	}
	args := append([]string{"run", "-d", "--name", c.name, "--network", "none"}, runFlags...)
	docker(t, host, append(args, rigImage, "ollama", "serve")...)
	t.Cleanup(func() { _, _ = tryDocker(host, "rm", "-f", c.name) })
	c.waitReady(t)
	return c
}

// waitReady polls until ollama answers in the container, then creates tiny.
func (c *rigContainer) waitReady(t testing.TB) {
	t.Helper()
	poll(t, 60*time.Second, "ollama in "+c.name, func() bool {
		_, err := tryDocker(c.host, "exec", c.name, "ollama", "list")
		return err == nil
	})
	docker(t, c.host, "exec", c.name, "ollama", "create", "tiny", "-f", "/models/Modelfile")
}

func (c *rigContainer) exec(t testing.TB, args ...string) string {
	t.Helper()
	return docker(t, c.host, append([]string{"exec", c.name}, args...)...)
}

// recreate removes the container and starts a fresh one with the same name.
func (c *rigContainer) recreate(t *testing.T, runFlags ...string) {
	t.Helper()
	_, _ = tryDocker(c.host, "rm", "-f", c.name)
	args := append([]string{"run", "-d", "--name", c.name, "--network", "none"}, runFlags...)
	docker(t, c.host, append(args, rigImage, "ollama", "serve")...)
	c.waitReady(t)
}

// assertExitedWithin checks that the container's processes (ollama and
// its runner with them) ended within d of at: its State.FinishedAt.
func (c *rigContainer) assertExitedWithin(t testing.TB, at time.Time, d time.Duration) {
	t.Helper()
	out := strings.TrimSpace(docker(t, c.host, "inspect", "-f", "{{.State.FinishedAt}}", c.name))
	fin, err := time.Parse(time.RFC3339Nano, out)
	if err != nil {
		t.Fatalf("container FinishedAt %q: %v", out, err)
	}
	// The engine's clock is this machine's; allow for its rounding.
	if fin.Before(at.Add(-100*time.Millisecond)) || fin.Sub(at) > d {
		t.Errorf("container finished at %v, %v after the fault; want within %v", fin, fin.Sub(at), d)
	}
	t.Logf("container (and generation) ended %v after the fault", fin.Sub(at).Round(time.Millisecond))
}

// runnerCPUTicks sums utime+stime of ollama's model runner processes, read
// from /proc inside the container with bash builtins (the image has no ps).
func (c *rigContainer) runnerCPUTicks(t testing.TB) int64 {
	t.Helper()
	const script = `for p in /proc/[0-9]*; do
  mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue
  [ "${a[1]}" = runner ] || continue
  read -r s < "$p/stat"; s=${s##*) }; set -- $s; echo $(( ${12} + ${13} ))
done`
	out := c.exec(t, "bash", "-c", script)
	var sum int64
	for _, f := range strings.Fields(out) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("parse runner CPU ticks %q: %v", out, err)
		}
		sum += n
	}
	return sum
}

// bridgeProcesses counts benchd's exec bridges alive in the container:
// processes running the bridge script that lead their process group (each
// bridge's background subshell shares its leader's group).
func (c *rigContainer) bridgeProcesses(t testing.TB) int {
	t.Helper()
	const script = `n=0; for p in /proc/[0-9]*; do
  mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue
  for w in "${a[@]}"; do
    [ "$w" = benchd-bridge ] || continue
    read -r s < "$p/stat" 2>/dev/null || break; s=${s##*) }; set -- $s
    [ "$3" = "${p#/proc/}" ] && n=$((n+1)); break
  done
done; echo $n`
	n, err := strconv.Atoi(strings.TrimSpace(c.exec(t, "bash", "-c", script)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// zombies counts defunct processes in the container. Processes of an exec
// that outlive its first process are re-parented to the container's PID 1;
// ollama serve, unlike an init (docker run --init), never reaps them.
func (c *rigContainer) zombies(t testing.TB) int {
	t.Helper()
	const script = `n=0; for p in /proc/[0-9]*; do
  read -r s < "$p/stat" 2>/dev/null || continue; s=${s##*) }; [ "${s%% *}" = Z ] && n=$((n+1))
done; echo $n`
	n, err := strconv.Atoi(strings.TrimSpace(c.exec(t, "bash", "-c", script)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// followLogs reads the container's log from since on and returns when a
// line matches (the time it was read) or ctx ends.
func (c *rigContainer) followLogs(ctx context.Context, since time.Time, match func(string) bool) (time.Time, error) {
	cmd := dockerCmd(ctx, c.host, "logs", "-f", "--since", since.UTC().Format(time.RFC3339Nano), c.name)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return time.Time{}, err
	}
	go func() { _ = cmd.Wait(); pw.Close() }()
	defer func() { _ = cmd.Process.Kill() }()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if match(sc.Text()) {
			return time.Now(), nil
		}
	}
	if ctx.Err() != nil {
		return time.Time{}, ctx.Err()
	}
	return time.Time{}, errors.New("docker logs ended without a matching line")
}

// assertGenerationStopped checks from the container's side that ollama
// stopped generating within 2 s of at: it logs the generate request (gin's
// line for /api/generate) when its handler returns, and afterwards its
// runner's CPU time stays flat.
func (c *rigContainer) assertGenerationStopped(t *testing.T, at time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	endedAt, err := c.followLogs(ctx, at, func(line string) bool { return strings.Contains(line, `"/api/generate"`) })
	if err != nil {
		t.Fatalf("ollama did not log the generate request as ended: %v", err)
	}
	if d := endedAt.Sub(at); d > 2*time.Second {
		t.Errorf("generation ended %v after the fault, want within 2s", d)
	}
	c.assertRunnerIdle(t)
}

// assertRunnerIdle checks that ollama's runner is not generating: its CPU
// time barely moves over a second.
func (c *rigContainer) assertRunnerIdle(t *testing.T) {
	t.Helper()
	before := c.runnerCPUTicks(t)
	time.Sleep(time.Second) // a measurement window, not synchronisation
	if d := c.runnerCPUTicks(t) - before; d > 20 {
		t.Errorf("ollama runner used %d CPU ticks in 1s after the fault; generation is still running", d)
	}
}

// --- benchd ---

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// benchdBinary builds ./cmd/benchd once per test process. (testrig.Binary
// builds every command; these tests need only the daemon.)
func benchdBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "benchd-faults-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "benchd")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/benchd")
		cmd.Dir = testrig.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/benchd: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// daemon is a benchd process and a client of it.
type daemon struct {
	Socket, Store string
	args          []string
	cl            *client.Client

	cmd    *exec.Cmd
	logMu  sync.Mutex
	log    strings.Builder
	exited chan struct{}
}

// startDaemon starts benchd against the container (on the engine in the
// process environment's DOCKER_HOST) with fast health checks and the
// simulated sysfs tree as VRAM source, unless args say otherwise. It is
// stopped with SIGTERM when the test ends.
func startDaemon(t *testing.T, container string, args ...string) *daemon {
	t.Helper()
	// A short path: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "bdf-d-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &daemon{Socket: filepath.Join(dir, "run", "benchd.sock"), Store: filepath.Join(dir, "history.db")}
	base := []string{"--socket", d.Socket, "--store", d.Store, "--container", container,
		"--health-interval", "100ms", "--shutdown-timeout", "5s"}
	hasVRAM := false
	for _, a := range args {
		hasVRAM = hasVRAM || a == "--vram-source"
	}
	if !hasVRAM {
		base = append(base, "--vram-source", "sysfs", "--sysfs-root", testrig.SysfsFixture())
	}
	d.args = append(base, args...)
	d.start(t)
	cl, err := client.New(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	d.cl = cl
	return d
}

// start runs the daemon process (again, after a kill) and waits until it
// logs that it serves.
func (d *daemon) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(benchdBinary(t), d.args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start benchd: %v", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	ready, exited := make(chan struct{}), d.exited
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			d.logMu.Lock()
			d.log.WriteString(line + "\n")
			d.logMu.Unlock()
			if !signalled && strings.Contains(line, `msg="benchd serving"`) {
				signalled = true
				close(ready)
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { d.stop(t) })
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("benchd exited before serving:\n%s", d.Log())
	case <-time.After(30 * time.Second):
		t.Fatalf("benchd did not start serving within 30s:\n%s", d.Log())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("benchd log:\n%s", d.Log())
		}
	})
}

// Log is what the daemon wrote to stderr, over all its starts.
func (d *daemon) Log() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

// stop sends SIGTERM and waits for the process to exit.
func (d *daemon) stop(t testing.TB) {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		t.Errorf("benchd did not exit within 20s of SIGTERM")
	}
}

// pid is the daemon's process id, cross-checked with the socket's peer
// credentials (SO_PEERCRED): the process serving the socket.
func (d *daemon) pid(t testing.TB) int {
	t.Helper()
	c, err := net.Dial("unix", d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var (
		cred *syscall.Ucred
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		t.Fatalf("SO_PEERCRED of benchd's socket: %v %v", err, cerr)
	}
	if int(cred.Pid) != d.cmd.Process.Pid {
		t.Fatalf("socket served by pid %d, started pid %d", cred.Pid, d.cmd.Process.Pid)
	}
	return int(cred.Pid)
}

// rssKiB is VmRSS of a process.
func rssKiB(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// fdCount is the number of open file descriptors of a process.
func fdCount(t testing.TB, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func (d *daemon) health(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := d.cl.Health(ctx)
	if err != nil {
		return "error: " + err.Error()
	}
	return s
}

func (d *daemon) waitHealth(t testing.TB, want string, within time.Duration) {
	t.Helper()
	poll(t, within, "health "+want, func() bool { return d.health(t) == want })
}

// --- benchmarks under fault ---

// longRun is a benchmark that keeps ollama busy for a while: a warm-up
// trial (stored before the fault) and then measured trials of 2048 tokens.
func longRun() client.BenchmarkRequest {
	return client.BenchmarkRequest{Model: "tiny", Repetitions: 50, Warmup: ptr(1), MaxTokens: 2048}
}

// quickRun is the "does it still serve" benchmark.
func quickRun() client.BenchmarkRequest {
	return client.BenchmarkRequest{Model: "tiny", Repetitions: 1, Warmup: ptr(0), MaxTokens: 8}
}

// faultRun is what a benchmark saw when a fault hit it.
type faultRun struct {
	id         string
	trials     int // trial events the client received
	injectedAt time.Time
	endedAt    time.Time
	err        error
}

// runWithFault runs req and, once the first measured trial streams tokens,
// calls fault in its own goroutine (the stream keeps being read). It
// returns after both the RPC and the fault have ended.
func runWithFault(t *testing.T, cl *client.Client, ctx context.Context, req client.BenchmarkRequest, fault func()) faultRun {
	t.Helper()
	var (
		fr   faultRun
		once sync.Once
		wg   sync.WaitGroup
		mu   sync.Mutex
	)
	_, err := cl.RunBenchmark(ctx, req, func(ev client.Event) {
		switch {
		case ev.Started != nil:
			fr.id = ev.Started.BenchmarkID
		case ev.Trial != nil:
			fr.trials++
		case ev.Progress != nil && !ev.Progress.Warmup && ev.Progress.Tokens > 0:
			once.Do(func() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					mu.Lock()
					fr.injectedAt = time.Now()
					mu.Unlock()
					fault()
				}()
			})
		}
	})
	fr.endedAt = time.Now()
	fr.err = err
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if fr.injectedAt.IsZero() {
		t.Fatalf("the fault was never injected: the run ended first with %v", err)
	}
	return fr
}

// wantCode asserts a gRPC status code and that the message says something.
func wantCode(t testing.TB, err error, code codes.Code, msgHas ...string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	msg := status.Convert(err).Message()
	for _, s := range msgHas {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
	t.Logf("client saw %v: %s", code, msg)
}

// wantCodeIn is wantCode for faults whose timing decides between two
// documented codes (e.g. a container stopped during a trial, UNAVAILABLE,
// or between two trials, FAILED_PRECONDITION); msgs gives each code's
// expected message part.
func wantCodeIn(t testing.TB, err error, msgs map[codes.Code]string) {
	t.Helper()
	want, ok := msgs[status.Code(err)]
	if !ok {
		t.Fatalf("got %v, want one of %v", err, msgs)
	}
	wantCode(t, err, status.Code(err), want)
}

// assertStored checks the history: the run is stored in state with at
// least minTrials trials, and the whole history still lists.
func assertStored(t testing.TB, cl *client.Client, id, state string, minTrials int) *client.Benchmark {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b *client.Benchmark
	// The recorder writes the outcome before the run's subscribers are
	// released, but a fault on the client side can end the RPC first.
	poll(t, 10*time.Second, "benchmark "+id+" stored as "+state, func() bool {
		var err error
		b, err = cl.GetBenchmark(ctx, id)
		return err == nil && b.State == state
	})
	if len(b.Trials) < minTrials {
		t.Errorf("stored %d trials, want at least %d", len(b.Trials), minTrials)
	}
	for i, tr := range b.Trials {
		if tr.Index != i || tr.EvalCount <= 0 {
			t.Errorf("stored trial %d: index %d, eval count %d", i, tr.Index, tr.EvalCount)
		}
	}
	if _, _, err := cl.ListBenchmarks(ctx, client.ListOptions{}); err != nil {
		t.Errorf("ListBenchmarks: %v", err)
	}
	t.Logf("stored: %s %s, %d trials, code %d %q", id, b.State, len(b.Trials), b.ErrorCode, b.ErrorMessage)
	return b
}

// waitIdle waits until no benchmark is running (a cancelled one winds
// down after the call that cancelled it returns).
func waitIdle(t testing.TB, cl *client.Client) {
	t.Helper()
	poll(t, 30*time.Second, "no benchmark running", func() bool {
		bs, _, err := cl.ListBenchmarks(context.Background(), client.ListOptions{PageSize: 5})
		if err != nil {
			return false
		}
		for _, b := range bs {
			if b.State == "RUNNING" {
				return false
			}
		}
		return true
	})
}

// assertServes runs a quick benchmark that must succeed.
func assertServes(t testing.TB, cl *client.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := cl.RunBenchmark(ctx, quickRun(), nil)
	if err != nil {
		t.Fatalf("the next benchmark after the fault: %v", err)
	}
	if len(res.Trials) != 1 || res.Trials[0].EvalCount != 8 {
		t.Fatalf("the next benchmark: %d trials %+v", len(res.Trials), res.Trials)
	}
}

func ptr[T any](v T) *T { return &v }
