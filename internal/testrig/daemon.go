package testrig

// A benchd process: started from the checkout's build with test flags
// (StartDaemon) or from the rendered unit (LaunchService, service.go), both
// through Daemon.start, which waits for its READY=1 (notify.go).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Daemon is a benchd process started for a test or the performance harness.
type Daemon struct {
	Socket string // --socket
	Store  string // --store
	// TCPAddr is the address benchd bound for --listen tcp://HOST:PORT (the
	// port chosen for :0), from X_BENCHD_TCP of its READY=1; "" without
	// --listen.
	TCPAddr string
	// Status is the STATUS= of its READY=1.
	Status string
	// MetricsAddr is the address of the --metrics exporter, from
	// X_BENCHD_METRICS; "" without --metrics.
	MetricsAddr string

	cmdline []string // what start runs: benchd's argv, perhaps behind a sandboxing wrapper
	env     []string // nil: this process's environment at each start
	dir     string
	notify  *notifySocket

	mu     sync.Mutex // guards cmd and exited, replaced by each start
	cmd    *exec.Cmd
	exited chan struct{}

	logMu   sync.Mutex
	log     bytes.Buffer  // stderr, over all starts
	logLine chan struct{} // closed and replaced when a line is added
}

// StartDaemon starts benchd with args (plus --socket in a temp dir unless
// args set one, and --store likewise) and returns once it reports READY=1
// on its NOTIFY_SOCKET. It is stopped with SIGTERM when the test ends.
func StartDaemon(t TB, args ...string) *Daemon {
	t.Helper()
	if flagValue(args, "--store") == "" {
		// Each daemon gets its own history: bbolt locks its file.
		args = append([]string{"--store", filepath.Join(t.TempDir(), "history.db")}, args...)
	}
	if flagValue(args, "--socket") == "" {
		// A short path: unix socket paths are limited to 107 bytes.
		dir, err := os.MkdirTemp("", "bd-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		args = append([]string{"--socket", filepath.Join(dir, "run", "benchd.sock")}, args...)
	}
	d, err := LaunchDaemon(t, Binary(t, "benchd"), args...)
	return must(t, d, err)
}

// LaunchDaemon is StartDaemon's core for programs: it starts the benchd
// binary with exactly args (they must set --socket and --store) and
// registers its stop with c.
func LaunchDaemon(c Cleaner, binary string, args ...string) (*Daemon, error) {
	d := &Daemon{Socket: flagValue(args, "--socket"), Store: flagValue(args, "--store"),
		cmdline: append([]string{binary}, args...)}
	if err := d.start(c); err != nil {
		return nil, err
	}
	return d, nil
}

// StartCommand starts a benchd from exactly argv (which may put benchd
// behind a wrapper such as setpriv) in the environment env, adding no
// flags, and returns once it reports READY=1: for tests of what benchd
// chooses by itself. Socket and Store are what argv's flags say, if any.
func StartCommand(t TB, env []string, argv ...string) *Daemon {
	t.Helper()
	d := &Daemon{Socket: flagValue(argv, "--socket"), Store: flagValue(argv, "--store"), cmdline: argv, env: env}
	if err := d.start(t); err != nil {
		t.Fatal(err)
	}
	return d
}

// flagValue is the word after the first name in args, "" if none.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// Restart starts the daemon again, with the same command line, after it
// exited (e.g. after Kill): it opens the same store and socket.
func (d *Daemon) Restart(t TB) {
	t.Helper()
	select {
	case <-d.Exited():
	default:
		t.Fatalf("Restart: benchd (pid %d) still runs", d.PID())
	}
	if err := d.start(t); err != nil {
		t.Fatal(err)
	}
}

// start runs the command line with NOTIFY_SOCKET set, registers its stop
// with c and waits for its READY=1 (or its exit, or 30s).
func (d *Daemon) start(c Cleaner) error {
	if d.notify == nil {
		n, err := listenNotify(c)
		if err != nil {
			return err
		}
		d.notify = n
	}
	env := d.env
	if env == nil {
		env = os.Environ()
	}
	env = slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, "NOTIFY_SOCKET=") })
	cmd := exec.Command(d.cmdline[0], d.cmdline[1:]...)
	cmd.Env, cmd.Dir = append(env, d.notify.env()), d.dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	exited := make(chan struct{})
	d.mu.Lock()
	d.cmd, d.exited = cmd, exited
	d.mu.Unlock()
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			d.logMu.Lock()
			d.log.WriteString(sc.Text() + "\n")
			if d.logLine != nil {
				close(d.logLine)
				d.logLine = nil
			}
			d.logMu.Unlock()
		}
		_ = cmd.Wait()
	}()
	c.Cleanup(func() {
		if err := d.Terminate(); err != nil {
			reportf(c, "%v", err)
		}
	})
	fields, err := d.notify.waitReady(cmd.Process.Pid, exited, 30*time.Second)
	if err != nil {
		return fmt.Errorf("benchd %v:\n%s", err, d.Log())
	}
	d.TCPAddr, d.Status, d.MetricsAddr = fields["X_BENCHD_TCP"], fields["STATUS"], fields["X_BENCHD_METRICS"]
	return nil
}

