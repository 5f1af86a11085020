package netinfo

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
	"github.com/hvagent/hvagent/kvp"
)

// Host-visible limits (FreeBSD sys/dev/hyperv/utilities/hv_kvp.c,
// hv_kvp_convert_utf8_ipinfo_to_utf16): the kernel converts at most
// MAX_IP_ADDR_SIZE (1024) UTF-16 units of ip_addr, sub_net and dns_addr
// and MAX_GATEWAY_SIZE (512) of gate_way into fields of that many units;
// one unit stays for the terminating NUL. The lists are ASCII, so bytes
// and units agree.
const (
	listLimit    = 1023
	gatewayLimit = 511
)

// Address family bits of addr_family.
const (
	familyIPv4 = 1
	familyIPv6 = 2
)

// state is what the system says about one interface.
type state struct {
	link     Link
	gateways []netip.Addr // IPv4 first, then IPv6
	dns      []netip.Addr
	dhcp     bool
}

// GetIPInfo implements kvp.IPConfig: it reports the interface with the
// requested MAC that carries the addresses, never a VF enslaved to it
// (pickLink). On a Linux system (Config.Linux) the links and routes are
// rtnetlink's, the DNS servers those the system resolves with
// (linuxDNS) and the DHCP state that of the manager owning the
// interface (LinuxOwnerOf); otherwise rc.conf, resolv.conf and
// resolvconf(8) as on FreeBSD. An unknown or malformed MAC
// is HV_E_FAIL, as the C daemons answer. What did not change since the
// last request is answered from memory (sysCache).
func (s *Service) GetIPInfo(req kvp.IPInfo) (kvp.IPInfo, kvp.Status) {
	mac, err := parseMAC(req.AdapterID)
	if err != nil {
		s.log.Debug("get_ip_info: bad adapter id", "adapter_id", req.AdapterID)
		return kvp.IPInfo{}, kvp.StatusFail
	}
	links, routes, routesErr, err := s.sys.network(&s.cfg)
	if err != nil {
		s.log.Error("get_ip_info: list interfaces", "err", err)
		return kvp.IPInfo{}, kvp.StatusFail
	}
	if routesErr != nil {
		s.log.Warn("get_ip_info: read default routes", "err", routesErr)
	}
	l, ok := pickLink(links, mac)
	if !ok {
		s.log.Debug("get_ip_info: no interface with this MAC", "mac", mac.String())
		return kvp.IPInfo{}, kvp.StatusFail
	}
	st := s.stateWith(l, links, routes)
	info := format(st)
	info.AdapterID = req.AdapterID
	return info, kvp.StatusOK
}

// stateOf gathers gateways, DNS servers and DHCP state of l, with the
// default routes read now. Failures to read any of them leave that part
// empty: the rest still goes out.
func (s *Service) stateOf(l Link, links []Link) state {
	routes, err := s.cfg.Routes()
	if err != nil {
		s.log.Warn("set_ip_info: read default routes", "err", err)
	}
	return s.stateWith(l, links, routes)
}

// stateWith is stateOf with the default routes already read.
func (s *Service) stateWith(l Link, links []Link, routes []Route) state {
	st := state{link: l}
	for _, r := range routes {
		if r.Link == l.Name {
			st.gateways = append(st.gateways, r.Gateway.WithZone(""))
		}
	}
	if s.cfg.Linux {
		st.dns = s.linuxDNSOf(l)
		st.dhcp = s.linuxDHCPOf(l)
		return st
	}
	st.dns = s.dnsOf(l.Name)
	st.dhcp = s.dhcpOf(l.Name, links)
	return st
}

// dnsOf returns the DNS servers resolvconf(8) recorded for ifname, if
// it did, else those of resolv.conf.
func (s *Service) dnsOf(ifname string) []netip.Addr {
	_, records := resolvconfRecords(s.cfg.ResolvconfDB, ifname)
	var out []netip.Addr
	for _, n := range slices.Sorted(maps.Keys(records)) {
		out = append(out, nameservers(records[n])...)
	}
	if len(out) > 0 {
		return out
	}
	return s.sys.resolvConf(s.cfg.ResolvConf)
}

// dhcpOf: rc.conf asks for DHCP on the interface, or a dhclient runs
// for it. For laggN the configuration of hnN counts too: hyperv_vfup
// moves it there.
func (s *Service) dhcpOf(ifname string, links []Link) bool {
	names := []string{ifname}
	if hn, ok := fbsdnet.HNOfLagg(ifname); ok {
		if _, ok := linkByName(links, hn); ok {
			names = append(names, hn)
		}
	}
	vars := s.sys.rcConf(s.cfg.RCConf)
	for _, n := range names {
		if vars.IfConfig(n).DHCP() || dhclientPidfile(s.cfg.RunDir, n) ||
			s.cfg.ProcDir != "-" && s.sys.procDHClient(s.cfg.ProcDir, n) {
			return true
		}
	}
	return false
}

// format renders st in the host's formats: ';'-separated lists, IPv4
// masks dotted, IPv6 prefixes as "/len", each list cut at whole entries
// to what the kernel passes on. Addresses and subnets are cut together
// so that they stay paired.
func format(st state) kvp.IPInfo {
	var info kvp.IPInfo
	var addrs, subnets []string
	for _, fam4 := range []bool{true, false} {
		for _, p := range st.link.Addrs {
			if p.Addr().Is4() == fam4 {
				addrs = append(addrs, p.Addr().String())
				subnets = append(subnets, subnetString(p))
			}
		}
	}
	n := fitCount(addrs, listLimit)
	n = min(n, fitCount(subnets, listLimit))
	info.IPAddr = strings.Join(addrs[:n], ";")
	info.SubNet = strings.Join(subnets[:n], ";")
	for _, a := range addrs[:n] {
		if strings.Contains(a, ":") {
			info.AddrFamily |= familyIPv6
		} else {
			info.AddrFamily |= familyIPv4
		}
	}
	info.Gateway = joinFit(st.gateways, gatewayLimit)
	info.DNSAddr = joinFit(st.dns, listLimit)
	if st.dhcp {
		info.DHCPEnabled = 1
	}
	return info
}

// subnetString is the dotted mask of an IPv4 prefix, "/len" for IPv6.
func subnetString(p netip.Prefix) string {
	if p.Addr().Is4() {
		bits := p.Bits()
		m := uint32(0)
		if bits > 0 {
			m = ^uint32(0) << (32 - bits)
		}
		return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
	}
	return "/" + strconv.Itoa(p.Bits())
}

// fitCount is how many leading parts fit in limit bytes joined with ';'.
func fitCount(parts []string, limit int) int {
	size := 0
	for i, p := range parts {
		extra := len(p)
		if i > 0 {
			extra++
		}
		if size+extra > limit {
			return i
		}
		size += extra
	}
	return len(parts)
}

func joinFit(addrs []netip.Addr, limit int) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts[:fitCount(parts, limit)], ";")
}
