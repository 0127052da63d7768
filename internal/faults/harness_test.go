package faults_test

// The fault tests' own harness: uniquely named rig containers and what the
// tests read inside them, a benchd process with a client, and the checks
// every fault test shares. Engines (the shared one and private dockerds),
// the daemon process and polling are internal/testrig's. Nothing here
// touches the shared rig container.

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

var nameSeq atomic.Int64

// uniqueName is a container name no other test or engineer uses.
func uniqueName(what string) string {
	return fmt.Sprintf("benchd-faults-%s-%d-%d", what, os.Getpid(), nameSeq.Add(1))
}

// --- rig containers ---

// shared is the Docker Engine the test process started with.
var shared = testrig.Engine{}

// rigContainer is a container of the rig image with a unique name.
type rigContainer struct {
	eng  testrig.Engine
	name string
}

// startRig runs a rig container on eng with extra docker-run flags, waits
// for ollama and creates the tiny model. It is removed when the test ends.
func startRig(t *testing.T, eng testrig.Engine, runFlags ...string) *rigContainer {
	t.Helper()
	testrig.EnsureRigImage(t)
	c := &rigContainer{eng: eng, name: uniqueName(strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))}
	if len(c.name) > 120 {
		c.name = uniqueName("rig")
	}
	t.Cleanup(func() { _, _ = eng.Run("rm", "-f", c.name) })
	c.run(t, runFlags...)
	return c
}

// run starts the container and waits until ollama serves tiny.
func (c *rigContainer) run(t testing.TB, runFlags ...string) {
	t.Helper()
	args := append([]string{"run", "-d", "--name", c.name, "--network", "none"}, runFlags...)
	c.eng.Docker(t, append(args, testrig.RigImage, "ollama", "serve")...)
	c.waitReady(t)
}

// waitReady polls until ollama answers in the container, then creates tiny.
func (c *rigContainer) waitReady(t testing.TB) {
	t.Helper()
	testrig.Poll(t, 60*time.Second, "ollama in "+c.name, func() bool {
		_, err := c.eng.Run("exec", c.name, "ollama", "list")
		return err == nil
	})
	c.eng.Docker(t, "exec", c.name, "ollama", "create", "tiny", "-f", "/models/Modelfile")
}

func (c *rigContainer) exec(t testing.TB, args ...string) string {
	t.Helper()
	return c.eng.Docker(t, append([]string{"exec", c.name}, args...)...)
}

// recreate removes the container and starts a fresh one with the same name.
func (c *rigContainer) recreate(t *testing.T, runFlags ...string) {
	t.Helper()
	_, _ = c.eng.Run("rm", "-f", c.name)
	c.run(t, runFlags...)
}

// assertExitedWithin checks that the container's processes (ollama and
// its runner with them) ended within d of at: its State.FinishedAt.
func (c *rigContainer) assertExitedWithin(t testing.TB, at time.Time, d time.Duration) {
	t.Helper()
	out := strings.TrimSpace(c.eng.Docker(t, "inspect", "-f", "{{.State.FinishedAt}}", c.name))
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

// assertGenerationStopped checks from the container's side that ollama
// stopped generating within 2 s of at: it logs the generate request (gin's
// line for /api/generate) when its handler returns, and afterwards its
// runner's CPU time stays flat.
func (c *rigContainer) assertGenerationStopped(t *testing.T, at time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	endedAt, err := c.eng.FollowLogs(ctx, c.name, at, func(line string) bool { return strings.Contains(line, `"/api/generate"`) })
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

// daemon is a benchd process and a client of it.
type daemon struct {
	*testrig.Daemon
	cl *client.Client
}

// startDaemon starts benchd against the container (on the engine in the
// process environment's DOCKER_HOST) with fast health checks and the
// simulated sysfs tree as VRAM source, unless args say otherwise. It is
// stopped with SIGTERM when the test ends; Restart starts it again on the
// same store.
func startDaemon(t *testing.T, container string, args ...string) *daemon {
	t.Helper()
	base := []string{"--container", container, "--health-interval", "100ms", "--shutdown-timeout", "5s"}
	if !slices.Contains(args, "--vram-source") {
		base = append(base, "--vram-source", "sysfs", "--sysfs-root", testrig.SysfsFixture())
	}
	return withClient(t, testrig.StartDaemon(t, append(base, args...)...))
}

// withClient connects a client to a started benchd, closed when the test
// ends, and logs benchd's stderr if the test failed.
func withClient(t *testing.T, td *testrig.Daemon) *daemon {
	t.Helper()
	d := &daemon{Daemon: td}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("benchd log:\n%s", d.Log())
		}
	})
	cl, err := client.New(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	d.cl = cl
	return d
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
	testrig.Poll(t, within, "health "+want, func() bool { return d.health(t) == want })
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
	testrig.Poll(t, 10*time.Second, "benchmark "+id+" stored as "+state, func() bool {
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
	testrig.Poll(t, 30*time.Second, "no benchmark running", func() bool {
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
