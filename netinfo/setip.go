package netinfo

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
	"github.com/hvagent/hvagent/kvp"
)

// Caps on list lengths: far above what an adapter carries, low enough
// that a hostile request cannot make the agent run thousands of commands.
const (
	maxAddrs    = 32
	maxGateways = 8
	maxDNS      = 8
)

// maxResolvers is resolv.conf(5)'s MAXNS: the resolver ignores
// nameserver lines after the third. More are written, as dhclient-script
// does, and a warning logged.
const maxResolvers = 3

// Setting is a validated SET_IP_INFO request: every value came out of
// net/netip, so its String form is all a command line ever receives.
type Setting struct {
	Interface string // hnN, as the kernel mapped the adapter GUID; on Linux the interface sysfs names for it
	DHCP      bool
	Addrs     []netip.Prefix // in the host's order
	Gateways  []netip.Addr   // in the host's order
	DNS       []netip.Addr
}

// Rejection is why a SET_IP_INFO request was refused. Reason is a
// bounded metric label.
type Rejection struct {
	Reason string
	Status kvp.Status
	Err    error
}

func (r *Rejection) Error() string { return r.Reason + ": " + r.Err.Error() }
func (r *Rejection) Unwrap() error { return r.Err }

// Rejection reasons (hvagent_kvp_set_ip_rejected_total{reason}). A
// request the kvp decoder refuses never gets here: it counts once, as
// hvagent_kvp_requests_total{result="malformed"}.
var rejectReasons = []string{
	"adapter_not_found", "interface", "dhcp_flag", "address", "subnet",
	"count_mismatch", "gateway", "dns", "no_address", "too_many", "unsupported",
}

func reject(reason string, st kvp.Status, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Status: st, Err: fmt.Errorf(format, args...)}
}

func invalid(reason, format string, args ...any) *Rejection {
	return reject(reason, kvp.StatusInvalidArg, format, args...)
}

// ParseSetting validates a SET_IP_INFO request. Any invalid part rejects
// the whole request: nothing is half-applied.
func ParseSetting(ip kvp.IPInfo) (Setting, error) {
	if err := checkInterface(ip.AdapterID); err != nil {
		return Setting{}, err
	}
	return parseSettingFor(ip.AdapterID, ip)
}

// parseSettingFor validates everything in a SET_IP_INFO request but its
// adapter, which the caller has already mapped to the interface ifname
// (on Linux, from the adapter's VMBus GUID; see adapterByGUID).
func parseSettingFor(ifname string, ip kvp.IPInfo) (Setting, error) {
	s := Setting{Interface: ifname}
	switch ip.DHCPEnabled {
	case 0:
	case 1:
		s.DHCP = true
	default:
		return s, invalid("dhcp_flag", "dhcp_enabled is %d, want 0 or 1", ip.DHCPEnabled)
	}
	addrs, err := parseList(ip.IPAddr, maxAddrs, "address", parseHostAddr)
	if err != nil {
		return s, err
	}
	masks := splitList(ip.SubNet)
	if len(masks) != len(addrs) {
		return s, invalid("count_mismatch", "%d addresses but %d subnets", len(addrs), len(masks))
	}
	for i, a := range addrs {
		bits, err := parseSubnet(masks[i], a.Is4())
		if err != nil {
			return s, invalid("subnet", "subnet %d %q for %s: %v", i+1, masks[i], a, err)
		}
		s.Addrs = append(s.Addrs, netip.PrefixFrom(a, bits))
	}
	if s.Gateways, err = parseList(ip.Gateway, maxGateways, "gateway", parseHostAddr); err != nil {
		return s, err
	}
	if s.DNS, err = parseList(ip.DNSAddr, maxDNS, "dns", parseHostAddr); err != nil {
		return s, err
	}
	if s.DHCP {
		return s, nil
	}
	if len(s.Addrs) == 0 {
		return s, invalid("no_address", "a static configuration without an address")
	}
	return s, checkStatic(s)
}

