package vf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// DefaultOverrideDir holds the per-interface hyperv_vfup.hnN overrides.
const DefaultOverrideDir = "/usr/libexec/hyperv"

// minVFDelay is hyperv_vfattach's floor on hyperv_vf_delay.
const minVFDelay = 2 * time.Second

// work is one action decided on the loop and run off it.
type work struct {
	hn   string
	kind triggerKind
	vf   string
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
	// ctx ends the commands when the subsystem stops.
	ctx context.Context

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
	if mg.busy[w.hn] {
		mg.queued[w.hn] = w
		return
	}
	if n := mg.held[w.hn]; n > 0 {
		mg.log.Info("running the latest VF action after holding some back", "hn", w.hn, "held_back", n)
		mg.held[w.hn] = 0
	}
	if w.kind == trigAttached {
		mg.scheduleVFUp(w)
		return
	}
	mg.busy[w.hn] = true
	ctx := mg.ctx
	var results []actionResult
	mg.loop.Go(func() { results = mg.vfUp(ctx, w) }, func() { mg.finish(w.hn, results) })
}

// scheduleVFUp is hyperv_vfattach: ifconfig VF up after the delay, if
// the VF is still there then.
func (mg *manager) scheduleVFUp(w work) {
	mg.cancelVFUp(w.vf)
	mg.vfTimers[w.vf] = mg.loop.AfterFunc(mg.delay, func() {
		delete(mg.vfTimers, w.vf)
		if o, ok := mg.tracker.Get(w.hn); !ok || o.VF != w.vf {
			mg.log.Debug("VF left before its delayed bring-up", "hn", w.hn, "vf", w.vf)
			return
		}
		if mg.busy[w.hn] {
			mg.queued[w.hn] = w
			return
		}
		mg.busy[w.hn] = true
		ctx := mg.ctx
		var results []actionResult
		mg.loop.Go(func() {
			p := PlanVFUp(w.hn, w.vf)
			results = []actionResult{{p, Execute(ctx, mg.run, p)}}
		}, func() { mg.finish(w.hn, results) })
	})
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

// vfUp is hyperv_vfup for one hn, run off the loop.
func (mg *manager) vfUp(ctx context.Context, w work) []actionResult {
	override := filepath.Join(mg.overrideDir, "hyperv_vfup."+w.hn)
	if fi, err := os.Stat(override); err == nil && fi.Mode().IsRegular() {
		p := PlanOverride(w.hn, override)
		return []actionResult{{p, Execute(ctx, mg.run, p)}}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		mg.log.Warn("cannot check the override script", "path", override, "err", err)
	}
	p, err := mg.planVFUp(ctx, w.hn)
	switch {
	case errors.Is(err, errVFGone):
		mg.log.Info("VF detached before hyperv_vfup's work; nothing to do", "hn", w.hn)
		return nil
	case err != nil:
		return []actionResult{{Plan{Action: ActionCreate, HN: w.hn}, err}}
	case p.Action == "":
		mg.log.Debug("lagg already has the VF", "hn", w.hn)
		return nil
	}
	return []actionResult{{p, Execute(ctx, mg.run, p)}}
}

// planVFUp decides hyperv_vfup's work from the system's current state.
// An empty plan means there is nothing to do.
func (mg *manager) planVFUp(ctx context.Context, hn string) (Plan, error) {
	unit, _ := unitOf(hn)
	vf, err := mg.sc.Sysctl("dev.hn." + strconv.Itoa(unit) + ".vf")
	if err != nil && !errors.Is(err, ErrNoSysctl) {
		return Plan{}, err
	}
	if !ValidIfName(vf) {
		return Plan{}, errVFGone
	}
	lagg := laggOf(hn)
	out, err := mg.run.Run(ctx, []string{"ifconfig", lagg})
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		rc, err := ReadRCConf(ctx, mg.run, hn)
		if err != nil {
			return Plan{}, fmt.Errorf("vf: rc.conf of %s: %w", hn, err)
		}
		return PlanCreate(hn, vf, rc), nil
	case err != nil:
		return Plan{}, err
	case HasLaggPort(out, vf):
		return Plan{}, nil
	}
	return PlanAddPort(hn, vf), nil
}

// readVFDelay reads hyperv_vf_delay from rc.conf (minimum 2 s).
func readVFDelay(ctx context.Context, r Runner) time.Duration {
	v, err := sysrc(ctx, r, "hyperv_vf_delay")
	n, perr := strconv.Atoi(v)
	if err != nil || perr != nil || n < 0 || n > 86400 {
		return minVFDelay
	}
	return max(minVFDelay, time.Duration(n)*time.Second)
}