func (d *Daemon) proc() (*exec.Cmd, chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd, d.exited
}

// Log is what the daemon has written to stderr so far, over all its starts.
func (d *Daemon) Log() string {
	d.logMu.Lock()
	defer d.logMu.Unlock()
	return d.log.String()
}

// WaitLog waits up to timeout for a line of the daemon's stderr for which
// match is true and returns it. benchd batches lines below WARN (its audit
// lines among them) for up to internal/logbuf.Delay, so a line about a
// call may arrive a moment after the caller saw the call's result.
func (d *Daemon) WaitLog(match func(line string) bool, timeout time.Duration) (string, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		d.logMu.Lock()
		for _, l := range strings.Split(d.log.String(), "\n") {
			if match(l) {
				d.logMu.Unlock()
				return l, true
			}
		}
		if d.logLine == nil {
			d.logLine = make(chan struct{})
		}
		next := d.logLine
		d.logMu.Unlock()
		select {
		case <-next:
		case <-d.Exited():
			return "", false
		case <-deadline.C:
			return "", false
		}
	}
}

// Stop sends SIGTERM and waits for the process to exit.
func (d *Daemon) Stop(t TB) {
	if err := d.Terminate(); err != nil {
		t.Errorf("%v", err)
	}
}

// Terminate sends SIGTERM and waits for the process to exit, killing it
// after 20s (which it reports as an error).
func (d *Daemon) Terminate() error {
	cmd, exited := d.proc()
	if !stopProcess(cmd.Process, exited, 20*time.Second) {
		return errors.New("benchd did not exit within 20s of SIGTERM")
	}
	return nil
}

// Signal sends sig to the daemon.
func (d *Daemon) Signal(sig os.Signal) error {
	cmd, _ := d.proc()
	return cmd.Process.Signal(sig)
}

// Kill SIGKILLs the daemon and waits for it to exit.
func (d *Daemon) Kill() error {
	cmd, exited := d.proc()
	if err := cmd.Process.Kill(); err != nil {
		return err
	}
	<-exited
	return nil
}

// State is how the process ended, once Exited is closed.
func (d *Daemon) State() *os.ProcessState {
	cmd, _ := d.proc()
	return cmd.ProcessState
}

// ExitCode is the exit status once Exited is closed.
func (d *Daemon) ExitCode() int { return d.State().ExitCode() }

// Exited is closed when the daemon process has exited.
func (d *Daemon) Exited() <-chan struct{} {
	_, exited := d.proc()
	return exited
}

// PID is the daemon's process id.
func (d *Daemon) PID() int {
	cmd, _ := d.proc()
	return cmd.Process.Pid
}
