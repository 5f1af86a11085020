package vss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/hvagent/hvagent/internal/command"
)

// Time budgets inside the kernel's 15 s per operation (TIMEOUT_LIMIT in
// sys/dev/hyperv/utilities/hv_snapshot.c).
const (
	opBudget    = 14 * time.Second // the whole FREEZE or THAW, with margin
	hooksBudget = 10 * time.Second // the freeze hooks together
	thawWait    = 3 * time.Second  // the freezer confirming a thaw
	// selfThawMargin: the freezer's own deadline is --vss.max-frozen plus
	// this, so the agent's auto-thaw normally fires first and the
	// freezer's only matters when the agent is wedged.
	selfThawMargin = 5 * time.Second
	// undoHooksMin is the least time the freeze-fail hooks get, even past
	// the FREEZE's budget: a late failure is a failure to the host either
	// way, but an application left quiesced stays broken.
	undoHooksMin = DefaultHookTimeout
	// freezeReserve is what zpool sync leaves of the budget for the
	// freezer and an abort.
	freezeReserve = 3 * time.Second
	// MaxMaxFrozen bounds --vss.max-frozen: a snapshot takes seconds, and
	// the freezer's own deadline must fit poll(2)'s int milliseconds.
	MaxMaxFrozen = time.Hour
	// DefaultMaxFrozen is --vss.max-frozen's default. A THAW can be lost
	// for good: FreeBSD's hv_vss gives each request 15 s (TIMEOUT_LIMIT,
	// sys/dev/hyperv/utilities/hv_snapshot.c), and hv_vss_timeout
	// withdraws one the agent has not read by then, so the auto-thaw alone
	// ends that freeze. How long Hyper-V holds a guest frozen is not
	// documented; the bounds that are: the host's backup runs on Windows
	// VSS, which gives a writer 60 s from Freeze to Thaw by default and
	// aborts the shadow copy after that (CVssWriter::OnFreeze,
	// dwTimeoutFreeze of CVssWriter::Initialize), and lets a provider hold
	// writes for at most 10 s while it cuts the snapshot
	// (VSS_E_HOLD_WRITES_TIMEOUT). A THAW the host still sends comes well
	// inside 60 s; after that the backup has failed on the host too, and
	// staying frozen only stalls the guest. Linux waits 900 s for the
	// FREEZE reply (VSS_FREEZE_TIMEOUT, drivers/hv/hv_snapshot.c): that
	// bounds answering FREEZE, not the time frozen, and the host's
	// window above still applies.
	DefaultMaxFrozen = 60 * time.Second
)

// Config builds the subsystem (New) and its Service (NewService, which
// ignores Device and OpenTransport). Metrics is required.
type Config struct {
	Device string // /dev/hv_fsvss_dev, /dev/vmbus/hv_vss or a Unix socket (the socket transport)
	// Protocol is the kernel's message format and handshake (FreeBSD's
	// by default); on Linux HOT_BACKUP is always answered success.
	Protocol Protocol
	// OpenTransport connects (which registers); nil uses Open(ctx,
	// Device). Tests pass OpenVia with a model of the FreeBSD driver.
	OpenTransport func(context.Context) (Transport, error)

	Policy    Policy
	Hooks     *Hooks
	MaxFrozen time.Duration // 0: DefaultMaxFrozen
	Metrics   *Metrics
	Log       *slog.Logger
	// ReadMounts reads the mount table; nil uses ReadMounts.
	ReadMounts func() ([]Mount, error)
	// SyncPools runs "zpool sync" on pools; nil runs zpool from PATH.
	SyncPools func(ctx context.Context, pools []string) error
	// LogHold, when set, is shared with the daemon's other loggers, so
	// they are held while frozen too; nil holds only this service's lines.
	LogHold *LogHold
	// opBudget replaces opBudget in tests; 0 means opBudget.
	opBudget time.Duration
}

// Service answers CHECK, FREEZE and THAW. It holds at most one freeze.
type Service struct {
	cfg  Config
	log  *slog.Logger
	held *holdState // holds log records while frozen

	mu   sync.Mutex
	sess *session
	gen  int
	// lost is why the last freeze ended before the host's THAW; that THAW
	// fails so the host does not trust a snapshot taken after it.
	lost error
	// kernelDevice: the requests come from the Linux kernel's own device,
	// not a simulated kernel, so Policy.RequireInclude is lifted.
	kernelDevice bool
}

