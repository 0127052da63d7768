package e2e

// The dial-stdio transport (services.benchd.transport = "dial-stdio"), for
// real: the same account, daemon and sshd as ssh_test.go, but sshd renders
// nix/sshd-benchd-dial-stdio.conf and the key carries
// nix/authorized_keys-dial-stdio.options. The Go client dials through
// `ssh -T` (client.NewSSH), whose session sshd hands to the forced
// `benchd dial-stdio`; every other thing the key might try — a forward of any
// kind, agent or X11 forwarding, a pty, another command, environment for the
// shell — is refused or ends up in the bridge, shown by sshd's own log line
// (or the reason it sends the client) and by the absence of its effect. As in
// ssh_test.go the policy is tried as shipped (block and key options), as the
// sshd block alone (a bare key) and as the key options alone (no block), each
// against a permissive global sshd_config (which here also accepts every
// environment variable).

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/e2e/pyclient"
	"github.com/benchd/benchd/internal/testrig"
)

// dialStdioConfig is cfg with the dial-stdio transport.

// auditLineWait bounds the wait for benchd's audit line of a call the test
// saw finish: benchd writes it within internal/logbuf.Delay.
const auditLineWait = 10 * time.Second

func dialStdioConfig(cfg testrig.DeployConfig) testrig.DeployConfig {
	cfg.Transport, cfg.ForceCommand = "dial-stdio", ""
	return cfg
}

func TestSSHDialStdio(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (creates an account, runs sshd)")
	for tool, pkg := range map[string]string{"ssh": "openssh-client", "ssh-keygen": "openssh-client", "ssh-agent": "openssh-client",
		"sshd": "openssh-server", "setpriv": "util-linux", "unshare": "util-linux", "useradd": "passwd", "usermod": "passwd",
		"docker": "docker.io", "dash": "dash"} {
		requireTool(t, tool, pkg)
	}
	testrig.Ollama(t)
	r := setup(t)

	// sshd runs a forced command through the login shell's -c, so the
	// module gives the account dash in this mode, not nologin.
	dash, _ := exec.LookPath("dash")
	if out, err := exec.Command("usermod", "--shell", dash, agentUser).CombinedOutput(); err != nil {
		t.Fatalf("usermod --shell %s %s: %v\n%s", dash, agentUser, err, out)
	}

	// The transport changes the sshd block and the key options only: the
	// unit TestUnitExposure judges is the same.
	if fwd, ds := render(t, r.cfg), render(t, dialStdioConfig(r.cfg)); fwd.Unit != ds.Unit {
		t.Errorf("the unit depends on the transport")
	}

	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) { r.testDialStdioLayer(t, l) })
	}

	r.evMu.Lock()
	t.Logf("sshd's record of the refused attempts (sshd log lines, or the reason sshd sent the client as 'Remote:'):\n%s", strings.Join(r.evidence, "\n"))
	r.evMu.Unlock()
}

// runSplit runs cmd to completion (at most 60s) with stdin from /dev/null and
// returns its exit code, stdout and stderr.
func runSplit(t *testing.T, cmd *exec.Cmd) (int, []byte, string) {
	t.Helper()
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
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
		t.Fatalf("%v did not finish within 60s:\n%s%s", cmd.Args, stdout.String(), stderr.String())
	}
	return cmd.ProcessState.ExitCode(), []byte(stdout.String()), stderr.String()
}

// isHTTP2Settings reports whether b starts with an HTTP/2 SETTINGS frame on
// stream 0: what benchd's gRPC server sends first on every connection, so
// output that starts with it came from benchd through the bridge.
func isHTTP2Settings(b []byte) bool {
	return len(b) >= 9 && b[3] == 0x4 && b[4] == 0 && bytes.Equal(b[5:9], []byte{0, 0, 0, 0})
}

