package daemon_test

import (
	"testing"

	"github.com/benchd/benchd/internal/daemon"
)

func TestDefaultPaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		euid int
		want daemon.Paths
	}{
		{"root", map[string]string{"XDG_RUNTIME_DIR": "/run/user/0", "HOME": "/root"}, 0,
			daemon.Paths{Socket: "/run/benchd/benchd.sock", Store: "/var/lib/benchd/history.db"}},
		{"user", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "XDG_STATE_HOME": "/home/a/st", "HOME": "/home/a"}, 1000,
			daemon.Paths{Socket: "/run/user/1000/benchd/benchd.sock", Store: "/home/a/st/benchd/history.db"}},
		{"user without XDG_STATE_HOME", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/a"}, 1000,
			daemon.Paths{Socket: "/run/user/1000/benchd/benchd.sock", Store: "/home/a/.local/state/benchd/history.db"}},
		{"user without a session", map[string]string{}, 1000, daemon.Paths{}},
		{"systemd unit", map[string]string{"RUNTIME_DIRECTORY": "/run/benchd", "STATE_DIRECTORY": "/var/lib/benchd:/var/lib/other",
			"XDG_RUNTIME_DIR": "/run/user/990"}, 990,
			daemon.Paths{Socket: "/run/benchd/benchd.sock", Store: "/var/lib/benchd/history.db"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := daemon.DefaultPaths(func(k string) string { return tc.env[k] }, tc.euid)
			if got != tc.want {
				t.Errorf("DefaultPaths = %+v, want %+v", got, tc.want)
			}
		})
	}
}
