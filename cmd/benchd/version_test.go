package main_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// TestVersionEverywhere: the version `benchd --version` prints is the one
// the health check's header and each benchmark's MachineInfo carry, and a
// build from this checkout has one (not "(devel)" alone: the module's
// pseudo-version names the commit).
func TestVersionEverywhere(t *testing.T) {
	bin := testrig.Binary(t, "benchd")
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("benchd --version: %v\n%s", err, out)
	}
	v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "benchd ")
	if !ok || v == "" || strings.HasPrefix(v, "(devel)") || strings.ContainsAny(v, " \n") {
		t.Fatalf("benchd --version printed %q, want \"benchd VERSION\" with a version from the checkout", out)
	}
	t.Logf("benchd --version: %s", out)

	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t), "--vram-source", "none")
	c, err := client.Dial(context.Background(), "unix://"+d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := c.HealthInfo(ctx)
	if err != nil || h.Version != v {
		t.Errorf("health: %+v, %v; want version %q", h, err, v)
	}
	res, err := c.RunBenchmark(ctx, client.BenchmarkRequest{Model: testrig.Model, Repetitions: 1, MaxTokens: 4}, nil)
	if err != nil {
		t.Fatalf("RunBenchmark: %v\n%s", err, d.Log())
	}
	if got := res.Started.Machine.BenchdVersion; got != v {
		t.Errorf("MachineInfo.benchd_version %q, want %q", got, v)
	}
}

// TestStampedVersion builds benchd as nix/package.nix does, from a tree
// without VCS information and the version stamped with -X: --version shows
// the stamp.
func TestStampedVersion(t *testing.T) {
	dir := t.TempDir()
	const pkg = "github.com/benchd/benchd/internal/buildinfo"
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", dir+"/",
		"-ldflags", "-X "+pkg+".version=v1.2.3 -X "+pkg+".revision=0123abcd", "./cmd/benchd")
	cmd.Dir = testrig.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "benchd"), "--version").CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "benchd v1.2.3+0123abcd" {
		t.Fatalf("stamped benchd --version: %q, %v; want \"benchd v1.2.3+0123abcd\"", got, err)
	}
}
