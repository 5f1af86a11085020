package netinfo

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hvagent/hvagent/internal/fbsdnet"
)

// current is the system state a plan starts from.
type current struct {
	target   Link         // the interface configured live: hnN or laggN
	rc       fbsdnet.Vars // rc.conf assignments
	routes   []Route      // default routes, all interfaces
	dhclient bool         // a dhclient runs for target
	resolv   []byte       // resolv.conf content

	resolvconf bool              // resolvconf(8) keeps per-interface records
	records    map[string][]byte // its records of target and the hn interface
}

// plan is what applying a Setting does, in order: rc.conf changes through
// sysrc, the DNS servers (resolvconf commands, the last one registering
// record from its standard input; or the new resolv.conf, nil:
// untouched), then live commands.
type plan struct {
	persist [][]string
	dns     [][]string
	record  []byte
	resolv  []byte
	live    [][]string
	ignored []netip.Addr // gateways beyond the first of each family
}

// rcAddr renders an address the way rc.conf(5) examples spell it.
func rcAddr(p netip.Prefix) string {
	if p.Addr().Is4() {
		return fmt.Sprintf("inet %s netmask %s", p.Addr(), subnetString(p))
	}
	return fmt.Sprintf("inet6 %s prefixlen %d", p.Addr(), p.Bits())
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "inet"
	}
	return "inet6"
}

// gwString scopes a link-local IPv6 gateway to ifname.
func gwString(gw netip.Addr, ifname string) string {
	if gw.Is6() && gw.IsLinkLocalUnicast() {
		return gw.WithZone(ifname).String()
	}
	return gw.String()
}

// makePlan turns a validated Setting into commands. rc.conf keys are
// those of the hn interface (hyperv_vfup copies them to laggN); live
// commands address cur.target.
func makePlan(s Setting, cur current, rcConf string) plan {
	var p plan
	hn := fbsdnet.RCName(s.Interface)
	key := "ifconfig_" + hn
	sets := map[string]string{}
	var aliases []string
	var unset []string
	if s.DHCP {
		sets[key] = "DHCP"
		if prev := cur.rc.IfConfig(hn); prev.DHCP() {
			sets[key] = prev.Ifconfig // SYNCDHCP, options such as mtu: the admin's
		}
		sets[key+"_ipv6"] = "inet6 accept_rtadv"
		unset = staleRouters(cur, hn)
	} else {
		var v4, v6 []netip.Prefix
		for _, a := range s.Addrs {
			if a.Addr().Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		sets[key] = "up"
		if len(v4) > 0 {
			sets[key] = rcAddr(v4[0])
			aliases = append(aliases, mapRC(v4[1:])...)
		}
		if len(v6) > 0 {
			sets[key+"_ipv6"] = rcAddr(v6[0])
			aliases = append(aliases, mapRC(v6[1:])...)
		}
		for i, a := range aliases {
			sets[fmt.Sprintf("%s_alias%d", key, i)] = a
		}
		// A link-local router is scoped to the interface that carries
		// the addresses, laggN when there is one, live and in rc.conf.
		p.ignored = p.routerSets(s.Gateways, sets, cur.target.Name)
	}
	for name := range cur.rc {
		_, isSet := sets[name]
		if !isSet && (strings.HasPrefix(name, key+"_alias") || name == key+"_ipv6") {
			unset = append(unset, name)
		}
	}
	p.persist = append(p.persist, append([]string{"sysrc", "-f", rcConf}, assignments(sets)...))
	if len(unset) > 0 {
		sort.Strings(unset)
		p.persist = append(p.persist, append([]string{"sysrc", "-f", rcConf, "-x"}, unset...))
	}
	if !s.DHCP && len(s.DNS) > 0 {
		p.dnsSteps(s.DNS, cur)
	}
	p.live = liveCommands(s, cur)
	return p
}

// staleRouters names defaultrouter and ipv6_defaultrouter when they
// were reached through the interface going to DHCP: inside one of its
// prefixes, or an IPv6 link-local router scoped to it. The DHCP server
// and router advertisements provide the new ones; a router of another
// interface is kept.
func staleRouters(cur current, hn string) []string {
	var out []string
	for _, name := range []string{"defaultrouter", "ipv6_defaultrouter"} {
		a, err := netip.ParseAddr(cur.rc[name])
		if err != nil {
			continue
		}
		if z := a.Zone(); z != "" {
			if z == hn || z == cur.target.Name {
				out = append(out, name)
			}
			continue
		}
		for _, p := range cur.target.Addrs {
			if !p.Addr().IsLinkLocalUnicast() && p.Masked().Contains(a) {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

func mapRC(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = rcAddr(p)
	}
	return out
}

// routerSets sets defaultrouter and ipv6_defaultrouter from the first
// gateway of each family and returns the gateways left over: FreeBSD has
// one default route per family.
func (p *plan) routerSets(gws []netip.Addr, sets map[string]string, ifname string) []netip.Addr {
	var ignored []netip.Addr
	for _, gw := range gws {
		name := "defaultrouter"
		if gw.Is6() {
			name = "ipv6_defaultrouter"
		}
		if _, done := sets[name]; done {
			ignored = append(ignored, gw)
			continue
		}
		sets[name] = gwString(gw, ifname)
	}
	return ignored
}

func assignments(sets map[string]string) []string {
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "=" + sets[n]
	}
	return out
}

// describe renders a configuration for the audit log.
func describe(dhcp bool, addrs []netip.Prefix, gws, dns []netip.Addr) string {
	join := func(n int, f func(int) string) string {
		parts := make([]string, n)
		for i := range n {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	mode := "static"
	if dhcp {
		mode = "dhcp"
	}
	return fmt.Sprintf("%s addrs=[%s] gateways=[%s] dns=[%s]", mode,
		join(len(addrs), func(i int) string { return addrs[i].String() }),
		join(len(gws), func(i int) string { return gws[i].String() }),
		join(len(dns), func(i int) string { return dns[i].String() }))
}
