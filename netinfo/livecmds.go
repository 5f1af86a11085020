package netinfo

import (
	"net/netip"
	"slices"
)

// liveCommands applies s to the running system: addresses on the target,
// default routes, dhclient.
func liveCommands(s Setting, cur current) [][]string {
	t := cur.target.Name
	var cmds [][]string
	if s.DHCP {
		for _, a := range cur.target.Addrs {
			if a.Addr().Is4() {
				cmds = append(cmds, []string{"ifconfig", t, "inet", a.Addr().String(), "-alias"})
			}
		}
		cmds = append(cmds, []string{"ifconfig", t, "inet6", "accept_rtadv"})
		return append(cmds, []string{"service", "dhclient", "forcerestart", t})
	}
	if cur.dhclient {
		// forcestop: rc.d/dhclient's precheck refuses a plain stop once
		// ifconfig_<if> is static, which sysrc has just made it, and
		// always for laggN, which rc.conf never marks DHCP.
		cmds = append(cmds, []string{"service", "dhclient", "forcestop", t})
	}
	for _, a := range cur.target.Addrs {
		if a.Addr().Is6() && a.Addr().IsLinkLocalUnicast() || slices.Contains(s.Addrs, a) {
			continue
		}
		cmds = append(cmds, []string{"ifconfig", t, family(a.Addr()), a.Addr().String(), "-alias"})
	}
	for _, a := range s.Addrs {
		if !slices.Contains(cur.target.Addrs, a) {
			cmds = append(cmds, []string{"ifconfig", t, family(a.Addr()), a.String(), "alias"})
		}
	}
	done := map[bool]bool{}
	for _, gw := range s.Gateways {
		v4 := gw.Is4()
		if done[v4] {
			continue
		}
		done[v4] = true
		cmds = append(cmds, routeCommands(gw, cur.routes, t)...)
	}
	return cmds
}

// routeCommands replaces the default route of gw's family unless it
// already points at gw.
func routeCommands(gw netip.Addr, routes []Route, t string) [][]string {
	fam := "-" + family(gw)
	var cmds [][]string
	for _, r := range routes {
		if r.Gateway.Is4() != gw.Is4() {
			continue
		}
		if r.Gateway.WithZone("") == gw {
			return nil
		}
		cmds = append(cmds, []string{"route", "-n", "delete", fam, "default"})
		break
	}
	return append(cmds, []string{"route", "-n", "add", fam, "default", gwString(gw, t)})
}
