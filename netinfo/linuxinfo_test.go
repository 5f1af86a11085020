package netinfo

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

func TestLinuxDNS(t *testing.T) {
	const stub = "# This is /run/systemd/resolve/stub-resolv.conf\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.test\n"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{{
		name:  "plain resolv.conf",
		files: map[string]string{"/etc/resolv.conf": "nameserver 192.0.2.53\nnameserver 2001:db8::53\n"},
		want:  "192.0.2.53;2001:db8::53",
	}, {
		name: "resolved: the link's own servers",
		files: map[string]string{
			"/etc/resolv.conf":                 stub,
			"/run/systemd/resolve/netif/3":     "# This is private data. Do not parse.\nLLMNR=yes\nSERVERS=168.63.129.16 192.0.2.1:5353 [2001:db8::35]:53 2001:db8::36%3 192.0.2.7#dns.example.test junk\nDOMAINS=example.test\n",
			"/run/systemd/resolve/resolv.conf": "nameserver 198.51.100.53\n",
		},
		want: "168.63.129.16;192.0.2.1;2001:db8::35;2001:db8::36;192.0.2.7",
	}, {
		name: "resolved: upstream when the link has none",
		files: map[string]string{
			"/etc/resolv.conf":                 "nameserver 127.0.0.53\nnameserver 127.0.0.54\n",
			"/run/systemd/resolve/netif/3":     "LLMNR=yes\n",
			"/run/systemd/resolve/netif/4":     "SERVERS=203.0.113.4\n",
			"/run/systemd/resolve/resolv.conf": "# uplink\nnameserver 198.51.100.53\nnameserver 2001:db8:1::53\nsearch example.test\n",
		},
		want: "198.51.100.53;2001:db8:1::53",
	}, {
		name:  "resolved without upstream servers: none, never the stub",
		files: map[string]string{"/etc/resolv.conf": stub},
		want:  "",
	}, {
		name:  "no resolv.conf",
		files: map[string]string{"/run/systemd/resolve/resolv.conf": "nameserver 198.51.100.53\n"},
		want:  "",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			root := makeTree(t, tc.files)
			got := linuxDNS(newLinuxTree(root), filepath.Join(root, "etc/resolv.conf"), 3)
			if s := joinFit(got, listLimit); s != tc.want {
				t.Errorf("DNS %q, want %q", s, tc.want)
			}
		})
	}
}

// linuxTestService is a Service for a Linux system under root, over the
// given links and routes.
func linuxTestService(root string, links []Link, routes []Route) *Service {
	return New(Config{
		Linux:      true,
		Root:       root,
		Links:      func() ([]Link, error) { return links, nil },
		Routes:     func() ([]Route, error) { return routes, nil },
		ResolvConf: filepath.Join(root, "etc/resolv.conf"),
		RunDir:     filepath.Join(root, "run"),
		ProcDir:    "-",
	})
}

// On Linux the reply is the synthetic NIC's, never its VF's, with DNS
// from resolved's upstream and DHCP from networkd; a change of any file
// it came from shows in the next reply, the cache notwithstanding.
func TestGetIPInfoLinux(t *testing.T) {
	vf := Link{Name: "enP1s1", Index: 2, Master: 3, MAC: eth0.MAC, Addrs: prefixes("10.9.9.9/8")}
	syn := eth0
	syn.Addrs = prefixes("192.0.2.10/24", "2001:db8::10/64", "fe80::215:5dff:fe01:203/64")
	links := []Link{{Name: "lo", Index: 1, Addrs: prefixes("127.0.0.1/8")}, vf, syn}
	routes := []Route{{Link: "enP1s1", Gateway: netip.MustParseAddr("10.0.0.1")},
		{Link: "eth0", Gateway: gw4}, {Link: "eth0", Gateway: gw6}}
	root := makeTree(t, map[string]string{
		"/etc/resolv.conf":                             "nameserver 127.0.0.53\n",
		"/run/systemd/resolve/resolv.conf":             "nameserver 168.63.129.16\n",
		"/run/systemd/netif/links/3":                   fmtS(ndState, "/run/systemd/network/10-netplan-eth0.network", ""),
		"/run/systemd/network/10-netplan-eth0.network": "[Match]\nName=eth0\n[Network]\nDHCP=ipv4\n",
	})
	svc := linuxTestService(root, links, routes)
	want := kvp.IPInfo{
		AdapterID: "00-15-5D-01-02-03", AddrFamily: 3, DHCPEnabled: 1,
		IPAddr:  "192.0.2.10;2001:db8::10;fe80::215:5dff:fe01:203",
		SubNet:  "255.255.255.0;/64;/64",
		Gateway: "192.0.2.1;2001:db8::1",
		DNSAddr: "168.63.129.16",
	}
	get := func() kvp.IPInfo {
		t.Helper()
		got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: want.AdapterID})
		if st != kvp.StatusOK {
			t.Fatalf("status %v", st)
		}
		return got
	}
	for range 2 { // the second from memory
		if got := get(); got != want {
			t.Fatalf("GET_IP_INFO mismatch (-want +got):\n-%+v\n+%+v", want, got)
		}
	}
	// Files change: the cache's stat(2) sees each kind of change.
	time.Sleep(2 * racyWindow)
	writeRoot(t, root, "/run/systemd/network/10-netplan-eth0.network", "[Match]\nName=eth0\n[Network]\nAddress=192.0.2.10/24\n")
	writeRoot(t, root, "/run/systemd/resolve/netif/3", "SERVERS=192.0.2.53\n") // a file that was absent
	want.DHCPEnabled, want.DNSAddr = 0, "192.0.2.53"
	if got := get(); got != want {
		t.Fatalf("after the change (-want +got):\n-%+v\n+%+v", want, got)
	}
	if err := os.Remove(filepath.Join(root, "run/systemd/netif/links/3")); err != nil {
		t.Fatal(err)
	}
	// networkd's state gone: the .network file still names eth0.
	if got := get(); got != want {
		t.Fatalf("after networkd's state went (-want +got):\n-%+v\n+%+v", want, got)
	}
}

// No manager claims the interface: a live dhclient's pidfile says DHCP.
func TestGetIPInfoLinuxDHClientPidfile(t *testing.T) {
	root := makeTree(t, map[string]string{"/etc/resolv.conf": "nameserver 192.0.2.53\n", "/run/dhclient.eth0.pid": fmtS("%d\n", os.Getpid())})
	svc := linuxTestService(root, []Link{eth0}, nil)
	got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: "00:15:5d:01:02:03"})
	if st != kvp.StatusOK || got.DHCPEnabled != 1 || got.DNSAddr != "192.0.2.53" {
		t.Fatalf("%v %+v", st, got)
	}
}

func writeRoot(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A result computed from a file changed within the file system's clock
// tick is not kept; one from settled files is, until one changes.
func TestTreeDepsValid(t *testing.T) {
	root := makeTree(t, map[string]string{"/a": "1"})
	tr := newLinuxTree(root)
	tr.read("/a")
	tr.read("/missing")
	if d := tr.snapshot(); !d.racy || d.valid() {
		t.Fatalf("fresh file: %+v", d)
	}
	time.Sleep(2 * racyWindow)
	tr = newLinuxTree(root)
	tr.read("/a")
	tr.read("/missing")
	d := tr.snapshot()
	if !d.valid() {
		t.Fatal("settled files: not valid")
	}
	writeRoot(t, root, "/missing", "")
	if d.valid() {
		t.Fatal("a file appeared: still valid")
	}
	if !reflect.DeepEqual(d.deps[1].ok, false) {
		t.Fatal("the missing file was recorded as present")
	}
}
