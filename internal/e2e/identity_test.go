package e2e

// The daemon and the agent's login as separate accounts, under attack: code
// that runs as ai-worker (what a post-authentication sshd bug, an earlier
// Match block or a bridge bug would give an attacker) tries everything the
// same-uid layout allowed against the daemon that serves it. The attacker is
// this test binary, re-executed (TestMain) as ai-worker with setpriv and the
// account's own groups, reporting each attempt's errno as JSON.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

// attackEnv carries the attacker's target (an attackTarget as JSON); when
// set, the test binary is the attacker and runs no tests.
const attackEnv = "BENCHD_E2E_ATTACK"

func TestMain(m *testing.M) {
	if v := os.Getenv(attackEnv); v != "" {
		os.Exit(attack(v))
	}
	os.Exit(m.Run())
}

// attackTarget is what the attacker goes for.
type attackTarget struct {
	PID                   int
	Socket, Store, TLSKey string
}

// attempt is one attack and its outcome: OK, or the errno that stopped it.
type attempt struct {
	Name   string
	OK     bool
	Errno  string
	Detail string
}

// attack runs as the agent's login and prints one JSON attempt a line.
func attack(spec string) int {
	var tg attackTarget
	if err := json.Unmarshal([]byte(spec), &tg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	report := func(name string, err error, detail string) {
		a := attempt{Name: name, OK: err == nil, Detail: detail}
		if err != nil {
			var en syscall.Errno
			if errors.As(err, &en) {
				a.Errno = unix.ErrnoName(en)
			}
			a.Detail = err.Error()
		}
		_ = enc.Encode(a)
	}

	// Signals: SIGSTOP (which nothing can catch), checked in /proc, then
	// SIGCONT. The permission check is the same for SIGKILL.
	err := unix.Kill(tg.PID, unix.SIGSTOP)
	detail := ""
	if err == nil {
		detail = "stopped: " + procState(tg.PID)
		_ = unix.Kill(tg.PID, unix.SIGCONT)
	}
	report("signal (SIGSTOP)", err, detail)

	// ptrace: PTRACE_SEIZE attaches without stopping the tracee; it is
	// detached again when this process exits. ptrace wants one thread.
	runtime.LockOSThread()
	err = unix.PtraceSeize(tg.PID)
	report("ptrace (PTRACE_SEIZE)", err, "")

	// pidfd_getfd: copy the daemon's descriptors into this process, and
	// look for its connection to the Docker socket (root on the host).
	pidfd, err := unix.PidfdOpen(tg.PID, 0)
	if err != nil {
		report("pidfd_getfd", err, "pidfd_open")
	} else {
		got, errGet := []string{}, error(nil)
		for fd := 0; fd < 64; fd++ {
			nfd, err := unix.PidfdGetfd(pidfd, fd, 0)
			if errors.Is(err, unix.EBADF) {
				continue
			}
			if err != nil {
				errGet = err
				break
			}
			if sa, err := unix.Getpeername(nfd); err == nil {
				if u, ok := sa.(*unix.SockaddrUnix); ok && u.Name != "" {
					got = append(got, fmt.Sprintf("fd %d: socket connected to %s", fd, u.Name))
				}
			}
			unix.Close(nfd)
		}
		if errGet != nil {
			report("pidfd_getfd", errGet, "")
		} else {
			report("pidfd_getfd", nil, strings.Join(got, "; "))
		}
	}

	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", tg.PID))
	report("read /proc/PID/environ", err, fmt.Sprintf("%d variables", strings.Count(string(b), "\x00")))
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", tg.PID))
	report("list /proc/PID/fd", err, fmt.Sprintf("%d descriptors", len(es)))

	f, err := os.OpenFile(tg.Store, os.O_RDWR, 0)
	detail = ""
	if err == nil {
		// benchd holds bbolt's flock; the descriptor alone can rewrite
		// the file.
		if lerr := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); lerr != nil {
			detail = "opened read-write (flock: " + lerr.Error() + ", benchd holds it)"
		} else {
			detail = "opened read-write and locked"
		}
		f.Close()
	}
	report("open history.db read-write", err, detail)

	b, err = os.ReadFile(tg.TLSKey)
	report("read the TLS key", err, fmt.Sprintf("%d bytes", len(b)))

	// Last, as it takes the socket over: a socket of the attacker's in
	// benchd's directory, renamed over benchd's.
	fake := filepath.Join(filepath.Dir(tg.Socket), ".attacker.sock")
	l, err := net.Listen("unix", fake)
	if err == nil {
		err = os.Rename(fake, tg.Socket)
		if err == nil {
			detail = "benchd's path now leads to the attacker's socket"
			if c, derr := net.Dial("unix", tg.Socket); derr == nil {
				if a, aerr := l.Accept(); aerr == nil {
					detail += " (a client that dialled it was accepted by the attacker)"
					a.Close()
				}
				c.Close()
			}
		}
		l.Close()
	}
	report("replace the socket (bind in its directory, rename over it)", err, detail)
	return 0
}

