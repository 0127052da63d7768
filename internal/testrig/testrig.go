// Package testrig starts the real parts integration tests need — the ollama
// container of testdata/rig, a benchd daemon process, the deployment of nix/
// (a login account, benchd started as the rendered unit says, Debian's sshd
// with the rendered Match block) — in one place, so test files do not copy
// setup. Under CI=true a missing dependency fails the test; elsewhere it
// skips, so `go test ./...` stays usable on a laptop.
//
// One file per job:
//
//	testrig.go  Require, RepoRoot, the TB interface
//	cleanup.go  Cleaner, Cleanups (teardown for programs that are not tests)
//	rig.go      the rig (testdata/rig/rig.sh): per ollama version, its image and shared container
//	engine.go   the docker CLI against one engine (Engine)
//	dockerd.go  a private dockerd of a test's own (Dockerd)
//	proc.go     polling; a process's memory, descriptors, socket peer
//	tools.go    building this module's commands, grpcurl, fixtures
//	daemon.go   a benchd process (StartDaemon)
//	notify.go   its readiness: the service manager's end of sd_notify
//	deploy.go   rendering nix/'s templates as nix/render.nix does
//	unit.go     parsing the rendered systemd unit
//	service.go  starting benchd as the unit says (LaunchService)
//	account.go  login accounts like the NixOS module's
//	sshd.go     Debian's sshd with the rendered Match block, ssh clients,
//	            key pairs and authorized_keys files
//
// Every setup function has an error-returning core taking a Cleaner, which
// the performance harness (cmd/benchperf) calls with a Cleanups, and a
// wrapper taking a TB for tests. The package does not import testing.
package testrig

import (
	"os"
	"path/filepath"
	"runtime"
)

// Model is the tiny model the rig creates in ollama.
const Model = "tiny"

// Require skips the test, or fails it under CI=true, when cond is false.
func Require(t TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true", what)
	}
	t.Skipf("%s not available; skipping (CI=true makes this a failure)", what)
}

// must is v, or the end of the test if err is not nil: the TB wrappers of
// the error-returning cores.
func must[T any](t TB, v T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// TB is the part of testing.TB the helpers here use; *testing.T, *testing.B
// and testing.TB satisfy it. testrig does not import package testing, so
// that a program built on it (cmd/benchperf) does not link it: programs use
// the error-returning cores of the helpers with a Cleanups.
type TB interface {
	Cleaner
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	TempDir() string
}
