package netinfo

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/kvp"
)

// pipeWatch gives svc a change watch whose "kernel" is the returned
// function: each call announces one change, as a netlink message would.
func pipeWatch(t *testing.T, svc *Service) (announce func()) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
	svc.sys.watch = &netWatch{fd: p[0], buf: make([]byte, 64)}
	return func() {
		if _, err := unix.Write(p[1], []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestNetworkCache: with a watch, links and routes are read once and
// again only after the watch announced a change; a failed read is not
// kept.
func TestNetworkCache(t *testing.T) {
	var linkReads, routeReads int
	links := testLinks()
	svc := New(Config{
		Links:  func() ([]Link, error) { linkReads++; return links, nil },
		Routes: func() ([]Route, error) { routeReads++; return testRoutes(), nil },
		RCConf: filepath.Join(t.TempDir(), "none"), ProcDir: "-",
	})
	announce := pipeWatch(t, svc)
	ask := func() kvp.IPInfo {
		got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN1})
		if st != kvp.StatusOK {
			t.Fatalf("status %v", st)
		}
		return got
	}
	for range 3 {
		if got := ask(); got.IPAddr != "198.51.100.7" {
			t.Fatalf("ip_addr %q", got.IPAddr)
		}
	}
	if linkReads != 1 || routeReads != 1 {
		t.Fatalf("3 requests without a change read links %d times, routes %d; want 1, 1", linkReads, routeReads)
	}
	links = append(testLinks()[:4], Link{Name: "hn1", MAC: mustMAC(macHN1), Addrs: prefixes("198.51.100.8/25")})
	announce()
	announce()
	if got := ask(); got.IPAddr != "198.51.100.8" {
		t.Fatalf("after a change: ip_addr %q, want the new address", got.IPAddr)
	}
	ask()
	if linkReads != 2 || routeReads != 2 {
		t.Fatalf("one announced change: links read %d times, routes %d; want 2, 2", linkReads, routeReads)
	}
}

// TestFileCache: rc.conf and resolv.conf are read again when stat finds
// them changed: rewritten in place with the same size, or replaced by
// rename with the same size and times.
func TestFileCache(t *testing.T) {
	svc, dir := testService(t, testLinks(), nil)
	rc, resolv := filepath.Join(dir, "rc.conf"), filepath.Join(dir, "resolv.conf")
	old := time.Now().Add(-time.Hour) // outside the racy window: cached
	settle := func(p string) {
		t.Helper()
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	ask := func() kvp.IPInfo {
		got, _ := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN1})
		return got
	}
	write(t, rc, "ifconfig_hn1=\"DHCP\"\n")
	write(t, resolv, "nameserver 192.0.2.53\n")
	settle(rc)
	settle(resolv)
	if got := ask(); got.DHCPEnabled != 1 || got.DNSAddr != "192.0.2.53" {
		t.Fatalf("first: dhcp %d, dns %q", got.DHCPEnabled, got.DNSAddr)
	}
	write(t, rc, "ifconfig_hn1=\"dhcq\"\n") // same size, in place
	write(t, resolv, "nameserver 192.0.2.54\n")
	if got := ask(); got.DHCPEnabled != 0 || got.DNSAddr != "192.0.2.54" {
		t.Fatalf("rewritten in place: dhcp %d, dns %q", got.DHCPEnabled, got.DNSAddr)
	}
	settle(rc)
	ask()
	tmp := filepath.Join(dir, "rc.conf.new")
	write(t, tmp, "ifconfig_hn1=\"DHCP\"\n")
	settle(tmp)
	if err := os.Rename(tmp, rc); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got.DHCPEnabled != 1 {
		t.Fatal("rc.conf renamed over with the same size and times: not seen")
	}
	if err := os.Remove(rc); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got.DHCPEnabled != 0 {
		t.Fatal("rc.conf removed: still DHCP")
	}
}

// TestProcDHClientCache: with a watch, a dhclient found is checked by
// its pid alone, and "none" stands until a change is announced.
func TestProcDHClientCache(t *testing.T) {
	links := []Link{{Name: "hn1", MAC: mustMAC(macHN1)}}
	svc, dir := testService(t, links, nil)
	announce := pipeWatch(t, svc)
	dhcp := func() uint8 {
		got, _ := svc.GetIPInfo(kvp.IPInfo{AdapterID: macHN1})
		return got.DHCPEnabled
	}
	if dhcp() != 0 {
		t.Fatal("no dhclient: DHCP")
	}
	fakeProc(t, dir, "4242", "/sbin/dhclient", "dhclient\x00hn1\x00")
	if dhcp() != 0 {
		t.Fatal("a dhclient started without a change of the network was seen before procRescan: the scan was not cached")
	}
	announce()
	if dhcp() != 1 {
		t.Fatal("dhclient not seen after a change")
	}
	if err := os.RemoveAll(filepath.Join(dir, "proc", "4242")); err != nil {
		t.Fatal(err)
	}
	fakeProc(t, dir, "4243", "/usr/bin/tcpdump", "tcpdump\x00hn1\x00")
	if dhcp() != 0 {
		t.Fatal("the dhclient found before is gone: still DHCP")
	}
}
