package doctor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/hvagent/hvagent/vss"
)

// checkHooks lists the hooks a FREEZE would run, with vss.Hooks itself,
// so the doctor and the agent agree on what counts; the hooks it skips
// for their owner or mode become warnings. It returns the hooks.
func checkHooks(r *Report, dir string) []string {
	rec := &recorder{}
	h := &vss.Hooks{Dir: dir, Log: slog.New(rec)}
	names, err := h.List()
	if err != nil {
		r.add(Finding{ID: "vss.hooks", Subject: dir, Status: Fail, Seen: err.Error(),
			Remedy: fmt.Sprintf("chown root %s && chmod go-w %s", dir, dir)})
		return nil
	}
	for _, w := range rec.warnings() {
		r.add(Finding{ID: "vss.hooks", Subject: w.hook, Status: Warn, Seen: w.msg + fmt.Sprintf(" (mode %s)", w.mode),
			Remedy: "chown root and chmod go-w the hook, or remove it"})
	}
	seen := "no hooks"
	if len(names) > 0 {
		seen = "freeze runs, in order: " + strings.Join(names, ", ")
	}
	r.add(Finding{ID: "vss.hooks", Subject: dir, Status: Info, Seen: seen})
	return names
}

// checkPlan says what a FREEZE would do now, from vss.MakePlan over the
// current mount table: nothing is frozen.
func checkPlan(r *Report, env Env, pol vss.Policy, hooks []string) {
	mounts, err := env.Mounts()
	if err != nil {
		r.add(Finding{ID: "vss.plan", Status: Warn, Seen: fmt.Sprintf("cannot read the mount table: %v", err),
			Remedy: "run hvagent doctor as root"})
		return
	}
	p := vss.MakePlan(mounts, pol)
	if p.Refusal != nil {
		r.add(Finding{ID: "vss.plan", Status: Fail, Seen: "a backup now would be refused: " + p.Refusal.Error(),
			Remedy: planRemedy(p.Refusal)})
	} else {
		var parts []string
		if len(hooks) > 0 {
			parts = append(parts, fmt.Sprintf("run %d hook(s)", len(hooks)))
		}
		if len(p.Freeze) > 0 {
			dirs := make([]string, len(p.Freeze))
			for i, m := range p.Freeze {
				dirs[i] = m.Dir + " (" + m.Type + ")"
			}
			parts = append(parts, "freeze "+strings.Join(dirs, ", "))
		}
		if len(p.Pools) > 0 {
			parts = append(parts, "zpool sync "+strings.Join(p.Pools, " "))
		}
		r.add(Finding{ID: "vss.plan", Status: OK, Seen: "a FREEZE now would " + strings.Join(parts, ", then ")})
	}
	for _, s := range p.Skipped {
		if !s.Quiet {
			r.add(Finding{ID: "vss.skip", Subject: s.Mount.Dir, Status: Info, Seen: "left alone: " + s.Reason})
		}
	}
}

func planRemedy(refusal error) string {
	switch msg := refusal.Error(); {
	case errors.Is(refusal, vss.ErrNothingToFreeze):
		return "name the filesystems to freeze with --vss.include, or narrow --vss.exclude, or use --vss.zfs=sync; see hvagent(8), VSS BACKUPS"
	case strings.Contains(msg, "--vss.zfs=fail"):
		return "use --vss.zfs=sync (zpool sync the pools), or --vss.exclude the ZFS datasets"
	case strings.Contains(msg, "is not a mount point"):
		return "correct --vss.include: it names mount points, as mount(8) lists them"
	default:
		return "name the filesystems to freeze with --vss.include; see hvagent(8), VSS BACKUPS"
	}
}

// recorder is a slog.Handler keeping the warnings vss.Hooks.List logs
// about the hooks it skips.
type recorder struct {
	mu   sync.Mutex
	recs []hookWarning
}

type hookWarning struct{ msg, hook, mode string }

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recorder) WithGroup(string) slog.Handler            { return h }

func (h *recorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelWarn {
		return nil
	}
	w := hookWarning{msg: rec.Message}
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "hook":
			w.hook = a.Value.String()
		case "mode":
			w.mode = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, w)
	return nil
}

func (h *recorder) warnings() []hookWarning {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}
