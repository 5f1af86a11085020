package linuxunit

import (
	"bufio"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// unitFile is a systemd unit file as systemd.syntax(7) reads it: the
// assignments of each section in file order. A key assigned more than
// once keeps every value, since for list settings (Before=,
// CapabilityBoundingSet=, ...) systemd merges them.
type unitFile map[string][]assignment

type assignment struct {
	key, value string
	line       int
}

// parseUnit reads a unit file. Comment lines start with '#' or ';', a
// trailing backslash continues a line (systemd joins the parts with a
// space), and anything that is neither a section header nor key=value
// is an error rather than something skipped.
func parseUnit(text string) (unitFile, error) {
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	for sc.Scan() {
		n++
		line, start := strings.TrimSpace(sc.Text()), n
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: bad section header %q", start, line)
			}
			section = line[1 : len(line)-1]
			if _, dup := u[section]; dup {
				return nil, fmt.Errorf("line %d: section [%s] appears twice", start, section)
			}
			u[section] = nil
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				return nil, fmt.Errorf("line %d: %q is not key=value inside a section", start, line)
			}
			u[section] = append(u[section], assignment{strings.TrimSpace(key), strings.TrimSpace(value), start})
		}
	}
	return u, sc.Err()
}

// values returns every value assigned to key in section, in file order.
func (u unitFile) values(section, key string) []string {
	var vs []string
	for _, a := range u[section] {
		if a.key == key {
			vs = append(vs, a.value)
		}
	}
	return vs
}

