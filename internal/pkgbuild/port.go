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
	if p.Plist, err = ParsePlist(f); err != nil {
		return nil, err
	}
	msg, err := os.ReadFile(filepath.Join(dir, "pkg-message"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	if p.Messages, err = ParseMessages(string(msg)); err != nil {
		return nil, err
	}
	return p, nil
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

// ParseMessages reads a pkg-message in the UCL form the ports tree uses,
// restricted to what this port writes: a list of objects, each with an
// optional "type:" line and a "message: <<EOM" here-document.
func ParseMessages(s string) ([]Message, error) {
	var msgs []Message
	var cur *Message
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "" || line == "[" || line == "]":
		case strings.HasPrefix(line, "{"):
			msgs = append(msgs, Message{})
			cur = &msgs[len(msgs)-1]
			if rest := strings.TrimSpace(line[1:]); strings.HasPrefix(rest, "type:") {
				cur.Type = strings.Trim(strings.TrimSpace(strings.TrimPrefix(rest, "type:")), `",`)
			}
		case strings.HasPrefix(line, "type:") && cur != nil:
			cur.Type = strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "type:")), `",`)
		case strings.HasPrefix(line, "message:") && cur != nil:
			tag, ok := strings.CutPrefix(strings.TrimSpace(strings.TrimPrefix(line, "message:")), "<<")
			if !ok {
				return nil, fmt.Errorf("pkg-message line %d: want message: <<EOM", i+1)
			}
			var body []string
			for i++; i < len(lines) && lines[i] != tag; i++ {
				body = append(body, lines[i])
			}
			if i == len(lines) {
				return nil, fmt.Errorf("pkg-message: here-document %s not terminated", tag)
			}
			cur.Message = strings.Join(body, "\n")
		case strings.HasPrefix(line, "}"):
			cur = nil
		default:
			return nil, fmt.Errorf("pkg-message line %d: %q is not understood", i+1, line)
		}
	}
	return msgs, nil
}
