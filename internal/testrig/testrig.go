// Package testrig starts the real parts integration tests need — the ollama
// container of testdata/rig, a benchd daemon process — in one place, so test
// files do not copy setup. Under CI=true a missing dependency fails the test;
// elsewhere it skips, so `go test ./...` stays usable on a laptop.
package testrig

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Model is the tiny model the rig creates in ollama.
const Model = "tiny"

// Container is the name of the rig's ollama container.
const Container = "ollama"

// Require skips the test, or fails it under CI=true, when cond is false.
func Require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true", what)
	}
	t.Skipf("%s not available; skipping (CI=true makes this a failure)", what)
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// RequireDocker needs a reachable Docker Engine.
func RequireDocker(t testing.TB) {
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
func Ollama(t testing.TB) string {
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
func RestartOllama(t testing.TB) {
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
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Binary builds a command of this module once per test process and returns
// its path, e.g. Binary(t, "benchd").
func Binary(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "benchd-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+"/", "./cmd/...")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/...: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

// Daemon is a benchd process started for a test.
type Daemon struct {
	Socket string
	Store  string
	cmd    *exec.Cmd
	logMu  sync.Mutex
	log    bytes.Buffer
	exited chan struct{}
}

// StartDaemon starts benchd with args (plus --socket in a temp dir unless
// args set one) and returns once it logs that it serves. It is stopped with
// SIGTERM when the test ends.
func StartDaemon(t testing.TB, args ...string) *Daemon {
	t.Helper()
	d := &Daemon{exited: make(chan struct{})}
	hasSocket, hasStore := false, false
	for i, a := range args {
		if a == "--socket" && i+1 < len(args) {
			d.Socket, hasSocket = args[i+1], true
		}
		if a == "--store" && i+1 < len(args) {
			d.Store, hasStore = args[i+1], true
		}
	}
	if !hasStore {
		// Each daemon gets its own history: bbolt locks its file.
		d.Store = filepath.Join(t.TempDir(), "history.db")
		args = append([]string{"--store", d.Store}, args...)
	}
	if !hasSocket {
		// A short path: unix socket paths are limited to 107 bytes.
		dir, err := os.MkdirTemp("", "bd-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		d.Socket = filepath.Join(dir, "run", "benchd.sock")
		args = append([]string{"--socket", d.Socket}, args...)
	}
	d.cmd = exec.Command(Binary(t, "benchd"), args...)
	if err := launch(t, d); err != nil {
		t.Fatal(err)
	}
	return d
}

// Log is what the daemon has written to stderr so far.
func (d *Daemon) Log() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

// Stop sends SIGTERM and waits for the process to exit.
func (d *Daemon) Stop(t testing.TB) {
	if err := d.Terminate(); err != nil {
		t.Error(err)
	}
}

// Terminate sends SIGTERM and waits for the process to exit, killing it
// after 20s (which it reports as an error).
func (d *Daemon) Terminate() error {
	select {
	case <-d.exited:
		return nil
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(20 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		return errors.New("benchd did not exit within 20s of SIGTERM")
	}
}

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig os.Signal) error { return d.cmd.Process.Signal(sig) }

// Kill SIGKILLs the daemon and waits for it to exit.
func (d *Daemon) Kill() error {
	if err := d.cmd.Process.Kill(); err != nil {
		return err
	}
	<-d.exited
	return nil
}

// ExitCode is the exit status once Exited is closed.
func (d *Daemon) ExitCode() int { return d.cmd.ProcessState.ExitCode() }

// Exited is closed when the daemon process has exited.
func (d *Daemon) Exited() <-chan struct{} { return d.exited }

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

// Grpcurl installs grpcurl at version (e.g. "v1.9.3") once per test process
// and returns its path. It is installed with its own go.mod (go install
// pkg@version) so its dependencies are the ones its authors released with.
func Grpcurl(t testing.TB, version string) string {
	t.Helper()
	grpcurlMu.Lock()
	defer grpcurlMu.Unlock()
	if p, ok := grpcurlPaths[version]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "benchd-grpcurl-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "install", "github.com/fullstorydev/grpcurl/cmd/grpcurl@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install grpcurl@%s: %v\n%s", version, err, out)
	}
	p := filepath.Join(dir, "grpcurl")
	grpcurlPaths[version] = p
	return p
}

var (
	grpcurlMu    sync.Mutex
	grpcurlPaths = map[string]string{}
)

// SysfsFixture is the simulated /sys tree with one AMD GPU.
func SysfsFixture() string { return filepath.Join(RepoRoot(), "testdata", "sysfs") }
