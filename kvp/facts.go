package kvp

import (
	"context"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Facts are the guest facts behind the auto pool (pool 2). They are
// gathered off the request path: at start and on SIGHUP, never inside the
// kernel's 5-second window.
type Facts struct {
	FQDN      string
	Version   string // IntegrationServicesVersion: the agent's dotted numeric version
	OSName    string // uname sysname, "FreeBSD"
	OSRelease string // uname release, "14.2-RELEASE-p1"
	Machine   string // uname machine, "amd64"
	// Linux selects the values a Linux guest reports (linuxfacts.go):
	// OSName is then os-release's NAME and VersionID its VERSION_ID.
	Linux     bool
	VersionID string
}

// autoKeys maps an ENUMERATE index of pool 2 to its key (FreeBSD
// sys/dev/hyperv/utilities/hv_kvp.h, the index table in its comment; the
// same table as Linux's daemon).
var autoKeys = [...]string{
	"FullyQualifiedDomainName",
	"IntegrationServicesVersion",
	"NetworkAddressIPv4",
	"NetworkAddressIPv6",
	"OSBuildNumber",
	"OSName",
	"OSMajorVersion",
	"OSMinorVersion",
	"OSVersion",
	"ProcessorArchitecture",
}

// AddrSource lists the guest's addresses for NetworkAddressIPv4/IPv6.
type AddrSource func() ([]netip.Addr, error)

// InterfaceAddrs is the default AddrSource: every address of every
// interface, from the kernel (no commands, no shell).
func InterfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(p.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// autoValue computes the value of an auto-pool key. ok is false for keys
// outside the table.
func (f *Facts) autoValue(key string, addrs AddrSource) (string, bool) {
	if v, ok := f.linuxValue(key); ok {
		return v, true
	}
	switch key {
	case "FullyQualifiedDomainName":
		return f.FQDN, true
	case "IntegrationServicesVersion":
		return f.Version, true
	case "NetworkAddressIPv4":
		return joinAddrs(addrs, true), true
	case "NetworkAddressIPv6":
		return joinAddrs(addrs, false), true
	case "OSBuildNumber":
		return f.build(), true
	case "OSName":
		return f.OSName, true
	case "OSMajorVersion":
		major, _ := f.majorMinor()
		return major, true
	case "OSMinorVersion":
		_, minor := f.majorMinor()
		return minor, true
	case "OSVersion":
		return f.OSRelease, true
	case "ProcessorArchitecture":
		return f.Machine, true
	}
	return "", false
}

// build is the release cut at the first '-': "14.2-RELEASE-p1" -> "14.2".
func (f *Facts) build() string {
	b, _, _ := strings.Cut(f.OSRelease, "-")
	return b
}

// majorMinor parses "14.2" from the build number, and "6.18" from a Linux
// release such as "6.18.44": the minor part ends at the next '.'. The C
// daemon sends both empty. Non-numeric parts yield empty strings rather
// than guesses.
func (f *Facts) majorMinor() (string, string) {
	major, rest, _ := strings.Cut(f.build(), ".")
	minor, _, _ := strings.Cut(rest, ".")
	if _, err := strconv.Atoi(major); err != nil {
		return "", ""
	}
	if _, err := strconv.Atoi(minor); err != nil {
		minor = ""
	}
	return major, minor
}

// joinAddrs renders the guest's non-loopback, non-link-local addresses of
// one family joined with ';', as the host expects. A failing source yields
// an empty list: the other items still go out.
func joinAddrs(src AddrSource, v4 bool) string {
	if src == nil {
		return ""
	}
	addrs, err := src()
	if err != nil {
		return ""
	}
	var parts []string
	for _, a := range addrs {
		if a.Is4() != v4 || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
			continue
		}
		parts = append(parts, a.WithZone("").String())
	}
	return fitList(parts, HostValueLimit)
}

// fitList joins parts with ';' keeping only whole entries within limit
// bytes, so the host never sees half an address.
func fitList(parts []string, limit int) string {
	var b strings.Builder
	for _, p := range parts {
		extra := len(p)
		if b.Len() > 0 {
			extra++
		}
		if b.Len()+extra > limit {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(p)
	}
	return b.String()
}

// LookupFQDN resolves the host name to its canonical name, as getaddrinfo
// with AI_CANONNAME would, bounded by timeout. On any failure it returns
// the plain host name: a slow resolver must not hold up the agent.
func LookupFQDN(ctx context.Context, timeout time.Duration) string {
	host, err := os.Hostname()
	if err != nil {
		return ""
	}
	if strings.Contains(host, ".") {
		return host
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cname, err := net.DefaultResolver.LookupCNAME(ctx, host)
	if err != nil || cname == "" {
		return host
	}
	return strings.TrimSuffix(cname, ".")
}

// AutoRecords lists the auto pool as the host enumerates it.
func AutoRecords(f Facts, addrs AddrSource) []Record {
	out := make([]Record, len(autoKeys))
	for i, k := range autoKeys {
		v, _ := f.autoValue(k, addrs)
		out[i] = Record{Key: k, Value: v}
	}
	return out
}
