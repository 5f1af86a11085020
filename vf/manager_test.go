package vf

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/command/commandtest"
	"github.com/hvagent/hvagent/vf/vftest"
)

// Manage mode's actions: deadlines, the base rules, waiting work, and
// what a flap storm leaves behind.

// A command that never returns on its own (a runner honouring only its
// context) cannot hold an hn's actions: the action's deadline ends it,
// it counts as a failure, and the hn's next action runs.
func TestActionDeadline(t *testing.T) {
	dir := t.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0", "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}}
	var mu sync.Mutex
	hung := 0
	run := &commandtest.Fake{Func: func(ctx context.Context, c command.Cmd) command.Result {
		if strings.Join(c.Argv, " ") == "ifconfig lagg0" {
			mu.Lock()
			hung++
			mu.Unlock()
			<-ctx.Done()
			return command.Result{Err: ctx.Err()}
		}
		return command.Result{}
	}}
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeManage, BaseRules: filepath.Join(dir, "none"),
		Sysctl: sc, Runner: run, Metrics: m, ActionTimeout: 50 * time.Millisecond})
	runSubsystem(t, s, d)
	failed := m.LaggActions.WithLabelValues("hn0", ActionCreate, "failure")
	waitFor(t, "the boot-time action to time out", func() bool { return testutil.ToFloat64(failed) == 1 })
	d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP")
	waitFor(t, "the next action to run and time out", func() bool { return testutil.ToFloat64(failed) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if hung != 2 {
		t.Errorf("lagg0 queried %d times, want 2", hung)
	}
}

// The base devd rules re-enabled behind the agent's back (no SIGHUP):
// the next action sees them, does nothing, and the subsystem observes.
func TestActionRechecksBaseRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "hyperv.conf")
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": "mce0:hn0", "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}}
	run := (&commandtest.Fake{}).On("ifconfig lagg0", commandtest.Out("lagg0: flags=0<>\n\tlaggport: hn0 flags=0<>\n"))
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeManage, BaseRules: rules, Sysctl: sc, Runner: run, Metrics: m})
	runSubsystem(t, s, d)
	added := m.LaggActions.WithLabelValues("hn0", ActionAddPort, "success")
	waitFor(t, "the boot-time add_port", func() bool { return testutil.ToFloat64(added) == 1 })
	n := len(run.Calls())

	if err := os.WriteFile(rules, []byte("notify 10 {\n\taction \"/usr/libexec/hyperv/hyperv_vfup $subsystem\";\n};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP")
	waitFor(t, "the subsystem to fall back to observing", func() bool { return testutil.ToFloat64(m.Managing) == 0 })
	if c := run.Calls()[n:]; len(c) != 0 {
		t.Errorf("acted with the base rules active: %q", c)
	}
}

