package testrig

// Debian's sshd with a rendered Match block on a loopback port, ssh clients
// of it, key pairs and authorized_keys files. Running sshd needs root.

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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SSHDConfig is what StartSSHD runs sshd with: the harness's own global lines
// (loopback port, host key, UsePAM no, StrictModes yes, LogLevel,
// Subsystem sftp internal-sftp), then Global, then Fragment verbatim.
type SSHDConfig struct {
	Global   []string
	Fragment string
	// LogLevel is sshd's; empty means DEBUG1 (the e2e tests' evidence
	// needs it). cmd/benchperf uses INFO, a stock sshd's level.
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
func StartSSHD(t TB, cfg SSHDConfig) *SSHD {
	t.Helper()
	Require(t, os.Geteuid() == 0, "root (to run sshd)")
	_, err := sshdPath()
	Require(t, err == nil, "sshd (openssh-server)")
	Require(t, lookPath("ssh-keygen"), "ssh-keygen (openssh-client)")
	s, err := LaunchSSHD(t, cfg)
	return must(t, s, err)
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
		port, err := FreePort()
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

// FreePort is a loopback TCP port the kernel just handed out and released:
// free for a server that takes a fixed address, unless another process
// takes it meanwhile.
func FreePort() (int, error) {
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

func (s *SSHD) stop() { stopProcess(s.cmd.Process, s.exited, 10*time.Second) }

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

// WriteClientConfig sets up account a's ~/.ssh as a person's would be for
// this sshd: a copy of key, the host key in known_hosts, and a config
// entry "Host alias" that reaches the sshd as user. Programs that run ssh
// on a's behalf (benchctl --host ssh://alias) then need nothing else: ssh
// reads ~/.ssh/config from the account's home in the password database,
// not from $HOME.
func (s *SSHD) WriteClientConfig(a *Account, alias, key, user string) error {
	dir := filepath.Join(a.Home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := os.ReadFile(key)
	if err != nil {
		return err
	}
	hosts, err := os.ReadFile(s.knownHosts)
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`Host %s
	HostName 127.0.0.1
	Port %d
	User %s
	IdentityFile %s
	IdentitiesOnly yes
	BatchMode yes
	StrictHostKeyChecking yes
	ConnectTimeout 10
`, alias, s.Port, user, filepath.Join(dir, "id_ed25519"))
	for name, data := range map[string][]byte{"id_ed25519": b, "known_hosts": hosts, "config": []byte(conf)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(path, a.UID, a.GID)
	})
}

// GenerateKey writes a new ed25519 key pair to dir/name and returns the
// private key's path and the public key line.
func GenerateKey(t TB, dir, name string) (string, string) {
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
func AuthorizedKeysDir(t TB) string {
	t.Helper()
	dir, err := NewAuthorizedKeysDir(t)
	return must(t, dir, err)
}

// NewAuthorizedKeysDir is AuthorizedKeysDir's core; c removes the directory.
func NewAuthorizedKeysDir(c Cleaner) (string, error) {
	return ReadableDir(c, "/run", "benchd-e2e-keys-")
}

// WriteAuthorizedKeys writes dir/userName (root-owned, 0644, like NixOS's
// /etc/ssh/authorized_keys.d/<user>) with lines.
func WriteAuthorizedKeys(t TB, dir, userName string, lines ...string) {
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
