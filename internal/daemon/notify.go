package daemon

import (
	"fmt"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notifyReady tells systemd (Type=notify) — or a test harness that set
// NOTIFY_SOCKET — that benchd serves. X_BENCHD_TCP carries the bound TCP
// address, so that --listen tcp://HOST:0 can be found without reading logs.
// Without NOTIFY_SOCKET it does nothing.
func notifyReady(socket, tcp, metrics string) error {
	msg := fmt.Sprintf("READY=1\nSTATUS=serving %s\n", socket)
	if tcp != "" {
		msg += "X_BENCHD_TCP=" + tcp + "\n"
	}
	if metrics != "" {
		msg += "X_BENCHD_METRICS=" + metrics + "\n"
	}
	_, err := daemon.SdNotify(false, msg)
	return err
}

// notifyStopping tells systemd that benchd is shutting down.
func notifyStopping() { _, _ = daemon.SdNotify(false, daemon.SdNotifyStopping) }
