package fbsdnet

import (
	"bytes"
	"iter"
	"strings"
)

// Lines yields the lines of b without their line ending ("\n", or
// "\r\n" as bufio.ScanLines also strips), whatever their length: a line
// of any size is one line, never a reason to stop reading. A final line
// without a newline is yielded too.
func Lines(b []byte) iter.Seq[string] {
	return func(yield func(string) bool) {
		for line := range bytes.Lines(b) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
			if !yield(string(line)) {
				return
			}
		}
	}
}

// Vars holds the plain assignments of an rc.conf(5) file.
type Vars map[string]string

// Parse reads the plain assignments of an rc.conf(5) file (name=value,
// name="value", name='value'; later ones win). Lines that are not
// simple assignments, such as shell code, are ignored: the file is
// read, never executed. Lines of any length are read.
func Parse(b []byte) Vars {
	vars := Vars{}
	for line := range Lines(b) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || !IsVarName(name) {
			continue
		}
		vars[name] = unquote(val)
	}
	return vars
}

// Lookup implements Lookup for a parsed file.
func (v Vars) Lookup(name string) (string, bool, error) {
	val, ok := v[name]
	return val, ok, nil
}

// IfConfig is Read without the error a parsed file cannot have.
func (v Vars) IfConfig(ifname string) IfConfig {
	c, _ := Read(v.Lookup, ifname)
	return c
}

// IsVarName reports whether s can be a shell variable name, the only
// names an rc.conf assignment can set.
func IsVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !isVarRune(r) {
			return false
		}
	}
	return true
}

func isVarRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
}

// unquote takes the value up to an unquoted '#' comment and strips one
// level of matching quotes.
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		if end := strings.IndexByte(v[1:], v[0]); end >= 0 {
			return v[1 : 1+end]
		}
		return v[1:]
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}
