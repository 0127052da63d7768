package faults_test

// Faults of benchd itself: a SIGTERM (graceful) and a SIGKILL (nothing
// graceful) while a benchmark runs and its trials are being written.

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

func TestSIGTERMMidRunCancelsAndRecords(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)

	fr := runWithFault(t, d.cl, context.Background(), longRun(), func() {
		if err := d.Signal(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
	})
	wantCode(t, fr.err, codes.Canceled, "shutting down")
	c.assertGenerationStopped(t, fr.injectedAt)
	select {
	case <-d.Exited():
		if code := d.ExitCode(); code != 0 {
			t.Errorf("benchd exited with %d after SIGTERM, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("benchd did not exit within 10s of SIGTERM")
	}
	testrig.Poll(t, 10*time.Second, "no exec bridges left in the container", func() bool { return c.bridgeProcesses(t) == 0 })

	// The next benchd opens the same history: the run is CANCELLED with
	// the trials it finished, and it serves.
	d.Restart(t)
	b := assertStored(t, d.cl, fr.id, "CANCELLED", 1)
	if len(b.Trials) < fr.trials || !strings.Contains(b.ErrorMessage, "SIGTERM") {
		t.Errorf("stored %d trials (client saw %d), message %q", len(b.Trials), fr.trials, b.ErrorMessage)
	}
	assertServes(t, d.cl)
}

// SIGKILL lands while trials are being written (short trials, one store
// transaction each, VRAM timeline included). The store must open cleanly
// in the next benchd, hold every trial a client was sent, and mark the run
// FAILED through recovery. Three kills at different points.
func TestSIGKILLMidWriteKeepsTheStore(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	for round, killAfter := range []int{1, 4, 9} {
		var (
			id     string
			trials int
			killed time.Time
		)
		req := client.BenchmarkRequest{Model: "tiny", Repetitions: 100, Warmup: ptr(0), MaxTokens: 16,
			VRAMSampleInterval: 10 * time.Millisecond}
		_, err := d.cl.RunBenchmark(context.Background(), req, func(ev client.Event) {
			switch {
			case ev.Started != nil:
				id = ev.Started.BenchmarkID
			case ev.Trial != nil:
				trials++
				if trials == killAfter {
					// The recorder wrote this trial before sending it;
					// the next one is being generated or written now.
					killed = time.Now()
					_ = d.Signal(syscall.SIGKILL)
				}
			}
		})
		if killed.IsZero() {
			t.Fatalf("round %d: the run ended (%v) before the kill", round, err)
		}
		wantCode(t, err, codes.Unavailable)
		<-d.Exited()
		if ws, ok := d.State().Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: benchd exited with %v, want killed by SIGKILL", round, d.State())
		}
		// benchd's connections to Docker died with it: the bridge execs
		// end and ollama stops generating. (The kill may land between two
		// generations, so there need not be a request for ollama to log.)
		testrig.Poll(t, 2*time.Second, "no exec bridges left in the container", func() bool { return c.bridgeProcesses(t) == 0 })
		t.Logf("round %d: bridges gone %v after the kill", round, time.Since(killed))
		c.assertRunnerIdle(t)

		d.Restart(t) // opens the store the killed benchd left behind
		b := assertStored(t, d.cl, id, "FAILED", trials)
		if !strings.Contains(b.ErrorMessage, "benchd stopped while this benchmark ran") {
			t.Errorf("round %d: message %q should say recovery marked it", round, b.ErrorMessage)
		}
		for i, tr := range b.Trials {
			if tr.EvalCount != 16 {
				t.Errorf("round %d: stored trial %d has eval count %d, want 16", round, i, tr.EvalCount)
			}
		}
	}
	assertServes(t, d.cl)
}
