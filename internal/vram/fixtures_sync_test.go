package vram

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// sharedFixtures is the team's shared fixtures folder, beside the checkout:
// CI clones the repository into a folder with a copy of shared/ beside it,
// as a developer's checkout (and its worktrees) have it
// (shared/fixtures/telemetry/README.md). go test runs in the package's
// folder, two below the checkout's top.
const sharedFixtures = "../../../shared/fixtures"

// TestFixturesMatchShared checks that the repository's copy of the fixtures
// is byte-identical to the shared originals. CI has them beside the clone,
// so under CI=true their absence is a failure; a bare clone elsewhere skips
// and uses the copy as is.
func TestFixturesMatchShared(t *testing.T) {
	shared := sharedFixtures
	_, err := os.Stat(filepath.Join(shared, "README.md"))
	abs, _ := filepath.Abs(shared)
	testrig.Require(t, err == nil, fmt.Sprintf("the shared fixtures beside this checkout (%s: %v)", abs, err))
	n := 0
	err = filepath.WalkDir(shared, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == filepath.Join(shared, "telemetry") {
			// Its README forbids copies: tests read it from ../shared.
			return fs.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(shared, path)
		want, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(fixtureDir, rel))
		if err != nil {
			t.Errorf("fixture %s missing from %s: %v", rel, fixtureDir, err)
			return nil
		}
		if !bytes.Equal(got, want) {
			t.Errorf("fixture %s differs from the shared original", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no shared fixtures found")
	}
	t.Logf("%d fixtures in %s match %s", n, fixtureDir, abs)
}
