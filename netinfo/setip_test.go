package netinfo

import (
	"errors"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/fbsdnet"
	"github.com/hvagent/hvagent/kvp"
)

var validSettings = []struct {
	name string
	in   kvp.IPInfo
	want Setting
}{
	{"static IPv4", kvp.IPInfo{AdapterID: "hn0", AddrFamily: 1, IPAddr: "192.0.2.10", SubNet: "255.255.255.0",
		Gateway: "192.0.2.1", DNSAddr: "192.0.2.53"},
		Setting{Interface: "hn0", Addrs: prefixes("192.0.2.10/24"), Gateways: addrs("192.0.2.1"), DNS: addrs("192.0.2.53")}},
	{"dual stack, prefix lengths both ways", kvp.IPInfo{AdapterID: "hn12", AddrFamily: 3, IPAddr: "192.0.2.10;2001:db8::10",
		SubNet: "/25;64", Gateway: "192.0.2.1;fe80::1", DNSAddr: "2001:db8::53;192.0.2.53"},
		Setting{Interface: "hn12", Addrs: prefixes("192.0.2.10/25", "2001:db8::10/64"),
			Gateways: addrs("192.0.2.1", "fe80::1"), DNS: addrs("2001:db8::53", "192.0.2.53")}},
	{"spaces and a trailing separator", kvp.IPInfo{AdapterID: "hn1", IPAddr: "192.0.2.10; 192.0.2.11;", SubNet: "255.255.255.0;255.255.0.0"},
		Setting{Interface: "hn1", Addrs: prefixes("192.0.2.10/24", "192.0.2.11/16")}},
	{"IPv4 address with a link-local IPv6 gateway", kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24", Gateway: "fe80::1"},
		Setting{Interface: "hn0", Addrs: prefixes("192.0.2.10/24"), Gateways: addrs("fe80::1")}},
	{"DHCP ignores the gateways", kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1, Gateway: "198.51.100.1"},
		Setting{Interface: "hn0", DHCP: true, Gateways: addrs("198.51.100.1")}},
	{"DHCP", kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1},
		Setting{Interface: "hn0", DHCP: true}},
}

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestParseSetting(t *testing.T) {
	for _, tt := range validSettings {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSetting(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseSetting mismatch (-want +got):\n-%+v\n+%+v", tt.want, got)
			}
		})
	}
}

// hostileSettings are requests that must be refused whole.
var hostileSettings = []struct {
	name   string
	in     kvp.IPInfo
	reason string
	status kvp.Status
}{
	{"command after address", static("192.0.2.10; reboot", "255.255.255.0;255.255.255.0"), "address", kvp.StatusInvalidArg},
	{"command substitution", static("$(id)", "255.255.255.0"), "address", kvp.StatusInvalidArg},
	{"backticks in mask", static("192.0.2.10", "`id`"), "subnet", kvp.StatusInvalidArg},
	{"newline in address", static("192.0.2.10\nreboot", "255.255.255.0"), "address", kvp.StatusInvalidArg},
	{"address with option", static("-alias", "255.255.255.0"), "address", kvp.StatusInvalidArg},
	{"zoned address", static("fe80::1%hn0", "/64"), "address", kvp.StatusInvalidArg},
	{"multicast address", static("224.0.0.1", "255.255.255.0"), "address", kvp.StatusInvalidArg},
	{"mapped address", static("::ffff:192.0.2.1", "/96"), "address", kvp.StatusInvalidArg},
	{"more addresses than masks", static("192.0.2.10;192.0.2.11", "255.255.255.0"), "count_mismatch", kvp.StatusInvalidArg},
	{"more masks than addresses", static("192.0.2.10", "255.255.255.0;255.255.255.0"), "count_mismatch", kvp.StatusInvalidArg},
	{"non-contiguous mask", static("192.0.2.10", "255.0.255.0"), "subnet", kvp.StatusInvalidArg},
	{"IPv4 prefix too long", static("192.0.2.10", "/33"), "subnet", kvp.StatusInvalidArg},
	{"IPv6 with a dotted mask", static("2001:db8::1", "255.255.255.0"), "subnet", kvp.StatusInvalidArg},
	{"prefix with a sign", static("192.0.2.10", "+24"), "subnet", kvp.StatusInvalidArg},
	{"overlong address entry", static(strings.Repeat("1", 300), "255.255.255.0"), "address", kvp.StatusInvalidArg},
	{"too many addresses", static(strings.Repeat("192.0.2.1;", 40), strings.Repeat("/24;", 40)), "too_many", kvp.StatusInvalidArg},
	{"gateway with a command", withGW("192.0.2.1 && reboot"), "gateway", kvp.StatusInvalidArg},
	{"gateway not an address", withGW("default"), "gateway", kvp.StatusInvalidArg},
	{"dns with a newline", kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24", DNSAddr: "192.0.2.53\nnameserver 6.6.6.6"}, "dns", kvp.StatusInvalidArg},
	{"no address, no DHCP", kvp.IPInfo{AdapterID: "hn0"}, "no_address", kvp.StatusInvalidArg},
	{"dhcp flag 2", kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 2}, "dhcp_flag", kvp.StatusInvalidArg},
	{"DHCP with junk addresses", kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1, IPAddr: "$(id)", SubNet: "x"}, "address", kvp.StatusInvalidArg},
	{"GUID left in place", kvp.IPInfo{AdapterID: "{0C5D5E5F-1A2B-4C3D-8E9F-A0B1C2D3E4F5}", IPAddr: "192.0.2.10", SubNet: "/24"}, "adapter_not_found", kvp.StatusGUIDNotFound},
	{"interface with a command", kvp.IPInfo{AdapterID: "hn0;reboot", IPAddr: "192.0.2.10", SubNet: "/24"}, "interface", kvp.StatusInvalidArg},
	{"interface not hn", kvp.IPInfo{AdapterID: "lo0", IPAddr: "192.0.2.10", SubNet: "/24"}, "interface", kvp.StatusInvalidArg},
	{"interface with a path", kvp.IPInfo{AdapterID: "../hn0", IPAddr: "192.0.2.10", SubNet: "/24"}, "interface", kvp.StatusInvalidArg},
	{"IPv4 /0", static("192.0.2.10", "0.0.0.0"), "subnet", kvp.StatusInvalidArg},
	{"IPv6 /0", static("2001:db8::10", "/0"), "subnet", kvp.StatusInvalidArg},
	{"address twice", static("192.0.2.10;192.0.2.10", "/24;/25"), "address", kvp.StatusInvalidArg},
	{"IPv4 gateway outside the prefixes", withGW("198.51.100.1"), "gateway", kvp.StatusInvalidArg},
	{"IPv4 gateway without an IPv4 address", kvp.IPInfo{AdapterID: "hn0", IPAddr: "2001:db8::10", SubNet: "/64", Gateway: "192.0.2.1"}, "gateway", kvp.StatusInvalidArg},
	{"IPv6 gateway outside the prefixes", withGW("2001:db8::1"), "gateway", kvp.StatusInvalidArg},
	{"gateway is the guest's address", withGW("192.0.2.10"), "gateway", kvp.StatusInvalidArg},
	{"interface with leading zero", kvp.IPInfo{AdapterID: "hn01", IPAddr: "192.0.2.10", SubNet: "/24"}, "interface", kvp.StatusInvalidArg},
}

