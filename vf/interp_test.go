package vf

import (
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

// mapSysctl is an in-memory kernel that counts reads.
type mapSysctl struct {
	v     map[string]string
	reads int
}

func (m *mapSysctl) Sysctl(name string) (string, error) {
	m.reads++
	v, ok := m.v[name]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrNoSysctl, name)
	}
	return v, nil
}

func ev(system, sub, typ string) Event { return Event{System: system, Subsystem: sub, Type: typ} }

func TestDiscover(t *testing.T) {
	sc := &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vflist": "mce0 bad;name", "hw.hn.vfmap": "mce0:hn1 x:y",
		"dev.hn.0.vf": "", "dev.hn.0.rxvf": "",
		"dev.hn.1.vf": "mce0", "dev.hn.1.rxvf": "mce0",
	}}
	topo, err := Discover(sc)
	if err != nil {
		t.Fatal(err)
	}
	want := Topology{
		modeKnown: true,
		VFList:    []string{"mce0"},
		VFMap:     map[string]string{"mce0": "hn1"},
		HNs: map[string]HN{
			"hn0": {Name: "hn0"},
			"hn1": {Name: "hn1", VF: "mce0", Datapath: true},
		},
	}
	if !reflect.DeepEqual(topo, want) {
		t.Errorf("Discover = %+v\nwant %+v", topo, want)
	}

	// Without hw.hn.vf_transparent (an older kernel), rxvf says
	// non-transparent.
	delete(sc.v, "hw.hn.vf_transparent")
	if topo, err := Discover(sc); err != nil || topo.Transparent {
		t.Errorf("without hw.hn.vf_transparent: transparent %v, %v; want false", topo.Transparent, err)
	}
}

// Transparent mode: events alone tell detach and attach; the datapath
// switch is read from vf_xpnt_enabled when the VF's link comes up. A new
// VF name (migration to an mlx4 host) is looked up in vfmap.
func TestInterpreterTransparent(t *testing.T) {
	sc := &mapSysctl{v: map[string]string{
		"hw.hn.vfmap": "mce0:hn0", "hw.hn.vflist": "mce0",
		"dev.hn.0.vf": "mce0", "dev.hn.0.vf_xpnt_enabled": "1",
	}}
	in := newInterpreter(sc, slog.New(slog.DiscardHandler))
	t0 := time.Unix(100, 0)
	obs, err := in.snapshot(t0)
	if err != nil || len(obs) != 1 || obs[0].state() != OnVF || !obs[0].Transparent {
		t.Fatalf("snapshot = %+v, %v", obs, err)
	}
	steps := []struct {
		e        Event
		set      map[string]string
		want     State
		wantVF   string
		maxReads int
	}{
		{ev("IFNET", "mce0", "DETACH"), map[string]string{"dev.hn.0.vf": "", "dev.hn.0.vf_xpnt_enabled": "0", "hw.hn.vfmap": ""}, NoVF, "", 0},
		// if_attach says IFNET ATTACH before hn(4) matches the VF on
		// ether_ifattach, which then says ETHERNET IFATTACH.
		{ev("IFNET", "mlxen0", "ATTACH"), nil, NoVF, "", 0},
		{ev("ETHERNET", "mlxen0", "IFATTACH"), map[string]string{"dev.hn.0.vf": "mlxen0", "hw.hn.vfmap": "mlxen0:hn0"}, VFAttached, "mlxen0", 3},
		{ev("IFNET", "mlxen0", "LINK_UP"), map[string]string{"dev.hn.0.vf_xpnt_enabled": "1"}, OnVF, "mlxen0", 2},
		{ev("IFNET", "lo0", "LINK_UP"), nil, OnVF, "mlxen0", 0},
	}
	for i, s := range steps {
		for k, v := range s.set {
			sc.v[k] = v
		}
		before := sc.reads
		obs, _ := in.handle(s.e, t0.Add(time.Duration(i+1)*time.Second))
		cur := in.cur["hn0"]
		if cur.state() != s.want || cur.VF != s.wantVF {
			t.Errorf("step %d (%v): state %v vf %q, want %v %q (obs %+v)", i, s.e, cur.state(), cur.VF, s.want, s.wantVF, obs)
		}
		if r := sc.reads - before; r > s.maxReads {
			t.Errorf("step %d: %d sysctl reads, want at most %d", i, r, s.maxReads)
		}
	}
}

