package netinfo

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/kvp"
)

// The synthetic NIC's VMBus instance GUID as sysfs shows it
// (drivers/hv/vmbus_drv.c, device_id_show: braced, lower case) and as a
// host may send it.
const (
	setGUID     = "{0c5d5e5f-1a2b-4c3d-8e9f-a0b1c2d3e4f5}"
	setGUIDHost = "{0C5D5E5F-1A2B-4C3D-8E9F-A0B1C2D3E4F5}"
	otherGUID   = "{7d1e0b5a-0000-4c3d-8e9f-a0b1c2d3e4f5}"
)

// setEth0 is the synthetic NIC as netlink lists it; its VF, enP1s1, has
// the same MAC and eth0 as its master.
var (
	setEth0 = Link{Name: "eth0", Index: 3, MAC: mustMAC("00:15:5d:0a:0b:0c"), Addrs: prefixes("192.0.2.99/24")}
	setVF   = Link{Name: "enP1s1", Index: 4, MAC: mustMAC("00:15:5d:0a:0b:0c"), Master: 3}
)

// sysfsTree lays out root/sys/class/net as Linux does on a Hyper-V
// guest: lo without a device, eth0 and eth1 on VMBus with their
// instance GUIDs, and the VF enP1s1 enslaved to eth0. The VF is given
// eth0's GUID too, so that only the master rule keeps it out.
func sysfsTree(t *testing.T, root string) {
	t.Helper()
	net := filepath.Join(root, "sys", "class", "net")
	for name, id := range map[string]string{"eth0": setGUID + "\n", "eth1": otherGUID + "\n", "enP1s1": setGUID + "\n", "lo": ""} {
		dev := filepath.Join(net, name, "device")
		if err := os.MkdirAll(dev, 0o755); err != nil {
			t.Fatal(err)
		}
		if id != "" {
			write(t, filepath.Join(dev, "device_id"), id)
		}
	}
	if err := os.Symlink("../eth0", filepath.Join(net, "enP1s1", "master")); err != nil {
		t.Fatal(err)
	}
}

func TestAdapterByGUID(t *testing.T) {
	root := t.TempDir()
	sysfsTree(t, root)
	dir := filepath.Join(root, "sys", "class", "net")
	for _, tc := range []struct {
		id, want string
		found    bool
	}{
		{setGUID, "eth0", true},
		{setGUIDHost, "eth0", true},
		{strings.Trim(setGUIDHost, "{}"), "eth0", true},
		{otherGUID, "eth1", true},
		{"{11111111-2222-3333-4444-555555555555}", "", false},
		{"{" + strings.Trim(setGUID, "{}"), "", false}, // one brace
		{"eth0", "", false},
		{"", "", false},
	} {
		got, found, err := adapterByGUID(dir, tc.id)
		if err != nil || got != tc.want || found != tc.found {
			t.Errorf("adapterByGUID(%q) = %q, %v, %v; want %q, %v", tc.id, got, found, err, tc.want, tc.found)
		}
	}
	if _, _, err := adapterByGUID(filepath.Join(root, "absent"), setGUID); err == nil {
		t.Error("a sysfs directory that cannot be listed: no error")
	}
}

