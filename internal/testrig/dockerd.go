package testrig

// A private Docker Engine, for tests that break the engine itself.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Dockerd is a dockerd of a test's own: its own socket, data root, exec
// root (and so its own managed containerd) and no networking. Stopping it
// is a real "dockerd restarted" for whatever uses it, and nothing else. Its
// Engine is the docker CLI against it.
type Dockerd struct {
	Engine
	dir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// NewDockerd prepares a private dockerd; it does not run until Start. When
// the test ends its containers are removed, it is stopped and its files
// are deleted.
func NewDockerd(t TB) *Dockerd {
	t.Helper()
	RequireDocker(t)
	_, err := exec.LookPath("dockerd")
	Require(t, err == nil, "dockerd on PATH (a private engine for Docker-level faults)")
	// A short path: unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "bdf-")
	if err != nil {
		t.Fatal(err)
	}
	e := &Dockerd{Engine: Engine{Host: "unix://" + filepath.Join(dir, "docker.sock")}, dir: dir}
	t.Cleanup(func() {
		if e.Running() {
			if out, err := e.Run("ps", "-aq"); err == nil && strings.TrimSpace(out) != "" {
				_, _ = e.Run(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
			}
			e.Stop(t)
		}
		_ = os.RemoveAll(dir)
	})
	return e
}

// Running reports whether the dockerd process runs.
func (e *Dockerd) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.exited == nil {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// Start runs dockerd and waits until it answers.
func (e *Dockerd) Start(t TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dockerd",
		"--host", e.Host,
		"--data-root", filepath.Join(e.dir, "data"),
		"--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"),
		"--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C of the test does not reach it first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start private dockerd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	e.mu.Lock()
	e.cmd, e.exited = cmd, exited
	e.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := e.Run("version", "--format", "{{.Server.Version}}"); err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("private dockerd exited while starting:\n%s", e.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private dockerd did not answer within 60s:\n%s", e.Log())
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
}

// Stop sends dockerd SIGTERM (its normal shutdown: it stops the containers)
// and waits for it to exit.
func (e *Dockerd) Stop(t TB) {
	t.Helper()
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.mu.Unlock()
	if !stopProcess(cmd.Process, exited, 60*time.Second) {
		t.Errorf("private dockerd did not stop within 60s of SIGTERM")
	}
}

// Log is the end of dockerd's log.
func (e *Dockerd) Log() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// LoadImage copies image from the shared engine into this one.
func (e *Dockerd) LoadImage(t TB, image string) {
	t.Helper()
	cmd := exec.Command("bash", "-o", "pipefail", "-c", `docker -H "$1" save "$2" | docker -H "$3" load`,
		"load", SharedDockerHost, image, e.Host)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("load %s into the private dockerd: %v\n%s", image, err, out)
	}
}
