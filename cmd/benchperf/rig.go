package main

// The deployment the measurements run against, built from the same pieces
// the e2e tests use (internal/testrig): the rig's ollama container, benchd
// built as nix/package.nix builds it and started as the shipped unit says
// (as ai-worker, docker as a supplementary group, its own network namespace),
// Debian's sshd with the shipped Match block and key options, and `ssh -N -L`
// forwards to benchd's socket. Two daemons run side by side:
//
//   - "sysfs": --vram-source sysfs on a copy of testdata/sysfs (the fixture
//     tree standing in for /sys), --container benchd-rig (the rig's own
//     container, testrig.Container). Trials, throughput, sampler cost and
//     footprint are measured on this one.
//   - "smi": --vram-source nvidia-smi, --container benchd-perf-smi: a
//     throwaway container of the rig image with a labelled fake nvidia-smi
//     that prints the recorded real output
//     testdata/fixtures/nvidia-smi/nvsmi-20g-noheader.csv. The legacy's path
//     execs the very same command in the very same container, so the two
//     sides of that comparison run the same reader. The shared rig
//     container is never modified.
//
// The legacy's baseline logs in as a separate account, benchd-legacy, with a
// shell and the docker group (what the legacy cron had). ai-worker stays as
// shipped: nologin, no docker group, forwards to one socket only.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

const (
	agentUser  = "ai-worker"
	legacyUser = "benchd-legacy"
	// smiContainer is the harness's own container for the exec'd reader.
	smiContainer = "benchd-perf-smi"
	smiLabel     = "benchd.perf=fake-nvidia-smi"
	smiFixture   = "nvsmi-20g-noheader.csv"
)

// nvidiaSMIArgv is benchd's fixed nvidia-smi command (internal/vram/tool.go);
// the legacy path runs the same words.
var nvidiaSMIArgv = []string{"nvidia-smi", "--query-gpu=index,name,memory.total,memory.used", "--format=csv,noheader,nounits"}

// fakeNvidiaSMI is installed as /usr/bin/nvidia-smi in smiContainer only.
const fakeNvidiaSMI = `#!/bin/bash
# FAKE nvidia-smi, installed by benchd's performance harness (cmd/benchperf) in its
# own throwaway container ` + smiContainer + `. There is no GPU here: it
# prints a recorded real output of
#   nvidia-smi --query-gpu=index,name,memory.total,memory.used --format=csv,noheader,nounits
# (testdata/fixtures/nvidia-smi/` + smiFixture + `), so that the legacy path
# and benchd exec the same reader.
exec cat /benchd-perf/` + smiFixture + `
`

// daemon is one benchd deployment and the ways in to it.
type daemon struct {
	name   string
	binary string // the benchd binary this deployment runs
	// direct: no sshd or forward; the harness calls the socket (as root,
	// which --allow-uid admits).
	direct bool
	cfg    testrig.DeployConfig
	d      *testrig.Daemon
	sshd   *testrig.SSHD
	key    string // the agent's private key for this deployment
	fwd    string // the local end of ssh -N -L
	tunnel *client.Client
}

type rig struct {
	cl        *testrig.Cleanups
	base      string
	agent     *testrig.Account
	legacy    *testrig.Account
	legacyKey string
	sysfs     *daemon
	smi       *daemon
	binary    string
	// before: the sysfs deployment again, running the -benchd build (e.g.
	// the base commit's), measured side by side with sysfs; nil without
	// -benchd.
	before *daemon
	// bridge and http: the checkout's build against the harness's own
	// ollama container (ollamaContainer), over the Docker exec bridge and
	// over plain HTTP; nil with -bridge=false.
	bridge, http *daemon
	ollamaPort   int
	// features: the checkout's build with --metrics and a card with
	// telemetry (features.go), at featuresAddr; nil with -features=false.
	features     *daemon
	featuresAddr string
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchperf: "+format+"\n", args...)
}

