package faults_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mobyclient "github.com/moby/moby/client"
	"google.golang.org/grpc/codes"

	"github.com/benchd/benchd/internal/testrig"
)

// TestVRAMToolFloodIsStoppedUnderTheUnitSandbox runs a VRAM tool that
// never stops printing (the nvidia-smi double's flood mode) against a
// benchd started the way the shipped unit starts it: the real
// nix/benchd.service rendered and launched by testrig.StartService, i.e.
// as the unit's (non-root) User= with the docker group, no capabilities,
// no new privileges, a private network and ProtectProc=invisible /
// ProcSubset=pid (a private procfs mounted hidepid=invisible,subset=pid).
// Each read ends in INTERNAL at the 1 MiB bound and the flooding tool is
// gone afterwards (benchd's reaper exec finds it by its exec marker from
// inside the container), with no "could not be stopped" in the error or
// the log.
//
// The control shows why the old mechanism (ExecInspect's host pid, then
// /proc/<pid>/status for NSpid) could not work there: a running exec of the
// tool, started the way benchd starts one, has a host pid that the
// daemon's uid can read outside the sandbox but not inside the daemon's
// own mount namespace, where the procfs hides other users' processes.
func TestVRAMToolFloodIsStoppedUnderTheUnitSandbox(t *testing.T) {
	testrig.Require(t, os.Geteuid() == 0, "root (to start benchd as the unit's user in its sandbox)")
	for _, tool := range []string{"nsenter", "setpriv"} {
		_, err := exec.LookPath(tool)
		testrig.Require(t, err == nil, tool+" (util-linux)")
	}
	// The unit's daemon reaches Docker at the default socket; so must the
	// test, or they would talk to different engines.
	h := os.Getenv("DOCKER_HOST")
	testrig.Require(t, h == "" || h == "unix:///var/run/docker.sock", "the default Docker socket (DOCKER_HOST="+h+": the unit's benchd uses the default socket)")
	c := startRig(t, shared)
	c.installNvidiaSMIDouble(t)

	// Short and world-traversable: the service user must reach its socket
	// and store directories (unix socket paths are limited).
	base, err := os.MkdirTemp("", "bd-flood-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	rendered, err := testrig.RenderDeployment(testrig.DeployConfig{
		Benchd:     testrig.PackageBinary(t),
		Socket:     filepath.Join(base, "benchd", "benchd.sock"),
		Store:      filepath.Join(base, "state", "benchd", "history.db"),
		Container:  c.name,
		VRAMSource: "nvidia-smi",
		// The test calls benchd as root, which only its own uid may.
		ExtraArgs:    []string{"--allow-uid", "0"},
		User:         "bd-flood",
		ForceCommand: testrig.NoLogin(),
	})
	if err != nil {
		t.Fatal(err)
	}
	unit, err := testrig.ParseUnit(rendered.Unit)
	if err != nil {
		t.Fatal(err)
	}
	if v := unit.Value("Service", "ProtectProc"); v != "invisible" {
		t.Fatalf("the unit has ProtectProc=%q; this test is about ProtectProc=invisible", v)
	}
	for _, name := range unitAccounts(unit) {
		testrig.CreateAccount(t, name)
	}
	d := withClient(t, testrig.StartService(t, rendered.Unit, testrig.ServiceOptions{}))
	cl := d.cl
	pid := d.ServingPID(t)
	uid, gid, groups := procCreds(t, pid)
	t.Logf("benchd (pid %d) runs as uid %s gid %s groups %q; unit User=%s ProtectProc=%s ProcSubset=%s",
		pid, uid, gid, groups, unit.Value("Service", "User"), unit.Value("Service", "ProtectProc"), unit.Value("Service", "ProcSubset"))
	if uid == "0" {
		t.Fatal("benchd runs as root; the unit's sandbox is not what this test is about")
	}

	c.setNvidiaSMIMode(t, "good")
	if _, err := cl.SampleVRAM(context.Background()); err != nil {
		t.Fatalf("the double's good output: %v", err)
	}

	c.setNvidiaSMIMode(t, "flood")
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		_, err := cl.SampleVRAM(ctx)
		cancel()
		wantCode(t, err, codes.Internal, "more than 1048576 bytes of output")
		if strings.Contains(err.Error(), "could not be stopped") {
			t.Fatalf("read %d: benchd could not stop the tool: %v", i, err)
		}
		// benchd returns once the engine has seen the exec end; allow a
		// moment for the container's /proc to agree.
		testrig.Poll(t, 5*time.Second, "no nvidia-smi left running", func() bool { return c.nvidiaSMIRunning(t) == "" })
		t.Logf("read %d: INTERNAL after %v, no nvidia-smi left running", i, time.Since(start).Round(time.Millisecond))
	}
	if log := d.Log(); strings.Contains(log, "could not be stopped") {
		t.Errorf("benchd logged a runaway exec:\n%s", log)
	}

	// The control: a flooding exec of the tool, created and started the
	// way benchd's are (no privilege, the container's default user), and
	// its host pid as ExecInspect reports it — what the old kill read.
	api, err := mobyclient.New(mobyclient.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	ctx := context.Background()
	created, err := api.ExecCreate(ctx, c.name, mobyclient.ExecCreateOptions{Cmd: []string{"nvidia-smi"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.ExecStart(ctx, created.ID, mobyclient.ExecStartOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	ins, err := api.ExecInspect(ctx, created.ID, mobyclient.ExecInspectOptions{})
	if err != nil || !ins.Running || ins.PID <= 0 {
		t.Fatalf("the control's exec: %+v, %v", ins, err)
	}
	hostPID := ins.PID
	t.Cleanup(func() {
		_ = syscall.Kill(hostPID, syscall.SIGKILL) // root, our own container's process
		testrig.Poll(t, 10*time.Second, "the control's exec ended", func() bool {
			ins, err := api.ExecInspect(context.Background(), created.ID, mobyclient.ExecInspectOptions{})
			return err == nil && !ins.Running
		})
	})
	status := fmt.Sprintf("/proc/%d/status", hostPID)
	asDaemon := []string{"setpriv", "--reuid=" + uid, "--regid=" + gid, "--groups=" + strings.Join(groups, ","), "--", "cat"}
	// Root on the host sees it: the process exists, and its status has the
	// NSpid line the old kill needed.
	if b, err := os.ReadFile(status); err != nil || !strings.Contains(string(b), "NSpid:") {
		t.Fatalf("root reading %s: %v", status, err)
	}
	// The daemon's uid outside the sandbox (the host's procfs) sees it too:
	// /proc/PID/status is world-readable. This is how the fault test passed
	// with the old kill, which ran benchd as root without the sandbox.
	if out, err := exec.Command(asDaemon[0], append(asDaemon[1:], status)...).CombinedOutput(); err != nil || !strings.Contains(string(out), "NSpid:") {
		t.Fatalf("uid %s outside the sandbox reading %s: %v\n%s", uid, status, err, out)
	}
	// Inside the daemon's mount namespace, as the daemon's uid, its own
	// status is there (the procfs works) but the exec's is not.
	inSandbox := func(file string) ([]byte, error) {
		args := append([]string{"-t", fmt.Sprint(pid), "-m", "--"}, append(asDaemon, file)...)
		return exec.Command("nsenter", args...).CombinedOutput()
	}
	if out, err := inSandbox(fmt.Sprintf("/proc/%d/status", pid)); err != nil || !strings.Contains(string(out), "NSpid:") {
		t.Fatalf("uid %s in benchd's mount namespace reading its own status: %v\n%s", uid, err, out)
	}
	out, err := inSandbox(status)
	if err == nil {
		t.Fatalf("uid %s in benchd's mount namespace read %s, the exec's status; ProtectProc=invisible is not in effect:\n%s", uid, status, out)
	}
	if !strings.Contains(string(out), "No such file or directory") {
		t.Errorf("uid %s in benchd's mount namespace reading %s: %v %s; want it hidden (ENOENT)", uid, status, err, out)
	}
	t.Logf("control: the exec's host pid %d; root and uid %s on the host's procfs read %s; uid %s under the unit's procfs: %s",
		hostPID, uid, status, uid, strings.TrimSpace(string(out)))
}

// unitAccounts are the accounts the rendered unit names: its User= and
// any login admitted with --allow-user in ExecStart= (a unit that runs
// benchd as its own account and admits the agent's login by name).
func unitAccounts(u testrig.Unit) []string {
	names := []string{u.Value("Service", "User")}
	argv := strings.Fields(u.Value("Service", "ExecStart"))
	for i, a := range argv {
		if a == "--allow-user" && i+1 < len(argv) && argv[i+1] != names[0] {
			names = append(names, argv[i+1])
		}
	}
	return names
}

// procCreds reads a process's real uid, real gid and supplementary groups
// from /proc/PID/status (as root).
func procCreds(t *testing.T, pid int) (uid, gid string, groups []string) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		switch f := strings.Fields(v); k {
		case "Uid":
			uid = f[0]
		case "Gid":
			gid = f[0]
		case "Groups":
			groups = f
		}
	}
	if uid == "" || gid == "" {
		t.Fatalf("/proc/%d/status: no Uid/Gid", pid)
	}
	return uid, gid, groups
}