// Non-transparent mode: HYPERV_NIC_VF events carry the datapath, and a
// flap storm reads only the global VF map, once per re-attach (the VF
// left it at detach).
func TestInterpreterNonTransparentStorm(t *testing.T) {
	sc := &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0",
		"dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}
	in := newInterpreter(sc, slog.New(slog.DiscardHandler))
	if _, err := in.snapshot(time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	before := sc.reads
	var trig []trigger
	for i := range 100 {
		at := time.Unix(int64(i*4), 0)
		for _, e := range []Event{ev("IFNET", "mce0", "DETACH"), ev("HYPERV_NIC_VF", "hn0", "VF_DOWN"),
			ev("ETHERNET", "mce0", "IFATTACH"), ev("HYPERV_NIC_VF", "hn0", "VF_UP")} {
			_, tr := in.handle(e, at)
			trig = append(trig, tr...)
		}
	}
	if got, want := sc.reads-before, 100*3; got != want {
		t.Errorf("the storm read %d sysctls, want %d (vf_transparent, vflist, vfmap per re-attach)", got, want)
	}
	kinds := map[triggerKind]int{}
	for _, tr := range trig {
		kinds[tr.kind]++
	}
	if kinds[trigGone] != 100 || kinds[trigAttached] != 100 || kinds[trigVFUp] != 100 {
		t.Errorf("triggers %v, want 100 of each", kinds)
	}
	if in.cur["hn0"].state() != OnVF {
		t.Errorf("final state %v", in.cur["hn0"].state())
	}
}

// FuzzDiscover: whatever the sysctls hold, discovery does not panic and
// yields only valid interface names (they become labels and arguments).
func FuzzDiscover(f *testing.F) {
	f.Add("mce0 mce1", "mce0:hn0 mce1:hn1", "mce0", "1", "0")
	f.Add("", "x:y :: hn0:mce0 mce0:hn99999999999999999", "../etc", "", "2")
	f.Fuzz(func(t *testing.T, vflist, vfmap, vf, xpnt, transparent string) {
		sc := &mapSysctl{v: map[string]string{
			"hw.hn.vflist": vflist, "hw.hn.vfmap": vfmap, "hw.hn.vf_transparent": transparent,
			"dev.hn.0.vf": vf, "dev.hn.0.vf_xpnt_enabled": xpnt,
		}}
		topo, err := Discover(sc)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range topo.VFList {
			if !ValidIfName(n) {
				t.Errorf("vflist name %q", n)
			}
		}
		for v, h := range topo.VFMap {
			if !ValidIfName(v) || !ValidIfName(h) {
				t.Errorf("vfmap pair %q:%q", v, h)
			}
		}
		for name, h := range topo.HNs {
			if !ValidIfName(name) || (h.VF != "" && !ValidIfName(h.VF)) || (h.Datapath && h.VF == "") {
				t.Errorf("hn %q: %+v", name, h)
			}
		}
	})
}

// An interface named like hn but not hn plus a unit ("hnx0") is not read
// through dev.hn.0: no state, no metric series, no lagg for it.
func TestNotAnHN(t *testing.T) {
	sc := &mapSysctl{v: map[string]string{"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "", "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0"}}
	in := newInterpreter(sc, slog.New(slog.DiscardHandler))
	if _, err := in.snapshot(time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []Event{ev("HYPERV_NIC_VF", "hnx0", "VF_UP"), ev("HYPERV_NIC_VF", "hnfoo0", "VF_DOWN")} {
		if obs, trig := in.handle(e, time.Unix(1, 0)); len(obs)+len(trig) != 0 {
			t.Errorf("%v: observations %+v, triggers %+v; want none", e, obs, trig)
		}
	}
}

// Two NICs lose their VFs, which come back in the other order: mce0 is
// now hn1's VF. The kernel dropped mce0:hn0 from vfmap at detach; the
// interpreter must not attribute the new mce0 to hn0 from its stale copy.
func TestVFNameReusedByAnotherHN(t *testing.T) {
	sc := &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "1", "hw.hn.vfmap": "mce0:hn0 mce1:hn1", "hw.hn.vflist": "mce0 mce1",
		"dev.hn.0.vf": "mce0", "dev.hn.0.vf_xpnt_enabled": "1",
		"dev.hn.1.vf": "mce1", "dev.hn.1.vf_xpnt_enabled": "1",
	}}
	in := newInterpreter(sc, slog.New(slog.DiscardHandler))
	if _, err := in.snapshot(time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	for _, vf := range []string{"mce0", "mce1"} {
		in.handle(ev("IFNET", vf, "DETACH"), time.Unix(101, 0))
	}
	for k, v := range map[string]string{"hw.hn.vfmap": "", "hw.hn.vflist": "", "dev.hn.0.vf": "", "dev.hn.0.vf_xpnt_enabled": "0", "dev.hn.1.vf": "", "dev.hn.1.vf_xpnt_enabled": "0"} {
		sc.v[k] = v
	}
	// IFNET ATTACH comes before hn(4) has matched the VF (vfmap still
	// without it); ETHERNET IFATTACH after.
	before := sc.reads
	if obs, _ := in.handle(ev("IFNET", "mce0", "ATTACH"), time.Unix(130, 0)); len(obs) != 0 || sc.reads != before {
		t.Errorf("IFNET ATTACH of a VF no hn claims yet: %+v, want nothing", obs)
	}
	sc.v["hw.hn.vfmap"], sc.v["hw.hn.vflist"], sc.v["dev.hn.1.vf"] = "mce0:hn1", "mce0", "mce0"
	obs, trig := in.handle(ev("ETHERNET", "mce0", "IFATTACH"), time.Unix(130, 0))
	if len(obs) != 1 || obs[0].HN != "hn1" || obs[0].VF != "mce0" || len(trig) != 1 || trig[0].hn != "hn1" {
		t.Errorf("mce0 attached to hn1: observations %+v, triggers %+v", obs, trig)
	}
}
