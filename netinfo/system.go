package netinfo

import (
	"net"
	"net/netip"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// Link is one network interface as the kernel reports it.
type Link struct {
	Name  string
	MAC   net.HardwareAddr
	Addrs []netip.Prefix // in kernel order, zones removed

	// Index is the interface index; Master the index of the interface
	// this one is enslaved to (Linux IFLA_MASTER: a VF under its
	// synthetic NIC, a bond or bridge port), 0 for none. Both are read
	// on Linux only (linuxLinks).
	Index  int
	Master int
}

// Route is a default route: its gateway and the interface it leaves by.
type Route struct {
	Link    string
	Gateway netip.Addr
}

// SystemLinks lists the interfaces and their addresses from the kernel
// (getifaddrs on FreeBSD, netlink on Linux): no commands, no shell.
func SystemLinks() ([]Link, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	links := make([]Link, 0, len(ifs))
	for _, ifc := range ifs {
		l := Link{Name: ifc.Name, MAC: ifc.HardwareAddr}
		// An interface can vanish between the two calls (a VF leaving
		// during host servicing): it is then listed without addresses.
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ones, _ := n.Mask.Size()
			ip = ip.Unmap()
			if ip.Is4() && ones > 32 {
				ones -= 96
			}
			l.Addrs = append(l.Addrs, netip.PrefixFrom(ip.WithZone(""), ones))
		}
		links = append(links, l)
	}
	return links, nil
}

// Addrs returns every address of links, the source of the auto pool's
// NetworkAddressIPv4/IPv6 items (kvp.AddrSource), so they and
// GET_IP_INFO see the same addresses.
func addrsOf(links []Link) []netip.Addr {
	var out []netip.Addr
	for _, l := range links {
		for _, p := range l.Addrs {
			out = append(out, p.Addr())
		}
	}
	return out
}

// kindRank orders interfaces sharing a MAC: the lagg(4) built over hnN
// carries the addresses in non-transparent VF mode, then hnN itself, then
// anything else, and last a VF.
func kindRank(name string) int {
	drv, _, ok := fbsdnet.Split(name)
	switch {
	case !ok:
		return 2
	case drv == "lagg":
		return 0
	case drv == "hn":
		return 1
	case fbsdnet.IsVFDriver(name):
		return 3
	}
	return 2
}
