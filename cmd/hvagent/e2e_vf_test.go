package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/vf/vftest"
)

// transparentWithVF is a guest in hn(4)'s default transparent mode with
// mce0 carrying hn0's traffic.
func transparentWithVF(st *vftest.State) {
	st.AddHN("hn0", true, "10.0.0.4/24")
	st.AttachVF("hn0", "mce0")
	st.SetDatapath("hn0", true)
}

// nonTransparentWithVF is a guest with hw.hn.vf_transparent=0 whose VF
// is up and switched (devd ran before the agent), without a lagg yet.
func nonTransparentWithVF(rc string) func(*vftest.State) {
	return func(st *vftest.State) {
		st.AddHN("hn0", false, "10.0.0.4/24")
		st.AttachVF("hn0", "mce0")
		st.SetDatapath("hn0", true)
		st.Ifaces["mce0"].Up = true
		st.RC["ifconfig_hn0"] = rc
		st.Dhclient["hn0"] = strings.Contains(strings.ToUpper(rc), "DHCP")
	}
}

// Boot, transparent mode, auto: the agent reports the VF and changes
// nothing. Then host servicing: the VF leaves for 30 s and comes back;
// the degraded window is the 32 s from detach to datapath switch.
func TestE2EVFTransparentBootAndServicing(t *testing.T) {
	e := newVFEnv(t, transparentWithVF)
	e.start("auto")
	e.waitMetrics(map[string]float64{
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                1,
		`hvagent_vf_info{hn="hn0",mode="transparent",vf="mce0"}`:          1,
		`hvagent_vf_managing`:                                             0,
		`hvagent_vf_transitions_total{direction="to_synthetic",hn="hn0"}`: 0,
	})

	e.update(func(st *vftest.State) { st.DetachVF("hn0") })
	e.send(0, "IFNET", "mce0", "DETACH")
	e.waitMetrics(map[string]float64{
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                0,
		`hvagent_vf_transitions_total{direction="to_synthetic",hn="hn0"}`: 1,
		`hvagent_vf_last_transition_timestamp_seconds{hn="hn0"}`:          float64(e.t0.Unix()),
		`hvagent_vf_info{hn="hn0",mode="transparent",vf=""}`:              1,
	})

	e.update(func(st *vftest.State) { st.AttachVF("hn0", "mce0") })
	e.send(30*time.Second, "IFNET", "mce0", "ATTACH")
	e.send(30*time.Second, "ETHERNET", "mce0", "IFATTACH")
	// hn(4) brings the VF up itself after vf_xpnt_attwait (>= 2 s).
	e.update(func(st *vftest.State) { st.SetDatapath("hn0", true) })
	e.send(32*time.Second, "IFNET", "mce0", "LINK_UP")
	e.waitMetrics(map[string]float64{
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                1,
		`hvagent_vf_transitions_total{direction="to_synthetic",hn="hn0"}`: 1,
		`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"}`:        1,
		`hvagent_vf_degraded_duration_seconds_count{hn="hn0"}`:            1,
		`hvagent_vf_degraded_duration_seconds_sum{hn="hn0"}`:              32,
		`hvagent_vf_degraded_duration_seconds_bucket{hn="hn0",le="30"}`:   0,
		`hvagent_vf_degraded_duration_seconds_bucket{hn="hn0",le="45"}`:   1,
		`hvagent_vf_last_transition_timestamp_seconds{hn="hn0"}`:          float64(e.t0.Unix() + 32),
		`hvagent_vf_info{hn="hn0",mode="transparent",vf="mce0"}`:          1,
	})
	if got, _ := e.scrape(); got[`hvagent_vf_info{hn="hn0",mode="transparent",vf=""}`] != 0 {
		t.Errorf("the info series without a VF outlived the VF's return")
	}
	if c := e.calls(); len(c) != 0 {
		t.Errorf("transparent mode ran commands: %q", c)
	}
	e.stop()
}

