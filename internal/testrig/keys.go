package testrig

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

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