// procState is the state field of /proc/PID/stat ("T" when stopped).
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return err.Error()
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return s
}

// yamaScope is kernel.yama.ptrace_scope, or -1 where the kernel has no Yama.
func yamaScope(t *testing.T) int {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if errors.Is(err, os.ErrNotExist) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIdentitySeparation runs the attack as ai-worker against benchd
// started from the rendered unit, behind the real sshd with the shipped
// block and key: under the default layout (benchd's own account) every
// attempt fails and the agent's tunnel still works; under the legacy layout
// (serviceUser = user) the same attempts are recorded, and those that the
// shared uid opens must succeed, so that the first half means something.
func TestIdentitySeparation(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (creates accounts, runs sshd)")
	for tool, pkg := range map[string]string{"ssh": "openssh-client", "ssh-keygen": "openssh-client", "sshd": "openssh-server",
		"setpriv": "util-linux", "unshare": "util-linux", "prlimit": "util-linux", "useradd": "passwd", "docker": "docker.io"} {
		requireTool(t, tool, pkg)
	}
	testrig.Ollama(t)
	scope := yamaScope(t)
	if scope < 0 {
		t.Logf("kernel.yama.ptrace_scope: this kernel has no Yama; same-uid ptrace is governed by uids and dumpability alone")
	} else {
		t.Logf("kernel.yama.ptrace_scope = %d", scope)
	}
	for _, layout := range []string{"separate accounts (default)", "one account (legacy)"} {
		t.Run(layout, func(t *testing.T) { attackLayout(t, layout != "separate accounts (default)", scope) })
	}
}

func attackLayout(t *testing.T, legacy bool, scope int) {
	base, err := testrig.ReadableDir(t, "", "bd-id-")
	if err != nil {
		t.Fatal(err)
	}
	if err := testrig.CopyTree(testrig.SysfsFixture(), filepath.Join(base, "sysfs")); err != nil {
		t.Fatal(err)
	}
	keys := testrig.AuthorizedKeysDir(t)
	cfg := testrig.DeployConfig{
		Benchd:             testrig.PackageBinary(t),
		Socket:             filepath.Join(base, "benchd", "benchd.sock"),
		Store:              filepath.Join(base, "state", "benchd", "history.db"),
		Container:          testrig.Container,
		VRAMSource:         "sysfs",
		ExtraArgs:          []string{"--sysfs-root", filepath.Join(base, "sysfs")},
		User:               agentUser,
		ForceCommand:       testrig.NoLogin(),
		AuthorizedKeysFile: keys + "/%u",
	}
	if legacy {
		cfg.ServiceUser = agentUser
	}
	dep := render(t, cfg)
	accts := testrig.CreateDeployAccounts(t, dep)
	if dep.Config.SplitLayout() == legacy || (accts.Agent.UID == accts.Service.UID) != legacy {
		t.Fatalf("layout: legacy %v, but service %s (%d) and login %s (%d)", legacy,
			accts.Service.Name, accts.Service.UID, accts.Agent.Name, accts.Agent.UID)
	}
	d := testrig.StartService(t, dep.Unit, testrig.ServiceOptions{})
	pid := d.ServingPID(t)

	// The TLS key, installed as the documentation says: owned by the
	// service account, 0600, in a directory of root's that the service's
	// group may enter.
	tlsDir := filepath.Join(base, "tls")
	if err := os.Mkdir(tlsDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tlsDir, 0, accts.Service.GID); err != nil {
		t.Fatal(err)
	}
	tlsKey := filepath.Join(tlsDir, "server.key")
	if err := os.WriteFile(tlsKey, []byte("-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tlsKey, accts.Service.UID, accts.Service.GID); err != nil {
		t.Fatal(err)
	}
	// Control: the service account itself reads it.
	if out, err := exec.Command("setpriv", "--reuid="+strconv.Itoa(accts.Service.UID), "--regid="+strconv.Itoa(accts.Service.GID),
		"--init-groups", "--", "cat", tlsKey).CombinedOutput(); err != nil {
		t.Fatalf("the service account cannot read its own key: %v\n%s", err, out)
	}

	key, pub := testrig.GenerateKey(t, base, "agent")
	testrig.WriteAuthorizedKeys(t, keys, agentUser, dep.KeyOptions+" "+pub)
	s := testrig.StartSSHD(t, testrig.SSHDConfig{Fragment: dep.SSHDConfig})
	tunnelWorks := func(when string) {
		t.Helper()
		local, stop := forward(t, s, key, cfg.Socket)
		defer stop()
		cl, err := client.New(local)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := cl.SampleVRAM(ctx); err != nil {
			t.Fatalf("%s: SampleVRAM through the agent's tunnel: %v\nbenchd:\n%s", when, err, d.Log())
		}
		t.Logf("%s: the agent's tunnel works (SampleVRAM through ssh -N -L as %s)", when, agentUser)
	}
	tunnelWorks("before the attack")

	// The attacker: this test binary, where every account can read it,
	// run as the login with the login's own groups.
	binDir, err := testrig.ReadableDir(t, "", "bd-attacker-")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(binDir, "attacker")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(attackTarget{PID: pid, Socket: cfg.Socket, Store: cfg.Store, TLSKey: tlsKey})
	cmd := exec.Command("setpriv", "--reuid="+strconv.Itoa(accts.Agent.UID), "--regid="+strconv.Itoa(accts.Agent.GID),
		"--init-groups", "--", bin)
	cmd.Env = []string{attackEnv + "=" + string(spec), "PATH=/usr/bin:/bin", "HOME=" + accts.Agent.Home}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("attacker: %v\n%s%s", err, out, stderr.String())
	}
	var got []attempt
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a attempt
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("attacker printed %q: %v", l, err)
		}
		got = append(got, a)
	}
	var table strings.Builder
	fmt.Fprintf(&table, "as %s (uid %d) against benchd (pid %d, uid %d):\n", agentUser, accts.Agent.UID, pid, accts.Service.UID)
	for _, a := range got {
		outcome := "FAILED " + a.Errno
		if a.OK {
			outcome = "SUCCEEDED"
		}
		fmt.Fprintf(&table, "  %-62s %-16s %s\n", a.Name, outcome, a.Detail)
	}
	t.Log(table.String())
	if len(got) != 8 {
		t.Fatalf("%d attempts reported, want 8", len(got))
	}

	for _, a := range got {
		if !legacy {
			// Different uids: the kernel refuses signals, ptrace, pidfd_getfd
			// and /proc's private files with EPERM or EACCES; file modes
			// refuse the rest with EACCES.
			if a.OK || (a.Errno != "EPERM" && a.Errno != "EACCES") {
				t.Errorf("%s: %+v, want EPERM or EACCES", a.Name, a)
			}
			continue
		}
		// One uid: all of it is open, except what Yama (scope >= 1) still
		// refuses, tracing a process that is not one's descendant.
		wantOK := true
		if strings.HasPrefix(a.Name, "ptrace") || a.Name == "pidfd_getfd" {
			wantOK = scope <= 0
		}
		if a.OK != wantOK {
			t.Errorf("legacy layout: %s: %+v, want success %v (yama scope %d)", a.Name, a, wantOK, scope)
		}
	}
	if legacy {
		return
	}
	// The daemon is unharmed and still the agent's.
	if d.ServingPID(t) != pid {
		t.Errorf("another process serves the socket now")
	}
	if st := procState(pid); st != "S" && st != "R" {
		t.Errorf("benchd's state after the attack: %s", st)
	}
	tunnelWorks("after the attack")
}

// TestAllowUserUnknownName: the unit names the login with --allow-user; a
// name the host does not know stops benchd at once (exit 2, usage), rather
// than starting a daemon that admits nobody it was meant to.
func TestAllowUserUnknownName(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "benchd.sock")
	cmd := exec.Command(testrig.PackageBinary(t), "--socket", sock, "--store", filepath.Join(t.TempDir(), "h.db"),
		"--allow-user", "benchd-e2e-no-such-user")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "--allow-user benchd-e2e-no-such-user: user: unknown user") {
		t.Errorf("benchd --allow-user <unknown>: %v, want exit 2 naming the user:\n%s", err, out)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("benchd created its socket before refusing")
	}
}
