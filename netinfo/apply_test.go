package netinfo

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/kvp"
)

const (
	origRC     = "hostname=\"vm1\"\nifconfig_hn0=\"DHCP\"\nifconfig_hn0_alias0=\"inet 10.9.9.9/32\"\nifconfig_hn1=\"DHCP\"\n"
	origResolv = "# written by the installer\nsearch corp.example\nnameserver 10.0.0.2\noptions edns0\n"
)

// applyEnv is a guest with hn0 (192.0.2.99/24, default route via
// 192.0.2.254), fake commands on PATH, and a kvp.Service in front.
type applyEnv struct {
	t       *testing.T
	dir     string
	log     string
	cfg     Config
	svc     *Service
	kvp     *kvp.Service
	logs    *bytes.Buffer
	metrics *Metrics
}

func newApplyEnv(t *testing.T, links []Link) *applyEnv {
	t.Helper()
	dir, cmdLog := fakeBin(t)
	if links == nil {
		links = []Link{
			{Name: "hn0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24", "fe80::215:5dff:fe0a:b0c/64")},
			{Name: "mce0", MAC: mustMAC(macHN0)},
		}
	}
	routes := []Route{{Link: "hn0", Gateway: netip.MustParseAddr("192.0.2.254")}}
	for _, d := range []string{"run", "proc", "resolvconf", "pool"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "rc.conf"), origRC)
	write(t, filepath.Join(dir, "resolv.conf"), origResolv)
	t.Setenv(fakeRCConfEnv, filepath.Join(dir, "rc.conf"))
	t.Setenv(fakeResolvconfEnv, filepath.Join(dir, "resolvconf"))
	logs := &bytes.Buffer{}
	reg := prometheus.NewRegistry()
	e := &applyEnv{t: t, dir: dir, log: cmdLog, logs: logs, metrics: NewMetrics(reg)}
	e.cfg = Config{
		Links:        func() ([]Link, error) { return links, nil },
		Routes:       func() ([]Route, error) { return routes, nil },
		RCConf:       filepath.Join(dir, "rc.conf"),
		ResolvConf:   filepath.Join(dir, "resolv.conf"),
		ResolvconfDB: filepath.Join(dir, "resolvconf"),
		RunDir:       filepath.Join(dir, "run"),
		ProcDir:      filepath.Join(dir, "proc"),
		Hook:         filepath.Join(dir, "libexec", "set-ip-hook"),
		HookFile:     filepath.Join(dir, "db", "set-ip.conf"),
		HookOwner:    os.Getuid(),
		Log:          slog.New(slog.NewTextHandler(logs, nil)),
		Metrics:      e.metrics,
		// Each fake is a start of the test binary, possibly race-enabled,
		// on a shared machine: slower than the real commands.
		Budget: time.Minute,
	}
	store, err := kvp.OpenStore(filepath.Join(dir, "pool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.svc = New(e.cfg)
	e.kvp = kvp.NewService(kvp.ServiceConfig{Store: store, IP: e.svc})
	t.Cleanup(e.svc.Wait)
	return e
}

// set sends SET_IP_INFO as the kernel would, waits until the change
// has been applied live, and returns the reply status.
func (e *applyEnv) set(ip kvp.IPInfo) kvp.Status {
	e.t.Helper()
	st := e.reply(ip)
	e.svc.Wait()
	return st
}

// reply sends SET_IP_INFO and returns the reply status at once.
func (e *applyEnv) reply(ip kvp.IPInfo) kvp.Status {
	e.t.Helper()
	b, err := kvp.EncodeRequest(kvp.Msg{Op: kvp.OpSetIPInfo, IP: ip})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.raw(b)
}

func (e *applyEnv) raw(b []byte) kvp.Status {
	e.t.Helper()
	reply := e.kvp.Handle(b)
	if len(reply) != kvp.MsgSize {
		e.t.Fatalf("reply of %d bytes", len(reply))
	}
	return kvp.Status(binary.LittleEndian.Uint32(reply))
}

func (e *applyEnv) file(name string) string {
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *applyEnv) rc() string { return filepath.Join(e.dir, "rc.conf") }

func TestSetIPInfoNative(t *testing.T) {
	tests := []struct {
		name       string
		links      []Link
		in         kvp.IPInfo
		wantCmds   func(rc string) [][]string
		wantResolv string
	}{
		{
			name: "static IPv4",
			in:   kvp.IPInfo{AdapterID: "hn0", AddrFamily: 1, IPAddr: "192.0.2.10", SubNet: "255.255.255.0", Gateway: "192.0.2.1", DNSAddr: "192.0.2.53"},
			wantCmds: func(rc string) [][]string {
				return [][]string{
					{"sysrc", "-f", rc, "defaultrouter=192.0.2.1", "ifconfig_hn0=inet 192.0.2.10 netmask 255.255.255.0"},
					{"sysrc", "-f", rc, "-x", "ifconfig_hn0_alias0"},
					{"ifconfig", "hn0", "inet", "192.0.2.99", "-alias"},
					{"ifconfig", "hn0", "inet", "192.0.2.10/24", "alias"},
					{"route", "-n", "delete", "-inet", "default"},
					{"route", "-n", "add", "-inet", "default", "192.0.2.1"},
				}
			},
			wantResolv: "# written by the installer\nsearch corp.example\nnameserver 192.0.2.53\noptions edns0\n",
		},
		{
			name: "static dual stack",
			in: kvp.IPInfo{AdapterID: "hn0", AddrFamily: 3, IPAddr: "192.0.2.10;2001:db8::10", SubNet: "255.255.255.0;/64",
				Gateway: "192.0.2.254;2001:db8::1", DNSAddr: "2001:db8::53;192.0.2.53"},
			wantCmds: func(rc string) [][]string {
				return [][]string{
					{"sysrc", "-f", rc, "defaultrouter=192.0.2.254", "ifconfig_hn0=inet 192.0.2.10 netmask 255.255.255.0",
						"ifconfig_hn0_ipv6=inet6 2001:db8::10 prefixlen 64", "ipv6_defaultrouter=2001:db8::1"},
					{"sysrc", "-f", rc, "-x", "ifconfig_hn0_alias0"},
					{"ifconfig", "hn0", "inet", "192.0.2.99", "-alias"},
					{"ifconfig", "hn0", "inet", "192.0.2.10/24", "alias"},
					{"ifconfig", "hn0", "inet6", "2001:db8::10/64", "alias"},
					// the IPv4 default route already points there
					{"route", "-n", "add", "-inet6", "default", "2001:db8::1"},
				}
			},
			wantResolv: "# written by the installer\nsearch corp.example\nnameserver 2001:db8::53\nnameserver 192.0.2.53\noptions edns0\n",
		},
		{
			name: "multiple addresses, address kept, lagg target",
			links: []Link{
				{Name: "hn0", MAC: mustMAC(macHN0)},
				{Name: "mce0", MAC: mustMAC(macHN0)},
				{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24", "192.0.2.11/24")},
			},
			in: kvp.IPInfo{AdapterID: "hn0", AddrFamily: 3, IPAddr: "192.0.2.10;192.0.2.11;2001:db8::10;2001:db8::11",
				SubNet: "255.255.255.0;255.255.255.0;/64;/64"},
			wantCmds: func(rc string) [][]string {
				return [][]string{
					{"sysrc", "-f", rc, "ifconfig_hn0=inet 192.0.2.10 netmask 255.255.255.0",
						"ifconfig_hn0_alias0=inet 192.0.2.11 netmask 255.255.255.0",
						"ifconfig_hn0_alias1=inet6 2001:db8::11 prefixlen 64",
						"ifconfig_hn0_ipv6=inet6 2001:db8::10 prefixlen 64"},
					{"ifconfig", "lagg0", "inet", "192.0.2.99", "-alias"},
					{"ifconfig", "lagg0", "inet", "192.0.2.10/24", "alias"},
					{"ifconfig", "lagg0", "inet6", "2001:db8::10/64", "alias"},
					{"ifconfig", "lagg0", "inet6", "2001:db8::11/64", "alias"},
				}
			},
			wantResolv: origResolv,
		},
		{
			name: "DHCP",
			in:   kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1},
			wantCmds: func(rc string) [][]string {
				return [][]string{
					{"sysrc", "-f", rc, "ifconfig_hn0=DHCP", "ifconfig_hn0_ipv6=inet6 accept_rtadv"},
					{"sysrc", "-f", rc, "-x", "ifconfig_hn0_alias0"},
					{"ifconfig", "hn0", "inet", "192.0.2.99", "-alias"},
					{"ifconfig", "hn0", "inet6", "accept_rtadv"},
					{"service", "dhclient", "forcerestart", "hn0"},
				}
			},
			wantResolv: origResolv,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t, tt.links)
			if st := e.set(tt.in); st != kvp.StatusOK {
				t.Fatalf("status %v\n%s", st, e.logs)
			}
			got, want := ranCommands(t, e.log), tt.wantCmds(e.rc())
			if !reflect.DeepEqual(got, want) {
				t.Errorf("commands mismatch (-want +got):\n-%q\n+%q", want, got)
			}
			if r := e.file("resolv.conf"); r != tt.wantResolv {
				t.Errorf("resolv.conf:\n%s\nwant:\n%s", r, tt.wantResolv)
			}
			if e.file("rc.conf") != viaSysrc(origRC, got) {
				t.Error("rc.conf was written directly; only sysrc may change it")
			}
			if n := strings.Count(e.logs.String(), "set_ip_info applied"); n != 1 ||
				!strings.Contains(e.logs.String(), "before=") || !strings.Contains(e.logs.String(), "after=") {
				t.Errorf("want one audit line with before and after, got:\n%s", e.logs)
			}
		})
	}
}

