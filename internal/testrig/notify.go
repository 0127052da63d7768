package testrig

// Readiness the way systemd learns it for a Type=notify service: the
// service manager's end of the sd_notify protocol. A daemon started with
// NOTIFY_SOCKET=<path> sends a datagram of KEY=VALUE lines to that unixgram
// socket; READY=1 says it serves. benchd sends it once its sockets serve,
// with X_BENCHD_TCP=HOST:PORT when it listens on TCP.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// notifySocket is a private NOTIFY_SOCKET: a unixgram socket that records
// each sender's pid (SO_PASSCRED), so that only the main process counts,
// as with NotifyAccess=main.
type notifySocket struct {
	path string
	conn *net.UnixConn
}

// errNotReady is waitReady's error when the daemon exited first.
var errNotReady = errors.New("exited before it sent READY=1")

// listenNotify makes the socket, writable by every user (as systemd's own
// /run/systemd/notify is) so that a daemon started as a service user can
// send to it; c removes it.
func listenNotify(c Cleaner) (*notifySocket, error) {
	// A short path: unix socket paths are limited to 107 bytes.
	dir, err := ReadableDir(c, "", "bd-notify-")
	if err != nil {
		return nil, err
	}
	n := &notifySocket{path: filepath.Join(dir, "notify")}
	if n.conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"}); err != nil {
		return nil, err
	}
	c.Cleanup(func() { n.conn.Close() })
	if err := os.Chmod(n.path, 0o666); err != nil {
		return nil, err
	}
	raw, err := n.conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		return nil, fmt.Errorf("SO_PASSCRED on %s: %v %v", n.path, err, serr)
	}
	return n, nil
}

// env is the NOTIFY_SOCKET entry for the daemon's environment.
func (n *notifySocket) env() string { return "NOTIFY_SOCKET=" + n.path }

// waitReady reads datagrams until one sent by process pid carries READY=1
// and returns that datagram's fields. Datagrams of other processes are
// ignored. It returns errNotReady once exited is closed, and an error after
// timeout.
func (n *notifySocket) waitReady(pid int, exited <-chan struct{}, timeout time.Duration) (map[string]string, error) {
	if err := n.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	// The process's exit ends a blocked read at once.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-exited:
			_ = n.conn.SetReadDeadline(time.Now())
		case <-stop:
		}
	}()
	defer func() { close(stop); <-stopped }()
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(syscall.SizeofUcred))
	for {
		nb, noob, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			select {
			case <-exited:
				return nil, errNotReady
			default:
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, fmt.Errorf("did not send READY=1 on NOTIFY_SOCKET within %v", timeout)
			}
			return nil, err
		}
		if sender, ok := senderPID(oob[:noob]); !ok || sender != pid {
			continue
		}
		if fields := parseNotify(buf[:nb]); fields["READY"] == "1" {
			return fields, nil
		}
	}
}

// senderPID is the pid in a datagram's SCM_CREDENTIALS.
func senderPID(oob []byte) (int, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for i := range msgs {
		if cred, err := syscall.ParseUnixCredentials(&msgs[i]); err == nil {
			return int(cred.Pid), true
		}
	}
	return 0, false
}

// parseNotify splits a datagram into its KEY=VALUE lines.
func parseNotify(b []byte) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = v
		}
	}
	return fields
}
