package pyclient_test

// The Python client as a user gets it: pip-installed into a fresh venv
// (pyclient.Install), imported from outside the checkout, and run against a
// real benchd in front of the rig's ollama, over each target form.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/status"

	"github.com/benchd/benchd/certs"
	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/e2e/pyclient"
	"github.com/benchd/benchd/internal/testrig"
)

// python runs the venv's interpreter in a directory outside the checkout
// (so nothing but the installed package can be imported as benchd_client)
// with env added to this process's environment minus BENCHD_*.
func python(t *testing.T, v pyclient.Venv, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, v.Python, args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BENCHD_") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{"PYTHONDONTWRITEBYTECODE=1"}, env...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("python %v: still running after 3 minutes\n%s%s", args, &o, &e)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestInstalledPackage(t *testing.T) {
	v := pyclient.Install(t)
	t.Logf("$ pip install --no-build-isolation --no-index ./client/python\n%s", v.PipLog)
	out, errOut, code := python(t, v, nil, "-c", `
import importlib.resources, importlib.util, os, sys, grpc
import benchd_client as bc
print("file", bc.__file__)
print("top-level", [m for m in ("buf", "buf.validate", "benchd", "benchd.v1") if importlib.util.find_spec(m.split(".")[0]) is not None])
print("py.typed", importlib.resources.files("benchd_client").joinpath("py.typed").is_file())
print("pyi", importlib.resources.files("benchd_client").joinpath("_gen/benchd/v1/benchd_pb2.pyi").is_file())
print("module", bc.pb.Trial.__module__)
# One exported subclass of BenchdError per gRPC code but OK, raised by name.
codes = [c.name for c in grpc.StatusCode if c != grpc.StatusCode.OK]
classes = {}
for name in bc.__all__:
    obj = getattr(bc, name)
    if isinstance(obj, type) and issubclass(obj, bc.BenchdError) and obj is not bc.BenchdError:
        classes[obj.code] = obj
print("codes", sorted(codes) == sorted(classes), len(classes))
for c in codes:
    e = bc.BenchdError.for_code(c, "msg", "id")
    assert type(e) is classes[c] and e.code == c and e.message == "msg" and e.benchmark_id == "id", c
e = bc.NotFoundError("no model")
print("notfound", e.code, "|", e.message, "|", e.advice, "|", str(e))
`)
	if code != 0 {
		t.Fatalf("checks of the installed package: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("installed package:\n%s", out)
	site := filepath.Join(v.Dir, "lib")
	for _, want := range []string{
		"file " + site,
		"top-level []",
		"py.typed True",
		"pyi True",
		"module benchd_client._gen.benchd.v1.benchd_pb2",
		"codes True 16",
		"notfound NOT_FOUND | no model | the model is not in ollama: pull it first (benchd never pulls) | NOT_FOUND: no model",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("installed package: output lacks %q", want)
		}
	}
}

// TestTargets holds the Python client's target forms and default target to
// the Go client's (client/target.go): the same strings are accepted or
// refused by both, and the same environment picks the same default.
func TestTargets(t *testing.T) {
	v := pyclient.Install(t)
	f, err := certs.Init(filepath.Join(t.TempDir(), "pki"), certs.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	targets := []string{
		"/run/benchd/benchd.sock", "unix:///tmp/b.sock", "unix:/tmp/b.sock", "unix://tmp/b.sock", "unix:rel.sock",
		"relative.sock", "", "http://host:1", "ssh://host", "ssh://ai-worker@gpu-host:2222", "ssh://gpu-host/",
		"ssh://:22", "ssh://-oProxyCommand=x", "ssh://u:pw@host", "ssh://@host", "ssh://host:", "ssh://host:0",
		"ssh://host:99999", "ssh://host:ab", "ssh://host/path", "ssh://host?x=1", "ssh://host#frag",
		"tcp://127.0.0.1:7443", "tcp://[::1]:7443", "tcp://host", "tcp://u@host:1", "tcp://host:1/x",
	}
	in, _ := json.Marshal(targets)
	out, errOut, code := python(t, v, nil, "-c", `
import json, sys
from benchd_client import Client, TARGET_FORMS
res = {}
for tgt in json.loads(sys.argv[1]):
    try:
        Client(tgt, tls_cert=sys.argv[2], tls_key=sys.argv[3], tls_ca=sys.argv[4]).close()
        res[tgt] = ""
    except ValueError as e:
        assert TARGET_FORMS in str(e), str(e)
        res[tgt] = str(e)
print(json.dumps(res))
`, string(in), f.ClientCert, f.ClientKey, f.CACert)
	if code != 0 {
		t.Fatalf("python targets: exit %d\n%s%s", code, out, errOut)
	}
	var py map[string]string
	if err := json.Unmarshal([]byte(out), &py); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, tgt := range targets {
		c, goErr := client.Dial(context.Background(), tgt, client.WithTLS(f.ClientCert, f.ClientKey, f.CACert))
		if goErr == nil {
			c.Close()
		}
		if (goErr == nil) != (py[tgt] == "") {
			t.Errorf("target %q: Go says %v, Python says %q", tgt, goErr, py[tgt])
		}
	}
	if want := `unknown scheme 'http'; want unix:///ABS/PATH (or /ABS/PATH), ssh://[USER@]HOST[:PORT] or tcp://HOST:PORT`; !strings.Contains(py["http://host:1"], want) {
		t.Errorf("unknown scheme refused with %q, want it to contain %q", py["http://host:1"], want)
	}

	// tcp:// without certificates is refused before any connection.
	out, errOut, code = python(t, v, nil, "-c", `
from benchd_client import Client
try:
    Client("tcp://127.0.0.1:7443")
except ValueError as e:
    print(e)
`)
	if code != 0 || !strings.Contains(out, "tcp:// needs tls_cert, tls_key and tls_ca") {
		t.Errorf("tcp:// without TLS: exit %d\n%s%s", code, out, errOut)
	}

	// The default target under each rule, against client.DefaultTarget.
	xdg := t.TempDir()
	withSocket := t.TempDir()
	if err := os.MkdirAll(filepath.Join(withSocket, "benchd"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withSocket, "benchd", "benchd.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{
		{},
		{"XDG_RUNTIME_DIR=" + xdg},
		{"XDG_RUNTIME_DIR=" + withSocket},
		{"XDG_RUNTIME_DIR=" + withSocket, "BENCHD_SOCKET=/srv/b.sock"},
		{"BENCHD_SOCKET=/srv/b.sock", "BENCHD_HOST=ssh://gpu-host"},
		{"BENCHD_HOST=tcp://gpu-host:7443"},
	} {
		t.Run(strings.Join(env, ","), func(t *testing.T) {
			for _, k := range []string{"BENCHD_HOST", "BENCHD_SOCKET", "XDG_RUNTIME_DIR"} {
				t.Setenv(k, "")
			}
			for _, kv := range env {
				k, val, _ := strings.Cut(kv, "=")
				t.Setenv(k, val)
			}
			out, errOut, code := python(t, v, env, "-c", "import benchd_client; print(benchd_client.default_target())")
			if code != 0 {
				t.Fatalf("default_target: exit %d\n%s", code, errOut)
			}
			if got, want := strings.TrimSpace(out), client.DefaultTarget(); got != want {
				t.Errorf("default_target() = %q, client.DefaultTarget() = %q", got, want)
			}
		})
	}
}

// TestAgainstDaemon runs the client against benchd and the rig over each
// transport: the unix socket named by $BENCHD_SOCKET (example.py), ssh://
// (through the in-process relay), tcp:// with mutual TLS; and checks that a
// refusal raises the code's exception with benchd's message.
func TestAgainstDaemon(t *testing.T) {
	v := pyclient.Install(t)
	pki, err := certs.Init(filepath.Join(t.TempDir(), "pki"), certs.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t), "--vram-source", "sysfs",
		"--sysfs-root", testrig.SysfsFixture(), "--listen", "tcp://127.0.0.1:0",
		"--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--tls-client-ca", pki.CACert)
	if d.TCPAddr == "" {
		t.Fatalf("benchd reported no TCP address:\n%s", d.Log())
	}

	t.Run("example.py via BENCHD_SOCKET", func(t *testing.T) {
		example := filepath.Join(pyclient.Dir(), "example.py")
		out, errOut, code := python(t, v, []string{"BENCHD_SOCKET=" + d.Socket}, example, testrig.Model, "--max-tokens", "16", "--reps", "2")
		t.Logf("$ BENCHD_SOCKET=%s python example.py %s --max-tokens 16 --reps 2\n%s%s", d.Socket, testrig.Model, out, errOut)
		if code != 0 {
			t.Fatalf("example.py: exit %d\nbenchd:\n%s", code, d.Log())
		}
		for _, want := range []string{
			"health: SERVING", "started ", "warm-up 0: 16 tokens", "trial 1: 16 tokens", "trial 2: 16 tokens",
			": 2 measured trials, eval rate mean ", "stored by benchd: SUCCEEDED, 3 trials",
			"vram gpu 0: Simulated AMD GPU (benchd fixture tree) [amd, sysfs] ",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("example.py output lacks %q", want)
			}
		}
	})

	t.Run("NOT_FOUND raises NotFoundError with benchd's message", func(t *testing.T) {
		const id = "20200101T000000Z-00000000"
		c, err := client.Dial(context.Background(), d.Socket)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, goErr := c.GetBenchmark(context.Background(), id)
		st := status.Convert(goErr)
		if st.Code().String() != "NotFound" {
			t.Fatalf("Go client: GetBenchmark(%s) = %v, want NotFound", id, goErr)
		}
		out, errOut, code := python(t, v, nil, "-c", `
import sys
from benchd_client import Client, BenchdError, NotFoundError
with Client(sys.argv[1]) as c:
    try:
        c.get_benchmark(sys.argv[2])
    except NotFoundError as e:
        print(type(e).__name__, isinstance(e, BenchdError), e.code)
        print(e.message)
`, "unix://"+d.Socket, id)
		if code != 0 {
			t.Fatalf("get_benchmark: exit %d\n%s%s", code, out, errOut)
		}
		if want := "NotFoundError True NOT_FOUND\n" + st.Message() + "\n"; out != want {
			t.Errorf("get_benchmark of an unknown id printed %q, want %q", out, want)
		}
	})

	t.Run("ssh:// through the relay", func(t *testing.T) {
		// A stand-in for ssh on PATH: it records its arguments and runs what
		// the host's forced command would, benchd dial-stdio, here. The
		// relay, dial-stdio and benchd are the real ones.
		bin, xdg := t.TempDir(), t.TempDir()
		argsFile := filepath.Join(t.TempDir(), "ssh-args")
		script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> %s\nexec %s dial-stdio --socket %s\n",
			argsFile, testrig.Binary(t, "benchd"), d.Socket)
		if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := python(t, v, []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "XDG_RUNTIME_DIR=" + xdg,
			"BENCHD_HOST=ssh://ai-worker@gpu-host:2222"}, "-c", `
import os, stat, sys
from benchd_client import Client
c = Client()
print("health", c.health())
print("gpus", len(c.sample_vram()))
dirs = os.listdir(sys.argv[1])
print("relay dirs", [d.split("-")[:2] for d in dirs], oct(stat.S_IMODE(os.stat(os.path.join(sys.argv[1], dirs[0])).st_mode)))
c.close()
print("after close", os.listdir(sys.argv[1]))
`, xdg)
		t.Logf("ssh:// client:\n%s%s", out, errOut)
		if code != 0 {
			t.Fatalf("ssh:// client: exit %d\nbenchd:\n%s", code, d.Log())
		}
		for _, want := range []string{"health SERVING", "gpus 1", "relay dirs [['benchd', 'relay']] 0o700", "after close []"} {
			if !strings.Contains(out, want) {
				t.Errorf("ssh:// client output lacks %q", want)
			}
		}
		args, err := os.ReadFile(argsFile)
		if err != nil {
			t.Fatalf("ssh was never run: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(args)), "\n") {
			if line != "-T -p 2222 -- ai-worker@gpu-host benchd dial-stdio" {
				t.Errorf("ssh ran with %q", line)
			}
		}
	})

	t.Run("tcp:// with mutual TLS", func(t *testing.T) {
		out, errOut, code := python(t, v, nil, "-c", `
import sys
from benchd_client import Client, UnavailableError
with Client("tcp://" + sys.argv[1], tls_cert=sys.argv[2], tls_key=sys.argv[3], tls_ca=sys.argv[4]) as c:
    print("health", c.health())
# The server's certificate is checked: a CA that did not sign it fails.
with Client("tcp://" + sys.argv[1], tls_cert=sys.argv[2], tls_key=sys.argv[3], tls_ca=sys.argv[2]) as c:
    try:
        c.health(timeout=10)
    except UnavailableError as e:
        print("wrong CA", e.code)
`, d.TCPAddr, pki.ClientCert, pki.ClientKey, pki.CACert)
		t.Logf("tcp:// client:\n%s%s", out, errOut)
		if code != 0 {
			t.Fatalf("tcp:// client: exit %d\nbenchd:\n%s", code, d.Log())
		}
		for _, want := range []string{"health SERVING", "wrong CA UNAVAILABLE"} {
			if !strings.Contains(out, want) {
				t.Errorf("tcp:// client output lacks %q", want)
			}
		}
	})
}

