package testrig_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// The performance harness is a program built on testrig; package testing
// (and its flags) must not be linked into it.
func TestPerfHarnessDoesNotLinkTesting(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/benchperf")
	cmd.Dir = testrig.RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/benchperf: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/benchd/benchd/internal/testrig") {
		t.Fatalf("cmd/benchperf does not use testrig any more; this test guards nothing:\n%s", out)
	}
	if slices.Contains(deps, "testing") {
		t.Errorf("cmd/benchperf links package testing")
	}
}
