package testrig

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// MCPSDK is the MCP TypeScript SDK, pinned, that the tests run as a client
// nobody here wrote (testdata/mcp/ts_client.cjs).
const MCPSDK = "@modelcontextprotocol/sdk@1.32.2"

var npmMu sync.Mutex

// NodeModules installs the npm packages pkgs (name@version) once into a
// cache outside the repository — $BENCHD_NPM_CACHE, else
// ~/.cache/benchd-npm — and returns its node_modules directory, for
// NODE_PATH. Node and npm are required (under CI=true their absence fails
// the test).
func NodeModules(t TB, pkgs ...string) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		Require(t, lookPath(tool), tool+" (Debian: apt-get install nodejs npm)")
	}
	mods, err := InstallNodeModules(pkgs...)
	return must(t, mods, err)
}

// InstallNodeModules is NodeModules' core.
func InstallNodeModules(pkgs ...string) (string, error) {
	npmMu.Lock()
	defer npmMu.Unlock()
	root := os.Getenv("BENCHD_NPM_CACHE")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("npm cache: %w", err)
		}
		root = filepath.Join(home, ".cache", "benchd-npm")
	}
	// One directory per package set, so a version change installs afresh.
	dir := filepath.Join(root, strings.NewReplacer("/", "_", "@", "").Replace(strings.Join(pkgs, "+")))
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(dir, ".installed")); err == nil {
		return mods, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("npm cache: %w", err)
	}
	cmd := exec.Command("npm", append([]string{"install", "--no-audit", "--no-fund", "--prefix", dir, "--save-exact"}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %w\n%s", strings.Join(pkgs, " "), err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, ".installed"), nil, 0o644); err != nil {
		return "", err
	}
	return mods, nil
}
