package hermes_test

// The Hermes integration end to end, through the shipped deployment: a real
// ai-worker account, benchd started from the shipped unit's lines as that
// account (testrig.StartService), and Debian's sshd with the shipped Match
// block and key options (testrig.StartSSHD). Against that:
//
//   - the Python client, pip-installed into a venv (pyclient.Install), runs
//     client/python/example.py: a benchmark and a VRAM sample through
//     `ssh -N -L`;
//   - every ```bash block of the skill's SKILL.md that starts with a
//     `# test:` line is run as written, so the skill cannot drift from the
//     product (see skillSubstitutions for the few words that stand for the
//     user's setup);
//   - run_benchmark.sh waits and retries while another benchmark runs;
//   - the scripts refuse a local socket, or its directory, that is not the
//     user's alone (another account's, or writable by others) before
//     anything connects to it.
//
// SKILL.md convention: a ```bash block's first line is either
//
//	# test: NAME [expect-exit=N] [expect-out=TEXT] [expect-err=TEXT]
//
// (run it; by default it must exit 0; TEXT, without spaces, must appear in
// its stdout / stderr), or `# not tested: REASON`. A bash block with neither
// fails the test. The blocks run in document order, each in its own
// `bash -e -o pipefail`, sharing one HERMES_HOME.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/benchd/benchd/internal/e2e/pyclient"
	"github.com/benchd/benchd/internal/testrig"
)

const agentUser = "ai-worker"

func hermesDir() string { return filepath.Join(testrig.RepoRoot(), "client", "hermes") }
func skillDir() string  { return filepath.Join(hermesDir(), "benchd") }

// deployment is the host side every subtest talks to.
type deployment struct {
	base   string
	acct   *testrig.Account
	cfg    testrig.DeployConfig
	daemon *testrig.Daemon
	sshd   *testrig.SSHD
	key    string
	// sshDir holds an `ssh` wrapper that adds the harness's connection
	// options (port, pinned host key, no user config), so that the skill's
	// ssh command lines run unchanged against the test's sshd.
	sshDir  string
	binDir  string // benchctl
	python  string // a venv's python with the Python client installed
	sshPath string
}

func TestHermesThroughSSHTunnel(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (creates the ai-worker account, runs sshd)")
	for tool, pkg := range map[string]string{"ssh": "openssh-client", "ssh-keygen": "openssh-client", "sshd": "openssh-server",
		"setpriv": "util-linux", "unshare": "util-linux", "useradd": "passwd", "docker": "docker.io", "bash": "bash", "jq": "jq"} {
		requireTool(t, tool, pkg)
	}
	venv := pyclient.Install(t)
	testrig.Ollama(t)
	d := deploy(t)
	d.python = venv.Python

	t.Run("python client", d.testPython)
	t.Run("SKILL.md commands", d.testSkill)
	t.Run("run_benchmark.sh waits while another benchmark runs", d.testBusy)
	t.Run("the scripts refuse a local socket that is not the user's alone", d.testUnsafeSocket)
}

func requireTool(t *testing.T, tool, pkg string) {
	t.Helper()
	_, err := exec.LookPath(tool)
	if err != nil && tool == "sshd" {
		_, err = os.Stat("/usr/sbin/sshd")
	}
	testrig.Require(t, err == nil, fmt.Sprintf("%s (Debian: %s)", tool, pkg))
}

