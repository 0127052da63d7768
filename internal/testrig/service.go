package testrig

// benchd started the way the rendered unit tells systemd to (there is no
// systemd PID 1 here). Everything here needs root.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServiceOptions tunes StartService.
type ServiceOptions struct {
	// Strace, if set, is a file the daemon's system calls are written to
	// (strace -D -f: strace runs as a detached grandchild, so the daemon
	// stays the process the test signals). Its directory must be writable
	// by the unit's user.
	Strace string
}

// StartService starts benchd the way the rendered unit tells systemd to:
// as User= and Group= with the user's groups plus SupplementaryGroups=, the
// ExecStart= command line, UMask=, NoNewPrivileges= and an empty
// CapabilityBoundingSet= (through setpriv), PrivateNetwork=yes (unshare
// --net), ProtectProc=invisible and ProcSubset=pid (a procfs mounted with
// hidepid=invisible,subset=pid in a private mount namespace, as systemd
// does), RuntimeDirectory= and StateDirectory= (the directories of
// --socket and --store, created owned by the user with their modes),
// LimitNOFILE= (prlimit, soft and hard), systemd's clean environment, and
// Type=notify with NotifyAccess=main
// (started once the main process sends READY=1 to its NOTIFY_SOCKET). It
// fails the test on any other value of those lines, so that a change to
// the unit cannot silently make this emulation wrong. MemoryMax= and
// TasksMax= (cgroup limits) are only checked for a value systemd takes; they
// and the other sandboxing directives need systemd itself, and
// systemd-analyze judges them.
func StartService(t TB, unitText string, opts ServiceOptions) *Daemon {
	t.Helper()
	for _, tool := range []string{"setpriv", "unshare", "prlimit"} {
		_, err := exec.LookPath(tool)
		Require(t, err == nil, tool+" (util-linux)")
	}
	if opts.Strace != "" {
		Require(t, lookPath("strace"), "strace")
	}
	d, err := LaunchService(t, unitText, opts)
	return must(t, d, err)
}

