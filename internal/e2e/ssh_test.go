package e2e

// The deployment, for real: a real ai-worker account, benchd started from the
// shipped unit's lines as that account with the docker group as a
// supplementary group (in its own network namespace, as PrivateNetwork=yes
// has it), and Debian's sshd with the shipped Match block. The Go client
// reaches benchd through `ssh -N -L`; everything else the agent's key might
// try is refused, and each refusal is shown by sshd's own log line (or the
// reason sshd sends the client). The policy is tried in three layers: as
// shipped (block and key options), the sshd block alone (a bare key) and the
// key options alone (no block), each against a permissive global sshd_config.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

const agentUser = "ai-worker"

type layer struct {
	name       string
	block      bool // the rendered Match block is in sshd_config
	keyOptions bool // the key carries the rendered options
}

var layers = []layer{
	{name: "shipped", block: true, keyOptions: true},
	{name: "sshd-block-alone", block: true},
	{name: "key-options-alone", keyOptions: true},
}

// rig is what the subtests share.
type rig struct {
	// acct is the agent's login, svc the account benchd runs as.
	acct, svc *testrig.Account
	base      string
	cfg       testrig.DeployConfig
	unit      testrig.Unit
	daemon    *testrig.Daemon
	trace     string
	key, pub  string
	agentSock string
	// Keys the block must not let in: one in ~/.ssh/authorized_keys and one
	// with a certificate from a user CA the host trusts.
	homeKey, certKey, caPub string
	dockerGID               int

	otherSock string
	otherHits atomic.Int64
	tcpPort   int
	tcpHits   atomic.Int64

	evMu     sync.Mutex
	evidence []string
}

// note records a line that shows a refusal, for the closing log.
func (r *rig) note(t *testing.T, line string) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	r.evidence = append(r.evidence, fmt.Sprintf("%-70s %s", t.Name(), strings.TrimSpace(line)))
}

func TestSSHDeployment(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (creates an account, runs sshd)")
	for tool, pkg := range map[string]string{"ssh": "openssh-client", "ssh-keygen": "openssh-client", "ssh-agent": "openssh-client",
		"sshd": "openssh-server", "setpriv": "util-linux", "unshare": "util-linux", "useradd": "passwd", "docker": "docker.io"} {
		requireTool(t, tool, pkg)
	}
	testrig.Ollama(t)
	r := setup(t)

	t.Run("service runs as the unit says", r.testService)
	t.Run("docker socket: the account cannot, the service can", r.testDockerSocket)
	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) { r.testLayer(t, l) })
	}
	t.Run("AllowTcpForwarding no would cut the tunnel too", r.testNoTCPForwarding)
	t.Run("system calls stay within the unit's filters", r.testSyscalls)

	r.evMu.Lock()
	t.Logf("sshd's record of the refused attempts (sshd log lines, or the reason sshd sent the client as 'Remote:'):\n%s", strings.Join(r.evidence, "\n"))
	r.evMu.Unlock()
}

