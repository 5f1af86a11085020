package netinfo

import (
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// systemd-resolved's files (src/resolve/resolved-resolv-conf.c,
// resolved-link.c).
const (
	// resolvedUpstream lists the upstream servers resolved uses, global
	// and per link, in resolv.conf format (PRIVATE_UPLINK_RESOLV_CONF).
	resolvedUpstream = "/run/systemd/resolve/resolv.conf"
	// resolvedLinksDir holds one state file per interface named by
	// ifindex, with SERVERS= the link's servers, space-separated, each
	// as dns_server_string_full writes it: "ADDR", "ADDR:PORT",
	// "[ADDR6]:PORT", with "%IFINDEX" and "#SNI-NAME" possibly appended
	// (link_save_user).
	resolvedLinksDir = "/run/systemd/resolve/netif"
)

// The addresses on which resolved's stub listens and which a
// resolv.conf pointing at it names (src/resolve/resolved-def.h):
// 127.0.0.53, INADDR_DNS_STUB, and 127.0.0.54, INADDR_DNS_PROXY_STUB.
var resolvedStubs = []netip.Addr{netip.MustParseAddr("127.0.0.53"), netip.MustParseAddr("127.0.0.54")}

// linuxDNS returns the DNS servers interface ifindex really uses. If
// resolv.conf (a path on this machine) names servers other than
// resolved's stub, they are the answer, as the C library uses them.
// If it names only the stub, resolved forwards to upstream servers: the
// interface's own (SERVERS= of its resolved state) if it has any, else
// those of resolved's upstream resolv.conf. The stub itself is never
// answered: the host cannot use a guest's loopback address.
func linuxDNS(t *linuxTree, resolvConf string, ifindex int) []netip.Addr {
	b, _ := t.readHost(resolvConf)
	servers := nameservers(b)
	if len(servers) == 0 || !onlyStubs(servers) {
		return servers
	}
	if ifindex > 0 {
		if b, ok := t.read(path.Join(resolvedLinksDir, strconv.Itoa(ifindex))); ok {
			if own := resolvedServers(parseKeyFile(b).get("", "SERVERS")); len(own) > 0 {
				return own
			}
		}
	}
	up, _ := t.read(resolvedUpstream)
	var out []netip.Addr
	for _, a := range nameservers(up) {
		if !isStub(a) {
			out = append(out, a)
		}
	}
	return out
}

func onlyStubs(servers []netip.Addr) bool {
	for _, a := range servers {
		if !isStub(a) {
			return false
		}
	}
	return true
}

func isStub(a netip.Addr) bool {
	for _, s := range resolvedStubs {
		if a == s {
			return true
		}
	}
	return false
}

// resolvedServers reads a SERVERS= value: the addresses, with ports,
// interface and server names dropped; anything unreadable skipped.
func resolvedServers(v string) []netip.Addr {
	var out []netip.Addr
	for f := range strings.FieldsSeq(v) {
		f, _, _ = strings.Cut(f, "#")
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, a.WithZone(""))
			continue
		}
		host := f
		if i := strings.LastIndexByte(f, '%'); i >= 0 && !strings.Contains(f[i:], "]") {
			host = f[:i]
		}
		if ap, err := netip.ParseAddrPort(host); err == nil {
			out = append(out, ap.Addr().WithZone(""))
		} else if a, err := netip.ParseAddr(host); err == nil {
			out = append(out, a.WithZone(""))
		}
	}
	return out
}
