package vf

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// The subsystem's loop side: the mode, the snapshot and the per-event
// observations reach the tracker and the manager here, on the loop.

// decideMode applies --vf.mode to what the system says.
func (s *Subsystem) decideMode(t Topology) (bool, string) {
	if s.cfg.Mode == ModeObserve {
		return false, "--vf.mode=observe"
	}
	active, err := BaseRulesActive(s.cfg.BaseRules)
	if err != nil {
		return false, fmt.Sprintf("cannot tell whether the base devd rules are active (%v); observing only", err)
	}
	if active {
		return false, "the base system's hyperv_vfattach/hyperv_vfup devd rules in " + s.cfg.BaseRules +
			" are active; comment them out (see hvagent(8)) and restart devd and hvagent to let hvagent manage the VF"
	}
	if t.Transparent {
		return false, "hw.hn.vf_transparent=1: hn(4) brings the VF up itself; nothing to manage"
	}
	return true, "non-transparent VF mode and no base devd rules"
}

// bootTriggers is what a boot in manage mode must catch up on: devd ran
// the events before the agent was there. A VF not yet carrying traffic
// is brought up; one that does gets its lagg.
func (s *Subsystem) bootTriggers(obs []Observation) []trigger {
	var out []trigger
	for _, o := range obs {
		switch {
		case o.Transparent || o.VF == "":
		case o.Datapath:
			out = append(out, trigger{kind: trigVFUp, hn: o.HN, vf: o.VF, at: o.At})
		default:
			out = append(out, trigger{kind: trigAttached, hn: o.HN, vf: o.VF, at: o.At})
		}
	}
	return out
}

// apply sets the mode and the first snapshot. Runs on the loop.
func (s *Subsystem) apply(ctx context.Context, managing bool, why string, delay time.Duration, log *slog.Logger, obs []Observation, boot []trigger) {
	s.mg.ctx = ctx
	s.mg.delay = delay
	s.managing = managing
	s.cfg.Metrics.Managing.Set(b2f(managing))
	if s.lastManaging == nil || *s.lastManaging != managing {
		if managing {
			log.Info("managing the VF (hyperv_vfattach/hyperv_vfup done natively)", "reason", why, "vf_delay", delay)
		} else {
			log.Info("observing the VF only; hvagent changes nothing", "reason", why)
		}
		s.lastManaging = &managing
	}
	if !managing {
		boot = nil
	}
	s.observe(obs, boot)
}

// observe feeds observations to the tracker and triggers to the
// manager. Runs on the loop.
func (s *Subsystem) observe(obs []Observation, trig []trigger) {
	for _, o := range obs {
		s.tracker.Observe(o)
		if o.Transparent && o.state() == VFAttached {
			s.recheckLater(o.HN)
		}
	}
	if s.observed != nil {
		s.observed()
	}
	if !s.managing {
		return
	}
	for _, t := range trig {
		s.mg.trigger(t)
	}
}

// defaultRecheck is Config.Recheck's default.
const defaultRecheck = 5 * time.Second

// recheckLater reads hn's sysctls once Config.Recheck has passed,
// in case the VF's link event that normally prompts it never comes.
// Runs on the loop.
func (s *Subsystem) recheckLater(hn string) {
	if s.rechecks[hn] {
		return
	}
	if s.rechecks == nil {
		s.rechecks = map[string]bool{}
	}
	s.rechecks[hn] = true
	s.mg.loop.AfterFunc(s.cfg.Recheck, func() {
		var h HN
		var ok bool
		var err error
		s.mg.loop.Go(func() { h, ok, err = ReadHN(s.cfg.Sysctl, hn) }, func() {
			delete(s.rechecks, hn)
			cur, known := s.tracker.Get(hn)
			if err != nil || !ok || !known || cur.state() != VFAttached || h.VF != cur.VF {
				return
			}
			if h.Datapath {
				s.tracker.Observe(Observation{HN: hn, VF: h.VF, Datapath: true, Transparent: true, At: s.cfg.Now()})
			}
		})
	})
}
