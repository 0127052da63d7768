package faults_test

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	benchd "github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// maxIdleBridges is ollama.Client's idle-connection pool
// (MaxIdleConnsPerHost): that many bridges may rightly stay open at rest.
const maxIdleBridges = 4

// runningExecs counts the container's Docker exec instances that are still
// running (the engine keeps finished ones listed for a while).
func runningExecs(t testing.TB, api *client.Client, container string) (running, listed int) {
	t.Helper()
	ctx := context.Background()
	res, err := api.ContainerInspect(ctx, container, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range res.Container.ExecIDs {
		ins, err := api.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil {
			continue // collected meanwhile
		}
		listed++
		if ins.Running {
			running++
		}
	}
	return running, listed
}

// TestNoLeaksAfter100CancelledBenchmarks cancels 100 benchmarks at
// different points (before the first token, mid-generation, after a
// trial) and checks that benchd's file descriptors, the bridge processes
// in the container and the running Docker exec instances come back to
// where they were, and that every run is recorded as CANCELLED.
func TestNoLeaksAfter100CancelledBenchmarks(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	api, err := client.New(client.FromEnv, client.WithHost(testrig.SharedDockerHost))
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	pid := d.ServingPID(t)
	assertServes(t, d.cl) // warm: model loaded, a bridge pooled
	fds0, bridges0, zombies0 := testrig.FDCount(t, pid), c.bridgeProcesses(t), c.zombies(t)
	execs0, listed0 := runningExecs(t, api, c.name)
	t.Logf("baseline: benchd %d fds; container %d bridges, %d running execs (%d listed)", fds0, bridges0, execs0, listed0)

	const n = 100
	busy, wedged := 0, 0
	retryUntil := time.Now().Add(30 * time.Second)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		// Each benchmark is cancelled within a second or so. Its own
		// timeout catches ollama wedging (see below).
		req := benchd.BenchmarkRequest{Model: "tiny", Repetitions: 3, Warmup: ptr(1), MaxTokens: 256,
			CancelOnDisconnect: true, Timeout: 15 * time.Second}
		var cancelled bool
		_, err := d.cl.RunBenchmark(ctx, req, func(ev benchd.Event) {
			switch i % 3 {
			case 0:
				cancelled = cancelled || ev.Started != nil
			case 1:
				cancelled = cancelled || (ev.Progress != nil && ev.Progress.Tokens > 0)
			case 2:
				cancelled = cancelled || ev.Trial != nil
			}
			if cancelled {
				cancel()
			}
		})
		cancel()
		switch {
		case status.Code(err) == codes.Canceled && cancelled:
			retryUntil = time.Now().Add(30 * time.Second)
		case status.Code(err) == codes.ResourceExhausted && time.Now().Before(retryUntil):
			// The previous cancelled run is still being recorded: this
			// one did not start; wait and try it again.
			busy++
			i--
			waitIdle(t, d.cl)
		case status.Code(err) == codes.DeadlineExceeded && !cancelled && wedged < 3:
			// ollama v0.9.6 itself sometimes wedges under this storm of
			// cancellations (about once in 600): its runner never answers
			// the next completion, and even `ollama run` in the container
			// hangs, while benchd's bridge has delivered the request. benchd
			// ends the run at its timeout, as for any hung ollama; the
			// test unwedges ollama by killing its runner (ollama starts a
			// new one) and goes on with the same benchmark number.
			wedged++
			logs, _ := shared.Run("logs", "--tail", "8", c.name)
			t.Logf("benchmark %d: ollama wedged, benchd answered %v; ollama's log ends:\n%s", i, err, logs)
			if err := killInContainer(c, "ollama", "runner"); err != nil {
				t.Fatalf("unwedge ollama: %v", err)
			}
			waitIdle(t, d.cl)
			i--
		default:
			t.Fatalf("benchmark %d (cancel point %d): %v (cancelled: %v)", i, i%3, err, cancelled)
		}
	}
	waitIdle(t, d.cl)

	var fds, bridges, execs, listed int
	for deadline := time.Now().Add(30 * time.Second); ; {
		fds, bridges = testrig.FDCount(t, pid), c.bridgeProcesses(t)
		execs, listed = runningExecs(t, api, c.name)
		if fds <= fds0+maxIdleBridges && bridges <= maxIdleBridges && execs <= maxIdleBridges && execs == bridges {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after %d cancelled benchmarks: benchd %d fds (baseline %d); container %d bridges, %d running execs; want at most %d idle bridges",
				n, fds, fds0, bridges, execs, maxIdleBridges)
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	t.Logf("after %d cancelled benchmarks (%d retried after RESOURCE_EXHAUSTED, %d after ollama wedged): benchd %d fds; container %d bridges, %d running execs (%d listed)",
		n, busy, wedged, fds, bridges, execs, listed)

	// Reported, not asserted: they depend on how the container runs (see
	// zombies); with --init there are none.
	t.Logf("defunct processes in the container (PID 1 is ollama serve, no --init): %d before, %d after", zombies0, c.zombies(t))

	bs, _, err := d.cl.ListBenchmarks(context.Background(), benchd.ListOptions{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	for _, b := range bs {
		states[b.State]++
	}
	if states["CANCELLED"] != n || states["RUNNING"] != 0 || states["FAILED"] != wedged {
		t.Errorf("history after %d cancelled benchmarks: %v", n, states)
	}
	assertServes(t, d.cl)
}