// LaunchService is StartService's core; c stops the daemon.
func LaunchService(c Cleaner, unitText string, opts ServiceOptions) (*Daemon, error) {
	for _, tool := range []string{"setpriv", "unshare", "prlimit"} {
		if !lookPath(tool) {
			return nil, fmt.Errorf("%s (util-linux) not found", tool)
		}
	}
	u, err := ParseUnit(unitText)
	if err != nil {
		return nil, err
	}
	val := func(k string) string { return u.Value("Service", k) }
	if val("Type") != "notify" || val("NotifyAccess") != "main" {
		return nil, fmt.Errorf("unit: Type=%q NotifyAccess=%q: want Type=notify and NotifyAccess=main; the harness emulates only that", val("Type"), val("NotifyAccess"))
	}
	argv := strings.Fields(val("ExecStart"))
	if len(argv) == 0 || strings.ContainsAny(val("ExecStart"), `"'\%$`) {
		return nil, fmt.Errorf("ExecStart=%q: want a plain command line", val("ExecStart"))
	}
	socket := flagValue(argv, "--socket")
	if socket == "" {
		return nil, fmt.Errorf("ExecStart=%q has no --socket", val("ExecStart"))
	}
	usr, err := user.Lookup(val("User"))
	if err != nil {
		return nil, fmt.Errorf("User=%s: %v", val("User"), err)
	}
	grp, err := user.LookupGroup(val("Group"))
	if err != nil {
		return nil, fmt.Errorf("Group=%s: %v", val("Group"), err)
	}
	// systemd: the user's own groups plus SupplementaryGroups=.
	gids, err := usr.GroupIds()
	if err != nil {
		return nil, err
	}
	for _, name := range strings.Fields(val("SupplementaryGroups")) {
		g, err := user.LookupGroup(name)
		if err != nil {
			return nil, fmt.Errorf("SupplementaryGroups=%s: %v", name, err)
		}
		gids = append(gids, g.Gid)
	}
	slices.Sort(gids)
	gids = slices.Compact(gids)

	if val("NoNewPrivileges") != "yes" || !u.Has("Service", "CapabilityBoundingSet") || val("CapabilityBoundingSet") != "" ||
		val("AmbientCapabilities") != "" {
		return nil, fmt.Errorf("unit: want NoNewPrivileges=yes, an empty CapabilityBoundingSet= and no AmbientCapabilities; the harness emulates only that")
	}
	umask := val("UMask")
	if _, err := strconv.ParseUint(umask, 8, 32); err != nil {
		return nil, fmt.Errorf("UMask=%q: %v", umask, err)
	}
	// Resource limits: LimitNOFILE= is an rlimit, set here as systemd sets
	// it (one number: soft = hard); MemoryMax= and TasksMax= are cgroup
	// settings this harness does not make, but their values must be ones
	// systemd takes.
	nofile := val("LimitNOFILE")
	if _, err := strconv.ParseUint(nofile, 10, 32); err != nil {
		return nil, fmt.Errorf("LimitNOFILE=%q: the harness emulates a single number only", nofile)
	}
	for k, re := range map[string]*regexp.Regexp{"MemoryMax": reMemoryMax, "TasksMax": reTasksMax} {
		if !re.MatchString(val(k)) {
			return nil, fmt.Errorf("%s=%q: not a value systemd takes", k, val(k))
		}
	}
	uid, _ := strconv.Atoi(usr.Uid)
	gid, _ := strconv.Atoi(grp.Gid)
	// The directories systemd makes for the service: the one holding the
	// socket stands in for /run/<RuntimeDirectory>, the one holding the
	// --store database for /var/lib/<StateDirectory>.
	for _, d := range []struct{ path, key string }{
		{socket, "RuntimeDirectory"},
		{flagValue(argv, "--store"), "StateDirectory"},
	} {
		name, modeText := val(d.key), val(d.key+"Mode")
		if name == "" {
			continue
		}
		dir := filepath.Dir(d.path)
		if d.path == "" || filepath.Base(dir) != name {
			return nil, fmt.Errorf("%s=%s: ExecStart=%q puts no file in a directory of that name", d.key, name, val("ExecStart"))
		}
		mode, err := strconv.ParseUint(modeText, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("%sMode=%q: %v", d.key, modeText, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, os.FileMode(mode)); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}

	// Namespaces: a network namespace for PrivateNetwork=yes; a mount
	// namespace with a procfs mounted like ProtectProc=/ProcSubset= want it.
	var unshare, procOpts []string
	on := map[string]bool{}
	for _, d := range []struct{ key, yes, no string }{
		{"PrivateNetwork", "yes", "no"},
		{"ProtectProc", "invisible", "default"},
		{"ProcSubset", "pid", "all"},
	} {
		switch v := val(d.key); v {
		case d.yes:
			on[d.key] = true
		case d.no, "":
		default:
			return nil, fmt.Errorf("%s=%q: the harness emulates only %s and %s", d.key, v, d.yes, d.no)
		}
	}
	if on["PrivateNetwork"] {
		unshare = append(unshare, "--net")
	}
	if on["ProtectProc"] {
		procOpts = append(procOpts, "hidepid=invisible")
	}
	if on["ProcSubset"] {
		procOpts = append(procOpts, "subset=pid")
	}
	var cmdline []string
	if len(procOpts) > 0 {
		unshare = append(unshare, "--mount", "--propagation", "private")
	}
	if len(unshare) > 0 {
		cmdline = append(append([]string{"unshare"}, unshare...), "--")
	}
	if len(procOpts) > 0 {
		cmdline = append(cmdline, "/bin/sh", "-c", `mount -t proc -o "$0" proc /proc && exec "$@"`, strings.Join(procOpts, ","))
	}
	cmdline = append(cmdline, "prlimit", "--nofile="+nofile+":"+nofile, "--", "setpriv",
		"--reuid="+usr.Uid, "--regid="+grp.Gid, "--groups="+strings.Join(gids, ","),
		"--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
		"--", "/bin/sh", "-c", `umask "$0" && exec "$@"`, umask)
	if opts.Strace != "" {
		if !lookPath("strace") {
			return nil, errors.New("strace not found")
		}
		cmdline = append(cmdline, "strace", "-D", "-f", "-qq", "-o", opts.Strace, "--")
	}
	cmdline = append(cmdline, argv...)

	d := &Daemon{Socket: socket, Store: flagValue(argv, "--store"), cmdline: cmdline, dir: "/",
		env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HOME=" + usr.HomeDir, "USER=" + usr.Username, "LOGNAME=" + usr.Username, "SHELL=" + NoLogin(),
		}}
	if err := d.start(c); err != nil {
		return nil, err
	}
	return d, nil
}

// WaitStrace waits until no strace writing to file runs any more (strace -D
// is nobody's child here, so this polls /proc) and the file is complete.
func WaitStrace(file string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		running := false
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			args := strings.Split(string(b), "\x00")
			if len(args) > 0 && filepath.Base(args[0]) == "strace" && slices.Contains(args, file) {
				running = true
				break
			}
		}
		if !running {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("strace writing %s still runs after %v", file, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
