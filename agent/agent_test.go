package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hvagent/hvagent/agent"
	"github.com/hvagent/hvagent/kvp"
	"github.com/hvagent/hvagent/kvp/kvptest"
	"github.com/hvagent/hvagent/metrics"
)

// blocker misbehaves in every way a subsystem can: its Run never returns
// until stopped, it floods the loop, and one of its handlers blocks the
// loop for longer than the KVP kernel's whole deadline.
type blocker struct {
	loopBlocked atomic.Bool
}

func (b *blocker) Name() string { return "vss" }

func (b *blocker) Run(ctx context.Context, env *agent.Env) error {
	env.Ready()
	env.Loop.Post(func() {
		b.loopBlocked.Store(true)
		time.Sleep(7 * time.Second) // > the kernel's 5 s
		b.loopBlocked.Store(false)
	})
	env.Loop.Go(func() { <-ctx.Done() }, nil) // blocking work, off the loop
	for {
		select {
		case <-ctx.Done():
			return nil
		default:
			env.Loop.Post(func() {}) // flood
		}
	}
}

// A blocked subsystem never delays a KVP reply past the kernel's 5 s.
func TestKVPDeadlineWithBlockedSubsystem(t *testing.T) {
	dir, err := os.MkdirTemp("", "hva")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	k, err := kvptest.NewKernel(filepath.Join(dir, "kvp.sock"), kvptest.KernelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	m := metrics.New("test", "test")
	sub := kvp.New(kvp.Config{Device: k.Path(), Version: "0.0.1", PoolDir: filepath.Join(dir, "pool"),
		Metrics: kvp.NewMetrics(m.Registry), LookupFQDN: func(context.Context) string { return "guest.example" }})
	defer sub.Close()
	b := &blocker{}
	subs := []agent.Subsystem{b, sub}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		agent.Run(ctx, agent.Config{Subsystems: subs, Metrics: m, Log: slog.New(slog.DiscardHandler),
			Hangup: make(chan os.Signal)})
	}()
	defer func() { cancel(); <-done }()

	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if err := k.WaitRegistered(rctx); err != nil {
		t.Fatal(err)
	}
	host := kvptest.NewHost(k)
	sawBlocked := false
	deadline := time.Now().Add(6 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		sawBlocked = sawBlocked || b.loopBlocked.Load()
		start := time.Now()
		st, err := host.Set(rctx, kvp.PoolGuest, fmt.Sprint("k", i%10), fmt.Sprint(i))
		if err != nil || st != kvp.StatusOK {
			t.Fatalf("SET %d while the loop is blocked: %v %v (after %v)", i, st, err, time.Since(start))
		}
	}
	if !sawBlocked {
		t.Fatal("the blocking handler never ran; the test proved nothing")
	}
	if n := k.Stats().Timeouts; n != 0 {
		t.Fatalf("kernel timed out %d requests", n)
	}
}

// flaky fails with a transient error a few times, then serves.
type flaky struct {
	fails int
	runs  atomic.Int32
}

func (f *flaky) Name() string { return "kvp" }

func (f *flaky) Run(ctx context.Context, env *agent.Env) error {
	if int(f.runs.Add(1)) <= f.fails {
		return errors.New("peer went away")
	}
	env.Ready()
	<-ctx.Done()
	return nil
}

// missing finds no device at start and says so is final.
type missing struct{ runs atomic.Int32 }

func (m *missing) Name() string { return "vf" }

func (m *missing) Run(ctx context.Context, env *agent.Env) error {
	m.runs.Add(1)
	return agent.Final(fmt.Errorf("open /dev/nothing: %w", fs.ErrNotExist))
}

// deepMissing meets a missing file deep inside a retryable operation (a
// hook gone between listing and running it) on its first runs, without
// ever having been ready, then serves.
type deepMissing struct {
	fails int
	runs  atomic.Int32
}

func (d *deepMissing) Name() string { return "vss" }

func (d *deepMissing) Run(ctx context.Context, env *agent.Env) error {
	if int(d.runs.Add(1)) <= d.fails {
		err := &fs.PathError{Op: "fork/exec", Path: "/usr/local/etc/hvagent/vss.d/10-db", Err: fs.ErrNotExist}
		return fmt.Errorf("vss: freeze: hook 10-db: %w", err)
	}
	env.Ready()
	<-ctx.Done()
	return nil
}

