package vf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/hvagent/hvagent/agent"
)

// Mode is --vf.mode.
type Mode string

const (
	ModeAuto    Mode = "auto"    // manage in non-transparent mode unless the base devd rules are active
	ModeObserve Mode = "observe" // never act
	ModeManage  Mode = "manage"  // act (still never while the base rules are active)
)

// ParseMode checks a --vf.mode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeObserve, ModeManage:
		return m, nil
	}
	return "", fmt.Errorf("unknown VF mode %q (want auto, observe or manage)", s)
}

// Config is what the VF subsystem needs; zero fields take the defaults.
type Config struct {
	// Protocol is the kernel followed: FreeBSD's hn(4) through devd (the
	// zero value) or Linux's hv_netvsc through rtnetlink (linuxrun.go),
	// where the agent only observes.
	Protocol Protocol
	// SysRoot is where sysfs is read on Linux (DefaultSysRoot); Kmsg the
	// kernel log read there for confirmations and failed switches
	// (DefaultKmsg), none when empty.
	SysRoot string
	Kmsg    string

	DevdSocket  string
	Mode        Mode
	BaseRules   string // devd file whose hyperv_vf* rules make the agent observe
	OverrideDir string // where hyperv_vfup.hnN overrides live
	Runner      Runner
	Sysctl      Sysctl
	Metrics     *Metrics
	// Now is the clock for events without a timestamp.
	Now func() time.Time
	// Burst and Interval set the per-hn action rate limit.
	Burst    int
	Interval time.Duration
	// ActionTimeout bounds one action; 0 means DefaultActionTimeout.
	ActionTimeout time.Duration
	// Recheck is how long after a VF attached in transparent mode its
	// datapath is read even without a link event; 0 means 5 s (hn(4)
	// switches after hw.hn.vf_xpnt_attwait, 2 s by default).
	Recheck time.Duration
	// ShutdownGrace bounds how long Run, once ctx ended, waits for a
	// running action; 0 means agent.ShutdownGrace.
	ShutdownGrace time.Duration
}

// Subsystem is the vf subsystem.
type Subsystem struct {
	cfg Config

	once    sync.Once
	tracker *Tracker
	mg      *manager
	// managing is the effective mode (loop-owned); lastManaging the one
	// last logged, so the reason is said once, not at every reconnect.
	managing     bool
	lastManaging *bool
	// started: the first snapshot is applied; transparent is its mode.
	started, transparent bool
	// observed, if set, runs on the loop after observations updated the
	// metrics (a seam for the latency benchmark).
	observed func()
	// rechecks holds the hns with a transparent-mode datapath check
	// pending (loop-owned).
	rechecks map[string]bool
	// received, if set, runs after each wake-up of the Linux observer's
	// rtnetlink receive (a seam for the test that nothing polls).
	received func()
	// dumped and sysRead, if set, run after each rtnetlink dump and
	// before each sysfs driver check of the Linux observer (the same
	// test's seams: an idle observer does neither).
	dumped, sysRead func()
	// dialLinks subscribes to rtnetlink's link events (linux_linux.go;
	// a fake in tests).
	dialLinks func() (linkSource, error)
	// noNetvscLogged: the Linux observer said once that it started
	// without an hv_netvsc interface (Run's goroutine; Run restarts
	// only after it returned).
	noNetvscLogged bool
	// linuxRaw is each synthetic interface's last observation from
	// rtnetlink, and switchFailed the VF of each whose data path
	// switch to the VF failed (linuxhold.go; loop-owned).
	linuxRaw     map[string]Observation
	switchFailed map[string]string
}

// New returns the subsystem with cfg's defaults filled in.
func New(cfg Config) *Subsystem {
	if cfg.DevdSocket == "" {
		cfg.DevdSocket = DefaultDevdSocket
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeAuto
	}
	if cfg.BaseRules == "" {
		cfg.BaseRules = DefaultBaseRules
	}
	if cfg.OverrideDir == "" {
		cfg.OverrideDir = DefaultOverrideDir
	}
	if cfg.Runner == nil {
		cfg.Runner = ExecRunner{}
	}
	if cfg.Sysctl == nil {
		cfg.Sysctl = DefaultSysctl(cfg.Runner)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = DefaultActionTimeout
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = agent.ShutdownGrace
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = defaultRecheck
	}
	if cfg.SysRoot == "" {
		cfg.SysRoot = DefaultSysRoot
	}
	return &Subsystem{cfg: cfg, dialLinks: dialLinks}
}

// Name implements agent.Subsystem.
func (s *Subsystem) Name() string { return "vf" }

