package netinfo

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/kvp"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

const (
	macHN0 = "00:15:5d:0a:0b:0c"
	macHN1 = "00:15:5d:0a:0b:0d"
)

// testLinks: hn0 with a VF and a lagg sharing its MAC (non-transparent
// mode: lagg0 carries the addresses), hn1 and hn10 on their own.
func testLinks() []Link {
	return []Link{
		{Name: "lo0", Addrs: prefixes("127.0.0.1/8", "::1/128")},
		{Name: "mce0", MAC: mustMAC(macHN0)},
		{Name: "hn0", MAC: mustMAC(macHN0)},
		{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.10/24", "fe80::1/64", "2001:db8::10/64")},
		{Name: "hn1", MAC: mustMAC(macHN1), Addrs: prefixes("198.51.100.7/25")},
		{Name: "hn10", MAC: mustMAC("00:15:5d:0a:0b:0e"), Addrs: prefixes("203.0.113.9/24")},
	}
}

func testRoutes() []Route {
	return []Route{
		{Link: "hn10", Gateway: netip.MustParseAddr("203.0.113.1")},
		{Link: "lagg0", Gateway: netip.MustParseAddr("192.0.2.1")},
		{Link: "lagg0", Gateway: netip.MustParseAddr("fe80::1:2")},
	}
}

// testService returns a Service over the given links and routes with
// its files in a temporary directory.
func testService(t *testing.T, links []Link, routes []Route) (*Service, string) {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"run", "proc", "resolvconf"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return New(Config{
		Links:        func() ([]Link, error) { return links, nil },
		Routes:       func() ([]Route, error) { return routes, nil },
		RCConf:       filepath.Join(dir, "rc.conf"),
		ResolvConf:   filepath.Join(dir, "resolv.conf"),
		ResolvconfDB: filepath.Join(dir, "resolvconf"),
		RunDir:       filepath.Join(dir, "run"),
		ProcDir:      filepath.Join(dir, "proc"),
		Hook:         filepath.Join(dir, "set-ip-hook"),
		HookFile:     filepath.Join(dir, "set-ip.conf"),
	}), dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGetIPInfo(t *testing.T) {
	svc, dir := testService(t, testLinks(), testRoutes())
	write(t, filepath.Join(dir, "resolv.conf"), "search example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n")
	write(t, filepath.Join(dir, "rc.conf"), "ifconfig_hn10=\"SYNCDHCP\"\nifconfig_hn1=\"inet 198.51.100.7/25\"\n")
	tests := []struct {
		name string
		mac  string
		want kvp.IPInfo
		st   kvp.Status
	}{
		{"lagg carries hn0's addresses, VF skipped", "00-15-5D-0A-0B-0C", kvp.IPInfo{
			AddrFamily: 3, IPAddr: "192.0.2.10;fe80::1;2001:db8::10", SubNet: "255.255.255.0;/64;/64",
			Gateway: "192.0.2.1;fe80::1:2", DNSAddr: "192.0.2.53;2001:db8::53",
		}, kvp.StatusOK},
		{"hn1 is not hn10: no gateway, no DHCP", "00:15:5d:0a:0b:0d", kvp.IPInfo{
			AddrFamily: 1, IPAddr: "198.51.100.7", SubNet: "255.255.255.128", DNSAddr: "192.0.2.53;2001:db8::53",
		}, kvp.StatusOK},
		{"hn10 DHCP from rc.conf", "00:15:5D:0A:0B:0E", kvp.IPInfo{
			AddrFamily: 1, DHCPEnabled: 1, IPAddr: "203.0.113.9", SubNet: "255.255.255.0", Gateway: "203.0.113.1",
			DNSAddr: "192.0.2.53;2001:db8::53",
		}, kvp.StatusOK},
		{"MAC without separators", "00155d0a0b0d", kvp.IPInfo{
			AddrFamily: 1, IPAddr: "198.51.100.7", SubNet: "255.255.255.128", DNSAddr: "192.0.2.53;2001:db8::53",
		}, kvp.StatusOK},
		{"mixed separators", "00:15-5d:0a:0b:0d", kvp.IPInfo{}, kvp.StatusFail},
		{"unknown MAC", "00:15:5d:ff:ff:ff", kvp.IPInfo{}, kvp.StatusFail},
		{"not a MAC", "hn0", kvp.IPInfo{}, kvp.StatusFail},
		{"MAC with trailing junk", "00:15:5d:0a:0b:0c;x", kvp.IPInfo{}, kvp.StatusFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: tt.mac})
			if st != tt.st {
				t.Fatalf("status %v, want %v", st, tt.st)
			}
			if st == kvp.StatusOK {
				tt.want.AdapterID = tt.mac
			}
			if got != tt.want {
				t.Errorf("GetIPInfo mismatch (-want +got):\n-%+v\n+%+v", tt.want, got)
			}
		})
	}
}

