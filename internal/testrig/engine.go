package testrig

// The docker CLI against one Docker Engine.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// SharedDockerHost is the Docker Engine this process started with:
// DOCKER_HOST then, or the default socket. A test may point DOCKER_HOST
// elsewhere (t.Setenv) for the daemons it starts; the docker commands of
// this package keep going to this engine unless given another.
var SharedDockerHost = func() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}()

// Engine is the docker CLI pointed at one Docker Engine: Host, or
// SharedDockerHost when Host is empty.
type Engine struct {
	Host string // e.g. unix:///tmp/bdf-1/docker.sock
}

func (e Engine) host() string {
	if e.Host == "" {
		return SharedDockerHost
	}
	return e.Host
}

// Command is `docker -H <host> args...`.
func (e Engine) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "docker", append([]string{"-H", e.host()}, args...)...)
}

// Run runs the docker CLI (for at most two minutes) and returns its combined
// output; an error carries the output too.
func (e Engine) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := e.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Docker is Run for test setup and inspection: an error fails the test.
func (e Engine) Docker(t TB, args ...string) string {
	t.Helper()
	out, err := e.Run(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Docker runs the docker CLI against the shared engine for test setup and
// inspection and returns its combined output.
func Docker(t TB, args ...string) string {
	t.Helper()
	return Engine{}.Docker(t, args...)
}

// RequireDocker needs a reachable Docker Engine.
func RequireDocker(t TB) {
	t.Helper()
	_, err := Engine{}.Run("info")
	Require(t, err == nil, "a running Docker Engine (docker info)")
}

// FollowLogs streams `docker logs -f --since <since>` of a container and
// calls match on each line until it returns true or ctx ends. It returns
// the time the matching line was read.
func (e Engine) FollowLogs(ctx context.Context, container string, since time.Time, match func(string) bool) (time.Time, error) {
	cmd := e.Command(ctx, "logs", "-f", "--since", since.UTC().Format(time.RFC3339Nano), container)
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

// FollowLogs is Engine.FollowLogs on the shared engine.
func FollowLogs(ctx context.Context, container string, since time.Time, match func(string) bool) (time.Time, error) {
	return Engine{}.FollowLogs(ctx, container, since, match)
}
