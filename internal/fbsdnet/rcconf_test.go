package fbsdnet

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `# /etc/rc.conf
hostname="vm1"
ifconfig_hn0="inet 192.0.2.10 netmask 255.255.255.0"  # static
ifconfig_hn0_alias0='inet 192.0.2.11/32'
  ifconfig_hn1=SYNCDHCP
ifconfig_hn1=DHCP
defaultrouter=192.0.2.1 # comment
if [ -f /etc/other ]; then . /etc/other; fi
export PATH=/bin
1bad="x"
ifconfig_em0.100="ignored: not a variable name"
empty=""
crlf="dos"` + "\r\n"
	want := Vars{
		"hostname":            "vm1",
		"ifconfig_hn0":        "inet 192.0.2.10 netmask 255.255.255.0",
		"ifconfig_hn0_alias0": "inet 192.0.2.11/32",
		"ifconfig_hn1":        "DHCP",
		"defaultrouter":       "192.0.2.1",
		"empty":               "",
		"crlf":                "dos",
	}
	if got := Parse([]byte(in)); !maps.Equal(got, want) {
		t.Fatalf("Parse mismatch (-want +got):\n-%v\n+%v", want, got)
	}
}

// A line far beyond bufio.Scanner's 64 KiB limit, before and after the
// assignments that matter, hides none of them.
func TestParseLongLines(t *testing.T) {
	long := "# " + strings.Repeat("x", 100<<10) + "\n"
	in := long + "ifconfig_hn0=\"DHCP\"\n" + long + "synchronous_dhclient=\"YES\"\n" +
		"motd=\"" + strings.Repeat("m", 100<<10) + "\"\n" + "ifconfig_hn1=\"inet 10.0.0.4/24\"\n"
	v := Parse([]byte(in))
	if v["ifconfig_hn0"] != "DHCP" || v["synchronous_dhclient"] != "YES" || v["ifconfig_hn1"] != "inet 10.0.0.4/24" || len(v["motd"]) != 100<<10 {
		t.Fatalf("variables read: %d, ifconfig_hn0 %q, synchronous_dhclient %q, ifconfig_hn1 %q, motd of %d bytes",
			len(v), v["ifconfig_hn0"], v["synchronous_dhclient"], v["ifconfig_hn1"], len(v["motd"]))
	}
}