// viaSysrc is rc.conf after the sysrc commands among cmds.
func viaSysrc(orig string, cmds [][]string) string {
	for _, c := range cmds {
		if c[0] == "sysrc" {
			orig = sysrcEdit(orig, c[3:])
		}
	}
	return orig
}

// A running dhclient is stopped before a static configuration goes live.
// rc.d/dhclient refuses a plain stop once ifconfig_<if> is no longer
// DHCP (always for laggN): the fake service models that precheck.
func TestSetIPInfoStopsDHClient(t *testing.T) {
	for _, tt := range []struct {
		name, target string
		links        []Link
	}{
		{"hn", "hn0", nil},
		{"lagg", "lagg0", []Link{
			{Name: "hn0", MAC: mustMAC(macHN0)},
			{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24")},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t, tt.links)
			write(t, filepath.Join(e.dir, "run", "dhclient", "dhclient."+tt.target+".pid"), "1\n")
			if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.99", SubNet: "/24"}); st != kvp.StatusOK {
				t.Fatalf("status %v\n%s", st, e.logs)
			}
			cmds := ranCommands(t, e.log)
			want := []string{"service", "dhclient", "forcestop", tt.target}
			if len(cmds) != 3 || !reflect.DeepEqual(cmds[2], want) {
				t.Fatalf("commands %q, want sysrc, sysrc -x, then %q only (the address is already there)", cmds, want)
			}
		})
	}
}

