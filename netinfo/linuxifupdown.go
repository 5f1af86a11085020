package netinfo

import (
	"path"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// ifupdown's files (Debian's ifupdown, interfaces(5)).
const (
	ifupdownInterfaces = "/etc/network/interfaces"
	// ifupdownStateDir: ifup records an interface it brought up in
	// ifstate.IF (ifupdown 0.8, one file per interface) or as an
	// "IF=LOGICAL" line of ifstate (before 0.8).
	ifupdownStateDir = "/run/network"
	// ifupdownDepth bounds source nesting (a file sourcing itself).
	ifupdownDepth = 8
)

// ifupdownRunning: ifup brought l up.
func ifupdownRunning(t *linuxTree, l Link) (LinuxOwner, bool) {
	up := t.exists(path.Join(ifupdownStateDir, "ifstate."+l.Name))
	if !up {
		if b, ok := t.read(path.Join(ifupdownStateDir, "ifstate")); ok {
			for line := range fbsdnet.Lines(b) {
				if name, _, _ := strings.Cut(strings.TrimSpace(line), "="); name == l.Name {
					up = true
				}
			}
		}
	}
	if !up {
		return LinuxOwner{}, false
	}
	o, _ := ifupdownConfigured(t, l)
	o.Manager, o.Running = ManagerIfupdown, true
	return o, true
}

// ifupdownConfigured: an iface stanza for l in /etc/network/interfaces
// or the files it sources.
func ifupdownConfigured(t *linuxTree, l Link) (LinuxOwner, bool) {
	var o LinuxOwner
	found := false
	for st := range ifupdownStanzas(t, ifupdownInterfaces, 0) {
		if st.iface != l.Name {
			continue
		}
		if !found {
			o = LinuxOwner{Manager: ManagerIfupdown, File: st.file}
			found = true
		}
		switch {
		case st.family == "inet" && st.method == "dhcp":
			o.DHCP4 = true
		case st.family == "inet6" && (st.method == "dhcp" || st.method == "auto" && st.dhcpOption):
			o.DHCP6 = true
		}
	}
	return o, found
}

// ifupdownStanza is one "iface NAME FAMILY METHOD" stanza.
type ifupdownStanza struct {
	file                  string
	iface, family, method string
	dhcpOption            bool // "dhcp 1" in an inet6 auto stanza: stateless DHCPv6
}

// ifupdownStanzas yields the iface stanzas of file and, in place, of
// the files its "source PATTERN" (shell glob; relative to file's
// directory) and "source-directory DIR" (its files whose names are
// letters, digits, '_' and '-', in lexical order, as run-parts takes
// them) lines include. Lines ending in a backslash continue.
func ifupdownStanzas(t *linuxTree, file string, depth int) func(func(ifupdownStanza) bool) {
	return func(yield func(ifupdownStanza) bool) {
		b, ok := t.read(file)
		if !ok || depth > ifupdownDepth {
			return
		}
		var cur *ifupdownStanza
		flush := func() bool {
			if cur == nil {
				return true
			}
			s := *cur
			cur = nil
			return yield(s)
		}
		pending := ""
		for line := range fbsdnet.Lines(b) {
			line = pending + line
			pending = ""
			if strings.HasSuffix(line, `\`) {
				pending = strings.TrimSuffix(line, `\`) + " "
				continue
			}
			f := strings.Fields(line)
			if len(f) == 0 || strings.HasPrefix(f[0], "#") {
				continue
			}
			switch f[0] {
			case "iface", "mapping", "auto", "source", "source-directory", "rename":
				if !flush() {
					return
				}
			default:
				if strings.HasPrefix(f[0], "allow-") && !flush() {
					return
				}
			}
			switch {
			case f[0] == "iface" && len(f) >= 4:
				cur = &ifupdownStanza{file: file, iface: f[1], family: f[2], method: f[3]}
			case cur != nil && len(f) >= 2 && f[0] == "dhcp":
				cur.dhcpOption = f[1] == "1"
			case (f[0] == "source" || f[0] == "source-directory") && len(f) >= 2:
				for _, inc := range ifupdownIncludes(t, path.Dir(file), f[0], f[1]) {
					for st := range ifupdownStanzas(t, inc, depth+1) {
						if !yield(st) {
							return
						}
					}
				}
			}
		}
		flush()
	}
}

// ifupdownIncludes lists the files one source or source-directory line
// names.
func ifupdownIncludes(t *linuxTree, dir, kind, arg string) []string {
	if !path.IsAbs(arg) {
		arg = path.Join(dir, arg)
	}
	if kind == "source" {
		return t.glob(arg)
	}
	var out []string
	for _, n := range t.list(arg) {
		if runPartsName(n) {
			out = append(out, path.Join(arg, n))
		}
	}
	return out
}

// runPartsName: run-parts(8)'s default naming rule, ^[a-zA-Z0-9_-]+$.
func runPartsName(n string) bool {
	if n == "" {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
