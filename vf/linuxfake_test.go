package vf

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
)

// fakeKernel stands in for rtnetlink: a dump lists links, now; each
// subscription (fakeLinks) has its own queue of receives, as each
// netlink socket has its own receive queue.
type fakeKernel struct {
	mu    sync.Mutex
	links []LinkUpdate
	subs  []*fakeLinks
	dials chan *fakeLinks // each new subscription
	dumps int
}

func newFakeKernel(links ...LinkUpdate) *fakeKernel {
	return &fakeKernel{links: links, dials: make(chan *fakeLinks, 16)}
}

// dial is Subsystem.dialLinks. The first subscription's queue holds
// first; later ones start empty.
func (k *fakeKernel) dial(first ...linkRecv) func() (linkSource, error) {
	return func() (linkSource, error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		l := &fakeLinks{k: k, q: make(chan linkRecv, 16), closed: make(chan struct{}), receiving: make(chan struct{})}
		if len(k.subs) == 0 {
			for _, r := range first {
				l.q <- r
			}
		}
		k.subs = append(k.subs, l)
		k.dials <- l
		return l, nil
	}
}

type linkRecv struct {
	ups []LinkUpdate
	err error
}

type fakeLinks struct {
	k         *fakeKernel
	q         chan linkRecv
	closed    chan struct{}
	once      sync.Once
	receiving chan struct{} // closed at the first receive
	recvOnce  sync.Once
	calls     atomic.Int64 // receives begun
}

func (l *fakeLinks) dump() ([]LinkUpdate, error) {
	l.k.mu.Lock()
	defer l.k.mu.Unlock()
	l.k.dumps++
	return append([]LinkUpdate(nil), l.k.links...), nil
}

func (l *fakeLinks) receive() ([]LinkUpdate, error) {
	l.calls.Add(1)
	l.recvOnce.Do(func() { close(l.receiving) })
	select {
	case <-l.closed:
		return nil, os.ErrClosed
	default:
	}
	select {
	case r := <-l.q:
		return r.ups, r.err
	case <-l.closed:
		return nil, os.ErrClosed
	}
}

func (l *fakeLinks) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeLinks) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// fakeGuest runs the Linux observer against a fakeKernel, with eth0
// (ifindex 3) marked hv_netvsc in a sysfs stand-in.
type fakeGuest struct {
	t    *testing.T
	s    *Subsystem
	m    *Metrics
	reg  *prometheus.Registry
	loop *agent.Loop
	logs *lockedBuf
	errc chan error
}

func startFake(t *testing.T, k *fakeKernel, first ...linkRecv) *fakeGuest {
	t.Helper()
	return startFakeKmsg(t, k, "", first...)
}

// startFakeKmsg is startFake with kmsg as --vf.kmsg.
func startFakeKmsg(t *testing.T, k *fakeKernel, kmsg string, first ...linkRecv) *fakeGuest {
	t.Helper()
	sys := t.TempDir()
	for _, n := range []string{"eth0", "eth1", "eth2"} {
		fakeNetvsc(t, sys, n)
	}
	g := &fakeGuest{t: t, reg: prometheus.NewRegistry(), logs: &lockedBuf{}, errc: make(chan error, 1)}
	g.m = NewLinuxMetrics(g.reg)
	g.s = New(Config{Protocol: ProtocolLinux, SysRoot: sys, Kmsg: kmsg, Metrics: g.m,
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	g.s.dialLinks = k.dial(first...)
	log := slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g.loop = agent.NewLoop(log, 256)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { g.loop.Run(ctx) })
	go func() { g.errc <- g.s.Run(ctx, &agent.Env{Loop: g.loop, Log: log}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-g.errc; err != nil {
			t.Errorf("Run: %v", err)
		}
		wg.Wait()
	})
	return g
}

// sync returns once the loop has done what was posted before.
func (g *fakeGuest) sync() {
	g.t.Helper()
	done := make(chan struct{})
	if !g.loop.Post(func() { close(done) }) {
		g.t.Fatal("loop stopped")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.t.Fatalf("loop stuck\n%s", g.logs)
	}
}

// next waits for the next subscription.
func (g *fakeGuest) next(k *fakeKernel) *fakeLinks {
	g.t.Helper()
	select {
	case l := <-k.dials:
		return l
	case err := <-g.errc:
		g.errc <- err
		g.t.Fatalf("Run returned %v\n%s", err, g.logs)
	case <-time.After(10 * time.Second):
		g.t.Fatalf("timed out waiting for a subscription\n%s", g.logs)
	}
	return nil
}

// waitReceiving waits until Run receives from l: what it read before
// is posted to the loop.
func (g *fakeGuest) waitReceiving(l *fakeLinks) {
	g.t.Helper()
	select {
	case <-l.receiving:
	case <-time.After(10 * time.Second):
		g.t.Fatalf("timed out waiting for a receive\n%s", g.logs)
	}
	g.sync()
}

// set replaces the links a dump lists.
func (k *fakeKernel) set(links ...LinkUpdate) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.links = links
}

