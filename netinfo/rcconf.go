package netinfo

import (
	"bufio"
	"bytes"
	"strings"
)

// parseRCConf reads the plain assignments of an rc.conf(5) file
// (name=value, name="value", name='value'; later ones win). Lines that
// are not simple assignments, such as shell code, are ignored: the file
// is read, never executed.
func parseRCConf(b []byte) map[string]string {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, val, ok := strings.Cut(line, "=")
		if !ok || !isVarName(name) {
			continue
		}
		vars[name] = unquote(val)
	}
	return vars
}

func isVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
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

// isDHCPConfig reports whether an ifconfig_<if> value asks for DHCP, as
// network.subr's dhcpif does (libexec/rc/network.subr): a word DHCP,
// SYNCDHCP or NOSYNCDHCP in any case.
func isDHCPConfig(v string) bool {
	for _, w := range strings.Fields(v) {
		switch strings.ToUpper(w) {
		case "DHCP", "SYNCDHCP", "NOSYNCDHCP":
			return true
		}
	}
	return false
}

// ifconfigVar is the ifconfig_<if> value network.subr uses for ifname
// (libexec/rc/network.subr, _ifconfig_getargs):
// ifconfig_DEFAULT when the interface has none of its own.
func ifconfigVar(vars map[string]string, ifname string) string {
	if v, ok := vars["ifconfig_"+rcName(ifname)]; ok {
		return v
	}
	return vars["ifconfig_DEFAULT"]
}
