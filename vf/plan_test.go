package vf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRCConf(t *testing.T) {
	tests := []struct {
		rc         RCConf
		dhcp, sync bool
		args       []string
	}{
		{RCConf{Ifconfig: "DHCP"}, true, false, nil},
		{RCConf{Ifconfig: "dhcp", SynchronousDHCP: true}, true, true, nil},
		{RCConf{Ifconfig: "SYNCDHCP"}, true, true, nil},
		{RCConf{Ifconfig: "NOSYNCDHCP", SynchronousDHCP: true}, true, false, nil},
		{RCConf{Ifconfig: "inet 10.0.0.4/24 mtu 4000"}, false, false, []string{"inet", "10.0.0.4/24", "mtu", "4000"}},
		{RCConf{Ifconfig: "up NOAUTO"}, false, false, []string{"up"}},
		{RCConf{}, false, false, nil},
	}
	for _, tt := range tests {
		if got := tt.rc.DHCP(); got != tt.dhcp {
			t.Errorf("%+v: DHCP() = %v", tt.rc, got)
		}
		if got := tt.rc.Sync(); got != tt.sync {
			t.Errorf("%+v: Sync() = %v", tt.rc, got)
		}
		if got := tt.rc.Args(); !slices.Equal(got, tt.args) {
			t.Errorf("%+v: Args() = %q, want %q", tt.rc, got, tt.args)
		}
	}
}

func joinPlan(p Plan) []string {
	var out []string
	for _, a := range p.Argv() {
		out = append(out, strings.Join(a, " "))
	}
	return out
}

// PlanCreate is hyperv_vfup's lagg creation, command for command.
func TestPlanCreate(t *testing.T) {
	common := []string{
		"ifconfig lagg1 create",
		"ifconfig lagg1 laggproto failover laggport hn1 laggport mce1",
		"ifconfig lagg1 inet6 no_dad",
		"service dhclient stop hn1",
		"ifconfig hn1 -alias",
	}
	tests := []struct {
		rc   RCConf
		tail []string
	}{
		{RCConf{Ifconfig: "DHCP"}, []string{"ifconfig lagg1 up", "dhclient -b lagg1"}},
		{RCConf{Ifconfig: "SYNCDHCP"}, []string{"ifconfig lagg1 up", "dhclient lagg1"}},
		{RCConf{Ifconfig: "inet 10.1.0.4/24"}, []string{"ifconfig lagg1 inet 10.1.0.4/24"}},
		{RCConf{}, nil},
	}
	for _, tt := range tests {
		got := joinPlan(PlanCreate("hn1", "mce1", tt.rc))
		if want := append(slices.Clone(common), tt.tail...); !slices.Equal(got, want) {
			t.Errorf("%+v:\n got %q\nwant %q", tt.rc, got, want)
		}
	}
}

// recorder is a Runner answering from a table and recording calls.
type recorder struct {
	calls []string
	out   map[string]string
	fail  map[string]int // argv -> times left to fail (-1: always)
}

func (r *recorder) Run(_ context.Context, argv []string) (string, error) {
	k := strings.Join(argv, " ")
	r.calls = append(r.calls, k)
	if n, ok := r.fail[k]; ok && n != 0 {
		r.fail[k] = n - 1
		return "", &ExitError{Argv: argv, Code: 1}
	}
	return r.out[k], nil
}

func TestExecute(t *testing.T) {
	p := PlanCreate("hn0", "mce0", RCConf{Ifconfig: "DHCP"})
	// dhclient is not running on hn0, and hn0 has two addresses: two
	// -alias successes, then the failure that ends the loop.
	r := &recorder{fail: map[string]int{"service dhclient stop hn0": -1}}
	aliases := 2
	run := runnerFunc(func(ctx context.Context, argv []string) (string, error) {
		if strings.Join(argv, " ") == "ifconfig hn0 -alias" {
			r.calls = append(r.calls, "ifconfig hn0 -alias")
			if aliases == 0 {
				return "", &ExitError{Argv: argv, Code: 1}
			}
			aliases--
			return "", nil
		}
		return r.Run(ctx, argv)
	})
	if err := Execute(context.Background(), run, p); err != nil {
		t.Fatalf("Execute: %v (ignored failures must not count)", err)
	}
	if n := strings.Count(strings.Join(r.calls, "\n"), "ifconfig hn0 -alias"); n != 3 {
		t.Errorf("-alias ran %d times, want 3", n)
	}

	// A failed create stops the plan (the script's exit 1).
	r = &recorder{fail: map[string]int{"ifconfig lagg0 create": -1}}
	err := Execute(context.Background(), r, p)
	var ee *ExitError
	if !errors.As(err, &ee) || len(r.calls) != 1 {
		t.Errorf("failed create: err %v, calls %q; want an ExitError and nothing after create", err, r.calls)
	}
}

type runnerFunc func(context.Context, []string) (string, error)

func (f runnerFunc) Run(ctx context.Context, argv []string) (string, error) { return f(ctx, argv) }

func TestHasLaggPort(t *testing.T) {
	out := "lagg0: flags=8843<UP> mtu 1500\n\tlaggproto failover\n\tlaggport: hn0 flags=5<MASTER>\n\tlaggport: mce0 flags=0<>\n"
	if !HasLaggPort(out, "mce0") || !HasLaggPort(out, "hn0") || HasLaggPort(out, "mce") || HasLaggPort(out, "mlxen0") {
		t.Error("HasLaggPort misreads ifconfig output")
	}
}

func TestBaseRulesActive(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		text string
		want bool
	}{
		{"notify 10 {\n\tmatch \"system\" \"HYPERV_NIC_VF\";\n\taction \"/usr/libexec/hyperv/hyperv_vfup $subsystem\";\n};\n", true},
		{"notify 10 {\n\taction \"/usr/libexec/hyperv/hyperv_vfattach $subsystem 0\";\n};\n", true},
		{"#notify 10 {\n#\taction \"/usr/libexec/hyperv/hyperv_vfup $subsystem\";\n#};\n", false},
		{"notify 10 {\n\taction \"pkill -x hv_kvp_daemon\";\n};\n", false},
	}
	for i, tt := range tests {
		p := filepath.Join(dir, "hyperv.conf")
		if err := os.WriteFile(p, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := BaseRulesActive(p); err != nil || got != tt.want {
			t.Errorf("case %d: BaseRulesActive = %v, %v; want %v", i, got, err, tt.want)
		}
	}
	if got, err := BaseRulesActive(filepath.Join(dir, "missing")); got || err != nil {
		t.Errorf("missing file: %v, %v; want false, nil", got, err)
	}
}
