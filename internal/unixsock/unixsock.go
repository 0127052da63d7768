// Package unixsock opens the daemon's unix socket the way containerd and the
// kubelet do: absolute path of bounded length, parent directory created with
// a tight mode, a stale socket file replaced only after checking that nobody
// answers on it, and the socket's mode set right after listen while the
// parent directory's mode covers the window.
package unixsock

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// maxPath is the sun_path limit on Linux minus the terminating NUL.
const maxPath = 107

// ErrInUse: a live process already answers on the socket.
var ErrInUse = errors.New("socket in use by a running process")

// Listen creates the socket at path with mode sockMode, creating its parent
// directory with dirMode when missing.
func Listen(ctx context.Context, path string, dirMode, sockMode os.FileMode) (net.Listener, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("socket path %q: must be absolute", path)
	}
	if len(path) > maxPath {
		return nil, fmt.Errorf("socket path %q: %d bytes, over the %d-byte limit of unix sockets", path, len(path), maxPath)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("create socket directory %s: %w", dir, err)
	}
	if err := removeStale(ctx, path); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, sockMode); err != nil {
		l.Close()
		return nil, fmt.Errorf("set mode of %s: %w", path, err)
	}
	return l, nil
}

// removeStale deletes a leftover socket file unless something answers on it.
// Regular files and directories at the path are never removed: that would
// be a misconfiguration, not a leftover.
func removeStale(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket; remove it or choose another --socket", path)
	}
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%s: %w; stop the other benchd first", path, ErrInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("probe existing socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
