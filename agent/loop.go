package agent

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// slowHandler is how long a loop handler may run before the loop reports
// it: handlers must not block, and one that does is a bug worth a warning.
const slowHandler = 100 * time.Millisecond

// Loop is the agent's shared event loop. Post and Go are safe for
// concurrent use; handlers run one at a time on the goroutine in Run.
type Loop struct {
	events chan func()
	log    *slog.Logger
	now    func() time.Time
	done   chan struct{}
	// onPanic, when set, receives a panic recovered from a handler or
	// from Go's work: this Loop is a subsystem's view of the shared one
	// (Supervisor), and a panic fails that subsystem alone.
	onPanic func(*PanicError)
}

// NewLoop returns a loop with room for queue pending events.
func NewLoop(log *slog.Logger, queue int) *Loop {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Loop{
		events: make(chan func(), queue),
		log:    log,
		now:    time.Now,
		done:   make(chan struct{}),
	}
}

// Post queues fn to run on the loop. It blocks while the queue is full and
// returns false, without queuing, once the loop has stopped.
func (l *Loop) Post(fn func()) bool {
	fn = l.guard(fn)
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case l.events <- fn:
		return true
	case <-l.done:
		return false
	}
}

// Go runs work on its own goroutine and then posts then, if not nil, to
// the loop. This is how a handler starts anything that can block.
func (l *Loop) Go(work func(), then func()) {
	work = l.guard(work)
	go func() {
		work()
		if then != nil {
			l.Post(then)
		}
	}()
}

// AfterFunc posts fn to the loop after d. Stopping the returned timer
// before it fires cancels it.
func (l *Loop) AfterFunc(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() { l.Post(fn) })
}

// Run executes posted handlers until ctx ends. Events still queued then
// are dropped: the subsystems are stopping too.
func (l *Loop) Run(ctx context.Context) {
	defer close(l.done)
	for {
		select {
		case <-ctx.Done():
			return
		case fn := <-l.events:
			start := l.now()
			l.handle(fn)
			if d := l.now().Sub(start); d > slowHandler {
				l.log.Warn("event handler blocked the loop", "duration", d)
			}
		}
	}
}

// handle runs one handler. A panic that no subsystem's view caught (a
// SIGHUP refresh, say) is logged with its stack, and the loop goes on:
// KVP and VSS must not stop with it.
func (l *Loop) handle(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			l.log.Error("event handler panicked", "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// view returns the shared loop as one subsystem sees it: the same queue,
// with panics in its handlers and work passed to onPanic.
func (l *Loop) view(onPanic func(*PanicError)) *Loop {
	v := *l
	v.onPanic = onPanic
	return &v
}

// guard wraps fn to recover a panic and hand it to onPanic.
func (l *Loop) guard(fn func()) func() {
	if l.onPanic == nil || fn == nil {
		return fn
	}
	return func() {
		defer func() {
			if v := recover(); v != nil {
				l.onPanic(&PanicError{Value: v, Stack: debug.Stack()})
			}
		}()
		fn()
	}
}
