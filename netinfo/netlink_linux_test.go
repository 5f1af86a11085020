package netinfo

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/kvp"
)

// needNetns skips a test that makes a network namespace without root
// or ip(8), except in CI, which has both and must run it.
func needNetns(t testing.TB) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to create a network namespace"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "needs ip(8) from iproute2: " + err.Error()
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI must run this test", why)
	}
	t.Skip(why)
}

// ipIn runs ip(8) in namespace ns ("": ip's own namespace commands).
func ipIn(t testing.TB, ns string, args ...string) {
	t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

const nsMAC = "00:15:5d:e2:e0:16"

// linuxNetns makes a network namespace standing in for a Linux guest
// with an accelerated NIC: eth0, the synthetic NIC (a bridge, so that
// another link can have it as IFLA_MASTER), with IPv4 and IPv6
// addresses and both default routes, and enP1s1, the VF (a veth end),
// made first so the kernel lists it first, with eth0's MAC, enslaved to
// eth0 and with an address of its own.
func linuxNetns(t testing.TB) string {
	t.Helper()
	needNetns(t)
	ns := fmt.Sprintf("hvagent-nl-%d", os.Getpid())
	ipIn(t, "", "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	ipIn(t, ns, "link", "add", "enP1s1", "type", "veth", "peer", "name", "vfpeer")
	ipIn(t, ns, "link", "add", "eth0", "type", "bridge")
	for _, l := range []string{"enP1s1", "eth0", "vfpeer"} {
		ipIn(t, ns, "link", "set", l, "addrgenmode", "none")
	}
	ipIn(t, ns, "link", "set", "eth0", "address", nsMAC)
	ipIn(t, ns, "link", "set", "enP1s1", "address", nsMAC)
	ipIn(t, ns, "link", "set", "enP1s1", "master", "eth0")
	for _, l := range []string{"vfpeer", "enP1s1", "eth0"} {
		ipIn(t, ns, "link", "set", l, "up")
	}
	ipIn(t, ns, "addr", "add", "10.9.9.9/8", "dev", "enP1s1")
	ipIn(t, ns, "addr", "add", "192.0.2.10/24", "dev", "eth0")
	ipIn(t, ns, "addr", "add", "2001:db8:1::10/64", "dev", "eth0", "nodad")
	ipIn(t, ns, "route", "add", "default", "via", "192.0.2.1", "dev", "eth0")
	ipIn(t, ns, "-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "eth0")
	return ns
}

// inNetns runs f on a thread that is in network namespace ns: sockets
// f opens belong to ns for their life.
func inNetns(t testing.TB, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(orig)
	fd, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer func() {
		// A thread that cannot go back is left locked: it ends with
		// this goroutine instead of serving others.
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	f()
}

// GET_IP_INFO on Linux in a namespace the test made: the synthetic
// NIC's addresses, prefixes and default routes from rtnetlink, not the
// VF's that shares its MAC and comes first; DNS from resolved's
// upstream; DHCP from networkd's state for eth0's ifindex; an address
// added later shows in the next reply (the change watch).
func TestGetIPInfoLinuxNetns(t *testing.T) {
	ns := linuxNetns(t)
	root := makeTree(t, map[string]string{
		"/etc/resolv.conf":                 "nameserver 127.0.0.53\noptions edns0\n",
		"/run/systemd/resolve/resolv.conf": "nameserver 168.63.129.16\n",
	})
	svc := New(Config{Linux: true, Root: root, ResolvConf: filepath.Join(root, "etc/resolv.conf"),
		RunDir: filepath.Join(root, "run"), ProcDir: "-"})
	want := kvp.IPInfo{
		AdapterID: "00-15-5D-E2-E0-16", AddrFamily: 3, DHCPEnabled: 1,
		IPAddr:  "192.0.2.10;2001:db8:1::10",
		SubNet:  "255.255.255.0;/64",
		Gateway: "192.0.2.1;2001:db8:1::1",
		DNSAddr: "168.63.129.16",
	}
	inNetns(t, ns, func() {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		writeRoot(t, root, fmt.Sprintf("/run/systemd/netif/links/%d", ifc.Index),
			fmtS(ndState, "/run/systemd/network/10-netplan-eth0.network", ""))
		writeRoot(t, root, "/run/systemd/network/10-netplan-eth0.network", "[Match]\nName=eth0\n[Network]\nDHCP=yes\n")
		for i := range 2 {
			got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: want.AdapterID})
			if st != kvp.StatusOK || got != want {
				t.Fatalf("GET_IP_INFO %d: %v, mismatch (-want +got):\n-%+v\n+%+v", i, st, want, got)
			}
		}
		ipIn(t, ns, "addr", "add", "192.0.2.11/24", "dev", "eth0")
		want.IPAddr, want.SubNet = "192.0.2.10;192.0.2.11;2001:db8:1::10", "255.255.255.0;255.255.255.0;/64"
		if got, st := svc.GetIPInfo(kvp.IPInfo{AdapterID: "00:15:5d:e2:e0:16"}); st != kvp.StatusOK || got.IPAddr != want.IPAddr || got.SubNet != want.SubNet {
			t.Fatalf("after adding an address: %v %+v", st, got)
		}
		links, err := linuxLinks()
		if err != nil {
			t.Fatal(err)
		}
		vf, _ := linkByName(links, "enP1s1")
		if vf.Master != ifc.Index || vf.Index >= ifc.Index {
			t.Errorf("the VF stand-in: %+v, eth0 is %d; want it first and enslaved to eth0", vf, ifc.Index)
		}
	})
}

// BenchmarkGetIPInfoLinux is one GET_IP_INFO on a Linux system as the
// agent runs it (links and routes kept while rtnetlink reports no
// change, manager and resolver files kept while stat(2) finds them
// unchanged), in the namespace of TestGetIPInfoLinuxNetns with
// NetworkManager's state and a resolved stub.
func BenchmarkGetIPInfoLinux(b *testing.B) {
	ns := linuxNetns(b)
	root := b.TempDir()
	svc := New(Config{Linux: true, Root: root, ResolvConf: filepath.Join(root, "etc/resolv.conf"),
		RunDir: filepath.Join(root, "run"), ProcDir: "-"})
	inNetns(b, ns, func() {
		ifc, err := net.InterfaceByName("eth0")
		if err != nil {
			b.Fatal(err)
		}
		for p, c := range map[string]string{
			"/etc/resolv.conf":                                                 "nameserver 127.0.0.53\n",
			"/run/systemd/resolve/resolv.conf":                                 "nameserver 168.63.129.16\n",
			fmt.Sprintf("/run/NetworkManager/devices/%d", ifc.Index):           nmDevState,
			"/run/NetworkManager/system-connections/netplan-eth0.nmconnection": nmProfile,
			fmt.Sprintf("/run/systemd/resolve/netif/%d", ifc.Index):            "LLMNR=yes\n",
		} {
			full := filepath.Join(root, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		req := kvp.IPInfo{AdapterID: "00-15-5D-E2-E0-16"}
		if got, st := svc.GetIPInfo(req); st != kvp.StatusOK || got.DHCPEnabled != 1 || got.DNSAddr != "168.63.129.16" {
			b.Fatalf("%v %+v", st, got)
		}
		for b.Loop() {
			if _, st := svc.GetIPInfo(req); st != kvp.StatusOK {
				b.Fatalf("status %v", st)
			}
		}
	})
}
