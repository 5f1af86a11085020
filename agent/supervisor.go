package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hvagent/hvagent/metrics"
)

// Subsystem is one of the agent's jobs (kvp, vss, vf).
type Subsystem interface {
	// Name is the subsystem's label in logs and metrics.
	Name() string
	// Run serves until ctx ends (return nil or ctx's error) or until it
	// fails. It calls env.Ready once it is connected and serving.
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

// ErrDisabled marks a failure that no restart will cure. Wrap it (or an
// error satisfying IsFinal) to make the supervisor give up on a subsystem.
var ErrDisabled = errors.New("subsystem disabled")

// IsFinal reports whether err means "do not restart": the device does not
// exist, we may not open it, or the platform cannot support it.
func IsFinal(err error) bool {
	return errors.Is(err, ErrDisabled) ||
		errors.Is(err, fs.ErrNotExist) ||
		errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, syscall.EPERM) ||
		errors.Is(err, errors.ErrUnsupported)
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

// Backoff bounds the wait between restarts.
type Backoff struct {
	Min, Max time.Duration
}

// stableRun is how long a subsystem must have been ready before a failure
// starts the backoff afresh.
const stableRun = 10 * time.Second

// DefaultBackoff starts at half a second and caps at 30 s: short enough to
// take over a device as soon as an old daemon lets go, long enough not to
// spin on a broken one.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second}

// wait returns the delay before restart number n (1-based): exponential,
// capped, with jitter in [d/2, d) so a fleet does not retry in step.
func (b Backoff) wait(n int) time.Duration {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Supervisor runs subsystems and restarts them when they fail.
type Supervisor struct {
	Loop    *Loop
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Backoff Backoff
}

// Run runs every subsystem until ctx ends, then waits for all of them to
// return. A subsystem that fails finally is disabled; the others go on.
func (s *Supervisor) Run(ctx context.Context, subs []Subsystem) {
	// Series exist from the start for every supervised subsystem, so a
	// dashboard sees 0 rather than nothing; subsystems not run (--disable)
	// have none, so "up == 0" alerts only on real trouble.
	for _, sub := range subs {
		s.Metrics.SubsystemUp.WithLabelValues(sub.Name()).Set(0)
		s.Metrics.SubsystemRestarts.WithLabelValues(sub.Name()).Add(0)
	}
	var wg sync.WaitGroup
	for _, sub := range subs {
		wg.Go(func() { s.supervise(ctx, sub) })
	}
	wg.Wait()
}

func (s *Supervisor) supervise(ctx context.Context, sub Subsystem) {
	name := sub.Name()
	log := s.Log.With("subsystem", name)
	up := s.Metrics.SubsystemUp.WithLabelValues(name)
	restarts := s.Metrics.SubsystemRestarts.WithLabelValues(name)
	b := s.Backoff
	if b.Min <= 0 {
		b = DefaultBackoff
	}
	// Ready may be called from any goroutine the subsystem starts; it
	// stores when the subsystem became ready in this run (0: not yet).
	var readyAt atomic.Int64
	everReady := false
	failures := 0
	lastErr := "" // the same failure again is logged at debug level only
	for {
		readyAt.Store(0)
		// A panic in work this run gave the loop is logged where it is
		// caught and ends the run; one in Run itself, runSafely returns.
		runCtx, stop := context.WithCancelCause(ctx)
		loop := s.Loop.view(func(p *PanicError) {
			log.Error("subsystem panicked on the event loop", "panic", p.Value, "stack", string(p.Stack))
			stop(p)
		})
		env := &Env{Loop: loop, Log: log, ready: func() {
			up.Set(1)
			readyAt.CompareAndSwap(0, time.Now().UnixNano())
		}}
		err := runSafely(runCtx, sub, env)
		var p *PanicError
		if errors.As(err, &p) {
			log.Error("subsystem panicked", "panic", p.Value, "stack", string(p.Stack))
		} else if cause := context.Cause(runCtx); errors.As(cause, &p) {
			err = p // already logged
		}
		stop(nil)
		up.Set(0)
		if at := readyAt.Load(); at != 0 {
			everReady = true
			// Only a run that stayed up a while resets the backoff: a peer
			// that accepts the registration and hangs up at once must not
			// make the agent reconnect in a tight loop.
			if time.Since(time.Unix(0, at)) >= stableRun {
				failures = 0
				lastErr = "" // it served in between: a new failure is news
			}
		}
		if ctx.Err() != nil {
			return
		}
		// A device that never appeared is final; one that vanished after
		// serving (module reload, peer restart) is worth waiting for.
		if err != nil && IsFinal(err) && !everReady {
			log.Warn("subsystem disabled", "err", err)
			// No series, as for --disable: an "up == 0" alert must not
			// fire for good on a guest without, say, the Backup service.
			s.Metrics.SubsystemUp.DeleteLabelValues(name)
			s.Metrics.SubsystemRestarts.DeleteLabelValues(name)
			return
		}
		failures++
		wait := b.wait(failures)
		level := slog.LevelError
		if msg := fmt.Sprint(err); msg == lastErr && p == nil {
			level = slog.LevelDebug
		} else {
			lastErr = msg
		}
		log.Log(ctx, level, "subsystem failed; restarting", "err", err, "restart_in", wait.Round(time.Millisecond))
		restarts.Inc()
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
