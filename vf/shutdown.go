package vf

import (
	"log/slog"
	"sync"
	"time"
)

// actions counts the actions running off the loop, so that shutdown can
// wait for them and refuse new ones.
type actions struct {
	mu       sync.Mutex
	stopping bool
	running  int
	wg       sync.WaitGroup
}

// begin registers an action about to start; false once stopping.
func (a *actions) begin() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return false
	}
	a.running++
	a.wg.Add(1)
	return true
}

func (a *actions) end() {
	a.mu.Lock()
	a.running--
	a.mu.Unlock()
	a.wg.Done()
}

// resume takes new actions again (a restarted Run).
func (a *actions) resume() {
	a.mu.Lock()
	a.stopping = false
	a.mu.Unlock()
}

// drain refuses new actions and waits up to grace for the running ones;
// what is still running then is logged as abandoned.
func (a *actions) drain(grace time.Duration, log *slog.Logger) {
	a.mu.Lock()
	a.stopping = true
	n := a.running
	a.mu.Unlock()
	if n == 0 {
		return
	}
	log.Info("waiting for running VF actions before stopping", "actions", n, "grace", grace)
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		a.mu.Lock()
		n = a.running
		a.mu.Unlock()
		log.Warn("abandoning VF actions still running at shutdown; the interfaces may be half configured", "actions", n, "grace", grace)
	}
}