func setup(t *testing.T) *rig {
	r := &rig{}
	var err error
	// A short, world-traversable base (unix socket paths are limited).
	r.base, err = os.MkdirTemp("", "bd-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(r.base) })
	if err := os.Chmod(r.base, 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroup("docker")
	if err != nil {
		t.Fatalf("docker group: %v", err)
	}
	r.dockerGID, _ = strconv.Atoi(g.Gid)

	// The fixture, where the service user can read it whatever the
	// checkout's permissions.
	if err := testrig.CopyTree(testrig.SysfsFixture(), filepath.Join(r.base, "sysfs")); err != nil {
		t.Fatal(err)
	}
	r.cfg = testrig.DeployConfig{
		Benchd:       testrig.PackageBinary(t),
		Socket:       filepath.Join(r.base, "benchd", "benchd.sock"),
		Store:        filepath.Join(r.base, "state", "benchd", "history.db"),
		Container:    testrig.Container,
		VRAMSource:   "sysfs",
		ExtraArgs:    []string{"--sysfs-root", filepath.Join(r.base, "sysfs")},
		User:         agentUser,
		ForceCommand: testrig.NoLogin(),
		// Set per layer; the unit does not use it.
		AuthorizedKeysFile: "/nonexistent/%u",
	}
	dep := render(t, r.cfg)
	accts := testrig.CreateDeployAccounts(t, dep)
	r.acct, r.svc = accts.Agent, accts.Service
	unitText := dep.Unit
	if r.unit, err = testrig.ParseUnit(unitText); err != nil {
		t.Fatal(err)
	}
	var opts testrig.ServiceOptions
	if _, err := exec.LookPath("strace"); err == nil {
		dir := filepath.Join(r.base, "trace")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, r.svc.UID, r.svc.GID); err != nil {
			t.Fatal(err)
		}
		r.trace = filepath.Join(dir, "benchd.strace")
		opts.Strace = r.trace
	}
	r.daemon = testrig.StartService(t, unitText, opts)

	r.key, r.pub = testrig.GenerateKey(t, r.base, "agent")
	var homePub string
	r.homeKey, homePub = testrig.GenerateKey(t, r.base, "homekey")
	sshDir := filepath.Join(r.acct.Home, ".ssh")
	if err := os.Mkdir(sshDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sshDir, "authorized_keys"), []byte(homePub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{sshDir, filepath.Join(sshDir, "authorized_keys")} {
		if err := os.Chown(p, r.acct.UID, r.acct.GID); err != nil {
			t.Fatal(err)
		}
	}
	ca, _ := testrig.GenerateKey(t, r.base, "user-ca")
	r.caPub = ca + ".pub"
	r.certKey, _ = testrig.GenerateKey(t, r.base, "certkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-s", ca, "-I", "agent-cert", "-n", agentUser, r.certKey+".pub").CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -s: %v\n%s", err, out)
	}
	r.agentSock = startAgent(t, r.base)

	// Targets that answer "hello" to anyone who connects, so that a
	// forward that got through would show.
	otherDir := filepath.Join(r.base, "other")
	if err := os.Mkdir(otherDir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.otherSock = filepath.Join(otherDir, "other.sock")
	ul, err := net.Listen("unix", r.otherSock)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.otherSock, 0o666); err != nil {
		t.Fatal(err)
	}
	serveHello(t, ul, &r.otherHits)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.tcpPort = tl.Addr().(*net.TCPAddr).Port
	serveHello(t, tl, &r.tcpHits)
	for _, a := range [][2]string{{"unix", r.otherSock}, {"tcp", tl.Addr().String()}} {
		if got := readAll(t, a[0], a[1], nil); got != "hello\n" {
			t.Fatalf("%s listener %s answers %q, want hello", a[0], a[1], got)
		}
	}
	r.otherHits.Store(0)
	r.tcpHits.Store(0)
	return r
}

func startAgent(t *testing.T, dir string) string {
	sock := filepath.Join(dir, "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	waitSocket(t, sock, done, "ssh-agent")
	return sock
}

// waitSocket polls for a unix socket to appear, failing when the process
// behind it exits first or 20s pass.
func waitSocket(t *testing.T, path string, exited <-chan struct{}, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not appear within 20s", what, path)
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before %s appeared", what, path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func serveHello(t *testing.T, l net.Listener, hits *atomic.Int64) {
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			_, _ = c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
}

// readAll connects, sends probe, and returns everything read until the peer
// closes. A connection left open for 15s fails the test.
func readAll(t *testing.T, network, addr string, probe []byte) string {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if probe != nil {
		_, _ = c.Write(probe)
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s %s: the connection stayed open for 15s (read %q)", network, addr, buf.String())
	}
	return buf.String()
}

func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// testService checks the running daemon against the unit's lines.
func (r *rig) testService(t *testing.T) {
	pid := r.daemon.PID()
	st := procStatus(t, pid)
	if r.svc.UID == r.acct.UID {
		t.Fatalf("benchd runs as the agent's login (uid %d); the shipped layout has an account of its own", r.acct.UID)
	}
	uid, gid := strconv.Itoa(r.svc.UID), strconv.Itoa(r.svc.GID)
	for _, f := range strings.Fields(st["Uid"]) {
		if f != uid {
			t.Errorf("Uid: %s, want %s (%s) everywhere", st["Uid"], uid, r.svc.Name)
		}
	}
	for _, f := range strings.Fields(st["Gid"]) {
		if f != gid {
			t.Errorf("Gid: %s, want %s everywhere", st["Gid"], gid)
		}
	}
	groups := strings.Fields(st["Groups"])
	slices.Sort(groups)
	want := []string{gid, strconv.Itoa(r.dockerGID)}
	slices.Sort(want)
	if !slices.Equal(groups, want) {
		t.Errorf("Groups: %v, want %v (own group + SupplementaryGroups=docker)", groups, want)
	}
	if st["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs: %s", st["NoNewPrivs"])
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if st[k] != "0000000000000000" {
			t.Errorf("%s: %s, want none", k, st[k])
		}
	}
	if st["Umask"] != r.unit.Value("Service", "UMask") {
		t.Errorf("Umask: %s, want %s", st["Umask"], r.unit.Value("Service", "UMask"))
	}
	// LimitNOFILE=: soft and hard.
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	nofile := r.unit.Value("Service", "LimitNOFILE")
	if !regexp.MustCompile(`(?m)^Max open files\s+` + nofile + `\s+` + nofile + `\s+files`).Match(limits) {
		t.Errorf("LimitNOFILE=%s not in effect:\n%s", nofile, limits)
	}
	own, _ := os.Readlink("/proc/self/ns/net")
	its, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil || its == own {
		t.Errorf("benchd's network namespace %q (err %v) is the host's %q; PrivateNetwork=yes wants its own", its, err, own)
	}
	// Its /proc is the one ProtectProc=invisible and ProcSubset=pid give.
	mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	procOK := false
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == "/proc" && strings.Contains(l, " - proc ") {
			procOK = strings.Contains(l, "hidepid=invisible") && strings.Contains(l, "subset=pid")
		}
	}
	if !procOK {
		t.Errorf("benchd's /proc is not mounted hidepid=invisible,subset=pid:\n%s", mi)
	}
	// The socket: 0660 although UMask=0077, in the 0750 runtime directory;
	// the store's directory 0700; all the service's, with its group.
	for _, c := range []struct {
		path string
		mode fs.FileMode
	}{{r.cfg.Socket, fs.ModeSocket | 0o660}, {filepath.Dir(r.cfg.Socket), fs.ModeDir | 0o750}, {filepath.Dir(r.cfg.Store), fs.ModeDir | 0o700}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode(), c.mode)
		}
		if s := fi.Sys().(*syscall.Stat_t); int(s.Uid) != r.svc.UID || int(s.Gid) != r.svc.GID {
			t.Errorf("%s: owner %d:%d, want %s (%d:%d)", c.path, s.Uid, s.Gid, r.svc.Name, r.svc.UID, r.svc.GID)
		}
	}
	// The login reaches the socket through the service's group only.
	u, err := user.Lookup(agentUser)
	if err != nil {
		t.Fatal(err)
	}
	if gids, err := u.GroupIds(); err != nil || !slices.Contains(gids, gid) {
		t.Errorf("%s's groups %v (err %v) lack %s's group %s", agentUser, gids, err, r.svc.Name, gid)
	}
}