// TestTelemetryAndEnergy: GPU telemetry and energy reach the Python
// client's typed classes. benchd reads a simulated amdgpu sysfs tree (its
// real sysfs reader) drawing a constant 150 W while the rig's ollama runs
// the trials, sampled every 10 ms, so every figure is known: amdgpu's sysfs
// has no energy counter, so that field is None (not 0) and the energy is
// integrated from the power readings, exactly 150 W times each span; at
// the idle baseline's own draw the net energy is 0.
func TestTelemetryAndEnergy(t *testing.T) {
	v := pyclient.Install(t)
	root := filepath.Join(t.TempDir(), "sys")
	if err := testrig.SimulatedSysfs(root, testrig.SimGPU{Card: 0, TotalBytes: 16 << 30, UsedBytes: 1 << 30, PowerW: 150,
		EdgeC: 40, JunctionC: 45, MemC: 50, Busy: 97, CoreMHz: 2000, MemMHz: 1000}); err != nil {
		t.Fatal(err)
	}
	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t), "--vram-source", "sysfs", "--sysfs-root", root)
	runScript(t, v, d.Socket, `
import datetime, sys
from benchd_client import Client
with Client(sys.argv[1]) as c:
    g = c.sample_vram()[0]
    print("gpu", g.power_watts, g.energy_joules, g.temperature_edge_celsius, g.temperature_junction_celsius,
          g.temperature_memory_celsius, g.busy_percent, g.core_clock_mhz, g.memory_clock_mhz, g.power_window_s)
    r = c.run_benchmark(`+strconv.Quote(testrig.Model)+`, repetitions=2, warmup=0, max_tokens=256,
                        vram_sample_interval=datetime.timedelta(milliseconds=10))
    print("idle", r.started.idle_power.watts, r.started.idle_power.samples > 0)
    for t in r.trials:
        e = t.energy
        print("trial", t.index, e.method, round(e.average_watts, 9), e.peak_watts, e.samples > 0,
              abs(e.joules - 150 * e.duration_ns / 1e9) < 1e-6, abs(e.joules_per_output_token * t.eval_count - e.joules) < 1e-9,
              abs(e.net_joules) < 1e-9, e.started_at is not None)
    e = r.energy
    print("run", abs(e.joules - sum(t.energy.joules for t in r.trials)) < 1e-9, e.started_at,
          abs(e.output_tokens_per_joule * e.joules_per_output_token - 1) < 1e-9)
    print("stored", c.get_benchmark(r.benchmark_id).energy == r.energy)
`,
		"gpu 150.0 None 40.0 45.0 50.0 97.0 2000.0 1000.0 ",
		"idle 150.0 True",
		"trial 0 integrated 150.0 150.0 True True True True True",
		"trial 1 integrated 150.0 150.0 True True True True True",
		"run True None True",
		"stored True",
	)
}
