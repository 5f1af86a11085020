package agent

import (
	"context"
	"log/slog"
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
			fn()
			if d := l.now().Sub(start); d > slowHandler {
				l.log.Warn("event handler blocked the loop", "duration", d)
			}
		}
	}
}
