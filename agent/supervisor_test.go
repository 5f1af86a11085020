package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/hvagent/hvagent/metrics"
	"github.com/hvagent/hvagent/vss"
	"github.com/hvagent/hvagent/vss/vsstest"
)

// logBuffer collects JSON log records from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the records whose msg is msg.
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// panicker panics in a different place on each of its first runs: in
// Run, in a loop handler, in work started with Loop.Go, in a timer's
// handler; then it serves.
type panicker struct {
	mu     sync.Mutex
	starts []time.Time
}

const panicRuns = 4

func (p *panicker) Name() string { return "vf" }

func (p *panicker) Run(ctx context.Context, env *agent.Env) error {
	p.mu.Lock()
	p.starts = append(p.starts, time.Now())
	run := len(p.starts)
	p.mu.Unlock()
	env.Ready()
	switch run {
	case 1:
		panicInRun()
	case 2:
		env.Loop.Post(func() { panic("in a handler") })
	case 3:
		env.Loop.Go(func() { panic("in work") }, nil)
	case 4:
		env.Loop.AfterFunc(time.Millisecond, func() { panic("in a timer") })
	}
	<-ctx.Done()
	return nil
}

func panicInRun() { panic("in Run") }

func (p *panicker) runStarts() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.starts...)
}

// steady serves from its first run to the end, using the loop.
type steady struct {
	runs, handled atomic.Int64
}

func (s *steady) Name() string { return "kvp" }

func (s *steady) Run(ctx context.Context, env *agent.Env) error {
	s.runs.Add(1)
	env.Ready()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			env.Loop.Post(func() { s.handled.Add(1) })
		}
	}
}

