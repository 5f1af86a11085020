package vf

import (
	"cmp"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State is where hnN stands.
type State int

const (
	NoVF       State = iota // no VF: traffic on the synthetic path
	VFAttached              // a VF exists, the datapath is not (yet) on it
	OnVF                    // traffic runs on the VF
)

func (s State) String() string {
	return [...]string{"no_vf", "vf_attached", "datapath_on_vf"}[s]
}

// Observation is what became true of one hn at one time.
type Observation struct {
	HN          string
	VF          string // "" when none
	Datapath    bool   // traffic on the VF
	Transparent bool
	At          time.Time
	// Gone: the interface itself went away (removed, or renamed from
	// HN); its series are deleted (Tracker.Forget).
	Gone bool
}

func (o Observation) state() State {
	switch {
	case o.VF == "":
		return NoVF
	case o.Datapath:
		return OnVF
	}
	return VFAttached
}

type hnState struct {
	obs           Observation
	degradedSince time.Time   // zero unless a to_synthetic transition started a window
	changes       []time.Time // state changes within the last stormWindow, oldest first
	quiet         int         // changes logged at DEBUG since the last one at INFO
	quietSince    time.Time   // when the first of those happened
}

// A flap storm is more than stormChanges state changes of one hn within
// stormWindow. The change that starts a storm is announced at INFO;
// from it on "VF state changed" goes to DEBUG (the metrics count every
// change), and once the storm has passed the next one logged at INFO is
// preceded by a summary of how many were not. The return to the VF ("VF
// datapath restored", with the VF and how long it was gone) is always
// at INFO. An ordinary servicing (no VF, VF attached, datapath on the VF
// within about 30 seconds) is three changes, well below the limit.
const (
	stormWindow  = time.Minute
	stormChanges = 6
)

// level records a change of s at at and returns its log level.
func (s *hnState) level(at time.Time) slog.Level {
	keep := s.changes[:0]
	for _, c := range s.changes {
		if at.Sub(c) < stormWindow {
			keep = append(keep, c)
		}
	}
	s.changes = append(keep, at)
	if len(s.changes) > stormChanges {
		s.changes = s.changes[len(s.changes)-stormChanges-1:]
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// hush counts a change at at logged at DEBUG; the first of a storm is
// announced at INFO, so the log says why the changes went quiet.
func (s *hnState) hush(log *slog.Logger, hn string, at time.Time) {
	if s.quiet == 0 {
		s.quietSince = at
		log.Info("VF flap storm: further state changes logged at DEBUG until it passes",
			"hn", hn, "changes", len(s.changes), "within", stormWindow)
	}
	s.quiet++
}

// summarize logs, before a change logged at INFO, how many were not.
func (s *hnState) summarize(log *slog.Logger, hn string) {
	if s.quiet == 0 {
		return
	}
	log.Info("VF flap storm: state changes logged at DEBUG", "hn", hn, "changes", s.quiet, "since", s.quietSince)
	s.quiet, s.quietSince = 0, time.Time{}
}

// Tracker keeps the per-hn state machine and the metrics in step. It is
// not safe for concurrent use: it lives on the event loop.
type Tracker struct {
	m   *Metrics
	log *slog.Logger
	hns map[string]*hnState
}

// NewTracker returns a tracker updating m.
func NewTracker(m *Metrics, log *slog.Logger) *Tracker {
	return &Tracker{m: m, log: log, hns: map[string]*hnState{}}
}

// Get returns the last observation of hn.
func (t *Tracker) Get(hn string) (Observation, bool) {
	s, ok := t.hns[hn]
	if !ok {
		return Observation{}, false
	}
	return s.obs, true
}

// State returns hn's state (NoVF for an unknown hn).
func (t *Tracker) State(hn string) State {
	o, _ := t.Get(hn)
	return o.state()
}

// HNs returns the names of the hns seen.
func (t *Tracker) HNs() []string {
	var out []string
	for name := range t.hns {
		out = append(out, name)
	}
	return out
}

// Observe records o. The first observation of an hn sets its state
// without counting a transition (the agent did not see one happen);
// later ones count a transition whenever the datapath changes. Time
// never runs backwards for an hn: an observation older than the last
// one is taken as simultaneous. It returns the transition direction,
// or "" when the datapath did not change.
func (t *Tracker) Observe(o Observation) string {
	s, known := t.hns[o.HN]
	if !known {
		s = &hnState{}
		t.hns[o.HN] = s
		t.setInfo(o)
		t.m.Datapath.WithLabelValues(o.HN).Set(b2f(o.Datapath))
		t.m.initHN(o.HN)
		s.obs = o
		t.log.Info("VF state", "hn", o.HN, vfAttr(o.VF), "state", o.state(), "transparent", o.Transparent)
		return ""
	}
	prev := s.obs
	if o.At.Before(prev.At) {
		o.At = prev.At
	}
	if o.VF != prev.VF || o.Transparent != prev.Transparent {
		t.m.Info.DeleteLabelValues(prev.HN, prev.VF, modeName(prev.Transparent))
		t.setInfo(o)
	}
	s.obs = o
	restored := o.Datapath && !prev.Datapath && !s.degradedSince.IsZero()
	if o.state() != prev.state() {
		// The VF the change is about: the one that left, on a removal.
		vf := vfAttr(cmp.Or(o.VF, prev.VF))
		switch lvl := s.level(o.At); {
		case restored: // logged below, always at INFO
		case lvl == slog.LevelInfo:
			s.summarize(t.log, o.HN)
			t.log.Info("VF state changed", "hn", o.HN, vf, "from", prev.state(), "to", o.state())
		default:
			s.hush(t.log, o.HN, o.At)
			t.log.Debug("VF state changed", "hn", o.HN, vf, "from", prev.state(), "to", o.state())
		}
	}
	if o.Datapath == prev.Datapath {
		return ""
	}
	t.m.Datapath.WithLabelValues(o.HN).Set(b2f(o.Datapath))
	t.m.LastTransition.WithLabelValues(o.HN).Set(float64(o.At.UnixNano()) / 1e9)
	if !o.Datapath {
		t.m.Transitions.WithLabelValues(o.HN, DirToSynthetic).Inc()
		s.degradedSince = o.At
		return DirToSynthetic
	}
	t.m.Transitions.WithLabelValues(o.HN, DirToVF).Inc()
	if restored {
		d := o.At.Sub(s.degradedSince)
		t.m.Degraded.WithLabelValues(o.HN).Observe(d.Seconds())
		t.log.Info("VF datapath restored", "hn", o.HN, "vf", o.VF, "from", prev.state(), "to", o.state(), "degraded_for", d)
		s.degradedSince = time.Time{}
	}
	return DirToVF
}

// Forget drops hn, which went away or was renamed, and deletes every
// series labelled with it: a removed interface must not keep
// datapath_vf at 0 (an alert on a missing VF would fire forever), nor a
// renamed one its old name's series.
func (t *Tracker) Forget(hn string) {
	if _, ok := t.hns[hn]; !ok {
		return
	}
	delete(t.hns, hn)
	l := prometheus.Labels{"hn": hn}
	m := t.m
	m.Datapath.DeletePartialMatch(l)
	m.Info.DeletePartialMatch(l)
	m.Transitions.DeletePartialMatch(l)
	m.LastTransition.DeletePartialMatch(l)
	m.Degraded.DeletePartialMatch(l)
	m.LaggActions.DeletePartialMatch(l)
	m.HeldBack.DeletePartialMatch(l)
	m.KernelEvents.DeletePartialMatch(l)
	t.log.Info("interface gone; its VF series removed", "hn", hn)
}

// vfAttr is the "vf" attribute, none when there is no VF.
func vfAttr(name string) slog.Attr {
	if name == "" {
		return slog.Attr{}
	}
	return slog.String("vf", name)
}

func (t *Tracker) setInfo(o Observation) {
	t.m.Info.WithLabelValues(o.HN, o.VF, modeName(o.Transparent)).Set(1)
}

func modeName(transparent bool) string {
	if transparent {
		return "transparent"
	}
	return "non_transparent"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
