package dockerx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/testrig"
)

func newClient(t *testing.T) *dockerx.Client {
	t.Helper()
	return newClientLogging(t, testLog(t))
}

func newClientLogging(t *testing.T, log *slog.Logger) *dockerx.Client {
	t.Helper()
	c, err := dockerx.New(testrig.Ollama(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestExecReturnsStdout(t *testing.T) {
	c := newClient(t)
	out, err := c.Exec(context.Background(), []string{"bash", "-c", "echo out; echo err >&2"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "out\n" {
		t.Errorf("stdout %q, want only \"out\\n\" (stderr kept apart)", out)
	}
}

func TestExecNonZeroExitCarriesStderr(t *testing.T) {
	c := newClient(t)
	_, err := c.Exec(context.Background(), []string{"bash", "-c", "echo no such tool >&2; exit 127"}, false)
	if err == nil || !strings.Contains(err.Error(), "exit status 127") || !strings.Contains(err.Error(), "no such tool") {
		t.Fatalf("got %v", err)
	}
}

func TestExecOutputIsBounded(t *testing.T) {
	c := newClient(t)
	// Endless output: the read bound, not the command, ends the exec.
	const flood = "while :; do echo 0123456789abcdef0123456789abcdef; done"
	_, err := c.Exec(context.Background(), []string{"bash", "-c", flood}, false)
	if !errors.Is(err, dockerx.ErrOutputTooLarge) {
		t.Fatalf("got %v, want ErrOutputTooLarge", err)
	}
	// And the flooding process is gone: no process in the container still
	// runs that loop (read with bash builtins; the image has no ps).
	out, err := c.Exec(context.Background(), []string{"bash", "-c",
		`for p in /proc/[0-9]*; do mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue; [ "${a[2]}" = "$1" ] && echo "$p"; done; true`,
		"probe", flood}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 0 {
		t.Errorf("flooding exec still running after the bound was hit: %s", out)
	}
}

// loopsRunning lists the container's processes whose bash -c script is
// script (read with bash builtins; the image has no ps).
func loopsRunning(t *testing.T, c *dockerx.Client, script string) string {
	t.Helper()
	out, err := c.Exec(context.Background(), []string{"bash", "-c",
		`for p in /proc/[0-9]*; do mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue; [ "${a[2]}" = "$1" ] && echo "${p#/proc/}"; done; true`,
		"probe", script}, false)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// Every exec carries its own marker, which is what the reaper finds.
func TestExecCarriesAUniqueMarker(t *testing.T) {
	c := newClient(t)
	seen := map[string]bool{}
	for range 3 {
		out, err := c.Exec(context.Background(), []string{"bash", "-c", `echo "$` + dockerx.ExecMarker + `"`}, false)
		if err != nil {
			t.Fatal(err)
		}
		m := strings.TrimSpace(string(out))
		if len(m) != 32 || strings.Trim(m, "0123456789abcdef") != "" || seen[m] {
			t.Fatalf("marker %q (seen before: %v), want 32 fresh hex digits", m, seen[m])
		}
		seen[m] = true
	}
}

// A tool whose output comes from children it forked: the marker is
// inherited, so the whole tree is stopped, not only the exec's first
// process (which is all the host-pid kill reached).
func TestExecFloodFromChildrenStopsTheWholeTree(t *testing.T) {
	c := newClient(t)
	const flood = "f() { while :; do echo 0123456789abcdef0123456789abcdef; done; }; f & f & wait"
	_, err := c.Exec(context.Background(), []string{"bash", "-c", flood}, false)
	if !errors.Is(err, dockerx.ErrOutputTooLarge) || strings.Contains(err.Error(), "could not be stopped") {
		t.Fatalf("got %v, want ErrOutputTooLarge and the exec stopped", err)
	}
	if pids := loopsRunning(t, c, flood); pids != "" {
		t.Errorf("processes of the flooding exec still running: %s", pids)
	}
}

// A tool that drops its marker cannot be found: the error and a WARN line
// say that it still runs, instead of the flood going on silently.
func TestExecFloodThatDropsItsMarkerIsReported(t *testing.T) {
	var logBuf bytes.Buffer
	var mu sync.Mutex
	c := newClientLogging(t, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logBuf}, nil)))
	const flood = "while :; do echo 0123456789abcdef0123456789abcdef; done # drops its marker"
	t.Cleanup(func() {
		// Stop it by its command line (the test's own script).
		for _, pid := range strings.Fields(loopsRunning(t, c, flood)) {
			_, _ = c.Exec(context.Background(), []string{"kill", "-KILL", pid}, false)
		}
		if pids := loopsRunning(t, c, flood); pids != "" {
			t.Errorf("could not clean up the test's flood: %s", pids)
		}
	})
	_, err := c.Exec(context.Background(), []string{"bash", "-c", `unset ` + dockerx.ExecMarker + `; exec bash -c "$0"`, flood}, false)
	if !errors.Is(err, dockerx.ErrOutputTooLarge) || !strings.Contains(err.Error(), "could not be stopped") ||
		!strings.Contains(err.Error(), "no process in the container carries its BENCHD_EXEC marker") {
		t.Fatalf("got %v, want ErrOutputTooLarge saying it could not be stopped", err)
	}
	t.Logf("error: %v", err)
	mu.Lock()
	log := logBuf.String()
	mu.Unlock()
	if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "could not be stopped") {
		t.Errorf("log %q, want a WARN line", log)
	}
	if loopsRunning(t, c, flood) == "" {
		t.Errorf("the marker-less flood is gone, so this test no longer shows the reported case")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The reaper takes nothing but a marker; anything else is refused before
// it is used.
func TestReaperRefusesAnythingButAMarker(t *testing.T) {
	c := newClient(t)
	for _, m := range []string{"", "BENCHD_EXEC=", "BENCHD_EXEC=$(kill -9 1)", "BENCHD_EXEC=0a; kill 1", "X=0a", "0a", "BENCHD_EXEC=0A"} {
		_, err := c.Exec(context.Background(), dockerx.ReapArgv(m), false)
		if err == nil || !strings.Contains(err.Error(), "exit status 2: bad marker") {
			t.Errorf("ReapArgv(%q): %v, want exit status 2: bad marker", m, err)
		}
	}
	// A well-formed marker nobody carries: nothing to do, no error.
	out, err := c.Exec(context.Background(), dockerx.ReapArgv(dockerx.ExecMarker+"=00112233445566778899aabbccddeeff"), false)
	if err != nil || len(out) != 0 {
		t.Errorf("reaping an unused marker: %q, %v", out, err)
	}
}

// TestPrivilegedExecRefusalIsClear needs an engine that refuses privileged
// execs: the project's machines, CI's included, do (their runtime cannot
// apply the full capability set: "unable to apply caps: operation not
// permitted"), so under CI=true an engine that allows one fails the test
// instead of hiding the refusal path; elsewhere the test is skipped.
func TestPrivilegedExecRefusalIsClear(t *testing.T) {
	c := newClient(t)
	_, err := c.Exec(context.Background(), []string{"cat", "/proc/self/status"}, true)
	testrig.Require(t, err != nil, "an engine that refuses privileged execs (the project's machines and CI's do; this one ran a privileged exec, so the refusal path cannot be exercised)")
	if !errors.Is(err, dockerx.ErrPrivilegedRefused) {
		t.Fatalf("got %v, want ErrPrivilegedRefused", err)
	}
}

func TestMissingContainerAndUnreachableEngine(t *testing.T) {
	testrig.RequireDocker(t)
	c, err := dockerx.New("benchd-test-absent", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CheckContainer(context.Background()); !errors.Is(err, dockerx.ErrContainerNotFound) {
		t.Errorf("absent container: %v", err)
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	c2, err := dockerx.New("benchd-test-absent", testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.CheckContainer(context.Background()); !errors.Is(err, dockerx.ErrUnavailable) {
		t.Errorf("unreachable engine: %v", err)
	}
}

func TestBridgeCarriesHTTPAndEndsWithTheConnection(t *testing.T) {
	c := newClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := c.DialBridge(ctx, 11434)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /api/version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// ollama closes after the response; the bridge must then end by itself,
	// so ReadAll returns instead of hanging.
	body, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(body), "HTTP/1.1 200") || !strings.Contains(string(body), `"version":"`+testrig.OllamaVersion+`"`) {
		t.Errorf("response %q", body)
	}
	conn.Close()
}

func TestBridgeToClosedPortSaysWhy(t *testing.T) {
	c := newClient(t)
	conn, err := c.DialBridge(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.ReadAll(conn)
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("read from a bridge to a closed port: %v, want the connection refusal", err)
	}
}

func TestMissingCommandIsRecognised(t *testing.T) {
	c := newClient(t)
	_, err := c.Exec(context.Background(), []string{"nvidia-smi", "--query-gpu=index", "--format=csv"}, false)
	if !errors.Is(err, dockerx.ErrCommandNotFound) {
		t.Fatalf("got %v, want ErrCommandNotFound", err)
	}
}

// zombies counts defunct processes in the container (read with bash
// builtins; the image has no ps).
func zombies(t *testing.T, c *dockerx.Client) int {
	t.Helper()
	out, err := c.Exec(context.Background(), []string{"bash", "-c",
		`n=0; for p in /proc/[0-9]*/stat; do read -r s < "$p" 2>/dev/null || continue; s=${s##*) }; [ "${s%% *}" = Z ] && n=$((n+1)); done; echo $n`}, false)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("zombie count %q: %v", out, err)
	}
	return n
}

func TestBridgesLeaveNoZombies(t *testing.T) {
	testrig.Ollama(t) // builds the rig image
	// A container of its own: other tests' bridges in the shared one would
	// blur both counts.
	name := fmt.Sprintf("benchd-test-zombies-%d", os.Getpid())
	testrig.Docker(t, "run", "-d", "--name", name, "--network", "none", testrig.RigImage, "ollama", "serve")
	t.Cleanup(func() { testrig.Docker(t, "rm", "-f", name) })
	c, err := dockerx.New(name, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	get := func(closeHdr string) (net.Conn, error) {
		conn, err := c.DialBridge(context.Background(), 11434)
		if err != nil {
			return nil, err
		}
		_, err = io.WriteString(conn, "GET /api/version HTTP/1.1\r\nHost: localhost\r\n"+closeHdr+"\r\n")
		return conn, err
	}
	// Wait (bounded) for ollama serve to listen.
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := get("Connection: close\r\n")
		if err == nil {
			_, err = io.ReadAll(conn)
			conn.Close()
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ollama in %s not answering: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := zombies(t, c)
	for i := range 10 {
		if i%2 == 0 {
			// ollama closes: the bridge must end by itself.
			conn, err := get("Connection: close\r\n")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(conn); err != nil {
				t.Fatal(err)
			}
			conn.Close()
		} else {
			// benchd closes mid-exchange: a request sent, the answer not read.
			conn, err := get("")
			if err != nil {
				t.Fatal(err)
			}
			conn.Close()
		}
	}
	// The bridges end asynchronously after Close; wait (bounded) until none
	// is left, then count what they left behind.
	deadline = time.Now().Add(10 * time.Second)
	for bridgesRunning(t, c) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := bridgesRunning(t, c); n > 0 {
		t.Fatalf("%d bridge processes still running 10s after Close", n)
	}
	if after := zombies(t, c); after != before {
		t.Errorf("10 bridges left %d zombie processes (before %d, after %d)", after-before, before, after)
	}
}

// bridgesRunning counts live bridge shells in the container.
func bridgesRunning(t *testing.T, c *dockerx.Client) int {
	t.Helper()
	out, err := c.Exec(context.Background(), []string{"bash", "-c",
		`n=0; for p in /proc/[0-9]*; do mapfile -d '' a < "$p/cmdline" 2>/dev/null || continue; [ "${a[3]}" = benchd-bridge ] && n=$((n+1)); done; echo $n`}, false)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

// testLog sends the client's log lines to the test's log.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// A tool that hangs: its caller's deadline ends the call at once, and the
// exec left in the container is stopped in the background (after the grace
// an exec gets to end by itself), not left to pile up one per timeout.
func TestAbandonedExecIsStopped(t *testing.T) {
	c := newClient(t)
	const hang = "while :; do read -t 1 < /dev/zero; done # hangs without output"
	t.Cleanup(func() {
		for _, pid := range strings.Fields(loopsRunning(t, c, hang)) {
			_, _ = c.Exec(context.Background(), []string{"kill", "-KILL", pid}, false)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Exec(ctx, []string{"bash", "-c", hang}, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung exec: %v, want the caller's deadline", err)
	}
	testrig.Poll(t, 20*time.Second, "the abandoned exec to be stopped", func() bool { return loopsRunning(t, c, hang) == "" })
}
