package testrig

// The rig: testdata/rig/rig.sh's ollama images, one per version in
// testdata/rig/versions, and the containers the test packages share.

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// RigVersionEnv names the ollama version a test process runs against (one
// of testdata/rig/versions; unset: the first). rig.sh reads it too.
const RigVersionEnv = "BENCHD_RIG_OLLAMA"

// RigImageEnv and RigContainerEnv replace that version's image and shared
// container names: a checkout whose rig differs from the one other
// checkouts on the same engine use (another rig hash) runs its tests on a
// rig of its own instead of rebuilding theirs under them.
const (
	RigImageEnv     = "BENCHD_RIG_IMAGE"
	RigContainerEnv = "BENCHD_RIG_CONTAINER"
)

// Rig is one ollama version's rig: the image rig.sh builds for it and the
// container the test packages share.
type Rig struct {
	Version   string
	Container string
	Image     string
}

// The rig this process's tests run against, fixed when the process starts
// so that every test and helper of a run names the same container. They
// are variables, not functions, because they were constants before the
// rig had versions and other code names them that way.
var (
	// Current is this process's rig.
	Current = selectRig()
	// OllamaVersion is the version of ollama the rig runs.
	OllamaVersion = Current.Version
	// Container is the name of the rig's shared ollama container, its own
	// so that a host's own ollama container is never touched.
	Container = Current.Container
	// RigImage is the image testdata/rig builds: ollama and the tiny model.
	RigImage = Current.Image
)

// selectRig is the rig of RigVersionEnv, else of the default version. A
// version list that cannot be read leaves the default empty: rig.sh then
// says what is wrong as soon as a test asks for the rig.
func selectRig() Rig {
	v := os.Getenv(RigVersionEnv)
	if v == "" {
		v = firstVersion()
	}
	r := RigFor(v)
	if img := os.Getenv(RigImageEnv); img != "" {
		r.Image = img
	}
	if name := os.Getenv(RigContainerEnv); name != "" {
		r.Container = name
	}
	return r
}

// firstVersion is the default version, "" when the list cannot be read.
func firstVersion() string {
	vs, err := Versions()
	if err != nil {
		return ""
	}
	return vs[0]
}

// Versions are the ollama versions the rig builds (testdata/rig/versions:
// one a line, # comments), the default first.
func Versions() ([]string, error) {
	path := filepath.Join(RepoRoot(), "testdata", "rig", "versions")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the rig's versions: %w", err)
	}
	var vs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if f := strings.Fields(line); len(f) > 0 {
			vs = append(vs, f[0])
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("%s lists no version", path)
	}
	return vs, nil
}

// RigFor is version's rig. Each version has a container of its own, so a
// test run against one never replaces another's; the default version's is
// plain benchd-rig (rig.sh's DEFAULT_NAME, TestRigNamesMatchRigScript).
func RigFor(version string) Rig {
	name := "benchd-rig"
	if vs, err := Versions(); err == nil && version != vs[0] {
		name += "-" + version
	}
	return Rig{Version: version, Container: name, Image: "benchd-test/ollama:" + version}
}

var (
	rigMu              sync.Mutex
	ensured, imageMade = map[string]error{}, map[string]error{}
)

// once runs f the first time key is asked for in this process and returns
// its error every time.
func once(done map[string]error, key string, f func() error) error {
	rigMu.Lock()
	defer rigMu.Unlock()
	if err, ok := done[key]; ok {
		return err
	}
	err := f()
	done[key] = err
	return err
}

// Ollama makes sure the rig's ollama container runs with the tiny model and
// returns the container's name. The container is shared by the tests of one
// package run; tests that break it must call RestartOllama.
func Ollama(t TB) string {
	t.Helper()
	return OllamaOf(t, Current)
}

// OllamaOf is Ollama for r, a version's rig that need not be this
// process's (the peer comparison needs one that ships ollama's benchmark).
func OllamaOf(t TB, r Rig) string {
	t.Helper()
	RequireDocker(t)
	if err := r.Ensure(); err != nil {
		t.Fatal(err)
	}
	return r.Container
}

// EnsureOllama is Ollama's core.
func EnsureOllama() error { return Current.Ensure() }

// Ensure runs `rig.sh ensure` once per process (it builds the image if
// needed, and keeps a container that already runs this rig).
func (r Rig) Ensure() error {
	return once(ensured, r.Version, func() error {
		if err := r.script("ensure", r.Container); err != nil {
			return fmt.Errorf("start ollama %s rig: %w", r.Version, err)
		}
		return nil
	})
}

// OllamaNamed starts a rig container of the test's own, name, with env
// (OLLAMA_VAR=VALUE, e.g. OLLAMA_NUM_PARALLEL=4) in ollama's environment
// (`rig.sh up NAME ENV...`: a container of that name is replaced only if
// rig.sh made it) and removes it when the test ends. Not the shared
// Container: tests that need other settings of ollama use their own. The
// name it returns carries what sets Container apart from the default
// version's (e.g. "-0.17.4"), so that runs against two versions on one
// engine do not replace each other's.
func OllamaNamed(t TB, name string, env ...string) string {
	t.Helper()
	RequireDocker(t)
	name += strings.TrimPrefix(Container, RigFor(firstVersion()).Container)
	if name == Container {
		t.Fatalf("OllamaNamed(%q): the shared container is Ollama's", name)
	}
	t.Cleanup(func() {
		if err := Current.script("down", name); err != nil {
			t.Errorf("remove rig container %s: %v", name, err)
		}
	})
	if err := Current.script(append([]string{"up", name}, env...)...); err != nil {
		t.Fatalf("start rig container %s: %v", name, err)
	}
	return name
}

// RestartOllama brings the shared container back after a test stopped it.
func RestartOllama(t TB) {
	t.Helper()
	if err := Current.script("up", Container); err != nil {
		t.Fatalf("restart ollama rig: %v", err)
	}
}

// EnsureRigImage builds RigImage on the shared engine if needed, once per
// process (`rig.sh build`: cached, no container is touched), for tests that
// run containers of their own from it.
func EnsureRigImage(t TB) {
	t.Helper()
	RequireDocker(t)
	if err := once(imageMade, Current.Version, func() error { return Current.script("build") }); err != nil {
		t.Fatal(err)
	}
}

// RigScript is testdata/rig/rig.sh.
func RigScript() string { return filepath.Join(RepoRoot(), "testdata", "rig", "rig.sh") }

// RigEnv is the environment rig.sh runs with for r: this process's, on the
// shared engine even while a test has pointed DOCKER_HOST elsewhere, with
// r's version and image.
func (r Rig) RigEnv() []string {
	return append(os.Environ(), "DOCKER_HOST="+SharedDockerHost, RigVersionEnv+"="+r.Version, RigImageEnv+"="+r.Image)
}

// script runs rig.sh for r.
func (r Rig) script(args ...string) error {
	cmd := exec.Command("bash", append([]string{RigScript()}, args...)...)
	cmd.Env = r.RigEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("rig.sh %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}
