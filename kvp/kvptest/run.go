package kvptest

import (
	"context"
	"time"

	"github.com/hvagent/hvagent/kvp"
)

// DefaultEnumerateEvery is Run's polling period when HostOptions leaves
// EnumerateEvery zero.
const DefaultEnumerateEvery = 10 * time.Second

// EventKind says what an Event reports.
type EventKind string

// Event kinds, in the order a session produces them.
const (
	EventRegistered   EventKind = "registered"   // a daemon registered
	EventPushed       EventKind = "pushed"       // Items were SET into Pool
	EventEnumerated   EventKind = "enumerated"   // Pool was enumerated: Items, final Status
	EventIPInfo       EventKind = "ip_info"      // GET_IP_INFO for MAC answered IP
	EventUnregistered EventKind = "unregistered" // the daemon closed the device
)

// Event is what Run saw. Only the fields its Kind names are set; Status
// is the daemon's final answer and Err is non-nil if the step failed
// (for EventPushed, Status is HV_S_OK or HV_E_FAIL and Err lists the
// refused keys).
type Event struct {
	Kind   EventKind
	Pool   uint8
	Items  []kvp.KeyValue
	MAC    string
	IP     kvp.IPInfo
	Status kvp.Status
	Err    error
}

// HostOptions configure Run.
type HostOptions struct {
	PushParams     []kvp.KeyValue // SET into pool 3 on each registration, e.g. DefaultParams("vm1")
	PushAdmin      []kvp.KeyValue // SET into pool 0 on each registration
	MACs           []string       // adapters to ask GET_IP_INFO for in each round
	EnumerateEvery time.Duration  // period of the pool 2 / pool 1 rounds; 0 means DefaultEnumerateEvery
	OnEvent        func(Event)    // called from Run's goroutine; nil ignores events
}

// Run behaves like Hyper-V until ctx ends. Each time a daemon registers
// it pushes PushParams (pool 3) and PushAdmin (pool 0), then, at once and
// every EnumerateEvery, enumerates pool 2 and pool 1 until HV_S_CONT and
// asks GET_IP_INFO for each of MACs. A session ends when the daemon goes
// away; Run then waits for the next registration. Failed steps are
// reported through OnEvent, not returned. Run returns nil when ctx ends
// and ErrClosed if the Kernel is closed.
func (h *Host) Run(ctx context.Context, opts HostOptions) error {
	emit := opts.OnEvent
	if emit == nil {
		emit = func(Event) {}
	}
	every := opts.EnumerateEvery
	if every <= 0 {
		every = DefaultEnumerateEvery
	}
	for {
		if err := h.k.WaitRegistered(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		gone, ok := h.k.session()
		if !ok {
			continue
		}
		emit(Event{Kind: EventRegistered})
		h.session(ctx, gone, opts, every, emit)
		select {
		case <-ctx.Done():
			return nil
		case <-h.k.closing():
			return ErrClosed
		default:
		}
		emit(Event{Kind: EventUnregistered})
	}
}

// session serves one registration until gone is closed or ctx ends.
func (h *Host) session(ctx context.Context, gone <-chan struct{}, opts HostOptions, every time.Duration, emit func(Event)) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-gone:
			cancel()
		case <-sctx.Done():
		}
	}()
	// Steps cut short by the end of the session are not worth reporting.
	report := func(e Event) {
		if sctx.Err() == nil {
			emit(e)
		}
	}

	pushes := []struct {
		pool  uint8
		items []kvp.KeyValue
	}{{kvp.PoolAutoExternal, opts.PushParams}, {kvp.PoolExternal, opts.PushAdmin}}
	for _, p := range pushes {
		if len(p.items) == 0 {
			continue
		}
		err := h.push(sctx, p.pool, p.items)
		st := kvp.StatusOK
		if err != nil {
			st = kvp.StatusFail
		}
		report(Event{Kind: EventPushed, Pool: p.pool, Items: p.items, Status: st, Err: err})
	}

	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		for _, pool := range []uint8{kvp.PoolAuto, kvp.PoolGuest} {
			items, st, err := h.Enumerate(sctx, pool)
			report(Event{Kind: EventEnumerated, Pool: pool, Items: items, Status: st, Err: err})
		}
		for _, mac := range opts.MACs {
			ip, st, err := h.GetIPInfo(sctx, mac)
			report(Event{Kind: EventIPInfo, MAC: mac, IP: ip, Status: st, Err: err})
		}
		select {
		case <-sctx.Done():
			return
		case <-ticker.C:
		}
	}
}
