// Package e2e tests the deployment of nix/: the shipped systemd unit and sshd
// policy, rendered the way the NixOS module renders them, checked by the
// tools that judge them (systemd-analyze, sshd -t/-T, nix-instantiate) and,
// in ssh_test.go, run for real.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/benchd/benchd/internal/testrig"
)

// maxExposure is the highest `systemd-analyze security` exposure the unit may
// have (issue 3).
const maxExposure = 1.5

func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	testrig.Require(t, err == nil, name+" (Debian package "+pkg+")")
	return p
}

func render(t *testing.T, c testrig.DeployConfig) *testrig.Deployment {
	t.Helper()
	d, err := testrig.RenderDeployment(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// renderConfigs are the configurations the unit is judged in: the default
// docker-exec one and the http:// one, which opens the network.
var renderConfigs = map[string]testrig.DeployConfig{
	"docker-exec": {Benchd: "/nix/store/00000000000000000000000000000000-benchd-0.1.0/bin/benchd", ForceCommand: "/run/current-system/sw/bin/nologin"},
	"http": {Benchd: "/usr/bin/benchd", ForceCommand: "/usr/sbin/nologin", Ollama: "http://127.0.0.1:11434",
		Socket: "/run/benchd/api.sock", Container: "llm", VRAMSource: "sysfs", ExtraArgs: []string{"--sysfs-root", "/sys", "--log-level", "debug"},
		User: "bench", AuthorizedKeysFile: "/etc/ssh/authorized_keys.d/%u"},
}

var reExposure = regexp.MustCompile(`Overall exposure level for benchd\.service: ([0-9.]+) `)

// TestUnitExposure runs `systemd-analyze security --offline=yes` on the
// rendered unit and holds its exposure to maxExposure. Unknown or misspelt
// directives, which systemd would ignore, fail the test too.
func TestUnitExposure(t *testing.T) {
	sa := requireTool(t, "systemd-analyze", "systemd")
	for name, c := range renderConfigs {
		t.Run(name, func(t *testing.T) {
			d := render(t, c)
			path := filepath.Join(t.TempDir(), "benchd.service")
			if err := os.WriteFile(path, []byte(d.Unit), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(sa, "security", "--offline=yes", "--no-pager", path)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("systemd-analyze security: %v\n%s%s", err, stdout.String(), stderr.String())
			}
			if s := stderr.String(); strings.Contains(s, "Unknown") || strings.Contains(s, "ignoring") || strings.Contains(s, "Failed") {
				t.Errorf("systemd complains about the unit:\n%s", s)
			}
			m := reExposure.FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("no exposure line in:\n%s", stdout.String())
			}
			exposure, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", name, strings.TrimSpace(m[0]))
			if exposure > maxExposure {
				t.Errorf("exposure %.1f > %.1f:\n%s", exposure, maxExposure, stdout.String())
			}
		})
	}
}

// TestUnitModes checks what the rendering switches with the ollama mode.
func TestUnitModes(t *testing.T) {
	for name, c := range renderConfigs {
		d := render(t, c)
		u, err := testrig.ParseUnit(d.Unit)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"User": "benchd", "Group": "benchd", "SupplementaryGroups": "docker",
			"MemoryMax": "512M", "TasksMax": "256", "LimitNOFILE": "4096",
			"RuntimeDirectory": "benchd", "RuntimeDirectoryMode": "0750", "UMask": "0077",
			"StateDirectory": "benchd", "StateDirectoryMode": "0700",
			"NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "PrivateDevices": "yes",
			"ProtectSystem": "strict", "MemoryDenyWriteExecute": "yes", "Restart": "on-failure",
			"PrivateNetwork": "yes", "IPAddressDeny": "any", "RestrictAddressFamilies": "AF_UNIX",
		}
		if name == "http" {
			want["PrivateNetwork"], want["IPAddressDeny"], want["RestrictAddressFamilies"] = "no", "", "AF_UNIX AF_INET AF_INET6"
		}
		for k, v := range want {
			if !u.Has("Service", k) || u.Value("Service", k) != v {
				t.Errorf("%s: %s=%q, want %q", name, k, u.Value("Service", k), v)
			}
		}
		if !strings.HasPrefix(u.Value("Service", "ExecStart"), c.Benchd+" --socket ") {
			t.Errorf("%s: ExecStart=%q", name, u.Value("Service", "ExecStart"))
		}
		// The agent's login is a client, admitted by name.
		if !strings.Contains(u.Value("Service", "ExecStart")+" ", " --allow-user "+d.Config.User+" ") {
			t.Errorf("%s: ExecStart=%q does not admit %s", name, u.Value("Service", "ExecStart"), d.Config.User)
		}
		// The legacy layout: one account, nothing to admit.
		legacy := c
		legacy.ServiceUser = d.Config.User
		lu, err := testrig.ParseUnit(render(t, legacy).Unit)
		if err != nil {
			t.Fatal(err)
		}
		if lu.Value("Service", "User") != d.Config.User || lu.Value("Service", "Group") != d.Config.User ||
			strings.Contains(lu.Value("Service", "ExecStart"), "--allow-user") {
			t.Errorf("%s, legacy layout: User=%s Group=%s ExecStart=%s", name, lu.Value("Service", "User"),
				lu.Value("Service", "Group"), lu.Value("Service", "ExecStart"))
		}
	}
}

