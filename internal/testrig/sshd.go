package testrig

// The deployment harness: renders the shipped templates of nix/ (systemd unit,
// sshd Match block, authorized_keys options) exactly as nix/render.nix does,
// creates a real login account, starts benchd the way the unit says (its
// User=, Group=, SupplementaryGroups=, ExecStart=, UMask=, NoNewPrivileges=,
// CapabilityBoundingSet=, PrivateNetwork= and RuntimeDirectory= lines; there
// is no systemd PID 1 here) and runs Debian's sshd with the rendered block on
// a loopback port. Everything here needs root.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Cleaner is what the setup functions below register their teardown with.
// testing.TB is one; Cleanups is one for programs that are not tests (the
// performance harness in bench/). Each setup function has an error-returning
// core taking a Cleaner and, where tests use it, a wrapper with the
// testing.TB signature that skips (or fails under CI=true) on a missing
// dependency and fails the test on an error.
type Cleaner interface {
	Cleanup(func())
}

// errorfer is the optional part of a Cleaner: where teardown goes wrong,
// testing.TB reports it as a test error, Cleanups prints it.
type errorfer interface {
	Errorf(format string, args ...any)
}

func reportf(c Cleaner, format string, args ...any) {
	if e, ok := c.(errorfer); ok {
		e.Errorf(format, args...)
	}
}

// Cleanups is a Cleaner for programs: Run calls what was registered, last
// first, like testing.TB does when a test ends.
type Cleanups struct {
	mu  sync.Mutex
	fns []func()
}

// Cleanup registers f to be called by Run.
func (c *Cleanups) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

// Errorf prints a teardown problem to stderr.
func (c *Cleanups) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cleanup: "+format+"\n", args...)
}

// Run calls the registered functions in reverse order, once.
func (c *Cleanups) Run() {
	for {
		c.mu.Lock()
		if len(c.fns) == 0 {
			c.mu.Unlock()
			return
		}
		f := c.fns[len(c.fns)-1]
		c.fns = c.fns[:len(c.fns)-1]
		c.mu.Unlock()
		f()
	}
}

// DeployConfig holds the values nix/render.nix takes; zero values get the
// same defaults.
type DeployConfig struct {
	Benchd     string // absolute path of the benchd binary (required)
	Socket     string // default /run/benchd/benchd.sock
	Store      string // default /var/lib/benchd/history.db
	Container  string // default ollama
	Ollama     string // docker-exec (default) or an http:// URL
	VRAMSource string // default auto
	ExtraArgs  []string
	User       string // default ai-worker
	Group      string // default: User
	// Transport is "forward" (default: nix/sshd-benchd.conf and
	// nix/authorized_keys.options) or "dial-stdio" (nix/sshd-benchd-dial-stdio.conf
	// and nix/authorized_keys-dial-stdio.options).
	Transport string
	// ForceCommand is the refusing command sessions run: required with
	// Transport "forward", empty with "dial-stdio", whose sessions run the
	// bridge "<Benchd> dial-stdio --socket <Socket>".
	ForceCommand       string
	AuthorizedKeysFile string // default /etc/ssh/authorized_keys.d/%u
}

// Deployment is the rendered text of the templates in nix/.
type Deployment struct {
	Config DeployConfig
	Vars   map[string]string
	// Unit is nix/benchd.service, SSHDConfig nix/sshd-benchd.conf and
	// KeyOptions the one line of nix/authorized_keys.options (with Transport
	// "dial-stdio": nix/sshd-benchd-dial-stdio.conf and
	// nix/authorized_keys-dial-stdio.options).
	Unit, SSHDConfig, KeyOptions string
}

// NixDir is the directory of the shipped templates.
func NixDir() string { return filepath.Join(RepoRoot(), "nix") }

var (
	reWord       = regexp.MustCompile(`^[A-Za-z0-9._/:,+=-]+$`)
	reAbsPath    = regexp.MustCompile(`^/[A-Za-z0-9._/+-]*$`)
	reKeysFile   = regexp.MustCompile(`^/[A-Za-z0-9._/%+-]*$`)
	reHTTP       = regexp.MustCompile(`^http://[A-Za-z0-9._:/-]+$`)
	reCommand    = regexp.MustCompile(`^/[A-Za-z0-9._/+-]*( [A-Za-z0-9._/:,+=-]+)*$`)
	reVRAM       = regexp.MustCompile(`^(auto|sysfs|rocm-smi|amd-smi|nvidia-smi|none)$`)
	rePlaceholdr = regexp.MustCompile(`@[A-Za-z]+@`)
)