// testDockerSocket: the account is not in the docker group and cannot talk to
// Docker; with the group, which only the service gets, the same command can.
func (r *rig) testDockerSocket(t *testing.T) {
	u, err := user.Lookup(agentUser)
	if err != nil {
		t.Fatal(err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(gids, strconv.Itoa(r.dockerGID)) {
		t.Fatalf("%s is in the docker group (%v)", agentUser, gids)
	}
	docker, _ := exec.LookPath("docker")
	run := func(groups string) (string, error) {
		args := []string{"--reuid=" + strconv.Itoa(r.acct.UID), "--regid=" + strconv.Itoa(r.acct.GID)}
		if groups == "" {
			args = append(args, "--clear-groups")
		} else {
			args = append(args, "--groups="+groups)
		}
		args = append(args, "--", docker, "version", "--format", "{{.Server.Version}}")
		cmd := exec.Command("setpriv", args...)
		cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + r.acct.Home}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("docker version as %s without the docker group: err %v, want permission denied:\n%s", agentUser, err, out)
	} else {
		r.note(t, "docker CLI as "+agentUser+": "+lastLine(out))
	}
	out, err = run(strconv.Itoa(r.acct.GID) + "," + strconv.Itoa(r.dockerGID))
	if err != nil || strings.TrimSpace(out) == "" {
		t.Errorf("docker version as %s with the docker group (the service's view): %v\n%s", agentUser, err, out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs cmd to completion (at most 60s) and returns its exit code and
// combined output.
func run(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not finish within 60s:\n%s", cmd.Args, out.String())
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

// forward runs `ssh -N -L <local>:<target>` and returns the local socket once
// it exists, and a function that stops ssh and returns its output.
func forward(t *testing.T, s *testrig.SSHD, key, target string) (string, func() string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "bd-l-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	local := filepath.Join(dir, "l.sock")
	cmd := s.SSH(key, agentUser, nil, []string{"-v", "-N", "-o", "ExitOnForwardFailure=yes", "-L", local + ":" + target})
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() string {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-done
		})
		return out.String()
	}
	t.Cleanup(func() { stop() })
	// The file appears at bind(2), before listen(2): a connection in
	// between is refused. ssh -v says when it listens.
	listening := "Local forwarding listening on path " + local + "."
	testrig.Poll(t, 20*time.Second, "ssh -L "+target+" to listen", func() bool {
		select {
		case <-done:
			t.Fatalf("ssh -L %s exited before it listened:\n%s", target, out.String())
		default:
		}
		return strings.Contains(out.String(), listening)
	})
	return local, stop
}

// wantLog waits for sshd to log a line containing substr after mark, records
// it as evidence and returns it.
func (r *rig) wantLog(t *testing.T, s *testrig.SSHD, mark int, substr string) string {
	t.Helper()
	line, err := s.WaitFor(mark, substr, 15*time.Second)
	if err != nil {
		t.Fatalf("%v; sshd said:\n%s", err, strings.Join(s.Lines(mark), "\n"))
	}
	r.note(t, "sshd: "+line)
	return line
}

// wantRemote checks that sshd sent the client substr as a debug message (ssh
// -v prints it as "debug1: Remote: ...") and records it.
func (r *rig) wantRemote(t *testing.T, out, substr string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Remote: ") && strings.Contains(l, substr) {
			r.note(t, "sshd -> client: "+strings.TrimSpace(strings.TrimPrefix(l, "debug1: ")))
			return
		}
	}
	t.Errorf("sshd sent the client no %q; ssh said:\n%s", substr, out)
}

func (r *rig) testLayer(t *testing.T, l layer) {
	keys := testrig.AuthorizedKeysDir(t)
	c := r.cfg
	c.AuthorizedKeysFile = keys + "/%u"
	d := render(t, c)
	line := r.pub
	if l.keyOptions {
		line = d.KeyOptions + " " + r.pub
	}
	testrig.WriteAuthorizedKeys(t, keys, agentUser, line)
	// The host also trusts ~/.ssh/authorized_keys and a user CA.
	sc := testrig.SSHDConfig{Global: append(slices.Clone(looseGlobal), "TrustedUserCAKeys "+r.caPub)}
	if l.block {
		sc.Global = append(sc.Global, "AuthorizedKeysFile .ssh/authorized_keys")
		sc.Fragment = d.SSHDConfig
	} else {
		sc.Global = append(sc.Global, "AuthorizedKeysFile "+c.AuthorizedKeysFile+" .ssh/authorized_keys")
	}
	s := testrig.StartSSHD(t, sc)
	ssh := func(env, opts []string, remote ...string) *exec.Cmd {
		return s.SSH(r.key, agentUser, env, opts, remote...)
	}

	t.Run("tunnel to benchd works", func(t *testing.T) {
		mark := s.Mark()
		local, _ := forward(t, s, r.key, r.cfg.Socket)
		cl, err := client.New(local)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		gpus, err := cl.SampleVRAM(ctx)
		if err != nil {
			t.Fatalf("SampleVRAM through the tunnel: %v\nbenchd:\n%s", err, r.daemon.Log())
		}
		total, used := fixtureBytes(t, "mem_info_vram_total"), fixtureBytes(t, "mem_info_vram_used")
		if len(gpus) != 1 || gpus[0].Source != "sysfs" || gpus[0].TotalBytes != total || gpus[0].UsedBytes != used {
			t.Errorf("SampleVRAM: %+v, want the fixture's one GPU (%d bytes, %d used)", gpus, total, used)
		}
		if l.name == "shipped" {
			warmup := 0
			res, err := cl.RunBenchmark(ctx, client.BenchmarkRequest{Model: testrig.Model, Repetitions: 1, Warmup: &warmup, MaxTokens: 8}, nil)
			if err != nil {
				t.Fatalf("RunBenchmark through the tunnel: %v\nbenchd:\n%s", err, r.daemon.Log())
			}
			if res.Summary == nil || res.Summary.Trials != 1 || len(res.Trials) != 1 || res.Trials[0].EvalCount <= 0 || res.Model != testrig.Model {
				t.Errorf("RunBenchmark: %+v", res)
			}
		}
		line, err := s.WaitFor(mark, "connected to "+r.cfg.Socket, 15*time.Second)
		if err != nil {
			t.Fatalf("%v; sshd said:\n%s", err, strings.Join(s.Lines(mark), "\n"))
		}
		t.Logf("allowed: %s", line)
	})

	// Control without the block: a plain login must not fail outright.
	r.testOtherKeys(t, s, l, nil, func(code int) bool { return code != 255 })

	forced := "forced-command (key-option) '" + c.ForceCommand + "'"
	if l.block {
		forced = "forced-command (config) '" + c.ForceCommand + "'"
	}
	sessions := []struct {
		name   string
		env    []string
		opts   []string
		remote []string
		check  func(t *testing.T, out, started string, mark int)
	}{
		{name: "interactive shell refused", opts: []string{"-T"}},
		{name: "remote command refused", opts: []string{"-T"}, remote: []string{"id"}},
		{name: "sftp subsystem refused", opts: []string{"-T", "-s"}, remote: []string{"sftp"}},
		{name: "pty refused", opts: []string{"-tt"}, check: func(t *testing.T, out, started string, mark int) {
			if !strings.Contains(out, "PTY allocation request failed") {
				t.Errorf("ssh -tt got a pty:\n%s", out)
			}
			r.wantLog(t, s, mark, "Allocating a pty not permitted for this connection.")
			if strings.Contains(started, " on /dev/") {
				t.Errorf("the session has a tty: %s", started)
			}
		}},
		{name: "agent forwarding refused", env: []string{"SSH_AUTH_SOCK=" + r.agentSock}, opts: []string{"-T", "-v", "-A"},
			check: func(t *testing.T, out, started string, mark int) {
				if !strings.Contains(out, "Requesting authentication agent forwarding.") {
					t.Fatalf("ssh -A did not ask for agent forwarding (is the agent up?):\n%s", out)
				}
				r.wantLog(t, s, mark, "session_auth_agent_req: agent forwarding disabled")
			}},
		{name: "X11 forwarding refused", env: []string{"DISPLAY=127.0.0.1:0"}, opts: []string{"-T", "-v", "-X"},
			check: func(t *testing.T, out, started string, mark int) {
				if !strings.Contains(out, "X11 forwarding request failed") {
					t.Errorf("ssh -X was not refused:\n%s", out)
				}
				if l.keyOptions {
					r.wantRemote(t, out, "X11 forwarding disabled by key options.")
				} else {
					r.wantLog(t, s, mark, "X11 forwarding disabled in server configuration file.")
				}
			}},
	}
	for _, sc := range sessions {
		t.Run(sc.name, func(t *testing.T) {
			mark := s.Mark()
			code, out := run(t, ssh(sc.env, sc.opts, sc.remote...))
			if code == 0 {
				t.Errorf("ssh %v exited 0:\n%s", sc.opts, out)
			}
			// (With -tt the client hangs up before nologin's message
			// arrives; sshd's line below shows what ran.)
			if (!strings.Contains(out, "This account is currently not available.") && !slices.Contains(sc.opts, "-tt")) || strings.Contains(out, "uid=") {
				t.Errorf("the session did not run the refusing command:\n%s", out)
			}
			started := r.wantLog(t, s, mark, "Starting session: "+forced+" for "+agentUser)
			if sc.check != nil {
				sc.check(t, out, started, mark)
			}
		})
	}

	for _, f := range []struct {
		name, target, denied string
		hits                 *atomic.Int64
	}{
		{"forward to the Docker socket refused", "/var/run/docker.sock", "Received request to connect to path /var/run/docker.sock, but the request was denied.", nil},
		{"forward to another unix socket refused", r.otherSock, "Received request to connect to path " + r.otherSock + ", but the request was denied.", &r.otherHits},
		{"TCP forward refused", "127.0.0.1:" + strconv.Itoa(r.tcpPort), "to connect to host 127.0.0.1 port " + strconv.Itoa(r.tcpPort) + ", but the request was denied.", &r.tcpHits},
	} {
		t.Run(f.name, func(t *testing.T) { r.refusedForward(t, s, f.target, f.denied, f.hits) })
	}

	t.Run("remote TCP forward refused", func(t *testing.T) {
		port, err := freeTCPPort()
		if err != nil {
			t.Fatal(err)
		}
		mark := s.Mark()
		code, out := run(t, ssh(nil, []string{"-v", "-N", "-o", "ExitOnForwardFailure=yes",
			"-R", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", port, r.tcpPort)}))
		if code != 255 || !strings.Contains(out, fmt.Sprintf("remote port forwarding failed for listen port %d", port)) {
			t.Fatalf("ssh -R: exit %d, want 255 and a refused forward:\n%s", code, out)
		}
		if l.block {
			r.wantRemote(t, out, "Server has disabled port forwarding.")
		} else {
			r.wantRemote(t, out, "port forwarding refused")
			r.wantLog(t, s, mark, fmt.Sprintf("to remote forward to host 127.0.0.1 port %d, but the request was denied.", port))
		}
	})

	// Key options cannot refuse a tun device (OpenSSH has no key option
	// for it): without the block this is the control, sshd tries to open
	// one.
	name := "tun device forward refused"
	if !l.block {
		name = "tun device request reaches the device without the block (control)"
	}
	t.Run(name, func(t *testing.T) { r.testTunRequest(t, s, l) })

	if !l.block {
		// Nor a remote unix-socket forward; the block refuses it, as the
		// other layers show.
		return
	}
	t.Run("remote unix-socket forward refused", func(t *testing.T) {
		path := filepath.Join(r.acct.Home, "remote.sock")
		code, out := run(t, ssh(nil, []string{"-v", "-N", "-o", "ExitOnForwardFailure=yes",
			"-R", fmt.Sprintf("%s:127.0.0.1:%d", path, r.tcpPort)}))
		if code != 255 || !strings.Contains(out, "remote port forwarding failed for listen path "+path) {
			t.Fatalf("ssh -R %s: exit %d, want 255 and a refused forward:\n%s", path, code, out)
		}
		r.wantRemote(t, out, "Server has disabled streamlocal forwarding.")
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("%s was created", path)
		}
	})
}

// refusedForward opens `ssh -N -L` to target, connects through it and
// checks that nothing answers (a target that got the connection would
// answer: Docker and the hello listeners reply to the probe, benchd's gRPC
// server sends its HTTP/2 settings first) and that sshd logged denied.
// testOtherKeys checks that keys other than the shipped one — one in
// ~/.ssh/authorized_keys, a certificate from a trusted user CA — are refused
// wherever the sshd block applies. Without the block, the host's settings let
// them in (key options only govern the keys they stand in front of): that
// control, running remote and judged by controlOK, shows the refusals in the
// other layers are the block's.
func (r *rig) testOtherKeys(t *testing.T, s *testrig.SSHD, l layer, remote []string, controlOK func(code int) bool) {
	otherKeys := []struct{ name, key, cert, marker string }{
		{"key in ~/.ssh/authorized_keys", r.homeKey, "", "ED25519 SHA256:"},
		{"certificate from a trusted user CA", r.certKey, r.certKey + "-cert.pub", "ED25519-CERT SHA256:"},
	}
	for _, k := range otherKeys {
		opts := []string{"-T"}
		if k.cert != "" {
			opts = append(opts, "-o", "CertificateFile="+k.cert)
		}
		if !l.block {
			t.Run(k.name+" gets in without the block (control)", func(t *testing.T) {
				mark := s.Mark()
				code, out := run(t, s.SSH(k.key, agentUser, nil, opts, remote...))
				r.wantLog(t, s, mark, "Accepted ")
				if !controlOK(code) {
					t.Errorf("ssh: exit %d:\n%s", code, out)
				}
			})
			continue
		}
		t.Run(k.name+" refused", func(t *testing.T) {
			mark := s.Mark()
			code, out := run(t, s.SSH(k.key, agentUser, nil, opts))
			if code != 255 || !strings.Contains(out, "Permission denied (publickey") {
				t.Errorf("ssh: exit %d, want 255 and permission denied:\n%s", code, out)
			}
			line := r.wantLog(t, s, mark, "Failed publickey for "+agentUser)
			if !strings.Contains(line, k.marker) {
				t.Errorf("sshd's refusal is about another key: %s", line)
			}
			for _, l := range s.Lines(mark) {
				if strings.Contains(l, "Accepted ") {
					t.Errorf("sshd accepted something: %s", l)
				}
			}
		})
	}
}

func (r *rig) refusedForward(t *testing.T, s *testrig.SSHD, target, denied string, hits *atomic.Int64) {
	t.Helper()
	local, stop := forward(t, s, r.key, target)
	var before int64
	if hits != nil {
		before = hits.Load()
	}
	mark := s.Mark()
	if got := readAll(t, "unix", local, []byte("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")); got != "" {
		t.Errorf("read %q through the forward to %s, want nothing", got, target)
	}
	r.wantLog(t, s, mark, denied)
	if hits != nil && hits.Load() != before {
		t.Errorf("%s was reached through the forward", target)
	}
	if out := stop(); !strings.Contains(out, "open failed") {
		t.Errorf("ssh did not report the refused channel:\n%s", out)
	}
}

// testNoTCPForwarding keeps the reason for `AllowTcpForwarding local` true:
// with `no` in its place the block also refuses the forward to benchd's
// socket, although AllowStreamLocalForwarding and PermitOpen allow it.
func (r *rig) testNoTCPForwarding(t *testing.T) {
	keys := testrig.AuthorizedKeysDir(t)
	c := r.cfg
	c.AuthorizedKeysFile = keys + "/%u"
	block := render(t, c).SSHDConfig
	const local = "\tAllowTcpForwarding local\n"
	if strings.Count(block, local) != 1 {
		t.Fatalf("the block has no single %q line", local)
	}
	testrig.WriteAuthorizedKeys(t, keys, agentUser, r.pub)
	s := testrig.StartSSHD(t, testrig.SSHDConfig{Global: looseGlobal,
		Fragment: strings.Replace(block, local, "\tAllowTcpForwarding no\n", 1)})
	r.refusedForward(t, s, r.cfg.Socket, "Received request to connect to path "+r.cfg.Socket+", but the request was denied.", nil)
}

func fixtureBytes(t *testing.T, name string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testrig.SysfsFixture(), "class", "drm", "card0", "device", name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	reCall   = regexp.MustCompile(`^(\d+)\s+([a-z_][a-z0-9_]*)\(`)
	reOpen   = regexp.MustCompile(`\bopenat\(AT_FDCWD, "([^"]*)"`)
	reFamily = regexp.MustCompile(`\bsocket(?:pair)?\((AF_[A-Z0-9]+)`)
)

// testSyscalls checks the daemon's recorded system calls (strace, from
// execve to exit, over everything the other subtests made it do) against the
// unit's SystemCallFilter=, RestrictAddressFamilies=, MemoryDenyWriteExecute=
// and RestrictNamespaces=, which only systemd can enforce: a call outside
// them would fail with EPERM under the real unit.
func (r *rig) testSyscalls(t *testing.T) {
	testrig.Require(t, r.trace != "", "strace")
	sa := requireTool(t, "systemd-analyze", "systemd")
	pid := r.daemon.PID()
	r.daemon.Stop(t)
	if code := r.daemon.ExitCode(); code != 0 {
		t.Errorf("benchd exited %d after SIGTERM:\n%s", code, r.daemon.Log())
	}
	if err := testrig.WaitStrace(r.trace, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	trace, err := os.ReadFile(r.trace)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^%d\s+execve\(`, pid)).Match(trace) {
		head := trace[:min(len(trace), 600)]
		t.Fatalf("the trace (%d bytes) has no execve by benchd (pid %d); it starts:\n%s", len(trace), pid, head)
	}

	allowed := syscallFilter(t, sa, r.unit["Service"]["SystemCallFilter"])
	used := map[string]int{}
	var families []string
	execs := 0
	for _, line := range strings.Split(string(trace), "\n") {
		if m := reCall.FindStringSubmatch(line); m != nil {
			used[m[2]]++
			switch m[2] {
			case "execve", "execveat":
				execs++
			case "mmap", "mprotect", "pkey_mprotect":
				if strings.Contains(line, "PROT_EXEC") && (m[2] != "mmap" || strings.Contains(line, "PROT_WRITE")) {
					t.Errorf("MemoryDenyWriteExecute would refuse: %s", line)
				}
			case "unshare", "setns":
				t.Errorf("RestrictNamespaces would refuse: %s", line)
			}
			if strings.Contains(line, "CLONE_NEW") {
				t.Errorf("RestrictNamespaces would refuse: %s", line)
			}
		}
		if m := reFamily.FindStringSubmatch(line); m != nil && !slices.Contains(families, m[1]) {
			families = append(families, m[1])
		}
		if strings.Contains(line, "runs in 32 bit mode") {
			t.Errorf("SystemCallArchitectures=native would refuse: %s", line)
		}
	}
	if len(used) < 10 {
		t.Fatalf("the trace holds only %d distinct calls; strace did not follow benchd", len(used))
	}
	var names, outside []string
	for n := range used {
		names = append(names, n)
		if !allowed[n] {
			outside = append(outside, n)
		}
	}
	slices.Sort(names)
	slices.Sort(outside)
	t.Logf("benchd made %d distinct system calls: %s", len(names), strings.Join(names, " "))
	if len(outside) > 0 {
		t.Errorf("calls outside SystemCallFilter=%v: %v", r.unit["Service"]["SystemCallFilter"], outside)
	}
	if execs != 1 {
		t.Errorf("%d execve calls; benchd runs no program itself (its tools run in the container)", execs)
	}
	opened := map[string]bool{}
	for _, m := range reOpen.FindAllStringSubmatch(string(trace), -1) {
		opened[m[1]] = true
	}
	t.Logf("opened: %v", slices.Sorted(maps.Keys(opened)))
	permitted := strings.Fields(r.unit.Value("Service", "RestrictAddressFamilies"))
	for _, f := range families {
		if !slices.Contains(permitted, f) {
			t.Errorf("socket family %s outside RestrictAddressFamilies=%v", f, permitted)
		}
	}
	t.Logf("socket families: %v (RestrictAddressFamilies=%v)", families, permitted)
}

// syscallFilter evaluates SystemCallFilter= lines the way systemd does (the
// first line, if an allow list, sets the set; later ones add, ~ ones remove),
// with the groups as this systemd defines them.
func syscallFilter(t *testing.T, sa string, lines []string) map[string]bool {
	t.Helper()
	out, err := exec.Command(sa, "syscall-filter", "--no-pager").Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter: %v", err)
	}
	groups := map[string][]string{}
	cur := ""
	for _, l := range strings.Split(string(out), "\n") {
		switch s := strings.TrimSpace(l); {
		case strings.HasPrefix(l, "@"):
			cur = s
		case strings.HasPrefix(l, "#") || s == "":
			if strings.HasPrefix(l, "#") {
				cur = ""
			}
		case strings.HasPrefix(s, "#"):
		case cur != "":
			groups[cur] = append(groups[cur], s)
		}
	}
	var expand func(string, map[string]bool) map[string]bool
	expand = func(name string, into map[string]bool) map[string]bool {
		if !strings.HasPrefix(name, "@") {
			into[name] = true
			return into
		}
		members, ok := groups[name]
		if !ok {
			t.Fatalf("systemd-analyze knows no group %s", name)
		}
		for _, m := range members {
			expand(m, into)
		}
		return into
	}
	allowed := map[string]bool{}
	for i, l := range lines {
		deny := strings.HasPrefix(l, "~")
		if i == 0 && deny {
			t.Fatalf("SystemCallFilter= starts with a deny list; want an allow list")
		}
		set := map[string]bool{}
		for _, f := range strings.Fields(strings.TrimPrefix(l, "~")) {
			expand(f, set)
		}
		for n := range set {
			if deny {
				delete(allowed, n)
			} else {
				allowed[n] = true
			}
		}
	}
	if len(allowed) < 50 {
		t.Fatalf("SystemCallFilter=%v allows only %d calls; parsing went wrong", lines, len(allowed))
	}
	return allowed
}
