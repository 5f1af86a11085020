package netinfo

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
)

// nlAttr encodes one rtattr, padded.
func nlAttr(typ uint16, v []byte) []byte {
	b := make([]byte, rtaHdrLen+len(v), (rtaHdrLen+len(v)+3)&^3)
	binary.NativeEndian.PutUint16(b[0:], uint16(rtaHdrLen+len(v)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[rtaHdrLen:], v)
	return b[:cap(b)]
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// nlMessage encodes one netlink message with payload body.
func nlMessage(typ, flags uint16, seq uint32, body []byte) []byte {
	b := make([]byte, nlmsgHdrLen, nlAlign(nlmsgHdrLen+len(body)))
	binary.NativeEndian.PutUint32(b[0:], uint32(nlmsgHdrLen+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint16(b[6:], flags)
	binary.NativeEndian.PutUint32(b[8:], seq)
	b = append(b, body...)
	return b[:cap(b)]
}

func linkBody(index int32, name string, mac []byte, master uint32) []byte {
	b := make([]byte, ifinfomsgLen)
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	b = append(b, nlAttr(iflaIfname, append([]byte(name), 0))...)
	b = append(b, nlAttr(iflaAddress, mac)...)
	if master != 0 {
		b = append(b, nlAttr(iflaMaster, u32(master))...)
	}
	return b
}

func addrBody(index uint32, p netip.Prefix, peer netip.Addr) []byte {
	b := make([]byte, ifaddrmsgLen)
	b[0], b[1] = afInet, byte(p.Bits())
	if p.Addr().Is6() {
		b[0] = afInet6
	}
	binary.NativeEndian.PutUint32(b[4:], index)
	if peer.IsValid() {
		b = append(b, nlAttr(ifaAddress, peer.AsSlice())...)
		b = append(b, nlAttr(ifaLocal, p.Addr().AsSlice())...)
	} else {
		b = append(b, nlAttr(ifaAddress, p.Addr().AsSlice())...)
	}
	return b
}

func routeBody(dstLen, table, typ byte, attrs ...[]byte) []byte {
	b := make([]byte, rtmsgLen)
	b[1], b[4], b[7] = dstLen, table, typ
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

func nexthop(oif uint32, gw netip.Addr) []byte {
	a := nlAttr(rtaGateway, gw.AsSlice())
	b := make([]byte, rtnhLen)
	binary.NativeEndian.PutUint16(b[0:], uint16(rtnhLen+len(a)))
	binary.NativeEndian.PutUint32(b[4:], oif)
	return append(b, a...)
}

var (
	macSyn = []byte{0x00, 0x15, 0x5d, 0x01, 0x02, 0x03}
	gw4    = netip.MustParseAddr("192.0.2.1")
	gw6    = netip.MustParseAddr("2001:db8::1")
)

// testDump is a link dump and an address dump as the kernel sends them
// for lo, a VF (index 2, enslaved to 3) and its synthetic NIC eth0 (3),
// and a route dump with default routes of several kinds.
func testDump() (links, addrs, routes []byte) {
	links = append(links, nlMessage(rtmNewLink, 2, 7, linkBody(1, "lo", make([]byte, 6), 0))...)
	links = append(links, nlMessage(rtmNewLink, 2, 7, linkBody(2, "enP1s1", macSyn, 3))...)
	links = append(links, nlMessage(rtmNewLink, 2, 7, linkBody(3, "eth0", macSyn, 0))...)
	links = append(links, nlMessage(nlmsgDone, 2, 7, make([]byte, 4))...)
	addrs = append(addrs, nlMessage(rtmNewAddr, 2, 8, addrBody(3, netip.MustParsePrefix("192.0.2.10/24"), netip.Addr{}))...)
	addrs = append(addrs, nlMessage(rtmNewAddr, 2, 8, addrBody(3, netip.MustParsePrefix("10.0.0.1/32"), netip.MustParseAddr("10.0.0.2")))...)
	addrs = append(addrs, nlMessage(rtmNewAddr, 2, 8, addrBody(3, netip.MustParsePrefix("2001:db8::10/64"), netip.Addr{}))...)
	addrs = append(addrs, nlMessage(rtmNewAddr, 2, 8, addrBody(9, netip.MustParsePrefix("198.51.100.1/24"), netip.Addr{}))...)
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(0, rtTableMain, rtnUnicast,
		nlAttr(rtaGateway, gw6.AsSlice()), nlAttr(rtaOIF, u32(3))))...)
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(0, rtTableMain, rtnUnicast,
		nlAttr(rtaGateway, gw4.AsSlice()), nlAttr(rtaOIF, u32(3))))...)
	// Not default, another table (by RTA_TABLE), not unicast, no gateway.
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(24, rtTableMain, rtnUnicast,
		nlAttr(rtaGateway, gw4.AsSlice()), nlAttr(rtaOIF, u32(3))))...)
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(0, 252, rtnUnicast, nlAttr(rtaTable, u32(1000)),
		nlAttr(rtaGateway, gw4.AsSlice()), nlAttr(rtaOIF, u32(3))))...)
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(0, rtTableMain, 6, nlAttr(rtaOIF, u32(3))))...)
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(0, rtTableMain, rtnUnicast, nlAttr(rtaOIF, u32(3))))...)
	// Multipath: two IPv6 next hops, one on eth0, one on an unknown index.
	mp := append(nexthop(3, netip.MustParseAddr("fe80::1")), nexthop(42, gw6)...)
	routes = append(routes, nlMessage(rtmNewRoute, 2, 9, routeBody(0, rtTableMain, rtnUnicast, nlAttr(rtaMultipath, mp)))...)
	return links, addrs, routes
}

