package netinfo

import (
	"bytes"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
)

// networkdLinksDir holds systemd-networkd's run-time state, one file per
// interface named by ifindex (src/network/networkd-state-file.c,
// link_save: ADMIN_STATE=, NETWORK_FILE=, NETWORK_FILE_DROPINS= as a
// quoted ':'-separated list, DHCP_LEASE= while a DHCPv4 lease is held,
// DHCP6_CLIENT_IAID=/DHCP6_CLIENT_DUID= while a DHCPv6 client runs).
const networkdLinksDir = "/run/systemd/netif/links"

// networkdDirs are where networkd reads .network files
// (systemd.network(5)): a file in an earlier directory hides one of the
// same name in a later one, and the files are then taken in the order of
// their names.
var networkdDirs = []string{
	"/etc/systemd/network",
	"/run/systemd/network",
	"/usr/local/lib/systemd/network",
	"/usr/lib/systemd/network",
	"/lib/systemd/network",
}

// networkdRunning: networkd's state says it manages l with a .network.
func networkdRunning(t *linuxTree, l Link) (LinuxOwner, bool) {
	if l.Index <= 0 {
		return LinuxOwner{}, false
	}
	b, ok := t.read(path.Join(networkdLinksDir, strconv.Itoa(l.Index)))
	if !ok {
		return LinuxOwner{}, false
	}
	st := parseKeyFile(b)
	file := st.get("", "NETWORK_FILE")
	if st.get("", "ADMIN_STATE") == "unmanaged" || file == "" {
		return LinuxOwner{}, false
	}
	o := LinuxOwner{Manager: ManagerNetworkd, File: file, Running: true}
	for d := range strings.SplitSeq(unquoteEnv(st.get("", "NETWORK_FILE_DROPINS")), ":") {
		if d != "" {
			o.DropIns = append(o.DropIns, d)
		}
	}
	o.DHCP4, o.DHCP6 = networkdDHCP(t, append([]string{file}, o.DropIns...))
	o.DHCP4 = o.DHCP4 || st.get("", "DHCP_LEASE") != ""
	o.DHCP6 = o.DHCP6 || st.get("", "DHCP6_CLIENT_IAID") != "" || st.get("", "DHCP6_CLIENT_DUID") != ""
	return o, true
}

// networkdConfigured: the first .network file, in networkd's order,
// whose [Match] names l by Name= or MACAddress=. Files that match on
// other properties only (Type=, Driver=, Virtualization=...) are not
// taken: hvagent cannot tell whether they would match.
func networkdConfigured(t *linuxTree, l Link) (LinuxOwner, bool) {
	seen := map[string]bool{}
	var files []string
	for _, dir := range networkdDirs {
		for _, n := range t.list(dir) {
			if strings.HasSuffix(n, ".network") && !seen[n] {
				seen[n] = true
				files = append(files, path.Join(dir, n))
			}
		}
	}
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(path.Base(a), path.Base(b)) })
	for _, f := range files {
		b, ok := t.read(f)
		if !ok || !networkdMatches(parseKeyFile(b), l) {
			continue
		}
		o := LinuxOwner{Manager: ManagerNetworkd, File: f}
		o.DHCP4, o.DHCP6 = networkdDHCP(t, []string{f})
		return o, true
	}
	return LinuxOwner{}, false
}

// networkdMatches: kf's [Match] has Name= or MACAddress= and every one of
// them accepts l. Name= takes shell globs, a leading '!' inverts the
// list (systemd.network(5), [Match] section).
func networkdMatches(kf keyFile, l Link) bool {
	names, macs := kf.all("Match", "Name"), kf.all("Match", "MACAddress")
	if len(names) == 0 && len(macs) == 0 {
		return false
	}
	for _, v := range names {
		if !globListMatches(v, l.Name) {
			return false
		}
	}
	for _, v := range macs {
		found := false
		for f := range strings.FieldsSeq(v) {
			if m, err := net.ParseMAC(f); err == nil && bytes.Equal(m, l.MAC) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func globListMatches(list, name string) bool {
	neg := strings.HasPrefix(list, "!")
	hit := false
	for g := range strings.FieldsSeq(strings.TrimPrefix(list, "!")) {
		if ok, err := path.Match(g, name); err == nil && ok {
			hit = true
		}
	}
	return hit != neg
}

// networkdDHCP reads [Network] DHCP= from files, the last one set
// winning: yes (or the old "both") is both families, ipv4 or ipv6 one.
func networkdDHCP(t *linuxTree, files []string) (v4, v6 bool) {
	val := ""
	for _, f := range files {
		if b, ok := t.read(f); ok {
			if v := parseKeyFile(b).get("Network", "DHCP"); v != "" {
				val = v
			}
		}
	}
	switch {
	case val == "ipv4":
		return true, false
	case val == "ipv6":
		return false, true
	case val == "both" || isTrue(val):
		return true, true
	}
	return false, false
}