func (r *rig) testDialStdioLayer(t *testing.T, l layer) {
	keys := testrig.AuthorizedKeysDir(t)
	c := dialStdioConfig(r.cfg)
	c.AuthorizedKeysFile = keys + "/%u"
	d := render(t, c)
	bridge := d.Vars["forceCommand"]
	if want := c.Benchd + " dial-stdio --socket " + c.Socket; bridge != want {
		t.Fatalf("rendered forced command %q, want %q", bridge, want)
	}
	if l.keyOptions && d.KeyOptions != `restrict,command="`+bridge+`"` {
		t.Fatalf("key options %q", d.KeyOptions)
	}
	line := r.pub
	if l.keyOptions {
		line = d.KeyOptions + " " + r.pub
	}
	testrig.WriteAuthorizedKeys(t, keys, agentUser, line)
	// The host also trusts ~/.ssh/authorized_keys and a user CA, and
	// accepts any environment variable from clients.
	sc := testrig.SSHDConfig{Global: append(slices.Clone(looseGlobal), "TrustedUserCAKeys "+r.caPub, "AcceptEnv *")}
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
	forced := "Starting session: forced-command (key-option) '" + bridge + "' for " + agentUser
	if l.block {
		forced = "Starting session: forced-command (config) '" + bridge + "' for " + agentUser
	}

	t.Run("client.NewSSH through ssh -T works", func(t *testing.T) {
		// The harness's own ssh command line, minus "ssh" and the
		// destination: -F /dev/null, the key, the port, the pinned host key.
		base := ssh(nil, nil)
		sshArgs, dest := base.Args[1:len(base.Args)-1], base.Args[len(base.Args)-1]
		mark := s.Mark()
		cl, err := client.NewSSH(dest, sshArgs)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		gpus, err := cl.SampleVRAM(ctx)
		if err != nil {
			t.Fatalf("SampleVRAM through ssh -T and dial-stdio: %v\nsshd:\n%s\nbenchd:\n%s", err, strings.Join(s.Lines(mark), "\n"), r.daemon.Log())
		}
		total, used := fixtureBytes(t, "mem_info_vram_total"), fixtureBytes(t, "mem_info_vram_used")
		if len(gpus) != 1 || gpus[0].Source != "sysfs" || gpus[0].TotalBytes != total || gpus[0].UsedBytes != used {
			t.Errorf("SampleVRAM: %+v, want the fixture's one GPU (%d bytes, %d used)", gpus, total, used)
		}
		if l.name == "shipped" {
			warmup := 0
			res, err := cl.RunBenchmark(ctx, client.BenchmarkRequest{Model: testrig.Model, Repetitions: 1, Warmup: &warmup, MaxTokens: 8}, nil)
			if err != nil {
				t.Fatalf("RunBenchmark through ssh -T and dial-stdio: %v\nbenchd:\n%s", err, r.daemon.Log())
			}
			if res.Summary == nil || res.Summary.Trials != 1 || len(res.Trials) != 1 || res.Trials[0].EvalCount <= 0 || res.Model != testrig.Model {
				t.Errorf("RunBenchmark: %+v", res)
			}
		}
		// The session ran the forced bridge, not the "benchd dial-stdio"
		// the client asked for.
		started, err := s.WaitFor(mark, forced, 15*time.Second)
		if err != nil {
			t.Fatalf("%v; sshd said:\n%s", err, strings.Join(s.Lines(mark), "\n"))
		}
		t.Logf("allowed: %s", started)
		// benchd's audit line: the caller is the bridge, as the account.
		uid := fmt.Sprintf("caller.uid=%d", r.acct.UID)
		_, found := r.daemon.WaitLog(func(l string) bool {
			return strings.Contains(l, "grpc.method=SampleVRAM") && strings.Contains(l, uid) && strings.Contains(l, "grpc.code=OK")
		}, auditLineWait)
		if !found {
			t.Errorf("benchd logged no SampleVRAM call with %s:\n%s", uid, r.daemon.Log())
		}
	})

	if l.name == "shipped" {
		t.Run("benchctl --host ssh:// runs a benchmark from a person's ~/.ssh/config", func(t *testing.T) {
			r.benchctlOverSSH(t, s, forced)
		})
		t.Run("the Python client's ssh:// runs a benchmark from a person's ~/.ssh/config", func(t *testing.T) {
			r.pythonOverSSH(t, s, forced)
		})
		t.Run("benchctl mcp --host ssh:// serves the Go SDK's MCP client", func(t *testing.T) {
			r.mcpOverSSH(t, s, forced)
		})
	}

	// Control without the block: `true` runs (as the bridge) and succeeds.
	r.testOtherKeys(t, s, l, []string{"true"}, func(code int) bool { return code == 0 })

	// A directory the account may write to: a command that ran as the
	// account would leave its marker here.
	markerDir, err := os.MkdirTemp("", "bd-marker-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(markerDir) })
	if err := os.Chown(markerDir, r.acct.UID, r.acct.GID); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(markerDir, "marker")
	control := exec.Command("setpriv", "--reuid="+strconv.Itoa(r.acct.UID), "--regid="+strconv.Itoa(r.acct.GID), "--clear-groups",
		"--", "touch", filepath.Join(markerDir, "control"))
	if out, err := control.CombinedOutput(); err != nil {
		t.Fatalf("touch in %s as %s (control): %v\n%s", markerDir, agentUser, err, out)
	}

	const preload = "/nonexistent/benchd-e2e-preload.so"
	sessions := []struct {
		name   string
		env    []string
		opts   []string
		remote []string
		// clientGivesUp: ssh itself ends the session, exit 255.
		clientGivesUp bool
		check         func(t *testing.T, stdout []byte, stderr string, mark int)
	}{
		{name: "another command runs the bridge instead", opts: []string{"-T"}, remote: []string{"touch", marker},
			check: func(t *testing.T, stdout []byte, stderr string, mark int) {
				if _, err := os.Lstat(marker); err == nil {
					t.Errorf("%s was created: the command ran", marker)
				}
			}},
		{name: "a shell runs the bridge instead", opts: []string{"-T"}},
		{name: "the sftp subsystem runs the bridge instead", opts: []string{"-T", "-s"}, remote: []string{"sftp"}},
		// ssh -tt gives up on a session whose pty was refused (exit 255)
		// once sshd answers; sshd has started the bridge by then.
		{name: "pty refused", opts: []string{"-tt"}, clientGivesUp: true, check: func(t *testing.T, stdout []byte, stderr string, mark int) {
			if !strings.Contains(stderr, "PTY allocation request failed") {
				t.Errorf("ssh -tt got a pty:\n%s", stderr)
			}
			r.wantLog(t, s, mark, "Allocating a pty not permitted for this connection.")
		}},
		{name: "agent forwarding refused", env: []string{"SSH_AUTH_SOCK=" + r.agentSock}, opts: []string{"-T", "-v", "-A"},
			check: func(t *testing.T, stdout []byte, stderr string, mark int) {
				if !strings.Contains(stderr, "Requesting authentication agent forwarding.") {
					t.Fatalf("ssh -A did not ask for agent forwarding (is the agent up?):\n%s", stderr)
				}
				r.wantLog(t, s, mark, "session_auth_agent_req: agent forwarding disabled")
			}},
		{name: "X11 forwarding refused", env: []string{"DISPLAY=127.0.0.1:0"}, opts: []string{"-T", "-v", "-X"},
			check: func(t *testing.T, stdout []byte, stderr string, mark int) {
				if !strings.Contains(stderr, "X11 forwarding request failed") {
					t.Errorf("ssh -X was not refused:\n%s", stderr)
				}
				if l.keyOptions {
					r.wantRemote(t, stderr, "X11 forwarding disabled by key options.")
				} else {
					r.wantLog(t, s, mark, "X11 forwarding disabled in server configuration file.")
				}
			}},
		{name: "client environment not accepted", opts: []string{"-T", "-o", "SetEnv=LD_PRELOAD=" + preload},
			check: func(t *testing.T, stdout []byte, stderr string, mark int) {
				// The dynamic loader of the shell that runs the bridge
				// complains about a preload it was given.
				reached := strings.Contains(stderr, preload)
				switch {
				case l.block && reached:
					t.Errorf("LD_PRELOAD reached the session although the block accepts no environment:\n%s", stderr)
				case l.block:
					r.note(t, "session: no loader complaint about "+preload+": LD_PRELOAD was not accepted")
				case !l.block && !reached:
					// Control: key options cannot refuse environment,
					// and this host accepts all of it; the probe must
					// show that, or its silence above means nothing.
					t.Errorf("without the block LD_PRELOAD should reach the session under AcceptEnv *; the probe is broken:\n%s", stderr)
				case !l.block:
					t.Logf("without the block (control): %s", lastLine(stderr))
				}
			}},
	}
	for _, sc := range sessions {
		t.Run(sc.name, func(t *testing.T) {
			mark := s.Mark()
			code, stdout, stderr := runSplit(t, ssh(sc.env, sc.opts, sc.remote...))
			// What the session got is the bridge: benchd's gRPC server
			// speaks first, and hangs up on a client that sends nothing.
			if sc.clientGivesUp {
				if code != 255 {
					t.Errorf("ssh %v %v: exit %d, want 255\n%s", sc.opts, sc.remote, code, stderr)
				}
			} else if code != 0 || !isHTTP2Settings(stdout) {
				t.Errorf("ssh %v %v: exit %d and stdout %q, want 0 and benchd's HTTP/2 SETTINGS frame\n%s", sc.opts, sc.remote, code, stdout, stderr)
			}
			r.wantLog(t, s, mark, forced)
			if sc.check != nil {
				sc.check(t, stdout, stderr, mark)
			}
		})
	}

	for _, f := range []struct {
		name, target, refused string
		hits                  *atomic.Int64
	}{
		{"forward to benchd's socket refused", r.cfg.Socket, "refused streamlocal port forward: originator ", nil},
		{"forward to the Docker socket refused", "/var/run/docker.sock", "refused streamlocal port forward: originator ", nil},
		{"forward to another unix socket refused", r.otherSock, "refused streamlocal port forward: originator ", &r.otherHits},
		{"TCP forward refused", "127.0.0.1:" + strconv.Itoa(r.tcpPort), "refused local port forward: originator ", &r.tcpHits},
	} {
		t.Run(f.name, func(t *testing.T) {
			target := "target " + f.target
			if h, p, err := net.SplitHostPort(f.target); err == nil {
				target = "target " + h + " port " + p
			}
			local, stop := forward(t, s, r.key, f.target)
			var before int64
			if f.hits != nil {
				before = f.hits.Load()
			}
			mark := s.Mark()
			// Anything that got the connection would answer: benchd's
			// gRPC server and Docker send bytes, the hello listeners too.
			if got := readAll(t, "unix", local, []byte("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")); got != "" {
				t.Errorf("read %q through the forward to %s, want nothing", got, f.target)
			}
			line := r.wantLog(t, s, mark, f.refused)
			if !strings.HasSuffix(line, target) {
				t.Errorf("sshd's refusal is about another target (want %q): %s", target, line)
			}
			if f.hits != nil && f.hits.Load() != before {
				t.Errorf("%s was reached through the forward", f.target)
			}
			if out := stop(); !strings.Contains(out, "open failed") {
				t.Errorf("ssh did not report the refused channel:\n%s", out)
			}
		})
	}

	t.Run("remote TCP forward refused", func(t *testing.T) {
		port, err := freeTCPPort()
		if err != nil {
			t.Fatal(err)
		}
		code, out := run(t, ssh(nil, []string{"-v", "-N", "-o", "ExitOnForwardFailure=yes",
			"-R", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", port, r.tcpPort)}))
		if code != 255 || !strings.Contains(out, fmt.Sprintf("remote port forwarding failed for listen port %d", port)) {
			t.Fatalf("ssh -R: exit %d, want 255 and a refused forward:\n%s", code, out)
		}
		r.wantRemote(t, out, "Server has disabled port forwarding.")
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second); err == nil {
			c.Close()
			t.Errorf("something listens on 127.0.0.1:%d", port)
		}
	})
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
	// No key option refuses a tun device (the account cannot open one: it
	// needs CAP_NET_ADMIN); the block refuses it. Without the block this is
	// the control: sshd tries to open one.
	name := "tun device forward refused"
	if !l.block {
		name = "tun device request reaches the device without the block (control)"
	}
	t.Run(name, func(t *testing.T) { r.testTunRequest(t, s, l) })
}

// TestSSHDAcceptsDialStdioFragment: `sshd -t` accepts the rendered
// dial-stdio block, and `sshd -T` shows that for the agent's user it forces
// the bridge and turns every kind of forwarding off against a permissive
// global configuration, while other users keep the global values.
func TestSSHDAcceptsDialStdioFragment(t *testing.T) {
	sshd := requireTool(t, "sshd", "openssh-server")
	requireTool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	key := filepath.Join(dir, "host_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	c := dialStdioConfig(renderConfigs["docker-exec"])
	d := render(t, c)
	conf := filepath.Join(dir, "sshd_config")
	global := append(slices.Clone(looseGlobal), "AcceptEnv *")
	text := "HostKey " + key + "\nUsePAM no\n" + strings.Join(global, "\n") + "\n" + d.SSHDConfig
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(sshd, "-t", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("sshd -t rejects the rendered block: %v\n%s", err, out)
	}
	effective := func(user string) map[string]string {
		out, err := exec.Command(sshd, "-T", "-f", conf, "-C", "user="+user+",host=agent.example,addr=192.0.2.7,laddr=127.0.0.1,lport=22").CombinedOutput()
		if err != nil {
			t.Fatalf("sshd -T: %v\n%s", err, out)
		}
		m := map[string]string{}
		for _, l := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(l, " "); ok {
				m[k] = v
			}
		}
		return m
	}
	agent := effective("ai-worker")
	for k, v := range map[string]string{
		"authenticationmethods":        "publickey",
		"passwordauthentication":       "no",
		"kbdinteractiveauthentication": "no",
		"hostbasedauthentication":      "no",
		"authorizedkeysfile":           "/etc/ssh/authorized_keys.d/%u",
		"authorizedkeyscommand":        "none",
		"trustedusercakeys":            "none",
		"forcecommand":                 c.Benchd + " dial-stdio --socket /run/benchd/benchd.sock",
		"acceptenv":                    "BENCHD_ACCEPTS_NO_ENVIRONMENT",
		"permittty":                    "no",
		"permituserrc":                 "no",
		"x11forwarding":                "no",
		"allowagentforwarding":         "no",
		"permittunnel":                 "no",
		"disableforwarding":            "yes",
		"allowtcpforwarding":           "no",
		"allowstreamlocalforwarding":   "no",
		"permitopen":                   "none",
		"permitlisten":                 "none",
		"gatewayports":                 "no",
	} {
		if agent[k] != v {
			t.Errorf("effective %s for ai-worker = %q, want %q", k, agent[k], v)
		}
	}
	other := effective("alice")
	for k, v := range map[string]string{"allowtcpforwarding": "yes", "disableforwarding": "no", "permitopen": "any",
		"forcecommand": "none", "acceptenv": "*"} {
		if other[k] != v {
			t.Errorf("effective %s for another user = %q, want the global %q (the block must match only its user)", k, other[k], v)
		}
	}
}

// TestNixRenderDialStdio holds the Go harness and nix/render.nix to the same
// text with the dial-stdio transport, and to the same refusals.
func TestNixRenderDialStdio(t *testing.T) {
	ni := requireTool(t, "nix-instantiate", "nix-bin")
	configs := map[string]testrig.DeployConfig{
		"defaults": dialStdioConfig(renderConfigs["docker-exec"]),
		"http":     dialStdioConfig(renderConfigs["http"]),
		"e2e": dialStdioConfig(testrig.DeployConfig{Benchd: "/tmp/benchd-pkg-1/benchd", Socket: "/tmp/bd-ssh-1/benchd/benchd.sock",
			Store: "/tmp/bd-ssh-1/state/benchd/history.db", VRAMSource: "sysfs", ExtraArgs: []string{"--sysfs-root", "/tmp/bd-ssh-1/sysfs"},
			User: "ai-worker", AuthorizedKeysFile: "/run/benchd-e2e-keys-1/%u"}),
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			n, err := nixRender(t, ni, c)
			if err != nil {
				t.Fatal(err)
			}
			g := render(t, c)
			for _, f := range []struct{ what, nix, go_ string }{
				{"unit", n.Unit, g.Unit}, {"sshd config", n.SSHDConfig, g.SSHDConfig}, {"key options", n.KeyOptions, g.KeyOptions},
			} {
				if f.nix != f.go_ {
					t.Errorf("%s differs:\n--- nix/render.nix\n%s\n--- testrig.RenderDeployment\n%s", f.what, f.nix, f.go_)
				}
			}
			if len(n.Vars) != len(g.Vars) {
				t.Errorf("placeholders: nix has %d, Go %d", len(n.Vars), len(g.Vars))
			}
			bridge := g.Config.Benchd + " dial-stdio --socket " + g.Config.Socket
			if g.KeyOptions != `restrict,command="`+bridge+`"` {
				t.Errorf("key options %q", g.KeyOptions)
			}
			if !strings.Contains(g.SSHDConfig, "\n\tForceCommand "+bridge+"\n") {
				t.Errorf("the block does not force %q:\n%s", bridge, g.SSHDConfig)
			}
			fwd := c
			fwd.Transport, fwd.ForceCommand = "", "/usr/sbin/nologin"
			if render(t, fwd).Unit != g.Unit {
				t.Errorf("the unit depends on the transport")
			}
		})
	}
	bad := map[string]testrig.DeployConfig{
		"force command with dial-stdio":   {Transport: "dial-stdio", ForceCommand: "/usr/sbin/nologin"},
		"unknown transport":               {Transport: "ssh", ForceCommand: "/usr/sbin/nologin"},
		"forward without a command":       {Transport: "forward"},
		"dial-stdio with a spaced socket": {Transport: "dial-stdio", Socket: "/run/benchd/a b.sock"},
	}
	for name, c := range bad {
		t.Run("rejects "+name, func(t *testing.T) {
			c.Benchd = "/usr/bin/benchd"
			if _, err := testrig.RenderDeployment(c); err == nil {
				t.Errorf("Go harness accepted %+v", c)
			}
			if _, err := nixRender(t, ni, c); err == nil {
				t.Errorf("render.nix accepted %+v", c)
			} else if ne, ok := err.(*nixError); !ok || !strings.Contains(ne.stderr, "benchd:") {
				t.Errorf("render.nix failed for another reason: %v", err)
			}
		})
	}
}

// person is an account with an ~/.ssh/config entry "gpu-host" for the
// agent's login on s: someone at another machine.
func (r *rig) person(t *testing.T, s *testrig.SSHD) *testrig.Account {
	human := testrig.CreateAccount(t, "benchd-e2e-human")
	if err := s.WriteClientConfig(human, "gpu-host", r.key, agentUser); err != nil {
		t.Fatal(err)
	}
	return human
}

// as runs argv as account a, with a's home and nothing else from this
// process's environment but PATH.
func as(a *testrig.Account, env []string, argv ...string) *exec.Cmd {
	cmd := exec.Command("setpriv", append([]string{"--reuid=" + strconv.Itoa(a.UID), "--regid=" + strconv.Itoa(a.GID), "--clear-groups", "--"}, argv...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + a.Home}, env...)
	return cmd
}

// pythonOverSSH is benchctlOverSSH with the Python client installed by pip:
// Client("ssh://gpu-host") runs ssh per connection through its relay.
func (r *rig) pythonOverSSH(t *testing.T, s *testrig.SSHD, forced string) {
	v := pyclient.Install(t)
	human := r.person(t, s)
	mark := s.Mark()
	code, stdout, stderr := runSplit(t, as(human, []string{"XDG_RUNTIME_DIR=" + human.Home}, v.Python, "-c", `
import sys
from benchd_client import Client
c = Client("ssh://gpu-host")
print("health", c.health())
r = c.run_benchmark(sys.argv[1], repetitions=2, warmup=0, max_tokens=8)
print("benchmark", r.benchmark_id, "trials", len(r.measured), "eval_count", r.measured[0].eval_count)
c.close()
`, testrig.Model))
	t.Logf("Python Client(\"ssh://gpu-host\") as %s:\n%s%s", human.Name, stdout, stderr)
	if code != 0 || !strings.Contains(string(stdout), "health SERVING") || !strings.Contains(string(stdout), "trials 2") {
		t.Fatalf("exit %d\nsshd:\n%s\nbenchd:\n%s", code, strings.Join(s.Lines(mark), "\n"), r.daemon.Log())
	}
	if _, err := s.WaitFor(mark, forced, 15*time.Second); err != nil {
		t.Errorf("%v: the session was not the forced bridge; sshd said:\n%s", err, strings.Join(s.Lines(mark), "\n"))
	}
}

// benchctlOverSSH is a person at another machine: their own account, an
// ~/.ssh/config entry "gpu-host" (port, user, key, known host), and
// `benchctl --host ssh://gpu-host run …` with no tunnel made by hand.
// benchctl runs ssh, sshd hands the session to the forced bridge under the
// shipped policy, and the benchmark runs on benchd as the agent's account.
func (r *rig) benchctlOverSSH(t *testing.T, s *testrig.SSHD, forced string) {
	human := r.person(t, s)
	bin := readableBenchctl(t)
	mark := s.Mark()
	code, stdout, stderr := runSplit(t, as(human, nil,
		bin, "--host", "ssh://gpu-host", "run", testrig.Model, "--reps", "2", "--warmup", "0", "--max-tokens", "8"))
	if code != 0 {
		t.Fatalf("benchctl --host ssh://gpu-host run: exit %d\n%s%s\nsshd:\n%s\nbenchd:\n%s", code, stdout, stderr,
			strings.Join(s.Lines(mark), "\n"), r.daemon.Log())
	}
	t.Logf("$ benchctl --host ssh://gpu-host run %s --reps 2 --warmup 0 --max-tokens 8   (as %s, ~/.ssh/config: Host gpu-host)\n%s%s",
		testrig.Model, human.Name, stdout, stderr)
	if !strings.Contains(string(stdout), testrig.Model) {
		t.Errorf("benchctl printed no result for %s", testrig.Model)
	}
	if _, err := s.WaitFor(mark, forced, 15*time.Second); err != nil {
		t.Errorf("%v: the session was not the forced bridge; sshd said:\n%s", err, strings.Join(s.Lines(mark), "\n"))
	}
	// benchd's audit line: the benchmark ran for the agent's account.
	uid := fmt.Sprintf("caller.uid=%d", r.acct.UID)
	_, ran := r.daemon.WaitLog(func(l string) bool {
		return strings.Contains(l, "grpc.method=RunBenchmark") && strings.Contains(l, uid) && strings.Contains(l, "grpc.code=OK")
	}, auditLineWait)
	if !ran {
		t.Errorf("benchd logged no RunBenchmark with %s:\n%s", uid, r.daemon.Log())
	}
}