// setupRig builds the deployment, with the benchd binary at prebuilt if
// that is set; cl undoes it.
func setupRig(ctx context.Context, cl *testrig.Cleanups, prebuilt string, bridgeVsHTTP, features bool) (*rig, error) {
	r := &rig{cl: cl}
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (creates accounts, runs sshd and benchd as the unit says)")
	}
	for tool, pkg := range map[string]string{"docker": "docker.io", "ssh": "openssh-client", "ssh-keygen": "openssh-client",
		"sshd": "openssh-server", "setpriv": "util-linux", "unshare": "util-linux", "useradd": "passwd"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err2 := exec.LookPath("/usr/sbin/" + tool); err2 != nil {
				return nil, fmt.Errorf("%s not found (Debian package %s)", tool, pkg)
			}
		}
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker info: %v\n%s", err, out)
	}
	step("rig: testdata/rig/rig.sh ensure (builds the ollama image on first use, 4-6 min)")
	if err := testrig.EnsureOllama(); err != nil {
		return nil, err
	}
	var err error
	step("building benchd as nix/package.nix does (CGO_ENABLED=0, -trimpath, -s -w)")
	if r.binary, err = testrig.BuildPackage(cl); err != nil {
		return nil, err
	}
	var before string
	if prebuilt != "" {
		// Another build (e.g. the base commit's), copied where the
		// service user can run it, deployed side by side with the
		// checkout's for the before/after columns.
		step("before/after: the -benchd binary %s runs side by side with the checkout's build", prebuilt)
		if before, err = copyBinary(cl, prebuilt); err != nil {
			return nil, err
		}
	}
	if r.base, err = testrig.ReadableDir(cl, "", "bd-perf-"); err != nil {
		return nil, err
	}
	sysfs := filepath.Join(r.base, "sysfs")
	if err := testrig.CopyTree(testrig.SysfsFixture(), sysfs); err != nil {
		return nil, err
	}

	step("accounts: %s (the legacy baseline only: bash, docker group); the shipped ones come with the first deployment", legacyUser)
	if r.legacy, err = testrig.NewAccount(cl, legacyUser, testrig.AccountOptions{Shell: "/bin/bash", Groups: []string{"docker"}}); err != nil {
		return nil, err
	}

	step("container %s: the rig image with a labelled fake nvidia-smi (the shared rig container is not touched)", smiContainer)
	if err := startSMIContainer(ctx, cl, r.base); err != nil {
		return nil, err
	}

	keys := filepath.Join(r.base, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		return nil, err
	}
	var legacyPub string
	if r.legacyKey, legacyPub, err = testrig.NewKeyPair(keys, "legacy"); err != nil {
		return nil, err
	}
	// The harness (root) calls the sysfs daemon's socket directly for the
	// throughput and footprint measurements, so that daemon also admits
	// uid 0 (--allow-uid, a documented flag the unit passes through).
	sysfsArgs := []string{"--sysfs-root", sysfs, "--allow-uid", fmt.Sprint(os.Getuid())}
	r.sysfs = &daemon{name: "sysfs", binary: r.binary, cfg: testrig.DeployConfig{
		VRAMSource: "sysfs", Container: testrig.Container, ExtraArgs: sysfsArgs,
	}}
	r.smi = &daemon{name: "smi", binary: r.binary, cfg: testrig.DeployConfig{
		VRAMSource: "nvidia-smi", Container: smiContainer,
	}}
	all := []*daemon{r.sysfs, r.smi}
	if before != "" {
		r.before = &daemon{name: "before", binary: before, cfg: testrig.DeployConfig{
			VRAMSource: "sysfs", Container: testrig.Container, ExtraArgs: sysfsArgs,
		}}
		all = append(all, r.before)
	}
	if bridgeVsHTTP {
		step("container %s: the rig image on the host network (ollama on a free 127.0.0.1 port), for the bridge-vs-HTTP comparison", ollamaContainer)
		if r.ollamaPort, err = startOllamaContainer(ctx, cl); err != nil {
			return nil, err
		}
		port := fmt.Sprint(r.ollamaPort)
		r.bridge = &daemon{name: "bridge", binary: r.binary, direct: true, cfg: testrig.DeployConfig{
			VRAMSource: "sysfs", Container: ollamaContainer, ExtraArgs: append([]string{"--ollama-port", port}, sysfsArgs...),
		}}
		r.http = &daemon{name: "http", binary: r.binary, direct: true, cfg: testrig.DeployConfig{
			VRAMSource: "sysfs", Ollama: "http://127.0.0.1:" + port, ExtraArgs: sysfsArgs,
		}}
		all = append(all, r.bridge, r.http)
	}
	if features {
		if r.features, r.featuresAddr, err = featuresDaemon(r, r.binary); err != nil {
			return nil, err
		}
		all = append(all, r.features)
	}
	for _, d := range all {
		if err := r.startDaemon(ctx, d, keys, legacyPub); err != nil {
			return nil, fmt.Errorf("%s daemon: %w", d.name, err)
		}
	}
	return r, nil
}

