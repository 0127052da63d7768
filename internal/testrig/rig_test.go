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
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+testrig.SharedDockerHost)
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
	// The default name is the rig's own. These recreate and remove the
	// shared rig container; the last step brings it back for the tests
	// that follow (test packages run one at a time, -p 1).
	t.Cleanup(func() {
		if out, err := rig("ensure"); err != nil {
			t.Errorf("rig.sh ensure: %v\n%s", err, out)
		}
	})
	for _, args := range [][]string{{"ensure"}, {"up"}, {"down"}, {"ensure"}} {
		if out, err := rig(args...); err != nil {
			t.Fatalf("rig.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := run("script/demo.sh", exec.Command("bash", "script/demo.sh")); err != nil {
		t.Fatalf("script/demo.sh: %v\n%s", err, out)
	}
}