// hnSeries counts the series of every family labelled hn=hn.
func (g *fakeGuest) hnSeries(hn string) int {
	g.t.Helper()
	fams, err := g.reg.Gather()
	if err != nil {
		g.t.Fatal(err)
	}
	n := 0
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "hn" && l.GetValue() == hn {
					n++
				}
			}
		}
	}
	return n
}

// push hands Run link events on l and returns once they are applied:
// Run is back in receive and the loop has done what Run posted.
func (g *fakeGuest) push(l *fakeLinks, ups ...LinkUpdate) {
	g.t.Helper()
	before := l.calls.Load()
	l.q <- linkRecv{ups: ups}
	deadline := time.Now().Add(10 * time.Second)
	for l.calls.Load() == before {
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for the events to be read\n%s", g.logs)
		}
		time.Sleep(time.Millisecond)
	}
	g.sync()
}

// series lists family's series, each as its label values joined by
// spaces, "=" and the value.
func (g *fakeGuest) series(family string) []string {
	g.t.Helper()
	fams, err := g.reg.Gather()
	if err != nil {
		g.t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != family {
			continue
		}
		for _, m := range f.GetMetric() {
			var vals []string
			for _, l := range m.GetLabel() {
				vals = append(vals, l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
			out = append(out, fmt.Sprintf("%s=%v", strings.Join(vals, " "), v))
		}
	}
	return out
}

// info is hvagent_vf_info's series as "hn vf", comma-separated.
func (g *fakeGuest) info() string {
	var out []string
	for _, s := range g.series("hvagent_vf_info") { // labels hn, mode, vf
		s = strings.TrimSuffix(s, "=1")
		out = append(out, strings.Replace(s, " transparent", "", 1))
	}
	return strings.Join(out, ",")
}

var (
	fakeEth0 = LinkUpdate{Index: 3, Name: "eth0", Up: true}
	fakeVFUp = LinkUpdate{Index: 7, Name: "enP1s1", Master: 3, Up: true}
)

// After an overrun the observer subscribes afresh before it dumps: the
// messages still queued on the old socket are older than the dump and
// must not be applied over it. Here the old queue holds the VF going
// down, which the dump (VF up) already supersedes.
func TestLinuxOverrunResubscribes(t *testing.T) {
	k := newFakeKernel(fakeEth0, fakeVFUp)
	stale := LinkUpdate{Index: 7, Name: "enP1s1", Master: 3}
	g := startFake(t, k, linkRecv{err: errOverrun}, linkRecv{ups: []LinkUpdate{stale}})
	first := g.next(k)
	second := g.next(k)
	if !first.isClosed() {
		t.Error("the overrun socket was not closed")
	}
	g.waitReceiving(second)
	if got := testutil.ToFloat64(g.m.Datapath.WithLabelValues("eth0")); got != 1 {
		t.Errorf("datapath_vf = %v after the fresh dump, want 1 (a stale event was applied)", got)
	}
	if got := testutil.ToFloat64(g.m.Transitions.WithLabelValues("eth0", DirToSynthetic)); got != 0 {
		t.Errorf("to_synthetic = %v, want 0", got)
	}
	k.mu.Lock()
	dumps := k.dumps
	k.mu.Unlock()
	if dumps != 2 {
		t.Errorf("%d dumps, want 2 (start, after the overrun)", dumps)
	}
}

// lockedBuf is a log sink safe for the loop and the test.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A link name that is not printable UTF-8 of 1-15 bytes never reaches
// a label (client_golang panics on invalid UTF-8): the link is skipped
// with a log line quoting its name, and a link renamed to such a name
// is as good as gone.
func TestLinuxBadLinkNames(t *testing.T) {
	k := newFakeKernel(fakeEth0,
		LinkUpdate{Index: 7, Name: "\xffvf", Master: 3, Up: true}, // a VF whose name is not UTF-8
		LinkUpdate{Index: 8, Name: "a\x01b"},
		LinkUpdate{Index: 9, Name: "eth0-with-a-long-name"})
	g := startFake(t, k)
	l := g.next(k)
	g.waitReceiving(l)
	if got := g.info(); got != "eth0 " {
		t.Errorf("info after the dump: %q, want eth0 without a VF", got)
	}
	for _, want := range []string{`\\xffvf`, `\\x01`} {
		if !strings.Contains(g.logs.String(), want) {
			t.Errorf("no log line quoting %s:\n%s", want, g.logs)
		}
	}
	g.push(l, LinkUpdate{Index: 7, Name: "vf1", Master: 3, Up: true})
	if got := g.info(); got != "eth0 vf1" {
		t.Errorf("info after the rename to vf1: %q", got)
	}
	g.push(l, LinkUpdate{Index: 7, Name: "vf\xc0", Master: 3, Up: true})
	if got := g.info(); got != "eth0 " {
		t.Errorf("info after the rename to an invalid name: %q", got)
	}
	if n := strings.Count(g.logs.String(), "skipping a link"); n != 4 {
		t.Errorf("%d log lines about skipped links, want 4 (one per name)\n%s", n, g.logs)
	}
}

// Without a kernel log (--vf.kmsg "" or a path that cannot be opened)
// hvagent_vf_kernel_events_total is absent, "not observed", rather than
// zero, "no failures".
func TestLinuxKernelEventsAbsentWithoutKmsg(t *testing.T) {
	for _, kmsg := range []string{"", filepath.Join(t.TempDir(), "no-such-kmsg")} {
		k := newFakeKernel(fakeEth0, fakeVFUp)
		g := startFakeKmsg(t, k, kmsg)
		g.waitReceiving(g.next(k))
		if got := g.series("hvagent_vf_kernel_events_total"); got != nil {
			t.Errorf("--vf.kmsg %q: kernel events exported: %q", kmsg, got)
		}
		if got := g.info(); got != "eth0 enP1s1" {
			t.Errorf("--vf.kmsg %q: info %q", kmsg, got)
		}
	}
}

// A synthetic interface that goes away takes its series with it: on
// removal, under its old name on a rename, and when a fresh dump no
// longer lists it. A hot-removed NIC must not keep datapath_vf at 0.
func TestLinuxGoneInterfacesForgotten(t *testing.T) {
	eth1 := LinkUpdate{Index: 4, Name: "eth1", Up: true}
	k := newFakeKernel(fakeEth0, fakeVFUp, eth1)
	g := startFake(t, k)
	l := g.next(k)
	g.waitReceiving(l)
	if g.hnSeries("eth0") == 0 || g.hnSeries("eth1") == 0 {
		t.Fatalf("no series for eth0 or eth1 at start\n%s", g.logs)
	}

	// Hot removal: the VF goes, then eth0.
	g.push(l, LinkUpdate{Index: 7, Name: "enP1s1", Master: 3, Deleted: true})
	g.push(l, LinkUpdate{Index: 3, Name: "eth0", Deleted: true})
	if n := g.hnSeries("eth0"); n != 0 {
		t.Errorf("%d series of the removed eth0: %q", n, g.series("hvagent_vf_datapath_vf"))
	}

	// A rename: eth1's series go, eth2's come.
	g.push(l, LinkUpdate{Index: 4, Name: "eth2", Up: true})
	if n := g.hnSeries("eth1"); n != 0 {
		t.Errorf("%d series of the old name eth1", n)
	}
	if g.hnSeries("eth2") == 0 {
		t.Error("no series of eth2")
	}

	// A dump (after an overrun) that no longer lists eth2.
	k.set()
	l.q <- linkRecv{err: errOverrun}
	g.waitReceiving(g.next(k))
	if n := g.hnSeries("eth2"); n != 0 {
		t.Errorf("%d series of eth2, which the dump does not list", n)
	}
}
