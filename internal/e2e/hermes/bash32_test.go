package hermes_test

// The skill's scripts declare macOS, whose /bin/bash is 3.2. No bash 3.2
// package exists for this Debian and nothing but package registries can be
// reached, so this is a static check of the constructs 3.2 lacks or treats
// differently, each rule with the version that brought it.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// bash4Rules are constructs a bash 3.2 script must not use.
var bash4Rules = []struct {
	re, why string
}{
	{`\b(mapfile|readarray)\b`, "mapfile/readarray (bash 4.0): read into an array in a while-read loop or set it in a function"},
	{`\b(declare|local|typeset)\s+-[a-zA-Z]*A`, "associative arrays (bash 4.0)"},
	{`\b(declare|local|typeset)\s+-[a-zA-Z]*n`, "namerefs (bash 4.3)"},
	{`\$\{[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?(,,?|\^\^?)[^}]*\}`, "case conversion ${x,,} ${x^^} (bash 4.0): use tr"},
	{`&>>`, "&>> (bash 4.0): use >>file 2>&1"},
	{`\|&`, "|& (bash 4.0): use 2>&1 |"},
	{`;;&|;&\s*$`, "case fall-through ;& ;;& (bash 4.0)"},
	{`\bcoproc\b`, "coproc (bash 4.0)"},
	{`\bwait\s+-n\b`, "wait -n (bash 4.3)"},
	{`\$\{[A-Za-z_][A-Za-z0-9_]*@[QEPAKaUuLk]\}`, "${x@Q} transformations (bash 4.4)"},
	{`\bshopt\s+-s\s+(globstar|lastpipe|autocd|direxpand|checkjobs)\b`, "a shopt option bash 3.2 lacks (globstar, lastpipe, ... : bash 4.x)"},
	{`\$\{[A-Za-z_][A-Za-z0-9_]*:[0-9]+:-[0-9]+\}`, "negative substring length ${x:1:-1} (bash 4.2)"},
	{`\bprintf\s+-v\s+\S+\s+'%\(`, "printf %(...)T dates (bash 4.2)"},
	{`\$EPOCHSECONDS|\$EPOCHREALTIME|\$BASHPID`, "EPOCHSECONDS / EPOCHREALTIME (bash 5.0), BASHPID (bash 4.0)"},
	{`\btest\s+-v\b|\[\[\s+-v\b|\[\s+-v\b`, "test -v (bash 4.2): use ${x+set}"},
	// Under set -u, bash before 4.4 calls an empty array or empty "$@"
	// expanded as "${a[@]}" unbound.
	{`"\$\{[A-Za-z_][A-Za-z0-9_]*\[@\]\}"`, "\"${a[@]}\" on a possibly empty array under set -u (unbound before bash 4.4): make sure it is never empty and mark the line `# bash32: never empty`"},
	{`(^|[^{+])"\$@"`, "\"$@\" under set -u with no arguments (unbound before bash 4.0): use ${1+\"$@\"}"},
}

func TestSkillScriptsRunOnBash32(t *testing.T) {
	scripts, err := filepath.Glob(filepath.Join(skillDir(), "scripts", "*.sh"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range scripts {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			code := line
			// A marker on the line, or on the comment line above it.
			marked := strings.Contains(code, "# bash32: never empty") || (i > 0 && strings.Contains(lines[i-1], "# bash32: never empty"))
			if strings.HasPrefix(strings.TrimSpace(code), "#") || marked {
				continue
			}
			for _, r := range bash4Rules {
				if regexp.MustCompile(r.re).MatchString(code) {
					t.Errorf("%s:%d: %s\n\t%s", filepath.Base(path), i+1, r.why, strings.TrimSpace(line))
				}
			}
		}
	}
}

// The rules catch what they are for: a line of each kind fails.
func TestBash32RulesCatch(t *testing.T) {
	for _, bad := range []string{
		`mapfile -d '' base < <(f)`, `declare -A m`, `echo "${x,,}"`, `cmd &>> log`, `a |& b`,
		`wait -n`, `local -n ref=x`, `echo "${arr[@]}"`, `f "$@"`, `[[ -v x ]]`, `echo "${x@Q}"`,
	} {
		caught := false
		for _, r := range bash4Rules {
			caught = caught || regexp.MustCompile(r.re).MatchString(bad)
		}
		if !caught {
			t.Errorf("no rule catches %s", bad)
		}
	}
	for _, good := range []string{`f ${1+"$@"}`, `base=(-o x)`, `echo "${x/#\~/$HOME}"`, `for ((i = 0; ; i++)); do`} {
		for _, r := range bash4Rules {
			if regexp.MustCompile(r.re).MatchString(good) {
				t.Errorf("rule %q catches the 3.2-safe %s", r.why, good)
			}
		}
	}
}