// checkStatic rejects what would fail half-way through applying: a
// prefix covering everything, an address given twice (ifconfig would
// fail on the second alias), and a gateway the guest could not reach
// (route add would fail): an IPv4 gateway must be inside one of the new
// IPv4 prefixes, an IPv6 one link-local or inside a new IPv6 prefix,
// and none may be one of the guest's own addresses.
func checkStatic(s Setting) error {
	seen := map[netip.Addr]bool{}
	for _, p := range s.Addrs {
		if p.Bits() == 0 {
			return invalid("subnet", "%s: a /0 prefix is not an interface subnet", p)
		}
		if seen[p.Addr()] {
			return invalid("address", "address %s given twice", p.Addr())
		}
		seen[p.Addr()] = true
	}
	for _, gw := range s.Gateways {
		if seen[gw] {
			return invalid("gateway", "gateway %s is one of the new addresses", gw)
		}
		if gw.Is6() && gw.IsLinkLocalUnicast() {
			continue
		}
		if !slices.ContainsFunc(s.Addrs, func(p netip.Prefix) bool { return p.Masked().Contains(gw) }) {
			return invalid("gateway", "gateway %s is not inside any of the new prefixes", gw)
		}
	}
	return nil
}

// checkInterface accepts the hn(4) names the kernel maps an adapter GUID
// to. A GUID left in place means the kernel found no such adapter.
func checkInterface(id string) error {
	drv, unit, ok := fbsdnet.Split(id)
	if ok && drv == "hn" && len(unit) <= 4 && (unit == "0" || unit[0] != '0') {
		return nil
	}
	if looksLikeGUID(id) {
		return reject("adapter_not_found", kvp.StatusGUIDNotFound, "no hn interface for adapter %s", id)
	}
	return invalid("interface", "adapter %q is not an hn interface name", id)
}

func looksLikeGUID(s string) bool {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if r != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// splitList splits a ';'-separated list; spaces around entries and one
// trailing ';' are tolerated, an empty list is nil.
func splitList(s string) []string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ";")
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ";")
	for i := range parts {
		parts[i] = strings.Trim(parts[i], " ")
	}
	return parts
}

func parseList(s string, limit int, reason string, parse func(string) (netip.Addr, error)) ([]netip.Addr, error) {
	parts := splitList(s)
	if len(parts) > limit {
		return nil, invalid("too_many", "%d %s entries, at most %d", len(parts), reason, limit)
	}
	var out []netip.Addr
	for i, p := range parts {
		a, err := parse(p)
		if err != nil {
			return nil, invalid(reason, "%s %d %q: %v", reason, i+1, p, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// parseHostAddr accepts a unicast IPv4 or IPv6 address without a zone.
func parseHostAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return a, errors.New("not an IP address")
	case a.Zone() != "":
		return a, errors.New("zoned address")
	case a.Is4In6():
		return a, errors.New("IPv4-mapped IPv6 address")
	case a.IsUnspecified(), a.IsMulticast(), a.IsLoopback(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return a, errors.New("not a unicast address")
	}
	return a, nil
}

// parseSubnet reads an IPv4 dotted mask (contiguous) or a prefix length
// written "N" or "/N" for either family.
func parseSubnet(s string, v4 bool) (int, error) {
	max := 128
	if v4 {
		max = 32
	}
	if n, ok := strings.CutPrefix(s, "/"); ok || (s != "" && !strings.ContainsAny(s, ".:")) {
		bits, err := strconv.Atoi(n)
		if err != nil || bits < 0 || bits > max || n != strconv.Itoa(bits) {
			return 0, fmt.Errorf("not a prefix length 0-%d", max)
		}
		return bits, nil
	}
	if !v4 {
		return 0, errors.New("IPv6 subnet must be a prefix length")
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() {
		return 0, errors.New("not a dotted mask")
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	if v != 0 {
		return 0, errors.New("mask bits are not contiguous")
	}
	return bits, nil
}
