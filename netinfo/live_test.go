package netinfo

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
	"github.com/hvagent/hvagent/kvp"
)

// The reply does not wait for the live steps: a DHCP client that waits
// for a lease (service dhclient forcerestart) holds up nothing.
func TestSetIPInfoRepliesBeforeLive(t *testing.T) {
	e := newApplyEnv(t, nil)
	e.block("service")
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
	e.release()
	e.svc.Wait()
	cmds := ranCommands(t, e.world)
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
	if cmds := ranCommands(t, e.world); len(cmds) != 0 {
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
		// The route the agent saw is gone by the time it runs.
		e.update(func(st *fbsdnettest.State) { delete(st.Routes, "inet") })
		if st := e.set(in); st != kvp.StatusOK {
			t.Fatalf("status %v\n%s", st, e.logs)
		}
		cmds := ranCommands(t, e.world)
		if !reflect.DeepEqual(cmds[len(cmds)-1], wantAdd) {
			t.Fatalf("commands %q: no route add after the failed delete", cmds)
		}
		if v := testutil.ToFloat64(e.metrics.ApplyFailures); v != 0 || !strings.Contains(e.logs.String(), "set_ip_info applied") {
			t.Errorf("apply failures %v; log:\n%s", v, e.logs)
		}
	})
	t.Run("ifconfig", func(t *testing.T) {
		e := newApplyEnv(t, nil)
		e.fail("ifconfig -alias")
		if st := e.set(in); st != kvp.StatusOK {
			t.Fatalf("status %v\n%s", st, e.logs)
		}
		cmds := ranCommands(t, e.world)
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

// A DHCP request for an interface already on DHCP with its dhclient
// running does not restart the client.
func TestSetIPInfoDHCPAgain(t *testing.T) {
	e := newApplyEnv(t, nil)
	e.dhclient("hn0")
	if st := e.set(kvp.IPInfo{AdapterID: "hn0", DHCPEnabled: 1}); st != kvp.StatusOK {
		t.Fatalf("status %v\n%s", st, e.logs)
	}
	for _, c := range ranCommands(t, e.world) {
		if c[0] != "sysrc" {
			t.Errorf("ran %q although DHCP was already running", c)
		}
	}
}
