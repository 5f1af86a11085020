package fbsdnettest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// sysrc models sysrc(8) (usr.sbin/sysrc/sysrc) on one file, the World's
// rc.conf or the -f file: "-n name" prints the value, or exits 1 with
// "unknown variable" when it is unset (f_sysrc_get "$NAME?");
// "name=value" replaces the variable's line in place or appends one;
// "-x name" removes it, and exits 1 for an unset one. The file is read
// with package fbsdnet's parser, as the agent reads it.
func sysrc(dir string, args []string, stdout, stderr io.Writer) int {
	path, valueOnly, del := filepath.Join(dir, "rc.conf"), false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "-f" && len(args) > 1:
			path = args[1]
			args = args[1:]
		case args[0] == "-n":
			valueOnly = true
		case args[0] == "-x":
			del = true
		default:
			fmt.Fprintf(stderr, "sysrc: unsupported option %q\n", args[0])
			return 64
		}
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sysrc [-f file] [-n] [-x] name[=value] ...")
		return 64
	}
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		fmt.Fprintln(stderr, "sysrc:", err)
		return 1
	}
	text, vars, code := string(b), fbsdnet.Parse(b), 0
	for _, a := range args {
		name, val, assign := strings.Cut(a, "=")
		old, set := vars[name]
		switch {
		case assign && !del:
			text = SysrcEdit(text, []string{a}, false)
			fmt.Fprintf(stdout, "%s: %s -> %s\n", name, old, val)
		case !set:
			fmt.Fprintf(stderr, "sysrc: unknown variable '%s'\n", name)
			code = 1
		case del:
			text = SysrcEdit(text, []string{name}, true)
		case valueOnly:
			fmt.Fprintln(stdout, old)
		default:
			fmt.Fprintf(stdout, "%s: %s\n", name, old)
		}
	}
	if text != string(b) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			fmt.Fprintln(stderr, "sysrc:", err)
			return 1
		}
	}
	return code
}

// SysrcEdit is what sysrc does to rc.conf text: it sets (name=value)
// or deletes (del, name) variables: a variable's first line is replaced by name="value" and any
// other line assigning it removed; a new one is appended.
func SysrcEdit(text string, args []string, del bool) string {
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	for _, a := range args {
		name, val, _ := strings.Cut(a, "=")
		line := fmt.Sprintf("%s=%q\n", name, val)
		var kept []string
		done := del
		for _, l := range lines {
			if n, _, ok := strings.Cut(strings.TrimSpace(l), "="); ok && n == name {
				if !done {
					kept = append(kept, line)
					done = true
				}
				continue
			}
			kept = append(kept, l)
		}
		if !done {
			kept = append(kept, line)
		}
		lines = kept
	}
	return strings.Join(lines, "")
}
