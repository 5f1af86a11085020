package vf

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// DefaultOverrideDir holds the per-interface hyperv_vfup.hnN overrides.
const DefaultOverrideDir = "/usr/libexec/hyperv"

// minVFDelay is hyperv_vfattach's floor on hyperv_vf_delay.
const minVFDelay = 2 * time.Second

// DefaultActionTimeout bounds one action, all its commands together:
// each command has its own bound, but a lagg creation runs a dozen of
// them, a synchronous dhclient among them. An action past it fails and
// lets the hn's next one run.
const DefaultActionTimeout = 3 * time.Minute

// work is one action decided on the loop and run off it.
type work struct {
	hn   string
	kind triggerKind
	vf   string
	// delayed: a trigAttached whose hyperv_vf_delay is already over.
	delayed bool
}

// manager runs manage-mode actions. It lives on the event loop; the
// commands run on goroutines started with Loop.Go, one action at a time
// per hn.
type manager struct {
	loop        *agent.Loop
	log         *slog.Logger
	m           *Metrics
	run         Runner
	sc          Sysctl
	tracker     *Tracker
	overrideDir string
	delay       time.Duration // hyperv_vf_delay, at least minVFDelay
	burst       int
	interval    time.Duration
	timeout     time.Duration // per action
	baseRules   string
	// enabled: the subsystem manages (loop-owned, set by setEnabled).
	enabled bool
	// blocked runs on the loop when an action found the base rules
	// active; the subsystem switches to observing.
	blocked func(why error)
	// ctx ends the commands once the subsystem stopped and the shutdown
	// grace is over (Subsystem.Run).
	ctx context.Context
	// acts are the actions running off the loop (shutdown.go).
	acts actions

	buckets  map[string]*bucket
	pending  map[string]work // held back by the rate limit; latest wins
	held     map[string]int  // held back since the last action ran
	busy     map[string]bool
	queued   map[string]work // arrived while busy; latest wins
	vfTimers map[string]*time.Timer
}

func (mg *manager) init() {
	mg.buckets = map[string]*bucket{}
	mg.pending = map[string]work{}
	mg.held = map[string]int{}
	mg.busy = map[string]bool{}
	mg.queued = map[string]work{}
	mg.vfTimers = map[string]*time.Timer{}
}

// trigger decides what an event asks for. Called on the loop.
func (mg *manager) trigger(t trigger) {
	if t.kind == trigGone {
		mg.cancelVFUp(t.vf)
		return
	}
	w := work{hn: t.hn, kind: t.kind, vf: t.vf}
	b := mg.buckets[t.hn]
	if b == nil {
		b = newBucket(mg.burst, mg.interval)
		mg.buckets[t.hn] = b
	}
	if !b.take(t.at) {
		mg.holdBack(w, b.wait(t.at))
		return
	}
	delete(mg.pending, t.hn)
	mg.start(w)
}

// holdBack keeps w as hn's pending action and makes sure it runs once
// the rate allows, even if no further event comes.
func (mg *manager) holdBack(w work, wait time.Duration) {
	mg.m.HeldBack.WithLabelValues(w.hn).Inc()
	_, already := mg.pending[w.hn]
	mg.pending[w.hn] = w
	mg.held[w.hn]++
	if mg.held[w.hn] == 1 {
		mg.log.Warn("VF flapping: holding back actions for this interface", "hn", w.hn, "retry_in", wait.Round(time.Second))
	}
	if already {
		return
	}
	mg.loop.AfterFunc(wait, func() {
		if p, ok := mg.pending[w.hn]; ok {
			delete(mg.pending, w.hn)
			mg.start(p)
		}
	})
}

// start runs w now, or after hn's running action.
func (mg *manager) start(w work) {
	if !mg.enabled {
		return
	}
	if mg.busy[w.hn] {
		mg.queued[w.hn] = w
		return
	}
	if n := mg.held[w.hn]; n > 0 {
		mg.log.Info("running the latest VF action after holding some back", "hn", w.hn, "held_back", n)
		mg.held[w.hn] = 0
	}
	switch {
	case w.kind == trigAttached && w.delayed:
		mg.bringUp(w)
		return
	case w.kind == trigAttached:
		mg.scheduleVFUp(w)
		return
	}
	mg.launch(w.hn, func(ctx context.Context) []actionResult { return mg.vfUp(ctx, w) })
}

