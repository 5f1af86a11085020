package pkgbuild

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// A Port is a ports-tree skeleton (category/name/ with Makefile,
// pkg-descr, pkg-plist, pkg-message), read so that a package built
// outside the ports tree carries the same metadata and files.
type Port struct {
	Dir      string
	Vars     map[string]string // simple NAME= assignments of the Makefile
	Descr    string            // pkg-descr
	Plist    []Entry           // pkg-plist
	Messages []Message         // pkg-message
}

// LoadPort reads the port in dir.
func LoadPort(dir string) (*Port, error) {
	p := &Port{Dir: dir}
	var err error
	if p.Vars, err = readMakeVars(filepath.Join(dir, "Makefile")); err != nil {
		return nil, err
	}
	descr, err := os.ReadFile(filepath.Join(dir, "pkg-descr"))
	if err != nil {
		return nil, err
	}
	p.Descr = strings.TrimSpace(string(descr))
	f, err := os.Open(filepath.Join(dir, "pkg-plist"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The package mkpkg builds is the port's with its default options:
	// EXAMPLES on.
	if p.Plist, err = ParsePlist(f, PlistSub(p.Vars["PORTNAME"], true)); err != nil {
		return nil, err
	}
	msg, err := os.ReadFile(filepath.Join(dir, "pkg-message"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if p.Messages, err = ParseMessages(string(msg), p.messageVars()); err != nil {
		return nil, err
	}
	return p, nil
}

// messageVars returns the variables pkg create expands in pkg-message
// (pkg_message_from_str in libpkg's pkg.c registers PREFIX, PKGNAME,
// PKGORIGIN and MAINTAINER with the UCL parser), as the port sets them.
func (p *Port) messageVars() map[string]string {
	prefix := p.Vars["PREFIX"]
	if prefix == "" {
		prefix = "/usr/local"
	}
	category, _, _ := strings.Cut(p.Vars["CATEGORIES"], " ")
	return map[string]string{
		"PREFIX":     prefix,
		"PKGNAME":    p.Vars["PORTNAME"],
		"PKGORIGIN":  category + "/" + p.Vars["PORTNAME"],
		"MAINTAINER": p.Vars["MAINTAINER"],
	}
}

// Var returns the value of a Makefile variable, or an error naming it.
func (p *Port) Var(name string) (string, error) {
	v, ok := p.Vars[name]
	if !ok || v == "" {
		return "", fmt.Errorf("pkgbuild: %s/Makefile does not set %s", p.Dir, name)
	}
	return v, nil
}

var makeAssign = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)\s*([?+]?=)\s*(.*)$`)

// readMakeVars reads the plain assignments of a ports Makefile
// (NAME=value, NAME?=value, NAME+=value, with backslash continuations).
// Variable references are kept as written.
func readMakeVars(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	var line string
	for sc.Scan() {
		text := sc.Text()
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			line += cont + " "
			continue
		}
		line += text
		if m := makeAssign.FindStringSubmatch(line); m != nil {
			val := strings.Join(strings.Fields(m[3]), " ")
			switch m[2] {
			case "+=":
				vars[m[1]] = strings.TrimSpace(vars[m[1]] + " " + val)
			case "?=":
				if _, ok := vars[m[1]]; !ok {
					vars[m[1]] = val
				}
			default:
				vars[m[1]] = val
			}
		}
		line = ""
	}
	return vars, sc.Err()
}
