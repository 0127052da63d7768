package testrig

import (
	"fmt"
	"strings"
)

// Unit is a parsed systemd unit file: section → key → values in file order.
type Unit map[string]map[string][]string

// ParseUnit parses the subset of systemd's unit syntax the shipped unit uses
// (sections, Key=Value lines, # and ; comments; no line continuations).
func ParseUnit(text string) (Unit, error) {
	u := Unit{}
	section := ""
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		case strings.HasSuffix(line, "\\"):
			return nil, fmt.Errorf("unit line %d: line continuations are not supported", i+1)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("unit line %d: %q is not Key=Value in a section", i+1, line)
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			u[section][k] = append(u[section][k], v)
		}
	}
	return u, nil
}

// Value is the last assignment of key in section, "" when there is none.
func (u Unit) Value(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// Has reports whether key is assigned in section at all (even to "").
func (u Unit) Has(section, key string) bool { return len(u[section][key]) > 0 }