// NewService returns a Service with nothing frozen.
func NewService(cfg Config) *Service {
	if cfg.MaxFrozen <= 0 {
		cfg.MaxFrozen = DefaultMaxFrozen
	}
	if cfg.ReadMounts == nil {
		cfg.ReadMounts = ReadMounts
	}
	if cfg.SyncPools == nil {
		cfg.SyncPools = zpoolSync
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.opBudget <= 0 {
		cfg.opBudget = opBudget
	}
	if cfg.LogHold == nil {
		cfg.LogHold = NewLogHold()
	}
	held := &cfg.LogHold.st
	hooks := Hooks{}
	if cfg.Hooks != nil {
		hooks = *cfg.Hooks
	}
	if hooks.Log == nil {
		hooks.Log = cfg.Log
	}
	hooks.Log = holding(hooks.Log, held)
	cfg.Hooks = &hooks
	return &Service{cfg: cfg, log: holding(cfg.Log, held), held: held}
}

// Handle answers one request. ok is false when no reply is due: a read
// whose status is VSS_FAIL carries no request (see skipTimedOut).
func (s *Service) Handle(req Msg) (reply Msg, ok bool) {
	if req.Status != StatusSuccess {
		s.skipTimedOut(req)
		return Msg{}, false
	}
	op := req.Op.String()
	start := time.Now()
	var err error
	switch req.Op {
	case OpCheck:
		err = s.check()
		if err != nil && s.cfg.Protocol == ProtocolLinux {
			return Reply(req, s.hotBackup(req, err)), true
		}
	case OpFreeze:
		err = s.freeze()
	case OpThaw:
		err = s.thaw()
	default:
		err = fmt.Errorf("vss: unknown operation %d", req.Op)
	}
	st, res := StatusSuccess, resultSuccess
	if err != nil {
		st, res = StatusFailure, resultFailure
		s.log.Error("request failed", "operation", op, "msgid", req.MsgID, "err", err)
	} else {
		s.log.Info("request done", "operation", op, "msgid", req.MsgID, "duration", time.Since(start).Round(time.Microsecond))
	}
	s.cfg.Metrics.Operations.WithLabelValues(op, res).Inc()
	return Reply(req, st), true
}

// hotBackup answers Linux's HOT_BACKUP whose check failed: with success,
// as tools/hv/hv_vss_daemon.c does (the kernel forwards the error to the
// host, and it asks only whether the guest takes part), while the log
// and the metric say that the FREEZE to come will fail, and why.
func (s *Service) hotBackup(req Msg, err error) Status {
	s.log.Warn("HOT_BACKUP answered success as the Linux daemon protocol expects, but the FREEZE will fail",
		"operation", req.Op.String(), "err", err)
	s.cfg.Metrics.Operations.WithLabelValues(req.Op.String(), resultFailure).Inc()
	return StatusSuccess
}

// skipTimedOut logs and counts a read that carries no request. The
// kernel's IOCHVVSSREAD sets status to VSS_FAIL only when the request
// poll announced was removed by its 15-second timeout before the read
// (hv_vss_notified in sys/dev/hyperv/utilities/hv_snapshot.c); sys_ioctl
// zero-filled the rest, so opt is HV_VSS_NONE and msgid 0: which
// operation it was is unknowable, and the host already got HV_E_FAIL.
// Nothing waits for a reply, and the C daemon sends none; so neither does
// the agent. If it was the THAW, the freeze it ends is left to the
// auto-thaw (--vss.max-frozen).
func (s *Service) skipTimedOut(req Msg) {
	s.log.Warn("the kernel timed out a request before the agent read it; nothing to answer",
		"opt", uint32(req.Op), "status", uint32(req.Status), "msgid", req.MsgID, "frozen", s.Frozen())
	s.cfg.Metrics.Operations.WithLabelValues(Op(0).String(), resultSkipped).Inc()
}

// servingKernelDevice records whether the requests come from the Linux
// kernel's own device (true) or a simulated kernel over a socket.
func (s *Service) servingKernelDevice(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kernelDevice = on
}

// plan reads the mount table and applies the policy. Called with s.mu
// held.
func (s *Service) plan() (Plan, error) {
	mounts, err := s.cfg.ReadMounts()
	if err != nil {
		return Plan{}, err
	}
	pol := s.cfg.Policy
	if s.kernelDevice {
		pol.RequireInclude = false
	}
	p := MakePlan(mounts, pol)
	for _, sk := range p.Skipped {
		level := slog.LevelInfo
		if sk.Quiet {
			level = slog.LevelDebug
		}
		s.log.Log(context.Background(), level, "not frozen", "mount", sk.Mount.Dir, "type", sk.Mount.Type, "reason", sk.Reason)
	}
	return p, p.Refusal
}

// check answers success exactly when a FREEZE would be attempted.
func (s *Service) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.plan()
	return err
}

