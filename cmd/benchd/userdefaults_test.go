package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// TestUserDefaults runs benchd as an unprivileged user (nobody) outside
// systemd with no --socket or --store: it serves on
// $XDG_RUNTIME_DIR/benchd/benchd.sock and keeps its history in
// $XDG_STATE_HOME/benchd/history.db. A second benchd on the same store is
// refused with the first one's pid and what to do, not bbolt's "timeout".
func TestUserDefaults(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (runs benchd as nobody)")
	_, err := exec.LookPath("setpriv")
	testrig.Require(t, err == nil, "setpriv (util-linux)")
	const nobody = 65534
	bin := testrig.PackageBinary(t)
	home, err := testrig.ReadableDir(t, "", "bd-user-")
	if err != nil {
		t.Fatal(err)
	}
	runtime, state := filepath.Join(home, "run"), filepath.Join(home, "state")
	for _, d := range []string{runtime, state} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + home, "XDG_RUNTIME_DIR=" + runtime, "XDG_STATE_HOME=" + state}
	argv := []string{"setpriv", "--reuid=" + strconv.Itoa(nobody), "--regid=" + strconv.Itoa(nobody), "--clear-groups", "--",
		// Plain HTTP to a port nothing listens on: this daemon needs no
		// Docker, only its own paths.
		bin, "--ollama", "http://127.0.0.1:9", "--vram-source", "none"}

	d := testrig.StartCommand(t, env, argv...)
	sock := filepath.Join(runtime, "benchd", "benchd.sock")
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("no socket at %s: %v\n%s", sock, err, d.Log())
	}
	store := filepath.Join(state, "benchd", "history.db")
	if _, err := os.Stat(store); err != nil {
		t.Fatalf("no store at %s: %v", store, err)
	}

	second := exec.Command(argv[0], argv[1:]...)
	second.Env = env
	out, err := second.CombinedOutput()
	want := "is held by process " + strconv.Itoa(d.PID()) + " (" + bin
	if err == nil || !strings.Contains(string(out), store) || !strings.Contains(string(out), want) {
		t.Fatalf("second benchd on the same store: %v\n%s\nwant it to name %s and %q", err, out, store, want)
	}
	t.Logf("second benchd on the same store:\n%s", out)
}