func TestPickLinkNoAddresses(t *testing.T) {
	links := []Link{{Name: "mana0", MAC: mustMAC(macHN0)}, {Name: "hn0", MAC: mustMAC(macHN0)}}
	l, ok := pickLink(links, mustMAC(macHN0))
	if !ok || l.Name != "hn0" {
		t.Fatalf("pickLink = %q, %v; want hn0 over the VF", l.Name, ok)
	}
	// Only an IPv6 link-local address, as any interface with IPv6 up
	// has: it does not make the lagg the one carrying the addresses.
	ll := []Link{
		{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("fe80::1/64")},
		{Name: "hn0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.5/24", "fe80::2/64")},
	}
	if l, _ := pickLink(ll, mustMAC(macHN0)); l.Name != "hn0" {
		t.Fatalf("pickLink = %q, want hn0, not the lagg with only a link-local address", l.Name)
	}
	links[0].Addrs = prefixes("192.0.2.1/24") // odd, but then it is the one with addresses
	if l, _ := pickLink(links, mustMAC(macHN0)); l.Name != "mana0" {
		t.Fatalf("pickLink = %q, want the interface carrying addresses", l.Name)
	}
}

// Only Linux is searched for dhclient processes; FreeBSD has pidfiles.
func TestDefaultProcDir(t *testing.T) {
	for goos, want := range map[string]string{"linux": "/proc", "freebsd": "-"} {
		if got := defaultProcDir(goos); got != want {
			t.Errorf("defaultProcDir(%s) = %q, want %q", goos, got, want)
		}
	}
}

func TestDHCPDetection(t *testing.T) {
	links := []Link{{Name: "hn1", MAC: mustMAC(macHN1)}, {Name: "hn10", MAC: mustMAC(macHN0)}}
	tests := []struct {
		name  string
		setup func(dir string)
		want  uint8
	}{
		{"nothing", func(string) {}, 0},
		{"rc.conf DHCP", func(d string) { write(t, filepath.Join(d, "rc.conf"), "ifconfig_hn1=\"dhcp\"\n") }, 1},
		{"rc.conf of hn10 only", func(d string) { write(t, filepath.Join(d, "rc.conf"), "ifconfig_hn10=\"DHCP\"\n") }, 0},
		{"commented out", func(d string) { write(t, filepath.Join(d, "rc.conf"), "#ifconfig_hn1=\"DHCP\"\n") }, 0},
		{"ifconfig_DEFAULT", func(d string) { write(t, filepath.Join(d, "rc.conf"), "ifconfig_DEFAULT=\"SYNCDHCP\"\n") }, 1},
		{"own value over ifconfig_DEFAULT", func(d string) {
			write(t, filepath.Join(d, "rc.conf"), "ifconfig_DEFAULT=\"DHCP\"\nifconfig_hn1=\"inet 192.0.2.1/24\"\n")
		}, 0},
		{"FreeBSD pidfile", func(d string) {
			write(t, filepath.Join(d, "run", "dhclient", "dhclient.hn1.pid"), fmt.Sprintf("%d\n", os.Getpid()))
		}, 1},
		{"pidfile of hn10", func(d string) {
			write(t, filepath.Join(d, "run", "dhclient", "dhclient.hn10.pid"), fmt.Sprintf("%d\n", os.Getpid()))
		}, 0},
		{"stale pidfile", func(d string) { write(t, filepath.Join(d, "run", "dhclient.hn1.pid"), "999999999\n") }, 0},
		{"dhclient process", func(d string) {
			fakeProc(t, d, "4242", "/sbin/dhclient", "/sbin/dhclient\x00-4\x00-pf\x00/run/x.pid\x00hn1\x00")
		}, 1},
		{"another program naming hn1", func(d string) {
			fakeProc(t, d, "4243", "/usr/bin/tcpdump", "tcpdump\x00-i\x00hn1\x00")
		}, 0},
		{"dhclient for hn10", func(d string) {
			fakeProc(t, d, "4242", "/sbin/dhclient", "/sbin/dhclient\x00hn10\x00")
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, dir := testService(t, links, nil)
			tt.setup(dir)
			got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN1})
			if st != kvp.StatusOK || got.DHCPEnabled != tt.want {
				t.Fatalf("dhcp_enabled = %d (%v), want %d", got.DHCPEnabled, st, tt.want)
			}
		})
	}
}

