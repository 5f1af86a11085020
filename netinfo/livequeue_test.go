package netinfo

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hvagent/hvagent/internal/command"
	"github.com/hvagent/hvagent/internal/fbsdnet"
	"github.com/hvagent/hvagent/internal/fbsdnet/fbsdnettest"
	"github.com/hvagent/hvagent/kvp"
)

// modelNet is the system the live steps change, kept in memory: hn0's
// addresses and the default routes. Its run is the Service's Runner:
// sysrc edits rc.conf as sysrc(8) does (fakeSysrc), ifconfig and route
// change the model, and the first live command blocks until release is
// closed, so that one apply is in flight while requests pile up.
type modelNet struct {
	mu      sync.Mutex
	addrs   []netip.Prefix
	routes  []Route
	aliases int // addresses added: one per static apply here

	blocked chan struct{} // closed when the first live command blocks
	release chan struct{}
	once    sync.Once
}

func (m *modelNet) links() ([]Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return []Link{{Name: "hn0", MAC: mustMAC(macHN0), Addrs: slices.Clone(m.addrs)}}, nil
}

func (m *modelNet) defaultRoutes() ([]Route, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.routes), nil
}

func (m *modelNet) run(ctx context.Context, argv []string, _ []byte) ([]byte, error) {
	switch argv[0] {
	case "sysrc":
		return nil, modelSysrc(argv[1:])
	case "ifconfig", "route", "service":
	default:
		return nil, fmt.Errorf("unexpected command %q", argv)
	}
	m.once.Do(func() {
		close(m.blocked)
		select {
		case <-m.release:
		case <-ctx.Done():
		}
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case argv[0] == "ifconfig" && len(argv) == 5 && argv[4] == "alias":
		m.addrs = append(m.addrs, netip.MustParsePrefix(argv[3]))
		m.aliases++
	case argv[0] == "ifconfig" && len(argv) == 5 && argv[4] == "-alias":
		m.addrs = slices.DeleteFunc(m.addrs, func(p netip.Prefix) bool { return p.Addr().String() == argv[3] })
	case argv[0] == "route" && argv[2] == "delete":
		m.routes = nil
	case argv[0] == "route" && argv[2] == "add":
		m.routes = []Route{{Link: "hn0", Gateway: netip.MustParseAddr(argv[5])}}
	}
	return nil, nil
}

// Run makes the model the Service's command.Runner.
func (m *modelNet) Run(ctx context.Context, c command.Cmd) command.Result {
	_, err := m.run(ctx, c.Argv, c.Stdin)
	return command.Result{Argv: c.Argv, Err: err}
}

// modelSysrc does what "sysrc -f file [-x] name[=value] ..." does to
// the file, as package fbsdnettest models it.
func modelSysrc(args []string) error {
	if len(args) < 3 || args[0] != "-f" {
		return fmt.Errorf("sysrc %q: want -f file", args)
	}
	path, args := args[1], args[2:]
	del := args[0] == "-x"
	if del {
		args = args[1:]
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(fbsdnettest.SysrcEdit(string(b), args, del)), 0o644)
}

// countHandler counts log records by message and keeps nothing else,
// so that the log does not weigh on the heap being measured.
type countHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countHandler) WithGroup(string) slog.Handler            { return h }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.n[r.Message]++
	h.mu.Unlock()
	return nil
}

func (h *countHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// counterValue reads a counter family from reg by its exposed name.
func counterValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(mfs, func(mf *dto.MetricFamily) bool { return mf.GetName() == name })
	if i < 0 {
		t.Fatalf("no metric family %s", name)
	}
	return mfs[i].GetMetric()[0].GetCounter().GetValue()
}

// stormRequest is the i-th request of the storm: a static address of
// its own in 10.1.0.0/16, the same gateway.
func stormRequest(i int) kvp.IPInfo {
	return kvp.IPInfo{
		AdapterID: "hn0",
		IPAddr:    fmt.Sprintf("10.1.%d.%d", 1+i/200, 1+i%200),
		SubNet:    "255.255.0.0",
		Gateway:   "10.1.255.254",
	}
}