// RenderDeployment renders the templates of nix/ the way nix/render.nix does
// (same defaults, same checks, same text).
func RenderDeployment(c DeployConfig) (*Deployment, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Socket, "/run/benchd/benchd.sock")
	def(&c.Store, "/var/lib/benchd/history.db")
	def(&c.Container, "ollama")
	def(&c.Ollama, "docker-exec")
	def(&c.VRAMSource, "auto")
	def(&c.User, "ai-worker")
	def(&c.Group, c.User)
	def(&c.AuthorizedKeysFile, "/etc/ssh/authorized_keys.d/%u")
	def(&c.Transport, "forward")

	var errs []error
	check := func(name string, re *regexp.Regexp, v string) string {
		if !re.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s = %q is not allowed here (want %s)", name, v, re))
		}
		return v
	}
	dockerExec := c.Ollama == "docker-exec"
	if !dockerExec && !reHTTP.MatchString(c.Ollama) {
		errs = append(errs, fmt.Errorf("ollama = %q: want docker-exec or an http:// URL", c.Ollama))
	}
	if len(c.Socket) > 107 {
		errs = append(errs, fmt.Errorf("socket %s is longer than the 107 bytes of a unix socket path", c.Socket))
	}
	// The transport picks the sshd block and key options, as in render.nix.
	forceCommand, sshdTemplate, keysTemplate := c.ForceCommand, "sshd-benchd.conf", "authorized_keys.options"
	switch c.Transport {
	case "forward":
		if c.ForceCommand == "" {
			errs = append(errs, errors.New(`forceCommand is required with transport = "forward"`))
		}
	case "dial-stdio":
		if c.ForceCommand != "" {
			errs = append(errs, errors.New(`forceCommand is not taken with transport = "dial-stdio": every session runs the bridge, <benchd> dial-stdio --socket <socket>`))
		}
		forceCommand = c.Benchd + " dial-stdio --socket " + c.Socket
		sshdTemplate, keysTemplate = "sshd-benchd-dial-stdio.conf", "authorized_keys-dial-stdio.options"
	default:
		errs = append(errs, fmt.Errorf("transport = %q: want forward or dial-stdio", c.Transport))
	}
	var extra strings.Builder
	for _, a := range c.ExtraArgs {
		extra.WriteString(" " + check("extraArgs", reWord, a))
	}
	vars := map[string]string{
		"benchd":             check("benchd", reAbsPath, c.Benchd),
		"socket":             check("socket", reAbsPath, c.Socket),
		"store":              check("store", reAbsPath, c.Store),
		"container":          check("container", reWord, c.Container),
		"ollama":             c.Ollama,
		"vramSource":         check("vramSource", reVRAM, c.VRAMSource),
		"extraArgs":          extra.String(),
		"user":               check("user", reWord, c.User),
		"group":              check("group", reWord, c.Group),
		"forceCommand":       check("forceCommand", reCommand, forceCommand),
		"authorizedKeysFile": check("authorizedKeysFile", reKeysFile, c.AuthorizedKeysFile),
		"privateNetwork":     map[bool]string{true: "yes", false: "no"}[dockerExec],
		"ipAddressDeny":      map[bool]string{true: "any", false: ""}[dockerExec],
		"addressFamilies":    map[bool]string{true: "AF_UNIX", false: "AF_UNIX AF_INET AF_INET6"}[dockerExec],
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("render nix/ templates: %w", err)
	}
	render := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(NixDir(), name))
		if err != nil {
			return "", err
		}
		// One pass, like builtins.replaceStrings: a value is never rescanned.
		var pairs []string
		for k, v := range vars {
			pairs = append(pairs, "@"+k+"@", v)
		}
		out := strings.NewReplacer(pairs...).Replace(string(b))
		if left := rePlaceholdr.FindAllString(out, -1); left != nil {
			return "", fmt.Errorf("nix/%s: unknown placeholders left: %v", name, left)
		}
		return out, nil
	}
	d := &Deployment{Config: c, Vars: vars}
	var err error
	if d.Unit, err = render("benchd.service"); err != nil {
		return nil, err
	}
	if d.SSHDConfig, err = render(sshdTemplate); err != nil {
		return nil, err
	}
	opts, err := render(keysTemplate)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(opts, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		return nil, fmt.Errorf("nix/%s: %d non-comment lines, want 1", keysTemplate, len(lines))
	}
	d.KeyOptions = lines[0]
	return d, nil
}

