package vftest

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
		if code := Main(s.argv, &out, &errb); code != s.code || (s.out != "" && out.String() != s.out) {
			t.Errorf("%q: exit %d, output %q (stderr %q); want %d, %q", s.argv, code, out.String(), errb.String(), s.code, s.out)
		}
	}
	var out bytes.Buffer
	Main([]string{"ifconfig", "lagg0"}, &out, &out)
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

// The fake service models rc.d/dhclient: a plain stop is refused for an
// interface rc.conf does not configure with DHCP, forcestop is not.
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
		{[]string{"service", "dhclient", "restart", "hn2"}, 64, "", false},
	}
	for _, s := range steps {
		var out, errb bytes.Buffer
		code := Main(s.argv, &out, &errb)
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

func TestDevdRestart(t *testing.T) {
	d, err := NewDevd(filepath.Join(t.TempDir(), "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func() net.Conn {
		c, err := net.Dial("unixpacket", d.Path())
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WaitClients(ctx, 1); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := dial()
	buf := make([]byte, 256)
	d.Send("!system=IFNET subsystem=mce0 type=DETACH")
	d.Send("!system=IFNET subsystem=mce0 type=ATTACH")
	for _, want := range []string{"!system=IFNET subsystem=mce0 type=DETACH\n", "!system=IFNET subsystem=mce0 type=ATTACH\n"} {
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("record %q, %v; want %q (one event per record)", buf[:n], err, want)
		}
	}
	if err := d.Restart(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err == nil && n > 0 {
		t.Fatalf("read %q after the restart, want EOF", buf[:n])
	}
	c.Close()
	c = dial()
	defer c.Close()
	if d.Send("!system=IFNET subsystem=hn0 type=LINK_UP") != 1 {
		t.Fatal("the new client did not get the event")
	}
}
