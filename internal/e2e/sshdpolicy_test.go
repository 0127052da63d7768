package e2e

// Where the sshd block stands and what its PermitOpen admits: a hostile
// Match before it wins (which is why the module puts the block first and
// asserts it), one after it does not, lines after it apply to every user
// again (Match all); the block survives the shell here-document NixOS
// writes extraConfig through; and a TCP forward to a host named like the
// socket's path passes PermitOpen and dies at name resolution.

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/benchd/benchd/internal/testrig"
)

// hostileMatch is what another module might add to sshd_config: a Match
// that also matches the agent's login and opens what the block closes.
const hostileMatch = `Match all
	AllowTcpForwarding yes
	PermitOpen any
	X11Forwarding yes
	PermitTTY yes
	AcceptEnv *
`

// sshdT writes conf (after a host key) and returns `sshd -T -C` for user as
// a map, and the command line and its relevant output for the log.
func sshdT(t *testing.T, conf, user string) (map[string]string, string) {
	t.Helper()
	sshd := requireTool(t, "sshd", "openssh-server")
	dir := t.TempDir()
	key := filepath.Join(dir, "host_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(path, []byte("HostKey "+key+"\nUsePAM no\n"+conf), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := "user=" + user + ",host=agent.example,addr=192.0.2.7,laddr=127.0.0.1,lport=22"
	out, err := exec.Command(sshd, "-T", "-f", path, "-C", spec).CombinedOutput()
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s\n%s", err, out, conf)
	}
	m := map[string]string{}
	var shown []string
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			// sshd -T prints one acceptenv line per accepted name.
			if k == "acceptenv" && m[k] != "" {
				v = m[k] + " " + v
			}
			m[k] = v
			switch k {
			case "allowtcpforwarding", "permitopen", "x11forwarding", "permittty", "acceptenv", "forcecommand":
				shown = append(shown, "  "+l)
			}
		}
	}
	return m, "$ sshd -T -f sshd_config -C " + spec + "\n" + strings.Join(shown, "\n")
}

