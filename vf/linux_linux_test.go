package vf

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"golang.org/x/sys/unix"

	"github.com/hvagent/hvagent/agent"
)

// needNetns skips without root or ip(8), except in CI, which has both.
func needNetns(t testing.TB) {
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

// ipIn runs ip(8) in namespace ns ("": ip's own netns commands).
func ipIn(t testing.TB, ns string, args ...string) {
	t.Helper()
	if ns != "" {
		args = append([]string{"-n", ns}, args...)
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

const linuxMAC = "00:15:5d:e2:e0:17"

// linuxGuest is a network namespace standing in for a Linux guest:
// eth0, the synthetic NIC, is a bridge (so that another link can have it
// as IFLA_MASTER; forward_delay 0, so that no port state change comes
// later by itself), hv_netvsc by a sysfs tree the test makes; the kernel
// log is a pipe the test writes. The subsystem runs in the namespace.
type linuxGuest struct {
	t      *testing.T
	ns     string
	m      *Metrics
	reg    *prometheus.Registry
	kmsg   *os.File // the pipe's write end
	sys    string   // the sysfs stand-in
	now    atomic.Int64
	wakes  atomic.Int64 // rtnetlink receives returned
	dumps  atomic.Int64 // rtnetlink dumps
	reads  atomic.Int64 // sysfs driver checks
	seen   atomic.Int64 // observations applied on the loop
	logs   *lockedBuf
	runErr chan error
}

func newLinuxGuest(t *testing.T, tag string) *linuxGuest {
	t.Helper()
	needNetns(t)
	g := &linuxGuest{t: t, ns: fmt.Sprintf("hvagent-vf%s-%d", tag, os.Getpid()), reg: prometheus.NewRegistry(), logs: &lockedBuf{}}
	g.m = NewLinuxMetrics(g.reg)
	g.now.Store(time.Unix(1_800_000_000, 0).UnixNano())
	ipIn(t, "", "netns", "add", g.ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", g.ns).Run() })
	ipIn(t, g.ns, "link", "add", "eth0", "type", "bridge", "forward_delay", "0")
	ipIn(t, g.ns, "link", "set", "eth0", "addrgenmode", "none")
	ipIn(t, g.ns, "link", "set", "eth0", "address", linuxMAC)
	ipIn(t, g.ns, "link", "set", "eth0", "up")
	return g
}

// start runs the subsystem in g's namespace until the test ends, with
// eth0 marked hv_netvsc in the sysfs stand-in, and waits for the first
// snapshot.
func (g *linuxGuest) start() {
	g.t.Helper()
	g.startWith(true)
	g.waitFor("the first snapshot", func() bool { return testutil.CollectAndCount(g.m.Datapath) == 1 })
}

// startWith runs the subsystem; eth0 is hv_netvsc's if mark is set
// (g.markNetvsc does it later).
func (g *linuxGuest) startWith(mark bool) {
	t := g.t
	t.Helper()
	dir := t.TempDir()
	g.sys = dir
	if mark {
		g.markNetvsc()
	}
	fifo, w := kmsgFIFO(t, dir)
	g.kmsg = w
	s := New(Config{Protocol: ProtocolLinux, SysRoot: dir, Kmsg: fifo, Metrics: g.m,
		Now: func() time.Time { return time.Unix(0, g.now.Load()) }})
	s.received = func() { g.wakes.Add(1) }
	s.dumped = func() { g.dumps.Add(1) }
	s.sysRead = func() { g.reads.Add(1) }
	s.observed = func() { g.seen.Add(1) }
	log := slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	loop := agent.NewLoop(log, 256)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	env := &agent.Env{Loop: loop, Log: log}
	var wg sync.WaitGroup
	wg.Go(func() { loop.Run(ctx) })
	g.runErr = make(chan error, 1)
	nsPath := filepath.Join("/run/netns", g.ns)
	go func() {
		// This goroutine's thread enters the namespace and is never
		// unlocked: it ends with the goroutine, and every socket Run
		// opens belongs to the namespace.
		runtime.LockOSThread()
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		close(ready)
		if err != nil {
			g.runErr <- err
			return
		}
		g.runErr <- s.Run(ctx, env)
	}()
	<-ready
	t.Cleanup(func() {
		cancel()
		if err := <-g.runErr; err != nil {
			t.Errorf("Run: %v", err)
		}
		wg.Wait()
		w.Close()
	})
}

// markNetvsc makes the sysfs stand-in say that eth0's driver is
// hv_netvsc.
func (g *linuxGuest) markNetvsc() {
	g.t.Helper()
	fakeNetvsc(g.t, g.sys, "eth0")
}

func (g *linuxGuest) at(sec int64) { g.now.Store(time.Unix(1_800_000_000+sec, 0).UnixNano()) }

func (g *linuxGuest) ip(args ...string) { g.t.Helper(); ipIn(g.t, g.ns, args...) }

// addVF makes vf0, the VF stand-in: a veth end with eth0's MAC,
// enslaved to eth0.
func (g *linuxGuest) addVF() {
	g.t.Helper()
	g.ip("link", "add", "vf0", "type", "veth", "peer", "name", "vfpeer")
	for _, l := range []string{"vf0", "vfpeer"} {
		g.ip("link", "set", l, "addrgenmode", "none")
	}
	g.ip("link", "set", "vf0", "address", linuxMAC)
	g.ip("link", "set", "vf0", "master", "eth0")
}

func (g *linuxGuest) waitFor(what string, cond func() bool) {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		select {
		case err := <-g.runErr:
			g.runErr <- err
			g.t.Fatalf("Run returned %v while waiting for %s\n%s", err, what, g.logs)
		default:
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for %s\n%s", what, g.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (g *linuxGuest) state(vf string, datapath float64) func() bool {
	return func() bool {
		return testutil.ToFloat64(g.m.Info.WithLabelValues("eth0", vf, "transparent")) == 1 &&
			testutil.CollectAndCount(g.m.Info) == 1 &&
			testutil.ToFloat64(g.m.Datapath.WithLabelValues("eth0")) == datapath
	}
}

func (g *linuxGuest) transitions(dir string) float64 {
	return testutil.ToFloat64(g.m.Transitions.WithLabelValues("eth0", dir))
}

// The VF story in a namespace, driven by the kernel's own link events:
// attach, data path to the VF, away, removal, return; the degraded
// window measured from the switch away to the return; the kernel log's
// lines counted; the metrics pass promtool.
func TestLinuxNetnsVFStory(t *testing.T) {
	g := newLinuxGuest(t, "story")
	g.start()
	g.waitFor("no VF", g.state("", 0))

	// A link with eth0's MAC, up, but not enslaved to eth0 is not its VF:
	// only IFLA_MASTER ties them. The stray link's events make no
	// observation (no synthetic master); eth0's alias, set after them,
	// does, and once the loop has applied it the stray link's events
	// have been read (one socket, in order): the check is not vacuous.
	g.ip("link", "add", "stray0", "type", "veth", "peer", "name", "straypeer")
	for _, l := range []string{"stray0", "straypeer"} {
		g.ip("link", "set", l, "addrgenmode", "none")
	}
	g.ip("link", "set", "stray0", "address", linuxMAC)
	g.ip("link", "set", "stray0", "up")
	seen := g.seen.Load()
	g.ip("link", "set", "eth0", "alias", "synthetic")
	g.waitFor("eth0's alias event applied", func() bool { return g.seen.Load() > seen })
	if !g.state("", 0)() {
		info, _ := testutil.CollectAndFormat(g.m.Info, expfmt.TypeTextPlain, "hvagent_vf_info")
		t.Fatalf("a link with eth0's MAC, not enslaved, is taken for its VF:\n%s", info)
	}

	g.at(1)
	g.addVF()
	g.waitFor("VF attached", g.state("vf0", 0))
	if g.transitions(DirToVF)+g.transitions(DirToSynthetic) != 0 {
		t.Fatal("a transition counted for a VF that never carried traffic")
	}

	g.at(5)
	g.ip("link", "set", "vf0", "up")
	g.waitFor("data path on the VF", g.state("vf0", 1))
	if g.transitions(DirToVF) != 1 {
		t.Errorf("to_vf = %v, want 1", g.transitions(DirToVF))
	}

	g.at(10)
	g.ip("link", "set", "vf0", "down")
	g.waitFor("data path away from the VF", g.state("vf0", 0))
	if g.transitions(DirToSynthetic) != 1 || testutil.ToFloat64(g.m.LastTransition.WithLabelValues("eth0")) != 1_800_000_010 {
		t.Errorf("to_synthetic = %v, last transition %v", g.transitions(DirToSynthetic), testutil.ToFloat64(g.m.LastTransition.WithLabelValues("eth0")))
	}

	g.at(20)
	g.ip("link", "del", "vf0")
	g.waitFor("VF removed", g.state("", 0))

	g.at(40)
	g.addVF()
	g.ip("link", "set", "vf0", "up")
	g.waitFor("VF back with the data path", g.state("vf0", 1))
	if g.transitions(DirToVF) != 2 || g.transitions(DirToSynthetic) != 1 {
		t.Errorf("transitions to_vf %v to_synthetic %v, want 2 and 1", g.transitions(DirToVF), g.transitions(DirToSynthetic))
	}
	// One degraded window, from the switch away (10 s) to the return (40 s).
	want := `
# HELP hvagent_vf_degraded_duration_seconds Length of each window in which the traffic of the synthetic interface (hnN on FreeBSD, ethN on Linux) ran on the synthetic path because its VF was gone, observed when the VF is back.
# TYPE hvagent_vf_degraded_duration_seconds histogram
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="1"} 0
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="2"} 0
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="5"} 0
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="10"} 0
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="20"} 0
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="30"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="45"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="60"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="90"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="120"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="180"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="300"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="600"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="1800"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="3600"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="7200"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="14400"} 1
hvagent_vf_degraded_duration_seconds_bucket{hn="eth0",le="+Inf"} 1
hvagent_vf_degraded_duration_seconds_sum{hn="eth0"} 30
hvagent_vf_degraded_duration_seconds_count{hn="eth0"} 1
`
	if err := testutil.CollectAndCompare(g.m.Degraded, strings.NewReader(want)); err != nil {
		t.Errorf("degraded duration: %v", err)
	}

	// The kernel log: confirmations and a failure, counted per
	// synthetic interface; other lines are not.
	for _, l := range []string{
		"6,2001,4370612,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: Data path switched to VF: vf0",
		" SUBSYSTEM=vmbus",
		"6,2002,4370700,-;mlx5_core 7830:00:02.0 vf0: joined to eth0",
		"3,2003,4370800,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: Data path failed to switch from VF: vf0, err: -5",
	} {
		if _, err := g.kmsg.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(e string) float64 { return testutil.ToFloat64(g.m.KernelEvents.WithLabelValues("eth0", e)) }
	g.waitFor("the kernel log's lines", func() bool { return ev(KernelSwitchFromFail) == 1 })
	if ev(KernelSwitchedToVF) != 1 || ev(KernelVFRegistering) != 0 {
		t.Errorf("kernel events: switched_to_vf %v vf_registering %v", ev(KernelSwitchedToVF), ev(KernelVFRegistering))
	}
	if !strings.Contains(g.logs.String(), "VF data path switch failed") {
		t.Errorf("no warning for the failed switch:\n%s", g.logs)
	}
	checkLinuxExposition(t, g.reg)
}

// checkLinuxExposition: the Linux families pass promtool check metrics,
// and the devd and lagg families are absent, not zero.
func checkLinuxExposition(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range fams {
		switch n := f.GetName(); n {
		case "hvagent_vf_devd_lines_total", "hvagent_vf_devd_connected", "hvagent_vf_lagg_actions_total", "hvagent_vf_actions_held_back_total":
			t.Errorf("%s exported on Linux", n)
		}
	}
	promtool := needPromtool(t)
	for _, f := range fams {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, b.String())
	}
	if !strings.Contains(b.String(), "hvagent_vf_managing 0") {
		t.Errorf("hvagent_vf_managing is not 0 on Linux:\n%s", b.String())
	}
}

// Netlink events, not polling, drive the observer: over an idle
// interval the receive never returns (no wake-up at all), and the
// next link change wakes it at once (so the count can move).
func TestLinuxNetnsNoPeriodicWork(t *testing.T) {
	g := newLinuxGuest(t, "idle")
	g.addVF()
	g.ip("link", "set", "vf0", "up")
	g.start()
	g.waitFor("the VF", g.state("vf0", 1))
	before, dumps, reads := g.wakes.Load(), g.dumps.Load(), g.reads.Load()
	time.Sleep(1500 * time.Millisecond) // idle: nothing changes
	if idle := g.wakes.Load() - before; idle != 0 {
		t.Fatalf("%d rtnetlink wake-ups while nothing changed\n%s", idle, g.logs)
	}
	if d, r := g.dumps.Load()-dumps, g.reads.Load()-reads; d != 0 || r != 0 {
		t.Fatalf("%d rtnetlink dumps and %d sysfs reads while nothing changed\n%s", d, r, g.logs)
	}
	if dumps == 0 || reads == 0 {
		t.Fatalf("no dump (%d) or sysfs read (%d) at start: the counters do not count", dumps, reads)
	}
	g.ip("link", "set", "vf0", "down")
	g.waitFor("the change", g.state("vf0", 0))
	if g.wakes.Load() == before {
		t.Fatal("the change reached the metrics without a wake-up: the counter does not count")
	}
}

// A guest whose hv_netvsc is not loaded yet when the agent starts (the
// unit runs early): the subsystem is not disabled, says so once, and
// follows eth0 from its next link event once sysfs names hv_netvsc its
// driver.
func TestLinuxNetnsNetvscLater(t *testing.T) {
	g := newLinuxGuest(t, "later")
	g.startWith(false)
	const msg = "no hv_netvsc interface yet; following link events"
	g.waitFor("the start without hv_netvsc", func() bool { return strings.Contains(g.logs.String(), "following rtnetlink link events") })
	if n := strings.Count(g.logs.String(), msg); n != 1 {
		t.Errorf("%q logged %d times, want once\n%s", msg, n, g.logs)
	}
	if n := testutil.CollectAndCount(g.m.Datapath); n != 0 {
		t.Errorf("%d datapath series before any hv_netvsc interface", n)
	}

	g.markNetvsc()
	g.ip("link", "set", "eth0", "alias", "synthetic") // a link event for eth0
	g.waitFor("eth0 as the synthetic interface", g.state("", 0))
	g.addVF()
	g.ip("link", "set", "vf0", "up")
	g.waitFor("the data path on the VF", g.state("vf0", 1))
	select {
	case err := <-g.runErr:
		g.runErr <- err
		t.Fatalf("Run returned %v", err)
	default:
	}
}

// The Linux facts the observer relies on, with their sources.
func TestContractLinuxVF(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want any
	}{
		// include/uapi/linux/rtnetlink.h: RTNLGRP_LINK = 1, and the legacy
		// bind mask RTMGRP_LINK = 1 << (RTNLGRP_LINK - 1).
		{"RTMGRP_LINK", unix.RTMGRP_LINK, 1},
		// include/uapi/linux/if.h, enum net_device_flags: IFF_UP = 1<<0.
		{"IFF_UP", unix.IFF_UP, 1},
		// include/uapi/linux/rtnetlink.h: RTM_NEWLINK 16, RTM_DELLINK 17.
		{"RTM_NEWLINK", unix.RTM_NEWLINK, 16},
		{"RTM_DELLINK", unix.RTM_DELLINK, 17},
		// include/uapi/linux/if_link.h: IFLA_MASTER = 10.
		{"IFLA_MASTER", unix.IFLA_MASTER, 10},
		// drivers/net/hyperv/netvsc_drv.c: netvsc_drv.name = KBUILD_MODNAME.
		{"driver", NetvscDriver, "hv_netvsc"},
		{"kmsg path", DefaultKmsg, "/dev/kmsg"},
		{"sysfs", DefaultSysRoot, "/sys"},
	} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// With the kernel log open the family is there, at zero for each
// synthetic interface, and counts lines only for the synthetic
// interfaces the observer follows: a name in kernel text makes no
// series of its own.
func TestLinuxKernelEventsOnlyKnownHNs(t *testing.T) {
	fifo, w := kmsgFIFO(t, t.TempDir())
	k := newFakeKernel(fakeEth0, fakeVFUp)
	g := startFakeKmsg(t, k, fifo)
	g.waitReceiving(g.next(k))
	for _, l := range []string{
		"6,1,0,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth9: Data path switched to VF: enP1s1",
		"6,2,0,-;hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: Data path switched to VF: enP1s1",
	} {
		if _, err := w.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(g.m.KernelEvents.WithLabelValues("eth0", KernelSwitchedToVF)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("eth0's line not counted\n%s", g.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := g.series("hvagent_vf_kernel_events_total")
	if len(got) != len(kernelEventNames) {
		t.Errorf("kernel event series: %q, want eth0's %d", got, len(kernelEventNames))
	}
	for _, s := range got {
		if !strings.HasPrefix(s, "switched_to_vf eth0=") && !strings.Contains(s, " eth0=0") {
			t.Errorf("unexpected series %q", s)
		}
	}
}

// A FIFO without a writer as --vf.kmsg (a misconfiguration) does not
// hold Run in its open (fs/pipe.c, fifo_open waits for a writer unless
// O_NONBLOCK): links are followed, and the kernel log, which ends at
// once, is reported as not read (the family absent) rather than left
// registered with nothing counting.
func TestLinuxKmsgFIFONoWriter(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "kmsg")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	k := newFakeKernel(fakeEth0)
	g := startFakeKmsg(t, k, fifo)
	// Runs before startFakeKmsg's cleanup: should the open block, a
	// writer lets it return, so a failure does not hang the test.
	t.Cleanup(func() {
		if w, err := os.OpenFile(fifo, os.O_RDWR, 0); err == nil {
			w.Close()
		}
	})
	l := g.next(k)
	g.waitReceiving(l)
	g.push(l, fakeVFUp)
	if got := g.info(); got != "eth0 enP1s1" {
		t.Errorf("info after the VF's event: %q, want eth0 enP1s1", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(g.logs.String(), "kernel log reading ended") {
		if time.Now().After(deadline) {
			t.Fatalf("the kernel log's end was not logged\n%s", g.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.sync()
	if got := g.series("hvagent_vf_kernel_events_total"); got != nil {
		t.Errorf("kernel events exported after the kernel log ended: %q", got)
	}
}

// A failed switch to the VF (netvsc_vf_changed, drivers/net/hyperv/
// netvsc_drv.c) leaves the traffic on the synthetic path: datapath_vf
// says 0 although the VF is up, through the VF's later link events,
// until the kernel says the data path switched to the VF; also when the
// failure line is read before the VF's up event.
func TestLinuxSwitchToVFFailedHolds(t *testing.T) {
	fifo, w := kmsgFIFO(t, t.TempDir())
	k := newFakeKernel(fakeEth0, fakeVFUp)
	g := startFakeKmsg(t, k, fifo)
	l := g.next(k)
	g.waitReceiving(l)
	const prefix = "hv_netvsc 6045bdb8-0bd2-6045-bdb8-0bd26045bdb8 eth0: "
	lines := 0
	kmsg := func(l string) {
		t.Helper()
		lines++
		if _, err := fmt.Fprintf(w, "6,%d,0,-;%s%s\n", lines, prefix, l); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			n := 0.0
			for _, e := range kernelEventNames {
				n += testutil.ToFloat64(g.m.KernelEvents.WithLabelValues("eth0", e))
			}
			if int(n) == lines {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("line %q not counted\n%s", l, g.logs)
			}
			time.Sleep(2 * time.Millisecond)
		}
		g.sync()
	}
	datapath := func(step string, want float64) {
		t.Helper()
		if got := testutil.ToFloat64(g.m.Datapath.WithLabelValues("eth0")); got != want {
			t.Errorf("%s: datapath_vf = %v, want %v", step, got, want)
		}
	}
	vfDown := LinkUpdate{Index: 7, Name: "enP1s1", Master: 3}

	datapath("VF up", 1)
	kmsg("Data path failed to switch to VF: enP1s1, err: -5")
	datapath("after the failure", 0)
	g.push(l, fakeVFUp) // a change event of the VF, still up
	datapath("a later VF event without a kernel line", 0)
	kmsg("Data path switched to VF: enP1s1")
	datapath("after the switch", 1)

	// The failure line read before the VF's up event.
	g.push(l, vfDown)
	datapath("VF down", 0)
	kmsg("Data path failed to switch to VF: enP1s1, err: -5")
	g.push(l, fakeVFUp)
	datapath("the VF's up event after the failure line", 0)
	if got := g.info(); got != "eth0 enP1s1" {
		t.Errorf("info while the switch failed: %q, want the VF still named", got)
	}
	kmsg("Data path switched to VF: enP1s1")
	datapath("after the second switch", 1)
}

// kmsgFIFO makes a FIFO named kmsg in dir, the kernel log of a test, and
// opens it read-write, so that the subsystem's open does not wait for a
// writer and its reads never see EOF; the test writes the lines into it.
func kmsgFIFO(t *testing.T, dir string) (string, *os.File) {
	t.Helper()
	fifo := filepath.Join(dir, "kmsg")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return fifo, w
}