// Issue 13 item 5: an fs.ErrNotExist deep in a subsystem's error, not
// marked final, restarts it like any transient failure.
func TestSupervisorRestartsOnDeepNotExist(t *testing.T) {
	m := metrics.New("test", "test")
	var logBuf strings.Builder
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logBuf}, nil))
	loop := agent.NewLoop(log, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go loop.Run(ctx)
	sup := &agent.Supervisor{Loop: loop, Log: log, Metrics: m, Backoff: agent.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}}
	d := &deepMissing{fails: 2}
	done := make(chan struct{})
	go func() { sup.Run(ctx, []agent.Subsystem{d}); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for testutil.ToFloat64(m.SubsystemUp.WithLabelValues("vss")) != 1 {
		select {
		case <-done:
			t.Fatalf("the supervisor gave up after %d runs:\n%s", d.runs.Load(), logBuf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not up after %d runs:\n%s", d.runs.Load(), logBuf.String())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := d.runs.Load(); got != 3 {
		t.Errorf("ran %d times, want 3 (two failures, then serving)", got)
	}
	if got := testutil.ToFloat64(m.SubsystemRestarts.WithLabelValues("vss")); got != 2 {
		t.Errorf("restarts = %v, want 2", got)
	}
	if strings.Contains(logBuf.String(), "subsystem disabled") {
		t.Errorf("disabled on an error it did not mark final:\n%s", logBuf.String())
	}
}

func TestSupervisorRestartsAndDisables(t *testing.T) {
	m := metrics.New("test", "test")
	var logBuf strings.Builder
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logBuf}, nil))
	loop := agent.NewLoop(log, 16)
	ctx, cancel := context.WithCancel(context.Background())
	go loop.Run(ctx)
	sup := &agent.Supervisor{Loop: loop, Log: log, Metrics: m, Backoff: agent.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}}
	f, miss := &flaky{fails: 3}, &missing{}
	done := make(chan struct{})
	go func() { sup.Run(ctx, []agent.Subsystem{f, miss}); close(done) }()
	for testutil.ToFloat64(m.SubsystemUp.WithLabelValues("kvp")) != 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := testutil.ToFloat64(m.SubsystemRestarts.WithLabelValues("kvp")); got != 3 {
		t.Errorf("kvp restarts = %v, want 3", got)
	}
	if got := miss.runs.Load(); got != 1 {
		t.Errorf("missing-device subsystem ran %d times, want 1 (disabled, not restarted)", got)
	}
	// Disabled for good: no series left, so "up == 0" alerts stay quiet.
	if n := testutil.CollectAndCount(m.SubsystemUp); n != 1 {
		t.Errorf("%d hvagent_subsystem_up series, want 1 (kvp only)", n)
	}
	if n := testutil.CollectAndCount(m.SubsystemRestarts); n != 1 {
		t.Errorf("%d hvagent_subsystem_restarts_total series, want 1 (kvp only)", n)
	}
	if n := strings.Count(logBuf.String(), "subsystem disabled"); n != 1 {
		t.Errorf("'subsystem disabled' logged %d times, want once", n)
	}
}

func TestLoopRunsHandlersInOrderAndGoReportsBack(t *testing.T) {
	loop := agent.NewLoop(nil, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go loop.Run(ctx)
	var got []int // touched only on the loop
	done := make(chan struct{})
	for i := range 3 {
		loop.Post(func() { got = append(got, i) })
	}
	loop.Go(func() { time.Sleep(10 * time.Millisecond) }, func() {
		got = append(got, 99)
		close(done)
	})
	<-done
	if fmt.Sprint(got) != "[0 1 2 99]" {
		t.Fatalf("handlers ran as %v, want [0 1 2 99]", got)
	}
	cancel()
	for loop.Post(func() {}) {
		time.Sleep(time.Millisecond)
	}
}

type syncWriter struct {
	mu atomic.Int32
	w  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	for !s.mu.CompareAndSwap(0, 1) {
	}
	defer s.mu.Store(0)
	return s.w.Write(p)
}

// hangup registers and loses its peer at once, every time.
type hangup struct{}

func (hangup) Name() string { return "kvp" }

func (hangup) Run(ctx context.Context, env *agent.Env) error {
	env.Ready()
	return errors.New("peer closed the connection")
}

// A subsystem that is ready only for a moment still backs off: its
// restarts do not come at the minimum interval forever.
func TestSupervisorBacksOffAfterShortRuns(t *testing.T) {
	m := metrics.New("test", "test")
	log := slog.New(slog.DiscardHandler)
	loop := agent.NewLoop(log, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	go loop.Run(ctx)
	sup := &agent.Supervisor{Loop: loop, Log: log, Metrics: m, Backoff: agent.Backoff{Min: 10 * time.Millisecond, Max: time.Second}}
	sup.Run(ctx, []agent.Subsystem{hangup{}})
	// Growing waits of at least 5, 10, 20, 40, 80, 160 ms fit at most six
	// restarts in 300 ms; a reset after each Ready would allow thirty.
	if got := testutil.ToFloat64(m.SubsystemRestarts.WithLabelValues("kvp")); got > 8 {
		t.Fatalf("%v restarts in 300 ms: the backoff did not grow", got)
	}
}