func TestSetIPInfoHook(t *testing.T) {
	e := newApplyEnv(t, []Link{
		{Name: "hn0", MAC: mustMAC(macHN0)},
		{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24")},
	})
	installHook(t, e.cfg.Hook)
	st := e.set(kvp.IPInfo{AdapterID: "hn0", AddrFamily: 3, IPAddr: "192.0.2.10;2001:db8::10", SubNet: "255.255.255.0;/64",
		Gateway: "192.0.2.1;fe80::1", DNSAddr: "192.0.2.53"})
	if st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	if got, want := ranCommands(t, e.log), [][]string{{"set-ip-hook", e.cfg.HookFile}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %q, want only the hook: %q", got, want)
	}
	want := `# SET_IP_INFO from the Hyper-V host, validated by hvagent; see hvagent(8).
INTERFACE="hn0"
TARGET="lagg0"
DHCP="no"
IPV4_ADDRESSES="192.0.2.10/24"
IPV6_ADDRESSES="2001:db8::10/64"
IPV4_GATEWAYS="192.0.2.1"
IPV6_GATEWAYS="fe80::1%lagg0"
DNS_SERVERS="192.0.2.53"
`
	if got, err := os.ReadFile(e.log + ".hookfile"); err != nil || string(got) != want {
		t.Fatalf("hook file (%v):\n%s\nwant:\n%s", err, got, want)
	}
	if st, _ := os.Stat(e.cfg.HookFile); st.Mode().Perm() != 0o600 {
		t.Errorf("hook file mode %v, want 0600", st.Mode().Perm())
	}
	if e.file("resolv.conf") != origResolv {
		t.Error("resolv.conf changed although the hook handles the request")
	}
	// The hook runs after the reply: its failure is logged and counted.
	t.Setenv(fakeFailEnv, "set-ip-hook")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusOK {
		t.Fatalf("failing hook: status %v, want HV_S_OK", st)
	}
	if v := testutil.ToFloat64(e.metrics.ApplyFailures); v != 1 || !strings.Contains(e.logs.String(), "set-ip-hook: simulated failure") {
		t.Errorf("failing hook: apply failures %v, log:\n%s", v, e.logs)
	}
}

// installHook puts a copy of the test binary at path, mode 0755: run as
// set-ip-hook, it plays the fake hook.
func installHook(t *testing.T, path string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// Requests are handed to the hook one at a time, in order, each with
// its own file, even when the second arrives while the first's hook runs.
func TestSetIPInfoHookInOrder(t *testing.T) {
	e := newApplyEnv(t, nil)
	installHook(t, e.cfg.Hook)
	t.Setenv(fakeBlockEnv, "set-ip-hook")
	for _, ip := range []string{"192.0.2.10", "192.0.2.20"} {
		if st := e.reply(kvp.IPInfo{AdapterID: "hn0", IPAddr: ip, SubNet: "/24"}); st != kvp.StatusOK {
			t.Fatalf("status %v\n%s", st, e.logs)
		}
	}
	write(t, e.log+".release", "")
	e.svc.Wait()
	b, _ := os.ReadFile(e.log + ".hookfile")
	first, second := strings.Index(string(b), `IPV4_ADDRESSES="192.0.2.10/24"`), strings.Index(string(b), `IPV4_ADDRESSES="192.0.2.20/24"`)
	if first < 0 || second < first {
		t.Fatalf("the hook saw, in order:\n%s", b)
	}
}

// A hook that is there but may not be trusted, or cannot run, is not
// run, and the request is not applied natively behind the
// administrator's back either: HV_E_FAIL, nothing run or written.
func TestSetIPInfoUnusableHook(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *applyEnv)
		log   string
	}{
		{"writable by others", func(e *applyEnv) { os.Chmod(e.cfg.Hook, 0o757) }, "writable by group or others"},
		{"not executable", func(e *applyEnv) { os.Chmod(e.cfg.Hook, 0o644) }, "not executable"},
		{"symlink", func(e *applyEnv) {
			real := filepath.Join(e.dir, "real-hook")
			installHook(e.t, real)
			os.Remove(e.cfg.Hook)
			os.Symlink(real, e.cfg.Hook)
		}, "symbolic link"},
		{"directory", func(e *applyEnv) { os.Remove(e.cfg.Hook); os.Mkdir(e.cfg.Hook, 0o755) }, "not a regular file"},
		{"other owner", func(e *applyEnv) { e.cfg.HookOwner = os.Getuid() + 1 }, "refusing to run it"},
		{"directory writable by group", func(e *applyEnv) { os.Chmod(filepath.Dir(e.cfg.Hook), 0o775) }, "libexec is writable by group or others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newApplyEnv(t, nil)
			installHook(t, e.cfg.Hook)
			tt.setup(e)
			e.svc = New(e.cfg)
			if st := e.svc.SetIPInfo(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusFail {
				t.Fatalf("status %v, want HV_E_FAIL\n%s", st, e.logs)
			}
			e.svc.Wait()
			if cmds := ranCommands(t, e.log); len(cmds) != 0 {
				t.Fatalf("ran %q", cmds)
			}
			if _, err := os.Stat(e.cfg.HookFile); !os.IsNotExist(err) {
				t.Fatalf("hook file written (%v)", err)
			}
			if !strings.Contains(e.logs.String(), tt.log) {
				t.Errorf("refusal not logged with %q:\n%s", tt.log, e.logs)
			}
		})
	}
}

