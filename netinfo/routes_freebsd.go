package netinfo

import (
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/route"
)

// SystemRoutes dumps the routing table through the routing socket
// (sysctl NET_RT_DUMP) and returns the default routes with a gateway:
// IPv4 first, then IPv6.
func SystemRoutes() ([]Route, error) {
	var out []Route
	for _, af := range []int{syscall.AF_INET, syscall.AF_INET6} {
		rib, err := route.FetchRIB(af, route.RIBTypeRoute, 0)
		if err != nil {
			return nil, err
		}
		msgs, err := route.ParseRIB(route.RIBTypeRoute, rib)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			rm, ok := m.(*route.RouteMessage)
			if !ok || rm.Flags&syscall.RTF_GATEWAY == 0 || len(rm.Addrs) <= syscall.RTAX_GATEWAY {
				continue
			}
			if !isDefault(rm.Addrs) {
				continue
			}
			gw, ok := addrOf(rm.Addrs[syscall.RTAX_GATEWAY])
			if !ok {
				continue
			}
			ifc, err := net.InterfaceByIndex(rm.Index)
			if err != nil {
				continue
			}
			out = append(out, Route{Link: ifc.Name, Gateway: gw})
		}
	}
	return out, nil
}

// isDefault: destination unspecified and netmask absent or all zeros.
func isDefault(addrs []route.Addr) bool {
	dst, ok := addrOf(addrs[syscall.RTAX_DST])
	if !ok || !dst.IsUnspecified() {
		return false
	}
	if len(addrs) <= syscall.RTAX_NETMASK || addrs[syscall.RTAX_NETMASK] == nil {
		return true
	}
	mask, ok := addrOf(addrs[syscall.RTAX_NETMASK])
	return !ok || mask.IsUnspecified()
}

func addrOf(a route.Addr) (netip.Addr, bool) {
	switch a := a.(type) {
	case *route.Inet4Addr:
		return netip.AddrFrom4(a.IP), true
	case *route.Inet6Addr:
		return netip.AddrFrom16(a.IP), true
	}
	return netip.Addr{}, false
}