// TestNixFilesParse parses every .nix file of the repository.
func TestNixFilesParse(t *testing.T) {
	ni := requireTool(t, "nix-instantiate", "nix-bin")
	var files []string
	err := filepath.WalkDir(testrig.RepoRoot(), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "vendor" || e.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !e.IsDir() && strings.HasSuffix(p, ".nix") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"flake.nix", "nix/module.nix", "nix/package.nix", "nix/render.nix"} {
		if !slices.Contains(files, filepath.Join(testrig.RepoRoot(), want)) {
			t.Errorf("%s not found among %v", want, files)
		}
	}
	for _, f := range files {
		if out, err := nixCmd(ni, "--parse", f).CombinedOutput(); err != nil {
			t.Errorf("nix-instantiate --parse %s: %v\n%s", f, err, out)
		}
	}
}

// nixCmd runs a nix tool without the build-user setup a store would need.
func nixCmd(tool string, args ...string) *exec.Cmd {
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "NIX_CONFIG=build-users-group =")
	return cmd
}

type nixRendered struct {
	Unit       string            `json:"unit"`
	SSHDConfig string            `json:"sshdConfig"`
	KeyOptions string            `json:"keyOptions"`
	Vars       map[string]string `json:"vars"`
}

// nixRender evaluates nix/render.nix, which the NixOS module uses, with the
// harness's configuration.
func nixRender(t *testing.T, ni string, c testrig.DeployConfig) (*nixRendered, error) {
	t.Helper()
	args := map[string]any{"benchd": c.Benchd}
	for k, v := range map[string]string{"socket": c.Socket, "store": c.Store, "container": c.Container, "ollama": c.Ollama,
		"vramSource": c.VRAMSource, "user": c.User, "serviceUser": c.ServiceUser, "serviceGroup": c.ServiceGroup,
		"memoryMax": c.MemoryMax, "tasksMax": c.TasksMax, "limitNOFILE": c.LimitNOFILE,
		"authorizedKeysFile": c.AuthorizedKeysFile, "transport": c.Transport, "forceCommand": c.ForceCommand,
		"metrics": c.Metrics} {
		if v != "" {
			args[k] = v
		}
	}
	if c.ExtraArgs != nil {
		args["extraArgs"] = c.ExtraArgs
	}
	js, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	argsFile := filepath.Join(t.TempDir(), "args.json")
	if err := os.WriteFile(argsFile, js, 0o644); err != nil {
		t.Fatal(err)
	}
	// The data attributes only: blockIsFirst, a function, has no JSON.
	expr := `let r = import ` + filepath.Join(testrig.NixDir(), "render.nix") + ` (builtins.fromJSON (builtins.readFile ` + argsFile + `)); in { inherit (r) unit sshdConfig keyOptions vars; }`
	var stdout, stderr bytes.Buffer
	cmd := nixCmd(ni, "--eval", "--strict", "--json", "--expr", expr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &nixError{err: err, stderr: stderr.String()}
	}
	var r nixRendered
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("nix-instantiate output: %v\n%s", err, stdout.String())
	}
	return &r, nil
}

