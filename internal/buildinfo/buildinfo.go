// Package buildinfo says which benchd this is: the one version string that
// --version, MachineInfo and the health check all show.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// version and revision are stamped by builds that have no module version or
// VCS information to read: Nix builds from a source tree without .git
// (nix/package.nix sets them with -ldflags -X). A `go install …@vX` or a build
// from a git checkout needs neither.
var (
	version  string
	revision string
)

// Version is the module version followed by "+" and the VCS revision, with
// "-dirty" when the tree had local changes: "v0.3.1+4010d32c…",
// "(devel)+4010d32c…-dirty". Stamped values win over what the binary's
// build info says.
func Version() string {
	v, rev, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if version != "" {
		v = version
	}
	if revision != "" {
		rev, dirty = revision, false
	}
	// Go 1.24+ already puts a pseudo-version with the short revision (and
	// "+dirty") in Main.Version for builds from a checkout.
	if rev == "" || (len(rev) >= 12 && strings.Contains(v, rev[:12])) {
		return v
	}
	if dirty {
		rev += "-dirty"
	}
	return v + "+" + rev
}
