package main_test

// benchctl's connection flags: --host (and $BENCHD_HOST) through
// client.Dial, --socket, the TLS flags.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// benchctlEnv runs benchctl with extra environment and no --socket.
func benchctlEnv(t *testing.T, env []string, args ...string) (out string, code int) {
	t.Helper()
	cmd := exec.Command(testrig.Binary(t, "benchctl"), args...)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if ee := (*exec.ExitError)(nil); err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return string(b), cmd.ProcessState.ExitCode()
}

// fakeSSH puts an ssh first in PATH that records its arguments in the
// returned file and then runs then (a shell command line), and returns the
// PATH setting and that file.
func fakeSSH(t *testing.T, then string) (pathEnv, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argsFile + "\n" + then + "\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return "PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), argsFile
}

func checkSSHArgs(t *testing.T, argsFile, want string) {
	t.Helper()
	if b, err := os.ReadFile(argsFile); err != nil || string(b) != want {
		t.Errorf("ssh ran with %q (%v), want %q", b, err, want)
	}
}

// TestConnectionFlags needs no daemon: what benchctl refuses before it
// connects (exit 2), and that ssh:// runs the local ssh.
func TestConnectionFlags(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"--host", "benchd.sock", "health"}, "want unix:///ABS/PATH"},
		{nil, []string{"--host", "http://gpu:80", "health"}, `unknown scheme "http"`},
		{[]string{"BENCHD_HOST=ftp://gpu"}, []string{"health"}, `unknown scheme "ftp"`},
		{nil, []string{"--host", "ssh://gpu", "--socket", "/tmp/b.sock", "health"}, "exclude each other"},
		{nil, []string{"--host", "tcp://127.0.0.1:1", "health"}, "needs WithTLS"},
		{nil, []string{"--host", "tcp://127.0.0.1:1", "--tls-cert", missing, "health"}, "go together"},
		{nil, []string{"--host", "tcp://127.0.0.1:1", "--tls-cert", missing, "--tls-key", missing, "--tls-ca", missing, "health"}, "missing.pem"},
	} {
		if out, code := benchctlEnv(t, tc.env, tc.args...); code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%v benchctl %q: exit %d, want 2 and %q:\n%s", tc.env, tc.args, code, tc.want, out)
		}
	}

	// An ssh that exits at once: benchctl ran it as dial-stdio's transport,
	// then reports benchd unreachable.
	path, argsFile := fakeSSH(t, "exit 255")
	if out, code := benchctlEnv(t, []string{path, "BENCHD_HOST=ssh://ai-worker@gpu-host:2222"}, "health"); code != 78 || !strings.Contains(out, "Unavailable") {
		t.Errorf("health through a failing ssh: exit %d\n%s", code, out)
	}
	checkSSHArgs(t, argsFile, "-T\n-p\n2222\n--\nai-worker@gpu-host\nbenchd\ndial-stdio\n")
}

// TestHostSSH reaches a real benchd through --host ssh://: the fake ssh
// runs `benchd dial-stdio` locally, as sshd would on the GPU host.
func TestHostSSH(t *testing.T) {
	d := startDaemon(t)
	path, argsFile := fakeSSH(t, "exec "+testrig.Binary(t, "benchd")+" dial-stdio --socket "+d.Socket)
	out, code := benchctlEnv(t, []string{path}, "--host", "ssh://gpu-alias", "vram", "-o", "json")
	if code != 0 || !strings.Contains(out, `"gpus"`) {
		t.Fatalf("vram -o json over ssh://: exit %d\n%s\ndaemon log:\n%s", code, out, d.Log())
	}
	checkSSHArgs(t, argsFile, "-T\n--\ngpu-alias\nbenchd\ndial-stdio\n")
	if out, code := benchctlEnv(t, []string{path, "BENCHD_HOST=ssh://gpu-alias"}, "history"); code != 0 {
		t.Errorf("history over $BENCHD_HOST=ssh://: exit %d\n%s", code, out)
	}
}
