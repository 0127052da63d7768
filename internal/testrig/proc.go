package testrig

// What a test reads about a process: memory, file descriptors, the process
// behind a socket; and polling for a state.

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Poll calls cond until it returns true or within passes (which fails the
// test). It is how tests wait for a state that sends no event, never a
// bare sleep.
func Poll(t TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// Mem is a process's memory from /proc/PID/status, in KiB.
type Mem struct {
	RSS, HWM, Anon, File int64 // VmRSS, VmHWM, RssAnon, RssFile
}

// ProcMem reads the memory of process pid.
func ProcMem(pid int) (Mem, error) {
	var m Mem
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	seen := false
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			m.RSS, seen = n, true
		case "VmHWM":
			m.HWM = n
		case "RssAnon":
			m.Anon = n
		case "RssFile":
			m.File = n
		}
	}
	if !seen {
		return m, fmt.Errorf("no VmRSS for pid %d", pid)
	}
	return m, nil
}

// RSSKiB is VmRSS of process pid.
func RSSKiB(t TB, pid int) int64 {
	t.Helper()
	m, err := ProcMem(pid)
	if err != nil {
		t.Fatal(err)
	}
	return m.RSS
}

// FDCount is the number of open file descriptors of process pid.
func FDCount(t TB, pid int) int {
	t.Helper()
	es, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// PeerPID is the process id of whatever serves the unix socket at path,
// from its peer credentials (SO_PEERCRED).
func PeerPID(path string) (int, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		cred *syscall.Ucred
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, fmt.Errorf("SO_PEERCRED of %s: %v %v", path, err, cerr)
	}
	return int(cred.Pid), nil
}

// ServingPID is the daemon's process id, cross-checked with its socket's
// peer credentials: the process serving the socket is the one started.
func (d *Daemon) ServingPID(t TB) int {
	t.Helper()
	pid, err := PeerPID(d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if pid != d.PID() {
		t.Fatalf("socket served by pid %d, started pid %d", pid, d.PID())
	}
	return pid
}

// stopProcess sends p SIGTERM, unless exited is already closed, and waits
// for exited; after grace it kills p, waits, and returns false.
func stopProcess(p *os.Process, exited <-chan struct{}, grace time.Duration) bool {
	select {
	case <-exited:
		return true
	default:
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return true
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
		return false
	}
}
