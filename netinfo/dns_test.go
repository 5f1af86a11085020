package netinfo

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

// Where resolvconf(8) keeps records (dhclient-script registered the
// lease's servers as hn0), static DNS servers replace the interface's
// records through resolvconf: GET_IP_INFO then reports them, and the
// next 'resolvconf -u' keeps them. A VLAN's record is left alone.
func TestSetIPInfoResolvconf(t *testing.T) {
	e := newApplyEnv(t, nil)
	recs := filepath.Join(e.dir, "resolvconf", "interfaces")
	write(t, filepath.Join(recs, "hn0"), "search dhcp.example\nnameserver 10.0.0.2\n")
	write(t, filepath.Join(recs, "hn0:slaac:[fe80::1]"), "nameserver 2001:db8::99\n")
	write(t, filepath.Join(recs, "hn0.100"), "nameserver 10.100.0.1\n")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.99", SubNet: "/24", DNSAddr: "192.0.2.53;192.0.2.54"}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	want := [][]string{
		{"sysrc", "-f", e.rc(), "ifconfig_hn0=inet 192.0.2.99 netmask 255.255.255.0"},
		{"sysrc", "-f", e.rc(), "-x", "ifconfig_hn0_alias0"},
		{"resolvconf", "-d", "hn0:slaac:[fe80::1]"},
		{"resolvconf", "-a", "hn0"},
	}
	if got := ranCommands(t, e.world); !reflect.DeepEqual(got, want) {
		t.Errorf("commands mismatch (-want +got):\n-%q\n+%q", want, got)
	}
	if got := e.file("resolvconf/interfaces/hn0"); got != "search dhcp.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n" {
		t.Errorf("record hn0:\n%s", got)
	}
	if e.file("resolvconf/interfaces/hn0.100") != "nameserver 10.100.0.1\n" || e.file("resolv.conf") != origResolv {
		t.Error("the VLAN's record or resolv.conf was changed")
	}
	info, st := e.svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN0})
	if st != kvp.StatusOK || info.DNSAddr != "192.0.2.53;192.0.2.54" {
		t.Errorf("GET_IP_INFO after SET: %v, DNS %q", st, info.DNSAddr)
	}
}

// A link-local DNS server is scoped to the target, as the resolver
// needs; more than three servers are written, with a warning that the
// resolver uses three.
func TestSetIPInfoDNSServers(t *testing.T) {
	e := newApplyEnv(t, nil)
	in := kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.99", SubNet: "/24", DNSAddr: "fe80::53;192.0.2.53;192.0.2.54;192.0.2.55"}
	if st := e.set(in); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	want := "# written by the installer\nsearch corp.example\nnameserver fe80::53%hn0\nnameserver 192.0.2.53\n" +
		"nameserver 192.0.2.54\nnameserver 192.0.2.55\noptions edns0\n"
	if got := e.file("resolv.conf"); got != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(e.logs.String(), "the resolver uses only the first DNS servers") {
		t.Errorf("no warning about the fourth server:\n%s", e.logs)
	}
}

func TestIsRecordOf(t *testing.T) {
	for name, want := range map[string]bool{
		"hn0": true, "hn0.dhcp": true, "hn0.ra": true, "hn0:slaac:[fe80::1]": true,
		"hn0.100": false, "hn0.100.dhcp": false, "hn00": false, "hn01.dhcp": false, "hn": false, "lagg0": false,
	} {
		if got := isRecordOf(name, "hn0"); got != want {
			t.Errorf("isRecordOf(%q, hn0) = %v, want %v", name, got, want)
		}
	}
}
