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
func ParsePlist(r io.Reader) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
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
		return e, fmt.Errorf("%q: plist substitutions are not supported; write the path", line)
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
