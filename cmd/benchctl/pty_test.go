package main_test

// Pseudo-terminals for the tests that type ^C at benchctl. Where the host's
// /dev/ptmx cannot be opened (a devpts mounted with ptmxmode=000, as in some
// containers), the pair comes from a devpts instance of the test's own: a
// re-executed test binary, in a private mount namespace, mounts a fresh
// devpts over /dev/pts there (not on the host), opens both ends and hands
// them back over a socket. The host's mounts are never changed: the helper
// makes every mount in its namespace private before mounting, and the test
// checks the host's devpts mounts are the same before and after.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/benchd/benchd/internal/testrig"
)

// ptyHelperEnv makes the test binary the helper that opens a pty pair in a
// devpts instance of its own (see privatePTY) instead of running tests.
const ptyHelperEnv = "BENCHCTL_TEST_PRIVATE_PTY"

func TestMain(m *testing.M) {
	if os.Getenv(ptyHelperEnv) == "1" {
		if err := privatePTYHelper(); err != nil {
			fmt.Fprintf(os.Stderr, "private pty: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// privatePTYHelper runs in the re-executed binary, in a mount namespace of
// its own: it mounts a new devpts instance on /dev/pts, opens a pty pair in
// it and sends both ends over descriptor 3.
func privatePTYHelper() error {
	// Go's exec already made / private recursively (Unshareflags
	// CLONE_NEWNS); again here, and checked, since mounting on a mount that
	// still propagates would change the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(info), "\n") {
		if strings.Contains(l, " shared:") {
			return fmt.Errorf("a mount still propagates to the host; not mounting: %s", l)
		}
	}
	if err := unix.Mount("devpts", "/dev/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620"); err != nil {
		return fmt.Errorf("mount a new devpts instance: %w", err)
	}
	m, err := os.OpenFile("/dev/pts/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	return unix.Sendmsg(3, []byte("pty"), unix.UnixRights(int(m.Fd()), int(s.Fd())), nil, 0)
}

// openPTY opens a pseudo-terminal pair: the host's, or, where /dev/ptmx
// cannot be opened, one in a devpts instance of the test's own. Without
// either the test is skipped, and fails under CI=true.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, s, err := hostPTY()
	if err == nil {
		t.Cleanup(func() { m.Close(); s.Close() })
		return m, s
	}
	t.Logf("the host's pseudo-terminals: %v; using a devpts instance of the test's own", err)
	return requirePrivatePTY(t, err)
}

// hostPTY opens a pty pair through the host's /dev/ptmx.
func hostPTY() (master, tty *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// requirePrivatePTY is privatePTY's pair, closed when the test ends; without
// one the test is skipped, and fails under CI=true. hostErr is why the
// host's pseudo-terminals were not used, if they were tried.
func requirePrivatePTY(t *testing.T, hostErr error) (master, tty *os.File) {
	t.Helper()
	m, s, err := privatePTY()
	what := fmt.Sprintf("a pseudo-terminal in a devpts instance of the test's own (%v)", err)
	if hostErr != nil {
		what = fmt.Sprintf("a pseudo-terminal (the host's /dev/ptmx: %v; a devpts instance of the test's own: %v)", hostErr, err)
	}
	testrig.Require(t, err == nil, what)
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// devptsMounts are this process's devpts mount lines (the host's, for the
// test process).
func devptsMounts() (string, error) {
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, l := range strings.Split(string(info), "\n") {
		if strings.Contains(l, " - devpts ") {
			b.WriteString(l + "\n")
		}
	}
	return b.String(), nil
}

// privatePTY opens a pty pair in a devpts instance of its own, in a helper
// process's private mount namespace (as root; otherwise in a user namespace
// of its own too), and checks that the host's devpts mounts did not change.
func privatePTY() (master, tty *os.File, err error) {
	before, err := devptsMounts()
	if err != nil {
		return nil, nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "pty-helper"), os.NewFile(uintptr(fds[1]), "pty-helper")
	defer ours.Close()
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), ptyHelperEnv+"=1")
	cmd.ExtraFiles = []*os.File{theirs}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	} else {
		// Mounts copied into a less privileged user namespace's mount
		// namespace do not propagate back.
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
	}
	err = cmd.Run()
	theirs.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("helper in a private mount namespace: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	buf, oob := make([]byte, 16), make([]byte, unix.CmsgSpace(2*4))
	_, oobn, _, _, err := unix.Recvmsg(int(ours.Fd()), buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, nil, fmt.Errorf("the helper sent no pty: %v", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, nil, fmt.Errorf("the helper's message: %d control messages, %v", len(msgs), err)
	}
	rights, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(rights) != 2 {
		return nil, nil, fmt.Errorf("the helper's descriptors: %v, %v", rights, err)
	}
	master, tty = os.NewFile(uintptr(rights[0]), "ptmx"), os.NewFile(uintptr(rights[1]), "pts")
	after, err := devptsMounts()
	if err != nil || after != before {
		master.Close()
		tty.Close()
		return nil, nil, fmt.Errorf("the host's devpts mounts changed (%v):\nbefore:\n%safter:\n%s", err, before, after)
	}
	return master, tty, nil
}

// TestPrivatePTY checks that privatePTY's pair (openPTY's fallback where
// /dev/ptmx cannot be opened) is a working controlling terminal in a devpts
// instance other than the host's: a child on it echoes what is typed, and a
// typed ^C is SIGINT from the line discipline. It runs where /dev/ptmx works
// too, so that the fallback is exercised wherever the tests run.
func TestPrivatePTY(t *testing.T) {
	m, tty := requirePrivatePTY(t, nil)
	// Its terminal is not one of the host's: another devpts instance.
	var own, host unix.Stat_t
	if err := unix.Fstat(int(tty.Fd()), &own); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat("/dev/pts", &host); err == nil && own.Dev == host.Dev {
		t.Errorf("the private pty is on the host's devpts (device %d)", host.Dev)
	}
	cmd := exec.Command("cat")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })

	lines := make(chan string, 8)
	go func() {
		r := bufio.NewReader(m)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimRight(l, "\r\n")
		}
	}()
	if _, err := io.WriteString(m, "hello pty\n"); err != nil {
		t.Fatal(err)
	}
	// The line discipline echoes the line, then cat writes it back.
	for i, want := range []string{"hello pty", "hello pty"} {
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				t.Fatalf("line %d on the terminal: %q (open %v), want %q", i, l, ok, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("line %d: nothing on the terminal", i)
		}
	}
	if _, err := io.WriteString(m, "\x03"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			t.Fatalf("cat after ^C: %v", waitErr)
		}
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGINT {
			t.Errorf("cat after ^C: %v, want killed by SIGINT", waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("^C on the terminal did not stop cat")
	}
}
