package kvptest

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// store is a fake daemon's pools, enough to answer as hvagent(8) says
// the agent does (KVP POOLS, REPLY STATUS).
type store struct {
	mu    sync.Mutex
	pools [kvp.NumPools][]kvp.KeyValue
}

func (s *store) handle(req kvp.Msg) (kvp.Status, kvp.Msg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Op == kvp.OpGetIPInfo {
		return kvp.StatusOK, kvp.Msg{IP: kvp.IPInfo{AdapterID: req.IP.AdapterID, AddrFamily: 1,
			IPAddr: "192.0.2.10", SubNet: "255.255.255.0", Gateway: "192.0.2.1", DNSAddr: "192.0.2.53"}}
	}
	if req.Pool >= kvp.NumPools {
		return kvp.StatusFail, kvp.Msg{}
	}
	p := &s.pools[req.Pool]
	i := slices.IndexFunc(*p, func(kv kvp.KeyValue) bool { return kv.Key == req.KV.Key })
	switch {
	case req.Op == kvp.OpSet && (req.Pool == kvp.PoolAuto || req.KV.Key == "refuse-me"):
		return kvp.StatusFail, kvp.Msg{}
	case req.Op == kvp.OpSet && i >= 0:
		(*p)[i].Value = req.KV.Value
	case req.Op == kvp.OpSet:
		*p = append(*p, req.KV)
	case req.Op == kvp.OpEnumerate && int(req.Index) < len(*p):
		return kvp.StatusOK, kvp.Msg{Index: req.Index, KV: (*p)[req.Index]}
	case i < 0:
		return kvp.StatusCont, kvp.Msg{}
	case req.Op == kvp.OpGet:
		return kvp.StatusOK, kvp.Msg{KV: (*p)[i]}
	case req.Op == kvp.OpDelete:
		*p = slices.Delete(*p, i, i+1)
	}
	return kvp.StatusOK, kvp.Msg{}
}

func (s *store) pool(n int) []kvp.KeyValue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pools[n])
}

func sz(key, value string) kvp.KeyValue {
	return kvp.KeyValue{ValueType: kvp.RegSZ, Key: key, Value: value}
}

func TestHostOperations(t *testing.T) {
	for _, p := range []kvp.Protocol{kvp.FreeBSD, kvp.Linux} {
		t.Run(p.String(), func(t *testing.T) { testHostOperations(t, p) })
	}
}

func testHostOperations(t *testing.T, p kvp.Protocol) {
	k := newKernelProto(t, 0, p)
	var st store
	startDaemon(t, k, st.handle)
	h, ctx := NewHost(k), ctxT(t, 10*time.Second)
	check := func(what string, got, want kvp.Status, err error) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", what, got, err, want)
		}
	}
	for _, key := range []string{"a", "b", "c", "b"} {
		s, err := h.Set(ctx, kvp.PoolGuest, key, "v-"+key)
		check("Set "+key, s, kvp.StatusOK, err)
	}
	v, s, err := h.Get(ctx, kvp.PoolGuest, "b")
	check("Get b", s, kvp.StatusOK, err)
	if v != "v-b" {
		t.Errorf("Get b = %q; want v-b", v)
	}
	s, err = h.Delete(ctx, kvp.PoolGuest, "a")
	check("Delete a", s, kvp.StatusOK, err)
	_, s, err = h.Get(ctx, kvp.PoolGuest, "a")
	check("Get deleted a", s, kvp.StatusCont, err)

	before := k.Stats().Requests
	items, s, err := h.Enumerate(ctx, kvp.PoolGuest)
	check("Enumerate", s, kvp.StatusCont, err)
	if want := []kvp.KeyValue{sz("b", "v-b"), sz("c", "v-c")}; !slices.Equal(items, want) {
		t.Errorf("Enumerate = %+v; want %+v", items, want)
	}
	if n := k.Stats().Requests - before; n != 3 {
		t.Errorf("Enumerate of 2 items sent %d requests; want 3 (stop at HV_S_CONT)", n)
	}

	ip, s, err := h.GetIPInfo(ctx, "00:15:5D:01:02:03")
	check("GetIPInfo", s, kvp.StatusOK, err)
	if ip.AdapterID != "00:15:5D:01:02:03" || ip.IPAddr != "192.0.2.10" {
		t.Errorf("GetIPInfo = %+v", ip)
	}

	admin := []kvp.KeyValue{sz("Owner", "ops"), sz("refuse-me", "x"), sz("Tier", "gold")}
	err = h.PushOnConnect(ctx, DefaultParams("vm1"), admin)
	if !isRefusal(err) {
		t.Errorf("PushOnConnect: %v; want the refused key reported", err)
	}
	// The daemon sees value_type 0 on SET, as from hv_kvp.c.
	seen := func(items ...kvp.KeyValue) []kvp.KeyValue {
		out := slices.Clone(items)
		for i := range out {
			out[i].ValueType = 0
		}
		return out
	}
	if got := st.pool(kvp.PoolAutoExternal); !slices.Equal(got, seen(DefaultParams("vm1")...)) {
		t.Errorf("pool 3 = %+v; want DefaultParams", got)
	}
	if got, want := st.pool(kvp.PoolExternal), seen(admin[0], admin[2]); !slices.Equal(got, want) {
		t.Errorf("pool 0 = %+v; want %+v", got, want)
	}
}

