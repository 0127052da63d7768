package testrig

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// Binary builds a command of this module once per test process and returns
// its path, e.g. Binary(t, "benchd").
func Binary(t TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "benchd-bin-")
		if buildErr != nil {
			return
		}
		// -buildvcs=true overrides a GOFLAGS=-buildvcs=false: the binaries
		// report the checkout's version, as `make build` stamps it.
		cmd := exec.Command("go", "build", "-buildvcs=true", "-o", buildDir+"/", "./cmd/...")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/...: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

// Grpcurl installs grpcurl at version (e.g. "v1.9.3") once per test process
// and returns its path. It is installed with its own go.mod (go install
// pkg@version) so its dependencies are the ones its authors released with.
func Grpcurl(t TB, version string) string {
	t.Helper()
	grpcurlMu.Lock()
	defer grpcurlMu.Unlock()
	if p, ok := grpcurlPaths[version]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "benchd-grpcurl-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "install", "github.com/fullstorydev/grpcurl/cmd/grpcurl@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install grpcurl@%s: %v\n%s", version, err, out)
	}
	p := filepath.Join(dir, "grpcurl")
	grpcurlPaths[version] = p
	return p
}

var (
	grpcurlMu    sync.Mutex
	grpcurlPaths = map[string]string{}
)

// SysfsFixture is the simulated /sys tree with one AMD GPU.
func SysfsFixture() string { return filepath.Join(RepoRoot(), "testdata", "sysfs") }

// PackageBinary builds benchd the way nix/package.nix does (see
// PackageBuildArgs) into a directory every user can read, removed when the
// test ends, and returns its path.
func PackageBinary(t TB) string {
	t.Helper()
	p, err := BuildPackage(t)
	return must(t, p, err)
}

// BuildPackage is PackageBinary's core; c removes the directory.
func BuildPackage(c Cleaner) (string, error) {
	dir, err := ReadableDir(c, "", "benchd-pkg-")
	if err != nil {
		return "", err
	}
	if err := BuildPackageIn(RepoRoot(), filepath.Join(dir, "benchd")); err != nil {
		return "", err
	}
	return filepath.Join(dir, "benchd"), nil
}

// BuildPackageIn builds ./cmd/benchd of the checkout at root into out with
// that checkout's nix/package.nix flags, so that an older revision is built
// as it shipped.
func BuildPackageIn(root, out string) error {
	flags, err := PackageBuildArgs(root)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, "./cmd/benchd")...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s ./cmd/benchd (CGO_ENABLED=0) in %s: %v\n%s", strings.Join(flags, " "), root, err, b)
	}
	return nil
}

var (
	nixTags    = regexp.MustCompile(`(?s)\n\s*tags = \[(.*?)\];`)
	nixLdflags = regexp.MustCompile(`(?s)\n\s*ldflags = \[(.*?)\]`)
	nixString  = regexp.MustCompile(`"([^"]*)"`)
)

// PackageBuildArgs is go build's flags as nix/package.nix under root sets
// them (buildGoModule adds -trimpath; CGO_ENABLED=0 is its env): its tags,
// and its ldflags but the -X version stamps, which need Nix's variables
// and which tests that check them set themselves. Read from the file so
// that what tests and the harness run is what the package ships.
func PackageBuildArgs(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "nix", "package.nix"))
	if err != nil {
		return nil, fmt.Errorf("read the package's build flags: %w", err)
	}
	args := []string{"-trimpath"}
	if m := nixTags.FindSubmatch(b); m != nil {
		var tags []string
		for _, s := range nixString.FindAllSubmatch(m[1], -1) {
			tags = append(tags, string(s[1]))
		}
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	m := nixLdflags.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("nix/package.nix under %s: no ldflags list", root)
	}
	var ld []string
	for _, s := range nixString.FindAllSubmatch(m[1], -1) {
		if !strings.HasPrefix(string(s[1]), "-X") {
			ld = append(ld, string(s[1]))
		}
	}
	return append(args, "-ldflags", strings.Join(ld, " ")), nil
}

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
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

// ReadableDir makes a new directory in parent (the temp dir if "") that
// every user may enter and read (0755), for what a service user or a test
// account must reach; c removes it.
func ReadableDir(c Cleaner, parent, pattern string) (string, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", err
	}
	c.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}
