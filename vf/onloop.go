package vf

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// The subsystem's loop side: the mode, the snapshot and the per-event
// observations reach the tracker and the manager here, on the loop.

// decision is the effective mode and what goes with it.
type decision struct {
	managing bool
	why      string
	delay    time.Duration // hyperv_vf_delay, when managing
}

// decide applies --vf.mode to what the system says. It reads a file and
// runs sysrc: call it off the loop.
func (s *Subsystem) decide(ctx context.Context, transparent bool) decision {
	if s.cfg.Mode == ModeObserve {
		return decision{why: "--vf.mode=observe"}
	}
	rules, err := BaseRulesActive(s.cfg.BaseRules)
	if err != nil {
		return decision{why: fmt.Sprintf("cannot tell whether the base devd rules are active (%v); observing only", err)}
	}
	if rules.Active {
		return decision{why: "the base system's hyperv_vfattach/hyperv_vfup devd rules are active: " + rules.String() +
			"; disable them (see hvagent(8)), restart devd, and send hvagent SIGHUP to let it manage the VF"}
	}
	if transparent {
		return decision{why: "hw.hn.vf_transparent=1: hn(4) brings the VF up itself; nothing to manage"}
	}
	return decision{managing: true, why: "non-transparent VF mode and no base devd rules: " + rules.String(),
		delay: readVFDelay(ctx, s.cfg.Runner)}
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
func (s *Subsystem) apply(ctx context.Context, d decision, transparent bool, log *slog.Logger, obs []Observation) {
	s.mg.ctx = ctx
	s.started, s.transparent = true, transparent
	s.setMode(d, log)
	s.observe(obs, s.bootTriggers(obs))
}

// setMode switches to d, saying so when the mode changes. Runs on the
// loop.
func (s *Subsystem) setMode(d decision, log *slog.Logger) {
	s.mg.delay = d.delay
	s.managing = d.managing
	s.mg.setEnabled(d.managing)
	s.cfg.Metrics.Managing.Set(b2f(d.managing))
	if s.lastManaging != nil && *s.lastManaging == d.managing {
		return
	}
	if d.managing {
		log.Info("managing the VF (hyperv_vfattach/hyperv_vfup done natively)", "reason", d.why, "vf_delay", d.delay)
	} else {
		log.Info("observing the VF only; hvagent changes nothing", "reason", d.why)
	}
	s.lastManaging = &d.managing
}

// Refresh implements agent.Refresher: on SIGHUP the mode is decided
// again (the base devd rules may have been commented out) and
// hyperv_vf_delay re-read. Becoming a manager catches up as at boot.
// On Linux there is nothing to re-decide: the kernel manages.
func (s *Subsystem) Refresh(env *agent.Env) {
	if !s.started || s.cfg.Protocol == ProtocolLinux {
		return
	}
	transparent := s.transparent
	var d decision
	env.Loop.Go(func() { d = s.decide(context.Background(), transparent) }, func() {
		was := s.managing
		s.setMode(d, env.Log)
		if d.managing && !was {
			var obs []Observation
			for _, hn := range s.tracker.HNs() {
				o, _ := s.tracker.Get(hn)
				obs = append(obs, o)
			}
			s.observe(nil, s.bootTriggers(obs))
		}
	})
}

// observe feeds observations to the tracker and triggers to the
// manager. Runs on the loop.
func (s *Subsystem) observe(obs []Observation, trig []trigger) {
	for _, o := range obs {
		if o.Gone {
			s.tracker.Forget(o.HN)
			continue
		}
		s.tracker.Observe(o)
		if o.Transparent && o.state() == VFAttached && s.cfg.Protocol == ProtocolFreeBSD {
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
