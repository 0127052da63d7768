package testrig

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPackageBuildArgsReadsTagsAndLdflags(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "nix"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The shapes nixfmt writes: a one-line list and a multi-line one
	// holding a Nix-interpolated stamp.
	nix := `buildGoModule rec {
  env.CGO_ENABLED = 0;
  tags = [ "grpcnotrace" "netgo" ];
  ldflags = [
    "-s"
    "-w"
    "-X example.com/buildinfo.version=v${version}"
  ]
  ++ lib.optional (rev != null) "-X example.com/buildinfo.revision=${rev}";
}
`
	if err := os.WriteFile(filepath.Join(root, "nix", "package.nix"), []byte(nix), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := PackageBuildArgs(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-trimpath", "-tags", "grpcnotrace,netgo", "-ldflags", "-s -w"}
	if !slices.Equal(got, want) {
		t.Errorf("PackageBuildArgs = %q, want %q", got, want)
	}
}

// make build's bin/ is what the package ships: the Makefile reads the same
// tags from nix/package.nix that the tests build with.
func TestMakeBuildUsesThePackagesTags(t *testing.T) {
	args, err := PackageBuildArgs(RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(args, "-tags")
	if i < 0 {
		t.Fatalf("nix/package.nix sets no tags (%q): this test guards the Makefile's copy of them", args)
	}
	cmd := exec.Command("make", "-n", "build")
	cmd.Dir = RepoRoot()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	if want := "-tags '" + args[i+1] + "'"; !strings.Contains(string(out), want) {
		t.Errorf("make -n build:\n%s\nwant %s (nix/package.nix's tags)", out, want)
	}
}