// A link-local IPv6 router is scoped to the lagg that carries the
// addresses in rc.conf as in the live route.
func TestSetIPInfoLaggRouterZone(t *testing.T) {
	e := newApplyEnv(t, []Link{
		{Name: "hn0", MAC: mustMAC(macHN0)},
		{Name: "lagg0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24")},
	})
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "2001:db8::10", SubNet: "/64", Gateway: "fe80::1"}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	cmds := ranCommands(t, e.log)
	if !slices.Contains(cmds[0], "ipv6_defaultrouter=fe80::1%lagg0") ||
		!reflect.DeepEqual(cmds[len(cmds)-1], []string{"route", "-n", "add", "-inet6", "default", "fe80::1%lagg0"}) {
		t.Fatalf("commands %q: want fe80::1%%lagg0 in rc.conf and the route", cmds)
	}
}

// Going to DHCP keeps a SYNCDHCP (and options) the administrator had,
// and removes the default routers reached through the interface; a
// router of another interface stays.
func TestSetIPInfoDHCPRouters(t *testing.T) {
	e := newApplyEnv(t, nil)
	write(t, e.rc(), "ifconfig_hn0=\"SYNCDHCP mtu 1400\"\ndefaultrouter=\"192.0.2.254\"\nipv6_defaultrouter=\"fe80::1%hn0\"\n")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	cmds := ranCommands(t, e.log)
	want := [][]string{
		{"sysrc", "-f", e.rc(), "ifconfig_hn0=SYNCDHCP mtu 1400", "ifconfig_hn0_ipv6=inet6 accept_rtadv"},
		{"sysrc", "-f", e.rc(), "-x", "defaultrouter", "ipv6_defaultrouter"},
	}
	if !reflect.DeepEqual(cmds[:2], want) {
		t.Errorf("commands mismatch (-want +got):\n-%q\n+%q", want, cmds[:2])
	}

	e = newApplyEnv(t, nil)
	write(t, e.rc(), "ifconfig_hn0=\"inet 192.0.2.99/24\"\ndefaultrouter=\"10.0.0.1\"\nipv6_defaultrouter=\"fe80::1%hn1\"\n")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	if cmds := ranCommands(t, e.log); cmds[1][0] != "ifconfig" {
		t.Errorf("commands %q: another interface's routers removed", cmds)
	}
}

