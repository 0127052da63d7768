package testrig_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// TestRigLeavesForeignContainersAlone: nothing the project runs may
// remove, stop, restart or exec into a container it did not create. A container named ollama that the rig did not make survives
// the rig's commands, with the rig's default name and with its own name,
// and `make demo`'s script, with the same id, state and times. On a host
// that runs its own ollama, that one is watched too, but only the test's
// own foreign container is ever named in a command.
func TestRigLeavesForeignContainersAlone(t *testing.T) {
	testrig.EnsureRigImage(t)
	eng := testrig.Engine{}
	// The containers whose id, state and times must not change.
	var watched []string
	foreign := "ollama"
	if _, err := eng.Run("container", "inspect", foreign); err == nil {
		// This host has its own ollama (or an older rig's). It is watched,
		// but never named in a rig command: if a regression made rig.sh
		// act on it, this test would be the thing that destroyed it. The
		// named commands go to a foreign container of the test's own.
		watched = append(watched, foreign)
		foreign = fmt.Sprintf("benchd-test-foreign-%d", os.Getpid())
		t.Logf("the host has a container named ollama: watching it, and testing refusals on %s", foreign)
	}
	// Made from the rig's image, so it carries the image's labels: only the
	// owner label rig.sh puts on its own containers may count.
	// benchd.test=foreign lets only this cleanup find it.
	id := strings.TrimSpace(eng.Docker(t, "create", "--name", foreign, "--label", "benchd.test=foreign",
		"--network", "none", testrig.RigImage, "ollama", "serve"))
	t.Cleanup(func() {
		if out, err := eng.Run("container", "inspect", "-f", `{{ index .Config.Labels "benchd.test" }}`, id); err == nil && strings.TrimSpace(out) == "foreign" {
			eng.Docker(t, "rm", "-f", id)
		}
	})
	watched = append(watched, foreign)
	state := func() string {
		t.Helper()
		return strings.TrimSpace(eng.Docker(t, append([]string{"container", "inspect", "-f",
			"{{.Name}} {{.Id}} created={{.Created}} status={{.State.Status}} started={{.State.StartedAt}} finished={{.State.FinishedAt}}"}, watched...)...))
	}
	before := state()
	t.Logf("watched:\n%s", before)
	run := func(what string, cmd *exec.Cmd) (string, error) {
		t.Helper()
		cmd.Dir = testrig.RepoRoot()
		cmd.Env = testrig.Current.RigEnv()
		out, err := cmd.CombinedOutput()
		if after := state(); after != before {
			t.Fatalf("%s changed a container it did not create:\nbefore %s\nafter  %s\n%s", what, before, after, out)
		}
		last := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		t.Logf("%-32s exit %-3d %-75.75s  watched containers unchanged", what, cmd.ProcessState.ExitCode(), last)
		return string(out), err
	}
	rig := func(args ...string) (string, error) {
		t.Helper()
		return run("rig.sh "+strings.Join(args, " "), exec.Command("bash", append([]string{testrig.RigScript()}, args...)...))
	}

	// Named: every command refuses, saying why.
	for _, cmd := range []string{"ensure", "up", "down", "bridge"} {
		out, err := rig(cmd, foreign)
		if err == nil || !strings.Contains(out, "was not created by rig.sh") {
			t.Errorf("rig.sh %s %s: %v, want a refusal naming the reason:\n%s", cmd, foreign, err, out)
		}
	}
	// The shared rig container is the rig's own (rig.sh's default name
	// unless BENCHD_RIG_CONTAINER chose another). These recreate and
	// remove it; the last step brings it back for the tests that follow
	// (test packages run one at a time, -p 1).
	own := testrig.Container
	t.Cleanup(func() {
		if out, err := rig("ensure", own); err != nil {
			t.Errorf("rig.sh ensure: %v\n%s", err, out)
		}
	})
	for _, args := range [][]string{{"ensure", own}, {"up", own}, {"down", own}, {"ensure", own}} {
		if out, err := rig(args...); err != nil {
			t.Fatalf("rig.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := run("script/demo.sh", exec.Command("bash", "script/demo.sh")); err != nil {
		t.Fatalf("script/demo.sh: %v\n%s", err, out)
	}
}

// TestRigNamesMatchRigScript: rig.sh and testrig name each version's image
// and shared container the same way (rig.sh's own default name is what a
// person typing `rig.sh up` gets; the tests pass testrig's).
func TestRigNamesMatchRigScript(t *testing.T) {
	vs, err := testrig.Versions()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 2 {
		t.Errorf("the rig builds %v; issue 17 asks for the default and a current ollama", vs)
	}
	containers := map[string]string{}
	for _, v := range vs {
		r := testrig.RigFor(v)
		cmd := exec.Command("bash", testrig.RigScript(), "name")
		cmd.Env = r.RigEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rig.sh name for %s: %v\n%s", v, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != r.Container {
			t.Errorf("ollama %s: rig.sh names the container %q, testrig %q", v, got, r.Container)
		}
		if prev, ok := containers[r.Container]; ok {
			t.Errorf("ollama %s and %s share the container name %s", prev, v, r.Container)
		}
		containers[r.Container] = v
	}
	if got := testrig.RigFor(vs[0]).Container; got != "benchd-rig" {
		t.Errorf("the default version's container is %q; other checkouts and the demo share benchd-rig", got)
	}
	// A version not in the list is refused, saying where the list is.
	cmd := exec.Command("bash", testrig.RigScript(), "name")
	cmd.Env = testrig.RigFor("0.0.0-absent").RigEnv()
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "testdata/rig/versions") {
		t.Errorf("rig.sh name for an unlisted version: %v, want a refusal naming testdata/rig/versions:\n%s", err, out)
	}
}
