package faults_test

// Faults of the ollama container and of ollama inside it, on the shared
// Docker Engine but always on a container of this test's own.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

func TestContainerStoppedMidRun(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	d.waitHealth(t, "SERVING", 10*time.Second)

	fr := runWithFault(t, d.cl, context.Background(), longRun(), func() {
		if _, err := shared.Run("stop", "-t", "5", c.name); err != nil {
			t.Error(err)
		}
	})
	wantCodeIn(t, fr.err, map[codes.Code]string{
		codes.Unavailable:        "check the ollama container", // stopped during a trial
		codes.FailedPrecondition: "not running",                // between two trials
	})
	assertStored(t, d.cl, fr.id, "FAILED", 1)
	// Generation stopped: the container (and ollama's runner in it) is
	// gone, and the next request says what to do.
	if st := trimNL(shared.Docker(t, "inspect", "-f", "{{.State.Status}}", c.name)); st != "exited" {
		t.Errorf("container state %q after docker stop", st)
	}
	c.assertExitedWithin(t, fr.injectedAt, 2*time.Second)
	d.waitHealth(t, "NOT_SERVING", 10*time.Second)
	_, err := d.cl.RunBenchmark(context.Background(), quickRun(), nil)
	wantCode(t, err, codes.FailedPrecondition, "not running", "start")

	shared.Docker(t, "start", c.name)
	c.waitReady(t)
	d.waitHealth(t, "SERVING", 10*time.Second)
	assertServes(t, d.cl)
}

func TestContainerRemovedMidRun(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)

	fr := runWithFault(t, d.cl, context.Background(), longRun(), func() {
		if _, err := shared.Run("rm", "-f", c.name); err != nil {
			t.Error(err)
		}
	})
	// Between two trials the next request finds the container gone, or
	// still being removed: docker rm -f kills it first, and a container
	// in removal is "not running" to the engine for that moment.
	if status.Code(fr.err) == codes.FailedPrecondition && strings.Contains(status.Convert(fr.err).Message(), "not running") {
		t.Logf("the run met the container in removal: %v", fr.err)
	} else {
		wantCodeIn(t, fr.err, map[codes.Code]string{
			codes.Unavailable:        "check the ollama container", // removed during a trial
			codes.FailedPrecondition: "does not exist",             // between two trials
		})
	}
	assertStored(t, d.cl, fr.id, "FAILED", 1)
	d.waitHealth(t, "NOT_SERVING", 10*time.Second)
	_, err := d.cl.RunBenchmark(context.Background(), quickRun(), nil)
	wantCode(t, err, codes.FailedPrecondition, "does not exist", "create")

	c.recreate(t)
	d.waitHealth(t, "SERVING", 10*time.Second)
	assertServes(t, d.cl)
}

// A paused container hangs every request instead of failing it: the
// benchmark's own timeout ends the run, and once the container runs again
// ollama sees the closed connection and stops.
func TestContainerPausedMidRunHitsTheTimeout(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	paused := false
	t.Cleanup(func() {
		if paused {
			_, _ = shared.Run("unpause", c.name)
		}
	})

	req := longRun()
	req.Warmup, req.Timeout = ptr(0), 6*time.Second
	start := time.Now()
	fr := runWithFault(t, d.cl, context.Background(), req, func() {
		if _, err := shared.Run("pause", c.name); err != nil {
			t.Error(err)
			return
		}
		paused = true
	})
	wantCode(t, fr.err, codes.DeadlineExceeded, "raise the request's timeout")
	if el := time.Since(start); el > req.Timeout+5*time.Second {
		t.Errorf("the run ended %v after it started; its timeout is %v", el, req.Timeout)
	}
	if !paused {
		t.Fatal("the container was not paused")
	}
	assertStored(t, d.cl, fr.id, "FAILED", 0)
	d.waitHealth(t, "NOT_SERVING", 10*time.Second)
	_, err := d.cl.RunBenchmark(context.Background(), quickRun(), nil)
	wantCode(t, err, codes.FailedPrecondition, "paused", "unpause")

	unpausedAt := time.Now()
	shared.Docker(t, "unpause", c.name)
	paused = false
	c.assertGenerationStopped(t, unpausedAt)
	// The bridges of the timed-out run end too.
	testrig.Poll(t, 10*time.Second, "no exec bridges left in the container", func() bool { return c.bridgeProcesses(t) == 0 })
	d.waitHealth(t, "SERVING", 10*time.Second)
	assertServes(t, d.cl)
}

// killInContainer SIGKILLs the processes whose argv starts with argv0 argv1.
func killInContainer(c *rigContainer, arg0Suffix, arg1 string) error {
	script := `n=0; for p in /proc/[0-9]*; do
  mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue
  case "${a[0]}" in *"$1") ;; *) continue;; esac
  [ "${a[1]}" = "$2" ] || continue
  kill -9 "${p#/proc/}" && n=$((n+1))
done; [ $n -gt 0 ] || { echo "no $1 $2 process" >&2; exit 1; }`
	_, err := c.eng.Run("exec", c.name, "bash", "-c", script, "kill", arg0Suffix, arg1)
	return err
}

