package netinfo

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"slices"
)

// rtnetlink, as GET_IP_INFO reads it on Linux: the bytes of the dump
// requests and replies, with no system call (the socket is in
// netlink_linux.go), so the decoders run and are fuzzed everywhere.
// Netlink is in host byte order (binary.NativeEndian). Every value is
// pinned against golang.org/x/sys/unix in netlink_contract_linux_test.go.
const (
	// include/uapi/linux/netlink.h
	nlmsgHdrLen   = 16    // sizeof(struct nlmsghdr)
	nlmsgAlignTo  = 4     // NLMSG_ALIGNTO
	nlmsgError    = 2     // NLMSG_ERROR
	nlmsgDone     = 3     // NLMSG_DONE
	nlmFRequest   = 0x1   // NLM_F_REQUEST
	nlmFDump      = 0x300 // NLM_F_DUMP (NLM_F_ROOT|NLM_F_MATCH)
	nlmFDumpIntr  = 0x10  // NLM_F_DUMP_INTR: the dump changed while it ran
	nlmsgErrLen   = 4     // the int error of struct nlmsgerr, first
	nlRecvBufSize = 1 << 16

	// include/uapi/linux/rtnetlink.h
	rtmNewLink   = 16  // RTM_NEWLINK
	rtmGetLink   = 18  // RTM_GETLINK
	rtmNewAddr   = 20  // RTM_NEWADDR
	rtmGetAddr   = 22  // RTM_GETADDR
	rtmNewRoute  = 24  // RTM_NEWROUTE
	rtmGetRoute  = 26  // RTM_GETROUTE
	rtaAlignTo   = 4   // RTA_ALIGNTO
	rtaHdrLen    = 4   // sizeof(struct rtattr)
	rtmsgLen     = 12  // sizeof(struct rtmsg)
	rtnhLen      = 8   // sizeof(struct rtnexthop)
	rtaDst       = 1   // RTA_DST
	rtaOIF       = 4   // RTA_OIF
	rtaGateway   = 5   // RTA_GATEWAY
	rtaMultipath = 9   // RTA_MULTIPATH
	rtaTable     = 15  // RTA_TABLE
	rtTableMain  = 254 // RT_TABLE_MAIN
	rtnUnicast   = 1   // RTN_UNICAST

	// include/uapi/linux/if_link.h, struct ifinfomsg in rtnetlink.h
	ifinfomsgLen = 16 // sizeof(struct ifinfomsg)
	iflaAddress  = 1  // IFLA_ADDRESS
	iflaIfname   = 3  // IFLA_IFNAME
	iflaMaster   = 10 // IFLA_MASTER

	// include/uapi/linux/if_addr.h
	ifaddrmsgLen = 8 // sizeof(struct ifaddrmsg)
	ifaAddress   = 1 // IFA_ADDRESS
	ifaLocal     = 2 // IFA_LOCAL

	// include/linux/socket.h
	afUnspec = 0 // AF_UNSPEC
	afInet   = 2 // AF_INET
	afInet6  = 10
)

var errNetlinkShort = errors.New("netlink: truncated message")

// nlMsg is one netlink message: its header's type, flags and sequence
// number, and its payload.
type nlMsg struct {
	typ   uint16
	flags uint16
	seq   uint32
	data  []byte
}

func nlAlign(n int) int { return (n + nlmsgAlignTo - 1) &^ (nlmsgAlignTo - 1) }

// dumpRequest is an NLM_F_DUMP request of type typ for family, with the
// family-specific header zeroed but for its first byte, the family.
func dumpRequest(typ uint16, family uint8, seq uint32) []byte {
	hdr := rtmsgLen // rtgenmsg is one byte; the kernel accepts the longer zeroed header
	if typ == rtmGetLink {
		hdr = ifinfomsgLen
	}
	b := make([]byte, nlmsgHdrLen+hdr)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint16(b[6:], nlmFRequest|nlmFDump)
	ne.PutUint32(b[8:], seq)
	b[nlmsgHdrLen] = family
	return b
}

// splitNetlink splits one datagram into its messages.
func splitNetlink(b []byte) ([]nlMsg, error) {
	var out []nlMsg
	ne := binary.NativeEndian
	for len(b) >= nlmsgHdrLen {
		n := int(ne.Uint32(b[0:]))
		if n < nlmsgHdrLen || n > len(b) {
			return out, errNetlinkShort
		}
		out = append(out, nlMsg{typ: ne.Uint16(b[4:]), flags: ne.Uint16(b[6:]), seq: ne.Uint32(b[8:]), data: b[nlmsgHdrLen:n]})
		b = b[min(nlAlign(n), len(b)):]
	}
	return out, nil
}

// nlAttrs yields the rtattrs of b (type without the NLA_F_* bits).
func nlAttrs(b []byte) func(func(uint16, []byte) bool) {
	return func(yield func(uint16, []byte) bool) {
		ne := binary.NativeEndian
		for len(b) >= rtaHdrLen {
			n := int(ne.Uint16(b[0:]))
			if n < rtaHdrLen || n > len(b) {
				return
			}
			if !yield(ne.Uint16(b[2:])&0x3fff, b[rtaHdrLen:n]) {
				return
			}
			b = b[min((n+rtaAlignTo-1)&^(rtaAlignTo-1), len(b)):]
		}
	}
}

