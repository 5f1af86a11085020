package doctor

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hvagent/hvagent/metrics"
	"github.com/hvagent/hvagent/vf"
	"github.com/hvagent/hvagent/vf/vftest"
	"github.com/hvagent/hvagent/vss"
)

// guest returns the sysctls of a simulated kernel set up by fn.
func guest(fn func(st *vftest.State)) fakeSysctl {
	st := &vftest.State{Sysctl: map[string]string{}, Ifaces: map[string]*vftest.Iface{}}
	fn(st)
	return fakeSysctl(st.Sysctl)
}

// baseRulesConf is a devd configuration with the base system's VF rules
// as sbin/devd/hyperv.conf has them.
const baseRulesConf = `
notify 10 {
	match "system"		"HYPERV_NIC_VF";
	match "type"		"VF_UP";
	action "/usr/libexec/hyperv/hyperv_vfup $subsystem";
};

notify 10 {
	match "system"		"ETHERNET";
	match "type"		"IFATTACH";
	action "/usr/libexec/hyperv/hyperv_vfattach $subsystem 0";
};
`

func TestVF(t *testing.T) {
	d := t.TempDir()
	active := filepath.Join(d, "devd.conf")
	if err := os.WriteFile(active, []byte(baseRulesConf), 0o644); err != nil {
		t.Fatal(err)
	}
	overrides := filepath.Join(d, "libexec")
	if err := os.MkdirAll(overrides, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(overrides, "hyperv_vfup.hn1"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	twoHNs := func(transparent bool) fakeSysctl {
		return guest(func(st *vftest.State) {
			st.AddHN("hn0", transparent)
			st.AttachVF("hn0", "mce0")
			st.SetDatapath("hn0", true)
			st.AddHN("hn1", transparent)
			st.AttachVF("hn1", "mce1")
			st.AddHN("hn2", transparent)
		})
	}
	for _, tc := range []struct {
		name      string
		sysctl    fakeSysctl
		rules     string
		mode      vf.Mode
		wantRules Status
		agent     string // in vf.agent-mode
	}{
		{"transparent, no rules", twoHNs(true), filepath.Join(d, "none.conf"), vf.ModeAuto, OK, "hn(4) manages"},
		{"transparent, rules", twoHNs(true), active, vf.ModeAuto, Info, "observes only"},
		{"non-transparent, no rules", twoHNs(false), filepath.Join(d, "none.conf"), vf.ModeAuto, OK, "manages the failover lagg"},
		{"non-transparent, rules, auto", twoHNs(false), active, vf.ModeAuto, Info, "base devd rules"},
		{"non-transparent, rules, manage", twoHNs(false), active, vf.ModeManage, Warn, "base devd rules"},
		{"observe", twoHNs(false), filepath.Join(d, "none.conf"), vf.ModeObserve, OK, "--vf.mode=observe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			checkVF(r, Env{Sysctl: tc.sysctl}, Config{BaseRules: tc.rules, OverrideDir: overrides, VFMode: tc.mode})
			if f := one(t, r, "vf.base-rules", tc.rules); f.Status != tc.wantRules || (f.Status == Warn) != (f.Remedy != "") {
				t.Errorf("base rules: %s %q / %q", f.Status, f.Seen, f.Remedy)
			}
			if f := one(t, r, "vf.agent-mode", ""); !strings.Contains(f.Seen, tc.agent) {
				t.Errorf("agent mode %q, want it to say %q", f.Seen, tc.agent)
			}
			if f := one(t, r, "vf.overrides", overrides); !strings.Contains(f.Seen, "hyperv_vfup.hn1") {
				t.Errorf("overrides: %q", f.Seen)
			}
			for hn, want := range map[string]Status{"hn0": OK, "hn1": Warn, "hn2": Info} {
				f := one(t, r, "vf.hn", hn)
				if f.Status != want || (want == Warn) != (f.Remedy != "") {
					t.Errorf("%s: %s %q / %q, want %s", hn, f.Status, f.Seen, f.Remedy, want)
				}
			}
			var order []string
			for _, f := range byID(r, "vf.hn", "") {
				order = append(order, f.Subject)
			}
			if strings.Join(order, " ") != "hn0 hn1 hn2" {
				t.Errorf("hn order %q", order)
			}
		})
	}
}

func TestVFNoHN(t *testing.T) {
	r := &Report{}
	checkVF(r, Env{Sysctl: fakeSysctl{}}, Config{})
	if f := one(t, r, "vf.hn", ""); f.Status != Info {
		t.Errorf("no hn: %s %q", f.Status, f.Seen)
	}
}

func TestMetricsURL(t *testing.T) {
	for in, want := range map[string]string{
		":9855":          "http://127.0.0.1:9855/metrics",
		"0.0.0.0:9855":   "http://127.0.0.1:9855/metrics",
		"[::]:9855":      "http://[::1]:9855/metrics",
		"10.0.0.4:9100":  "http://10.0.0.4:9100/metrics",
		"localhost:9855": "http://localhost:9855/metrics",
	} {
		if got, err := MetricsURL(in); err != nil || got != want {
			t.Errorf("MetricsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := MetricsURL("9855"); err == nil {
		t.Error("an address without a port was accepted")
	}
}

// TestAgentView scrapes a real registry with the agent's families, so
// the names the doctor reads are the names the agent exports.
func TestAgentView(t *testing.T) {
	m := metrics.New("1.2.3", "abc")
	m.SubsystemUp.WithLabelValues("kvp").Set(1)
	m.SubsystemUp.WithLabelValues("vf").Set(0)
	vm := vss.NewMetrics(m.Registry)
	vm.Frozen.Set(1)
	fm := vf.NewMetrics(m.Registry)
	fm.Datapath.WithLabelValues("hn0").Set(1)
	fm.Datapath.WithLabelValues("hn1").Set(0)
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	r := &Report{}
	checkAgent(context.Background(), r, Env{Get: HTTPGet}, Config{ListenAddress: addr})
	if f := one(t, r, "metrics.listener", addr); f.Status != OK || !strings.Contains(f.Seen, "hvagent 1.2.3") {
		t.Fatalf("listener: %s %q\n%s", f.Status, f.Seen, dump(r))
	}
	want := map[string]Status{"kvp": OK, "vss": Info, "vf": Warn}
	for sub, st := range want {
		if f := one(t, r, "agent.subsystem", sub); f.Status != st {
			t.Errorf("%s: %s %q", sub, f.Status, f.Seen)
		}
	}
	if f := one(t, r, "agent.vss-frozen", ""); f.Status != Warn || f.Remedy == "" {
		t.Errorf("frozen: %s %q", f.Status, f.Seen)
	}
	if f := one(t, r, "agent.vf-datapath", "hn0"); !strings.Contains(f.Seen, "on the VF") {
		t.Errorf("hn0: %q", f.Seen)
	}
	if f := one(t, r, "agent.vf-datapath", "hn1"); !strings.Contains(f.Seen, "synthetic") {
		t.Errorf("hn1: %q", f.Seen)
	}
}

func TestAgentEndpoint(t *testing.T) {
	other := httptest.NewServer(promhttp.Handler()) // the default registry: not hvagent
	defer other.Close()
	addr := strings.TrimPrefix(other.URL, "http://")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want Status
		seen string
	}{
		{"off", Config{}, Info, "off"},
		{"web config", Config{ListenAddress: addr, WebConfigFile: "/usr/local/etc/hvagent/web.yml"}, Info, "not scraped"},
		{"not hvagent", Config{ListenAddress: addr}, Warn, "not hvagent"},
		{"nobody", Config{ListenAddress: closed}, Warn, "not running"},
		{"bad address", Config{ListenAddress: "9855"}, Fail, "9855"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{}
			get := HTTPGet
			if tc.cfg.WebConfigFile != "" {
				get = func(context.Context, string) ([]byte, error) {
					t.Error("scraped an endpoint that needs credentials")
					return nil, nil
				}
			}
			checkAgent(context.Background(), r, Env{Get: get}, tc.cfg)
			f := one(t, r, "metrics.listener", tc.cfg.ListenAddress)
			if f.Status != tc.want || !strings.Contains(f.Seen, tc.seen) {
				t.Errorf("got %s %q", f.Status, f.Seen)
			}
			if len(r.Findings) != 1 {
				t.Errorf("agent findings without an agent:\n%s", dump(r))
			}
		})
	}
}
