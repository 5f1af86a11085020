package vf

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hvagent/hvagent/internal/command/commandtest"
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
		"service dhclient forcestop hn1",
		"ifconfig hn1", // ipv4_down lists the addresses; there are none
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

func TestExecute(t *testing.T) {
	p := PlanCreate("hn0", "mce0", RCConf{Ifconfig: "DHCP"})
	// dhclient is not running on hn0, and hn0 has two IPv4 addresses
	// besides its IPv6 link-local one: ipv4_down deletes both, by name.
	r := (&commandtest.Fake{}).On("service dhclient forcestop hn0", commandtest.Exit(1, "")).
		On("ifconfig hn0", commandtest.Out("hn0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n"+
			"\tether 00:0d:3a:00:00:01\n"+
			"\tinet 10.0.0.4 netmask 0xffffff00 broadcast 10.0.0.255\n"+
			"\tinet6 fe80::20d:3aff:fe00:1%hn0 prefixlen 64 scopeid 0x2\n"+
			"\tinet 10.0.0.5 netmask 0xffffffff broadcast 10.0.0.5\n"))
	if err := Execute(context.Background(), r, p); err != nil {
		t.Fatalf("Execute: %v (ignored failures must not count)", err)
	}
	want := []string{
		"ifconfig lagg0 create",
		"ifconfig lagg0 laggproto failover laggport hn0 laggport mce0",
		"ifconfig lagg0 inet6 no_dad",
		"service dhclient forcestop hn0",
		"ifconfig hn0",
		"ifconfig hn0 inet 10.0.0.4 delete",
		"ifconfig hn0 inet 10.0.0.5 delete",
		"ifconfig lagg0 up",
		"dhclient -b lagg0",
	}
	if !slices.Equal(r.Calls(), want) {
		t.Errorf("commands:\n got %q\nwant %q", r.Calls(), want)
	}

	// A bare -alias is never run: it may succeed with nothing to remove,
	// which is why ipv4_down enumerates.
	r = (&commandtest.Fake{}).On("ifconfig hn0", commandtest.Out("hn0: flags=0<> mtu 1500\n"))
	if err := Execute(context.Background(), r, p); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Calls() {
		if strings.HasPrefix(c, "ifconfig hn0 ") {
			t.Errorf("ran %q on an hn0 without IPv4 addresses", c)
		}
	}

	// A failed create stops the plan (the script's exit 1).
	r = (&commandtest.Fake{}).On("ifconfig lagg0 create", commandtest.Exit(1, ""))
	err := Execute(context.Background(), r, p)
	var ee *ExitError
	if !errors.As(err, &ee) || len(r.Calls()) != 1 {
		t.Errorf("failed create: err %v, calls %q; want an ExitError and nothing after create", err, r.Calls())
	}
}

func TestInetAddrs(t *testing.T) {
	out := "hn0: flags=8843<UP> mtu 1500\n\tinet 10.0.0.4 netmask 0xffffff00\n\tinet 192.168.1.9/24\n" +
		"\tinet6 ::1 prefixlen 128\n\tinet not-an-address\n\tinet ;reboot\n\tinet 2001:db8::1\n"
	if got, want := InetAddrs(out), []string{"10.0.0.4", "192.168.1.9"}; !slices.Equal(got, want) {
		t.Errorf("InetAddrs = %q, want %q", got, want)
	}
}

func TestHasLaggPort(t *testing.T) {
	out := "lagg0: flags=8843<UP> mtu 1500\n\tlaggproto failover\n\tlaggport: hn0 flags=5<MASTER>\n\tlaggport: mce0 flags=0<>\n"
	if !HasLaggPort(out, "mce0") || !HasLaggPort(out, "hn0") || HasLaggPort(out, "mce") || HasLaggPort(out, "mlxen0") {
		t.Error("HasLaggPort misreads ifconfig output")
	}
}