// Unit is a parsed systemd unit file: section → key → values in file order.
type Unit map[string]map[string][]string

// ParseUnit parses the subset of systemd's unit syntax the shipped unit uses
// (sections, Key=Value lines, # and ; comments; no line continuations).
func ParseUnit(text string) (Unit, error) {
	u := Unit{}
	section := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		case strings.HasSuffix(line, "\\"):
			return nil, fmt.Errorf("unit line %d: line continuations are not supported", i+1)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("unit line %d: %q is not Key=Value in a section", i+1, line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			u[section][k] = append(u[section][k], v)
		}
	}
	return u, nil
}

// Value is the last assignment of key in section, "" when there is none.
func (u Unit) Value(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// Has reports whether key is assigned in section at all (even to "").
func (u Unit) Has(section, key string) bool { return len(u[section][key]) > 0 }

// Account is a login account created for a test.
type Account struct {
	Name, Home string
	UID, GID   int
}

// accountMarker is the GECOS field of accounts this harness creates; only
// such accounts are ever deleted.
const accountMarker = "benchd e2e test account"

// AccountOptions tune NewAccount; the zero value is the NixOS module's
// account.
type AccountOptions struct {
	// Shell is the login shell; empty means nologin.
	Shell string
	// Groups are supplementary groups (e.g. "docker" for the seed's
	// baseline account in bench/; never for the agent's account).
	Groups []string
}

// CreateAccount creates a normal login account like the NixOS module's: its
// own group, no password, nologin as shell, not in the docker group. An
// exclusive lock in /run/lock serialises tests (of any package) that use the
// same name. The account is deleted when the test ends.
func CreateAccount(t testing.TB, name string) *Account {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root (to create the "+name+" account)")
	for _, tool := range []string{"useradd", "usermod", "userdel"} {
		_, err := exec.LookPath(tool)
		Require(t, err == nil, tool)
	}
	a, err := NewAccount(t, name, AccountOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// NewAccount is CreateAccount's core: it creates the account (holding the
// same lock until c's cleanups run) and registers its deletion with c.
func NewAccount(c Cleaner, name string, o AccountOptions) (*Account, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("creating the %s account needs root", name)
	}
	if err := os.MkdirAll("/run/lock", 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile("/run/lock/benchd-e2e-account-"+name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, err
	}
	c.Cleanup(func() { lock.Close() })

	if u, err := user.Lookup(name); err == nil {
		gecos := ""
		if out, err := exec.Command("getent", "passwd", name).Output(); err == nil {
			if f := strings.Split(strings.TrimSpace(string(out)), ":"); len(f) > 4 {
				gecos = f[4]
			}
		}
		if gecos != accountMarker {
			return nil, fmt.Errorf("account %s (uid %s) already exists and was not made by this harness; not touching it", name, u.Uid)
		}
		// Left over from a test that was killed.
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("remove stale test account %s: %v\n%s", name, err, out)
		}
	}

	dir, err := os.MkdirTemp("", "bd-home-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	home := filepath.Join(dir, name)
	shell := o.Shell
	if shell == "" {
		shell = NoLogin()
	}
	args := []string{"--create-home", "--home-dir", home, "--shell", shell,
		"--comment", accountMarker, "--user-group"}
	if len(o.Groups) > 0 {
		args = append(args, "--groups", strings.Join(o.Groups, ","))
	}
	out, err := exec.Command("useradd", append(args, name)...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("useradd %s: %v\n%s", name, err, out)
	}
	c.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			reportf(c, "userdel %s: %v\n%s", name, err, out)
		}
	})
	// useradd leaves the password "!" (locked). With UsePAM no, sshd refuses
	// even key logins to locked accounts; "*" matches no password and is not
	// a lock. (NixOS's sshd uses PAM, where the module's "!" is fine.)
	if out, err := exec.Command("usermod", "-p", "*", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("usermod -p '*' %s: %v\n%s", name, err, out)
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &Account{Name: name, Home: home, UID: uid, GID: gid}, nil
}

// NoLogin is the path of nologin on this host.
func NoLogin() string {
	for _, p := range []string{"/usr/sbin/nologin", "/sbin/nologin"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/usr/sbin/nologin"
}

// PackageBinary builds benchd the way nix/package.nix does (CGO_ENABLED=0,
// -trimpath, -ldflags "-s -w": a static binary) into a directory every user
// can read, removed when the test ends, and returns its path.
func PackageBinary(t testing.TB) string {
	t.Helper()
	p, err := BuildPackage(t)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BuildPackage is PackageBinary's core; c removes the directory.
func BuildPackage(c Cleaner) (string, error) {
	dir, err := os.MkdirTemp("", "benchd-pkg-")
	if err != nil {
		return "", err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", dir+"/", "./cmd/benchd")
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/benchd (CGO_ENABLED=0): %v\n%s", err, out)
	}
	return filepath.Join(dir, "benchd"), nil
}

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
// --socket and --store, created owned by the user with their modes) and
// systemd's clean environment. It fails the test on any other value of those lines, so that
// a change to the unit cannot silently make this emulation wrong. The other
// sandboxing directives need systemd itself; systemd-analyze checks them.
func StartService(t testing.TB, unitText string, opts ServiceOptions) *Daemon {
	t.Helper()
	for _, tool := range []string{"setpriv", "unshare"} {
		_, err := exec.LookPath(tool)
		Require(t, err == nil, tool+" (util-linux)")
	}
	if opts.Strace != "" {
		Require(t, lookPath("strace"), "strace")
	}
	d, err := LaunchService(t, unitText, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// LaunchService is StartService's core; c stops the daemon.
func LaunchService(c Cleaner, unitText string, opts ServiceOptions) (*Daemon, error) {
	for _, tool := range []string{"setpriv", "unshare"} {
		if !lookPath(tool) {
			return nil, fmt.Errorf("%s (util-linux) not found", tool)
		}
	}
	u, err := ParseUnit(unitText)
	if err != nil {
		return nil, err
	}
	val := func(k string) string { return u.Value("Service", k) }
	argv := strings.Fields(val("ExecStart"))
	if len(argv) == 0 || strings.ContainsAny(val("ExecStart"), `"'\%$`) {
		return nil, fmt.Errorf("ExecStart=%q: want a plain command line", val("ExecStart"))
	}
	flagValue := func(name string) string {
		for i, a := range argv {
			if a == name && i+1 < len(argv) {
				return argv[i+1]
			}
		}
		return ""
	}
	socket := flagValue("--socket")
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
	uid, _ := strconv.Atoi(usr.Uid)
	gid, _ := strconv.Atoi(grp.Gid)
	// The directories systemd makes for the service: the one holding the
	// socket stands in for /run/<RuntimeDirectory>, the one holding the
	// --store database for /var/lib/<StateDirectory>.
	for _, d := range []struct{ path, key string }{
		{socket, "RuntimeDirectory"},
		{flagValue("--store"), "StateDirectory"},
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
	switch val("PrivateNetwork") {
	case "yes":
		unshare = append(unshare, "--net")
	case "no", "":
	default:
		return nil, fmt.Errorf("PrivateNetwork=%q", val("PrivateNetwork"))
	}
	switch val("ProtectProc") {
	case "invisible":
		procOpts = append(procOpts, "hidepid=invisible")
	case "default", "":
	default:
		return nil, fmt.Errorf("ProtectProc=%q", val("ProtectProc"))
	}
	switch val("ProcSubset") {
	case "pid":
		procOpts = append(procOpts, "subset=pid")
	case "all", "":
	default:
		return nil, fmt.Errorf("ProcSubset=%q", val("ProcSubset"))
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
	cmdline = append(cmdline, "setpriv",
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

	d := &Daemon{Socket: socket, exited: make(chan struct{})}
	d.cmd = exec.Command(cmdline[0], cmdline[1:]...)
	d.cmd.Dir = "/"
	d.cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + usr.HomeDir, "USER=" + usr.Username, "LOGNAME=" + usr.Username, "SHELL=" + NoLogin(),
	}
	if err := launch(c, d); err != nil {
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

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// PID is the daemon's process id.
func (d *Daemon) PID() int { return d.cmd.Process.Pid }

// launch starts d.cmd, registers its stop with c and waits for benchd's
// serving line, like StartDaemon.
func launch(c Cleaner, d *Daemon) error {
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", d.cmd.Path, err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(d.exited)
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			d.logMu.Lock()
			d.log.WriteString(line + "\n")
			d.logMu.Unlock()
			if !signalled && strings.Contains(line, `msg="benchd serving"`) {
				signalled = true
				close(ready)
			}
		}
		_ = d.cmd.Wait()
	}()
	c.Cleanup(func() {
		if err := d.Terminate(); err != nil {
			reportf(c, "%v", err)
		}
	})
	select {
	case <-ready:
		return nil
	case <-d.exited:
		return fmt.Errorf("benchd exited before serving:\n%s", d.Log())
	case <-time.After(30 * time.Second):
		return fmt.Errorf("benchd did not start serving within 30s:\n%s", d.Log())
	}
}

// SSHDConfig is what StartSSHD runs sshd with: the harness's own global lines
// (loopback port, host key, UsePAM no, StrictModes yes, LogLevel,
// Subsystem sftp internal-sftp), then Global, then Fragment verbatim.
type SSHDConfig struct {
	Global   []string
	Fragment string
	// LogLevel is sshd's; empty means DEBUG1 (the e2e tests' evidence
	// needs it). bench/ uses INFO, a stock sshd's level.
	LogLevel string
}

// SSHD is a running sshd -D -e.
type SSHD struct {
	Port       int
	ConfigFile string
	knownHosts string

	cmd     *exec.Cmd
	exited  chan struct{}
	mu      sync.Mutex
	lines   []string
	changed chan struct{}
}

// StartSSHD runs Debian's sshd with cfg on a free loopback port until the
// test ends.
func StartSSHD(t testing.TB, cfg SSHDConfig) *SSHD {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root (to run sshd)")
	_, err := sshdPath()
	Require(t, err == nil, "sshd (openssh-server)")
	Require(t, lookPath("ssh-keygen"), "ssh-keygen (openssh-client)")
	s, err := LaunchSSHD(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sshdPath() (string, error) {
	p, err := exec.LookPath("sshd")
	if err != nil {
		p, err = exec.LookPath("/usr/sbin/sshd")
	}
	return p, err
}

// LaunchSSHD is StartSSHD's core; c stops sshd and removes its files.
func LaunchSSHD(c Cleaner, cfg SSHDConfig) (*SSHD, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("running sshd needs root")
	}
	sshdPath, err := sshdPath()
	if err != nil {
		return nil, fmt.Errorf("sshd (openssh-server): %w", err)
	}
	// Debian's sshd insists on its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bd-sshd-")
	if err != nil {
		return nil, err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	logLevel := cfg.LogLevel
	if logLevel == "" {
		logLevel = "DEBUG1"
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "benchd-e2e-host", "-f", hostKey).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		conf := fmt.Sprintf(`# written by internal/testrig/sshd.go
ListenAddress 127.0.0.1:%d
HostKey %s
PidFile none
UsePAM no
StrictModes yes
LogLevel %s
Subsystem sftp internal-sftp
%s
%s`, port, hostKey, logLevel, strings.Join(cfg.Global, "\n"), cfg.Fragment)
		s := &SSHD{Port: port, ConfigFile: filepath.Join(dir, "sshd_config"), exited: make(chan struct{}), changed: make(chan struct{})}
		if err := os.WriteFile(s.ConfigFile, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		s.knownHosts = filepath.Join(dir, "known_hosts")
		if err := os.WriteFile(s.knownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s", port, pub)), 0o644); err != nil {
			return nil, err
		}
		if out, err := exec.Command(sshdPath, "-t", "-f", s.ConfigFile).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("sshd -t rejects the config: %v\n%s\n%s", err, out, conf)
		}
		s.cmd = exec.Command(sshdPath, "-D", "-e", "-f", s.ConfigFile)
		s.cmd.WaitDelay = 5 * time.Second
		stderr, err := s.cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("start sshd: %v", err)
		}
		go s.read(stderr)
		line, err := s.WaitFor(0, "Server listening on 127.0.0.1 port", 20*time.Second)
		if err == nil && strings.Contains(line, strconv.Itoa(port)) {
			c.Cleanup(s.stop)
			return s, nil
		}
		s.stop()
		lastErr = fmt.Errorf("sshd did not start listening: %v\n%s", err, strings.Join(s.Lines(0), "\n"))
		if !strings.Contains(strings.Join(s.Lines(0), "\n"), "Bind to port") {
			break
		}
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *SSHD) read(r io.Reader) {
	defer close(s.exited)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s.mu.Lock()
		s.lines = append(s.lines, sc.Text())
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}
	_ = s.cmd.Wait()
}

func (s *SSHD) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Mark is the number of log lines so far; pass it to WaitFor and Lines to
// look only at what came after.
func (s *SSHD) Mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// Lines returns the log lines from index from on.
func (s *SSHD) Lines(from int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from > len(s.lines) {
		return nil
	}
	return slices.Clone(s.lines[from:])
}

// WaitFor waits until a log line from index from on contains substr and
// returns it.
func (s *SSHD) WaitFor(from int, substr string, timeout time.Duration) (string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for i := from; i < len(s.lines); i++ {
			if strings.Contains(s.lines[i], substr) {
				line := s.lines[i]
				s.mu.Unlock()
				return line, nil
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-s.exited:
			return "", fmt.Errorf("sshd exited before logging %q", substr)
		case <-deadline.C:
			return "", fmt.Errorf("sshd logged no line containing %q within %v", substr, timeout)
		}
	}
}

// SSH returns an ssh client command for user@127.0.0.1 on this sshd with the
// private key at key, the pinned host key and no user configuration: opts go
// before the destination, remote after it. env is added to a bare
// environment (PATH, HOME), e.g. SSH_AUTH_SOCK or DISPLAY.
func (s *SSHD) SSH(key, userName string, env, opts []string, remote ...string) *exec.Cmd {
	args := []string{"-F", "/dev/null", "-i", key, "-p", strconv.Itoa(s.Port),
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + s.knownHosts,
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10",
		"-o", "ControlMaster=no", "-o", "ControlPath=none"}
	args = append(args, opts...)
	args = append(args, userName+"@127.0.0.1")
	args = append(args, remote...)
	cmd := exec.Command("ssh", args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	return cmd
}

// GenerateKey writes a new ed25519 key pair to dir/name and returns the
// private key's path and the public key line.
func GenerateKey(t testing.TB, dir, name string) (string, string) {
	t.Helper()
	key, pub, err := NewKeyPair(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// NewKeyPair is GenerateKey's core.
func NewKeyPair(dir, name string) (string, string, error) {
	key := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return "", "", err
	}
	return key, strings.TrimSpace(string(pub)), nil
}

// AuthorizedKeysDir makes a root-owned directory for sshd's AuthorizedKeysFile
// in /run (StrictModes wants every directory up to / owned by root and not
// group- or world-writable, which rules out /tmp) and removes it when the test
// ends. Files written with WriteAuthorizedKeys go in it.
func AuthorizedKeysDir(t testing.TB) string {
	t.Helper()
	dir, err := NewAuthorizedKeysDir(t)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// NewAuthorizedKeysDir is AuthorizedKeysDir's core; c removes the directory.
func NewAuthorizedKeysDir(c Cleaner) (string, error) {
	dir, err := os.MkdirTemp("/run", "benchd-e2e-keys-")
	if err != nil {
		return "", err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// WriteAuthorizedKeys writes dir/userName (root-owned, 0644, like NixOS's
// /etc/ssh/authorized_keys.d/<user>) with lines.
func WriteAuthorizedKeys(t testing.TB, dir, userName string, lines ...string) {
	t.Helper()
	if err := WriteAuthorizedKeysFile(dir, userName, lines...); err != nil {
		t.Fatal(err)
	}
}

// WriteAuthorizedKeysFile is WriteAuthorizedKeys' core.
func WriteAuthorizedKeysFile(dir, userName string, lines ...string) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return os.WriteFile(filepath.Join(dir, userName), b.Bytes(), 0o644)
}

// CopyTree copies the regular files and directories under src to dst, world
// readable, so that a service user can read a fixture the test's checkout
// may keep out of its reach.
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !e.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
}
