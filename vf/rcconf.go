package vf

import (
	"context"
	"errors"
	"strings"
)

// RCConf is what hyperv_vfup takes from rc.conf for hnN.
type RCConf struct {
	// Ifconfig is ifconfig_hnN, or ifconfig_DEFAULT when that is unset
	// (network.subr get_if_var's fallback).
	Ifconfig string
	// SynchronousDHCP is synchronous_dhclient=YES.
	SynchronousDHCP bool
}

// DHCP reports what network.subr's dhcpif says: the configuration
// contains DHCP, SYNCDHCP or NOSYNCDHCP (case-insensitive).
func (c RCConf) DHCP() bool {
	for _, w := range strings.Fields(c.Ifconfig) {
		switch strings.ToUpper(w) {
		case "DHCP", "SYNCDHCP", "NOSYNCDHCP":
			return true
		}
	}
	return false
}

// Sync reports what network.subr's syncdhcpif says
// (libexec/rc/network.subr, syncdhcpif): the first of NOSYNCDHCP or
// SYNCDHCP among the words decides; without either,
// synchronous_dhclient does.
func (c RCConf) Sync() bool {
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
func (c RCConf) Args() []string {
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

// sysrc reads one rc.conf variable with "sysrc -n"; an unset variable
// (sysrc exits non-zero) reads as "".
func sysrc(ctx context.Context, r Runner, name string) (string, error) {
	out, err := r.Run(ctx, []string{"sysrc", "-n", name})
	var ee *ExitError
	if errors.As(err, &ee) {
		return "", nil
	}
	return strings.TrimSpace(out), err
}

// ReadRCConf reads hn's configuration through sysrc.
func ReadRCConf(ctx context.Context, r Runner, hn string) (RCConf, error) {
	var c RCConf
	v, err := sysrc(ctx, r, "ifconfig_"+hn)
	if err != nil {
		return c, err
	}
	if v == "" {
		if v, err = sysrc(ctx, r, "ifconfig_DEFAULT"); err != nil {
			return c, err
		}
	}
	c.Ifconfig = v
	sync, err := sysrc(ctx, r, "synchronous_dhclient")
	c.SynchronousDHCP = isYes(sync)
	return c, err
}

// isYes is rc.subr's checkyesno.
func isYes(s string) bool {
	switch strings.ToUpper(s) {
	case "YES", "TRUE", "ON", "1":
		return true
	}
	return false
}