// A storm of SET_IP_INFO requests for one interface while its live
// apply is held up (a DHCP client waiting for a lease) keeps one apply
// running and one waiting: goroutines and heap stay where they were,
// each newer request supersedes the one waiting (logged and counted),
// and once the running apply finishes the interface ends in the last
// configuration asked for.
func TestSetIPInfoStormBounded(t *testing.T) {
	const requests = 2000
	e := newApplyEnv(t, nil)
	m := &modelNet{
		addrs:   prefixes("192.0.2.99/24", "fe80::215:5dff:fe0a:b0c/64"),
		routes:  []Route{{Link: "hn0", Gateway: netip.MustParseAddr("192.0.2.254")}},
		blocked: make(chan struct{}),
		release: make(chan struct{}),
	}
	logs := &countHandler{n: map[string]int{}}
	reg := prometheus.NewRegistry()
	cfg := e.cfg
	cfg.Links, cfg.Routes, cfg.Run = m.links, m.defaultRoutes, m
	cfg.Log, cfg.Metrics = slog.New(logs), NewMetrics(reg)
	svc := New(cfg)
	t.Cleanup(func() { closeOnce(m.release); svc.Wait() })

	if st := svc.SetIPInfo(stormRequest(0)); st != kvp.StatusOK {
		t.Fatalf("request 0: status %v", st)
	}
	<-m.blocked // the first apply is in flight and stays there
	goroutines, heap := runtime.NumGoroutine(), heapInUse()
	for i := 1; i < requests; i++ {
		if st := svc.SetIPInfo(stormRequest(i)); st != kvp.StatusOK {
			t.Fatalf("request %d: status %v", i, st)
		}
	}
	// At most the worker may come and go; 2,000 requests must not
	// leave 2,000 of anything behind.
	n := runtime.NumGoroutine()
	if n > goroutines+2 {
		t.Errorf("%d goroutines after %d requests, %d before", n, requests-1, goroutines)
	}
	// One waiting request holds its Setting, closure and log attributes:
	// well under 4 KiB. 64 of them is far below what 2,000 would hold,
	// and far above the page-sized noise of HeapInuse.
	const bound = 64 * 4 << 10
	grew := int64(heapInUse()) - int64(heap)
	if grew > bound {
		t.Errorf("heap and stacks in use grew by %d bytes over %d requests, want at most %d", grew, requests-1, bound)
	}
	t.Logf("while the first apply ran: goroutines %d -> %d, heap and stacks in use %+d bytes", goroutines, n, grew)

	closeOnce(m.release)
	svc.Wait()
	last := stormRequest(requests - 1)
	want := prefixes(last.IPAddr+"/16", "fe80::215:5dff:fe0a:b0c/64")
	links, _ := m.links()
	if got := links[0].Addrs; !slices.Equal(sortedPrefixes(got), sortedPrefixes(want)) {
		t.Errorf("hn0 addresses %v, want the last request's %v", got, want)
	}
	if routes, _ := m.defaultRoutes(); len(routes) != 1 || routes[0].Gateway.String() != last.Gateway {
		t.Errorf("default routes %v, want via %s", routes, last.Gateway)
	}
	rc, err := os.ReadFile(cfg.RCConf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fbsdnet.Parse(rc)["ifconfig_hn0"], "inet "+last.IPAddr+" netmask 255.255.0.0"; got != want {
		t.Errorf("rc.conf ifconfig_hn0=%q, want %q", got, want)
	}
	// Request 0 ran, request 1 waited and each later one replaced the
	// one waiting; the last ran.
	const superseded = requests - 2
	if m.aliases != 2 || logs.count("set_ip_info applied") != 2 {
		t.Errorf("%d addresses added, %d applies logged, want 2 of each", m.aliases, logs.count("set_ip_info applied"))
	}
	if v := counterValue(t, reg, "hvagent_kvp_set_ip_superseded_total"); v != superseded {
		t.Errorf("hvagent_kvp_set_ip_superseded_total %v, want %d", v, superseded)
	}
	if n := logs.count("set_ip_info superseded before it was applied live; a newer request for the interface replaces it"); n != superseded {
		t.Errorf("%d superseded requests logged, want %d", n, superseded)
	}
}

// While an apply runs, a newer request for an interface replaces the
// one waiting for it and queues behind other interfaces' requests, so
// that what the host asked last is applied last (default routes are
// shared); Wait returns once every waiting request has been applied.
func TestLiveQueueSupersedes(t *testing.T) {
	reg := prometheus.NewRegistry()
	logs := &countHandler{n: map[string]int{}}
	svc := New(Config{Log: slog.New(logs), Metrics: NewMetrics(reg)})
	started, release := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { closeOnce(release); svc.Wait() })
	var mu sync.Mutex
	var ran []string
	queue := func(iface, name string) {
		svc.background(iface, []any{"request", name}, func(context.Context) error {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			if name == "a" {
				close(started)
				<-release
			}
			return nil
		})
	}
	queue("hn0", "a")
	<-started
	queue("hn0", "b")
	queue("hn1", "c")
	queue("hn0", "d") // supersedes b, goes behind c
	closeOnce(release)
	svc.Wait()
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"a", "c", "d"}; !slices.Equal(ran, want) {
		t.Errorf("applied %q by the time Wait returned, want %q", ran, want)
	}
	if v := counterValue(t, reg, "hvagent_kvp_set_ip_superseded_total"); v != 1 {
		t.Errorf("hvagent_kvp_set_ip_superseded_total %v, want 1", v)
	}
	if n := logs.count("set_ip_info applied"); n != 3 {
		t.Errorf("%d applies logged, want 3", n)
	}
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// heapInUse is runtime.MemStats.HeapInuse after a collection, with the
// stacks added: a goroutine parked per request would show there.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

func sortedPrefixes(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ps
}