// hyperv_vfup's lagg creation, as FreeBSD's script runs it (after
// hyperv_vfattach brought the VF up): for DHCP and for a static
// configuration.
func TestE2EVFManageBootCreatesLagg(t *testing.T) {
	prefix := []string{
		"sysrc -n hyperv_vf_delay",
		"ifconfig lagg0",
		"sysrc -n ifconfig_hn0",
		"sysrc -n synchronous_dhclient",
		"ifconfig lagg0 create",
		"ifconfig lagg0 laggproto failover laggport hn0 laggport mce0",
		"ifconfig lagg0 inet6 no_dad",
	}
	tests := []struct {
		name, rc string
		want     []string
		dhclient bool
	}{
		{"dhcp", "DHCP", []string{
			"service dhclient stop hn0",
			"ifconfig hn0 -alias",
			"ifconfig hn0 -alias", // fails: no address left
			"ifconfig lagg0 up",
			"dhclient -b lagg0",
		}, true},
		{"static", "inet 10.0.0.4/24 mtu 4000", []string{
			"service dhclient stop hn0", // fails: not running
			"ifconfig hn0 -alias",
			"ifconfig hn0 -alias",
			"ifconfig lagg0 inet 10.0.0.4/24 mtu 4000",
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newVFEnv(t, nonTransparentWithVF(tt.rc))
			e.start("auto")
			want := append(slices.Clone(prefix), tt.want...)
			got := e.waitCalls(len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("commands:\n  %s\nwant:\n  %s\nagent log:\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), e.stderr)
			}
			e.waitMetrics(map[string]float64{
				`hvagent_vf_managing`: 1,
				`hvagent_vf_lagg_actions_total{action="create",hn="hn0",result="success"}`: 1,
				`hvagent_vf_datapath_vf{hn="hn0"}`:                                         1,
				`hvagent_vf_info{hn="hn0",mode="non_transparent",vf="mce0"}`:               1,
			})
			st, err := e.world.Read()
			if err != nil {
				t.Fatal(err)
			}
			lagg := st.Ifaces["lagg0"]
			if lagg == nil || lagg.Proto != "failover" || !slices.Equal(lagg.Ports, []string{"hn0", "mce0"}) {
				t.Errorf("lagg0 = %+v, want failover over hn0 and mce0", lagg)
			}
			if st.Dhclient["lagg0"] != tt.dhclient || st.Dhclient["hn0"] {
				t.Errorf("dhclient = %v, want on lagg0 only if DHCP", st.Dhclient)
			}
			if len(st.Ifaces["hn0"].Inet) != 0 {
				t.Errorf("hn0 kept its IPv4 addresses %q", st.Ifaces["hn0"].Inet)
			}

			// The same VF_UP again: lagg0 already has the VF, so nothing
			// changes (the query is all that runs).
			n := len(got)
			e.send(time.Second, "HYPERV_NIC_VF", "hn0", "VF_UP")
			got = e.waitCalls(n + 1)
			time.Sleep(300 * time.Millisecond)
			if again := e.calls()[n:]; !slices.Equal(again, []string{"ifconfig lagg0"}) {
				t.Errorf("a repeated VF_UP ran %q, want only the query of lagg0", again)
			}
			e.stop()
		})
	}
}

// The administrator's hyperv_vfup.hn0 runs instead of the built-in work.
func TestE2EVFOverride(t *testing.T) {
	e := newVFEnv(t, nonTransparentWithVF("DHCP"))
	if err := os.MkdirAll(e.overrideDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fakeBin(t), e.overrideDir()+"/hyperv_vfup.hn0"); err != nil {
		t.Fatal(err)
	}
	e.start("manage")
	e.waitMetric(`hvagent_vf_lagg_actions_total{action="override",hn="hn0",result="success"}`, 1)
	if got, want := mutating(e.calls()), []string{"hyperv_vfup.hn0"}; !slices.Equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	e.stop()
}

// Nothing runs in observe mode, nor while the base devd rules are
// active (in auto or manage mode): they would act a second time.
func TestE2EVFNeverActs(t *testing.T) {
	rules := "notify 10 {\n\tmatch \"system\"\t\"HYPERV_NIC_VF\";\n\tmatch \"type\"\t\"VF_UP\";\n\taction \"/usr/libexec/hyperv/hyperv_vfup $subsystem\";\n};\n"
	for _, tt := range []struct{ name, mode, rules string }{
		{"observe", "observe", ""},
		{"auto with base rules", "auto", rules},
		{"manage with base rules", "manage", rules},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newVFEnv(t, nonTransparentWithVF("DHCP"))
			if tt.rules != "" {
				if err := os.WriteFile(e.baseRules(), []byte(tt.rules), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e.start(tt.mode)
			e.send(0, "IFNET", "mce0", "DETACH")
			e.send(0, "HYPERV_NIC_VF", "hn0", "VF_DOWN")
			e.send(10*time.Second, "ETHERNET", "mce0", "IFATTACH")
			e.send(12*time.Second, "HYPERV_NIC_VF", "hn0", "VF_UP")
			e.waitMetrics(map[string]float64{
				`hvagent_vf_managing`: 0,
				`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"}`: 1,
				`hvagent_vf_degraded_duration_seconds_sum{hn="hn0"}`:       12,
			})
			time.Sleep(2500 * time.Millisecond) // past hyperv_vf_delay's minimum
			if c := mutating(e.calls()); len(c) != 0 {
				t.Errorf("%s ran %q", tt.name, c)
			}
			if tt.rules != "" && !strings.Contains(e.stderr.String(), "devd rules") {
				t.Errorf("the log does not say why the agent only observes:\n%s", e.stderr)
			}
			e.stop()
		})
	}
}
