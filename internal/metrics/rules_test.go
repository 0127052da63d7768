package metrics_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// TestExampleRules: the docs' alert rules are valid (promtool check rules)
// and fire when they should (promtool test rules over series that cross
// the thresholds, and ones that do not).
func TestExampleRules(t *testing.T) {
	_, promtool := testrig.RequirePrometheus(t)
	dir := filepath.Join(testrig.RepoRoot(), "docs", "prometheus")
	for _, args := range [][]string{{"check", "rules", "benchd-rules.yml"}, {"test", "rules", "benchd-rules.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