// Leaving manage mode drops a delayed VF bring-up still waiting.
func TestDisablingDropsDelayedBringUp(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	loop := agent.NewLoop(log, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { loop.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	run := &commandtest.Fake{}
	m := NewMetrics(prometheus.NewRegistry())
	tr := NewTracker(m, log)
	mg := &manager{loop: loop, log: log, m: m, run: run, tracker: tr, delay: 20 * time.Millisecond,
		burst: 10, interval: time.Minute, timeout: time.Minute, baseRules: filepath.Join(t.TempDir(), "none"), ctx: ctx}
	mg.init()
	done := make(chan struct{})
	loop.Post(func() {
		tr.Observe(Observation{HN: "hn0", VF: "mce0", At: time.Now()})
		mg.setEnabled(true)
		mg.trigger(trigger{kind: trigAttached, hn: "hn0", vf: "mce0", at: time.Now()})
		mg.setEnabled(false)
	})
	// Well past the delay, then once more through the loop.
	loop.AfterFunc(200*time.Millisecond, func() { close(done) })
	<-done
	time.Sleep(50 * time.Millisecond) // an action started would have run by now
	if c := run.Calls(); len(c) != 0 {
		t.Errorf("ran %q after leaving manage mode", c)
	}
}

// A delayed bring-up that finds hn busy runs right after the busy
// action, not after another hyperv_vf_delay.
func TestQueuedBringUpDoesNotWaitAgain(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	loop := agent.NewLoop(log, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { loop.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	release := make(chan struct{})
	var mu sync.Mutex
	var calls []string
	run := &commandtest.Fake{Func: func(ctx context.Context, c command.Cmd) command.Result {
		k := strings.Join(c.Argv, " ")
		mu.Lock()
		calls = append(calls, k)
		mu.Unlock()
		if k == "ifconfig lagg0" {
			<-release
			return commandtest.Out("lagg0: flags=0<>\n\tlaggport: hn0 flags=0<>\n\tlaggport: mce0 flags=0<>\n")
		}
		return command.Result{}
	}}
	m := NewMetrics(prometheus.NewRegistry())
	tr := NewTracker(m, log)
	dir := t.TempDir()
	mg := &manager{loop: loop, log: log, m: m, run: run, tracker: tr, delay: 20 * time.Millisecond,
		sc: &lockedSysctl{s: &mapSysctl{v: map[string]string{"dev.hn.0.vf": "mce0"}}}, overrideDir: dir,
		burst: 10, interval: time.Minute, timeout: time.Minute, baseRules: filepath.Join(dir, "none"), ctx: ctx}
	mg.init()
	onLoop := func(f func()) {
		done := make(chan struct{})
		loop.Post(func() { f(); close(done) })
		<-done
	}
	now := time.Now()
	onLoop(func() {
		tr.Observe(Observation{HN: "hn0", VF: "mce0", Datapath: true, At: now})
		mg.setEnabled(true)
		mg.trigger(trigger{kind: trigAttached, hn: "hn0", vf: "mce0", at: now}) // due in 20 ms
		mg.trigger(trigger{kind: trigVFUp, hn: "hn0", vf: "mce0", at: now})     // busy on "ifconfig lagg0" by then
	})
	waitFor(t, "the bring-up to queue behind the busy action", func() bool {
		var queued bool
		onLoop(func() { _, queued = mg.queued["hn0"] })
		return queued
	})
	onLoop(func() { mg.delay = time.Hour })
	close(release)
	waitFor(t, "ifconfig mce0 up", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(calls, "ifconfig mce0 up")
	})
}

// A long flap storm in manage mode, with the VF coming back under a new
// name every time (mce0, mce1, ...): the per-interface state stays one
// entry per hn, the info metric one series, and no goroutines pile up.
func TestFlapStormStaysBounded(t *testing.T) {
	const flaps = 500
	dir := t.TempDir()
	d, err := vftest.NewDevd(filepath.Join(dir, "devd.sock"))
	if err != nil {
		t.Fatal(err)
	}
	var vfmap []string
	for i := range flaps {
		vfmap = append(vfmap, fmt.Sprintf("mce%d:hn0", i))
	}
	sc := &lockedSysctl{s: &mapSysctl{v: map[string]string{
		"hw.hn.vf_transparent": "0", "hw.hn.vfmap": strings.Join(vfmap, " "), "dev.hn.0.vf": "mce0", "dev.hn.0.rxvf": "mce0",
	}}}
	run := &commandtest.Fake{}
	m := NewMetrics(prometheus.NewRegistry())
	s := New(Config{DevdSocket: d.Path(), Mode: ModeManage, BaseRules: filepath.Join(dir, "none"),
		Sysctl: sc, Runner: run, Metrics: m, Burst: 2, Interval: time.Hour})
	env := runSubsystem(t, s, d)
	waitFor(t, "the first snapshot", func() bool { return testutil.CollectAndCount(m.Datapath) == 1 })
	base := runtime.NumGoroutine()
	for i := range flaps {
		vf := fmt.Sprintf("mce%d", i)
		d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_DOWN")
		d.Send("!system=IFNET subsystem=" + vf + " type=DETACH")
		next := fmt.Sprintf("mce%d", i+1)
		d.Send("!system=IFNET subsystem=" + next + " type=ATTACH")
		d.Send("!system=ETHERNET subsystem=" + next + " type=IFATTACH")
		d.Send("!system=HYPERV_NIC_VF subsystem=hn0 type=VF_UP")
	}
	relevant := m.DevdLines.WithLabelValues("relevant")
	waitFor(t, "every line read", func() bool { return testutil.ToFloat64(relevant) == 5*flaps })
	toSynthetic := m.Transitions.WithLabelValues("hn0", DirToSynthetic)
	waitFor(t, "every removal counted", func() bool { return testutil.ToFloat64(toSynthetic) == flaps })
	var sizes [5]int
	done := make(chan struct{})
	env.Loop.Post(func() {
		sizes = [5]int{len(s.tracker.hns), len(s.mg.vfTimers), len(s.mg.pending), len(s.mg.queued), len(s.rechecks)}
		close(done)
	})
	<-done
	if sizes[0] != 1 || sizes[1] > 1 || sizes[2] > 1 || sizes[3] > 1 || sizes[4] > 1 {
		t.Errorf("state after %d flaps: hns %d, VF timers %d, pending %d, queued %d, rechecks %d; want 1 and at most 1 each",
			flaps, sizes[0], sizes[1], sizes[2], sizes[3], sizes[4])
	}
	if n := testutil.CollectAndCount(m.Info); n != 1 {
		t.Errorf("%d hvagent_vf_info series, want 1", n)
	}
	// Goroutines: at most the one running action and a timer's post.
	waitFor(t, "goroutines to settle", func() bool { return runtime.NumGoroutine() <= base+2 })
}
