package daemon

import (
	"path/filepath"
	"strings"

	"github.com/benchd/benchd/proto/defaults"
)

// SystemStore is the history file of benchd as a system service.
const SystemStore = "/var/lib/benchd/history.db"

// Paths are the socket and store a benchd uses when its flags name none.
type Paths struct {
	Socket, Store string
}

// DefaultPaths are where a benchd puts its socket and store by default, so
// that it runs as whoever starts it:
//   - under systemd, the unit's RuntimeDirectory= and StateDirectory=
//     (systemd passes them as $RUNTIME_DIRECTORY and $STATE_DIRECTORY);
//   - as root, /run/benchd and /var/lib/benchd;
//   - as anyone else, $XDG_RUNTIME_DIR/benchd and $XDG_STATE_HOME/benchd
//     (~/.local/state/benchd without XDG_STATE_HOME), the places a user's
//     own services keep these. Without XDG_RUNTIME_DIR (no login session)
//     Socket is "" and Validate asks for --socket.
//
// getenv is os.Getenv in benchd; euid is os.Geteuid().
func DefaultPaths(getenv func(string) string, euid int) Paths {
	p := Paths{Socket: defaults.Socket, Store: SystemStore}
	if euid != 0 {
		p = Paths{Socket: defaults.UserSocket(getenv("XDG_RUNTIME_DIR"))}
		state := getenv("XDG_STATE_HOME")
		if state == "" && getenv("HOME") != "" {
			state = filepath.Join(getenv("HOME"), ".local", "state")
		}
		if state != "" {
			p.Store = filepath.Join(state, "benchd", "history.db")
		}
	}
	// systemd's directories win for root too: they are the unit's own.
	if d := getenv("RUNTIME_DIRECTORY"); d != "" {
		p.Socket = filepath.Join(firstPath(d), "benchd.sock")
	}
	if d := getenv("STATE_DIRECTORY"); d != "" {
		p.Store = filepath.Join(firstPath(d), "history.db")
	}
	return p
}

// firstPath is the first of systemd's colon-separated directory list (a
// unit may name several; benchd's names one).
func firstPath(list string) string {
	first, _, _ := strings.Cut(list, ":")
	return first
}
