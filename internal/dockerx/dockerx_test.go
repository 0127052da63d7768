package dockerx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/dockerx"
	"github.com/benchd/benchd/internal/testrig"
)

func newClient(t *testing.T) *dockerx.Client {
	t.Helper()
	c, err := dockerx.New(testrig.Ollama(t))
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

func TestPrivilegedExecRefusalIsClear(t *testing.T) {
	c := newClient(t)
	_, err := c.Exec(context.Background(), []string{"cat", "/proc/self/status"}, true)
	if err == nil {
		t.Skip("this engine allows privileged execs; the refusal path cannot be exercised here")
	}
	if !errors.Is(err, dockerx.ErrPrivilegedRefused) {
		t.Fatalf("got %v, want ErrPrivilegedRefused", err)
	}
}

func TestMissingContainerAndUnreachableEngine(t *testing.T) {
	testrig.RequireDocker(t)
	c, err := dockerx.New("benchd-test-absent")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CheckContainer(context.Background()); !errors.Is(err, dockerx.ErrContainerNotFound) {
		t.Errorf("absent container: %v", err)
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	c2, err := dockerx.New("benchd-test-absent")
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
	if !strings.HasPrefix(string(body), "HTTP/1.1 200") || !strings.Contains(string(body), `"version":"0.9.6"`) {
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
	testrig.Docker(t, "run", "-d", "--name", name, "--network", "none", "benchd-test/ollama:0.9.6", "ollama", "serve")
	t.Cleanup(func() { testrig.Docker(t, "rm", "-f", name) })
	c, err := dockerx.New(name)
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