// Issue 12, item 6: a panic in one subsystem — in Run, on the loop, in
// work beside it — is logged with its stack at level ERROR, counted as a
// restart, and the subsystem restarts with the backoff; the other one
// keeps running and the loop keeps serving it.
func TestSupervisorRecoversPanics(t *testing.T) {
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New("test", "test")
	p, st := &panicker{}, &steady{}
	loop := agent.NewLoop(log, 256)
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { loop.Run(ctx); close(loopDone) }()
	backoff := agent.Backoff{Min: 20 * time.Millisecond, Max: 40 * time.Millisecond}
	sup := &agent.Supervisor{Loop: loop, Log: log, Metrics: m, Backoff: backoff}
	done := make(chan struct{})
	go func() { sup.Run(ctx, []agent.Subsystem{p, st}); close(done) }()
	defer func() { cancel(); <-done; <-loopDone }()

	deadline := time.Now().Add(30 * time.Second)
	for len(p.runStarts()) <= panicRuns {
		if time.Now().After(deadline) {
			t.Fatalf("panicking subsystem started %d times, want %d", len(p.runStarts()), panicRuns+1)
		}
		time.Sleep(5 * time.Millisecond)
	}
	handled := st.handled.Load()
	for st.handled.Load() == handled {
		if time.Now().After(deadline) {
			t.Fatal("the loop stopped serving the other subsystem")
		}
		time.Sleep(5 * time.Millisecond)
	}

	if n := st.runs.Load(); n != 1 {
		t.Errorf("the other subsystem ran %d times, want 1", n)
	}
	if got := testutil.ToFloat64(m.SubsystemRestarts.WithLabelValues("vf")); got != panicRuns {
		t.Errorf("restarts of the panicking subsystem: %v, want %d", got, panicRuns)
	}
	if got := testutil.ToFloat64(m.SubsystemRestarts.WithLabelValues("kvp")); got != 0 {
		t.Errorf("restarts of the other subsystem: %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.SubsystemUp.WithLabelValues("kvp")); got != 1 {
		t.Errorf("the other subsystem's up: %v, want 1", got)
	}
	// The backoff's jitter keeps each wait at least half its minimum.
	starts := p.runStarts()
	for i := 1; i < len(starts); i++ {
		if gap := starts[i].Sub(starts[i-1]); gap < backoff.Min/2 {
			t.Errorf("restart %d came %v after the previous start; the backoff waits at least %v", i, gap, backoff.Min/2)
		}
	}

	var panics []map[string]any
	panics = append(panics, logs.records(t, "subsystem panicked")...)
	panics = append(panics, logs.records(t, "subsystem panicked on the event loop")...)
	want := map[string]string{
		"in Run":       "panicInRun",
		"in a handler": "supervisor_test.go",
		"in work":      "supervisor_test.go",
		"in a timer":   "supervisor_test.go",
	}
	for _, r := range panics {
		v, _ := r["panic"].(string)
		frame, ok := want[v]
		if !ok {
			t.Errorf("unexpected panic record %v", r)
			continue
		}
		delete(want, v)
		if r["level"] != "ERROR" || r["subsystem"] != "vf" {
			t.Errorf("panic %q logged at %v for %v, want ERROR for vf", v, r["level"], r["subsystem"])
		}
		if stack, _ := r["stack"].(string); !strings.Contains(stack, frame) {
			t.Errorf("panic %q: the stack does not show %s:\n%s", v, frame, stack)
		}
	}
	for v := range want {
		t.Errorf("no log record of the panic %q", v)
	}
	if n := len(logs.records(t, "subsystem failed; restarting")); n != panicRuns {
		t.Errorf("%d restart records, want %d", n, panicRuns)
	}
}

// A panic while the VSS subsystem holds a freeze thaws before the
// subsystem restarts, and the restarted subsystem answers the host.
func TestSupervisorThawsVSSAfterPanic(t *testing.T) {
	dir, err := os.MkdirTemp("", "hva") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	k, err := vsstest.NewKernel(filepath.Join(dir, "vss.sock"), vsstest.KernelOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	var explode atomic.Bool
	var synced atomic.Int64
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	vm := vss.NewMetrics(prometheus.NewRegistry())
	sub := vss.New(vss.Config{
		Device:  k.Path(),
		Policy:  vss.Policy{ZFS: vss.ZFSSync},
		Metrics: vm,
		Log:     log,
		Hooks:   &vss.Hooks{Dir: filepath.Join(dir, "no-hooks")},
		// A ZFS-only plan: FREEZE syncs the pool and holds a session, with
		// nothing for a freezer to do.
		ReadMounts: func() ([]vss.Mount, error) {
			if explode.Load() {
				panic("reading the mount table")
			}
			return []vss.Mount{{Dir: "/z", Type: "zfs", Source: "zroot/z"}}, nil
		},
		SyncPools: func(context.Context, []string) error { synced.Add(1); return nil },
	})
	m := metrics.New("test", "test")
	loop := agent.NewLoop(log, 16)
	ctx, cancel := context.WithCancel(context.Background())
	loopDone := make(chan struct{})
	go func() { loop.Run(ctx); close(loopDone) }()
	sup := &agent.Supervisor{Loop: loop, Log: log, Metrics: m, Backoff: agent.Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}}
	done := make(chan struct{})
	go func() { sup.Run(ctx, []agent.Subsystem{sub}); close(done) }()
	defer func() { cancel(); <-done; <-loopDone }()

	tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer tcancel()
	transact := func(op uint32) (uint32, error) {
		if err := k.WaitConnected(tctx); err != nil {
			t.Fatalf("agent did not connect: %v", err)
		}
		return k.Transact(tctx, op)
	}
	if st, err := transact(vsstest.OpFreeze); err != nil || st != vsstest.StatusSuccess {
		t.Fatalf("FREEZE: status %d, err %v", st, err)
	}
	if !sub.Service().Frozen() {
		t.Fatal("no freeze in force after FREEZE")
	}
	explode.Store(true)
	_, _ = transact(vsstest.OpCheck) // panics in the agent: no answer
	explode.Store(false)
	for len(logs.records(t, "subsystem failed; restarting")) == 0 {
		if tctx.Err() != nil {
			t.Fatal("the panic was not followed by a restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if sub.Service().Frozen() {
		t.Error("still frozen after the VSS subsystem panicked")
	}
	if got := testutil.ToFloat64(vm.Frozen); got != 0 {
		t.Errorf("hvagent_vss_frozen %v after the panic, want 0", got)
	}
	thawed := logs.records(t, "thawing before stop")
	panicked := logs.records(t, "subsystem panicked")
	if len(thawed) != 1 || len(panicked) != 1 {
		t.Fatalf("%d thaw and %d panic records, want 1 each", len(thawed), len(panicked))
	}
	if stack, _ := panicked[0]["stack"].(string); !strings.Contains(stack, "ReadMounts") && !strings.Contains(stack, "plan") {
		t.Errorf("the panic's stack does not show where it happened:\n%s", stack)
	}
	// Restarted: the host is answered again.
	if st, err := transact(vsstest.OpCheck); err != nil || st != vsstest.StatusSuccess {
		t.Errorf("CHECK after the restart: status %d, err %v", st, err)
	}
	if got := testutil.ToFloat64(m.SubsystemRestarts.WithLabelValues("vss")); got != 1 {
		t.Errorf("restarts: %v, want 1", got)
	}
}
