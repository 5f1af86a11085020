package netinfo

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
	dto "github.com/prometheus/client_model/go"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
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
	world   *fbsdnettest.World
	cfg     Config
	svc     *Service
	kvp     *kvp.Service
	logs    *bytes.Buffer
	reg     *prometheus.Registry // netinfo's and kvp's families, as the daemon registers them
	metrics *Metrics
}

func newApplyEnv(t *testing.T, links []Link) *applyEnv {
	t.Helper()
	dir := t.TempDir()
	w := fakeWorld(t, dir)
	if links == nil {
		links = []Link{
			{Name: "hn0", MAC: mustMAC(macHN0), Addrs: prefixes("192.0.2.99/24", "fe80::215:5dff:fe0a:b0c/64")},
			{Name: "mce0", MAC: mustMAC(macHN0)},
		}
	}
	routes := []Route{{Link: "hn0", Gateway: netip.MustParseAddr("192.0.2.254")}}
	for _, d := range []string{"run", "proc", "pool"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "rc.conf"), origRC)
	write(t, filepath.Join(dir, "resolv.conf"), origResolv)
	logs := &bytes.Buffer{}
	reg := prometheus.NewRegistry()
	e := &applyEnv{t: t, dir: dir, world: w, logs: logs, reg: reg, metrics: NewMetrics(reg)}
	e.seed(links, routes)
	e.cfg = Config{
		Links:        func() ([]Link, error) { return links, nil },
		Routes:       func() ([]Route, error) { return routes, nil },
		RCConf:       w.RCConf(),
		ResolvConf:   filepath.Join(dir, "resolv.conf"),
		ResolvconfDB: w.ResolvconfDB(),
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
	e.kvp = kvp.NewService(kvp.ServiceConfig{Store: store, IP: e.svc, Metrics: kvp.NewMetrics(reg)})
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
			got, want := ranCommands(t, e.world), tt.wantCmds(e.rc())
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
			if del := c[3] == "-x"; del {
				orig = fbsdnettest.SysrcEdit(orig, c[4:], true)
			} else {
				orig = fbsdnettest.SysrcEdit(orig, c[3:], false)
			}
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
			e.dhclient(tt.target)
			if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.99", SubNet: "/24"}); st != kvp.StatusOK {
				t.Fatalf("status %v\n%s", st, e.logs)
			}
			cmds := ranCommands(t, e.world)
			want := []string{"service", "dhclient", "forcestop", tt.target}
			if len(cmds) != 3 || !reflect.DeepEqual(cmds[2], want) {
				t.Fatalf("commands %q, want sysrc, sysrc -x, then %q only (the address is already there)", cmds, want)
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
	cmds := ranCommands(t, e.world)
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
	cmds := ranCommands(t, e.world)
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
	if cmds := ranCommands(t, e.world); cmds[1][0] != "ifconfig" {
		t.Errorf("commands %q: another interface's routers removed", cmds)
	}
}

func TestSetIPInfoFailures(t *testing.T) {
	t.Run("command fails", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		e.fail("sysrc")
		if st := e.set(kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24"}); st != kvp.StatusFail {
			t.Fatalf("status %v, want HV_E_FAIL", st)
		}
		if cmds := ranCommands(t, e.world); len(cmds) != 1 {
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
	if cmds := ranCommands(t, e.world); len(cmds) != 0 {
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
}

// A SET_IP_INFO the kvp decoder refuses is one event, counted once: in
// hvagent_kvp_requests_total{result="malformed"}, and in no other counter
// of the registry. It never reaches netinfo, so it is none of
// hvagent_kvp_set_ip_rejected_total's reasons.
func TestMalformedSetIPInfoCountedOnce(t *testing.T) {
	e := newApplyEnv(t, nil)
	good, err := kvp.EncodeRequest(kvp.Msg{Op: kvp.OpSetIPInfo, IP: kvp.IPInfo{AdapterID: "hn0", IPAddr: "192.0.2.10", SubNet: "/24"}})
	if err != nil {
		t.Fatal(err)
	}
	// sys/dev/hyperv/utilities/hv_kvp.h: ip_addr of struct
	// hv_kvp_ipaddr_value, after struct hv_kvp_hdr (4 bytes), adapter_id
	// (256), addr_family and dhcp_enabled (1 each).
	const offIP = 262
	bad := bytes.Clone(good)
	copy(bad[offIP:offIP+2048], bytes.Repeat([]byte("1.2.3.4;"), 256)) // no NUL in ip_addr
	// No pool: SET_IP_INFO names an adapter. The empty value is what
	// Prometheus stores as an absent label.
	const want = `hvagent_kvp_requests_total{operation="set_ip_info",pool="",result="malformed"}`
	for i := range 3 {
		before := counterValues(t, e.reg)
		if st := e.raw(bad); st != kvp.StatusInvalidArg {
			t.Fatalf("status %v, want HV_INVALIDARG", st)
		}
		after := counterValues(t, e.reg)
		var changed []string
		for k, v := range after {
			if v != before[k] {
				changed = append(changed, fmt.Sprintf("%s +%v", k, v-before[k]))
			}
		}
		if len(changed) != 1 || changed[0] != want+" +1" {
			t.Errorf("request %d changed the counters %q, want only %s +1", i+1, changed, want)
		}
	}
}

// counterValues returns every counter series in reg by name and labels.
func counterValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_COUNTER {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}
