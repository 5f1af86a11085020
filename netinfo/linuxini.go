package netinfo

import (
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// keyFile is a file of "[Section]" headers and "Key=Value" lines: a
// NetworkManager keyfile (GKeyFile syntax, nm-settings-keyfile(5)), a
// systemd-networkd .network file (systemd.syntax(7)), or the KEY=VALUE
// state files networkd, resolved and NetworkManager keep under /run
// (section ""). Comment lines start with '#' or ';'. Each key keeps all
// its values in file order; a later one wins where only one counts.
type keyFile map[string]map[string][]string

// parseKeyFile reads b. Lines ending in a backslash continue on the next
// line (systemd.syntax(7)); lines of any length are read; anything that
// is not a header or an assignment is ignored.
func parseKeyFile(b []byte) keyFile {
	kf := keyFile{}
	section := ""
	pending := ""
	for line := range fbsdnet.Lines(b) {
		line = pending + strings.TrimSpace(line)
		pending = ""
		if strings.HasSuffix(line, `\`) {
			pending = strings.TrimSuffix(line, `\`) + " "
			continue
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' && line[len(line)-1] == ']' {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if kf[section] == nil {
			kf[section] = map[string][]string{}
		}
		k = strings.TrimSpace(k)
		kf[section][k] = append(kf[section][k], strings.TrimSpace(v))
	}
	return kf
}

// get returns the last value of key in section, or "".
func (kf keyFile) get(section, key string) string {
	vs := kf[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// all returns every value of key in section, in order.
func (kf keyFile) all(section, key string) []string { return kf[section][key] }

// unquoteEnv strips the double quotes systemd's env-file writer puts
// around a value (NETWORK_FILE_DROPINS="a:b").
func unquoteEnv(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// isTrue reads a boolean as GKeyFile ("true", "1") and systemd
// (parse_boolean in src/basic/parse-util.c: "1", "yes", "y", "true",
// "t", "on") write them.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}

// isFalse is isTrue's negative counterpart; a value that is neither is
// unset.
func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "0", "no", "n", "false", "f", "off":
		return true
	}
	return false
}
