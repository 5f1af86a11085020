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
			"service dhclient forcestop hn0",
			"ifconfig hn0", // network.subr's ipv4_down: list, then delete each
			"ifconfig hn0 inet 10.0.0.4 delete",
			"ifconfig lagg0 up",
			"dhclient -b lagg0",
		}, true},
		{"static", "inet 10.0.0.4/24 mtu 4000", []string{
			"service dhclient forcestop hn0", // fails: not running
			"ifconfig hn0",
			"ifconfig hn0 inet 10.0.0.4 delete",
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
			e.waitCalls(n + 1)
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

// Live migration to hosts with other VF drivers (mlx5 -> mlx4 -> MANA):
// hyperv_vfattach's delayed bring-up of each new VF, then hyperv_vfup
// re-adding it to the existing lagg0; the info series follows the name.
func TestE2EVFMigrationRenamesVF(t *testing.T) {
	e := newVFEnv(t, nonTransparentWithVF("DHCP"))
	e.start("auto")
	e.waitMetric(`hvagent_vf_lagg_actions_total{action="create",hn="hn0",result="success"}`, 1)
	at := time.Duration(0)
	prev := "mce0"
	for i, vf := range []string{"mlxen0", "mana0"} {
		n := len(e.calls())
		e.update(func(st *vftest.State) { st.DetachVF("hn0") })
		e.send(at, "IFNET", prev, "DETACH")
		e.send(at, "HYPERV_NIC_VF", "hn0", "VF_DOWN")
		e.update(func(st *vftest.State) { st.AttachVF("hn0", vf) })
		e.send(at+20*time.Second, "IFNET", vf, "ATTACH")
		e.send(at+20*time.Second, "ETHERNET", vf, "IFATTACH")
		got := e.waitCalls(n + 1) // after hyperv_vf_delay (2 s)
		if want := "ifconfig " + vf + " up"; got[n] != want {
			t.Fatalf("after %s attached: %q, want %q", vf, got[n:], want)
		}
		e.update(func(st *vftest.State) { st.SetDatapath("hn0", true) })
		e.send(at+23*time.Second, "HYPERV_NIC_VF", "hn0", "VF_UP")
		got = e.waitCalls(n + 3)
		if want := []string{"ifconfig " + vf + " up", "ifconfig lagg0", "ifconfig lagg0 laggport " + vf}; !slices.Equal(got[n:], want) {
			t.Fatalf("migration to %s ran %q, want %q", vf, got[n:], want)
		}
		e.waitMetrics(map[string]float64{
			`hvagent_vf_info{hn="hn0",mode="non_transparent",vf="` + vf + `"}`:           1,
			`hvagent_vf_transitions_total{direction="to_synthetic",hn="hn0"}`:            float64(i + 1),
			`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"}`:                   float64(i + 1),
			`hvagent_vf_degraded_duration_seconds_count{hn="hn0"}`:                       float64(i + 1),
			`hvagent_vf_degraded_duration_seconds_sum{hn="hn0"}`:                         float64(23 * (i + 1)),
			`hvagent_vf_lagg_actions_total{action="vf_up",hn="hn0",result="success"}`:    float64(i + 1),
			`hvagent_vf_lagg_actions_total{action="add_port",hn="hn0",result="success"}`: float64(i + 1),
		})
		got2, _ := e.scrape()
		if _, ok := got2[`hvagent_vf_info{hn="hn0",mode="non_transparent",vf="`+prev+`"}`]; ok {
			t.Errorf("info series for the departed %s remains", prev)
		}
		prev, at = vf, at+time.Hour
	}
	st, _ := e.world.Read()
	if got := st.Ifaces["lagg0"].Ports; !slices.Equal(got, []string{"hn0", "mana0"}) {
		t.Errorf("lagg0 ports %q, want hn0 and mana0", got)
	}
	if c := mutating(e.calls()); hasDup(c) {
		t.Errorf("a command ran twice: %q", c)
	}
	e.stop()
}

// hasDup reports a command run twice.
func hasDup(calls []string) bool {
	seen := map[string]bool{}
	for _, c := range calls {
		if seen[c] {
			return true
		}
		seen[c] = true
	}
	return false
}

// A flap storm of 900 VF removals an hour (MicrosoftDocs/azure-docs
// #100444): every transition is counted, each 2 s window observed, and
// manage-mode actions are rate limited and counted as held back.
func TestE2EVFFlapStorm(t *testing.T) {
	e := newVFEnv(t, func(st *vftest.State) {
		nonTransparentWithVF("DHCP")(st)
		st.Ifaces["lagg0"] = &vftest.Iface{Up: true, Proto: "failover", Ports: []string{"hn0", "mce0"}}
	})
	e.start("auto")
	const flaps = 900
	for i := range flaps {
		at := time.Duration(i) * 4 * time.Second // 900 in the hour
		e.send(at, "IFNET", "mce0", "DETACH")
		e.send(at, "HYPERV_NIC_VF", "hn0", "VF_DOWN")
		e.send(at+time.Second, "ETHERNET", "mce0", "IFATTACH")
		e.send(at+2*time.Second, "HYPERV_NIC_VF", "hn0", "VF_UP")
	}
	e.waitMetrics(map[string]float64{
		`hvagent_vf_transitions_total{direction="to_synthetic",hn="hn0"}`: flaps,
		`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"}`:        flaps,
		`hvagent_vf_degraded_duration_seconds_count{hn="hn0"}`:            flaps,
		`hvagent_vf_degraded_duration_seconds_sum{hn="hn0"}`:              2 * flaps,
		`hvagent_vf_degraded_duration_seconds_bucket{hn="hn0",le="2"}`:    flaps,
		`hvagent_vf_devd_lines_total{result="relevant"}`:                  4 * flaps,
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                1,
	})
	got, body := e.scrape()
	// 1800 triggers (attach + VF_UP per flap); the bucket allows a burst
	// of 10 and then one a minute over the hour's event time.
	held := got[`hvagent_vf_actions_held_back_total{hn="hn0"}`]
	if held < 1700 || held > 1800-10 {
		t.Errorf("held back %v actions, want most of 1800\n%s", held, vfLines(body))
	}
	time.Sleep(2500 * time.Millisecond) // past the last delayed bring-up
	ups := 0
	for _, c := range mutating(e.calls()) {
		if c == "ifconfig mce0 up" {
			ups++
		}
	}
	t.Logf("storm: %v actions held back, %d VF bring-ups run", held, ups)
	if ups > 75 {
		t.Errorf("ran 'ifconfig mce0 up' %d times in the storm; the rate limit allows about 70", ups)
	}
	if !strings.Contains(e.stderr.String(), "holding back") {
		t.Errorf("the log does not say actions were held back")
	}
	promtoolCheckMetrics(t, body)
	e.stop()
}

// devd restarts mid-stream: the agent reconnects, re-reads the topology
// (catching up on what happened meanwhile), and follows events again.
// Hostile lines on the way are counted and skipped.
func TestE2EVFDevdRestartAndHostileLines(t *testing.T) {
	e := newVFEnv(t, transparentWithVF)
	e.t0 = time.Now()
	e.start("observe")
	e.update(func(st *vftest.State) { st.DetachVF("hn0") })
	e.send(0, "IFNET", "mce0", "DETACH")
	e.waitMetric(`hvagent_vf_datapath_vf{hn="hn0"}`, 0)

	// The VF comes back while devd is down: no events reach the agent.
	e.update(func(st *vftest.State) {
		st.AttachVF("hn0", "mce0")
		st.SetDatapath("hn0", true)
	})
	if err := e.devd.Restart(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := e.devd.WaitClients(ctx, 1); err != nil {
		t.Fatalf("agent did not reconnect: %v\n%s", err, e.stderr)
	}
	e.waitMetrics(map[string]float64{
		`hvagent_vf_datapath_vf{hn="hn0"}`:                         1,
		`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"}`: 1,
		`hvagent_vf_degraded_duration_seconds_count{hn="hn0"}`:     1,
		`hvagent_subsystem_up{subsystem="vf"}`:                     1,
		`hvagent_vf_devd_connected`:                                1,
	})

	hostile := [][]byte{
		[]byte(strings.Repeat("!system=IFNET subsystem=mce0 type=DETACH ", 200)),
		[]byte("!system=IFNET\x00 subsystem=mce0 type=DETACH\n"),
		[]byte("!system=IFNET subsystem=mce0 type=DETACH \x01\xff\xfe\n"),
		[]byte("garbage\n"),
		[]byte("!system=IFNET subsystem=mce0\n"),
		[]byte("!system=IFNET subsystem=../../etc type=DETACH\n"),
		[]byte("+mce0 at pci0\n"),
		[]byte("!system=IFNET subsystem=mce0 type=LINK_UP unknown=key x=y\n"),
		// (An empty record is not among them: on SOCK_SEQPACKET it reads
		// like devd closing the socket, and the agent reconnects.)
	}
	for _, h := range hostile {
		e.devd.SendRaw(h)
	}
	e.update(func(st *vftest.State) { st.DetachVF("hn0") })
	e.send(time.Minute, "IFNET", "mce0", "DETACH")
	e.waitMetrics(map[string]float64{
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                0,
		`hvagent_vf_transitions_total{direction="to_synthetic",hn="hn0"}`: 2,
		`hvagent_vf_devd_lines_total{result="malformed"}`:                 5,
	})
	if n := strings.Count(e.stderr.String(), "reconnected to devd"); n != 1 {
		t.Errorf("the log mentions %d reconnections, want 1: the restart, and none for the hostile lines", n)
	}
	e.stop()
}

// Boot in manage mode with the VF attached but not yet up (devd's
// hyperv_vfattach never ran): the agent brings it up after
// hyperv_vf_delay, hn(4) switches the datapath and says VF_UP, and the
// agent builds lagg0, the whole chain of the two scripts.
func TestE2EVFManageBootBringsVFUp(t *testing.T) {
	e := newVFEnv(t, func(st *vftest.State) {
		st.AddHN("hn0", false, "10.0.0.4/24")
		st.AttachVF("hn0", "mce0")
		st.RC["ifconfig_hn0"] = "SYNCDHCP"
		st.RC["hyperv_vf_delay"] = "3"
	})
	start := time.Now()
	e.start("auto")
	got := e.waitCalls(2)
	if want := []string{"sysrc -n hyperv_vf_delay", "ifconfig mce0 up"}; !slices.Equal(got, want) {
		t.Fatalf("commands %q, want %q", got, want)
	}
	if waited := time.Since(start); waited < 3*time.Second {
		t.Errorf("the VF came up after %v, before hyperv_vf_delay=3", waited)
	}
	e.waitMetrics(map[string]float64{
		`hvagent_vf_lagg_actions_total{action="vf_up",hn="hn0",result="success"}`: 1,
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                        0,
	})
	e.update(func(st *vftest.State) { st.SetDatapath("hn0", true) })
	e.send(5*time.Second, "HYPERV_NIC_VF", "hn0", "VF_UP")
	e.waitMetrics(map[string]float64{
		`hvagent_vf_lagg_actions_total{action="create",hn="hn0",result="success"}`: 1,
		`hvagent_vf_datapath_vf{hn="hn0"}`:                                         1,
		`hvagent_vf_transitions_total{direction="to_vf",hn="hn0"}`:                 1,
	})
	got = mutating(e.calls())
	if got[len(got)-1] != "dhclient lagg0" {
		t.Errorf("SYNCDHCP: last command %q, want a synchronous 'dhclient lagg0'", got[len(got)-1])
	}
	st, _ := e.world.Read()
	if !st.Ifaces["mce0"].Up || !slices.Equal(st.Ifaces["lagg0"].Ports, []string{"hn0", "mce0"}) {
		t.Errorf("mce0 %+v, lagg0 %+v", st.Ifaces["mce0"], st.Ifaces["lagg0"])
	}
	e.stop()
}
