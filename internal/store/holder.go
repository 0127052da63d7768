package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrInUse: another process holds the store's lock (bbolt takes an
// exclusive flock for as long as a database is open).
var ErrInUse = errors.New("store in use")

// inUse is the error for a store whose lock another process holds: which
// process, when /proc/locks says, and what to do about it.
func inUse(path string) error {
	who := "another process"
	if pid := lockHolder(path); pid > 0 {
		who = fmt.Sprintf("process %d", pid)
		if cmd := cmdline(pid); cmd != "" {
			who += " (" + cmd + ")"
		}
	}
	return fmt.Errorf("%w: %s is held by %s; if that is another benchd, stop it or give this one its own --store", ErrInUse, path, who)
}

// lockHolder is the pid of the process holding a lock on path's inode, or 0
// when /proc/locks does not say (the holder is in another pid namespace, or
// /proc is not there).
func lockHolder(path string) int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0
	}
	// /proc/locks names a file as MAJOR:MINOR:INODE with the device numbers
	// in hex: "1: FLOCK  ADVISORY  WRITE 1928 fe:00:745761 0 EOF".
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// A blocked waiter's line carries "->" after the number.
		if len(fields) < 6 || fields[1] == "->" || fields[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}

// cmdline is pid's command line, space-separated, or "" when unreadable.
func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(bytes.ReplaceAll(bytes.TrimRight(b, "\x00"), []byte{0}, []byte{' '})))
}
