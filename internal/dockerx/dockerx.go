// Package dockerx is benchd's only door to Docker: it inspects the one
// configured container, runs fixed commands in it, and opens stdio bridges to
// ollama's HTTP port inside it. Callers pass argv slices built from fixed
// templates; nothing here ever goes through a shell on the host.
package dockerx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// Domain errors; the gRPC edge maps them to status codes.
var (
	// ErrUnavailable: the Docker Engine cannot be reached.
	ErrUnavailable = errors.New("docker engine unavailable")
	// ErrContainerNotFound: no container has the configured name.
	ErrContainerNotFound = errors.New("container not found")
	// ErrContainerNotRunning: the container exists but is stopped or paused.
	ErrContainerNotRunning = errors.New("container not running")
	// ErrPrivilegedRefused: the engine refused a privileged exec.
	ErrPrivilegedRefused = errors.New("privileged exec refused by the docker engine")
	// ErrCommandNotFound: the command does not exist in the container.
	ErrCommandNotFound = errors.New("command not found in container")
	// ErrOutputTooLarge: a command wrote more than the read bound.
	ErrOutputTooLarge = errors.New("command output too large")
)

// MaxOutput bounds what Exec reads from a command's stdout; VRAM tools print
// a few KiB, so anything near this is garbage and must not grow the daemon.
const MaxOutput = 1 << 20

// maxStderr bounds the stderr kept for error messages.
const maxStderr = 4 << 10

// Client talks to one container through the Docker Engine API.
type Client struct {
	api       *client.Client
	container string
	log       *slog.Logger
	// abandoned counts the goroutines stopping execs whose callers gave
	// up; Close waits for them.
	abandoned sync.WaitGroup
}

// New connects the standard way (DOCKER_HOST and friends, else the default
// socket) with API version negotiation, so it works with engines from API
// 1.40 on. It does not contact the engine; the first call does. log gets
// what the caller cannot see in an error (a runaway exec that could not be
// stopped, at WARN).
func New(container string, log *slog.Logger) (*Client, error) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	return &Client{api: api, container: container, log: log}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error {
	c.abandoned.Wait()
	return c.api.Close()
}

// CheckContainer returns nil when the container exists and is running.
func (c *Client) CheckContainer(ctx context.Context) error {
	res, err := c.api.ContainerInspect(ctx, c.container, client.ContainerInspectOptions{})
	if err != nil {
		return c.wrap(fmt.Sprintf("inspect container %q", c.container), err)
	}
	st := res.Container.State
	switch {
	case st == nil:
		return fmt.Errorf("inspect container %q: no state: %w", c.container, ErrContainerNotRunning)
	case st.Paused:
		return fmt.Errorf("container %q is paused: %w", c.container, ErrContainerNotRunning)
	case !st.Running:
		return fmt.Errorf("container %q is %s: %w", c.container, st.Status, ErrContainerNotRunning)
	}
	return nil
}

// Env returns the value of the variable name in the container's configured
// environment (what it was created with, image defaults included, as the
// Engine reports it; not what a process inside may have changed); set is
// false when it is not there.
func (c *Client) Env(ctx context.Context, name string) (value string, set bool, err error) {
	res, err := c.api.ContainerInspect(ctx, c.container, client.ContainerInspectOptions{})
	if err != nil {
		return "", false, c.wrap(fmt.Sprintf("inspect container %q", c.container), err)
	}
	if res.Container.Config == nil {
		return "", false, nil
	}
	for _, kv := range res.Container.Config.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			value, set = v, true // the last one wins, as in an environment
		}
	}
	return value, set, nil
}

// Exec runs argv in the container and returns its stdout, at most MaxOutput
// bytes. A non-zero exit status is an error carrying the start of stderr.
func (c *Client) Exec(ctx context.Context, argv []string, privileged bool) ([]byte, error) {
	return c.run(ctx, argv, privileged, true)
}

