package vf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// DefaultBaseRules is the devd configuration of the base system that
// runs hyperv_vfattach and hyperv_vfup (sbin/devd/hyperv.conf).
const DefaultBaseRules = "/etc/devd/hyperv.conf"

// maxRulesFile bounds how much of the rules file is read.
const maxRulesFile = 1 << 20

// BaseRulesActive reports whether the devd file at path still has an
// uncommented action running hyperv_vfattach or hyperv_vfup. A missing
// file means no. Comments are those of devd.conf(5): "#" and "//" to the
// end of the line, and "/* ... */".
func BaseRulesActive(path string) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("vf: base devd rules: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRulesFile))
	if err != nil {
		return false, fmt.Errorf("vf: base devd rules %s: %w", path, err)
	}
	for line := range strings.Lines(stripBlockComments(string(b))) {
		line, _, _ = strings.Cut(line, "#")
		line, _, _ = strings.Cut(line, "//")
		if !strings.Contains(line, "action") {
			continue
		}
		if strings.Contains(line, "hyperv_vfattach") || strings.Contains(line, "hyperv_vfup") {
			return true, nil
		}
	}
	return false, nil
}

// stripBlockComments removes /* ... */ comments, keeping their newlines
// so that what follows stays on its own line. An unterminated comment
// runs to the end.
func stripBlockComments(s string) string {
	var b strings.Builder
	for {
		before, after, ok := strings.Cut(s, "/*")
		b.WriteString(before)
		if !ok {
			return b.String()
		}
		comment, rest, closed := strings.Cut(after, "*/")
		b.WriteString(strings.Repeat("\n", strings.Count(comment, "\n")))
		if !closed {
			return b.String()
		}
		s = rest
	}
}