// A DHCP request for an interface already on DHCP with its dhclient
// running does not restart the client.
func TestSetIPInfoDHCPAgain(t *testing.T) {
	e := newApplyEnv(t, nil)
	write(t, filepath.Join(e.dir, "run", "dhclient", "dhclient.hn0.pid"), "1\n")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	for _, c := range ranCommands(t, e.log) {
		if c[0] != "sysrc" {
			t.Errorf("ran %q although DHCP was already running", c)
		}
	}
}

// The reply does not wait for the live steps: a DHCP client that waits
// for a lease (service dhclient forcerestart) holds up nothing.
func TestSetIPInfoRepliesBeforeLive(t *testing.T) {
	e := newApplyEnv(t, nil)
	t.Setenv(fakeBlockEnv, "service")
	replied := make(chan kvp.Status, 1)
	go func() { replied <- e.reply(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}) }()
	select {
	case st := <-replied:
		if st != kvp.StatusOK {
			t.Fatalf("status %v\n%s", st, e.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no reply while the DHCP client is starting")
	}
	write(t, e.log+".release", "")
	e.svc.Wait()
	cmds := ranCommands(t, e.log)
	if last := cmds[len(cmds)-1]; last[0] != "service" || !strings.Contains(e.logs.String(), "set_ip_info applied") {
		t.Fatalf("commands %q\n%s", cmds, e.logs)
	}
}

// The budget counts from the request's arrival: time spent reading the
// system state is part of it, and nothing runs once it is spent.
func TestSetIPInfoBudgetFromArrival(t *testing.T) {
	e := newApplyEnv(t, nil)
	e.cfg.Budget = 50 * time.Millisecond
	links := e.cfg.Links
	e.cfg.Links = func() ([]Link, error) {
		time.Sleep(100 * time.Millisecond)
		return links()
	}
	e.svc = New(e.cfg)
	if st := e.svc.SetIPInfo(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24"}); st != kvp.StatusFail {
		t.Fatalf("status %v, want HV_E_FAIL after the budget", st)
	}
	e.svc.Wait()
	if cmds := ranCommands(t, e.log); len(cmds) != 0 {
		t.Fatalf("ran %q after the budget was spent", cmds)
	}
}

// A live step that fails does not stop the others: a failed route
// delete (no default route) is no failure at all, and the add still
// runs; any other failure is logged with the step, noting that rc.conf
// was already changed, and counted.
func TestSetIPInfoLiveStepFails(t *testing.T) {
	in := kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24", Gateway: "192.0.2.1"}
	wantAdd := []string{"route", "-n", "add", "-inet", "default", "192.0.2.1"}
	t.Run("route delete", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		t.Setenv(fakeFailEnv, "route:delete")
		if st := e.set(in); st != kvp.StatusOK {
			t.Fatalf("status %v\n%s", st, e.logs)
		}
		cmds := ranCommands(t, e.log)
		if !reflect.DeepEqual(cmds[len(cmds)-1], wantAdd) {
			t.Fatalf("commands %q: no route add after the failed delete", cmds)
		}
		if v := testutil.ToFloat64(e.metrics.ApplyFailures); v != 0 || !strings.Contains(e.logs.String(), "set_ip_info applied") {
			t.Errorf("apply failures %v; log:\n%s", v, e.logs)
		}
	})
	t.Run("ifconfig", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		t.Setenv(fakeFailEnv, "ifconfig:-alias")
		if st := e.set(in); st != kvp.StatusOK {
			t.Fatalf("status %v\n%s", st, e.logs)
		}
		cmds := ranCommands(t, e.log)
		if !reflect.DeepEqual(cmds[len(cmds)-1], wantAdd) {
			t.Fatalf("commands %q: the steps after the failed one did not run", cmds)
		}
		log := e.logs.String()
		if v := testutil.ToFloat64(e.metrics.ApplyFailures); v != 1 ||
			!strings.Contains(log, "rc.conf is already changed") || !strings.Contains(log, "ifconfig hn0 inet 192.0.2.99 -alias") {
			t.Errorf("apply failures %v; log:\n%s", v, log)
		}
	})
}

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
	if got := ranCommands(t, e.log); !reflect.DeepEqual(got, want) {
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

func TestSetIPInfoFailures(t *testing.T) {
	t.Run("command fails", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		t.Setenv(fakeFailEnv, "sysrc")
		if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24"}); st != kvp.StatusFail {
			t.Fatalf("status %v, want HV_E_FAIL", st)
		}
		if cmds := ranCommands(t, e.log); len(cmds) != 1 {
			t.Fatalf("ran %q after sysrc failed", cmds)
		}
		if !strings.Contains(e.logs.String(), "set_ip_info failed") {
			t.Errorf("no audit line for the failure:\n%s", e.logs)
		}
	})
	t.Run("commands missing", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		t.Setenv("PATH", t.TempDir())
		if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24", DNSAddr: "192.0.2.53"}); st != kvp.StatusFail {
			t.Fatalf("status %v, want HV_E_FAIL", st)
		}
		if e.file("resolv.conf") != origResolv {
			t.Error("resolv.conf changed although nothing could be applied")
		}
		if v := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues("unsupported")); v != 1 {
			t.Errorf("rejected{unsupported} = %v", v)
		}
	})
	t.Run("interface gone", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		if st := e.set(kvp.IPInfo{AdapterID: "hn3", IPAddr: "192.0.2.10", SubNet: "/24"}); st != kvp.StatusGUIDNotFound {
			t.Fatalf("status %v, want HV_GUID_NOTFOUND", st)
		}
	})
}

