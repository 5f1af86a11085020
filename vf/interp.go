package vf

import (
	"log/slog"
	"strings"
	"time"
)

// Trigger kinds: what an event asks of manage mode.
type triggerKind int

const (
	trigAttached triggerKind = iota + 1 // ETHERNET VF IFATTACH: hyperv_vfattach
	trigVFUp                            // HYPERV_NIC_VF hnN VF_UP: hyperv_vfup
	trigGone                            // the VF detached
)

type trigger struct {
	kind   triggerKind
	hn, vf string
	at     time.Time
}

// interpreter turns devd events into observations and triggers. It
// reads sysctls only when an event needs them (an interface it does not
// know, or transparent mode's datapath switch), so a flap storm does
// not fork a process per event. One goroutine owns it.
type interpreter struct {
	sc   Sysctl
	log  *slog.Logger
	topo Topology
	cur  map[string]Observation // hn -> last observation sent
}

func newInterpreter(sc Sysctl, log *slog.Logger) *interpreter {
	return &interpreter{sc: sc, log: log, cur: map[string]Observation{}}
}

// snapshot re-reads the whole topology and reports every hn: at start
// and after devd comes back, when events may have been missed.
func (in *interpreter) snapshot(at time.Time) ([]Observation, error) {
	t, err := Discover(in.sc)
	if err != nil {
		return nil, err
	}
	in.topo = t
	var out []Observation
	for _, h := range t.HNs {
		out = append(out, in.observe(Observation{HN: h.Name, VF: h.VF, Datapath: h.Datapath, Transparent: h.Transparent, At: at}))
	}
	return out, nil
}

func (in *interpreter) observe(o Observation) Observation {
	in.cur[o.HN] = o
	return o
}

// relevant reports whether an event can concern an hn or its VF.
func relevant(e Event) bool {
	switch e.System {
	case "IFNET", "ETHERNET", "HYPERV_NIC_VF":
		return ValidIfName(e.Subsystem)
	}
	return false
}

// handle interprets one relevant event at time at.
func (in *interpreter) handle(e Event, at time.Time) ([]Observation, []trigger) {
	if e.System == "HYPERV_NIC_VF" {
		return in.nicVF(e, at)
	}
	name := e.Subsystem
	if IsHN(name) {
		// Transparent mode mirrors the VF's link onto hnN.
		if cur, ok := in.cur[name]; ok && cur.Transparent && strings.HasPrefix(e.Type, "LINK_") {
			return in.reread(name, at), nil
		}
		return nil, nil
	}
	hn, ok := in.owner(name)
	if !ok && e.Type == "IFATTACH" {
		// Only now: hn(4) matches a VF on ether_ifattach, after IFNET
		// ATTACH and before ETHERNET IFATTACH (sys/net/if_ethersubr.c).
		in.refreshMap()
		hn, ok = in.owner(name)
	}
	if !ok {
		return nil, nil
	}
	cur := in.cur[hn]
	cur.HN, cur.At = hn, at
	switch e.Type {
	case "DETACH":
		// hn(4) forgets the VF as it leaves (vfmap loses it); so does
		// the copy here, or the name, attached again to another hn
		// (VFs of several NICs coming back in another order), would be
		// credited to this one.
		delete(in.topo.VFMap, name)
		if cur.VF != name && cur.VF != "" {
			return nil, nil // an old VF leaving after its successor came
		}
		cur.VF, cur.Datapath = "", false
		return []Observation{in.observe(cur)}, []trigger{{kind: trigGone, hn: hn, vf: name, at: at}}
	case "ATTACH", "IFATTACH":
		var trig []trigger
		if e.Type == "IFATTACH" {
			trig = []trigger{{kind: trigAttached, hn: hn, vf: name, at: at}}
		}
		if cur.VF == name {
			return nil, trig
		}
		cur.VF, cur.Datapath = name, false
		return []Observation{in.observe(cur)}, trig
	case "LINK_UP", "LINK_DOWN":
		if cur.Transparent {
			return in.reread(hn, at), nil
		}
	}
	return nil, nil
}

// nicVF handles hn's own event (non-transparent mode only,
// sys/dev/hyperv/netvsc/if_hn.c, hn_rxvf_change): the datapath moved to
// or from the VF.
func (in *interpreter) nicVF(e Event, at time.Time) ([]Observation, []trigger) {
	hn := e.Subsystem
	if !IsHN(hn) {
		return nil, nil
	}
	cur, ok := in.cur[hn]
	if !ok || (e.Type == "VF_UP" && cur.VF == "") {
		obs := in.reread(hn, at)
		if len(obs) == 0 {
			return nil, nil
		}
		cur = obs[0]
	}
	cur.HN, cur.At, cur.Transparent = hn, at, false
	switch e.Type {
	case "VF_UP":
		cur.Datapath = cur.VF != ""
		return []Observation{in.observe(cur)}, []trigger{{kind: trigVFUp, hn: hn, vf: cur.VF, at: at}}
	case "VF_DOWN":
		cur.Datapath = false
		return []Observation{in.observe(cur)}, nil
	}
	return nil, nil
}

// reread reads one hn's sysctls.
func (in *interpreter) reread(hn string, at time.Time) []Observation {
	h, ok, err := ReadHN(in.sc, hn)
	if err != nil {
		in.log.Warn("cannot read hn sysctls", "hn", hn, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return []Observation{in.observe(Observation{HN: hn, VF: h.VF, Datapath: h.Datapath, Transparent: h.Transparent, At: at})}
}

// owner finds the hn of a VF: from what was observed, then from vfmap.
func (in *interpreter) owner(vf string) (string, bool) {
	for hn, o := range in.cur {
		if o.VF == vf {
			return hn, true
		}
	}
	return in.topo.HNOf(vf)
}

// refreshMap re-reads hw.hn.vfmap and hw.hn.vflist, for a new VF name
// (a migration to a host with another VF driver: mce0 -> mlxen0 -> mana0).
func (in *interpreter) refreshMap() {
	t, err := discoverMap(in.sc)
	if err != nil {
		in.log.Warn("cannot read hw.hn.vfmap", "err", err)
		return
	}
	in.topo.VFMap, in.topo.VFList = t.VFMap, t.VFList
}