func TestNetlinkDecode(t *testing.T) {
	lb, ab, rb := testDump()
	lm, err := splitNetlink(lb)
	if err != nil {
		t.Fatal(err)
	}
	am, err := splitNetlink(ab)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := splitNetlink(rb)
	if err != nil {
		t.Fatal(err)
	}
	if len(lm) != 4 || lm[3].typ != nlmsgDone || lm[0].seq != 7 || lm[0].flags != 2 {
		t.Fatalf("split: %+v", lm)
	}
	links := buildLinks(lm, am)
	want := []Link{
		{Name: "lo", MAC: make([]byte, 6), Index: 1},
		{Name: "enP1s1", MAC: macSyn, Index: 2, Master: 3},
		{Name: "eth0", MAC: macSyn, Index: 3, Addrs: prefixes("192.0.2.10/24", "10.0.0.1/32", "2001:db8::10/64")},
	}
	if !reflect.DeepEqual(links, want) {
		t.Errorf("links mismatch (-want +got):\n-%+v\n+%+v", want, links)
	}
	routes := buildRoutes(rm, links)
	wantR := []Route{{Link: "eth0", Gateway: gw4}, {Link: "eth0", Gateway: gw6}, {Link: "eth0", Gateway: netip.MustParseAddr("fe80::1")}}
	if !reflect.DeepEqual(routes, wantR) {
		t.Errorf("routes mismatch (-want +got):\n-%v\n+%v", wantR, routes)
	}
	if l, ok := pickLink(links, macSyn); !ok || l.Name != "eth0" {
		t.Errorf("pickLink = %q, %v; want eth0, not the VF enslaved to it", l.Name, ok)
	}
}

// A request is a header and a zeroed family header starting with the
// family; the kernel reads the length it is told.
func TestDumpRequest(t *testing.T) {
	b := dumpRequest(rtmGetLink, afUnspec, 5)
	m, err := splitNetlink(b)
	if err != nil || len(m) != 1 || m[0].typ != rtmGetLink || m[0].flags != nlmFRequest|nlmFDump || m[0].seq != 5 || len(m[0].data) != ifinfomsgLen {
		t.Fatalf("%v %+v", err, m)
	}
	b = dumpRequest(rtmGetRoute, afInet6, 6)
	if m, _ := splitNetlink(b); len(m) != 1 || len(m[0].data) != rtmsgLen || m[0].data[0] != afInet6 {
		t.Fatalf("%+v", m)
	}
}

// Truncated and garbled input is reported or skipped, never a panic.
func FuzzNetlink(f *testing.F) {
	lb, ab, rb := testDump()
	f.Add(lb)
	f.Add(ab)
	f.Add(rb)
	f.Add(lb[:30])
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := splitNetlink(b)
		links := buildLinks(msgs, msgs)
		_ = buildRoutes(msgs, links)
		for _, m := range msgs {
			parseLinkMsg(m.data)
			parseAddrMsg(m.data)
			parseRouteMsg(m.data)
		}
	})
}
