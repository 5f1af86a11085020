package vf

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/command/commandtest"
	"github.com/hvagent/hvagent/vf/vftest"
)

// runSubsystem runs s on a real loop until the test ends.
func runSubsystem(t *testing.T, s *Subsystem, d *vftest.Devd) *agent.Env {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	loop := agent.NewLoop(log, 256)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	env := &agent.Env{Loop: loop, Log: log}
	wg.Go(func() { loop.Run(ctx) })
	wg.Go(func() { _ = s.Run(ctx, env) })
	t.Cleanup(func() { cancel(); wg.Wait(); d.Close() })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := d.WaitClients(wctx, 1); err != nil {
		t.Fatal(err)
	}
	return env
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Transparent mode without the VF's link event: the datapath switch is
// still noticed, by reading the sysctls after Config.Recheck.
func TestTransparentRecheck(t *testing.T) {
	dir := t.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vfmap": "", "dev.hn.0.vf": "", "dev.hn.0.vf_xpnt_enabled": "0",
	}}}
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeObserve, Sysctl: sc, Metrics: m, Recheck: 50 * time.Millisecond})
	runSubsystem(t, s, d)
	dp := m.Datapath.WithLabelValues("hn0")
	waitFor(t, "the first snapshot", func() bool { return testutil.CollectAndCount(m.Datapath) == 1 })

	sc.set(map[string]string{"hw.hn.vfmap": "mce0:hn0", "dev.hn.0.vf": "mce0"})
	d.Send("!system=ETHERNET subsystem=mce0 type=IFATTACH")
	time.Sleep(100 * time.Millisecond) // the recheck finds no switch yet
	if testutil.ToFloat64(dp) != 0 {
		t.Fatal("datapath on the VF before hn switched it")
	}
	// The VF comes again and hn switches to it this time; no link event
	// says so.
	d.Send("!system=IFNET subsystem=mce0 type=DETACH")
	sc.set(map[string]string{"dev.hn.0.vf_xpnt_enabled": "1"})
	d.Send("!system=ETHERNET subsystem=mce0 type=IFATTACH")
	waitFor(t, "the recheck to see the switch", func() bool { return testutil.ToFloat64(dp) == 1 })
}

// A flap storm in manage mode: actions beyond the burst are held back
// and counted, and the latest held-back one still runs once the rate
// allows, so the lagg ends up with the VF.
func TestHeldBackActionRunsLater(t *testing.T) {
	dir := t.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0", "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}}
	run := (&commandtest.Fake{}).On("ifconfig lagg0", commandtest.Out("lagg0: flags=0<>\n\tlaggport: hn0 flags=0<>\n"))
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeManage, BaseRules: filepath.Join(dir, "none"),
		Sysctl: sc, Runner: run, Metrics: m, Burst: 1, Interval: 2 * time.Second})
	runSubsystem(t, s, d)
	// Booting with the datapath on the VF spends the one token on
	// hyperv_vfup's work: lagg0 lacks mce0, so it is added.
	added := m.LaggActions.WithLabelValues("hn0", ActionAddPort, "success")
	waitFor(t, "the boot-time add_port", func() bool { return testutil.ToFloat64(added) == 1 })
	for range 5 {
		d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_DOWN")
		d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP")
	}
	held := m.HeldBack.WithLabelValues("hn0")
	waitFor(t, "5 held-back actions", func() bool { return testutil.ToFloat64(held) == 5 })
	if testutil.ToFloat64(added) != 1 {
		t.Fatal("a held-back action ran before the rate allowed it")
	}
	waitFor(t, "the held-back add_port to run", func() bool { return testutil.ToFloat64(added) == 2 })
	if n := strings.Count(strings.Join(run.Calls(), "\n"), "ifconfig lagg0 laggport mce0"); n != 2 {
		t.Errorf("laggport added %d times, want 2 (at boot, and the latest held-back one)", n)
	}
}

func (l *lockedSysctl) set(kv map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, v := range kv {
		l.s.v[k] = v
	}
}