// scheduleVFUp is hyperv_vfattach: ifconfig VF up after the delay, if
// the VF is still there then.
func (mg *manager) scheduleVFUp(w work) {
	mg.cancelVFUp(w.vf)
	mg.vfTimers[w.vf] = mg.loop.AfterFunc(mg.delay, func() {
		delete(mg.vfTimers, w.vf)
		if !mg.enabled {
			return
		}
		w.delayed = true
		mg.bringUp(w)
	})
}

// bringUp runs 'ifconfig VF up' once the delay is over, if the VF is
// still hn's; after hn's running action if there is one, without
// waiting the delay again.
func (mg *manager) bringUp(w work) {
	if o, ok := mg.tracker.Get(w.hn); !ok || o.VF != w.vf {
		mg.log.Debug("VF left before its delayed bring-up", "hn", w.hn, "vf", w.vf)
		return
	}
	if mg.busy[w.hn] {
		mg.queued[w.hn] = w
		return
	}
	mg.launch(w.hn, func(ctx context.Context) []actionResult {
		p := PlanVFUp(w.hn, w.vf)
		return []actionResult{{p, Execute(ctx, mg.run, p)}}
	})
}

// launch runs one action of hn off the loop, within the action deadline.
// Right before acting it looks at the base devd rules again: if they
// became active since the mode was decided, it does nothing and the
// subsystem goes back to observing (never act twice).
func (mg *manager) launch(hn string, act func(context.Context) []actionResult) {
	if !mg.acts.begin() {
		mg.log.Info("stopping: VF action not started", "hn", hn)
		return
	}
	mg.busy[hn] = true
	ctx, cancel := context.WithTimeout(mg.ctx, mg.timeout)
	var results []actionResult
	var blocked error
	mg.loop.Go(func() {
		defer mg.acts.end()
		defer cancel()
		if blocked = mg.baseRulesBlock(); blocked == nil {
			results = act(ctx)
		}
	}, func() {
		if blocked != nil {
			mg.busy[hn] = false
			mg.blocked(blocked)
			return
		}
		mg.finish(hn, results)
	})
}

// baseRulesBlock reports why the base devd rules forbid acting now.
func (mg *manager) baseRulesBlock() error {
	d, err := BaseRulesActive(mg.baseRules)
	switch {
	case err != nil:
		return err
	case d.Active:
		return fmt.Errorf("the base devd rules became active: %s", d)
	}
	return nil
}

// setEnabled turns acting on or off. Turning it off drops what waits:
// delayed bring-ups, held-back and queued actions. Runs on the loop.
func (mg *manager) setEnabled(on bool) {
	mg.enabled = on
	if on {
		return
	}
	for vf := range mg.vfTimers {
		mg.cancelVFUp(vf)
	}
	clear(mg.pending)
	clear(mg.queued)
}

func (mg *manager) cancelVFUp(vf string) {
	if t, ok := mg.vfTimers[vf]; ok {
		t.Stop()
		delete(mg.vfTimers, vf)
	}
}

type actionResult struct {
	plan Plan
	err  error
}

// finish records results on the loop and starts what queued meanwhile.
func (mg *manager) finish(hn string, results []actionResult) {
	for _, r := range results {
		result := "success"
		if r.err != nil {
			result = "failure"
			mg.log.Error("VF action failed", "hn", hn, "action", r.plan.Action, "err", r.err)
		} else {
			mg.log.Info("VF action done", "hn", hn, "action", r.plan.Action, "commands", len(r.plan.Steps))
		}
		mg.m.LaggActions.WithLabelValues(hn, r.plan.Action, result).Inc()
	}
	mg.busy[hn] = false
	if w, ok := mg.queued[hn]; ok {
		delete(mg.queued, hn)
		mg.start(w)
	}
}
