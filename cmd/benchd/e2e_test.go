package main_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchd/benchd/client"
	"github.com/benchd/benchd/internal/testrig"
)

func TestSecondDaemonOnLiveSocketRefuses(t *testing.T) {
	testrig.RequireDocker(t)
	d := testrig.StartDaemon(t, "--vram-source", "none")
	out, err := exec.Command(testrig.Binary(t, "benchd"), "--socket", d.Socket, "--vram-source", "none").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use") {
		t.Fatalf("second benchd on a live socket: %v\n%s", err, out)
	}
	if _, err := os.Stat(d.Socket); err != nil {
		t.Fatalf("first daemon's socket is gone: %v", err)
	}
}

func TestStaleSocketReplacedAndSocketMode(t *testing.T) {
	testrig.RequireDocker(t)
	d := testrig.StartDaemon(t, "--vram-source", "none")
	sock := d.Socket
	// SIGKILL leaves the socket file behind.
	if err := d.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("want a stale socket after SIGKILL: %v", err)
	}
	d2 := testrig.StartDaemon(t, "--socket", sock, "--vram-source", "none")
	fi, err := os.Stat(d2.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %o, want 660", fi.Mode().Perm())
	}
}

func TestSIGTERMStopsGracefully(t *testing.T) {
	testrig.RequireDocker(t)
	d := testrig.StartDaemon(t, "--vram-source", "none")
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-d.Exited()
	if code := d.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, d.Log())
	}
	if !strings.Contains(d.Log(), "shutting down") {
		t.Errorf("no shutdown logged:\n%s", d.Log())
	}
}

func TestRelativeSocketRejected(t *testing.T) {
	out, err := exec.Command(testrig.Binary(t, "benchd"), "--socket", "rel/benchd.sock").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "must be absolute") {
		t.Fatalf("relative socket: %v\n%s", err, out)
	}
}

func TestDialStdioCarriesGRPC(t *testing.T) {
	testrig.RequireDocker(t)
	d := testrig.StartDaemon(t, "--container", testrig.Ollama(t), "--vram-source", "sysfs", "--sysfs-root", testrig.SysfsFixture())
	c, err := client.NewCommand([]string{testrig.Binary(t, "benchd"), "dial-stdio", "--socket", d.Socket})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	gpus, err := c.SampleVRAM(context.Background())
	if err != nil {
		t.Fatalf("SampleVRAM through dial-stdio: %v", err)
	}
	if len(gpus) != 1 || gpus[0].TotalBytes != 25753026560 {
		t.Errorf("got %+v", gpus)
	}
	st, err := c.Health(context.Background())
	if err != nil || st != "SERVING" {
		t.Errorf("health through dial-stdio: %q, %v", st, err)
	}
}

// benchd runs on one P unless GOMAXPROCS says otherwise (cmd/benchd/main.go
// says why); its serving line shows what it took.
func TestOneProcUnlessGOMAXPROCSSays(t *testing.T) {
	for _, tc := range []struct{ env, want string }{{"", "gomaxprocs=1"}, {"2", "gomaxprocs=2"}} {
		t.Run("GOMAXPROCS="+tc.env, func(t *testing.T) {
			t.Setenv("GOMAXPROCS", tc.env)
			d := testrig.StartDaemon(t, "--vram-source", "none")
			line, ok := d.WaitLog(func(l string) bool { return strings.Contains(l, "benchd serving") }, 10*time.Second)
			if !ok || !strings.Contains(line, " "+tc.want+" ") && !strings.HasSuffix(line, " "+tc.want) {
				t.Errorf("serving line %q, want %s in it\n%s", line, tc.want, d.Log())
			}
		})
	}
}
