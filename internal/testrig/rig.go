package testrig

// The rig: testdata/rig/rig.sh's ollama image and the container the test
// packages share.

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// RigImage is the image testdata/rig builds: ollama and the tiny model.
const RigImage = "benchd-test/ollama:0.9.6"

var (
	rigOnce, imageOnce sync.Once
	rigErr, imageErr   error
)

// Ollama makes sure the rig's ollama container runs with the tiny model and
// returns the container's name. The container is shared by the tests of one
// package run; tests that break it must call RestartOllama.
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

// OllamaNamed starts a rig container of the test's own, name, with env
// (OLLAMA_VAR=VALUE, e.g. OLLAMA_NUM_PARALLEL=4) in ollama's environment
// (`rig.sh up NAME ENV...`: a container of that name is replaced only if
// rig.sh made it) and removes it when the test ends. Not the shared
// Container: tests that need other settings of ollama use their own.
func OllamaNamed(t TB, name string, env ...string) string {
	t.Helper()
	RequireDocker(t)
	if name == Container {
		t.Fatalf("OllamaNamed(%q): the shared container is Ollama's", name)
	}
	t.Cleanup(func() {
		if err := rig("down", name); err != nil {
			t.Errorf("remove rig container %s: %v", name, err)
		}
	})
	if err := rig(append([]string{"up", name}, env...)...); err != nil {
		t.Fatalf("start rig container %s: %v", name, err)
	}
	return name
}

// RestartOllama brings the shared container back after a test stopped it.
func RestartOllama(t TB) {
	t.Helper()
	if err := rig("up", Container); err != nil {
		t.Fatalf("restart ollama rig: %v", err)
	}
}

// EnsureRigImage builds RigImage on the shared engine if needed, once per
// process (`rig.sh build`: cached, no container is touched), for tests that
// run containers of their own from it.
func EnsureRigImage(t TB) {
	t.Helper()
	RequireDocker(t)
	imageOnce.Do(func() { imageErr = rig("build") })
	if imageErr != nil {
		t.Fatal(imageErr)
	}
}

// RigScript is testdata/rig/rig.sh.
func RigScript() string { return filepath.Join(RepoRoot(), "testdata", "rig", "rig.sh") }

// rig runs rig.sh on the shared engine, even while a test has pointed
// DOCKER_HOST elsewhere.
func rig(args ...string) error {
	cmd := exec.Command("bash", append([]string{RigScript()}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+SharedDockerHost)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rig.sh %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}