// run is Exec; reapOnCancel says whether an exec abandoned because ctx
// ended is stopped too (not for the reaper itself).
func (c *Client) run(ctx context.Context, argv []string, privileged, reapOnCancel bool) ([]byte, error) {
	marker := newMarker()
	hr, id, err := c.start(ctx, argv, privileged, false, marker)
	if err != nil {
		return nil, err
	}
	defer hr.Close()
	// Closing the hijacked connection is what unblocks the copy when ctx
	// ends first; the engine has no other way to abort an attached exec.
	stop := context.AfterFunc(ctx, hr.Close)
	defer stop()

	stdout := &limitedBuffer{max: MaxOutput}
	stderr := &limitedBuffer{max: maxStderr, truncate: true}
	if _, err := stdcopy.StdCopy(stdout, stderr, hr.Reader); err != nil {
		if ctx.Err() != nil {
			// The caller gave up (a hung tool, a timeout): the engine
			// would let the exec run on, one more each time it happens.
			if reapOnCancel {
				c.stopAbandoned(id, marker, argv[0], privileged)
			}
			return nil, fmt.Errorf("exec %s in %q: %w", argv[0], c.container, context.Cause(ctx))
		}
		if errors.Is(err, ErrOutputTooLarge) {
			// dockerd keeps draining a detached exec's output, so a tool
			// that floods would run forever: stop it. Detach first: while
			// the engine's copy of this exec's output is blocked on a
			// connection nobody reads, the container's other execs (the
			// reaper among them) were seen not to end for 10 s.
			hr.Close()
			if rerr := c.reap(id, marker, argv[0], privileged); rerr != nil {
				return nil, fmt.Errorf("exec %s in %q: more than %d bytes of output, and %v: %w", argv[0], c.container, MaxOutput, rerr, ErrOutputTooLarge)
			}
			return nil, fmt.Errorf("exec %s in %q: more than %d bytes of output: %w", argv[0], c.container, MaxOutput, ErrOutputTooLarge)
		}
		return nil, fmt.Errorf("exec %s in %q: read output: %w", argv[0], c.container, err)
	}
	ins, err := c.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
	if err != nil {
		return nil, c.wrap(fmt.Sprintf("inspect exec of %s", argv[0]), err)
	}
	if ins.ExitCode != 0 {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(firstLine(stdout.Bytes()))
		}
		// The runtime, not the tool, reports a refused privileged exec:
		// exit 126 with "unable to apply caps: operation not permitted".
		if privileged && ins.ExitCode == 126 && isPrivilegedRefusal(errors.New(msg)) {
			return nil, fmt.Errorf("privileged exec of %s in %q: %s: %w", argv[0], c.container, msg, ErrPrivilegedRefused)
		}
		if (ins.ExitCode == 126 || ins.ExitCode == 127) && containsAny(msg, "executable file not found", "no such file or directory") {
			return nil, fmt.Errorf("exec %s in %q: %s: %w", argv[0], c.container, msg, ErrCommandNotFound)
		}
		return nil, fmt.Errorf("exec %s in %q: exit status %d: %s", argv[0], c.container, ins.ExitCode, msg)
	}
	return stdout.Bytes(), nil
}

// ExecMarker is the environment variable every exec benchd starts carries,
// set to a value unique to that exec (128 random bits, hex). Its processes
// and every child that inherits the environment can be found by it from
// inside the container, which is how a runaway exec is stopped (reap).
const ExecMarker = "BENCHD_EXEC"

// newMarker returns a fresh ExecMarker assignment, "BENCHD_EXEC=<32 hex>".
func newMarker() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return ExecMarker + "=" + hex.EncodeToString(b[:])
}

