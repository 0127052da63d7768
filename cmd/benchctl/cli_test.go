package main

// The command line without a daemon: what benchctl parses, refuses and
// generates before it would reach benchd.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/buildinfo"
)

// runCLI runs benchctl in this process with no terminal and no signals.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &env{stdin: strings.NewReader(""), stdout: &o, stderr: &e})
	return o.String(), e.String(), code
}

func TestVersion(t *testing.T) {
	out, errOut, code := runCLI(t, "--version")
	if want := "benchctl " + buildinfo.Version() + "\n"; code != 0 || out != want {
		t.Errorf("--version: exit %d, %q (stderr %q); want %q", code, out, errOut, want)
	}
}

func TestHelp(t *testing.T) {
	out, _, code := runCLI(t, "--help")
	for _, want := range []string{"64+CODE", "NOT_FOUND 69", "UNAVAILABLE 78", "130 interrupted", "run", "history", "completion"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--help: exit %d, lacks %q:\n%s", code, want, out)
		}
	}
	// Subcommand help: its own flags and the formats it accepts.
	out, _, code = runCLI(t, "compare", "--help")
	if code != 0 || !strings.Contains(out, "--alpha") || !strings.Contains(out, "Output (-o): table, json, md.") {
		t.Errorf("compare --help: exit %d\n%s", code, out)
	}
}

// TestFlagsAnywhere: global flags after the subcommand, command flags
// before its argument. The target reaches Dial, which connects on the
// first call: nothing listens there, so UNAVAILABLE (64+14) names it.
func TestFlagsAnywhere(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "x.sock")
	for _, args := range [][]string{
		{"run", "tiny", "--reps", "5", "--host", "unix://" + sock},
		{"run", "--reps", "5", "tiny", "--host", "unix://" + sock, "--on-interrupt", "detach"},
		{"--host", "unix://" + sock, "run", "tiny", "--reps", "5"},
		{"run", "tiny", "--socket", sock, "--reps=5", "-o", "csv"},
		{"-o", "jsonl", "history", "--socket", sock, "--limit", "3"},
	} {
		_, errOut, code := runCLI(t, args...)
		if code != 78 || !strings.Contains(errOut, "benchctl: Unavailable: ") || !strings.Contains(errOut, sock) {
			t.Errorf("%q: exit %d, want 78 (UNAVAILABLE at %s); stderr %q", args, code, sock, errOut)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "x.sock")
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"run"},
		{"run", "a", "b"},
		{"run", "tiny", "--reps", "many"},
		{"run", "tiny", "-o", "yaml"},
		{"run", "tiny", "--format", "json", "-o", "csv"},
		{"watch"},
		{"history", "-o", "md", "--json"}, // history never had --json
		{"compare", "a", "b", "-o", "benchstat"},
		{"cancel", "-o", "csv", "20260102T030405Z-0123abcd"},
		{"chart", "x", "-o", "x.png"},
		{"vram", "-o", "md"},
		{"health", "extra"},
		{"certs"},
		{"certs", "init"},
		{"man"},
		{"completion", "tcsh"},
		{"--host", "relative.sock", "health"},
		{"--host", "unix://" + sock, "--socket", sock, "health"},
	} {
		if out, errOut, code := runCLI(t, args...); code != 2 || out != "" || !strings.Contains(errOut, "benchctl: ") {
			t.Errorf("%q: exit %d, want 2 and nothing on stdout; stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestJSONErrorRecord: with -o json or jsonl a failure ends stdout with
// one record; a usage error's code is INVALID_ARGUMENT.
func TestJSONErrorRecord(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "x.sock")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"history", "--limit", "-1", "-o", "json"}, 2, "INVALID_ARGUMENT"},
		{[]string{"compare", "-o", "jsonl", "a", "b"}, 2, "INVALID_ARGUMENT"},
		{[]string{"--socket", sock, "vram", "-o", "jsonl"}, 78, "UNAVAILABLE"},
		{[]string{"--socket", sock, "show", "-o", "json", "20260102T030405Z-0123abcd"}, 78, "UNAVAILABLE"},
	} {
		out, errOut, code := runCLI(t, tc.args...)
		var rec struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &rec); err != nil || code != tc.code || rec.Error.Code != tc.want ||
			rec.Error.Message == "" || strings.Count(out, "\n") != 1 || errOut == "" {
			t.Errorf("%q: exit %d, stdout %q (%v), stderr %q; want exit %d and one %s record", tc.args, code, out, err, errOut, tc.code, tc.want)
		}
	}
	// Without -o json, stdout stays empty.
	if out, _, code := runCLI(t, "history", "--limit", "-1"); code != 2 || out != "" {
		t.Errorf("history --limit -1: exit %d, stdout %q", code, out)
	}
}

// TestCompletionScripts: the scripts generate, and without dialing: an
// unusable --host does not matter.
func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_benchctl",
		"zsh":  "#compdef benchctl",
		"fish": "complete -c benchctl",
	} {
		out, errOut, code := runCLI(t, "--host", "bogus", "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, lacks %q; stderr %q", shell, code, want, errOut)
		}
	}
	// The -o values a command accepts complete.
	out, _, code := runCLI(t, "__complete", "compare", "-o", "")
	if code != 0 || !strings.Contains(out, "table\njson\nmd\n") {
		t.Errorf("__complete compare -o: exit %d\n%s", code, out)
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	if out, errOut, code := runCLI(t, "--host", "bogus", "man", dir); code != 0 {
		t.Fatalf("man: exit %d\n%s%s", code, out, errOut)
	}
	for page, want := range map[string]string{
		"benchctl.1":            "64+CODE",
		"benchctl-run.1":        "--reps",
		"benchctl-history.1":    "--page-size",
		"benchctl-certs-init.1": "--server-san",
	} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.HasPrefix(string(b), ".nh\n.TH \"BENCHCTL\" \"1\"") || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, want a man page mentioning %q:\n%.300s", page, err, want, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "benchctl-man.1")); err == nil {
		t.Error("the hidden man command has a page")
	}
}