// placement evaluates one of render.nix's placement checks (blockIsFirst,
// acceptEnvAfterBlock), the module's assertions, for c's block against
// extraConfig.
func placement(t *testing.T, check string, c testrig.DeployConfig, extraConfig string) bool {
	t.Helper()
	ni := requireTool(t, "nix-instantiate", "nix-bin")
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra")
	if err := os.WriteFile(extra, []byte(extraConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	expr := `(import ` + filepath.Join(testrig.NixDir(), "render.nix") + ` { benchd = "` + c.Benchd + `"; forceCommand = "` +
		c.ForceCommand + `"; }).` + check + ` (builtins.readFile "` + extra + `")`
	out, err := nixCmd(ni, "--eval", "--expr", expr).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("nix-instantiate: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("nix-instantiate: %v", err)
	}
	return strings.TrimSpace(string(out)) == "true"
}

// TestSSHDHostileEarlierMatch shows with `sshd -T` why the block must come
// first, that the module's assertion (render.nix's blockIsFirst) tells the
// two placements apart, and that the block's closing `Match all` hands
// later lines back to every user.
func TestSSHDHostileEarlierMatch(t *testing.T) {
	requireTool(t, "ssh-keygen", "openssh-client")
	c := renderConfigs["docker-exec"]
	block := render(t, c).SSHDConfig
	if !strings.HasSuffix(block, "\nMatch all\n") {
		t.Fatalf("the block does not end with Match all:\n%s", block)
	}
	global := strings.Join(looseGlobal, "\n") + "\n"

	t.Run("hostile Match before the block wins", func(t *testing.T) {
		extra := hostileMatch + block
		m, transcript := sshdT(t, global+extra, "ai-worker")
		t.Logf("hostile Match before benchd's block:\n%s", transcript)
		if m["permitopen"] != "any" || m["allowtcpforwarding"] != "yes" || !strings.HasPrefix(m["acceptenv"], "* ") {
			t.Errorf("the earlier Match did not win for ai-worker (then this test shows nothing):\n%s", transcript)
		}
		if placement(t, "blockIsFirst", c, extra) {
			t.Errorf("the module's assertion accepts a Match before the block")
		}
	})
	t.Run("the block first, as the module places it, holds", func(t *testing.T) {
		extra := block + hostileMatch
		m, transcript := sshdT(t, global+extra, "ai-worker")
		t.Logf("benchd's block first, the same hostile Match after it:\n%s", transcript)
		for k, v := range map[string]string{"permitopen": "[/run/benchd/benchd.sock]:*", "allowtcpforwarding": "local",
			"x11forwarding": "no", "permittty": "no", "forcecommand": c.ForceCommand} {
			if m[k] != v {
				t.Errorf("effective %s for ai-worker = %q, want the block's %q", k, m[k], v)
			}
		}
		if !placement(t, "blockIsFirst", c, extra) {
			t.Errorf("the module's assertion refuses the block placed first")
		}
		// AcceptEnv is the exception: the names of every matching Match
		// add up, so the later block's "*" joins the block's one name.
		// The module refuses an AcceptEnv after its block for that reason.
		if m["acceptenv"] != "BENCHD_ACCEPTS_NO_ENVIRONMENT *" {
			t.Errorf("acceptenv %q: want the later block's names added to the block's (if sshd now takes the first value, simplify the module)", m["acceptenv"])
		}
		if !placement(t, "acceptEnvAfterBlock", c, extra) {
			t.Errorf("the module's assertion misses the AcceptEnv after the block")
		}
		safe := block + strings.ReplaceAll(hostileMatch, "\tAcceptEnv *\n", "")
		m, _ = sshdT(t, global+safe, "ai-worker")
		if m["acceptenv"] != "BENCHD_ACCEPTS_NO_ENVIRONMENT" || placement(t, "acceptEnvAfterBlock", c, safe) {
			t.Errorf("without AcceptEnv after the block: acceptenv %q, or the assertion still objects", m["acceptenv"])
		}
	})
	t.Run("lines after the block apply to every user", func(t *testing.T) {
		// A line another module appends, meant for everyone.
		extra := block + "PermitTTY no\n"
		m, _ := sshdT(t, global+extra, "alice")
		if m["permittty"] != "no" {
			t.Errorf("a line after the block does not reach another user (permittty %q): the block must end with Match all", m["permittty"])
		}
		// Without the closing Match all it would be the agent's alone.
		open := strings.TrimSuffix(block, "Match all\n")
		m, _ = sshdT(t, global+open+"PermitTTY no\n", "alice")
		if m["permittty"] != "yes" {
			t.Errorf("control: without Match all the line should have been captured by the block (permittty %q)", m["permittty"])
		}
	})
}

// TestSSHDBlockSurvivesHeredoc: NixOS's sshd module writes extraConfig as
// `cat settings - >$out <<EOL` … `EOL`, an unquoted here-document, so the
// shell expands backquotes, $ and backslashes in it. The rendered blocks go
// through the same construct unchanged.
func TestSSHDBlockSurvivesHeredoc(t *testing.T) {
	bash := requireTool(t, "bash", "bash")
	for _, c := range []testrig.DeployConfig{renderConfigs["docker-exec"], dialStdioConfig(renderConfigs["docker-exec"])} {
		block := render(t, c).SSHDConfig
		script := "cat - <<EOL\n" + block + "\nEOL\n"
		out, err := exec.Command(bash, "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		if string(out) != block+"\n" {
			t.Errorf("%s block changed in the here-document:\n%s", c.Transport, out)
		}
	}
}

// TestSSHDDirectTCPIPToSocketName opens, through the real sshd with the
// shipped block and key options, a raw direct-tcpip channel (a TCP forward)
// whose host is the string of benchd's socket path. PermitOpen
// "[path]:*" matches it (OpenSSH matches a unix-socket forward as host =
// path with a port of its own, and "*" takes any port), so the refusal is
// not the policy's: sshd tries to resolve the name and fails, the channel
// open fails with "connect failed", and nothing is connected. A TCP forward
// to an address, and a unix forward to the path, are the controls.
func TestSSHDDirectTCPIPToSocketName(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (creates an account, runs sshd)")
	requireTool(t, "sshd", "openssh-server")
	requireTool(t, "ssh-keygen", "openssh-client")
	base, err := testrig.ReadableDir(t, "", "bd-tcpip-")
	if err != nil {
		t.Fatal(err)
	}
	keys := testrig.AuthorizedKeysDir(t)
	c := testrig.DeployConfig{Benchd: "/usr/bin/benchd", ForceCommand: testrig.NoLogin(), User: agentUser,
		Socket: filepath.Join(base, "benchd", "benchd.sock"), AuthorizedKeysFile: keys + "/%u"}
	d := render(t, c)
	testrig.CreateAccount(t, agentUser)

	// A stand-in for benchd's socket that answers "hello", and a TCP
	// listener: anything that reached either would show.
	if err := os.Mkdir(filepath.Dir(c.Socket), 0o755); err != nil {
		t.Fatal(err)
	}
	ul, err := net.Listen("unix", c.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.Socket, 0o666); err != nil {
		t.Fatal(err)
	}
	var unixHits, tcpHits atomic.Int64
	serveHello(t, ul, &unixHits)
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveHello(t, tl, &tcpHits)

	keyPath, pub := testrig.GenerateKey(t, base, "agent")
	testrig.WriteAuthorizedKeys(t, keys, agentUser, d.KeyOptions+" "+pub)
	s := testrig.StartSSHD(t, testrig.SSHDConfig{Fragment: d.SSHDConfig})
	cl := rawSSH(t, s, keyPath, agentUser)

	t.Run("unix forward to the socket works (control)", func(t *testing.T) {
		conn, err := cl.Dial("unix", c.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var buf bytes.Buffer
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := buf.ReadFrom(conn); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal(err)
		}
		if buf.String() != "hello\n" || unixHits.Load() != 1 {
			t.Errorf("read %q, %d connections; want hello through the forward", buf.String(), unixHits.Load())
		}
	})
	t.Run("TCP forward to an address is refused by the policy (control)", func(t *testing.T) {
		mark := s.Mark()
		_, err := cl.Dial("tcp", tl.Addr().String())
		var oe *ssh.OpenChannelError
		if !errors.As(err, &oe) || oe.Reason != ssh.Prohibited {
			t.Fatalf("err %v, want administratively prohibited", err)
		}
		line, err := s.WaitFor(mark, "but the request was denied", 15*time.Second)
		if err != nil {
			t.Fatalf("%v\n%s", err, strings.Join(s.Lines(mark), "\n"))
		}
		t.Logf("%v\nsshd: %s", oe, line)
	})
	t.Run("TCP forward to the socket path as a host name", func(t *testing.T) {
		mark := s.Mark()
		for _, port := range []string{"22", strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)} {
			_, err := cl.Dial("tcp", net.JoinHostPort(c.Socket, port))
			var oe *ssh.OpenChannelError
			if !errors.As(err, &oe) || oe.Reason != ssh.ConnectionFailed {
				t.Fatalf("direct-tcpip to host %q port %s: err %v, want connect failed", c.Socket, port, err)
			}
			t.Logf("direct-tcpip to host %q port %s: %v", c.Socket, port, oe)
		}
		line, err := s.WaitFor(mark, "connect_to "+c.Socket, 15*time.Second)
		if err != nil {
			t.Fatalf("%v\n%s", err, strings.Join(s.Lines(mark), "\n"))
		}
		t.Logf("sshd: %s", line)
		for _, l := range s.Lines(mark) {
			if strings.Contains(l, "but the request was denied") {
				t.Errorf("the policy refused it after all (update the docs, which say it does not): %s", l)
			}
		}
		if tcpHits.Load() != 0 || unixHits.Load() != 1 {
			t.Errorf("something was reached: %d TCP, %d unix connections", tcpHits.Load(), unixHits.Load())
		}
	})
}

// rawSSH logs in to s as user with the private key at keyPath through
// golang.org/x/crypto/ssh, for channel requests sent as they are, without
// what the ssh client does first (resolving a host, opening a local tun
// device). The connection is closed when the test ends.
func rawSSH(t *testing.T, s *testrig.SSHD, keyPath, user string) *ssh.Client {
	t.Helper()
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port), &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		// The sshd this test started on loopback.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// OpenSSH's tunnel modes and "any unit" for a tun@openssh.com channel
// (OpenSSH's PROTOCOL, 2.3).
const (
	tunModePointToPoint = 1 // layer 3, ssh -w with Tunnel=point-to-point
	tunModeEthernet     = 2 // layer 2, Tunnel=ethernet
	tunUnitAny          = 0x7fffffff
)

// testTunRequest asks sshd for a tun device forward the way `ssh -w any`
// does once it has opened its own tun device: a tun@openssh.com channel
// open with the tunnel mode and unit (PROTOCOL 2.3), sent directly, so that
// sshd is asked whatever the client side could open. sshd's log tells the
// two outcomes apart (the reason it sends the client, "Server has rejected
// tunnel device forwarding", is an SSH_MSG_DEBUG, which Go's client drops
// and sshd logs only at DEBUG3): after a valid mode, the policy
// (PermitTunnel) is the only check before sshd opens a device, so a failed
// open with no device attempt logged is the policy's refusal. With the
// block that is what happens in both modes, and sshd's effective
// PermitTunnel for the agent is no. Without it (the control: the global
// PermitTunnel yes, and no key option refuses a tun device) the same request
// passes the policy and sshd tries to open a device for the account, which
// cannot (no CAP_NET_ADMIN), so the open fails there.
func (r *rig) testTunRequest(t *testing.T, s *testrig.SSHD, l layer) {
	want := map[bool]string{true: "no", false: "yes"}[l.block]
	if got := effectivePermitTunnel(t, s); got != want {
		t.Errorf("sshd's effective PermitTunnel for %s: %q, want %q", agentUser, got, want)
	}
	cl := rawSSH(t, s, r.key, agentUser)
	for _, mode := range []uint32{tunModePointToPoint, tunModeEthernet} {
		mark := s.Mark()
		ch, reqs, err := cl.OpenChannel("tun@openssh.com", ssh.Marshal(struct{ Mode, Unit uint32 }{mode, tunUnitAny}))
		if err == nil {
			go ssh.DiscardRequests(reqs)
			ch.Close()
			t.Fatalf("mode %d: sshd opened a tun device for %s", mode, agentUser)
		}
		var oe *ssh.OpenChannelError
		if !errors.As(err, &oe) {
			t.Fatalf("mode %d: %v, want the channel open refused", mode, err)
		}
		r.wantLog(t, s, mark, "failure tun@openssh.com")
		var tun []string
		for _, line := range s.Lines(mark) {
			if strings.Contains(line, "tun@openssh.com") || strings.Contains(line, "tun_open") {
				tun = append(tun, line)
			}
		}
		t.Logf("tun@openssh.com mode %d: %v; sshd:\n%s", mode, err, strings.Join(tun, "\n"))
		tried := strings.Contains(strings.Join(tun, "\n"), "tun_open")
		if l.block && tried {
			t.Errorf("mode %d: sshd went on to open a device despite the block", mode)
		}
		if !l.block {
			if !tried {
				t.Errorf("mode %d: without the block sshd did not try to open a device (then the refusals show nothing)", mode)
			}
			r.wantLog(t, s, mark, "tun_open")
		}
	}
}

// effectivePermitTunnel is `sshd -T`'s PermitTunnel for the agent's login
// from loopback under s's configuration.
func effectivePermitTunnel(t *testing.T, s *testrig.SSHD) string {
	t.Helper()
	sshd := requireTool(t, "sshd", "openssh-server")
	out, err := exec.Command(sshd, "-T", "-f", s.ConfigFile, "-C", "user="+agentUser+",host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport="+strconv.Itoa(s.Port)).CombinedOutput()
	if err != nil {
		t.Fatalf("sshd -T: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "permittunnel "); ok {
			return v
		}
	}
	t.Fatalf("sshd -T printed no permittunnel:\n%s", out)
	return ""
}