// startDaemon renders the shipped files for d, starts benchd from the unit,
// an sshd with the Match block, and the forward.
func (r *rig) startDaemon(ctx context.Context, d *daemon, keys, legacyPub string) error {
	dir := filepath.Join(r.base, d.name)
	akDir, err := testrig.NewAuthorizedKeysDir(r.cl)
	if err != nil {
		return err
	}
	d.cfg.Benchd = d.binary
	d.cfg.Socket = filepath.Join(dir, "benchd", "benchd.sock")
	d.cfg.Store = filepath.Join(dir, "state", "benchd", "history.db")
	d.cfg.User = agentUser
	d.cfg.ForceCommand = testrig.NoLogin()
	d.cfg.AuthorizedKeysFile = akDir + "/%u"
	dep, err := testrig.RenderDeployment(d.cfg)
	if err != nil {
		return err
	}
	if r.agent == nil {
		// Once: both daemons' deployments name the same accounts, and a
		// second creation would wait on the first one's lock.
		accts, err := testrig.NewDeployAccounts(r.cl, dep)
		if err != nil {
			return err
		}
		r.agent = accts.Agent
		step("accounts as shipped: %s (benchd's own, docker group in the unit only), %s (the login, nologin, in %s's group)",
			accts.Service.Name, accts.Agent.Name, accts.Service.Name)
	}
	step("%s: benchd per nix/benchd.service, ExecStart=%s", d.name, execStart(dep.Unit))
	if d.d, err = testrig.LaunchService(r.cl, dep.Unit, testrig.ServiceOptions{}); err != nil {
		return err
	}
	if d.direct {
		if d.tunnel, err = client.New(d.cfg.Socket); err != nil {
			return err
		}
		r.cl.Cleanup(func() { d.tunnel.Close() })
		return nil
	}
	var pub string
	if d.key, pub, err = testrig.NewKeyPair(keys, "agent-"+d.name); err != nil {
		return err
	}
	if err := testrig.WriteAuthorizedKeysFile(akDir, agentUser, dep.KeyOptions+" "+pub); err != nil {
		return err
	}
	if err := testrig.WriteAuthorizedKeysFile(akDir, legacyUser, legacyPub); err != nil {
		return err
	}
	// LogLevel INFO as a stock sshd has it: the legacy path opens 200+
	// sessions and should not pay for DEBUG1 logging.
	if d.sshd, err = testrig.LaunchSSHD(r.cl, testrig.SSHDConfig{
		Global:   []string{"AuthorizedKeysFile " + akDir + "/%u"},
		Fragment: dep.SSHDConfig,
		LogLevel: "INFO",
	}); err != nil {
		return err
	}
	if d.fwd, err = r.forward(ctx, d); err != nil {
		return err
	}
	if d.tunnel, err = client.New(d.fwd); err != nil {
		return err
	}
	r.cl.Cleanup(func() { d.tunnel.Close() })
	step("%s: sshd on 127.0.0.1:%d with nix/sshd-benchd.conf, ssh -N -L %s:%s", d.name, d.sshd.Port, d.fwd, d.cfg.Socket)
	return nil
}

func copyBinary(cl *testrig.Cleanups, src string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	dir, err := testrig.ReadableDir(cl, "", "benchd-pkg-")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "benchd")
	return dst, os.WriteFile(dst, b, 0o755)
}

func execStart(unit string) string {
	u, err := testrig.ParseUnit(unit)
	if err != nil {
		return ""
	}
	return u.Value("Service", "ExecStart")
}

// forward runs `ssh -N -L <local>:<socket> ai-worker@127.0.0.1` and returns
// the local socket once it exists.
func (r *rig) forward(ctx context.Context, d *daemon) (string, error) {
	local := filepath.Join(r.base, d.name+"-fwd.sock")
	cmd := d.sshd.SSH(d.key, agentUser, nil, []string{"-N", "-o", "ExitOnForwardFailure=yes",
		"-o", "ServerAliveInterval=30", "-L", local + ":" + d.cfg.Socket})
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cl.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(local); err == nil && fi.Mode().Type() == fs.ModeSocket {
			return local, nil
		}
		select {
		case <-done:
			return "", fmt.Errorf("ssh -L exited: %s", out.String())
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("ssh -L: %s did not appear within 20s", local)
		}
	}
}