func TestCheckLinuxName(t *testing.T) {
	for _, ok := range []string{"eth0", "enP1s1", "ens3f0.100", "wan_1", "a-b", "abcdefghijklmno"} {
		if err := checkLinuxName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "abcdefghijklmnop", "-eth0", ".eth0", "eth*", "eth0;x", "eth 0", "eth\"0", "eth#0", "eth0\n", "ethé"} {
		if err := checkLinuxName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// linuxEnv is a Linux guest for SET_IP_INFO: a test-made root with sysfs
// and the files that say which manager owns eth0, fake manager commands
// alone on PATH that record their argument vectors, and a kvp.Service
// in front.
type linuxEnv struct {
	t       *testing.T
	root    string
	calls   string // the fakes' record: one line per command
	svc     *Service
	kvp     *kvp.Service
	logs    *bytes.Buffer
	reg     *prometheus.Registry
	metrics *Metrics
}

// fakeScript records its name and arguments, one line per run, and
// exits with the status in the file NAME.exit beside it, if any. It
// uses shell built-ins only: PATH holds nothing else.
const fakeScript = `#!/bin/sh
d=${0%/*} n=${0##*/}
echo "$n $*" >> "$d/calls"
if [ -f "$d/$n.exit" ]; then read -r code < "$d/$n.exit"; exit "$code"; fi
exit 0
`

func newLinuxEnv(t *testing.T, files map[string]string) *linuxEnv {
	t.Helper()
	root := makeTree(t, files)
	sysfsTree(t, root)
	bin := t.TempDir()
	for _, name := range []string{"nmcli", "networkctl", "netplan"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(fakeScript), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	dir := t.TempDir()
	logs := &bytes.Buffer{}
	reg := prometheus.NewRegistry()
	e := &linuxEnv{t: t, root: root, calls: filepath.Join(bin, "calls"), logs: logs, reg: reg, metrics: NewMetrics(reg)}
	e.svc = New(Config{
		Linux:      true,
		Root:       root,
		Links:      func() ([]Link, error) { return []Link{setEth0, setVF}, nil },
		Routes:     func() ([]Route, error) { return nil, nil },
		RCConf:     filepath.Join(dir, "rc.conf"),
		ResolvConf: filepath.Join(dir, "resolv.conf"),
		RunDir:     dir, ResolvconfDB: filepath.Join(dir, "resolvconf"), ProcDir: "-",
		Hook:      filepath.Join(dir, "libexec", "set-ip-hook"),
		HookFile:  filepath.Join(dir, "db", "set-ip.conf"),
		HookOwner: os.Getuid(),
		Log:       slog.New(slog.NewTextHandler(logs, nil)),
		Metrics:   e.metrics,
		Budget:    time.Minute,
	})
	store, err := kvp.OpenStore(filepath.Join(dir, "pool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.kvp = kvp.NewService(kvp.ServiceConfig{Store: store, IP: e.svc, Metrics: kvp.NewMetrics(reg)})
	t.Cleanup(e.svc.Wait)
	return e
}

// set sends SET_IP_INFO as the Linux kernel passes it on (the adapter
// id untouched), waits until it has been applied, and returns the
// reply's status.
func (e *linuxEnv) set(ip kvp.IPInfo) kvp.Status {
	e.t.Helper()
	b, err := kvp.EncodeRequest(kvp.Msg{Op: kvp.OpSetIPInfo, IP: ip})
	if err != nil {
		e.t.Fatal(err)
	}
	st := kvpStatus(e.t, e.kvp.Handle(b))
	e.svc.Wait()
	return st
}

// ran lists the commands the fakes ran, as "name arg...".
func (e *linuxEnv) ran() []string {
	b, err := os.ReadFile(e.calls)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// file returns the content and mode of the file at p, a path on the
// guest.
func (e *linuxEnv) file(p string) (string, os.FileMode) {
	e.t.Helper()
	full := filepath.Join(e.root, p)
	b, err := os.ReadFile(full)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := os.Lstat(full)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b), st.Mode()
}

func (e *linuxEnv) rejected(reason string) float64 {
	return testutil.ToFloat64(e.metrics.Rejected.WithLabelValues(reason))
}

// staticV46: two IPv4 addresses, one IPv6, a gateway of each family and
// a second IPv4 one (ignored: one default route per family), DNS
// servers of both families.
var staticV46 = kvp.IPInfo{AdapterID: setGUIDHost, AddrFamily: 3,
	IPAddr: "192.0.2.10;192.0.2.11;2001:db8::10", SubNet: "255.255.255.0;255.255.255.128;/64",
	Gateway: "192.0.2.1;fe80::1;192.0.2.2", DNSAddr: "192.0.2.53;2001:db8::53"}

var dhcpOnly = kvp.IPInfo{AdapterID: setGUIDHost, AddrFamily: 3, DHCPEnabled: 1}

// The trees that make each manager own eth0, as a system shows them.
var (
	treeNM = map[string]string{
		"/run/NetworkManager/devices/3": "[device]\nmanaged=true\nconnection-uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n",
		"/etc/NetworkManager/system-connections/Wired.nmconnection": "[connection]\nid=Wired\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\n" +
			"type=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n",
	}
	treeNetworkd = map[string]string{
		"/run/systemd/netif/links/3":                      "ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/10-cloud-init-eth0.network\n",
		"/etc/systemd/network/10-cloud-init-eth0.network": "[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n",
	}
	treeNetplan = map[string]string{
		"/etc/netplan/50-cloud-init.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n" +
			"      match:\n        macaddress: \"00:15:5d:0a:0b:0c\"\n        driver: hv_netvsc\n      set-name: eth0\n",
		"/run/systemd/netif/links/3":                   "ADMIN_STATE=configured\nNETWORK_FILE=/run/systemd/network/10-netplan-eth0.network\n",
		"/run/systemd/network/10-netplan-eth0.network": "[Match]\nPermanentMACAddress=00:15:5d:0a:0b:0c\nName=eth0\n\n[Network]\nDHCP=ipv4\n",
	}
)

const header = "# Written by hvagent from the Hyper-V host's SET_IP_INFO request; the next\n" +
	"# one for this interface replaces it (hvagent(8), NETWORK CONFIGURATION).\n"

// Each manager gets its own format, at its own path and mode, and its
// own commands after the reply; the VF is never configured.
func TestLinuxSetIPInfoWrites(t *testing.T) {
	uuid := nameUUID("NetworkManager connection eth0")
	nmPath := "/etc/NetworkManager/system-connections/hvagent-eth0.nmconnection"
	ndPath := "/etc/systemd/network/05-hvagent-eth0.network"
	npPath := "/etc/netplan/90-hvagent-eth0.yaml"
	for _, tc := range []struct {
		name, path string
		tree       map[string]string
		req        kvp.IPInfo
		want       string
		mode       os.FileMode
		cmds       []string
	}{{
		name: "NetworkManager static", tree: treeNM, req: staticV46, path: nmPath, mode: 0o600,
		want: header + "[connection]\nid=hvagent-eth0\nuuid=" + uuid + "\ntype=ethernet\ninterface-name=eth0\nautoconnect=true\nautoconnect-priority=100\n" +
			"\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24\naddress2=192.0.2.11/25\ngateway=192.0.2.1\ndns=192.0.2.53;\n" +
			"\n[ipv6]\nmethod=manual\naddress1=2001:db8::10/64\ngateway=fe80::1\ndns=2001:db8::53;\n",
		cmds: []string{"nmcli connection load ROOT" + nmPath, "nmcli connection up uuid " + uuid},
	}, {
		name: "NetworkManager DHCP", tree: treeNM, req: dhcpOnly, path: nmPath, mode: 0o600,
		want: header + "[connection]\nid=hvagent-eth0\nuuid=" + uuid + "\ntype=ethernet\ninterface-name=eth0\nautoconnect=true\nautoconnect-priority=100\n" +
			"\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
		cmds: []string{"nmcli connection load ROOT" + nmPath, "nmcli connection up uuid " + uuid},
	}, {
		name: "NetworkManager IPv4 only", tree: treeNM, path: nmPath, mode: 0o600,
		req: kvp.IPInfo{AdapterID: setGUID, AddrFamily: 1, IPAddr: "192.0.2.10", SubNet: "255.255.255.0", Gateway: "192.0.2.1", DNSAddr: "192.0.2.53;2001:db8::53"},
		want: header + "[connection]\nid=hvagent-eth0\nuuid=" + uuid + "\ntype=ethernet\ninterface-name=eth0\nautoconnect=true\nautoconnect-priority=100\n" +
			"\n[ipv4]\nmethod=manual\naddress1=192.0.2.10/24\ngateway=192.0.2.1\ndns=192.0.2.53;\n" +
			"\n[ipv6]\nmethod=link-local\ndns=2001:db8::53;\n",
		cmds: []string{"nmcli connection load ROOT" + nmPath, "nmcli connection up uuid " + uuid},
	}, {
		name: "networkd static", tree: treeNetworkd, req: staticV46, path: ndPath, mode: 0o644,
		want: header + "[Match]\nName=eth0\n\n[Network]\nDHCP=no\nIPv6AcceptRA=no\n" +
			"Address=192.0.2.10/24\nAddress=192.0.2.11/25\nAddress=2001:db8::10/64\n" +
			"Gateway=192.0.2.1\nGateway=fe80::1\nDNS=192.0.2.53\nDNS=2001:db8::53\n",
		cmds: []string{"networkctl reload", "networkctl reconfigure eth0"},
	}, {
		name: "networkd DHCP", tree: treeNetworkd, req: dhcpOnly, path: ndPath, mode: 0o644,
		want: header + "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
		cmds: []string{"networkctl reload", "networkctl reconfigure eth0"},
	}, {
		name: "netplan static", tree: treeNetplan, req: staticV46, path: npPath, mode: 0o600,
		want: header + "network:\n  version: 2\n  ethernets:\n    \"eth0\":\n" +
			"      dhcp4: false\n      dhcp6: false\n      accept-ra: false\n" +
			"      addresses:\n        - \"192.0.2.10/24\"\n        - \"192.0.2.11/25\"\n        - \"2001:db8::10/64\"\n" +
			"      routes:\n        - to: default\n          via: \"192.0.2.1\"\n        - to: default\n          via: \"fe80::1\"\n" +
			"      nameservers:\n        addresses:\n          - \"192.0.2.53\"\n          - \"2001:db8::53\"\n",
		cmds: []string{"netplan apply"},
	}, {
		name: "netplan DHCP", tree: treeNetplan, req: dhcpOnly, path: npPath, mode: 0o600,
		want: header + "network:\n  version: 2\n  ethernets:\n    \"eth0\":\n      dhcp4: true\n      dhcp6: true\n",
		cmds: []string{"netplan apply"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLinuxEnv(t, tc.tree)
			if st := e.set(tc.req); st != kvp.StatusOK {
				t.Fatalf("status %v, want success; log:\n%s", st, e.logs)
			}
			got, mode := e.file(tc.path)
			if got != tc.want {
				t.Errorf("%s:\n%s\nwant:\n%s", tc.path, got, tc.want)
			}
			if mode != tc.mode {
				t.Errorf("%s: mode %v, want %v", tc.path, mode, tc.mode)
			}
			var want []string
			for _, c := range tc.cmds {
				want = append(want, strings.Replace(c, "ROOT", e.root, 1))
			}
			if got := e.ran(); !slices.Equal(got, want) {
				t.Errorf("commands %q, want %q", got, want)
			}
			if strings.Contains(got, "enP1s1") || !strings.Contains(e.logs.String(), `msg="set_ip_info applied"`) {
				t.Errorf("VF named, or not applied; log:\n%s", e.logs)
			}
			leftovers, _ := filepath.Glob(filepath.Join(e.root, filepath.Dir(tc.path), ".*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

// A second request for the interface replaces the file hvagent wrote,
// whatever was planted at its temporary name, and a symbolic link at
// its path is replaced, not written through.
func TestLinuxSetIPInfoReplaces(t *testing.T) {
	e := newLinuxEnv(t, treeNetworkd)
	dir := filepath.Join(e.root, "etc", "systemd", "network")
	victim := filepath.Join(t.TempDir(), "victim")
	write(t, victim, "keep\n")
	if err := os.Symlink(victim, filepath.Join(dir, ".05-hvagent-eth0.network.hvagent-tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, "05-hvagent-eth0.network")); err != nil {
		t.Fatal(err)
	}
	if st := e.set(staticV46); st != kvp.StatusOK {
		t.Fatalf("static: %v; log:\n%s", st, e.logs)
	}
	if st := e.set(dhcpOnly); st != kvp.StatusOK {
		t.Fatalf("DHCP: %v; log:\n%s", st, e.logs)
	}
	if got, mode := e.file("/etc/systemd/network/05-hvagent-eth0.network"); !strings.HasSuffix(got, "DHCP=yes\n") || !mode.IsRegular() {
		t.Errorf("after DHCP, a %v holding:\n%s", mode, got)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep\n" {
		t.Errorf("written through a symbolic link: %q", b)
	}
	if n := len(e.ran()); n != 4 {
		t.Errorf("%d commands, want 2 per request: %q", n, e.ran())
	}
}

// Requests that cannot be applied change nothing: no file, no command,
// the reason counted and logged.
func TestLinuxSetIPInfoRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tree   map[string]string
		req    kvp.IPInfo
		status kvp.Status
		reason string
		log    string
	}{
		{"unknown GUID", treeNM, kvp.IPInfo{AdapterID: "{11111111-2222-3333-4444-555555555555}", IPAddr: "192.0.2.10", SubNet: "/24"},
			kvp.StatusGUIDNotFound, "adapter_not_found", "no network interface has VMBus device"},
		{"interface name instead of a GUID", treeNM, kvp.IPInfo{AdapterID: "eth0", IPAddr: "192.0.2.10", SubNet: "/24"},
			kvp.StatusInvalidArg, "interface", "is not a VMBus GUID"},
		{"hostile address", treeNM, kvp.IPInfo{AdapterID: setGUID, IPAddr: "192.0.2.10; reboot", SubNet: "/24"},
			kvp.StatusInvalidArg, "address", "set_ip_info rejected"},
		{"gateway outside", treeNetworkd, kvp.IPInfo{AdapterID: setGUID, IPAddr: "192.0.2.10", SubNet: "/24", Gateway: "198.51.100.1"},
			kvp.StatusInvalidArg, "gateway", "not inside any of the new prefixes"},
		{"no manager", map[string]string{"/etc/hostname": "vm\n"}, staticV46,
			kvp.StatusFail, "unsupported", "no network manager hvagent writes for"},
		{"ifupdown", map[string]string{"/etc/network/interfaces": "auto eth0\niface eth0 inet dhcp\n"}, staticV46,
			kvp.StatusFail, "unsupported", "ifupdown configures eth0"},
		{"networkd file that would still win", map[string]string{
			"/run/systemd/netif/links/3":            "ADMIN_STATE=configured\nNETWORK_FILE=/etc/systemd/network/00-admin.network\n",
			"/etc/systemd/network/00-admin.network": "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
		}, staticV46, kvp.StatusFail, "unsupported", "sorts before 05-hvagent-eth0.network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLinuxEnv(t, tc.tree)
			before := snapshotTree(t, e.root)
			if st := e.set(tc.req); st != tc.status {
				t.Fatalf("status %v, want %v; log:\n%s", st, tc.status, e.logs)
			}
			if n := e.rejected(tc.reason); n != 1 {
				t.Errorf("rejected{reason=%q} = %v, want 1", tc.reason, n)
			}
			if !strings.Contains(e.logs.String(), tc.log) || !strings.Contains(e.logs.String(), "nothing changed") {
				t.Errorf("log lacks %q:\n%s", tc.log, e.logs)
			}
			if after := snapshotTree(t, e.root); !slices.Equal(before, after) {
				t.Errorf("files changed:\nbefore %q\nafter  %q", before, after)
			}
			if got := e.ran(); got != nil {
				t.Errorf("commands ran: %q", got)
			}
		})
	}
}

// A manager command missing from PATH refuses the request before
// anything is written; a failing one is a failure after the reply,
// counted, with the file already written.
func TestLinuxSetIPInfoCommands(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		e := newLinuxEnv(t, treeNM)
		if err := os.Remove(filepath.Join(filepath.Dir(e.calls), "nmcli")); err != nil {
			t.Fatal(err)
		}
		if st := e.set(staticV46); st != kvp.StatusFail || e.rejected("unsupported") != 1 {
			t.Fatalf("status %v; log:\n%s", st, e.logs)
		}
		if _, err := os.Stat(filepath.Join(e.root, nmConnectionsDir, "hvagent-eth0.nmconnection")); !os.IsNotExist(err) {
			t.Errorf("keyfile written without nmcli: %v", err)
		}
	})
	t.Run("failing", func(t *testing.T) {
		e := newLinuxEnv(t, treeNM)
		write(t, filepath.Join(filepath.Dir(e.calls), "nmcli.exit"), "4")
		if st := e.set(staticV46); st != kvp.StatusOK {
			t.Fatalf("status %v; log:\n%s", st, e.logs)
		}
		if got := e.ran(); len(got) != 1 || !strings.HasPrefix(got[0], "nmcli connection load ") {
			t.Errorf("commands %q: want the load alone, no up after it failed", got)
		}
		if n := testutil.ToFloat64(e.metrics.ApplyFailures); n != 1 || !strings.Contains(e.logs.String(), "set_ip_info failed after the reply") {
			t.Errorf("apply failures %v; log:\n%s", n, e.logs)
		}
	})
}

// An installed hook gets the request instead of the manager, with the
// interface sysfs named.
func TestLinuxSetIPInfoHook(t *testing.T) {
	e := newLinuxEnv(t, treeNM)
	hook := e.svc.cfg.Hook
	if err := os.MkdirAll(filepath.Dir(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hook, []byte("#!/bin/sh\nwhile IFS= read -r l; do printf '%s\\n' \"$l\"; done < \"$1\" > \"$1.seen\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if hook, err := hookState(hook, os.Getuid()); !hook || err != nil {
		t.Skipf("the test's temporary directories cannot hold a trusted hook: %v", err)
	}
	if st := e.set(staticV46); st != kvp.StatusOK {
		t.Fatalf("status %v; log:\n%s", st, e.logs)
	}
	b, err := os.ReadFile(e.svc.cfg.HookFile + ".seen")
	if err != nil {
		t.Fatalf("hook did not run: %v; log:\n%s", err, e.logs)
	}
	for _, line := range []string{`INTERFACE="eth0"`, `IPV4_ADDRESSES="192.0.2.10/24 192.0.2.11/25"`, `IPV6_GATEWAYS="fe80::1%eth0"`} {
		if !strings.Contains(string(b), line+"\n") {
			t.Errorf("hook file lacks %s:\n%s", line, b)
		}
	}
	if got := e.ran(); got != nil {
		t.Errorf("manager commands ran beside the hook: %q", got)
	}
	if _, err := os.Stat(filepath.Join(e.root, nmConnectionsDir, "hvagent-eth0.nmconnection")); !os.IsNotExist(err) {
		t.Errorf("keyfile written beside the hook: %v", err)
	}
}

func TestNameUUID(t *testing.T) {
	v5 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := nameUUID("NetworkManager connection eth0"), nameUUID("NetworkManager connection eth1")
	if !v5.MatchString(a) || !v5.MatchString(b) || a == b || a != nameUUID("NetworkManager connection eth0") {
		t.Errorf("UUIDs %s, %s: want distinct, stable version 5 UUIDs", a, b)
	}
}

// snapshotTree lists every path under root with its size and mode.
func snapshotTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d", strings.TrimPrefix(p, root), fi.Mode(), fi.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// kvpStatus is a reply's status, bytes 0-3.
func kvpStatus(t *testing.T, reply []byte) kvp.Status {
	t.Helper()
	if len(reply) < 4 {
		t.Fatalf("reply of %d bytes", len(reply))
	}
	return kvp.Status(binary.LittleEndian.Uint32(reply))
}

// FuzzLinuxConfig: whatever the host sends, a request that passes
// validation renders, for every manager, only lines of the shapes the
// formats use, made of characters none of them treats specially beyond
// its own syntax: nothing the host sends can add a key, a section or a
// YAML node.
func FuzzLinuxConfig(f *testing.F) {
	for _, ip := range []kvp.IPInfo{staticV46, dhcpOnly, {IPAddr: "192.0.2.10\n[ipv4]", SubNet: "/24"},
		{IPAddr: "fe80::1%eth0;2001:db8::1", SubNet: "/64;/64", Gateway: "fe80::1", DNSAddr: "fe80::53"}} {
		f.Add(ip.DHCPEnabled, ip.IPAddr, ip.SubNet, ip.Gateway, ip.DNSAddr)
	}
	line := regexp.MustCompile(`^(#.*|\[[a-zA-Z0-9]+\]|[A-Za-z0-9-]+=[A-Za-z0-9.:/;_-]*| *(- )?"?[a-z0-9-]+"?:( [a-z0-9]+| "[0-9a-f.:/]+")?| +- "[0-9a-f.:/]+"|)$`)
	f.Fuzz(func(t *testing.T, dhcp uint8, addrs, subnets, gws, dns string) {
		set, err := parseSettingFor("eth0", kvp.IPInfo{DHCPEnabled: dhcp, IPAddr: addrs, SubNet: subnets, Gateway: gws, DNSAddr: dns})
		if err != nil {
			return
		}
		for _, m := range []linuxManager{networkManager, networkd, netplan} {
			out := renderLinux(m, "/", linuxNetOf(set))
			for _, l := range strings.Split(string(out.data), "\n") {
				if !line.MatchString(l) {
					t.Fatalf("%s: line %q in:\n%s", m, l, out.data)
				}
			}
		}
	})
}

// One default gateway per family that has a static address is written;
// the rest are logged. A DHCP request's gateways are DHCP's business.
func TestLinuxSetIPInfoGateways(t *testing.T) {
	e := newLinuxEnv(t, treeNetworkd)
	req := kvp.IPInfo{AdapterID: setGUID, IPAddr: "192.0.2.10", SubNet: "/24", Gateway: "192.0.2.1;192.0.2.2;fe80::1"}
	if st := e.set(req); st != kvp.StatusOK {
		t.Fatalf("status %v; log:\n%s", st, e.logs)
	}
	got, _ := e.file("/etc/systemd/network/05-hvagent-eth0.network")
	if !strings.Contains(got, "Gateway=192.0.2.1\n") || strings.Contains(got, "192.0.2.2") || strings.Contains(got, "fe80::1") {
		t.Errorf("gateways written:\n%s", got)
	}
	if !strings.Contains(e.logs.String(), "ignored=\"[192.0.2.2 fe80::1]\"") {
		t.Errorf("ignored gateways not logged:\n%s", e.logs)
	}
	e.logs.Reset()
	if st := e.set(kvp.IPInfo{AdapterID: setGUID, DHCPEnabled: 1, Gateway: "192.0.2.1"}); st != kvp.StatusOK {
		t.Fatalf("DHCP: status %v; log:\n%s", st, e.logs)
	}
	if strings.Contains(e.logs.String(), "ignor") {
		t.Errorf("DHCP request's gateway warned about:\n%s", e.logs)
	}
}
