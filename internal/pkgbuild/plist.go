package pkgbuild

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// An Entry is one line of a ports pkg-plist that names something the
// package installs.
type Entry struct {
	// Path is relative to the package's prefix (sbin/hvagent), or
	// absolute.
	Path string
	// Keyword is "" for a plain file, "sample" for @sample (a file.sample
	// that is copied to file at install unless file exists) or "dir" for
	// @dir (a directory the package owns).
	Keyword string
	// Owner, Group and Mode come from the @(owner,group,mode) form; empty
	// or zero means the default.
	Owner, Group string
	Mode         fs.FileMode
}

// Target returns where a @sample entry is copied to: its path without
// ".sample". For other entries it returns "".
func (e Entry) Target() string {
	if e.Keyword != "sample" {
		return ""
	}
	return strings.TrimSuffix(e.Path, ".sample")
}

// ParsePlist reads a pkg-plist. It understands the subset of pkg-plist(5)
// this port uses -- plain paths, @comment, @dir, @sample and the
// @keyword(owner,group,mode) form -- and refuses anything else rather
// than build a package that differs from what the ports tree would.
//
// Each %%NAME%% of sub is replaced first, as the ports framework does with
// PLIST_SUB (PlistSub), so that "%%PORTEXAMPLES%%%%EXAMPLESDIR%%/x"
// becomes "share/examples/NAME/x" or, with the EXAMPLES option off,
// "@comment share/examples/NAME/x". A %%NAME%% that sub does not hold is
// an error.
func ParsePlist(r io.Reader, sub map[string]string) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(substitute(sc.Text(), sub))
		if line == "" || strings.HasPrefix(line, "@comment") {
			continue
		}
		e, err := parsePlistLine(line)
		if err != nil {
			return nil, fmt.Errorf("pkg-plist line %d: %w", n, err)
		}
		entries = append(entries, e)
	}
	return entries, sc.Err()
}

func parsePlistLine(line string) (Entry, error) {
	var e Entry
	if strings.HasPrefix(line, "@") {
		kw, rest, ok := strings.Cut(line[1:], " ")
		if !ok {
			return e, fmt.Errorf("%q: keyword without a path", line)
		}
		if i := strings.IndexByte(kw, '('); i >= 0 {
			if err := e.parseAttrs(kw[i:]); err != nil {
				return e, err
			}
			kw = kw[:i]
		}
		switch kw {
		case "", "sample", "dir":
			e.Keyword = kw
		default:
			return e, fmt.Errorf("%q: keyword @%s is not supported", line, kw)
		}
		line = strings.TrimSpace(rest)
	}
	if strings.ContainsAny(line, " \t") {
		return e, fmt.Errorf("%q: one path per line, without spaces", line)
	}
	if strings.Contains(line, "%%") {
		return e, fmt.Errorf("%q: a %%%%NAME%%%% substitution that PLIST_SUB does not hold", line)
	}
	if p := path.Clean(line); p != line || strings.HasPrefix(p, "../") || p == ".." || p == "." || p == "/" {
		return e, fmt.Errorf("%q: not a clean path", line)
	}
	if e.Keyword == "sample" && !strings.HasSuffix(line, ".sample") {
		return e, fmt.Errorf("%q: a @sample path must end in .sample", line)
	}
	e.Path = line
	return e, nil
}

// parseAttrs parses "(owner,group,mode)".
func (e *Entry) parseAttrs(s string) error {
	if !strings.HasSuffix(s, ")") {
		return fmt.Errorf("%q: unterminated attributes", s)
	}
	parts := strings.Split(s[1:len(s)-1], ",")
	if len(parts) != 3 {
		return fmt.Errorf("%q: want (owner,group,mode)", s)
	}
	e.Owner, e.Group = parts[0], parts[1]
	if parts[2] != "" {
		m, err := strconv.ParseUint(parts[2], 8, 12)
		if err != nil {
			return fmt.Errorf("%q: mode: %w", s, err)
		}
		e.Mode = fs.FileMode(m)
	}
	return nil
}

// PlistSub returns the PLIST_SUB substitutions of the ports framework
// (Mk/bsd.port.mk) for a port named portName, with the EXAMPLES option
// (Mk/bsd.options.mk: on unless NOPORTEXAMPLES) on or off: the
// directories relative to PREFIX and PORTEXAMPLES, "" or "@comment ".
func PlistSub(portName string, examples bool) map[string]string {
	sub := map[string]string{
		"ETCDIR":       "etc/" + portName,
		"EXAMPLESDIR":  "share/examples/" + portName,
		"DOCSDIR":      "share/doc/" + portName,
		"DATADIR":      "share/" + portName,
		"PORTEXAMPLES": "",
	}
	if !examples {
		sub["PORTEXAMPLES"] = "@comment "
	}
	return sub
}

// substitute replaces each %%NAME%% of line whose NAME is in sub.
func substitute(line string, sub map[string]string) string {
	if !strings.Contains(line, "%%") {
		return line
	}
	var b strings.Builder
	for {
		i := strings.Index(line, "%%")
		if i < 0 {
			break
		}
		j := strings.Index(line[i+2:], "%%")
		if j < 0 {
			break
		}
		name := line[i+2 : i+2+j]
		v, ok := sub[name]
		if !ok {
			b.WriteString(line[:i+2])
			line = line[i+2:]
			continue
		}
		b.WriteString(line[:i])
		b.WriteString(v)
		line = line[i+2+j+2:]
	}
	b.WriteString(line)
	return b.String()
}
