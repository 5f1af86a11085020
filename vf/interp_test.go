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
		{ev("IFNET", "mlxen0", "ATTACH"), map[string]string{"dev.hn.0.vf": "mlxen0", "hw.hn.vfmap": "mlxen0:hn0"}, VFAttached, "mlxen0", 3},
		{ev("ETHERNET", "mlxen0", "IFATTACH"), nil, VFAttached, "mlxen0", 0},
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
// flap storm needs no sysctl reads at all.
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
	if sc.reads != before {
		t.Errorf("the storm read %d sysctls, want none", sc.reads-before)
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
