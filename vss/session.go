package vss

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// How a freeze ends: the host's THAW, the auto-thaw at --vss.max-frozen,
// the freezer exiting on its own, or the agent stopping.

// session is one freeze: from a successful FREEZE to its thaw.
type session struct {
	gen    int
	frozen *Frozen // nil when the plan had nothing to freeze
	hooks  []string
	start  time.Time
	timer  *time.Timer
	done   chan struct{}
}

func (s *Service) thaw() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		if lost := s.lost; lost != nil {
			s.lost = nil
			return fmt.Errorf("the freeze had already ended (%w); the snapshot may not be consistent", lost)
		}
		s.log.Info("THAW with nothing frozen")
		return nil
	}
	if err := s.end("thaw requested"); err != nil {
		return err
	}
	s.cfg.Metrics.LastSuccess.SetToCurrentTime()
	return nil
}

// end thaws the session's filesystems, then runs the thaw hooks in
// reverse order. Hook failures are logged and counted; the error is about
// the filesystems. Called with s.mu held.
func (s *Service) end(why string) error {
	deadline := time.Now().Add(s.cfg.opBudget) // the THAW answers within it
	sess := s.sess
	s.sess = nil
	sess.timer.Stop()
	close(sess.done)
	var err error
	if sess.frozen != nil {
		var reason ThawReason
		reason, err = sess.frozen.Thaw(thawWait)
		if err == nil && reason != ThawCommanded {
			err = fmt.Errorf("vss: the freezer had thawed by itself (%s)", reason)
		}
	}
	s.held.release(s.log)
	d := time.Since(sess.start)
	s.cfg.Metrics.Frozen.Set(0)
	s.cfg.Metrics.FrozenDuration.Observe(d.Seconds())
	s.log.Info("thawed", "why", why, "frozen_for", d.Round(time.Millisecond), errAttr(err))
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, herr := s.cfg.Hooks.Run(ctx, reversed(sess.hooks), HookThaw, false); herr != nil {
		s.countHookFailures(herr)
	}
	return err
}

// autoThaw ends session gen if it is still frozen at --vss.max-frozen.
func (s *Service) autoThaw(gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil || s.sess.gen != gen {
		return
	}
	s.log.Warn("no THAW within --vss.max-frozen: thawing", "max_frozen", s.cfg.MaxFrozen)
	s.cfg.Metrics.AutoThaws.WithLabelValues(autoMaxFrozen).Inc()
	err := s.end("auto-thaw after --vss.max-frozen")
	s.lost = errors.Join(fmt.Errorf("auto-thawed after --vss.max-frozen %s", s.cfg.MaxFrozen), err)
}

// watch ends the session if its freezer exits while frozen.
func (s *Service) watch(sess *session) {
	select {
	case <-sess.done:
		return
	case <-sess.frozen.Exited():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != sess {
		return // ended meanwhile
	}
	reason := autoFreezerDied
	err := s.end("freezer exited")
	if err == nil || !errors.Is(err, ErrFreezerDied) {
		reason = autoFreezerTimer
	}
	s.log.Error("freezer exited while frozen; filesystems thawed", "err", err)
	s.cfg.Metrics.AutoThaws.WithLabelValues(reason).Inc()
	s.lost = fmt.Errorf("the freezer exited while frozen: %w", err)
}

// Shutdown thaws anything frozen; the agent calls it before it exits.
func (s *Service) Shutdown(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		s.log.Warn("thawing before stop", "why", why)
		if err := s.end(why); err != nil {
			s.log.Error("thaw before stop", "err", err)
		}
	}
}

// Frozen reports whether a freeze is in force.
func (s *Service) Frozen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess != nil
}
