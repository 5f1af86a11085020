package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hvagent/hvagent/metrics"
)

// Subsystem is one of the agent's jobs (kvp, vss, vf).
type Subsystem interface {
	// Name is the subsystem's label in logs and metrics.
	Name() string
	// Run serves until ctx ends (return nil or ctx's error) or until it
	// fails. It calls env.Ready once it is connected and serving. A
	// failure is restarted unless Run marked it Final.
	Run(ctx context.Context, env *Env) error
}

// Refresher is implemented by subsystems with cached facts to refresh on
// SIGHUP. Refresh runs on the loop and must not block: it starts any slow
// work with env.Loop.Go.
type Refresher interface {
	Refresh(env *Env)
}

// Env is what a running subsystem gets from the agent.
type Env struct {
	Loop *Loop
	Log  *slog.Logger

	ready func()
}

// Ready reports that the subsystem is serving: it marks it up, and once
// it has served for a while a later failure restarts the backoff afresh.
func (e *Env) Ready() {
	if e.ready != nil {
		e.ready()
	}
}

// PanicError is a panic recovered from a subsystem, in its Run or in work
// it gave the loop. The supervisor restarts the subsystem, as after any
// transient failure; the others go on.
type PanicError struct {
	Value any
	Stack []byte // where it panicked (runtime/debug.Stack)
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// runSafely runs sub, turning a panic into a *PanicError. Deferred calls
// in Run have run by then: the VSS subsystem has thawed.
func runSafely(ctx context.Context, sub Subsystem, env *Env) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return sub.Run(ctx, env)
}

// stableRun is how long a subsystem must have been ready before a failure
// starts the backoff afresh.
const stableRun = 10 * time.Second

// component marks a supervised task that is part of the agent rather
// than one of its subsystems: the metrics server. It has no
// hvagent_subsystem_* series (a scrape that reaches it shows it up) and
// is logged as a component.
type component interface {
	Subsystem
	component()
}

// Supervisor runs subsystems and restarts them when they fail.
type Supervisor struct {
	Loop    *Loop
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Backoff Backoff // zero: DefaultBackoff
}

// Run runs every subsystem until ctx ends, then waits for all of them to
// return. A subsystem that fails finally is disabled; the others go on.
func (s *Supervisor) Run(ctx context.Context, subs []Subsystem) {
	// Series exist from the start for every supervised subsystem, so a
	// dashboard sees 0 rather than nothing; subsystems not run (--disable)
	// have none, so "up == 0" alerts only on real trouble.
	for _, sub := range subs {
		if _, ok := sub.(component); !ok {
			s.Metrics.SubsystemUp.WithLabelValues(sub.Name()).Set(0)
			s.Metrics.SubsystemRestarts.WithLabelValues(sub.Name()).Add(0)
		}
	}
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Go(func() { s.supervise(ctx, sub) })
	}
	wg.Wait()
}

// series are a supervised task's hvagent_subsystem_* series; a component
// has none (nil fields), and series' methods then do nothing.
type series struct {
	m        *metrics.Metrics
	name     string
	up       prometheus.Gauge
	restarts prometheus.Counter
}

func newSeries(m *metrics.Metrics, name string, on bool) series {
	if !on {
		return series{}
	}
	return series{m: m, name: name,
		up: m.SubsystemUp.WithLabelValues(name), restarts: m.SubsystemRestarts.WithLabelValues(name)}
}

func (r series) setUp(v float64) {
	if r.up != nil {
		r.up.Set(v)
	}
}

func (r series) restarted() {
	if r.restarts != nil {
		r.restarts.Inc()
	}
}

// remove deletes the series, as for a subsystem never run (--disable).
func (r series) remove() {
	if r.m != nil {
		r.m.SubsystemUp.DeleteLabelValues(r.name)
		r.m.SubsystemRestarts.DeleteLabelValues(r.name)
	}
}

func (s *Supervisor) supervise(ctx context.Context, sub Subsystem) {
	name := sub.Name()
	kind := "subsystem"
	if _, ok := sub.(component); ok {
		kind = "component"
	}
	log := s.Log.With(kind, name)
	ser := newSeries(s.Metrics, name, kind == "subsystem")
	b := s.Backoff.orDefault()
	everReady := false
	failures := 0
	lastErr := "" // the same failure again is logged at debug level only
	for {
		readyAt, err := s.runOnce(ctx, sub, log, kind, ser)
		panicked := errors.As(err, new(*PanicError))
		if !readyAt.IsZero() {
			everReady = true
			// Only a run that stayed up a while resets the backoff: a peer
			// that accepts the registration and hangs up at once must not
			// make the agent reconnect in a tight loop.
			if time.Since(readyAt) >= stableRun {
				failures = 0
				lastErr = "" // it served in between: a new failure is news
			}
		}
		if ctx.Err() != nil {
			return
		}
		// Only an error the subsystem marked final stops it, and only
		// before it first served: a device that never appeared is final;
		// one that vanished after serving (module reload, peer restart)
		// is worth waiting for.
		if IsFinal(err) && !everReady {
			log.Warn(kind+" disabled", "err", err)
			// No series, as for --disable: an "up == 0" alert must not
			// fire for good on a guest without, say, the Backup service.
			ser.remove()
			return
		}
		failures++
		wait := b.Delay(failures)
		level := slog.LevelError
		if msg := fmt.Sprint(err); msg == lastErr && !panicked {
			level = slog.LevelDebug
		} else {
			lastErr = msg
		}
		log.Log(ctx, level, kind+" failed; restarting", "err", err, "restart_in", wait.Round(time.Millisecond))
		ser.restarted()
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// runOnce runs sub once and returns when it became ready (zero if it
// never did) and how it ended. A panic, in Run or in work this run gave
// the loop, is logged where it is caught, ends the run, and is returned
// as a *PanicError.
func (s *Supervisor) runOnce(ctx context.Context, sub Subsystem, log *slog.Logger, kind string, ser series) (time.Time, error) {
	// Ready may be called from any goroutine the subsystem starts; it
	// stores when the subsystem became ready in this run (0: not yet).
	var readyAt atomic.Int64
	runCtx, stop := context.WithCancelCause(ctx)
	loop := s.Loop.view(func(p *PanicError) {
		log.Error(kind+" panicked on the event loop", "panic", p.Value, "stack", string(p.Stack))
		stop(p)
	})
	env := &Env{Loop: loop, Log: log, ready: func() {
		ser.setUp(1)
		readyAt.CompareAndSwap(0, time.Now().UnixNano())
	}}
	err := runSafely(runCtx, sub, env)
	var p *PanicError
	if errors.As(err, &p) {
		log.Error(kind+" panicked", "panic", p.Value, "stack", string(p.Stack))
	} else if cause := context.Cause(runCtx); errors.As(cause, &p) {
		err = p // already logged
	}
	stop(nil)
	ser.setUp(0)
	if at := readyAt.Load(); at != 0 {
		return time.Unix(0, at), err
	}
	return time.Time{}, err
}