// reapScript SIGKILLs every process in the container whose environment
// holds $1, the marker of one exec (ExecMarker=<hex>), and prints the pid of
// each process it signalled. It is how benchd stops an exec: the Engine API
// has no call that signals an exec (moby/moby#9098, #35703), and
// ExecInspect's pid is a host pid, which a daemon under ProtectProc=invisible
// (and not root) cannot map to the container's pid namespace — the
// container's own /proc, read by the container's user, needs no mapping.
//
// A shell is acceptable here because the script is this fixed constant and
// its only input, the marker, is generated by benchd (never client text),
// arrives as $1, is checked against ExecMarker=<lowercase hex> before use
// and is only ever compared, never evaluated. It uses bash builtins only
// (mapfile with an empty delimiter splits /proc/PID/environ at its NULs;
// kill is the builtin), like the bridge (bridgeScript), so the image needs
// no ps, grep or procps. It scans up to five times, until a scan finds nothing, so that
// a child forked between two scans is caught as well; the reaper's own
// environment carries its own marker, not $1, so it never matches itself.
const reapScript = `PATH=/usr/bin:/bin
m=${1#BENCHD_EXEC=}
case "$m" in ''|*[!0-9a-f]*) echo "bad marker" >&2; exit 2;; esac
[ "$1" = "BENCHD_EXEC=$m" ] || { echo "bad marker" >&2; exit 2; }
for _ in 1 2 3 4 5; do
  n=0
  for p in /proc/[0-9]*; do
    { mapfile -d '' e < "$p/environ"; } 2>/dev/null || continue
    for v in "${e[@]}"; do
      [ "$v" = "$1" ] || continue
      kill -KILL "${p#/proc/}" 2>/dev/null && { echo "${p#/proc/}"; n=$((n+1)); }
      break
    done
  done
  [ "$n" = 0 ] && exit 0
done
exit 0`

// Bash is the shell of the bridge and the reaper, by absolute path so that
// the container's PATH does not choose what runs (and the scripts set their
// own PATH for the same reason). /usr/bin/bash is where every merged-/usr
// image (Debian 12, Ubuntu, Fedora, the official ollama image) and the
// test rig have it.
const Bash = "/usr/bin/bash"

// ReapArgv is the fixed command that stops the exec carrying marker.
func ReapArgv(marker string) []string {
	return []string{Bash, "-c", reapScript, "benchd-reap", marker}
}

// abandonGrace is how long an exec whose caller gave up may still end by
// itself (a tool read cancelled at the end of a trial usually does) before
// it is reaped.
const abandonGrace = 2 * time.Second

// stopAbandoned makes sure an exec its caller gave up on ends, in the
// background, so that the caller returns at once: it waits abandonGrace for
// the exec to end by itself, then reaps it. reap logs what it cannot stop.
func (c *Client) stopAbandoned(id, marker, tool string, privileged bool) {
	c.abandoned.Add(1)
	go func() {
		defer c.abandoned.Done()
		ctx, cancel := context.WithTimeout(context.Background(), abandonGrace)
		defer cancel()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			ins, err := c.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
			if err == nil && !ins.Running {
				return
			}
			select {
			case <-ctx.Done():
				_ = c.reap(id, marker, tool, privileged)
				return
			case <-t.C:
			}
		}
	}()
}

// reapTimeout bounds reap: the reaper exec and the wait for the engine to
// see the exec end. Starting an exec while dockerd drains a flood on a busy
// machine has taken seconds.
const reapTimeout = 10 * time.Second