func (s *Service) freeze() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		s.log.Info("FREEZE while frozen: already frozen, nothing done")
		return nil
	}
	s.lost = nil
	deadline := time.Now().Add(s.cfg.opBudget)
	p, err := s.plan()
	if err != nil {
		return err
	}
	names, err := s.cfg.Hooks.List()
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(context.Background(), hooksBudget)
	ran, err := s.cfg.Hooks.Run(hctx, names, HookFreeze, true)
	cancel()
	if err != nil {
		s.countHookFailures(err)
		return s.abort(ran, deadline, fmt.Errorf("freeze aborted: %w", err))
	}
	if err := s.syncPools(p, deadline); err != nil {
		return s.abort(ran, deadline, fmt.Errorf("freeze aborted: zpool sync: %w", err))
	}
	sess := &session{hooks: ran, done: make(chan struct{})}
	if len(p.Freeze) > 0 {
		f, frozen, err := s.freezeFilesystems(p, deadline)
		if err != nil {
			return s.abort(ran, deadline, err)
		}
		sess.frozen = f
		if f != nil {
			s.log.Info("frozen", "filesystems", dirs(frozen), listAttr("zfs_synced", p.Pools), "freezer_pid", f.Pid())
		} else {
			s.log.Info("nothing frozen; ZFS synced, hooks ran", listAttr("zfs_synced", p.Pools))
		}
	} else {
		s.log.Info("nothing to freeze; hooks ran", listAttr("zfs_synced", p.Pools))
	}
	s.gen++
	sess.gen, sess.start = s.gen, time.Now()
	sess.timer = time.AfterFunc(s.cfg.MaxFrozen, func() { s.autoThaw(sess.gen) })
	if sess.frozen != nil {
		go s.watch(sess)
	}
	s.sess = sess
	s.cfg.Metrics.Frozen.Set(1)
	return nil
}

// syncPools runs zpool sync on the plan's pools by the deadline, less
// the freezer's share when there are filesystems to freeze as well.
func (s *Service) syncPools(p Plan, deadline time.Time) error {
	if len(p.Pools) == 0 {
		return nil
	}
	if len(p.Freeze) > 0 {
		deadline = deadline.Add(-freezeReserve)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return s.cfg.SyncPools(ctx, p.Pools)
}

// freezeFilesystems freezes the plan's filesystems from a freezer child
// in what is left of the budget, keeping a second to abort in (at least
// a second, even when the hooks took their whole share). A filesystem
// whose kernel has no freeze (EOPNOTSUPP) is skipped, logged and
// counted, and the rest frozen again without it; it returns the
// filesystems frozen, and a nil *Frozen when ZFS pools were all that was
// left.
func (s *Service) freezeFilesystems(p Plan, deadline time.Time) (*Frozen, []Mount, error) {
	mounts := slices.Clone(p.Freeze)
	for {
		wait := max(time.Until(deadline)-time.Second, time.Second)
		// Nothing may write to a frozen filesystem, log lines included:
		// hold them from before the first filesystem freezes.
		s.held.hold()
		f, err := Freeze(Plan{Freeze: mounts}.Targets(), wait, s.cfg.MaxFrozen+selfThawMargin)
		if err == nil {
			return f, mounts, nil
		}
		s.held.release(s.log) // a failed Freeze thawed what it froze
		var fe *FreezeError
		if !errors.As(err, &fe) || fe.Open || fe.Errno != syscall.EOPNOTSUPP || fe.Index >= len(mounts) {
			return nil, nil, err
		}
		m := mounts[fe.Index]
		s.log.Warn("not frozen: the kernel has no freeze for this filesystem; its data is only crash-consistent",
			"mount", m.Dir, "type", m.Type, "err", fe.Errno)
		s.cfg.Metrics.FreezeSkipped.WithLabelValues(skipUnsupported).Inc()
		mounts = slices.Delete(mounts, fe.Index, fe.Index+1)
		switch {
		case len(mounts) == 0 && len(p.Pools) > 0:
			return nil, nil, nil
		case len(mounts) == 0:
			return nil, nil, ErrNothingToFreeze
		case time.Until(deadline) < 2*time.Second:
			return nil, nil, fmt.Errorf("vss: no time left to freeze again without %s: %w", m.Dir, err)
		}
	}
}

// abort runs freeze-fail for the hooks that ran, in reverse order, and
// returns err.
func (s *Service) abort(ran []string, deadline time.Time, err error) error {
	if len(ran) == 0 {
		return err
	}
	// Past the budget, the answer is a failure anyway; the undo is what
	// matters then.
	if least := time.Now().Add(undoHooksMin); deadline.Before(least) {
		deadline = least
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, herr := s.cfg.Hooks.Run(ctx, reversed(ran), HookFreezeFail, false); herr != nil {
		s.countHookFailures(herr)
		err = errors.Join(err, herr)
	}
	return err
}

// countHookFailures counts each failed hook in err (from Hooks.Run).
func (s *Service) countHookFailures(err error) {
	n := 1
	var me *multierror.Error
	if errors.As(err, &me) {
		n = len(me.Errors)
	}
	s.cfg.Metrics.HookFailures.Add(float64(n))
}

// zpoolSync runs "zpool sync pools" until ctx ends, and never waits for
// it much longer (command.Run): a zpool stuck on a hung pool must not
// wedge FREEZE. A failure's error carries zpool's output.
func zpoolSync(ctx context.Context, pools []string) error {
	r := command.Run(ctx, command.Cmd{Argv: append([]string{"zpool", "sync"}, pools...), MergeStderr: true, OutputCap: hookOutputMax})
	return r.Err
}

func reversed(s []string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}

func dirs(ms []Mount) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Dir
	}
	return out
}
