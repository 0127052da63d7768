package testrig

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// RequireDocker needs a reachable Docker Engine.
func RequireDocker(t TB) {
	t.Helper()
	err := exec.Command("docker", "info").Run()
	Require(t, err == nil, "a running Docker Engine (docker info)")
}

var (
	rigOnce sync.Once
	rigErr  error
)

// Ollama makes sure the rig's ollama container runs with the tiny model and
// returns the container's name. The container is shared by the tests of one
// package run; tests that break it must call Ollama's Restart.
func Ollama(t TB) string {
	t.Helper()
	RequireDocker(t)
	if err := EnsureOllama(); err != nil {
		t.Fatal(err)
	}
	return Container
}

// EnsureOllama is Ollama's core: `rig.sh ensure` once per process (it builds
// the image if needed, and keeps a container that already runs this rig).
func EnsureOllama() error {
	rigOnce.Do(func() { rigErr = rig("ensure", Container) })
	if rigErr != nil {
		return fmt.Errorf("start ollama rig: %w", rigErr)
	}
	return nil
}

// RestartOllama brings the shared container back after a test stopped it.
func RestartOllama(t TB) {
	t.Helper()
	if err := rig("up", Container); err != nil {
		t.Fatalf("restart ollama rig: %v", err)
	}
}

func rigScript() string { return filepath.Join(RepoRoot(), "testdata", "rig", "rig.sh") }

func rig(args ...string) error {
	cmd := exec.Command("bash", append([]string{rigScript()}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rig.sh %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

// Docker runs the docker CLI for test setup and inspection and returns its
// combined output.
func Docker(t TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// FollowLogs streams `docker logs -f --since now` of a container and calls
// match on each line until it returns true or ctx ends. It returns the time
// the matching line was read.
func FollowLogs(ctx context.Context, container string, since time.Time, match func(string) bool) (time.Time, error) {
	cmd := exec.CommandContext(ctx, "docker", "logs", "-f", "--since", since.UTC().Format(time.RFC3339Nano), container)
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
	return time.Time{}, fmt.Errorf("docker logs of %s ended without a matching line", container)
}
