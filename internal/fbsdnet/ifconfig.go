package fbsdnet

import "strings"

// Lookup returns an rc.conf variable's value and whether it is set at
// all: network.subr tells an unset variable from an empty one
// (get_if_var's ${var-default}), and so does sysrc(8), which exits
// non-zero with "unknown variable" only for an unset one.
type Lookup func(name string) (value string, set bool, err error)

// IfConfig is what network.subr takes from rc.conf for one interface.
type IfConfig struct {
	// Ifconfig is ifconfig_<if>, or ifconfig_DEFAULT when that is unset
	// (libexec/rc/network.subr, _ifconfig_getargs: get_if_var's
	// default).
	Ifconfig string
	// SynchronousDHCP is synchronous_dhclient=YES.
	SynchronousDHCP bool
}

// Read reads ifname's configuration through get.
func Read(get Lookup, ifname string) (IfConfig, error) {
	var c IfConfig
	v, set, err := get("ifconfig_" + RCName(ifname))
	if err != nil {
		return c, err
	}
	if !set {
		if v, _, err = get("ifconfig_DEFAULT"); err != nil {
			return c, err
		}
	}
	c.Ifconfig = v
	sync, _, err := get("synchronous_dhclient")
	c.SynchronousDHCP = IsYes(sync)
	return c, err
}

// RCName is the rc.conf spelling of an interface name in a variable
// name: network.subr's get_if_var turns the punctuation an interface
// name may hold into '_' with rc.subr's ltr; every other character that
// cannot stand in a variable name is turned into '_' too.
func RCName(ifname string) string {
	return strings.Map(func(r rune) rune {
		if isVarRune(r) {
			return r
		}
		return '_'
	}, ifname)
}

// IsDHCP reports what network.subr's dhcpif says of an ifconfig_<if>
// value (libexec/rc/network.subr, dhcpif): it holds a word DHCP,
// SYNCDHCP or NOSYNCDHCP, in any case.
func IsDHCP(ifconfig string) bool {
	for _, w := range strings.Fields(ifconfig) {
		switch strings.ToUpper(w) {
		case "DHCP", "SYNCDHCP", "NOSYNCDHCP":
			return true
		}
	}
	return false
}

// DHCP is IsDHCP of the configuration.
func (c IfConfig) DHCP() bool { return IsDHCP(c.Ifconfig) }

// Sync reports what network.subr's syncdhcpif says
// (libexec/rc/network.subr, syncdhcpif): the first of NOSYNCDHCP or
// SYNCDHCP among the words decides; without either,
// synchronous_dhclient does.
func (c IfConfig) Sync() bool {
	for _, w := range strings.Fields(c.Ifconfig) {
		switch strings.ToUpper(w) {
		case "NOSYNCDHCP":
			return false
		case "SYNCDHCP":
			return true
		}
	}
	return c.SynchronousDHCP
}

// Args is network.subr's ifconfig_getargs: the configuration without
// the keywords rc.d interprets itself (DHCP, NOAUTO, NOSYNCDHCP,
// SYNCDHCP, WPA, HOSTAP in any case, and "vnet JAIL"), as separate
// arguments.
func (c IfConfig) Args() []string {
	var out []string
	vnet := false
	for _, w := range strings.Fields(c.Ifconfig) {
		switch {
		case vnet: // the jail name after vnet
			vnet = false
			continue
		case w == "vnet": // network.subr matches it in lower case only
			vnet = true
			continue
		}
		switch strings.ToUpper(w) {
		case "DHCP", "SYNCDHCP", "NOSYNCDHCP", "NOAUTO", "WPA", "HOSTAP":
			continue
		}
		out = append(out, w)
	}
	return out
}

// IsYes is rc.subr's checkyesno (libexec/rc/rc.subr): YES, TRUE, ON or
// 1 in any case.
func IsYes(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "YES", "TRUE", "ON", "1":
		return true
	}
	return false
}