func TestDNSPerInterface(t *testing.T) {
	svc, dir := testService(t, testLinks(), nil)
	write(t, filepath.Join(dir, "resolv.conf"), "nameserver 192.0.2.53\n")
	write(t, filepath.Join(dir, "resolvconf", "interfaces", "hn1"), "nameserver 198.51.100.53\n")
	write(t, filepath.Join(dir, "resolvconf", "interfaces", "hn10"), "nameserver 203.0.113.53\n")
	if got, _ := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN1}); got.DNSAddr != "198.51.100.53" {
		t.Errorf("hn1 DNS = %q, want its resolvconf record only", got.DNSAddr)
	}
	if got, _ := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN0}); got.DNSAddr != "192.0.2.53" {
		t.Errorf("lagg0 DNS = %q, want resolv.conf's", got.DNSAddr)
	}
}

// Long lists are cut at whole entries to what the kernel converts, with
// addresses and subnets kept in step.
func TestGetIPInfoTruncation(t *testing.T) {
	var addrs []netip.Prefix
	for i := range 100 {
		addrs = append(addrs, netip.MustParsePrefix(fmt.Sprintf("2001:db8:aaaa:bbbb:cccc:dddd:eeee:%x/64", i+1)))
	}
	var routes []Route
	for i := range 40 {
		routes = append(routes, Route{Link: "hn0", Gateway: netip.MustParseAddr(fmt.Sprintf("2001:db8::ffff:%x", i+1))})
	}
	svc, _ := testService(t, []Link{{Name: "hn0", MAC: mustMAC(macHN0), Addrs: addrs}}, routes)
	got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN0})
	if st != kvp.StatusOK {
		t.Fatal(st)
	}
	ips, subs := strings.Split(got.IPAddr, ";"), strings.Split(got.SubNet, ";")
	if len(got.IPAddr) > listLimit || len(ips) != len(subs) || len(ips) >= 100 {
		t.Fatalf("ip_addr %d bytes, %d addresses, %d subnets", len(got.IPAddr), len(ips), len(subs))
	}
	for _, a := range ips {
		if _, err := netip.ParseAddr(a); err != nil {
			t.Fatalf("cut mid-address: %q", a)
		}
	}
	if len(got.Gateway) > gatewayLimit {
		t.Fatalf("gate_way %d bytes", len(got.Gateway))
	}
	for _, g := range strings.Split(got.Gateway, ";") {
		if _, err := netip.ParseAddr(g); err != nil {
			t.Fatalf("gateway cut mid-address: %q", g)
		}
	}
	if _, err := kvp.EncodeReply(kvp.Msg{Op: kvp.OpGetIPInfo}, kvp.StatusOK, kvp.Msg{IP: got}); err != nil {
		t.Fatalf("reply does not encode: %v", err)
	}
}

func TestAddrsSameSource(t *testing.T) {
	svc, _ := testService(t, testLinks(), nil)
	addrs, err := svc.Addrs()
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 7 {
		t.Fatalf("Addrs = %v", addrs)
	}
}

// fakeProc makes procDir/<pid> with an exe link and a cmdline.
func fakeProc(t *testing.T, dir, pid, exe, cmdline string) {
	t.Helper()
	write(t, filepath.Join(dir, "proc", pid, "cmdline"), cmdline)
	if err := os.Symlink(exe, filepath.Join(dir, "proc", pid, "exe")); err != nil {
		t.Fatal(err)
	}
}
