package kvp

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// The auto pool as Linux guests report it: tools/hv/hv_kvp_daemon.c,
// kvp_get_os_info, takes OSName from /etc/os-release NAME (uname sysname
// without one) and OSMajorVersion from its VERSION_ID, and sends
// OSMinorVersion empty; OSVersion is the kernel release cut at the first
// '-' ("6.1.0-28-amd64" -> "6.1.0") and OSBuildNumber the whole release
// (the opposite of FreeBSD's daemon). IntegrationServicesVersion is
// LinuxDriverVersion, the version the kernel answers REGISTER1 with.
// Every value is made valid UTF-8 and short enough for its field: the
// kernel fails a reply it cannot convert (servable.go).

// GatherLinuxFacts is GatherFacts with Linux's values. root is the
// directory os-release is read under ("" means "/"), so tests can give
// their own.
func GatherLinuxFacts(ctx context.Context, root string, lookup func(context.Context) string) Facts {
	f := GatherFacts(ctx, LinuxDriverVersion, lookup)
	f.Linux = true
	name, versionID := readOSRelease(root)
	if name != "" {
		f.OSName = name
	}
	f.VersionID = versionID
	for _, s := range []*string{&f.FQDN, &f.OSName, &f.OSRelease, &f.Machine, &f.VersionID} {
		*s = fieldSafe(*s, MaxValueSize)
	}
	return f
}

// linuxValue is the value of key where Linux's differs from FreeBSD's;
// ok is false for the others, and always on FreeBSD.
func (f *Facts) linuxValue(key string) (string, bool) {
	if !f.Linux {
		return "", false
	}
	switch key {
	case "OSMajorVersion":
		return f.VersionID, true
	case "OSMinorVersion":
		return "", true
	case "OSVersion":
		return f.build(), true
	case "OSBuildNumber":
		return f.OSRelease, true
	}
	return "", false
}

// readOSRelease returns NAME and VERSION_ID of root's os-release:
// /etc/os-release, or /usr/lib/os-release where that is missing
// (os-release(5)). The C daemon reads only the first.
func readOSRelease(root string) (name, versionID string) {
	if root == "" {
		root = "/"
	}
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err == nil {
			return parseOSRelease(b)
		}
	}
	return "", ""
}

// parseOSRelease reads NAME and VERSION_ID from os-release(5) text:
// KEY=VALUE lines, the value optionally in single or double quotes, with
// backslash escapes inside double quotes; comments and other keys are
// skipped.
func parseOSRelease(b []byte) (name, versionID string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch key {
		case "NAME":
			name = unquoteOSRelease(value)
		case "VERSION_ID":
			versionID = unquoteOSRelease(value)
		}
	}
	return name, versionID
}

func unquoteOSRelease(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	var out strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		out.WriteByte(v[i])
	}
	return out.String()
}

// fieldSafe makes s valid UTF-8 (invalid bytes become U+FFFD) and cuts
// it, at a character boundary, so that it keeps a NUL inside a field of
// size bytes.
func fieldSafe(s string, size int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) < size {
		return s
	}
	s = s[:size-1]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
