package vf

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// DefaultBaseRules is devd(8)'s configuration file (sbin/devd/devd.cc,
// CF "/etc/devd.conf"). devd loads the base system's VF rules,
// /etc/devd/hyperv.conf (sbin/devd/hyperv.conf), through its
// "directory" option, and the package's /usr/local/etc/devd/hvagent.conf
// the same way.
const DefaultBaseRules = "/etc/devd.conf"

// maxRulesFile bounds how much of one devd file is read.
const maxRulesFile = 1 << 20

// baseScripts are the base system's VF scripts
// (contrib/hyperv/tools/scripts); a command that runs one of them (or a
// per-interface hyperv_vfup.hnN) is the base system managing the VF.
var baseScripts = []string{"hyperv_vfattach", "hyperv_vfup"}

// vfProbes are the events whose rules decide who manages the VF.
var vfProbes = []string{
	// sys/net/if_ethersubr.c, ether_ifattach:
	// devctl_notify("ETHERNET", ifp->if_xname, "IFATTACH", NULL), for a
	// VF of each driver Azure attaches: mlx5 (mce), mlx4 (mlxen), MANA.
	"!system=ETHERNET subsystem=mce0 type=IFATTACH",
	"!system=ETHERNET subsystem=mlxen0 type=IFATTACH",
	"!system=ETHERNET subsystem=mana0 type=IFATTACH",
	// sys/dev/hyperv/netvsc/if_hn.c, hn_rxvf_change:
	// devctl_notify("HYPERV_NIC_VF", hn_ifp->if_xname, "VF_UP", NULL).
	"!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP",
}

// Decision is whether devd(8), reading its configuration as it does at
// start, would run the base system's VF scripts, and why.
type Decision struct {
	// Active: for at least one VF event the rule devd runs is a base
	// script's. hvagent must not manage the VF then.
	Active bool
	// Config is the devd configuration file read; Files every file
	// loaded from it, in devd's order. Both empty if Config is missing.
	Config string
	Files  []string
	// Events is what devd does with each VF event.
	Events []EventRule
}

// EventRule is what devd does with one event.
type EventRule struct {
	Event    string    // the devctl line
	Rule     *DevdRule // the rule devd runs: the first that matches; nil if none
	Commands []string  // what Rule runs, expanded for Event
	Base     bool      // a command runs a base VF script
	// Shadowed are the matching rules after Rule that run a base
	// script: devd does not run them.
	Shadowed []*DevdRule
}

// BaseRulesActive decides, from devd's configuration file conf and
// every file it loads, whether devd runs hyperv_vfattach or hyperv_vfup
// for the VF events (ETHERNET IFATTACH of a VF, HYPERV_NIC_VF VF_UP).
// A missing conf is not an error: devd cannot start without it, so it
// runs nothing. A configuration devd cannot parse is an error
// (*DevdParseError): devd exits on it, and the running devd, if any,
// read an older one.
func BaseRulesActive(conf string) (Decision, error) {
	d := Decision{Config: conf}
	c, err := LoadDevdConf(conf)
	if errors.Is(err, fs.ErrNotExist) {
		d.Config = ""
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("vf: base devd rules: %w", err)
	}
	d.Files = c.Files
	for _, line := range vfProbes {
		ev, err := ParseDevdEvent(line)
		if err != nil {
			return d, fmt.Errorf("vf: %w", err)
		}
		er := EventRule{Event: line}
		for i, r := range c.MatchAll(ev) {
			base := runsBaseScript(c.Commands(r, ev))
			if i == 0 {
				er.Rule, er.Commands, er.Base = r, c.Commands(r, ev), base
			} else if base {
				er.Shadowed = append(er.Shadowed, r)
			}
		}
		d.Active = d.Active || er.Base
		d.Events = append(d.Events, er)
	}
	return d, nil
}

func runsBaseScript(cmds []string) bool {
	for _, c := range cmds {
		for _, s := range baseScripts {
			if strings.Contains(c, s) {
				return true
			}
		}
	}
	return false
}

// String explains the decision in one line, for logs and hvagent doctor:
// for each VF event, which rule of which file devd runs.
func (d Decision) String() string {
	if d.Config == "" {
		return "no devd configuration, so devd runs no rule"
	}
	var parts []string
	for _, g := range d.groups() {
		parts = append(parts, g.describe())
	}
	return "devd (" + d.Config + ") " + strings.Join(parts, "; ")
}

// eventGroup is the probes of one system and type that devd treats the
// same way, so that the explanation names each rule once.
type eventGroup struct {
	what  string   // "ETHERNET IFATTACH"
	names []string // the subsystems
	er    EventRule
}

func (d Decision) groups() []*eventGroup {
	var out []*eventGroup
	for _, er := range d.Events {
		ev, err := ParseDevdEvent(er.Event)
		if err != nil {
			continue
		}
		what := ev.vars["system"] + " " + ev.vars["type"]
		var g *eventGroup
		for _, o := range out {
			if o.what == what && o.er.Rule == er.Rule {
				g = o
			}
		}
		if g == nil {
			g = &eventGroup{what: what, er: er}
			out = append(out, g)
		}
		g.names = append(g.names, ev.vars["subsystem"])
	}
	return out
}

func (g *eventGroup) describe() string {
	ev := fmt.Sprintf("%s of %s", g.what, strings.Join(g.names, ", "))
	r := g.er.Rule
	switch {
	case r == nil:
		return "runs no rule for " + ev
	case g.er.Base:
		return fmt.Sprintf("runs the base script for %s: %s, %s", ev, r, quoteAll(g.er.Commands))
	case len(g.er.Commands) == 0:
		s := fmt.Sprintf("runs %s for %s, which has no action", r, ev)
		return s + shadowing(g.er.Shadowed)
	default:
		s := fmt.Sprintf("runs %s for %s: %s", r, ev, quoteAll(g.er.Commands))
		return s + shadowing(g.er.Shadowed)
	}
}

func shadowing(rs []*DevdRule) string {
	if len(rs) == 0 {
		return ""
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.String())
	}
	return ", ahead of the base script's " + strings.Join(names, ", ")
}

func quoteAll(cmds []string) string {
	var q []string
	for _, c := range cmds {
		q = append(q, fmt.Sprintf("%q", c))
	}
	return strings.Join(q, ", ")
}
