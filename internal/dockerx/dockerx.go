// Package dockerx is benchd's only door to Docker: it inspects the one
// configured container, runs fixed commands in it, and opens stdio bridges to
// ollama's HTTP port inside it. Callers pass argv slices built from fixed
// templates; nothing here ever goes through a shell on the host.
package dockerx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
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
}

// New connects the standard way (DOCKER_HOST and friends, else the default
// socket) with API version negotiation, so it works with engines from API
// 1.40 on. It does not contact the engine; the first call does.
func New(container string) (*Client, error) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("create docker client: %w", err)
	}
	return &Client{api: api, container: container}, nil
}

// Close releases the client's idle connections.
func (c *Client) Close() error { return c.api.Close() }

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

// Exec runs argv in the container and returns its stdout, at most MaxOutput
// bytes. A non-zero exit status is an error carrying the start of stderr.
func (c *Client) Exec(ctx context.Context, argv []string, privileged bool) ([]byte, error) {
	hr, id, err := c.start(ctx, argv, privileged, false)
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
			return nil, fmt.Errorf("exec %s in %q: %w", argv[0], c.container, context.Cause(ctx))
		}
		if errors.Is(err, ErrOutputTooLarge) {
			// dockerd keeps draining a detached exec's output, so a tool
			// that floods would run forever: stop it.
			c.killExec(id)
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

// killExec ends a runaway exec. The Engine API cannot signal an exec, so
// its process is found by the host pid ExecInspect reports, mapped to the
// container's pid namespace through /proc/PID/status (NSpid, world-
// readable), and killed from inside the container. Best effort: a process
// that already ended, or a host that hides /proc, leaves nothing to do.
func (c *Client) killExec(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ins, err := c.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
	if err != nil || !ins.Running || ins.PID <= 0 {
		return
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", ins.PID))
	if err != nil {
		return
	}
	pid := nsPID(status)
	if pid <= 0 {
		return
	}
	if _, err := c.Exec(ctx, []string{"kill", "-KILL", strconv.Itoa(pid)}, false); err != nil {
		return
	}
	// Return once the engine has seen the exec end, so callers (and the
	// exec-count checks of the leak tests) observe a settled state.
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		ins, err := c.api.ExecInspect(ctx, id, client.ExecInspectOptions{})
		if err != nil || !ins.Running {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nsPID returns the innermost pid of a /proc/PID/status "NSpid:" line.
func nsPID(status []byte) int {
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "NSpid:" {
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	return 0
}

// start creates and attaches an exec. The returned HijackedResponse carries
// the multiplexed stdout/stderr and, when stdin is true, the process's stdin.
func (c *Client) start(ctx context.Context, argv []string, privileged, stdin bool) (client.HijackedResponse, string, error) {
	created, err := c.api.ExecCreate(ctx, c.container, client.ExecCreateOptions{
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