// reap stops a runaway exec: it runs ReapArgv in the container (with the
// exec's own privilege, so that the exec's /proc/PID/environ is readable to
// it: a privileged exec has capabilities an unprivileged one lacks) and
// waits until the engine sees the exec end, so callers (and the exec-count
// checks of the leak tests) observe a settled state. Best effort, bounded
// by reapTimeout; an exec that still runs afterwards is returned as an
// error and logged as a warning, since it goes on costing CPU in the
// container.
func (c *Client) reap(id, marker, tool string, privileged bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), reapTimeout)
	defer cancel()
	out, rerr := c.run(ctx, ReapArgv(marker), privileged, false)
	killed := len(strings.Fields(string(out)))
	if rerr == nil && killed == 0 {
		// Nothing carried the marker: the exec has ended (the engine is
		// about to say so) or cannot be found; either is clear soon.
		var cancel2 context.CancelFunc
		ctx, cancel2 = context.WithTimeout(ctx, 2*time.Second)
		defer cancel2()
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var ierr error
	for {
		ins, err := c.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err == nil && !ins.Running {
			return nil
		}
		if ctx.Err() == nil {
			ierr = err // the last answer, not the deadline's
		}
		select {
		case <-ctx.Done():
			var why string
			switch {
			case rerr != nil:
				why = fmt.Sprintf("the reaper failed: %v", rerr)
			case ierr != nil:
				why = fmt.Sprintf("inspect exec: %v", ierr)
			case killed == 0:
				why = fmt.Sprintf("no process in the container carries its %s marker (did it clear its environment?)", ExecMarker)
			default:
				why = fmt.Sprintf("it still runs %v after %d SIGKILLs", reapTimeout, killed)
			}
			e := fmt.Errorf("exec %s (exec id %.12s, %s) could not be stopped: %s", tool, id, marker, why)
			c.log.Warn("a runaway exec could not be stopped; it keeps running in the container",
				"container", c.container, "tool", tool, "exec", id, "marker", marker, "err", e)
			return e
		case <-t.C:
		}
	}
}

// start creates and attaches an exec. The returned HijackedResponse carries
// the multiplexed stdout/stderr and, when stdin is true, the process's stdin.
// marker (ExecMarker=<hex>) is added to the exec's environment.
func (c *Client) start(ctx context.Context, argv []string, privileged, stdin bool, marker string) (client.HijackedResponse, string, error) {
	created, err := c.api.ExecCreate(ctx, c.container, client.ExecCreateOptions{
		Env:          []string{marker},
		Privileged:   privileged,
		AttachStdin:  stdin,
		AttachStdout: true,
		AttachStderr: true,
		Cmd:          argv,
	})
	if err != nil {
		if privileged && isPrivilegedRefusal(err) {
			return client.HijackedResponse{}, "", fmt.Errorf("create privileged exec of %s in %q: %v: %w", argv[0], c.container, err, ErrPrivilegedRefused)
		}
		return client.HijackedResponse{}, "", c.wrap(fmt.Sprintf("create exec of %s in %q", argv[0], c.container), err)
	}
	att, err := c.api.ExecAttach(ctx, created.ID, client.ExecAttachOptions{})
	if err != nil {
		if privileged && isPrivilegedRefusal(err) {
			return client.HijackedResponse{}, "", fmt.Errorf("start privileged exec of %s in %q: %v: %w", argv[0], c.container, err, ErrPrivilegedRefused)
		}
		return client.HijackedResponse{}, "", c.wrap(fmt.Sprintf("start exec of %s in %q", argv[0], c.container), err)
	}
	return att.HijackedResponse, created.ID, nil
}

// wrap classifies an engine error into the package's domain errors.
func (c *Client) wrap(doing string, err error) error {
	switch {
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("%s: %v: %w", doing, err, ErrUnavailable)
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s: %v: %w", doing, err, ErrContainerNotFound)
	case cerrdefs.IsConflict(err) && containsAny(err.Error(), "is not running", "is paused", "is restarting"):
		return fmt.Errorf("%s: %v: %w", doing, err, ErrContainerNotRunning)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// isPrivilegedRefusal recognises the engine refusing privileged execs: an
// engine whose own capability bounding set is reduced cannot give the
// process full capabilities ("unable to apply caps: operation not
// permitted"), and restricted engines say "privileged" in their refusal.
func isPrivilegedRefusal(err error) bool {
	return containsAny(strings.ToLower(err.Error()), "operation not permitted", "privileged", "permission denied")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// limitedBuffer keeps at most max bytes. Past the bound it either fails the
// write (so a flood of output aborts the copy) or silently drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	truncate bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.Len()
	if len(p) <= room {
		return b.Buffer.Write(p)
	}
	if !b.truncate {
		return 0, ErrOutputTooLarge
	}
	if room > 0 {
		b.Buffer.Write(p[:room])
	}
	return len(p), nil
}

var _ io.Writer = (*limitedBuffer)(nil)