func TestDefaultParams(t *testing.T) {
	p := DefaultParams("vm1")
	var keys []string
	for _, kv := range p {
		keys = append(keys, kv.Key)
	}
	want := []string{"HostName", "HostingSystemEditionId", "HostingSystemNestedLevel",
		"HostingSystemOsMajor", "HostingSystemOsMinor", "HostingSystemProcessorArchitecture",
		"PhysicalHostName", "PhysicalHostNameFullyQualified",
		"VirtualMachineDynamicMemoryBalancingEnabled", "VirtualMachineId", "VirtualMachineName"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys = %q; want %q", keys, want)
	}
	guid := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	if id := p[9].Value; !guid.MatchString(id) || id == DefaultParams("vm2")[9].Value || id != DefaultParams("vm1")[9].Value {
		t.Errorf("VirtualMachineId %q: want a GUID fixed by the VM name", id)
	}
	if p[10].Value != "vm1" {
		t.Errorf("VirtualMachineName = %q", p[10].Value)
	}
}

// events collects what Run reports.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.list = append(e.list, ev); e.mu.Unlock() }

// has reports whether the events contain matches for want, in order.
func (e *events) has(want ...func(Event) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.list {
		if len(want) > 0 && want[0](ev) {
			want = want[1:]
		}
	}
	return len(want) == 0
}

func kind(k EventKind) func(Event) bool { return func(e Event) bool { return e.Kind == k } }

func okEvent(k EventKind, pool uint8, st kvp.Status, n int) func(Event) bool {
	return func(e Event) bool {
		return e.Kind == k && e.Pool == pool && e.Status == st && e.Err == nil && len(e.Items) == n
	}
}

func TestHostRun(t *testing.T) {
	k := newKernel(t, 0)
	var ev events
	runErr := make(chan error, 1)
	ctx := ctxT(t, 30*time.Second)
	go func() {
		runErr <- NewHost(k).Run(ctx, HostOptions{
			PushParams: DefaultParams("vm1"), PushAdmin: []kvp.KeyValue{sz("Owner", "ops")},
			MACs: []string{"00:15:5D:01:02:03"}, EnumerateEvery: 20 * time.Millisecond, OnEvent: ev.add,
		})
	}()
	first := &store{}
	first.pools[kvp.PoolAuto] = []kvp.KeyValue{sz("OSName", "FreeBSD")}
	a := startDaemon(t, k, first.handle)
	session := []func(Event) bool{
		kind(EventRegistered),
		okEvent(EventPushed, kvp.PoolAutoExternal, kvp.StatusOK, 11),
		okEvent(EventPushed, kvp.PoolExternal, kvp.StatusOK, 1),
		okEvent(EventEnumerated, kvp.PoolAuto, kvp.StatusCont, 1),
		okEvent(EventEnumerated, kvp.PoolGuest, kvp.StatusCont, 0),
		func(e Event) bool { return e.Kind == EventIPInfo && e.Err == nil && e.IP.IPAddr == "192.0.2.10" },
		okEvent(EventEnumerated, kvp.PoolAuto, kvp.StatusCont, 1), // the next round
	}
	waitFor(t, "the first session", func() bool { return ev.has(session...) })

	a.Close() // the agent restarts: the host pushes again to the new daemon
	waitFor(t, "unregistration", func() bool { return !k.Registered() })
	second := &store{}
	second.pools[kvp.PoolAuto] = first.pool(kvp.PoolAuto)
	startDaemon(t, k, second.handle)
	waitFor(t, "the second session", func() bool {
		return ev.has(append(session[:1:1], append([]func(Event) bool{kind(EventUnregistered)}, session...)...)...)
	})
	if got := second.pool(kvp.PoolAutoExternal); len(got) != 11 {
		t.Errorf("second daemon got %d pool-3 items; want 11", len(got))
	}
	k.Close()
	if err := <-runErr; !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v; want ErrClosed", err)
	}
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := NewHost(newKernel(t, 0)).Run(cctx, HostOptions{}); err != nil {
		t.Errorf("Run with its context done: %v; want nil", err)
	}
}