// last returns the value that counts for a single-valued setting: the
// last one assigned.
func (u unitFile) last(section, key string) (string, bool) {
	vs := u.values(section, key)
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// list returns the words of a space-separated list setting (Before=,
// WantedBy=, ...) over all its assignments; an empty assignment resets
// the list, as systemd does.
func (u unitFile) list(section, key string) []string {
	var words []string
	for _, v := range u.values(section, key) {
		if v == "" {
			words = nil
			continue
		}
		words = append(words, strings.Fields(v)...)
	}
	return words
}

// isTrue reads a systemd boolean (systemd's parse_boolean); a setting
// that is not assigned is false, and so is a value that is not a boolean
// for settings such as ProtectSystem= whose other values the caller
// handles itself.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}

func isFalse(v string) bool {
	switch strings.ToLower(v) {
	case "", "0", "no", "n", "false", "f", "off":
		return true
	}
	return false
}

// capabilityNames are the capabilities of include/uapi/linux/capability.h
// (CAP_CHOWN 0 ... CAP_CHECKPOINT_RESTORE 40, Linux 5.9 and later), the
// names systemd.exec(5) accepts in CapabilityBoundingSet=.
var capabilityNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

type capSet map[string]bool

func allCaps() capSet {
	s := capSet{}
	for _, c := range capabilityNames {
		s[c] = true
	}
	return s
}

// boundingSet computes the capability bounding set the assignments of
// CapabilityBoundingSet= leave, by the rule of systemd's
// config_parse_capability_set (src/core/load-fragment.c): a leading '~'
// inverts the list; an empty list, or any list while the set is still
// the initial "all", replaces the set; later lists are OR-ed in, or with
// '~' taken out. A name systemd does not know is an error here (systemd
// would ignore that word and keep the rest, which hides a typo).
func boundingSet(assignments []string) (capSet, error) {
	all := allCaps()
	cur := allCaps()
	for _, a := range assignments {
		invert := strings.HasPrefix(a, "~")
		sum := capSet{}
		for _, w := range strings.Fields(strings.TrimPrefix(a, "~")) {
			name := strings.ToUpper(w)
			if !all[name] {
				return nil, fmt.Errorf("unknown capability %q in CapabilityBoundingSet=%s", w, a)
			}
			sum[name] = true
		}
		switch {
		case len(sum) == 0 || maps.Equal(cur, all):
			cur = capSet{}
			for c := range all {
				if sum[c] != invert {
					cur[c] = true
				}
			}
		case invert:
			for c := range sum {
				delete(cur, c)
			}
		default:
			maps.Copy(cur, sum)
		}
	}
	return cur, nil
}

// pathAccess is what a service sees at a path through the file system
// settings of systemd.exec(5).
type pathAccess int

const (
	writable pathAccess = iota
	readOnly
	inaccessible
)

func (a pathAccess) String() string {
	return [...]string{"writable", "read-only", "inaccessible"}[a]
}

// accessAt models ProtectSystem=, ReadOnlyPaths=, InaccessiblePaths= and
// ReadWritePaths= for one absolute path: the rule on the longest path
// that contains p wins, and of two rules on the same path the stricter.
// ProtectSystem=yes makes /usr, /boot and /efi read-only, =full adds
// /etc, =strict makes everything read-only but /dev, /proc and /sys.
func (u unitFile) accessAt(p string) pathAccess {
	type rule struct {
		path   string
		access pathAccess
	}
	var rules []rule
	ps, _ := u.last("Service", "ProtectSystem")
	ps = strings.ToLower(ps)
	if ps == "strict" {
		rules = append(rules, rule{"/", readOnly}, rule{"/dev", writable}, rule{"/proc", writable}, rule{"/sys", writable})
	}
	if ps == "full" {
		rules = append(rules, rule{"/etc", readOnly})
	}
	if ps == "full" || isTrue(ps) {
		rules = append(rules, rule{"/usr", readOnly}, rule{"/boot", readOnly}, rule{"/efi", readOnly})
	}
	for key, access := range map[string]pathAccess{"ReadWritePaths": writable, "ReadOnlyPaths": readOnly, "InaccessiblePaths": inaccessible} {
		for _, w := range u.list("Service", key) {
			rules = append(rules, rule{path.Clean(strings.TrimLeft(w, "-+")), access})
		}
	}
	best, found := rule{}, false
	for _, r := range rules {
		if p != r.path && !strings.HasPrefix(p, strings.TrimSuffix(r.path, "/")+"/") {
			continue
		}
		if !found || len(r.path) > len(best.path) || (len(r.path) == len(best.path) && r.access > best.access) {
			best, found = r, true
		}
	}
	if !found {
		return writable
	}
	return best.access
}

// devicePolicyApplies reports whether the service's device access is
// restricted (systemd.resource-control(5)): DevicePolicy=closed or
// strict, or auto (the default) with any DeviceAllow= entry, which
// ProtectClock=yes adds implicitly ("char-rtc r") and PrivateDevices=yes
// replaces with a closed list. It returns the DeviceAllow= entries.
func (u unitFile) devicePolicyApplies() (bool, [][2]string) {
	var allow [][2]string
	for _, v := range u.values("Service", "DeviceAllow") {
		if v == "" {
			allow = nil
			continue
		}
		f := strings.Fields(v)
		acc := "rwm"
		if len(f) > 1 {
			acc = f[1]
		}
		allow = append(allow, [2]string{f[0], acc})
	}
	if v, _ := u.last("Service", "ProtectClock"); isTrue(v) {
		allow = append(allow, [2]string{"char-rtc", "r"})
	}
	policy, _ := u.last("Service", "DevicePolicy")
	pd, _ := u.last("Service", "PrivateDevices")
	return policy == "closed" || policy == "strict" || isTrue(pd) || len(allow) > 0, allow
}

// timeSpan parses a systemd time span (systemd.time(7)): "90s", "1min
// 30s", "2m", a bare number of seconds, or "infinity".
func timeSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return time.Duration(math.MaxInt64), nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	units := map[string]time.Duration{
		"us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	}
	var total time.Duration
	rest := strings.ReplaceAll(s, " ", "")
	if rest == "" {
		return 0, fmt.Errorf("empty time span")
	}
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 {
			return 0, fmt.Errorf("time span %q: expected a number at %q", s, rest)
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		j := strings.IndexFunc(rest, func(r rune) bool { return r >= '0' && r <= '9' })
		if j < 0 {
			j = len(rest)
		}
		unit, ok := units[rest[:j]]
		if !ok {
			return 0, fmt.Errorf("time span %q: unknown unit %q", s, rest[:j])
		}
		total += time.Duration(n) * unit
		rest = rest[j:]
	}
	return total, nil
}

// sortedKeys lists a set for messages.
func sortedKeys(s capSet) []string {
	return slices.Sorted(maps.Keys(s))
}
