package dockerx_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/testrig"
	"github.com/benchd/benchd/service/dockerx"
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
	c2, err := dockerx.New("ollama")
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