func deploy(t *testing.T) *deployment {
	d := &deployment{}
	var err error
	// Short and world-traversable: unix socket paths are limited, and the
	// service user must reach its socket directory and the fixture.
	if d.base, err = os.MkdirTemp("", "bd-hm-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d.base) })
	if err := os.Chmod(d.base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := testrig.CopyTree(testrig.SysfsFixture(), filepath.Join(d.base, "sysfs")); err != nil {
		t.Fatal(err)
	}
	keys := testrig.AuthorizedKeysDir(t)
	d.cfg = testrig.DeployConfig{
		Benchd:             testrig.PackageBinary(t),
		Socket:             filepath.Join(d.base, "benchd", "benchd.sock"),
		Store:              filepath.Join(d.base, "state", "benchd", "history.db"),
		Container:          testrig.Container,
		VRAMSource:         "sysfs",
		ExtraArgs:          []string{"--sysfs-root", filepath.Join(d.base, "sysfs")},
		User:               agentUser,
		ForceCommand:       testrig.NoLogin(),
		AuthorizedKeysFile: keys + "/%u",
	}
	rendered, err := testrig.RenderDeployment(d.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The service account benchd runs as and the agent's login, a member
	// of its group, as the NixOS module makes them.
	d.acct = testrig.CreateDeployAccounts(t, rendered).Agent
	d.daemon = testrig.StartService(t, rendered.Unit, testrig.ServiceOptions{})
	var pub string
	d.key, pub = testrig.GenerateKey(t, d.base, "agent")
	testrig.WriteAuthorizedKeys(t, keys, agentUser, rendered.KeyOptions+" "+pub)
	d.sshd = testrig.StartSSHD(t, testrig.SSHDConfig{Fragment: rendered.SSHDConfig})

	if d.sshPath, err = exec.LookPath("ssh"); err != nil {
		t.Fatal(err)
	}
	d.binDir = filepath.Dir(testrig.Binary(t, "benchctl"))
	d.sshDir = filepath.Join(d.base, "sshwrap")
	if err := os.Mkdir(d.sshDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The harness's options without its destination and without
	// ControlMaster=no / ControlPath=none (the skill's tunnel is a control
	// master).
	args := d.sshd.SSH(d.key, agentUser, nil, nil).Args[1:]
	args = args[:len(args)-1]
	var kept []string
	for i := 0; i < len(args); i++ {
		if args[i] == "-o" && i+1 < len(args) && (strings.HasPrefix(args[i+1], "ControlMaster=") || strings.HasPrefix(args[i+1], "ControlPath=")) {
			i++
			continue
		}
		kept = append(kept, shellQuote(args[i]))
	}
	wrapper := fmt.Sprintf("#!/bin/sh\n# ssh to the test's sshd (written by internal/e2e/hermes/hermes_test.go)\nexec %s %s \"$@\"\n",
		shellQuote(d.sshPath), strings.Join(kept, " "))
	if err := os.WriteFile(filepath.Join(d.sshDir, "ssh"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// env is the environment the skill's commands and scripts run in: the ssh
// wrapper and benchctl first on PATH, a fresh HERMES_HOME, a fresh
// XDG_RUNTIME_DIR (runtimeDir: 0700, as a login's), no BENCHD_*.
func (d *deployment) env(t *testing.T, tmp string) []string {
	t.Helper()
	if err := os.Mkdir(runtimeDir(tmp), 0o700); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BENCHD_") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HERMES_") ||
			strings.HasPrefix(kv, "TMPDIR=") || strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+d.sshDir+":"+d.binDir+":"+os.Getenv("PATH"),
		"HERMES_HOME="+filepath.Join(tmp, "hermes"),
		"TMPDIR="+tmp,
		"XDG_RUNTIME_DIR="+runtimeDir(tmp),
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// runtimeDir is env's XDG_RUNTIME_DIR.
func runtimeDir(tmp string) string { return filepath.Join(tmp, "xdg") }

// skillSocket is where the scripts put the local socket by default under
// env: $XDG_RUNTIME_DIR/benchd-agent/benchd.sock (not benchd/, where a
// benchd the user runs listens).
func skillSocket(tmp string) string {
	return filepath.Join(runtimeDir(tmp), "benchd-agent", "benchd.sock")
}

// forward runs `ssh -N -L <local>:<benchd's socket>` through the wrapper and
// returns the local socket once it exists.
func (d *deployment) forward(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bd-l-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	local := filepath.Join(dir, "benchd.sock")
	cmd := exec.Command(filepath.Join(d.sshDir, "ssh"), "-N", "-o", "ExitOnForwardFailure=yes",
		"-L", local+":"+d.cfg.Socket, agentUser+"@127.0.0.1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(local); err == nil && fi.Mode().Type() == fs.ModeSocket {
			return local
		}
		select {
		case <-done:
			t.Fatalf("ssh -L exited before %s appeared:\n%s", local, out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssh -L: %s did not appear within 20s", local)
		}
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, timeout time.Duration, env []string, dir string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	// Backgrounded children (ssh -f, stdio_socket.py --background) keep
	// inherited pipes open: do not wait for them once the command is done.
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: still running after %v\nstdout:\n%s\nstderr:\n%s", name, args, timeout, &stdout, &stderr)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok && err != exec.ErrWaitDelay {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		if ok {
			code = ee.ExitCode()
		}
	}
	return result{code, stdout.String(), stderr.String()}
}

func (d *deployment) testPython(t *testing.T) {
	tmp := t.TempDir()
	env := d.env(t, tmp)

	// The installed package brings its generated modules along.
	r := run(t, time.Minute, env, tmp, d.python, "-c", `from benchd_client import pb, pb_grpc
print(sorted(pb.DESCRIPTOR.services_by_name["BenchmarkService"].methods_by_name), pb_grpc.BenchmarkServiceStub.__name__)`)
	if r.code != 0 {
		t.Fatalf("import the generated modules: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("generated modules: %s", strings.TrimSpace(r.stdout))

	local := d.forward(t)
	example := filepath.Join(pyclient.Dir(), "example.py")
	r = run(t, 3*time.Minute, env, tmp, d.python, example, "--socket", "unix://"+local, testrig.Model, "--max-tokens", "16", "--reps", "2")
	t.Logf("$ python3 client/python/example.py --socket unix://%s %s --max-tokens 16 --reps 2\n%s%s", local, testrig.Model, r.stdout, r.stderr)
	if r.code != 0 {
		t.Fatalf("example.py: exit %d\nbenchd:\n%s", r.code, d.daemon.Log())
	}
	for _, want := range []string{
		"health: SERVING",
		"started ",
		"warm-up 0: 16 tokens",
		"trial 1: 16 tokens",
		"trial 2: 16 tokens",
		": 2 measured trials, eval rate mean ",
		"stored by benchd: SUCCEEDED, 3 trials",
		fmt.Sprintf("vram gpu 0: Simulated AMD GPU (benchd fixture tree) [amd, sysfs] %.2f / %.2f GiB used",
			float64(fixtureBytes(t, "used"))/(1<<30), float64(fixtureBytes(t, "total"))/(1<<30)),
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("example.py output lacks %q", want)
		}
	}

	// A refusal comes back as the code's BenchdError.
	r = run(t, time.Minute, env, tmp, d.python, example, "--socket", local, "no-such-model")
	t.Logf("$ python3 client/python/example.py --socket %s no-such-model\n%s%s", local, r.stdout, r.stderr)
	if r.code != 1 || !strings.Contains(r.stderr, "example: NOT_FOUND: ") || !strings.Contains(r.stderr, "benchd never pulls") {
		t.Errorf("example.py with a missing model: exit %d, want 1 and NOT_FOUND", r.code)
	}
}

// block is one ```bash block of SKILL.md.
type block struct {
	line       int
	name       string // "" for a `# not tested:` block
	reason     string
	text       string
	expectExit int
	expectOut  string
	expectErr  string
}

var fenceRe = regexp.MustCompile("^\\s*```(\\w*)\\s*$")

func parseBlocks(t *testing.T, md string) []block {
	t.Helper()
	var blocks []block
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		lang, start, indent := m[1], i, len(lines[i])-len(strings.TrimLeft(lines[i], " "))
		var body []string
		for i++; i < len(lines) && !fenceRe.MatchString(lines[i]); i++ {
			l := lines[i]
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			body = append(body, l)
		}
		if i == len(lines) {
			t.Fatalf("SKILL.md:%d: unclosed code block", start+1)
		}
		if lang != "bash" {
			continue
		}
		b := block{line: start + 1, text: strings.Join(body, "\n")}
		first := ""
		if len(body) > 0 {
			first = strings.TrimSpace(body[0])
		}
		switch {
		case strings.HasPrefix(first, "# test:"):
			fields := strings.Fields(strings.TrimPrefix(first, "# test:"))
			if len(fields) == 0 {
				t.Fatalf("SKILL.md:%d: `# test:` without a name", b.line)
			}
			b.name = fields[0]
			for _, f := range fields[1:] {
				k, v, _ := strings.Cut(f, "=")
				switch k {
				case "expect-exit":
					n, err := strconv.Atoi(v)
					if err != nil {
						t.Fatalf("SKILL.md:%d: %s", b.line, f)
					}
					b.expectExit = n
				case "expect-out":
					b.expectOut = v
				case "expect-err":
					b.expectErr = v
				default:
					t.Fatalf("SKILL.md:%d: unknown test option %q", b.line, f)
				}
			}
		case strings.HasPrefix(first, "# not tested:"):
			b.reason = strings.TrimSpace(strings.TrimPrefix(first, "# not tested:"))
		default:
			t.Errorf("SKILL.md:%d: a bash block must start with `# test: NAME` or `# not tested: REASON`", b.line)
			continue
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// skillSubstitutions maps the words of SKILL.md that stand for the user's
// setup to this deployment, in the order they are tried at each position.
func (d *deployment) skillSubstitutions(tmp string) []string {
	return []string{
		// The shipped policy refuses every remote command (ForceCommand
		// nologin, and the account's shell is nologin), so the dial-stdio
		// transport cannot go through this sshd: run what the host would
		// run for a command="benchd dial-stdio" key, as ai-worker, here.
		"ssh -T -i ~/.hermes/benchd/id_ed25519 ai-worker@HOST benchd dial-stdio",
		fmt.Sprintf("setpriv --reuid=%d --regid=%d --init-groups %s dial-stdio --socket %s", d.acct.UID, d.acct.GID, d.cfg.Benchd, d.cfg.Socket),
		// What Hermes itself substitutes when it loads the skill.
		"${HERMES_SKILL_DIR}", skillDir(),
		// The skill config (benchd.host, benchd.ssh_key); the ssh wrapper
		// on PATH adds the port and the pinned host key.
		"ai-worker@HOST", agentUser + "@127.0.0.1",
		"~/.hermes/benchd/id_ed25519", d.key,
		// Where this deployment's benchd listens (a NixOS host: /run/benchd).
		"/run/benchd/benchd.sock", d.cfg.Socket,
		// The rig's model.
		"llama3.2:1b", testrig.Model,
	}
}

func (d *deployment) testSkill(t *testing.T) {
	mdBytes, err := os.ReadFile(filepath.Join(skillDir(), "SKILL.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(mdBytes)
	checkFrontmatter(t, md)
	blocks := parseBlocks(t, md)
	// references/ holds the procedure in detail; its commands are tested
	// as SKILL.md's are.
	procBytes, err := os.ReadFile(filepath.Join(skillDir(), "references", "procedure.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks = append(blocks, parseBlocks(t, string(procBytes))...)

	// Short: the tunnel's control socket path ($XDG_RUNTIME_DIR/benchd/
	// benchd.sock.ctl) gets 17 more bytes from ssh.
	tmp, err := os.MkdirTemp("", "bd-sk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	// The host's socket path is part of its setup, like the host name: the
	// scripts default to the NixOS module's /run/benchd/benchd.sock.
	env := append(d.env(t, tmp), "BENCHD_REMOTE_SOCKET="+d.cfg.Socket)
	subst := strings.NewReplacer(d.skillSubstitutions(tmp)...)
	t.Cleanup(func() {
		// Whatever a failed block left behind: the tunnel's ssh, the
		// dial-stdio bridge.
		pid := skillSocket(tmp) + ".pid"
		sh := fmt.Sprintf("BENCHD_HOST=%s@127.0.0.1 bash %s/scripts/tunnel.sh close; "+
			"if [ -f %s ]; then kill \"$(cat %s)\" 2>/dev/null; fi; true",
			agentUser, skillDir(), pid, pid)
		cmd := exec.Command("bash", "-c", sh)
		cmd.Env = env
		_ = cmd.Run()
	})

	ran := 0
	for _, b := range blocks {
		if b.name == "" {
			t.Logf("SKILL.md:%d: not run: %s", b.line, b.reason)
			continue
		}
		script := subst.Replace(b.text)
		r := run(t, 3*time.Minute, env, tmp, "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script)
		ran++
		t.Logf("SKILL.md:%d `%s` (exit %d)\n%s\n--- stdout\n%s--- stderr\n%s", b.line, b.name, r.code, script, r.stdout, r.stderr)
		if r.code != b.expectExit {
			t.Errorf("SKILL.md:%d `%s`: exit %d, want %d\nbenchd:\n%s", b.line, b.name, r.code, b.expectExit, d.daemon.Log())
		}
		if b.expectOut != "" && !strings.Contains(r.stdout, b.expectOut) {
			t.Errorf("SKILL.md:%d `%s`: stdout lacks %q", b.line, b.name, b.expectOut)
		}
		if b.expectErr != "" && !strings.Contains(r.stderr, b.expectErr) {
			t.Errorf("SKILL.md:%d `%s`: stderr lacks %q", b.line, b.name, b.expectErr)
		}
		if check := blockChecks[b.name]; check != nil && r.code == b.expectExit {
			check(t, r)
		}
	}
	if ran < 8 {
		t.Errorf("ran %d SKILL.md blocks; the skill has lost its tested commands", ran)
	}
	// The blocks used the default socket, in a directory of the user's own.
	if fi, err := os.Lstat(filepath.Dir(skillSocket(tmp))); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 ||
		fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Getuid()) {
		t.Errorf("the default socket directory %s: %v, %v; want a 0700 directory of uid %d", filepath.Dir(skillSocket(tmp)), fi, err, os.Getuid())
	}

	// One history, benchd's: the blocks left no copy in the skill's state.
	if entries, err := os.ReadDir(filepath.Join(tmp, "hermes", "benchd")); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the skill kept files of its own in ~/.hermes/benchd: %v", names)
	}
}

// fixtureBytes is mem_info_vram_<which> of the simulated sysfs tree's GPU.
func fixtureBytes(t *testing.T, which string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testrig.SysfsFixture(), "class", "drm", "card0", "device", "mem_info_vram_"+which))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// lastJSON parses the last line of stdout as a JSON object.
func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last stdout line is not JSON: %v\n%s", err, out)
	}
	return m
}

// blockChecks look closer at the output of some blocks.
var blockChecks = map[string]func(*testing.T, result){
	"run": func(t *testing.T, r result) {
		rec := lastJSON(t, r.stdout)
		stats, _ := rec["stats"].(map[string]any)
		er, _ := stats["eval_rate"].(map[string]any)
		if rec["ok"] != true || rec["model"] != testrig.Model || rec["trials"] != 3.0 || er == nil || er["mean"].(float64) <= 0 {
			t.Errorf("run_benchmark.sh record: %v", rec)
		}
		if !strings.Contains(r.stderr, "tunnel open: ") {
			t.Errorf("run_benchmark.sh did not open the tunnel itself:\n%s", r.stderr)
		}
	},
	"vram": func(t *testing.T, r result) {
		rec := lastJSON(t, r.stdout)
		gpus, _ := rec["gpus"].([]any)
		if rec["ok"] != true || len(gpus) != 1 || gpus[0].(map[string]any)["source"] != "sysfs" ||
			gpus[0].(map[string]any)["total_bytes"] != float64(fixtureBytes(t, "total")) {
			t.Errorf("sample_vram.sh record: %v", rec)
		}
	},
	"tunnel-script": func(t *testing.T, r result) {
		if !strings.Contains(r.stdout, "open: ") || !strings.Contains(r.stdout, "\nopen\n") || !strings.Contains(r.stdout, "tunnel closed") {
			t.Errorf("tunnel.sh open/status/close printed:\n%s", r.stdout)
		}
	},
	"tunnel-raw": func(t *testing.T, r result) {
		if strings.TrimSpace(r.stdout) != "SERVING" {
			t.Errorf("health through the hand-made tunnel: %q", r.stdout)
		}
	},
	"dial-stdio": func(t *testing.T, r result) {
		if strings.TrimSpace(r.stdout) != "SERVING" {
			t.Errorf("health through stdio_socket.py: %q", r.stdout)
		}
	},
	"raw-events": func(t *testing.T, r result) {
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		// 3 trials (one warm-up), the mean, the python line.
		if len(lines) != 5 || !strings.Contains(lines[0], `"warmup":true`) || !strings.HasPrefix(lines[4], "2 trials, ") {
			t.Errorf("raw events read back as:\n%s", r.stdout)
		}
	},
	"raw-vram": func(t *testing.T, r result) {
		want := fmt.Sprintf("gpu0 Simulated AMD GPU (benchd fixture tree): %s of %s GiB used (sysfs)",
			strconv.FormatFloat(float64(fixtureBytes(t, "used"))/(1<<30), 'f', -1, 64),
			strconv.FormatFloat(float64(fixtureBytes(t, "total"))/(1<<30), 'f', -1, 64))
		if strings.TrimSpace(r.stdout) != want {
			t.Errorf("VRAM read back as %q, want %q", r.stdout, want)
		}
	},
	"compare": func(t *testing.T, r result) {
		if !strings.Contains(r.stdout, "gen tok/s") || !strings.Contains(r.stdout, "|") {
			t.Errorf("compare printed no markdown table:\n%s", r.stdout)
		}
	},
	"watch": func(t *testing.T, r result) {
		var last struct {
			Finished struct {
				BenchmarkID string `json:"benchmark_id"`
				Trials      int    `json:"trials"`
			} `json:"finished"`
		}
		if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &last); err != nil || last.Finished.BenchmarkID == "" || last.Finished.Trials == 0 {
			t.Errorf("watch replayed %q (%v)", r.stdout, err)
		}
	},
	"history": func(t *testing.T, r result) {
		// benchd's history: the run block's benchmark is there.
		if !strings.Contains(r.stdout, "  "+testrig.Model+"  n=3  eval ") {
			t.Errorf("history table:\n%s", r.stdout)
		}
	},
	"check": func(t *testing.T, r result) {
		// check_regression.sh prints only a REGRESSED table; benchctl
		// check always prints its headline; an exit of 64+ is an error.
		if !strings.Contains(r.stdout, "fingerprint ") || regexp.MustCompile(`check exit (6[4-9]|[7-9][0-9]|1)\b`).MatchString(r.stdout) {
			t.Errorf("check printed:\n%s", r.stdout)
		}
	},
}

// checkFrontmatter holds SKILL.md to hermes-agent's skill format: YAML
// frontmatter with name (the directory's) and a one-sentence description of
// at most 60 characters, and the standard section order.
func checkFrontmatter(t *testing.T, md string) {
	t.Helper()
	if !strings.HasPrefix(md, "---\n") {
		t.Fatal("SKILL.md must start with YAML frontmatter")
	}
	fm, body, ok := strings.Cut(md[4:], "\n---\n")
	if !ok {
		t.Fatal("SKILL.md frontmatter is not closed")
	}
	field := func(k string) string {
		m := regexp.MustCompile(`(?m)^` + k + `: (.*)$`).FindStringSubmatch(fm)
		if m == nil {
			return ""
		}
		return m[1]
	}
	if field("name") != filepath.Base(skillDir()) {
		t.Errorf("frontmatter name %q, want %q", field("name"), filepath.Base(skillDir()))
	}
	if desc := field("description"); desc == "" || len(desc) > 60 || !strings.HasSuffix(desc, ".") {
		t.Errorf("frontmatter description %q: want one sentence of at most 60 characters ending with a period", desc)
	}
	for _, k := range []string{"version", "author", "platforms", "metadata"} {
		if !regexp.MustCompile(`(?m)^` + k + `:`).MatchString(fm) {
			t.Errorf("frontmatter lacks %s", k)
		}
	}
	// Loaded whole every time the skill is used: kept small, the details
	// in references/.
	if len(md) >= 6<<10 {
		t.Errorf("SKILL.md is %d bytes; keep it under 6 KB (details go to references/)", len(md))
	}
	// Hermes' preflight: the commands a run needs, and the key as a
	// credential file it mounts into remote terminals.
	for _, re := range []string{`(?m)^prerequisites:\n  commands: \[benchctl, ssh, python3\]$`, `(?m)^required_credential_files:\n  - path: benchd/id_ed25519$`} {
		if !regexp.MustCompile(re).MatchString(fm) {
			t.Errorf("frontmatter does not match %s", re)
		}
	}
	// Every script is run through ${HERMES_SKILL_DIR}, never by a path
	// relative to some working directory.
	for _, m := range regexp.MustCompile("(?m)^\\s*(?:BENCHD_\\S+ )*(?:bash|python3) (\\S+)").FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(m[1], "${HERMES_SKILL_DIR}/scripts/") && !strings.HasPrefix(m[1], "-") {
			t.Errorf("SKILL.md runs %s not through ${HERMES_SKILL_DIR}", m[1])
		}
	}
	var heads []string
	for _, m := range regexp.MustCompile(`(?m)^## (.+)$`).FindAllStringSubmatch(body, -1) {
		heads = append(heads, m[1])
	}
	want := []string{"When to Use", "Prerequisites", "How to Run", "Quick Reference", "Procedure", "Pitfalls", "Verification"}
	if strings.Join(heads, "|") != strings.Join(want, "|") {
		t.Errorf("SKILL.md sections %q, want %q", heads, want)
	}
	// Every script the skill ships is named in SKILL.md: hermes copies only
	// the files a SKILL.md references when it installs a skill.
	scripts, _ := filepath.Glob(filepath.Join(skillDir(), "scripts", "*"))
	for _, s := range scripts {
		if !strings.Contains(body, "scripts/"+filepath.Base(s)) {
			t.Errorf("SKILL.md does not reference scripts/%s", filepath.Base(s))
		}
	}
}

// testBusy: while one benchmark runs, run_benchmark.sh gets
// RESOURCE_EXHAUSTED, waits, retries, and succeeds once the other is gone.
func (d *deployment) testBusy(t *testing.T) {
	tmp, err := os.MkdirTemp("", "bd-bz-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	env := append(d.env(t, tmp), "BENCHD_HOST="+agentUser+"@127.0.0.1", "BENCHD_SOCKET="+filepath.Join(tmp, "benchd.sock"),
		"BENCHD_SSH_KEY="+d.key, "BENCHD_REMOTE_SOCKET="+d.cfg.Socket, "BENCHD_BUSY_WAIT=1", "BENCHD_BUSY_RETRIES=60")
	t.Cleanup(func() {
		cmd := exec.Command("bash", filepath.Join(skillDir(), "scripts", "tunnel.sh"), "close")
		cmd.Env = env
		_ = cmd.Run()
	})
	if r := run(t, time.Minute, env, tmp, "bash", filepath.Join(skillDir(), "scripts", "tunnel.sh"), "ensure"); r.code != 0 {
		t.Fatalf("tunnel.sh ensure: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A long benchmark holds benchd's one slot until it is interrupted.
	long := exec.Command(filepath.Join(d.binDir, "benchctl"), "--socket", filepath.Join(tmp, "benchd.sock"), "run", testrig.Model,
		"--reps", "100", "--max-tokens", "2048", "--json")
	long.Env = env
	longOut, err := long.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	longDone := make(chan struct{})
	t.Cleanup(func() { _ = long.Process.Kill(); <-longDone })
	started := make(chan string, 1)
	go func() {
		defer close(longDone)
		sc := bufio.NewScanner(longOut)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct {
				Started *struct {
					BenchmarkID string `json:"benchmark_id"`
				} `json:"started"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Started != nil {
				started <- ev.Started.BenchmarkID
			}
		}
		_ = long.Wait()
	}()
	var longID string
	select {
	case longID = <-started:
	case <-longDone:
		t.Fatal("the long benchmark ended before it started")
	case <-time.After(time.Minute):
		t.Fatal("the long benchmark did not start within a minute")
	}

	script := exec.Command("bash", filepath.Join(skillDir(), "scripts", "run_benchmark.sh"), testrig.Model, "--reps", "1", "--max-tokens", "8")
	script.Env = env
	var stdout bytes.Buffer
	script.Stdout = &stdout
	stderr, err := script.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := script.Start(); err != nil {
		t.Fatal(err)
	}
	var errLines []string
	sc := bufio.NewScanner(stderr)
	retried := false
	for sc.Scan() {
		errLines = append(errLines, sc.Text())
		if !retried && strings.Contains(sc.Text(), "another benchmark is running; retry 1/") {
			retried = true
			// Runs belong to benchd, not to the call: stop the long one
			// with CancelBenchmark, through the Python client.
			r := run(t, time.Minute, env, tmp, d.python, "-c", `import sys
from benchd_client import Client
b = Client(sys.argv[1]).cancel_benchmark(sys.argv[2])
print(b.benchmark_id, b.state, len(b.trials), "trials")`, filepath.Join(tmp, "benchd.sock"), longID)
			t.Logf("$ python3 -c 'Client(...).cancel_benchmark(%q)'\n%s%s", longID, r.stdout, r.stderr)
			if r.code != 0 || !strings.Contains(r.stdout, " CANCELLED ") {
				t.Errorf("cancel_benchmark: exit %d", r.code)
			}
		}
	}
	err = script.Wait()
	t.Logf("$ run_benchmark.sh %s --reps 1 --max-tokens 8   (while another benchmark runs)\n--- stderr\n%s\n--- stdout\n%s",
		testrig.Model, strings.Join(errLines, "\n"), stdout.String())
	if err != nil {
		t.Fatalf("run_benchmark.sh: %v", err)
	}
	if !retried || !strings.Contains(strings.Join(errLines, "\n"), "benchctl: ResourceExhausted: ") {
		t.Errorf("run_benchmark.sh never met RESOURCE_EXHAUSTED")
	}
	if rec := lastJSON(t, stdout.String()); rec["ok"] != true || rec["trials"] != 1.0 {
		t.Errorf("record after the retry: %v", rec)
	}
}

// impostor is a socket of another party's where the skill's socket goes;
// it records what each connection sent.
type impostor struct {
	mu  sync.Mutex
	got []string
}

// listenImpostor listens on path as owner (nil: the test's uid), mode 0600,
// reading what each connection sends for a second, then closing it: a
// script that connected would have handed its request to whoever made it.
func listenImpostor(t *testing.T, path string, owner *testrig.Account) *impostor {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if owner != nil {
		if err := os.Chown(path, owner.UID, owner.GID); err != nil {
			t.Fatal(err)
		}
	}
	im := &impostor{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				b, _ := io.ReadAll(io.LimitReader(c, 64))
				im.mu.Lock()
				im.got = append(im.got, string(b))
				im.mu.Unlock()
			}()
		}
	}()
	return im
}

// received is what the connections so far sent, one entry each.
func (im *impostor) received() []string {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]string(nil), im.got...)
}

// testUnsafeSocket: the scripts take what answers on the local socket for
// benchd, so they refuse (exit 5, naming the path and why) a socket or
// directory that is not the user's alone, before anything connects to it or
// ssh is started: the default directory owned by another account (the
// test's agent account) or open to others, a socket of another account's in
// the user's own directory, and a BENCHD_SOCKET in a directory anyone may
// write to (as /tmp). Each layout has a listening impostor socket in place,
// which must get no connection, and sshd must see no login. run_benchmark.sh
// records the refusal (UNSAFE_LOCAL_SOCKET) and stdio_socket.py refuses it
// too. The control: the same impostor, but the user's own in the user's 0700
// directory, is connected to (tunnel.sh then replaces it with the tunnel).
func (d *deployment) testUnsafeSocket(t *testing.T) {
	other := d.acct // an account the test created: not the user running the scripts
	me := os.Getuid()
	if other.UID == me {
		t.Fatalf("the agent account has the test's uid %d", me)
	}
	scripts := filepath.Join(skillDir(), "scripts")
	layouts := []struct {
		name string
		// setup lays out tmp and returns the environment's extra lines and
		// the impostor's connection counter.
		setup func(t *testing.T, tmp string) ([]string, *impostor)
		// why is what the refusal must say.
		why func(tmp string) string
	}{
		{"default directory owned by another account", func(t *testing.T, tmp string) ([]string, *impostor) {
			dir := filepath.Dir(skillSocket(tmp))
			mkdir(t, dir, 0o700, other)
			return nil, listenImpostor(t, skillSocket(tmp), other)
		}, func(tmp string) string {
			return fmt.Sprintf("directory %s belongs to %s (uid %d), not to you", filepath.Dir(skillSocket(tmp)), other.Name, other.UID)
		}},
		{"default directory open to others", func(t *testing.T, tmp string) ([]string, *impostor) {
			mkdir(t, filepath.Dir(skillSocket(tmp)), 0o755, nil)
			return nil, listenImpostor(t, skillSocket(tmp), nil)
		}, func(tmp string) string { return filepath.Dir(skillSocket(tmp)) + " has mode 0755; it must be 0700" }},
		{"another account's socket in the user's own directory", func(t *testing.T, tmp string) ([]string, *impostor) {
			mkdir(t, filepath.Dir(skillSocket(tmp)), 0o700, nil)
			return nil, listenImpostor(t, skillSocket(tmp), other)
		}, func(tmp string) string {
			return fmt.Sprintf("the socket %s belongs to %s (uid %d), not to you", skillSocket(tmp), other.Name, other.UID)
		}},
		{"BENCHD_SOCKET in a directory anyone may write to", func(t *testing.T, tmp string) ([]string, *impostor) {
			shared := filepath.Join(tmp, "shared")
			mkdir(t, shared, os.ModeSticky|0o777, nil)
			sock := filepath.Join(shared, "benchd.sock")
			return []string{"BENCHD_SOCKET=" + sock}, listenImpostor(t, sock, nil)
		}, func(tmp string) string {
			return filepath.Join(tmp, "shared") + " has mode 1777: others can write to it"
		}},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			tmp := tmp0(t)
			env := append(d.env(t, tmp), "BENCHD_HOST="+agentUser+"@127.0.0.1", "BENCHD_SSH_KEY="+d.key, "BENCHD_REMOTE_SOCKET="+d.cfg.Socket)
			extra, im := l.setup(t, tmp)
			env = append(env, extra...)
			why := l.why(tmp)
			mark := d.sshd.Mark()
			// Should a script not refuse, it opens a tunnel as a control
			// master that tunnel.sh close (which refuses too) cannot end.
			sock := skillSocket(tmp)
			for _, kv := range extra {
				if v, ok := strings.CutPrefix(kv, "BENCHD_SOCKET="); ok {
					sock = v
				}
			}
			t.Cleanup(func() {
				cmd := exec.Command(filepath.Join(d.sshDir, "ssh"), "-S", sock+".ctl", "-O", "exit", agentUser+"@127.0.0.1")
				if out, err := cmd.CombinedOutput(); err == nil {
					t.Errorf("a tunnel was left open on %s: %s", sock, out)
				}
			})

			for _, c := range [][]string{
				{"bash", filepath.Join(scripts, "tunnel.sh"), "ensure"},
				{"bash", filepath.Join(scripts, "tunnel.sh"), "path"},
				{"python3", filepath.Join(scripts, "stdio_socket.py"), "--", "true"},
			} {
				r := run(t, time.Minute, env, tmp, c[0], c[1:]...)
				t.Logf("$ %s\nexit %d\n%s%s", strings.Join(c, " "), r.code, r.stdout, r.stderr)
				if r.code != 5 || !strings.Contains(r.stderr, "refusing the local socket: ") || !strings.Contains(r.stderr, why) {
					t.Errorf("%s: exit %d, want 5 and a refusal saying %q", strings.Join(c, " "), r.code, why)
				}
			}
			r := run(t, time.Minute, env, tmp, "bash", filepath.Join(scripts, "run_benchmark.sh"), testrig.Model, "--reps", "1", "--max-tokens", "8")
			t.Logf("$ run_benchmark.sh %s --reps 1 --max-tokens 8\nexit %d\n%s%s", testrig.Model, r.code, r.stdout, r.stderr)
			if rec := lastJSON(t, r.stdout); r.code != 5 || rec["ok"] != false || rec["code"] != "UNSAFE_LOCAL_SOCKET" ||
				!strings.Contains(fmt.Sprint(rec["message"]), why) || !strings.Contains(fmt.Sprint(rec["advice"]), "tell a human") {
				t.Errorf("run_benchmark.sh: exit %d, record %v; want exit 5 and an UNSAFE_LOCAL_SOCKET record", r.code, rec)
			}

			if got := im.received(); len(got) != 0 {
				t.Errorf("the impostor socket got %d connections: %q", len(got), got)
			}
			for _, line := range d.sshd.Lines(mark) {
				if strings.Contains(line, "Accepted ") {
					t.Errorf("ssh logged in although the socket was refused: %s", line)
				}
			}
		})
	}

	t.Run("the user's own socket is used (control)", func(t *testing.T) {
		tmp := tmp0(t)
		env := append(d.env(t, tmp), "BENCHD_HOST="+agentUser+"@127.0.0.1", "BENCHD_SSH_KEY="+d.key, "BENCHD_REMOTE_SOCKET="+d.cfg.Socket)
		t.Cleanup(func() { _ = run(t, time.Minute, env, tmp, "bash", filepath.Join(scripts, "tunnel.sh"), "close") })
		mkdir(t, filepath.Dir(skillSocket(tmp)), 0o700, nil)
		im := listenImpostor(t, skillSocket(tmp), nil)
		r := run(t, time.Minute, env, tmp, "bash", filepath.Join(scripts, "tunnel.sh"), "ensure")
		t.Logf("$ tunnel.sh ensure\nexit %d\n%s%s", r.code, r.stdout, r.stderr)
		// benchctl health's first bytes: the HTTP/2 client preface.
		got := im.received()
		if len(got) == 0 || !strings.HasPrefix(got[0], "PRI * HTTP/2.0") {
			t.Errorf("the user's own socket got %q, want benchctl's request: the refusals above show nothing", got)
		}
		t.Logf("the user's own socket got %q", got)
		if r.code != 0 || !strings.Contains(r.stdout, "benchd answers on "+skillSocket(tmp)+" (SERVING)") {
			t.Errorf("tunnel.sh ensure over a stale socket of the user's: exit %d", r.code)
		}
	})
}

// tmp0 is a short directory of the test's own (unix socket paths are
// limited), 0700 like MkdirTemp makes it.
func tmp0(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "bd-us-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// mkdir makes path with exactly mode (no umask), owned by owner (nil: the
// test's uid).
func mkdir(t *testing.T, path string, mode os.FileMode, owner *testrig.Account) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if owner != nil {
		if err := os.Chown(path, owner.UID, owner.GID); err != nil {
			t.Fatal(err)
		}
	}
}