func TestLines(t *testing.T) {
	for in, want := range map[string][]string{
		"":                nil,
		"a":               {"a"},
		"a\n":             {"a"},
		"a\r\nb\n\nc":     {"a", "b", "", "c"},
		"\n\n":            {"", ""},
		"x\r":             {"x"},
		"long\n" + "tail": {"long", "tail"},
	} {
		if got := slices.Collect(Lines([]byte(in))); !slices.Equal(got, want) {
			t.Errorf("Lines(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRead pins get_if_var's ${ifconfig_IF-$ifconfig_DEFAULT}
// (libexec/rc/network.subr, _ifconfig_getargs): the default stands in
// for an unset variable only, not for an empty one.
func TestRead(t *testing.T) {
	tests := []struct {
		vars   Vars
		ifname string
		want   IfConfig
	}{
		{Vars{"ifconfig_hn0": "DHCP"}, "hn0", IfConfig{Ifconfig: "DHCP"}},
		{Vars{"ifconfig_DEFAULT": "SYNCDHCP"}, "hn0", IfConfig{Ifconfig: "SYNCDHCP"}},
		{Vars{"ifconfig_hn0": "", "ifconfig_DEFAULT": "DHCP"}, "hn0", IfConfig{}},
		{Vars{"ifconfig_em0_100": "up", "synchronous_dhclient": "yes"}, "em0.100", IfConfig{Ifconfig: "up", SynchronousDHCP: true}},
		{Vars{"ifconfig_hn10": "DHCP"}, "hn1", IfConfig{}}, // never by prefix
	}
	for _, tt := range tests {
		if got := tt.vars.IfConfig(tt.ifname); got != tt.want {
			t.Errorf("%v, %s: %+v, want %+v", tt.vars, tt.ifname, got, tt.want)
		}
	}
}

func TestIsDHCP(t *testing.T) {
	for v, want := range map[string]bool{
		"DHCP": true, "dhcp": true, "SYNCDHCP": true, "NOSYNCDHCP mtu 1400": true, "up DHCP": true,
		"inet 192.0.2.10/24": false, "": false, "DHCPX": false, "inet6 accept_rtadv": false,
	} {
		if got := IsDHCP(v); got != want {
			t.Errorf("IsDHCP(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestRCName(t *testing.T) {
	for in, want := range map[string]string{"hn0": "hn0", "em0.100": "em0_100", "lagg0": "lagg0", "tap-1": "tap_1", "a/b+c": "a_b_c"} {
		if got := RCName(in); got != want {
			t.Errorf("RCName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsYes(t *testing.T) {
	for in, want := range map[string]bool{"YES": true, "yes": true, "True": true, "on": true, "1": true, "NO": false, "": false, "2": false} {
		if got := IsYes(in); got != want {
			t.Errorf("IsYes(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestSync pins network.subr's syncdhcpif (libexec/rc/network.subr):
// it walks the words of ifconfig_IF and returns at the first NOSYNCDHCP
// (asynchronous) or SYNCDHCP (synchronous), in any case; only when
// neither appears does synchronous_dhclient decide.
func TestSync(t *testing.T) {
	tests := []struct {
		ifconfig string
		syncVar  bool // synchronous_dhclient
		want     bool
	}{
		{"DHCP", false, false},
		{"DHCP", true, true},
		{"SYNCDHCP", false, true},
		{"NOSYNCDHCP", true, false},
		{"syncdhcp", false, true},
		{"NoSyncDhcp", true, false},
		// The first keyword decides, whatever follows it.
		{"SYNCDHCP NOSYNCDHCP", false, true},
		{"NOSYNCDHCP SYNCDHCP", true, false},
		{"up SYNCDHCP mtu 4000 NOSYNCDHCP", false, true},
		{"DHCP NOSYNCDHCP SYNCDHCP", true, false},
		// Words are compared whole.
		{"SYNCDHCPX", false, false},
		{"XNOSYNCDHCP", true, true},
		// No keyword: synchronous_dhclient, even without DHCP.
		{"inet 10.0.0.4/24", true, true},
		{"", false, false},
	}
	for _, tt := range tests {
		c := IfConfig{Ifconfig: tt.ifconfig, SynchronousDHCP: tt.syncVar}
		if got := c.Sync(); got != tt.want {
			t.Errorf("ifconfig %q, synchronous_dhclient %v: Sync() = %v, want %v", tt.ifconfig, tt.syncVar, got, tt.want)
		}
	}
}

// TestArgs pins ifconfig_getargs (libexec/rc/network.subr): the
// keywords rc.d interprets are dropped in any case, "vnet JAIL" as two
// words and only in lower case.
func TestArgs(t *testing.T) {
	tests := []struct {
		ifconfig string
		want     []string
	}{
		{"inet 10.0.0.4/24 mtu 4000", []string{"inet", "10.0.0.4/24", "mtu", "4000"}},
		{"up NOAUTO wpa HostAP", []string{"up"}},
		{"SYNCDHCP", nil},
		{"vnet web inet 10.0.0.4/24", []string{"inet", "10.0.0.4/24"}},
		{"inet 10.0.0.4/24 vnet web", []string{"inet", "10.0.0.4/24"}},
		{"VNET web up", []string{"VNET", "web", "up"}},
		{"vnet DHCP up", []string{"up"}}, // the jail's name, not the keyword
	}
	for _, tt := range tests {
		if got := (IfConfig{Ifconfig: tt.ifconfig}).Args(); !slices.Equal(got, tt.want) {
			t.Errorf("Args(%q) = %q, want %q", tt.ifconfig, got, tt.want)
		}
	}
}

// FuzzParse: Parse never panics, every name it returns is a variable
// name, and no line, however long, is lost to a line limit.
func FuzzParse(f *testing.F) {
	f.Add([]byte("ifconfig_hn0=\"DHCP\"\nnameserver 192.0.2.53\n"))
	f.Add([]byte("x='unterminated\nsearch a\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for name := range Parse(b) {
			if !IsVarName(name) {
				t.Fatalf("variable name %q", name)
			}
		}
		n, want := 0, bytes.Count(b, []byte("\n"))
		for range Lines(b) {
			n++
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			want++
		}
		if n != want {
			t.Fatalf("%d lines, want %d", n, want)
		}
	})
}