// startSMIContainer (re)creates smiContainer from the rig's image with the
// fake nvidia-smi and the fixture. A container of that name that this
// harness did not label is left alone (and the run fails).
func startSMIContainer(ctx context.Context, cl *testrig.Cleanups, base string) error {
	docker := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if label, err := docker("container", "inspect", "-f", `{{ index .Config.Labels "benchd.perf" }}`, smiContainer); err == nil {
		if "benchd.perf="+label != smiLabel {
			return fmt.Errorf("a container named %s exists without the label %s; not touching it", smiContainer, smiLabel)
		}
		if _, err := docker("rm", "-f", smiContainer); err != nil {
			return err
		}
	}
	image, err := docker("container", "inspect", "-f", "{{.Config.Image}}", testrig.Container)
	if err != nil {
		return err
	}
	// `cat` with an open stdin (-i) idles until the container is removed;
	// the image has no sleep.
	if _, err := docker("create", "-i", "--name", smiContainer, "--label", smiLabel, "--network", "none", image, "cat"); err != nil {
		return err
	}
	cl.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", smiContainer).Run() })
	dir := filepath.Join(base, "smi")
	if err := os.MkdirAll(filepath.Join(dir, "benchd-perf"), 0o755); err != nil {
		return err
	}
	fixture, err := os.ReadFile(filepath.Join(testrig.RepoRoot(), "testdata", "fixtures", "nvidia-smi", smiFixture))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "benchd-perf", smiFixture), fixture, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(fakeNvidiaSMI), 0o755); err != nil {
		return err
	}
	if _, err := docker("cp", filepath.Join(dir, "benchd-perf"), smiContainer+":/benchd-perf"); err != nil {
		return err
	}
	if _, err := docker("cp", filepath.Join(dir, "nvidia-smi"), smiContainer+":/usr/bin/nvidia-smi"); err != nil {
		return err
	}
	if _, err := docker("start", smiContainer); err != nil {
		return err
	}
	out, err := docker(append([]string{"exec", smiContainer}, nvidiaSMIArgv...)...)
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != strings.TrimSpace(string(fixture)) {
		return fmt.Errorf("fake nvidia-smi in %s printed %q, want the fixture", smiContainer, out)
	}
	return nil
}

// ollamaContainer is the harness's own ollama for the bridge-vs-HTTP
// comparison: the rig image on the host network, so that plain HTTP needs
// no docker-proxy (which would add a process of its own to that path).
const (
	ollamaContainer = "benchd-perf-ollama"
	ollamaLabel     = "benchd.perf=ollama"
)

// startOllamaContainer (re)creates ollamaContainer with ollama on a free
// loopback port, creates the tiny model in it as rig.sh does, and returns
// the port. A container of that name without the label is left alone.
func startOllamaContainer(ctx context.Context, cl *testrig.Cleanups) (int, error) {
	docker := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if label, err := docker("container", "inspect", "-f", `{{ index .Config.Labels "benchd.perf" }}`, ollamaContainer); err == nil {
		if "benchd.perf="+label != ollamaLabel {
			return 0, fmt.Errorf("a container named %s exists without the label %s; not touching it", ollamaContainer, ollamaLabel)
		}
		if _, err := docker("rm", "-f", ollamaContainer); err != nil {
			return 0, err
		}
	}
	port, err := testrig.FreePort()
	if err != nil {
		return 0, err
	}
	if _, err := docker("run", "-d", "--name", ollamaContainer, "--label", ollamaLabel, "--network", "host",
		"-e", fmt.Sprintf("OLLAMA_HOST=127.0.0.1:%d", port), testrig.RigImage, "ollama", "serve"); err != nil {
		return 0, err
	}
	cl.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", ollamaContainer).Run() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := docker("exec", ollamaContainer, "ollama", "list"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("ollama in %s not ready within 60s", ollamaContainer)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := docker("exec", ollamaContainer, "ollama", "create", "tiny", "-f", "/models/Modelfile"); err != nil {
		return 0, err
	}
	return port, nil
}