// parseLinkMsg reads an RTM_NEWLINK: index, name, MAC and master.
func parseLinkMsg(b []byte) (Link, bool) {
	if len(b) < ifinfomsgLen {
		return Link{}, false
	}
	ne := binary.NativeEndian
	l := Link{Index: int(int32(ne.Uint32(b[4:])))}
	for typ, v := range nlAttrs(b[ifinfomsgLen:]) {
		switch typ {
		case iflaIfname:
			if i := slices.Index(v, 0); i >= 0 {
				v = v[:i]
			}
			l.Name = string(v)
		case iflaAddress:
			l.MAC = net.HardwareAddr(slices.Clone(v))
		case iflaMaster:
			if len(v) >= 4 {
				l.Master = int(ne.Uint32(v))
			}
		}
	}
	return l, l.Name != "" && l.Index > 0
}

// parseAddrMsg reads an RTM_NEWADDR: the interface index and the
// address with its prefix. IPv4's own address is IFA_LOCAL (IFA_ADDRESS
// is the peer's on a point-to-point link); IPv6 has IFA_ADDRESS only.
func parseAddrMsg(b []byte) (int, netip.Prefix, bool) {
	if len(b) < ifaddrmsgLen {
		return 0, netip.Prefix{}, false
	}
	bits := int(b[1])
	index := int(binary.NativeEndian.Uint32(b[4:]))
	var addr, local netip.Addr
	for typ, v := range nlAttrs(b[ifaddrmsgLen:]) {
		a, ok := netip.AddrFromSlice(v)
		switch {
		case !ok:
		case typ == ifaAddress:
			addr = a
		case typ == ifaLocal:
			local = a
		}
	}
	if local.IsValid() {
		addr = local
	}
	if !addr.IsValid() || bits > addr.BitLen() {
		return 0, netip.Prefix{}, false
	}
	return index, netip.PrefixFrom(addr, bits), true
}

// nlRoute is a default route as the kernel lists it: the gateway and
// the outgoing interface's index.
type nlRoute struct {
	oif int
	gw  netip.Addr
}

// parseRouteMsg reads an RTM_NEWROUTE and returns its next hops if it is
// a default unicast route of the main table with a gateway; a multipath
// route has one per path.
func parseRouteMsg(b []byte) []nlRoute {
	if len(b) < rtmsgLen {
		return nil
	}
	dstLen, table, typ := b[1], uint32(b[4]), b[7]
	if dstLen != 0 || typ != rtnUnicast {
		return nil
	}
	var oif int
	var gw netip.Addr
	var multipath []byte
	ne := binary.NativeEndian
	for t, v := range nlAttrs(b[rtmsgLen:]) {
		switch t {
		case rtaTable:
			if len(v) >= 4 {
				table = ne.Uint32(v)
			}
		case rtaOIF:
			if len(v) >= 4 {
				oif = int(ne.Uint32(v))
			}
		case rtaGateway:
			gw, _ = netip.AddrFromSlice(v)
		case rtaMultipath:
			multipath = v
		}
	}
	if table != rtTableMain {
		return nil
	}
	var out []nlRoute
	if gw.IsValid() && oif > 0 {
		out = append(out, nlRoute{oif: oif, gw: gw})
	}
	for len(multipath) >= rtnhLen {
		n := int(ne.Uint16(multipath[0:]))
		if n < rtnhLen || n > len(multipath) {
			break
		}
		hop := nlRoute{oif: int(int32(ne.Uint32(multipath[4:])))}
		for t, v := range nlAttrs(multipath[rtnhLen:n]) {
			if t == rtaGateway {
				hop.gw, _ = netip.AddrFromSlice(v)
			}
		}
		if hop.gw.IsValid() && hop.oif > 0 {
			out = append(out, hop)
		}
		multipath = multipath[min((n+rtaAlignTo-1)&^(rtaAlignTo-1), len(multipath)):]
	}
	return out
}

// buildLinks joins link and address messages into Links, in the
// kernel's order of links and of each link's addresses.
func buildLinks(linkMsgs, addrMsgs []nlMsg) []Link {
	var links []Link
	at := map[int]int{}
	for _, m := range linkMsgs {
		if m.typ != rtmNewLink {
			continue
		}
		if l, ok := parseLinkMsg(m.data); ok {
			at[l.Index] = len(links)
			links = append(links, l)
		}
	}
	for _, m := range addrMsgs {
		if m.typ != rtmNewAddr {
			continue
		}
		if idx, p, ok := parseAddrMsg(m.data); ok {
			if i, ok := at[idx]; ok {
				links[i].Addrs = append(links[i].Addrs, p)
			}
		}
	}
	return links
}

// buildRoutes names the default routes' interfaces by links: IPv4
// first, then IPv6, each in kernel order.
func buildRoutes(routeMsgs []nlMsg, links []Link) []Route {
	names := map[int]string{}
	for _, l := range links {
		names[l.Index] = l.Name
	}
	var out []Route
	for _, m := range routeMsgs {
		if m.typ != rtmNewRoute {
			continue
		}
		for _, r := range parseRouteMsg(m.data) {
			if n, ok := names[r.oif]; ok {
				out = append(out, Route{Link: n, Gateway: r.gw.Unmap()})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Route) int {
		if a.Gateway.Is4() == b.Gateway.Is4() {
			return 0
		}
		if a.Gateway.Is4() {
			return -1
		}
		return 1
	})
	return out
}