// Hostile requests are refused with nothing executed (the fakes log
// nothing, the installed hook does not run) and nothing written.
func TestSetIPInfoHostile(t *testing.T) {
	e := newApplyEnv(t, nil)
	installHook(t, e.cfg.Hook)
	for _, tt := range hostileSettings {
		if st := e.set(tt.in); st != tt.status {
			t.Errorf("%s: status %v, want %v", tt.name, st, tt.status)
		}
	}
	good, err := kvp.EncodeRequest(kvp.Msg{Op: kvp.OpSetIPInfo, IP: kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24"}})
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte)) []byte { b := bytes.Clone(good); f(b); return b }
	const offAdapter, offIP, offSub, offGW, offDNS = 4, 262, 2310, 4358, 5382
	raw := []struct {
		name string
		msg  []byte
	}{
		{"adapter_id without NUL", mutate(func(b []byte) { copy(b[offAdapter:offAdapter+256], bytes.Repeat([]byte("h"), 256)) })},
		{"ip_addr without NUL", mutate(func(b []byte) { copy(b[offIP:offIP+2048], bytes.Repeat([]byte("1.2.3.4;"), 256)) })},
		{"sub_net without NUL", mutate(func(b []byte) { copy(b[offSub:offSub+2048], bytes.Repeat([]byte("/"), 2048)) })},
		{"gate_way without NUL", mutate(func(b []byte) { copy(b[offGW:offGW+1024], bytes.Repeat([]byte("9"), 1024)) })},
		{"dns_addr without NUL", mutate(func(b []byte) { copy(b[offDNS:offDNS+2048], bytes.Repeat([]byte("x"), 2048)) })},
		{"invalid UTF-8", mutate(func(b []byte) { b[offIP], b[offIP+1] = 0xc3, 0x28 })},
	}
	for _, tt := range raw {
		if st := e.raw(tt.msg); st != kvp.StatusInvalidArg {
			t.Errorf("%s: status %v, want HV_INVALIDARG", tt.name, st)
		}
	}
	if cmds := ranCommands(t, e.log); len(cmds) != 0 {
		t.Errorf("hostile input executed %q", cmds)
	}
	if e.file("rc.conf") != origRC || e.file("resolv.conf") != origResolv {
		t.Error("hostile input changed rc.conf or resolv.conf")
	}
	if _, err := os.Stat(e.cfg.HookFile); !os.IsNotExist(err) {
		t.Errorf("hostile input wrote the hook file (%v)", err)
	}
	ents, _ := os.ReadDir(e.dir)
	for _, ent := range ents {
		if strings.Contains(ent.Name(), "hvagent-") {
			t.Errorf("temporary file %s left behind", ent.Name())
		}
	}
	if v := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues("address")); v < 5 {
		t.Errorf("rejected{address} = %v", v)
	}
	if v := testutil.ToFloat64(e.metrics.Rejected.WithLabelValues("malformed")); v != float64(len(raw)) {
		t.Errorf("rejected{malformed} = %v, want %d: the requests the decoder refused", v, len(raw))
	}
}