type nixError struct {
	err    error
	stderr string
}

func (e *nixError) Error() string { return e.err.Error() + ": " + e.stderr }

// TestNixRenderMatchesHarness holds the Go harness, whose rendering the e2e
// tests run, to byte-for-byte agreement with nix/render.nix, whose rendering
// the NixOS module installs: accepted and rejected values alike.
func TestNixRenderMatchesHarness(t *testing.T) {
	ni := requireTool(t, "nix-instantiate", "nix-bin")
	configs := map[string]testrig.DeployConfig{}
	for k, v := range renderConfigs {
		configs[k] = v
	}
	configs["e2e"] = testrig.DeployConfig{Benchd: "/tmp/benchd-pkg-1/benchd", Socket: "/tmp/bd-ssh-1/benchd/benchd.sock",
		Store:      "/tmp/bd-ssh-1/state/benchd/history.db",
		VRAMSource: "sysfs", ExtraArgs: []string{"--sysfs-root", "/tmp/bd-ssh-1/sysfs"}, User: "ai-worker",
		ForceCommand: "/usr/sbin/nologin", AuthorizedKeysFile: "/run/benchd-e2e-keys-1/%u"}
	// A forced command with words (transport "forward" takes any such command).
	configs["bridge command"] = testrig.DeployConfig{Benchd: "/usr/bin/benchd",
		ForceCommand: "/usr/bin/benchd dial-stdio --socket /run/benchd/benchd.sock"}
	// The legacy layout (one account) and other limits.
	configs["legacy layout"] = testrig.DeployConfig{Benchd: "/usr/bin/benchd", ForceCommand: "/usr/sbin/nologin",
		User: "agent", ServiceUser: "agent", MemoryMax: "1G", TasksMax: "infinity", LimitNOFILE: "65536"}
	// The Prometheus exporter: docker-exec mode, yet IP networking.
	configs["metrics"] = testrig.DeployConfig{Benchd: "/usr/bin/benchd", ForceCommand: "/usr/sbin/nologin",
		Metrics: "tcp://0.0.0.0:9464", ExtraArgs: []string{"--metrics-tls"}}
	configs["own service group"] = testrig.DeployConfig{Benchd: "/usr/bin/benchd", ForceCommand: "/usr/sbin/nologin",
		ServiceUser: "benchd-svc", ServiceGroup: "benchd-clients", MemoryMax: "30%", TasksMax: "64"}
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
		})
	}
	bad := map[string]testrig.DeployConfig{
		"socket with a space":    {Socket: "/run/benchd/a b.sock"},
		"relative socket":        {Socket: "run/benchd.sock"},
		"long socket":            {Socket: "/run/benchd/" + strings.Repeat("s", 100)},
		"ollama not http":        {Ollama: "https://example.com"},
		"percent in extra args":  {ExtraArgs: []string{"--log-level=%u"}},
		"quote in container":     {Container: `a"b`},
		"unknown vram source":    {VRAMSource: "lspci"},
		"quote in force command": {ForceCommand: `/usr/bin/benchd "x"`},
		"relative force command": {ForceCommand: "nologin"},
		"space in service user":  {ServiceUser: "bench d"},
		"memory max in bytes/s":  {MemoryMax: "1G/s"},
		"tasks max negative":     {TasksMax: "-1"},
		"nofile soft:hard text":  {LimitNOFILE: "1024:lots"},
	}
	for name, c := range bad {
		t.Run("rejects "+name, func(t *testing.T) {
			c.Benchd = "/usr/bin/benchd"
			if c.ForceCommand == "" {
				c.ForceCommand = "/usr/sbin/nologin"
			}
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

// looseGlobal is a host sshd_config that allows everything the block must
// refuse; the block has to win against it.
var looseGlobal = []string{
	"PasswordAuthentication yes",
	"KbdInteractiveAuthentication yes",
	"AllowTcpForwarding yes",
	"AllowStreamLocalForwarding yes",
	"AllowAgentForwarding yes",
	"X11Forwarding yes",
	"PermitTTY yes",
	"PermitTunnel yes",
	"PermitUserRC yes",
	"GatewayPorts yes",
	"PermitOpen any",
	"PermitListen any",
}

// TestSSHDAcceptsFragment: `sshd -t` accepts the rendered block, and `sshd -T`
// shows that for the agent's user it overrides a permissive global
// configuration while other users keep the global values.
func TestSSHDAcceptsFragment(t *testing.T) {
	sshd := requireTool(t, "sshd", "openssh-server")
	requireTool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	key := filepath.Join(dir, "host_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	c := renderConfigs["docker-exec"]
	d := render(t, c)
	conf := filepath.Join(dir, "sshd_config")
	text := "HostKey " + key + "\nUsePAM no\n" + strings.Join(looseGlobal, "\n") + "\n" + d.SSHDConfig
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
	want := map[string]string{
		"authenticationmethods":        "publickey",
		"passwordauthentication":       "no",
		"kbdinteractiveauthentication": "no",
		"hostbasedauthentication":      "no",
		"authorizedkeysfile":           "/etc/ssh/authorized_keys.d/%u",
		"authorizedkeyscommand":        "none",
		"trustedusercakeys":            "none",
		"forcecommand":                 c.ForceCommand,
		"permittty":                    "no",
		"permituserrc":                 "no",
		"x11forwarding":                "no",
		"allowagentforwarding":         "no",
		"permittunnel":                 "no",
		"allowtcpforwarding":           "local",
		"allowstreamlocalforwarding":   "local",
		"permitopen":                   "[/run/benchd/benchd.sock]:*",
		"permitlisten":                 "none",
		"gatewayports":                 "no",
		"disableforwarding":            "no",
	}
	for k, v := range want {
		if agent[k] != v {
			t.Errorf("effective %s for ai-worker = %q, want %q", k, agent[k], v)
		}
	}
	other := effective("alice")
	for k, v := range map[string]string{"allowtcpforwarding": "yes", "x11forwarding": "yes", "permittty": "yes", "permitopen": "any", "forcecommand": "none"} {
		if other[k] != v {
			t.Errorf("effective %s for another user = %q, want the global %q (the block must match only its user)", k, other[k], v)
		}
	}
}

var reVendorHash = regexp.MustCompile(`vendorHash = "(sha256-[A-Za-z0-9+/=]+)";`)

// TestVendorHash recomputes nix/package.nix's vendorHash the way nixpkgs'
// buildGoModule does (go mod vendor on the package's source: every go.mod
// and go.sum, the nested modules' too, and the non-test .go files; the NAR
// hash of the vendor directory) and fails with the value to use when it is
// stale.
func TestVendorHash(t *testing.T) {
	nixHash := requireTool(t, "nix-hash", "nix-bin")
	pkg, err := os.ReadFile(filepath.Join(testrig.NixDir(), "package.nix"))
	if err != nil {
		t.Fatal(err)
	}
	m := reVendorHash.FindSubmatch(pkg)
	if m == nil {
		t.Fatal("no vendorHash in nix/package.nix")
	}
	src := t.TempDir()
	root := testrig.RepoRoot()
	err = filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if e.IsDir() {
			if e.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		name := filepath.Base(rel)
		keep := name == "go.mod" || name == "go.sum" || (strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go"))
		if !keep || !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(src, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = src
	vendor.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GO111MODULE=on")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor: %v\n%s", err, out)
	}
	out, err := nixCmd(nixHash, "--type", "sha256", filepath.Join(src, "vendor")).Output()
	if err != nil {
		t.Fatalf("nix-hash: %v", err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(out)))
	if err != nil || len(raw) != sha256.Size {
		t.Fatalf("nix-hash printed %q", out)
	}
	got := "sha256-" + base64.StdEncoding.EncodeToString(raw)
	if got != string(m[1]) {
		t.Errorf("nix/package.nix: vendorHash = %q is stale; set it to %q", m[1], got)
	}
}
