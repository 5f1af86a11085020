package netinfo

import (
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// resolvconfRecords reads resolvconf(8)'s records of the interfaces
// names from db/interfaces. inUse is false when that directory does not
// exist: resolvconf has never run, and resolv.conf is the admin's.
func resolvconfRecords(db string, names ...string) (inUse bool, records map[string][]byte) {
	dir := filepath.Join(db, "interfaces")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return !os.IsNotExist(err), nil
	}
	records = map[string][]byte{}
	for _, e := range ents {
		for _, ifname := range names {
			if !isRecordOf(e.Name(), ifname) {
				continue
			}
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				records[e.Name()] = b
			}
		}
	}
	return true, records
}

// isRecordOf reports whether the resolvconf record called name belongs
// to ifname. openresolv names records <if>, <if>.<protocol> (dhcpcd:
// hn0.dhcp, hn0.ra) or <if>:<source> (rtsold: hn0:slaac:[fe80::1]);
// hn0.100 and hn0.100.dhcp are the VLAN interface hn0.100's own.
func isRecordOf(name, ifname string) bool {
	rest, ok := strings.CutPrefix(name, ifname)
	switch {
	case !ok:
		return false
	case rest == "" || rest[0] == ':':
		return true
	case rest[0] != '.':
		return false
	}
	proto := rest[1:]
	if i := strings.IndexAny(proto, ".:"); i >= 0 {
		proto = proto[:i]
	}
	return proto != "" && strings.Trim(proto, "0123456789") != ""
}

// dnsSteps installs the DNS servers. Where resolvconf(8) keeps records
// (dhclient-script registers a lease's servers with 'resolvconf -a
// <if>'), resolv.conf is its output: writing it directly would leave
// the old record in place, reported by GET_IP_INFO and restored at the
// next 'resolvconf -u'. The interface's records are then replaced by one
// under the target's name that keeps their search, domain, options and
// sortlist lines. Without resolvconf, resolv.conf is rewritten.
func (p *plan) dnsSteps(dns []netip.Addr, cur current) {
	dns = scoped(dns, cur.target.Name)
	if !cur.resolvconf {
		p.resolv = withNameservers(cur.resolv, dns)
		return
	}
	t := cur.target.Name
	names := slices.Sorted(maps.Keys(cur.records))
	var old []byte
	for _, n := range names {
		old = append(old, cur.records[n]...)
		if n != t {
			p.dns = append(p.dns, []string{"resolvconf", "-d", n})
		}
	}
	if len(names) == 0 {
		old = cur.resolv
	}
	p.record = withNameservers(resolverOptions(old), dns)
	p.dns = append(p.dns, []string{"resolvconf", "-a", t})
}

// scoped gives link-local IPv6 addresses ifname as their zone: without
// one the resolver cannot use them.
func scoped(as []netip.Addr, ifname string) []netip.Addr {
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = a
		if a.Is6() && a.IsLinkLocalUnicast() {
			out[i] = a.WithZone(ifname)
		}
	}
	return out
}
