package testrig

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

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
	// Groups are supplementary groups (e.g. "docker" for the legacy
	// baseline account in cmd/benchperf, or the daemon's group for the
	// agent's login; never docker for the agent's account).
	Groups []string
	// System makes a system account (useradd --system: a uid below
	// UID_MIN), like the module's service account.
	System bool
}

// CreateAccount creates a normal login account like the NixOS module's: its
// own group, no password, nologin as shell, not in the docker group. An
// exclusive lock in /run/lock serialises tests (of any package) that use the
// same name. The account is deleted when the test ends.
func CreateAccount(t TB, name string) *Account {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root (to create the "+name+" account)")
	for _, tool := range []string{"useradd", "usermod", "userdel"} {
		_, err := exec.LookPath(tool)
		Require(t, err == nil, tool)
	}
	a, err := NewAccount(t, name, AccountOptions{})
	return must(t, a, err)
}

// NewAccount is CreateAccount's core: it creates the account (holding the
// same lock until c's cleanups run) and registers its deletion with c.
func NewAccount(c Cleaner, name string, o AccountOptions) (*Account, error) {
	if err := lockAccount(c, name); err != nil {
		return nil, err
	}
	return addAccount(c, name, o)
}

// lockAccount takes the name's exclusive lock until c's cleanups run.
func lockAccount(c Cleaner, name string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("creating the %s account needs root", name)
	}
	if err := os.MkdirAll("/run/lock", 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile("/run/lock/benchd-e2e-account-"+name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return err
	}
	c.Cleanup(func() { lock.Close() })
	return nil
}

// addAccount creates the account; the caller holds its lock.
func addAccount(c Cleaner, name string, o AccountOptions) (*Account, error) {
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
		// userdel keeps the account's own group while another (stale)
		// account still lists it, e.g. the service's group with the login
		// in it; useradd --user-group would then fail. It was this
		// harness's group: the account was.
		if exec.Command("getent", "group", name).Run() == nil {
			if out, err := exec.Command("groupdel", name).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("remove stale test account %s's group: %v\n%s", name, err, out)
			}
		}
	}

	dir, err := ReadableDir(c, "", "bd-home-")
	if err != nil {
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
	if o.System {
		args = append(args, "--system")
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

// DeployAccounts are the accounts a rendered deployment names.
type DeployAccounts struct {
	// Agent is the SSH login (DeployConfig.User); Service the account
	// benchd runs as (ServiceUser), the same *Account in the legacy layout.
	Agent, Service *Account
}

// CreateDeployAccounts creates the accounts d's unit and sshd block name,
// as the NixOS module does: the service account (a system account, nologin,
// its own group) and the agent's login (nologin, not in the docker group), a
// member of the service's group so that it can connect to the socket; in the
// legacy layout (ServiceUser = User) the one account. They are deleted when
// the test ends.
func CreateDeployAccounts(t TB, d *Deployment) DeployAccounts {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root (to create accounts)")
	for _, tool := range []string{"useradd", "usermod", "userdel"} {
		_, err := exec.LookPath(tool)
		Require(t, err == nil, tool)
	}
	a, err := NewDeployAccounts(t, d)
	return must(t, a, err)
}

// NewDeployAccounts is CreateDeployAccounts' core. It takes both names'
// locks, always in the same order, before creating either account, so that
// tests of other packages that deploy too neither deadlock nor see half a
// deployment.
func NewDeployAccounts(c Cleaner, d *Deployment) (DeployAccounts, error) {
	cfg := d.Config
	if !cfg.SplitLayout() {
		a, err := NewAccount(c, cfg.User, AccountOptions{})
		return DeployAccounts{Agent: a, Service: a}, err
	}
	if cfg.ServiceGroup != cfg.ServiceUser {
		return DeployAccounts{}, fmt.Errorf("service group %s: the harness makes only the service user's own group", cfg.ServiceGroup)
	}
	for _, n := range []string{cfg.ServiceUser, cfg.User} {
		if err := lockAccount(c, n); err != nil {
			return DeployAccounts{}, err
		}
	}
	svc, err := addAccount(c, cfg.ServiceUser, AccountOptions{System: true})
	if err != nil {
		return DeployAccounts{}, err
	}
	agent, err := addAccount(c, cfg.User, AccountOptions{Groups: []string{cfg.ServiceGroup}})
	if err != nil {
		return DeployAccounts{}, err
	}
	return DeployAccounts{Agent: agent, Service: svc}, nil
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