// The ollama server process is SIGKILLed mid-trial. The container runs
// with --init so that the server is not PID 1 (which SIGKILL cannot reach
// from inside), and with a restart policy so that it comes back.
func TestOllamaServerKilledMidTrial(t *testing.T) {
	c := startRig(t, shared, "--init", "--restart", "always")
	d := startDaemon(t, c.name)

	fr := runWithFault(t, d.cl, context.Background(), longRun(), func() {
		if err := killInContainer(c, "ollama", "serve"); err != nil {
			t.Error(err)
		}
	})
	wantCode(t, fr.err, codes.Unavailable, "ollama stopped answering mid-trial")
	if el := fr.endedAt.Sub(fr.injectedAt); el > 5*time.Second {
		t.Errorf("the client learned of the kill %v after it", el)
	}
	assertStored(t, d.cl, fr.id, "FAILED", 1)
	c.waitReady(t) // back by its restart policy
	c.assertExitedWithin(t, fr.injectedAt, 2*time.Second)
	d.waitHealth(t, "SERVING", 10*time.Second)
	assertServes(t, d.cl)
}

// ollama's model runner (the process that generates) is SIGKILLed
// mid-trial; the ollama server stays up and reports the failure in the
// stream.
func TestOllamaRunnerKilledMidTrial(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)

	fr := runWithFault(t, d.cl, context.Background(), longRun(), func() {
		if err := killInContainer(c, "ollama", "runner"); err != nil {
			t.Error(err)
		}
	})
	wantCode(t, fr.err, codes.Unavailable, "model runner failed")
	assertStored(t, d.cl, fr.id, "FAILED", 1)
	c.assertRunnerIdle(t) // nothing generates until the next request starts a runner
	assertServes(t, d.cl)
}

func TestUnknownModelIsNotFoundAndNothingRuns(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	_, err := d.cl.RunBenchmark(context.Background(), client.BenchmarkRequest{Model: "no-such-model:7b"}, nil)
	wantCode(t, err, codes.NotFound, "pull")
	if n := c.bridgeProcesses(t); n > 4 {
		t.Errorf("%d exec bridges open after a refused model", n)
	}
	bs, _, err := d.cl.ListBenchmarks(context.Background(), client.ListOptions{})
	if err != nil || len(bs) != 1 || bs[0].State != "FAILED" || len(bs[0].Trials) != 0 {
		t.Errorf("history after an unknown model: %v %+v", err, bs)
	}
	assertServes(t, d.cl)
}

// A model ollama creates but cannot load is FAILED_PRECONDITION, not
// benchd's internal error. Two such files, made from the rig's tiny.gguf:
//
//   - an unknown architecture (general.architecture renamed): every rig
//     version creates it and fails to load it ("unable to load model");
//   - the file cut short: v0.9.6 reads only the header on create and fails
//     at load; v0.17.4 checks the tensors' extent and refuses to create it
//     ("exceeds file size"), so that fault cannot reach benchd there.
func TestModelThatFailsToLoad(t *testing.T) {
	c := startRig(t, shared)
	d := startDaemon(t, c.name)
	dir := t.TempDir()
	good := filepath.Join(dir, "tiny.gguf")
	shared.Docker(t, "cp", c.name+":/models/tiny.gguf", good)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// A GGUF string value: its key, a uint32 type and a uint64 length
	// before the bytes.
	key := []byte("general.architecture")
	at := bytes.Index(b, key) + len(key) + 4 + 8
	if at < len(key)+12 || string(b[at:at+5]) != "llama" {
		t.Fatalf("tiny.gguf: no general.architecture \"llama\" where expected")
	}
	unknown := slices.Clone(b)
	copy(unknown[at:], "nollm")
	for _, tc := range []struct {
		name   string
		data   []byte
		create string // the text of a refusal to create it, if the version may refuse
	}{
		{"unknown-architecture", unknown, ""},
		{"cut-short", b[:len(b)/5], "exceeds file size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, tc.name+".gguf"), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			modelfile := filepath.Join(dir, "Modelfile."+tc.name)
			if err := os.WriteFile(modelfile, []byte("FROM /tmp/"+tc.name+".gguf\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			shared.Docker(t, "cp", filepath.Join(dir, tc.name+".gguf"), c.name+":/tmp/"+tc.name+".gguf")
			shared.Docker(t, "cp", modelfile, c.name+":/tmp/Modelfile."+tc.name)
			out, err := c.eng.Run("exec", c.name, "ollama", "create", tc.name, "-f", "/tmp/Modelfile."+tc.name)
			if err != nil {
				if tc.create == "" || !strings.Contains(out, tc.create) {
					t.Fatalf("ollama %s refused to create %s: %v\n%s", testrig.OllamaVersion, tc.name, err, out)
				}
				t.Logf("ollama %s refuses to create it (%q): the fault cannot reach benchd", testrig.OllamaVersion, tc.create)
				return
			}
			req := quickRun()
			req.Model = tc.name
			_, err = d.cl.RunBenchmark(context.Background(), req, nil)
			wantCode(t, err, codes.FailedPrecondition, "could not load the model")
			if strings.Contains(err.Error(), "see benchd's log") {
				t.Errorf("a model ollama cannot load is not benchd's internal error: %v", err)
			}
		})
	}
	assertServes(t, d.cl)
}
