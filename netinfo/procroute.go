package netinfo

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net/netip"
	"strings"
)

// parseProcRoute reads Linux's /proc/net/route and returns the IPv4
// default routes with a gateway. Columns: Iface Destination Gateway Flags
// RefCnt Use Metric Mask ...; addresses are 32-bit hex in host (little-
// endian) byte order.
func parseProcRoute(r io.Reader) []Route {
	var out []Route
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Iface" || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) != 4 {
			continue
		}
		var ip [4]byte
		binary.BigEndian.PutUint32(ip[:], binary.LittleEndian.Uint32(b))
		if gw := netip.AddrFrom4(ip); !gw.IsUnspecified() {
			out = append(out, Route{Link: f[0], Gateway: gw})
		}
	}
	return out
}

// parseProcIPv6Route reads Linux's /proc/net/ipv6_route and returns the
// IPv6 default routes with a gateway. Columns: destination, its prefix
// length, source, its prefix length, next hop, metric, refcnt, use,
// flags, interface; addresses are 32 hex digits in network order.
func parseProcIPv6Route(r io.Reader) []Route {
	var out []Route
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != strings.Repeat("0", 32) || f[1] != "00" {
			continue
		}
		b, err := hex.DecodeString(f[4])
		if err != nil || len(b) != 16 {
			continue
		}
		if gw := netip.AddrFrom16([16]byte(b)); !gw.IsUnspecified() {
			out = append(out, Route{Link: f[9], Gateway: gw})
		}
	}
	return out
}
