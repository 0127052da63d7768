package testrig

// Rendering of the shipped deployment templates of nix/ (systemd unit, sshd
// Match block, authorized_keys options), exactly as nix/render.nix does.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

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
	// Metrics is --metrics tcp://HOST:PORT (render.nix's metrics); the
	// unit then has IP networking.
	Metrics string
	// User is the agent's SSH login (the sshd block's Match User), a
	// client of benchd; default ai-worker.
	User string
	// ServiceUser and ServiceGroup are the account benchd runs as (the
	// unit's User= and Group=; the socket's group, which the login joins);
	// default benchd and ServiceUser. ServiceUser = User is the legacy
	// layout, one account for both.
	ServiceUser, ServiceGroup string
	// The unit's MemoryMax= (default 512M), TasksMax= (256) and
	// LimitNOFILE= (4096).
	MemoryMax, TasksMax, LimitNOFILE string
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

// SplitLayout reports whether the daemon and the agent's login are separate
// accounts (the default) rather than one (the legacy layout).
func (c DeployConfig) SplitLayout() bool { return c.ServiceUser != c.User }

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
	reMemoryMax  = regexp.MustCompile(`^([0-9]+[KMGT]?|[0-9]+%|infinity)$`)
	reTasksMax   = regexp.MustCompile(`^([0-9]+|[0-9]+%|infinity)$`)
	reNOFILE     = regexp.MustCompile(`^([0-9]+(:[0-9]+)?|infinity)$`)
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
	def(&c.ServiceUser, "benchd")
	def(&c.ServiceGroup, c.ServiceUser)
	def(&c.MemoryMax, "512M")
	def(&c.TasksMax, "256")
	def(&c.LimitNOFILE, "4096")
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
	noIP := dockerExec && c.Metrics == ""
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
	args := c.ExtraArgs
	if c.Metrics != "" {
		args = append(slices.Clone(args), "--metrics", c.Metrics)
	}
	for _, a := range args {
		extra.WriteString(" " + check("extraArgs", reWord, a))
	}
	// The login is admitted by name unless it is the daemon's own account.
	allowUsers := ""
	if c.ServiceUser != c.User {
		allowUsers = " --allow-user " + c.User
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
		"serviceUser":        check("serviceUser", reWord, c.ServiceUser),
		"serviceGroup":       check("serviceGroup", reWord, c.ServiceGroup),
		"allowUsers":         allowUsers,
		"memoryMax":          check("memoryMax", reMemoryMax, c.MemoryMax),
		"tasksMax":           check("tasksMax", reTasksMax, c.TasksMax),
		"limitNOFILE":        check("limitNOFILE", reNOFILE, c.LimitNOFILE),
		"forceCommand":       check("forceCommand", reCommand, forceCommand),
		"authorizedKeysFile": check("authorizedKeysFile", reKeysFile, c.AuthorizedKeysFile),
		"privateNetwork":     map[bool]string{true: "yes", false: "no"}[noIP],
		"ipAddressDeny":      map[bool]string{true: "any", false: ""}[noIP],
		"addressFamilies":    map[bool]string{true: "AF_UNIX", false: "AF_UNIX AF_INET AF_INET6"}[noIP],
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