var (
	safeArg      = regexp.MustCompile(`^[-A-Za-z0-9_.:/%= ]*$`)
	safeHookLine = regexp.MustCompile(`^[A-Z0-9_]+="[A-Za-z0-9_.:/% ]*"$`)
)

func static(ip, sub string) kvp.IPInfo { return kvp.IPInfo{AdapterID: "hn0", IPAddr: ip, SubNet: sub} }

func withGW(gw string) kvp.IPInfo {
	return kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24", Gateway: gw}
}

func TestParseSettingRejects(t *testing.T) {
	for _, tt := range hostileSettings {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSetting(tt.in)
			var rej *Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("ParseSetting accepted it (err %v)", err)
			}
			if rej.Reason != tt.reason || rej.Status != tt.status {
				t.Fatalf("rejected as %s/%v, want %s/%v (%v)", rej.Reason, rej.Status, tt.reason, tt.status, err)
			}
		})
	}
}

// FuzzParseSetting: the parser never panics; what it accepts is made of
// netip values whose renderings hold no byte a command line or rc.conf
// could misread, and only hn interface names.
func FuzzParseSetting(f *testing.F) {
	for _, tt := range validSettings {
		f.Add(tt.in.AdapterID, tt.in.DHCPEnabled, tt.in.IPAddr, tt.in.SubNet, tt.in.Gateway, tt.in.DNSAddr)
	}
	for _, tt := range hostileSettings {
		f.Add(tt.in.AdapterID, tt.in.DHCPEnabled, tt.in.IPAddr, tt.in.SubNet, tt.in.Gateway, tt.in.DNSAddr)
	}
	f.Fuzz(func(t *testing.T, adapter string, dhcp uint8, ip, sub, gw, dns string) {
		s, err := ParseSetting(kvp.IPInfo{AdapterID: adapter, DHCPEnabled: dhcp, IPAddr: ip, SubNet: sub, Gateway: gw, DNSAddr: dns})
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) || rej.Status == kvp.StatusOK {
				t.Fatalf("error without a rejection status: %v", err)
			}
			return
		}
		if drv, _, ok := fbsdnet.Split(s.Interface); !ok || drv != "hn" {
			t.Fatalf("accepted interface %q", s.Interface)
		}
		p := makePlan(s, current{target: Link{Name: s.Interface}}, "/etc/rc.conf")
		for _, argv := range append(p.persist, p.live...) {
			for _, a := range argv {
				if !safeArg.MatchString(a) {
					t.Fatalf("argument %q of %q holds a byte outside [-A-Za-z0-9_.:/%%= ]", a, argv)
				}
			}
		}
		for _, line := range strings.Split(strings.TrimSpace(string(hookConfig(s, s.Interface))), "\n")[1:] {
			if !safeHookLine.MatchString(line) {
				t.Fatalf("hook file line %q is not KEY=\"value\" with a safe value", line)
			}
		}
		if len(s.Addrs) > maxAddrs || len(s.Gateways) > maxGateways || len(s.DNS) > maxDNS {
			t.Fatal("list caps not enforced")
		}
	})
}