// SIGHUP after the base devd rules were commented out: the agent starts
// managing, and catches up on the VF it only watched so far.
func TestRefreshTakesOver(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "hyperv.conf")
	if err := os.WriteFile(rules, []byte("notify 10 {\n\taction \"/usr/libexec/hyperv/hyperv_vfup $subsystem\";\n};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0", "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}}
	run := (&commandtest.Fake{}).On("ifconfig lagg0", commandtest.Out("lagg0: flags=0<>\n\tlaggport: hn0 flags=0<>\n"))
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeAuto, BaseRules: rules, Sysctl: sc, Runner: run, Metrics: m})
	env := runSubsystem(t, s, d)
	waitFor(t, "the first snapshot", func() bool { return testutil.CollectAndCount(m.Datapath) == 1 })
	time.Sleep(50 * time.Millisecond)
	if testutil.ToFloat64(m.Managing) != 0 || len(run.Calls()) != 0 {
		t.Fatalf("acted while the base rules are active: managing %v, calls %q", testutil.ToFloat64(m.Managing), run.Calls())
	}
	if err := os.WriteFile(rules, []byte("# rules moved to hvagent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env.Loop.Post(func() { s.Refresh(env) })
	added := m.LaggActions.WithLabelValues("hn0", ActionAddPort, "success")
	waitFor(t, "the catch-up add_port", func() bool { return testutil.ToFloat64(added) == 1 })
	if testutil.ToFloat64(m.Managing) != 1 {
		t.Error("hvagent_vf_managing is not 1 after the SIGHUP")
	}
}

// No devd socket and no hn(4): a final error, so the supervisor disables the
// subsystem with one log line instead of retrying forever.
func TestNoDevdIsFinal(t *testing.T) {
	s := New(Config{DevdSocket: filepath.Join(t.TempDir(), "missing.pipe"), Sysctl: &mapSysctl{v: map[string]string{}}, Metrics: NewMetrics(prometheus.NewRegistry())})
	log := slog.New(slog.DiscardHandler)
	err := s.Run(context.Background(), &agent.Env{Loop: agent.NewLoop(log, 1), Log: log})
	if err == nil || !agent.IsFinal(err) {
		t.Errorf("Run without devd = %v, want a final error", err)
	}
}

// No devd socket on a guest with hn(4) interfaces: devd is restarting or
// not started yet, so the error is not final and the supervisor retries.
func TestNoDevdWithHNRetries(t *testing.T) {
	sc := &mapSysctl{v: map[string]string{"hw.hn.vf_transparent": "1", "hw.hn.vfmap": "", "dev.hn.0.vf": "", "dev.hn.0.vf_xpnt_enabled": "0"}}
	s := New(Config{DevdSocket: filepath.Join(t.TempDir(), "missing.pipe"), Sysctl: sc, Metrics: NewMetrics(prometheus.NewRegistry())})
	log := slog.New(slog.DiscardHandler)
	err := s.Run(context.Background(), &agent.Env{Loop: agent.NewLoop(log, 1), Log: log})
	if err == nil || agent.IsFinal(err) {
		t.Errorf("Run without devd on a guest with hn0 = %v, want an error the supervisor retries", err)
	}
}

// deniedSysctl refuses every read, as sysctl(3) does with EPERM.
type deniedSysctl struct{}

func (deniedSysctl) Sysctl(name string) (string, error) {
	return "", &os.SyscallError{Syscall: "sysctl " + name, Err: syscall.EPERM}
}

// Issue 13 item 5: a sysctl denied while reading the topology, with devd
// there, is not a final error; the supervisor restarts the subsystem.
func TestDeniedSysctlRetries(t *testing.T) {
	d, err := vftest.NewDevd(filepath.Join(t.TempDir(), "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := New(Config{DevdSocket: d.Path(), Mode: ModeObserve, Sysctl: deniedSysctl{}, Metrics: NewMetrics(prometheus.NewRegistry())})
	log := slog.New(slog.DiscardHandler)
	err = s.Run(context.Background(), &agent.Env{Loop: agent.NewLoop(log, 1), Log: log})
	if err == nil || !errors.Is(err, syscall.EPERM) || agent.IsFinal(err) {
		t.Errorf("Run with sysctl denied = %v, want an EPERM error the supervisor retries", err)
	}
}

func TestReconnectBackoff(t *testing.T) {
	b := devdReconnect
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 5: 1600 * time.Millisecond, 50: 10 * time.Second} {
		for range 20 {
			if got := b.Delay(n); got < want/2 || got > want {
				t.Errorf("wait(%d) = %v, want in [%v, %v]", n, got, want/2, want)
			}
		}
	}
}

// While devd is gone the subsystem keeps running (it reconnects by
// itself, so hvagent_subsystem_up stays 1); hvagent_vf_devd_connected
// says VF events are not being seen.
func TestDevdConnectedGauge(t *testing.T) {
	dir := t.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{"hw.hn.vfmap": "", "dev.hn.0.vf": "", "dev.hn.0.vf_xpnt_enabled": "0"}}}
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeObserve, Sysctl: sc, Metrics: m})
	runSubsystem(t, s, d)
	waitFor(t, "connected", func() bool { return testutil.ToFloat64(m.DevdConnected) == 1 })
	d.Pause()
	waitFor(t, "the loss to show", func() bool { return testutil.ToFloat64(m.DevdConnected) == 0 })
	if err := d.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reconnected", func() bool { return testutil.ToFloat64(m.DevdConnected) == 1 })
}
