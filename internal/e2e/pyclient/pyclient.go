// Package pyclient installs the Python client (client/python) as its users
// do, with pip into a fresh virtual environment, for the tests of this
// package and of internal/e2e/hermes.
package pyclient

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/benchd/benchd/internal/testrig"
)

// Dir is the Python package's source: its pyproject.toml and example.py.
func Dir() string { return filepath.Join(testrig.RepoRoot(), "client", "python") }

// need is what a python3 must import to build and install the package
// offline into a venv that sees the system's packages: the runtime
// dependencies, setuptools and wheel for the build (pip runs without build
// isolation, since there is no index to fetch them from) and ensurepip for
// `python3 -m venv`.
const need = "import grpc, google.protobuf, setuptools, wheel, ensurepip"

// Python returns the first of $BENCHD_PYTHON, python3 on PATH and
// /usr/bin/python3 that has what the package needs: PATH may lead to a
// python (pyenv, a venv) that lacks Debian's python3-grpcio. Under CI=true
// none is a failure (testrig.Require).
func Python(t testrig.TB) string {
	t.Helper()
	var cands []string
	if p := os.Getenv("BENCHD_PYTHON"); p != "" {
		cands = append(cands, p)
	}
	cands = append(cands, "python3", "/usr/bin/python3")
	for _, c := range cands {
		if exec.Command(c, "-c", need).Run() == nil {
			return c
		}
	}
	testrig.Require(t, false, "python3 with grpc, protobuf, setuptools, wheel and venv "+
		"(Debian: python3-grpcio python3-protobuf python3-pip python3-venv)")
	return ""
}

// Venv is a virtual environment with the package installed.
type Venv struct {
	Dir    string
	Python string // its interpreter
	PipLog string // what pip install printed
}

// Install makes a venv with --system-site-packages (so Debian's grpcio and
// protobuf are visible) and pip-installs the package into it, offline:
//
//	python3 -m venv --system-site-packages DIR
//	DIR/bin/pip install --no-build-isolation --no-index --no-cache-dir ./client/python
//
// pip builds in the source folder (build/, *.egg-info), so it installs from
// a copy of client/python: the checkout stays clean, two tests installing
// at once do not share a build folder, and the package is shown to need
// nothing outside its folder.
func Install(t testrig.TB) Venv {
	t.Helper()
	py := Python(t)
	// Readable by every user: tests run the venv's python as test accounts
	// too (internal/e2e: a person's ssh:// through the real sshd).
	tmp, err := testrig.ReadableDir(t, "", "bd-venv-")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(tmp, "src")
	if err = testrig.CopyTree(Dir(), src); err != nil {
		t.Fatal(err)
	}
	// A developer's own earlier build: setuptools would pack whatever
	// build/lib still holds.
	stale, _ := filepath.Glob(filepath.Join(src, "src", "*.egg-info"))
	for _, p := range append(stale, filepath.Join(src, "build")) {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	v := Venv{Dir: filepath.Join(tmp, "venv")}
	v.Python = filepath.Join(v.Dir, "bin", "python")
	if out, err := exec.Command(py, "-m", "venv", "--system-site-packages", v.Dir).CombinedOutput(); err != nil {
		t.Fatalf("%s -m venv --system-site-packages %s: %v\n%s", py, v.Dir, err, out)
	}
	pip := exec.Command(filepath.Join(v.Dir, "bin", "pip"), "install", "--no-build-isolation", "--no-index",
		"--no-cache-dir", "--disable-pip-version-check", src)
	// No pip.conf or PIP_* variables (an index URL, find-links): the
	// install needs nothing but the source and the system's packages.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIP_") {
			pip.Env = append(pip.Env, kv)
		}
	}
	pip.Env = append(pip.Env, "PIP_CONFIG_FILE="+os.DevNull)
	out, err := pip.CombinedOutput()
	v.PipLog = string(out)
	if err != nil {
		t.Fatalf("pip install ./client/python: %v\n%s", err, out)
	}
	if !strings.Contains(v.PipLog, "Successfully installed benchd-client-") {
		t.Fatalf("pip install ./client/python did not install benchd-client:\n%s", out)
	}
	return v
}
