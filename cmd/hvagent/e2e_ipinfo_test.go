package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
)

// needRoot skips a test that needs root and ip(8), except in CI, which
// has both and must run it.
func needRoot(t *testing.T) {
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

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// testNetns is a network namespace the test made: a veth pair whose ends
// share one MAC, named as on Azure: hn0 with addresses and default
// routes, mce0 without any (the VF beside it), and a resolv.conf that ip
// netns exec puts over /etc/resolv.conf.
type testNetns struct {
	name string
	mac  string
	dir  string // rc.conf, resolv.conf, run/, libexec/set-ip-hook (absent)
}

func (ns *testNetns) path(name string) string { return filepath.Join(ns.dir, name) }

func (ns *testNetns) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(ns.path(name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// flags point the agent at the namespace's files.
func (ns *testNetns) flags() []string {
	return []string{"--kvp.rc-conf", ns.path("rc.conf"), "--kvp.resolv-conf", ns.path("resolv.conf"),
		"--kvp.run-dir", ns.path("run"), "--kvp.set-ip-hook", ns.path("libexec/set-ip-hook")}
}

func newTestNetns(t *testing.T) *testNetns {
	t.Helper()
	needRoot(t)
	ns := &testNetns{name: fmt.Sprintf("hvagent-e2e-%d", os.Getpid()), mac: "00:15:5d:e2:e0:01"}
	ipCmd(t, "netns", "add", ns.name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns.name).Run() })
	// The agent's files are the test's, through the --kvp.* path flags:
	// nothing of this machine's rc.conf, resolv.conf or /var/run is read,
	// and no set-ip hook installed here would run.
	ns.dir = t.TempDir()
	ns.write(t, "rc.conf", "hostname=\"vm\"\n")
	ns.write(t, "resolv.conf", "search example.test\noptions edns0\nnameserver 192.0.2.53\nnameserver 2001:db8:1::53\n")
	if err := os.MkdirAll(filepath.Join(ns.dir, "run", "dhclient"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := []string{"-n", ns.name}
	// The kernel registers the peer first: mce0 comes before hn0 in the
	// interface list, so taking the first interface with the MAC fails.
	ipCmd(t, append(n, "link", "add", "hn0", "type", "veth", "peer", "name", "mce0")...)
	for _, l := range []string{"mce0", "hn0"} {
		ipCmd(t, append(n, "link", "set", l, "address", ns.mac, "addrgenmode", "none")...)
		ipCmd(t, append(n, "link", "set", l, "up")...)
	}
	ipCmd(t, append(n, "addr", "add", "192.0.2.10/24", "dev", "hn0")...)
	ipCmd(t, append(n, "addr", "add", "192.0.2.11/24", "dev", "hn0")...)
	ipCmd(t, append(n, "addr", "add", "2001:db8:1::10/64", "dev", "hn0", "nodad")...)
	ipCmd(t, append(n, "route", "add", "default", "via", "192.0.2.1", "dev", "hn0")...)
	ipCmd(t, append(n, "-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "hn0")...)
	return ns
}

// The real binary, in a namespace the test built, answers GET_IP_INFO
// with exactly that namespace's configuration in the host's formats.
func TestE2EGetIPInfoNetns(t *testing.T) {
	ns := newTestNetns(t)
	e := newEnv(t, kvptest.KernelOptions{})
	e.wrap = []string{"ip", "netns", "exec", ns.name}
	e.start(ns.flags()...)
	ctx := ctxT(t)

	hostMAC := strings.ToUpper(strings.ReplaceAll(ns.mac, ":", "-"))
	got, st, err := e.host.GetIPInfo(ctx, hostMAC)
	if err != nil || st != kvp.StatusOK {
		t.Fatalf("GET_IP_INFO %s: %v, %v\nagent log:\n%s", hostMAC, st, err, e.stderr)
	}
	want := kvp.IPInfo{
		AdapterID:  hostMAC,
		AddrFamily: 3,
		IPAddr:     "192.0.2.10;192.0.2.11;2001:db8:1::10",
		SubNet:     "255.255.255.0;255.255.255.0;/64",
		Gateway:    "192.0.2.1;2001:db8:1::1",
		DNSAddr:    "192.0.2.53;2001:db8:1::53",
	}
	if got != want {
		t.Errorf("GET_IP_INFO mismatch (-want +got):\n-%+v\n+%+v", want, got)
	}
	if _, st, err := e.host.GetIPInfo(ctx, "00:15:5D:FF:FF:FF"); err != nil || st != kvp.StatusFail {
		t.Errorf("unknown MAC: %v, %v; want HV_E_FAIL", st, err)
	}
	// The auto pool reads the same addresses.
	for key, want := range map[string]string{"NetworkAddressIPv4": "192.0.2.10;192.0.2.11", "NetworkAddressIPv6": "2001:db8:1::10"} {
		if v, st, err := e.host.Get(ctx, kvp.PoolAuto, key); err != nil || st != kvp.StatusOK || v != want {
			t.Errorf("%s = %q (%v, %v), want %q", key, v, st, err, want)
		}
	}
	// Hostile SET_IP_INFO is refused before anything runs.
	r, err := e.kernel.Do(ctx, kvp.Msg{Op: kvp.OpSetIPInfo, IP: kvp.IPInfo{AdapterID: "hn0", IPAddr: "1.2.3.4; reboot", SubNet: "255.0.0.0"}})
	if err != nil || r.Status != kvp.StatusInvalidArg {
		t.Errorf("hostile SET_IP_INFO: %v, %v; want HV_INVALIDARG", r.Status, err)
	}
	e.stop()
	if !strings.Contains(e.stderr.String(), "set_ip_info rejected") {
		t.Errorf("rejection not logged:\n%s", e.stderr)
	}
}

// fakeWorld is package fbsdnettest's simulated FreeBSD system with its
// small fake-command program linked into its bin directory.
func fakeWorld(t *testing.T) *fbsdnettest.World {
	t.Helper()
	dir := t.TempDir()
	w, err := fbsdnettest.NewWorld(dir)
	if err != nil {
		t.Fatal(err)
	}
	fake, err := fbsdnettest.BuildFakes(ctxT(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Install(fake); err != nil {
		t.Fatal(err)
	}
	return w
}

func argvs(t *testing.T, w *fbsdnettest.World) [][]string {
	t.Helper()
	out, err := w.Argvs()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The real binary applies a SET_IP_INFO to hn0 in the namespace with
// the commands an administrator would run (fakes that record them; sysrc
// edits the test's rc.conf, service models rc.d/dhclient's precheck),
// rewrites the test's resolv.conf keeping search and options, and runs
// nothing for a hostile request.
func TestE2ESetIPInfoNetns(t *testing.T) {
	ns := newTestNetns(t)
	// The simulated system holds what the namespace has, and its rc.conf
	// is the one the agent reads and the fake sysrc changes.
	w := fakeWorld(t)
	if err := os.WriteFile(w.RCConf(), []byte("hostname=\"vm\"\nifconfig_hn0=\"DHCP\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := w.Update(func(st *fbsdnettest.State) {
		st.Ifaces["hn0"] = &fbsdnettest.Iface{Up: true, Inet: []string{"192.0.2.10/24", "192.0.2.11/24"}, Inet6: []string{"2001:db8:1::10/64"}}
		st.Ifaces["mce0"] = &fbsdnettest.Iface{Up: true}
		st.Routes = map[string]string{"inet": "192.0.2.1", "inet6": "2001:db8:1::1"}
		st.Dhclient["hn0"] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	// A dhclient runs for hn0: its pidfile names a live process.
	ns.write(t, "run/dhclient/dhclient.hn0.pid", fmt.Sprintf("%d\n", os.Getpid()))
	e := newEnv(t, kvptest.KernelOptions{})
	e.wrap = []string{"ip", "netns", "exec", ns.name}
	e.environ = []string{"PATH=" + w.Bin, fbsdnettest.StateEnv + "=" + filepath.Join(w.Dir, "state.json")}
	e.start(append(ns.flags(), "--kvp.rc-conf", w.RCConf())...)
	ctx := ctxT(t)

	r, err := e.kernel.Do(ctx, kvp.Msg{Op: kvp.OpSetIPInfo, IP: kvp.IPInfo{AdapterID: "hn0", IPAddr: "$(reboot)", SubNet: "255.255.255.0"}})
	if err != nil || r.Status != kvp.StatusInvalidArg {
		t.Fatalf("hostile SET_IP_INFO: %v, %v; want HV_INVALIDARG", r.Status, err)
	}
	if cmds := argvs(t, w); cmds != nil {
		t.Fatalf("hostile SET_IP_INFO ran %q", cmds)
	}
	r, err = e.kernel.Do(ctx, kvp.Msg{Op: kvp.OpSetIPInfo, IP: kvp.IPInfo{AdapterID: "hn0", AddrFamily: 3,
		IPAddr: "192.0.2.20;2001:db8:1::20", SubNet: "255.255.255.0;/64", Gateway: "192.0.2.1;2001:db8:1::1",
		DNSAddr: "192.0.2.54;2001:db8:1::54"}})
	if err != nil || r.Status != kvp.StatusOK {
		t.Fatalf("SET_IP_INFO: %v, %v\nagent log:\n%s", r.Status, err, e.stderr)
	}
	// The live steps run after the reply.
	for i := 0; !strings.Contains(e.stderr.String(), `msg="set_ip_info applied"`); i++ {
		if i == 3000 || strings.Contains(e.stderr.String(), "set_ip_info failed") {
			t.Fatalf("SET_IP_INFO not applied live\nagent log:\n%s", e.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rc := w.RCConf()
	want := [][]string{
		{"sysrc", "-f", rc, "defaultrouter=192.0.2.1", "ifconfig_hn0=inet 192.0.2.20 netmask 255.255.255.0",
			"ifconfig_hn0_ipv6=inet6 2001:db8:1::20 prefixlen 64", "ipv6_defaultrouter=2001:db8:1::1"},
		{"service", "dhclient", "forcestop", "hn0"},
		{"ifconfig", "hn0", "inet", "192.0.2.10", "-alias"},
		{"ifconfig", "hn0", "inet", "192.0.2.11", "-alias"},
		{"ifconfig", "hn0", "inet6", "2001:db8:1::10", "-alias"},
		{"ifconfig", "hn0", "inet", "192.0.2.20/24", "alias"},
		{"ifconfig", "hn0", "inet6", "2001:db8:1::20/64", "alias"},
		// both default routes already point at the requested gateways
	}
	if got := argvs(t, w); !reflect.DeepEqual(got, want) {
		t.Errorf("commands mismatch (-want +got):\n-%q\n+%q", want, got)
	}
	wantRC := "hostname=\"vm\"\nifconfig_hn0=\"inet 192.0.2.20 netmask 255.255.255.0\"\ndefaultrouter=\"192.0.2.1\"\n" +
		"ifconfig_hn0_ipv6=\"inet6 2001:db8:1::20 prefixlen 64\"\nipv6_defaultrouter=\"2001:db8:1::1\"\n"
	if b, _ := os.ReadFile(rc); string(b) != wantRC {
		t.Errorf("rc.conf:\n%s\nwant:\n%s", b, wantRC)
	}
	wantResolv := "search example.test\noptions edns0\nnameserver 192.0.2.54\nnameserver 2001:db8:1::54\n"
	if b, _ := os.ReadFile(ns.path("resolv.conf")); string(b) != wantResolv {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", b, wantResolv)
	}
	e.stop()
	log := e.stderr.String()
	if !strings.Contains(log, `interface=hn0 target=hn0 mode=native before="dhcp addrs=[192.0.2.10/24,192.0.2.11/24,2001:db8:1::10/64] gateways=[192.0.2.1,2001:db8:1::1] dns=[192.0.2.53,2001:db8:1::53]"`) {
		t.Errorf("no audit line with the state before:\n%s", log)
	}
}

// linuxIPNetns is a network namespace standing in for a Linux guest with
// an accelerated NIC: eth0, the synthetic NIC (a bridge, so that a link
// can have it as IFLA_MASTER as hv_netvsc's VF has), with addresses and
// both default routes; enP1s1, the VF (a veth end made first, so listed
// first), with eth0's MAC, enslaved to eth0 and with an address of its
// own. It returns the namespace's name and eth0's ifindex.
func linuxIPNetns(t *testing.T, mac string) (string, int) {
	t.Helper()
	needRoot(t)
	ns := fmt.Sprintf("hvagent-e2e-linux-%d", os.Getpid())
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	n := []string{"-n", ns}
	ipCmd(t, append(n, "link", "add", "enP1s1", "type", "veth", "peer", "name", "vfpeer")...)
	ipCmd(t, append(n, "link", "add", "eth0", "type", "bridge")...)
	for _, l := range []string{"enP1s1", "eth0", "vfpeer"} {
		ipCmd(t, append(n, "link", "set", l, "addrgenmode", "none")...)
	}
	ipCmd(t, append(n, "link", "set", "eth0", "address", mac)...)
	ipCmd(t, append(n, "link", "set", "enP1s1", "address", mac, "master", "eth0")...)
	for _, l := range []string{"vfpeer", "enP1s1", "eth0"} {
		ipCmd(t, append(n, "link", "set", l, "up")...)
	}
	ipCmd(t, append(n, "addr", "add", "10.9.9.9/8", "dev", "enP1s1")...)
	ipCmd(t, append(n, "addr", "add", "192.0.2.10/24", "dev", "eth0")...)
	ipCmd(t, append(n, "addr", "add", "2001:db8:1::10/64", "dev", "eth0", "nodad")...)
	ipCmd(t, append(n, "route", "add", "default", "via", "192.0.2.1", "dev", "eth0")...)
	ipCmd(t, append(n, "-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "eth0")...)
	out, err := exec.Command("ip", append(n, "-o", "link", "show", "eth0")...).Output()
	if err != nil {
		t.Fatal(err)
	}
	idx, _, _ := strings.Cut(string(out), ":")
	index, err := strconv.Atoi(idx)
	if err != nil {
		t.Fatalf("eth0's index in %q: %v", out, err)
	}
	return ns, index
}

// The real binary speaking the Linux KVP protocol in a namespace the
// test made answers GET_IP_INFO from the Linux system: eth0's addresses
// and routes from rtnetlink, never those of the VF that shares its MAC;
// DNS from systemd-resolved's upstream servers, not its stub; DHCP from
// NetworkManager's state and netplan's profile in a root the test made
// (--kvp.net-root).
func TestE2EGetIPInfoLinuxNetns(t *testing.T) {
	const mac = "00:15:5d:e2:e0:17"
	ns, index := linuxIPNetns(t, mac)
	root := t.TempDir()
	for p, c := range map[string]string{
		"etc/resolv.conf":                                   "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example.test\n",
		"run/systemd/resolve/resolv.conf":                   "nameserver 168.63.129.16\nnameserver 2001:db8:1::53\n",
		"run/NetworkManager/devices/" + strconv.Itoa(index): "[device]\nmanaged=true\nconnection-uuid=0b1a7f3e-3b7c-4e51-9bd5-d6edd65f3e03\n",
		"run/NetworkManager/system-connections/netplan-eth0.nmconnection": "[connection]\nid=netplan-eth0\n" +
			"uuid=0b1a7f3e-3b7c-4e51-9bd5-d6edd65f3e03\ntype=ethernet\ninterface-name=eth0\n[ipv4]\nmethod=auto\n",
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, kvptest.KernelOptions{Protocol: kvp.Linux})
	e.wrap = []string{"ip", "netns", "exec", ns}
	e.start("--kvp.net-root", root, "--kvp.resolv-conf", filepath.Join(root, "etc/resolv.conf"),
		"--kvp.run-dir", filepath.Join(root, "run"), "--kvp.set-ip-hook", filepath.Join(root, "set-ip-hook"))
	ctx := ctxT(t)
	hostMAC := strings.ToUpper(strings.ReplaceAll(mac, ":", "-"))
	want := kvp.IPInfo{
		AdapterID:   hostMAC,
		AddrFamily:  3,
		DHCPEnabled: 1,
		IPAddr:      "192.0.2.10;2001:db8:1::10",
		SubNet:      "255.255.255.0;/64",
		Gateway:     "192.0.2.1;2001:db8:1::1",
		DNSAddr:     "168.63.129.16;2001:db8:1::53",
	}
	for range 2 { // the second from the agent's memory
		got, st, err := e.host.GetIPInfo(ctx, hostMAC)
		if err != nil || st != kvp.StatusOK {
			t.Fatalf("GET_IP_INFO %s: %v, %v\nagent log:\n%s", hostMAC, st, err, e.stderr)
		}
		if got != want {
			t.Fatalf("GET_IP_INFO mismatch (-want +got):\n-%+v\n+%+v", want, got)
		}
	}
	e.stop()
}
