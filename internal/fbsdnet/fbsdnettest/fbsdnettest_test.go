package fbsdnettest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFakeCommands(t *testing.T) {
	w, err := NewWorld(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(StateEnv, filepath.Join(w.Dir, "state.json"))
	err = w.Update(func(st *State) {
		st.AddHN("hn0", false, "10.0.0.4/24")
		st.AttachVF("hn0", "mce0")
		st.RC["ifconfig_hn0"] = "DHCP"
		st.Dhclient["hn0"] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		argv []string
		code int
		out  string
	}{
		{[]string{"/x/sysctl", "-n", "hw.hn.vfmap"}, 0, "mce0:hn0\n"},
		{[]string{"sysctl", "-n", "dev.hn.0.vf_xpnt_enabled"}, 1, ""},
		{[]string{"sysrc", "-n", "ifconfig_hn0"}, 0, "DHCP\n"},
		{[]string{"sysrc", "-n", "hyperv_vf_delay"}, 1, ""},
		{[]string{"ifconfig", "lagg0"}, 1, ""},
		{[]string{"ifconfig", "lagg0", "create"}, 0, ""},
		{[]string{"ifconfig", "lagg0", "create"}, 1, ""},
		{[]string{"ifconfig", "lagg0", "laggproto", "failover", "laggport", "hn0", "laggport", "mce0"}, 0, ""},
		{[]string{"ifconfig", "lagg0", "laggport", "mlxen0"}, 1, ""},
		{[]string{"service", "dhclient", "stop", "hn0"}, 0, ""},
		{[]string{"service", "dhclient", "stop", "hn0"}, 1, ""},
		{[]string{"ifconfig", "hn0", "inet", "10.0.0.4", "delete"}, 0, ""},
		{[]string{"ifconfig", "hn0", "inet", "10.0.0.4", "delete"}, 1, ""},
		{[]string{"dhclient", "-b", "lagg0"}, 0, ""},
		{[]string{"hyperv_vfup.hn0"}, 0, ""},
	}
	for _, s := range steps {
		var out, errb bytes.Buffer
		if code := Main(s.argv, strings.NewReader(""), &out, &errb); code != s.code || (s.out != "" && out.String() != s.out) {
			t.Errorf("%q: exit %d, output %q (stderr %q); want %d, %q", s.argv, code, out.String(), errb.String(), s.code, s.out)
		}
	}
	var out bytes.Buffer
	Main([]string{"ifconfig", "lagg0"}, strings.NewReader(""), &out, &out)
	if !strings.Contains(out.String(), "laggport: hn0") || !strings.Contains(out.String(), "laggport: mce0") {
		t.Errorf("ifconfig lagg0 shows\n%s", out.String())
	}
	st, err := w.Read()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Dhclient["lagg0"] || st.Dhclient["hn0"] || len(st.Ifaces["hn0"].Inet) != 0 {
		t.Errorf("state after the steps: dhclient %v, hn0 %+v", st.Dhclient, st.Ifaces["hn0"])
	}
	calls, err := w.Calls()
	if err != nil || len(calls) != len(steps)+1 || calls[0].String() != "sysctl -n hw.hn.vfmap" || calls[1].Code != 1 {
		t.Errorf("calls %v, %v", calls, err)
	}

	w.Update(func(st *State) { st.DetachVF("hn0") })
	st, _ = w.Read()
	if st.Sysctl["dev.hn.0.vf"] != "" || st.Sysctl["hw.hn.vfmap"] != "" || slices.Contains(st.Ifaces["lagg0"].Ports, "mce0") {
		t.Errorf("after DetachVF: %v, lagg0 %+v", st.Sysctl, st.Ifaces["lagg0"])
	}
}

// The fake service models rc.d/dhclient: a plain stop, start or restart
// is refused for an interface rc.conf does not configure with DHCP, the
// force forms are not.
func TestFakeServiceDhclient(t *testing.T) {
	w, err := NewWorld(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(StateEnv, filepath.Join(w.Dir, "state.json"))
	err = w.Update(func(st *State) {
		st.AddHN("hn0", false)
		st.AddHN("hn1", false)
		st.AddHN("hn2", false)
		st.RC["ifconfig_hn0"] = "inet 10.0.0.4/24"
		st.RC["ifconfig_hn1"] = "up SyncDHCP"
		st.RC["ifconfig_DEFAULT"] = "DHCP" // hn2 has no ifconfig_hn2
		for _, hn := range []string{"hn0", "hn1", "hn2"} {
			st.Dhclient[hn] = true
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		argv    []string
		code    int
		out     string
		running bool // dhclient still runs on argv[3] afterwards
	}{
		{[]string{"service", "dhclient", "stop", "hn0"}, 1, "'hn0' is not a DHCP-enabled interface\n", true},
		{[]string{"service", "dhclient", "forcestop", "hn0"}, 0, "", false},
		{[]string{"service", "dhclient", "forcestop", "hn0"}, 1, "dhclient not running? (check /var/run/dhclient/dhclient.hn0.pid).\n", false},
		{[]string{"service", "dhclient", "stop", "hn1"}, 0, "", false},
		{[]string{"service", "dhclient", "stop", "hn2"}, 0, "", false},
		// restart: stop, whatever it returns, then start.
		{[]string{"service", "dhclient", "restart", "hn2"}, 0, "", true},
		{[]string{"service", "dhclient", "start", "hn0"}, 1, "'hn0' is not a DHCP-enabled interface\n", false},
		{[]string{"service", "dhclient", "forcerestart", "hn0"}, 0, "", true},
		{[]string{"service", "dhclient", "reload", "hn0"}, 64, "", true},
	}
	for _, s := range steps {
		var out, errb bytes.Buffer
		code := Main(s.argv, strings.NewReader(""), &out, &errb)
		if code != s.code || out.String() != s.out {
			t.Errorf("%q: exit %d, output %q (stderr %q); want %d, %q", s.argv, code, out.String(), errb.String(), s.code, s.out)
		}
		st, err := w.Read()
		if err != nil {
			t.Fatal(err)
		}
		if st.Dhclient[s.argv[3]] != s.running {
			t.Errorf("after %q: dhclient running on %s = %v, want %v", s.argv, s.argv[3], st.Dhclient[s.argv[3]], s.running)
		}
	}
}

// The forms SET_IP_INFO runs: sysrc on an -f file and on the World's
// rc.conf (State.RC is that file), addresses of both families, default
// routes, resolvconf records from standard input, the hook's file, and
// failures injected by command and word.
func TestFakeSetIPCommands(t *testing.T) {
	w, err := NewWorld(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(StateEnv, filepath.Join(w.Dir, "state.json"))
	long := "# " + strings.Repeat("x", 100<<10) + "\n"
	if err := os.WriteFile(w.RCConf(), []byte(long+"hostname=\"vm\"\nifconfig_hn0=\"DHCP\"\nifconfig_hn0_alias0=\"inet 10.9.9.9/32\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hook := filepath.Join(w.Dir, "hook.conf")
	os.WriteFile(hook, []byte("DHCP=\"no\"\n"), 0o600)
	err = w.Update(func(st *State) {
		st.Ifaces["hn0"] = &Iface{Up: true, Inet: []string{"192.0.2.10/24"}, Inet6: []string{"2001:db8::10/64"}}
		st.Routes["inet"] = "192.0.2.1"
		st.Fail = map[string]int{"route delete -inet6": 1}
	})
	if err != nil {
		t.Fatal(err)
	}
	rc := w.RCConf()
	steps := []struct {
		argv  []string
		stdin string
		code  int
	}{
		{[]string{"sysrc", "-f", rc, "ifconfig_hn0=inet 192.0.2.20 netmask 255.255.255.0", "defaultrouter=192.0.2.1"}, "", 0},
		{[]string{"sysrc", "-f", rc, "-x", "ifconfig_hn0_alias0"}, "", 0},
		{[]string{"sysrc", "-x", "ifconfig_hn0_alias0"}, "", 1}, // unset now
		{[]string{"sysrc", "-n", "defaultrouter"}, "", 0},
		{[]string{"ifconfig", "hn0", "inet", "192.0.2.10", "-alias"}, "", 0},
		{[]string{"ifconfig", "hn0", "inet6", "2001:db8::10", "-alias"}, "", 0},
		{[]string{"ifconfig", "hn0", "inet6", "2001:db8::10", "-alias"}, "", 1},
		{[]string{"ifconfig", "hn0", "inet", "192.0.2.20/24", "alias"}, "", 0},
		{[]string{"ifconfig", "hn0", "inet6", "accept_rtadv"}, "", 0},
		{[]string{"route", "-n", "delete", "-inet", "default"}, "", 0},
		{[]string{"route", "-n", "delete", "-inet", "default"}, "", 1},
		{[]string{"route", "-n", "add", "-inet", "default", "192.0.2.254"}, "", 0},
		{[]string{"route", "-n", "add", "-inet", "default", "192.0.2.1"}, "", 1},
		{[]string{"route", "-n", "delete", "-inet6", "default"}, "", 1}, // injected
		{[]string{"resolvconf", "-a", "hn0"}, "nameserver 192.0.2.53\n", 0},
		{[]string{"resolvconf", "-d", "hn0.dhcp"}, "", 1},
		{[]string{"set-ip-hook", hook}, "", 0},
	}
	for _, s := range steps {
		var out, errb bytes.Buffer
		if code := Main(s.argv, strings.NewReader(s.stdin), &out, &errb); code != s.code {
			t.Errorf("%q: exit %d (stderr %q), want %d", s.argv, code, errb.String(), s.code)
		}
	}
	st, err := w.Read()
	if err != nil {
		t.Fatal(err)
	}
	if h := st.Ifaces["hn0"]; !slices.Equal(h.Inet, []string{"192.0.2.20/24"}) || len(h.Inet6) != 0 || !slices.Equal(h.Args, []string{"inet6", "accept_rtadv"}) {
		t.Errorf("hn0 %+v", h)
	}
	if st.Routes["inet"] != "192.0.2.254" || st.RC["ifconfig_hn0"] != "inet 192.0.2.20 netmask 255.255.255.0" || st.RC["defaultrouter"] != "192.0.2.1" {
		t.Errorf("routes %v, rc %v", st.Routes, st.RC)
	}
	b, _ := os.ReadFile(rc)
	want := long + "hostname=\"vm\"\nifconfig_hn0=\"inet 192.0.2.20 netmask 255.255.255.0\"\ndefaultrouter=\"192.0.2.1\"\n"
	if string(b) != want {
		t.Errorf("rc.conf of %d bytes, want %d:\n%.300s", len(b), len(want), b[min(len(b), len(long)):])
	}
	if r, _ := os.ReadFile(filepath.Join(w.ResolvconfDB(), "interfaces", "hn0")); string(r) != "nameserver 192.0.2.53\n" {
		t.Errorf("resolvconf record %q", r)
	}
	if h, _ := os.ReadFile(w.HookFiles()); string(h) != "DHCP=\"no\"\n" {
		t.Errorf("hook files %q", h)
	}

	// State.RC changes reach rc.conf as sysrc would make them.
	w.Update(func(st *State) {
		st.RC["ifconfig_hn1"] = "SYNCDHCP"
		delete(st.RC, "hostname")
	})
	b, _ = os.ReadFile(rc)
	if want := long + "ifconfig_hn0=\"inet 192.0.2.20 netmask 255.255.255.0\"\ndefaultrouter=\"192.0.2.1\"\nifconfig_hn1=\"SYNCDHCP\"\n"; string(b) != want {
		t.Errorf("rc.conf after Update:\n%.300s", b[min(len(b), len(long)):])
	}
	calls, err := w.Calls()
	if err != nil || len(calls) != len(steps) || calls[2].Code != 1 {
		t.Errorf("calls %v, %v", calls, err)
	}
}

// A blocked command waits for Release; others do not.
func TestFakeBlock(t *testing.T) {
	w, err := NewWorld(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(StateEnv, filepath.Join(w.Dir, "state.json"))
	w.Update(func(st *State) { st.Block = []string{"service"} })
	done := make(chan int)
	go func() {
		var out bytes.Buffer
		done <- Main([]string{"service", "dhclient", "forcestart", "hn0"}, strings.NewReader(""), &out, &out)
	}()
	var out bytes.Buffer
	if code := Main([]string{"sysctl", "-n", "kern.ostype"}, strings.NewReader(""), &out, &out); code != 1 {
		t.Errorf("sysctl exit %d while service is blocked", code)
	}
	select {
	case code := <-done:
		t.Fatalf("service ran (exit %d) before Release", code)
	default:
	}
	if err := w.Release(); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 1 { // no hn0: dhclient cannot start
		t.Errorf("service exit %d after Release, want 1", code)
	}
}