// Run implements agent.Subsystem: it follows devd (on Linux,
// rtnetlink) until ctx ends. The per-hn state survives restarts of Run.
func (s *Subsystem) Run(ctx context.Context, env *agent.Env) error {
	if s.cfg.Protocol == ProtocolLinux {
		return s.runLinux(ctx, env)
	}
	s.once.Do(func() { s.setUp(env) })
	conn, err := dialDevd(ctx, s.cfg.DevdSocket)
	if err != nil {
		return s.devdMissing(err)
	}
	in := newInterpreter(s.cfg.Sysctl, env.Log)
	obs, err := in.snapshot(s.cfg.Now())
	if err != nil {
		conn.Close()
		return fmt.Errorf("vf: read the hn topology: %w", err)
	}
	// The interpreter belongs to this goroutine from here on (it
	// re-reads the topology when devd comes back): the loop gets a copy.
	transparent := in.topo.Transparent
	d := s.decide(ctx, transparent)
	// Actions outlive ctx: on shutdown they get the grace to finish
	// (drain below), then the deferred cancel ends their commands.
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s.mg.acts.resume()
	if !env.Loop.Post(func() { s.apply(mctx, d, transparent, env.Log, obs) }) {
		conn.Close()
		return ctx.Err()
	}
	env.Log.Info("following devd", "socket", s.cfg.DevdSocket, "hns", len(obs), "transparent", transparent)
	env.Ready()

	feed := &devdFeed{s: s, in: in, env: env}
	lost := func() { s.cfg.Metrics.DevdConnected.Set(0) }
	followDevd(ctx, s.cfg.DevdSocket, conn, devdReconnect, env.Log, feed.connected, lost, feed.line)
	lost()
	s.mg.acts.drain(s.cfg.ShutdownGrace, env.Log)
	return nil
}

// setUp builds, on the first Run, what outlives restarts of Run: the
// per-hn Tracker and the manager that runs actions.
func (s *Subsystem) setUp(env *agent.Env) {
	s.tracker = NewTracker(s.cfg.Metrics, env.Log)
	s.mg = &manager{loop: env.Loop, log: env.Log, m: s.cfg.Metrics, run: s.cfg.Runner, sc: s.cfg.Sysctl,
		tracker: s.tracker, overrideDir: s.cfg.OverrideDir, burst: s.cfg.Burst, interval: s.cfg.Interval, timeout: s.cfg.ActionTimeout,
		baseRules: s.cfg.BaseRules}
	s.mg.blocked = func(why error) {
		s.setMode(decision{why: fmt.Sprintf("%v; send hvagent SIGHUP once they are disabled again", why)}, env.Log)
	}
	s.mg.init()
}

// devdFeed turns what one Run reads from devd into observations posted
// to the loop. It runs on Run's goroutine, which owns the interpreter.
type devdFeed struct {
	s         *Subsystem
	in        *interpreter
	env       *agent.Env
	malformed int // malformed lines so far, for a log line now and then
}

// connected is called on each connection to devd; again is true after a
// reconnection, when events may have been missed: the topology is read
// anew and manage mode catches up as at boot.
func (f *devdFeed) connected(again bool) {
	s := f.s
	s.cfg.Metrics.DevdConnected.Set(1)
	if !again {
		return
	}
	obs, err := f.in.snapshot(s.cfg.Now())
	if err != nil {
		f.env.Log.Warn("cannot re-read the hn topology after devd came back", "err", err)
		return
	}
	f.env.Loop.Post(func() { s.observe(obs, s.bootTriggers(obs)) })
}

// line counts one devd record and posts what a relevant event changes.
func (f *devdFeed) line(b []byte) {
	s := f.s
	e, err := ParseEvent(b)
	switch {
	case errors.Is(err, ErrNotNotify):
		s.cfg.Metrics.DevdLines.WithLabelValues("ignored").Inc()
		return
	case err != nil:
		s.cfg.Metrics.DevdLines.WithLabelValues("malformed").Inc()
		if f.malformed++; f.malformed == 1 || f.malformed%1000 == 0 {
			f.env.Log.Warn("skipping malformed devd lines", "err", err, "count", f.malformed)
		}
		return
	case !relevant(e):
		s.cfg.Metrics.DevdLines.WithLabelValues("ignored").Inc()
		return
	}
	s.cfg.Metrics.DevdLines.WithLabelValues("relevant").Inc()
	at := e.At
	if at.IsZero() {
		at = s.cfg.Now()
	}
	obs, trig := f.in.handle(e, at)
	if len(obs) > 0 || len(trig) > 0 {
		f.env.Loop.Post(func() { s.observe(obs, trig) })
	}
}

// devdMissing qualifies a failure to reach devd at start. No socket is
// final (the subsystem is disabled) only on a machine without hn(4): a
// guest with hn interfaces runs devd, which is restarting or not started
// yet, so the supervisor retries with its backoff, as a reconnection
// would. A socket we may not connect to is final too; anything else
// (devd not accepting yet) is retried.
func (s *Subsystem) devdMissing(err error) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return agent.FinalIfUnavailable(err)
	}
	if t, derr := Discover(s.cfg.Sysctl); derr != nil || len(t.HNs) == 0 {
		return agent.Final(err)
	}
	return fmt.Errorf("vf: devd is not running yet although hn(4) interfaces exist; will retry: %w", err)
}
