package vram

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestFixturesMatchShared checks that the repository's copy of the fixtures
// is byte-identical to the shared originals, where those exist (a
// developer's checkout has them next to it; a bare clone may not).
func TestFixturesMatchShared(t *testing.T) {
	const shared = "../../../shared/fixtures"
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no shared fixtures next to this checkout (%v); the copy in %s is used as is", err, fixtureDir)
	}
	n := 0
	err := filepath.WalkDir(shared, func(path string, d fs.DirEntry, err error) error {
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
}
